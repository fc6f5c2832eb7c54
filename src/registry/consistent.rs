// SPDX-License-Identifier: GPL-2.0

//! Consistent transitions: the registry's side of `mech/switch.rs`.
//!
//! A change of the stacks of a patch's sites (enable, disable, their
//! reversals, a cumulative patch's replacement and its reversal) is made
//! in three steps when it is consistent:
//!
//! 1. before the change, every site keeps its state as it is for the
//!    tasks on the side they are on now ([`begin_sides`]: side 0 for a
//!    new transition, the target side of the transition being reversed);
//! 2. the change is made and published: the sites' snapshots follow it
//!    for the tasks on the other side, which nobody is on yet;
//! 3. the [`TaskSwitch`] aims at that other side: new tasks start there,
//!    and checks move tasks there as their stacks allow.
//!
//! The transition ends when every task is there ([`end_sides`], then the
//! switch goes). Every plain patch is consistent; a subsystem's patch
//! keeps the subsystem's model, and a patch of a kernel-thread loop moves
//! its threads at their safe points.

use super::model::Core;
use crate::{
    logic::lifecycle::{timeout_due, Goal, PatchKey},
    mech::{
        site::Sides,
        switch::{Side, TaskSwitch},
    },
    raw::{display, tasks},
};
use core::ops::Range;
use kernel::prelude::*;

/// Whether the transitions of patch `key` are consistent per task: every
/// patch but a subsystem's and one with a kernel-thread loop, unless the
/// `consistency` debug knob is off.
pub(crate) fn applies(core: &Core, key: PatchKey) -> bool {
    core.patch(key).is_some_and(|p| {
        p.spec.subsystem.is_none()
            && !p.spec.funcs.iter().any(|f| f.kthread_loop)
            && tasks::consistency_on()
    })
}

/// What [`begin_sides`] replaced, per site, for [`restore_sides`].
type SavedSides = KVec<(usize, Sides)>;

/// Step 1: each site at `addrs` keeps its state as it is now for the tasks
/// on `side`, from its next snapshot on. All or none.
///
/// # Errors
///
/// `ENODEV` if a site is gone, `ENOMEM`; then no site changed.
fn begin_sides(core: &mut Core, addrs: &[usize], side: Side) -> Result<SavedSides> {
    let mut saved = KVec::with_capacity(addrs.len(), GFP_KERNEL)?;
    for &a in addrs {
        let res = core
            .site(a)
            .ok_or(ENODEV)
            .and_then(|e| e.site.begin_sides(side));
        match res {
            // PANIC: cannot fail, the capacity is reserved.
            Ok(old) => drop(saved.push_within_capacity((a, old))),
            Err(e) => {
                restore_sides(core, saved);
                return Err(e);
            }
        }
    }
    Ok(saved)
}

/// Undoes [`begin_sides`] (a change that could not be made).
fn restore_sides(core: &mut Core, saved: SavedSides) {
    for (a, sides) in saved {
        if let Some(e) = core.site(a) {
            e.site.set_sides(sides);
        }
    }
}

/// The end: each site at `addrs` follows its current state for every task,
/// from its next snapshot on.
pub(crate) fn end_sides(core: &mut Core, addrs: &[usize]) {
    for &a in addrs {
        if let Some(e) = core.site(a) {
            e.site.set_sides(None);
        }
    }
}

/// The code no task may be in when it moves: everything that may run at
/// the sites at `addrs` (see `Site::code`), and `module_text`, a departing
/// patch module's whole text.
fn code(
    core: &mut Core,
    addrs: &[usize],
    module_text: Option<Range<usize>>,
) -> Result<KVec<Range<usize>>> {
    let mut out = KVec::new();
    if let Some(t) = module_text {
        out.push(t, GFP_KERNEL)?;
    }
    for &a in addrs {
        core.site(a).ok_or(ENODEV)?.site.code(&mut out)?;
    }
    Ok(out)
}

/// A consistent change of the stacks at some sites, begun (step 1): the
/// sides the sites had, and the switch with the code it will check and
/// the side it will aim at.
pub(crate) struct Change {
    saved: SavedSides,
    switch: TaskSwitch,
    code: KVec<Range<usize>>,
    target: Side,
    /// The switch is that of the transition being reversed.
    reversal: bool,
}

