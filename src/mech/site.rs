// SPDX-License-Identifier: GPL-2.0

//! Sites and editions: the trampoline at a target's entry and the choice,
//! for every call, of the edition it enters.
//!
//! A site owns an ftrace hook on its target. What the hook's handler needs
//! is one immutable [`Dispatch`] snapshot, published with RCU: the editions,
//! the policy (default edition, per-process editions, adaptation handler)
//! and whether entries are being counted. The handler takes no lock and, in
//! the steady state (no edition being retired), writes only a per-CPU call
//! counter; every policy change publishes a new snapshot.
//!
//! Counting: each patch edition has two entries, the plain one and a
//! wrapper that keeps the number of threads inside it (generated in the
//! patch by `dynamos_patch::patch!`). The original is counted through a
//! patch's `orig_counted` wrapper. The handler sends calls to the counted
//! entries only while the site is counting, which is while some edition of
//! it is being retired; threads that entered before are found on stacks.
//!
//! The decisions (when calls may jump, when they inherit a generation,
//! where old-interface calls go) are made in `logic/dispatch.rs`.

use crate::{
    logic::dispatch::{self, JumpPlan, TopEntries},
    raw::{
        callbacks::{Adapt as AdaptHandler, Migrate},
        direct::{self, Direct, Route},
        ftrace::{Call, Handler},
        kallsyms,
        kthread::LoopFn,
        modules::ModuleRef,
        rcu::{RcuBox, Stale},
        tasks,
    },
};
use core::{
    ops::Range,
    sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, Ordering},
};
use kernel::{cpu::CpuId, prelude::*, str::CString, sync::Arc, task::Pid};

/// Identifies an edition within its site. 0 is the original; patch editions
/// get 1, 2, ... in the order they are added, never reused.
pub(crate) type EditionId = u32;

/// One cache line per CPU, so that counting calls shares no line.
#[repr(align(64))]
struct Slot(AtomicU64);

/// A call counter with one slot per possible CPU.
pub(crate) struct CallCounter {
    slots: KVec<Slot>,
}

impl CallCounter {
    fn new() -> Result<Self> {
        let n = kernel::cpu::nr_cpu_ids() as usize;
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(Slot(AtomicU64::new(0)), GFP_KERNEL)?;
        }
        Ok(CallCounter { slots })
    }

    #[inline(always)]
    fn inc(&self) {
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
    pub(crate) site: usize,
    /// The owning patch, `None` for the original.
    pub(crate) patch: Option<CString>,
    /// Where calls go; 0 for the original (the call is let through).
    entry: usize,
    /// The entry that counts its calls itself (in `fast_calls`), for a
    /// patch edition; 0 for the original.
    fast: usize,
    /// Calls counted by the patch's own entries (`fast`, `counted`).
    fast_calls: Option<&'static AtomicU64>,
    /// The patch's entry that asks its handler itself (0: none).
    adaptive: usize,
    /// Calls sent here by patches' adaptive entries (the original only).
    own_calls: AtomicU64,
    /// The counted entry (0 for the original: see [`Dispatch`]).
    counted: usize,
    /// Threads inside through the counted entry (patch editions).
    inside: Option<&'static AtomicIsize>,
    /// Code that a thread inside this edition may be running: for stack
    /// checks.
    pub(crate) ranges: KVec<Range<usize>>,
    /// Calls that entered this edition through the handler (the patch's
    /// entries count the others: see [`Edition::calls`]).
    counter: CallCounter,
    /// The patch's adaptation handler for this target.
    adapt: Option<AdaptHandler>,
    /// Within a subsystem, the generation this edition belongs to: its
    /// position on the stack (0 for the original).
    pub(crate) gen: u32,
    /// Code of the patch whose calls to the original are let through: its
    /// `prev()` and `orig_counted` functions.
    bypass: [Range<usize>; 2],
    /// The patch's kernel-thread state transfer.
    pub(crate) migrate: Option<Migrate>,
    /// For a kthread loop edition: its entry as a thread function.
    pub(crate) loop_fn: Option<LoopFn>,
    /// For a kthread loop: the function its safe point calls, besides
    /// `kthread_should_stop()` (0: none).
    pub(crate) safepoint: usize,
    /// For an edition with a new interface: the code whose calls use it
    /// (the patch module's text), and the adaptor (0: none) that old-
    /// interface calls enter instead.
    iface: Option<(Range<usize>, usize)>,
    /// Keeps the patch module loaded while this edition may run.
    _module: Option<ModuleRef>,
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
    /// For a kthread loop: the declared safe point (0: the default).
    pub(crate) safepoint: usize,
    /// The edition has a new interface (`abi::FUNC_NEW_INTERFACE`).
    pub(crate) new_iface: bool,
    /// Its adaptor for old-interface calls (0: none).
    pub(crate) adaptor: usize,
}

