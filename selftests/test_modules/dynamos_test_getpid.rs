// SPDX-License-Identifier: GPL-2.0

//! Test patch: an edition of the getpid() syscall that calls the original
//! and reports, once per process, that the process entered it.

use core::sync::atomic::{AtomicI32, Ordering};
use kernel::{bindings, ffi::c_long, prelude::*};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

/// Processes seen in the new edition (0: free slot).
static SEEN: [AtomicI32; 512] = [const { AtomicI32::new(0) }; 512];

extern "C" fn getpid_v1(regs: *const bindings::pt_regs) -> c_long {
    // SAFETY: Same argument, same contract as the syscall being wrapped.
    let ret = unsafe { __x64_sys_getpid::prev(regs) };
    let pid = ret as i32;
    let claim = |s: &AtomicI32| {
        s.compare_exchange(0, pid, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    };
    if !SEEN.iter().any(|s| s.load(Ordering::Relaxed) == pid) && SEEN.iter().any(claim) {
        pr_info!("pid {} entered the new edition\n", pid);
    }
    ret
}

dynamos_patch::patch! {
    type: TestGetpid,
    name: "dynamos_test_getpid",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: getpid through a new edition",
    license: "GPL",
    functions: [
        __x64_sys_getpid: fn(regs: *const bindings::pt_regs) -> c_long => getpid_v1;
    ],
}
