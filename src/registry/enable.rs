// SPDX-License-Identifier: GPL-2.0

//! Enabling a patch, in named phases under one undo guard.
//!
//! [`enable`] pushes the patch's editions on top of each target's stack:
//! new calls enter them at once, and the editions they replaced drain (a
//! transition, ended by `transition.rs`). The phases:
//!
//! 1. [`Enabling::hook`]: the safe points of kernel thread loops, and a
//!    hook on every target not hooked yet. The new hooks let every call
//!    through to the original, as before.
//! 2. [`Enabling::make_editions`]: the patch's editions and their sysfs
//!    directories. Nothing has changed for any call.
//! 3. [`Enabling::plan`]: for a cumulative patch, what it replaces; the
//!    sites that switch and their policies, saved.
//! 4. [`Enabling::pre`]: the patch's `pre_patch` callback, last before
//!    anything changes for any call.
//! 5. [`Enabling::switch`]: the layers go on (a cumulative patch first
//!    takes every other patch's off), the editions they replaced start
//!    draining, and every site's snapshot is prepared; for a consistent
//!    patch (`consistent.rs`), each site keeps its old state as side 0.
//! 6. [`Enabling::commit`]: the snapshots are installed (new calls enter
//!    the new editions; in a consistent transition, the calls of the tasks
//!    that moved to side 1) and the transition starts.
//!
//! Every phase but the last may fail. The guard undoes, when it is
//! dropped before the commit, what the phases that ran did: nothing stays
//! patched, and the reason is in dmesg and in the patch's `error` file.

use super::{
    consistent::{self, Change},
    disable,
    model::{fail, Applied, Core, Leftover, SavedPolicies, SavedStacks, SiteRecord, Trash},
    stacking::{self, record_mut, site_name, Applicable, Resolved},
    subsystem,
};
use crate::{
    abi,
    logic::{
        lifecycle::{Goal, Move, PatchKey, PatchState},
        rules,
    },
    mech::{drain::Drain, edition::Edition, site::Prepared},
    raw::{callbacks::PatchCallbacks, display, kallsyms},
};
use core::ops::Range;
use kernel::{prelude::*, str::CStr, sync::Arc};

/// How a patch is enabled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// As it was built: cumulative if its descriptor says so.
    AsBuilt,
    /// Replacing every other patch, as a cumulative patch does, whatever
    /// its descriptor says (the admin's `replace` file).
    Replace,
}

/// Enables patch `key`, or reverses its disabling. `found` is the
/// resolution of its functions, made before taking the registry mutex (see
/// [`Resolved`]); `None` when none was needed (a reversal).
///
/// # Errors
///
/// `EINVAL` if already enabled (or, with [`How::Replace`], not disabled,
/// or a subsystem's patch), `EBUSY` if another patch is in transition, or
/// why preparing failed (see the module documentation).
pub(crate) fn enable(
    core: &mut Core,
    key: PatchKey,
    trash: &mut Trash,
    found: Option<Resolved>,
    how: How,
) -> Result {
    stacking::check_not_transferring(core)?;
    let p = core.patch(key).ok_or(ENODEV)?;
    let (state, subsystem) = (p.state(), p.spec.subsystem);
    if how == How::Replace {
        if !matches!(state, PatchState::Registered | PatchState::Disabled) {
            return Err(fail(
                core,
                key,
                EINVAL,
                format_args!("cannot replace: it is {}, not disabled", state.name()),
            ));
        }
        if subsystem.is_some() {
            return Err(fail(
                core,
                key,
                EINVAL,
                format_args!("cannot replace: a subsystem's patch never replaces others"),
            ));
        }
    }
    match state.request(Goal::Enable) {
        Move::Start => {}
        Move::Refuse => return Err(EINVAL),
        Move::Reverse => return disable::reverse(core, key, Goal::Enable),
    }
    if let Some(t) = &core.transition {
        let other = display(core.patch_name(t.patch));
        return Err(fail(
            core,
            key,
            EBUSY,
            format_args!("patch '{}' is in transition", other),
        ));
    }
    core.patch_mut(key).ok_or(ENODEV)?.error = None;
    let Some(found) = found else {
        // The caller saw the patch disabling; it no longer is.
        return Err(EAGAIN);
    };
    let targets = stacking::targets(core, key, found)?;
    let mut addrs = KVec::with_capacity(targets.len(), GFP_KERNEL)?;
    for t in targets.iter() {
        addrs.push(t.2, GFP_KERNEL)?;
    }
    subsystem::check_enable(core, key, &addrs)?;
    let mut e = Enabling::new(core, trash, key, how)?;
    let res = e.run(&targets);
    match res {
        Ok(prepared) => {
            e.commit(prepared);
            Ok(())
        }
        Err(Failed(err, why)) => {
            // Undone first, then reported, as the phases ran.
            drop(e);
            match why {
                Some(what) => Err(fail(
                    core,
                    key,
                    err,
                    format_args!("{} ({})", what, err.to_errno()),
                )),
                None => Err(err),
            }
        }
    }
}

