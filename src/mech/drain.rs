// SPDX-License-Identifier: GPL-2.0

//! Retiring editions: when is an edition that new calls no longer enter
//! quiescent?
//!
//! When a patch is enabled or disabled, new calls switch to the new default
//! editions (for a plain patch, task by task: `switch.rs`); the editions
//! they left are *draining*. An edition is
//! quiescent when
//!
//! 1. its use counter is 0: no thread is inside it through a counted entry
//!    (sites count entries for the whole transition), and
//! 2. no thread that was alive when counting started is still inside it
//!    uncounted, having entered before counting. Such threads are found by
//!    scanning stacks, as DynAMOS did: every thread alive at the start is
//!    *pending* until one reliable trace, taken with the thread pinned
//!    (`raw/tasks.rs`), shows no return address in the edition's code; a
//!    thread that runs, or whose trace is unreliable or too deep, stays
//!    pending. Once seen outside, a thread can only come back through
//!    a counted entry. The code checked includes the return address of
//!    each hooked original's `__fentry__` call (`site::fentry_returns`): a
//!    thread preempted in the ftrace trampoline has it on its stack and may
//!    be about to jump into the draining edition.
//!
//! Frames below `dynamos_call_loop()` are dormant (a kernel thread's
//! original loop, under the edition it moved to: see `safepoint.rs`) and
//! are not looked at.
//!
//! The check is conservative: a stale return address left on a stack, or a
//! thread that stays on a CPU, delays the end of the transition but never
//! lets an edition retire while a thread may run it. A thread that never
//! leaves a draining edition (a loop that never returns, a long sleep)
//! keeps the transition going; the synchronizer deals with those.

use super::site::{self, Edition};
use crate::raw::{
    kthread,
    tasks::{self, MAX_DEPTH},
};
use core::ops::Range;
use kernel::{prelude::*, sync::Arc, task::Pid};

pub(crate) use super::switch::Holder;

/// Most holders recorded for reports.
const MAX_HOLDERS: usize = 16;

/// The draining side of a transition.
pub(crate) struct Drain {
    /// Editions being retired.
    editions: KVec<Arc<Edition>>,
    /// Threads counted inside the originals of the sites, when an original
    /// is draining: sum of these counters.
    orig_counters: KVec<&'static core::sync::atomic::AtomicIsize>,
    /// Code a pending thread must not be in.
    ranges: KVec<Range<usize>>,
    /// The whole module text checked besides the editions' code, if any.
    module_text: Option<Range<usize>>,
    /// Threads not yet seen outside, sorted; `None` until the first check,
    /// which runs after the switch and its grace period.
    pending: Option<KVec<Pid>>,
    /// Some of the threads seen inside at the last check.
    pub(crate) holders: KVec<Holder>,
    /// Threads counted inside at the last check.
    pub(crate) counted: isize,
}

impl Drain {
    /// Prepares to drain `editions`. `originals` are the addresses of the
    /// hooked originals of the sites involved. The set of pending threads is
    /// taken at the first [`Drain::check`], which must come after the
    /// snapshots that stopped new uncounted entries have been published and
    /// a grace period has passed.
    ///
    /// `module_text`, when a patch is being disabled, is its module's whole
    /// text: no thread may be anywhere in it when the patch's editions
    /// retire, since the module may then be removed. A wrapper that ends in
    /// a tail jump to `prev()` leaves only `prev()`'s frame, not its own,
    /// on a sleeper's stack.
    pub(crate) fn new(
        editions: KVec<Arc<Edition>>,
        orig_counters: KVec<&'static core::sync::atomic::AtomicIsize>,
        originals: &[usize],
        module_text: Option<Range<usize>>,
    ) -> Result<Self> {
        let mut ranges = KVec::new();
        if let Some(t) = &module_text {
            ranges.push(t.clone(), GFP_KERNEL)?;
        }
        for e in editions.iter() {
            for r in e.ranges.iter() {
                ranges.push(r.clone(), GFP_KERNEL)?;
            }
        }
        for &a in originals {
            for r in site::fentry_returns(a) {
                ranges.push(r..r + 1, GFP_KERNEL)?;
            }
        }
        Ok(Drain {
            editions,
            orig_counters,
            ranges,
            module_text,
            pending: None,
            holders: KVec::new(),
            counted: 0,
        })
    }

    /// Whether `addr` lies in code of the draining editions.
    fn hit(&self, addr: usize) -> bool {
        self.ranges.iter().any(|r| r.contains(&addr))
    }

