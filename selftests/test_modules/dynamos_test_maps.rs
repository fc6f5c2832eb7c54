// SPDX-License-Identifier: GPL-2.0

//! Test patch on real vmlinux code: a new edition of `show_map()`
//! (fs/proc/task_mmu.c, static), the `show` of `/proc/PID/maps`, that
//! calls the file's static helper `show_map_vma()` through `ksyms!`, then
//! the original through `prev()`, so that every line of the file appears
//! twice while it is enabled (test-ksyms-vmlinux.sh).

use kernel::{
    bindings,
    ffi::{c_int, c_void},
};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

dynamos_patch::ksyms! {
    show_map_vma: fn(m: *mut bindings::seq_file, vma: *mut c_void);
}

/// Prints the mapping `v` twice: itself, then through the original.
extern "C" fn show_map_twice(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
    // SAFETY: The seq_file and `struct vm_area_struct` that procfs passes
    // to `show_map()`, which hands them on as they are.
    unsafe { show_map_vma::call(m, v) };
    // SAFETY: As above: the original's own arguments.
    unsafe { show_map::prev(m, v) }
}

dynamos_patch::patch! {
    type: TestMaps,
    name: "dynamos_test_maps",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: show_map() calls static show_map_vma() and prev()",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        show_map: fn(m: *mut bindings::seq_file, v: *mut c_void) -> c_int => show_map_twice;
    ],
}
