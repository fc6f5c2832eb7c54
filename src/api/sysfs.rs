// SPDX-License-Identifier: GPL-2.0

//! Every file under `/sys/kernel/dynamos/`: its show and store handlers.
//!
//! ```text
//! /sys/kernel/dynamos/
//!     version                     dynamos version and patch ABI version
//!     shadow_vars                 shadow variables allocated now
//!     patches/<patch>/
//!         enabled                 1 to enable, 0 to disable (reversible midway)
//!         replace                 1: enable, replacing every other patch
//!         state                   registered|enabling|enabled|disabling|disabled
//!         transition              1 while enabling or disabling
//!         error                   why the last enable or disable failed
//!         waiting                 during a transition: what it waits for
//!         force                   1: end the transition now, the rest as a leftover
//!         timeout_ms              when a transition that has not ended is reported
//!         states/<name>/          a state the patch converts lazily
//!             converted           objects converted now
//!             reversible          1 if converting back loses nothing
//!             eager               1 starts the eager pass, 0 stops it; its progress
//!             allow_loss          1: a disable may drop what it cannot convert back
//!     functions/<[module:]symbol[,pos]>/
//!         default                 edition new calls enter; write an id to change
//!         pids                    per-process editions: "PID ID" sets, "-PID" clears
//!         policy                  summary of the policies in force
//!         editions/<id>/
//!             patch               owning patch ("original" for edition 0)
//!             state               default|live|draining
//!             inside              threads inside now
//!             calls               calls that entered it so far
//!     subsystems/<name>/
//!         generation              the generation new calls enter
//!         state                   idle|switching|draining|transferring|failed
//!         holders                 tasks holding the old generation
//!         members                 its functions
//!         timeout_ms              when a switch that has not drained is reported
//!         cancel                  1: roll the switch back
//!         force                   1: complete the switch now
//! ```
//!
//! Every handler of a patch, function, edition or subsystem file takes the
//! registry mutex through `with_core` (a state's files, `version` and
//! `shadow_vars` read atomics); a store parses its input with
//! `logic/parse.rs` first, and on a refusal returns an errno and changes
//! nothing. `Documentation/ABI/` has one entry per file.

use crate::{
    abi::ABI_VERSION,
    emit,
    logic::{
        lifecycle::{switch_phase, PatchKey, PatchState, SwitchPhase},
        parse::{self, ParseError, PidCommand},
        rules::{self, PidEdit, PidRefusal},
    },
    mech::{drain, state::Pass},
    raw::{
        display, kallsyms, shadow,
        sysfs::{Attr, Mode, ShowBuf},
        tasks,
    },
    registry::{
        consistent, disable, enable,
        model::{
            with_core, Core, EditionInfo, PatchInfo, SiteInfo, StateInfo, SubsysInfo, Tables, Trash,
        },
        register, stacking,
        subsystem::{generation, switching},
    },
    VERSION,
};
use kernel::{c_str, prelude::*, str::CStr, task::Pid};

/// Every directory's files, handed to the registry at init.
pub(crate) static TABLES: Tables = Tables {
    root: &ROOT_ATTRS,
    patch: &PATCH_ATTRS,
    site: &SITE_ATTRS,
    edition: &EDITION_ATTRS,
    subsys: &SUBSYS_ATTRS,
    state: &STATE_ATTRS,
};

fn show_version(_: &(), buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{} abi {}\n", VERSION, ABI_VERSION)
}

fn show_shadow_vars(_: &(), buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{}\n", shadow::live())
}

static ROOT_ATTRS: [Attr<()>; 2] = [
    Attr {
        name: c_str!("version"),
        mode: Mode::READ_ONLY,
        show: Some(show_version),
        store: None,
    },
    Attr {
        name: c_str!("shadow_vars"),
        mode: Mode::READ_ONLY,
        show: Some(show_shadow_vars),
        store: None,
    },
];

/// Maps a parse error to the errno a writer gets.
pub(crate) fn parse_errno(e: ParseError) -> Error {
    match e {
        ParseError::TooLong => E2BIG,
        ParseError::Invalid | ParseError::Range => EINVAL,
    }
}

/// Most per-process entries on one function.
const MAX_PIDS: usize = 64;

