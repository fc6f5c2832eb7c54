// SPDX-License-Identifier: GPL-2.0

//! Lazy state transfer: objects whose representation a patch changes are
//! converted on first access by the new edition, each exactly once, or by
//! an eager background pass; a disable converts them back, or refuses.
//!
//! A patch declares its states (`abi::StateDesc`). The new representation
//! of an object is a record kept as shadow data of the object
//! (`raw/shadow.rs`), so the object's layout does not change and the record's
//! existence says "converted":
//!
//! - `dynamos_state_get(state, obj)` returns the record, converting the
//!   object first if it has none. Conversion is the shadow constructor:
//!   exactly one of racing CPUs runs it, before the record is visible.
//! - The eager pass (`states/<name>/eager`, or at enable with
//!   `STATE_EAGER`) walks every object the patch knows (K42's factories)
//!   on dynamos' state workqueue and converts those not yet converted,
//!   counting progress.
//! - When the patch is disabled, once its editions have drained, every
//!   record is converted back (`revert`) and freed. A state without
//!   `revert` loses information when converted back: dynamos refuses the
//!   disable while such objects exist, unless the admin writes 1 to
//!   `allow_loss` (the records are then dropped).
//!
//! Conversion runs under the shadow lock (interrupts off): it must be short
//! and must not sleep.

use crate::{
    logic::lifecycle::PatchKey,
    raw::{
        callbacks::{StateFns, StateObject, StateRuntime},
        display, tasks,
    },
};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering},
};
use kernel::{
    ffi::{c_int, c_uint},
    prelude::*,
    str::CStr,
    sync::Arc,
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};

/// Where an eager pass is.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Pass {
    /// None ran yet.
    Idle = 0,
    /// Queued on the state workqueue.
    Queued = 1,
    /// Running.
    Running = 2,
    /// Walked every object.
    Done = 3,
    /// Stopped on request.
    Stopped = 4,
    /// The walk failed.
    Failed = 5,
}

impl Pass {
    fn from_u32(v: u32) -> Pass {
        match v {
            1 => Pass::Queued,
            2 => Pass::Running,
            3 => Pass::Done,
            4 => Pass::Stopped,
            5 => Pass::Failed,
            _ => Pass::Idle,
        }
    }
}

/// A patch's state at run time, shown in `patches/<patch>/states/<name>/`
/// (`api/sysfs.rs`).
#[pin_data]
pub(crate) struct LazyState {
    /// What the patch declared; lives as long as the registration, which
    /// outlives this value (dropped at unregistration, after the pass is
    /// stopped and the workqueue has no work of it).
    fns: StateFns,
    /// Its name.
    pub(crate) name: &'static CStr,
    /// The patch it belongs to.
    pub(crate) patch: PatchKey,
    /// A [`Pass`].
    pass: AtomicU32,
    /// Objects converted now.
    converted: AtomicUsize,
    /// Objects seen by the current or last pass.
    done: AtomicUsize,
    /// Objects the current or last pass walks.
    total: AtomicUsize,
    /// Asks the pass to stop.
    stop: AtomicBool,
    /// Why the last pass failed.
    err: AtomicI32,
    /// Whether a disable may drop records it cannot convert back.
    allow_loss: AtomicBool,
    #[pin]
    work: Work<LazyState>,
}

impl_has_work! {
    impl HasWork<Self> for LazyState { self.work }
}

impl WorkItem for LazyState {
    type Pointer = Arc<LazyState>;

    fn run(this: Arc<LazyState>) {
        this.eager_pass();
    }
}

