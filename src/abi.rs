// SPDX-License-Identifier: GPL-2.0

//! The C ABI between `dynamos.ko` and patch modules.
//!
//! Rust modules cannot link against each other, so the core exports plain C
//! entry points (see `src/api/exports.c`) that take these `#[repr(C)]`
//! descriptors. This file is compiled into the core and, through
//! `src/dynamos_patch.rs`, into every patch module, so both sides always
//! agree on the layout of the version they were built from; `abi_version`
//! and `size` catch a patch built against another version.
//!
//! Ownership: every descriptor lives in the patch module, at a fixed address,
//! from `dynamos_register_patch()` until `dynamos_unregister_patch()`
//! returns. dynamos reads them and writes only the atomics marked so.

use core::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize};
use kernel::ffi::{c_char, c_int, c_void};

/// Version of the descriptors below. Bump it on any layout change.
pub(crate) const ABI_VERSION: u32 = 5;

/// Longest patch or symbol name accepted, in bytes, without the NUL.
pub(crate) const NAME_MAX: usize = 127;

/// [`PatchDesc::flags`]: replace every patch enabled before this one
/// (livepatch's `replace`).
pub(crate) const PATCH_REPLACE: u32 = 1 << 0;
/// [`PatchDesc::flags`]: do not enable at registration; wait for a write
/// to the patch's `enabled` file.
pub(crate) const PATCH_NO_AUTO_ENABLE: u32 = 1 << 1;

/// [`FuncDesc::flags`]: the target is the main function of kernel threads
/// that never return. Calls of it always enter the original; a thread moves
/// to the current edition, and back, at its safe point: its calls to
/// `kthread_should_stop()`, or to [`FuncDesc::safepoint`] (see
/// `src/mech/safepoint.rs`).
pub(crate) const FUNC_KTHREAD_LOOP: u32 = 1 << 0;
/// [`FuncDesc::flags`]: the edition has a new interface (another signature
/// than the target's). Only calls from the patch's own code use it; every
/// other call has the old interface and enters [`FuncDesc::adaptor`], or the
/// edition this one replaced if there is no adaptor. The target's callers,
/// listed in [`FuncDesc::callers`], switch with it (the patch must name a
/// subsystem).
pub(crate) const FUNC_NEW_INTERFACE: u32 = 1 << 1;

/// [`StateDesc::flags`]: convert every object in the background as soon as
/// the patch is enabled (the eager pass), besides converting on access.
pub(crate) const STATE_EAGER: u32 = 1 << 0;

/// Direction of a state transfer: from the replaced edition's state to the
/// patch's.
pub(crate) const FORWARD: u32 = 0;
/// Direction of a state transfer: from the patch's state back to the
/// replaced edition's.
pub(crate) const BACKWARD: u32 = 1;

/// A patch's callbacks, all optional. They run in process context and may
/// sleep. The order is documented in `Documentation/design.rst`
/// ("Synchronizer"); livepatch's callbacks are the model.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct Callbacks {
    /// Before the patch's editions go live; a negative errno refuses the
    /// enable and nothing changes.
    pub(crate) pre_patch: Option<unsafe extern "C" fn() -> c_int>,
    /// After an enable has drained and its state was transferred.
    pub(crate) post_patch: Option<unsafe extern "C" fn()>,
    /// Before the patch's editions are taken off; a negative errno refuses
    /// the disable and nothing changes.
    pub(crate) pre_unpatch: Option<unsafe extern "C" fn() -> c_int>,
    /// After a disable has drained and its state was transferred back.
    pub(crate) post_unpatch: Option<unsafe extern "C" fn()>,
    /// Moves shared state between the replaced editions and the patch's
    /// ([`FORWARD`] or [`BACKWARD`]), once nothing runs the side it comes
    /// from.
    pub(crate) transfer: Option<unsafe extern "C" fn(dir: u32)>,
    /// Moves a kernel thread's state (its `kthread_data()`) at its safe
    /// point, in the thread, before it continues in the other edition of a
    /// [`FUNC_KTHREAD_LOOP`] function.
    pub(crate) migrate: Option<unsafe extern "C" fn(data: *mut c_void, dir: u32)>,
}

#[allow(dead_code)] // Used by patch modules, not by the core.
impl Callbacks {
    /// No callbacks.
    pub(crate) const NONE: Callbacks = Callbacks {
        pre_patch: None,
        post_patch: None,
        pre_unpatch: None,
        post_unpatch: None,
        transfer: None,
        migrate: None,
    };
}