fn with_patch<R>(
    info: &PatchInfo,
    f: impl FnOnce(&mut Core, PatchKey, &mut Trash) -> Result<R>,
) -> Result<R> {
    with_core(|core, trash| {
        core.patch(info.key).ok_or(ENODEV)?;
        f(core, info.key, trash)
    })
}

fn show_enabled(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    let on = with_patch(info, |core, i, _| {
        Ok(core.patch(i).ok_or(ENODEV)?.state().target_enabled())
    })?;
    emit!(buf, "{}\n", u8::from(on))
}

fn store_enabled(info: &PatchInfo, input: &[u8]) -> Result {
    let on = parse::parse_bool(input).map_err(parse_errno)?;
    if !on {
        return with_patch(info, disable::disable);
    }
    enable_as(info, enable::How::AsBuilt)
}

fn store_replace(info: &PatchInfo, input: &[u8]) -> Result {
    parse::parse_trigger(input).map_err(parse_errno)?;
    enable_as(info, enable::How::Replace)
}

fn enable_as(info: &PatchInfo, how: enable::How) -> Result {
    // Symbols are resolved without the registry mutex (see
    // `stacking::Resolved`), from a copy of the patch's function list.
    let queries = with_patch(info, |core, i, _| {
        let p = core.patch(i).ok_or(ENODEV)?;
        match p.state() {
            PatchState::Registered | PatchState::Disabled => {
                stacking::queries(&p.spec.funcs).map(Some)
            }
            _ => Ok(None),
        }
    })?;
    let found = queries.map(|q| kallsyms::resolve(&q));
    with_patch(info, |core, i, trash| {
        enable::enable(core, i, trash, found, how)
    })
}

fn show_state(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    let state = with_patch(info, |core, i, _| Ok(core.patch(i).ok_or(ENODEV)?.state()))?;
    emit!(buf, "{}\n", state.name())
}

fn show_transition(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    let state = with_patch(info, |core, i, _| Ok(core.patch(i).ok_or(ENODEV)?.state()))?;
    emit!(buf, "{}\n", u8::from(state.in_transition()))
}

fn show_error(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_patch(info, |core, i, _| {
        if let Some(e) = &core.patch(i).ok_or(ENODEV)?.error {
            emit!(buf, "{}\n", e.to_str().unwrap_or("?"))?;
        }
        Ok(())
    })
}

fn show_waiting(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_core(|core, _| {
        let Some(t) = core.transition.as_ref().filter(|t| t.patch == info.key) else {
            return Ok(());
        };
        emit!(buf, "counted {}\n", t.drain.counted)?;
        // A consistent transition waits for its tasks to switch first.
        if let Some(sw) = &t.switch {
            emit!(buf, "pending {}\n", sw.remaining)?;
            emit!(
                buf,
                "switched {} of {}\n",
                sw.total - sw.remaining,
                sw.total
            )?;
            for h in sw.holders.iter() {
                emit!(buf, "holder {} {}\n", h.pid, h.comm_str())?;
            }
            return Ok(());
        }
        match t.drain.pending() {
            Some(n) => emit!(buf, "pending {}\n", n)?,
            None => emit!(buf, "pending all\n")?,
        }
        for h in t.drain.holders.iter() {
            emit!(buf, "holder {} {}\n", h.pid, h.comm_str())?;
        }
        Ok(())
    })
}

fn store_force_patch(info: &PatchInfo, input: &[u8]) -> Result {
    parse::parse_trigger(input).map_err(parse_errno)?;
    with_patch(info, |core, i, _| consistent::force(core, i))
}

fn show_patch_timeout(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    let ms = with_patch(info, |core, i, _| {
        Ok(core.patch(i).ok_or(ENODEV)?.timeout_ms)
    })?;
    emit!(buf, "{}\n", ms)
}

fn store_patch_timeout(info: &PatchInfo, input: &[u8]) -> Result {
    let ms = parse::parse_timeout_ms(input).map_err(parse_errno)?;
    with_patch(info, |core, i, _| {
        core.patch_mut(i).ok_or(ENODEV)?.timeout_ms = ms;
        Ok(())
    })
}

