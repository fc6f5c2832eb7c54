// SPDX-License-Identifier: GPL-2.0

//! Kernel threads: the calls that move a thread between editions of its
//! main function (see `mech/safepoint.rs`), wrapped for safe use.
//!
//! The C side (`raw/helpers.c`) holds `dynamos_safepoint0..3()`, where a
//! redirected safe point call lands, and `dynamos_call_loop()`,
//! which runs another edition of the thread's main function. Frames below
//! `dynamos_call_loop()` are dormant: they resume only when the edition it
//! runs returns.

use super::callbacks::Migrate;
use core::{
    ops::Range,
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{
    bindings,
    ffi::{c_int, c_void},
};

extern "C" {
    fn dynamos_safepoint0(
        a0: isize,
        a1: isize,
        a2: isize,
        a3: isize,
        a4: isize,
        a5: isize,
    ) -> isize;
    fn dynamos_safepoint1(
        a0: isize,
        a1: isize,
        a2: isize,
        a3: isize,
        a4: isize,
        a5: isize,
    ) -> isize;
    fn dynamos_safepoint2(
        a0: isize,
        a1: isize,
        a2: isize,
        a3: isize,
        a4: isize,
        a5: isize,
    ) -> isize;
    fn dynamos_safepoint3(
        a0: isize,
        a1: isize,
        a2: isize,
        a3: isize,
        a4: isize,
        a5: isize,
    ) -> isize;
    fn dynamos_call_safepoint(f: usize, args: *const isize) -> bool;
    fn dynamos_call_loop(f: unsafe extern "C" fn(*mut c_void) -> c_int, data: *mut c_void)
        -> c_int;
    fn dynamos_kthread_data() -> *mut c_void;
}

/// How many safe point functions can be hooked at once (one C stub each).
pub(crate) const SLOTS: usize = 4;

/// The argument registers of a redirected safe point call.
///
/// # Invariants
///
/// Points to the six registers a safe point stub saved, alive until the
/// stub returns; made only by `dynamos_safepoint_rs()`, so holding one
/// proves the caller is a kernel thread at its safe point (the raw pointer
/// keeps it from moving to another thread).
pub(crate) struct Args(*const isize);

/// Start and end of `dynamos_call_loop()`, found at init.
static CALL_LOOP: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// What a thread at a redirected safe point runs: given the slot, the
/// return address of the loop's call and its arguments, it answers whether
/// the loop must end.
pub(crate) type AtSafepoint = fn(slot: usize, ret: usize, args: &Args) -> bool;

/// The [`AtSafepoint`] set by [`init`]; null before.
static AT_SAFEPOINT: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

/// Finds the extent of `dynamos_call_loop()` and sets what redirected safe
/// point calls run. Called once, at init, before any safe point is hooked.
pub(crate) fn init(at_safepoint: AtSafepoint) {
    let start = dynamos_call_loop as *const () as usize;
    // Without kallsyms' size, a conservative guess: the helper is tiny.
    let size = super::kallsyms::function_size(start).unwrap_or(64);
    CALL_LOOP[0].store(start, Ordering::Relaxed);
    CALL_LOOP[1].store(start + size, Ordering::Relaxed);
    AT_SAFEPOINT.store(at_safepoint as *mut (), Ordering::Release);
}

/// The code of `dynamos_call_loop()`.
pub(crate) fn call_loop_range() -> Range<usize> {
    CALL_LOOP[0].load(Ordering::Relaxed)..CALL_LOOP[1].load(Ordering::Relaxed)
}

/// The live part of a stack trace (innermost first): the frames above
/// `dynamos_call_loop()`, if the thread runs an edition through it.
pub(crate) fn live_part(trace: &[usize]) -> &[usize] {
    let r = call_loop_range();
    match trace.iter().position(|a| r.contains(a)) {
        Some(n) => &trace[..n],
        None => trace,
    }
}

/// A function that kernel thread loops call where they hold nothing, with
/// `kthread_should_stop()`'s contract: it returns a `bool`, true to leave
/// the loop, and takes at most six integer arguments.
///
/// # Invariants
///
/// `0` is the address of such a function, callable while the value is
/// held by an edition (which keeps its module loaded) or for ever
/// (`kthread_should_stop()`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SafepointCall(usize);

impl SafepointCall {
    /// `kthread_should_stop()`, every loop's safe point.
    pub(crate) fn should_stop() -> Self {
        // INVARIANT: The kernel's own, with its own contract.
        SafepointCall(bindings::kthread_should_stop as *const () as usize)
    }

    /// The function at `addr`.
    ///
    /// # Safety
    ///
    /// `addr` is a function with `kthread_should_stop()`'s contract (see
    /// the type), callable while the value is in use.
    pub(crate) unsafe fn new(addr: usize) -> Self {
        // INVARIANT: By the caller's guarantee.
        SafepointCall(addr)
    }

    /// Its address.
    pub(crate) fn addr(self) -> usize {
        self.0
    }
}

/// Address of the C stub where calls of the safe point hooked in `slot`
/// go when a thread must move.
pub(crate) fn stub_addr(slot: usize) -> usize {
    let stubs = [
        dynamos_safepoint0 as *const () as usize,
        dynamos_safepoint1 as *const () as usize,
        dynamos_safepoint2 as *const () as usize,
        dynamos_safepoint3 as *const () as usize,
    ];
    stubs[slot % SLOTS]
}

/// What the safe point function at `addr` answers to the redirected call
/// whose arguments are `args`: whether the loop must end.
pub(crate) fn safepoint_answer(f: SafepointCall, args: &Args) -> bool {
    // SAFETY: `f` has `kthread_should_stop()`'s contract (type invariant);
    // `args` holds the six registers of the loop's call, read by the C
    // stub (its invariant). The call comes from dynamos' code, so the hook
    // lets it through.
    unsafe { dynamos_call_safepoint(f.0, args.0) }
}

/// The calling kernel thread's `data` argument.
fn data() -> *mut c_void {
    // SAFETY: Called from a safe point stub, which only kernel threads
    // reach (in place of their loop's own call).
    unsafe { dynamos_kthread_data() }
}

/// Called by the safe point stubs (`raw/helpers.c`) in a kernel thread, in
/// place of its loop's call, from `ret`, of the safe point hooked in
/// `slot`, with the call's argument registers. Returns what that call
/// returns: whether the loop must end.
///
/// # Safety
///
/// Called by the stubs only, in a kernel thread, with `args` their array
/// of six saved registers.
#[unsafe(no_mangle)]
unsafe extern "C" fn dynamos_safepoint_rs(slot: u32, ret: usize, args: *const isize) -> isize {
    // INVARIANT: `args` is the stub's array of six registers, alive until
    // the stub returns, after this call.
    let args = Args(args);
    let f = AT_SAFEPOINT.load(Ordering::Acquire);
    if f.is_null() {
        return 0;
    }
    // SAFETY: Only `init` stores here, an `AtSafepoint`.
    let f = unsafe { core::mem::transmute::<*mut (), AtSafepoint>(f) };
    isize::from(f(slot as usize, ret, &args))
}

/// Calls a patch's state transfer on the calling thread's data, in a
/// kernel thread at its safe point (`_at` proves it).
pub(crate) fn migrate(_at: &Args, f: &Migrate, dir: u32) {
    f.call(data(), dir);
}

/// The main function of kernel threads of a patched loop: an edition with
/// the thread function type.
///
/// # Invariants
///
/// `0` is an `int (*)(void *)` function that may be called in a kernel
/// thread on its data while the edition that holds the value (and so its
/// patch module) lives.
#[derive(Clone, Copy)]
pub(crate) struct LoopFn(unsafe extern "C" fn(*mut c_void) -> c_int);

impl LoopFn {
    /// Wraps the entry at `addr`.
    ///
    /// # Safety
    ///
    /// `addr` is an `int (*)(void *)` function (a `FUNC_KTHREAD_LOOP`
    /// edition, checked at compile time by the patch macro against the
    /// target's signature), callable for as long as the value exists.
    pub(crate) unsafe fn new(addr: usize) -> Self {
        // SAFETY: By the caller's guarantee, `addr` is such a function.
        // INVARIANT: Likewise.
        LoopFn(unsafe {
            core::mem::transmute::<usize, unsafe extern "C" fn(*mut c_void) -> c_int>(addr)
        })
    }
}

/// Runs `f` as the calling thread's main function, on top of the current
/// frame, until it returns, in a kernel thread at its safe point (`_at`
/// proves it).
pub(crate) fn run_loop(_at: &Args, f: LoopFn) -> c_int {
    // SAFETY: `f` is a thread function (type invariant); the thread's own
    // data is its argument.
    unsafe { dynamos_call_loop(f.0, data()) }
}