/// What an adaptation handler returns: which edition a call enters.
pub(crate) mod choice {
    /// The original function (edition 0).
    pub(crate) const ORIGINAL: u32 = 0;
    /// This patch's edition.
    pub(crate) const THIS: u32 = 1;
    /// The edition this patch's edition replaced (the one below it on the
    /// function's stack; the original if there is none).
    pub(crate) const REPLACED: u32 = 2;
    /// Whatever the function's other policies choose (per-PID, default).
    /// dynamos treats every unknown value this way.
    #[allow(dead_code)]
    pub(crate) const DEFAULT: u32 = 3;
}

/// An adaptation handler: sees the first six argument registers of a call,
/// returns a [`choice`]. Runs with preemption disabled; must not sleep.
pub(crate) type AdaptFn = unsafe extern "C" fn(args: *const usize) -> u32;

/// One function a patch changes: the target and its new edition.
#[repr(C)]
pub(crate) struct FuncDesc {
    /// NUL-terminated symbol name of the target.
    pub(crate) name: *const c_char,
    /// NUL-terminated name of the module holding the target, or null for
    /// vmlinux.
    pub(crate) object: *const c_char,
    /// Which of several symbols with this name (1-based, in kallsyms
    /// order); 0 means the name must be unique.
    pub(crate) sympos: u32,
    /// Number of arguments of the target (at most 6 are visible to an
    /// adaptation handler).
    pub(crate) nr_args: u32,
    /// The new edition: an `extern "C"` function with the target's
    /// signature.
    pub(crate) entry: *const c_void,
    /// The same edition, wrapped so that `calls` counts its calls: sites
    /// jump there when every call goes to this edition. Null for a new
    /// interface.
    pub(crate) fast: *const c_void,
    /// Calls counted by `fast` and `counted`.
    pub(crate) calls: *const AtomicU64,
    /// The same edition, wrapped so that `inside` counts the threads in it
    /// (and `calls` the calls).
    pub(crate) counted: *const c_void,
    /// The original function, wrapped so that `orig_inside` counts the
    /// threads in it. It calls `*orig`.
    pub(crate) orig_counted: *const c_void,
    /// Threads inside `counted` now.
    pub(crate) inside: *const AtomicIsize,
    /// Threads inside `orig_counted` now.
    pub(crate) orig_inside: *const AtomicIsize,
    /// Written by dynamos before the edition can run: the address of the
    /// original function.
    pub(crate) orig: *const AtomicUsize,
    /// Written by dynamos before the edition can run: the address that the
    /// edition's calls to the edition it replaces go to.
    pub(crate) prev: *const AtomicUsize,
    /// Optional adaptation handler.
    pub(crate) adapt: Option<AdaptFn>,
    /// With a handler: an entry with the target's signature that asks the
    /// handler and goes where it says (sites jump there when the handler is
    /// the only policy); null otherwise.
    pub(crate) adaptive: *const c_void,
    /// Written by dynamos: where `adaptive` sends calls for the replaced
    /// edition (its fast entry, or the original's body).
    pub(crate) replaced: *const AtomicUsize,
    /// Written by dynamos: the original's body (past its hook).
    pub(crate) original: *const AtomicUsize,
    /// Written by dynamos: the counter of calls `adaptive` sends to the
    /// original.
    pub(crate) orig_calls: *const AtomicPtr<AtomicU64>,
    /// The patch's function that calls the replaced edition (`prev()`):
    /// its calls to the original are let through, not sent back to an
    /// edition.
    pub(crate) prev_fn: *const c_void,
    /// `FUNC_*` flags.
    pub(crate) flags: u32,
    /// For a [`FUNC_KTHREAD_LOOP`] function: a function the loop (in every
    /// edition) calls where it holds nothing, with `kthread_should_stop()`'s
    /// contract (returns a `bool`, true to leave the loop), at most six
    /// integer arguments; null: `kthread_should_stop()` itself.
    pub(crate) safepoint: *const c_void,
    /// For a [`FUNC_NEW_INTERFACE`] edition: a function with the target's
    /// (old) signature that translates a call and calls the edition; it
    /// counts itself in `inside`. Null: no adaptor.
    pub(crate) adaptor: *const c_void,
    /// For a [`FUNC_NEW_INTERFACE`] edition: the names of the target's
    /// callers (NUL-terminated). Each must be changed by the same patch, or
    /// be covered by the adaptor.
    pub(crate) callers: *const *const c_char,
    /// Number of elements of `callers`.
    pub(crate) nr_callers: u32,
}

