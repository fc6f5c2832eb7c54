// SPDX-License-Identifier: GPL-2.0

//! The C entry points that patch modules call (exported by `src/exports.c`).
//!
//! This is the boundary where raw descriptors from other modules become safe
//! values: every check of what a patch hands over happens here, before the
//! registry in `src/registry.rs` sees it.

use crate::{
    abi::{PatchDesc, ABI_VERSION, NAME_MAX},
    registry::{self, PatchKey},
};
use kernel::{ffi::c_int, prelude::*, str::CStr};

/// Checks a descriptor and returns its name.
///
/// # Safety
///
/// `desc` is null or points to a `PatchDesc` that stays valid and unchanged
/// for `'a`.
unsafe fn check<'a>(desc: *const PatchDesc) -> Result<&'a CStr> {
    if desc.is_null() {
        pr_err!("register: NULL patch descriptor\n");
        return Err(EINVAL);
    }
    // SAFETY: Not null, and valid for `'a` by the caller's guarantee.
    let desc = unsafe { &*desc };
    if desc.abi_version != ABI_VERSION || desc.size != PatchDesc::SIZE {
        pr_err!(
            "register: patch built for ABI {} (size {}), this dynamos has ABI {} (size {}): rebuild the patch\n",
            desc.abi_version,
            desc.size,
            ABI_VERSION,
            PatchDesc::SIZE
        );
        return Err(EINVAL);
    }
    if desc.name.is_null() {
        pr_err!("register: patch without a name\n");
        return Err(EINVAL);
    }
    // SAFETY: A patch descriptor's name is a NUL-terminated string that lives
    // as long as the descriptor (ABI contract in `abi.rs`).
    let name = unsafe { CStr::from_char_ptr(desc.name) };
    let bytes = name.to_bytes();
    if bytes.is_empty() || bytes.len() > NAME_MAX || bytes.contains(&b'/') {
        pr_err!("register: invalid patch name (1 to {} bytes, no '/')\n", NAME_MAX);
        return Err(EINVAL);
    }
    Ok(name)
}

/// Registers a patch with dynamos. Returns 0 or a negative errno.
///
/// # Safety
///
/// `desc` is null or points to a `PatchDesc` that stays valid and unchanged
/// until `dynamos_unregister_patch(desc)` returns.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_register_patch(desc: *const PatchDesc) -> c_int {
    // SAFETY: The caller's guarantee covers the registration's lifetime.
    let res = unsafe { check(desc) }.and_then(|name| registry::register(PatchKey::of(desc), name));
    match res {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Unregisters a patch registered by `dynamos_register_patch()`. Unknown
/// descriptors are reported in dmesg and otherwise ignored.
///
/// # Safety
///
/// `desc` is the pointer that was passed to `dynamos_register_patch()`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_unregister_patch(desc: *const PatchDesc) {
    registry::unregister(PatchKey::of(desc));
}
