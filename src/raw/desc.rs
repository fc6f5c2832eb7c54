// SPDX-License-Identifier: GPL-2.0

//! Reading the descriptors patch modules hand over (`abi.rs`), behind a
//! safe API.
//!
//! A descriptor is a tree of raw pointers into the patch module. The ABI
//! contract says they stay valid and unchanged from
//! `dynamos_register_patch()` until `dynamos_unregister_patch()` returns;
//! [`PatchRef`] holds a descriptor under that contract, and every pointer
//! read through it becomes a `'static` reference or value here, checked
//! for null. `api/entry.rs` checks the values against the rules.
//!
//! The C entry points themselves are made in the crate root with
//! [`patch_entry_points!`], which builds the [`PatchRef`] from the C
//! caller's pointer, so that the checks above them need no `unsafe`.

use super::{
    callbacks::{AdaptHandler, PatchCallbacks, StateFns},
    kthread::{LoopFn, SafepointCall},
    modules::PatchModule,
};
use crate::abi::{self, FuncDesc, PatchDesc, ShadowDesc, StateDesc};
use core::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize};
use kernel::{ffi::c_char, prelude::*, str::CStr};

/// Defines `dynamos_register_patch()` and `dynamos_unregister_patch()`,
/// the entry points `api/exports.c` exports, calling `$register` with the
/// descriptor (`None` for a null pointer) and `$unregister` with its key.
/// Used once, in the crate root.
macro_rules! patch_entry_points {
    ($register:path, $unregister:path) => {
        /// Registers a patch with dynamos (and enables it, unless it asks
        /// not to). Returns 0 or a negative errno; the reason of a failure
        /// is in dmesg.
        ///
        /// # Safety
        ///
        /// `desc` is null or points to a `PatchDesc` that stays valid and
        /// unchanged until `dynamos_unregister_patch(desc)` returns.
        #[unsafe(no_mangle)]
        unsafe extern "C" fn dynamos_register_patch(
            desc: *const $crate::abi::PatchDesc,
        ) -> ::kernel::ffi::c_int {
            // SAFETY: The caller's guarantee covers the registration.
            $register(unsafe { $crate::raw::desc::PatchRef::new(desc) })
        }

        /// Unregisters a patch registered by `dynamos_register_patch()`.
        /// Unknown descriptors are reported in dmesg and otherwise
        /// ignored.
        ///
        /// # Safety
        ///
        /// `desc` is the pointer that was passed to
        /// `dynamos_register_patch()`; it is not dereferenced.
        #[unsafe(no_mangle)]
        unsafe extern "C" fn dynamos_unregister_patch(desc: *const $crate::abi::PatchDesc) {
            $unregister(desc as usize)
        }
    };
}
pub(crate) use patch_entry_points;

/// A C string of a descriptor, `None` for a null pointer.
///
/// # Safety
///
/// `ptr` is null or a NUL-terminated string that lives for `'static`.
unsafe fn c_str(ptr: *const c_char) -> Option<&'static CStr> {
    // SAFETY: By the caller's guarantee.
    (!ptr.is_null()).then(|| unsafe { CStr::from_char_ptr(ptr) })
}

/// A list of a descriptor: `None` if it has more than `max` elements, or
/// elements but a null pointer.
///
/// # Safety
///
/// `ptr` points to `n` elements that live for `'static`, or is null.
unsafe fn list<T>(ptr: *const T, n: u32, max: usize) -> Option<&'static [T]> {
    let n = n as usize;
    if n == 0 {
        return Some(&[]);
    }
    if n > max || ptr.is_null() {
        return None;
    }
    // SAFETY: By the caller's guarantee.
    Some(unsafe { core::slice::from_raw_parts(ptr, n) })
}

/// Why a list of pointers to descriptors cannot be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ListError {
    /// Too long, or elements behind a null pointer.
    Bad,
    /// An element is null.
    NullElement,
    /// Out of memory.
    NoMemory,
}

/// The descriptors a list of pointers points to.
///
/// # Safety
///
/// Each pointer is null or points to a descriptor that lives for
/// `'static`.
unsafe fn deref_all<T>(
    ptrs: &'static [*const T],
) -> core::result::Result<KVec<&'static T>, ListError> {
    let mut out = KVec::with_capacity(ptrs.len(), GFP_KERNEL).map_err(|_| ListError::NoMemory)?;
    for &p in ptrs {
        if p.is_null() {
            return Err(ListError::NullElement);
        }
        // SAFETY: By the caller's guarantee; not null.
        let r = unsafe { &*p };
        out.push(r, GFP_KERNEL).map_err(|_| ListError::NoMemory)?;
    }
    Ok(out)
}

