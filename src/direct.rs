// SPDX-License-Identifier: GPL-2.0

//! A safe layer over the direct ftrace calls and jumps of `src/direct.c`.
//!
//! A site's target has one [`Direct`] hook: its `__fentry__` call either
//! jumps to a patch's entry ([`Target::Jump`]: every call goes there, for
//! the cost of one jump), or calls `dynamos_tramp`, which asks
//! the site where each call goes (`site::Table::dispatch`) ([`Target::Tramp`]).
//! `modify_ftrace_direct()` moves a hook between targets without a moment
//! where calls skip it.

use crate::ftrace::Call;
use core::ptr::NonNull;
use kernel::{
    ffi::{c_int, c_ulong, c_void},
    prelude::*,
};

extern "C" {
    fn dynamos_direct_new(ip: c_ulong, addr: c_ulong, jmp: bool, err: *mut c_int) -> *mut c_void;
    fn dynamos_direct_retarget(d: *mut c_void, addr: c_ulong, jmp: bool) -> c_int;
    fn dynamos_direct_free(d: *mut c_void);
    fn dynamos_jmp_ok() -> bool;
    fn dynamos_tramp_addr() -> c_ulong;
    fn dynamos_body(addr: c_ulong) -> c_ulong;
    fn dynamos_recursion_trylock(ip: c_ulong, parent_ip: c_ulong) -> c_int;
    fn dynamos_recursion_unlock(bit: c_int);
}

/// Where a hooked function's calls go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Target {
    /// To `dynamos_tramp`, which asks the site.
    Tramp,
    /// A jump to this entry, which has the target's signature.
    Jump(usize),
}

impl Target {
    fn raw(self) -> (c_ulong, bool) {
        match self {
            // SAFETY: Returns an address; no side effect.
            Target::Tramp => (unsafe { dynamos_tramp_addr() }, false),
            Target::Jump(a) => (a as c_ulong, true),
        }
    }
}

/// Whether sites may jump: `CONFIG_DYNAMIC_FTRACE_WITH_JMP`, and no IBT at
/// run time (a patch's `prev()` enters the original past its `__fentry__`
/// site, where IBT wants an `ENDBR`).
pub(crate) fn jumps_allowed() -> bool {
    // SAFETY: Reads configuration and CPU features.
    unsafe { dynamos_jmp_ok() }
}

/// Where the body of the function at `addr` starts, past its `__fentry__`
/// call: calling there runs the original without entering any hook. It is
/// also the return address of that call. `None` if the text is unreadable.
pub(crate) fn body(addr: usize) -> Option<usize> {
    // SAFETY: Reads kernel text without faulting.
    let b = unsafe { dynamos_body(addr as c_ulong) } as usize;
    (b != 0).then_some(b)
}

/// A direct ftrace hook on one function.
///
/// # Invariants
///
/// `raw` was returned by `dynamos_direct_new()` and is freed only in drop.
pub(crate) struct Direct {
    raw: NonNull<c_void>,
    target: Target,
}

// SAFETY: The hook is only changed through `&mut self`; ftrace may run the
// trampoline on any CPU, which does not touch this value.
unsafe impl Send for Direct {}
// SAFETY: `&Direct` gives read access to `target` only.
unsafe impl Sync for Direct {}

impl Direct {
    /// Hooks the function at `ip` with calls going to `target`.
    ///
    /// # Errors
    ///
    /// `EINVAL` or `ENODEV` if ftrace cannot hook `ip`, `EBUSY` if another
    /// direct user or a user that changes the instruction pointer (a
    /// livepatch) holds it, `ENOMEM`.
    pub(crate) fn new(ip: usize, target: Target) -> Result<Self> {
        let (addr, jmp) = target.raw();
        let mut err: c_int = 0;
        // SAFETY: `err` is writable; the C side checks `ip`.
        let raw = unsafe { dynamos_direct_new(ip as c_ulong, addr, jmp, &mut err) };
        match NonNull::new(raw) {
            // INVARIANT: Returned by `dynamos_direct_new()`.
            Some(raw) => Ok(Direct { raw, target }),
            None => Err(if err < 0 {
                Error::from_errno(err)
            } else {
                EINVAL
            }),
        }
    }

    /// Where calls go now.
    pub(crate) fn target(&self) -> Target {
        self.target
    }

    /// Sends the calls to `target`. Process context; may sleep.
    ///
    /// # Errors
    ///
    /// `ENOMEM`: calls go where they went.
    pub(crate) fn retarget(&mut self, target: Target) -> Result {
        if target == self.target {
            return Ok(());
        }
        let (addr, jmp) = target.raw();
        // SAFETY: `raw` is live (type invariant).
        kernel::error::to_result(unsafe { dynamos_direct_retarget(self.raw.as_ptr(), addr, jmp) })?;
        self.target = target;
        Ok(())
    }
}

impl Drop for Direct {
    fn drop(&mut self) {
        // SAFETY: `raw` is live and not used after this.
        unsafe { dynamos_direct_free(self.raw.as_ptr()) };
    }
}

/// The saved registers `dynamos_tramp` hands over, lowest address first.
#[repr(C)]
struct Saved {
    r9: usize,
    r8: usize,
    rcx: usize,
    rdx: usize,
    rsi: usize,
    rdi: usize,
    /// Saved for variadic callees; not an argument.
    _rax: usize,
}

/// Called by `dynamos_tramp` at each call of a function in
/// [`Target::Tramp`] mode.
///
/// # Safety
///
/// `regs` points to the registers `dynamos_tramp` saved; `slot` to the
/// return address of the `__fentry__` call, followed by the caller's return
/// address.
#[unsafe(no_mangle)]
unsafe extern "C" fn dynamos_tramp_dispatch(regs: *const Saved, slot: *mut usize) {
    // SAFETY: By the caller's guarantee.
    let (ret, parent) = unsafe { (slot.read(), slot.add(1).read()) };
    // SAFETY: Takes ftrace's recursion guard; disables preemption until
    // the unlock.
    let bit = unsafe { dynamos_recursion_trylock(ret as c_ulong, parent as c_ulong) };
    if bit < 0 {
        return;
    }
    // SAFETY: By the caller's guarantee.
    let r = unsafe { &*regs };
    // SAFETY: Under the recursion guard taken above.
    let mut call = unsafe { Call::new([r.rdi, r.rsi, r.rdx, r.rcx, r.r8, r.r9], parent) };
    if crate::site::Table::dispatch(ret, &mut call) {
        if let Some(to) = call.target() {
            // SAFETY: The slot is the return address of this very call;
            // returning there enters `to`, which has the hooked function's
            // signature, with the caller's arguments and return address.
            unsafe { slot.write(to) };
        }
    }
    // SAFETY: `bit` came from the trylock above.
    unsafe { dynamos_recursion_unlock(bit) };
}
