// SPDX-License-Identifier: GPL-2.0

//! Benchmark patch: new editions of `dynamos_bench_f000` and upwards (the
//! first `nr` of them, a module parameter, `bench_target.c`) that do the same
//! work as the originals (`x + NNN`), and of `dynamos_bench_hold()`, where
//! a sleeper can hold a transition open.
//!
//! Up to a thousand functions cannot be listed in `patch!`, so this module
//! builds its descriptors at init from const-generic functions: one
//! instantiation per target, each with its own counters, as `patch!` would
//! generate. The `mode` parameter picks the variant measured:
//!
//! - 0: plain editions (steady state; the counted path while a sleeper in
//!   `dynamos_bench_hold()` holds the enable transition open);
//! - 1: with an adaptation handler that picks this patch's edition;
//! - 2: as subsystem `dynamos_bench` (the switch path while a sleeper
//!   holds the old generation).
//!
//! Both are parameters, not the target module's variables, so that this
//! module does not depend on its target: the target can be unloaded and
//! loaded again under the enabled patch (`make stress` does).

use core::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use kernel::{
    c_str,
    ffi::{c_char, c_int, c_void},
    prelude::*,
    str::CString,
};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

#[path = "bench_glue.rs"]
#[macro_use]
mod bench_glue;

use dynamos_patch::{abi::AdaptFn, Callbacks, Choice, FuncDesc, Inside, Registration};

module! {
    type: BenchPatch,
    name: "dynamos_bench_patch",
    authors: ["dynamos developers"],
    description: "dynamos benchmark patch: editions of dynamos_bench_f000..f999",
    license: "GPL",
    params: {
        nr: i32 {
            default: 1,
            description: "How many functions, dynamos_bench_f000 upward, to patch (1..1000)",
        },
        mode: i32 {
            default: 0,
            description: "0 plain editions, 1 with an adaptation handler, 2 as a subsystem",
        },
    },
}

/// Most targets.
const MAX: usize = 1000;

/// The edition of target `I`: the original's work.
extern "C" fn edition<const I: usize>(x: c_int) -> c_int {
    x.wrapping_add(I as c_int)
}

bench_glue!(MAX);

/// The adaptation handler of mode 1: always this patch's edition.
///
/// # Safety
///
/// Called by dynamos only, with six readable registers (unused here).
unsafe extern "C" fn adapt(regs: *const usize) -> u32 {
    // SAFETY: dynamos passes six readable registers.
    choose(unsafe { *regs } as c_int) as u32
}

/// The choice of mode 1's handler, typed (for the adaptive entries too).
fn choose(_x: c_int) -> Choice {
    Choice::This
}

type DescFn = fn(*const c_char, Option<AdaptFn>) -> FuncDesc;

macro_rules! row {
    ($h:literal, $t:literal) => {
        [
            desc::<{ $h * 100 + $t * 10 }>,
            desc::<{ $h * 100 + $t * 10 + 1 }>,
            desc::<{ $h * 100 + $t * 10 + 2 }>,
            desc::<{ $h * 100 + $t * 10 + 3 }>,
            desc::<{ $h * 100 + $t * 10 + 4 }>,
            desc::<{ $h * 100 + $t * 10 + 5 }>,
            desc::<{ $h * 100 + $t * 10 + 6 }>,
            desc::<{ $h * 100 + $t * 10 + 7 }>,
            desc::<{ $h * 100 + $t * 10 + 8 }>,
            desc::<{ $h * 100 + $t * 10 + 9 }>,
        ]
    };
}

macro_rules! block {
    ($h:literal) => {
        [
            row!($h, 0),
            row!($h, 1),
            row!($h, 2),
            row!($h, 3),
            row!($h, 4),
            row!($h, 5),
            row!($h, 6),
            row!($h, 7),
            row!($h, 8),
            row!($h, 9),
        ]
    };
}

/// The descriptor makers of the thousand targets.
static TABLE: [[[DescFn; 10]; 10]; 10] = [
    block!(0),
    block!(1),
    block!(2),
    block!(3),
    block!(4),
    block!(5),
    block!(6),
    block!(7),
    block!(8),
    block!(9),
];

// `dynamos_bench_hold()`: its edition sleeps in the original.
static HOLD_INSIDE: AtomicIsize = AtomicIsize::new(0);
static HOLD_ORIG_INSIDE: AtomicIsize = AtomicIsize::new(0);
static HOLD_ORIG: AtomicUsize = AtomicUsize::new(0);
static HOLD_PREV: AtomicUsize = AtomicUsize::new(0);

type HoldSig = unsafe extern "C" fn() -> c_int;

