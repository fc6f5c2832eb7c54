// SPDX-License-Identifier: GPL-2.0

//! The model: everything dynamos owns while loaded, in one [`Core`] behind
//! one mutex.
//!
//! # Locks
//!
//! Every lock dynamos takes, in the order they nest (a lock is only ever
//! taken with those above it held, never the other way):
//!
//! 1. `CORE` (this file), a mutex: every registry field, taken by
//!    [`with_core`] only. Sleeps are allowed under it (allocations with
//!    `GFP_KERNEL`, `synchronize_rcu()`, ftrace registration and text
//!    patching, stack walks). Never under it:
//!    - dropping a sysfs directory (`raw::sysfs::Dir`): removing a file
//!      waits for its running handlers, which may be waiting for `CORE`.
//!      Directories go to the [`Trash`], emptied after `CORE` is released;
//!    - a patch's callbacks (`pre`/`post` hooks excepted, which livepatch
//!      also runs under its mutex): `transfer` and the post hooks run from
//!      `registry/transition.rs` without it, since the patch may take any
//!      lock;
//!    - reading `/proc/kallsyms` (seq_file locks): targets are resolved
//!      before `CORE` is taken (`registry/patch.rs`, `Resolved`);
//!    - waiting for an eager pass (`LazyState::wait_pass`).
//! 2. `TABLE_LOCK` (`raw/direct.rs`), a spinlock: the table that leads
//!    `dynamos_tramp` to a site, written when a hook is made or dropped,
//!    under `CORE`.
//! 3. `SHADOW_LOCK` (`raw/shadow.rs`), a spinlock with interrupts off: the
//!    shadow table's writers, taken under `CORE` (freeing a patch's data)
//!    or from any context but NMI by patches. Only a shadow constructor
//!    runs under it: it must not sleep, nor take `CORE`.
//!
//! Lock-free: the call path reads a site's snapshot and the safe points'
//! moves under RCU (`raw/rcu.rs`), the shadow table's readers under RCU,
//! and the use counters are atomics.
//!
//! The sysfs tree the model shows is described in `api/sysfs.rs`.

use super::spec::PatchSpec;
use crate::{
    abi::ShadowDesc,
    logic::lifecycle::{Goal, PatchKey, PatchState},
    mech::{
        drain::Drain,
        safepoint::{self, Safepoints},
        site::{Edition, EditionId, Layer, Site},
        state::LazyState,
    },
    raw::{
        display,
        modules::Notifier,
        shadow,
        sysfs::{AsParent, Attr, Dir, Parent},
        wq::OwnedQueue,
    },
};
use core::fmt;
use kernel::{
    c_str,
    prelude::*,
    str::{CStr, CString},
    sync::{global_lock, Arc},
    task::Pid,
    time::{Instant, Monotonic},
    workqueue::{impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem},
};

/// The files of each kind of sysfs directory, defined with their handlers
/// in `api/sysfs.rs` and handed to the registry at init.
pub(crate) struct Tables {
    /// `/sys/kernel/dynamos/`.
    pub(crate) root: &'static [Attr<()>],
    /// `patches/<patch>/`.
    pub(crate) patch: &'static [Attr<PatchInfo>],
    /// `functions/<function>/`.
    pub(crate) site: &'static [Attr<SiteInfo>],
    /// `functions/<function>/editions/<id>/`.
    pub(crate) edition: &'static [Attr<EditionInfo>],
    /// `subsystems/<name>/`.
    pub(crate) subsys: &'static [Attr<SubsysInfo>],
    /// `patches/<patch>/states/<name>/`.
    pub(crate) state: &'static [Attr<StateInfo>],
}

/// Context of a state's sysfs directory.
pub(crate) struct StateInfo {
    /// The state.
    pub(crate) state: Arc<LazyState>,
}

/// Context of a patch's sysfs directory.
pub(crate) struct PatchInfo {
    /// The patch.
    pub(crate) key: PatchKey,
}

/// Context of a function's sysfs directory: the site's address.
pub(crate) struct SiteInfo {
    /// The site's target.
    pub(crate) addr: usize,
}

/// Context of an edition's sysfs directory.
pub(crate) struct EditionInfo {
    /// The site's target.
    pub(crate) site: usize,
    /// The edition.
    pub(crate) id: EditionId,
}

