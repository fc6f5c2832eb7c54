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
/// held, while the patch is registered or a reference on its module is
/// held (copies of the value are kept only by the registration and by
/// holders of such a reference).
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
/// but NMI, while the edition that holds the value (and so its patch
/// module) lives.
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
/// that thread's data, while the edition that holds the value (and so its
/// patch module) lives.
#[derive(Clone, Copy)]
pub(crate) struct Migrate(unsafe extern "C" fn(data: *mut c_void, dir: u32));

impl Migrate {
    /// Moves the calling thread's state (`data`, its `kthread_data()`) in
    /// direction `dir` (`abi::FORWARD` or `abi::BACKWARD`).
    pub(super) fn call(&self, data: *mut c_void, dir: u32) {
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
/// (but for its atomic `rt`) while the patch is registered, which the
/// registration that holds this value (and its copies) outlives; its
/// functions may be called from any thread in the contexts `abi.rs` gives.
#[derive(Clone, Copy)]
pub(crate) struct StateFns(&'static abi::StateDesc);

// SAFETY: The descriptor is only read, but for its atomic `rt`; its
// functions may be called from any thread (type invariant).
unsafe impl Send for StateFns {}
// SAFETY: As above.
unsafe impl Sync for StateFns {}

/// An object of a state: the address the patch's code or walker handed
/// over. Only this file makes one, so the patch's functions only ever see
/// the patch's own objects.
#[derive(Clone, Copy)]
pub(crate) struct StateObject(usize);

/// What the C entry `dynamos_state_get()` asks of the run-time state
/// attached to a descriptor.
pub(crate) trait StateRuntime: Send + Sync {
    /// The record of `obj`, converting it first if needed; `gfp` suits the
    /// caller's context.
    fn record(&self, obj: StateObject, gfp: c_uint) -> Option<NonNull<u8>>;
}

/// The run-time state type of the crate: the one `dynamos_state_get()`
/// casts attached states to.
///
/// # Safety
///
/// Implemented only by [`state_entry_point!`], for the type it casts to.
pub(crate) unsafe trait StateEntry: StateRuntime {}

/// What the patch declared of a state, as plain values.
#[derive(Clone, Copy)]
pub(crate) struct StateShape {
    /// The size of a record.
    pub(crate) size: usize,
    /// `STATE_*` flags.
    pub(crate) flags: u32,
    /// Whether it has a conversion.
    pub(crate) convert: bool,
}

impl StateFns {
    /// Wraps a state descriptor of a patch being registered.
    ///
    /// # Safety
    ///
    /// `desc` is a state descriptor of a patch that stays registered for as
    /// long as the value (and its copies) exists (`abi.rs`).
    pub(crate) unsafe fn new(desc: &'static abi::StateDesc) -> Self {
        // INVARIANT: By the caller's guarantee.
        StateFns(desc)
    }

    /// The plain fields, for the registration's checks.
    pub(crate) fn shape(&self) -> StateShape {
        StateShape {
            size: self.0.size,
            flags: self.0.flags,
            convert: self.0.convert.is_some(),
        }
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

    /// The record of `obj`, made and converted first if it has none (the
    /// shadow constructor: exactly once, under the shadow lock; `fresh` runs
    /// there too, after the conversion).
    pub(crate) fn record(
        &self,
        obj: StateObject,
        gfp: c_uint,
        fresh: &mut dyn FnMut(),
    ) -> Option<NonNull<u8>> {
        let convert = self.0.convert;
        super::shadow::get_or_alloc_with(obj.0, self.0.id, self.0.size, gfp, &mut |obj, rec| {
            if let Some(convert) = convert {
                // SAFETY: The patch's conversion (type invariant), on one of
                // its objects (`StateObject`) and a zeroed record of its
                // size that nobody sees yet.
                unsafe { convert(obj as *mut c_void, rec.as_ptr().cast()) };
            }
            fresh();
        })
    }

    /// Converts every record back (or only drops it, without a `revert`),
    /// calling `each` for each; returns how many. The patch's code no
    /// longer runs. Process context.
    pub(crate) fn roll_back(&self, each: &mut dyn FnMut()) -> usize {
        let revert = self.0.revert;
        super::shadow::free_all(self.0.id, &mut |obj, rec| {
            if let Some(revert) = revert {
                // SAFETY: The patch's inverse conversion (type invariant), on
                // a record of its state that nothing can find any more.
                unsafe { revert(obj as *mut c_void, rec.as_ptr().cast()) };
            }
            each();
        })
    }

    /// Walks every object of the state with `visit`, until it returns
    /// nonzero, which the walk then returns; `None` without a walker.
    /// Process context.
    pub(crate) fn for_each(&self, visit: &mut dyn FnMut(StateObject) -> c_int) -> Option<c_int> {
        /// Runs the closure `ctx` points to.
        ///
        /// # Safety
        ///
        /// `ctx` is the `&mut &mut dyn FnMut` below, alive for the call.
        unsafe extern "C" fn run(ctx: *mut c_void, obj: *mut c_void) -> c_int {
            // SAFETY: By the function's contract.
            let f = unsafe { &mut *ctx.cast::<&mut dyn FnMut(StateObject) -> c_int>() };
            f(StateObject(obj as usize))
        }
        let walk = self.0.for_each?;
        let mut visit = visit;
        // SAFETY: The patch's walker (type invariant), with a callback
        // that takes its context back, which outlives the call.
        Some(unsafe { walk(run, (&raw mut visit).cast()) })
    }

    /// Attaches `rt` to the descriptor, for `dynamos_state_get()`, which
    /// holds the reference until [`StateFns::detach`]. `EBUSY` if another
    /// registration uses it.
    pub(crate) fn attach<T: StateEntry>(&self, rt: Arc<T>) -> Result {
        let me = Arc::into_raw(rt).cast_mut().cast::<c_void>();
        match self.0.rt.compare_exchange(
            core::ptr::null_mut(),
            me,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Ok(()),
            Err(_) => {
                // SAFETY: `me` came from `Arc::into_raw` just above and was
                // not published.
                drop(unsafe { Arc::from_raw(me.cast::<T>()) });
                Err(EBUSY)
            }
        }
    }

    /// Undoes [`StateFns::attach`] of `rt`, if it is attached, once the
    /// patch's code no longer runs (the only caller of
    /// `dynamos_state_get()`).
    pub(crate) fn detach<T: StateEntry>(&self, rt: &Arc<T>) {
        let me = Arc::as_ptr(rt).cast_mut().cast::<c_void>();
        let swapped = self.0.rt.compare_exchange(
            me,
            core::ptr::null_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if swapped.is_ok() {
            // SAFETY: `attach` published `me` from `Arc::into_raw`; it is
            // unpublished now, and the patch's code, the only reader, no
            // longer runs.
            drop(unsafe { Arc::from_raw(me.cast::<T>()) });
        }
    }
}

/// Defines `dynamos_state_get()`, the C entry through which a patch's code
/// reaches its objects' records, for run-time states of type `$rt`
/// (attached with [`StateFns::attach`]). Used once, in the crate root.
macro_rules! state_entry_point {
    ($rt:ty) => {
        // SAFETY: This is the one entry of the crate, and it casts to `$rt`.
        unsafe impl $crate::raw::callbacks::StateEntry for $rt {}

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
            // `$rt` (`StateEntry`).
            unsafe { $crate::raw::callbacks::state_get::<$rt>(state, obj, gfp) }
        }
    };
}
pub(crate) use state_entry_point;

/// The body of `dynamos_state_get()` (see [`state_entry_point!`]).
///
/// # Safety
///
/// As `dynamos_state_get()`.
pub(crate) unsafe fn state_get<T: StateEntry>(
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
    // SAFETY: Set by `attach` to a `T` (`StateEntry`), whose reference it
    // holds until `detach`, which runs once the patch's code no longer does;
    // the patch's code runs (the caller's guarantee).
    let st = unsafe { &*rt.cast::<T>() };
    st.record(StateObject(obj as usize), gfp)
        .map_or(core::ptr::null_mut(), |d| d.as_ptr().cast())
}
