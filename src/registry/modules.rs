// SPDX-License-Identifier: GPL-2.0

//! Modules coming and going: the functions of enabled patches that live in
//! a module are applied when it comes (before its init runs, so no thread
//! is inside them and the edition goes live at once, with no transition),
//! and lose their sites when it goes.

use super::{
    model::{fail, with_core, Core, SiteEntry, Trash},
    patch::{remove_empty_sites, site_name, where_is},
    subsystem,
};
use crate::{
    logic::lifecycle::PatchKey,
    raw::{
        display,
        kallsyms::{self, Query},
        modules::ModuleEvent,
    },
};
use kernel::{
    prelude::*,
    str::{CStr, CString},
};

/// A module comes or goes: apply the enabled patches' functions that live
/// in it, or drop their sites. Events before the registry exists or after
/// it is gone are ignored.
pub(crate) fn module_event(event: ModuleEvent, module: &CStr) -> Result {
    let res = match event {
        ModuleEvent::Coming => module_coming(module),
        ModuleEvent::Going => with_core(|core, trash| {
            module_going(core, module, trash);
            Ok(())
        }),
    };
    match res {
        Err(e) if e == ENODEV => Ok(()),
        res => res,
    }
}

fn module_coming(module: &CStr) -> Result {
    let wanted = with_core(|core, _| coming_queries(core, module))?;
    if wanted.is_empty() {
        return Ok(());
    }
    let mut queries = KVec::with_capacity(wanted.len(), GFP_KERNEL)?;
    for (_, _, q) in wanted.iter() {
        queries.push(
            kallsyms::Query {
                name: q.name,
                object: q.object,
                sympos: q.sympos,
            },
            GFP_KERNEL,
        )?;
    }
    // Without the mutex: see `patch::Resolved`.
    let found = kallsyms::resolve(&queries)?;
    with_core(|core, trash| {
        for ((key, fidx, q), r) in wanted.iter().zip(found.iter()) {
            match *r {
                Ok(addr) => apply_coming(core, *key, *fidx, addr, trash)?,
                Err(_) => {
                    pr_err!(
                        "module {}: a patch needs {}, which it lacks\n",
                        display(module),
                        display(q.name)
                    );
                    return Err(ENOENT);
                }
            }
        }
        Ok(())
    })
}

/// What a coming module needs: for each enabled patch, the functions of
/// its that live in the module. Made under the registry mutex; resolved
/// without it (see [`Resolved`]).
pub(crate) fn coming_queries(
    core: &Core,
    module: &CStr,
) -> Result<KVec<(PatchKey, usize, Query<'static>)>> {
    let mut out = KVec::new();
    for p in core.patches.iter() {
        if !p.state.target_enabled() {
            continue;
        }
        for (i, f) in p.spec.funcs.iter().enumerate() {
            if f.object == Some(module) && !p.applied.contains(&i) {
                let q = Query {
                    name: f.name,
                    object: f.object,
                    sympos: f.sympos,
                };
                out.push((p.key, i, q), GFP_KERNEL)?;
            }
        }
    }
    Ok(out)
}

