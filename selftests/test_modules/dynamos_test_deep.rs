// SPDX-License-Identifier: GPL-2.0

//! Test patch: an edition of dynamos_target_sleep() that sleeps under a
//! hundred frames of recursion (dynamos_target_deep_sleep()), deeper than
//! dynamos' stack trace buffer, and returns 2.

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" {
    fn dynamos_target_deep_sleep(depth: c_int) -> c_int;
}

/// Frames of recursion above the edition's own.
const DEPTH: c_int = 100;

extern "C" fn sleep_deep() -> c_int {
    // SAFETY: The target module's exported function; it only recurses and
    // sleeps.
    let ret = unsafe { dynamos_target_deep_sleep(DEPTH) };
    if ret == 0 {
        2
    } else {
        ret
    }
}

dynamos_patch::patch! {
    type: TestDeep,
    name: "dynamos_test_deep",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: a sleeper too deep for the stack trace",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_sleep in "dynamos_target": fn() -> c_int => sleep_deep;
    ],
}
