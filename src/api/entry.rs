// SPDX-License-Identifier: GPL-2.0

//! The C entry points that patch modules call (exported by `api/exports.c`).
//!
//! This is the boundary where raw descriptors from other modules become safe
//! values: every check of what a patch hands over happens here (the rules
//! themselves are in `logic/rules.rs`), before the registry sees it.
//!
//! Lifetimes: the ABI contract (`abi.rs`) keeps every descriptor, string and
//! counter of a patch alive and unchanged from registration until
//! `dynamos_unregister_patch()` returns, which the patch module calls from
//! its exit function at the latest. The `'static` references made here are
//! held only by the registered patch (dropped at unregistration) and by its
//! editions, which keep the patch module loaded (`mech::site::Edition`), so they
//! never outlive what they point to.

use crate::{
    abi::{self, PatchDesc, ABI_VERSION, NAME_MAX},
    logic::{
        lifecycle::PatchKey,
        rules::{self, CallerRule, FuncRefusal, FuncShape, StateRefusal},
    },
    mech::site::EditionSpec,
    raw::{
        callbacks::{PatchCallbacks, StateFns},
        desc::{FuncList, FuncRef, ListError, PatchRef},
        kallsyms,
        modules::{self, ModuleRef, PatchModule},
    },
    registry::{
        register,
        spec::{FuncSpec, PatchSpec},
    },
};
use kernel::{ffi::c_int, prelude::*, str::CStr};

/// Most functions one patch may change.
pub(crate) const MAX_FUNCS: usize = 4096;

/// Most shadow kinds, states or listed callers per patch or function.
const MAX_LIST: usize = 64;

/// Largest state record.
const MAX_RECORD: usize = 4096;

