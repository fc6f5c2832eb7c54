// SPDX-License-Identifier: GPL-2.0

//! The registry of patches and sites, and the sysfs tree that shows and
//! controls them.
//!
//! ```text
//! /sys/kernel/dynamos/
//!     version                     dynamos version and patch ABI version
//!     patches/<patch>/
//!         enabled                 1 to enable, 0 to disable (reversible midway)
//!         state                   registered|enabling|enabled|disabling|disabled
//!         transition              1 while enabling or disabling
//!         error                   why the last enable or disable failed
//!         waiting                 during a transition: what it waits for
//!     functions/<[module:]symbol[,pos]>/
//!         default                 edition new calls enter; write an id to change
//!         pids                    per-process editions: "PID ID" sets, "-PID" clears
//!         policy                  summary of the policies in force
//!         editions/<id>/
//!             patch               owning patch ("original" for edition 0)
//!             state               default|live|draining
//!             inside              threads inside now
//!             calls               calls that entered it so far
//!     subsystems/<name>/          see synchronizer.rs
//!         generation              the generation new calls enter
//!         state                   idle|switching|draining|transferring|failed
//!         holders                 tasks holding the old generation
//!         members                 its functions
//!         timeout_ms              when a switch that has not drained is reported
//!         cancel                  1: roll the switch back
//!         force                   1: complete the switch now
//! ```
//!
//! All state lives in one [`Core`] behind a global mutex. sysfs handlers
//! take that mutex, and removing a sysfs file waits for its running
//! handlers, so directories are never removed with the mutex held: they go
//! to a [`Trash`] that is emptied after unlocking.

use crate::{
    abi::ABI_VERSION,
    emit,
    entry::PatchSpec,
    modules::{ModuleEvent, Notifier},
    parse::{self, ParseError, PidCommand},
    patch::{self, Patch, State},
    safepoint::Safepoints,
    site::{EditionId, Site},
    state::{LazyState, StateDirs},
    synchronizer::{self, Leftover, SubsysInfo, Subsystem},
    sysfs::{Attr, Dir, Mode, Parent, ShowBuf},
    transition::{self, Drain, Target},
    wq::OwnedQueue,
    VERSION,
};
use kernel::{
    c_str,
    prelude::*,
    str::{CStr, CString},
    sync::{global_lock, Arc},
    task::Pid,
    time::{Instant, Monotonic},
    workqueue::{impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem},
};

/// Most per-process entries on one function.
const MAX_PIDS: usize = 64;

/// Jiffies between checks of the drains forced switches left.
const LEFTOVER_PERIOD: usize = 10;

/// Identifies a registered patch: the address of its descriptor.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct PatchKey(usize);

impl PatchKey {
    /// The key of the patch described at `desc`. The pointer is never
    /// dereferenced through a key.
    pub(crate) fn of(desc: *const crate::abi::PatchDesc) -> Self {
        PatchKey(desc as usize)
    }
}

/// Context of a patch's sysfs directory.
pub(crate) struct PatchInfo {
    key: PatchKey,
}

/// Context of a function's sysfs directory: the site's address.
pub(crate) struct SiteInfo {
    addr: usize,
}

/// Context of an edition's sysfs directory.
pub(crate) struct EditionInfo {
    site: usize,
    id: EditionId,
}

/// A site with its sysfs directories. Fields drop in order: editions'
/// directories, then the function's, then the site (unhooking it).
pub(crate) struct SiteEntry {
    edition_dirs: KVec<Dir<EditionInfo>>,
    editions_dir: Dir<()>,
    _dir: Dir<SiteInfo>,
    /// The site.
    pub(crate) site: Site,
}

