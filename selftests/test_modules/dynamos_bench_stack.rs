// SPDX-License-Identifier: GPL-2.0

//! Benchmark patches for the edition-count scaling: `dynamos_bench_layers`
//! patches (`dynamos_bench_s1` .. `dynamos_bench_s8`, registered, not
//! enabled), each with its own edition of `dynamos_bench_f000`
//! (`bench_target.c`) doing the original's work. Enabling the first L of
//! them stacks L live editions on the function.

use core::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use kernel::{
    c_str,
    ffi::{c_int, c_void},
    prelude::*,
    str::CStr,
};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

use dynamos_patch::{Callbacks, FuncDesc, Inside, Registration};

module! {
    type: BenchStack,
    name: "dynamos_bench_stack",
    authors: ["dynamos developers"],
    description: "dynamos benchmark patches: up to 8 stacked editions of dynamos_bench_f000",
    license: "GPL",
}

extern "C" {
    static dynamos_bench_layers: c_int;
}

/// Most layers.
const LAYERS: usize = 8;

type Sig = unsafe extern "C" fn(c_int) -> c_int;

static INSIDE: [AtomicIsize; LAYERS] = [const { AtomicIsize::new(0) }; LAYERS];
static ORIG_INSIDE: [AtomicIsize; LAYERS] = [const { AtomicIsize::new(0) }; LAYERS];
static ORIG: [AtomicUsize; LAYERS] = [const { AtomicUsize::new(0) }; LAYERS];
static PREV: [AtomicUsize; LAYERS] = [const { AtomicUsize::new(0) }; LAYERS];

/// Layer `J`'s edition: `dynamos_bench_f000`'s work.
extern "C" fn edition<const J: usize>(x: c_int) -> c_int {
    core::hint::black_box(J);
    x
}

extern "C" fn counted<const J: usize>(x: c_int) -> c_int {
    let _inside = Inside::enter(&INSIDE[J]);
    edition::<J>(x)
}

fn call_addr(addr: &AtomicUsize, x: c_int) -> c_int {
    // SAFETY: dynamos writes the address of a function of type `Sig` before
    // the caller can run.
    let f: Sig = unsafe { core::mem::transmute::<usize, Sig>(addr.load(Ordering::Acquire)) };
    // SAFETY: The target takes any `int`.
    let r = unsafe { f(x) };
    core::hint::black_box(r)
}

extern "C" fn orig_counted<const J: usize>(x: c_int) -> c_int {
    let _inside = Inside::enter(&ORIG_INSIDE[J]);
    call_addr(&ORIG[J], x)
}

#[inline(never)]
fn prev<const J: usize>(x: c_int) -> c_int {
    call_addr(&PREV[J], x)
}

fn desc<const J: usize>() -> FuncDesc {
    let entry: extern "C" fn(c_int) -> c_int = edition::<J>;
    let counted: extern "C" fn(c_int) -> c_int = counted::<J>;
    let orig_counted: extern "C" fn(c_int) -> c_int = orig_counted::<J>;
    let prev: fn(c_int) -> c_int = prev::<J>;
    FuncDesc {
        name: c_str!("dynamos_bench_f000").as_char_ptr(),
        object: c_str!("dynamos_bench").as_char_ptr(),
        sympos: 0,
        nr_args: 1,
        entry: entry as *const c_void,
        counted: counted as *const c_void,
        orig_counted: orig_counted as *const c_void,
        inside: &INSIDE[J],
        orig_inside: &ORIG_INSIDE[J],
        orig: &ORIG[J],
        prev: &PREV[J],
        adapt: None,
        prev_fn: prev as *const c_void,
        flags: 0,
        safepoint: core::ptr::null(),
    }
}

/// A layer: its patch name and descriptor maker.
type Layer = (&'static CStr, fn() -> FuncDesc);

/// Name and descriptor maker of each layer.
static LAYER: [Layer; LAYERS] = [
    (c_str!("dynamos_bench_s1"), desc::<0>),
    (c_str!("dynamos_bench_s2"), desc::<1>),
    (c_str!("dynamos_bench_s3"), desc::<2>),
    (c_str!("dynamos_bench_s4"), desc::<3>),
    (c_str!("dynamos_bench_s5"), desc::<4>),
    (c_str!("dynamos_bench_s6"), desc::<5>),
    (c_str!("dynamos_bench_s7"), desc::<6>),
    (c_str!("dynamos_bench_s8"), desc::<7>),
];

/// The module: one registration per layer, unregistered top first.
struct BenchStack {
    registrations: KVec<Registration>,
}

impl kernel::Module for BenchStack {
    fn init(module: &'static ThisModule) -> Result<Self> {
        // SAFETY: A plain int of the target module, set through its debugfs
        // before this module is loaded.
        let layers = unsafe { dynamos_bench_layers };
        let layers = usize::try_from(layers).map_err(|_| EINVAL)?;
        if layers == 0 || layers > LAYERS {
            return Err(EINVAL);
        }
        let mut registrations = KVec::with_capacity(layers, GFP_KERNEL)?;
        for &(name, make) in LAYER.iter().take(layers) {
            let mut funcs = KVec::with_capacity(1, GFP_KERNEL)?;
            funcs.push(make(), GFP_KERNEL)?;
            registrations.push(
                Registration::new(
                    name,
                    module,
                    funcs,
                    dynamos_patch::PATCH_NO_AUTO_ENABLE,
                    None,
                    Callbacks::NONE,
                )?,
                GFP_KERNEL,
            )?;
        }
        Ok(BenchStack { registrations })
    }
}

impl Drop for BenchStack {
    fn drop(&mut self) {
        while let Some(r) = self.registrations.pop() {
            drop(r);
        }
    }
}
