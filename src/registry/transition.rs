// SPDX-License-Identifier: GPL-2.0

//! The end of transitions: the work that checks the drain, runs the
//! patch's state transfer and post hook without the registry mutex, then
//! drops what drained and publishes the new state. Also drops leftovers
//! (of forced switches and of callers an adaptor covers) once they
//! drained, and makes the pending jumps of sites, a few at a time.

use super::{
    consistent,
    model::{free_shadows, with_core, Core, Leftover, Release, Transition, Trash},
    stacking::{copy, remove_empty_sites},
    subsystem,
};
use crate::{
    abi::ShadowDesc,
    logic::lifecycle::{Goal, PatchKey},
    mech::{
        drain::Drain,
        site::{free_stale, Edition},
        state::LazyState,
    },
    raw::{callbacks::PatchCallbacks, display, modules::ModuleRef},
};
use kernel::{prelude::*, str::CStr, sync::Arc};

/// Jiffies between checks of the drains forced switches left.
const LEFTOVER_PERIOD: usize = 10;

/// The transition work (`model::TransitionWork`): checks the transition
/// and ends it once drained; drops leftovers that drained; makes pending
/// jumps. Queued again while something is left to do.
pub(crate) fn run() {
    let transfer = with_core(|core, trash| {
        retry_settling(core);
        check_leftovers(core, trash);
        check_releasing(core);
        // Some pending jumps at each run, when no transition runs or
        // while one waits (not before it ends: they cost a text patch
        // each); `with_core` queues the work again while some are left.
        let Some(t) = core.transition.as_mut() else {
            promote(core);
            core.retry_safepoints();
            if core.has_leftovers() || core.safepoints_stale() {
                core.kick_later(LEFTOVER_PERIOD);
            }
            return Ok(None);
        };
        if t.transferring {
            return Ok(None);
        }
        // Every task on the target side first: only then can nothing
        // enter what drains.
        let switched = t.switch.as_mut().is_none_or(|s| s.check());
        if t.forced || (switched && t.drain.check()) {
            return Ok(start_transfer(core));
        }
        promote(core);
        core.retry_safepoints();
        subsystem::check_timeout(core);
        consistent::check_timeout(core);
        // Check again in a jiffy.
        core.kick_later(1);
        Ok(None)
    });
    if let Ok(Some(transfer)) = transfer {
        // The patch's callbacks run without the registry mutex.
        transfer.run();
        let finished = with_core(|core, trash| {
            let f = finish(core, trash);
            if core.has_leftovers() {
                core.kick_later(LEFTOVER_PERIOD);
            }
            Ok(f)
        });
        // The trash is empty now: the old functions are unhooked.
        if let Ok(Some(f)) = finished {
            let _ = with_core(|core, _| {
                conclude(core, f);
                // Then the sites' jumps move to their cheaper entries.
                core.kick();
                Ok(())
            });
        }
    }
}

/// The callbacks that end a transition, run by the transition work
/// without the registry mutex (they are the patch's code and may take any
/// lock, or sleep).
pub(crate) struct Transfer {
    callbacks: PatchCallbacks,
    goal: Goal,
    /// The patch's states, converted back when it is disabled.
    states: KVec<Arc<LazyState>>,
    /// The kinds of shadow variables it uses, freed when it is disabled.
    shadows: KVec<&'static ShadowDesc>,
    /// Whether its code may still run afterwards (a forced switch): then
    /// its data stays until it unregisters.
    forced: bool,
    /// Keeps the patch module loaded while its callbacks run.
    module: Option<ModuleRef>,
}

impl Transfer {
    /// Runs the state transfer, then the post hook. After a disable, the
    /// patch's states are converted back first and its shadow variables
    /// freed last: nothing of the patch runs any more.
    pub(crate) fn run(self) {
        if self.module.is_none() {
            return;
        }
        let cleanup = self.goal == Goal::Disable && !self.forced;
        if cleanup {
            for st in self.states.iter() {
                st.wait_pass();
            }
        }
        self.callbacks.transfer(self.goal);
        if cleanup {
            for st in self.states.iter() {
                st.roll_back();
            }
        }
        self.callbacks.post(self.goal);
        if cleanup {
            free_shadows(&self.shadows);
        }
    }
}

