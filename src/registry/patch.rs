// SPDX-License-Identifier: GPL-2.0

//! A patch's lifecycle: enabling, disabling, and reversal midway (the
//! states and their legal moves are in `logic/lifecycle.rs`).
//!
//! Enabling pushes the patch's editions on top of each target's stack: new
//! calls enter them at once, and the editions they replaced drain. Disabling
//! pops them (the patch must be on top of every stack, as in livepatch):
//! new calls enter the edition below at once, and the patch's editions
//! drain. A transition ends when what drains is quiescent (`mech/drain.rs`),
//! in `registry/transition.rs`. Only one transition runs at a time; writing
//! the opposite value to `enabled` during a transition reverses it.
//!
//! Every failure before the switch undoes what was done and leaves the
//! reason in dmesg and in the patch's `error` file: nothing stays patched.

use super::{
    model::{fail, Core, Leftover, Saved, SavedStacks, SiteEntry, Transition, Trash},
    spec::FuncSpec,
    subsystem,
};
use crate::{
    logic::{
        lifecycle::{Goal, Move, PatchKey, PatchState},
        rules,
    },
    mech::{
        drain::Drain,
        site::{free_stale, Edition, Layer, Prepared},
    },
    raw::{
        display,
        kallsyms::{self, LookupError, Query},
    },
};
use core::fmt;
use kernel::{
    c_str,
    prelude::*,
    str::CString,
    sync::Arc,
    time::{Instant, Monotonic},
};

/// Refuses to take patch `idx` off if converting its states back would lose
/// information the admin did not agree to lose.
fn check_rollback(core: &mut Core, idx: usize) -> Result {
    let refusal = core.patches[idx]
        .states
        .iter()
        .find_map(|st| st.refuses_rollback().map(|n| (st.name, n)));
    if let Some((name, n)) = refusal {
        return Err(fail(
            core,
            idx,
            EPERM,
            format_args!(
                "state '{}' cannot be converted back: its conversion loses information, and {} objects are converted (write 1 to its allow_loss to drop them)",
                display(name),
                n
            ),
        ));
    }
    Ok(())
}

/// A function's sysfs name, `[module:]symbol[,pos]`, for formatting.
struct SiteName<'a>(&'a FuncSpec);

impl kernel::fmt::Display for SiteName<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let f = self.0;
        rules::site_name(w, display(f.name), f.object.map(display), f.sympos)
    }
}

/// The sysfs name of a function's site: `[module:]symbol[,pos]`.
pub(crate) fn site_name(f: &FuncSpec) -> Result<CString> {
    CString::try_from_fmt(fmt!("{}", SiteName(f)))
}

/// Where a function is, for messages.
pub(crate) fn where_is(f: &FuncSpec) -> &str {
    f.object.map_or("vmlinux", display)
}

/// The kallsyms queries for `funcs`.
pub(crate) fn queries(funcs: &[FuncSpec]) -> Result<KVec<Query<'static>>> {
    let mut queries = KVec::with_capacity(funcs.len(), GFP_KERNEL)?;
    for f in funcs {
        queries.push(
            Query {
                name: f.name,
                object: f.object,
                sympos: f.sympos,
            },
            GFP_KERNEL,
        )?;
    }
    Ok(queries)
}

/// What [`kallsyms::resolve`] found for a patch's functions. Resolution
/// reads `/proc/kallsyms`, which takes seq_file locks, so it runs before
/// the registry mutex is taken.
pub(crate) type Resolved = Result<KVec<core::result::Result<usize, LookupError>>>;

