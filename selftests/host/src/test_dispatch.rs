// SPDX-License-Identifier: GPL-2.0
//! Tests of `src/logic/dispatch.rs`.

use crate::dispatch::*;
use core::ops::Range;

/// Merges `ranges` and returns what is left.
fn merged(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let n = merge_ranges(&mut ranges);
    ranges.truncate(n);
    ranges
}

/// A plan where every call may jump to the top edition (index 2).
fn jumpable() -> JumpPlan {
    JumpPlan {
        allowed: true,
        top: 2,
        default: 2,
        ..JumpPlan::default()
    }
}

const ENTRIES: TopEntries = TopEntries {
    fast: 0x100,
    counted: 0x200,
    adaptive: 0x300,
};

#[test]
fn merge_sorts_unsorted_ranges() {
    assert_eq!(
        merged(vec![30..40, 10..20, 50..60]),
        [10..20, 30..40, 50..60]
    );
}

#[test]
fn merge_joins_overlapping_ranges() {
    assert_eq!(merged(vec![10..25, 20..30]), [10..30]);
    // One inside another keeps the outer end.
    assert_eq!(merged(vec![10..50, 20..30]), [10..50]);
}

#[test]
fn merge_joins_touching_ranges() {
    assert_eq!(merged(vec![20..30, 10..20]), [10..30]);
}

#[test]
fn merge_keeps_disjoint_ranges_apart() {
    assert_eq!(merged(vec![10..20, 21..30]), [10..20, 21..30]);
}

#[test]
fn merge_drops_empty_ranges() {
    assert_eq!(merged(vec![5..5, 10..20, 15..15, 40..40]), [10..20]);
    // An empty range between two disjoint ones does not join them.
    assert_eq!(merged(vec![10..20, 20..20, 25..30]), [10..20, 25..30]);
}

#[test]
fn merge_folds_duplicates() {
    assert_eq!(merged(vec![10..20, 10..20, 10..20]), [10..20]);
}

#[test]
fn merge_of_nothing_or_all_empty_leaves_0() {
    assert_eq!(merge_ranges(&mut []), 0);
    assert_eq!(merge_ranges(&mut [3..3, 7..7]), 0);
}

#[test]
fn merge_chains_through_several_ranges() {
    assert_eq!(
        merged(vec![40..50, 0..10, 10..15, 14..30, 60..70, 45..61]),
        [0..30, 40..70]
    );
}

#[test]
fn in_sorted_start_is_inside_end_is_outside() {
    let s = [10..20, 30..40];
    assert!(in_sorted(&s, 10));
    assert!(in_sorted(&s, 19));
    assert!(!in_sorted(&s, 20));
    assert!(in_sorted(&s, 30));
    assert!(in_sorted(&s, 39));
    assert!(!in_sorted(&s, 40));
}

#[test]
fn in_sorted_gaps_and_outside_are_outside() {
    let s = [10..20, 30..40];
    assert!(!in_sorted(&s, 0));
    assert!(!in_sorted(&s, 9));
    assert!(!in_sorted(&s, 25));
    assert!(!in_sorted(&s, 29));
    assert!(!in_sorted(&s, usize::MAX));
}

#[test]
fn in_sorted_empty_slice_holds_nothing() {
    assert!(!in_sorted(&[], 0));
    assert!(!in_sorted(&[], 42));
}

#[test]
fn in_sorted_agrees_with_a_linear_search_after_merge() {
    let ranges = merged(vec![50..60, 5..9, 8..12, 30..31, 70..70, 100..200]);
    for addr in 0..220 {
        let linear = ranges.iter().any(|r| r.contains(&addr));
        assert_eq!(in_sorted(&ranges, addr), linear, "{addr}");
    }
}

#[test]
fn jump_needs_jumps_allowed() {
    let plan = JumpPlan {
        allowed: false,
        ..jumpable()
    };
    assert_eq!(jump_entry(&plan, &ENTRIES), None);
}

#[test]
fn jump_never_during_a_consistent_transition() {
    let plan = JumpPlan {
        two_sides: true,
        ..jumpable()
    };
    assert_eq!(jump_entry(&plan, &ENTRIES), None);
    let plan = JumpPlan {
        two_sides: true,
        counting: true,
        ..jumpable()
    };
    assert_eq!(jump_entry(&plan, &ENTRIES), None);
}

#[test]
fn jump_never_for_a_kthread_loop() {
    let plan = JumpPlan {
        kthread_loop: true,
        ..jumpable()
    };
    assert_eq!(jump_entry(&plan, &ENTRIES), None);
}

#[test]
fn jump_never_with_per_process_editions() {
    let plan = JumpPlan {
        pids: true,
        ..jumpable()
    };
    assert_eq!(jump_entry(&plan, &ENTRIES), None);
}

#[test]
fn jump_never_when_calls_inherit_their_generation() {
    let plan = JumpPlan {
        inherit: true,
        ..jumpable()
    };
    assert_eq!(jump_entry(&plan, &ENTRIES), None);
}

#[test]
fn jump_never_with_an_interface_change() {
    let plan = JumpPlan {
        iface: true,
        ..jumpable()
    };
    assert_eq!(jump_entry(&plan, &ENTRIES), None);
}

