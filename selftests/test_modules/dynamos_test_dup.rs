// SPDX-License-Identifier: GPL-2.0

//! Test patch: the second of two functions named dynamos_dup in
//! dynamos_target (livepatch's sympos) returns 200.

use kernel::ffi::c_int;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" fn dup_v200() -> c_int {
    200
}

dynamos_patch::patch! {
    type: TestDup,
    name: "dynamos_test_dup",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: a duplicate name picked by position",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_dup in "dynamos_target" @ 2: fn() -> c_int => dup_v200;
    ],
}
