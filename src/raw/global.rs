// SPDX-License-Identifier: GPL-2.0

//! Module-wide state behind a lock: the kernel crate's `global_lock!`,
//! with its one unsafe step (initializing the lock) made safe here.
//!
//! `global_lock!` asks its user to promise that the lock is initialized
//! once, before any other use. [`module_lock!`] makes the static private to
//! a function that checks it: `$init()` initializes it at most once (later
//! calls do nothing), and `$lock()` takes it only once initialized (`None`
//! before), so no use can come first.

/// Defines a `global_lock!` static `$name` of lock kind `$kind` (`Mutex`,
/// `SpinLock`, `SpinLockIrq`) holding `$value`, `fn $init()` which
/// initializes it once, and `fn $lock()`, which locks it (`None` until
/// `$init()` is done). `$name` itself is only used by the two functions.
macro_rules! module_lock {
    (
        static $name:ident: $kind:ident<$ty:ty> = $value:expr;
        init = $init:ident;
        lock = $lock:ident;
    ) => {
        ::kernel::sync::global_lock! {
            // SAFETY: Only `$init()` initializes it, once (`READY`), and
            // only `$lock()` uses it, once `$init()` is done.
            unsafe(uninit) static $name: $kind<$ty> = $value;
        }

        /// 0: not initialized; 1: being initialized; 2: ready.
        static READY: ::core::sync::atomic::AtomicU8 = ::core::sync::atomic::AtomicU8::new(0);

        /// Initializes the lock, once; later calls do nothing. Called at
        /// module init.
        pub(crate) fn $init() {
            use ::core::sync::atomic::Ordering;
            if READY
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: The first and only call (`READY` was 0), before
                // any use (`$lock()` waits for `READY` to be 2).
                unsafe { $name.init() };
                READY.store(2, Ordering::Release);
            }
        }

        /// Locks it; `None` until it is initialized.
        pub(crate) fn $lock() -> Option<impl ::core::ops::DerefMut<Target = $ty>> {
            // Pairs with the release store in `$init()`.
            (READY.load(::core::sync::atomic::Ordering::Acquire) == 2).then(|| $name.lock())
        }
    };
}
pub(crate) use module_lock;

extern "C" {
    fn dynamos_raw_lock_irqsave() -> kernel::ffi::c_ulong;
    fn dynamos_raw_unlock_irqrestore(flags: kernel::ffi::c_ulong);
}

/// A value behind dynamos' one raw spinlock (`raw/helpers.c`), taken with
/// interrupts off: usable where a `spinlock_t` is not, under the
/// scheduler's raw locks (inside `task_call_func()`) and in hard
/// interrupts. Every `RawLocked` shares that one lock: hold it briefly, and
/// never lock two at once.
pub(crate) struct RawLocked<T> {
    data: core::cell::UnsafeCell<T>,
}

// SAFETY: The data is only reached through a `RawGuard`, which holds the
// lock: one thread at a time; `T: Send` lets it move between them.
unsafe impl<T: Send> Sync for RawLocked<T> {}

impl<T> RawLocked<T> {
    /// `value`, behind the lock.
    pub(crate) const fn new(value: T) -> Self {
        RawLocked {
            data: core::cell::UnsafeCell::new(value),
        }
    }

    /// Takes the lock (interrupts off until the guard drops).
    pub(crate) fn lock(&self) -> RawGuard<'_, T> {
        // SAFETY: Takes the lock; callable from any context but NMI.
        let flags = unsafe { dynamos_raw_lock_irqsave() };
        RawGuard { lock: self, flags }
    }
}

/// The lock of a [`RawLocked`], held.
///
/// # Invariants
///
/// The raw lock is held, with `flags` the interrupt state to restore.
pub(crate) struct RawGuard<'a, T> {
    lock: &'a RawLocked<T>,
    flags: kernel::ffi::c_ulong,
}

impl<T> core::ops::Deref for RawGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The lock is held (type invariant): no one else reaches
        // the data.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> core::ops::DerefMut for RawGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: As in `deref`, and `&mut self` is the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for RawGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: The lock is held (type invariant), taken with `flags`.
        unsafe { dynamos_raw_unlock_irqrestore(self.flags) };
    }
}
