// SPDX-License-Identifier: GPL-2.0

//! Test patch: a wrapper edition of dynamos_target_add() that counts its
//! calls and calls the edition it replaced, so behaviour is unchanged. The
//! count is printed when the module is removed.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{ffi::c_int, prelude::*};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

static CALLS: AtomicU64 = AtomicU64::new(0);

extern "C" fn add_counting(a: c_int, b: c_int) -> c_int {
    CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: Same arguments, same contract as the call being wrapped.
    unsafe { dynamos_target_add::prev(a, b) }
}

dynamos_patch::patch! {
    type: TestWrap,
    name: "dynamos_test_wrap",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: counts calls to add, then calls the original",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_add in "dynamos_target": fn(a: c_int, b: c_int) -> c_int => add_counting;
    ],
}

impl Drop for TestWrap {
    fn drop(&mut self) {
        pr_info!("counted {} calls\n", CALLS.load(Ordering::Relaxed));
    }
}
