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
//! The handler sends calls to the counted entries of editions
//! (`edition.rs`) only while the site is counting, which is while some
//! edition of it is being retired; threads that entered before are found
//! on stacks (`drain.rs`).
//!
//! The decisions (when calls may jump, when they inherit a generation,
//! where old-interface calls go) are made in `logic/dispatch.rs`.

use super::edition::CallCounter;
pub(crate) use super::edition::{Edition, EditionId, EditionSpec, InheritTable, Layer};
use super::switch::{self, Side};
use crate::{
    logic::dispatch::{self, JumpPlan, TopEntries},
    raw::{
        callbacks::AdaptHandler,
        direct::{self, Direct, Route},
        ftrace::{Call, Handler},
        kallsyms,
        modules::ModuleRef,
        rcu::{RcuBox, Stale},
        tasks::{self, Process},
    },
};
use core::{
    ops::Range,
    sync::atomic::{AtomicU64, Ordering},
};
use kernel::{prelude::*, str::CString, sync::Arc};
/// Where an adaptation handler's choices lead, as indexes in
/// [`Dispatch::editions`].
struct AdaptRoutes {
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
    /// Per-process editions, as indexes. The snapshot holds the processes'
    /// references: a `struct pid` it compares with is not freed and reused
    /// while a call may read it.
    pids: KVec<(Process, usize)>,
    /// The top edition's adaptation handler.
    adapt: Option<AdaptRoutes>,
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
    /// During a consistent transition: the snapshot of the other side, and
    /// which side it is. Tasks on that side follow it; the others this.
    other: Option<(Arc<Dispatch>, Side)>,
}

