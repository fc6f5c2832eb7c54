// SPDX-License-Identifier: GPL-2.0

//! Kernel threads that never return: moving a thread's main loop to another
//! edition at a safe point.
//!
//! A function marked `kthread_loop` is the main function of kernel threads.
//! Its site lets every call through to the original, so a thread always
//! starts in the original. The safe point is the loop's own call of
//! `kthread_should_stop()`, where the loop holds nothing and its state is
//! consistent. dynamos hooks `kthread_should_stop()` while loop sites exist;
//! a call made from an edition of a loop that is not the one its site now
//! wants goes to `dynamos_safepoint()` instead, which, in the thread:
//!
//! - from the original, when a patch edition is wanted: transfers the
//!   thread's state forward (the patch's `migrate` callback) and runs the
//!   edition on top of the original's frame (`dynamos_call_loop()`); the
//!   original's frame stays dormant below it;
//! - from a patch edition that is no longer wanted: transfers the state
//!   back and answers "stop", so the edition returns into
//!   `dynamos_call_loop()`; the original's call of `kthread_should_stop()`
//!   then decides again: run the edition now wanted, or continue the
//!   original's loop.
//!
//! The thread keeps its pid, its name and its `kthread_data()`. At most one
//! edition runs on top of the original, so the stack does not grow with
//! updates. A real stop request wins at every step: each level returns.
//!
//! Draining: the frames below `dynamos_call_loop()` are dormant, so stack
//! checks look only above it (`kthread::live_part`); the original's code
//! is never freed while its module is loaded, and its module stops the
//! thread before it goes.

use crate::{
    abi,
    ftrace::{Call, Handler, Hook},
    kthread,
    rcu::RcuBox,
    registry::{self, Core},
    site::Edition,
};
use core::ops::Range;
use kernel::{prelude::*, sync::Arc};

/// What the hook on `kthread_should_stop()` reads.
struct Moves {
    /// Code of loop editions that threads must leave.
    ranges: KVec<Range<usize>>,
}

/// The part of the hook its handler sees.
pub(crate) struct Shared {
    moves: RcuBox<Moves>,
}

impl Handler for Arc<Shared> {
    #[inline(always)]
    fn on_call(&self, call: &mut Call<'_>) {
        let from = call.parent_ip();
        let m = self.moves.read(call);
        if m.ranges.iter().any(|r| r.contains(&from)) {
            call.redirect(kthread::safepoint_addr());
        }
    }
}

/// The hook on `kthread_should_stop()`, present while loop sites exist.
pub(crate) struct Safepoint {
    shared: Arc<Shared>,
    _hook: Pin<KBox<Hook<Arc<Shared>>>>,
}

impl Safepoint {
    /// Hooks `kthread_should_stop()`, moving no thread yet.
    ///
    /// # Errors
    ///
    /// Those of [`Hook::new`]: `EBUSY` if another ftrace user that changes
    /// the instruction pointer holds it; `ENOMEM`.
    pub(crate) fn new() -> Result<Self> {
        let moves = KBox::new(
            Moves {
                ranges: KVec::new(),
            },
            GFP_KERNEL,
        )?;
        let shared = Arc::new(
            Shared {
                moves: RcuBox::new(moves),
            },
            GFP_KERNEL,
        )?;
        let hook = Hook::new(kthread::should_stop_addr(), shared.clone())?;
        Ok(Safepoint {
            shared,
            _hook: hook,
        })
    }
}

/// Publishes which loop editions threads must leave, after a change of the
/// loop sites; unhooks `kthread_should_stop()` when none is left.
///
/// On allocation failure the old set stays: threads move later, at the
/// next change, and a transition waiting for them reports them.
pub(crate) fn refresh(core: &mut Core) {
    if !core.sites.iter().any(|e| e.site.kthread_loop) {
        core.safepoint = None;
        return;
    }
    let Some(sp) = core.safepoint.as_ref() else {
        return;
    };
    let mut ranges = KVec::new();
    for e in core.sites.iter().filter(|e| e.site.kthread_loop) {
        let wanted = e.site.default_id();
        for ed in e.site.all_editions().filter(|ed| ed.id != wanted) {
            for r in ed.ranges.iter() {
                if ranges.push(r.clone(), GFP_KERNEL).is_err() {
                    pr_err!("out of memory: kernel threads move later\n");
                    return;
                }
            }
        }
    }
    match KBox::new(Moves { ranges }, GFP_KERNEL) {
        Ok(m) => drop(sp.shared.moves.replace(m)),
        Err(_) => pr_err!("out of memory: kernel threads move later\n"),
    }
}

/// What a thread at its safe point does next.
enum Action {
    /// Go on in the edition it runs.
    Stay,
    /// Leave this edition (not the original): answer "stop" to it, after
    /// transferring the state back with this callback.
    Unwind(Option<Arc<Edition>>),
    /// From the original: run this edition on top.
    Nest(Arc<Edition>),
}

/// Decides for a thread whose loop called `kthread_should_stop()` from
/// `ret`.
fn action(core: &Core, ret: usize) -> Action {
    for e in core.sites.iter().filter(|e| e.site.kthread_loop) {
        let site = &e.site;
        let Some(ed) = site.all_editions().find(|ed| ed.contains(ret)) else {
            continue;
        };
        let wanted = site.default_id();
        if ed.id == wanted {
            return Action::Stay;
        }
        if ed.id != 0 {
            return Action::Unwind(Some(ed.clone()));
        }
        return match site.edition(wanted) {
            Some(w) => Action::Nest(w.clone()),
            None => Action::Stay,
        };
    }
    Action::Stay
}

/// Called by `dynamos_safepoint()` (`src/helpers.c`) in a kernel thread, in
/// place of its loop's call of `kthread_should_stop()` from `ret`. Returns
/// what that call returns: whether the loop must end.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn dynamos_safepoint_rs(ret: usize) -> bool {
    loop {
        if kthread::should_stop() {
            return true;
        }
        let Ok(action) = registry::with_core(|core, _| Ok(action(core, ret))) else {
            return false;
        };
        match action {
            Action::Stay => return false,
            Action::Unwind(ed) => {
                if let Some(ed) = ed {
                    if let Some(m) = ed.migrate {
                        kthread::migrate(m, abi::BACKWARD, &ed);
                    }
                }
                return true;
            }
            Action::Nest(ed) => {
                if let Some(m) = ed.migrate {
                    kthread::migrate(m, abi::FORWARD, &ed);
                }
                // Holds `ed`, and so its patch module, while it runs.
                let _ = kthread::run_loop(&ed);
            }
        }
    }
}
