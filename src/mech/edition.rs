// SPDX-License-Identifier: GPL-2.0

//! Editions: the implementations of a target (edition 0 is the original,
//! later ones come from patch modules), what a patch brings for one, and
//! the layer an edition forms on its site's stack.
//!
//! Counting: each patch edition has two entries, the plain one and a
//! wrapper that keeps the number of threads inside it (generated in the
//! patch by `dynamos_patch::patch!`). The original is counted through a
//! patch's `orig_counted` wrapper. Calls that the site's trampoline sends
//! to an edition are counted per CPU here; the patch's own entries count
//! the others.

use crate::raw::{
    callbacks::{AdaptHandler, Migrate},
    kthread::{LoopFn, SafepointCall},
    modules::ModuleRef,
};
use core::{
    ops::Range,
    sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, Ordering},
};
use kernel::{cpu::CpuId, prelude::*, str::CString, sync::Arc};

/// Identifies an edition within its site. 0 is the original; patch editions
/// get 1, 2, ... in the order they are added, never reused.
pub(crate) type EditionId = u32;

/// One cache line per CPU, so that counting calls shares no line.
#[repr(align(64))]
struct CpuSlot(AtomicU64);

/// A call counter with one slot per possible CPU.
pub(crate) struct CallCounter {
    slots: KVec<CpuSlot>,
}

