// SPDX-License-Identifier: GPL-2.0

//! Registration and unregistration of patches, for the C entry points of
//! `api/entry.rs`, and the start of a state's eager pass.

use super::{
    enable,
    model::{with_core, Core, Kept, Patch, PatchInfo, StateDirs, Trash},
    spec::PatchSpec,
    stacking, subsystem,
};
use crate::{
    abi,
    logic::lifecycle::{PatchKey, PatchState},
    mech::state::LazyState,
    raw::{display, kallsyms},
};
use kernel::{prelude::*, str::CStr, sync::Arc};

/// Refuses a patch whose key, name or shadow ids another registered patch
/// has.
fn check_unique(core: &Core, key: PatchKey, spec: &PatchSpec) -> Result {
    let name = spec.name;
    if core
        .patches
        .iter()
        .any(|p| p.key == key || p.spec.name == name)
    {
        pr_err!(
            "register: patch '{}' is already registered\n",
            display(name)
        );
        return Err(EEXIST);
    }
    let ids = |sp: &PatchSpec| -> KVec<u64> {
        let mut v = KVec::new();
        for id in Iterator::chain(
            sp.shadows.iter().map(|x| x.id),
            sp.states.iter().map(|x| x.id()),
        ) {
            let _ = v.push(id, GFP_KERNEL);
        }
        v
    };
    let mine = ids(spec);
    for p in core.patches.iter() {
        let theirs = ids(&p.spec);
        if let Some(&id) = mine.iter().find(|id| theirs.contains(id)) {
            pr_err!(
                "register: patch '{}': shadow id {} is used by patch '{}'\n",
                display(name),
                id,
                display(p.spec.name)
            );
            return Err(EEXIST);
        }
    }
    Ok(())
}

/// A patch's directory, its run-time states and their directories; on
/// failure, what was made is undone (directories to `trash`).
fn make_patch(core: &Core, key: PatchKey, spec: PatchSpec, trash: &mut Trash) -> Result<Patch> {
    let dir = Kept::make(
        spec.name,
        &core.patches_dir,
        PatchInfo { key },
        core.tables.patch,
    )?;
    let states = match lazy_states(key, &spec) {
        Ok(s) => s,
        Err(e) => {
            trash.push_dir(dir);
            return Err(e);
        }
    };
    let state_dirs = if states.is_empty() {
        None
    } else {
        let made = dir
            .parent()
            .and_then(|p| StateDirs::new(p, &states, core.tables.state, trash));
        match made {
            Ok(d) => Some(d),
            Err(e) => {
                for st in states.iter() {
                    st.detach();
                }
                trash.push_dir(dir);
                return Err(e);
            }
        }
    };
    Ok(Patch::new(key, spec, dir, states, state_dirs))
}

/// Registers a patch whose descriptor `api/entry.rs` has checked, and
/// enables it unless it asked not to be.
pub(crate) fn register(key: PatchKey, spec: PatchSpec) -> Result {
    let auto = spec.flags & abi::PATCH_NO_AUTO_ENABLE == 0;
    // Resolved before taking the mutex: see `stacking::Resolved`.
    let found = if auto {
        Some(stacking::queries(&spec.funcs).and_then(|q| kallsyms::resolve(&q)))
    } else {
        None
    };
    with_core(|core, trash| {
        let name = spec.name;
        check_unique(core, key, &spec)?;
        core.patches.reserve(1, GFP_KERNEL)?;
        let subsystem = spec.subsystem;
        if let Some(s) = subsystem {
            subsystem::declare(core, s)?;
        }
        let patch = match make_patch(core, key, spec, trash) {
            Ok(p) => p,
            Err(e) => {
                if let Some(s) = subsystem {
                    subsystem::forget(core, s, trash);
                }
                return Err(e);
            }
        };
        // PANIC: cannot fail, reserved above.
        let _ = core.patches.push_within_capacity(patch);
        pr_info!("patch '{}' registered\n", display(name));
        if !auto {
            return Ok(());
        }
        if let Err(e) = enable::enable(core, key, trash, found, enable::How::AsBuilt) {
            if let Some(pos) = core.patch_index(key) {
                if let Ok(p) = core.patches.remove(pos) {
                    p.discard(trash);
                }
            }
            if let Some(s) = subsystem {
                subsystem::forget(core, s, trash);
            }
            pr_info!("patch '{}' unregistered\n", display(name));
            return Err(e);
        }
        Ok(())
    })
}

/// The run-time states of a patch being registered.
fn lazy_states(key: PatchKey, spec: &PatchSpec) -> Result<KVec<Arc<LazyState>>> {
    let mut out: KVec<Arc<LazyState>> = KVec::with_capacity(spec.states.len(), GFP_KERNEL)?;
    for (&fns, &name) in spec.states.iter().zip(spec.state_names.iter()) {
        let st = LazyState::new(fns, name, key);
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
        let p = core.patch(key).ok_or(ENODEV)?;
        if p.state() != PatchState::Enabled {
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
        if !core.patches[pos].state().may_unregister() {
            // Cannot happen: its editions hold a reference on its module.
            pr_err!(
                "unregister: patch '{}' is still {}\n",
                core.patches[pos].spec.name.to_str().unwrap_or("?"),
                core.patches[pos].state().name()
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
            subsystem::forget(core, s, trash);
        }
        Ok(())
    });
    if let Err(e) = res {
        pr_err!("unregister failed ({})\n", e.to_errno());
    }
}
