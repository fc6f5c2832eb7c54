// SPDX-License-Identifier: GPL-2.0

//! A safe layer over the direct ftrace calls and jumps of `raw/direct.c`.
//!
//! A site's target has one [`Direct`] hook: its `__fentry__` call either
//! jumps to a patch's entry ([`Route::Jump`]: every call goes there, for
//! the cost of one jump), or calls `dynamos_tramp`, which asks the hooked
//! function's handler where each call goes ([`Route::Tramp`]); a lock-free
//! table finds the handler from the call's return address.
//! `modify_ftrace_direct()` moves a hook between routes without a moment
//! where calls skip it.
//!
//! The hook is generic over its handler, as [`super::ftrace::Hook`] is;
//! the crate root makes the one entry the C trampoline calls for the
//! handler type of the sites, with [`tramp_dispatch!`].

use super::ftrace::{Call, Handler, RecursionGuard};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{
    ffi::{c_int, c_ulong, c_void},
    prelude::*,
    sync::Arc,
};

extern "C" {
    fn dynamos_direct_new(ip: c_ulong, addr: c_ulong, jmp: bool, err: *mut c_int) -> *mut c_void;
    fn dynamos_direct_retarget(d: *mut c_void, addr: c_ulong, jmp: bool) -> c_int;
    fn dynamos_direct_free(d: *mut c_void);
    fn dynamos_jmp_ok() -> bool;
    fn dynamos_tramp_addr() -> c_ulong;
    fn dynamos_body(addr: c_ulong) -> c_ulong;
}

/// Where a hooked function's calls go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Route {
    /// To `dynamos_tramp`, which asks the site.
    Tramp,
    /// A jump to this entry, which has the target's signature.
    Jump(usize),
}

impl Route {
    fn raw(self) -> (c_ulong, bool) {
        match self {
            // SAFETY: Returns an address; no side effect.
            Route::Tramp => (unsafe { dynamos_tramp_addr() }, false),
            Route::Jump(a) => (a as c_ulong, true),
        }
    }
}

/// Whether sites may jump: `CONFIG_DYNAMIC_FTRACE_WITH_JMP`, no IBT at
/// run time (where sites jump, a patch's `prev()` enters the original past
/// its `__fentry__` site through a pointer, where IBT wants an `ENDBR`),
/// and not the `trampoline_only` parameter, which takes the IBT path.
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

/// The handler type of every [`Direct`] hook: the one
/// `dynamos_tramp_dispatch()` casts the table's entries to.
///
/// # Safety
///
/// Implemented only by [`tramp_dispatch!`], for the type it dispatches
/// to, once in the crate: no other type may be a `Direct`'s handler.
pub(crate) unsafe trait TrampHandler: Handler {}

/// A direct ftrace hook on one function, whose trampoline calls ask an
/// `H`.
///
/// # Invariants
///
/// `raw` was returned by `dynamos_direct_new()` and is freed only in drop.
pub(crate) struct Direct<H: TrampHandler> {
    raw: NonNull<c_void>,
    route: Route,
    body: usize,
    // Removed after `drop` has unregistered the hook.
    _entry: TableHandle,
    // Keeps the handler alive while the table may lead to it.
    _handler: Arc<H>,
}

// SAFETY: The hook is only changed through `&mut self`; ftrace may run the
// trampoline on any CPU, which does not touch this value; `H` is `Send +
// Sync`.
unsafe impl<H: TrampHandler> Send for Direct<H> {}
// SAFETY: `&Direct` gives read access to `route` only.
unsafe impl<H: TrampHandler> Sync for Direct<H> {}

