// SPDX-License-Identifier: GPL-2.0

//! Subsystems and their synchronizer: functions that switch as one unit.
//!
//! A patch may declare that its functions form a *subsystem*. Its
//! *generation* is the number of the subsystem's patches that are enabled
//! (or being enabled): each one's editions are one generation, stacked on
//! every member function. Enabling the next patch moves the subsystem from
//! generation g to g+1; disabling it moves it back.
//!
//! Path consistency. While more than one generation may run (a switch, its
//! drain, per-process or handler policies), every member site looks at
//! where a call comes from: a call made from code of a member edition of
//! generation h, directly or further up the caller's stack, enters this
//! function's edition of generation h. Any other call enters the subsystem
//! fresh and takes the current generation. So a task that entered in g runs
//! g's editions until it leaves the subsystem, however long it sleeps, and
//! no path mixes generations. The stack is searched only during a switch;
//! in the steady state a member site costs what any site costs.
//!
//! Switch: `registry/enable.rs` pushes (`disable.rs` pops) the editions of
//! every member in one step, under the registry mutex, with no
//! stop_machine. Old-generation threads are forwarded to their own
//! generation (above); new ones take the new one at once: nobody waits for
//! a sleeper. Generation g retires when
//! no thread is inside it (`mech/drain.rs`: use counters, and stack checks
//! of the threads that were inside before). Kernel threads that never
//! return move at their safe point (`mech/safepoint.rs`). Then the patch's
//! `transfer` callback moves the state (old to new), and its post hook runs.
//!
//! A switch that has not drained within the subsystem's `timeout_ms` is
//! reported, with the threads that hold the old generation. The admin may
//! then `cancel` it (a reversal: back to g, the state the new generation
//! made transferred back) or `force` it (the switch completes now; the old
//! editions stay loaded until their last holder leaves).
//!
//! Rules, checked when a subsystem patch is enabled: every patch of a
//! subsystem changes the same functions, and functions of a subsystem are
//! changed by patches of that subsystem only. Paths between members must be
//! calls (not tail calls), so that the caller's return address is on the
//! stack.

use super::model::{fail, Core, Kept, SubsysInfo, Subsystem, Trash};
use crate::{
    logic::{
        lifecycle::{switch_generations, timeout_due, PatchKey},
        rules::{self, SubsysClash},
    },
    mech::site::InheritTable,
    raw::display,
};
use kernel::{
    prelude::*,
    str::{CStr, CString},
    sync::Arc,
};

pub(crate) use crate::logic::lifecycle::DEFAULT_TIMEOUT_MS;

/// Creates the subsystem `name` (and its sysfs directory) unless it exists.
pub(crate) fn declare(core: &mut Core, name: &CStr) -> Result {
    if core.subsystems.iter().any(|s| *s.name == *name) {
        return Ok(());
    }
    core.subsystems.reserve(1, GFP_KERNEL)?;
    let copy = CString::try_from(name)?;
    let info = SubsysInfo {
        name: CString::try_from(name)?,
    };
    let dir = Kept::make(name, &core.subsystems_dir, info, core.tables.subsys)?;
    // PANIC: cannot fail, reserved above.
    let _ = core.subsystems.push_within_capacity(Subsystem {
        name: copy,
        timeout_ms: DEFAULT_TIMEOUT_MS,
        dir,
    });
    Ok(())
}

/// Forgets the subsystem `name` if no registered patch declares it anymore.
pub(crate) fn forget(core: &mut Core, name: &CStr, trash: &mut Trash) {
    if core.patches.iter().any(|p| p.spec.subsystem == Some(name)) {
        return;
    }
    if let Some(pos) = core.subsystems.iter().position(|s| *s.name == *name) {
        if let Ok(s) = core.subsystems.remove(pos) {
            trash.push_dir(s.dir);
        }
    }
}

/// The current generation of subsystem `name`.
pub(crate) fn generation(core: &Core, name: &CStr) -> u32 {
    core.patches
        .iter()
        .filter(|p| p.spec.subsystem == Some(name) && p.state().target_enabled())
        .count() as u32
}

/// The subsystem of the patch in transition and the generations it moves
/// between, if it is a subsystem patch.
pub(crate) fn switching(core: &Core) -> Option<(&'static CStr, u32, u32)> {
    let t = core.transition.as_ref()?;
    let p = core.patch(t.patch)?;
    let name = p.spec.subsystem?;
    let g = generation(core, name);
    let (from, to) = switch_generations(p.state(), g);
    Some((name, from, to))
}

