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
//!    - a transition's end: the `transfer` callback and the post hooks run
//!      from `registry/transition.rs` without it, since the patch may take
//!      any lock. The `pre` hooks run under it, as livepatch runs its
//!      pre callbacks under its mutex, and so does the `post_unpatch` that
//!      undoes a `pre_patch` when an enable fails after it;
//!    - walking kallsyms, which takes a while: targets are resolved
//!      before `CORE` is taken (`registry/stacking.rs`, `Resolved`).
//!
//!    Waiting for an eager pass (`LazyState::wait_pass`) is allowed under
//!    it: the pass runs on its own workqueue and never takes `CORE`.
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
        site::{Edition, EditionId, Layer, Policy, Site},
        state::LazyState,
        switch::TaskSwitch,
    },
    raw::{
        display,
        global::module_lock,
        kthread::SafepointCall,
        modules::Notifier,
        shadow,
        sysfs::{AsParent, Attr, Dir, Parent},
        tasks::NewTaskHook,
        wq::OwnedQueue,
    },
};
use core::fmt;
use kernel::{
    c_str,
    prelude::*,
    str::{CStr, CString},
    sync::Arc,
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
    /// The address of the site's target.
    pub(crate) site_addr: usize,
    /// The edition.
    pub(crate) id: EditionId,
}

/// A sysfs directory the registry holds. Removing a directory waits for
/// its running handlers, which may be waiting for the registry mutex, so a
/// `Kept` directory is never removed where it is dropped: it leaves only
/// through the [`Trash`], which [`with_core`] empties after releasing the
/// mutex. Dropped anywhere else (a bug), it stays in sysfs, leaked, and
/// says so, rather than deadlock.
///
/// # Invariants
///
/// `0` is `Some` until [`Trash`] takes the directory.
pub(crate) struct Kept<T: Send + Sync + 'static>(Option<Dir<T>>);

impl<T: Send + Sync + 'static> Kept<T> {
    /// Holds `dir` until it goes to the trash.
    pub(crate) fn new(dir: Dir<T>) -> Self {
        Kept(Some(dir))
    }

    /// Creates a directory (see `raw::sysfs::Dir::new`) and holds it.
    pub(crate) fn make(
        name: &CStr,
        parent: &dyn AsParent,
        ctx: T,
        attrs: &'static [Attr<T>],
    ) -> Result<Self> {
        let ctx = Arc::new(ctx, GFP_KERNEL)?;
        Ok(Kept::new(Dir::new(name, Parent::Dir(parent), ctx, attrs)?))
    }

    /// The directory, as a parent of others (`ENODEV` cannot happen: see
    /// the type invariant).
    pub(crate) fn parent(&self) -> Result<&dyn AsParent> {
        match &self.0 {
            Some(d) => Ok(d),
            None => Err(ENODEV),
        }
    }

    /// The context the directory shows.
    pub(crate) fn ctx(&self) -> Option<&Arc<T>> {
        self.0.as_ref().map(|d| d.ctx())
    }
}

impl<T: Send + Sync + 'static> Drop for Kept<T> {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            pr_err!("bug: a sysfs directory was dropped outside the trash: leaked\n");
            core::mem::forget(d);
        }
    }
}

/// A site with its sysfs directories.
pub(crate) struct SiteRecord {
    edition_attrs: &'static [Attr<EditionInfo>],
    edition_dirs: KVec<Kept<EditionInfo>>,
    editions_dir: Kept<()>,
    dir: Kept<SiteInfo>,
    /// The site.
    pub(crate) site: Site,
}

