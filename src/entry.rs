// SPDX-License-Identifier: GPL-2.0

//! The C entry points that patch modules call (exported by `src/exports.c`).
//!
//! This is the boundary where raw descriptors from other modules become safe
//! values: every check of what a patch hands over happens here, before the
//! registry in `src/registry.rs` sees it.
//!
//! Lifetimes: the ABI contract (`abi.rs`) keeps every descriptor, string and
//! counter of a patch alive and unchanged from registration until
//! `dynamos_unregister_patch()` returns, which the patch module calls from
//! its exit function at the latest. The `'static` references made here are
//! held only by the registered patch (dropped at unregistration) and by its
//! editions, which keep the patch module loaded (`site::Edition`), so they
//! never outlive what they point to.

use crate::{
    abi::{self, FuncDesc, PatchDesc, ABI_VERSION, NAME_MAX},
    modules::PatchModule,
    registry::{self, PatchKey},
    site::EditionSpec,
    transition::Target,
};
use kernel::{ffi::c_int, prelude::*, str::CStr};

/// Most functions one patch may change.
pub(crate) const MAX_FUNCS: usize = 4096;

/// One function of a patch, checked.
#[derive(Clone, Copy)]
pub(crate) struct FuncSpec {
    /// Symbol name.
    pub(crate) name: &'static CStr,
    /// Module holding the symbol, `None` for vmlinux.
    pub(crate) object: Option<&'static CStr>,
    /// 1-based position among equal names; 0: unique.
    pub(crate) sympos: u32,
    /// The new edition.
    pub(crate) edition: EditionSpec,
    /// The main function of kernel threads that never return
    /// ([`abi::FUNC_KTHREAD_LOOP`]).
    pub(crate) kthread_loop: bool,
    /// A caller of a function whose interface the patch changes, covered
    /// by that function's adaptor: threads still in its old edition need
    /// not drain, since their calls are translated.
    pub(crate) covered: bool,
}

/// A patch, checked.
pub(crate) struct PatchSpec {
    /// Patch name.
    pub(crate) name: &'static CStr,
    /// The patch module.
    pub(crate) module: PatchModule,
    /// Its functions.
    pub(crate) funcs: KVec<FuncSpec>,
    /// `abi::PATCH_*` flags.
    pub(crate) flags: u32,
    /// The subsystem its functions form, if any.
    pub(crate) subsystem: Option<&'static CStr>,
    /// Its callbacks.
    pub(crate) callbacks: Callbacks,
    /// The kinds of shadow variables it uses.
    pub(crate) shadows: KVec<&'static abi::ShadowDesc>,
    /// The states it converts lazily.
    pub(crate) states: KVec<&'static abi::StateDesc>,
    /// Their names, in the same order.
    pub(crate) state_names: KVec<&'static CStr>,
}

/// Most shadow kinds, states or listed callers per patch or function.
const MAX_LIST: usize = 64;

/// Largest state record.
const MAX_RECORD: usize = 4096;

/// A patch's callbacks, callable while the patch is registered (its module
/// cannot finish unloading: its exit unregisters the patch under the
/// registry mutex) or while a reference on its module is held.
#[derive(Clone, Copy)]
pub(crate) struct Callbacks(abi::Callbacks);

impl Callbacks {
    /// The pre hook of a transition towards `target`.
    ///
    /// # Errors
    ///
    /// The errno the hook returned (`EINVAL` for a positive value).
    pub(crate) fn pre(&self, target: Target) -> Result {
        let hook = match target {
            Target::Enable => self.0.pre_patch,
            Target::Disable => self.0.pre_unpatch,
        };
        let Some(hook) = hook else {
            return Ok(());
        };
        // SAFETY: The patch's module is loaded (type documentation); the
        // hook takes no argument and runs in process context.
        let r = unsafe { hook() };
        match r {
            0 => Ok(()),
            r if r < 0 => Err(Error::from_errno(r)),
            _ => Err(EINVAL),
        }
    }

    /// The post hook of a transition that reached `target`.
    pub(crate) fn post(&self, target: Target) {
        let hook = match target {
            Target::Enable => self.0.post_patch,
            Target::Disable => self.0.post_unpatch,
        };
        if let Some(hook) = hook {
            // SAFETY: As in `pre`.
            unsafe { hook() };
        }
    }

    /// The state transfer towards `target`.
    pub(crate) fn transfer(&self, target: Target) {
        let dir = match target {
            Target::Enable => abi::FORWARD,
            Target::Disable => abi::BACKWARD,
        };
        if let Some(f) = self.0.transfer {
            // SAFETY: As in `pre`.
            unsafe { f(dir) };
        }
    }
}