/// Applies function `fidx` of patch `key`, found at `addr` in a module that
/// is coming: no thread can be inside it yet (its init has not run), so the
/// edition goes live at once, with no transition.
///
/// # Errors
///
/// As for enabling; the module load then fails.
pub(crate) fn apply_coming(
    core: &mut Core,
    key: PatchKey,
    fidx: usize,
    addr: usize,
    trash: &mut Trash,
) -> Result {
    let Some(idx) = core.patch_index(key) else {
        return Ok(());
    };
    if !core.patches[idx].state.target_enabled() || core.patches[idx].applied.contains(&fidx) {
        return Ok(());
    }
    let f = core.patches[idx].spec.funcs[fidx];
    let name = core.patches[idx].spec.name;
    let text = core.patches[idx].spec.module.text();
    if core.site_ref(addr).is_none() {
        let Some(size) = kallsyms::function_size(addr) else {
            return Err(EINVAL);
        };
        // Reserved first: a failed push would drop the site's directories
        // under the registry mutex.
        core.sites.reserve(1, GFP_KERNEL)?;
        if f.kthread_loop {
            core.prepare_safepoints(f.edition.safepoint)?;
        }
        let sub = match core.patches[idx].spec.subsystem {
            Some(s) => Some(CString::try_from(s)?),
            None => None,
        };
        let mut entry = SiteEntry::new(core, site_name(&f)?, f.object, addr, size, f.kthread_loop)
            .map_err(|e| {
                fail(
                    core,
                    idx,
                    e,
                    format_args!(
                        "cannot patch {} in module {} ({})",
                        display(f.name),
                        where_is(&f),
                        e.to_errno()
                    ),
                )
            })?;
        entry.site.subsystem = sub;
        // PANIC: cannot fail, reserved above.
        let _ = core.sites.push(entry, GFP_NOWAIT);
    }
    let res = (|| {
        let module = core.patches[idx].spec.module.get().ok_or(EBUSY)?;
        let p = &mut core.patches[idx];
        p.layers.reserve(1, GFP_KERNEL)?;
        p.sites.reserve(1, GFP_KERNEL)?;
        p.applied.reserve(1, GFP_KERNEL)?;
        let entry = core.site(addr).ok_or(ENODEV)?;
        let layer = entry
            .site
            .new_edition(name, &f.edition, module, text.clone())?;
        entry.add_edition_dir(layer.edition.id)?;
        entry.site.stack.push(layer.clone(), GFP_KERNEL)?;
        entry.site.default = None;
        let published = subsystem::refresh_sites(core, &[addr])
            .and_then(|()| core.site(addr).ok_or(ENODEV)?.site.publish());
        let entry = core.site(addr).ok_or(ENODEV)?;
        match published {
            Ok(stale) => drop(stale),
            Err(e) => {
                let _ = entry.site.stack.pop();
                entry.remove_edition_dir(layer.edition.id, trash);
                return Err(e);
            }
        }
        let p = &mut core.patches[idx];
        // PANIC: cannot fail, reserved above.
        let _ = p.layers.push(layer, GFP_NOWAIT);
        let _ = p.sites.push(addr, GFP_NOWAIT);
        let _ = p.applied.push(fidx, GFP_NOWAIT);
        Ok(())
    })();
    if let Err(e) = res {
        remove_empty_sites(core, trash);
        return Err(e);
    }
    core.refresh_safepoints();
    pr_info!(
        "patch '{}': applied to {} in module {}\n",
        display(name),
        display(f.name),
        where_is(&f)
    );
    Ok(())
}

/// A module is going: its functions lose their sites, and the patches
/// that changed them wait for it again.
pub(crate) fn module_going(core: &mut Core, module: &CStr, trash: &mut Trash) {
    let in_module = |core: &Core, a: usize| {
        core.site_ref(a)
            .is_some_and(|s| s.site.object.as_deref() == Some(module))
    };
    for idx in 0..core.patches.len() {
        let mut i = 0;
        while i < core.patches[idx].sites.len() {
            if in_module(core, core.patches[idx].sites[i]) {
                let p = &mut core.patches[idx];
                let _ = p.layers.remove(i);
                let _ = p.sites.remove(i);
                let _ = p.applied.remove(i);
                pr_info!(
                    "patch '{}': module {} is going\n",
                    display(p.spec.name),
                    display(module)
                );
            } else {
                i += 1;
            }
        }
    }
    while let Some(pos) = core
        .sites
        .iter()
        .position(|s| s.site.object.as_deref() == Some(module))
    {
        if let Ok(s) = core.sites.remove(pos) {
            trash.push_site(s);
        }
    }
    if let Some(t) = core.transition.as_mut() {
        let sites = &core.sites;
        t.sites.retain(|a| sites.iter().any(|s| s.site.addr == *a));
    }
    // Subsystem members elsewhere forget the module's code.
    let mut members = KVec::new();
    for e in core.sites.iter().filter(|e| e.site.subsystem.is_some()) {
        let _ = members.push(e.site.addr, GFP_KERNEL);
    }
    if subsystem::refresh_sites(core, &members).is_ok() {
        for &a in members.iter() {
            if let Some(e) = core.site(a) {
                // On failure the old snapshot stays: it only lists more code.
                let _ = e.site.publish();
            }
        }
    }
    core.refresh_safepoints();
}
