// SPDX-License-Identifier: GPL-2.0

//! Kernel threads that never return: moving a thread's main loop to another
//! edition at a safe point.
//!
//! A function marked `kthread_loop` is the main function of kernel threads.
//! Its site lets every call through to the original, so a thread always
//! starts in the original. The safe point is the loop's own call of
//! `kthread_should_stop()`, or of the exit test its patch declared (a
//! `bool` function with the same contract), where the loop holds nothing
//! and its state is consistent. dynamos hooks those functions while loop
//! sites exist; a call made from an edition of a loop that is not the one
//! its site now wants goes to a safe point stub (`raw/helpers.c`) instead,
//! which, in the thread, first asks the real function (a real request to
//! end the loop wins), then:
//!
//! - from the original, when a patch edition is wanted: transfers the
//!   thread's state forward (the patch's `migrate` callback) and runs the
//!   edition on top of the original's frame (`dynamos_call_loop()`); the
//!   original's frame stays dormant below it;
//! - from a patch edition that is no longer wanted: transfers the state
//!   back and answers "end the loop", so the edition returns into
//!   `dynamos_call_loop()`; the original's pending safe point then decides
//!   again: run the edition now wanted, or continue the original's loop.
//!
//! The thread keeps its pid, its name and its `kthread_data()`. At most one
//! edition runs on top of the original, so the stack does not grow with
//! updates.
//!
//! Draining: the frames below `dynamos_call_loop()` are dormant, so stack
//! checks look only above it (`kthread::live_part`); the original's code
//! is never freed while its module is loaded, and its module stops the
//! thread before it goes.

use super::site::{Edition, Site};
use crate::{
    abi,
    raw::{
        ftrace::{Call, Handler, Hook},
        kthread::{self, SafepointCall},
        rcu::RcuBox,
    },
};
use core::ops::Range;
use kernel::{prelude::*, sync::Arc};

/// What the hooks on the safe points read.
struct Moves {
    /// Code of loop editions that threads must leave.
    ranges: KVec<Range<usize>>,
}

/// What every safe point hook's handler sees.
pub(crate) struct SharedMoves {
    moves: RcuBox<Moves>,
}

/// The handler of the hook in one slot.
pub(crate) struct SlotHandler {
    shared: Arc<SharedMoves>,
    stub: usize,
}

impl Handler for SlotHandler {
    #[inline(always)]
    fn on_call(&self, call: &mut Call<'_>) {
        let from = call.parent_ip();
        let m = self.shared.moves.read(call);
        if m.ranges.iter().any(|r| r.contains(&from)) {
            call.redirect(self.stub);
        }
    }
}

/// One hooked safe point function.
struct Slot {
    call: SafepointCall,
    _hook: Pin<KBox<Hook<SlotHandler>>>,
}

/// The hooks on the safe points of kernel threads (`kthread_should_stop()`
/// and the functions patches declared), present while loop sites exist.
pub(crate) struct Safepoints {
    shared: Arc<SharedMoves>,
    slots: [Option<Slot>; kthread::SLOTS],
    /// The last [`refresh`] ran out of memory: the published set is older
    /// than the sites, and the transition work refreshes again.
    stale: bool,
}

impl Safepoints {
    /// No hook yet; moves no thread.
    ///
    /// # Errors
    ///
    /// `ENOMEM`.
    pub(crate) fn new() -> Result<Self> {
        let moves = KBox::new(
            Moves {
                ranges: KVec::new(),
            },
            GFP_KERNEL,
        )?;
        let shared = Arc::new(
            SharedMoves {
                moves: RcuBox::new(moves),
            },
            GFP_KERNEL,
        )?;
        Ok(Safepoints {
            shared,
            slots: [const { None }; kthread::SLOTS],
            stale: false,
        })
    }

    /// Whether the published set lags the sites (a refresh ran out of
    /// memory): [`refresh`] must run again.
    pub(crate) fn stale(&self) -> bool {
        self.stale
    }

    /// The function hooked in `slot`.
    pub(crate) fn hooked(&self, slot: usize) -> Option<SafepointCall> {
        self.slots.get(slot)?.as_ref().map(|s| s.call)
    }

    /// Hooks the safe point function at `addr`, unless it is hooked.
    ///
    /// # Errors
    ///
    /// `ENOSPC` when every slot is taken; those of [`Hook::new`]: `EBUSY`
    /// if another ftrace user that changes the instruction pointer holds
    /// it, `EINVAL` if ftrace cannot trace it; `ENOMEM`.
    fn hook(&mut self, call: SafepointCall) -> Result {
        if self.slots.iter().flatten().any(|s| s.call == call) {
            return Ok(());
        }
        let slot = self.slots.iter().position(|s| s.is_none()).ok_or(ENOSPC)?;
        let handler = SlotHandler {
            shared: self.shared.clone(),
            stub: kthread::stub_addr(slot),
        };
        let hook = Hook::new(call.addr(), handler)?;
        self.slots[slot] = Some(Slot { call, _hook: hook });
        Ok(())
    }
}