/// Checks a name from a descriptor.
///
/// # Safety
///
/// `ptr` is null or a NUL-terminated string valid for `'static` (see the
/// module documentation).
unsafe fn name(ptr: *const kernel::ffi::c_char, what: &str) -> Result<&'static CStr> {
    if ptr.is_null() {
        pr_err!("register: {} missing\n", what);
        return Err(EINVAL);
    }
    // SAFETY: By the caller's guarantee.
    let s = unsafe { CStr::from_char_ptr(ptr) };
    let b = s.to_bytes();
    if b.is_empty() || b.len() > NAME_MAX || b.iter().any(|&c| c == b'/' || c == b':' || c <= b' ')
    {
        pr_err!(
            "register: invalid {} (1 to {} bytes, no '/', ':' or blanks)\n",
            what,
            NAME_MAX
        );
        return Err(EINVAL);
    }
    Ok(s)
}

/// Checks a function descriptor.
///
/// # Safety
///
/// `f` is valid for `'static` (see the module documentation).
unsafe fn func(f: &'static FuncDesc) -> Result<FuncSpec> {
    // SAFETY: Descriptor strings live as long as the descriptor.
    let fname = unsafe { name(f.name, "function name") }?;
    let object = if f.object.is_null() {
        None
    } else {
        // SAFETY: As above.
        Some(unsafe { name(f.object, "object name") }?)
    };
    if f.entry.is_null()
        || f.counted.is_null()
        || f.calls.is_null()
        || f.replaced.is_null()
        || f.original.is_null()
        || f.orig_calls.is_null()
        || f.orig_counted.is_null()
        || f.inside.is_null()
        || f.orig_inside.is_null()
        || f.orig.is_null()
        || f.prev.is_null()
        || f.prev_fn.is_null()
    {
        pr_err!(
            "register: function {} has an incomplete descriptor\n",
            fname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    if f.flags & abi::FUNC_KTHREAD_LOOP != 0 && f.nr_args != 1 {
        pr_err!(
            "register: kthread loop {} must take one argument (int fn(void *))\n",
            fname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    if f.flags & abi::FUNC_KTHREAD_LOOP == 0 && !f.safepoint.is_null() {
        pr_err!(
            "register: function {} has a safe point but is no kthread loop\n",
            fname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    if f.flags & !(abi::FUNC_KTHREAD_LOOP | abi::FUNC_NEW_INTERFACE) != 0 {
        pr_err!(
            "register: function {} has unknown flags {:#x}\n",
            fname.to_str().unwrap_or("?"),
            f.flags
        );
        return Err(EINVAL);
    }
    let new_iface = f.flags & abi::FUNC_NEW_INTERFACE != 0;
    if !new_iface && (!f.adaptor.is_null() || f.nr_callers != 0) {
        pr_err!(
            "register: function {} has an adaptor or callers but keeps its interface\n",
            fname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    if new_iface && f.flags & abi::FUNC_KTHREAD_LOOP != 0 {
        pr_err!(
            "register: kthread loop {} cannot change its interface\n",
            fname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    // SAFETY: Non-null pointers to the patch's statics, which live as long
    // as the descriptor.
    let (inside, orig_inside, orig, prev, calls) =
        unsafe { (&*f.inside, &*f.orig_inside, &*f.orig, &*f.prev, &*f.calls) };
    // SAFETY: As above.
    let (replaced, original, orig_calls) = unsafe { (&*f.replaced, &*f.original, &*f.orig_calls) };
    if !f.adaptive.is_null() && f.adapt.is_none() {
        pr_err!(
            "register: function {} has an adaptive entry but no handler\n",
            fname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    if new_iface && !f.fast.is_null() {
        pr_err!(
            "register: function {} has a new interface and a fast entry\n",
            fname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    Ok(FuncSpec {
        name: fname,
        object,
        sympos: f.sympos,
        edition: EditionSpec {
            entry: f.entry as usize,
            fast: f.fast as usize,
            calls,
            counted: f.counted as usize,
            orig_counted: f.orig_counted as usize,
            inside,
            orig_inside,
            orig,
            prev,
            adapt: f.adapt,
            adaptive: f.adaptive as usize,
            replaced,
            original,
            orig_calls,
            prev_fn: f.prev_fn as usize,
            migrate: None,
            safepoint: f.safepoint as usize,
            new_iface,
            adaptor: f.adaptor as usize,
        },
        kthread_loop: f.flags & abi::FUNC_KTHREAD_LOOP != 0,
        covered: false,
    })
}

/// A list from a descriptor, checked for length.
///
/// # Safety
///
/// `ptr` points to `n` elements living for `'static`, or `n` is 0.
unsafe fn list<T>(ptr: *const T, n: u32, what: &str, patch: &CStr) -> Result<&'static [T]> {
    let n = n as usize;
    if n == 0 {
        return Ok(&[]);
    }
    if n > MAX_LIST || ptr.is_null() {
        pr_err!(
            "register: patch {}: bad {} list ({} elements, at most {})\n",
            patch.to_str().unwrap_or("?"),
            what,
            n,
            MAX_LIST
        );
        return Err(EINVAL);
    }
    // SAFETY: By the caller's guarantee.
    Ok(unsafe { core::slice::from_raw_parts(ptr, n) })
}

/// Checks the interface changes of a patch: each needs the patch's
/// subsystem, and each listed caller has a new edition in the patch or is
/// covered by the adaptor. Marks the callers the adaptors cover.
///
/// # Safety
///
/// `descs` are the patch's function descriptors, matching `funcs`.
unsafe fn check_interfaces(
    pname: &CStr,
    descs: &'static [FuncDesc],
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
        // SAFETY: The caller's guarantee: `descs` lives for `'static`.
        let callers = unsafe { list(descs[i].callers, descs[i].nr_callers, "caller", pname) }?;
        if callers.is_empty() {
            pr_err!(
                "register: patch {}: {} changes its interface but lists no callers\n",
                p,
                callee
            );
            return Err(EINVAL);
        }
        let adaptor = funcs[i].edition.adaptor != 0;
        for &c in callers {
            // SAFETY: Caller names live as long as the descriptor.
            let cname = unsafe { name(c, "caller name") }?;
            let pos = funcs.iter().position(|f| f.name == cname);
            match pos {
                Some(j) if j == i => {
                    pr_err!(
                        "register: patch {}: {} lists itself as its caller\n",
                        p,
                        callee
                    );
                    return Err(EINVAL);
                }
                Some(j) => {
                    if adaptor {
                        funcs[j].covered = true;
                    }
                }
                None if adaptor => {}
                None => {
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
    states: &[&'static abi::StateDesc],
) -> Result<KVec<&'static CStr>> {
    let p = pname.to_str().unwrap_or("?");
    let mut names: KVec<&'static CStr> = KVec::with_capacity(states.len(), GFP_KERNEL)?;
    for st in states {
        // SAFETY: State names live as long as the descriptor.
        let n = unsafe { name(st.name, "state name") }?;
        if st.size == 0 || st.size > MAX_RECORD || st.convert.is_none() {
            pr_err!(
                "register: patch {}: state {} needs a conversion and a record of 1 to {} bytes\n",
                p,
                n.to_str().unwrap_or("?"),
                MAX_RECORD
            );
            return Err(EINVAL);
        }
        if st.flags & !abi::STATE_EAGER != 0 {
            pr_err!(
                "register: patch {}: state {} has unknown flags\n",
                p,
                n.to_str().unwrap_or("?")
            );
            return Err(EINVAL);
        }
        names.push(n, GFP_KERNEL)?;
    }
    let ids = Iterator::chain(shadows.iter().map(|s| s.id), states.iter().map(|s| s.id));
    for (k, id) in ids.clone().enumerate() {
        if ids.clone().skip(k + 1).any(|o| o == id) {
            pr_err!("register: patch {}: shadow id {} declared twice\n", p, id);
            return Err(EINVAL);
        }
    }
    for (k, n) in names.iter().enumerate() {
        if names.iter().skip(k + 1).any(|o| o == n) {
            pr_err!(
                "register: patch {}: state {} declared twice\n",
                p,
                n.to_str().unwrap_or("?")
            );
            return Err(EINVAL);
        }
    }
    Ok(names)
}

/// Checks a descriptor and turns it into a [`PatchSpec`].
///
/// # Safety
///
/// `desc` is null or points to a `PatchDesc` that stays valid and unchanged
/// until it is unregistered (see the module documentation).
unsafe fn check(desc: *const PatchDesc) -> Result<PatchSpec> {
    if desc.is_null() {
        pr_err!("register: NULL patch descriptor\n");
        return Err(EINVAL);
    }
    // SAFETY: Not null, and valid by the caller's guarantee.
    let desc: &'static PatchDesc = unsafe { &*desc };
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
    // SAFETY: As above.
    let pname = unsafe { name(desc.name, "patch name") }?;
    let n = desc.nr_funcs as usize;
    if n > MAX_FUNCS || (n > 0 && desc.funcs.is_null()) {
        pr_err!(
            "register: patch {}: bad function list ({} functions, at most {})\n",
            pname.to_str().unwrap_or("?"),
            n,
            MAX_FUNCS
        );
        return Err(EINVAL);
    }
    if desc.flags & !(abi::PATCH_REPLACE | abi::PATCH_NO_AUTO_ENABLE) != 0 {
        pr_err!(
            "register: patch {}: unknown flags {:#x}\n",
            pname.to_str().unwrap_or("?"),
            desc.flags
        );
        return Err(EINVAL);
    }
    let subsystem = if desc.subsystem.is_null() {
        None
    } else {
        // SAFETY: As above.
        Some(unsafe { name(desc.subsystem, "subsystem name") }?)
    };
    if subsystem.is_some() && desc.flags & abi::PATCH_REPLACE != 0 {
        pr_err!(
            "register: patch {}: a cumulative patch cannot be part of a subsystem\n",
            pname.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    let mut funcs = KVec::with_capacity(n, GFP_KERNEL)?;
    for i in 0..n {
        // SAFETY: `funcs` holds `nr_funcs` descriptors living as long as
        // `desc`.
        let f: &'static FuncDesc = unsafe { &*desc.funcs.add(i) };
        // SAFETY: As above.
        let mut spec = unsafe { func(f) }?;
        spec.edition.migrate = desc.callbacks.migrate;
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
    // SAFETY: `funcs` holds `nr_funcs` descriptors living as long as `desc`.
    let descs = unsafe { list_funcs(desc.funcs, n) };
    // SAFETY: `descs` matches `funcs`.
    unsafe { check_interfaces(pname, descs, &mut funcs, subsystem) }?;
    // SAFETY: The lists live as long as `desc`.
    let shadows = unsafe { list(desc.shadows, desc.nr_shadows, "shadow", pname) }?;
    // SAFETY: As above.
    let states = unsafe { list(desc.states, desc.nr_states, "state", pname) }?;
    // SAFETY: The elements point to descriptors living as long as `desc`.
    let shadows = unsafe { deref_all(shadows, "shadow", pname) }?;
    // SAFETY: As above.
    let states = unsafe { deref_all(states, "state", pname) }?;
    let state_names = check_data(pname, &shadows, &states)?;
    Ok(PatchSpec {
        name: pname,
        // SAFETY: `module` is the patch's `THIS_MODULE`; the registry drops
        // the spec at unregistration, from the module's exit at the latest.
        module: unsafe { PatchModule::new(desc.module) },
        funcs,
        flags: desc.flags,
        subsystem,
        callbacks: Callbacks(desc.callbacks),
        shadows,
        states,
        state_names,
    })
}

/// The descriptors a list of pointers points to.
///
/// # Safety
///
/// Each pointer is null or points to a descriptor living for `'static`.
unsafe fn deref_all<T>(
    ptrs: &'static [*const T],
    what: &str,
    patch: &CStr,
) -> Result<KVec<&'static T>> {
    let mut out = KVec::with_capacity(ptrs.len(), GFP_KERNEL)?;
    for &p in ptrs {
        if p.is_null() {
            pr_err!(
                "register: patch {}: NULL {} descriptor\n",
                patch.to_str().unwrap_or("?"),
                what
            );
            return Err(EINVAL);
        }
        // SAFETY: By the caller's guarantee.
        out.push(unsafe { &*p }, GFP_KERNEL)?;
    }
    Ok(out)
}

/// The function descriptors of a patch.
///
/// # Safety
///
/// `ptr` points to `n` descriptors living for `'static`, or `n` is 0.
unsafe fn list_funcs(ptr: *const FuncDesc, n: usize) -> &'static [FuncDesc] {
    if n == 0 {
        return &[];
    }
    // SAFETY: By the caller's guarantee.
    unsafe { core::slice::from_raw_parts(ptr, n) }
}

/// Registers a patch with dynamos (and enables it, unless it asks not to).
/// Returns 0 or a negative errno; the reason of a failure is in dmesg.
///
/// # Safety
///
/// `desc` is null or points to a `PatchDesc` that stays valid and unchanged
/// until `dynamos_unregister_patch(desc)` returns.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_register_patch(desc: *const PatchDesc) -> c_int {
    // SAFETY: The caller's guarantee covers the registration's lifetime.
    let res = unsafe { check(desc) }.and_then(|spec| registry::register(PatchKey::of(desc), spec));
    match res {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Unregisters a patch registered by `dynamos_register_patch()`. Unknown
/// descriptors are reported in dmesg and otherwise ignored.
///
/// # Safety
///
/// `desc` is the pointer that was passed to `dynamos_register_patch()`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_unregister_patch(desc: *const PatchDesc) {
    registry::unregister(PatchKey::of(desc));
}
