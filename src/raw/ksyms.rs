// SPDX-License-Identifier: GPL-2.0

//! Kernel functions that dynamos calls but that no one exported, reached
//! the way patches reach them (`ksyms!`, `Documentation/design.rst`
//! chapter 12): each is a weak `.klp.sym.vmlinux.<name>,0` reference that
//! the build turns into a livepatch relocation (`scripts/ksyms.sh`), which
//! the module loader resolves at `insmod`. `kallsyms::check_converted`
//! refuses to run if the build did not convert them (they would be 0).

use kernel::{
    bindings,
    ffi::{c_char, c_int, c_ulong, c_void},
    prelude::*,
};

/// A weak reference to vmlinux's `$name`, for an `extern` item.
macro_rules! vmlinux_ksym {
    ($name:literal) => {
        ::core::arch::global_asm!(concat!(".weak \".klp.sym.vmlinux.", $name, ",0\""));
    };
}

vmlinux_ksym!("kallsyms_on_each_match_symbol");

extern "C" {
    #[link_name = ".klp.sym.vmlinux.kallsyms_on_each_match_symbol,0"]
    fn kallsyms_on_each_match_symbol(
        f: Option<unsafe extern "C" fn(data: *mut c_void, addr: c_ulong) -> c_int>,
        name: *const c_char,
        data: *mut c_void,
    ) -> c_int;
}

// The declaration against the kernel's prototype.
const _: unsafe extern "C" fn(
    Option<unsafe extern "C" fn(*mut c_void, c_ulong) -> c_int>,
    *const c_char,
    *mut c_void,
) -> c_int = bindings::kallsyms_on_each_match_symbol;

/// Calls `f` with the address of every vmlinux symbol called `name`, of any
/// type, in kallsyms order (the order livepatch's positions count), until
/// it returns `false`. Process context: it may reschedule.
pub(crate) fn each_vmlinux_symbol(name: &CStr, f: &mut dyn FnMut(usize) -> bool) {
    /// Runs the closure `data` points to.
    ///
    /// # Safety
    ///
    /// `data` is the `&mut &mut dyn FnMut` below, alive for the call.
    unsafe extern "C" fn each(data: *mut c_void, addr: c_ulong) -> c_int {
        // SAFETY: By the function's contract.
        let f = unsafe { &mut *data.cast::<&mut dyn FnMut(usize) -> bool>() };
        c_int::from(!f(addr))
    }
    let mut f = f;
    // SAFETY: The loader resolved the reference before this module's init
    // (`kallsyms::check_converted` ran); `name` is a C string; the callback takes its
    // context back, which outlives the call.
    unsafe { kallsyms_on_each_match_symbol(Some(each), name.as_char_ptr(), (&raw mut f).cast()) };
}
