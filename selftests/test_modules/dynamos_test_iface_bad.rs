// SPDX-License-Identifier: GPL-2.0

//! Test patch that dynamos must refuse: `dynamos_iface_compute` changes its
//! interface, and its caller `dynamos_iface_caller_b` has neither a new
//! edition in the patch nor an adaptor to cover it.

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn compute_v2(x: u32, scale: u32) -> u32 {
    x.wrapping_mul(scale)
}

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn caller_a_v2(x: u32) -> u32 {
    // SAFETY: Never runs: the patch is refused.
    let r = unsafe { dynamos_iface_compute::call(x, 2) };
    r + 1
}

dynamos_patch::patch! {
    type: IfaceBadPatch,
    name: "dynamos_test_iface_bad",
    authors: ["dynamos developers"],
    description: "dynamos selftest: an interface change that leaves a caller behind",
    license: "GPL",
    subsystem: "dynamos_iface",
    functions: [
        dynamos_iface_compute in "dynamos_data": fn(x: u32) -> u32 => compute_v2,
            interface = fn(x: u32, scale: u32) -> u32,
            callers = [dynamos_iface_caller_a, dynamos_iface_caller_b];
        dynamos_iface_caller_a in "dynamos_data": fn(x: u32) -> u32 => caller_a_v2;
    ],
}
