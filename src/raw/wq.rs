// SPDX-License-Identifier: GPL-2.0

//! A workqueue owned by dynamos, so that unloading waits for its work.
//!
//! The `kernel` crate offers the system workqueues only. Work queued there
//! might still be running dynamos code when the module is removed;
//! `destroy_workqueue()` on our own queue drains it first.

use core::ops::Deref;
use core::ptr::NonNull;
use kernel::{bindings, prelude::*, str::CStr, workqueue::Queue};

/// An ordered workqueue, destroyed (after draining) on drop.
///
/// # Invariants
///
/// `wq` was returned by `alloc_workqueue()` and is destroyed only in drop.
pub(crate) struct OwnedQueue {
    wq: NonNull<bindings::workqueue_struct>,
}

// SAFETY: Workqueues may be used and destroyed from any thread.
unsafe impl Send for OwnedQueue {}
// SAFETY: Queueing work is thread-safe.
unsafe impl Sync for OwnedQueue {}

impl OwnedQueue {
    /// Allocates an ordered (one work item at a time), unbound workqueue
    /// called `name`.
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: The format string is a valid C string; a name without
        // `%` takes no arguments.
        let wq = unsafe {
            bindings::alloc_workqueue_noprof(
                name.as_char_ptr(),
                bindings::wq_flags_WQ_UNBOUND | bindings::wq_flags___WQ_ORDERED,
                1,
            )
        };
        Ok(OwnedQueue {
            wq: NonNull::new(wq).ok_or(ENOMEM)?,
        })
    }
}

impl Deref for OwnedQueue {
    type Target = Queue;

    fn deref(&self) -> &Queue {
        // SAFETY: `wq` is a live workqueue until drop (type invariant).
        unsafe { Queue::from_raw(self.wq.as_ptr()) }
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: `wq` is live and not used after this; destroying it waits
        // for all its work to finish.
        unsafe { bindings::destroy_workqueue(self.wq.as_ptr()) };
    }
}