/// A site with its sysfs directories. Fields drop in order: editions'
/// directories, then the function's, then the site (unhooking it).
pub(crate) struct SiteEntry {
    edition_attrs: &'static [Attr<EditionInfo>],
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
            core.tables.site,
        )?;
        let editions_dir = Dir::new(
            c_str!("editions"),
            Parent::Dir(&dir),
            Arc::new((), GFP_KERNEL)?,
            &[],
        )?;
        let mut entry = SiteEntry {
            edition_attrs: core.tables.edition,
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
            self.edition_attrs,
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
    pub(crate) goal: Goal,
    /// What must drain before it is done.
    pub(crate) drain: Drain,
    /// Addresses of the sites counting for it.
    pub(crate) sites: KVec<usize>,
    /// Patches a cumulative patch is replacing: disabled when it is done.
    pub(crate) replaced: KVec<PatchKey>,
    /// For a cumulative patch: the stacks and policies it replaced, to
    /// put back if its enabling is reversed.
    pub(crate) undo: Option<(SavedStacks, Saved)>,
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
    /// Calls `registry/modules.rs` as modules come and go.
    pub(crate) _notifier: Notifier,
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
    /// Ends transitions and drains leftovers (`registry/transition.rs`).
    pub(crate) work: Arc<TransitionWork>,
    /// Where `work` runs.
    pub(crate) wq: OwnedQueue,
    /// Runs eager conversion passes (`mech/state.rs`), apart from
    /// transitions.
    pub(crate) state_wq: OwnedQueue,
    /// The files of every directory (`api/sysfs.rs`).
    pub(crate) tables: &'static Tables,
    /// `subsystems/`.
    pub(crate) subsystems_dir: Dir<()>,
    /// `functions/`.
    pub(crate) functions_dir: Dir<()>,
    /// `patches/`.
    pub(crate) patches_dir: Dir<()>,
    /// `/sys/kernel/dynamos/`.
    pub(crate) _root: Dir<()>,
}

impl Core {
    /// Tells the safe points which loop editions threads must leave, after
    /// a change of the sites (see `mech/safepoint.rs`).
    pub(crate) fn refresh_safepoints(&mut self) {
        safepoint::refresh(&mut self.safepoints, self.sites.iter().map(|e| &e.site));
    }

    /// Hooks the safe points a kernel thread loop edition needs (see
    /// [`safepoint::prepare`]).
    pub(crate) fn prepare_safepoints(&mut self, safepoint: usize) -> Result {
        safepoint::prepare(&mut self.safepoints, safepoint)
    }

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
    pub(crate) fn kick_later(&self, delay: usize) {
        let _ = self.wq.enqueue_delayed(self.work.clone(), delay);
    }

