// SPDX-License-Identifier: GPL-2.0

//! Test patch: dynamos_target_add() + 300, with callbacks that log when
//! they run (test-callback-order.sh).

use dynamos_patch::Callbacks;
use kernel::{ffi::c_int, prelude::*};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" fn add_v300(a: c_int, b: c_int) -> c_int {
    a + b + 300
}

/// # Safety
///
/// Called by dynamos only (all callbacks below: see `abi::Callbacks`).
unsafe extern "C" fn pre_patch() -> c_int {
    pr_info!("pre_patch\n");
    0
}

/// # Safety
///
/// Called by dynamos only.
unsafe extern "C" fn post_patch() {
    pr_info!("post_patch\n");
}

/// # Safety
///
/// Called by dynamos only.
unsafe extern "C" fn pre_unpatch() -> c_int {
    pr_info!("pre_unpatch\n");
    0
}

/// # Safety
///
/// Called by dynamos only.
unsafe extern "C" fn post_unpatch() {
    pr_info!("post_unpatch\n");
}

dynamos_patch::patch! {
    type: TestCb,
    name: "dynamos_test_cb",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: add + 300, with logging callbacks",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    callbacks: Callbacks {
        pre_patch: Some(pre_patch),
        post_patch: Some(post_patch),
        pre_unpatch: Some(pre_unpatch),
        post_unpatch: Some(post_unpatch),
        transfer: None,
        migrate: None,
    },
    functions: [
        dynamos_target_add in "dynamos_target": fn(a: c_int, b: c_int) -> c_int => add_v300;
    ],
}