/// Checks the resolution of each function of patch `idx`.
fn check_resolved(
    core: &mut Core,
    idx: usize,
    funcs: &[FuncSpec],
    found: Resolved,
) -> Result<(KVec<usize>, KVec<usize>)> {
    let found = found.map_err(|e| {
        fail(
            core,
            idx,
            e,
            format_args!("cannot read kallsyms ({})", e.to_errno()),
        )
    })?;
    let mut addrs = KVec::with_capacity(funcs.len(), GFP_KERNEL)?;
    let mut applied = KVec::with_capacity(funcs.len(), GFP_KERNEL)?;
    for (i, (f, r)) in funcs.iter().zip(found.iter()).enumerate() {
        match *r {
            Ok(addr) => {
                addrs.push(addr, GFP_KERNEL)?;
                applied.push(i, GFP_KERNEL)?;
            }
            Err(LookupError::NoObject) => {
                pr_info!(
                    "patch '{}': {} waits for module {}\n",
                    display(core.patches[idx].spec.name),
                    display(f.name),
                    where_is(f)
                );
            }
            Err(LookupError::NotFound) if f.sympos > 0 => {
                return Err(fail(
                    core,
                    idx,
                    ENOENT,
                    format_args!(
                        "no symbol {} at position {} in {}",
                        display(f.name),
                        f.sympos,
                        where_is(f)
                    ),
                ));
            }
            Err(LookupError::NotFound) => {
                return Err(fail(
                    core,
                    idx,
                    ENOENT,
                    format_args!("unknown symbol {} in {}", display(f.name), where_is(f)),
                ));
            }
            Err(LookupError::Ambiguous(n)) => {
                return Err(fail(
                    core,
                    idx,
                    EINVAL,
                    format_args!(
                        "{} symbols named {} in {}: give a position",
                        n,
                        display(f.name),
                        where_is(f)
                    ),
                ));
            }
        }
    }
    for (i, a) in addrs.iter().enumerate() {
        if addrs[..i].contains(a) {
            return Err(fail(
                core,
                idx,
                EINVAL,
                format_args!(
                    "{} is listed twice (under another name)",
                    display(funcs[applied[i]].name)
                ),
            ));
        }
    }
    Ok((applied, addrs))
}

/// The site entry for `addr`, among the registry's or the new ones.
fn entry_mut<'a>(
    sites: &'a mut KVec<SiteEntry>,
    new: &'a mut KVec<SiteEntry>,
    addr: usize,
) -> Option<&'a mut SiteEntry> {
    if let Some(i) = sites.iter().position(|s| s.site.addr == addr) {
        return sites.get_mut(i);
    }
    new.iter_mut().find(|s| s.site.addr == addr)
}

/// The counters of counted entries into the originals of `addrs`.
fn orig_counters(
    core: &mut Core,
    addrs: &[usize],
) -> Result<KVec<&'static core::sync::atomic::AtomicIsize>> {
    let mut out = KVec::new();
    for &a in addrs {
        if let Some(e) = core.site(a) {
            for l in e.site.stack.iter() {
                out.push(l.orig_inside(), GFP_KERNEL)?;
            }
        }
    }
    Ok(out)
}

/// Prepares the snapshots of the sites at `addrs`, with fresh subsystem
/// tables.
fn prepare(core: &mut Core, addrs: &[usize]) -> Result<KVec<(usize, Prepared)>> {
    subsystem::refresh_sites(core, addrs)?;
    let mut out = KVec::with_capacity(addrs.len(), GFP_KERNEL)?;
    for &a in addrs {
        let site = &mut core.site(a).ok_or(ENODEV)?.site;
        out.push((a, site.prepare()?), GFP_KERNEL)?;
    }
    Ok(out)
}

/// Installs prepared snapshots and waits one grace period for the old ones:
/// after this, no call enters an edition through an old snapshot.
fn install(core: &mut Core, prepared: KVec<(usize, Prepared)>) {
    let mut stale = KVec::with_capacity(prepared.len(), GFP_KERNEL).unwrap_or_default();
    for (a, p) in prepared {
        if let Some(e) = core.site(a) {
            let old = e.site.install(p);
            // On allocation failure `old` comes back and is dropped here,
            // which waits for its own grace period.
            let _ = stale.push(old, GFP_KERNEL);
        }
    }
    free_stale(stale);
    core.refresh_safepoints();
}

/// Each site's list of draining editions that are off its stack, for
/// `drain` (the transition about to start, if any) and the leftovers.
type DrainingLists = KVec<(usize, KVec<Arc<Edition>>)>;

/// Computes the [`DrainingLists`] for `drain` and the leftovers.
fn draining_lists(core: &Core, drain: Option<&Drain>) -> Result<DrainingLists> {
    let mut out = KVec::with_capacity(core.sites.len(), GFP_KERNEL)?;
    for e in core.sites.iter() {
        let site = &e.site;
        let mut list = KVec::new();
        let leftovers = core.leftovers.iter().flat_map(|l| l.editions());
        let draining = drain.into_iter().flat_map(|d| d.editions());
        for ed in Iterator::chain(draining, leftovers) {
            let on_stack = site.stack.iter().any(|l| Arc::ptr_eq(&l.edition, ed));
            if ed.site == site.addr
                && ed.id != 0
                && !on_stack
                && !list.iter().any(|x| Arc::ptr_eq(x, ed))
            {
                list.push(ed.clone(), GFP_KERNEL)?;
            }
        }
        out.push((site.addr, list), GFP_KERNEL)?;
    }
    Ok(out)
}

