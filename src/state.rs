// SPDX-License-Identifier: GPL-2.0

//! Lazy state transfer: objects whose representation a patch changes are
//! converted on first access by the new edition, each exactly once, or by
//! an eager background pass; a disable converts them back, or refuses.
//!
//! A patch declares its states (`abi::StateDesc`). The new representation
//! of an object is a record kept as shadow data of the object
//! (`shadow.rs`), so the object's layout does not change and the record's
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
    abi::{self, StateDesc},
    emit, parse,
    registry::{self, PatchKey},
    shadow,
    sysfs::{Attr, Mode, ShowBuf},
};
use core::{
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize, Ordering},
};
use kernel::{
    c_str,
    ffi::{c_int, c_uint, c_void},
    prelude::*,
    str::CStr,
    sync::Arc,
    workqueue::{impl_has_work, new_work, Work, WorkItem},
};

/// Where an eager pass is.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Pass {
    Idle = 0,
    Queued = 1,
    Running = 2,
    Done = 3,
    Stopped = 4,
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

/// The states of a patch with their sysfs directories, children first.
pub(crate) struct StateDirs {
    _dirs: KVec<crate::sysfs::Dir<LazyState>>,
    _parent: crate::sysfs::Dir<()>,
}

impl StateDirs {
    /// Creates `states/<name>/` under a patch's directory for each state.
    pub(crate) fn new(
        parent: &dyn crate::sysfs::AsParent,
        states: &[Arc<LazyState>],
    ) -> Result<Self> {
        let top = crate::sysfs::Dir::new(
            c_str!("states"),
            crate::sysfs::Parent::Dir(parent),
            Arc::new((), GFP_KERNEL)?,
            &[],
        )?;
        let mut dirs = KVec::with_capacity(states.len(), GFP_KERNEL)?;
        for st in states {
            let d = crate::sysfs::Dir::new(
                st.name,
                crate::sysfs::Parent::Dir(&top),
                st.clone(),
                &STATE_ATTRS,
            );
            match d {
                // PANIC: cannot fail, reserved above.
                Ok(d) => {
                    let _ = dirs.push(d, GFP_NOWAIT);
                }
                Err(e) => {
                    // Not under the registry mutex: made at registration,
                    // before the patch is visible.
                    drop(dirs);
                    return Err(e);
                }
            }
        }
        Ok(StateDirs {
            _dirs: dirs,
            _parent: top,
        })
    }
}