/// Step 1 for a change of the stacks at `addrs` by patch `key`, if it is
/// consistent: a reversal of a consistent transition (`prior` holds its
/// switch; taken only on success), or a change by a patch that
/// [`applies`]. The code checked is what may run at the sites now (old
/// editions, and those still draining) and `module_text`, the patch
/// module's text, which holds its new editions.
///
/// # Errors
///
/// `EBUSY` if another switch exists, `ENODEV`, `ENOMEM`; nothing changed.
pub(crate) fn begin(
    core: &mut Core,
    key: PatchKey,
    addrs: &[usize],
    module_text: Range<usize>,
    prior: &mut Option<TaskSwitch>,
) -> Result<Option<Change>> {
    let side = match prior {
        Some(sw) => sw.target(),
        None if applies(core, key) => 0,
        None => return Ok(None),
    };
    let code = code(core, addrs, Some(module_text))?;
    let saved = begin_sides(core, addrs, side)?;
    let reversal = prior.is_some();
    let switch = match prior.take() {
        Some(sw) => Ok(sw),
        None => TaskSwitch::start(),
    };
    match switch {
        Ok(switch) => Ok(Some(Change {
            saved,
            switch,
            code,
            target: 1 - side,
            reversal,
        })),
        Err(e) => {
            restore_sides(core, saved);
            Err(e)
        }
    }
}

impl Change {
    /// Step 3, once the change is published at every site: tasks may move
    /// to its side.
    pub(crate) fn aim(self) -> TaskSwitch {
        let Change {
            mut switch,
            code,
            target,
            ..
        } = self;
        switch.aim(target, code);
        switch
    }

    /// The change could not be made: the sites get their sides back, and a
    /// reversed transition its switch (into `prior`).
    pub(crate) fn undo(self, core: &mut Core, prior: &mut Option<TaskSwitch>) {
        restore_sides(core, self.saved);
        if self.reversal {
            *prior = Some(self.switch);
        }
    }
}

/// Forces the transition of patch `key` (not a subsystem's: its
/// subsystem's `force` does that): it ends at the next run of the
/// transition work, the tasks not yet on the target side move at once, and
/// what they may still run stays loaded as a leftover until they leave it.
///
/// # Errors
///
/// `EINVAL` if the patch is not in transition or is a subsystem's; `EBUSY`
/// while its callbacks run; `ENOMEM`.
pub(crate) fn force(core: &mut Core, key: PatchKey) -> Result {
    let p = core.patch(key).ok_or(ENODEV)?;
    let name = p.spec.name;
    if p.spec.subsystem.is_some() {
        return Err(EINVAL);
    }
    let t = core.transition.as_ref().ok_or(EINVAL)?;
    if t.patch != key {
        return Err(EINVAL);
    }
    if t.transferring {
        return Err(EBUSY);
    }
    // Room for the leftover, so that finishing cannot fail.
    core.leftovers.reserve(1, GFP_KERNEL)?;
    if let Some(t) = core.transition.as_mut() {
        t.forced = true;
    }
    pr_warn!(
        "patch '{}': transition forced by the admin; tasks that had not switched now run the new state, and what they may still run stays loaded until they leave it\n",
        display(name)
    );
    core.kick();
    Ok(())
}

/// Reports, once, a consistent transition that has not ended within its
/// patch's `timeout_ms`, with the tasks that could not switch: pid, command
/// and the function their stack held.
pub(crate) fn check_timeout(core: &mut Core) {
    let Some(t) = core.transition.as_ref() else {
        return;
    };
    let Some(p) = core.patch(t.patch) else {
        return;
    };
    let (name, limit) = (p.spec.name, p.timeout_ms);
    let Some(t) = core.transition.as_mut() else {
        return;
    };
    let Some(sw) = t.switch.as_ref() else {
        return;
    };
    if !timeout_due(limit, t.started.elapsed().as_millis(), t.timed_out) {
        return;
    }
    t.timed_out = true;
    let goal = match t.goal {
        Goal::Enable => "enabled",
        Goal::Disable => "disabled",
    };
    pr_warn!(
        "patch '{}': the transition to {} has not ended after {} ms: {} of {} tasks switched; tasks that could not:\n",
        display(name),
        goal,
        limit,
        sw.total - sw.remaining,
        sw.total
    );
    for h in sw.holders.iter() {
        let mut sym = [0u8; 512];
        pr_warn!(
            "patch '{}':   {} {} {}\n",
            display(name),
            h.pid,
            h.comm_str(),
            h.where_str(&mut sym)
        );
    }
}