/// Code of a subsystem's member editions, each range with its generation.
pub(crate) type InheritTable = KVec<(Range<usize>, u32)>;

impl Edition {
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

/// Where an adaptation handler's choices lead, as indexes in
/// [`Dispatch::editions`].
struct Adapt {
    handler: AdaptHandler,
    this: usize,
    replaced: usize,
}

/// Where the calls to a target whose interface a patch changed go, as
/// indexes in [`Dispatch::editions`]. Only the patch's own code calls with
/// the new interface; every other call has the old one.
struct Iface {
    /// The patch module's text: calls from it use the new interface.
    native: Range<usize>,
    /// The edition with the new interface.
    edition: usize,
    /// Its adaptor, which old-interface calls enter instead; 0 when it has
    /// none or is off the stack (draining).
    adaptor: usize,
    /// Without an adaptor: where old-interface calls that would have
    /// entered the edition go (the edition below it).
    replaced: usize,
}

/// The snapshot a site's handler works from.
pub(crate) struct Dispatch {
    /// `[original, stack bottom .. stack top]`.
    editions: KVec<Arc<Edition>>,
    /// Index of the default edition.
    default: usize,
    /// Per-process editions, as indexes.
    pids: KVec<(Pid, usize)>,
    /// The top edition's adaptation handler.
    adapt: Option<Adapt>,
    /// Whether calls go to the counted entries.
    counting: bool,
    /// Counted entry of the original (0: none, let through uncounted).
    orig_counted: usize,
    /// Calls from this code are let through to the original: the `prev()`
    /// and `orig_counted` functions of the site's patches. Sorted and
    /// disjoint, for a binary search: the cost per call stays flat in the
    /// number of editions.
    bypass: KVec<Range<usize>>,
    /// Within a subsystem, while more than one generation may run: code of
    /// every member edition, with the index of this site's edition of the
    /// same generation. A call from that code (directly, or further up the
    /// stack) enters that edition. Empty otherwise.
    inherit: KVec<(Range<usize>, usize)>,
    /// A kernel thread loop: every call enters the original (threads move
    /// at their safe point, see `safepoint.rs`).
    passthrough: bool,
    /// A new interface on this target.
    iface: Option<Iface>,
}

impl Dispatch {
    #[inline(always)]
    fn choose(&self, call: &Call<'_>) -> usize {
        if !self.pids.is_empty() {
            let tgid = tasks::current_tgid();
            if let Some(&(_, idx)) = self.pids.iter().find(|(p, _)| *p == tgid) {
                return idx;
            }
        }
        if let Some(a) = &self.adapt {
            // The handler's patch module is kept loaded by its edition
            // (`Edition::_module`), which this snapshot holds.
            let choice = a.handler.choose(&call.args());
            return match choice {
                crate::abi::choice::ORIGINAL => 0,
                crate::abi::choice::THIS => a.this,
                crate::abi::choice::REPLACED => a.replaced,
                _ => self.default,
            };
        }
        self.default
    }

    /// Whether a call from `from` is let through to the original.
    #[inline(always)]
    fn bypassed(&self, from: usize) -> bool {
        dispatch::in_sorted(&self.bypass, from)
    }