/// Installs draining lists; returns the ones they replace.
fn swap_draining(core: &mut Core, lists: DrainingLists) -> DrainingLists {
    let mut old = KVec::with_capacity(lists.len(), GFP_KERNEL).unwrap_or_default();
    for (a, list) in lists {
        if let Some(e) = core.site(a) {
            let prev = core::mem::replace(&mut e.site.draining, list);
            // On allocation failure the old list is dropped: a rollback
            // then leaves it empty, which only affects editions that are
            // off the stack and not draining anymore.
            let _ = old.push((a, prev), GFP_KERNEL);
        }
    }
    old
}

/// Sets the draining lists for `drain` and the leftovers.
///
/// # Errors
///
/// `ENOMEM`, with nothing changed.
fn set_draining(core: &mut Core, drain: Option<&Drain>) -> Result<DrainingLists> {
    let lists = draining_lists(core, drain)?;
    Ok(swap_draining(core, lists))
}

/// Starts draining `editions` (with the original's `counters`, and the
/// threads inside the hooked `originals`), and prepares the snapshots of
/// the sites at `sites` with their new draining lists. On failure the lists are as they were.
fn drain_and_prepare(
    core: &mut Core,
    editions: KVec<Arc<Edition>>,
    counters: KVec<&'static core::sync::atomic::AtomicIsize>,
    originals: &[usize],
    sites: &[usize],
) -> Result<(KVec<(usize, Prepared)>, Drain)> {
    let drain = Drain::new(editions, counters, originals)?;
    let old = set_draining(core, Some(&drain))?;
    match prepare(core, sites) {
        Ok(p) => Ok((p, drain)),
        Err(e) => {
            swap_draining(core, old);
            Err(e)
        }
    }
}

/// A new transition record.
fn transition(
    key: PatchKey,
    goal: Goal,
    drain: Drain,
    sites: KVec<usize>,
    replaced: KVec<PatchKey>,
    undo: Option<(SavedStacks, Saved)>,
) -> Transition {
    Transition {
        patch: key,
        goal,
        drain,
        sites,
        replaced,
        undo,
        started: Instant::<Monotonic>::now(),
        timed_out: false,
        forced: false,
        transferring: false,
    }
}

/// Refuses to start anything while a transition's callbacks run.
fn check_not_transferring(core: &Core) -> Result {
    if core.transition.as_ref().is_some_and(|t| t.transferring) {
        return Err(EBUSY);
    }
    Ok(())
}

/// The distinct values of `addrs`.
fn distinct(addrs: &[usize]) -> Result<KVec<usize>> {
    let mut out = KVec::with_capacity(addrs.len(), GFP_KERNEL)?;
    for &a in addrs {
        if !out.contains(&a) {
            out.push(a, GFP_KERNEL)?;
        }
    }
    Ok(out)
}

