// SPDX-License-Identifier: GPL-2.0

//! Benchmark patches for the edition-count scaling: `dynamos_bench_layers`
//! patches (`dynamos_bench_s1` .. `dynamos_bench_s8`, registered, not
//! enabled), each with its own edition of `dynamos_bench_f000`
//! (`bench_target.c`) doing the original's work. Enabling the first L of
//! them stacks L live editions on the function.

use kernel::{c_str, ffi::c_int, prelude::*, str::CStr};

#[path = "../../src/dynamos_patch.rs"]
mod dynamos_patch;

#[path = "bench_glue.rs"]
#[macro_use]
mod bench_glue;

use dynamos_patch::{Callbacks, FuncDesc, Registration};

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

/// Layer `J`'s edition: `dynamos_bench_f000`'s work.
/// The stacked editions have no handler: their adaptive entries are unused.
fn choose(_x: c_int) -> dynamos_patch::Choice {
    dynamos_patch::Choice::This
}

extern "C" fn edition<const J: usize>(x: c_int) -> c_int {
    core::hint::black_box(J);
    x
}

bench_glue!(LAYERS);

/// The descriptor of layer `J`.
fn layer<const J: usize>() -> FuncDesc {
    desc::<J>(c_str!("dynamos_bench_f000").as_char_ptr(), None)
}

/// A layer: its patch name and descriptor maker.
type Layer = (&'static CStr, fn() -> FuncDesc);

/// Name and descriptor maker of each layer.
static LAYER: [Layer; LAYERS] = [
    (c_str!("dynamos_bench_s1"), layer::<0>),
    (c_str!("dynamos_bench_s2"), layer::<1>),
    (c_str!("dynamos_bench_s3"), layer::<2>),
    (c_str!("dynamos_bench_s4"), layer::<3>),
    (c_str!("dynamos_bench_s5"), layer::<4>),
    (c_str!("dynamos_bench_s6"), layer::<5>),
    (c_str!("dynamos_bench_s7"), layer::<6>),
    (c_str!("dynamos_bench_s8"), layer::<7>),
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
