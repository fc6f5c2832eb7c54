// SPDX-License-Identifier: GPL-2.0

//! Test patch on a real vmlinux call chain: new editions of `show_map()`
//! and of the static helper it calls, `show_map_vma()` (fs/proc/
//! task_mmu.c), that check every call path between them for mixed
//! editions (test-consistency-vmlinux.sh).
//!
//! The new `show_map()` registers its `seq_file` as "inside a new
//! caller", waits a little (so that a path lasts across switches), calls
//! `show_map_vma()` through its entry (its site), and then asks whether
//! the new `show_map_vma()` saw it. The new `show_map_vma()` marks the
//! `seq_file` if a new caller registered it, and counts a call from an old
//! caller otherwise (its only other caller, `show_smap()`, is not used by
//! the test). Both then print through the originals. The counts since
//! the module was loaded go to dmesg at each disable: "paths N mixed M".

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use dynamos_patch::Callbacks;
use kernel::{
    bindings,
    ffi::{c_int, c_void},
    prelude::*,
    time::{delay::udelay, Delta},
};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

dynamos_patch::ksyms! {
    show_map_vma as show_map_vma_fn: fn(m: *mut bindings::seq_file, vma: *mut c_void);
}

/// `seq_file`s inside a new `show_map()`, with bit 0 set once the new
/// `show_map_vma()` saw them.
static INSIDE: [AtomicUsize; 64] = [const { AtomicUsize::new(0) }; 64];
/// Call paths that a new edition took part in.
static PATHS: AtomicU64 = AtomicU64::new(0);
/// New caller, old callee.
static NEW_OLD: AtomicU64 = AtomicU64::new(0);
/// Old caller, new callee.
static OLD_NEW: AtomicU64 = AtomicU64::new(0);

/// The slot of `m`, if registered.
fn slot_of(m: usize) -> Option<&'static AtomicUsize> {
    INSIDE.iter().find(|s| s.load(Ordering::Acquire) & !1 == m)
}

extern "C" fn show_map_v2(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
    let key = m as usize;
    let slot = INSIDE.iter().find(|s| {
        s.compare_exchange(0, key, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    });
    // /proc/PID/maps shows a mapping under the RCU read lock (per-VMA
    // locking): a busy wait, not a sleep.
    udelay(Delta::from_micros(100));
    // SAFETY: The seq_file and `struct vm_area_struct` that procfs passes
    // to `show_map()`, handed on as the original does.
    unsafe { show_map_vma_fn::call(m, v) };
    PATHS.fetch_add(1, Ordering::Relaxed);
    if let Some(s) = slot {
        if s.swap(0, Ordering::AcqRel) & 1 == 0 {
            NEW_OLD.fetch_add(1, Ordering::Relaxed);
        }
    }
    0
}

extern "C" fn show_map_vma_v2(m: *mut bindings::seq_file, vma: *mut c_void) {
    match slot_of(m as usize) {
        Some(s) => {
            s.fetch_or(1, Ordering::AcqRel);
        }
        None => {
            PATHS.fetch_add(1, Ordering::Relaxed);
            OLD_NEW.fetch_add(1, Ordering::Relaxed);
        }
    }
    // SAFETY: The original's own arguments.
    unsafe { show_map_vma::prev(m, vma) }
}

/// Prints the counts.
///
/// # Safety
///
/// Called by dynamos after a disable, in process context.
unsafe extern "C" fn post_unpatch() {
    let (paths, a, b) = (
        PATHS.load(Ordering::Relaxed),
        NEW_OLD.load(Ordering::Relaxed),
        OLD_NEW.load(Ordering::Relaxed),
    );
    pr_info!(
        "paths {} mixed {} (new show_map and old show_map_vma {}, old show_map and new show_map_vma {})\n",
        paths,
        a + b,
        a,
        b
    );
}

dynamos_patch::patch! {
    type: TestMapchain,
    name: "dynamos_test_mapchain",
    authors: ["dynamos developers"],
    description: "dynamos selftest patch: show_map() and show_map_vma(), checked for mixed call paths",
    license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    callbacks: Callbacks {
        pre_patch: None,
        post_patch: None,
        pre_unpatch: None,
        post_unpatch: Some(post_unpatch),
        transfer: None,
        migrate: None,
    },
    functions: [
        show_map: fn(m: *mut bindings::seq_file, v: *mut c_void) -> c_int => show_map_v2;
        show_map_vma: fn(m: *mut bindings::seq_file, vma: *mut c_void) -> () => show_map_vma_v2;
    ],
}