/// Checks that patch `key`, about to change the functions at `addrs`, keeps
/// to the subsystem rules (see the module documentation).
///
/// # Errors
///
/// `EINVAL` with the reason in dmesg and in the patch's `error` file.
pub(crate) fn check_enable(core: &mut Core, key: PatchKey, addrs: &[usize]) -> Result {
    let mine = core.patch(key).ok_or(ENODEV)?.spec.subsystem;
    for &a in addrs {
        let Some(e) = core.site_ref(a) else { continue };
        let theirs = e.site.subsystem();
        let Some(clash) = rules::subsys_clash(theirs, mine, !e.site.stack().is_empty()) else {
            continue;
        };
        let func = CString::try_from(e.site.name())?;
        let why = match (clash, theirs, mine) {
            (SubsysClash::Member, Some(s), _) => CString::try_from_fmt(fmt!(
                "{} belongs to subsystem '{}': only its patches may change it",
                display(&func),
                display(s)
            ))?,
            (SubsysClash::Outsider, _, Some(s)) => CString::try_from_fmt(fmt!(
                "{} is changed by a patch outside subsystem '{}'",
                display(&func),
                display(s)
            ))?,
            _ => continue,
        };
        return Err(fail(core, key, EINVAL, format_args!("{}", display(&why))));
    }
    let Some(name) = mine else {
        return Ok(());
    };
    // Another patch of the subsystem that is (or is becoming) enabled
    // fixes the member set.
    let other = core
        .patches
        .iter()
        .find(|p| p.key != key && p.spec.subsystem == Some(name) && p.state().target_enabled());
    if let Some(p) = other {
        let mut members = KVec::with_capacity(p.applied.len(), GFP_KERNEL)?;
        for a in p.applied.iter() {
            members.push(a.addr, GFP_KERNEL)?;
        }
        if !rules::same_members(&members, addrs) {
            let n = members.len();
            let pname = CString::try_from(p.spec.name)?;
            return Err(fail(
                core,
                key,
                EINVAL,
                format_args!(
                    "subsystem '{}' is made of {} functions: a patch of it must change exactly those, as patch '{}' does",
                    display(name),
                    n,
                    display(&pname)
                ),
            ));
        }
    }
    Ok(())
}

/// Rebuilds the table of member editions shared by the member sites of
/// subsystem `name`, for their next snapshots.
///
/// # Errors
///
/// `ENOMEM`; the old table stays.
pub(crate) fn refresh_inherit(core: &mut Core, name: &CStr) -> Result {
    let mut table = KVec::new();
    for e in core
        .sites
        .iter()
        .filter(|e| e.site.subsystem() == Some(name))
    {
        for ed in e.site.all_editions() {
            for r in ed.ranges.iter() {
                table.push((r.clone(), ed.gen), GFP_KERNEL)?;
            }
        }
    }
    let table: Arc<InheritTable> = Arc::new(table, GFP_KERNEL)?;
    for e in core
        .sites
        .iter_mut()
        .filter(|e| e.site.subsystem() == Some(name))
    {
        e.site.set_inherit(table.clone());
    }
    Ok(())
}

/// Rebuilds the tables of the subsystems of the sites at `addrs`.
///
/// # Errors
///
/// `ENOMEM`.
pub(crate) fn refresh_sites(core: &mut Core, addrs: &[usize]) -> Result {
    let mut names: KVec<CString> = KVec::new();
    for &a in addrs {
        if let Some(s) = core.site_ref(a).and_then(|e| e.site.subsystem()) {
            if !names.iter().any(|n| **n == *s) {
                names.push(CString::try_from(s)?, GFP_KERNEL)?;
            }
        }
    }
    for n in names.iter() {
        refresh_inherit(core, n)?;
    }
    Ok(())
}

/// Reports a switch that has not drained in time, once; called by the
/// transition work at each check.
pub(crate) fn check_timeout(core: &mut Core) {
    let Some((name, from, to)) = switching(core) else {
        return;
    };
    let Some(limit) = core
        .subsystems
        .iter()
        .find(|s| *s.name == *name)
        .map(|s| s.timeout_ms)
    else {
        return;
    };
    let Some(t) = core.transition.as_mut() else {
        return;
    };
    if !timeout_due(limit, t.started.elapsed().as_millis(), t.timed_out) {
        return;
    }
    t.timed_out = true;
    pr_warn!(
        "subsystem '{}': switch {}->{} has not drained after {} ms; tasks holding generation {}:\n",
        display(name),
        from,
        to,
        limit,
        from
    );
    for h in t.drain.holders.iter() {
        let mut sym = [0u8; 512];
        pr_warn!(
            "subsystem '{}':   {} {} {}\n",
            display(name),
            h.pid,
            h.comm_str(),
            h.where_str(&mut sym)
        );
    }
}