    /// The edition a call from `from` inherits, if it comes from a member
    /// edition of the subsystem, directly or further up the stack.
    #[inline(always)]
    fn inherited(&self, from: usize) -> Option<usize> {
        let find = |a: usize| {
            self.inherit
                .iter()
                .find(|(r, _)| r.contains(&a))
                .map(|&(_, i)| i)
        };
        if let Some(i) = find(from) {
            return Some(i);
        }
        let mut trace = [0usize; INHERIT_DEPTH];
        let n = tasks::current_stack(&mut trace);
        // The trace starts in this handler and goes through the hooked
        // function's own `__fentry__` call, whose return address lies in
        // the original: not a caller. Callers are further up.
        let me = self.editions.first().map_or(0, |e| e.site);
        let fentry = fentry_returns(me);
        let mut callers = trace[..n].iter().skip_while(|&a| !fentry.contains(a));
        callers.next()?;
        callers.find_map(|&a| find(a))
    }
}

/// Stack depth searched for the caller's generation.
const INHERIT_DEPTH: usize = 24;

/// Where the return address of a hooked function's `__fentry__` call may
/// be: the call (5 bytes) is the first instruction, or follows `endbr64`
/// (4 bytes) with IBT. A call inside the function body cannot return there.
pub(crate) fn fentry_returns(addr: usize) -> [usize; 2] {
    [addr + 5, addr + 9]
}

/// A snapshot ready to be installed, and where the site's calls go with it.
pub(crate) struct Prepared(KBox<Dispatch>, Route, Option<JumpTo>);

/// What a jump goes to: an edition, and whether through its adaptive entry
/// (which may send calls elsewhere) or one of its plain ones (fast or
/// counted, which only differ in what they count).
type JumpTo = (EditionId, bool);

/// The part of a site that its ftrace handler sees.
pub(crate) struct Shared {
    dispatch: RcuBox<Dispatch>,
}

impl Handler for Shared {
    #[inline(always)]
    fn on_call(&self, call: &mut Call<'_>) {
        self.handle(call);
    }
}

impl Shared {
    /// Decides where `call` goes.
    #[inline(always)]
    fn handle(&self, call: &mut Call<'_>) {
        let d = self.dispatch.read(call);
        if d.passthrough {
            if let Some(ed) = d.editions.first() {
                ed.counter.inc();
            }
            return;
        }
        let from = call.parent_ip();
        if d.bypassed(from) {
            return;
        }
        let native = d.iface.as_ref().is_some_and(|f| f.native.contains(&from));
        let idx = match &d.iface {
            // A call with the new interface: its edition, whatever the
            // policies say (no other edition could take its arguments).
            Some(f) if native => f.edition,
            // An old-interface call, with an adaptor: translated, from
            // every caller, old generations included.
            Some(f) if f.adaptor != 0 => {
                let i = d.choose(call);
                if i == f.edition {
                    if let Some(ed) = d.editions.get(i) {
                        ed.counter.inc();
                    }
                    call.redirect(f.adaptor);
                    return;
                }
                i
            }
            _ => {
                let i = if d.inherit.is_empty() {
                    d.choose(call)
                } else {
                    d.inherited(from).unwrap_or_else(|| d.choose(call))
                };
                // An old-interface call never enters the new interface.
                match &d.iface {
                    Some(f) if f.edition == i => f.replaced,
                    _ => i,
                }
            }
        };
        let Some(ed) = d.editions.get(idx) else {
            return;
        };
        // The patch's `fast` and `counted` entries count their calls
        // themselves; the original and the plain entries are counted here.
        let target = match (d.counting, idx) {
            (true, 0) => {
                ed.counter.inc();
                d.orig_counted
            }
            (true, _) => ed.counted,
            (false, 0) => {
                ed.counter.inc();
                0
            }
            (false, _) if ed.fast != 0 && !native => ed.fast,
            (false, _) => {
                ed.counter.inc();
                ed.entry
            }
        };
        if target != 0 {
            call.redirect(target);
        }
    }
}

/// A patch edition on a site's stack, with what the site needs of its
/// patch.
#[derive(Clone)]
pub(crate) struct Layer {
    /// The edition.
    pub(crate) edition: Arc<Edition>,
    orig_counted: usize,
    orig_inside: &'static AtomicIsize,
    prev: &'static core::sync::atomic::AtomicUsize,
    replaced: &'static core::sync::atomic::AtomicUsize,
    original: &'static core::sync::atomic::AtomicUsize,
    orig_calls: &'static AtomicPtr<AtomicU64>,
}

impl Layer {
    /// Threads inside the original through this patch's counted wrapper.
    pub(crate) fn orig_inside(&self) -> &'static AtomicIsize {
        self.orig_inside
    }
}

