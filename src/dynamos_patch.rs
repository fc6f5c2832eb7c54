// SPDX-License-Identifier: GPL-2.0

//! The dynamos API for patch modules.
//!
//! A patch module includes this file with
//!
//! ```ignore
//! #[path = "../../src/dynamos_patch.rs"]
//! mod dynamos_patch;
//! ```
//!
//! and declares itself with [`patch!`]. The patch is registered with
//! `dynamos.ko` when the module loads and unregistered when it unloads.
//! Loading a patch module while dynamos is not loaded fails in the module
//! loader ("Unknown symbol dynamos_register_patch").

#![allow(dead_code)]

#[path = "abi.rs"]
pub(crate) mod abi;

use abi::{PatchDesc, ABI_VERSION};
use kernel::{ffi::c_int, prelude::*, str::CStr, ThisModule};

extern "C" {
    fn dynamos_register_patch(desc: *const PatchDesc) -> c_int;
    fn dynamos_unregister_patch(desc: *const PatchDesc);
}

/// A patch registered with dynamos; dropping it unregisters the patch.
///
/// # Invariants
///
/// `desc` was accepted by `dynamos_register_patch()` and has not been
/// unregistered.
pub(crate) struct Registration {
    desc: KBox<PatchDesc>,
}

// SAFETY: The descriptor is only read, by dynamos, which allows calls from any
// thread; unregistering from another thread is fine.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` gives no access to anything.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers the patch `name` of `module` with dynamos.
    ///
    /// # Errors
    ///
    /// The errno of `dynamos_register_patch()`: `EINVAL` for a bad name or an
    /// ABI mismatch, `EEXIST` if the name is taken, `ENOMEM`.
    pub(crate) fn new(name: &'static CStr, module: &'static ThisModule) -> Result<Self> {
        let desc = KBox::new(
            PatchDesc {
                abi_version: ABI_VERSION,
                size: PatchDesc::SIZE,
                name: name.as_char_ptr(),
                module: module.as_ptr().cast(),
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `desc` is a valid descriptor whose name is `'static`; it
        // stays on the heap, unchanged, until `drop` unregisters it.
        kernel::error::to_result(unsafe { dynamos_register_patch(&*desc) })?;
        // INVARIANT: Accepted above.
        Ok(Registration { desc })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `desc` was registered (type invariant) and is the same
        // pointer that was passed to `dynamos_register_patch()`.
        unsafe { dynamos_unregister_patch(&*self.desc) };
    }
}

/// Declares a patch module: the `module!` metadata plus the registration
/// with dynamos. The patch is named after the module.
///
/// ```ignore
/// dynamos_patch::patch! {
///     type: HelloPatch,
///     name: "dynamos_hello",
///     authors: ["dynamos developers"],
///     description: "A patch that only registers",
///     license: "GPL",
/// }
/// ```
macro_rules! patch {
    (
        type: $type:ident,
        name: $name:literal,
        authors: [$($author:literal),* $(,)?],
        description: $desc:literal,
        license: $license:literal $(,)?
    ) => {
        ::kernel::prelude::module! {
            type: $type,
            name: $name,
            authors: [$($author),*],
            description: $desc,
            license: $license,
        }

        /// The patch module: holds its registration with dynamos.
        struct $type {
            _registration: $crate::dynamos_patch::Registration,
        }

        impl ::kernel::Module for $type {
            fn init(module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                Ok($type {
                    _registration: $crate::dynamos_patch::Registration::new(
                        ::kernel::c_str!($name),
                        module,
                    )?,
                })
            }
        }
    };
}
pub(crate) use patch;
