// SPDX-License-Identifier: GPL-2.0

//! dynamos: live updates of a running kernel, function by function.
//!
//! This is the crate root of `dynamos.ko`. One file per concern:
//!
//! - `registry.rs`: the registry of patches and the sysfs tree;
//! - `entry.rs`: the C entry points that patch modules call;
//! - `abi.rs`: the `#[repr(C)]` descriptors those entry points take;
//! - `sysfs.rs`: the safe layer over kobjects and sysfs attributes.

use kernel::prelude::*;

mod abi;
mod registry;
mod entry;
mod sysfs;

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
        registry::init()?;
        pr_info!("dynamos {} loaded\n", VERSION);
        Ok(Dynamos)
    }
}

impl Drop for Dynamos {
    fn drop(&mut self) {
        registry::exit();
        pr_info!("dynamos unloaded\n");
    }
}
