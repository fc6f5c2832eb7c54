// SPDX-License-Identifier: GPL-2.0

//! Test patch: generation 1 of the `dynamos_subsys` subsystem
//! (`subsys_target.c`), switched as one unit.
//!
//! - The token encoding changes (`raw = value ^ KEY`): a path that encodes
//!   in one generation and checks in the other counts a mix.
//! - The subsystem's state (paths completed) lives in this patch's
//!   `COUNT_V1`; `transfer` moves it between generations.
//! - The kernel threads' loops are replaced; their tick counts live in
//!   `NEW_TICKS`, moved by `migrate` at each thread's safe point: its call
//!   of `kthread_should_stop()` for the first, of the declared
//!   `dynamos_sub_should_exit()` for the second.
//! - `pre_patch` and `pre_unpatch` return what the target's `refuse` file
//!   holds.
//!
//! The callbacks log their order.

use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use kernel::{
    bindings,
    ffi::{c_int, c_void},
    prelude::*,
};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

use dynamos_patch::{Callbacks, FORWARD};

/// `struct dynamos_sub_token` of `subsys_target.h`.
#[repr(C)]
pub(crate) struct Token {
    value: u64,
    raw: u64,
}

/// `struct dynamos_sub_loop_state` of `subsys_target.h`.
#[repr(C)]
pub(crate) struct LoopState {
    edition: c_int,
    ticks: u64,
}

extern "C" {
    static dynamos_sub_count_v0: AtomicI64;
    static dynamos_sub_loop2_state: LoopState;
    fn dynamos_sub_should_exit() -> bool;
    fn dynamos_sub_run(v: u64) -> c_int;
    fn dynamos_sub_tick(v: u64) -> c_int;
    fn dynamos_sub_pause();
    fn dynamos_sub_wait();
    fn dynamos_sub_refusal() -> c_int;
}

/// Generation 1's encoding key.
const KEY: u64 = 0x5a5a_5a5a_5a5a_5a5a;

/// Generation 1's state: paths completed.
static COUNT_V1: AtomicI64 = AtomicI64::new(0);

/// Generation 1's loop states: ticks of the first and second loop.
static NEW_TICKS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Which loop `data` belongs to: 0 or 1 (the second loop).
fn loop_index(data: *mut c_void) -> usize {
    // Only the address of the target's exported state is taken.
    let second = &raw const dynamos_sub_loop2_state;
    usize::from(core::ptr::eq(data.cast_const().cast::<LoopState>(), second))
}

/// One iteration of generation 1's loops.
fn tick_v1(data: *mut c_void) {
    let st = data.cast::<LoopState>();
    let ticks = NEW_TICKS[loop_index(data)].fetch_add(1, Ordering::Relaxed) + 1;
    // SAFETY: `data` is one of the target's loop states, which outlive the
    // threads; the target reads them with READ_ONCE.
    unsafe {
        core::ptr::write_volatile(&raw mut (*st).edition, 1);
        core::ptr::write_volatile(&raw mut (*st).ticks, ticks);
        dynamos_sub_tick(ticks);
        bindings::schedule_timeout_interruptible(
            kernel::time::msecs_to_jiffies(10).try_into().unwrap_or(1),
        );
    }
}

extern "C" fn encode_v1(t: *mut Token, v: u64) -> c_int {
    // SAFETY: The caller passes a token on its stack.
    unsafe { (*t).raw = v ^ KEY };
    0
}

extern "C" fn check_v1(t: *mut Token) -> c_int {
    COUNT_V1.fetch_add(1, Ordering::Relaxed);
    // SAFETY: As in `encode_v1`.
    let (raw, value) = unsafe { ((*t).raw, (*t).value) };
    c_int::from(raw ^ KEY != value)
}

extern "C" fn path_v1(v: u64) -> c_int {
    let mut t = Token { value: v, raw: 0 };
    // SAFETY: Calls of the subsystem's functions with a token on this
    // stack; dynamos sends them to this generation.
    unsafe {
        dynamos_sub_encode::call(&mut t, v);
        dynamos_sub_pause();
        dynamos_sub_check::call(&mut t)
    }
}

extern "C" fn count_v1() -> u64 {
    COUNT_V1.load(Ordering::Relaxed) as u64
}

