// SPDX-License-Identifier: GPL-2.0

//! Kernel threads: the calls that move a thread between editions of its
//! main function (see `safepoint.rs`), wrapped for safe use.
//!
//! The C side (`src/helpers.c`) holds `dynamos_safepoint()`, where a
//! redirected `kthread_should_stop()` call lands, and `dynamos_call_loop()`,
//! which runs another edition of the thread's main function. Frames below
//! `dynamos_call_loop()` are dormant: they resume only when the edition it
//! runs returns.

use crate::site::{Edition, MigrateFn};
use core::{
    ops::Range,
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{
    bindings,
    ffi::{c_int, c_void},
};

extern "C" {
    fn dynamos_safepoint() -> bool;
    fn dynamos_call_loop(f: unsafe extern "C" fn(*mut c_void) -> c_int, data: *mut c_void)
        -> c_int;
    fn dynamos_kthread_data() -> *mut c_void;
}

/// Start and end of `dynamos_call_loop()`, found at init.
static CALL_LOOP: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// Finds the extent of `dynamos_call_loop()`. Called once, at init.
pub(crate) fn init() {
    let start = dynamos_call_loop as *const () as usize;
    // Without kallsyms' size, a conservative guess: the helper is tiny.
    let size = crate::kallsyms::function_size(start).unwrap_or(64);
    CALL_LOOP[0].store(start, Ordering::Relaxed);
    CALL_LOOP[1].store(start + size, Ordering::Relaxed);
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

/// Address of `kthread_should_stop()`, the safe point of kernel threads.
pub(crate) fn should_stop_addr() -> usize {
    bindings::kthread_should_stop as *const () as usize
}

/// Address of `dynamos_safepoint()`, where calls of `kthread_should_stop()`
/// from a thread that must move are sent.
pub(crate) fn safepoint_addr() -> usize {
    dynamos_safepoint as *const () as usize
}

/// Whether the calling kernel thread has been asked to stop.
pub(crate) fn should_stop() -> bool {
    // SAFETY: Called from `dynamos_safepoint()`, which only kernel threads
    // reach (in place of their own call of `kthread_should_stop()`).
    unsafe { bindings::kthread_should_stop() }
}

/// The calling kernel thread's `data` argument.
fn data() -> *mut c_void {
    // SAFETY: As in `should_stop`: the caller is a kernel thread.
    unsafe { dynamos_kthread_data() }
}

/// Calls a patch's state transfer on the calling thread's data.
pub(crate) fn migrate(f: MigrateFn, dir: u32, _edition: &Edition) {
    // SAFETY: `f` belongs to the patch of `_edition`, which keeps the
    // patch module loaded; the patch receives the thread's own data, as
    // its contract (`abi::Callbacks::migrate`) says.
    unsafe { f(data(), dir) };
}

/// Runs `edition` as the calling thread's main function, on top of the
/// current frame, until it returns.
pub(crate) fn run_loop(edition: &Edition) -> c_int {
    // SAFETY: A `FUNC_KTHREAD_LOOP` edition has the thread function type
    // (checked at compile time by the patch macro against the target's
    // signature, which is `int (*)(void *)`); `edition` keeps its module
    // loaded for the call; the thread's own data is its argument.
    unsafe {
        let f = core::mem::transmute::<usize, unsafe extern "C" fn(*mut c_void) -> c_int>(
            edition.entry(),
        );
        dynamos_call_loop(f, data())
    }
}