fn hold_call(addr: &AtomicUsize) -> c_int {
    // SAFETY: dynamos writes the address of `dynamos_bench_hold()` or of an
    // edition of it before this can run.
    let f: HoldSig =
        unsafe { core::mem::transmute::<usize, HoldSig>(addr.load(Ordering::Acquire)) };
    // SAFETY: No arguments.
    let r = unsafe { f() };
    core::hint::black_box(r)
}

#[inline(never)]
fn hold_prev() -> c_int {
    hold_call(&HOLD_PREV)
}

extern "C" fn hold_v1() -> c_int {
    hold_prev()
}

extern "C" fn hold_counted() -> c_int {
    HOLD_CALLS.fetch_add(1, Ordering::Relaxed);
    let _inside = Inside::enter(&HOLD_INSIDE);
    hold_v1()
}

extern "C" fn hold_fast() -> c_int {
    HOLD_CALLS.fetch_add(1, Ordering::Relaxed);
    hold_v1()
}

/// What dynamos writes for the hold edition's (absent) adaptive entry.
static HOLD_REPLACED: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
static HOLD_ORIGINAL: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
static HOLD_ORIG_CALLS: core::sync::atomic::AtomicPtr<core::sync::atomic::AtomicU64> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Calls of the hold edition through `hold_fast` and `hold_counted`.
static HOLD_CALLS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

extern "C" fn hold_orig_counted() -> c_int {
    let _inside = Inside::enter(&HOLD_ORIG_INSIDE);
    hold_call(&HOLD_ORIG)
}

fn hold_desc() -> FuncDesc {
    let entry: extern "C" fn() -> c_int = hold_v1;
    let counted: extern "C" fn() -> c_int = hold_counted;
    let fast: extern "C" fn() -> c_int = hold_fast;
    let orig_counted: extern "C" fn() -> c_int = hold_orig_counted;
    let prev: fn() -> c_int = hold_prev;
    FuncDesc {
        name: c_str!("dynamos_bench_hold").as_char_ptr(),
        object: c_str!("dynamos_bench").as_char_ptr(),
        sympos: 0,
        nr_args: 0,
        entry: entry as *const c_void,
        fast: fast as *const c_void,
        calls: &HOLD_CALLS,
        counted: counted as *const c_void,
        orig_counted: orig_counted as *const c_void,
        inside: &HOLD_INSIDE,
        orig_inside: &HOLD_ORIG_INSIDE,
        orig: &HOLD_ORIG,
        prev: &HOLD_PREV,
        adapt: None,
        adaptive: core::ptr::null(),
        replaced: &HOLD_REPLACED,
        original: &HOLD_ORIGINAL,
        orig_calls: &HOLD_ORIG_CALLS,
        prev_fn: prev as *const c_void,
        flags: 0,
        safepoint: core::ptr::null(),
        adaptor: core::ptr::null(),
        callers: core::ptr::null(),
        nr_callers: 0,
    }
}

/// The module: its registration, then the names it points to.
struct BenchPatch {
    _registration: Registration,
    _names: KVec<CString>,
}

impl kernel::Module for BenchPatch {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let (nr, mode) = (
            module_parameters::nr.value(),
            module_parameters::mode.value(),
        );
        let nr = usize::try_from(nr).map_err(|_| EINVAL)?;
        if nr == 0 || nr > MAX || !(0..=2).contains(&mode) {
            return Err(EINVAL);
        }
        let adapt: Option<AdaptFn> = if mode == 1 { Some(adapt) } else { None };
        let mut names = KVec::with_capacity(nr, GFP_KERNEL)?;
        let mut funcs = KVec::with_capacity(nr + 1, GFP_KERNEL)?;
        for i in 0..nr {
            let name = CString::try_from_fmt(fmt!("dynamos_bench_f{:03}", i))?;
            funcs.push(
                TABLE[i / 100][i / 10 % 10][i % 10](name.as_char_ptr(), adapt),
                GFP_KERNEL,
            )?;
            // The name's bytes stay put when the vector grows.
            names.push(name, GFP_KERNEL)?;
        }
        funcs.push(hold_desc(), GFP_KERNEL)?;
        let subsystem = (mode == 2).then_some(c_str!("dynamos_bench"));
        let registration = Registration::new(
            c_str!("dynamos_bench_patch"),
            module,
            funcs,
            dynamos_patch::PATCH_NO_AUTO_ENABLE,
            subsystem,
            Callbacks::NONE,
        )?;
        Ok(BenchPatch {
            _registration: registration,
            _names: names,
        })
    }
}
