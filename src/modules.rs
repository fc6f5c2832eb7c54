// SPDX-License-Identifier: GPL-2.0

//! What dynamos needs to know of a patch module: where its code is, and a
//! reference that keeps it loaded while its code may run.

use core::ops::Range;
use kernel::{bindings, ffi::c_void};

extern "C" {
    fn dynamos_module_text(module: *mut c_void, base: *mut usize, size: *mut usize);
}

/// A patch module, as handed over in its descriptor.
///
/// # Invariants
///
/// `module` points to the `struct module` of a module that stays loaded for
/// as long as this value exists: the patch module is registered, and it
/// unregisters (dropping this) from its exit function at the latest.
pub(crate) struct PatchModule {
    module: *mut bindings::module,
}

// SAFETY: `struct module` may be referenced from any thread; the methods
// only read fields that are fixed once the module is live and call the
// thread-safe refcount functions.
unsafe impl Send for PatchModule {}
// SAFETY: As above.
unsafe impl Sync for PatchModule {}

impl PatchModule {
    /// Wraps the module pointer of a patch descriptor.
    ///
    /// # Safety
    ///
    /// `module` is the calling patch module's `THIS_MODULE`, and the value
    /// is dropped before that module's exit function returns.
    pub(crate) unsafe fn new(module: *mut c_void) -> Self {
        // INVARIANT: By the caller's guarantee.
        PatchModule {
            module: module.cast(),
        }
    }

    /// The address range of the module's core text.
    pub(crate) fn text(&self) -> Range<usize> {
        let (mut base, mut size) = (0usize, 0usize);
        // SAFETY: The module is live (type invariant); `mem[MOD_TEXT]` is
        // fixed once the module is loaded. Read in C: see `src/helpers.c`.
        unsafe { dynamos_module_text(self.module.cast(), &mut base, &mut size) };
        base..base + size
    }

    /// Takes a reference that makes `rmmod` of the module fail ("in use")
    /// until [`ModuleRef`] is dropped. `None` if the module is going away.
    pub(crate) fn get(&self) -> Option<ModuleRef> {
        // SAFETY: The module is live (type invariant).
        if unsafe { bindings::try_module_get(self.module) } {
            // INVARIANT: We hold the reference just taken.
            Some(ModuleRef {
                module: self.module,
            })
        } else {
            None
        }
    }
}

/// A counted reference on a patch module.
///
/// # Invariants
///
/// Holds one reference on `module`, obtained by `try_module_get()`.
pub(crate) struct ModuleRef {
    module: *mut bindings::module,
}

// SAFETY: Module references may be put from any thread.
unsafe impl Send for ModuleRef {}
// SAFETY: `&ModuleRef` gives no access.
unsafe impl Sync for ModuleRef {}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: We hold one reference (type invariant).
        unsafe { bindings::module_put(self.module) };
    }
}