/// Enables patch `idx`, or reverses its disabling. `found` is the
/// resolution of its functions, made before taking the registry mutex (see
/// [`Resolved`]); `None` when none was needed (a reversal).
///
/// # Errors
///
/// `EINVAL` if already enabled, `EBUSY` if another patch is in transition,
/// or why preparing failed (see the module documentation).
pub(crate) fn enable(
    core: &mut Core,
    idx: usize,
    trash: &mut Trash,
    found: Option<Resolved>,
) -> Result {
    check_not_transferring(core)?;
    match core.patches[idx].state.request(Goal::Enable) {
        Move::Start => {}
        Move::Refuse => return Err(EINVAL),
        Move::Reverse => return reverse(core, idx, Goal::Enable),
    }
    if let Some(t) = &core.transition {
        let other = core
            .patch_index(t.patch)
            .map_or("?", |i| display(core.patches[i].spec.name));
        return Err(fail(
            core,
            idx,
            EBUSY,
            format_args!("patch '{}' is in transition", other),
        ));
    }
    core.patches[idx].error = None;
    let key = core.patches[idx].key;
    let name = core.patches[idx].spec.name;
    let mut funcs = KVec::with_capacity(core.patches[idx].spec.funcs.len(), GFP_KERNEL)?;
    for f in core.patches[idx].spec.funcs.iter() {
        funcs.push(*f, GFP_KERNEL)?;
    }
    let Some(found) = found else {
        // The caller saw the patch disabling; it no longer is.
        return Err(EAGAIN);
    };
    let (applied, addrs) = check_resolved(core, idx, &funcs, found)?;
    // From here on, `funcs` lists the applied functions only.
    let all = funcs;
    let mut funcs = KVec::with_capacity(applied.len(), GFP_KERNEL)?;
    for &i in applied.iter() {
        funcs.push(all[i], GFP_KERNEL)?;
    }
    drop(all);
    subsystem::check_enable(core, idx, &addrs)?;

    let replace = core.patches[idx].spec.flags & crate::abi::PATCH_REPLACE != 0;

    // Phase 1: everything that can fail, with no effect on any call. New
    // sites are hooked but let every call through to the original.
    let text = core.patches[idx].spec.module.text();
    let subsystem = core.patches[idx].spec.subsystem;
    let mut new_sites: KVec<SiteEntry> = KVec::new();
    let mut layers: KVec<Layer> = KVec::with_capacity(funcs.len(), GFP_KERNEL)?;
    let res: Result = (|| {
        for f in funcs.iter().filter(|f| f.kthread_loop) {
            core.prepare_safepoints(f.edition.safepoint).map_err(|e| {
                fail(
                    core,
                    idx,
                    e,
                    format_args!(
                        "cannot hook the safe point of kernel thread loop {} ({})",
                        display(f.name),
                        e.to_errno()
                    ),
                )
            })?;
        }
        for (f, &addr) in funcs.iter().zip(addrs.iter()) {
            if core.sites.iter().any(|s| s.site.addr == addr) {
                continue;
            }
            let Some(size) = kallsyms::function_size(addr) else {
                return Err(fail(
                    core,
                    idx,
                    EINVAL,
                    format_args!("{} is not the start of a function", display(f.name)),
                ));
            };
            // Reserved first: a failed push would drop the new site's
            // directories under the registry mutex.
            new_sites.reserve(1, GFP_KERNEL)?;
            let sub = match subsystem {
                Some(s) => Some(CString::try_from(s)?),
                None => None,
            };
            let mut entry = SiteEntry::new(core, site_name(f)?, f.object, addr, size, f.kthread_loop).map_err(|e| {
                let why = if e == EBUSY {
                    "another ftrace user that changes the instruction pointer (a livepatch, a kprobe) holds it"
                } else if e == EINVAL {
                    "ftrace cannot trace it"
                } else {
                    "cannot hook it"
                };
                fail(core, idx, e, format_args!("cannot patch {}: {} ({})", display(f.name), why, e.to_errno()))
            })?;
            entry.site.subsystem = sub;
            // PANIC: cannot fail, reserved before the site was made.
            let _ = new_sites.push(entry, GFP_NOWAIT);
        }
        for (f, &addr) in funcs.iter().zip(addrs.iter()) {
            let Some(module) = core.patches[idx].spec.module.get() else {
                return Err(fail(
                    core,
                    idx,
                    EBUSY,
                    format_args!("the patch module is going away"),
                ));
            };
            let entry = entry_mut(&mut core.sites, &mut new_sites, addr).ok_or(ENODEV)?;
            let clash = rules::iface_stack_clash(
                replace,
                !entry.site.stack.is_empty(),
                f.edition.new_iface,
                entry.site.stack.iter().any(|l| l.edition.new_iface()),
            );
            if clash {
                return Err(fail(
                    core,
                    idx,
                    EBUSY,
                    format_args!(
                        "{} has editions of another patch, and one of them changes its interface: an interface change cannot stack",
                        display(f.name)
                    ),
                ));
            }
            let entry = entry_mut(&mut core.sites, &mut new_sites, addr).ok_or(ENODEV)?;
            let layer = entry
                .site
                .new_edition(name, &f.edition, module, text.clone())?;
            entry.site.stack.reserve(1, GFP_KERNEL)?;
            entry.add_edition_dir(layer.edition.id)?;
            layers.push(layer, GFP_KERNEL)?;
        }
        core.sites.reserve(new_sites.len(), GFP_KERNEL)?;
        Ok(())
    })();
    if let Err(e) = res {
        undo_phase1(core, &addrs, &layers, new_sites, trash);
        if core.patches[idx].error.is_none() {
            return Err(fail(
                core,
                idx,
                e,
                format_args!("cannot prepare the patch ({})", e.to_errno()),
            ));
        }
        return Err(e);
    }

    // Phase 2: push the editions and prepare the snapshots.
    for s in new_sites {
        // PANIC: cannot fail, reserved in phase 1.
        let _ = core.sites.push(s, GFP_NOWAIT);
    }
    // A cumulative patch takes every other patch's editions off every
    // site, in the same switch: functions it does not patch go back to
    // their originals. The stacks are saved for a failure. Nothing has
    // changed on any stack yet: a failure here only undoes phase 1.
    let bookkeeping = (|| {
        let mut replaced = KVec::new();
        let mut removed = KVec::new();
        let mut saved = KVec::new();
        if replace {
            for p in core.patches.iter() {
                if p.key != key && p.state == PatchState::Enabled {
                    replaced.push(p.key, GFP_KERNEL)?;
                }
            }
            for e in core.sites.iter() {
                let mut stack = KVec::with_capacity(e.site.stack.len(), GFP_KERNEL)?;
                for l in e.site.stack.iter() {
                    stack.push(l.clone(), GFP_KERNEL)?;
                    removed.push(l.edition.clone(), GFP_KERNEL)?;
                }
                saved.push((e.site.addr, stack), GFP_KERNEL)?;
            }
        }
        let sites = if replace {
            let mut all = KVec::with_capacity(core.sites.len(), GFP_KERNEL)?;
            for e in core.sites.iter() {
                all.push(e.site.addr, GFP_KERNEL)?;
            }
            all
        } else {
            distinct(&addrs)?
        };
        let saved_policies = save_policies(core, &sites)?;
        Ok((replaced, removed, saved, sites, saved_policies))
    })();
    let (replaced, removed, saved, sites, saved_policies) = match bookkeeping {
        Ok(x) => x,
        Err(e) => {
            undo_phase1(core, &addrs, &layers, KVec::new(), trash);
            return Err(fail(
                core,
                idx,
                e,
                format_args!("cannot prepare the switch ({})", e.to_errno()),
            ));
        }
    };
    // The patch's pre hook, last before anything changes for any call.
    let callbacks = core.patches[idx].spec.callbacks;
    if let Err(e) = callbacks.pre(Goal::Enable) {
        undo_phase1(core, &addrs, &layers, KVec::new(), trash);
        return Err(fail(
            core,
            idx,
            e,
            format_args!("its pre_patch callback refused ({})", e.to_errno()),
        ));
    }
    for e in core.sites.iter_mut() {
        if replace && !e.site.stack.is_empty() {
            e.site.stack.clear();
            e.site.default = None;
            e.site.pids.clear();
            e.site.counting = true;
        }
    }
    // One rollback for everything that can fail from here to the switch.
    let mut spared = false;
    let switched = (|| {
        let mut prev = KVec::new();
        let mut spare = KVec::new();
        let mut spare_sites = KVec::new();
        let replaced_editions = push_layers(core, &addrs, &layers)?;
        for ((e, f), &a) in replaced_editions
            .into_iter()
            .zip(funcs.iter())
            .zip(addrs.iter())
        {
            // Callers covered by an adaptor need not drain: their calls of
            // the changed function are translated. What they run goes on
            // draining on the side, as a forced switch's leftover does.
            if f.covered {
                spare.push(e, GFP_KERNEL)?;
                spare_sites.push(a, GFP_KERNEL)?;
            } else {
                prev.push(e, GFP_KERNEL)?;
            }
        }
        for e in removed {
            prev.push(e, GFP_KERNEL)?;
        }
        let mut drain_sites = KVec::with_capacity(sites.len(), GFP_KERNEL)?;
        for &a in sites.iter().filter(|a| !spare_sites.contains(a)) {
            drain_sites.push(a, GFP_KERNEL)?;
        }
        if !spare.is_empty() {
            let counters = orig_counters(core, &spare_sites)?;
            let drain = Drain::new(spare, counters, &spare_sites)?;
            core.leftovers.reserve(1, GFP_KERNEL)?;
            // PANIC: cannot fail, reserved above.
            let _ = core.leftovers.push_within_capacity(Leftover {
                drain,
                adapted: true,
            });
            spared = true;
        }
        let counters = orig_counters(core, &drain_sites)?;
        drain_and_prepare(core, prev, counters, &drain_sites, &sites)
    })();
    let (prepared, drain) = match switched {
        Ok(x) => x,
        Err(e) => {
            if spared {
                core.leftovers.pop();
            }
            pop_layers(core, &addrs, &layers);
            restore_stacks(core, saved, saved_policies);
            undo_phase1(core, &addrs, &layers, KVec::new(), trash);
            // What the pre hook did is undone as livepatch does it.
            callbacks.post(Goal::Disable);
            return Err(fail(
                core,
                idx,
                e,
                format_args!("cannot prepare the switch ({})", e.to_errno()),
            ));
        }
    };

    // Phase 3: switch. New calls enter the new editions from here on.
    install(core, prepared);
    let p = &mut core.patches[idx];
    p.layers = layers;
    p.sites = addrs;
    p.applied = applied;
    p.state = Goal::Enable.moving();
    for &k in replaced.iter() {
        if let Some(i) = core.patch_index(k) {
            core.patches[i].state = PatchState::Disabling;
        }
    }
    core.transition = Some(transition(
        key,
        Goal::Enable,
        drain,
        sites,
        replaced,
        if replace {
            Some((saved, saved_policies))
        } else {
            None
        },
    ));
    pr_info!("enabling patch '{}'\n", display(name));
    core.kick();
    Ok(())
}

