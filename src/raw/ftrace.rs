// SPDX-License-Identifier: GPL-2.0

//! A safe layer over an `IPMODIFY` `ftrace_ops` hooked to one function.
//!
//! This is how a site sits at its target's entry: the ftrace call at the
//! function's start (`__fentry__`) runs [`Handler::on_call`], which may send
//! the call elsewhere by rewriting the saved instruction pointer, the way
//! `kernel/livepatch/patch.c` does.
//!
//! The trampoline takes ftrace's recursion guard itself (as livepatch's
//! handler does, rather than `FTRACE_OPS_FL_RECURSION`'s generic wrapper,
//! which costs about 50 instructions a call), so the handler runs with
//! preemption disabled: it may read data that writers retire with
//! `synchronize_rcu()`. A recursive call is let through to the original.

use core::marker::PhantomPinned;
use kernel::{
    bindings,
    ffi::{c_int, c_ulong},
    prelude::*,
};

/// A call caught at a hooked function's entry: its arguments, where it
/// came from, and where it should go instead (if anywhere).
pub(crate) struct Call<'a> {
    args: [usize; 6],
    parent_ip: usize,
    target: usize,
    _ctx: core::marker::PhantomData<&'a mut ()>,
}

/// ftrace's recursion guard, held by a trampoline while it handles a call;
/// preemption is disabled while it lives.
///
/// # Invariants
///
/// `bit` came from a successful `dynamos_recursion_trylock()` on this CPU,
/// and is unlocked on drop.
pub(crate) struct RecursionGuard {
    bit: c_int,
    _not_send: core::marker::PhantomData<*mut ()>,
}

impl RecursionGuard {
    /// Takes the guard for a call of `ip` from `parent_ip`; `None` if the
    /// call is a recursion (let it through to the original).
    #[inline(always)]
    pub(crate) fn take(ip: usize, parent_ip: usize) -> Option<Self> {
        // SAFETY: The guard may be taken in any context; it disables
        // preemption until the unlock in `drop`.
        let bit = unsafe { dynamos_recursion_trylock(ip as c_ulong, parent_ip as c_ulong) };
        // INVARIANT: Locked above.
        (bit >= 0).then_some(RecursionGuard {
            bit,
            _not_send: core::marker::PhantomData,
        })
    }
}

impl Drop for RecursionGuard {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: `bit` came from the trylock (type invariant), on this CPU
        // (the guard is not `Send`).
        unsafe { dynamos_recursion_unlock(self.bit) };
    }
}

impl<'a> Call<'a> {
    /// A call with these first six integer arguments (System V x86-64
    /// order), made from `parent_ip`, handled under `guard`.
    pub(crate) fn new(_guard: &'a RecursionGuard, args: [usize; 6], parent_ip: usize) -> Self {
        Call {
            args,
            parent_ip,
            target: 0,
            _ctx: core::marker::PhantomData,
        }
    }
}

impl Call<'_> {
    /// The return address of the call: where in the caller it came from.
    pub(crate) fn parent_ip(&self) -> usize {
        self.parent_ip
    }

    /// The first six integer arguments (System V x86-64 order).
    pub(crate) fn args(&self) -> [usize; 6] {
        self.args
    }

    /// Makes the call continue at `addr`, a function with the hooked
    /// function's signature, instead of the hooked function's body.
    pub(crate) fn redirect(&mut self, addr: usize) {
        self.target = addr;
    }

    /// Where the call goes instead of the body, if it was redirected.
    pub(crate) fn target(&self) -> Option<usize> {
        (self.target != 0).then_some(self.target)
    }
}

/// What runs at every call of a hooked function.
pub(crate) trait Handler: Send + Sync + 'static {
    /// Called at the function's entry, with preemption disabled. It must not
    /// sleep and must not call the hooked function.
    fn on_call(&self, call: &mut Call<'_>);
}

/// An `ftrace_ops` hooked to one function, calling `H`.
///
/// # Invariants
///
/// - `ops` is registered with ftrace, filtered on `ip` only, whenever
///   `registered` is true: from the return of [`Hook::new`] until `drop`.
/// - The value never moves while registered (it is only handed out pinned).
#[repr(C)]
pub(crate) struct Hook<H: Handler> {
    ops: bindings::ftrace_ops,
    ip: usize,
    registered: bool,
    handler: H,
    _pin: PhantomPinned,
}

// SAFETY: ftrace may run the handler on any CPU at any time; `H: Send + Sync`
// makes that fine, and the raw `ftrace_ops` is only touched by ftrace.
unsafe impl<H: Handler> Send for Hook<H> {}
// SAFETY: As above: shared access only reads `handler`.
unsafe impl<H: Handler> Sync for Hook<H> {}