    /// Whether a transition counts on the site at `addr`.
    pub(crate) fn site_in_transition(&self, addr: usize) -> bool {
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
    state_dirs: KVec<StateDirs>,
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
            edition_attrs: _,
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
    pub(crate) fn push_state_dirs(&mut self, dirs: StateDirs) {
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

/// Initializes the registry's mutex. Called once, at module init, before
/// anything else uses it.
pub(crate) fn init_lock() {
    // SAFETY: Called once, at module init, before any other use of `CORE`:
    // patch modules cannot call the entry points before dynamos is live.
    unsafe { CORE.init() };
}

/// Makes `core` the registry.
pub(crate) fn install(core: Core) {
    *CORE.lock() = Some(core);
}

/// Takes the registry out, to drop it without the mutex.
pub(crate) fn uninstall() -> Option<Core> {
    CORE.lock().take()
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
    /// What it runs: `registry::transition::run`, set at init (the model
    /// is below the transition code, which it may not name).
    run: fn(),
}

impl TransitionWork {
    /// A work item that runs `run`.
    pub(crate) fn new(run: fn()) -> impl PinInit<Self> {
        pin_init!(TransitionWork {
            work <- new_delayed_work!("dynamos::transition"),
            run,
        })
    }
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for TransitionWork { self.work }
}

impl WorkItem for TransitionWork {
    type Pointer = Arc<TransitionWork>;

    fn run(this: Arc<TransitionWork>) {
        (this.run)();
    }
}

/// A registered patch.
pub(crate) struct Patch {
    /// Its key.
    pub(crate) key: PatchKey,
    /// What it brings.
    pub(crate) spec: PatchSpec,
    /// Lifecycle state.
    pub(crate) state: PatchState,
    /// Why the last enable or disable failed.
    pub(crate) error: Option<CString>,
    /// One layer per applied function while the patch has editions.
    pub(crate) layers: KVec<Layer>,
    /// The site of each applied function, in the same order.
    pub(crate) sites: KVec<usize>,
    /// The index in `spec.funcs` of each applied function, same order.
    /// Functions of modules that are not loaded are not applied: they are
    /// applied when their module comes, and dropped when it goes.
    pub(crate) applied: KVec<usize>,
    /// Its states, converted lazily (`mech/state.rs`).
    pub(crate) states: KVec<Arc<LazyState>>,
    state_dirs: Option<StateDirs>,
    dir: Dir<PatchInfo>,
}

impl Patch {
    /// A registered patch with its sysfs directory.
    pub(crate) fn new(
        key: PatchKey,
        spec: PatchSpec,
        dir: Dir<PatchInfo>,
        states: KVec<Arc<LazyState>>,
        state_dirs: Option<StateDirs>,
    ) -> Self {
        Patch {
            key,
            spec,
            state: PatchState::Registered,
            error: None,
            layers: KVec::new(),
            sites: KVec::new(),
            applied: KVec::new(),
            states,
            state_dirs,
            dir,
        }
    }

    /// Drops the patch, its directories going to the trash.
    pub(crate) fn discard(self, trash: &mut Trash) {
        for st in self.states.iter() {
            st.detach();
        }
        if let Some(d) = self.state_dirs {
            trash.push_state_dirs(d);
        }
        trash.push_patch_dir(self.dir);
    }

    /// Frees what the patch left in shadow data: records of its states
    /// (converted back where it can be) and its shadow variables. For a
    /// patch whose code no longer runs.
    pub(crate) fn free_data(&self) {
        for st in self.states.iter() {
            st.stop_pass();
            st.wait_pass();
            st.roll_back();
        }
        free_shadows(&self.spec.shadows);
    }
}

/// Frees every shadow variable of the kinds in `shadows`, with their
/// destructors.
pub(crate) fn free_shadows(shadows: &[&'static ShadowDesc]) {
    for sh in shadows {
        let n = shadow::free_all_with(sh.id, sh.dtor);
        if n > 0 {
            pr_info!("freed {} shadow variables of id {}\n", n, sh.id);
        }
    }
}

/// Records and reports why an operation on patch `idx` failed.
pub(crate) fn fail(core: &mut Core, idx: usize, err: Error, args: fmt::Arguments<'_>) -> Error {
    let p = &mut core.patches[idx];
    pr_err!("patch '{}': {}\n", display(p.spec.name), args);
    p.error = CString::try_from_fmt(args).ok();
    err
}

/// Site stacks saved before a cumulative patch cleared them.
pub(crate) type SavedStacks = KVec<(usize, KVec<Layer>)>;

/// Site policies saved before a change, to restore on failure.
pub(crate) type Saved = KVec<(usize, Option<EditionId>, KVec<(Pid, EditionId)>, bool)>;

/// Context of a subsystem's sysfs directory: its name.
pub(crate) struct SubsysInfo {
    /// The subsystem.
    pub(crate) name: CString,
}

/// A subsystem known to dynamos: some registered patch declares it.
pub(crate) struct Subsystem {
    /// Its name.
    pub(crate) name: CString,
    /// How long a switch may take to drain before it is reported, in
    /// milliseconds; 0: never reported.
    pub(crate) timeout_ms: u32,
    pub(crate) dir: Dir<SubsysInfo>,
}

/// The editions that stay draining after a forced switch, until their last
/// holder leaves.
pub(crate) struct Leftover {
    /// What still drains.
    pub(crate) drain: Drain,
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

/// The states of a patch with their sysfs directories, children first.
pub(crate) struct StateDirs {
    _dirs: KVec<Dir<StateInfo>>,
    _parent: Dir<()>,
}

impl StateDirs {
    /// Creates `states/<name>/` under a patch's directory for each state.
    pub(crate) fn new(
        parent: &dyn AsParent,
        states: &[Arc<LazyState>],
        attrs: &'static [Attr<StateInfo>],
    ) -> Result<Self> {
        let top = Dir::new(
            c_str!("states"),
            Parent::Dir(parent),
            Arc::new((), GFP_KERNEL)?,
            &[],
        )?;
        let mut dirs = KVec::with_capacity(states.len(), GFP_KERNEL)?;
        for st in states {
            let d = Dir::new(
                st.name,
                Parent::Dir(&top),
                Arc::new(StateInfo { state: st.clone() }, GFP_KERNEL)?,
                attrs,
            );
            match d {
                // PANIC: cannot fail, reserved above.
                Ok(d) => {
                    let _ = dirs.push(d, GFP_NOWAIT);
                }
                Err(e) => {
                    // Not under the registry mutex: made at registration,
                    // before the patch is visible.
                    drop(dirs);
                    return Err(e);
                }
            }
        }
        Ok(StateDirs {
            _dirs: dirs,
            _parent: top,
        })
    }
}
