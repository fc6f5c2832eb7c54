// SPDX-License-Identifier: GPL-2.0

//! Layer 5: the boundaries.
//!
//! - `entry.rs`: what the C entry points patch modules call do (made by
//!   `raw::desc::patch_entry_points!` in the crate root, exported by
//!   `api/exports.c`), where descriptors become checked values;
//! - `sysfs.rs`: every file under `/sys/kernel/dynamos/`, its show and
//!   store handlers.

pub(crate) mod entry;
pub(crate) mod sysfs;

use kernel::prelude::*;

/// Creates the registry and `/sys/kernel/dynamos/`. Called once, from the
/// module's init.
pub(crate) fn init() -> Result {
    crate::registry::init::init(&sysfs::TABLES)
}

/// Removes everything [`init`] created. Called once, from the module's exit.
pub(crate) fn exit() {
    crate::registry::init::exit();
}
