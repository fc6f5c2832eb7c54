// SPDX-License-Identifier: GPL-2.0

//! What enabling, disabling and reversing share: finding a patch's
//! targets, pushing and popping its layers, saving and restoring site
//! policies, and switching a set of sites in one step (drain lists,
//! snapshots prepared for all, then installed for all).

use super::{
    model::{fail, Applied, Core, SavedPolicies, SavedStacks, SiteRecord, Transition, Trash},
    spec::FuncSpec,
    subsystem,
};
use crate::{
    logic::{
        lifecycle::{Goal, PatchKey},
        rules,
    },
    mech::{
        drain::Drain,
        site::{free_stale, Edition, Prepared},
        switch::TaskSwitch,
    },
    raw::{
        display,
        kallsyms::{LookupError, Query},
    },
};
use core::{fmt, ops::Range, sync::atomic::AtomicIsize};
use kernel::{
    prelude::*,
    str::CString,
    sync::Arc,
    time::{Instant, Monotonic},
};

/// A function's sysfs name, `[module:]symbol[,pos]`, for formatting.
struct SiteName<'a>(&'a FuncSpec);

impl kernel::fmt::Display for SiteName<'_> {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        let f = self.0;
        rules::write_site_name(w, display(f.name), f.object.map(display), f.sympos)
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

/// What `kallsyms::resolve` found for a patch's functions. Resolution
/// walks kallsyms, which takes a while, so it runs before the registry
/// mutex is taken.
pub(crate) type Resolved = Result<KVec<core::result::Result<usize, LookupError>>>;

/// A function of a patch that can be applied now: its index in the
/// patch's spec, the spec, and its address.
pub(crate) type Applicable = (usize, FuncSpec, usize);

/// Why a lookup failed, as the patch's `error` file says it.
fn lookup_failure(core: &mut Core, key: PatchKey, f: &FuncSpec, e: LookupError) -> Error {
    match e {
        LookupError::NotFound if f.sympos > 0 => fail(
            core,
            key,
            ENOENT,
            format_args!(
                "no symbol {} at position {} in {}",
                display(f.name),
                f.sympos,
                where_is(f)
            ),
        ),
        LookupError::NotFound | LookupError::NoObject => fail(
            core,
            key,
            ENOENT,
            format_args!("unknown symbol {} in {}", display(f.name), where_is(f)),
        ),
        LookupError::NotText => fail(
            core,
            key,
            EINVAL,
            format_args!(
                "symbol {} at position {} in {} is not a function",
                display(f.name),
                f.sympos,
                where_is(f)
            ),
        ),
        LookupError::Ambiguous(n) => fail(
            core,
            key,
            EINVAL,
            format_args!(
                "{} symbols named {} in {}: give a position",
                n,
                display(f.name),
                where_is(f)
            ),
        ),
    }
}

/// The functions of patch `key` that can be applied now, from what
/// `found` says of each: functions of modules that are not loaded wait for
/// them; any other failed lookup, or two functions at one address, refuses
/// the enable.
pub(crate) fn targets(core: &mut Core, key: PatchKey, found: Resolved) -> Result<KVec<Applicable>> {
    let found = found.map_err(|e| {
        fail(
            core,
            key,
            e,
            format_args!("cannot read kallsyms ({})", e.to_errno()),
        )
    })?;
    let p = core.patch(key).ok_or(ENODEV)?;
    let name = p.spec.name;
    let mut out: KVec<Applicable> = KVec::with_capacity(p.spec.funcs.len(), GFP_KERNEL)?;
    let mut funcs = KVec::with_capacity(p.spec.funcs.len(), GFP_KERNEL)?;
    for f in p.spec.funcs.iter() {
        funcs.push(*f, GFP_KERNEL)?;
    }
    for (i, (f, r)) in funcs.iter().zip(found.iter()).enumerate() {
        match *r {
            Ok(addr) => out.push((i, *f, addr), GFP_KERNEL)?,
            Err(LookupError::NoObject) => pr_info!(
                "patch '{}': {} waits for module {}\n",
                display(name),
                display(f.name),
                where_is(f)
            ),
            Err(e) => return Err(lookup_failure(core, key, f, e)),
        }
    }
    for (i, t) in out.iter().enumerate() {
        if out[..i].iter().any(|o| o.2 == t.2) {
            return Err(fail(
                core,
                key,
                EINVAL,
                format_args!("{} is listed twice (under another name)", display(t.1.name)),
            ));
        }
    }
    Ok(out)
}

