// SPDX-License-Identifier: GPL-2.0

//! The C ABI between `dynamos.ko` and patch modules.
//!
//! Rust modules cannot link against each other, so the core exports plain C
//! entry points (see `src/exports.c`) that take these `#[repr(C)]`
//! descriptors. This file is compiled into the core and, through
//! `src/dynamos_patch.rs`, into every patch module, so both sides always
//! agree on the layout of the version they were built from; `abi_version`
//! and `size` catch a patch built against another version.

use kernel::ffi::{c_char, c_void};

/// Version of the descriptors below. Bump it on any layout change.
pub(crate) const ABI_VERSION: u32 = 1;

/// Longest patch name accepted, in bytes, without the NUL.
pub(crate) const NAME_MAX: usize = 55;

/// What a patch module hands to `dynamos_register_patch()`.
///
/// It must stay at the same address, unchanged, until the matching
/// `dynamos_unregister_patch()` returns.
#[repr(C)]
pub(crate) struct PatchDesc {
    /// [`ABI_VERSION`] of the patch's build.
    pub(crate) abi_version: u32,
    /// `size_of::<PatchDesc>()` in the patch's build.
    pub(crate) size: u32,
    /// NUL-terminated patch name; it names the patch's sysfs directory.
    pub(crate) name: *const c_char,
    /// The patch module (`THIS_MODULE`).
    pub(crate) module: *mut c_void,
}

impl PatchDesc {
    /// The size of this descriptor, as recorded in [`PatchDesc::size`].
    pub(crate) const SIZE: u32 = core::mem::size_of::<PatchDesc>() as u32;
}
