// SPDX-License-Identifier: GPL-2.0

//! Test patch: a cumulative patch (livepatch's `replace`). It makes
//! dynamos_target_add() return a + b + 200 and replaces every patch enabled
//! before it; functions it does not patch go back to their originals.

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" fn add_v200(a: c_int, b: c_int) -> c_int {
    a.wrapping_add(b).wrapping_add(200)
}

dynamos_patch::patch! {
    type: TestReplace,
    name: "dynamos_test_replace",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: cumulative, add returns a + b + 200",
    license: "GPL",
    flags: dynamos_patch::PATCH_REPLACE | dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_add in "dynamos_target": fn(a: c_int, b: c_int) -> c_int => add_v200;
    ],
}