/// Puts back the stacks and policies a cumulative patch took off.
fn restore_stacks(core: &mut Core, saved: SavedStacks, policies: Saved) {
    for (a, stack) in saved {
        if let Some(e) = core.site(a) {
            e.site.stack = stack;
        }
    }
    put_policies(core, policies);
}

/// Puts back site policies saved by [`save_policies`].
fn put_policies(core: &mut Core, saved: Saved) {
    for (a, default, pids, counting) in saved {
        if let Some(e) = core.site(a) {
            e.site.default = default;
            e.site.pids = pids;
            e.site.counting = counting;
        }
    }
}

/// Undoes phase 1 of [`enable`]: removes edition directories and the sites
/// that were created for nothing.
fn undo_phase1(
    core: &mut Core,
    addrs: &[usize],
    layers: &[Layer],
    new_sites: KVec<SiteEntry>,
    trash: &mut Trash,
) {
    for (l, &a) in layers.iter().zip(addrs.iter()) {
        if let Some(e) = core.site(a) {
            e.remove_edition_dir(l.edition.id, trash);
        }
    }
    for s in new_sites {
        trash.push_site(s);
    }
    remove_empty_sites(core, trash);
}

/// Moves sites without patch editions to the trash (unhooking them).
pub(crate) fn remove_empty_sites(core: &mut Core, trash: &mut Trash) {
    while let Some(pos) = core
        .sites
        .iter()
        .position(|s| s.site.stack.is_empty() && s.site.draining.is_empty())
    {
        if let Ok(s) = core.sites.remove(pos) {
            trash.push_site(s);
        }
    }
    core.refresh_safepoints();
}

