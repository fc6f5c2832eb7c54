// SPDX-License-Identifier: GPL-2.0
//! Tests of `src/logic/rules.rs`.

use crate::rules::*;

// ---- valid_name ----

#[test]
fn name_must_not_be_empty() {
    assert!(!valid_name(b"", 8));
}

#[test]
fn name_may_be_exactly_max_bytes_not_more() {
    assert!(valid_name(b"abcdefgh", 8));
    assert!(!valid_name(b"abcdefghi", 8));
    assert!(valid_name(b"a", 1));
}

#[test]
fn name_refuses_slash_and_colon() {
    assert!(!valid_name(b"a/b", 16));
    assert!(!valid_name(b"/", 16));
    assert!(!valid_name(b"vmlinux:f", 16));
    assert!(!valid_name(b"f:", 16));
}

#[test]
fn name_refuses_blanks_and_control_characters() {
    for bad in [
        &b"a b"[..],
        b"a\tb",
        b"a\nb",
        b" a",
        b"a ",
        b"a\0b",
        b"\x01",
        b"a\x1f",
    ] {
        assert!(!valid_name(bad, 16), "{bad:?}");
    }
}

#[test]
fn name_allows_usual_symbol_characters_and_bytes_above_0x7f() {
    for good in [
        &b"do_sys_open"[..],
        b"foo.cold",
        b"my-patch_2",
        b"caf\xc3\xa9",
        b"\x80\xff",
    ] {
        assert!(valid_name(good, 16), "{good:?}");
    }
}

// ---- check_func ----

#[test]
fn plain_function_is_valid() {
    assert_eq!(check_func(&FuncShape::default()), Ok(()));
    let f = FuncShape {
        nr_args: 3,
        fast: true,
        adaptive: true,
        handler: true,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&f), Ok(()));
}

#[test]
fn kthread_loop_with_one_arg_and_a_safe_point_is_valid() {
    let f = FuncShape {
        kthread_loop: true,
        nr_args: 1,
        safepoint: true,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&f), Ok(()));
}

#[test]
fn new_interface_with_adaptor_and_callers_is_valid() {
    let f = FuncShape {
        new_iface: true,
        nr_args: 2,
        adaptor: true,
        nr_callers: 3,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&f), Ok(()));
}

#[test]
fn kthread_loop_takes_exactly_one_argument() {
    for nr_args in [0, 2, 6] {
        let f = FuncShape {
            kthread_loop: true,
            nr_args,
            ..FuncShape::default()
        };
        assert_eq!(check_func(&f), Err(FuncRefusal::LoopArgs), "{nr_args}");
    }
}

#[test]
fn safe_point_only_on_a_kthread_loop() {
    let f = FuncShape {
        safepoint: true,
        nr_args: 1,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&f), Err(FuncRefusal::SafepointWithoutLoop));
}

#[test]
fn unknown_flags_are_refused_and_reported() {
    let f = FuncShape {
        unknown_flags: 0x40,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&f), Err(FuncRefusal::UnknownFlags(0x40)));
}

#[test]
fn adaptor_or_callers_need_a_new_interface() {
    let adaptor = FuncShape {
        adaptor: true,
        ..FuncShape::default()
    };
    let callers = FuncShape {
        nr_callers: 1,
        ..FuncShape::default()
    };
    assert_eq!(
        check_func(&adaptor),
        Err(FuncRefusal::IfaceExtrasWithoutIface)
    );
    assert_eq!(
        check_func(&callers),
        Err(FuncRefusal::IfaceExtrasWithoutIface)
    );
}

#[test]
fn kthread_loop_cannot_change_its_interface() {
    let f = FuncShape {
        kthread_loop: true,
        nr_args: 1,
        new_iface: true,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&f), Err(FuncRefusal::LoopIface));
}

#[test]
fn adaptive_entry_needs_a_handler() {
    let f = FuncShape {
        adaptive: true,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&f), Err(FuncRefusal::AdaptiveWithoutHandler));
}

#[test]
fn new_interface_has_no_fast_entry() {
    let f = FuncShape {
        new_iface: true,
        fast: true,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&f), Err(FuncRefusal::IfaceWithFast));
}

