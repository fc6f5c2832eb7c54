// SPDX-License-Identifier: GPL-2.0

//! Functions that patch modules hand to dynamos, wrapped so that calling
//! them is safe: each wrapper is unsafe to build (whoever builds it vouches
//! for the function, usually by the ABI contract of `abi.rs`) and safe to
//! call.

use crate::{
    abi::{self, AdaptFn},
    logic::lifecycle::Goal,
};
use core::{ptr::NonNull, sync::atomic::Ordering};
use kernel::{
    ffi::{c_int, c_uint, c_void},
    prelude::*,
    str::CStr,
    sync::Arc,
};

/// A patch's transition callbacks, callable while the patch is registered
/// (its module cannot finish unloading: its exit unregisters the patch
/// under the registry mutex) or while a reference on its module is held.
///
/// # Invariants
///
/// Every function in `0` may be called in process context, with no lock
/// held, for as long as this value exists.
#[derive(Clone, Copy)]
pub(crate) struct PatchCallbacks(abi::Callbacks);

impl PatchCallbacks {
    /// Wraps a patch's callbacks.
    ///
    /// # Safety
    ///
    /// The functions stay callable for as long as the value (and its
    /// copies) exists: they belong to a patch module that stays loaded
    /// until the value is dropped.
    pub(crate) unsafe fn new(raw: abi::Callbacks) -> Self {
        // INVARIANT: By the caller's guarantee.
        PatchCallbacks(raw)
    }

    /// The pre hook of a transition towards `goal`.
    ///
    /// # Errors
    ///
    /// The errno the hook returned (`EINVAL` for a positive value).
    pub(crate) fn pre(&self, goal: Goal) -> Result {
        let hook = match goal {
            Goal::Enable => self.0.pre_patch,
            Goal::Disable => self.0.pre_unpatch,
        };
        let Some(hook) = hook else {
            return Ok(());
        };
        // SAFETY: Callable (type invariant); the hook takes no argument.
        let r = unsafe { hook() };
        match r {
            0 => Ok(()),
            r if r < 0 => Err(Error::from_errno(r)),
            _ => Err(EINVAL),
        }
    }

    /// The post hook of a transition that reached `goal`.
    pub(crate) fn post(&self, goal: Goal) {
        let hook = match goal {
            Goal::Enable => self.0.post_patch,
            Goal::Disable => self.0.post_unpatch,
        };
        if let Some(hook) = hook {
            // SAFETY: As in `pre`.
            unsafe { hook() };
        }
    }

    /// The state transfer towards `goal`.
    pub(crate) fn transfer(&self, goal: Goal) {
        let dir = match goal {
            Goal::Enable => abi::FORWARD,
            Goal::Disable => abi::BACKWARD,
        };
        if let Some(f) = self.0.transfer {
            // SAFETY: As in `pre`.
            unsafe { f(dir) };
        }
    }

    /// The kernel-thread state transfer, if the patch has one.
    pub(crate) fn migrate(&self) -> Option<Migrate> {
        // INVARIANT: The patch's function, callable as long as its
        // callbacks are.
        self.0.migrate.map(Migrate)
    }
}

/// A patch's adaptation handler.
///
/// # Invariants
///
/// The function may be called with preemption disabled, from any context
/// but NMI, for as long as this value exists.
#[derive(Clone, Copy)]
pub(crate) struct AdaptHandler(AdaptFn);

impl AdaptHandler {
    /// Wraps an adaptation handler.
    ///
    /// # Safety
    ///
    /// The function stays callable for as long as the value (and its
    /// copies) exists: the edition that holds it keeps its module loaded.
    pub(crate) unsafe fn new(f: AdaptFn) -> Self {
        // INVARIANT: By the caller's guarantee.
        AdaptHandler(f)
    }

    /// Asks the handler where a call with these argument registers goes
    /// (an `abi::choice`).
    #[inline(always)]
    pub(crate) fn choose(&self, args: &[usize; 6]) -> u32 {
        // SAFETY: Callable (type invariant); it reads six registers.
        unsafe { (self.0)(args.as_ptr()) }
    }
}

