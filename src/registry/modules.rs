// SPDX-License-Identifier: GPL-2.0

//! Modules coming and going: the functions of enabled patches that live in
//! a module are applied when it comes (before its init runs, so no thread
//! is inside them and the edition goes live at once, with no transition),
//! and lose their sites when it goes.

use super::{
    model::{fail, with_core, Applied, Core, SiteRecord, Trash},
    spec::FuncSpec,
    stacking::{remove_empty_sites, site_name, where_is},
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
use kernel::{prelude::*, str::CStr};

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
    // Without the mutex: see `stacking::Resolved`.
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
/// without it (see `stacking::Resolved`).
pub(crate) fn coming_queries(
    core: &Core,
    module: &CStr,
) -> Result<KVec<(PatchKey, usize, Query<'static>)>> {
    let mut out = KVec::new();
    for p in core.patches.iter() {
        if !p.state().target_enabled() {
            continue;
        }
        for (i, f) in p.spec.funcs.iter().enumerate() {
            if f.object == Some(module) && !p.applied.iter().any(|a| a.func == i) {
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

/// Hooks `addr`, the function `f` of patch `key` in a module that is
/// coming, unless it is hooked.
fn hook_coming(
    core: &mut Core,
    key: PatchKey,
    f: &FuncSpec,
    addr: usize,
    trash: &mut Trash,
) -> Result {
    if core.site_ref(addr).is_some() {
        return Ok(());
    }
    let Some(size) = kallsyms::function_size(addr) else {
        return Err(EINVAL);
    };
    // Reserved first: a failed push would drop the site's directories
    // under the registry mutex.
    core.sites.reserve(1, GFP_KERNEL)?;
    if f.kthread_loop {
        core.hook_safepoints(f.edition.safepoint)?;
    }
    let subsystem = core.patch(key).ok_or(ENODEV)?.spec.subsystem;
    let made = SiteRecord::new(
        core,
        trash,
        site_name(f)?,
        f.object,
        subsystem,
        addr,
        size,
        f.kthread_loop,
    );
    let entry = made.map_err(|e| {
        fail(
            core,
            key,
            e,
            format_args!(
                "cannot patch {} in module {} ({})",
                display(f.name),
                where_is(f),
                e.to_errno()
            ),
        )
    })?;
    // PANIC: cannot fail, reserved above.
    let _ = core.sites.push(entry, GFP_NOWAIT);
    Ok(())
}

/// Puts the edition of function `fidx` of patch `key` on the site at
/// `addr` and publishes it; nothing changes on failure.
fn push_coming(
    core: &mut Core,
    key: PatchKey,
    fidx: usize,
    addr: usize,
    trash: &mut Trash,
) -> Result {
    let p = core.patch_mut(key).ok_or(ENODEV)?;
    let (f, name, text) = (p.spec.funcs[fidx], p.spec.name, p.spec.module.text());
    let module = p.spec.module.get().ok_or(EBUSY)?;
    p.applied.reserve(1, GFP_KERNEL)?;
    // During the patch's own consistent transition, the tasks not yet on
    // its target side keep the function as it was: the original.
    let old_side = core
        .transition
        .as_ref()
        .filter(|t| t.patch == key)
        .and_then(|t| t.switch.as_ref())
        .map(|sw| 1 - sw.target());
    // And the switch checks the original too.
    let code = match old_side {
        Some(_) => Some(switch_code(core, addr)?),
        None => None,
    };
    let entry = core.site(addr).ok_or(ENODEV)?;
    let layer = entry.site.new_edition(name, &f.edition, module, text)?;
    entry.add_edition_dir(layer.edition.id)?;
    let before = match old_side {
        Some(side) => Some(entry.site.begin_sides(side)?),
        None => None,
    };
    if let Err(e) = entry.site.push_layer(layer.clone()) {
        if let Some(b) = before {
            entry.site.set_sides(b);
        }
        entry.remove_edition_dir(layer.edition.id, trash);
        return Err(e);
    }
    let published = subsystem::refresh_sites(core, &[addr])
        .and_then(|()| core.site(addr).ok_or(ENODEV)?.site.publish());
    let entry = core.site(addr).ok_or(ENODEV)?;
    match published {
        Ok(stale) => drop(stale),
        Err(e) => {
            entry.site.pop_top();
            entry.site.set_sides(None);
            entry.remove_edition_dir(layer.edition.id, trash);
            return Err(e);
        }
    }
    if let (Some(t), Some(code)) = (core.transition.as_mut(), code) {
        // PANIC: cannot fail, reserved by `switch_code`.
        let _ = t.sites.push(addr, GFP_NOWAIT);
        if let Some(sw) = t.switch.as_mut() {
            sw.set_code(code);
        }
    }
    let applied = Applied {
        func: fidx,
        addr,
        layer,
    };
    let p = core.patch_mut(key).ok_or(ENODEV)?;
    // PANIC: cannot fail, reserved above.
    let _ = p.applied.push(applied, GFP_NOWAIT);
    Ok(())
}

/// The code the switch in progress will check once the site at `addr`
/// joins its transition, with room for the site in the transition's list.
fn switch_code(core: &mut Core, addr: usize) -> Result<KVec<core::ops::Range<usize>>> {
    let mut code = KVec::new();
    core.site(addr).ok_or(ENODEV)?.site.code(&mut code)?;
    let t = core.transition.as_mut().ok_or(ENODEV)?;
    t.sites.reserve(1, GFP_KERNEL)?;
    t.switch.as_ref().ok_or(ENODEV)?.with_code(&code)
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
    let Some(p) = core.patch(key) else {
        return Ok(());
    };
    if !p.state().target_enabled() || p.applied.iter().any(|a| a.func == fidx) {
        return Ok(());
    }
    let (f, name) = (p.spec.funcs[fidx], p.spec.name);
    hook_coming(core, key, &f, addr, trash)?;
    if let Err(e) = push_coming(core, key, fidx, addr, trash) {
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
    let sites = &core.sites;
    for p in core.patches.iter_mut() {
        let name = p.spec.name;
        p.applied.retain(|a| {
            let going = sites
                .iter()
                .any(|s| s.site.addr() == a.addr && s.site.object() == Some(module));
            if going {
                pr_info!(
                    "patch '{}': module {} is going\n",
                    display(name),
                    display(module)
                );
            }
            !going
        });
    }
    while let Some(pos) = core
        .sites
        .iter()
        .position(|s| s.site.object() == Some(module))
    {
        if let Ok(s) = core.sites.remove(pos) {
            trash.push_site(s);
        }
    }
    if let Some(t) = core.transition.as_mut() {
        let sites = &core.sites;
        t.sites
            .retain(|a| sites.iter().any(|s| s.site.addr() == *a));
    }
    // Subsystem members elsewhere forget the module's code.
    let mut members = KVec::new();
    for e in core.sites.iter().filter(|e| e.site.subsystem().is_some()) {
        let _ = members.push(e.site.addr(), GFP_KERNEL);
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