/// The trampoline at one target and its editions.
pub(crate) struct Site {
    /// Display name: `[module:]symbol[,sympos]`.
    pub(crate) name: CString,
    /// The module holding the target, `None` for vmlinux. A copy: the
    /// site may outlive the patch that named it.
    pub(crate) object: Option<CString>,
    /// Address of the target.
    pub(crate) addr: usize,
    /// Edition 0.
    pub(crate) original: Arc<Edition>,
    /// Patch editions, bottom to top.
    pub(crate) stack: KVec<Layer>,
    /// The default edition chosen by the admin; `None` follows the top.
    pub(crate) default: Option<EditionId>,
    /// Per-process editions.
    pub(crate) pids: KVec<(Pid, EditionId)>,
    /// Whether entries are counted (an edition is being retired).
    pub(crate) counting: bool,
    /// The subsystem the site's function belongs to, set by its first
    /// patch; only patches of that subsystem may stack on it.
    pub(crate) subsystem: Option<CString>,
    /// The main function of kernel threads (see `safepoint.rs`).
    pub(crate) kthread_loop: bool,
    /// Editions taken off the stack that may still run (a transition or a
    /// forced one drains them). Calls that inherit their generation still
    /// reach them, and their `prev()` still gets through.
    pub(crate) draining: KVec<Arc<Edition>>,
    /// For a subsystem member: the code of every member edition with its
    /// generation, shared by the members (see [`Dispatch`]).
    pub(crate) inherit: Option<Arc<InheritTable>>,
    next_id: EditionId,
    /// What calls jump to in [`Route::Jump`] mode.
    jump_edition: Option<JumpTo>,
    /// Where calls should jump, left for later ([`Site::promote`]): making
    /// a jump costs a text patch, which the switches do not wait for.
    pending: Option<(Route, Option<JumpTo>)>,
    // Dropped before `shared`: the hook is unregistered, which waits for
    // the CPUs in its trampoline, and the trampoline forgets the site.
    direct: Direct<Shared>,
    shared: Arc<Shared>,
}

impl Site {
    /// Hooks the target at `addr` with no patch edition yet: calls run the
    /// original, as before.
    ///
    /// # Errors
    ///
    /// Those of [`Direct::new`]: `EINVAL` if not traceable, `EBUSY` if taken
    /// by another `IPMODIFY` or direct user; `ENOSPC` if dynamos hooks too
    /// many functions; `ENOMEM`.
    pub(crate) fn new(
        name: CString,
        object: Option<&'static kernel::str::CStr>,
        addr: usize,
        size: usize,
        kthread_loop: bool,
    ) -> Result<Self> {
        let mut ranges = KVec::new();
        ranges.push(addr..addr + size, GFP_KERNEL)?;
        let original = Arc::new(
            Edition {
                id: 0,
                site: addr,
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
                safepoint: 0,
                iface: None,
                _module: None,
            },
            GFP_KERNEL,
        )?;
        let mut editions = KVec::new();
        editions.push(original.clone(), GFP_KERNEL)?;
        let dispatch = KBox::new(
            Dispatch {
                editions,
                default: 0,
                pids: KVec::new(),
                adapt: None,
                counting: false,
                orig_counted: 0,
                bypass: KVec::new(),
                inherit: KVec::new(),
                passthrough: kthread_loop,
                iface: None,
            },
            GFP_KERNEL,
        )?;
        let shared = Arc::new(
            Shared {
                dispatch: RcuBox::new(dispatch),
            },
            GFP_KERNEL,
        )?;
        let direct = Direct::new(addr, Route::Tramp, shared.clone())?;
        let object = match object {
            Some(o) => Some(CString::try_from(o)?),
            None => None,
        };
        Ok(Site {
            name,
            object,
            addr,
            original,
            stack: KVec::new(),
            default: None,
            pids: KVec::new(),
            counting: false,
            subsystem: None,
            kthread_loop,
            draining: KVec::new(),
            inherit: None,
            next_id: 1,
            jump_edition: None,
            pending: None,
            direct,
            shared,
        })
    }

