// SPDX-License-Identifier: GPL-2.0

//! `struct dynamos_obj` of `data_target.h`, for the state test patches.

/// An object of the target's table; the layout is the C one.
#[repr(C)]
pub(crate) struct Obj {
    /// Its value, in the old representation.
    pub(crate) value: u32,
    /// Conversions to a patch's representation.
    pub(crate) converted: u32,
    /// Conversions back.
    pub(crate) reverted: u32,
    pad: u32,
}