extern "C" fn sleep_v1() -> c_int {
    // SAFETY: Helpers of the target, with no arguments to check.
    unsafe {
        dynamos_sub_wait();
        core::hint::black_box(dynamos_sub_run(7));
    }
    1
}

extern "C" fn loop_v1(data: *mut c_void) -> c_int {
    // SAFETY: The thread's safe point; dynamos sends this call to its own
    // code when the thread must move.
    while !unsafe { bindings::kthread_should_stop() } {
        tick_v1(data);
    }
    0
}

extern "C" fn loop2_v1(data: *mut c_void) -> c_int {
    // SAFETY: The declared safe point, a helper of the target with no
    // arguments; dynamos sends this call to its own code when the thread
    // must move.
    while !unsafe { dynamos_sub_should_exit() } {
        tick_v1(data);
    }
    0
}

/// # Safety
///
/// Called by dynamos only (all callbacks below: see `abi::Callbacks`).
unsafe extern "C" fn pre_patch() -> c_int {
    // SAFETY: A helper of the target with no arguments.
    let r = unsafe { dynamos_sub_refusal() };
    pr_info!("pre_patch: {}\n", r);
    r
}

/// # Safety
///
/// Called by dynamos only.
unsafe extern "C" fn post_patch() {
    pr_info!("post_patch\n");
}

/// # Safety
///
/// Called by dynamos only.
unsafe extern "C" fn pre_unpatch() -> c_int {
    // SAFETY: A helper of the target with no arguments.
    let r = unsafe { dynamos_sub_refusal() };
    pr_info!("pre_unpatch: {}\n", r);
    r
}

/// # Safety
///
/// Called by dynamos only.
unsafe extern "C" fn post_unpatch() {
    pr_info!("post_unpatch\n");
}

/// # Safety
///
/// Called by dynamos only.
unsafe extern "C" fn transfer(dir: u32) {
    // SAFETY: The target's exported counter, an `atomic64_t`.
    let v0 = unsafe { &dynamos_sub_count_v0 };
    if dir == FORWARD {
        COUNT_V1.fetch_add(v0.swap(0, Ordering::AcqRel), Ordering::AcqRel);
        pr_info!("transfer forward\n");
    } else {
        v0.fetch_add(COUNT_V1.swap(0, Ordering::AcqRel), Ordering::AcqRel);
        pr_info!("transfer backward\n");
    }
}

/// # Safety
///
/// Called by dynamos only.
unsafe extern "C" fn migrate(data: *mut c_void, dir: u32) {
    let st = data.cast::<LoopState>();
    let new = &NEW_TICKS[loop_index(data)];
    // SAFETY: `data` is a loop state, as in `tick_v1`; the thread is at its
    // safe point, so nothing else writes its ticks.
    unsafe {
        if dir == FORWARD {
            new.store(
                core::ptr::read_volatile(&raw const (*st).ticks),
                Ordering::Relaxed,
            );
        } else {
            core::ptr::write_volatile(&raw mut (*st).ticks, new.load(Ordering::Relaxed));
        }
    }
}

dynamos_patch::patch! {
    type: TestSubsys,
    name: "dynamos_test_subsys",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: generation 1 of the dynamos_subsys subsystem",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    subsystem: "dynamos_subsys",
    callbacks: Callbacks {
        pre_patch: Some(pre_patch),
        post_patch: Some(post_patch),
        pre_unpatch: Some(pre_unpatch),
        post_unpatch: Some(post_unpatch),
        transfer: Some(transfer),
        migrate: Some(migrate),
    },
    functions: [
        dynamos_sub_encode in "dynamos_subsys": fn(t: *mut Token, v: u64) -> c_int => encode_v1;
        dynamos_sub_check in "dynamos_subsys": fn(t: *mut Token) -> c_int => check_v1;
        dynamos_sub_path in "dynamos_subsys": fn(v: u64) -> c_int => path_v1;
        dynamos_sub_count in "dynamos_subsys": fn() -> u64 => count_v1;
        dynamos_sub_sleep in "dynamos_subsys": fn() -> c_int => sleep_v1;
        dynamos_sub_loop in "dynamos_subsys": fn(data: *mut c_void) -> c_int => loop_v1,
            kthread_loop = true;
        dynamos_sub_loop2 in "dynamos_subsys": fn(data: *mut c_void) -> c_int => loop2_v1,
            kthread_loop = true, safepoint = dynamos_sub_should_exit;
    ],
}
