// SPDX-License-Identifier: GPL-2.0

//! dynamos: live updates of a running kernel, function by function.
//!
//! This is the crate root of `dynamos.ko`. One file per concern:
//!
//! - `registry.rs`: the registry of patches and sites, and the sysfs tree;
//! - `patch.rs`: a patch's lifecycle (enable, disable, reversal);
//! - `site.rs`: the trampoline at a target, its editions and policies;
//! - `transition.rs`: when a draining edition is quiescent;
//! - `synchronizer.rs`: subsystems, switched as one unit;
//! - `safepoint.rs`: kernel threads that never return, moved at their safe
//!   point;
//! - `entry.rs`: the C entry points that patch modules call;
//! - `abi.rs`: the `#[repr(C)]` descriptors those entry points take;
//! - `parse.rs`: parsers of what users write to sysfs (also host-tested).
//!
//! The raw layer, where the `unsafe` calls into C live, one file per
//! facility: `sysfs.rs` (kobjects, attributes), `ftrace.rs` (the hook at a
//! function's entry), `rcu.rs` (RCU-published values), `kallsyms.rs`
//! (symbol lookup), `tasks.rs` (threads and their stacks), `kthread.rs`
//! (moving a kernel thread between editions), `modules.rs`
//! (patch module text and references) and `wq.rs` (an owned workqueue).

use kernel::prelude::*;

mod abi;
mod direct;
mod entry;
mod ftrace;
mod kallsyms;
mod kthread;
mod modules;
mod parse;
mod patch;
mod rcu;
mod registry;
mod safepoint;
mod shadow;
mod site;
mod state;
mod synchronizer;
mod sysfs;
mod tasks;
mod transition;
mod wq;

/// The dynamos version shown in `/sys/kernel/dynamos/version`.
pub(crate) const VERSION: &str = "0.1.0";

module! {
    type: Dynamos,
    name: "dynamos",
    authors: ["dynamos developers"],
    description: "Live kernel updates with adaptive function cloning",
    license: "GPL",
}

struct Dynamos;

impl kernel::Module for Dynamos {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        shadow::init();
        direct::init();
        registry::init()?;
        pr_info!("dynamos {} loaded\n", VERSION);
        Ok(Dynamos)
    }
}

impl Drop for Dynamos {
    fn drop(&mut self) {
        registry::exit();
        shadow::exit();
        pr_info!("dynamos unloaded\n");
    }
}