impl SiteEntry {
    /// Hooks `addr` and creates its sysfs directories.
    pub(crate) fn new(
        core: &Core,
        name: CString,
        object: Option<&'static CStr>,
        addr: usize,
        size: usize,
        kthread_loop: bool,
    ) -> Result<Self> {
        let site = Site::new(name, object, addr, size, kthread_loop)?;
        let dir = Dir::new(
            &site.name,
            Parent::Dir(&core.functions_dir),
            Arc::new(SiteInfo { addr }, GFP_KERNEL)?,
            &SITE_ATTRS,
        )?;
        let editions_dir = Dir::new(
            c_str!("editions"),
            Parent::Dir(&dir),
            Arc::new((), GFP_KERNEL)?,
            &[],
        )?;
        let mut entry = SiteEntry {
            edition_dirs: KVec::new(),
            editions_dir,
            _dir: dir,
            site,
        };
        entry.add_edition_dir(0)?;
        Ok(entry)
    }

    /// Creates `editions/<id>/`.
    pub(crate) fn add_edition_dir(&mut self, id: EditionId) -> Result {
        let name = CString::try_from_fmt(fmt!("{}", id))?;
        let dir = Dir::new(
            &name,
            Parent::Dir(&self.editions_dir),
            Arc::new(
                EditionInfo {
                    site: self.site.addr,
                    id,
                },
                GFP_KERNEL,
            )?,
            &EDITION_ATTRS,
        )?;
        self.edition_dirs.push(dir, GFP_KERNEL)?;
        Ok(())
    }

    /// Moves `editions/<id>/` to the trash.
    pub(crate) fn remove_edition_dir(&mut self, id: EditionId, trash: &mut Trash) {
        if let Some(pos) = self.edition_dirs.iter().position(|d| d.ctx().id == id) {
            if let Ok(dir) = self.edition_dirs.remove(pos) {
                trash.push_edition_dir(dir);
            }
        }
    }
}

/// A running transition: one at a time.
pub(crate) struct Transition {
    /// The patch in transition.
    pub(crate) patch: PatchKey,
    /// Where it goes.
    pub(crate) target: Target,
    /// What must drain before it is done.
    pub(crate) drain: Drain,
    /// Addresses of the sites counting for it.
    pub(crate) sites: KVec<usize>,
    /// Patches a cumulative patch is replacing: disabled when it is done.
    pub(crate) replaced: KVec<PatchKey>,
    /// For a cumulative patch: the stacks and policies it replaced, to
    /// put back if its enabling is reversed.
    pub(crate) undo: Option<(patch::SavedStacks, patch::Saved)>,
    /// When it started.
    pub(crate) started: Instant<Monotonic>,
    /// Whether its timeout was reported.
    pub(crate) timed_out: bool,
    /// Whether the admin forced it: it completes without waiting for the
    /// drain, which goes on as a [`Leftover`].
    pub(crate) forced: bool,
    /// Whether its callbacks are running (without the registry mutex).
    pub(crate) transferring: bool,
}

/// Everything dynamos owns while loaded. The notifier goes first when it
/// drops.
pub(crate) struct Core {
    _notifier: Notifier,
    /// Registered patches, in registration order.
    pub(crate) patches: KVec<Patch>,
    /// Hooked functions.
    pub(crate) sites: KVec<SiteEntry>,
    /// The transition in progress.
    pub(crate) transition: Option<Transition>,
    /// Drains left by forced switches.
    pub(crate) leftovers: KVec<Leftover>,
    /// Subsystems declared by registered patches.
    pub(crate) subsystems: KVec<Subsystem>,
    /// The hooks on kernel threads' safe points, while loop sites exist.
    pub(crate) safepoints: Option<Safepoints>,
    work: Arc<TransitionWork>,
    wq: OwnedQueue,
    /// Runs eager conversion passes (`state.rs`), apart from transitions.
    state_wq: OwnedQueue,
    pub(crate) subsystems_dir: Dir<()>,
    pub(crate) functions_dir: Dir<()>,
    pub(crate) patches_dir: Dir<()>,
    _root: Dir<()>,
}

impl Core {
    /// The site hooking `addr`.
    pub(crate) fn site(&mut self, addr: usize) -> Option<&mut SiteEntry> {
        self.sites.iter_mut().find(|s| s.site.addr == addr)
    }