/// A patch descriptor under the ABI contract.
///
/// # Invariants
///
/// `0` and every pointer in it (strings, lists, statics, functions, the
/// module) are valid and unchanged until the patch unregisters, which its
/// module does from its exit at the latest; the values read from it are
/// only kept by the registration and by editions that hold the module.
#[derive(Clone, Copy)]
pub(crate) struct PatchRef(&'static PatchDesc);

impl PatchRef {
    /// The descriptor at `ptr`, `None` if null.
    ///
    /// # Safety
    ///
    /// `ptr` is null or points to a `PatchDesc` that stays valid and
    /// unchanged, with everything it points to, until it unregisters.
    pub(crate) unsafe fn new(ptr: *const PatchDesc) -> Option<Self> {
        // SAFETY: By the caller's guarantee.
        // INVARIANT: Likewise.
        (!ptr.is_null()).then(|| PatchRef(unsafe { &*ptr }))
    }

    /// The plain fields (versions, counts, flags).
    pub(crate) fn raw(&self) -> &'static PatchDesc {
        self.0
    }

    /// The descriptor's address: the patch's key.
    pub(crate) fn addr(&self) -> usize {
        core::ptr::from_ref(self.0) as usize
    }

    /// The patch's name, `None` if missing.
    pub(crate) fn name(&self) -> Option<&'static CStr> {
        // SAFETY: A descriptor string (type invariant).
        unsafe { c_str(self.0.name) }
    }

    /// The subsystem's name, `None` if the patch has none.
    pub(crate) fn subsystem(&self) -> Option<&'static CStr> {
        // SAFETY: A descriptor string (type invariant).
        unsafe { c_str(self.0.subsystem) }
    }

    /// The function descriptors, `None` if there are more than `max` or
    /// the list pointer is null.
    pub(crate) fn funcs(&self, max: usize) -> Option<FuncList> {
        // SAFETY: The descriptor's list (type invariant).
        // INVARIANT: Function descriptors of this descriptor.
        unsafe { list(self.0.funcs, self.0.nr_funcs, max) }.map(FuncList)
    }

    /// Whether the shadow and state lists have at most `max` elements and
    /// a pointer if they have any: `Err` names the first bad one.
    pub(crate) fn check_lists(&self, max: usize) -> core::result::Result<(), &'static str> {
        // SAFETY: The descriptor's lists (type invariant); only checked.
        if unsafe { list(self.0.shadows, self.0.nr_shadows, max) }.is_none() {
            return Err("shadow");
        }
        // SAFETY: As above.
        if unsafe { list(self.0.states, self.0.nr_states, max) }.is_none() {
            return Err("state");
        }
        Ok(())
    }

    /// The shadow kinds, each checked for null, at most `max`.
    pub(crate) fn shadows(
        &self,
        max: usize,
    ) -> core::result::Result<KVec<&'static ShadowDesc>, ListError> {
        // SAFETY: The descriptor's list (type invariant).
        let ptrs = unsafe { list(self.0.shadows, self.0.nr_shadows, max) }.ok_or(ListError::Bad)?;
        // SAFETY: Each element is null or a descriptor (type invariant).
        unsafe { deref_all(ptrs) }
    }

    /// The states, each checked for null, at most `max`.
    pub(crate) fn states(&self, max: usize) -> core::result::Result<KVec<StateFns>, ListError> {
        // SAFETY: The descriptor's list (type invariant).
        let ptrs = unsafe { list(self.0.states, self.0.nr_states, max) }.ok_or(ListError::Bad)?;
        // SAFETY: Each element is null or a descriptor (type invariant).
        let descs = unsafe { deref_all::<StateDesc>(ptrs) }?;
        let mut out =
            KVec::with_capacity(descs.len(), GFP_KERNEL).map_err(|_| ListError::NoMemory)?;
        for d in descs {
            // SAFETY: A state descriptor of this patch, registered for as
            // long as the registration that keeps the value (type
            // invariant).
            let fns = unsafe { StateFns::new(d) };
            out.push(fns, GFP_KERNEL).map_err(|_| ListError::NoMemory)?;
        }
        Ok(out)
    }

    /// The patch's callbacks.
    pub(crate) fn callbacks(&self) -> PatchCallbacks {
        // SAFETY: The patch's functions, callable while it is registered
        // (type invariant); the registry holds a module reference while it
        // calls them outside the registration.
        unsafe { PatchCallbacks::new(self.0.callbacks) }
    }

    /// The patch module.
    pub(crate) fn module(&self) -> PatchModule {
        // SAFETY: The patch's `THIS_MODULE`; the registry drops the spec
        // that holds it at unregistration (type invariant).
        unsafe { PatchModule::new(self.0.module) }
    }
}