/// Pushes `layers` on their sites, which count from now on and follow their
/// new tops. Returns the editions that were the defaults before. Stack
/// space was reserved.
fn push_layers(core: &mut Core, addrs: &[usize], layers: &[Layer]) -> Result<KVec<Arc<Edition>>> {
    let mut prev = KVec::with_capacity(layers.len(), GFP_KERNEL)?;
    for (l, &a) in layers.iter().zip(addrs.iter()) {
        let site = &mut core.site(a).ok_or(ENODEV)?.site;
        if let Some(e) = site.edition(site.default_id()) {
            prev.push(e.clone(), GFP_KERNEL)?;
        }
        site.stack.push(l.clone(), GFP_KERNEL)?;
        site.default = None;
        site.counting = true;
    }
    Ok(prev)
}

/// Takes `layers` off their sites (they are on top), and the per-process
/// entries and default choices that name them.
fn pop_layers(core: &mut Core, addrs: &[usize], layers: &[Layer]) {
    for (l, &a) in layers.iter().zip(addrs.iter()).rev() {
        let Some(e) = core.site(a) else { continue };
        let site = &mut e.site;
        let id = l.edition.id;
        if let Some(pos) = site.stack.iter().position(|x| x.edition.id == id) {
            let _ = site.stack.remove(pos);
        }
        site.pids.retain(|p| p.1 != id);
        if site.default == Some(id) {
            site.default = None;
        }
        site.counting = true;
    }
}

/// Disables patch `idx`, or reverses its enabling.
///
/// # Errors
///
/// `EINVAL` if not enabled, `EBUSY` if another patch is in transition or
/// this one is below another on some function.
pub(crate) fn disable(core: &mut Core, idx: usize, _trash: &mut Trash) -> Result {
    check_not_transferring(core)?;
    match core.patches[idx].state.request(Goal::Disable) {
        Move::Start => {}
        Move::Refuse => return Err(EINVAL),
        Move::Reverse => return reverse(core, idx, Goal::Disable),
    }
    if core.transition.is_some() {
        return Err(EBUSY);
    }
    core.patches[idx].error = None;
    check_rollback(core, idx)?;
    if let Err(e) = core.patches[idx].spec.callbacks.pre(Goal::Disable) {
        return Err(fail(
            core,
            idx,
            e,
            format_args!("its pre_unpatch callback refused ({})", e.to_errno()),
        ));
    }
    start_disable(core, idx)
}

/// Reverses the disabling of patch `idx` (a cancelled switch back).
///
/// # Errors
///
/// As for [`enable`].
pub(crate) fn reverse_disable(core: &mut Core, idx: usize) -> Result {
    check_not_transferring(core)?;
    reverse(core, idx, Goal::Enable)
}