#[test]
fn jump_never_to_the_original_alone() {
    let plan = JumpPlan {
        top: 0,
        default: 0,
        ..jumpable()
    };
    assert_eq!(jump_entry(&plan, &ENTRIES), None);
}

#[test]
fn jump_needs_the_default_at_the_top() {
    for default in [0, 1, 3] {
        let plan = JumpPlan {
            default,
            ..jumpable()
        };
        assert_eq!(jump_entry(&plan, &ENTRIES), None, "default {default}");
    }
}

#[test]
fn no_jump_to_an_entry_the_edition_lacks() {
    let none = TopEntries::default();
    for (adapt, counting) in [(false, false), (false, true), (true, false)] {
        let plan = JumpPlan {
            adapt,
            counting,
            ..jumpable()
        };
        assert_eq!(jump_entry(&plan, &none), None, "{adapt} {counting}");
    }
}

#[test]
fn jump_goes_to_fast_counted_or_adaptive_entry_by_adapt_and_counting() {
    for (adapt, counting, want) in [
        (false, false, Some((0x100, false))),
        (false, true, Some((0x200, false))),
        (true, false, Some((0x300, true))),
        (true, true, None),
    ] {
        let plan = JumpPlan {
            adapt,
            counting,
            ..jumpable()
        };
        assert_eq!(jump_entry(&plan, &ENTRIES), want, "{adapt} {counting}");
    }
}

#[test]
fn several_generations_when_any_reason_holds() {
    assert!(!several_generations(false, false, false, false, false));
    assert!(several_generations(true, false, false, false, false));
    assert!(several_generations(false, true, false, false, false));
    assert!(several_generations(false, false, true, false, false));
    assert!(several_generations(false, false, false, true, false));
    assert!(several_generations(false, false, false, false, true));
}

#[test]
fn iface_on_the_stack_routes_to_adaptor_and_the_edition_below() {
    assert_eq!(iface_routes(2, 3, 0xadad, 1), (0xadad, 1));
    assert_eq!(iface_routes(1, 3, 0, 2), (0, 0));
}

#[test]
fn iface_edition_below_saturates_at_the_original() {
    assert_eq!(iface_routes(0, 1, 0xadad, 0), (0xadad, 0));
}

#[test]
fn iface_off_the_stack_routes_to_the_default_without_adaptor() {
    assert_eq!(iface_routes(3, 3, 0xadad, 2), (0, 2));
    assert_eq!(iface_routes(5, 3, 0xadad, 1), (0, 1));
}

/// What [`links`] sets, as `(layer, prev, replaced)`.
fn linked(orig: usize, layers: &[(usize, usize)]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    links(orig, layers.iter().copied(), |i, p, r| out.push((i, p, r)));
    out
}

#[test]
fn bottom_layer_links_to_the_original_for_both() {
    assert_eq!(linked(0x1000, &[(0x2000, 0x2100)]), [(0, 0x1000, 0x1000)]);
}

#[test]
fn layer_above_links_to_the_fast_entry_below_as_replaced() {
    assert_eq!(
        linked(0x1000, &[(0x2000, 0x2100), (0x3000, 0)]),
        [(0, 0x1000, 0x1000), (1, 0x2000, 0x2100)]
    );
}

#[test]
fn layer_without_fast_entry_gives_its_entry_as_replaced() {
    assert_eq!(
        linked(0x1000, &[(0x2000, 0), (0x3000, 0)]),
        [(0, 0x1000, 0x1000), (1, 0x2000, 0x2000)]
    );
}

#[test]
fn three_layers_chain() {
    assert_eq!(
        linked(0x1000, &[(0x2000, 0x2100), (0x3000, 0), (0x4000, 0x4100)]),
        [
            (0, 0x1000, 0x1000),
            (1, 0x2000, 0x2100),
            (2, 0x3000, 0x3000)
        ]
    );
}

#[test]
fn no_layers_sets_nothing() {
    assert_eq!(linked(0x1000, &[]), []);
}

#[test]
fn call_mode_names_are_the_sysfs_strings() {
    assert_eq!(CallMode::Jump.name(), "jump");
    assert_eq!(CallMode::JumpCounted.name(), "jump counted");
    assert_eq!(CallMode::JumpAdaptive.name(), "jump adaptive");
    assert_eq!(CallMode::Handler.name(), "handler");
}

#[test]
fn call_mode_without_jump_is_the_handler() {
    for (counted, adaptive) in [(false, false), (true, false), (false, true), (true, true)] {
        assert_eq!(call_mode(None, counted, adaptive), CallMode::Handler);
    }
}

#[test]
fn call_mode_of_a_jump_by_entry_kind() {
    assert_eq!(call_mode(Some(0x100), false, false), CallMode::Jump);
    assert_eq!(call_mode(Some(0x200), true, false), CallMode::JumpCounted);
    assert_eq!(call_mode(Some(0x300), false, true), CallMode::JumpAdaptive);
}

#[test]
fn call_mode_counted_wins_over_adaptive() {
    assert_eq!(call_mode(Some(0x200), true, true), CallMode::JumpCounted);
}
