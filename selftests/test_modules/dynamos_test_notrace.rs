// SPDX-License-Identifier: GPL-2.0

//! Test patch that cannot be applied: its target is not traceable.

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" fn notrace_v1() -> c_int {
    1
}

dynamos_patch::patch! {
    type: TestNotrace,
    name: "dynamos_test_notrace",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: targets a function ftrace cannot hook",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_notrace in "dynamos_target": fn() -> c_int => notrace_v1;
    ],
}
