// SPDX-License-Identifier: GPL-2.0

//! Test patch: an edition that reaches symbols nobody exported, through
//! `ksyms!`: the second of two static functions named `dynamos_dup` in
//! `dynamos_target` (`@ 2`), the first one (`@ 1`), a static variable of
//! that module (read and written), and `kallsyms_lookup_name()`, which
//! vmlinux does not export.

use kernel::{
    bindings,
    ffi::{c_char, c_int, c_ulong},
    str::CStrExt as _,
};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

dynamos_patch::ksyms! {
    dynamos_dup in "dynamos_target" @ 1 as dup1: fn() -> c_int;
    dynamos_dup in "dynamos_target" @ 2 as dup2: fn() -> c_int;
    dynamos_ksym_var in "dynamos_target": static u32;
    kallsyms_lookup_name: fn(name: *const c_char) -> c_ulong, check = bindings::kallsyms_lookup_name;
}

/// `a + b`, plus 10 x the first `dynamos_dup` (1), 100 x the second (2),
/// 1000 if kallsyms knows `dynamos_target_add`, and 10000 x the static
/// variable, which it then increments.
extern "C" fn add_ksyms(a: c_int, b: c_int) -> c_int {
    // SAFETY: The loader resolved both to the module's static
    // `int dynamos_dup(void)` functions, which the module keeps loaded
    // while this patch's edition may run (its module is the target).
    let (d1, d2) = unsafe { (dup1::call(), dup2::call()) };
    let var = dynamos_ksym_var::ptr();
    // SAFETY: The module's `u32`, alive while the module is (as above);
    // the test calls one at a time.
    let v = unsafe {
        let v = var.read_volatile();
        var.write_volatile(v + 1);
        v
    };
    let name = c"dynamos_target_add";
    // SAFETY: A NUL-terminated name; `kallsyms_lookup_name()` may sleep
    // (process context: the test calls from a write to debugfs).
    let found = unsafe { kallsyms_lookup_name::call(name.as_char_ptr()) } != 0;
    a + b + 10 * d1 + 100 * d2 + if found { 1000 } else { 0 } + 10000 * v as c_int
}

dynamos_patch::patch! {
    type: TestKsyms,
    name: "dynamos_test_ksyms",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: non-exported symbols through ksyms!",
    license: "GPL",
    functions: [
        dynamos_target_add in "dynamos_target": fn(a: c_int, b: c_int) -> c_int => add_ksyms;
    ],
}