    /// Makes a new edition for `spec`, not yet on the stack.
    pub(crate) fn new_edition(
        &mut self,
        patch_name: &kernel::str::CStr,
        spec: &EditionSpec,
        module: ModuleRef,
        text: Range<usize>,
    ) -> Result<Layer> {
        // An entry whose extent kallsyms does not know is taken to span the
        // rest of the patch module's text: conservative.
        let extent =
            |a: usize| a..a + kallsyms::function_size(a).unwrap_or(text.end.saturating_sub(a));
        let mut ranges = KVec::new();
        ranges.push(extent(spec.entry), GFP_KERNEL)?;
        ranges.push(extent(spec.counted), GFP_KERNEL)?;
        if spec.fast != 0 {
            ranges.push(extent(spec.fast), GFP_KERNEL)?;
        }
        if spec.adaptive != 0 {
            ranges.push(extent(spec.adaptive), GFP_KERNEL)?;
        }
        if spec.adaptor != 0 {
            ranges.push(extent(spec.adaptor), GFP_KERNEL)?;
        }
        let gen = u32::try_from(self.stack.len() + 1).map_err(|_| EINVAL)?;
        let edition = Arc::new(
            Edition {
                id: self.next_id,
                site: self.addr,
                patch: Some(CString::try_from(patch_name)?),
                entry: spec.entry,
                fast: spec.fast,
                fast_calls: Some(spec.calls),
                adaptive: spec.adaptive,
                own_calls: AtomicU64::new(0),
                counted: spec.counted,
                inside: Some(spec.inside),
                ranges,
                counter: CallCounter::new()?,
                adapt: spec.adapt,
                gen,
                bypass: [extent(spec.prev_fn), extent(spec.orig_counted)],
                migrate: spec.migrate,
                loop_fn: spec.loop_fn,
                safepoint: spec.safepoint,
                iface: spec.new_iface.then(|| (text.clone(), spec.adaptor)),
                _module: Some(module),
            },
            GFP_KERNEL,
        )?;
        self.next_id += 1;
        spec.orig.store(self.addr, Ordering::Release);
        Ok(Layer {
            edition,
            orig_counted: spec.orig_counted,
            orig_inside: spec.orig_inside,
            prev: spec.prev,
            replaced: spec.replaced,
            original: spec.original,
            orig_calls: spec.orig_calls,
        })
    }

    /// The edition with this id, if it is on the site (original or stack).
    pub(crate) fn edition(&self, id: EditionId) -> Option<&Arc<Edition>> {
        if id == 0 {
            return Some(&self.original);
        }
        self.stack.iter().map(|l| &l.edition).find(|e| e.id == id)
    }

    /// The edition with this id, on the site or draining.
    pub(crate) fn edition_any(&self, id: EditionId) -> Option<&Edition> {
        self.edition(id)
            .or_else(|| self.draining.iter().find(|e| e.id == id))
            .map(|e| &**e)
    }

    /// Every edition: original, stack, draining.
    pub(crate) fn all_editions(&self) -> impl Iterator<Item = &Arc<Edition>> {
        let stack = self.stack.iter().map(|l| &l.edition);
        Iterator::chain(
            Iterator::chain(core::iter::once(&self.original), stack),
            self.draining.iter(),
        )
    }

    /// The patch whose adaptation handler is in force, if any.
    pub(crate) fn adapt_patch(&self) -> Option<&CString> {
        self.stack
            .last()
            .filter(|l| l.edition.adapt.is_some())
            .and_then(|l| l.edition.patch.as_ref())
    }

