// SPDX-License-Identifier: GPL-2.0

//! The `dynamos` command: status, control and transition progress of the
//! dynamos live-update module, through `/sys/kernel/dynamos/` only.
//!
//! The crate is split so that everything that decides or formats is pure
//! and tested on the host (`cargo test`) against fixture trees captured
//! from the VM (`tests/fixtures/`):
//!
//! - [`parse`]: the content of each sysfs file, as the kernel prints it;
//! - [`model`]: the whole tree, read from a root directory into plain data
//!   (serialised as-is for `--json`);
//! - [`format`]: the tables of `status`, `blocking` and `list`;
//! - [`error`]: every failure as one line of text and an exit code;
//! - [`control`]: the writes, the waits and their progress bar (the only
//!   part that needs a live kernel);
//! - [`install`]: the module tree and modules-load.d side;
//! - [`cli`]: the command line (also the source of the man page).

pub mod cli;
pub mod control;
pub mod error;
pub mod format;
pub mod install;
pub mod model;
pub mod parse;