/// Hooks the safe points a kernel thread loop edition needs:
/// `kthread_should_stop()` and the one its patch declared (`safepoint`, 0
/// for none).
///
/// # Errors
///
/// As for hooking: `ENOSPC` (too many declared safe points), `EBUSY`,
/// `EINVAL`, `ENOMEM`.
pub(crate) fn hook(
    safepoints: &mut Option<Safepoints>,
    safepoint: Option<SafepointCall>,
) -> Result {
    if safepoints.is_none() {
        *safepoints = Some(Safepoints::new()?);
    }
    let Some(sp) = safepoints.as_mut() else {
        return Err(ENOMEM);
    };
    sp.hook(SafepointCall::should_stop())?;
    if let Some(call) = safepoint {
        sp.hook(call)?;
    }
    Ok(())
}

/// Publishes which loop editions threads must leave, after a change of the
/// sites (`sites`: every site; only kernel thread loops matter), and
/// unhooks the safe points no loop edition uses anymore.
///
/// On allocation failure the old set stays and is marked stale: threads
/// move once a later refresh succeeds (the transition work retries while
/// it waits), and a transition waiting for them reports them meanwhile.
pub(crate) fn refresh<'a>(
    safepoints: &mut Option<Safepoints>,
    sites: impl Iterator<Item = &'a Site> + Clone,
) {
    let loops = sites.filter(|s| s.kthread_loop());
    let mut needed = [0usize; kthread::SLOTS];
    if let Some(sp) = safepoints.as_ref() {
        for (i, s) in sp.slots.iter().enumerate() {
            let Some(s) = s else { continue };
            let used = loops.clone().any(|site| {
                s.call == SafepointCall::should_stop()
                    || site.all_editions().any(|ed| ed.safepoint == Some(s.call))
            });
            if used {
                needed[i] = s.call.addr();
            }
        }
    }
    if needed.iter().all(|&a| a == 0) {
        *safepoints = None;
        return;
    }
    let Some(sp) = safepoints.as_mut() else {
        return;
    };
    for (slot, &n) in sp.slots.iter_mut().zip(needed.iter()) {
        if n == 0 {
            *slot = None;
        }
    }
    let mut ranges = KVec::new();
    for site in loops {
        let wanted = site.default_id();
        for ed in site.all_editions().filter(|ed| ed.id != wanted) {
            for r in ed.ranges.iter() {
                if ranges.push(r.clone(), GFP_KERNEL).is_err() {
                    if !sp.stale {
                        pr_err!("out of memory: kernel threads move later\n");
                    }
                    sp.stale = true;
                    return;
                }
            }
        }
    }
    match KBox::new(Moves { ranges }, GFP_KERNEL) {
        Ok(m) => {
            drop(sp.shared.moves.replace(m));
            sp.stale = false;
        }
        Err(_) => {
            if !sp.stale {
                pr_err!("out of memory: kernel threads move later\n");
            }
            sp.stale = true;
        }
    }
}

/// What a thread at its safe point does next.
pub(crate) enum Action {
    /// Go on in the edition it runs.
    Stay,
    /// Leave this edition (not the original): answer "stop" to it, after
    /// transferring the state back with its patch's callback.
    Unwind(Arc<Edition>),
    /// From the original: run this edition on top.
    Nest(Arc<Edition>),
}

/// Decides for a thread whose loop called `kthread_should_stop()` from
/// `ret`, given every site (only kernel thread loops matter).
pub(crate) fn action<'a>(sites: impl Iterator<Item = &'a Site>, ret: usize) -> Action {
    for site in sites.filter(|s| s.kthread_loop()) {
        let Some(ed) = site.all_editions().find(|ed| ed.contains(ret)) else {
            continue;
        };
        let wanted = site.default_id();
        if ed.id == wanted {
            return Action::Stay;
        }
        if ed.id != 0 {
            return Action::Unwind(ed.clone());
        }
        return match site.edition(wanted) {
            Some(w) => Action::Nest(w.clone()),
            None => Action::Stay,
        };
    }
    Action::Stay
}

/// A kernel thread's loop called the safe point hooked in `slot` from
/// `ret`, and was sent here (see `kthread::dynamos_safepoint_rs`). Returns
/// what that call returns: whether the loop must end.
///
/// `look` takes one look at the registry: the function hooked in the slot
/// and what to do (from [`Safepoints::hooked`] and [`action`]); `None` once
/// the slot is unhooked.
pub(crate) fn at_safepoint(
    args: &kthread::Args,
    look: impl Fn() -> Option<(SafepointCall, Action)>,
) -> bool {
    loop {
        let Some((real, action)) = look() else {
            // Unhooked meanwhile: nothing moves; answer "go on".
            return false;
        };
        // A real request to end the loop wins at every level.
        if kthread::safepoint_answer(real, args) {
            return true;
        }
        match action {
            Action::Stay => return false,
            // `ed` keeps its patch module loaded while its callback or
            // its loop runs.
            Action::Unwind(ed) => {
                if let Some(m) = &ed.migrate {
                    kthread::migrate(args, m, abi::BACKWARD);
                }
                return true;
            }
            Action::Nest(ed) => {
                // Every loop edition has its thread function; without one
                // the thread stays where it is.
                let Some(f) = ed.loop_fn else {
                    return false;
                };
                if let Some(m) = &ed.migrate {
                    kthread::migrate(args, m, abi::FORWARD);
                }
                let _ = kthread::run_loop(args, f);
            }
        }
    }
}
