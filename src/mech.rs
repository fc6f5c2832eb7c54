// SPDX-License-Identifier: GPL-2.0

//! Layer 3: the mechanism, with no registry.
//!
//! - `site.rs`: editions (the implementations of a target, and what a
//!   patch brings for one), the hook at a target's entry, its stack of
//!   editions, its policies and the snapshot its call path works from;
//! - `drain.rs`: when editions that new calls no longer enter are
//!   quiescent;
//! - `safepoint.rs`: kernel threads moved between editions of their loop;
//! - `state.rs`: objects converted lazily to a patch's representation.

pub(crate) mod drain;
pub(crate) mod safepoint;
pub(crate) mod site;
pub(crate) mod state;
