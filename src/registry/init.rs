// SPDX-License-Identifier: GPL-2.0

//! Creating and removing the registry: `/sys/kernel/dynamos/`, the
//! workqueues, the module notifier, and what redirected safe points run.

use super::{
    model::{self, with_core, Core, Tables, TransitionWork},
    modules::module_event,
    transition,
};
use crate::{
    mech::{safepoint, switch},
    raw::{
        kthread,
        modules::Notifier,
        sysfs::{Dir, Parent},
        wq::OwnedQueue,
    },
};
use kernel::{c_str, prelude::*, sync::Arc};

/// A kernel thread's loop called the safe point hooked in `slot` from
/// `ret`: one look at the registry per decision (see
/// `mech::safepoint::at_safepoint`).
fn safepoint_reached(slot: usize, ret: usize, args: &kthread::Args) -> bool {
    safepoint::at_safepoint(args, || {
        with_core(|core, _| {
            let real = core.safepoints.as_ref().and_then(|sp| sp.hooked(slot));
            Ok(real.map(|r| {
                (
                    r,
                    safepoint::action(core.sites.iter().map(|e| &e.site), ret),
                )
            }))
        })
        .ok()
        .flatten()
    })
}

/// Creates the registry and `/sys/kernel/dynamos/`, whose files are
/// `tables`. Called once, from the module's init.
pub(crate) fn init(tables: &'static Tables) -> Result {
    model::init_lock();
    let root = Dir::new(
        c_str!("dynamos"),
        Parent::Kernel,
        Arc::new((), GFP_KERNEL)?,
        tables.root,
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
    kthread::init(safepoint_reached);
    let work = Arc::pin_init(TransitionWork::new(transition::run), GFP_KERNEL)?;
    let notifier = Notifier::register(module_event)?;
    let new_tasks = switch::hook_new_tasks()?;
    model::set_core(Core {
        _notifier: notifier,
        _new_tasks: new_tasks,
        patches: KVec::new(),
        sites: KVec::new(),
        transition: None,
        leftovers: KVec::new(),
        settling: None,
        releasing: KVec::new(),
        subsystems: KVec::new(),
        safepoints: None,
        work,
        wq: OwnedQueue::new(c_str!("dynamos"))?,
        state_wq: OwnedQueue::new(c_str!("dynamos_state"))?,
        tables,
        subsystems_dir,
        functions_dir,
        patches_dir,
        _root: root,
    });
    Ok(())
}

/// Removes everything [`init`] created. Called once, from the module's
/// exit.
pub(crate) fn exit() {
    // Taken out under the mutex, dropped outside it: the workqueue drains
    // (its work finds no registry and stops) and the directories go.
    if let Some(core) = model::take_core() {
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