/// The transition has drained (or was forced): marks it transferring and
/// returns its callbacks. [`finish`] must follow.
pub(crate) fn start_transfer(core: &mut Core) -> Option<Transfer> {
    let (key, goal, forced) = {
        let t = core.transition.as_ref()?;
        (t.patch, t.goal, t.forced)
    };
    let p = core.patch(key)?;
    // On allocation failure the transition stays as it is and is checked
    // again later.
    let mut states = KVec::with_capacity(p.states.len(), GFP_KERNEL).ok()?;
    for st in p.states.iter() {
        states.push(st.clone(), GFP_KERNEL).ok()?;
    }
    let transfer = Transfer {
        callbacks: p.spec.callbacks,
        goal,
        states,
        shadows: copy(&p.spec.shadows).ok()?,
        forced,
        module: p.spec.module.get(),
    };
    if let Some(t) = core.transition.as_mut() {
        t.transferring = true;
    }
    Some(transfer)
}

/// Sites that a leftover drain still counts on.
fn in_leftover(core: &Core, addr: usize) -> bool {
    core.leftovers
        .iter()
        .any(|l| l.editions().any(|e| e.site_addr == addr))
}

/// Republishes the sites at `addrs`: fresh subsystem tables, counting only
/// where a leftover still drains. Returns whether every site published.
fn settle(core: &mut Core, addrs: &[usize]) -> bool {
    // On allocation failure the old tables stay: they only list more code.
    let _ = subsystem::refresh_sites(core, addrs);
    let mut stale = KVec::with_capacity(addrs.len(), GFP_KERNEL).unwrap_or_default();
    let mut all = true;
    for &a in addrs {
        let counting = in_leftover(core, a);
        if let Some(e) = core.site(a) {
            match e.site.settle(counting) {
                Some(s) => drop(stale.push(s, GFP_KERNEL)),
                None => all = false,
            }
        }
    }
    free_stale(stale);
    all
}

/// Retries the sites that could not publish one side at the end of a
/// consistent transition; their switch goes once they have.
fn retry_settling(core: &mut Core) {
    let Some((sw, addrs)) = core.settling.take() else {
        return;
    };
    if settle(core, &addrs) {
        drop(sw);
    } else {
        core.settling = Some((sw, addrs));
        core.kick_later(LEFTOVER_PERIOD);
    }
}

/// Most pending jumps made per run of the transition work: each is a text
/// patch, made under the registry mutex.
const PROMOTE_BATCH: usize = 16;

/// Makes the pending jumps of some sites.
pub(crate) fn promote(core: &mut Core) {
    for e in core
        .sites
        .iter_mut()
        .filter(|e| e.site.promotable())
        .take(PROMOTE_BATCH)
    {
        e.site.promote();
    }
}