/// Checks a name from a descriptor (`None`: missing).
fn name(s: Option<&'static CStr>, what: &str) -> Result<&'static CStr> {
    let Some(s) = s else {
        pr_err!("register: {} missing\n", what);
        return Err(EINVAL);
    };
    if !rules::valid_name(s.to_bytes(), NAME_MAX) {
        pr_err!(
            "register: invalid {} (1 to {} bytes, no '/', ':' or blanks)\n",
            what,
            NAME_MAX
        );
        return Err(EINVAL);
    }
    Ok(s)
}

/// What the rules look at in a function descriptor.
fn shape_of(f: &abi::FuncDesc) -> FuncShape {
    FuncShape {
        kthread_loop: f.flags & abi::FUNC_KTHREAD_LOOP != 0,
        new_iface: f.flags & abi::FUNC_NEW_INTERFACE != 0,
        unknown_flags: f.flags & !(abi::FUNC_KTHREAD_LOOP | abi::FUNC_NEW_INTERFACE),
        nr_args: f.nr_args,
        safepoint: !f.safepoint.is_null(),
        adaptor: !f.adaptor.is_null(),
        nr_callers: f.nr_callers,
        adaptive: !f.adaptive.is_null(),
        handler: f.adapt.is_some(),
        fast: !f.fast.is_null(),
    }
}

/// Reports why function `fname` (with `flags`) is refused.
fn refuse_func(fname: &CStr, why: FuncRefusal, flags: u32) {
    let n = fname.to_str().unwrap_or("?");

    match why {
        FuncRefusal::LoopArgs => pr_err!(
            "register: kthread loop {} must take one argument (int fn(void *))\n",
            n
        ),
        FuncRefusal::SafepointWithoutLoop => pr_err!(
            "register: function {} has a safe point but is no kthread loop\n",
            n
        ),
        FuncRefusal::UnknownFlags(_) => {
            pr_err!("register: function {} has unknown flags {:#x}\n", n, flags)
        }
        FuncRefusal::IfaceExtrasWithoutIface => pr_err!(
            "register: function {} has an adaptor or callers but keeps its interface\n",
            n
        ),
        FuncRefusal::LoopIface => {
            pr_err!("register: kthread loop {} cannot change its interface\n", n)
        }
        FuncRefusal::AdaptiveWithoutHandler => pr_err!(
            "register: function {} has an adaptive entry but no handler\n",
            n
        ),
        FuncRefusal::IfaceWithFast => pr_err!(
            "register: function {} has a new interface and a fast entry\n",
            n
        ),
    }
}

/// Checks a function descriptor.
fn func(fd: FuncRef) -> Result<FuncSpec> {
    let f = fd.raw();
    let fname = name(fd.name(), "function name")?;
    let object = match fd.object() {
        None => None,
        o => Some(name(o, "object name")?),
    };
    let Some(statics) = fd.statics() else {
        pr_err!(
            "register: function {} has an incomplete descriptor\n",
            fname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    };
    let new_iface = f.flags & abi::FUNC_NEW_INTERFACE != 0;
    if let Err(why) = rules::check_func(&shape_of(f)) {
        refuse_func(fname, why, f.flags);
        return Err(EINVAL);
    }
    Ok(FuncSpec {
        name: fname,
        object,
        sympos: f.sympos,
        edition: EditionSpec {
            entry: f.entry as usize,
            fast: f.fast as usize,
            calls: statics.calls,
            counted: f.counted as usize,
            orig_counted: f.orig_counted as usize,
            inside: statics.inside,
            orig_inside: statics.orig_inside,
            orig: statics.orig,
            prev: statics.prev,
            adapt: fd.adapt(),
            adaptive: f.adaptive as usize,
            replaced: statics.replaced,
            original: statics.original,
            orig_calls: statics.orig_calls,
            prev_fn: f.prev_fn as usize,
            migrate: None,
            loop_fn: fd.loop_fn(),
            safepoint: fd.safepoint(),
            new_iface,
            adaptor: f.adaptor as usize,
        },
        kthread_loop: f.flags & abi::FUNC_KTHREAD_LOOP != 0,
        covered: false,
    })
}

/// Checks the interface changes of a patch: each needs the patch's
/// subsystem, and each listed caller has a new edition in the patch or is
/// covered by the adaptor. Marks the callers the adaptors cover. `descs`
/// are the patch's function descriptors, matching `funcs`.
fn check_interfaces(
    pname: &CStr,
    descs: FuncList,
    funcs: &mut [FuncSpec],
    subsystem: Option<&CStr>,
) -> Result {
    let p = pname.to_str().unwrap_or("?");
    for i in 0..funcs.len() {
        if !funcs[i].edition.new_iface {
            continue;
        }
        let callee = funcs[i].name.to_str().unwrap_or("?");
        if subsystem.is_none() {
            pr_err!(
                "register: patch {}: {} changes its interface: the patch must name a subsystem, so that its callers switch with it\n",
                p,
                callee
            );
            return Err(EINVAL);
        }
        let Some(fd) = descs.get(i) else {
            return Err(EINVAL);
        };
        let Some(callers) = fd.callers(MAX_LIST) else {
            bad_list(pname, "caller", fd.raw().nr_callers);
            return Err(EINVAL);
        };
        let mut callers = callers.peekable();
        if callers.peek().is_none() {
            pr_err!(
                "register: patch {}: {} changes its interface but lists no callers\n",
                p,
                callee
            );
            return Err(EINVAL);
        }
        let adaptor = funcs[i].edition.adaptor != 0;
        for c in callers {
            let cname = name(c, "caller name")?;
            let pos = funcs.iter().position(|f| f.name == cname);
            match rules::caller_rule(i, pos, adaptor) {
                CallerRule::Itself => {
                    pr_err!(
                        "register: patch {}: {} lists itself as its caller\n",
                        p,
                        callee
                    );
                    return Err(EINVAL);
                }
                CallerRule::InPatch { index, covered } => {
                    if covered {
                        funcs[index].covered = true;
                    }
                }
                CallerRule::Adapted => {}
                CallerRule::Uncovered => {
                    pr_err!(
                        "register: patch {}: {} changes its interface, and its caller {} has no new edition in this patch and no adaptor covers it\n",
                        p,
                        callee,
                        cname.to_str().unwrap_or("?")
                    );
                    return Err(EINVAL);
                }
            }
        }
    }
    Ok(())
}

/// Checks the shadow kinds and states of a patch; returns the states'
/// names.
fn check_data(
    pname: &CStr,
    shadows: &[&'static abi::ShadowDesc],
    states: &[StateFns],
) -> Result<KVec<&'static CStr>> {
    let p = pname.to_str().unwrap_or("?");
    let mut names: KVec<&'static CStr> = KVec::with_capacity(states.len(), GFP_KERNEL)?;
    for fns in states {
        let st = fns.shape();
        let n = name(fns.name(), "state name")?;
        let unknown = st.flags & !abi::STATE_EAGER;
        match rules::check_state(st.size, MAX_RECORD, st.convert, unknown) {
            Ok(()) => {}
            Err(StateRefusal::Shape) => {
                pr_err!(
                    "register: patch {}: state {} needs a conversion and a record of 1 to {} bytes\n",
                    p,
                    n.to_str().unwrap_or("?"),
                    MAX_RECORD
                );
                return Err(EINVAL);
            }
            Err(StateRefusal::UnknownFlags) => {
                pr_err!(
                    "register: patch {}: state {} has unknown flags\n",
                    p,
                    n.to_str().unwrap_or("?")
                );
                return Err(EINVAL);
            }
        }
        names.push(n, GFP_KERNEL)?;
    }
    let mut ids = KVec::with_capacity(shadows.len() + states.len(), GFP_KERNEL)?;
    for id in Iterator::chain(shadows.iter().map(|s| s.id), states.iter().map(|s| s.id())) {
        ids.push(id, GFP_KERNEL)?;
    }
    if let Some(k) = rules::first_repeated(&ids) {
        pr_err!(
            "register: patch {}: shadow id {} declared twice\n",
            p,
            ids[k]
        );
        return Err(EINVAL);
    }
    if let Some(k) = rules::first_repeated(&names) {
        pr_err!(
            "register: patch {}: state {} declared twice\n",
            p,
            names[k].to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    Ok(names)
}

/// Reports a list of a descriptor that is too long or behind a null
/// pointer.
fn bad_list(patch: &CStr, what: &str, n: u32) {
    pr_err!(
        "register: patch {}: bad {} list ({} elements, at most {})\n",
        patch.to_str().unwrap_or("?"),
        what,
        n,
        MAX_LIST
    );
}

/// A list of descriptors of a patch, or why it is refused (in dmesg).
fn desc_list<T>(
    list: core::result::Result<KVec<&'static T>, ListError>,
    what: &str,
    n: u32,
    patch: &CStr,
) -> Result<KVec<&'static T>> {
    desc_list_of(list, what, n, patch)
}

/// [`desc_list`] for lists of any element.
fn desc_list_of<T>(
    list: core::result::Result<KVec<T>, ListError>,
    what: &str,
    n: u32,
    patch: &CStr,
) -> Result<KVec<T>> {
    match list {
        Ok(v) => Ok(v),
        Err(ListError::Bad) => {
            bad_list(patch, what, n);
            Err(EINVAL)
        }
        Err(ListError::NullElement) => {
            pr_err!(
                "register: patch {}: NULL {} descriptor\n",
                patch.to_str().unwrap_or("?"),
                what
            );
            Err(EINVAL)
        }
        Err(ListError::NoMemory) => Err(ENOMEM),
    }
}

/// The functions of patch `pname`, each checked, none listed twice.
fn funcs_of(pname: &CStr, descs: FuncList, callbacks: &PatchCallbacks) -> Result<KVec<FuncSpec>> {
    let mut funcs = KVec::with_capacity(descs.len(), GFP_KERNEL)?;
    for i in 0..descs.len() {
        let Some(fd) = descs.get(i) else {
            return Err(EINVAL);
        };
        let mut spec = func(fd)?;
        spec.edition.migrate = callbacks.migrate();
        if funcs.iter().any(|o: &FuncSpec| {
            o.name == spec.name && o.object == spec.object && o.sympos == spec.sympos
        }) {
            pr_err!(
                "register: patch {}: function {} listed twice\n",
                pname.to_str().unwrap_or("?"),
                spec.name.to_str().unwrap_or("?")
            );
            return Err(EINVAL);
        }
        funcs.push(spec, GFP_KERNEL)?;
    }
    Ok(funcs)
}

/// Checks a descriptor and turns it into a [`PatchSpec`].
fn check(d: Option<PatchRef>) -> Result<PatchSpec> {
    let Some(d) = d else {
        pr_err!("register: NULL patch descriptor\n");
        return Err(EINVAL);
    };
    let desc = d.raw();
    if desc.abi_version != ABI_VERSION || desc.size != PatchDesc::SIZE {
        pr_err!(
            "register: patch built for ABI {} (size {}), this dynamos has ABI {} (size {}): rebuild the patch\n",
            desc.abi_version,
            desc.size,
            ABI_VERSION,
            PatchDesc::SIZE
        );
        return Err(EINVAL);
    }
    let pname = name(d.name(), "patch name")?;
    let n = desc.nr_funcs as usize;
    let Some(descs) = d.funcs(MAX_FUNCS) else {
        pr_err!(
            "register: patch {}: bad function list ({} functions, at most {})\n",
            pname.to_str().unwrap_or("?"),
            n,
            MAX_FUNCS
        );
        return Err(EINVAL);
    };
    if desc.flags & !(abi::PATCH_REPLACE | abi::PATCH_NO_AUTO_ENABLE) != 0 {
        pr_err!(
            "register: patch {}: unknown flags {:#x}\n",
            pname.to_str().unwrap_or("?"),
            desc.flags
        );
        return Err(EINVAL);
    }
    let subsystem = match d.subsystem() {
        None => None,
        s => Some(name(s, "subsystem name")?),
    };
    if subsystem.is_some() && desc.flags & abi::PATCH_REPLACE != 0 {
        pr_err!(
            "register: patch {}: a cumulative patch cannot be part of a subsystem\n",
            pname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    let callbacks = d.callbacks();
    let mut funcs = funcs_of(pname, descs, &callbacks)?;
    check_interfaces(pname, descs, &mut funcs, subsystem)?;
    // Both lists' lengths first, then their elements, as the checks
    // always ran.
    if let Err(what) = d.check_lists(MAX_LIST) {
        let n = if what == "shadow" {
            desc.nr_shadows
        } else {
            desc.nr_states
        };
        bad_list(pname, what, n);
        return Err(EINVAL);
    }
    let shadows = desc_list(d.shadows(MAX_LIST), "shadow", desc.nr_shadows, pname)?;
    let states = desc_list_of(d.states(MAX_LIST), "state", desc.nr_states, pname)?;
    let state_names = check_data(pname, &shadows, &states)?;
    let module = d.module();
    let pinned = pin_targets(pname, &module)?;
    Ok(PatchSpec {
        name: pname,
        module,
        _pinned: pinned,
        funcs,
        flags: desc.flags,
        subsystem,
        callbacks,
        shadows,
        states,
        state_names,
    })
}

/// References on the modules whose non-exported symbols the patch module
/// reaches (its `.klp.sym.<module>.*` symbols, see `ksyms!`), so that
/// they cannot be removed under it while it is registered.
fn pin_targets(pname: &CStr, module: &PatchModule) -> Result<KVec<ModuleRef>> {
    let unconverted = kallsyms::unconverted_klp_symbols(module.name())?;
    if unconverted > 0 {
        pr_err!(
            "register: patch {}: {} references to non-exported symbols were not converted (tools/ksymconv, run by the build): their calls would go to address 0\n",
            pname.to_str().unwrap_or("?"),
            unconverted
        );
        return Err(ENOEXEC);
    }
    // NUL-terminated names. The callback runs under the RCU read lock: it
    // must not sleep, so it allocates atomically (an earlier version made
    // a CString there, which lockdep reported as sleeping under RCU).
    let mut names: KVec<KVec<u8>> = KVec::new();
    let mut err = None;
    kallsyms::klp_objects(module.name(), &mut |object| {
        if err.is_some() || names.iter().any(|n| n.strip_suffix(&[0]) == Some(object)) {
            return;
        }
        let mut n = KVec::new();
        let made = n
            .extend_from_slice(object, GFP_ATOMIC)
            .and_then(|()| n.push(0, GFP_ATOMIC))
            .and_then(|()| names.push(n, GFP_ATOMIC));
        if let Err(e) = made {
            err = Some(e);
        }
    })?;
    if let Some(e) = err {
        return Err(e.into());
    }
    let mut pinned = KVec::with_capacity(names.len(), GFP_KERNEL)?;
    for n in names.iter() {
        let n = CStr::from_bytes_with_nul(n).map_err(|_| EINVAL)?;
        let Some(r) = modules::pin(n) else {
            pr_err!(
                "register: patch {}: module {}, whose symbols it reaches, is not loaded\n",
                pname.to_str().unwrap_or("?"),
                n.to_str().unwrap_or("?")
            );
            return Err(ENOENT);
        };
        pinned.push(r, GFP_KERNEL)?;
    }
    Ok(pinned)
}

/// What `dynamos_register_patch()` does (see `raw::desc`): registers the
/// patch whose descriptor is `d`; 0 or a negative errno.
pub(crate) fn register(d: Option<PatchRef>) -> c_int {
    let key = d.map_or(0, |d| d.addr());
    match check(d).and_then(|spec| register::register(PatchKey::of(key), spec)) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// What `dynamos_unregister_patch()` does: unregisters the patch whose
/// descriptor is at `addr`.
pub(crate) fn unregister(addr: usize) {
    register::unregister(PatchKey::of(addr));
}
