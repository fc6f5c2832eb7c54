// SPDX-License-Identifier: GPL-2.0

//! Test patch: an adaptation handler on dynamos_target_sleep() sends every
//! call to this edition, which counts it and ends in a tail jump to
//! `prev()`. Calls enter through the patch's generated adaptive entry,
//! which asks the handler; a sleeper has `prev()`'s frame (and whatever of
//! that entry stays) on its stack, not the edition's
//! (test-retire-adapt.sh).

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

use dynamos_patch::Choice;

static CALLS: AtomicU64 = AtomicU64::new(0);

extern "C" fn sleep_adapted() -> c_int {
    CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: No arguments; the original only sleeps.
    unsafe { dynamos_target_sleep::prev() }
}

/// Every call: the handler decides, and its answer is this edition.
fn every_call() -> Choice {
    Choice::This
}

dynamos_patch::patch! {
    type: TestAdaptTail,
    name: "dynamos_test_adapt_tail",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: a handler picks an edition that tail-calls prev()",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_sleep in "dynamos_target": fn() -> c_int => sleep_adapted,
            adapt = every_call;
    ],
}
