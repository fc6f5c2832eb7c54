// SPDX-License-Identifier: GPL-2.0

//! dynamos: live updates of a running kernel, function by function.
//!
//! This is the crate root of `dynamos.ko`. The code is built in layers; each
//! uses only the layers below it (`scripts/layers.py` checks it in `make
//! check`, and `Documentation/design.rst`, "Source files", explains it):
//!
//! 1. [`logic`]: pure decisions (parsers, the patch lifecycle, symbol
//!    text, dispatch and snapshot planning, descriptor and subsystem
//!    rules), with no kernel calls and no allocation, tested on the host.
//! 2. [`raw`]: every `unsafe` call into C, one file per facility, each
//!    behind a safe API (sysfs, ftrace, direct calls, RCU, tasks and
//!    stacks, modules, workqueues, kallsyms, kernel threads, the shadow
//!    table, patch callbacks, the C helpers).
//! 3. [`mech`]: the mechanism, with no registry: editions and sites (the
//!    call path and its snapshots), draining, lazy state, safe points.
//! 4. [`registry`]: the model: patches and their lifecycle, the transition,
//!    subsystems, modules coming and going.
//! 5. [`api`]: the boundaries: the C entry points patch modules call and
//!    every sysfs file under `/sys/kernel/dynamos/`.
//!
//! Below them all, [`abi`] is the C contract with patch modules (compiled
//! into them too, through `dynamos_patch.rs`).

use kernel::prelude::*;

mod abi;
mod api;
mod logic;
mod mech;
mod raw;
mod registry;

/// The dynamos version shown in `/sys/kernel/dynamos/version`.
pub(crate) const VERSION: &str = "0.1.0";

module! {
    type: Dynamos,
    name: "dynamos",
    authors: ["dynamos developers"],
    description: "Live kernel updates with adaptive function cloning",
    license: "GPL",
}

// The one entry `src/raw/direct.c`'s trampoline calls, made for the sites'
// handler type.
raw::direct::tramp_dispatch!(mech::site::SiteHandler);

// The entry points patch modules register with (`src/api/exports.c`).
raw::desc::patch_entry_points!(api::entry::register, api::entry::unregister);

// The entry through which patches reach their objects' new records.
raw::callbacks::state_entry_point!(mech::state::LazyState);

struct Dynamos;

impl kernel::Module for Dynamos {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // Before any call through a livepatch relocation (raw/ksyms.rs).
        raw::kallsyms::check_converted()?;
        raw::shadow::init();
        raw::direct::init();
        api::init()?;
        pr_info!("dynamos {} loaded\n", VERSION);
        Ok(Dynamos)
    }
}

impl Drop for Dynamos {
    fn drop(&mut self) {
        api::exit();
        raw::shadow::exit();
        pr_info!("dynamos unloaded\n");
    }
}
