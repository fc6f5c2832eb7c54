// SPDX-License-Identifier: GPL-2.0

//! The dynamos API for patch modules.
//!
//! A patch module includes this file at its crate root, under this name:
//!
//! ```ignore
//! #[path = "../../src/dynamos_patch.rs"]
//! mod dynamos_patch;
//! ```
//!
//! and declares itself with [`patch!`]: the module metadata, then one line
//! per function it changes, with the target's signature and the new edition.
//! The signature is checked at compile time against the edition (and against
//! a `bindings::` prototype, where one is named with `check =`).
//!
//! The patch registers with `dynamos.ko` when the module loads (and is
//! enabled unless it says `flags: PATCH_NO_AUTO_ENABLE`) and unregisters when
//! it unloads. Loading a patch module while dynamos is not loaded fails in
//! the module loader ("Unknown symbol dynamos_register_patch").
//!
//! Within an edition, `<target>::prev(args)` calls the edition it replaced:
//! the original function, or the edition of the patch below on the stack;
//! `<target>::call(args)` calls a target as any caller would, so that
//! dynamos picks the edition (in a subsystem: the caller's generation).
//! See `Documentation/patch-author-guide.rst`.

#![allow(dead_code, unused_imports, unreachable_pub)]

#[path = "abi.rs"]
pub(crate) mod abi;

pub(crate) use abi::{
    Callbacks, FuncDesc, BACKWARD, FORWARD, FUNC_KTHREAD_LOOP, PATCH_NO_AUTO_ENABLE, PATCH_REPLACE,
};
use abi::{PatchDesc, ABI_VERSION};
use core::sync::atomic::{AtomicIsize, Ordering};
use kernel::{ffi::c_int, prelude::*, str::CStr, ThisModule};

extern "C" {
    fn dynamos_register_patch(desc: *const PatchDesc) -> c_int;
    fn dynamos_unregister_patch(desc: *const PatchDesc);
}

/// Which edition a call enters, as chosen by an adaptation handler.
#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Choice {
    /// The original function.
    Original = abi::choice::ORIGINAL,
    /// This patch's edition.
    This = abi::choice::THIS,
    /// The edition this patch's edition replaced.
    Replaced = abi::choice::REPLACED,
    /// Whatever the function's other policies choose.
    Default = abi::choice::DEFAULT,
}

/// Converts a raw argument register into a typed argument, for adaptation
/// handlers.
pub(crate) trait FromReg {
    /// The value of the argument held in `reg`.
    fn from_reg(reg: usize) -> Self;
}

macro_rules! from_reg_int {
    ($($t:ty),*) => {
        $(impl FromReg for $t {
            fn from_reg(reg: usize) -> Self {
                // Truncation keeps the low bits, which is how the C ABI
                // passes narrower integers in a 64-bit register.
                reg as $t
            }
        })*
    };
}
from_reg_int!(usize, isize, u64, i64, u32, i32, u16, i16, u8, i8);

impl FromReg for bool {
    fn from_reg(reg: usize) -> Self {
        reg as u8 != 0
    }
}

impl<T> FromReg for *mut T {
    fn from_reg(reg: usize) -> Self {
        reg as *mut T
    }
}

impl<T> FromReg for *const T {
    fn from_reg(reg: usize) -> Self {
        reg as *const T
    }
}