    /// The site hooking `addr`, to read.
    pub(crate) fn site_ref(&self, addr: usize) -> Option<&SiteEntry> {
        self.sites.iter().find(|s| s.site.addr == addr)
    }

    /// The index of a patch.
    pub(crate) fn patch_index(&self, key: PatchKey) -> Option<usize> {
        self.patches.iter().position(|p| p.key == key)
    }

    /// Schedules a check of the transition now.
    pub(crate) fn kick(&self) {
        let _ = self.wq.enqueue::<Arc<TransitionWork>, 0>(self.work.clone());
    }

    /// Queues the eager pass of `st`, claimed with `claim_pass()`.
    pub(crate) fn queue_eager(&self, st: Arc<LazyState>) {
        if let Err(st) = self.state_wq.enqueue::<Arc<LazyState>, 0>(st) {
            st.unclaim_pass();
        }
    }

    /// Schedules a check of the transition in `delay` jiffies.
    fn kick_later(&self, delay: usize) {
        let _ = self.wq.enqueue_delayed(self.work.clone(), delay);
    }

    /// Whether a transition counts on the site at `addr`.
    fn site_in_transition(&self, addr: usize) -> bool {
        self.transition
            .as_ref()
            .is_some_and(|t| t.sites.contains(&addr))
            || self
                .leftovers
                .iter()
                .any(|l| l.drain.editions().any(|e| e.site == addr))
    }
}

/// A site's sysfs directories, children first.
struct SiteDirs {
    _edition_dirs: KVec<Dir<EditionInfo>>,
    _editions_dir: Dir<()>,
    _dir: Dir<SiteInfo>,
}

/// What must be dropped after the registry mutex is released: sysfs
/// directories (their removal waits for handlers that may be waiting for
/// the mutex) and unhooked sites.
///
/// Fields drop in order: every directory goes first, children before
/// parents, so that the names are free again before the hooks are
/// unregistered, which can take long (it waits for RCU grace periods).
#[derive(Default)]
pub(crate) struct Trash {
    edition_dirs: KVec<Dir<EditionInfo>>,
    site_dirs: KVec<SiteDirs>,
    state_dirs: KVec<crate::state::StateDirs>,
    patch_dirs: KVec<Dir<PatchInfo>>,
    subsys_dirs: KVec<Dir<SubsysInfo>>,
    sites: KVec<Site>,
}

impl Trash {
    /// Pushes `v` on `list`; on allocation failure `v` is leaked rather
    /// than dropped under the mutex, which could deadlock.
    fn keep<T>(list: &mut KVec<T>, v: T) {
        if list.reserve(1, GFP_KERNEL).is_err() {
            pr_err!("out of memory: leaking a sysfs directory\n");
            core::mem::forget(v);
            return;
        }
        if let Err(e) = list.push_within_capacity(v) {
            core::mem::forget(e.0);
        }
    }

    /// Queues a site for removal.
    pub(crate) fn push_site(&mut self, entry: SiteEntry) {
        let SiteEntry {
            edition_dirs,
            editions_dir,
            _dir,
            site,
        } = entry;
        Self::keep(
            &mut self.site_dirs,
            SiteDirs {
                _edition_dirs: edition_dirs,
                _editions_dir: editions_dir,
                _dir,
            },
        );
        Self::keep(&mut self.sites, site);
    }

    /// Queues the directories of a patch's states for removal.
    pub(crate) fn push_state_dirs(&mut self, dirs: crate::state::StateDirs) {
        Self::keep(&mut self.state_dirs, dirs);
    }

    /// Queues a patch directory for removal.
    pub(crate) fn push_patch_dir(&mut self, dir: Dir<PatchInfo>) {
        Self::keep(&mut self.patch_dirs, dir);
    }

    /// Queues an edition directory for removal.
    pub(crate) fn push_edition_dir(&mut self, dir: Dir<EditionInfo>) {
        Self::keep(&mut self.edition_dirs, dir);
    }

