// SPDX-License-Identifier: GPL-2.0

//! Layer 2: the raw layer, where every `unsafe` call into C lives.
//!
//! One file per C facility, each offering a safe API whose invariants it
//! documents. The 7.3 `kernel` crate has no sysfs, ftrace, kthread or
//! per-CPU abstractions; these are dynamos' own, small and private.

pub(crate) mod callbacks;
pub(crate) mod desc;
pub(crate) mod direct;
pub(crate) mod ftrace;
pub(crate) mod global;
pub(crate) mod kallsyms;
pub(crate) mod ksyms;
pub(crate) mod kthread;
pub(crate) mod modules;
pub(crate) mod rcu;
pub(crate) mod shadow;
pub(crate) mod sysfs;
pub(crate) mod tasks;
pub(crate) mod wq;

use kernel::str::CStr;

/// A C name (patch, function, module) as text for messages: "?" if it is
/// not UTF-8.
pub(crate) fn display(name: &CStr) -> &str {
    name.to_str().unwrap_or("?")
}