/// A failed phase: the error, and what to report once undone (`None`: the
/// phase reported it already).
struct Failed(Error, Option<&'static str>);

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed(e, Some("cannot prepare the switch"))
    }
}

/// How far enabling got: what the guard must undo.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Hooks and editions may have been made.
    Preparing,
    /// The new sites are in the registry.
    Planned,
    /// The `pre_patch` callback ran.
    PreRan,
    /// Stacks may have changed.
    Stacking,
    /// Committed: nothing to undo.
    Done,
}

/// What a cumulative patch replaces, and the sites that switch.
#[derive(Default)]
struct Plan {
    /// Patches it disables.
    replaced: KVec<PatchKey>,
    /// Editions it takes off, which drain.
    removed: KVec<Arc<Edition>>,
    /// The stacks it clears, to put back.
    stacks: SavedStacks,
    /// Every site that switches.
    sites: KVec<usize>,
    /// Their policies, to put back.
    policies: SavedPolicies,
}

/// An enable in progress: the registry, what was done, and the undo.
///
/// # Invariants
///
/// Until [`Enabling::commit`], dropping it undoes every phase that ran
/// (`stage` says how far it got).
struct Enabling<'a> {
    core: &'a mut Core,
    trash: &'a mut Trash,
    key: PatchKey,
    name: &'static CStr,
    replace: bool,
    text: Range<usize>,
    callbacks: PatchCallbacks,
    subsystem: Option<&'static CStr>,
    /// Sites hooked for this patch, until they join the registry.
    new_sites: KVec<SiteRecord>,
    /// The patch's functions with their editions, made so far.
    applied: KVec<Applied>,
    plan: Plan,
    /// What drains once the switch is made.
    drain: Option<Drain>,
    /// A leftover was pushed for callers an adaptor covers.
    spared: bool,
    /// A consistent enable, begun.
    change: Option<Change>,
    stage: Stage,
}

impl<'a> Enabling<'a> {
    /// Starts enabling patch `key`.
    fn new(core: &'a mut Core, trash: &'a mut Trash, key: PatchKey, how: How) -> Result<Self> {
        let p = core.patch(key).ok_or(ENODEV)?;
        let (name, callbacks, subsystem) = (p.spec.name, p.spec.callbacks, p.spec.subsystem);
        let replace = how == How::Replace || p.spec.flags & abi::PATCH_REPLACE != 0;
        let text = p.spec.module.text();
        Ok(Enabling {
            core,
            trash,
            key,
            name,
            replace,
            text,
            callbacks,
            subsystem,
            new_sites: KVec::new(),
            applied: KVec::new(),
            plan: Plan::default(),
            drain: None,
            spared: false,
            change: None,
            stage: Stage::Preparing,
        })
    }

    /// Runs every phase that may fail; returns the snapshots to install.
    fn run(
        &mut self,
        targets: &[Applicable],
    ) -> core::result::Result<KVec<(usize, Prepared)>, Failed> {
        let prepared = (|| {
            self.hook(targets)?;
            self.make_editions(targets)
        })();
        if let Err(e) = prepared {
            let reported = self.core.patch(self.key).is_some_and(|p| p.error.is_some());
            return Err(Failed(e, (!reported).then_some("cannot prepare the patch")));
        }
        self.plan()?;
        self.pre()?;
        Ok(self.switch(targets)?)
    }

    /// Reports why phase 1 or 2 failed now (before the undo, as the
    /// reason is known where it happens).
    fn refuse(&mut self, err: Error, args: core::fmt::Arguments<'_>) -> Error {
        fail(self.core, self.key, err, args)
    }

