// SPDX-License-Identifier: GPL-2.0

//! Test patch: built for another build of the kernel. It names the second
//! `show_map_vma()` of vmlinux (`@ 2`); the build checks it against a
//! `System.map` that lists two (scripts/build.sh makes that map), but the
//! running kernel has one, so the module loader must refuse it at `insmod`
//! (test-ksyms-stale.sh). Its edition is that of `dynamos_test_maps` and
//! never runs.

use kernel::{
    bindings,
    ffi::{c_int, c_void},
};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

dynamos_patch::ksyms! {
    show_map_vma @ 2: fn(m: *mut bindings::seq_file, vma: *mut c_void);
}

/// `show_map()` with every line shown twice, as in `dynamos_test_maps`.
extern "C" fn show_map_stale(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
    // SAFETY: `show_map()`'s arguments, passed on as they came; the
    // loader never lets this module load (see the module's comment).
    unsafe { show_map_vma::call(m, v) };
    // SAFETY: As above.
    unsafe { show_map::prev(m, v) }
}

dynamos_patch::patch! {
    type: TestStale,
    name: "dynamos_test_stale",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: a ksyms! position the running kernel does not have",
    license: "GPL",
    functions: [
        show_map: fn(m: *mut bindings::seq_file, v: *mut c_void) -> c_int => show_map_stale;
    ],
}
