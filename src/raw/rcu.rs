// SPDX-License-Identifier: GPL-2.0

//! A heap value published with RCU: readers in an RCU read-side critical
//! section (which includes code running with preemption disabled, such as
//! an ftrace handler) read it without locks or writes; writers swap in a
//! new value and free the old one after a grace period.

use core::{
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{prelude::*, sync::rcu};

/// Proof that the holder is inside an RCU read-side critical section.
///
/// # Safety
///
/// Implementors guarantee that, while a reference to them exists, the
/// current CPU is in an RCU read-side critical section (RCU read lock held,
/// or preemption or interrupts disabled), so `synchronize_rcu()` waits for it.
pub(crate) unsafe trait ReadSide {}

// SAFETY: An `rcu::Guard` holds the RCU read lock until dropped.
unsafe impl ReadSide for rcu::Guard {}

/// A `KBox<T>` published with RCU.
///
/// # Invariants
///
/// `ptr` always points to a live `T` allocated by `KBox`, owned by this
/// value. A replaced value is freed only after a grace period.
pub(crate) struct RcuBox<T: Send + Sync> {
    ptr: AtomicPtr<T>,
    _owns: PhantomData<KBox<T>>,
}

impl<T: Send + Sync> RcuBox<T> {
    /// Publishes `value`.
    pub(crate) fn new(value: KBox<T>) -> Self {
        RcuBox {
            ptr: AtomicPtr::new(KBox::into_raw(value)),
            _owns: PhantomData,
        }
    }

    /// The current value, valid for as long as the read-side section.
    #[inline(always)]
    pub(crate) fn read<'a>(&'a self, _rs: &'a impl ReadSide) -> &'a T {
        // Pairs with the `AcqRel` swap in `replace()`: the reader sees the
        // value fully initialized.
        let ptr = self.ptr.load(Ordering::Acquire);
        // SAFETY: `ptr` is live (type invariant) and, since we are in a
        // read-side section, is not freed before the section ends.
        unsafe { &*ptr }
    }

    /// Publishes `new`. The old value is handed back as [`Stale`]: it is
    /// freed after a grace period, when the `Stale` is dropped or freed with
    /// others by [`Stale::free_all`].
    #[must_use]
    pub(crate) fn replace(&self, new: KBox<T>) -> Stale<T> {
        let old = self.ptr.swap(KBox::into_raw(new), Ordering::AcqRel);
        // INVARIANT: `old` came from `KBox::into_raw` and is now unpublished;
        // each swapped-out pointer is returned to exactly one caller.
        Stale {
            ptr: NonNull::new(old),
        }
    }
}

impl<T: Send + Sync> Drop for RcuBox<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no new readers through this value. The owner
        // ensures readers are gone (for a site: its ftrace hook has been
        // unregistered, which waits for running handlers).
        drop(unsafe { KBox::from_raw(*self.ptr.get_mut()) });
    }
}

/// A value taken out of an [`RcuBox`], which readers may still see.
///
/// # Invariants
///
/// `ptr`, if set, came from `KBox::into_raw` and is no longer published.
pub(crate) struct Stale<T> {
    ptr: Option<NonNull<T>>,
}

// SAFETY: A `Stale<T>` only frees a `T`; `T: Send` suffices.
unsafe impl<T: Send> Send for Stale<T> {}

impl<T> Stale<T> {
    /// Waits for one grace period, then frees all of `stale`.
    pub(crate) fn free_all(stale: KVec<Stale<T>>) {
        if stale.is_empty() {
            return;
        }
        rcu::synchronize_rcu();
        for mut s in stale {
            s.free_now();
        }
    }

    fn free_now(&mut self) {
        if let Some(ptr) = self.ptr.take() {
            // SAFETY: A grace period has passed since `ptr` was unpublished,
            // so no reader holds it; it came from `KBox::into_raw`.
            drop(unsafe { KBox::from_raw(ptr.as_ptr()) });
        }
    }
}

impl<T> Drop for Stale<T> {
    fn drop(&mut self) {
        if self.ptr.is_some() {
            rcu::synchronize_rcu();
            self.free_now();
        }
    }
}

/// An optional `KBox<T>` published with RCU, which a `static` can hold:
/// empty until [`RcuSlot::replace`] publishes a value.
///
/// # Invariants
///
/// `ptr` is null or points to a live `T` allocated by `KBox`, owned by this
/// value. A replaced value is freed only after a grace period.
pub(crate) struct RcuSlot<T: Send + Sync> {
    ptr: AtomicPtr<T>,
    _owns: PhantomData<KBox<T>>,
}

impl<T: Send + Sync> RcuSlot<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        RcuSlot {
            ptr: AtomicPtr::new(core::ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    /// The current value, if any, valid for as long as the read-side
    /// section.
    #[inline(always)]
    pub(crate) fn read<'a>(&'a self, _rs: &'a impl ReadSide) -> Option<&'a T> {
        // Pairs with the `AcqRel` swap in `replace()`.
        let ptr = self.ptr.load(Ordering::Acquire);
        // SAFETY: `ptr` is null or live (type invariant) and, since we are
        // in a read-side section, is not freed before the section ends.
        unsafe { ptr.as_ref() }
    }

    /// Publishes `new` (or empties the slot). The old value comes back as
    /// [`Stale`], freed after a grace period.
    #[must_use]
    pub(crate) fn replace(&self, new: Option<KBox<T>>) -> Stale<T> {
        let new = new.map_or(core::ptr::null_mut(), KBox::into_raw);
        let old = self.ptr.swap(new, Ordering::AcqRel);
        // INVARIANT: `old` is null or came from `KBox::into_raw`, and is
        // now unpublished; each swapped-out pointer goes to one caller.
        Stale {
            ptr: NonNull::new(old),
        }
    }
}

// SAFETY: The slot hands out `&T` to any thread and moves `T`s between
// threads: `T: Send + Sync` covers both.
unsafe impl<T: Send + Sync> Sync for RcuSlot<T> {}