/// What [`finish`] leaves for [`conclude`]: the states to publish once the
/// trash is emptied.
pub(crate) struct Finished {
    key: PatchKey,
    goal: Goal,
    replaced: KVec<PatchKey>,
    switch: Option<(&'static CStr, u32)>,
}

/// Ends the transition: what drained is quiescent, or the admin forced it
/// and what has not drained goes on draining as a leftover. The patch keeps
/// its `enabling`/`disabling` state until [`conclude`], which the caller
/// runs after emptying the trash: a patch reads `disabled` only once its
/// functions are unhooked and their sysfs directories gone, so that a
/// livepatch or a new enable can take them at once.
pub(crate) fn finish(core: &mut Core, trash: &mut Trash) -> Option<Finished> {
    let switch = subsystem::switching(core);
    let t = core.transition.take()?;
    let Transition {
        patch: key,
        goal,
        mut drain,
        switch: sides,
        sites,
        replaced,
        forced,
        ..
    } = t;
    if forced && !drain.check() {
        // PANIC: cannot fail, `force` reserved the room.
        if let Err(e) = core.leftovers.push_within_capacity(Leftover {
            drain,
            adapted: false,
        }) {
            // Never free what a thread may run: leak it.
            core::mem::forget(e.0);
        }
        if let Some((s, from, _)) = switch {
            pr_warn!(
                "subsystem '{}': forced; generation {} stays loaded until its last task leaves\n",
                display(s),
                from
            );
        }
        drain = Drain::empty();
    }
    // Editions off the stacks that drained are dropped from the sites.
    for e in core.sites.iter_mut() {
        e.site.retain_draining(|ed| !drain.contains(ed));
    }
    // Every task follows the one state left (a forced switch moves the
    // tasks still on the other side), then the sides' table goes.
    if sides.is_some() {
        consistent::end_sides(core, &sites);
    }
    let settled = settle(core, &sites);
    if let Some(sw) = sides {
        if settled {
            drop(sw);
        } else if let Ok(addrs) = copy(&sites) {
            // A site still publishes two sides (no memory for its new
            // snapshot): every task is on the target, so the table must
            // stay until it publishes one.
            core.settling = Some((sw, addrs));
            core.kick_later(LEFTOVER_PERIOD);
        } else {
            pr_err!("out of memory: the per-task table of a transition stays for good\n");
            core::mem::forget(sw);
        }
    }
    core.patch(key)?;
    // The patches whose editions went: the replaced ones, or this one.
    let gone = match goal {
        Goal::Enable => &replaced[..],
        Goal::Disable => core::slice::from_ref(&key),
    };
    for &k in gone {
        let Some(p) = core.patch_mut(k) else {
            continue;
        };
        let applied = core::mem::take(&mut p.applied);
        for a in applied.iter() {
            if let Some(e) = core.site(a.addr) {
                e.remove_edition_dir(a.layer.edition.id, trash);
            }
        }
    }
    remove_empty_sites(core, trash);
    // The draining editions go now, and with them their references on the
    // patch modules that no task can return into.
    retire(core, drain);
    Some(Finished {
        key,
        goal,
        replaced,
        switch: switch.map(|(s, _, to)| (s, to)),
    })
}

/// Publishes the end of a transition that [`finish`] ended.
pub(crate) fn conclude(core: &mut Core, f: Finished) {
    if let Some((s, to)) = f.switch {
        pr_info!("subsystem '{}': now at generation {}\n", display(s), to);
    }
    let Some(p) = core.patch_mut(f.key) else {
        return;
    };
    let name = p.spec.name;
    p.reach(f.goal);
    match f.goal {
        Goal::Enable => {
            pr_info!("patch '{}' enabled\n", display(name));
            if let Some(p) = core.patch(f.key) {
                for st in p.states.iter() {
                    if st.eager_at_enable() && st.claim_pass() {
                        core.queue_eager(st.clone());
                    }
                }
            }
            for &k in f.replaced.iter() {
                if let Some(p) = core.patch_mut(k) {
                    p.reach(Goal::Disable);
                    pr_info!(
                        "patch '{}' disabled: replaced by '{}'\n",
                        display(p.spec.name),
                        display(name)
                    );
                }
            }
        }
        Goal::Disable => {
            pr_info!("patch '{}' disabled\n", display(name));
        }
    }
}

/// Drops the leftovers (of forced switches, or of callers an adaptor
/// covers) that have drained since.
pub(crate) fn check_leftovers(core: &mut Core, trash: &mut Trash) {
    let mut done = KVec::new();
    let mut i = 0;
    while i < core.leftovers.len() {
        // Without room to take it, it is checked again next time.
        if done.reserve(1, GFP_KERNEL).is_ok() && core.leftovers[i].drain.check() {
            if let Ok(l) = core.leftovers.remove(i) {
                // PANIC: cannot fail, reserved above.
                let _ = done.push(l, GFP_NOWAIT);
            }
        } else {
            i += 1;
        }
    }
    if done.is_empty() {
        return;
    }
    let mut addrs = KVec::new();
    for l in done.iter() {
        for s in core.sites.iter_mut() {
            s.site.retain_draining(|ed| !l.drain.contains(ed));
            if !addrs.contains(&s.site.addr()) {
                let _ = addrs.push(s.site.addr(), GFP_KERNEL);
            }
        }
    }
    settle(core, &addrs);
    for l in done.iter() {
        if l.adapted {
            pr_info!("the last task left the old callers that an adaptor covers\n");
        } else {
            pr_info!("the last task left the editions of a forced switch\n");
        }
    }
    remove_empty_sites(core, trash);
    for l in done {
        retire(core, l.drain);
    }
}

/// Drops editions that drained. A drain checks the editions' code; a patch
/// module's reference goes only once no task has a return address anywhere
/// in the module's text, since the module may be removed then: a wrapper
/// that ends in a tail jump to `prev()` leaves only `prev()`'s frame on a
/// sleeper's stack, and an edition may call helpers of its module. The
/// editions whose whole module the drain checked (a disabled patch's) go at
/// once, the others per module as soon as a check of the module's text
/// finds no task in it: now, or in [`check_releasing`].
///
/// No task can enter the module anew: the editions are off every site and
/// out of every published snapshot. The module's other editions, if it
/// still has some, keep it loaded anyway: its last retirement is checked
/// after the last of them is gone.
fn retire(core: &mut Core, drain: Drain) {
    let (editions, checked) = drain.into_editions();
    let mut groups: KVec<Release> = KVec::new();
    for e in editions {
        let Some(text) = e.module_text() else {
            continue;
        };
        if checked.as_ref() == Some(&text) {
            continue;
        }
        if let Some(r) = groups
            .iter_mut()
            .find(|r| r.drain.module_text() == Some(&text))
        {
            keep_edition(&mut r.editions, e);
            continue;
        }
        let release = Drain::new(KVec::new(), KVec::new(), &[], Some(text)).and_then(|drain| {
            let mut editions = KVec::with_capacity(1, GFP_KERNEL)?;
            editions.push(e.clone(), GFP_KERNEL)?;
            groups.reserve(1, GFP_KERNEL)?;
            Ok(Release {
                drain,
                editions,
                reported: false,
            })
        });
        match release {
            // PANIC: cannot fail, reserved above.
            Ok(r) => drop(groups.push_within_capacity(r)),
            Err(_) => leak(e),
        }
    }
    for mut r in groups {
        if r.drain.check() {
            continue;
        }
        report_release(&mut r);
        if core.releasing.reserve(1, GFP_KERNEL).is_err() {
            pr_err!("out of memory: a patch module stays loaded for good\n");
            core::mem::forget(r);
        } else if let Err(e) = core.releasing.push_within_capacity(r) {
            core::mem::forget(e.0);
        }
    }
    if !core.releasing.is_empty() {
        core.kick_later(LEFTOVER_PERIOD);
    }
}

/// Adds `e` to a release's editions, or keeps it for good.
fn keep_edition(list: &mut KVec<Arc<Edition>>, e: Arc<Edition>) {
    if list.reserve(1, GFP_KERNEL).is_err() {
        return leak(e);
    }
    if let Err(e) = list.push_within_capacity(e) {
        leak(e.0);
    }
}

/// Keeps an edition, and so its module, loaded for good: without memory
/// to track it, never free what a task may return into.
fn leak(e: Arc<Edition>) {
    pr_err!("out of memory: a patch module stays loaded for good\n");
    core::mem::forget(e);
}

/// Says once which task keeps a retired patch's module loaded.
fn report_release(r: &mut Release) {
    if r.reported {
        return;
    }
    let Some(h) = r.drain.holders.first() else {
        return;
    };
    r.reported = true;
    pr_info!(
        "patch '{}': its module stays loaded while task {} ({}) may return into it\n",
        release_name(r),
        h.pid,
        h.comm_str()
    );
}

/// The name of the patch whose module `r` keeps.
fn release_name(r: &Release) -> &str {
    r.editions
        .first()
        .and_then(|e| e.patch.as_deref())
        .map_or("?", display)
}

/// Drops the retired editions whose modules no task can return into
/// anymore (see [`retire`]).
pub(crate) fn check_releasing(core: &mut Core) {
    let mut i = 0;
    while i < core.releasing.len() {
        if !core.releasing[i].drain.check() {
            report_release(&mut core.releasing[i]);
            i += 1;
            continue;
        }
        if let Ok(r) = core.releasing.remove(i) {
            if r.reported {
                pr_info!(
                    "patch '{}': no task can return into its module now\n",
                    release_name(&r)
                );
            }
        }
    }
}