    /// Phase 1: the safe points of kernel thread loops, and a hook on every
    /// target not hooked yet.
    fn hook(&mut self, targets: &[Applicable]) -> Result {
        for (_, f, _) in targets.iter().filter(|t| t.1.kthread_loop) {
            if let Err(e) = self.core.hook_safepoints(f.edition.safepoint) {
                return Err(self.refuse(
                    e,
                    format_args!(
                        "cannot hook the safe point of kernel thread loop {} ({})",
                        display(f.name),
                        e.to_errno()
                    ),
                ));
            }
        }
        for (_, f, addr) in targets.iter() {
            if self.core.site_ref(*addr).is_some()
                || self.new_sites.iter().any(|s| s.site.addr() == *addr)
            {
                continue;
            }
            let Some(size) = kallsyms::function_size(*addr) else {
                return Err(self.refuse(
                    EINVAL,
                    format_args!("{} is not the start of a function", display(f.name)),
                ));
            };
            // Reserved first: a failed push would drop the new site's
            // directories under the registry mutex.
            self.new_sites.reserve(1, GFP_KERNEL)?;
            let made = SiteRecord::new(
                self.core,
                self.trash,
                site_name(f)?,
                f.object,
                self.subsystem,
                *addr,
                size,
                f.kthread_loop,
            );
            let entry = match made {
                Ok(entry) => entry,
                Err(e) => {
                    let why = if e == EBUSY {
                        "another ftrace user that changes the instruction pointer (a livepatch, a kprobe) holds it"
                    } else if e == EINVAL {
                        "ftrace cannot trace it"
                    } else {
                        "cannot hook it"
                    };
                    return Err(self.refuse(
                        e,
                        format_args!(
                            "cannot patch {}: {} ({})",
                            display(f.name),
                            why,
                            e.to_errno()
                        ),
                    ));
                }
            };
            // PANIC: cannot fail, reserved before the site was made.
            let _ = self.new_sites.push(entry, GFP_NOWAIT);
        }
        Ok(())
    }

    /// Phase 2: the patch's editions and their sysfs directories.
    fn make_editions(&mut self, targets: &[Applicable]) -> Result {
        self.applied.reserve(targets.len(), GFP_KERNEL)?;
        for (fidx, f, addr) in targets.iter() {
            let module = self.core.patch(self.key).and_then(|p| p.spec.module.get());
            let Some(module) = module else {
                return Err(self.refuse(EBUSY, format_args!("the patch module is going away")));
            };
            let entry =
                record_mut(&mut self.core.sites, &mut self.new_sites, *addr).ok_or(ENODEV)?;
            let stack = entry.site.stack();
            let clash = rules::iface_stack_clash(
                self.replace,
                !stack.is_empty(),
                f.edition.new_iface,
                stack.iter().any(|l| l.edition.new_iface()),
            );
            if clash {
                return Err(self.refuse(
                    EBUSY,
                    format_args!(
                        "{} has editions of another patch, and one of them changes its interface: an interface change cannot stack",
                        display(f.name)
                    ),
                ));
            }
            let layer = entry
                .site
                .new_edition(self.name, &f.edition, module, self.text.clone())?;
            entry.site.reserve_layer()?;
            entry.add_edition_dir(layer.edition.id)?;
            let applied = Applied {
                func: *fidx,
                addr: *addr,
                layer,
            };
            // PANIC: cannot fail, reserved above.
            let _ = self.applied.push(applied, GFP_NOWAIT);
        }
        self.core.sites.reserve(self.new_sites.len(), GFP_KERNEL)?;
        Ok(())
    }

    /// Phase 3: the new sites join the registry; for a cumulative patch,
    /// what it replaces (every other patch's editions on every site, in
    /// the same switch: functions it does not patch go back to their
    /// originals); the sites that switch and their saved policies. Nothing
    /// has changed on any stack yet.
    fn plan(&mut self) -> Result {
        for s in core::mem::take(&mut self.new_sites) {
            // PANIC: cannot fail, reserved in phase 2.
            let _ = self.core.sites.push(s, GFP_NOWAIT);
        }
        self.stage = Stage::Planned;
        let core = &mut *self.core;
        let mut plan = Plan::default();
        if self.replace {
            for p in core.patches.iter() {
                if p.key != self.key && p.state() == PatchState::Enabled {
                    plan.replaced.push(p.key, GFP_KERNEL)?;
                }
            }
            for e in core.sites.iter() {
                let stack = e.site.copy_stack()?;
                for l in stack.iter() {
                    plan.removed.push(l.edition.clone(), GFP_KERNEL)?;
                }
                plan.stacks.push((e.site.addr(), stack), GFP_KERNEL)?;
            }
            for e in core.sites.iter() {
                plan.sites.push(e.site.addr(), GFP_KERNEL)?;
            }
        } else {
            plan.sites = stacking::distinct(&self.applied)?;
        }
        plan.policies = stacking::save_policies(core, &plan.sites)?;
        self.plan = plan;
        Ok(())
    }

    /// Phase 4: the patch's pre hook, last before anything changes for any
    /// call.
    fn pre(&mut self) -> core::result::Result<(), Failed> {
        self.callbacks
            .pre(Goal::Enable)
            .map_err(|e| Failed(e, Some("its pre_patch callback refused")))?;
        self.stage = Stage::PreRan;
        Ok(())
    }

