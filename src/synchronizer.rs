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
//! Switch: `patch.rs` pushes (or pops) the editions of every member in one
//! step, under the registry mutex, with no stop_machine. Old-generation
//! threads are forwarded to their own generation (above); new ones take the
//! new one at once: nobody waits for a sleeper. Generation g retires when
//! no thread is inside it (`transition.rs`: use counters, and stack checks
//! of the threads that were inside before). Kernel threads that never
//! return move at their safe point (`safepoint.rs`). Then the patch's
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

use crate::{
    emit, parse,
    patch::{self, State},
    registry::{display, parse_errno, with_core, Core, Trash},
    site::{Edition, InheritTable},
    sysfs::{Attr, Dir, Mode, Parent, ShowBuf},
};
use kernel::{
    c_str,
    prelude::*,
    str::{CStr, CString},
    sync::Arc,
};

/// Default switch timeout, in milliseconds.
pub(crate) const DEFAULT_TIMEOUT_MS: u32 = 30_000;

/// Context of a subsystem's sysfs directory: its name.
pub(crate) struct SubsysInfo {
    name: CString,
}

/// A subsystem known to dynamos: some registered patch declares it.
pub(crate) struct Subsystem {
    /// Its name.
    pub(crate) name: CString,
    /// How long a switch may take to drain before it is reported, in
    /// milliseconds; 0: never reported.
    pub(crate) timeout_ms: u32,
    dir: Dir<SubsysInfo>,
}

/// Creates the subsystem `name` (and its sysfs directory) unless it exists.
pub(crate) fn declare(core: &mut Core, name: &CStr) -> Result {
    if core.subsystems.iter().any(|s| *s.name == *name) {
        return Ok(());
    }
    core.subsystems.reserve(1, GFP_KERNEL)?;
    let dir = Dir::new(
        name,
        Parent::Dir(&core.subsystems_dir),
        Arc::new(
            SubsysInfo {
                name: CString::try_from(name)?,
            },
            GFP_KERNEL,
        )?,
        &SUBSYS_ATTRS,
    )?;
    // PANIC: cannot fail, reserved above.
    let _ = core.subsystems.push(
        Subsystem {
            name: CString::try_from(name)?,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            dir,
        },
        GFP_NOWAIT,
    );
    Ok(())
}

/// Forgets the subsystem `name` if no registered patch declares it anymore.
pub(crate) fn forget(core: &mut Core, name: &CStr, trash: &mut Trash) {
    if core.patches.iter().any(|p| p.spec.subsystem == Some(name)) {
        return;
    }
    if let Some(pos) = core.subsystems.iter().position(|s| *s.name == *name) {
        if let Ok(s) = core.subsystems.remove(pos) {
            trash.push_subsys_dir(s.dir);
        }
    }
}

/// The current generation of subsystem `name`.
pub(crate) fn generation(core: &Core, name: &CStr) -> u32 {
    core.patches
        .iter()
        .filter(|p| p.spec.subsystem == Some(name) && p.state.target_enabled())
        .count() as u32
}

/// The subsystem of the patch in transition and the generations it moves
/// between, if it is a subsystem patch.
pub(crate) fn switching(core: &Core) -> Option<(&'static CStr, u32, u32)> {
    let t = core.transition.as_ref()?;
    let p = &core.patches[core.patch_index(t.patch)?];
    let name = p.spec.subsystem?;
    let g = generation(core, name);
    Some(match p.state {
        State::Enabling => (name, g.saturating_sub(1), g),
        _ => (name, g + 1, g),
    })
}