/// Takes the editions of patch `idx` off their sites and starts draining
/// them.
fn start_disable(core: &mut Core, idx: usize) -> Result {
    let key = core.patches[idx].key;
    let name = core.patches[idx].spec.name;
    let layers = core::mem::take(&mut core.patches[idx].layers);
    let addrs = core::mem::take(&mut core.patches[idx].sites);
    let res = (|| {
        for (l, &a) in layers.iter().zip(addrs.iter()) {
            let site = &core.site_ref(a).ok_or(ENODEV)?.site;
            let Some(top) = site.stack.last() else {
                continue;
            };
            if top.edition.id != l.edition.id {
                let above = CString::try_from(top.edition.patch.as_deref().unwrap_or(c_str!("?")))?;
                let func = CString::try_from(&*site.name)?;
                return Err(fail(
                    core,
                    idx,
                    EBUSY,
                    format_args!(
                        "patch '{}' is above this one on {}: disable it first",
                        display(&above),
                        display(&func)
                    ),
                ));
            }
        }
        let sites = distinct(&addrs)?;
        let mut editions = KVec::with_capacity(layers.len(), GFP_KERNEL)?;
        for l in layers.iter() {
            editions.push(l.edition.clone(), GFP_KERNEL)?;
        }
        // Snapshots and bookkeeping, with rollback on allocation failure.
        let saved = save_policies(core, &sites)?;
        pop_layers(core, &addrs, &layers);
        let (prepared, drain) = match drain_and_prepare(core, editions, KVec::new(), &sites, &sites)
        {
            Ok(x) => x,
            Err(e) => {
                restore_policies(core, &addrs, &layers, saved);
                return Err(fail(
                    core,
                    idx,
                    e,
                    format_args!("cannot prepare the switch ({})", e.to_errno()),
                ));
            }
        };
        install(core, prepared);
        Ok((sites, drain))
    })();
    match res {
        Ok((sites, drain)) => {
            let p = &mut core.patches[idx];
            p.layers = layers;
            p.sites = addrs;
            p.state = PatchState::Disabling;
            // Eager passes stop; the transfer waits for them.
            for st in p.states.iter() {
                st.stop_pass();
            }
            core.transition = Some(transition(
                key,
                Goal::Disable,
                drain,
                sites,
                KVec::new(),
                None,
            ));
            pr_info!("disabling patch '{}'\n", display(name));
            core.kick();
            Ok(())
        }
        Err(e) => {
            let p = &mut core.patches[idx];
            p.layers = layers;
            p.sites = addrs;
            Err(e)
        }
    }
}

fn save_policies(core: &mut Core, sites: &[usize]) -> Result<Saved> {
    let mut saved = KVec::with_capacity(sites.len(), GFP_KERNEL)?;
    for &a in sites {
        let site = &core.site(a).ok_or(ENODEV)?.site;
        let mut pids = KVec::with_capacity(site.pids.len(), GFP_KERNEL)?;
        for &p in site.pids.iter() {
            pids.push(p, GFP_KERNEL)?;
        }
        saved.push((a, site.default, pids, site.counting), GFP_KERNEL)?;
    }
    Ok(saved)
}

/// Puts `layers` back on top of their sites and restores saved policies.
fn restore_policies(core: &mut Core, addrs: &[usize], layers: &[Layer], saved: Saved) {
    for (l, &a) in layers.iter().zip(addrs.iter()) {
        if let Some(e) = core.site(a) {
            // PANIC: cannot fail: the layer was just removed from this stack.
            let _ = e.site.stack.push(l.clone(), GFP_NOWAIT);
        }
    }
    put_policies(core, saved);
}

/// Reverses the transition of patch `idx` midway, towards `goal`.
fn reverse(core: &mut Core, idx: usize, goal: Goal) -> Result {
    check_not_transferring(core)?;
    let key = core.patches[idx].key;
    if core.transition.as_ref().map(|t| t.patch) != Some(key) {
        return Err(EBUSY);
    }
    let name = core.patches[idx].spec.name;
    if core.transition.as_ref().is_some_and(|t| t.undo.is_some()) {
        // Enabling a cumulative patch, reversed: the replaced patches come
        // back as they were.
        return reverse_replace(core, idx);
    }
    match goal {
        Goal::Disable => {
            check_rollback(core, idx)?;
            // The editions are on top: take them off, as a disable would.
            let old = core.transition.take();
            if let Err(e) = start_disable(core, idx) {
                core.transition = old;
                return Err(e);
            }
        }
        Goal::Enable => {
            let layers = core::mem::take(&mut core.patches[idx].layers);
            let addrs = core::mem::take(&mut core.patches[idx].sites);
            let res = (|| {
                let sites = distinct(&addrs)?;
                for &a in sites.iter() {
                    core.site(a)
                        .ok_or(ENODEV)?
                        .site
                        .stack
                        .reserve(1, GFP_KERNEL)?;
                }
                let saved = save_policies(core, &sites)?;
                let prev = push_layers(core, &addrs, &layers)?;
                let res = orig_counters(core, &sites)
                    .and_then(|c| drain_and_prepare(core, prev, c, &sites, &sites));
                match res {
                    Ok((p, d)) => {
                        install(core, p);
                        Ok((sites, d))
                    }
                    Err(e) => {
                        pop_layers(core, &addrs, &layers);
                        put_policies(core, saved);
                        Err(e)
                    }
                }
            })();
            let p = &mut core.patches[idx];
            p.layers = layers;
            p.sites = addrs;
            let (sites, drain) = res?;
            p.state = PatchState::Enabling;
            core.transition = Some(transition(
                key,
                Goal::Enable,
                drain,
                sites,
                KVec::new(),
                None,
            ));
            core.kick();
        }
    }
    pr_info!("reversing the transition of patch '{}'\n", display(name));
    Ok(())
}