static PATCH_ATTRS: [Attr<PatchInfo>; 8] = [
    Attr {
        name: c_str!("enabled"),
        mode: Mode::READ_WRITE,
        show: Some(show_enabled),
        store: Some(store_enabled),
    },
    Attr {
        name: c_str!("replace"),
        mode: Mode::WRITE_ONLY,
        show: None,
        store: Some(store_replace),
    },
    Attr {
        name: c_str!("state"),
        mode: Mode::READ_ONLY,
        show: Some(show_state),
        store: None,
    },
    Attr {
        name: c_str!("transition"),
        mode: Mode::READ_ONLY,
        show: Some(show_transition),
        store: None,
    },
    Attr {
        name: c_str!("error"),
        mode: Mode::READ_ONLY,
        show: Some(show_error),
        store: None,
    },
    Attr {
        name: c_str!("waiting"),
        mode: Mode::READ_ONLY,
        show: Some(show_waiting),
        store: None,
    },
    Attr {
        name: c_str!("force"),
        mode: Mode::WRITE_ONLY,
        show: None,
        store: Some(store_force_patch),
    },
    Attr {
        name: c_str!("timeout_ms"),
        mode: Mode::READ_WRITE,
        show: Some(show_patch_timeout),
        store: Some(store_patch_timeout),
    },
];

fn with_site<R>(addr: usize, f: impl FnOnce(&mut Core, &mut Trash) -> Result<R>) -> Result<R> {
    with_core(|core, trash| {
        core.site(addr).ok_or(ENODEV)?;
        f(core, trash)
    })
}

fn show_default(info: &SiteInfo, buf: &mut ShowBuf<'_>) -> Result {
    let id = with_site(info.addr, |core, _| {
        Ok(core.site(info.addr).ok_or(ENODEV)?.site.default_id())
    })?;
    emit!(buf, "{}\n", id)
}

fn store_default(info: &SiteInfo, input: &[u8]) -> Result {
    let id = parse::parse_edition(input).map_err(parse_errno)?;
    with_site(info.addr, |core, _| {
        if core.site_in_transition(info.addr) {
            return Err(EBUSY);
        }
        core.site(info.addr).ok_or(ENODEV)?.site.set_default(id)?;
        // A kernel thread loop's threads move to the new default.
        core.refresh_safepoints();
        Ok(())
    })
}

fn show_pids(info: &SiteInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_site(info.addr, |core, _| {
        for (p, id) in core.site(info.addr).ok_or(ENODEV)?.site.pids() {
            emit!(buf, "{} {}\n", p.nr(), id)?;
        }
        Ok(())
    })
}

fn store_pids(info: &SiteInfo, input: &[u8]) -> Result {
    let cmd = parse::parse_pid_command(input).map_err(parse_errno)?;
    let process = match cmd {
        PidCommand::Set { pid, .. } => Some(tasks::Process::get(pid as Pid).ok_or(ESRCH)?),
        PidCommand::Clear { .. } => None,
    };
    with_site(info.addr, |core, _| {
        if core.site_in_transition(info.addr) {
            return Err(EBUSY);
        }
        let site = &mut core.site(info.addr).ok_or(ENODEV)?.site;
        // The entries of processes that exited go with this change.
        let n = site.pids().count();
        let mut pids = KVec::with_capacity(n + 1, GFP_KERNEL)?;
        let mut table = KVec::with_capacity(n, GFP_KERNEL)?;
        for (p, id) in site.pids() {
            pids.push((p.clone_ref(), *id), GFP_KERNEL)?;
            table.push(p.nr(), GFP_KERNEL)?;
        }
        let (pid, set) = match cmd {
            PidCommand::Set { pid, edition } => (pid, Some(edition)),
            PidCommand::Clear { pid } => (pid, None),
        };
        let exists = set.map(|id| site.edition(id).is_some());
        let edit = rules::pid_edit(&table, pid, exists, MAX_PIDS).map_err(|e| match e {
            PidRefusal::NoEdition | PidRefusal::NoEntry => ENOENT,
            PidRefusal::Full => ENOSPC,
        })?;
        match (edit, set, process) {
            (PidEdit::Update(i), Some(id), Some(p)) => pids[i] = (p, id),
            (PidEdit::Append, Some(id), Some(p)) => pids.push((p, id), GFP_KERNEL)?,
            (PidEdit::Remove(i), _, _) => {
                pids.remove(i)?;
            }
            _ => return Err(EINVAL),
        }
        site.set_pids(pids)
    })
}