    /// The edition new calls enter by default.
    pub(crate) fn default_id(&self) -> EditionId {
        match self.default {
            Some(id) if self.edition(id).is_some() => id,
            _ => self.stack.last().map_or(0, |l| l.edition.id),
        }
    }

    /// Threads counted inside the original through the patches' wrappers.
    pub(crate) fn orig_counted_inside(&self) -> isize {
        self.stack
            .iter()
            .map(|l| l.orig_inside.load(Ordering::Acquire))
            .sum()
    }

    /// Builds the snapshot of the current state, for [`Site::install`].
    /// Allocation is the only way to fail; nothing is published yet.
    pub(crate) fn prepare(&mut self) -> Result<Prepared> {
        let n = self.stack.len() + self.draining.len() + 1;
        let mut editions = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut bypass = KVec::with_capacity(2 * n, GFP_KERNEL)?;
        for e in self.all_editions() {
            if editions.iter().any(|x: &Arc<Edition>| Arc::ptr_eq(x, e)) {
                continue;
            }
            editions.push(e.clone(), GFP_KERNEL)?;
            for r in e.bypass.iter() {
                if !r.is_empty() && !bypass.contains(r) {
                    bypass.push(r.clone(), GFP_KERNEL)?;
                }
            }
        }
        // Sorted and merged: `Dispatch::bypassed` searches them.
        let n = dispatch::merge_ranges(&mut bypass);
        bypass.truncate(n);
        // Stack editions come right after the original, in order; draining
        // ones after them can only be entered by inheritance.
        let live = self.stack.len() + 1;
        let index = |id: EditionId| editions[..live].iter().position(|e| e.id == id);
        let default = index(self.default_id()).unwrap_or(0);
        let mut pids = KVec::with_capacity(self.pids.len(), GFP_KERNEL)?;
        for &(pid, id) in self.pids.iter() {
            if let Some(i) = index(id) {
                pids.push((pid, i), GFP_KERNEL)?;
            }
        }
        let top = live - 1;
        let adapt = self.stack.last().and_then(|l| {
            l.edition.adapt.map(|handler| Adapt {
                handler,
                this: top,
                replaced: top - 1,
            })
        });
        let orig_counted = self.stack.last().map_or(0, |l| l.orig_counted);
        let mut inherit = KVec::new();
        let several = dispatch::several_generations(
            self.counting,
            !self.pids.is_empty(),
            self.default.is_some(),
            adapt.is_some(),
            !self.draining.is_empty(),
        );
        if let (Some(table), true) = (&self.inherit, several) {
            inherit.reserve(table.len(), GFP_KERNEL)?;
            for (r, gen) in table.iter() {
                if let Some(i) = editions.iter().position(|e| e.gen == *gen) {
                    inherit.push((r.clone(), i), GFP_KERNEL)?;
                }
            }
        }
        let iface = editions
            .iter()
            .position(|e| e.iface.is_some())
            .and_then(|i| {
                let (native, adaptor) = editions[i].iface.clone()?;
                let (adaptor, replaced) = dispatch::iface_routes(i, live, adaptor, default);
                Some(Iface {
                    native,
                    edition: i,
                    adaptor,
                    replaced,
                })
            });
        // Every call goes to the same entry: the top edition's, counting
        // or not, or its adaptive entry. Then the site jumps there, and
        // the handler is not asked.
        let plan = JumpPlan {
            allowed: direct::jumps_allowed(),
            kthread_loop: self.kthread_loop,
            pids: !pids.is_empty(),
            inherit: !inherit.is_empty(),
            iface: iface.is_some(),
            top,
            default,
            adapt: adapt.is_some(),
            counting: self.counting,
        };
        let jump = editions.get(top).and_then(|e| {
            let entries = TopEntries {
                fast: e.fast,
                counted: e.counted,
                adaptive: e.adaptive,
            };
            dispatch::jump_entry(&plan, &entries).map(|(a, adaptive)| (a, (e.id, adaptive)))
        });
        let (target, jump_edition) = match jump {
            Some((a, id)) => (Route::Jump(a), Some(id)),
            None => (Route::Tramp, None),
        };
        let dispatch = KBox::new(
            Dispatch {
                editions,
                default,
                pids,
                adapt,
                counting: self.counting,
                orig_counted,
                bypass,
                inherit,
                passthrough: self.kthread_loop,
                iface,
            },
            GFP_KERNEL,
        )?;
        // A jump elsewhere than to the same edition is left for the
        // handler now, which can fail: installing cannot.
        if let Route::Jump(_) = self.direct.route() {
            if self.jump_edition != jump_edition {
                self.direct.retarget(Route::Tramp)?;
                self.jump_edition = None;
            }
        }
        Ok(Prepared(dispatch, target, jump_edition))
    }