/// A copy of `v`.
pub(crate) fn copy<T: Copy>(v: &[T]) -> Result<KVec<T>> {
    let mut out = KVec::with_capacity(v.len(), GFP_KERNEL)?;
    for &x in v {
        out.push(x, GFP_KERNEL)?;
    }
    Ok(out)
}

/// Reverses the enabling of cumulative patch `idx`: its editions come off,
/// the stacks it cleared come back, and the patches it was replacing are
/// enabled again.
fn reverse_replace(core: &mut Core, idx: usize) -> Result {
    let key = core.patches[idx].key;
    let name = core.patches[idx].spec.name;
    let Some(t) = core.transition.as_ref() else {
        return Err(EBUSY);
    };
    let Some((saved, policies)) = t.undo.as_ref() else {
        return Err(EBUSY);
    };
    // Copies: the transition keeps its own until the reversal is done.
    let mut undo_stacks = KVec::with_capacity(saved.len(), GFP_KERNEL)?;
    for (a, stack) in saved.iter() {
        let mut s = KVec::with_capacity(stack.len(), GFP_KERNEL)?;
        for l in stack.iter() {
            s.push(l.clone(), GFP_KERNEL)?;
        }
        undo_stacks.push((*a, s), GFP_KERNEL)?;
    }
    let mut undo_policies = KVec::with_capacity(policies.len(), GFP_KERNEL)?;
    for (a, d, pids, c) in policies.iter() {
        let mut p = KVec::with_capacity(pids.len(), GFP_KERNEL)?;
        for &x in pids.iter() {
            p.push(x, GFP_KERNEL)?;
        }
        undo_policies.push((*a, *d, p, *c), GFP_KERNEL)?;
    }
    let sites = copy(&t.sites)?;
    let replaced = copy(&t.replaced)?;
    // What is there now, to come back to if the reversal cannot be made.
    let mut now_stacks = KVec::with_capacity(sites.len(), GFP_KERNEL)?;
    for &a in sites.iter() {
        if let Some(e) = core.site_ref(a) {
            let mut s = KVec::with_capacity(e.site.stack.len(), GFP_KERNEL)?;
            for l in e.site.stack.iter() {
                s.push(l.clone(), GFP_KERNEL)?;
            }
            now_stacks.push((a, s), GFP_KERNEL)?;
        }
    }
    let now_policies = save_policies(core, &sites)?;
    let mut editions = KVec::with_capacity(core.patches[idx].layers.len(), GFP_KERNEL)?;
    for l in core.patches[idx].layers.iter() {
        editions.push(l.edition.clone(), GFP_KERNEL)?;
    }
    restore_stacks(core, undo_stacks, undo_policies);
    for &a in sites.iter() {
        if let Some(e) = core.site(a) {
            e.site.counting = true;
        }
    }
    let (prepared, drain) = match drain_and_prepare(core, editions, KVec::new(), &sites, &sites) {
        Ok(x) => x,
        Err(e) => {
            restore_stacks(core, now_stacks, now_policies);
            return Err(fail(
                core,
                idx,
                e,
                format_args!("cannot prepare the reversal ({})", e.to_errno()),
            ));
        }
    };
    install(core, prepared);
    for &k in replaced.iter() {
        if let Some(i) = core.patch_index(k) {
            core.patches[i].state = PatchState::Enabled;
        }
    }
    core.patches[idx].state = PatchState::Disabling;
    core.transition = Some(transition(
        key,
        Goal::Disable,
        drain,
        sites,
        KVec::new(),
        None,
    ));
    pr_info!("reversing the transition of patch '{}'\n", display(name));
    core.kick();
    Ok(())
}
