// SPDX-License-Identifier: GPL-2.0

//! Test patch on real vmlinux code: the wrapper that the patch-author guide
//! teaches, on `fifo_pipe_read()` (fs/pipe.c, static), under which every
//! reader of an empty FIFO sleeps (in `anon_pipe_read()`). It counts the
//! call and ends in a tail jump to `prev()`, so a sleeping reader has
//! `prev()`'s frame on its stack but not the edition's
//! (test-retire-pipe.sh). Not `anon_pipe_read()` itself, which every pipe
//! reader sleeps in: under the test runner one always does (its `tee`), so
//! an enable would not end.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

static CALLS: AtomicU64 = AtomicU64::new(0);

extern "C" fn fifo_pipe_read_counted(
    iocb: *mut bindings::kiocb,
    to: *mut bindings::iov_iter,
) -> isize {
    CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: The arguments the VFS passed, handed on as they are.
    unsafe { fifo_pipe_read::prev(iocb, to) }
}

dynamos_patch::patch! {
    type: TestPipe,
    name: "dynamos_test_pipe",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: a wrapper of fifo_pipe_read() that tail-calls prev()",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [
        fifo_pipe_read: fn(iocb: *mut bindings::kiocb, to: *mut bindings::iov_iter) -> isize
            => fifo_pipe_read_counted;
    ],
}