#[test]
fn check_func_reports_the_first_failing_rule() {
    // Each shape breaks its rule and every rule after it; the first one is
    // reported.
    let loop_args = FuncShape {
        kthread_loop: true,
        nr_args: 0,
        unknown_flags: 1,
        new_iface: true,
        adaptive: true,
        fast: true,
        ..FuncShape::default()
    };
    let safepoint = FuncShape {
        safepoint: true,
        unknown_flags: 1,
        adaptor: true,
        adaptive: true,
        ..FuncShape::default()
    };
    let flags = FuncShape {
        unknown_flags: 2,
        nr_callers: 1,
        adaptive: true,
        ..FuncShape::default()
    };
    let extras = FuncShape {
        adaptor: true,
        adaptive: true,
        ..FuncShape::default()
    };
    let loop_iface = FuncShape {
        kthread_loop: true,
        nr_args: 1,
        new_iface: true,
        adaptive: true,
        fast: true,
        ..FuncShape::default()
    };
    let adaptive = FuncShape {
        new_iface: true,
        adaptive: true,
        fast: true,
        ..FuncShape::default()
    };
    assert_eq!(check_func(&loop_args), Err(FuncRefusal::LoopArgs));
    assert_eq!(
        check_func(&safepoint),
        Err(FuncRefusal::SafepointWithoutLoop)
    );
    assert_eq!(check_func(&flags), Err(FuncRefusal::UnknownFlags(2)));
    assert_eq!(
        check_func(&extras),
        Err(FuncRefusal::IfaceExtrasWithoutIface)
    );
    assert_eq!(check_func(&loop_iface), Err(FuncRefusal::LoopIface));
    assert_eq!(
        check_func(&adaptive),
        Err(FuncRefusal::AdaptiveWithoutHandler)
    );
}

// ---- caller_rule ----

#[test]
fn caller_that_is_the_function_itself() {
    assert_eq!(caller_rule(2, Some(2), false), CallerRule::Itself);
    assert_eq!(caller_rule(2, Some(2), true), CallerRule::Itself);
}

#[test]
fn caller_in_the_patch_is_covered_by_the_adaptor_only() {
    assert_eq!(
        caller_rule(0, Some(3), true),
        CallerRule::InPatch {
            index: 3,
            covered: true
        }
    );
    assert_eq!(
        caller_rule(0, Some(3), false),
        CallerRule::InPatch {
            index: 3,
            covered: false
        }
    );
}

#[test]
fn caller_outside_the_patch_is_adapted_with_an_adaptor() {
    assert_eq!(caller_rule(1, None, true), CallerRule::Adapted);
}

#[test]
fn caller_outside_the_patch_without_adaptor_is_uncovered() {
    assert_eq!(caller_rule(1, None, false), CallerRule::Uncovered);
}

// ---- first_repeated ----

#[test]
fn first_repeated_of_distinct_items_is_none() {
    assert_eq!(first_repeated::<u32>(&[]), None);
    assert_eq!(first_repeated(&[7]), None);
    assert_eq!(first_repeated(&[1, 2, 3, 4]), None);
}

#[test]
fn first_repeated_finds_an_element_repeated_later() {
    assert_eq!(first_repeated(&[5, 1, 2, 5]), Some(0));
    assert_eq!(first_repeated(&[1, 2, 3, 3]), Some(2));
    assert_eq!(first_repeated(&["a", "b", "c", "b"]), Some(1));
}

#[test]
fn first_repeated_reports_the_earliest_element_that_repeats() {
    assert_eq!(first_repeated(&['a', 'b', 'b', 'a']), Some(0));
    assert_eq!(first_repeated(&[9, 1, 2, 2, 1]), Some(1));
}

// ---- check_state ----

#[test]
fn state_record_of_1_to_max_bytes_with_a_conversion() {
    assert_eq!(check_state(1, 64, true, 0), Ok(()));
    assert_eq!(check_state(64, 64, true, 0), Ok(()));
}

#[test]
fn state_record_size_out_of_range_is_refused() {
    assert_eq!(check_state(0, 64, true, 0), Err(StateRefusal::Shape));
    assert_eq!(check_state(65, 64, true, 0), Err(StateRefusal::Shape));
}

#[test]
fn state_without_conversion_is_refused() {
    assert_eq!(check_state(8, 64, false, 0), Err(StateRefusal::Shape));
}

#[test]
fn state_with_unknown_flags_is_refused() {
    assert_eq!(
        check_state(8, 64, true, 0x8000_0000),
        Err(StateRefusal::UnknownFlags)
    );
}

#[test]
fn state_shape_is_reported_before_flags() {
    assert_eq!(check_state(0, 64, true, 1), Err(StateRefusal::Shape));
    assert_eq!(check_state(8, 64, false, 1), Err(StateRefusal::Shape));
}

// ---- subsys_clash ----

#[test]
fn unpatched_function_never_clashes() {
    assert_eq!(subsys_clash(Some("net"), Some("mm"), false), None);
    assert_eq!(subsys_clash(Some("net"), None, false), None);
    assert_eq!(subsys_clash(None, Some("mm"), false), None);
}

#[test]
fn same_subsystem_does_not_clash() {
    assert_eq!(subsys_clash(Some("net"), Some("net"), true), None);
}

#[test]
fn member_of_another_subsystem_clashes() {
    assert_eq!(
        subsys_clash(Some("net"), Some("mm"), true),
        Some(SubsysClash::Member)
    );
    assert_eq!(
        subsys_clash(Some("net"), None, true),
        Some(SubsysClash::Member)
    );
}

#[test]
fn subsystem_patch_on_a_function_of_outsiders_clashes() {
    assert_eq!(
        subsys_clash(None, Some("net"), true),
        Some(SubsysClash::Outsider)
    );
}

