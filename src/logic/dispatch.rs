// SPDX-License-Identifier: GPL-2.0

//! Dispatch decisions: how a site's snapshot is planned, and the searches
//! its call path makes.
//!
//! A site's calls reach their edition in one of two ways (see
//! `mech/site.rs`): a *jump* straight to one entry of the top edition, when
//! every call goes to that same place, or the *trampoline*, which asks the
//! site's snapshot for each call. The functions here decide which, and
//! prepare the tables the trampoline searches.

use core::ops::Range;

/// Sorts `ranges` by start and merges the ones that overlap or touch, in
/// place; returns how many are left at the front of the slice. Empty
/// ranges are dropped. The result is sorted and disjoint, for
/// [`in_sorted`].
pub(crate) fn merge_ranges(ranges: &mut [Range<usize>]) -> usize {
    ranges.sort_unstable_by_key(|r| r.start);
    let mut n = 0;
    for i in 0..ranges.len() {
        let r = ranges[i].clone();
        if r.is_empty() {
            continue;
        }
        if n > 0 && r.start <= ranges[n - 1].end {
            ranges[n - 1].end = ranges[n - 1].end.max(r.end);
        } else {
            ranges[n] = r;
            n += 1;
        }
    }
    n
}

/// Whether `addr` lies in one of `sorted`, which [`merge_ranges`] made:
/// a binary search, so the cost per call stays flat in the number of
/// editions.
#[inline(always)]
pub(crate) fn in_sorted(sorted: &[Range<usize>], addr: usize) -> bool {
    let n = sorted.partition_point(|r| r.start <= addr);
    n > 0 && sorted[n - 1].contains(&addr)
}

/// What decides whether a site's calls may all go to one entry.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct JumpPlan {
    /// Jumps are possible at all (`CONFIG_DYNAMIC_FTRACE_WITH_JMP`, no
    /// IBT at run time).
    pub(crate) allowed: bool,
    /// The site is a kernel thread loop: every call enters the original.
    pub(crate) kthread_loop: bool,
    /// Some process has its own edition.
    pub(crate) pids: bool,
    /// Calls inherit their generation from their caller (a subsystem with
    /// more than one generation running).
    pub(crate) inherit: bool,
    /// The target's interface is changed by a patch.
    pub(crate) iface: bool,
    /// Index of the top edition in the snapshot (0: only the original).
    pub(crate) top: usize,
    /// Index of the default edition.
    pub(crate) default: usize,
    /// The top edition has an adaptation handler.
    pub(crate) adapt: bool,
    /// Entries are counted (an edition is being retired).
    pub(crate) counting: bool,
    /// A consistent transition is in progress: each task runs one of two
    /// snapshots, by its own side (`mech/switch.rs`), which only the
    /// trampoline can tell.
    pub(crate) two_sides: bool,
}

/// The entries of the top edition a jump may go to (0: it has none).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TopEntries {
    /// Counts its calls itself.
    pub(crate) fast: usize,
    /// Counts its calls and the threads inside.
    pub(crate) counted: usize,
    /// Asks the adaptation handler itself.
    pub(crate) adaptive: usize,
}

/// Where every call may jump, if every call goes to one place: the top
/// edition's entry, and whether it is the adaptive one. `None` means the
/// trampoline decides each call.
///
/// Every call goes to one place when jumps are allowed, the site is not a
/// kernel thread loop, no process has its own edition, no call inherits its
/// generation, no interface changes, no consistent transition runs, and the
/// default is a patch edition at the top. Then calls jump to its fast entry, or its counted one while
/// counting; with a handler, to its adaptive entry, which asks the handler
/// itself (outside transitions only: there is no counted adaptive entry).
pub(crate) fn jump_entry(plan: &JumpPlan, top: &TopEntries) -> Option<(usize, bool)> {
    let same_for_all = plan.allowed
        && !plan.kthread_loop
        && !plan.pids
        && !plan.inherit
        && !plan.iface
        && !plan.two_sides
        && plan.top > 0
        && plan.default == plan.top;
    if !same_for_all {
        return None;
    }
    let entry = match (plan.adapt, plan.counting) {
        (false, false) => top.fast,
        (false, true) => top.counted,
        (true, false) => top.adaptive,
        (true, true) => 0,
    };
    (entry != 0).then_some((entry, plan.adapt))
}

/// Whether more than one edition of a subsystem member may be entered, so
/// that calls must inherit their caller's generation: while counting (a
/// switch drains), with per-process editions, an admin-chosen default, an
/// adaptation handler, or editions off the stack still draining.
pub(crate) fn several_generations(
    counting: bool,
    pids: bool,
    chosen_default: bool,
    adapt: bool,
    draining: bool,
) -> bool {
    counting || pids || chosen_default || adapt || draining
}

/// Where old-interface calls go on a site whose target has a new interface
/// at snapshot index `edition`, with `live` editions on the site (original
/// and stack): `(adaptor, replaced)`. On the stack, they enter the adaptor
/// (if any), else the edition below; off the stack (draining), no adaptor
/// and the default.
pub(crate) fn iface_routes(
    edition: usize,
    live: usize,
    adaptor: usize,
    default: usize,
) -> (usize, usize) {
    if edition < live {
        (adaptor, edition.saturating_sub(1))
    } else {
        (0, default)
    }
}

/// Where each layer of a stack reaches the edition below it, bottom to
/// top: `set(i, prev, replaced)` for layer `i`, `prev` for its `prev()`
/// (the plain entry below), `replaced` for its adaptive entry (the
/// counting entry below: the fast one if it has one). `layers` yields
/// `(entry, fast)` of each layer, bottom first; the original is entered at
/// `orig`.
pub(crate) fn links(
    orig: usize,
    layers: impl Iterator<Item = (usize, usize)>,
    mut set: impl FnMut(usize, usize, usize),
) {
    let mut below = (orig, orig);
    for (i, (entry, fast)) in layers.enumerate() {
        set(i, below.0, below.1);
        below = (entry, if fast != 0 { fast } else { entry });
    }
}

/// How calls reach their edition, as `policy`'s `calls` line shows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CallMode {
    /// Straight to the edition's plain entry.
    Jump,
    /// To its counted entry (a transition, or until the move back).
    JumpCounted,
    /// To its adaptive entry, which asks its handler.
    JumpAdaptive,
    /// Through the trampoline.
    Handler,
}

impl CallMode {
    /// The name shown in sysfs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            CallMode::Jump => "jump",
            CallMode::JumpCounted => "jump counted",
            CallMode::JumpAdaptive => "jump adaptive",
            CallMode::Handler => "handler",
        }
    }
}

/// The mode of a site whose hook jumps to `jump` (`None`: the trampoline),
/// given whether that address is a counted or an adaptive entry of one of
/// its editions.
pub(crate) fn call_mode(jump: Option<usize>, counted: bool, adaptive: bool) -> CallMode {
    match jump {
        None => CallMode::Handler,
        Some(_) if counted => CallMode::JumpCounted,
        Some(_) if adaptive => CallMode::JumpAdaptive,
        Some(_) => CallMode::Jump,
    }
}
