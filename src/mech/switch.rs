// SPDX-License-Identifier: GPL-2.0

//! Per-task consistency: while a patch is in transition, every task runs
//! either all the old editions of the patch's functions or all the new
//! ones, never a mix on one call path.
//!
//! During a consistent transition each site of the patch publishes two
//! snapshots, one per *side*: side 0 is the state before the transition
//! began, side 1 the state it goes to. Every task is on one side, and the
//! site's handler sends its calls by that side's snapshot (`site.rs`), so
//! a task never changes side in the middle of a call path: it moves from
//! side 0 to side 1 only when a reliable trace of its stack, taken while it
//! cannot run, holds no return address in any code of the transition (old
//! and new editions, the originals with their `__fentry__` returns, a
//! departing patch module's text). That is livepatch's rule
//! (`kernel/livepatch/transition.c`), with the same tools.
//!
//! - A task on a CPU is checked in an interrupt on that CPU, while it is
//!   the one running there; in user space its kernel stack holds nothing,
//!   so it moves at once. Idle tasks are checked the same way.
//! - A new task has run nothing yet: it starts on the side the transition
//!   goes to (a hook on `task_newtask`, in the parent, before the task
//!   first runs), once every site publishes both sides.
//! - A reversal changes only which side is the target: tasks already on
//!   it stay, the others move back under the same rule. The sites' two
//!   snapshots stay what they were for the tasks on each side.
//!
//! Which task is on which side is a table of the tasks on side 1, keyed
//! by `task_struct` address, read by handlers without locks (RCU) and
//! written under one interrupt-safe lock: a task absent from it is on side
//! 0. A `task_struct` freed and reused by a new task is set by the new
//! task's hook; a stale entry can only put a task on a side where it
//! checks again. The table keeps half its slots empty and grows when the
//! check finds it full.

use crate::{
    logic::{dispatch, symtext},
    raw::{
        global::{RawGuard, RawLocked},
        kallsyms,
        rcu::{RcuSlot, ReadSide},
        tasks::{self, NewTaskHook, Thread},
    },
};
use core::{
    ops::Range,
    sync::atomic::{AtomicUsize, Ordering},
};
use kernel::{prelude::*, sync::rcu, task::Pid};

/// A thread found inside code that it keeps from going (a draining
/// edition, a transition's code), for reports.
#[derive(Clone, Copy)]
pub(crate) struct Holder {
    /// Thread id.
    pub(crate) pid: Pid,
    /// Command name.
    pub(crate) comm: [u8; 16],
    /// The innermost return address found in draining code.
    pub(crate) addr: usize,
}

impl Holder {
    /// The command name as text.
    pub(crate) fn comm_str(&self) -> &str {
        symtext::c_text(&self.comm)
    }

    /// Where it was, for reports: `symbol+off/size [module]`, or why no
    /// address is known (a task on a CPU, or an untrusted trace).
    pub(crate) fn where_str<'a>(&self, buf: &'a mut [u8; 512]) -> &'a str {
        if self.addr == 0 {
            return "(on a CPU, or its stack could not be trusted)";
        }
        kallsyms::symbol(self.addr, buf)
    }
}

/// One of the two snapshots a site publishes during a consistent
/// transition: 0 for the state before it began, 1 for the one it goes to.
pub(crate) type Side = u8;

/// The side in a table slot; the rest is the task's address (aligned).
const SIDE_BIT: usize = 1;

/// Most holders recorded for reports.
const MAX_HOLDERS: usize = 16;

/// The tasks on side 1: open addressing with linear probing; a slot holds
/// a task's address with its side in bit 0, or 0 (empty). Never more than
/// half full, so every probe ends.
struct TaskTable {
    slots: KVVec<AtomicUsize>,
    /// `64 - log2(slots.len())`, for the multiplicative hash.
    shift: u32,
}

impl TaskTable {
    /// An empty table with room for `tasks` tasks and many more.
    fn new(tasks: usize) -> Result<Self> {
        let want = tasks.saturating_mul(4).saturating_add(1024);
        let len = want.checked_next_power_of_two().ok_or(ENOMEM)?;
        let mut slots = KVVec::with_capacity(len, GFP_KERNEL)?;
        for _ in 0..len {
            // PANIC: cannot fail, the capacity is there.
            let _ = slots.push_within_capacity(AtomicUsize::new(0));
        }
        Ok(TaskTable {
            slots,
            shift: 64 - len.trailing_zeros(),
        })
    }

