// SPDX-License-Identifier: GPL-2.0

//! Task walking and stack traces, for the conservative check of which
//! threads may be inside a function.
//!
//! A task's stack is read as livepatch reads it: with the task pinned
//! (`task_call_func()`, so it cannot run meanwhile) by the reliable
//! unwinder (`stack_trace_save_tsk_reliable()`), which with ORC goes
//! through interrupt and exception frames, so a task preempted inside a
//! function shows that function, and which says so when it cannot vouch
//! for a trace. Neither function is exported: the C helper reaches them
//! through livepatch relocations (`raw/ksyms.rs`). A task on a CPU, an
//! unreliable trace, or one deeper than [`MAX_DEPTH`], gives no trace:
//! callers take the task to be anywhere.
//!
//! Task fields are read by C helpers (`raw/helpers.c`): bindgen's layout of
//! `struct task_struct` does not match this GCC-built kernel's.

use kernel::{
    bindings,
    ffi::{c_int, c_void},
    task::Pid,
};

/// Maximum stack depth examined per task.
pub(crate) const MAX_DEPTH: usize = 64;

/// `struct dynamos_thread` of `raw/helpers.c`.
#[repr(C)]
struct RawThread {
    task: *mut bindings::task_struct,
    pid: Pid,
    tgid: Pid,
    _on_cpu: c_int,
    comm: [u8; 16],
}

extern "C" {
    fn dynamos_for_each_thread(
        f: unsafe extern "C" fn(ctx: *mut c_void, t: *const RawThread),
        ctx: *mut c_void,
    );
    fn dynamos_process_get(nr: Pid) -> *mut c_void;
    fn dynamos_process_alive(pid: *mut c_void) -> bool;
    fn dynamos_pid_get(pid: *mut c_void);
    fn dynamos_current_process() -> usize;
    fn dynamos_cond_resched();
    fn dynamos_task_stack(task: *mut c_void, store: *mut usize, size: u32) -> c_int;
    fn dynamos_for_each_idle_task(
        f: unsafe extern "C" fn(ctx: *mut c_void, t: *const RawThread),
        ctx: *mut c_void,
    );
    fn dynamos_task_pinned(
        task: *mut c_void,
        store: *mut usize,
        size: u32,
        f: unsafe extern "C" fn(ctx: *mut c_void, trace: *const usize, nr: c_int) -> bool,
        ctx: *mut c_void,
    ) -> c_int;
    fn dynamos_task_on_cpu(
        task: *mut c_void,
        store: *mut usize,
        size: u32,
        f: unsafe extern "C" fn(ctx: *mut c_void, trace: *const usize, nr: c_int) -> bool,
        ctx: *mut c_void,
    ) -> c_int;
    fn dynamos_consistency() -> bool;
    fn dynamos_newtask_hook(f: extern "C" fn(task: usize)) -> c_int;
    fn dynamos_newtask_unhook(f: extern "C" fn(task: usize));
}

/// `dynamos_task_pinned()` or `dynamos_task_on_cpu()`.
type DecideHelper = unsafe extern "C" fn(
    *mut c_void,
    *mut usize,
    u32,
    unsafe extern "C" fn(*mut c_void, *const usize, c_int) -> bool,
    *mut c_void,
) -> c_int;

/// Calls the closure `ctx` points to on a trace (`nr < 0`: untrusted).
///
/// # Safety
///
/// `ctx` is an `F`, alive and not otherwise borrowed for the call; when
/// `nr >= 0`, `trace` holds `nr` entries.
unsafe extern "C" fn decide<F: FnMut(Option<&[usize]>) -> bool>(
    ctx: *mut c_void,
    trace: *const usize,
    nr: c_int,
) -> bool {
    // SAFETY: By the function's contract.
    let f = unsafe { &mut *ctx.cast::<F>() };
    let trace = usize::try_from(nr)
        .ok()
        // SAFETY: By the function's contract, `trace` holds `n` entries.
        .map(|n| unsafe { core::slice::from_raw_parts(trace, n) });
    f(trace)
}

/// A thread met by [`for_each_thread`].
///
/// # Invariants
///
/// `raw.task` is a live task, protected by the RCU read lock that
/// `dynamos_for_each_thread()` holds while the callback runs.
pub(crate) struct Thread<'a> {
    raw: &'a RawThread,
}