fn show_policy(info: &SiteInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_site(info.addr, |core, _| {
        let counting = core.site_in_transition(info.addr);
        let site = &core.site(info.addr).ok_or(ENODEV)?.site;
        emit!(buf, "default {}\n", site.default_id())?;
        for (p, id) in site.pids() {
            emit!(buf, "pid {} {}\n", p.nr(), id)?;
        }
        if let Some(name) = site.adapt_patch() {
            emit!(buf, "handler {}\n", name.to_str().unwrap_or("?"))?;
        }
        emit!(buf, "counting {}\n", u8::from(counting || site.counting()))?;
        emit!(buf, "calls {}\n", site.mode())
    })
}

static SITE_ATTRS: [Attr<SiteInfo>; 3] = [
    Attr {
        name: c_str!("default"),
        mode: Mode::READ_WRITE,
        show: Some(show_default),
        store: Some(store_default),
    },
    Attr {
        name: c_str!("pids"),
        mode: Mode::READ_WRITE,
        show: Some(show_pids),
        store: Some(store_pids),
    },
    Attr {
        name: c_str!("policy"),
        mode: Mode::READ_ONLY,
        show: Some(show_policy),
        store: None,
    },
];

fn show_edition_patch(info: &EditionInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_site(info.site_addr, |core, _| {
        let site = &core.site_ref(info.site_addr).ok_or(ENODEV)?.site;
        let ed = site.edition_any(info.id).ok_or(ENODEV)?;
        match &ed.patch {
            Some(p) => emit!(buf, "{}\n", p.to_str().unwrap_or("?")),
            None => emit!(buf, "original\n"),
        }
    })
}

fn show_edition_state(info: &EditionInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_site(info.site_addr, |core, _| {
        let t = core.transition.as_ref();
        let site = &core.site_ref(info.site_addr).ok_or(ENODEV)?.site;
        let ed = site.edition_any(info.id).ok_or(ENODEV)?;
        let state = if t.is_some_and(|t| t.drain.contains(ed))
            || core.leftovers.iter().any(|l| l.drain.contains(ed))
        {
            "draining"
        } else if site.default_id() == info.id {
            "default"
        } else {
            "live"
        };
        emit!(buf, "{}\n", state)
    })
}

fn show_edition_inside(info: &EditionInfo, buf: &mut ShowBuf<'_>) -> Result {
    let n = with_site(info.site_addr, |core, _| {
        let site = &core.site_ref(info.site_addr).ok_or(ENODEV)?.site;
        let ed = site.edition_any(info.id).ok_or(ENODEV)?;
        let counted = if info.id == 0 {
            site.orig_counted_inside()
        } else {
            ed.counted_inside()
        };
        let scanned = drain::threads_in(&ed.ranges) as isize;
        Ok(counted.max(scanned))
    })?;
    emit!(buf, "{}\n", n)
}

fn show_edition_calls(info: &EditionInfo, buf: &mut ShowBuf<'_>) -> Result {
    let n = with_site(info.site_addr, |core, _| {
        let site = &core.site_ref(info.site_addr).ok_or(ENODEV)?.site;
        Ok(site.edition_any(info.id).ok_or(ENODEV)?.calls())
    })?;
    emit!(buf, "{}\n", n)
}

static EDITION_ATTRS: [Attr<EditionInfo>; 4] = [
    Attr {
        name: c_str!("patch"),
        mode: Mode::READ_ONLY,
        show: Some(show_edition_patch),
        store: None,
    },
    Attr {
        name: c_str!("state"),
        mode: Mode::READ_ONLY,
        show: Some(show_edition_state),
        store: None,
    },
    Attr {
        name: c_str!("inside"),
        mode: Mode::ROOT_ONLY,
        show: Some(show_edition_inside),
        store: None,
    },
    Attr {
        name: c_str!("calls"),
        mode: Mode::READ_ONLY,
        show: Some(show_edition_calls),
        store: None,
    },
];

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

