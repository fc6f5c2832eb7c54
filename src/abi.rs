// SPDX-License-Identifier: GPL-2.0

//! The C ABI between `dynamos.ko` and patch modules.
//!
//! Rust modules cannot link against each other, so the core exports plain C
//! entry points (see `src/exports.c`) that take these `#[repr(C)]`
//! descriptors. This file is compiled into the core and, through
//! `src/dynamos_patch.rs`, into every patch module, so both sides always
//! agree on the layout of the version they were built from; `abi_version`
//! and `size` catch a patch built against another version.
//!
//! Ownership: every descriptor lives in the patch module, at a fixed address,
//! from `dynamos_register_patch()` until `dynamos_unregister_patch()`
//! returns. dynamos reads them and writes only the atomics marked so.

use core::sync::atomic::{AtomicIsize, AtomicUsize};
use kernel::ffi::{c_char, c_int, c_void};

/// Version of the descriptors below. Bump it on any layout change.
pub(crate) const ABI_VERSION: u32 = 3;

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
/// `src/safepoint.rs`).
pub(crate) const FUNC_KTHREAD_LOOP: u32 = 1 << 0;

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
    /// The same edition, wrapped so that `inside` counts the threads in it.
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
}

impl PatchDesc {
    /// The size of this descriptor, as recorded in [`PatchDesc::size`].
    pub(crate) const SIZE: u32 = core::mem::size_of::<PatchDesc>() as u32;
}
