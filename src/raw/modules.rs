// SPDX-License-Identifier: GPL-2.0

//! What dynamos needs to know of a patch module: where its code is, and a
//! reference that keeps it loaded while its code may run.

use core::{ops::Range, pin::Pin};
use kernel::{
    bindings,
    ffi::{c_int, c_ulong, c_void},
    prelude::*,
    str::CStr,
};

extern "C" {
    fn dynamos_module_text(module: *mut c_void, base: *mut usize, size: *mut usize);
    fn dynamos_module_name(module: *mut c_void) -> *const kernel::ffi::c_char;
    fn dynamos_module_get(modname: *const kernel::ffi::c_char) -> *mut c_void;
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
        // SAFETY: The module is live (type invariant).
        unsafe { text_of(self.module) }
    }

    /// The module's name.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: The module is live (type invariant); its name is a
        // NUL-terminated array that lives as long as the module, which
        // outlives `&self`.
        unsafe { CStr::from_char_ptr(dynamos_module_name(self.module.cast())) }
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

/// The address range of `module`'s core text.
///
/// # Safety
///
/// `module` is a live module, which stays loaded during the call.
unsafe fn text_of(module: *mut bindings::module) -> Range<usize> {
    let (mut base, mut size) = (0usize, 0usize);
    // SAFETY: The module is live (the caller's guarantee); `mem[MOD_TEXT]`
    // is fixed once the module is loaded. Read in C: see `raw/helpers.c`.
    unsafe { dynamos_module_text(module.cast(), &mut base, &mut size) };
    base..base + size
}

/// Takes a reference on the loaded module called `name` (so that `rmmod`
/// of it fails, "in use", until the reference is dropped); `None` if no
/// such module is live.
pub(crate) fn pin(name: &CStr) -> Option<ModuleRef> {
    // SAFETY: `name` is a NUL-terminated string; the helper takes the
    // reference under RCU, or returns NULL.
    let module = unsafe { dynamos_module_get(name.as_char_ptr()) }.cast::<bindings::module>();
    // INVARIANT: A reference just taken.
    (!module.is_null()).then_some(ModuleRef { module })
}

/// A counted reference on a module.
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

impl ModuleRef {
    /// The address range of the module's core text.
    pub(crate) fn text(&self) -> Range<usize> {
        // SAFETY: The reference keeps the module loaded (type invariant).
        unsafe { text_of(self.module) }
    }
}

impl Drop for ModuleRef {
    fn drop(&mut self) {
        // SAFETY: We hold one reference (type invariant).
        unsafe { bindings::module_put(self.module) };
    }
}

/// What happens to a module, for a [`Notifier`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModuleEvent {
    /// Loaded, about to run its init: its functions can be hooked.
    Coming,
    /// About to be freed: hooks on its functions must go.
    Going,
}

/// The handler of a [`Notifier`]. An error on [`ModuleEvent::Coming`] makes
/// the module load fail.
pub(crate) type EventFn = fn(ModuleEvent, &CStr) -> Result;

#[repr(C)]
struct RawNotifier {
    nb: bindings::notifier_block,
    handler: EventFn,
}

/// A module notifier calling an [`EventFn`].
///
/// # Invariants
///
/// `raw.nb` is registered with `register_module_notifier()` until drop.
pub(crate) struct Notifier {
    raw: Pin<KBox<RawNotifier>>,
}

// SAFETY: The notifier block is only used by the module loader, from any
// thread; `EventFn` is a plain function.
unsafe impl Send for Notifier {}
// SAFETY: `&Notifier` gives no access.
unsafe impl Sync for Notifier {}

impl Notifier {
    /// Calls `handler` for every module that comes or goes from now on.
    pub(crate) fn register(handler: EventFn) -> Result<Self> {
        // SAFETY: All-zero is a valid, unregistered notifier block.
        let mut nb: bindings::notifier_block = unsafe { core::mem::zeroed() };
        nb.notifier_call = Some(notifier_call);
        let mut raw = KBox::pin(RawNotifier { nb, handler }, GFP_KERNEL)?;
        // SAFETY: The block stays pinned on the heap until drop unregisters
        // it; nothing moves out of the pin.
        let nb = unsafe { &raw mut Pin::get_unchecked_mut(raw.as_mut()).nb };
        // SAFETY: `nb` is valid and not registered.
        kernel::error::to_result(unsafe { bindings::register_module_notifier(nb) })?;
        // INVARIANT: Registered above.
        Ok(Notifier { raw })
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant); unregistering waits for
        // running callbacks (the chain's rwsem), after which the block may
        // be freed.
        unsafe {
            let nb = &raw mut Pin::get_unchecked_mut(self.raw.as_mut()).nb;
            bindings::unregister_module_notifier(nb);
        }
    }
}

/// The `notifier_call` of every [`Notifier`].
///
/// # Safety
///
/// Called by the module loader's notifier chain with the block of a
/// registered [`Notifier`] and a `struct module *` as `data`.
unsafe extern "C" fn notifier_call(
    nb: *mut bindings::notifier_block,
    action: c_ulong,
    data: *mut c_void,
) -> c_int {
    let event = match action as u32 {
        bindings::module_state_MODULE_STATE_COMING => ModuleEvent::Coming,
        bindings::module_state_MODULE_STATE_GOING => ModuleEvent::Going,
        _ => return bindings::NOTIFY_DONE as c_int,
    };
    // SAFETY: `nb` is the first field of a live `#[repr(C)]` `RawNotifier`.
    let raw = unsafe { &*nb.cast::<RawNotifier>() };
    // SAFETY: `data` is the module the event is about; its name is a
    // NUL-terminated array that lives as long as the module.
    let name = unsafe { CStr::from_char_ptr(dynamos_module_name(data)) };
    match (raw.handler)(event, name) {
        Ok(()) => bindings::NOTIFY_OK as c_int,
        // notifier_from_errno()
        Err(e) => {
            (bindings::NOTIFY_STOP_MASK as c_int) | (bindings::NOTIFY_OK as c_int - e.to_errno())
        }
    }
}