/// Counts a thread inside an edition for as long as it lives.
pub(crate) struct Inside(&'static AtomicIsize);

impl Inside {
    /// Counts the current thread in `counter`.
    #[inline(always)]
    pub(crate) fn enter(counter: &'static AtomicIsize) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Inside(counter)
    }
}

impl Drop for Inside {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A patch registered with dynamos; dropping it unregisters the patch.
///
/// # Invariants
///
/// `desc` and `funcs` were accepted by `dynamos_register_patch()` and have
/// not been unregistered; neither moves nor changes until then.
pub(crate) struct Registration {
    desc: KBox<PatchDesc>,
    funcs: KVec<FuncDesc>,
}

// SAFETY: The descriptors are only read (and their atomics written) by
// dynamos, which allows calls from any thread.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers the patch `name` of `module`, changing `funcs`, as part of
    /// `subsystem` if given, with `callbacks`.
    ///
    /// # Errors
    ///
    /// The errno of `dynamos_register_patch()`: `EINVAL` for a bad name or an
    /// ABI mismatch, `EEXIST` if the name is taken, `ENOENT` for an unknown
    /// symbol, `EBUSY` if a target is taken by another ftrace user that
    /// modifies the instruction pointer (a livepatch, a kprobe), `ENOMEM`.
    /// The reason is in dmesg.
    pub(crate) fn new(
        name: &'static CStr,
        module: &'static ThisModule,
        funcs: KVec<FuncDesc>,
        flags: u32,
        subsystem: Option<&'static CStr>,
        callbacks: Callbacks,
    ) -> Result<Self> {
        let desc = KBox::new(
            PatchDesc {
                abi_version: ABI_VERSION,
                size: PatchDesc::SIZE,
                name: name.as_char_ptr(),
                module: module.as_ptr().cast(),
                funcs: funcs.as_ptr(),
                nr_funcs: funcs.len() as u32,
                flags,
                subsystem: subsystem.map_or(core::ptr::null(), |s| s.as_char_ptr()),
                callbacks,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `desc` and `funcs` are valid descriptors whose strings and
        // statics live as long as the module; they stay on the heap,
        // unchanged, until `drop` unregisters them.
        kernel::error::to_result(unsafe { dynamos_register_patch(&*desc) })?;
        // INVARIANT: Accepted above.
        Ok(Registration { desc, funcs })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `desc` was registered (type invariant) and is the same
        // pointer that was passed to `dynamos_register_patch()`.
        unsafe { dynamos_unregister_patch(&*self.desc) };
    }
}

/// Declares a patch module.
///
/// ```ignore
/// dynamos_patch::patch! {
///     type: CmdlinePatch,
///     name: "dynamos_cmdline",
///     authors: ["dynamos developers"],
///     description: "Replaces cmdline_proc_show",
///     license: "GPL",
///     functions: [
///         cmdline_proc_show: fn(m: *mut bindings::seq_file, v: *mut c_void) -> c_int
///             => new_cmdline_proc_show;
///     ],
/// }
/// ```
///
/// Optional lines after `license` (in this order): `flags: PATCH_...`,
/// `subsystem: "name"` (the patch's functions switch as one unit; see
/// `Documentation/design.rst`) and `callbacks: Callbacks { ... }` (state
/// transfer and pre/post hooks).
///
/// Each function line is
/// `TARGET [in "module"] [@ SYMPOS]: fn(ARGS) -> RET => EDITION [, adapt = HANDLER] [, check = PROTOTYPE] [, kthread_loop = true]`:
///
/// - `EDITION` is an `extern "C" fn(ARGS) -> RET`; a mismatch with the
///   declared signature does not compile;
/// - `HANDLER` is a `fn(ARGS) -> Choice` that picks the edition per call;
/// - `PROTOTYPE` is the target's `bindings::` declaration, checked against
///   the declared signature;
/// - `kthread_loop = true` marks the main function of kernel threads that
///   never return: they move to the edition at their next call of
///   `kthread_should_stop()`, or of the function named by
///   `, safepoint = FUNCTION` (a `bool`-returning exit test the loop calls,
///   such as `bindings::kthread_freezable_should_stop`).
///
/// For each target, a module named after it holds `prev(ARGS) -> RET`, which
/// calls the edition this one replaced, `call(ARGS) -> RET`, which calls the
/// target through dynamos, and the counters dynamos reads.
#[allow(unused_macros)] // Patches built without it (the benchmark's) include this file too.
macro_rules! patch {
    (
        type: $type:ident,
        name: $name:literal,
        authors: [$($author:literal),* $(,)?],
        description: $desc:literal,
        license: $license:literal,
        $(flags: $flags:expr,)?
        $(subsystem: $subsys:literal,)?
        $(callbacks: $callbacks:expr,)?
        functions: [
            $(
                $target:ident $(in $object:literal)? $(@ $sympos:literal)? :
                fn($($arg:ident : $aty:ty),* $(,)?) -> $ret:ty => $edition:path
                $(, adapt = $adapt:path)?
                $(, check = $check:path)?
                $(, kthread_loop = $kloop:literal $(, safepoint = $safepoint:path)?)?
            );* $(;)?
        ] $(,)?
    ) => {
        ::kernel::prelude::module! {
            type: $type,
            name: $name,
            authors: [$($author),*],
            description: $desc,
            license: $license,
        }

        $(
            /// Glue that dynamos generates for one target.
            #[allow(non_snake_case, dead_code)]
            mod $target {
                use super::*;
                use ::core::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

                /// The target's signature.
                pub(crate) type Sig = unsafe extern "C" fn($($aty),*) -> $ret;

                // Compile-time signature checks.
                const _: Sig = $edition;
                $(const _: Sig = $check;)?

                /// Threads inside this patch's edition (counted entry).
                pub(crate) static INSIDE: AtomicIsize = AtomicIsize::new(0);
                /// Threads inside the original through `orig_counted`.
                pub(crate) static ORIG_INSIDE: AtomicIsize = AtomicIsize::new(0);
                /// Address of the original, written by dynamos.
                pub(crate) static ORIG: AtomicUsize = AtomicUsize::new(0);
                /// Address of the replaced edition, written by dynamos.
                pub(crate) static PREV: AtomicUsize = AtomicUsize::new(0);

                /// The edition, counted in [`INSIDE`].
                ///
                /// # Safety
                ///
                /// The target's own contract.
                pub(crate) unsafe extern "C" fn counted($($arg: $aty),*) -> $ret {
                    let _inside = $crate::dynamos_patch::Inside::enter(&INSIDE);
                    let f: Sig = $edition;
                    // SAFETY: Called by the target's callers, under the
                    // target's own contract, which the edition shares.
                    unsafe { f($($arg),*) }
                }

                /// The original, counted in [`ORIG_INSIDE`].
                ///
                /// # Safety
                ///
                /// The target's own contract.
                pub(crate) unsafe extern "C" fn orig_counted($($arg: $aty),*) -> $ret {
                    let _inside = $crate::dynamos_patch::Inside::enter(&ORIG_INSIDE);
                    // SAFETY: dynamos writes the original's address, a
                    // function of type `Sig`, before this can run.
                    let f: Sig = unsafe {
                        ::core::mem::transmute::<usize, Sig>(ORIG.load(Ordering::Acquire))
                    };
                    // SAFETY: As in `counted`.
                    unsafe { f($($arg),*) }
                }

                /// Calls the edition this patch's edition replaced.
                ///
                /// Never inlined: dynamos lets this function's calls to the
                /// original through (and no other calls from the patch).
                ///
                /// # Safety
                ///
                /// The target's own contract.
                #[inline(never)]
                pub(crate) unsafe fn prev($($arg: $aty),*) -> $ret {
                    // SAFETY: dynamos writes the replaced edition's address,
                    // a function of type `Sig`, before the edition can run.
                    let f: Sig = unsafe {
                        ::core::mem::transmute::<usize, Sig>(PREV.load(Ordering::Acquire))
                    };
                    // SAFETY: The caller upholds the target's contract.
                    let ret = unsafe { f($($arg),*) };
                    // Not a tail call: when `f` is the original, dynamos lets
                    // the call through because its return address lies in this
                    // module; a tail call would return past this module and be
                    // sent back here, forever.
                    ::core::hint::black_box(ret)
                }

                /// Calls the target as any caller does: dynamos picks the
                /// edition, and within a subsystem a call from an edition
                /// enters the same generation. The target must be loaded.
                ///
                /// # Safety
                ///
                /// The target's own contract.
                #[inline(always)]
                pub(crate) unsafe fn call($($arg: $aty),*) -> $ret {
                    // SAFETY: dynamos writes the target's address, a
                    // function of type `Sig`, when the patch is applied.
                    let f: Sig = unsafe {
                        ::core::mem::transmute::<usize, Sig>(ORIG.load(Ordering::Acquire))
                    };
                    // SAFETY: The caller upholds the target's contract.
                    let ret = unsafe { f($($arg),*) };
                    // Not a tail call: dynamos finds the caller's generation
                    // from this return address.
                    ::core::hint::black_box(ret)
                }

                /// The adaptation handler, if the patch gave one.
                const ADAPT: Option<fn($($aty),*) -> $crate::dynamos_patch::Choice> = {
                    #[allow(unused_mut, unused_assignments)]
                    let mut handler: Option<fn($($aty),*) -> $crate::dynamos_patch::Choice> = None;
                    $(handler = Some($adapt);)?
                    handler
                };

                /// Adaptation handler glue: typed arguments from registers.
                ///
                /// # Safety
                ///
                /// `regs` points to six readable `usize`.
                pub(crate) unsafe extern "C" fn adapt(regs: *const usize) -> u32 {
                    let Some(handler) = ADAPT else {
                        return $crate::dynamos_patch::Choice::Default as u32;
                    };
                    // SAFETY: dynamos passes the six argument registers.
                    let regs = unsafe { &*regs.cast::<[usize; 6]>() };
                    #[allow(unused_mut, unused_variables)]
                    let mut regs = regs.iter().copied();
                    $(let $arg = <$aty as $crate::dynamos_patch::FromReg>::from_reg(
                        regs.next().unwrap_or(0));)*
                    handler($($arg),*) as u32
                }

                /// The descriptor of this target.
                pub(crate) fn desc() -> $crate::dynamos_patch::FuncDesc {
                    #[allow(unused_mut, unused_assignments)]
                    let mut object: *const ::kernel::ffi::c_char = ::core::ptr::null();
                    $(object = ::kernel::str::CStrExt::as_char_ptr(::kernel::c_str!($object));)?
                    #[allow(unused_mut, unused_assignments)]
                    let mut sympos = 0u32;
                    $(sympos = $sympos;)?
                    let adapt: Option<$crate::dynamos_patch::abi::AdaptFn> =
                        if ADAPT.is_some() { Some(self::adapt) } else { None };
                    let entry: Sig = $edition;
                    #[allow(unused_mut, unused_assignments)]
                    let mut flags = 0u32;
                    #[allow(unused_mut, unused_assignments)]
                    let mut safepoint: *const ::kernel::ffi::c_void = ::core::ptr::null();
                    $(
                        if $kloop { flags |= $crate::dynamos_patch::FUNC_KTHREAD_LOOP; }
                        $(safepoint = $safepoint as *const ::kernel::ffi::c_void;)?
                    )?
                    let prev_fn: unsafe fn($($aty),*) -> $ret = prev;
                    $crate::dynamos_patch::FuncDesc {
                        name: ::kernel::str::CStrExt::as_char_ptr(::kernel::c_str!(::core::stringify!($target))),
                        object,
                        sympos,
                        nr_args: <[&str]>::len(&[$(::core::stringify!($arg)),*]) as u32,
                        entry: entry as *const ::kernel::ffi::c_void,
                        counted: counted as *const ::kernel::ffi::c_void,
                        orig_counted: orig_counted as *const ::kernel::ffi::c_void,
                        inside: &INSIDE,
                        orig_inside: &ORIG_INSIDE,
                        orig: &ORIG,
                        prev: &PREV,
                        adapt,
                        prev_fn: prev_fn as *const ::kernel::ffi::c_void,
                        flags,
                        safepoint,
                    }
                }
            }
        )*

        /// The patch module: holds its registration with dynamos.
        struct $type {
            _registration: $crate::dynamos_patch::Registration,
        }

        impl ::kernel::Module for $type {
            fn init(module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                #[allow(unused_mut)]
                let mut funcs = ::kernel::alloc::KVec::new();
                $(funcs.push($target::desc(), ::kernel::alloc::flags::GFP_KERNEL)?;)*
                #[allow(unused_mut, unused_assignments)]
                let mut flags = 0u32;
                $(flags = $flags;)?
                #[allow(unused_mut, unused_assignments)]
                let mut subsystem: Option<&'static ::kernel::str::CStr> = None;
                $(subsystem = Some(::kernel::c_str!($subsys));)?
                #[allow(unused_mut, unused_assignments)]
                let mut callbacks = $crate::dynamos_patch::Callbacks::NONE;
                $(callbacks = $callbacks;)?
                Ok($type {
                    _registration: $crate::dynamos_patch::Registration::new(
                        ::kernel::c_str!($name),
                        module,
                        funcs,
                        flags,
                        subsystem,
                        callbacks,
                    )?,
                })
            }
        }
    };
}
pub(crate) use patch;
