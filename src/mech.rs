// SPDX-License-Identifier: GPL-2.0

//! Layer 3: the mechanism, with no registry.
//!
//! - `edition.rs`: one implementation of a target, what a patch brings
//!   for one, and the layer it forms on its site's stack;
//! - `site.rs`: the hook at a target's entry, its stack of editions, its
//!   policies and the snapshot its call path works from;
//! - `drain.rs`: when editions that new calls no longer enter are
//!   quiescent;
//! - `safepoint.rs`: kernel threads moved between editions of their loop;
//! - `state.rs`: objects converted lazily to a patch's representation;
//! - `switch.rs`: per-task consistency, which side of a transition each
//!   task runs.

pub(crate) mod drain;
pub(crate) mod edition;
pub(crate) mod safepoint;
pub(crate) mod site;
pub(crate) mod state;
pub(crate) mod switch;