impl Dispatch {
    #[inline(always)]
    fn choose(&self, call: &Call<'_>) -> usize {
        if !self.pids.is_empty() {
            let me = tasks::current_process();
            if let Some(&(_, idx)) = self.pids.iter().find(|(p, _)| p.id() == me) {
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
        let me = self.editions.first().map_or(0, |e| e.site_addr);
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

/// A snapshot, and where every call may jump with it (see `Site::build`).
type Built = (KBox<Dispatch>, Option<(usize, JumpTo)>);

/// A snapshot ready to be installed, and where the site's calls go with it.
pub(crate) struct Prepared(KBox<Dispatch>, Route, Option<JumpTo>);

/// What a jump goes to: an edition, and whether through its adaptive entry
/// (which may send calls elsewhere) or one of its plain ones (fast or
/// counted, which only differ in what they count).
type JumpTo = (EditionId, bool);

/// The part of a site that its ftrace handler sees.
pub(crate) struct SiteHandler {
    dispatch: RcuBox<Dispatch>,
}

impl Handler for SiteHandler {
    #[inline(always)]
    fn on_call(&self, call: &mut Call<'_>) {
        self.handle(call);
    }
}

impl SiteHandler {
    /// Decides where `call` goes.
    #[inline(always)]
    fn handle(&self, call: &mut Call<'_>) {
        let d = self.dispatch.read(call);
        // A task runs its side's snapshot for the whole transition.
        let d = match &d.other {
            Some((o, side)) if switch::current_side(call) == *side => &**o,
            _ => d,
        };
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

/// The trampoline at one target and its editions.
pub(crate) struct Site {
    /// Display name: `[module:]symbol[,sympos]`.
    name: CString,
    /// The module holding the target, `None` for vmlinux. A copy: the
    /// site may outlive the patch that named it.
    object: Option<CString>,
    /// Address of the target.
    addr: usize,
    /// Edition 0.
    original: Arc<Edition>,
    /// Patch editions, bottom to top.
    stack: KVec<Layer>,
    /// The default edition chosen by the admin; `None` follows the top.
    default: Option<EditionId>,
    /// Per-process editions. A process is held by its `struct pid`, so a
    /// later process with the same id does not inherit its edition; those
    /// that exited are dropped at the next change of the table, and not
    /// shown meanwhile.
    pids: KVec<(Process, EditionId)>,
    /// Whether entries are counted (an edition is being retired).
    counting: bool,
    /// The subsystem the site's function belongs to, set by its first
    /// patch; only patches of that subsystem may stack on it.
    subsystem: Option<CString>,
    /// The main function of kernel threads (see `safepoint.rs`).
    kthread_loop: bool,
    /// Editions taken off the stack that may still run (a transition or a
    /// forced one drains them). Calls that inherit their generation still
    /// reach them, and their `prev()` still gets through.
    draining: KVec<Arc<Edition>>,
    /// For a subsystem member: the code of every member edition with its
    /// generation, shared by the members (see [`Dispatch`]).
    inherit: Option<Arc<InheritTable>>,
    next_id: EditionId,
    /// During a consistent transition: the snapshot of the state before
    /// the change being made, for the tasks on the given side (see
    /// `switch.rs`).
    sides: Sides,
    /// What calls jump to in [`Route::Jump`] mode.
    jump_edition: Option<JumpTo>,
    /// Where calls should jump, left for later ([`Site::promote`]): making
    /// a jump costs a text patch, which the switches do not wait for.
    pending: Option<(Route, Option<JumpTo>)>,
    // Dropped before `shared`: the hook is unregistered, which waits for
    // the CPUs in its trampoline, and the trampoline forgets the site.
    direct: Direct<SiteHandler>,
    shared: Arc<SiteHandler>,
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
        subsystem: Option<&'static kernel::str::CStr>,
        addr: usize,
        size: usize,
        kthread_loop: bool,
    ) -> Result<Self> {
        // Copies first: once hooked, only the hook may fail.
        let copy = |n: Option<&kernel::str::CStr>| n.map(CString::try_from).transpose();
        let (object, subsystem) = (copy(object)?, copy(subsystem)?);
        let original = Arc::new(Edition::original(addr, size)?, GFP_KERNEL)?;
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
                other: None,
            },
            GFP_KERNEL,
        )?;
        let shared = Arc::new(
            SiteHandler {
                dispatch: RcuBox::new(dispatch),
            },
            GFP_KERNEL,
        )?;
        let direct = Direct::new(addr, Route::Tramp, shared.clone())?;
        Ok(Site {
            name,
            object,
            addr,
            original,
            stack: KVec::new(),
            default: None,
            pids: KVec::new(),
            counting: false,
            subsystem,
            kthread_loop,
            draining: KVec::new(),
            inherit: None,
            next_id: 1,
            sides: None,
            jump_edition: None,
            pending: None,
            direct,
            shared,
        })
    }

    /// Address of the target.
    pub(crate) fn addr(&self) -> usize {
        self.addr
    }

    /// Display name: `[module:]symbol[,sympos]`.
    pub(crate) fn name(&self) -> &kernel::str::CStr {
        &self.name
    }

    /// The module holding the target, `None` for vmlinux.
    pub(crate) fn object(&self) -> Option<&kernel::str::CStr> {
        self.object.as_deref()
    }

    /// The subsystem the target belongs to, if any.
    pub(crate) fn subsystem(&self) -> Option<&kernel::str::CStr> {
        self.subsystem.as_deref()
    }

    /// Whether the target is the main function of kernel threads.
    pub(crate) fn kthread_loop(&self) -> bool {
        self.kthread_loop
    }

    /// The patch editions, bottom to top.
    pub(crate) fn stack(&self) -> &[Layer] {
        &self.stack
    }

    /// The per-process editions of processes that have not exited.
    pub(crate) fn pids(&self) -> impl Iterator<Item = &(Process, EditionId)> {
        self.pids.iter().filter(|(p, _)| p.alive())
    }

    /// Whether entries are counted.
    pub(crate) fn counting(&self) -> bool {
        self.counting
    }

    /// Whether no patch edition is on the site or draining: it can go.
    pub(crate) fn unused(&self) -> bool {
        self.stack.is_empty() && self.draining.is_empty()
    }

    /// Makes room for one more layer, so that [`Site::push_layer`] cannot
    /// fail.
    pub(crate) fn reserve_layer(&mut self) -> Result {
        Ok(self.stack.reserve(1, GFP_KERNEL)?)
    }

    /// Puts `layer` on top: new calls follow it (the admin's default is
    /// dropped). Takes effect at the next snapshot.
    pub(crate) fn push_layer(&mut self, layer: Layer) -> Result {
        self.stack.push(layer, GFP_KERNEL)?;
        self.default = None;
        Ok(())
    }

    /// Takes the layer of edition `id` off the stack, with the policies
    /// that name it. Takes effect at the next snapshot.
    pub(crate) fn pop_layer(&mut self, id: EditionId) {
        if let Some(pos) = self.stack.iter().position(|x| x.edition.id == id) {
            let _ = self.stack.remove(pos);
        }
        self.pids.retain(|p| p.1 != id);
        if self.default == Some(id) {
            self.default = None;
        }
    }

    /// Takes the top layer off, with nothing else (undoes a
    /// [`Site::push_layer`] that was not published).
    pub(crate) fn pop_top(&mut self) {
        let _ = self.stack.pop();
    }

    /// Takes every layer off, and the policies (a cumulative patch
    /// replaces them all); counts from now on.
    pub(crate) fn clear(&mut self) {
        self.stack.clear();
        self.default = None;
        self.pids.clear();
        self.counting = true;
    }

    /// A copy of the stack.
    pub(crate) fn copy_stack(&self) -> Result<KVec<Layer>> {
        let mut out = KVec::with_capacity(self.stack.len(), GFP_KERNEL)?;
        for l in self.stack.iter() {
            out.push(l.clone(), GFP_KERNEL)?;
        }
        Ok(out)
    }

    /// Puts back a stack saved with [`Site::copy_stack`].
    pub(crate) fn set_stack(&mut self, stack: KVec<Layer>) {
        self.stack = stack;
    }

    /// Counts entries (while an edition is being retired) or not. Takes
    /// effect at the next snapshot.
    pub(crate) fn set_counting(&mut self, counting: bool) {
        self.counting = counting;
    }

    /// The policies in force, to put back with [`Site::restore_policy`].
    pub(crate) fn save_policy(&self) -> Result<Policy> {
        Ok(Policy {
            default: self.default,
            pids: copy_pids(&self.pids)?,
            counting: self.counting,
        })
    }

    /// Puts back policies saved with [`Site::save_policy`]. Takes effect
    /// at the next snapshot.
    pub(crate) fn restore_policy(&mut self, p: Policy) {
        self.default = p.default;
        self.pids = p.pids;
        self.counting = p.counting;
    }

    /// Makes edition `id` the one new calls enter, and publishes it.
    ///
    /// # Errors
    ///
    /// `ENOENT` if no such edition is on the site; `ENOMEM`, with nothing
    /// changed.
    pub(crate) fn set_default(&mut self, id: EditionId) -> Result {
        if self.edition(id).is_none() {
            return Err(ENOENT);
        }
        let old = self.default.replace(id);
        self.publish_or(|s| s.default = old)
    }

    /// Replaces the per-process editions, and publishes them.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, with nothing changed.
    pub(crate) fn set_pids(&mut self, pids: KVec<(Process, EditionId)>) -> Result {
        let old = core::mem::replace(&mut self.pids, pids);
        self.publish_or(|s| s.pids = old)
    }

    /// Publishes the state; on failure runs `undo` (which puts the state
    /// back) and returns the error.
    fn publish_or(&mut self, undo: impl FnOnce(&mut Self)) -> Result {
        match self.publish() {
            Ok(stale) => {
                drop(stale);
                Ok(())
            }
            Err(e) => {
                undo(self);
                Err(e)
            }
        }
    }

    /// Replaces the list of editions off the stack that may still run;
    /// returns the old one. Takes effect at the next snapshot.
    pub(crate) fn swap_draining(&mut self, list: KVec<Arc<Edition>>) -> KVec<Arc<Edition>> {
        core::mem::replace(&mut self.draining, list)
    }

    /// Keeps only the draining editions for which `keep` holds.
    pub(crate) fn retain_draining(&mut self, mut keep: impl FnMut(&Arc<Edition>) -> bool) {
        self.draining.retain(|e| keep(e));
    }

    /// Gives a subsystem member the table of every member edition, for its
    /// next snapshot.
    pub(crate) fn set_inherit(&mut self, table: Arc<InheritTable>) {
        self.inherit = Some(table);
    }

    /// Counts entries or not, and publishes: what a transition's end does.
    /// On failure counting stays on (slower, never wrong), and `None`.
    pub(crate) fn settle(&mut self, counting: bool) -> Option<Stale<Dispatch>> {
        self.counting = counting;
        match self.publish() {
            Ok(s) => Some(s),
            Err(_) => {
                self.counting = true;
                None
            }
        }
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
                site_addr: self.addr,
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
        let (dispatch, jump) = self.build(self.counting, self.sides.clone())?;
        let (target, jump_edition) = match jump {
            Some((a, id)) => (Route::Jump(a), Some(id)),
            None => (Route::Tramp, None),
        };
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

    /// The snapshot of the current state, counting or not, with `other`
    /// for the tasks on another side; and where every call may jump, if
    /// they all go to one entry.
    fn build(&self, counting: bool, other: Option<(Arc<Dispatch>, Side)>) -> Result<Built> {
        let (editions, bypass) = self.snapshot_editions()?;
        // Stack editions come right after the original, in order; draining
        // ones after them can only be entered by inheritance.
        let live = self.stack.len() + 1;
        let top = live - 1;
        let (default, pids) = self.policy_indexes(&editions[..live])?;
        let adapt = self.stack.last().and_then(|l| {
            l.edition.adapt.map(|handler| AdaptRoutes {
                handler,
                this: top,
                replaced: top - 1,
            })
        });
        let inherit = self.inherit_table(&editions, adapt.is_some())?;
        let iface = Self::iface_plan(&editions, live, default);
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
            counting,
            two_sides: other.is_some(),
        };
        let jump = editions.get(top).and_then(|e| {
            let entries = TopEntries {
                fast: e.fast,
                counted: e.counted,
                adaptive: e.adaptive,
            };
            dispatch::jump_entry(&plan, &entries).map(|(a, adaptive)| (a, (e.id, adaptive)))
        });
        let dispatch = KBox::new(
            Dispatch {
                editions,
                default,
                pids,
                adapt,
                counting,
                orig_counted: self.stack.last().map_or(0, |l| l.orig_counted),
                bypass,
                inherit,
                passthrough: self.kthread_loop,
                iface,
                other,
            },
            GFP_KERNEL,
        )?;
        Ok((dispatch, jump))
    }

    /// Starts a consistent transition's two sides: the tasks on `side` keep
    /// the state as it is now (counted, as a transition counts), while the
    /// next snapshots follow the changes about to be made. Returns the
    /// sides it replaces (those of a transition being reversed), for
    /// [`Site::set_sides`] if the change is undone. Takes effect at the
    /// next snapshot.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, with nothing changed.
    pub(crate) fn begin_sides(&mut self, side: Side) -> Result<Sides> {
        let (now, _) = self.build(true, None)?;
        let now = Arc::new(KBox::into_inner(now), GFP_KERNEL)?;
        Ok(self.sides.replace((now, side)))
    }

    /// Puts back sides that [`Site::begin_sides`] returned (`None`: every
    /// task follows the current state). Takes effect at the next snapshot.
    pub(crate) fn set_sides(&mut self, sides: Sides) {
        self.sides = sides;
    }

    /// Adds to `out` all the code a task may run at this site, or be
    /// about to: every edition (original, stack, draining) with its
    /// patch's `prev()` and counted original, and the returns of the
    /// hooked function's `__fentry__` call (a task preempted in the
    /// trampoline has one on its stack). For consistent switches.
    pub(crate) fn code(&self, out: &mut KVec<Range<usize>>) -> Result {
        for e in self.all_editions() {
            for r in Iterator::chain(e.ranges.iter(), e.bypass.iter()) {
                if !r.is_empty() {
                    out.push(r.clone(), GFP_KERNEL)?;
                }
            }
        }
        for r in fentry_returns(self.addr) {
            out.push(r..r + 1, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Every edition once, `[original, stack.., draining..]`, and the code
    /// whose calls are let through to the original, sorted and merged for
    /// `Dispatch::bypassed`.
    fn snapshot_editions(&self) -> Result<(KVec<Arc<Edition>>, Ranges)> {
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
        let n = dispatch::merge_ranges(&mut bypass);
        bypass.truncate(n);
        Ok((editions, bypass))
    }

    /// The default edition and the per-process ones, as indexes in the
    /// snapshot's `live` editions (original and stack).
    fn policy_indexes(&self, live: &[Arc<Edition>]) -> Result<(usize, KVec<(Process, usize)>)> {
        let index = |id: EditionId| live.iter().position(|e| e.id == id);
        let default = index(self.default_id()).unwrap_or(0);
        let mut pids = KVec::with_capacity(self.pids.len(), GFP_KERNEL)?;
        for (p, id) in self.pids() {
            if let Some(i) = index(*id) {
                pids.push((p.clone_ref(), i), GFP_KERNEL)?;
            }
        }
        Ok((default, pids))
    }

    /// For a subsystem member while more than one generation may run: the
    /// code of every member edition, with the index of this site's edition
    /// of the same generation. Empty otherwise.
    fn inherit_table(
        &self,
        editions: &[Arc<Edition>],
        adapt: bool,
    ) -> Result<KVec<(Range<usize>, usize)>> {
        let mut inherit = KVec::new();
        let several = dispatch::several_generations(
            self.counting,
            self.pids().next().is_some(),
            self.default.is_some(),
            adapt,
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
        Ok(inherit)
    }

    /// Where calls go when an edition changes the target's interface.
    fn iface_plan(editions: &[Arc<Edition>], live: usize, default: usize) -> Option<Iface> {
        let i = editions.iter().position(|e| e.iface.is_some())?;
        let (native, adaptor) = editions[i].iface.clone()?;
        let (adaptor, replaced) = dispatch::iface_routes(i, live, adaptor, default);
        Some(Iface {
            native,
            edition: i,
            adaptor,
            replaced,
        })
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

/// Address ranges of code.
type Ranges = KVec<Range<usize>>;

/// A site's other side during a consistent transition: the snapshot the
/// tasks on that side follow (see [`Site::begin_sides`]).
pub(crate) type Sides = Option<(Arc<Dispatch>, Side)>;

/// A site's policies, saved to be put back (see [`Site::save_policy`]).
pub(crate) struct Policy {
    default: Option<EditionId>,
    pids: KVec<(Process, EditionId)>,
    counting: bool,
}

impl Policy {
    /// A copy.
    pub(crate) fn try_clone(&self) -> Result<Self> {
        Ok(Policy {
            default: self.default,
            pids: copy_pids(&self.pids)?,
            counting: self.counting,
        })
    }
}

/// A copy of a table of per-process editions.
fn copy_pids(pids: &[(Process, EditionId)]) -> Result<KVec<(Process, EditionId)>> {
    let mut out = KVec::with_capacity(pids.len(), GFP_KERNEL)?;
    for (p, id) in pids {
        out.push((p.clone_ref(), *id), GFP_KERNEL)?;
    }
    Ok(out)
}

/// Frees snapshots after one grace period for all of them.
pub(crate) fn free_stale(stale: KVec<Stale<Dispatch>>) {
    Stale::free_all(stale);
}