/// A patch's state at run time, shown in `patches/<patch>/states/<name>/`.
#[pin_data]
pub(crate) struct LazyState {
    /// What the patch declared; lives as long as the registration, which
    /// outlives this value (dropped at unregistration, after the pass is
    /// stopped and the workqueue has no work of it).
    desc: &'static StateDesc,
    /// Its name.
    pub(crate) name: &'static CStr,
    /// The patch it belongs to.
    patch: PatchKey,
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

// SAFETY: The descriptor is only read, and its atomics are atomics; the
// patch keeps it alive and unchanged while registered (`abi.rs`), and the
// functions it points to may be called from any thread.
unsafe impl Send for LazyState {}
// SAFETY: As above; every other field is atomic.
unsafe impl Sync for LazyState {}

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
    /// The run-time state for `desc`, checked by `entry.rs`.
    pub(crate) fn new(
        desc: &'static StateDesc,
        name: &'static CStr,
        patch: PatchKey,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(LazyState {
                desc,
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
        let me = Arc::as_ptr(self).cast_mut().cast::<c_void>();
        self.desc
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

    /// Undoes [`LazyState::attach`]; the patch's code no longer runs.
    pub(crate) fn detach(self: &Arc<Self>) {
        let me = Arc::as_ptr(self).cast_mut().cast::<c_void>();
        let _ = self.desc.rt.compare_exchange(
            me,
            core::ptr::null_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Whether converting back loses nothing.
    pub(crate) fn reversible(&self) -> bool {
        self.desc.revert.is_some()
    }

    /// Whether the patch asked for an eager pass at enable.
    pub(crate) fn eager_at_enable(&self) -> bool {
        self.desc.flags & abi::STATE_EAGER != 0 && self.desc.for_each.is_some()
    }

    fn pass(&self) -> Pass {
        Pass::from_u32(self.pass.load(Ordering::Acquire))
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
    /// [`LazyState::stop_pass`], without the registry mutex. A pass checks
    /// the stop request between objects, so this is short.
    pub(crate) fn wait_pass(&self) {
        while matches!(self.pass(), Pass::Queued | Pass::Running) {
            crate::tasks::cond_resched();
            kernel::time::delay::fsleep(kernel::time::Delta::from_micros(200));
        }
    }

    /// The eager pass: counts the objects, then converts each one not yet
    /// converted.
    fn eager_pass(&self) {
        let Some(for_each) = self.desc.for_each else {
            self.pass.store(Pass::Failed as u32, Ordering::Release);
            return;
        };
        if self.stop.load(Ordering::Acquire) {
            self.pass.store(Pass::Stopped as u32, Ordering::Release);
            return;
        }
        self.pass.store(Pass::Running as u32, Ordering::Release);
        let ctx = core::ptr::from_ref(self).cast_mut().cast::<c_void>();
        // SAFETY: The patch's walker, with a callback that takes `ctx` back
        // as `&LazyState`; `self` outlives the call.
        let r = unsafe { for_each(count_one, ctx) };
        let r = if r == 0 {
            // SAFETY: As above.
            unsafe { for_each(convert_one, ctx) }
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
            registry::display(self.name),
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
        let revert = self.desc.revert;
        let n = shadow::free_all(self.desc.id, &mut |obj, rec| {
            if let Some(revert) = revert {
                // SAFETY: The patch's inverse conversion, on a record of
                // its state that nothing can find any more.
                unsafe { revert(obj as *mut c_void, rec.as_ptr().cast()) };
            }
            converted.fetch_sub(1, Ordering::AcqRel);
        });
        if n > 0 {
            if revert.is_some() {
                pr_info!(
                    "state '{}': {} objects converted back\n",
                    registry::display(self.name),
                    n
                );
            } else {
                pr_warn!(
                    "state '{}': {} converted objects dropped, as allowed: their new data is lost\n",
                    registry::display(self.name),
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
        (n > 0 && !self.reversible() && !self.allow_loss.load(Ordering::Acquire)).then_some(n)
    }
}

/// The shadow constructor of a state: converts `obj` into `rec`.
///
/// # Safety
///
/// `st` is a live [`LazyState`]; `obj` an object of its state; `rec` a
/// zeroed record of its size that nobody else sees.
unsafe extern "C" fn convert_ctor(obj: *mut c_void, rec: *mut c_void, st: *mut c_void) -> c_int {
    // SAFETY: `get` passes a live run-time state.
    let st = unsafe { &*st.cast::<LazyState>() };
    if let Some(convert) = st.desc.convert {
        // SAFETY: The patch's conversion, on an object of its state and a
        // zeroed record that nobody sees yet.
        unsafe { convert(obj, rec) };
    }
    st.converted.fetch_add(1, Ordering::AcqRel);
    0
}

/// The record of `obj`, converting it first if needed.
///
/// # Safety
///
/// `obj` is an object of the state; `gfp` suits the calling context.
unsafe fn get(st: &LazyState, obj: *mut c_void, gfp: c_uint) -> Option<NonNull<u8>> {
    // SAFETY: `convert_ctor` may be called under the shadow lock with `st`,
    // which outlives the call, as its data.
    unsafe {
        shadow::get_or_alloc(
            obj as usize,
            st.desc.id,
            st.desc.size,
            gfp,
            Some(convert_ctor),
            core::ptr::from_ref(st).cast_mut().cast::<c_void>(),
        )
    }
}

/// The eager pass's first walk: counts an object.
///
/// # Safety
///
/// `ctx` is the [`LazyState`] running the pass.
unsafe extern "C" fn count_one(ctx: *mut c_void, _obj: *mut c_void) -> c_int {
    // SAFETY: `eager_pass` passes itself.
    let st = unsafe { &*ctx.cast::<LazyState>() };
    st.total.fetch_add(1, Ordering::Relaxed);
    c_int::from(st.stop.load(Ordering::Acquire))
}

/// The eager pass's second walk: converts an object, if not yet.
///
/// # Safety
///
/// `ctx` is the [`LazyState`] running the pass; `obj` an object of its
/// state; process context.
unsafe extern "C" fn convert_one(ctx: *mut c_void, obj: *mut c_void) -> c_int {
    // SAFETY: `eager_pass` passes itself.
    let st = unsafe { &*ctx.cast::<LazyState>() };
    if st.stop.load(Ordering::Acquire) {
        return 1;
    }
    // SAFETY: The state's own walker hands its objects; process context.
    if unsafe { get(st, obj, kernel::bindings::GFP_KERNEL) }.is_none() {
        return ENOMEM.to_errno();
    }
    let done = st.done.fetch_add(1, Ordering::Relaxed) + 1;
    if done % 256 == 0 {
        crate::tasks::cond_resched();
    }
    0
}

/// Returns the record of `obj` in the new representation of `state`,
/// converting the object first if this is its first access: exactly once,
/// even when CPUs race. NULL if the record cannot be allocated.
///
/// # Safety
///
/// `state` is a state descriptor of the calling patch, whose code runs
/// (so the patch is registered); `obj` is an object of that state; `gfp`
/// suits the context (`GFP_ATOMIC` where the caller cannot sleep).
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_state_get(
    state: *const StateDesc,
    obj: *mut c_void,
    gfp: c_uint,
) -> *mut c_void {
    // SAFETY: The caller's guarantee.
    let desc = unsafe { &*state };
    if let Some(d) = shadow::get(obj as usize, desc.id) {
        return d.as_ptr().cast();
    }
    let rt = desc.rt.load(Ordering::Acquire);
    if rt.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: Set by `attach` to a state that the registration keeps alive
    // until `detach`, which runs once the patch's code no longer does.
    let st = unsafe { &*rt.cast::<LazyState>() };
    // SAFETY: The caller's guarantee.
    unsafe { get(st, obj, gfp) }.map_or(core::ptr::null_mut(), |d| d.as_ptr().cast())
}

fn show_converted(st: &LazyState, buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{}\n", st.converted())
}

fn show_reversible(st: &LazyState, buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{}\n", u8::from(st.reversible()))
}

fn show_eager(st: &LazyState, buf: &mut ShowBuf<'_>) -> Result {
    let done = st.done.load(Ordering::Relaxed);
    let total = st.total.load(Ordering::Relaxed);
    match st.pass() {
        Pass::Idle => emit!(buf, "idle\n"),
        Pass::Queued => emit!(buf, "queued\n"),
        Pass::Running => emit!(buf, "running {}/{}\n", done, total),
        Pass::Done => emit!(buf, "done {}/{}\n", done, total),
        Pass::Stopped => emit!(buf, "stopped {}/{}\n", done, total),
        Pass::Failed => emit!(
            buf,
            "failed {}/{} ({})\n",
            done,
            total,
            st.err.load(Ordering::Relaxed)
        ),
    }
}

fn store_eager(st: &LazyState, input: &[u8]) -> Result {
    let start = parse::parse_bool(input).map_err(registry::parse_errno)?;
    if !start {
        st.stop_pass();
        return Ok(());
    }
    if st.desc.for_each.is_none() {
        return Err(EOPNOTSUPP);
    }
    registry::start_eager(st.patch, st.name)
}

fn show_allow_loss(st: &LazyState, buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{}\n", u8::from(st.allow_loss.load(Ordering::Acquire)))
}

fn store_allow_loss(st: &LazyState, input: &[u8]) -> Result {
    let v = parse::parse_bool(input).map_err(registry::parse_errno)?;
    if v && st.reversible() {
        // Nothing is lost: the records are converted back.
        return Err(EINVAL);
    }
    st.allow_loss.store(v, Ordering::Release);
    Ok(())
}

/// The files of a state's directory.
pub(crate) static STATE_ATTRS: [Attr<LazyState>; 4] = [
    Attr {
        name: c_str!("converted"),
        mode: Mode::READ_ONLY,
        show: Some(show_converted),
        store: None,
    },
    Attr {
        name: c_str!("reversible"),
        mode: Mode::READ_ONLY,
        show: Some(show_reversible),
        store: None,
    },
    Attr {
        name: c_str!("eager"),
        mode: Mode::READ_WRITE,
        show: Some(show_eager),
        store: Some(store_eager),
    },
    Attr {
        name: c_str!("allow_loss"),
        mode: Mode::READ_WRITE,
        show: Some(show_allow_loss),
        store: Some(store_allow_loss),
    },
];