impl LazyState {
    /// The run-time state for the state `fns` of a patch, checked by
    /// `api/entry.rs`.
    pub(crate) fn new(fns: StateFns, name: &'static CStr, patch: PatchKey) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(LazyState {
                fns,
                name,
                patch,
                pass: AtomicU32::new(Pass::Idle as u32),
                converted: AtomicUsize::new(0),
                done: AtomicUsize::new(0),
                total: AtomicUsize::new(0),
                stop: AtomicBool::new(false),
                err: AtomicI32::new(0),
                allow_loss: AtomicBool::new(false),
                work <- new_work!("dynamos::eager"),
            }),
            GFP_KERNEL,
        )
    }

    /// Objects converted now.
    pub(crate) fn converted(&self) -> usize {
        self.converted.load(Ordering::Acquire)
    }

    /// Makes `dynamos_state_get()` on the descriptor find this value.
    /// `EBUSY` if another registration uses the descriptor.
    pub(crate) fn attach(self: &Arc<Self>) -> Result {
        self.fns.attach(self.clone())
    }

    /// Undoes [`LazyState::attach`]; the patch's code no longer runs.
    pub(crate) fn detach(self: &Arc<Self>) {
        self.fns.detach(self);
    }

    /// Whether converting back loses nothing.
    pub(crate) fn reversible(&self) -> bool {
        self.fns.has_revert()
    }

    /// Whether the patch asked for an eager pass at enable.
    pub(crate) fn eager_at_enable(&self) -> bool {
        self.fns.eager() && self.fns.has_walker()
    }

    /// Where its eager pass is.
    pub(crate) fn pass(&self) -> Pass {
        Pass::from_u32(self.pass.load(Ordering::Acquire))
    }

    /// The current or last eager pass: objects seen, objects it walks, and
    /// why it failed (an errno, if it did).
    pub(crate) fn progress(&self) -> (usize, usize, i32) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.err.load(Ordering::Relaxed),
        )
    }

    /// Whether the patch can walk the state's objects (an eager pass is
    /// possible).
    pub(crate) fn has_walker(&self) -> bool {
        self.fns.has_walker()
    }

    /// Whether a disable may drop records it cannot convert back.
    pub(crate) fn allow_loss(&self) -> bool {
        self.allow_loss.load(Ordering::Acquire)
    }

    /// Allows (or forbids again) dropping records a disable cannot convert
    /// back.
    ///
    /// # Errors
    ///
    /// `EINVAL` when allowing it for a reversible state: nothing is lost.
    pub(crate) fn set_allow_loss(&self, allow: bool) -> Result {
        if allow && self.reversible() {
            return Err(EINVAL);
        }
        self.allow_loss.store(allow, Ordering::Release);
        Ok(())
    }

    /// Marks a pass queued; `false` if one is queued or running already.
    pub(crate) fn claim_pass(&self) -> bool {
        loop {
            let cur = self.pass.load(Ordering::Acquire);
            if matches!(Pass::from_u32(cur), Pass::Queued | Pass::Running) {
                return false;
            }
            if self
                .pass
                .compare_exchange(
                    cur,
                    Pass::Queued as u32,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
            {
                self.stop.store(false, Ordering::Release);
                self.done.store(0, Ordering::Relaxed);
                self.total.store(0, Ordering::Relaxed);
                return true;
            }
        }
    }

    /// Gives back a pass claimed but not queued.
    pub(crate) fn unclaim_pass(&self) {
        self.pass.store(Pass::Idle as u32, Ordering::Release);
    }

    /// Asks a queued or running pass to stop.
    pub(crate) fn stop_pass(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Waits until no pass is queued or running; call after
    /// [`LazyState::stop_pass`]. A pass checks the stop request between
    /// objects, so this is short; it never takes the registry mutex, so the
    /// wait may run under it.
    pub(crate) fn wait_pass(&self) {
        while matches!(self.pass(), Pass::Queued | Pass::Running) {
            tasks::cond_resched();
            kernel::time::delay::fsleep(kernel::time::Delta::from_micros(200));
        }
    }

    /// The eager pass: counts the objects, then converts each one not yet
    /// converted.
    fn eager_pass(&self) {
        if !self.fns.has_walker() {
            self.pass.store(Pass::Failed as u32, Ordering::Release);
            return;
        }
        if self.stop.load(Ordering::Acquire) {
            self.pass.store(Pass::Stopped as u32, Ordering::Release);
            return;
        }
        self.pass.store(Pass::Running as u32, Ordering::Release);
        let r = self.fns.for_each(&mut |_| self.count_one()).unwrap_or(0);
        let r = if r == 0 {
            self.fns
                .for_each(&mut |obj| self.convert_one(obj))
                .unwrap_or(0)
        } else {
            r
        };
        let end = if self.stop.load(Ordering::Acquire) {
            Pass::Stopped
        } else if r != 0 {
            self.err.store(r, Ordering::Relaxed);
            Pass::Failed
        } else {
            Pass::Done
        };
        let how = if end == Pass::Done { "done" } else { "ended" };
        pr_info!(
            "state '{}': eager pass {} after {} of {} objects\n",
            display(self.name),
            how,
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed)
        );
        self.pass.store(end as u32, Ordering::Release);
    }

    /// Converts every record back (or drops them, if the loss is allowed);
    /// the patch's code no longer runs. Returns how many.
    pub(crate) fn roll_back(&self) -> usize {
        let converted = &self.converted;
        let fns = self.fns;
        let n = fns.roll_back(&mut || {
            converted.fetch_sub(1, Ordering::AcqRel);
        });
        if n > 0 {
            if fns.has_revert() {
                pr_info!(
                    "state '{}': {} objects converted back\n",
                    display(self.name),
                    n
                );
            } else {
                pr_warn!(
                    "state '{}': {} converted objects dropped, as allowed: their new data is lost\n",
                    display(self.name),
                    n
                );
            }
        }
        n
    }

    /// Why a disable must be refused, if it must: objects are converted,
    /// converting them back loses information, and the loss is not allowed.
    pub(crate) fn refuses_rollback(&self) -> Option<usize> {
        let n = self.converted();
        (n > 0 && !self.reversible() && !self.allow_loss()).then_some(n)
    }
}

impl LazyState {
    /// The record of `obj`, converting it first if needed (the shadow
    /// constructor: exactly once, under the shadow lock).
    fn get(&self, obj: StateObject, gfp: c_uint) -> Option<NonNull<u8>> {
        self.fns.record(obj, gfp, &mut || {
            self.converted.fetch_add(1, Ordering::AcqRel);
        })
    }

    /// The eager pass's first walk: counts an object; nonzero stops.
    fn count_one(&self) -> c_int {
        self.total.fetch_add(1, Ordering::Relaxed);
        c_int::from(self.stop.load(Ordering::Acquire))
    }

    /// The eager pass's second walk: converts an object, if not yet.
    /// Process context.
    fn convert_one(&self, obj: StateObject) -> c_int {
        if self.stop.load(Ordering::Acquire) {
            return 1;
        }
        if self.get(obj, kernel::bindings::GFP_KERNEL).is_none() {
            return ENOMEM.to_errno();
        }
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if done % 256 == 0 {
            tasks::cond_resched();
        }
        0
    }
}

impl StateRuntime for LazyState {
    fn record(&self, obj: StateObject, gfp: c_uint) -> Option<NonNull<u8>> {
        self.get(obj, gfp)
    }
}
