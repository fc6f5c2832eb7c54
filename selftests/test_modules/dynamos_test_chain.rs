// SPDX-License-Identifier: GPL-2.0

//! Test patch: new editions of the three patched functions of the
//! dynamos_chain module (`chain.h`). Each marks the path it is handed with
//! its new bit, then calls on as the original does, through the functions'
//! entries (so through their sites): `a` tail-calls `b`, `b` calls the
//! unpatched helper, `c` recurses through it. A path that holds old and
//! new bits mixed editions (test-consistency.sh).

use kernel::ffi::{c_int, c_ulong};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

/// `struct dynamos_chain_path` of chain.h.
#[repr(C)]
pub(crate) struct Path {
    seen: c_ulong,
    nap: c_int,
}

const NEW_A: c_ulong = 1 << 8;
const NEW_B: c_ulong = 1 << 9;
const NEW_C: c_ulong = 1 << 10;

dynamos_patch::ksyms! {
    dynamos_chain_b in "dynamos_chain" as chain_b: fn(p: *mut Path, depth: c_int) -> c_int;
    dynamos_chain_help in "dynamos_chain" as chain_help: fn(p: *mut Path, depth: c_int) -> c_int;
}

/// Marks `p` with `bit`.
///
/// # Safety
///
/// `p` is the path its caller was handed, valid for the call.
unsafe fn mark(p: *mut Path, bit: c_ulong) {
    // SAFETY: By the function's contract; one task owns a path.
    unsafe { (*p).seen |= bit };
}

extern "C" fn a_v2(p: *mut Path, depth: c_int) -> c_int {
    // SAFETY: `p` is the path the caller passed; `b` is the module's
    // function, which is loaded while this edition may run (its module is
    // the target).
    unsafe {
        mark(p, NEW_A);
        chain_b::call(p, depth)
    }
}

extern "C" fn b_v2(p: *mut Path, depth: c_int) -> c_int {
    // SAFETY: As in `a_v2`.
    unsafe {
        mark(p, NEW_B);
        chain_help::call(p, depth) + 1
    }
}

extern "C" fn c_v2(p: *mut Path, depth: c_int) -> c_int {
    // SAFETY: As in `a_v2`.
    unsafe {
        mark(p, NEW_C);
        if depth > 0 {
            chain_help::call(p, depth - 1) + 1
        } else {
            1
        }
    }
}

dynamos_patch::patch! {
    type: TestChain,
    name: "dynamos_test_chain",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: new editions of a call chain, for the mix detector",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        dynamos_chain_a in "dynamos_chain": fn(p: *mut Path, depth: c_int) -> c_int => a_v2;
        dynamos_chain_b in "dynamos_chain": fn(p: *mut Path, depth: c_int) -> c_int => b_v2;
        dynamos_chain_c in "dynamos_chain": fn(p: *mut Path, depth: c_int) -> c_int => c_v2;
    ],
}