impl Thread<'_> {
    /// Thread id.
    pub(crate) fn pid(&self) -> Pid {
        self.raw.pid
    }

    /// The command name, up to 15 bytes, NUL-padded.
    pub(crate) fn comm(&self) -> [u8; 16] {
        self.raw.comm
    }

    /// Whether the thread is the one calling.
    pub(crate) fn is_current(&self) -> bool {
        core::ptr::eq(self.raw.task, kernel::task::Task::current_raw())
    }

    /// The thread's identity while it lives (its `task_struct`'s address),
    /// as [`current_key`] gives it; a later thread may get it again.
    pub(crate) fn key(&self) -> usize {
        self.raw.task as usize
    }

    /// Calls `f` on the thread's reliable trace, innermost first (`None`
    /// when the unwinder cannot vouch for it or it is deeper than
    /// [`MAX_DEPTH`]), with the thread pinned: it does not run between the
    /// trace and the end of `f`, so what `f` decides holds when it runs
    /// again. Returns what `f` returned; `None` if the thread runs on
    /// another CPU (`f` is not called: see [`Thread::decide_on_cpu`]).
    ///
    /// `f` runs with the thread's runqueue locked and interrupts off: it
    /// must not sleep, allocate, or take a lock held around scheduler calls.
    pub(crate) fn decide_pinned<F: FnMut(Option<&[usize]>) -> bool>(&self, f: F) -> Option<bool> {
        self.decide(dynamos_task_pinned, f)
    }

    /// For a thread that runs: calls `f` as [`Thread::decide_pinned`] does,
    /// in an interrupt on the thread's CPU while the thread is the one
    /// running there (it does not run on until `f` returns); the trace goes
    /// through the interrupt into what the thread was doing, and holds
    /// nothing of the kernel if it was in user space. `None` if it was not
    /// running there. `f` runs in hard interrupt context. Process context,
    /// interrupts on.
    pub(crate) fn decide_on_cpu<F: FnMut(Option<&[usize]>) -> bool>(&self, f: F) -> Option<bool> {
        self.decide(dynamos_task_on_cpu, f)
    }

    /// `f` through `helper`, one of the two C helpers above.
    fn decide<F: FnMut(Option<&[usize]>) -> bool>(
        &self,
        helper: DecideHelper,
        mut f: F,
    ) -> Option<bool> {
        let mut store = [0usize; MAX_DEPTH];
        // SAFETY: `task` is live (type invariant); `store` holds
        // `MAX_DEPTH` entries; `decide::<F>` matches the callback type and
        // `f` outlives the call, which returns once `f` has run (or will
        // not run).
        let r = unsafe {
            helper(
                self.raw.task.cast(),
                store.as_mut_ptr(),
                MAX_DEPTH as u32,
                decide::<F>,
                (&raw mut f).cast(),
            )
        };
        (r >= 0).then_some(r > 0)
    }

    /// Fills `out` with the return addresses on the thread's stack,
    /// innermost first, and returns how many there are: a reliable trace
    /// (`stack_trace_save_tsk_reliable()`) taken with the thread pinned
    /// (`task_call_func()`), as livepatch takes them. `None` when it cannot
    /// be trusted: the thread runs, the unwinder found the stack
    /// unreliable, or it is deeper than `MAX_DEPTH`. Callers must then
    /// take the thread to be anywhere.
    pub(crate) fn stack(&self, out: &mut [usize; MAX_DEPTH]) -> Option<usize> {
        // SAFETY: `task` is live (type invariant) and `out` holds
        // `MAX_DEPTH` entries; the helper pins the task while it reads its
        // stack and does not sleep.
        let n =
            unsafe { dynamos_task_stack(self.raw.task.cast(), out.as_mut_ptr(), MAX_DEPTH as u32) };
        usize::try_from(n).ok()
    }
}

/// Calls `f` on every thread of every process (not the idle tasks), under
/// the RCU read lock: `f` must not sleep (allocate with `GFP_ATOMIC`).
pub(crate) fn for_each_thread<F: FnMut(&Thread<'_>)>(mut f: F) {
    /// # Safety
    ///
    /// `ctx` is the `F` passed below and `t` a valid thread record.
    unsafe extern "C" fn trampoline<F: FnMut(&Thread<'_>)>(ctx: *mut c_void, t: *const RawThread) {
        // SAFETY: By the function's contract.
        let (f, raw) = unsafe { (&mut *ctx.cast::<F>(), &*t) };
        // INVARIANT: The helper holds the RCU read lock during the call.
        f(&Thread { raw });
    }
    // SAFETY: `trampoline::<F>` matches the callback type, and `f` outlives
    // the call.
    unsafe { dynamos_for_each_thread(trampoline::<F>, (&raw mut f).cast()) };
}

/// Calls `f` on the idle task of every online CPU (an offline CPU's runs
/// nothing), under the RCU read lock: `f` must not sleep.
pub(crate) fn for_each_idle_task<F: FnMut(&Thread<'_>)>(mut f: F) {
    /// # Safety
    ///
    /// `ctx` is the `F` passed below and `t` a valid thread record.
    unsafe extern "C" fn trampoline<F: FnMut(&Thread<'_>)>(ctx: *mut c_void, t: *const RawThread) {
        // SAFETY: By the function's contract.
        let (f, raw) = unsafe { (&mut *ctx.cast::<F>(), &*t) };
        // INVARIANT: Idle tasks never exit; the helper holds the RCU read
        // lock during the call.
        f(&Thread { raw });
    }
    // SAFETY: `trampoline::<F>` matches the callback type, and `f` outlives
    // the call.
    unsafe { dynamos_for_each_idle_task(trampoline::<F>, (&raw mut f).cast()) };
}