    /// Queues a subsystem directory for removal.
    pub(crate) fn push_subsys_dir(&mut self, dir: Dir<SubsysInfo>) {
        Self::keep(&mut self.subsys_dirs, dir);
    }
}

global_lock! {
    // SAFETY: `init()` initializes it before anything else can use it.
    unsafe(uninit) static CORE: Mutex<Option<Core>> = None;
}

/// Runs `f` on the registry under its mutex, then empties the trash.
pub(crate) fn with_core<R>(f: impl FnOnce(&mut Core, &mut Trash) -> Result<R>) -> Result<R> {
    let mut trash = Trash::default();
    let res = {
        let mut guard = CORE.lock();
        match guard.as_mut() {
            Some(core) => {
                let res = f(core, &mut trash);
                // Jumps are made in the background (see `Site::promote`).
                if core.sites.iter().any(|e| e.site.promotable()) {
                    core.kick();
                }
                res
            }
            None => Err(ENODEV),
        }
    };
    drop(trash);
    res
}

/// The work item that checks the transition until it is done.
#[pin_data]
pub(crate) struct TransitionWork {
    #[pin]
    work: DelayedWork<TransitionWork>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for TransitionWork { self.work }
}

impl WorkItem for TransitionWork {
    type Pointer = Arc<TransitionWork>;

    fn run(_this: Arc<TransitionWork>) {
        let transfer = with_core(|core, trash| {
            patch::check_leftovers(core, trash);
            // Some pending jumps at each run, when no transition runs or
            // while one waits (not before it ends: they cost a text patch
            // each); `with_core` queues the work again while some are left.
            let Some(t) = core.transition.as_mut() else {
                patch::promote(core);
                if !core.leftovers.is_empty() {
                    core.kick_later(LEFTOVER_PERIOD);
                }
                return Ok(None);
            };
            if t.transferring {
                return Ok(None);
            }
            if t.forced || t.drain.check() {
                return Ok(patch::start_transfer(core));
            }
            patch::promote(core);
            synchronizer::check_timeout(core);
            // Check again in a jiffy.
            core.kick_later(1);
            Ok(None)
        });
        if let Ok(Some(transfer)) = transfer {
            // The patch's callbacks run without the registry mutex.
            transfer.run();
            let finished = with_core(|core, trash| {
                let f = patch::finish(core, trash);
                if !core.leftovers.is_empty() {
                    core.kick_later(LEFTOVER_PERIOD);
                }
                Ok(f)
            });
            // The trash is empty now: the old functions are unhooked.
            if let Ok(Some(f)) = finished {
                let _ = with_core(|core, _| {
                    patch::conclude(core, f);
                    // Then the sites' jumps move to their cheaper entries.
                    core.kick();
                    Ok(())
                });
            }
        }
    }
}

fn show_version(_: &(), buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{} abi {}\n", VERSION, ABI_VERSION)
}

