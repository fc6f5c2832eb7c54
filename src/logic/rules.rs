// SPDX-License-Identifier: GPL-2.0

//! The rules a patch must follow, checked when it registers or enables,
//! and the edits of a function's per-process table.
//!
//! The callers (`api/entry.rs`, `registry/`) read the descriptors and the
//! registry; the decisions are made here, on plain values, and the callers
//! turn a refusal into its message and errno.

/// Whether `name` may name a patch, function, object, subsystem or state:
/// 1 to `max` bytes, no '/', ':' or blanks (a sysfs directory name, and no
/// confusion with `module:symbol`).
pub(crate) fn valid_name(name: &[u8], max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && !name.iter().any(|&c| c == b'/' || c == b':' || c <= b' ')
}

/// The shape of one function descriptor, as far as the rules look at it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FuncShape {
    /// The main function of kernel threads that never return.
    pub(crate) kthread_loop: bool,
    /// The edition changes the target's interface.
    pub(crate) new_iface: bool,
    /// Flags dynamos does not know.
    pub(crate) unknown_flags: u32,
    /// The number of arguments of the target.
    pub(crate) nr_args: u32,
    /// A declared safe point.
    pub(crate) safepoint: bool,
    /// An adaptor for old-interface calls.
    pub(crate) adaptor: bool,
    /// The number of callers listed.
    pub(crate) nr_callers: u32,
    /// An entry that asks the adaptation handler itself.
    pub(crate) adaptive: bool,
    /// An adaptation handler.
    pub(crate) handler: bool,
    /// An entry that counts its calls itself.
    pub(crate) fast: bool,
}

/// Why a function descriptor is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FuncRefusal {
    /// A kernel thread loop takes one argument: `int fn(void *)`.
    LoopArgs,
    /// Only a kernel thread loop has a safe point.
    SafepointWithoutLoop,
    /// Flags dynamos does not know.
    UnknownFlags(u32),
    /// An adaptor or callers, but the interface stays.
    IfaceExtrasWithoutIface,
    /// A kernel thread loop cannot change its interface.
    LoopIface,
    /// An adaptive entry without a handler.
    AdaptiveWithoutHandler,
    /// A fast entry has the old signature: not for a new interface.
    IfaceWithFast,
}

/// Checks a function descriptor's shape, in the order its refusals are
/// reported.
pub(crate) fn check_func(f: &FuncShape) -> Result<(), FuncRefusal> {
    if f.kthread_loop && f.nr_args != 1 {
        return Err(FuncRefusal::LoopArgs);
    }
    if !f.kthread_loop && f.safepoint {
        return Err(FuncRefusal::SafepointWithoutLoop);
    }
    if f.unknown_flags != 0 {
        return Err(FuncRefusal::UnknownFlags(f.unknown_flags));
    }
    if !f.new_iface && (f.adaptor || f.nr_callers != 0) {
        return Err(FuncRefusal::IfaceExtrasWithoutIface);
    }
    if f.new_iface && f.kthread_loop {
        return Err(FuncRefusal::LoopIface);
    }
    if f.adaptive && !f.handler {
        return Err(FuncRefusal::AdaptiveWithoutHandler);
    }
    if f.new_iface && f.fast {
        return Err(FuncRefusal::IfaceWithFast);
    }
    Ok(())
}

/// What one caller listed by an interface change is, for the change of
/// the function at index `me` of its patch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CallerRule {
    /// The function lists itself.
    Itself,
    /// A function of the patch (index), covered by the adaptor if there is
    /// one.
    InPatch { index: usize, covered: bool },
    /// Not in the patch, but the adaptor translates its calls.
    Adapted,
    /// Not in the patch and no adaptor: its calls would cross interfaces.
    Uncovered,
}

/// Classifies a listed caller found at `pos` among the patch's functions
/// (`None`: not there).
pub(crate) fn caller_rule(me: usize, pos: Option<usize>, adaptor: bool) -> CallerRule {
    match pos {
        Some(j) if j == me => CallerRule::Itself,
        Some(j) => CallerRule::InPatch {
            index: j,
            covered: adaptor,
        },
        None if adaptor => CallerRule::Adapted,
        None => CallerRule::Uncovered,
    }
}

