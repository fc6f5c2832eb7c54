// SPDX-License-Identifier: GPL-2.0

//! Test patch that cannot be applied: its second function does not exist.
//! Loading it must fail and leave the first function unpatched.

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" fn add_v1000(a: c_int, b: c_int) -> c_int {
    a.wrapping_add(b).wrapping_add(1000)
}

extern "C" fn missing_v1() -> c_int {
    1
}

dynamos_patch::patch! {
    type: TestBad,
    name: "dynamos_test_bad",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: one good function, one unknown",
    license: "GPL",
    functions: [
        dynamos_target_add in "dynamos_target": fn(a: c_int, b: c_int) -> c_int => add_v1000;
        dynamos_target_missing in "dynamos_target": fn() -> c_int => missing_v1;
    ],
}