impl<H: Handler> Hook<H> {
    /// Hooks the function starting at `ip`.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `ip` is not the start of a function ftrace can trace,
    /// `EBUSY` if another `IPMODIFY` user (a livepatch, a kprobe that
    /// modifies the instruction pointer, a direct call) holds it, `ENOMEM`.
    /// On error nothing stays registered.
    pub(crate) fn new(ip: usize, handler: H) -> Result<Pin<KBox<Self>>> {
        // SAFETY: All-zero is the state `ftrace_ops_init()` expects of an ops
        // that has not been initialized yet (flag INITIALIZED clear).
        let mut ops: bindings::ftrace_ops = unsafe { core::mem::zeroed() };
        ops.func = Some(trampoline::<H>);
        // No FTRACE_OPS_FL_RECURSION: the trampoline takes ftrace's
        // recursion guard itself, as livepatch's handler does, which saves
        // the generic wrapper (about 50 instructions a call).
        ops.flags = bindings::FTRACE_OPS_FL_IPMODIFY as c_ulong;
        let mut hook = KBox::pin(
            Hook {
                ops,
                ip,
                registered: false,
                handler,
                _pin: PhantomPinned,
            },
            GFP_KERNEL,
        )?;
        // SAFETY: We do not move out of the pinned box; the raw ops pointer
        // is handed to ftrace, which keeps it until unregistration.
        let ops_ptr = unsafe { &raw mut Pin::get_unchecked_mut(hook.as_mut()).ops };
        // SAFETY: `ops_ptr` is a valid ops not yet registered.
        let ret = unsafe { bindings::ftrace_set_filter_ip(ops_ptr, ip as c_ulong, 0, 0) };
        if ret != 0 {
            // `drop` frees the filter; the ops is not registered.
            return Err(Error::from_errno(ret));
        }
        // SAFETY: `ops_ptr` is initialized and filtered on one function; it
        // stays pinned until `drop` unregisters it.
        let ret = unsafe { bindings::register_ftrace_function(ops_ptr) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // SAFETY: Only a flag is written; nothing moves.
        unsafe { Pin::get_unchecked_mut(hook.as_mut()).registered = true };
        Ok(hook)
    }
}

impl<H: Handler> Drop for Hook<H> {
    fn drop(&mut self) {
        let ops = &raw mut self.ops;
        if self.registered {
            // SAFETY: Registered (type invariant). Once this returns, ftrace
            // has waited for every CPU to leave the handler and trampoline.
            let ret = unsafe { bindings::unregister_ftrace_function(ops) };
            if ret != 0 {
                pr_err!(
                    "unregister_ftrace_function({:#x}) failed: {}\n",
                    self.ip,
                    ret
                );
            }
        }
        // SAFETY: The ops is not registered (any more); this frees the filter
        // hash that `ftrace_set_filter_ip()` may have allocated.
        unsafe { bindings::ftrace_free_filter(ops) };
    }
}

/// The `ftrace_func_t` of every hook.
///
/// # Safety
///
/// Called by ftrace only, for a registered `Hook<H>` whose `ops` is `op`.
unsafe extern "C" fn trampoline<H: Handler>(
    ip: c_ulong,
    parent_ip: c_ulong,
    op: *mut bindings::ftrace_ops,
    fregs: *mut bindings::ftrace_regs,
) {
    let Some(guard) = RecursionGuard::take(ip, parent_ip) else {
        // Recursion: let the call through to the original.
        return;
    };
    // SAFETY: `ops` is the first field of the `#[repr(C)]` `Hook<H>`, and
    // the hook is registered, hence alive.
    let hook = unsafe { &*op.cast::<Hook<H>>() };
    // SAFETY: With DYNAMIC_FTRACE_WITH_ARGS on x86-64, `ftrace_regs` is a
    // `pt_regs` whose argument registers and `ip` are valid, owned by this
    // call of the trampoline.
    let regs = unsafe { &mut *fregs.cast::<bindings::pt_regs>() };
    let mut call = Call::new(
        &guard,
        [regs.di, regs.si, regs.dx, regs.cx, regs.r8, regs.r9],
        parent_ip,
    );
    hook.handler.on_call(&mut call);
    if let Some(to) = call.target() {
        // Writing `ip` makes the call continue there.
        regs.ip = to as c_ulong;
    }
}

extern "C" {
    fn dynamos_recursion_trylock(ip: c_ulong, parent_ip: c_ulong) -> c_int;
    fn dynamos_recursion_unlock(bit: c_int);
}

// SAFETY: A `Call` borrows a `RecursionGuard` for its whole life, and the
// guard keeps preemption disabled: an RCU read-side critical section.
unsafe impl super::rcu::ReadSide for Call<'_> {}
