// SPDX-License-Identifier: GPL-2.0

//! Test patch: the objects of `data_target.c` change representation. The
//! value of a `struct dynamos_obj` is kept in thousandths, as a 64-bit
//! counter, in a record that dynamos makes on the object's first access by
//! the new edition (or in its eager pass). `converted` and `reverted` in
//! the object count the conversions each way, for the test to check that
//! each object was converted exactly once, and converted back when the
//! patch is disabled.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::ffi::{c_int, c_void};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

use dynamos_patch::{Gfp, State};

#[path = "data_obj.rs"]
mod data_obj;

use data_obj::Obj;

extern "C" {
    fn dynamos_obj_at(i: u32) -> *mut Obj;
    fn dynamos_obj_count() -> u32;
}

/// The new representation: thousandths.
pub(crate) struct Milli(AtomicU64);

/// Old to new: runs once per object, before its record is visible.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn convert(obj: *mut c_void, rec: *mut c_void) {
    let (o, r) = (obj.cast::<Obj>(), rec.cast::<Milli>());
    // SAFETY: dynamos passes an object of this state and its zeroed record;
    // the object's fields are only written here and in `revert`, and the
    // test reads them when no conversion runs.
    unsafe {
        r.write(Milli(AtomicU64::new(u64::from((*o).value) * 1000)));
        (*o).converted += 1;
    }
}

/// New to old, when the patch is disabled.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn revert(obj: *mut c_void, rec: *mut c_void) {
    let (o, r) = (obj.cast::<Obj>(), rec.cast::<Milli>());
    // SAFETY: As in `convert`; nothing else uses the record any more.
    unsafe {
        (*o).value = ((*r).0.load(Ordering::Relaxed) / 1000) as u32;
        (*o).reverted += 1;
    }
}

/// Walks every object, for the eager pass.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn for_each(
    cb: unsafe extern "C" fn(ctx: *mut c_void, obj: *mut c_void) -> c_int,
    ctx: *mut c_void,
) -> c_int {
    // SAFETY: The target's exported table, which lives as long as it.
    let n = unsafe { dynamos_obj_count() };
    for i in 0..n {
        // SAFETY: `i` is in range.
        let o = unsafe { dynamos_obj_at(i) };
        // SAFETY: dynamos' callback, with its context.
        let r = unsafe { cb(ctx, o.cast()) };
        if r != 0 {
            return r;
        }
    }
    0
}

/// The objects, in thousandths.
static OBJS: State<Obj, Milli> = State::new(
    c"dynamos_objs",
    0xd5_0002,
    convert,
    Some(revert),
    Some(for_each),
    0,
);

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn read_v2(o: *mut Obj) -> u32 {
    match OBJS.get(o, Gfp::Atomic) {
        Some(r) => (r.0.load(Ordering::Relaxed) / 1000) as u32,
        // No memory for the record: the object is not converted, and the
        // old representation is still right.
        // SAFETY: The target's contract.
        None => unsafe { dynamos_obj_read::prev(o) },
    }
}

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn add_v2(o: *mut Obj, d: u32) {
    match OBJS.get(o, Gfp::Atomic) {
        Some(r) => {
            r.0.fetch_add(u64::from(d) * 1000, Ordering::Relaxed);
        }
        // SAFETY: As in `read_v2`.
        None => unsafe { dynamos_obj_add::prev(o, d) },
    }
}

dynamos_patch::patch! {
    type: StatePatch,
    name: "dynamos_test_state",
    authors: ["dynamos developers"],
    description: "dynamos selftest: objects converted lazily to a new representation",
    license: "GPL",
    states: [OBJS],
    functions: [
        dynamos_obj_read in "dynamos_data": fn(o: *mut Obj) -> u32 => read_v2;
        dynamos_obj_add in "dynamos_data": fn(o: *mut Obj, d: u32) -> () => add_v2;
    ],
}
