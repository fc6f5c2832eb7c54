// SPDX-License-Identifier: GPL-2.0

//! Disabling a patch, and reversing a transition midway.
//!
//! Disabling pops the patch's editions (the patch must be on top of every
//! stack, as in livepatch): new calls enter the edition below at once, and
//! the patch's editions drain. Writing the opposite value to `enabled`
//! during a transition reverses it: the editions that were draining become
//! the defaults again, and the others drain. A cumulative patch's enabling,
//! reversed, brings back the stacks it replaced.

use super::{
    consistent,
    model::{fail, Applied, Core, SavedPolicies, SavedStacks, Trash},
    stacking::{self, check_not_transferring},
};
use crate::{
    logic::lifecycle::{Goal, Move, PatchKey},
    mech::{drain::Drain, switch::TaskSwitch},
    raw::display,
};
use kernel::{c_str, prelude::*, str::CString};

/// Refuses to take patch `key` off if converting its states back would
/// lose information the admin did not agree to lose.
fn check_rollback(core: &mut Core, key: PatchKey) -> Result {
    let refusal = core
        .patch(key)
        .ok_or(ENODEV)?
        .states
        .iter()
        .find_map(|st| st.refuses_rollback().map(|n| (st.name, n)));
    if let Some((name, n)) = refusal {
        return Err(fail(
            core,
            key,
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

/// Disables patch `key`, or reverses its enabling.
///
/// # Errors
///
/// `EINVAL` if not enabled, `EBUSY` if another patch is in transition or
/// this one is below another on some function.
pub(crate) fn disable(core: &mut Core, key: PatchKey, _trash: &mut Trash) -> Result {
    check_not_transferring(core)?;
    match core
        .patch(key)
        .ok_or(ENODEV)?
        .state()
        .request(Goal::Disable)
    {
        Move::Start => {}
        Move::Refuse => return Err(EINVAL),
        Move::Reverse => return reverse(core, key, Goal::Disable),
    }
    if core.transition.is_some() {
        return Err(EBUSY);
    }
    core.patch_mut(key).ok_or(ENODEV)?.error = None;
    check_rollback(core, key)?;
    // Every refusal comes before the pre_unpatch hook: a refused disable
    // must not have told the patch it was going.
    let p = core.patch_mut(key).ok_or(ENODEV)?;
    let applied = core::mem::take(&mut p.applied);
    let on_top = check_on_top(core, key, &applied);
    core.patch_mut(key).ok_or(ENODEV)?.applied = applied;
    on_top?;
    let callbacks = core.patch(key).ok_or(ENODEV)?.spec.callbacks;
    if let Err(e) = callbacks.pre(Goal::Disable) {
        return Err(fail(
            core,
            key,
            e,
            format_args!("its pre_unpatch callback refused ({})", e.to_errno()),
        ));
    }
    // A failure after the hook (no memory for the switch) leaves the patch
    // enabled: its post_patch hook says so, as after an enable.
    start_disable(core, key, &mut None).inspect_err(|_| callbacks.post(Goal::Enable))
}

/// Reverses the disabling of patch `key` (a cancelled switch back).
///
/// # Errors
///
/// As for enabling.
pub(crate) fn reverse_disable(core: &mut Core, key: PatchKey) -> Result {
    check_not_transferring(core)?;
    reverse(core, key, Goal::Enable)
}

/// Refuses to take off the editions of `applied` if another patch's is
/// above one of them.
fn check_on_top(core: &mut Core, key: PatchKey, applied: &[Applied]) -> Result {
    for a in applied {
        let site = &core.site_ref(a.addr).ok_or(ENODEV)?.site;
        let Some(top) = site.stack().last() else {
            continue;
        };
        if top.edition.id != a.layer.edition.id {
            let above = CString::try_from(top.edition.patch.as_deref().unwrap_or(c_str!("?")))?;
            let func = CString::try_from(site.name())?;
            return Err(fail(
                core,
                key,
                EBUSY,
                format_args!(
                    "patch '{}' is above this one on {}: disable it first",
                    display(&above),
                    display(&func)
                ),
            ));
        }
    }
    Ok(())
}

/// What a switch of the stacks of some sites leaves for the transition:
/// the sites, what drains, and the per-task switch of a consistent one.
type Switched = (KVec<usize>, Drain, Option<TaskSwitch>);

/// Takes the editions of `applied` off their sites and starts draining
/// them; consistently if the patch's transitions are, with `prior`'s
/// switch for a reversal (taken only on success).
fn take_off(
    core: &mut Core,
    key: PatchKey,
    applied: &[Applied],
    prior: &mut Option<TaskSwitch>,
) -> Result<Switched> {
    check_on_top(core, key, applied)?;
    let sites = stacking::distinct(applied)?;
    let editions = stacking::editions_of(applied)?;
    // Snapshots and bookkeeping, with rollback on allocation failure.
    let saved = stacking::save_policies(core, &sites)?;
    let text = core.patch(key).ok_or(ENODEV)?.spec.module.text();
    let change = consistent::begin(core, key, &sites, text.clone(), prior)?;
    stacking::pop_layers(core, applied);
    match stacking::drain_and_prepare(core, editions, KVec::new(), &sites, &sites, Some(text)) {
        Ok((prepared, drain)) => {
            stacking::install(core, prepared);
            Ok((sites, drain, change.map(consistent::Change::aim)))
        }
        Err(e) => {
            stacking::repush_layers(core, applied, saved);
            if let Some(c) = change {
                c.undo(core, prior);
            }
            Err(fail(
                core,
                key,
                e,
                format_args!("cannot prepare the switch ({})", e.to_errno()),
            ))
        }
    }
}

/// Takes the editions of patch `key` off their sites and starts draining
/// them (with `prior`'s switch: see [`take_off`]).
fn start_disable(core: &mut Core, key: PatchKey, prior: &mut Option<TaskSwitch>) -> Result {
    let p = core.patch_mut(key).ok_or(ENODEV)?;
    let name = p.spec.name;
    let applied = core::mem::take(&mut p.applied);
    let res = take_off(core, key, &applied, prior);
    let p = core.patch_mut(key).ok_or(ENODEV)?;
    p.applied = applied;
    let (sites, drain, switch) = res?;
    p.begin(Goal::Disable);
    // Eager passes stop; the transfer waits for them.
    for st in p.states.iter() {
        st.stop_pass();
    }
    core.transition = Some(stacking::new_transition(
        key,
        Goal::Disable,
        drain,
        switch,
        sites,
        KVec::new(),
        None,
    ));
    pr_info!("disabling patch '{}'\n", display(name));
    core.kick();
    Ok(())
}

/// Puts the editions of `applied` back on top of their sites (a disabling,
/// reversed) and drains what they replace; with `prior`'s switch if the
/// disabling was consistent (taken only on success).
fn put_back(
    core: &mut Core,
    key: PatchKey,
    applied: &[Applied],
    prior: &mut Option<TaskSwitch>,
) -> Result<Switched> {
    let sites = stacking::distinct(applied)?;
    for &a in sites.iter() {
        core.site(a).ok_or(ENODEV)?.site.reserve_layer()?;
    }
    let saved = stacking::save_policies(core, &sites)?;
    let text = core.patch(key).ok_or(ENODEV)?.spec.module.text();
    let change = consistent::begin(core, key, &sites, text, prior)?;
    let res = stacking::push_layers(core, applied).and_then(|prev| {
        let c = stacking::orig_counters(core, &sites)?;
        stacking::drain_and_prepare(core, prev, c, &sites, &sites, None)
    });
    match res {
        Ok((p, d)) => {
            stacking::install(core, p);
            Ok((sites, d, change.map(consistent::Change::aim)))
        }
        Err(e) => {
            stacking::pop_layers(core, applied);
            stacking::restore_policies(core, saved);
            if let Some(c) = change {
                c.undo(core, prior);
            }
            Err(e)
        }
    }
}

/// Reverses the transition of patch `key` midway, towards `goal`.
pub(crate) fn reverse(core: &mut Core, key: PatchKey, goal: Goal) -> Result {
    check_not_transferring(core)?;
    if core.transition.as_ref().map(|t| t.patch) != Some(key) {
        return Err(EBUSY);
    }
    let name = core.patch_name(key);
    if core.transition.as_ref().is_some_and(|t| t.undo.is_some()) {
        // Enabling a cumulative patch, reversed: the replaced patches come
        // back as they were.
        return reverse_replace(core, key);
    }
    match goal {
        Goal::Disable => {
            check_rollback(core, key)?;
            // The editions are on top: take them off, as a disable would.
            let mut old = core.transition.take();
            let mut prior = old.as_mut().and_then(|t| t.switch.take());
            if let Err(e) = start_disable(core, key, &mut prior) {
                if let Some(t) = old.as_mut() {
                    t.switch = prior;
                }
                core.transition = old;
                return Err(e);
            }
        }
        Goal::Enable => {
            let p = core.patch_mut(key).ok_or(ENODEV)?;
            let applied = core::mem::take(&mut p.applied);
            let mut prior = core.transition.as_mut().and_then(|t| t.switch.take());
            let res = put_back(core, key, &applied, &mut prior);
            // A failed reversal gives the transition its switch back.
            if let (Some(t), Some(sw)) = (core.transition.as_mut(), prior) {
                t.switch = Some(sw);
            }
            let p = core.patch_mut(key).ok_or(ENODEV)?;
            p.applied = applied;
            let (sites, drain, switch) = res?;
            p.begin(Goal::Enable);
            core.transition = Some(stacking::new_transition(
                key,
                Goal::Enable,
                drain,
                switch,
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

/// Copies of what a cumulative patch's enabling replaced: the transition
/// keeps its own until the reversal is done.
fn copy_undo(undo: &(SavedStacks, SavedPolicies)) -> Result<(SavedStacks, SavedPolicies)> {
    let (saved, policies) = undo;
    let mut stacks = KVec::with_capacity(saved.len(), GFP_KERNEL)?;
    for (a, stack) in saved.iter() {
        let mut s = KVec::with_capacity(stack.len(), GFP_KERNEL)?;
        for l in stack.iter() {
            s.push(l.clone(), GFP_KERNEL)?;
        }
        stacks.push((*a, s), GFP_KERNEL)?;
    }
    let mut pols = KVec::with_capacity(policies.len(), GFP_KERNEL)?;
    for (a, p) in policies.iter() {
        pols.push((*a, p.try_clone()?), GFP_KERNEL)?;
    }
    Ok((stacks, pols))
}

/// Reverses the enabling of cumulative patch `key`: its editions come off,
/// the stacks it cleared come back, and the patches it was replacing are
/// enabled again.
fn reverse_replace(core: &mut Core, key: PatchKey) -> Result {
    let name = core.patch_name(key);
    let t = core.transition.as_ref().ok_or(EBUSY)?;
    let (undo_stacks, undo_policies) = copy_undo(t.undo.as_ref().ok_or(EBUSY)?)?;
    let sites = stacking::copy(&t.sites)?;
    let replaced = stacking::copy(&t.replaced)?;
    // What is there now, to come back to if the reversal cannot be made.
    let now_stacks = stacking::save_stacks(core, &sites)?;
    let now_policies = stacking::save_policies(core, &sites)?;
    let p = core.patch(key).ok_or(ENODEV)?;
    let (editions, text) = (stacking::editions_of(&p.applied)?, p.spec.module.text());
    let mut prior = core.transition.as_mut().and_then(|t| t.switch.take());
    let change = match consistent::begin(core, key, &sites, text.clone(), &mut prior) {
        Ok(c) => c,
        Err(e) => {
            if let (Some(t), Some(sw)) = (core.transition.as_mut(), prior) {
                t.switch = Some(sw);
            }
            return Err(e);
        }
    };
    stacking::restore_stacks(core, undo_stacks, undo_policies);
    for &a in sites.iter() {
        if let Some(e) = core.site(a) {
            e.site.set_counting(true);
        }
    }
    let (prepared, drain) = match stacking::drain_and_prepare(
        core,
        editions,
        KVec::new(),
        &sites,
        &sites,
        Some(text),
    ) {
        Ok(x) => x,
        Err(e) => {
            stacking::restore_stacks(core, now_stacks, now_policies);
            if let Some(c) = change {
                c.undo(core, &mut prior);
            }
            if let (Some(t), Some(sw)) = (core.transition.as_mut(), prior) {
                t.switch = Some(sw);
            }
            return Err(fail(
                core,
                key,
                e,
                format_args!("cannot prepare the reversal ({})", e.to_errno()),
            ));
        }
    };
    stacking::install(core, prepared);
    let switch = change.map(consistent::Change::aim);
    for &k in replaced.iter() {
        if let Some(p) = core.patch_mut(k) {
            p.reach(Goal::Enable);
        }
    }
    if let Some(p) = core.patch_mut(key) {
        p.begin(Goal::Disable);
    }
    core.transition = Some(stacking::new_transition(
        key,
        Goal::Disable,
        drain,
        switch,
        sites,
        KVec::new(),
        None,
    ));
    pr_info!("reversing the transition of patch '{}'\n", display(name));
    core.kick();
    Ok(())
}