impl<H: TrampHandler> Direct<H> {
    /// Hooks the function at `ip` with calls going to `route`; in
    /// [`Route::Tramp`] mode `handler` decides where each goes. The hook
    /// holds `handler` until it is dropped.
    ///
    /// # Errors
    ///
    /// `EINVAL` or `ENODEV` if ftrace cannot hook `ip`, `EBUSY` if another
    /// direct user or a user that changes the instruction pointer (a
    /// livepatch) holds it, `ENOSPC` if dynamos hooks too many functions,
    /// `ENOMEM`.
    pub(crate) fn new(ip: usize, route: Route, handler: Arc<H>) -> Result<Self> {
        let body = body(ip).ok_or(EINVAL)?;
        let entry = TableHandle::new(body, Arc::as_ptr(&handler).cast())?;
        let (addr, jmp) = route.raw();
        let mut err: c_int = 0;
        // SAFETY: `err` is writable; the C side checks `ip`.
        let raw = unsafe { dynamos_direct_new(ip as c_ulong, addr, jmp, &mut err) };
        match NonNull::new(raw) {
            // INVARIANT: Returned by `dynamos_direct_new()`.
            Some(raw) => Ok(Direct {
                raw,
                route,
                body,
                _entry: entry,
                _handler: handler,
            }),
            None => Err(if err < 0 {
                Error::from_errno(err)
            } else {
                EINVAL
            }),
        }
    }

    /// Where calls go now.
    pub(crate) fn route(&self) -> Route {
        self.route
    }

    /// Where the hooked function's body starts, past its `__fentry__`
    /// call (see [`body`]).
    pub(crate) fn body(&self) -> usize {
        self.body
    }

    /// Sends the calls to `route`. Process context; may sleep.
    ///
    /// # Errors
    ///
    /// `ENOMEM`: calls go where they went.
    pub(crate) fn retarget(&mut self, route: Route) -> Result {
        if route == self.route {
            return Ok(());
        }
        let (addr, jmp) = route.raw();
        // SAFETY: `raw` is live (type invariant).
        kernel::error::to_result(unsafe { dynamos_direct_retarget(self.raw.as_ptr(), addr, jmp) })?;
        self.route = route;
        Ok(())
    }
}

impl<H: TrampHandler> Drop for Direct<H> {
    fn drop(&mut self) {
        // SAFETY: `raw` is live and not used after this.
        unsafe { dynamos_direct_free(self.raw.as_ptr()) };
    }
}

/// The saved registers `dynamos_tramp` hands over, lowest address first.
#[repr(C)]
pub(crate) struct TrampRegs {
    r9: usize,
    r8: usize,
    rcx: usize,
    rdx: usize,
    rsi: usize,
    rdi: usize,
    /// Saved for variadic callees; not an argument.
    _rax: usize,
}

/// Defines `dynamos_tramp_dispatch()`, which `dynamos_tramp` calls at each
/// call of a function in [`Route::Tramp`] mode, for hooks whose handler
/// type is `$handler`. Used once, in the crate root: every [`Direct`] of
/// the crate must have that handler type.
macro_rules! tramp_dispatch {
    ($handler:ty) => {
        // SAFETY: This is the one dispatch of the crate, and it casts to
        // `$handler`.
        unsafe impl $crate::raw::direct::TrampHandler for $handler {}

        /// Called by `dynamos_tramp` (`raw/direct.c`) at each call of a
        /// function in trampoline mode.
        ///
        /// # Safety
        ///
        /// `regs` points to the registers `dynamos_tramp` saved; `slot` to
        /// the return address of the `__fentry__` call, followed by the
        /// caller's return address.
        #[unsafe(no_mangle)]
        unsafe extern "C" fn dynamos_tramp_dispatch(
            regs: *const $crate::raw::direct::TrampRegs,
            slot: *mut usize,
        ) {
            // SAFETY: By the caller's guarantee; every hook of the crate
            // has this handler type (the macro's contract).
            unsafe { $crate::raw::direct::dispatch::<$handler>(regs, slot) }
        }
    };
}
pub(crate) use tramp_dispatch;