impl SiteRecord {
    /// Hooks `addr` and creates its sysfs directories; on failure, what was
    /// made goes to `trash`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        core: &Core,
        trash: &mut Trash,
        name: CString,
        object: Option<&'static CStr>,
        subsystem: Option<&'static CStr>,
        addr: usize,
        size: usize,
        kthread_loop: bool,
    ) -> Result<Self> {
        let site = Site::new(name, object, subsystem, addr, size, kthread_loop)?;
        let info = SiteInfo { addr };
        let dir = match Kept::make(site.name(), &core.functions_dir, info, core.tables.site) {
            Ok(d) => d,
            Err(e) => {
                trash.push_hook(site);
                return Err(e);
            }
        };
        let editions_dir = match dir
            .parent()
            .and_then(|p| Kept::make(c_str!("editions"), p, (), &[]))
        {
            Ok(d) => d,
            Err(e) => {
                trash.push_dir(dir);
                trash.push_hook(site);
                return Err(e);
            }
        };
        let mut entry = SiteRecord {
            edition_attrs: core.tables.edition,
            edition_dirs: KVec::new(),
            editions_dir,
            dir,
            site,
        };
        if let Err(e) = entry.add_edition_dir(0) {
            trash.push_site(entry);
            return Err(e);
        }
        Ok(entry)
    }

    /// Creates `editions/<id>/`.
    pub(crate) fn add_edition_dir(&mut self, id: EditionId) -> Result {
        let name = CString::try_from_fmt(fmt!("{}", id))?;
        // Room first: a directory made for nothing would have to go.
        self.edition_dirs.reserve(1, GFP_KERNEL)?;
        let info = EditionInfo {
            site_addr: self.site.addr(),
            id,
        };
        let dir = Kept::make(&name, self.editions_dir.parent()?, info, self.edition_attrs)?;
        // PANIC: cannot fail, reserved above.
        let _ = self.edition_dirs.push_within_capacity(dir);
        Ok(())
    }

    /// Moves `editions/<id>/` to the trash.
    pub(crate) fn remove_edition_dir(&mut self, id: EditionId, trash: &mut Trash) {
        let pos = self
            .edition_dirs
            .iter()
            .position(|d| d.ctx().is_some_and(|c| c.id == id));
        if let Some(pos) = pos {
            if let Ok(dir) = self.edition_dirs.remove(pos) {
                trash.push_dir(dir);
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
    /// Which side each task runs, for a patch whose transitions are
    /// consistent per task (`mech/switch.rs`); `None` for subsystems,
    /// which keep their own model.
    pub(crate) switch: Option<TaskSwitch>,
    /// Addresses of the sites counting for it.
    pub(crate) sites: KVec<usize>,
    /// Patches a cumulative patch is replacing: disabled when it is done.
    pub(crate) replaced: KVec<PatchKey>,
    /// For a cumulative patch: the stacks and policies it replaced, to
    /// put back if its enabling is reversed.
    pub(crate) undo: Option<(SavedStacks, SavedPolicies)>,
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
    /// Puts new tasks on the side a consistent transition goes to.
    pub(crate) _new_tasks: NewTaskHook,
    /// Registered patches, in registration order.
    pub(crate) patches: KVec<Patch>,
    /// Hooked functions.
    pub(crate) sites: KVec<SiteRecord>,
    /// The transition in progress.
    pub(crate) transition: Option<Transition>,
    /// Drains left by forced switches.
    pub(crate) leftovers: KVec<Leftover>,
    /// The switch of a consistent transition that ended while some of its
    /// sites could not publish one side (no memory), with those sites.
    pub(crate) settling: Option<(TaskSwitch, KVec<usize>)>,
    /// Patch modules kept loaded after their editions retired, until no
    /// task can return into them.
    pub(crate) releasing: KVec<Release>,
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

    /// Refreshes the safe points again if the last refresh ran out of
    /// memory (kernel threads would otherwise wait for the next change).
    pub(crate) fn retry_safepoints(&mut self) {
        if self.safepoints_stale() {
            self.refresh_safepoints();
        }
    }

    /// Whether the last safe point refresh ran out of memory.
    pub(crate) fn safepoints_stale(&self) -> bool {
        self.safepoints.as_ref().is_some_and(|s| s.stale())
    }

    /// Hooks the safe points a kernel thread loop edition needs (see
    /// [`safepoint::hook`]).
    pub(crate) fn hook_safepoints(&mut self, safepoint: Option<SafepointCall>) -> Result {
        safepoint::hook(&mut self.safepoints, safepoint)
    }

    /// The site hooking `addr`.
    pub(crate) fn site(&mut self, addr: usize) -> Option<&mut SiteRecord> {
        self.sites.iter_mut().find(|s| s.site.addr() == addr)
    }

    /// The site hooking `addr`, to read.
    pub(crate) fn site_ref(&self, addr: usize) -> Option<&SiteRecord> {
        self.sites.iter().find(|s| s.site.addr() == addr)
    }

    /// The index of a patch.
    pub(crate) fn patch_index(&self, key: PatchKey) -> Option<usize> {
        self.patches.iter().position(|p| p.key == key)
    }

    /// The patch registered with `key`.
    pub(crate) fn patch(&self, key: PatchKey) -> Option<&Patch> {
        self.patches.iter().find(|p| p.key == key)
    }

    /// The patch registered with `key`, to change.
    pub(crate) fn patch_mut(&mut self, key: PatchKey) -> Option<&mut Patch> {
        self.patches.iter_mut().find(|p| p.key == key)
    }

    /// The name of the patch registered with `key`, for messages.
    pub(crate) fn patch_name(&self, key: PatchKey) -> &'static CStr {
        self.patch(key).map_or(c_str!("?"), |p| p.spec.name)
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

    /// Whether drains outlive their transitions: leftovers, or patch
    /// modules kept until no task can return into them.
    pub(crate) fn has_leftovers(&self) -> bool {
        !self.leftovers.is_empty() || !self.releasing.is_empty()
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
                .any(|l| l.drain.editions().any(|e| e.site_addr == addr))
    }
}

/// What must be dropped after the registry mutex is released: sysfs
/// directories (their removal waits for handlers that may be waiting for
/// the mutex) and unhooked sites. Only [`with_core`] makes one.
///
/// Directories go first, in the order they were pushed (children before
/// their parents), so that the names are free again before the hooks are
/// unregistered, which can take long (it waits for RCU grace periods).
pub(crate) struct Trash {
    dirs: KVec<KBox<dyn Send>>,
    sites: KVec<Site>,
}

impl Trash {
    /// An empty trash, for [`with_core`] only.
    fn new() -> Self {
        Trash {
            dirs: KVec::new(),
            sites: KVec::new(),
        }
    }

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

    /// Queues a directory for removal.
    pub(crate) fn push_dir<T: Send + Sync + 'static>(&mut self, mut dir: Kept<T>) {
        let Some(d) = dir.0.take() else {
            return;
        };
        match KBox::new(d, GFP_KERNEL) {
            Ok(b) => {
                let b: KBox<dyn Send> = b;
                Self::keep(&mut self.dirs, b);
            }
            Err(_) => pr_err!("out of memory: leaking a sysfs directory\n"),
        }
    }

    /// Queues a hook for removal (after every directory).
    pub(crate) fn push_hook(&mut self, site: Site) {
        Self::keep(&mut self.sites, site);
    }

    /// Queues a site for removal, its directories first.
    pub(crate) fn push_site(&mut self, entry: SiteRecord) {
        let SiteRecord {
            edition_attrs: _,
            edition_dirs,
            editions_dir,
            dir,
            site,
        } = entry;
        for d in edition_dirs {
            self.push_dir(d);
        }
        self.push_dir(editions_dir);
        self.push_dir(dir);
        Self::keep(&mut self.sites, site);
    }

    /// Queues the directories of a patch's states for removal.
    pub(crate) fn push_state_dirs(&mut self, dirs: StateDirs) {
        for d in dirs.dirs {
            self.push_dir(d);
        }
        self.push_dir(dirs.parent);
    }
}

impl Drop for Trash {
    fn drop(&mut self) {
        // Directories first, in order; then the hooks.
        for d in core::mem::take(&mut self.dirs) {
            drop(d);
        }
        for s in core::mem::take(&mut self.sites) {
            drop(s);
        }
    }
}

module_lock! {
    static CORE: Mutex<Option<Core>> = None;
    init = init_core_lock;
    lock = lock_core;
}

/// Initializes the registry's mutex. Called once, at module init, before
/// anything that could take it exists.
pub(crate) fn init_lock() {
    init_core_lock();
}

/// Makes `core` the registry.
pub(crate) fn set_core(core: Core) {
    if let Some(mut g) = lock_core() {
        *g = Some(core);
    }
}

/// Takes the registry out, to drop it without the mutex.
pub(crate) fn take_core() -> Option<Core> {
    lock_core()?.take()
}

/// Runs `f` on the registry under its mutex, then empties the trash.
pub(crate) fn with_core<R>(f: impl FnOnce(&mut Core, &mut Trash) -> Result<R>) -> Result<R> {
    let mut trash = Trash::new();
    let res = {
        let Some(mut guard) = lock_core() else {
            return Err(ENODEV);
        };
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

/// One function of a patch that has an edition on a site.
pub(crate) struct Applied {
    /// Its index in the patch's `spec.funcs`.
    pub(crate) func: usize,
    /// The address of its site's target.
    pub(crate) addr: usize,
    /// Its edition, as a layer of the site's stack.
    pub(crate) layer: Layer,
}

/// A registered patch.
pub(crate) struct Patch {
    /// Its key.
    pub(crate) key: PatchKey,
    /// What it brings.
    pub(crate) spec: PatchSpec,
    /// Lifecycle state: changed only by [`Patch::begin`] and
    /// [`Patch::reach`].
    state: PatchState,
    /// Why the last enable or disable failed.
    pub(crate) error: Option<CString>,
    /// Its applied functions while it has editions. Functions of modules
    /// that are not loaded are not applied: they are applied when their
    /// module comes, and dropped when it goes.
    pub(crate) applied: KVec<Applied>,
    /// Its states, converted lazily (`mech/state.rs`).
    pub(crate) states: KVec<Arc<LazyState>>,
    /// After how long a transition of it that has not ended is reported
    /// (0: never).
    pub(crate) timeout_ms: u32,
    state_dirs: Option<StateDirs>,
    dir: Kept<PatchInfo>,
}

impl Patch {
    /// A registered patch with its sysfs directory.
    pub(crate) fn new(
        key: PatchKey,
        spec: PatchSpec,
        dir: Kept<PatchInfo>,
        states: KVec<Arc<LazyState>>,
        state_dirs: Option<StateDirs>,
    ) -> Self {
        Patch {
            key,
            spec,
            state: PatchState::Registered,
            error: None,
            applied: KVec::new(),
            states,
            timeout_ms: crate::logic::lifecycle::DEFAULT_TIMEOUT_MS,
            state_dirs,
            dir,
        }
    }

    /// Where the patch is in its lifecycle.
    pub(crate) fn state(&self) -> PatchState {
        self.state
    }

    /// A transition of the patch towards `goal` starts (or a cumulative
    /// patch's starts, which replaces this one: `Goal::Disable`).
    pub(crate) fn begin(&mut self, goal: Goal) {
        self.state = goal.moving();
    }

    /// The patch's transition reached `goal` (or was undone back to it).
    pub(crate) fn reach(&mut self, goal: Goal) {
        self.state = goal.reached();
    }

    /// Drops the patch, its directories going to the trash.
    pub(crate) fn discard(self, trash: &mut Trash) {
        for st in self.states.iter() {
            st.detach();
        }
        if let Some(d) = self.state_dirs {
            trash.push_state_dirs(d);
        }
        trash.push_dir(self.dir);
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

/// Records and reports why an operation on patch `key` failed.
pub(crate) fn fail(core: &mut Core, key: PatchKey, err: Error, args: fmt::Arguments<'_>) -> Error {
    if let Some(p) = core.patch_mut(key) {
        pr_err!("patch '{}': {}\n", display(p.spec.name), args);
        p.error = CString::try_from_fmt(args).ok();
    }
    err
}

/// Site stacks saved before a cumulative patch cleared them.
pub(crate) type SavedStacks = KVec<(usize, KVec<Layer>)>;

/// Site policies saved before a change, to restore on failure.
pub(crate) type SavedPolicies = KVec<(usize, Policy)>;

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
    pub(crate) dir: Kept<SubsysInfo>,
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

/// Retired editions of one patch module, kept (and with them their
/// references on the module) until no task has a return address anywhere in
/// the module's text: `registry/transition.rs`, `retire`.
pub(crate) struct Release {
    /// Checks the module's whole text; it holds no editions of its own.
    pub(crate) drain: Drain,
    /// The retired editions, which hold the module's references.
    pub(crate) editions: KVec<Arc<Edition>>,
    /// Whether a task was reported in the module (reported once).
    pub(crate) reported: bool,
}

/// The states of a patch with their sysfs directories, children first.
pub(crate) struct StateDirs {
    dirs: KVec<Kept<StateInfo>>,
    parent: Kept<()>,
}

impl StateDirs {
    /// Creates `states/<name>/` under a patch's directory for each state;
    /// on failure, what was made goes to `trash`.
    pub(crate) fn new(
        parent: &dyn AsParent,
        states: &[Arc<LazyState>],
        attrs: &'static [Attr<StateInfo>],
        trash: &mut Trash,
    ) -> Result<Self> {
        let top = Kept::make(c_str!("states"), parent, (), &[])?;
        let mut made = StateDirs {
            dirs: KVec::new(),
            parent: top,
        };
        if let Err(e) = made.add_all(states, attrs) {
            trash.push_state_dirs(made);
            return Err(e);
        }
        Ok(made)
    }

    fn add_all(&mut self, states: &[Arc<LazyState>], attrs: &'static [Attr<StateInfo>]) -> Result {
        self.dirs.reserve(states.len(), GFP_KERNEL)?;
        for st in states {
            let info = StateInfo { state: st.clone() };
            let d = Kept::make(st.name, self.parent.parent()?, info, attrs)?;
            // PANIC: cannot fail, reserved above.
            let _ = self.dirs.push_within_capacity(d);
        }
        Ok(())
    }
}