fn show_subsys_state(info: &SubsysInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_subsys(info, |core, _| {
        let Some((_, from, to)) = switching(core).filter(|s| s.0 == &*info.name) else {
            return emit!(buf, "idle\n");
        };
        let Some(t) = core.transition.as_ref() else {
            return emit!(buf, "idle\n");
        };
        match switch_phase(t.transferring, t.timed_out, t.drain.pending()) {
            SwitchPhase::Transferring => emit!(buf, "transferring {}->{}\n", from, to),
            SwitchPhase::Failed => emit!(
                buf,
                "failed {}->{}: not drained after {} ms, {} holding\n",
                from,
                to,
                t.started.elapsed().as_millis(),
                t.drain.pending().unwrap_or(0)
            ),
            SwitchPhase::Draining(n) => emit!(buf, "draining {}->{} {}\n", from, to, n),
            SwitchPhase::Switching => emit!(buf, "switching {}->{}\n", from, to),
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
                kallsyms::symbol(h.addr, &mut sym)
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
            .filter(|e| e.site.subsystem() == Some(&*info.name))
        {
            emit!(buf, "{}\n", display(e.site.name()))?;
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

/// The key of the patch switching subsystem `name`, if one is and its
/// switch can still be cancelled or forced.
fn switch_of(core: &Core, name: &CStr) -> Result<PatchKey> {
    let t = core.transition.as_ref().ok_or(EINVAL)?;
    if switching(core).is_none_or(|s| s.0 != name) {
        return Err(EINVAL);
    }
    if t.transferring {
        return Err(EBUSY);
    }
    core.patch(t.patch).map(|p| p.key).ok_or(EINVAL)
}

fn store_cancel(info: &SubsysInfo, input: &[u8]) -> Result {
    parse::parse_trigger(input).map_err(parse_errno)?;
    with_subsys(info, |core, trash| {
        let key = switch_of(core, &info.name)?;
        pr_info!(
            "subsystem '{}': switch cancelled by the admin\n",
            display(&info.name)
        );
        if core.patch(key).ok_or(ENODEV)?.state() == PatchState::Enabling {
            disable::disable(core, key, trash)
        } else {
            disable::reverse_disable(core, key)
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
        show: Some(show_subsys_state),
        store: None,
    },
    Attr {
        name: c_str!("holders"),
        mode: Mode::ROOT_ONLY,
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

fn show_converted(StateInfo { state: st }: &StateInfo, buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{}\n", st.converted())
}

fn show_reversible(StateInfo { state: st }: &StateInfo, buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{}\n", u8::from(st.reversible()))
}

fn show_eager(StateInfo { state: st }: &StateInfo, buf: &mut ShowBuf<'_>) -> Result {
    let (done, total, err) = st.progress();
    match st.pass() {
        Pass::Idle => emit!(buf, "idle\n"),
        Pass::Queued => emit!(buf, "queued\n"),
        Pass::Running => emit!(buf, "running {}/{}\n", done, total),
        Pass::Done => emit!(buf, "done {}/{}\n", done, total),
        Pass::Stopped => emit!(buf, "stopped {}/{}\n", done, total),
        Pass::Failed => emit!(buf, "failed {}/{} ({})\n", done, total, err),
    }
}

fn store_eager(StateInfo { state: st }: &StateInfo, input: &[u8]) -> Result {
    let start = parse::parse_bool(input).map_err(parse_errno)?;
    if !start {
        st.stop_pass();
        return Ok(());
    }
    if !st.has_walker() {
        return Err(EOPNOTSUPP);
    }
    register::start_eager(st.patch, st.name)
}

fn show_allow_loss(StateInfo { state: st }: &StateInfo, buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{}\n", u8::from(st.allow_loss()))
}

fn store_allow_loss(StateInfo { state: st }: &StateInfo, input: &[u8]) -> Result {
    let v = parse::parse_bool(input).map_err(parse_errno)?;
    // Refused for a reversible state: nothing is lost, the records are
    // converted back.
    st.set_allow_loss(v)
}

/// The files of a state's directory.
static STATE_ATTRS: [Attr<StateInfo>; 4] = [
    Attr {
        name: c_str!("converted"),
        mode: Mode::READ_ONLY,
        show: Some(show_converted),
        store: None,
    },
    Attr {
        name: c_str!("reversible"),
        mode: Mode::READ_ONLY,
        show: Some(show_reversible),
        store: None,
    },
    Attr {
        name: c_str!("eager"),
        mode: Mode::READ_WRITE,
        show: Some(show_eager),
        store: Some(store_eager),
    },
    Attr {
        name: c_str!("allow_loss"),
        mode: Mode::READ_WRITE,
        show: Some(show_allow_loss),
        store: Some(store_allow_loss),
    },
];