/// The body of `dynamos_tramp_dispatch()` (see [`tramp_dispatch!`]).
///
/// # Safety
///
/// `regs` points to the registers `dynamos_tramp` saved; `slot` to the
/// return address of the `__fentry__` call, followed by the caller's return
/// address; every [`Direct`] hook has handler type `H`.
#[inline(always)]
pub(crate) unsafe fn dispatch<H: Handler>(regs: *const TrampRegs, slot: *mut usize) {
    // SAFETY: By the caller's guarantee.
    let (ret, parent) = unsafe { (slot.read(), slot.add(1).read()) };
    let Some(guard) = RecursionGuard::take(ret, parent) else {
        return;
    };
    // SAFETY: By the caller's guarantee.
    let r = unsafe { &*regs };
    let mut call = Call::new(&guard, [r.rdi, r.rsi, r.rdx, r.rcx, r.r8, r.r9], parent);
    // SAFETY: Every hook's handler is an `H` (the caller's guarantee).
    let Some(site) = (unsafe { lookup::<H>(ret, &guard) }) else {
        return;
    };
    site.on_call(&mut call);
    if let Some(to) = call.target() {
        // SAFETY: The slot is the return address of this very call;
        // returning there enters `to`, which has the hooked function's
        // signature, with the caller's arguments and return address.
        unsafe { slot.write(to) };
    }
}

/// Most functions hooked at once (half the table's slots).
const TABLE_SLOTS: usize = 1 << 13;

/// Marks a slot whose site went.
const GONE: usize = usize::MAX;

/// The handlers by the return address of their hook's `__fentry__` call,
/// for `dynamos_tramp`: open addressing, read without locks under the
/// trampoline's recursion guard (preemption disabled).
struct TableSlot {
    key: AtomicUsize,
    site: AtomicPtr<()>,
}

static TABLE: [TableSlot; TABLE_SLOTS] = [const {
    TableSlot {
        key: AtomicUsize::new(0),
        site: AtomicPtr::new(core::ptr::null_mut()),
    }
}; TABLE_SLOTS];

/// Live entries in [`TABLE`].
static TABLE_LEN: AtomicUsize = AtomicUsize::new(0);

super::global::module_lock! {
    static TABLE_LOCK: SpinLock<()> = ();
    init = init;
    lock = table_lock;
}

fn table_start(key: usize) -> usize {
    ((key as u64 >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - 13)) as usize
}

/// The handler of the hook whose function's body starts at `body`, if
/// any, for as long as the trampoline's recursion guard is held.
///
/// # Safety
///
/// Every handler in the table is an `H`.
#[inline(always)]
unsafe fn lookup<H>(body: usize, _guard: &RecursionGuard) -> Option<&H> {
    let mut i = table_start(body);
    for _ in 0..TABLE_SLOTS {
        let slot = &TABLE[i];
        let key = slot.key.load(Ordering::Acquire);
        if key == 0 {
            return None;
        }
        if key == body {
            let p = slot.site.load(Ordering::Acquire);
            // SAFETY: A hook's entry is cleared after it is unregistered,
            // which waits for the CPUs in the trampoline, and before its
            // handler is freed (`Direct` holds it); `_guard` proves the
            // caller is such a CPU, with preemption disabled while the
            // reference lives; the handler is an `H` (caller's guarantee).
            return unsafe { p.cast::<H>().as_ref() };
        }
        i = (i + 1) % TABLE_SLOTS;
    }
    None
}

/// A hook's entry in [`TABLE`], removed on drop.
struct TableHandle {
    index: usize,
}

impl TableHandle {
    fn new(body: usize, handler: *const ()) -> Result<Self> {
        let _guard = table_lock().ok_or(ENODEV)?;
        if TABLE_LEN.load(Ordering::Relaxed) >= TABLE_SLOTS / 2 {
            return Err(ENOSPC);
        }
        let mut i = table_start(body);
        loop {
            let key = TABLE[i].key.load(Ordering::Relaxed);
            if key == 0 || key == GONE {
                break;
            }
            i = (i + 1) % TABLE_SLOTS;
        }
        let slot = &TABLE[i];
        slot.site.store(handler.cast_mut(), Ordering::Release);
        // Pairs with the acquire load of `key` in `lookup`.
        slot.key.store(body, Ordering::Release);
        TABLE_LEN.fetch_add(1, Ordering::Relaxed);
        Ok(TableHandle { index: i })
    }
}

impl Drop for TableHandle {
    fn drop(&mut self) {
        // Made only once the lock is ready (`new`).
        let _guard = table_lock();
        let slot = &TABLE[self.index];
        slot.site.store(core::ptr::null_mut(), Ordering::Release);
        slot.key.store(GONE, Ordering::Release);
        TABLE_LEN.fetch_sub(1, Ordering::Relaxed);
    }
}