impl CallCounter {
    pub(super) fn new() -> Result<Self> {
        let n = kernel::cpu::nr_cpu_ids() as usize;
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(CpuSlot(AtomicU64::new(0)), GFP_KERNEL)?;
        }
        Ok(CallCounter { slots })
    }

    #[inline(always)]
    pub(super) fn inc(&self) {
        let cpu = CpuId::current().as_u32() as usize;
        if let Some(slot) = self.slots.get(cpu) {
            slot.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Calls counted so far, over all CPUs.
    pub(crate) fn sum(&self) -> u64 {
        self.slots.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

/// One implementation of a target.
pub(crate) struct Edition {
    /// Its id within the site.
    pub(crate) id: EditionId,
    /// The address of its site's target.
    pub(crate) site_addr: usize,
    /// The owning patch, `None` for the original.
    pub(crate) patch: Option<CString>,
    /// Where calls go; 0 for the original (the call is let through).
    pub(super) entry: usize,
    /// The entry that counts its calls itself (in `fast_calls`), for a
    /// patch edition; 0 for the original.
    pub(super) fast: usize,
    /// Calls counted by the patch's own entries (`fast`, `counted`).
    pub(super) fast_calls: Option<&'static AtomicU64>,
    /// The patch's entry that asks its handler itself (0: none).
    pub(super) adaptive: usize,
    /// Calls sent here by patches' adaptive entries (the original only).
    pub(super) own_calls: AtomicU64,
    /// The counted entry (0 for the original: see `site::Dispatch`).
    pub(super) counted: usize,
    /// Threads inside through the counted entry (patch editions).
    pub(super) inside: Option<&'static AtomicIsize>,
    /// Code that a thread inside this edition may be running: for stack
    /// checks.
    pub(crate) ranges: KVec<Range<usize>>,
    /// Calls that entered this edition through the handler (the patch's
    /// entries count the others: see [`Edition::calls`]).
    pub(super) counter: CallCounter,
    /// The patch's adaptation handler for this target.
    pub(super) adapt: Option<AdaptHandler>,
    /// Within a subsystem, the generation this edition belongs to: its
    /// position on the stack (0 for the original).
    pub(crate) gen: u32,
    /// Code of the patch whose calls to the original are let through: its
    /// `prev()` and `orig_counted` functions.
    pub(super) bypass: [Range<usize>; 2],
    /// The patch's kernel-thread state transfer.
    pub(crate) migrate: Option<Migrate>,
    /// For a kthread loop edition: its entry as a thread function.
    pub(crate) loop_fn: Option<LoopFn>,
    /// For a kthread loop: the function its safe point calls, besides
    /// `kthread_should_stop()`, if its patch declared one.
    pub(crate) safepoint: Option<SafepointCall>,
    /// For an edition with a new interface: the code whose calls use it
    /// (the patch module's text), and the adaptor (0: none) that old-
    /// interface calls enter instead.
    pub(super) iface: Option<(Range<usize>, usize)>,
    /// Keeps the patch module loaded while this edition may run.
    pub(super) _module: Option<ModuleRef>,
}

/// What a patch brings for one target, checked by `api/entry.rs`.
#[derive(Clone, Copy)]
pub(crate) struct EditionSpec {
    /// The edition's plain entry.
    pub(crate) entry: usize,
    /// Its entry that counts calls in `calls` (for the original's
    /// signature only; 0 for a new interface).
    pub(crate) fast: usize,
    /// The counter of `fast` and `counted`.
    pub(crate) calls: &'static AtomicU64,
    /// Its counted entry (counts calls in `calls` too).
    pub(crate) counted: usize,
    /// The patch's counted entry to the original.
    pub(crate) orig_counted: usize,
    /// Counter of `counted`.
    pub(crate) inside: &'static AtomicIsize,
    /// Counter of `orig_counted`.
    pub(crate) orig_inside: &'static AtomicIsize,
    /// Where dynamos writes the original's address.
    pub(crate) orig: &'static core::sync::atomic::AtomicUsize,
    /// Where dynamos writes the replaced edition's address.
    pub(crate) prev: &'static core::sync::atomic::AtomicUsize,
    /// The adaptation handler, if any.
    pub(crate) adapt: Option<AdaptHandler>,
    /// The patch's entry that asks the handler itself (0: none).
    pub(crate) adaptive: usize,
    /// Where dynamos writes the adaptive entry's way to the replaced
    /// edition.
    pub(crate) replaced: &'static core::sync::atomic::AtomicUsize,
    /// Where dynamos writes the original's body.
    pub(crate) original: &'static core::sync::atomic::AtomicUsize,
    /// Where dynamos writes the original's counter of calls.
    pub(crate) orig_calls: &'static AtomicPtr<AtomicU64>,
    /// The patch's function that calls the replaced edition.
    pub(crate) prev_fn: usize,
    /// The patch's kernel-thread state transfer, if any.
    pub(crate) migrate: Option<Migrate>,
    /// For a kthread loop: the edition's entry as a thread function.
    pub(crate) loop_fn: Option<LoopFn>,
    /// For a kthread loop: the declared safe point (`None`: only
    /// `kthread_should_stop()`).
    pub(crate) safepoint: Option<SafepointCall>,
    /// The edition has a new interface (`abi::FUNC_NEW_INTERFACE`).
    pub(crate) new_iface: bool,
    /// Its adaptor for old-interface calls (0: none).
    pub(crate) adaptor: usize,
}

/// Code of a subsystem's member editions, each range with its generation.
pub(crate) type InheritTable = KVec<(Range<usize>, u32)>;

impl Edition {
    /// Edition 0 of the target at `addr`, `size` bytes long: the
    /// original, which calls are let through to.
    pub(crate) fn original(addr: usize, size: usize) -> Result<Self> {
        let mut ranges = KVec::new();
        ranges.push(addr..addr + size, GFP_KERNEL)?;
        Ok(Edition {
            id: 0,
            site_addr: addr,
            patch: None,
            entry: 0,
            fast: 0,
            fast_calls: None,
            adaptive: 0,
            own_calls: AtomicU64::new(0),
            counted: 0,
            inside: None,
            ranges,
            counter: CallCounter::new()?,
            adapt: None,
            gen: 0,
            bypass: [0..0, 0..0],
            migrate: None,
            loop_fn: None,
            safepoint: None,
            iface: None,
            _module: None,
        })
    }

    /// The text of the patch module that brought it (`None` for the
    /// original).
    pub(crate) fn module_text(&self) -> Option<Range<usize>> {
        self._module.as_ref().map(ModuleRef::text)
    }

    /// Calls that entered this edition.
    pub(crate) fn calls(&self) -> u64 {
        self.counter.sum()
            + self.fast_calls.map_or(0, |c| c.load(Ordering::Relaxed))
            + self.own_calls.load(Ordering::Relaxed)
    }

    /// Whether `addr` lies in this edition's code.
    pub(crate) fn contains(&self, addr: usize) -> bool {
        self.ranges.iter().any(|r| r.contains(&addr))
    }

    /// Whether this edition has a new interface.
    pub(crate) fn new_iface(&self) -> bool {
        self.iface.is_some()
    }

    /// Threads inside through the counted entry now.
    pub(crate) fn counted_inside(&self) -> isize {
        self.inside.map_or(0, |c| c.load(Ordering::Acquire))
    }
}

/// A patch edition on a site's stack, with what the site needs of its
/// patch.
#[derive(Clone)]
pub(crate) struct Layer {
    /// The edition.
    pub(crate) edition: Arc<Edition>,
    pub(super) orig_counted: usize,
    pub(super) orig_inside: &'static AtomicIsize,
    pub(super) prev: &'static core::sync::atomic::AtomicUsize,
    pub(super) replaced: &'static core::sync::atomic::AtomicUsize,
    pub(super) original: &'static core::sync::atomic::AtomicUsize,
    pub(super) orig_calls: &'static AtomicPtr<AtomicU64>,
}

impl Layer {
    /// Threads inside the original through this patch's counted wrapper.
    pub(crate) fn orig_inside(&self) -> &'static AtomicIsize {
        self.orig_inside
    }
}
