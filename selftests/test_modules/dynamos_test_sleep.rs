// SPDX-License-Identifier: GPL-2.0

//! Test patch: an edition of dynamos_target_sleep() that sleeps in the
//! original and returns 7, so that a sleeper shows which edition it ran.

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" fn sleep_v7() -> c_int {
    // SAFETY: No arguments; the original only sleeps.
    let ret = unsafe { dynamos_target_sleep::prev() };
    if ret == 0 {
        7
    } else {
        ret
    }
}

dynamos_patch::patch! {
    type: TestSleep,
    name: "dynamos_test_sleep",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: sleeps in the original, returns 7",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_sleep in "dynamos_target": fn() -> c_int => sleep_v7;
    ],
}