fn show_shadow_vars(_: &(), buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{}\n", crate::shadow::live())
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

fn with_patch<R>(
    info: &PatchInfo,
    f: impl FnOnce(&mut Core, usize, &mut Trash) -> Result<R>,
) -> Result<R> {
    with_core(|core, trash| {
        let idx = core.patch_index(info.key).ok_or(ENODEV)?;
        f(core, idx, trash)
    })
}

fn show_enabled(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    let on = with_patch(info, |core, i, _| {
        Ok(core.patches[i].state.target_enabled())
    })?;
    emit!(buf, "{}\n", u8::from(on))
}

fn store_enabled(info: &PatchInfo, input: &[u8]) -> Result {
    let on = parse::parse_bool(input).map_err(parse_errno)?;
    if !on {
        return with_patch(info, patch::disable);
    }
    // Symbols are resolved without the registry mutex (see
    // `patch::Resolved`), from a copy of the patch's function list.
    let queries = with_patch(info, |core, i, _| {
        let p = &core.patches[i];
        match p.state {
            State::Registered | State::Disabled => patch::queries(&p.spec.funcs).map(Some),
            _ => Ok(None),
        }
    })?;
    let found = queries.map(|q| crate::kallsyms::resolve(&q));
    with_patch(info, |core, i, trash| patch::enable(core, i, trash, found))
}

fn show_state(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    let state = with_patch(info, |core, i, _| Ok(core.patches[i].state))?;
    emit!(buf, "{}\n", state.name())
}

fn show_transition(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    let state = with_patch(info, |core, i, _| Ok(core.patches[i].state))?;
    emit!(
        buf,
        "{}\n",
        u8::from(matches!(state, State::Enabling | State::Disabling))
    )
}

fn show_error(info: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_patch(info, |core, i, _| {
        if let Some(e) = &core.patches[i].error {
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

static PATCH_ATTRS: [Attr<PatchInfo>; 5] = [
    Attr {
        name: c_str!("enabled"),
        mode: Mode::READ_WRITE,
        show: Some(show_enabled),
        store: Some(store_enabled),
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
        let entry = core.site(info.addr).ok_or(ENODEV)?;
        let site = &mut entry.site;
        if site.edition(id).is_none() {
            return Err(ENOENT);
        }
        let old = site.default;
        site.default = Some(id);
        match site.publish() {
            Ok(stale) => drop(stale),
            Err(e) => {
                site.default = old;
                return Err(e);
            }
        }
        // A kernel thread loop's threads move to the new default.
        crate::safepoint::refresh(core);
        Ok(())
    })
}

fn show_pids(info: &SiteInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_site(info.addr, |core, _| {
        for (pid, id) in core.site(info.addr).ok_or(ENODEV)?.site.pids.iter() {
            emit!(buf, "{} {}\n", pid, id)?;
        }
        Ok(())
    })
}

fn store_pids(info: &SiteInfo, input: &[u8]) -> Result {
    let cmd = parse::parse_pid_command(input).map_err(parse_errno)?;
    if let PidCommand::Set { pid, .. } = cmd {
        if !crate::tasks::process_exists(pid as Pid) {
            return Err(ESRCH);
        }
    }
    with_site(info.addr, |core, _| {
        if core.site_in_transition(info.addr) {
            return Err(EBUSY);
        }
        let site = &mut core.site(info.addr).ok_or(ENODEV)?.site;
        let mut pids = KVec::with_capacity(site.pids.len() + 1, GFP_KERNEL)?;
        for &p in site.pids.iter() {
            pids.push(p, GFP_KERNEL)?;
        }
        match cmd {
            PidCommand::Set { pid, edition } => {
                if site.edition(edition).is_none() {
                    return Err(ENOENT);
                }
                if let Some(e) = pids.iter_mut().find(|(p, _)| *p == pid) {
                    e.1 = edition;
                } else if pids.len() >= MAX_PIDS {
                    return Err(ENOSPC);
                } else {
                    pids.push((pid, edition), GFP_KERNEL)?;
                }
            }
            PidCommand::Clear { pid } => {
                let pos = pids.iter().position(|(p, _)| *p == pid).ok_or(ENOENT)?;
                pids.remove(pos)?;
            }
        }
        let old = core::mem::replace(&mut site.pids, pids);
        match site.publish() {
            Ok(stale) => {
                drop(stale);
                Ok(())
            }
            Err(e) => {
                site.pids = old;
                Err(e)
            }
        }
    })
}

fn show_policy(info: &SiteInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_site(info.addr, |core, _| {
        let counting = core.site_in_transition(info.addr);
        let site = &core.site(info.addr).ok_or(ENODEV)?.site;
        emit!(buf, "default {}\n", site.default_id())?;
        for (pid, id) in site.pids.iter() {
            emit!(buf, "pid {} {}\n", pid, id)?;
        }
        if let Some(name) = site.adapt_patch() {
            emit!(buf, "handler {}\n", name.to_str().unwrap_or("?"))?;
        }
        emit!(buf, "counting {}\n", u8::from(counting || site.counting))?;
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
    with_site(info.site, |core, _| {
        let site = &core.site_ref(info.site).ok_or(ENODEV)?.site;
        let ed = site.edition_any(info.id).ok_or(ENODEV)?;
        match &ed.patch {
            Some(p) => emit!(buf, "{}\n", p.to_str().unwrap_or("?")),
            None => emit!(buf, "original\n"),
        }
    })
}

fn show_edition_state(info: &EditionInfo, buf: &mut ShowBuf<'_>) -> Result {
    with_site(info.site, |core, _| {
        let t = core.transition.as_ref();
        let site = &core.site_ref(info.site).ok_or(ENODEV)?.site;
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
    let n = with_site(info.site, |core, _| {
        let site = &core.site_ref(info.site).ok_or(ENODEV)?.site;
        let ed = site.edition_any(info.id).ok_or(ENODEV)?;
        let counted = if info.id == 0 {
            site.orig_counted_inside()
        } else {
            ed.counted_inside()
        };
        let scanned = transition::threads_in(&ed.ranges) as isize;
        Ok(counted.max(scanned))
    })?;
    emit!(buf, "{}\n", n)
}

fn show_edition_calls(info: &EditionInfo, buf: &mut ShowBuf<'_>) -> Result {
    let n = with_site(info.site, |core, _| {
        let site = &core.site_ref(info.site).ok_or(ENODEV)?.site;
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
        mode: Mode::READ_ONLY,
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

/// Creates the registry and `/sys/kernel/dynamos/`. Called once, from the
/// module's init.
pub(crate) fn init() -> Result {
    // SAFETY: Called once, at module init, before any other use of `CORE`:
    // patch modules cannot call the entry points before dynamos is live.
    unsafe { CORE.init() };
    let root = Dir::new(
        c_str!("dynamos"),
        Parent::Kernel,
        Arc::new((), GFP_KERNEL)?,
        &ROOT_ATTRS,
    )?;
    let patches_dir = Dir::new(
        c_str!("patches"),
        Parent::Dir(&root),
        Arc::new((), GFP_KERNEL)?,
        &[],
    )?;
    let functions_dir = Dir::new(
        c_str!("functions"),
        Parent::Dir(&root),
        Arc::new((), GFP_KERNEL)?,
        &[],
    )?;
    let subsystems_dir = Dir::new(
        c_str!("subsystems"),
        Parent::Dir(&root),
        Arc::new((), GFP_KERNEL)?,
        &[],
    )?;
    crate::kthread::init();
    let work = Arc::pin_init(
        pin_init!(TransitionWork {
            work <- new_delayed_work!("dynamos::transition"),
        }),
        GFP_KERNEL,
    )?;
    let notifier = Notifier::register(module_event)?;
    *CORE.lock() = Some(Core {
        _notifier: notifier,
        patches: KVec::new(),
        sites: KVec::new(),
        transition: None,
        leftovers: KVec::new(),
        subsystems: KVec::new(),
        safepoints: None,
        work,
        wq: OwnedQueue::new(c_str!("dynamos"))?,
        state_wq: OwnedQueue::new(c_str!("dynamos_state"))?,
        subsystems_dir,
        functions_dir,
        patches_dir,
        _root: root,
    });
    Ok(())
}

/// Removes everything `init()` created. Called once, from the module's exit.
pub(crate) fn exit() {
    // Taken out under the mutex, dropped outside it: the workqueue drains
    // (its work finds no registry and stops) and the directories go.
    let core = CORE.lock().take();
    if let Some(core) = core {
        // Cannot happen: patch modules hold a reference on dynamos.
        if !core.patches.is_empty() {
            pr_warn!(
                "exit with {} patches still registered\n",
                core.patches.len()
            );
        }
        drop(core);
    }
}

/// Registers a patch whose descriptor `entry.rs` has checked, and enables
/// it unless it asked not to be.
pub(crate) fn register(key: PatchKey, spec: PatchSpec) -> Result {
    let auto = spec.flags & crate::abi::PATCH_NO_AUTO_ENABLE == 0;
    // Resolved before taking the mutex: see `patch::Resolved`.
    let found = if auto {
        Some(patch::queries(&spec.funcs).and_then(|q| crate::kallsyms::resolve(&q)))
    } else {
        None
    };
    with_core(|core, trash| {
        let name = spec.name;
        if core
            .patches
            .iter()
            .any(|p| p.key == key || p.spec.name == name)
        {
            pr_err!(
                "register: patch '{}' is already registered\n",
                name.to_str().unwrap_or("?")
            );
            return Err(EEXIST);
        }
        let ids = |sp: &PatchSpec| -> KVec<u64> {
            let mut v = KVec::new();
            for id in Iterator::chain(
                sp.shadows.iter().map(|x| x.id),
                sp.states.iter().map(|x| x.id),
            ) {
                let _ = v.push(id, GFP_KERNEL);
            }
            v
        };
        let mine = ids(&spec);
        for p in core.patches.iter() {
            let theirs = ids(&p.spec);
            if let Some(&id) = mine.iter().find(|id| theirs.contains(id)) {
                pr_err!(
                    "register: patch '{}': shadow id {} is used by patch '{}'\n",
                    name.to_str().unwrap_or("?"),
                    id,
                    display(p.spec.name)
                );
                return Err(EEXIST);
            }
        }
        core.patches.reserve(1, GFP_KERNEL)?;
        let subsystem = spec.subsystem;
        if let Some(s) = subsystem {
            synchronizer::declare(core, s)?;
        }
        let dir = Dir::new(
            name,
            Parent::Dir(&core.patches_dir),
            Arc::new(PatchInfo { key }, GFP_KERNEL)?,
            &PATCH_ATTRS,
        );
        let made = dir.and_then(|dir| {
            let states = lazy_states(key, &spec)?;
            let dirs = if states.is_empty() {
                None
            } else {
                match StateDirs::new(&dir, &states) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        for st in states.iter() {
                            st.detach();
                        }
                        return Err(e);
                    }
                }
            };
            Ok((dir, states, dirs))
        });
        let (dir, states, state_dirs) = match made {
            Ok(x) => x,
            Err(e) => {
                if let Some(s) = subsystem {
                    synchronizer::forget(core, s, trash);
                }
                return Err(e);
            }
        };
        // PANIC: cannot fail, reserved above.
        let _ = core
            .patches
            .push(Patch::new(key, spec, dir, states, state_dirs), GFP_NOWAIT);
        pr_info!("patch '{}' registered\n", name.to_str().unwrap_or("?"));
        if auto {
            let idx = core.patches.len() - 1;
            if let Err(e) = patch::enable(core, idx, trash, found) {
                if let Ok(p) = core.patches.remove(idx) {
                    p.discard(trash);
                }
                if let Some(s) = subsystem {
                    synchronizer::forget(core, s, trash);
                }
                pr_info!("patch '{}' unregistered\n", name.to_str().unwrap_or("?"));
                return Err(e);
            }
        }
        Ok(())
    })
}

/// The run-time states of a patch being registered.
fn lazy_states(key: PatchKey, spec: &PatchSpec) -> Result<KVec<Arc<LazyState>>> {
    let mut out: KVec<Arc<LazyState>> = KVec::with_capacity(spec.states.len(), GFP_KERNEL)?;
    for (&desc, &name) in spec.states.iter().zip(spec.state_names.iter()) {
        let st = LazyState::new(desc, name, key);
        let attached = st.and_then(|st| st.attach().map(|()| st));
        let st = match attached {
            Ok(st) => st,
            Err(e) => {
                if e == EBUSY {
                    pr_err!(
                        "register: patch '{}': state '{}' is registered already\n",
                        display(spec.name),
                        display(name)
                    );
                }
                for o in out.iter() {
                    o.detach();
                }
                return Err(e);
            }
        };
        // PANIC: cannot fail, reserved above.
        let _ = out.push(st, GFP_NOWAIT);
    }
    Ok(out)
}

/// Starts the eager pass of state `name` of patch `key`.
///
/// # Errors
///
/// `ENODEV` if the patch is gone, `EINVAL` if it is not enabled, `EBUSY`
/// if a pass is queued or running.
pub(crate) fn start_eager(key: PatchKey, name: &CStr) -> Result {
    with_core(|core, _| {
        let idx = core.patch_index(key).ok_or(ENODEV)?;
        let p = &core.patches[idx];
        if p.state != State::Enabled {
            return Err(EINVAL);
        }
        let st = p
            .states
            .iter()
            .find(|s| s.name == name)
            .ok_or(ENODEV)?
            .clone();
        if !st.claim_pass() {
            return Err(EBUSY);
        }
        core.queue_eager(st);
        Ok(())
    })
}

/// Unregisters the patch registered with `key`, removing its sysfs directory.
pub(crate) fn unregister(key: PatchKey) {
    let res = with_core(|core, trash| {
        let Some(pos) = core.patch_index(key) else {
            pr_err!("unregister: unknown patch descriptor\n");
            return Ok(());
        };
        if !matches!(core.patches[pos].state, State::Registered | State::Disabled) {
            // Cannot happen: its editions hold a reference on its module.
            pr_err!(
                "unregister: patch '{}' is still {}\n",
                core.patches[pos].spec.name.to_str().unwrap_or("?"),
                core.patches[pos].state.name()
            );
        }
        let p = core.patches.remove(pos)?;
        pr_info!(
            "patch '{}' unregistered\n",
            p.spec.name.to_str().unwrap_or("?")
        );
        let subsystem = p.spec.subsystem;
        // Whatever its data a disable left (a forced one leaves it all).
        p.free_data();
        p.discard(trash);
        if let Some(s) = subsystem {
            synchronizer::forget(core, s, trash);
        }
        Ok(())
    });
    if let Err(e) = res {
        pr_err!("unregister failed ({})\n", e.to_errno());
    }
}

/// Name for messages.
pub(crate) fn display(name: &CStr) -> &str {
    name.to_str().unwrap_or("?")
}

/// A module comes or goes: apply the enabled patches' functions that live
/// in it, or drop their sites. Events before the registry exists or after
/// it is gone are ignored.
fn module_event(event: ModuleEvent, module: &CStr) -> Result {
    let res = match event {
        ModuleEvent::Coming => module_coming(module),
        ModuleEvent::Going => with_core(|core, trash| {
            patch::module_going(core, module, trash);
            Ok(())
        }),
    };
    match res {
        Err(e) if e == ENODEV => Ok(()),
        res => res,
    }
}

fn module_coming(module: &CStr) -> Result {
    let wanted = with_core(|core, _| patch::coming_queries(core, module))?;
    if wanted.is_empty() {
        return Ok(());
    }
    let mut queries = KVec::with_capacity(wanted.len(), GFP_KERNEL)?;
    for (_, _, q) in wanted.iter() {
        queries.push(
            crate::kallsyms::Query {
                name: q.name,
                object: q.object,
                sympos: q.sympos,
            },
            GFP_KERNEL,
        )?;
    }
    // Without the mutex: see `patch::Resolved`.
    let found = crate::kallsyms::resolve(&queries)?;
    with_core(|core, trash| {
        for ((key, fidx, q), r) in wanted.iter().zip(found.iter()) {
            match *r {
                Ok(addr) => patch::apply_coming(core, *key, *fidx, addr, trash)?,
                Err(_) => {
                    pr_err!(
                        "module {}: a patch needs {}, which it lacks\n",
                        display(module),
                        display(q.name)
                    );
                    return Err(ENOENT);
                }
            }
        }
        Ok(())
    })
}
