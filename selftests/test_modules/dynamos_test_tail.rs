// SPDX-License-Identifier: GPL-2.0

//! Test patch: the wrapper that the patch-author guide teaches, on
//! dynamos_target_sleep(): it counts the call and ends in a tail jump to
//! `prev()`, so a sleeper has `prev()`'s frame on its stack but not the
//! edition's (test-retire-tail.sh).

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

static CALLS: AtomicU64 = AtomicU64::new(0);

extern "C" fn sleep_counted() -> c_int {
    CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: No arguments; the original only sleeps.
    unsafe { dynamos_target_sleep::prev() }
}

dynamos_patch::patch! {
    type: TestTail,
    name: "dynamos_test_tail",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: a wrapper that tail-calls prev()",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_sleep in "dynamos_target": fn() -> c_int => sleep_counted;
    ],
}