/// The counters of counted entries into the originals of `addrs`.
pub(crate) fn orig_counters(
    core: &mut Core,
    addrs: &[usize],
) -> Result<KVec<&'static AtomicIsize>> {
    let mut out = KVec::new();
    for &a in addrs {
        if let Some(e) = core.site(a) {
            for l in e.site.stack().iter() {
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
pub(crate) fn install(core: &mut Core, prepared: KVec<(usize, Prepared)>) {
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
            let on_stack = site.stack().iter().any(|l| Arc::ptr_eq(&l.edition, ed));
            if ed.site_addr == site.addr()
                && ed.id != 0
                && !on_stack
                && !list.iter().any(|x| Arc::ptr_eq(x, ed))
            {
                list.push(ed.clone(), GFP_KERNEL)?;
            }
        }
        out.push((site.addr(), list), GFP_KERNEL)?;
    }
    Ok(out)
}

/// Installs draining lists; returns the ones they replace.
fn swap_draining(core: &mut Core, lists: DrainingLists) -> DrainingLists {
    let mut old = KVec::with_capacity(lists.len(), GFP_KERNEL).unwrap_or_default();
    for (a, list) in lists {
        if let Some(e) = core.site(a) {
            let prev = e.site.swap_draining(list);
            // On allocation failure the old list is dropped: a rollback
            // then leaves it empty, which only affects editions that are
            // off the stack and not draining anymore.
            let _ = old.push((a, prev), GFP_KERNEL);
        }
    }
    old
}

/// Starts draining `editions` (with the original's `counters`, and the
/// threads inside the hooked `originals`), and prepares the snapshots of
/// the sites at `sites` with their new draining lists. On failure the
/// lists are as they were.
pub(crate) fn drain_and_prepare(
    core: &mut Core,
    editions: KVec<Arc<Edition>>,
    counters: KVec<&'static AtomicIsize>,
    originals: &[usize],
    sites: &[usize],
    module_text: Option<Range<usize>>,
) -> Result<(KVec<(usize, Prepared)>, Drain)> {
    let drain = Drain::new(editions, counters, originals, module_text)?;
    let lists = draining_lists(core, Some(&drain))?;
    let old = swap_draining(core, lists);
    match prepare(core, sites) {
        Ok(p) => Ok((p, drain)),
        Err(e) => {
            swap_draining(core, old);
            Err(e)
        }
    }
}

/// A new transition record.
pub(crate) fn new_transition(
    key: PatchKey,
    goal: Goal,
    drain: Drain,
    switch: Option<TaskSwitch>,
    sites: KVec<usize>,
    replaced: KVec<PatchKey>,
    undo: Option<(SavedStacks, SavedPolicies)>,
) -> Transition {
    Transition {
        patch: key,
        goal,
        drain,
        switch,
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
pub(crate) fn check_not_transferring(core: &Core) -> Result {
    if core.transition.as_ref().is_some_and(|t| t.transferring) {
        return Err(EBUSY);
    }
    Ok(())
}

/// The distinct sites of `applied`.
pub(crate) fn distinct(applied: &[Applied]) -> Result<KVec<usize>> {
    let mut out = KVec::with_capacity(applied.len(), GFP_KERNEL)?;
    for a in applied {
        if !out.contains(&a.addr) {
            out.push(a.addr, GFP_KERNEL)?;
        }
    }
    Ok(out)
}

/// The editions of `applied`.
pub(crate) fn editions_of(applied: &[Applied]) -> Result<KVec<Arc<Edition>>> {
    let mut out = KVec::with_capacity(applied.len(), GFP_KERNEL)?;
    for a in applied {
        out.push(a.layer.edition.clone(), GFP_KERNEL)?;
    }
    Ok(out)
}

/// The stacks of the sites at `addrs`, to put back with
/// [`restore_stacks`].
pub(crate) fn save_stacks(core: &Core, addrs: &[usize]) -> Result<SavedStacks> {
    let mut out = KVec::with_capacity(addrs.len(), GFP_KERNEL)?;
    for &a in addrs {
        if let Some(e) = core.site_ref(a) {
            out.push((a, e.site.copy_stack()?), GFP_KERNEL)?;
        }
    }
    Ok(out)
}

/// Puts back the stacks and policies a cumulative patch took off.
pub(crate) fn restore_stacks(core: &mut Core, saved: SavedStacks, policies: SavedPolicies) {
    for (a, stack) in saved {
        if let Some(e) = core.site(a) {
            e.site.set_stack(stack);
        }
    }
    restore_policies(core, policies);
}

/// The policies of the sites at `addrs`, to put back with
/// [`restore_policies`].
pub(crate) fn save_policies(core: &mut Core, addrs: &[usize]) -> Result<SavedPolicies> {
    let mut saved = KVec::with_capacity(addrs.len(), GFP_KERNEL)?;
    for &a in addrs {
        let site = &core.site(a).ok_or(ENODEV)?.site;
        saved.push((a, site.save_policy()?), GFP_KERNEL)?;
    }
    Ok(saved)
}

/// Puts back site policies saved by [`save_policies`].
pub(crate) fn restore_policies(core: &mut Core, saved: SavedPolicies) {
    for (a, policy) in saved {
        if let Some(e) = core.site(a) {
            e.site.restore_policy(policy);
        }
    }
}

/// Moves sites without patch editions to the trash (unhooking them).
pub(crate) fn remove_empty_sites(core: &mut Core, trash: &mut Trash) {
    while let Some(pos) = core.sites.iter().position(|s| s.site.unused()) {
        if let Ok(s) = core.sites.remove(pos) {
            trash.push_site(s);
        }
    }
    core.refresh_safepoints();
}

/// Pushes the layers of `applied` on their sites, which count from now on
/// and follow their new tops. Returns the editions that were the defaults
/// before. Stack space was reserved.
pub(crate) fn push_layers(core: &mut Core, applied: &[Applied]) -> Result<KVec<Arc<Edition>>> {
    let mut prev = KVec::with_capacity(applied.len(), GFP_KERNEL)?;
    for a in applied {
        let site = &mut core.site(a.addr).ok_or(ENODEV)?.site;
        if let Some(e) = site.edition(site.default_id()) {
            prev.push(e.clone(), GFP_KERNEL)?;
        }
        site.push_layer(a.layer.clone())?;
        site.set_counting(true);
    }
    Ok(prev)
}

/// Takes the layers of `applied` off their sites (they are on top), and
/// the per-process entries and default choices that name them.
pub(crate) fn pop_layers(core: &mut Core, applied: &[Applied]) {
    for a in applied.iter().rev() {
        let Some(e) = core.site(a.addr) else { continue };
        e.site.pop_layer(a.layer.edition.id);
        e.site.set_counting(true);
    }
}

/// Puts the layers of `applied` back on top of their sites (they were just
/// taken off) and restores saved policies.
pub(crate) fn repush_layers(core: &mut Core, applied: &[Applied], saved: SavedPolicies) {
    for a in applied {
        if let Some(e) = core.site(a.addr) {
            // PANIC: cannot fail: the layer was just removed from this stack.
            let _ = e.site.push_layer(a.layer.clone());
        }
    }
    restore_policies(core, saved);
}

/// Removes the edition directories of `applied`, and the sites left with
/// no edition.
pub(crate) fn drop_editions(core: &mut Core, applied: &[Applied], trash: &mut Trash) {
    for a in applied {
        if let Some(e) = core.site(a.addr) {
            e.remove_edition_dir(a.layer.edition.id, trash);
        }
    }
    remove_empty_sites(core, trash);
}

/// The site record for `addr`, among the registry's or the new ones.
pub(crate) fn record_mut<'a>(
    sites: &'a mut KVec<SiteRecord>,
    new: &'a mut KVec<SiteRecord>,
    addr: usize,
) -> Option<&'a mut SiteRecord> {
    if let Some(i) = sites.iter().position(|s| s.site.addr() == addr) {
        return sites.get_mut(i);
    }
    new.iter_mut().find(|s| s.site.addr() == addr)
}

/// A copy of `v`.
pub(crate) fn copy<T: Copy>(v: &[T]) -> Result<KVec<T>> {
    let mut out = KVec::with_capacity(v.len(), GFP_KERNEL)?;
    for &x in v {
        out.push(x, GFP_KERNEL)?;
    }
    Ok(out)
}