/// The index of the first element that appears again later, if any.
pub(crate) fn first_repeated<T: PartialEq>(items: &[T]) -> Option<usize> {
    (0..items.len()).find(|&i| items[i + 1..].contains(&items[i]))
}

/// Whether a state's declaration is usable: a conversion and a record of
/// 1 to `max` bytes, and no unknown flags.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StateRefusal {
    /// No conversion, or a record size out of range.
    Shape,
    /// Flags dynamos does not know.
    UnknownFlags,
}

/// Checks a state's declaration.
pub(crate) fn check_state(
    size: usize,
    max: usize,
    convert: bool,
    unknown_flags: u32,
) -> Result<(), StateRefusal> {
    if size == 0 || size > max || !convert {
        return Err(StateRefusal::Shape);
    }
    if unknown_flags != 0 {
        return Err(StateRefusal::UnknownFlags);
    }
    Ok(())
}

/// Why a function cannot take a patch's edition because of subsystems.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SubsysClash {
    /// It belongs to a subsystem the patch is not part of.
    Member,
    /// The patch's subsystem would take a function other patches change.
    Outsider,
}

/// Checks a patch of subsystem `mine` against a function that belongs to
/// `theirs` (its first patch's subsystem) and has editions (`patched`).
pub(crate) fn subsys_clash<S: PartialEq + ?Sized>(
    theirs: Option<&S>,
    mine: Option<&S>,
    patched: bool,
) -> Option<SubsysClash> {
    if !patched || theirs == mine {
        return None;
    }
    match (theirs, mine) {
        (Some(_), _) => Some(SubsysClash::Member),
        (None, Some(_)) => Some(SubsysClash::Outsider),
        (None, None) => None,
    }
}

/// Whether a patch changes exactly the member functions `members` of its
/// subsystem (addresses, each listed once) with the functions at `addrs`.
pub(crate) fn same_members(members: &[usize], addrs: &[usize]) -> bool {
    members.len() == addrs.len() && addrs.iter().all(|a| members.contains(a))
}

/// Whether an edition cannot stack on a function: an interface change
/// never stacks with another patch's editions (a cumulative patch, which
/// takes them off, excepted).
pub(crate) fn iface_stack_clash(
    replace: bool,
    stacked: bool,
    new_iface: bool,
    stack_has_iface: bool,
) -> bool {
    !replace && stacked && (new_iface || stack_has_iface)
}

/// A change to a function's table of per-process editions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PidEdit {
    /// Set the edition of the entry at this index.
    Update(usize),
    /// Add an entry at the end.
    Append,
    /// Remove the entry at this index.
    Remove(usize),
}

/// Why a change to the table is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PidRefusal {
    /// The edition is not on the function (`ENOENT`).
    NoEdition,
    /// The table is full (`ENOSPC`).
    Full,
    /// No entry for that process (`ENOENT`).
    NoEntry,
}

/// Plans setting process `pid` to an edition (`Some(exists)`, whether the
/// edition is on the function) or clearing it (`None`), on a table of
/// `table` pids holding at most `max`.
pub(crate) fn pid_edit(
    table: &[i32],
    pid: i32,
    set: Option<bool>,
    max: usize,
) -> Result<PidEdit, PidRefusal> {
    let pos = table.iter().position(|&p| p == pid);
    match (set, pos) {
        (Some(false), _) => Err(PidRefusal::NoEdition),
        (Some(true), Some(i)) => Ok(PidEdit::Update(i)),
        (Some(true), None) if table.len() >= max => Err(PidRefusal::Full),
        (Some(true), None) => Ok(PidEdit::Append),
        (None, Some(i)) => Ok(PidEdit::Remove(i)),
        (None, None) => Err(PidRefusal::NoEntry),
    }
}

/// Writes a function's sysfs name: `[module:]symbol[,position]`.
pub(crate) fn write_site_name(
    w: &mut impl core::fmt::Write,
    symbol: &str,
    object: Option<&str>,
    sympos: u32,
) -> core::fmt::Result {
    if let Some(m) = object {
        write!(w, "{}:", m)?;
    }
    write!(w, "{}", symbol)?;
    if sympos != 0 {
        write!(w, ",{}", sympos)?;
    }
    Ok(())
}
