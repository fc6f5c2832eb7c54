// SPDX-License-Identifier: GPL-2.0

//! Test patch: DynAMOS' adaptive example. Writes of more than 64 KiB go to
//! this edition of dynamos_target_write() (which returns 2); the others go
//! to the edition it replaced.

use kernel::ffi::{c_long, c_ulong};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

use dynamos_patch::Choice;

extern "C" fn write_v2(_len: c_ulong) -> c_long {
    2
}

fn big_writes(len: c_ulong) -> Choice {
    if len > 64 * 1024 {
        Choice::This
    } else {
        Choice::Replaced
    }
}

dynamos_patch::patch! {
    type: TestAdapt,
    name: "dynamos_test_adapt",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: an adaptation handler picks the edition by length",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_target_write in "dynamos_target": fn(len: c_ulong) -> c_long => write_v2,
            adapt = big_writes;
    ],
}