#[test]
fn no_subsystem_on_either_side_does_not_clash() {
    assert_eq!(subsys_clash::<str>(None, None, true), None);
}

// ---- same_members ----

#[test]
fn same_members_in_another_order() {
    assert!(same_members(&[1, 2, 3], &[3, 1, 2]));
    assert!(same_members(&[], &[]));
}

#[test]
fn same_members_refuses_a_different_count() {
    assert!(!same_members(&[1, 2, 3], &[1, 2]));
    assert!(!same_members(&[1, 2], &[1, 2, 3]));
}

#[test]
fn same_members_refuses_a_different_element() {
    assert!(!same_members(&[1, 2, 3], &[1, 2, 4]));
}

// ---- iface_stack_clash ----

#[test]
fn cumulative_patch_never_clashes_on_interfaces() {
    for (stacked, new_iface, stack_has_iface) in
        [(true, true, true), (true, true, false), (true, false, true)]
    {
        assert!(!iface_stack_clash(
            true,
            stacked,
            new_iface,
            stack_has_iface
        ));
    }
}

#[test]
fn empty_stack_never_clashes_on_interfaces() {
    assert!(!iface_stack_clash(false, false, true, false));
    assert!(!iface_stack_clash(false, false, true, true));
}

#[test]
fn new_interface_does_not_stack() {
    assert!(iface_stack_clash(false, true, true, false));
}

#[test]
fn nothing_stacks_on_an_interface_change() {
    assert!(iface_stack_clash(false, true, false, true));
}

#[test]
fn plain_editions_stack() {
    assert!(!iface_stack_clash(false, true, false, false));
}

// ---- pid_edit ----

#[test]
fn pid_set_updates_its_entry() {
    assert_eq!(
        pid_edit(&[10, 20, 30], 20, Some(true), 8),
        Ok(PidEdit::Update(1))
    );
}

#[test]
fn pid_set_appends_a_new_entry() {
    assert_eq!(pid_edit(&[10, 20], 30, Some(true), 8), Ok(PidEdit::Append));
    assert_eq!(pid_edit(&[], 30, Some(true), 8), Ok(PidEdit::Append));
    // One slot left.
    assert_eq!(pid_edit(&[10, 20], 30, Some(true), 3), Ok(PidEdit::Append));
}

#[test]
fn full_table_refuses_a_new_pid() {
    assert_eq!(
        pid_edit(&[10, 20], 30, Some(true), 2),
        Err(PidRefusal::Full)
    );
}

#[test]
fn full_table_still_updates_and_removes() {
    assert_eq!(
        pid_edit(&[10, 20], 20, Some(true), 2),
        Ok(PidEdit::Update(1))
    );
    assert_eq!(pid_edit(&[10, 20], 10, None, 2), Ok(PidEdit::Remove(0)));
}

#[test]
fn pid_set_to_a_missing_edition_is_refused() {
    assert_eq!(
        pid_edit(&[10], 30, Some(false), 8),
        Err(PidRefusal::NoEdition)
    );
    // Even when the pid has an entry, or the table is full.
    assert_eq!(
        pid_edit(&[10], 10, Some(false), 8),
        Err(PidRefusal::NoEdition)
    );
    assert_eq!(
        pid_edit(&[10], 30, Some(false), 1),
        Err(PidRefusal::NoEdition)
    );
}

#[test]
fn pid_clear_removes_its_entry() {
    assert_eq!(pid_edit(&[10, 20, 30], 30, None, 8), Ok(PidEdit::Remove(2)));
}

#[test]
fn pid_clear_of_a_missing_pid_is_no_entry() {
    assert_eq!(pid_edit(&[10, 20], 30, None, 8), Err(PidRefusal::NoEntry));
    assert_eq!(pid_edit(&[], 30, None, 8), Err(PidRefusal::NoEntry));
}

// ---- write_site_name ----

/// `write_site_name` written into a `String`.
fn name(symbol: &str, object: Option<&str>, sympos: u32) -> String {
    let mut s = String::new();
    write_site_name(&mut s, symbol, object, sympos).unwrap();
    s
}

#[test]
fn site_name_of_a_vmlinux_symbol() {
    assert_eq!(name("do_sys_open", None, 0), "do_sys_open");
}

#[test]
fn site_name_of_a_module_symbol() {
    assert_eq!(name("helper", Some("ext4"), 0), "ext4:helper");
}

#[test]
fn site_name_with_a_position() {
    assert_eq!(name("helper", None, 2), "helper,2");
}

#[test]
fn site_name_of_a_module_symbol_with_a_position() {
    assert_eq!(name("helper", Some("ext4"), 3), "ext4:helper,3");
}

#[test]
fn site_name_appends_to_what_the_writer_holds() {
    let mut s = String::from("f: ");
    write_site_name(&mut s, "g", Some("m"), 1).unwrap();
    assert_eq!(s, "f: m:g,1");
}
