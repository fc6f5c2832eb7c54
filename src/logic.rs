// SPDX-License-Identifier: GPL-2.0

//! Layer 1: pure decisions.
//!
//! Nothing here calls the kernel, allocates or holds `unsafe` code: the
//! functions take slices and plain values and return values, indices or
//! enums. The host crate in `selftests/host` compiles these very files and
//! tests them with `cargo test`.

pub(crate) mod dispatch;
pub(crate) mod lifecycle;
pub(crate) mod parse;
pub(crate) mod rules;
pub(crate) mod symtext;