/// A patch's kernel-thread state transfer (`abi::Callbacks::migrate`).
///
/// # Invariants
///
/// The function may be called in a kernel thread of the patched loop, on
/// that thread's data, for as long as this value exists.
#[derive(Clone, Copy)]
pub(crate) struct Migrate(unsafe extern "C" fn(data: *mut c_void, dir: u32));

impl Migrate {
    /// Moves the calling thread's state (`data`, its `kthread_data()`) in
    /// direction `dir` (`abi::FORWARD` or `abi::BACKWARD`).
    pub(crate) fn call(&self, data: *mut c_void, dir: u32) {
        // SAFETY: Callable (type invariant); the patch receives the
        // thread's own data, as its contract says.
        unsafe { (self.0)(data, dir) };
    }
}

/// A state a patch converts lazily (`abi::StateDesc`): its shape and its
/// functions, and the slot where dynamos attaches its run-time state.
///
/// # Invariants
///
/// `0` is a state descriptor under the ABI contract: valid and unchanged
/// (but for its atomic `rt`) while the patch is registered, which outlives
/// this value; its functions may be called from any thread in the
/// contexts `abi.rs` gives.
#[derive(Clone, Copy)]
pub(crate) struct StateFns(&'static abi::StateDesc);

// SAFETY: The descriptor is only read, but for its atomic `rt`; its
// functions may be called from any thread (type invariant).
unsafe impl Send for StateFns {}
// SAFETY: As above.
unsafe impl Sync for StateFns {}

/// What the C entry `dynamos_state_get()` asks of the run-time state
/// attached to a descriptor (see [`state_entry_point!`]).
pub(crate) trait StateRuntime: Sync {
    /// The record of `obj`, converting it first if needed; `gfp` suits the
    /// caller's context.
    fn record(&self, obj: usize, gfp: c_uint) -> Option<NonNull<u8>>;
}

impl StateFns {
    /// Wraps a state descriptor of a patch being registered.
    ///
    /// # Safety
    ///
    /// `desc` is a state descriptor of a patch that stays registered for as
    /// long as the value exists (`abi.rs`).
    pub(crate) unsafe fn new(desc: &'static abi::StateDesc) -> Self {
        // INVARIANT: By the caller's guarantee.
        StateFns(desc)
    }

    /// The plain fields (size, flags, which functions are set).
    pub(crate) fn raw(&self) -> &'static abi::StateDesc {
        self.0
    }

    /// The state's name, `None` if missing.
    pub(crate) fn name(&self) -> Option<&'static CStr> {
        let p = self.0.name;
        // SAFETY: A descriptor string (type invariant), NUL-terminated
        // and alive while the patch is registered.
        (!p.is_null()).then(|| unsafe { CStr::from_char_ptr(p) })
    }

    /// The shadow id of the records.
    pub(crate) fn id(&self) -> u64 {
        self.0.id
    }

    /// The size of a record.
    pub(crate) fn size(&self) -> usize {
        self.0.size
    }

    /// Whether the patch asked for an eager pass at enable.
    pub(crate) fn eager(&self) -> bool {
        self.0.flags & abi::STATE_EAGER != 0
    }

    /// Whether converting back loses nothing.
    pub(crate) fn has_revert(&self) -> bool {
        self.0.revert.is_some()
    }

    /// Whether the patch can walk the state's objects.
    pub(crate) fn has_walker(&self) -> bool {
        self.0.for_each.is_some()
    }

    /// Converts `obj` into `rec`, a zeroed record of [`StateFns::size`]
    /// bytes that nobody else sees. Must not sleep (it runs under the
    /// shadow lock).
    pub(crate) fn convert(&self, obj: usize, rec: NonNull<u8>) {
        if let Some(convert) = self.0.convert {
            // SAFETY: The patch's conversion (type invariant), on an object
            // of its state and a record of its size.
            unsafe { convert(obj as *mut c_void, rec.as_ptr().cast()) };
        }
    }

    /// Converts `obj` back from `rec`, a record nothing can find any more.
    pub(crate) fn revert(&self, obj: usize, rec: NonNull<u8>) {
        if let Some(revert) = self.0.revert {
            // SAFETY: The patch's inverse conversion (type invariant), on a
            // record of its state.
            unsafe { revert(obj as *mut c_void, rec.as_ptr().cast()) };
        }
    }

    /// Walks every object of the state with `visit`, until it returns
    /// nonzero, which the walk then returns; `None` without a walker.
    /// Process context.
    pub(crate) fn for_each(&self, visit: &mut dyn FnMut(usize) -> c_int) -> Option<c_int> {
        /// Runs the closure `ctx` points to.
        ///
        /// # Safety
        ///
        /// `ctx` is the `&mut &mut dyn FnMut` below, alive for the call.
        unsafe extern "C" fn run(ctx: *mut c_void, obj: *mut c_void) -> c_int {
            // SAFETY: By the function's contract.
            let f = unsafe { &mut *ctx.cast::<&mut dyn FnMut(usize) -> c_int>() };
            f(obj as usize)
        }
        let walk = self.0.for_each?;
        let mut visit = visit;
        // SAFETY: The patch's walker (type invariant), with a callback
        // that takes its context back, which outlives the call.
        Some(unsafe { walk(run, (&raw mut visit).cast()) })
    }

    /// Attaches `rt` to the descriptor, for `dynamos_state_get()`. `EBUSY`
    /// if another registration uses it. `rt` stays alive until
    /// [`StateFns::detach`], which must come once the patch's code no
    /// longer runs.
    pub(crate) fn attach<T: StateRuntime>(&self, rt: &Arc<T>) -> Result {
        let me = Arc::as_ptr(rt).cast_mut().cast::<c_void>();
        self.0
            .rt
            .compare_exchange(
                core::ptr::null_mut(),
                me,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(|_| ())
            .map_err(|_| EBUSY)
    }

    /// Undoes [`StateFns::attach`].
    pub(crate) fn detach<T: StateRuntime>(&self, rt: &Arc<T>) {
        let me = Arc::as_ptr(rt).cast_mut().cast::<c_void>();
        let _ = self.0.rt.compare_exchange(
            me,
            core::ptr::null_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

/// Defines `dynamos_state_get()`, the C entry through which a patch's code
/// reaches its objects' records, for run-time states of type `$rt`
/// (attached with [`StateFns::attach`]). Used once, in the crate root.
macro_rules! state_entry_point {
    ($rt:ty) => {
        /// Returns the record of `obj` in the new representation of
        /// `state`, converting the object first if this is its first
        /// access: exactly once, even when CPUs race. NULL if the record
        /// cannot be allocated.
        ///
        /// # Safety
        ///
        /// `state` is a state descriptor of the calling patch, whose code
        /// runs (so the patch is registered); `obj` is an object of that
        /// state; `gfp` suits the context (`GFP_ATOMIC` where the caller
        /// cannot sleep).
        #[unsafe(no_mangle)]
        unsafe extern "C" fn dynamos_state_get(
            state: *const $crate::abi::StateDesc,
            obj: *mut ::kernel::ffi::c_void,
            gfp: ::kernel::ffi::c_uint,
        ) -> *mut ::kernel::ffi::c_void {
            // SAFETY: The caller's guarantee; every state attached is a
            // `$rt` (the macro's contract).
            unsafe { $crate::raw::callbacks::state_get::<$rt>(state, obj, gfp) }
        }
    };
}
pub(crate) use state_entry_point;

/// The body of `dynamos_state_get()` (see [`state_entry_point!`]).
///
/// # Safety
///
/// As `dynamos_state_get()`; every run-time state attached to a descriptor
/// is a `T`.
pub(crate) unsafe fn state_get<T: StateRuntime>(
    state: *const abi::StateDesc,
    obj: *mut c_void,
    gfp: c_uint,
) -> *mut c_void {
    // SAFETY: The caller's guarantee.
    let desc = unsafe { &*state };
    if let Some(d) = super::shadow::get(obj as usize, desc.id) {
        return d.as_ptr().cast();
    }
    let rt = desc.rt.load(Ordering::Acquire);
    if rt.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: Set by `attach` to a `T` (the caller's guarantee) that the
    // registration keeps alive until `detach`, which runs once the patch's
    // code no longer does; the patch's code runs (the caller's guarantee).
    let st = unsafe { &*rt.cast::<T>() };
    st.record(obj as usize, gfp)
        .map_or(core::ptr::null_mut(), |d| d.as_ptr().cast())
}
