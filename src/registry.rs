// SPDX-License-Identifier: GPL-2.0

//! Layer 4: the registry of patches and sites, split by concern.
//!
//! - `spec.rs`: a patch as registered, checked;
//! - `model.rs`: what dynamos owns while loaded ([`model::Core`]), behind
//!   one mutex, and the lock rules;
//! - `subsystem.rs`: subsystems and their rules;
//! - `stacking.rs`: what enabling, disabling and reversing share: targets,
//!   layers, policies, switching a set of sites in one step;
//! - `consistent.rs`: the per-task sides of a consistent transition;
//! - `enable.rs`: enabling, in named phases under one undo guard;
//! - `disable.rs`: disabling, and reversing a transition midway;
//! - `transition.rs`: the work that ends transitions and drains leftovers;
//! - `modules.rs`: target modules coming and going;
//! - `register.rs`: registration and unregistration of patches;
//! - `init.rs`: creating and removing the registry.

pub(crate) mod consistent;
pub(crate) mod disable;
pub(crate) mod enable;
pub(crate) mod init;
pub(crate) mod model;
pub(crate) mod modules;
pub(crate) mod register;
pub(crate) mod spec;
pub(crate) mod stacking;
pub(crate) mod subsystem;
pub(crate) mod transition;