    #[inline(always)]
    fn home(&self, key: usize) -> usize {
        ((key as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The side of task `key`. Any context.
    #[inline(always)]
    fn side(&self, key: usize) -> Side {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let v = self.slots.get(i).map_or(0, |s| s.load(Ordering::Acquire));
            if v == 0 {
                return 0;
            }
            if v & !SIDE_BIT == key {
                return (v & SIDE_BIT) as Side;
            }
            i = (i + 1) & mask;
        }
    }

    /// Puts task `key` on `side`; a task not in the table is added only if
    /// `add` and there is room (`used` counts the slots in use). Returns
    /// whether the task is now on `side`. With the writer lock held.
    fn set(&self, key: usize, side: Side, used: &mut usize, add: bool) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let Some(slot) = self.slots.get(i) else {
                return false;
            };
            let v = slot.load(Ordering::Relaxed);
            if v == 0 {
                if side == 0 {
                    // Absent is side 0.
                    return true;
                }
                if !add || (*used + 1) * 2 > self.slots.len() {
                    return false;
                }
                *used += 1;
                slot.store(key | SIDE_BIT, Ordering::Release);
                return true;
            }
            if v & !SIDE_BIT == key {
                slot.store(key | usize::from(side), Ordering::Release);
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Copies every task on side 1 of `from` into this (empty) table.
    fn copy_from(&self, from: &TaskTable, used: &mut usize) -> bool {
        from.slots.iter().all(|s| {
            let v = s.load(Ordering::Relaxed);
            v & SIDE_BIT == 0 || self.set(v & !SIDE_BIT, 1, used, true)
        })
    }
}

/// What writers of the table share.
struct Writer {
    /// The side new tasks start on, and the check moves tasks to.
    target: Side,
    /// Slots in use.
    used: usize,
    /// Slots in the table.
    len: usize,
    /// Tasks that could not be added, ever: a check during which this
    /// changed cannot conclude.
    misses: u64,
}

/// The writers' state, behind a raw lock: it is taken inside
/// `task_call_func()`, under the scheduler's raw locks, and in interrupts.
static WRITER: RawLocked<Writer> = RawLocked::new(Writer {
    target: 0,
    used: 0,
    len: 0,
    misses: 0,
});

/// Takes the writers' lock.
fn lock_writer() -> RawGuard<'static, Writer> {
    WRITER.lock()
}

/// The table of the transition in progress, if any.
static TABLE: RcuSlot<TaskTable> = RcuSlot::new();

/// The side the calling task is on (0 when no transition runs). Any
/// context, from a site's handler.
#[inline(always)]
pub(crate) fn current_side(rs: &impl ReadSide) -> Side {
    TABLE.read(rs).map_or(0, |t| t.side(tasks::current_key()))
}

/// Puts task `key` on `side` (or, with `None`, on the target side, read
/// under the same lock), adding it if needed; whether it is there now.
fn set_side(key: usize, side: Option<Side>) -> bool {
    let mut w = lock_writer();
    let g = rcu::read_lock();
    let Some(t) = TABLE.read(&g) else {
        return false;
    };
    let w = &mut *w;
    let side = side.unwrap_or(w.target);
    let done = t.set(key, side, &mut w.used, true);
    if !done {
        w.misses += 1;
    }
    done
}

/// A new task has run nothing: it may start on any side, and starts on
/// the target's, which spares it a check. The target is read under the
/// lock that sets the side: a check cannot move the task in between.
extern "C" fn on_new_task(key: usize) {
    let g = rcu::read_lock();
    if TABLE.read(&g).is_none() {
        return;
    }
    drop(g);
    set_side(key, None);
}

/// Hooks new tasks, for the life of dynamos (whether or not a transition
/// runs: a hook made per transition would cost a text patch each time).
pub(crate) fn hook_new_tasks() -> Result<NewTaskHook> {
    NewTaskHook::new(on_new_task)
}

/// The per-task sides of the consistent transition in progress. Only one
/// exists at a time. Dropping it drops the table: every site must publish
/// one side only by then.
pub(crate) struct TaskSwitch {
    /// Code a task must not be in to move (sorted, merged).
    ranges: KVec<Range<usize>>,
    /// The side tasks move to.
    target: Side,
    /// Tasks not on the target side at the last check.
    pub(crate) remaining: usize,
    /// Tasks at the last check.
    pub(crate) total: usize,
    /// Some of the tasks that could not move at the last check.
    pub(crate) holders: KVec<Holder>,
}

impl TaskSwitch {
    /// Starts a transition in which no task moves yet: every task, new ones
    /// included, is on side 0 until [`TaskSwitch::aim`].
    ///
    /// # Errors
    ///
    /// `EBUSY` if another one exists; `ENOMEM`.
    pub(crate) fn start() -> Result<Self> {
        let mut n = 0usize;
        tasks::for_each_thread(|_| n += 1);
        let table = KBox::new(TaskTable::new(n)?, GFP_KERNEL)?;
        let holders = KVec::with_capacity(MAX_HOLDERS, GFP_KERNEL)?;
        let len = table.slots.len();
        let mut table = Some(table);
        let stale = {
            let mut w = lock_writer();
            let g = rcu::read_lock();
            let busy = TABLE.read(&g).is_some();
            drop(g);
            if !busy {
                let misses = w.misses;
                *w = Writer {
                    target: 0,
                    used: 0,
                    len,
                    misses,
                };
            }
            (!busy).then(|| TABLE.replace(table.take()))
        };
        // Freed without the lock (it may sleep).
        drop(table);
        drop(stale.ok_or(EBUSY)?);
        Ok(TaskSwitch {
            ranges: KVec::new(),
            target: 0,
            remaining: n,
            total: n,
            holders,
        })
    }

    /// From now on new tasks start on `target`, and checks move tasks
    /// there if their stacks hold no return address in `code`. Call once
    /// every site publishes both sides.
    pub(crate) fn aim(&mut self, target: Side, mut code: KVec<Range<usize>>) {
        let len = dispatch::merge_ranges(&mut code);
        code.truncate(len);
        self.ranges = code;
        self.target = target;
        lock_writer().target = target;
    }

    /// What a task must not be in to move, with `code` added (the code of
    /// a site that joins the transition: a function of a module that came
    /// meanwhile), for [`TaskSwitch::set_code`].
    pub(crate) fn with_code(&self, code: &[Range<usize>]) -> Result<KVec<Range<usize>>> {
        let mut all = KVec::with_capacity(self.ranges.len() + code.len(), GFP_KERNEL)?;
        for r in Iterator::chain(self.ranges.iter(), code.iter()) {
            // PANIC: cannot fail, the capacity is reserved.
            let _ = all.push_within_capacity(r.clone());
        }
        let len = dispatch::merge_ranges(&mut all);
        all.truncate(len);
        Ok(all)
    }

    /// Replaces what a task must not be in to move by what
    /// [`TaskSwitch::with_code`] made.
    pub(crate) fn set_code(&mut self, code: KVec<Range<usize>>) {
        self.ranges = code;
    }

    /// The side tasks move to.
    pub(crate) fn target(&self) -> Side {
        self.target
    }

    /// Moves every task that can move; returns whether all are on the
    /// target side. Process context.
    pub(crate) fn check(&mut self) -> bool {
        self.grow();
        let misses = lock_writer().misses;
        let g = rcu::read_lock();
        let Some(table) = TABLE.read(&g) else {
            return false;
        };
        let (target, ranges) = (self.target, &self.ranges[..]);
        let (mut remaining, mut total) = (0, 0);
        self.holders.clear();
        let holders = &mut self.holders;
        let mut visit = |t: &Thread<'_>| {
            total += 1;
            if table.side(t.key()) == target {
                return;
            }
            let key = t.key();
            let mut hit = 0usize;
            let mut decide = |trace: Option<&[usize]>| {
                let Some(trace) = trace else {
                    return false;
                };
                // The whole trace: dormant frames below a kernel thread's
                // moved loop may hold the transition's code too.
                if let Some(&a) = trace.iter().find(|&&a| dispatch::in_sorted(ranges, a)) {
                    hit = a;
                    return false;
                }
                set_side(key, Some(target))
            };
            let moved = match t.decide_pinned(&mut decide) {
                Some(m) => m,
                None => t.decide_on_cpu(&mut decide).unwrap_or(false),
            };
            if !moved {
                remaining += 1;
                if holders.len() < MAX_HOLDERS {
                    // PANIC: cannot fail, the capacity is reserved.
                    let _ = holders.push_within_capacity(Holder {
                        pid: t.pid(),
                        comm: t.comm(),
                        addr: hit,
                    });
                }
            }
        };
        tasks::for_each_thread(&mut visit);
        tasks::for_each_idle_task(&mut visit);
        drop(g);
        self.remaining = remaining;
        self.total = total;
        // A task that could not be added stayed where it was, and the walk
        // may not have met it (a thread added behind it): not done yet.
        let missed = lock_writer().misses != misses;
        remaining == 0 && !missed
    }

    /// Replaces the table with a larger copy once a quarter of it is in
    /// use, so that new tasks practically always find room.
    fn grow(&mut self) {
        let (used, len) = {
            let w = lock_writer();
            (w.used, w.len)
        };
        if used * 4 < len {
            return;
        }
        // On allocation failure tasks may find no room: they stay on side
        // 0 and the check does not conclude while that happens.
        let Ok(bigger) = TaskTable::new(used * 2).and_then(|t| Ok(KBox::new(t, GFP_KERNEL)?))
        else {
            return;
        };
        let len = bigger.slots.len();
        let mut bigger = Some(bigger);
        let stale = (|| {
            let mut w = lock_writer();
            let g = rcu::read_lock();
            let old = TABLE.read(&g)?;
            let mut n = 0;
            if !bigger.as_ref()?.copy_from(old, &mut n) {
                return None;
            }
            drop(g);
            w.used = n;
            w.len = len;
            Some(TABLE.replace(bigger.take()))
        })();
        // Freed without the lock (they may sleep).
        drop(bigger);
        drop(stale);
    }
}

impl Drop for TaskSwitch {
    fn drop(&mut self) {
        let stale = {
            let _w = lock_writer();
            TABLE.replace(None)
        };
        // Waits for the handlers that may read it.
        drop(stale);
    }
}