    /// Publishes a snapshot made by [`Site::prepare`] from the current
    /// state. The old snapshot is returned, to be freed with
    /// [`free_stale`] (or dropped, which waits for a grace period).
    ///
    /// First points each layer's `prev` at the edition below it, so that an
    /// edition entered through the new snapshot finds it set.
    pub(crate) fn install(&mut self, prepared: Prepared) -> Stale<Dispatch> {
        self.link_layers();
        let Prepared(dispatch, target, jump_to) = prepared;
        let stale = self.shared.dispatch.replace(dispatch);
        // Leaving a jump, or changing what it goes to, was done by
        // `prepare()`: calls now jump to the same edition, or go through
        // the handler, which follows the snapshot just published. Moving
        // to the new jump costs a text patch: it is left for `promote()`.
        self.pending = (self.direct.route() != target).then_some((target, jump_to));
        stale
    }

    /// Tells each layer where the edition below it is: `prev()` goes to its
    /// plain entry, an adaptive entry to its counting one. The original is
    /// entered at its body, past its hook, where sites may jump; where IBT
    /// forbids that landing, at its entry, where the handler lets calls
    /// from `prev()` through.
    fn link_layers(&self) {
        let orig_calls = core::ptr::from_ref(&self.original.own_calls).cast_mut();
        let orig = if direct::jumps_allowed() {
            self.direct.body()
        } else {
            self.addr
        };
        let entries = self.stack.iter().map(|l| (l.edition.entry, l.edition.fast));
        dispatch::links(orig, entries, |i, prev, replaced| {
            if let Some(l) = self.stack.get(i) {
                l.original.store(orig, Ordering::Release);
                l.orig_calls.store(orig_calls, Ordering::Release);
                l.replaced.store(replaced, Ordering::Release);
                l.prev.store(prev, Ordering::Release);
            }
        });
    }

    /// Whether a jump is pending.
    pub(crate) fn promotable(&self) -> bool {
        self.pending.is_some()
    }

    /// Makes a pending jump. Process context; a text patch.
    pub(crate) fn promote(&mut self) {
        if let Some((t, jump_to)) = self.pending.take() {
            // On failure calls keep going where they go, which is right.
            if self.direct.retarget(t).is_ok() {
                self.jump_edition = jump_to;
            }
        }
    }

    /// [`Site::prepare`] then [`Site::install`].
    pub(crate) fn publish(&mut self) -> Result<Stale<Dispatch>> {
        let p = self.prepare()?;
        Ok(self.install(p))
    }

    /// How calls reach their edition now: `"jump"` (straight to it),
    /// `"jump counted"` (to its counted entry, during a transition or
    /// until the move to the plain one), or `"handler"`.
    pub(crate) fn mode(&self) -> &'static str {
        let jump = match self.direct.route() {
            Route::Jump(a) => Some(a),
            Route::Tramp => None,
        };
        let is = |f: fn(&Edition) -> usize| {
            jump.is_some_and(|a| self.stack.iter().any(|l| f(&l.edition) == a))
        };
        dispatch::call_mode(jump, is(|e| e.counted), is(|e| e.adaptive)).name()
    }
}

/// Frees snapshots after one grace period for all of them.
pub(crate) fn free_stale(stale: KVec<Stale<Dispatch>>) {
    Stale::free_all(stale);
}
