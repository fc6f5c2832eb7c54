// SPDX-License-Identifier: GPL-2.0

//! The dynamos counterpart of `samples/livepatch/livepatch-sample.c`: while
//! enabled, `cat /proc/cmdline` shows a marker instead of the command line.

use kernel::{bindings, ffi::c_int, prelude::*, seq_file::SeqFile, seq_print};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

/// The new edition of `cmdline_proc_show()` (fs/proc/cmdline.c).
extern "C" fn cmdline_proc_show_v1(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: procfs calls `cmdline_proc_show()` with a valid seq_file.
    let m = unsafe { SeqFile::from_raw(m) };
    seq_print!(m, "this has been live patched by dynamos\n");
    0
}

dynamos_patch::patch! {
    type: CmdlinePatch,
    name: "dynamos_cmdline",
    authors: ["dynamos developers"],
    description: "dynamos sample: replaces cmdline_proc_show",
    license: "GPL",
    functions: [
        cmdline_proc_show: fn(m: *mut bindings::seq_file, v: *mut c_void) -> c_int
            => cmdline_proc_show_v1;
    ],
}
