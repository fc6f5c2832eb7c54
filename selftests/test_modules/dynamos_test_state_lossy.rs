// SPDX-License-Identifier: GPL-2.0

//! Test patch whose conversion loses information: an object's value moves
//! to a 64-bit counter that the old 32-bit field cannot hold back, so the
//! state declares no `revert`. dynamos must refuse to disable the patch
//! while objects are converted, unless the admin allows the loss.

use core::sync::atomic::{AtomicU64, Ordering};
use kernel::ffi::c_void;

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

use dynamos_patch::{Gfp, State};

#[path = "data_obj.rs"]
mod data_obj;

use data_obj::Obj;

/// The new representation: a wide counter.
pub(crate) struct Wide(AtomicU64);

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn convert(obj: *mut c_void, rec: *mut c_void) {
    let (o, r) = (obj.cast::<Obj>(), rec.cast::<Wide>());
    // SAFETY: dynamos passes an object of this state and its zeroed record.
    unsafe {
        r.write(Wide(AtomicU64::new(u64::from((*o).value))));
        (*o).converted += 1;
    }
}

/// The values, widened: no way back.
static WIDE: State<Obj, Wide> = State::new(c"dynamos_wide", 0xd5_0003, convert, None, None, 0);

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn add_v2(o: *mut Obj, d: u32) {
    match WIDE.get(o, Gfp::Atomic) {
        Some(r) => {
            r.0.fetch_add(u64::from(d) << 32, Ordering::Relaxed);
        }
        // SAFETY: The target's contract.
        None => unsafe { dynamos_obj_add::prev(o, d) },
    }
}

dynamos_patch::patch! {
    type: LossyPatch,
    name: "dynamos_test_state_lossy",
    authors: ["dynamos developers"],
    description: "dynamos selftest: a conversion that cannot be rolled back",
    license: "GPL",
    states: [WIDE],
    functions: [
        dynamos_obj_add in "dynamos_data": fn(o: *mut Obj, d: u32) -> () => add_v2;
    ],
}