/// A shadow variable's destructor: `obj` is the object, `data` the
/// variable's data, about to be freed.
pub(crate) type ShadowDtor = unsafe extern "C" fn(obj: *mut c_void, data: *mut c_void);

/// A shadow variable's constructor, called once, before the variable is
/// visible, under the shadow lock (it must not sleep): fills `data` for
/// `obj` from `ctor_data`. Nonzero refuses the variable.
pub(crate) type ShadowCtor =
    unsafe extern "C" fn(obj: *mut c_void, data: *mut c_void, ctor_data: *mut c_void) -> c_int;

/// A kind of shadow variable a patch uses: dynamos frees every variable of
/// this id, with `dtor`, when the patch is disabled or unregistered.
#[repr(C)]
pub(crate) struct ShadowDesc {
    /// The id the patch uses with `dynamos_shadow_*()`.
    pub(crate) id: u64,
    /// Called on each variable freed by dynamos, if set.
    pub(crate) dtor: Option<ShadowDtor>,
}

/// Walks every object a state applies to, calling `cb(ctx, obj)` for each
/// until it returns nonzero, which it then returns. Runs in process
/// context; may sleep.
pub(crate) type ForEachFn = unsafe extern "C" fn(
    cb: unsafe extern "C" fn(ctx: *mut c_void, obj: *mut c_void) -> c_int,
    ctx: *mut c_void,
) -> c_int;

/// A state whose objects change representation with the patch, converted
/// lazily: each object exactly once, on its first access through
/// `dynamos_state_get()` (or by the eager pass). The new representation is
/// a record of `size` bytes kept as shadow data of the object, under `id`.
#[repr(C)]
pub(crate) struct StateDesc {
    /// NUL-terminated name; it names the state's sysfs directory.
    pub(crate) name: *const c_char,
    /// Shadow id of the records.
    pub(crate) id: u64,
    /// Size of a record, at least 1.
    pub(crate) size: usize,
    /// Fills the record `rec` of `obj` from the old representation; runs
    /// once per object, under the shadow lock (must not sleep).
    pub(crate) convert: Option<unsafe extern "C" fn(obj: *mut c_void, rec: *mut c_void)>,
    /// Puts the old representation back from the record, when the patch is
    /// disabled. Null: the conversion loses information, and dynamos
    /// refuses to disable the patch while objects are converted (unless the
    /// admin allows the loss).
    pub(crate) revert: Option<unsafe extern "C" fn(obj: *mut c_void, rec: *mut c_void)>,
    /// Walks every known object, for the eager pass; null: no eager pass.
    pub(crate) for_each: Option<ForEachFn>,
    /// `STATE_*` flags.
    pub(crate) flags: u32,
    /// Written by dynamos: its run-time state while the patch is
    /// registered, null otherwise. `dynamos_state_get()` fails while null.
    pub(crate) rt: AtomicPtr<c_void>,
}

/// What a patch module hands to `dynamos_register_patch()`.
#[repr(C)]
pub(crate) struct PatchDesc {
    /// [`ABI_VERSION`] of the patch's build.
    pub(crate) abi_version: u32,
    /// `size_of::<PatchDesc>()` in the patch's build.
    pub(crate) size: u32,
    /// NUL-terminated patch name; it names the patch's sysfs directory.
    pub(crate) name: *const c_char,
    /// The patch module (`struct module *`).
    pub(crate) module: *mut c_void,
    /// The functions the patch changes.
    pub(crate) funcs: *const FuncDesc,
    /// Number of elements of `funcs`.
    pub(crate) nr_funcs: u32,
    /// `PATCH_*` flags.
    pub(crate) flags: u32,
    /// NUL-terminated name of the subsystem the patch's functions form, or
    /// null: the functions then switch independently.
    pub(crate) subsystem: *const c_char,
    /// The patch's callbacks.
    pub(crate) callbacks: Callbacks,
    /// The kinds of shadow variables the patch uses.
    pub(crate) shadows: *const *const ShadowDesc,
    /// Number of elements of `shadows`.
    pub(crate) nr_shadows: u32,
    /// The states the patch converts.
    pub(crate) states: *const *const StateDesc,
    /// Number of elements of `states`.
    pub(crate) nr_states: u32,
}

// SAFETY: A state descriptor is immutable, but for its atomic `rt`; the
// functions it points to may be called from any thread (`StateDesc`).
unsafe impl Sync for StateDesc {}

impl PatchDesc {
    /// The size of this descriptor, as recorded in [`PatchDesc::size`].
    pub(crate) const SIZE: u32 = core::mem::size_of::<PatchDesc>() as u32;
}