/// Checks that patch `idx`, about to change the functions at `addrs`, keeps
/// to the subsystem rules (see the module documentation).
///
/// # Errors
///
/// `EINVAL` with the reason in dmesg and in the patch's `error` file.
pub(crate) fn check_enable(core: &mut Core, idx: usize, addrs: &[usize]) -> Result {
    let mine = core.patches[idx].spec.subsystem;
    for &a in addrs {
        let Some(e) = core.site_ref(a) else { continue };
        let theirs = e.site.subsystem.as_deref();
        if e.site.stack.is_empty() || theirs == mine {
            continue;
        }
        let func = CString::try_from(&*e.site.name)?;
        let why = match (theirs, mine) {
            (Some(s), _) => CString::try_from_fmt(fmt!(
                "{} belongs to subsystem '{}': only its patches may change it",
                display(&func),
                display(s)
            ))?,
            (None, Some(s)) => CString::try_from_fmt(fmt!(
                "{} is changed by a patch outside subsystem '{}'",
                display(&func),
                display(s)
            ))?,
            (None, None) => continue,
        };
        return Err(patch::fail(
            core,
            idx,
            EINVAL,
            format_args!("{}", display(&why)),
        ));
    }
    let Some(name) = mine else {
        return Ok(());
    };
    // Another patch of the subsystem that is (or is becoming) enabled
    // fixes the member set.
    let other = core
        .patches
        .iter()
        .enumerate()
        .find(|(i, p)| *i != idx && p.spec.subsystem == Some(name) && p.state.target_enabled());
    if let Some((_, p)) = other {
        let same = p.sites.len() == addrs.len() && addrs.iter().all(|a| p.sites.contains(a));
        if !same {
            let n = p.sites.len();
            let pname = CString::try_from(p.spec.name)?;
            return Err(patch::fail(
                core,
                idx,
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
        .filter(|e| e.site.subsystem.as_deref() == Some(name))
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
        .filter(|e| e.site.subsystem.as_deref() == Some(name))
    {
        e.site.inherit = Some(table.clone());
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
        if let Some(s) = core.site_ref(a).and_then(|e| e.site.subsystem.as_deref()) {
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
    let waited = t.started.elapsed().as_millis();
    if limit == 0 || t.timed_out || waited < i64::from(limit) {
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
            crate::kallsyms::symbol(h.addr, &mut sym)
        );
    }
}

/// The editions that stay draining after a forced switch, until their last
/// holder leaves.
pub(crate) struct Leftover {
    /// What still drains.
    pub(crate) drain: crate::transition::Drain,
    /// Old editions of callers that an interface change's adaptor covers
    /// (not a forced switch).
    pub(crate) adapted: bool,
}

impl Leftover {
    /// The editions it holds.
    pub(crate) fn editions(&self) -> impl Iterator<Item = &Arc<Edition>> {
        self.drain.editions()
    }
}

fn with_subsys<R>(
    info: &SubsysInfo,
    f: impl FnOnce(&mut Core, &mut Trash) -> Result<R>,
) -> Result<R> {
    with_core(|core, trash| {
        if !core.subsystems.iter().any(|s| *s.name == *info.name) {
            return Err(ENODEV);
        }
        f(core, trash)
    })
}

fn show_generation(info: &SubsysInfo, buf: &mut ShowBuf<'_>) -> Result {
    let g = with_subsys(info, |core, _| Ok(generation(core, &info.name)))?;
    emit!(buf, "{}\n", g)
}

fn show_state(info: &SubsysInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_subsys(info, |core, _| {
        let Some((_, from, to)) = switching(core).filter(|s| s.0 == &*info.name) else {
            return emit!(buf, "idle\n");
        };
        let Some(t) = core.transition.as_ref() else {
            return emit!(buf, "idle\n");
        };
        if t.transferring {
            emit!(buf, "transferring {}->{}\n", from, to)
        } else if t.timed_out {
            emit!(
                buf,
                "failed {}->{}: not drained after {} ms, {} holding\n",
                from,
                to,
                t.started.elapsed().as_millis(),
                t.drain.pending().unwrap_or(0)
            )
        } else if let Some(n) = t.drain.pending() {
            emit!(buf, "draining {}->{} {}\n", from, to, n)
        } else {
            emit!(buf, "switching {}->{}\n", from, to)
        }
    })
}

fn show_holders(info: &SubsysInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_subsys(info, |core, _| {
        if switching(core).is_none_or(|s| s.0 != &*info.name) {
            return Ok(());
        }
        let Some(t) = core.transition.as_ref() else {
            return Ok(());
        };
        for h in t.drain.holders.iter() {
            let mut sym = [0u8; 512];
            emit!(
                buf,
                "{} {} {}\n",
                h.pid,
                h.comm_str(),
                crate::kallsyms::symbol(h.addr, &mut sym)
            )?;
        }
        Ok(())
    })
}

fn show_members(info: &SubsysInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_subsys(info, |core, _| {
        for e in core
            .sites
            .iter()
            .filter(|e| e.site.subsystem.as_deref() == Some(&*info.name))
        {
            emit!(buf, "{}\n", display(&e.site.name))?;
        }
        Ok(())
    })
}

fn show_timeout(info: &SubsysInfo, buf: &mut ShowBuf<'_>) -> Result {
    let ms = with_subsys(info, |core, _| {
        Ok(core
            .subsystems
            .iter()
            .find(|s| *s.name == *info.name)
            .map_or(0, |s| s.timeout_ms))
    })?;
    emit!(buf, "{}\n", ms)
}

fn store_timeout(info: &SubsysInfo, input: &[u8]) -> Result {
    let ms = parse::parse_timeout_ms(input).map_err(parse_errno)?;
    with_subsys(info, |core, _| {
        if let Some(s) = core.subsystems.iter_mut().find(|s| *s.name == *info.name) {
            s.timeout_ms = ms;
        }
        Ok(())
    })
}

/// The index of the patch switching subsystem `name`, if one is and its
/// switch can still be cancelled or forced.
fn switch_of(core: &Core, name: &CStr) -> Result<usize> {
    let t = core.transition.as_ref().ok_or(EINVAL)?;
    if switching(core).is_none_or(|s| s.0 != name) {
        return Err(EINVAL);
    }
    if t.transferring {
        return Err(EBUSY);
    }
    core.patch_index(t.patch).ok_or(EINVAL)
}

fn store_cancel(info: &SubsysInfo, input: &[u8]) -> Result {
    parse::parse_trigger(input).map_err(parse_errno)?;
    with_subsys(info, |core, trash| {
        let idx = switch_of(core, &info.name)?;
        pr_info!(
            "subsystem '{}': switch cancelled by the admin\n",
            display(&info.name)
        );
        if core.patches[idx].state == State::Enabling {
            patch::disable(core, idx, trash)
        } else {
            patch::reverse_disable(core, idx)
        }
    })
}

fn store_force(info: &SubsysInfo, input: &[u8]) -> Result {
    parse::parse_trigger(input).map_err(parse_errno)?;
    with_subsys(info, |core, _| {
        switch_of(core, &info.name)?;
        // Room for the leftover, so that finishing cannot fail.
        core.leftovers.reserve(1, GFP_KERNEL)?;
        if let Some(t) = core.transition.as_mut() {
            t.forced = true;
        }
        pr_warn!(
            "subsystem '{}': switch forced by the admin\n",
            display(&info.name)
        );
        core.kick();
        Ok(())
    })
}

static SUBSYS_ATTRS: [Attr<SubsysInfo>; 7] = [
    Attr {
        name: c_str!("generation"),
        mode: Mode::READ_ONLY,
        show: Some(show_generation),
        store: None,
    },
    Attr {
        name: c_str!("state"),
        mode: Mode::READ_ONLY,
        show: Some(show_state),
        store: None,
    },
    Attr {
        name: c_str!("holders"),
        mode: Mode::READ_ONLY,
        show: Some(show_holders),
        store: None,
    },
    Attr {
        name: c_str!("members"),
        mode: Mode::READ_ONLY,
        show: Some(show_members),
        store: None,
    },
    Attr {
        name: c_str!("timeout_ms"),
        mode: Mode::READ_WRITE,
        show: Some(show_timeout),
        store: Some(store_timeout),
    },
    Attr {
        name: c_str!("cancel"),
        mode: Mode::WRITE_ONLY,
        show: None,
        store: Some(store_cancel),
    },
    Attr {
        name: c_str!("force"),
        mode: Mode::WRITE_ONLY,
        show: None,
        store: Some(store_force),
    },
];
