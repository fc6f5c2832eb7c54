// SPDX-License-Identifier: GPL-2.0

//! Test patch: dynamos_target_add() returns a + b + 100.

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" fn add_v100(a: c_int, b: c_int) -> c_int {
    a.wrapping_add(b).wrapping_add(100)
}

dynamos_patch::patch! {
    type: TestAdd,
    name: "dynamos_test_add",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: add returns a + b + 100",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_add in "dynamos_target": fn(a: c_int, b: c_int) -> c_int => add_v100;
    ],
}