    /// Phase 5: the layers go on, what they replace drains, and every
    /// site's snapshot is prepared.
    fn switch(&mut self, targets: &[Applicable]) -> Result<KVec<(usize, Prepared)>> {
        self.stage = Stage::Stacking;
        self.change = consistent::begin(
            self.core,
            self.key,
            &self.plan.sites,
            self.text.clone(),
            &mut None,
        )?;
        if self.replace {
            for e in self.core.sites.iter_mut() {
                if !e.site.stack().is_empty() {
                    e.site.clear();
                }
            }
        }
        let replaced = stacking::push_layers(self.core, &self.applied)?;
        let mut prev = KVec::new();
        let mut spare = KVec::new();
        let mut spare_sites = KVec::new();
        for (e, (_, f, a)) in replaced.into_iter().zip(targets.iter()) {
            // Callers covered by an adaptor need not drain: their calls of
            // the changed function are translated. What they run goes on
            // draining on the side, as a forced switch's leftover does.
            if f.covered {
                spare.push(e, GFP_KERNEL)?;
                spare_sites.push(*a, GFP_KERNEL)?;
            } else {
                prev.push(e, GFP_KERNEL)?;
            }
        }
        for e in self.plan.removed.iter() {
            prev.push(e.clone(), GFP_KERNEL)?;
        }
        let mut drain_sites = KVec::with_capacity(self.plan.sites.len(), GFP_KERNEL)?;
        for &a in self.plan.sites.iter().filter(|a| !spare_sites.contains(a)) {
            drain_sites.push(a, GFP_KERNEL)?;
        }
        if !spare.is_empty() {
            self.spare(spare, &spare_sites)?;
        }
        let counters = stacking::orig_counters(self.core, &drain_sites)?;
        let (prepared, drain) = stacking::drain_and_prepare(
            self.core,
            prev,
            counters,
            &drain_sites,
            &self.plan.sites,
            None,
        )?;
        self.drain = Some(drain);
        Ok(prepared)
    }

    /// Old editions of callers an adaptor covers drain on the side, as a
    /// leftover.
    fn spare(&mut self, editions: KVec<Arc<Edition>>, sites: &[usize]) -> Result {
        let counters = stacking::orig_counters(self.core, sites)?;
        let drain = Drain::new(editions, counters, sites, None)?;
        self.core.leftovers.reserve(1, GFP_KERNEL)?;
        // PANIC: cannot fail, reserved above.
        let _ = self.core.leftovers.push_within_capacity(Leftover {
            drain,
            adapted: true,
        });
        self.spared = true;
        Ok(())
    }

    /// Phase 6: new calls enter the new editions from here on; the
    /// transition starts.
    fn commit(mut self, prepared: KVec<(usize, Prepared)>) {
        self.stage = Stage::Done;
        stacking::install(self.core, prepared);
        // Every site publishes both sides: tasks may move to the new one.
        let switch = self.change.take().map(Change::aim);
        let core = &mut *self.core;
        let key = self.key;
        let plan = core::mem::take(&mut self.plan);
        let Some(drain) = self.drain.take() else {
            return;
        };
        if let Some(p) = core.patch_mut(key) {
            p.applied = core::mem::take(&mut self.applied);
            p.begin(Goal::Enable);
        }
        for &k in plan.replaced.iter() {
            if let Some(p) = core.patch_mut(k) {
                p.begin(Goal::Disable);
            }
        }
        let undo = self.replace.then_some((plan.stacks, plan.policies));
        core.transition = Some(stacking::new_transition(
            key,
            Goal::Enable,
            drain,
            switch,
            plan.sites,
            plan.replaced,
            undo,
        ));
        pr_info!("enabling patch '{}'\n", display(self.name));
        core.kick();
    }
}

impl Drop for Enabling<'_> {
    fn drop(&mut self) {
        if self.stage == Stage::Done {
            return;
        }
        if self.stage >= Stage::Stacking {
            if self.spared {
                self.core.leftovers.pop();
            }
            stacking::pop_layers(self.core, &self.applied);
            if let Some(c) = self.change.take() {
                c.undo(self.core, &mut None);
            }
            let plan = core::mem::take(&mut self.plan);
            stacking::restore_stacks(self.core, plan.stacks, plan.policies);
        }
        for s in core::mem::take(&mut self.new_sites) {
            self.trash.push_site(s);
        }
        stacking::drop_editions(self.core, &self.applied, self.trash);
        if self.stage >= Stage::Stacking {
            // What the pre hook did is undone as livepatch does it.
            self.callbacks.post(Goal::Disable);
        }
    }
}
