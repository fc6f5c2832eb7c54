// SPDX-License-Identifier: GPL-2.0

//! Test patch: an interface change (`data_target.c`).
//!
//! `dynamos_iface_compute(x)` gains a parameter: the new edition is
//! `compute(x, scale)`. Its two callers switch with it, in one subsystem,
//! and call it with the new interface (`dynamos_iface_compute::call`).
//! Arguments passed with the new interface carry `DYNAMOS_IFACE_TAG`: the
//! original counts a crossing if it gets a tagged argument, the new edition
//! if it gets an untagged one. Old-interface calls that still come (a
//! caller that slept through the switch) enter the adaptor, which
//! translates them.

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

extern "C" {
    fn dynamos_data_note(what: i32);
    fn dynamos_iface_wait();
}

/// `DYNAMOS_IFACE_TAG` of `data_target.h`.
const TAG: u32 = 0x4000_0000;
/// `DYNAMOS_NOTE_*` of `data_target.h`.
const NOTE_CROSSING: i32 = 0;
const NOTE_ADAPTED: i32 = 1;
const NOTE_NEW: i32 = 2;

fn note(what: i32) {
    // SAFETY: The target's exported counter; any value is accepted.
    unsafe { dynamos_data_note(what) };
}

/// The new callee: `x * scale`, both tagged.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn compute_v2(x: u32, scale: u32) -> u32 {
    if x & TAG == 0 || scale & TAG == 0 {
        note(NOTE_CROSSING);
    }
    note(NOTE_NEW);
    (x & 0xffff) * (scale & 0xffff)
}

/// Old-interface calls: `compute(x)` meant `x * 2`.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn compute_adaptor(x: u32) -> u32 {
    if x & TAG != 0 {
        // A new-interface call sent to the old interface.
        note(NOTE_CROSSING);
    }
    note(NOTE_ADAPTED);
    // SAFETY: The new interface's contract: tagged arguments.
    unsafe { compute_v2(x | TAG, 2 | TAG) }
}

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn caller_a_v2(x: u32) -> u32 {
    // SAFETY: The target module is loaded while its functions run.
    let r = unsafe { dynamos_iface_compute::call(x | TAG, 2 | TAG) };
    r + 1
}

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn caller_b_v2(x: u32, sleep: bool) -> u32 {
    if sleep {
        // SAFETY: Sleeps until the target's `iface_wake` is written.
        unsafe { dynamos_iface_wait() };
    }
    // SAFETY: As in `caller_a_v2`.
    let r = unsafe { dynamos_iface_compute::call(x | TAG, 2 | TAG) };
    r + 1
}

dynamos_patch::patch! {
    type: IfacePatch,
    name: "dynamos_test_iface",
    authors: ["dynamos developers"],
    description: "dynamos selftest: a callee gains a parameter, with its callers",
    license: "GPL",
    subsystem: "dynamos_iface",
    functions: [
        dynamos_iface_compute in "dynamos_data": fn(x: u32) -> u32 => compute_v2,
            interface = fn(x: u32, scale: u32) -> u32,
            adaptor = compute_adaptor,
            callers = [dynamos_iface_caller_a, dynamos_iface_caller_b];
        dynamos_iface_caller_a in "dynamos_data": fn(x: u32) -> u32 => caller_a_v2;
        dynamos_iface_caller_b in "dynamos_data": fn(x: u32, sleep: bool) -> u32 => caller_b_v2;
    ],
}