    /// Every thread but the current one, sorted.
    fn all_threads() -> Option<KVec<Pid>> {
        let mut all = KVec::new();
        let mut oom = false;
        tasks::for_each_thread(|t| {
            if !t.is_current() && all.push(t.pid(), GFP_ATOMIC).is_err() {
                oom = true;
            }
        });
        all.sort_unstable();
        (!oom).then_some(all)
    }

    /// Nothing to drain.
    pub(crate) fn empty() -> Self {
        Drain {
            editions: KVec::new(),
            orig_counters: KVec::new(),
            ranges: KVec::new(),
            module_text: None,
            pending: None,
            holders: KVec::new(),
            counted: 0,
        }
    }

    /// Checks again; returns whether every draining edition is quiescent.
    pub(crate) fn check(&mut self) -> bool {
        let Some(pending) = self.pending.take().or_else(Self::all_threads) else {
            return false;
        };
        self.pending = Some(pending);
        self.counted = self
            .editions
            .iter()
            .map(|e| e.counted_inside())
            .sum::<isize>()
            + self
                .orig_counters
                .iter()
                .map(|c| c.load(core::sync::atomic::Ordering::Acquire))
                .sum::<isize>();
        let mut still = KVec::new();
        let mut holders = KVec::new();
        let mut trace = [0usize; MAX_DEPTH];
        let mut oom = false;
        tasks::for_each_thread(|t| {
            // The checking thread runs dynamos, not a draining edition.
            if t.is_current() || !self.is_pending(t.pid()) {
                return;
            }
            // A trace that cannot be trusted (the thread runs, the stack is
            // unreliable or too deep) keeps the thread pending: never a
            // guess.
            let inside = if let Some(n) = t.stack(&mut trace) {
                let hit = kthread::live_part(&trace[..n])
                    .iter()
                    .copied()
                    .find(|&a| self.hit(a));
                if let Some(addr) = hit {
                    if holders.len() < MAX_HOLDERS {
                        let _ = holders.push(
                            Holder {
                                pid: t.pid(),
                                comm: t.comm(),
                                addr,
                            },
                            GFP_ATOMIC,
                        );
                    }
                }
                hit.is_some()
            } else {
                true
            };
            if inside && still.push(t.pid(), GFP_ATOMIC).is_err() {
                oom = true;
            }
        });
        if oom {
            // Keep the old set: it is a superset of the truth.
            return false;
        }
        still.sort_unstable();
        let done = self.counted == 0 && still.is_empty();
        self.pending = Some(still);
        self.holders = holders;
        done
    }

    fn is_pending(&self, pid: Pid) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|p| p.binary_search(&pid).is_ok())
    }

    /// Threads still pending (all threads before the first check).
    pub(crate) fn pending(&self) -> Option<usize> {
        self.pending.as_ref().map(|p| p.len())
    }

    /// Whether `e` is draining.
    pub(crate) fn contains(&self, e: &Edition) -> bool {
        self.editions.iter().any(|d| core::ptr::eq(&**d, e))
    }

    /// The draining editions.
    pub(crate) fn editions(&self) -> impl Iterator<Item = &Arc<Edition>> {
        self.editions.iter()
    }

    /// The module text checked as a whole, if any.
    pub(crate) fn module_text(&self) -> Option<&Range<usize>> {
        self.module_text.as_ref()
    }

    /// The editions, once drained, with the module text the drain checked
    /// as a whole (if any): see `registry/transition.rs`, `retire`.
    pub(crate) fn into_editions(self) -> (KVec<Arc<Edition>>, Option<Range<usize>>) {
        (self.editions, self.module_text)
    }
}

/// Counts the threads (not on a CPU) that have a return address in
/// `ranges` on their stack now, for reports.
pub(crate) fn threads_in(ranges: &[Range<usize>]) -> usize {
    let mut trace = [0usize; MAX_DEPTH];
    let mut count = 0;
    tasks::for_each_thread(|t| {
        // Threads whose trace cannot be trusted (running, unreliable) are
        // not counted: this is a report, not a decision.
        if t.is_current() {
            return;
        }
        let Some(n) = t.stack(&mut trace) else {
            return;
        };
        if kthread::live_part(&trace[..n])
            .iter()
            .any(|a| ranges.iter().any(|r| r.contains(a)))
        {
            count += 1;
        }
    });
    count
}
