// SPDX-License-Identifier: GPL-2.0

//! Test patch that cannot be applied: dynamos_dup is ambiguous without a
//! position.

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" fn dup_v300() -> c_int {
    300
}

dynamos_patch::patch! {
    type: TestDupx,
    name: "dynamos_test_dupx",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: an ambiguous name",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_dup in "dynamos_target": fn() -> c_int => dup_v300;
    ],
}