/// The function descriptors of a [`PatchRef`].
///
/// # Invariants
///
/// The elements belong to a descriptor under the ABI contract.
#[derive(Clone, Copy)]
pub(crate) struct FuncList(&'static [FuncDesc]);

impl FuncList {
    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `i`-th, if there is one.
    pub(crate) fn get(&self, i: usize) -> Option<FuncRef> {
        // INVARIANT: An element of the list (type invariant).
        self.0.get(i).map(FuncRef)
    }
}

/// The statics a patch's glue keeps for one function (`abi::FuncDesc`).
pub(crate) struct FuncStatics {
    /// Threads inside the counted entry.
    pub(crate) inside: &'static AtomicIsize,
    /// Threads inside the original through the counted wrapper.
    pub(crate) orig_inside: &'static AtomicIsize,
    /// Where dynamos writes the original's address.
    pub(crate) orig: &'static AtomicUsize,
    /// Where dynamos writes the replaced edition's address.
    pub(crate) prev: &'static AtomicUsize,
    /// Calls counted by the fast and counted entries.
    pub(crate) calls: &'static AtomicU64,
    /// Where dynamos writes the adaptive entry's way to the replaced
    /// edition.
    pub(crate) replaced: &'static AtomicUsize,
    /// Where dynamos writes the original's body.
    pub(crate) original: &'static AtomicUsize,
    /// Where dynamos writes the original's counter of calls.
    pub(crate) orig_calls: &'static AtomicPtr<AtomicU64>,
}

/// One function descriptor of a [`PatchRef`].
///
/// # Invariants
///
/// `0` belongs to a descriptor under the ABI contract.
#[derive(Clone, Copy)]
pub(crate) struct FuncRef(&'static FuncDesc);

impl FuncRef {
    /// The plain fields (flags, counts, entry addresses).
    pub(crate) fn raw(&self) -> &'static FuncDesc {
        self.0
    }

    /// The target's symbol name, `None` if missing.
    pub(crate) fn name(&self) -> Option<&'static CStr> {
        // SAFETY: A descriptor string (type invariant).
        unsafe { c_str(self.0.name) }
    }

    /// The target's module name, `None` for vmlinux.
    pub(crate) fn object(&self) -> Option<&'static CStr> {
        // SAFETY: A descriptor string (type invariant).
        unsafe { c_str(self.0.object) }
    }

    /// Whether every entry and static the glue must provide is there.
    pub(crate) fn complete(&self) -> bool {
        let f = self.0;
        !(f.entry.is_null()
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
            || f.prev_fn.is_null())
    }

    /// The statics, `None` unless [`FuncRef::complete`].
    pub(crate) fn statics(&self) -> Option<FuncStatics> {
        if !self.complete() {
            return None;
        }
        let f = self.0;
        // SAFETY: Non-null pointers to the patch's statics, which live as
        // long as the descriptor (type invariant).
        Some(unsafe {
            FuncStatics {
                inside: &*f.inside,
                orig_inside: &*f.orig_inside,
                orig: &*f.orig,
                prev: &*f.prev,
                calls: &*f.calls,
                replaced: &*f.replaced,
                original: &*f.original,
                orig_calls: &*f.orig_calls,
            }
        })
    }

    /// The adaptation handler, if any.
    pub(crate) fn adapt(&self) -> Option<AdaptHandler> {
        // SAFETY: The patch's handler, callable while its module is
        // loaded, which the edition holding it ensures (type invariant).
        self.0.adapt.map(|a| unsafe { AdaptHandler::new(a) })
    }

    /// For a kernel thread loop, the safe point its patch declared.
    pub(crate) fn safepoint(&self) -> Option<SafepointCall> {
        let f = self.0;
        if f.flags & abi::FUNC_KTHREAD_LOOP == 0 || f.safepoint.is_null() {
            return None;
        }
        // SAFETY: The patch declares it with `kthread_should_stop()`'s
        // contract (abi.rs, `FuncDesc::safepoint`); the edition holding it
        // keeps its module loaded.
        Some(unsafe { SafepointCall::new(f.safepoint as usize) })
    }

    /// For a kernel thread loop, the edition's entry as a thread function.
    pub(crate) fn loop_fn(&self) -> Option<LoopFn> {
        let f = self.0;
        if f.flags & abi::FUNC_KTHREAD_LOOP == 0 || f.entry.is_null() || f.nr_args != 1 {
            return None;
        }
        // SAFETY: A kthread loop edition has the thread function type: the
        // patch macro checks it against the target's `int (*)(void *)` at
        // compile time; the edition holding it keeps its module loaded.
        Some(unsafe { LoopFn::new(f.entry as usize) })
    }

    /// The callers an interface change lists, `None` if there are more than
    /// `max` or the list pointer is null; each name `None` if missing.
    pub(crate) fn callers(
        &self,
        max: usize,
    ) -> Option<impl Iterator<Item = Option<&'static CStr>>> {
        // SAFETY: The descriptor's list (type invariant).
        let names = unsafe { list(self.0.callers, self.0.nr_callers, max) }?;
        // SAFETY: Each is a descriptor string (type invariant).
        Some(names.iter().map(|&p| unsafe { c_str(p) }))
    }
}
