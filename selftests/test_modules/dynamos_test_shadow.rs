// SPDX-License-Identifier: GPL-2.0

//! Test patch: `struct dynamos_account` (`data_target.c`) gains a deposit
//! counter, kept in shadow data: each deposit through the new edition
//! counts one in its account's shadow variable, made on the account's first
//! deposit; `dynamos_account_extra()` returns it. dynamos frees the
//! variables (running their destructors, which the target counts) when the
//! patch is disabled.

use core::sync::atomic::{AtomicU64, Ordering};
#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

use dynamos_patch::{Gfp, Shadow};

extern "C" {
    fn dynamos_data_note(what: i32);
}

/// `DYNAMOS_NOTE_DTOR` of `data_target.h`.
const NOTE_DTOR: i32 = 3;

/// `struct dynamos_account`, opaque here.
pub(crate) struct Account;

/// The new field of an account.
pub(crate) struct Deposits(AtomicU64);

impl Drop for Deposits {
    fn drop(&mut self) {
        // SAFETY: The target's exported counter.
        unsafe { dynamos_data_note(NOTE_DTOR) };
    }
}

/// The accounts' deposit counters.
static DEPOSITS: Shadow<Deposits> = Shadow::new(0xd5_0001);

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn deposit_v2(a: *mut Account, amount: u32) {
    // SAFETY: The target's contract, unchanged.
    unsafe { dynamos_account_deposit::prev(a, amount) };
    // Deposits may come from any context.
    if let Some(d) = DEPOSITS.get_or_alloc(a.cast_const().cast(), Gfp::Atomic, || {
        Deposits(AtomicU64::new(0))
    }) {
        d.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// An edition or callback of this patch.
///
/// # Safety
///
/// Called by dynamos as the target (or with the target's contract).
unsafe extern "C" fn extra_v2(a: *mut Account) -> u64 {
    DEPOSITS
        .get(a.cast_const().cast())
        .map_or(0, |d| d.0.load(Ordering::Relaxed))
}

dynamos_patch::patch! {
    type: ShadowPatch,
    name: "dynamos_test_shadow",
    authors: ["dynamos developers"],
    description: "dynamos selftest: a new field in shadow data",
    license: "GPL",
    shadows: [DEPOSITS],
    functions: [
        dynamos_account_deposit in "dynamos_data":
            fn(a: *mut Account, amount: u32) -> () => deposit_v2;
        dynamos_account_extra in "dynamos_data": fn(a: *mut Account) -> u64 => extra_v2;
    ],
}
