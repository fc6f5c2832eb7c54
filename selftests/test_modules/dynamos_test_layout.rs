// SPDX-License-Identifier: GPL-2.0

//! Test patch: dynamos_target_add() returns the calling process's id as
//! read through `bindings::task_struct` (`tgid`, far past `stats`), so that
//! user space can check the bindings' layout against the running kernel
//! (test-bindings-layout.sh).

use kernel::{ffi::c_int, task::Task};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

/// `a + b` plus the caller's process id, read from its task_struct.
extern "C" fn add_tgid(a: c_int, b: c_int) -> c_int {
    let task = Task::current_raw();
    // SAFETY: `current` is the calling task, live during the call; `tgid`
    // is fixed for its lifetime.
    let tgid = unsafe { (*task).tgid };
    a + b + tgid
}

dynamos_patch::patch! {
    type: TestLayout,
    name: "dynamos_test_layout",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: add + the caller's tgid, read through bindings",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_add in "dynamos_target": fn(a: c_int, b: c_int) -> c_int => add_tgid;
    ],
}