/// Whether plain patches' transitions are consistent per task: the
/// `consistency` parameter of dynamos, a debug knob that tests turn off to
/// show that their mix detector can fail.
pub(crate) fn consistency_on() -> bool {
    // SAFETY: Reads a module parameter.
    unsafe { dynamos_consistency() }
}

/// The calling thread's identity, as [`Thread::key`] gives it. Any context.
#[inline(always)]
pub(crate) fn current_key() -> usize {
    kernel::task::Task::current_raw() as usize
}

/// A call of a function on every new task, in its parent, after the task
/// is on the task list and before it first runs (the `task_newtask`
/// tracepoint). Removed on drop.
pub(crate) struct NewTaskHook {
    f: extern "C" fn(usize),
}

impl NewTaskHook {
    /// Calls `f` with the [`Thread::key`] of every new task from now on.
    /// `f` runs in process context, in the parent, and must not sleep.
    pub(crate) fn new(f: extern "C" fn(usize)) -> Result<Self, kernel::error::Error> {
        // SAFETY: `f` is a plain function, valid as long as this module is
        // loaded, which outlives the hook (removed in `drop`).
        kernel::error::to_result(unsafe { dynamos_newtask_hook(f) })?;
        Ok(NewTaskHook { f })
    }
}

impl Drop for NewTaskHook {
    fn drop(&mut self) {
        // SAFETY: Registered by `new`; the helper waits until no call of
        // `f` runs.
        unsafe { dynamos_newtask_unhook(self.f) };
    }
}

/// Lets other tasks run if the calling thread should reschedule. Process
/// context, no spinlock held.
pub(crate) fn cond_resched() {
    // SAFETY: Callable from any sleepable context.
    unsafe { dynamos_cond_resched() };
}

/// One process, held by a counted reference on its `struct pid`: a
/// process that later gets the same id is another one.
///
/// # Invariants
///
/// `pid` is a `struct pid` on which this value holds one reference.
pub(crate) struct Process {
    pid: core::ptr::NonNull<c_void>,
    nr: Pid,
}

// SAFETY: A reference on a `struct pid` may be used and put from any
// thread.
unsafe impl Send for Process {}
// SAFETY: `&Process` only reads the refcounted object.
unsafe impl Sync for Process {}

impl Process {
    /// The process whose id (in the calling thread's pid namespace) is
    /// `nr`, if one exists now.
    pub(crate) fn get(nr: Pid) -> Option<Self> {
        // SAFETY: Looks up and takes a reference, or returns NULL.
        let pid = core::ptr::NonNull::new(unsafe { dynamos_process_get(nr) })?;
        // INVARIANT: The reference just taken.
        Some(Process { pid, nr })
    }

    /// The id it was found by.
    pub(crate) fn nr(&self) -> Pid {
        self.nr
    }

    /// Whether the process still exists (it has not exited).
    pub(crate) fn alive(&self) -> bool {
        // SAFETY: We hold a reference (type invariant).
        unsafe { dynamos_process_alive(self.pid.as_ptr()) }
    }

    /// Its identity, which [`current_process`] gives for its threads.
    #[inline(always)]
    pub(crate) fn id(&self) -> usize {
        self.pid.as_ptr() as usize
    }

    /// Another reference on the same process.
    pub(crate) fn clone_ref(&self) -> Self {
        // SAFETY: We hold a reference (type invariant), so the object is
        // live while another is taken.
        unsafe { dynamos_pid_get(self.pid.as_ptr()) };
        // INVARIANT: The reference just taken.
        Process {
            pid: self.pid,
            nr: self.nr,
        }
    }
}

/// The identity of the calling thread's process (its `struct pid`), as
/// [`Process::id`] gives it. Any context.
#[inline(always)]
pub(crate) fn current_process() -> usize {
    // SAFETY: Reads `current`'s thread group pid; no side effect.
    unsafe { dynamos_current_process() }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: We hold one reference (type invariant).
        unsafe { bindings::put_pid(self.pid.as_ptr().cast()) };
    }
}

/// Fills `out` with the return addresses on the calling thread's stack,
/// innermost first, and returns how many there are. Callable from any
/// context, including an ftrace handler.
#[inline(always)]
pub(crate) fn current_stack(out: &mut [usize]) -> usize {
    let len = u32::try_from(out.len()).unwrap_or(u32::MAX);
    // SAFETY: `out` holds `len` entries; `stack_trace_save()` unwinds the
    // current stack only, without sleeping or locking.
    let n = unsafe { bindings::stack_trace_save(out.as_mut_ptr().cast(), len, 0) };
    (n as usize).min(out.len())
}
