// SPDX-License-Identifier: GPL-2.0

//! Test patch: an interface change of dynamos_target_sleep() whose one
//! caller, the target module's debugfs `sleep_read()`, is not in the patch:
//! its calls keep the old interface and enter the adaptor. The adaptor ends in a tail jump to the new edition, which
//! ends in a tail jump to the target module's dynamos_target_deep_sleep():
//! a sleeper has only the patch's generated adaptor entry on its stack
//! (test-retire-adaptor.sh).

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" {
    /// target_main.c: recurses `depth` times, then sleeps until released.
    fn dynamos_target_deep_sleep(depth: c_int) -> c_int;
}

/// The new interface: how deep to recurse before sleeping.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn sleep_v2(depth: c_int) -> c_int {
    // SAFETY: The target module is loaded while its function is patched;
    // any depth up to its limit is accepted.
    unsafe { dynamos_target_deep_sleep(depth) }
}

/// Old-interface calls: `sleep()` meant "sleep here".
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn sleep_adaptor() -> c_int {
    // SAFETY: The new interface's contract.
    unsafe { sleep_v2(0) }
}

dynamos_patch::patch! {
    type: TestAdaptorTail,
    name: "dynamos_test_adaptor_tail",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: an adaptor that tail-calls the new edition",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    // An interface change needs one: its callers switch with it.
    subsystem: "dynamos_adaptor_tail",
    functions: [
        dynamos_target_sleep in "dynamos_target": fn() -> c_int => sleep_v2,
            interface = fn(depth: c_int) -> c_int,
            adaptor = sleep_adaptor,
            callers = [sleep_read];
    ],
}
