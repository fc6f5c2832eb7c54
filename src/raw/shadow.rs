// SPDX-License-Identifier: GPL-2.0

//! Shadow data: new fields attached to existing kernel objects without
//! changing their layout, looked up by the object's address and an id.
//!
//! The API follows livepatch's `klp_shadow_*()` (`kernel/livepatch/shadow.c`):
//! `get`, `alloc`, `get_or_alloc` with a constructor, `free` and `free_all`
//! with a destructor. Patch modules reach it through the C entry points at
//! the end of this file (exported by `api/exports.c`).
//!
//! # Concurrency
//!
//! - The table is a fixed array of [`NR_BUCKETS`] singly linked chains,
//!   hashed on `(obj, id)`: lookups are O(1) expected up to millions of
//!   variables.
//! - Readers ([`get`]) take no lock: they walk a chain under the RCU read
//!   lock. Nodes are published with a release store after their data is
//!   complete, and freed only after a grace period (`call_rcu()`), so a
//!   reader never sees a half-built node nor a freed one.
//! - Writers (alloc, free) serialize on one spinlock that also disables
//!   interrupts (`SHADOW_LOCK`): they may be called from any context but NMI. A
//!   constructor runs under that lock, once, before its variable is
//!   visible: of CPUs racing in `get_or_alloc()` for the same pair, exactly
//!   one constructs, the others get its variable. Allocation happens before
//!   the lock is taken, with the caller's GFP flags.
//! - Destructors run outside the lock, after the variable was unlinked: a
//!   reader that found it just before may still use it until the grace
//!   period ends, as with livepatch. Freeing a variable that code may still
//!   use is the patch's business; dynamos frees a patch's variables only
//!   when none of its code runs any more (after a disable has drained, or
//!   when the patch unregisters).
//!
//! Data is aligned on 16 bytes.

use core::{
    ptr::{self, NonNull},
    sync::atomic::{AtomicPtr, AtomicUsize, Ordering},
};
use kernel::{
    bindings,
    ffi::{c_int, c_uint, c_void},
    prelude::*,
    sync::rcu,
};

pub(crate) use crate::abi::{ShadowCtor, ShadowDtor};

/// Number of hash chains (a power of two).
const NR_BUCKETS: usize = 1 << 16;

/// A shadow variable: its key, then its data at [`DATA_OFFSET`].
#[repr(C)]
struct Node {
    /// For `call_rcu()`; first, so that the callback finds the node.
    rcu: bindings::callback_head,
    next: AtomicPtr<Node>,
    obj: usize,
    id: u64,
}

/// Where a node's data starts: after the header, aligned on 16 bytes.
const DATA_OFFSET: usize = (core::mem::size_of::<Node>() + 15) & !15;

/// The chains. A chain is changed only under `SHADOW_LOCK`.
static BUCKETS: [AtomicPtr<Node>; NR_BUCKETS] =
    [const { AtomicPtr::new(ptr::null_mut()) }; NR_BUCKETS];

/// Live variables, for `/sys/kernel/dynamos/shadow_vars`.
static LIVE: AtomicUsize = AtomicUsize::new(0);

super::global::module_lock! {
    static SHADOW_LOCK: SpinLockIrq<()> = ();
    init = init;
    lock = shadow_lock;
}

/// Waits until every freed variable's memory is returned (the `call_rcu()`
/// callbacks live in this module). Called from the module's exit.
pub(crate) fn exit() {
    // SAFETY: No locks held; process context.
    unsafe { bindings::rcu_barrier() };
}

/// The number of live shadow variables.
pub(crate) fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn bucket(obj: usize, id: u64) -> &'static AtomicPtr<Node> {
    let h = (obj as u64 ^ id.rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    &BUCKETS[(h >> (64 - 16)) as usize]
}

fn data_of(n: NonNull<Node>) -> NonNull<u8> {
    // SAFETY: Every node is allocated with its data after `DATA_OFFSET`.
    unsafe { n.cast::<u8>().add(DATA_OFFSET) }
}

/// Finds the node of `(obj, id)` in its chain. The caller holds the RCU
/// read lock or `SHADOW_LOCK`.
fn find(obj: usize, id: u64) -> Option<NonNull<Node>> {
    let mut p = bucket(obj, id).load(Ordering::Acquire);
    while let Some(n) = NonNull::new(p) {
        // SAFETY: Nodes reached from a chain stay allocated until a grace
        // period after they are unlinked; the caller is in a read-side
        // critical section or holds the writers' lock.
        let node = unsafe { n.as_ref() };
        if node.obj == obj && node.id == id {
            return Some(n);
        }
        p = node.next.load(Ordering::Acquire);
    }
    None
}

/// The data of the variable `(obj, id)`, if there is one.
pub(crate) fn get(obj: usize, id: u64) -> Option<NonNull<u8>> {
    let _rcu = rcu::read_lock();
    find(obj, id).map(data_of)
}

/// A node allocated but not published.
struct Fresh(NonNull<Node>);

impl Fresh {
    fn new(obj: usize, id: u64, size: usize, gfp: c_uint) -> Option<Fresh> {
        let total = DATA_OFFSET.checked_add(size)?;
        // SAFETY: Plain allocation; `gfp` comes from the caller, who knows
        // its context.
        let p = unsafe { bindings::__kmalloc_noprof(total, gfp | bindings::__GFP_ZERO) };
        let n = NonNull::new(p.cast::<Node>())?;
        // SAFETY: `n` points to at least `size_of::<Node>()` writable bytes.
        unsafe {
            n.as_ptr().write(Node {
                rcu: bindings::callback_head::default(),
                next: AtomicPtr::new(ptr::null_mut()),
                obj,
                id,
            })
        };
        Some(Fresh(n))
    }

    /// Links the node at the head of its chain. Called under `SHADOW_LOCK`.
    fn publish(self) -> NonNull<u8> {
        let n = self.0;
        // SAFETY: The node is ours until published.
        let node = unsafe { n.as_ref() };
        let head = bucket(node.obj, node.id);
        node.next
            .store(head.load(Ordering::Relaxed), Ordering::Relaxed);
        // Pairs with the acquire loads in `find`: readers see the node's
        // key and data complete.
        head.store(n.as_ptr(), Ordering::Release);
        LIVE.fetch_add(1, Ordering::Relaxed);
        core::mem::forget(self);
        data_of(n)
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        // SAFETY: Never published: nobody else can see it.
        unsafe { bindings::kfree(self.0.as_ptr().cast()) };
    }
}

/// What `alloc` does when the variable exists.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IfExists {
    /// Return it.
    Get,
    /// Fail (and say so in dmesg).
    Fail,
}

/// Allocates the variable `(obj, id)` of `size` bytes, zeroed, and runs
/// `ctor` on it before anyone can see it.
///
/// # Safety
///
/// `ctor`, if set, may be called with `obj`, the new data and `ctor_data`.
unsafe fn alloc(
    obj: usize,
    id: u64,
    size: usize,
    gfp: c_uint,
    ctor: Option<ShadowCtor>,
    ctor_data: *mut c_void,
    exists: IfExists,
) -> Option<NonNull<u8>> {
    if exists == IfExists::Get {
        if let Some(d) = get(obj, id) {
            return Some(d);
        }
    }
    let fresh = Fresh::new(obj, id, size, gfp)?;
    let _guard = shadow_lock()?;
    if let Some(n) = find(obj, id) {
        if exists == IfExists::Fail {
            pr_warn!("shadow: {:#x}/{} exists already\n", obj, id);
            return None;
        }
        return Some(data_of(n));
    }
    if let Some(ctor) = ctor {
        // SAFETY: The caller's guarantee; the data is zeroed and `size`
        // bytes long; it is not visible to anyone yet.
        let r = unsafe {
            ctor(
                obj as *mut c_void,
                data_of(fresh.0).as_ptr().cast(),
                ctor_data,
            )
        };
        if r != 0 {
            pr_warn!("shadow: constructor of {:#x}/{} failed ({})\n", obj, id, r);
            return None;
        }
    }
    Some(fresh.publish())
}

extern "C" fn free_node(head: *mut bindings::callback_head) {
    // SAFETY: `head` is the first field of a node unlinked a grace period
    // ago; nothing can reach it any more.
    unsafe { bindings::kfree(head.cast()) };
}

/// Frees an unlinked node after a grace period, first passing its data to
/// `f`.
fn retire(n: NonNull<Node>, f: &mut dyn FnMut(usize, NonNull<u8>)) {
    // SAFETY: Unlinked by the caller: only readers that found it before can
    // still see it, and they do until the grace period ends.
    let obj = unsafe { n.as_ref() }.obj;
    f(obj, data_of(n));
    LIVE.fetch_sub(1, Ordering::Relaxed);
    // SAFETY: `rcu` is the node's callback head, unused until now.
    unsafe { bindings::call_rcu(&raw mut (*n.as_ptr()).rcu, Some(free_node)) };
}

/// Unlinks the nodes of chain `b` that `pick` selects; returns them as a
/// list through their `next` fields. Called under `SHADOW_LOCK`.
fn unlink(b: &AtomicPtr<Node>, pick: &dyn Fn(&Node) -> bool) -> *mut Node {
    let mut out: *mut Node = ptr::null_mut();
    let mut link = b;
    loop {
        let p = link.load(Ordering::Relaxed);
        let Some(n) = NonNull::new(p) else { break };
        // SAFETY: Under the writers' lock, chain nodes are live.
        let node = unsafe { n.as_ref() };
        if pick(node) {
            // Readers walking past keep following `next`, which still
            // leads on through the chain until the grace period ends; the
            // node's own `next` is reused below only after this store.
            link.store(node.next.load(Ordering::Relaxed), Ordering::Release);
            // Readers may be on this node: keep its `next` pointing into
            // the chain; collect it through a separate list instead.
            out = push_retired(out, n);
        } else {
            link = &node.next;
        }
    }
    out
}

/// Adds an unlinked node to a list for `retire_list`. A node's `next` must
/// stay valid for readers until the grace period ends, so the list goes
/// through another field.
fn push_retired(list: *mut Node, n: NonNull<Node>) -> *mut Node {
    // The list reuses the RCU head's `next` field, which `call_rcu()`
    // overwrites only later, when the node is retired.
    // SAFETY: The node is unlinked and owned by the caller now.
    unsafe { (*n.as_ptr()).rcu.next = list.cast() };
    n.as_ptr()
}

fn retire_list(mut list: *mut Node, f: &mut dyn FnMut(usize, NonNull<u8>)) -> usize {
    let mut count = 0;
    while let Some(n) = NonNull::new(list) {
        // SAFETY: Built by `push_retired`.
        list = unsafe { (*n.as_ptr()).rcu.next }.cast();
        retire(n, f);
        count += 1;
    }
    count
}

/// Frees the variable `(obj, id)`, if there is one, passing its data to `f`
/// first.
pub(crate) fn free(obj: usize, id: u64, f: &mut dyn FnMut(usize, NonNull<u8>)) {
    let list = {
        let Some(_guard) = shadow_lock() else {
            return;
        };
        unlink(bucket(obj, id), &|n| n.obj == obj && n.id == id)
    };
    retire_list(list, f);
}

/// Frees every variable with this `id`, passing each one's object and data
/// to `f` first; returns how many. Process context: it may reschedule
/// between chains.
pub(crate) fn free_all(id: u64, f: &mut dyn FnMut(usize, NonNull<u8>)) -> usize {
    let mut count = 0;
    for (i, b) in BUCKETS.iter().enumerate() {
        if b.load(Ordering::Relaxed).is_null() {
            continue;
        }
        let list = {
            let Some(_guard) = shadow_lock() else {
                return count;
            };
            unlink(b, &|n| n.id == id)
        };
        count += retire_list(list, f);
        if i % 1024 == 0 {
            super::tasks::cond_resched();
        }
    }
    count
}

/// A destructor as a callback for [`free`] and [`free_all`].
fn with_dtor(dtor: Option<ShadowDtor>) -> impl FnMut(usize, NonNull<u8>) {
    move |obj, data| {
        if let Some(d) = dtor {
            // SAFETY: The patch's destructor gets the object and the data
            // of a variable of its id, which nothing can find any more.
            unsafe { d(obj as *mut c_void, data.as_ptr().cast()) };
        }
    }
}

/// Frees every variable of `id` with `dtor`; for patches being removed.
pub(crate) fn free_all_with(id: u64, dtor: Option<ShadowDtor>) -> usize {
    free_all(id, &mut with_dtor(dtor))
}

/// Gets the variable `(obj, id)`, creating it (zeroed, then `ctor`) if there
/// is none; [`alloc`]'s exactly-once guarantee holds.
///
/// # Safety
///
/// As [`dynamos_shadow_get_or_alloc`].
pub(crate) unsafe fn get_or_alloc(
    obj: usize,
    id: u64,
    size: usize,
    gfp: c_uint,
    ctor: Option<ShadowCtor>,
    ctor_data: *mut c_void,
) -> Option<NonNull<u8>> {
    // SAFETY: The caller's guarantee.
    unsafe { alloc(obj, id, size, gfp, ctor, ctor_data, IfExists::Get) }
}

fn out(d: Option<NonNull<u8>>) -> *mut c_void {
    d.map_or(ptr::null_mut(), |d| d.as_ptr().cast())
}

/// Returns the data of the shadow variable `(obj, id)`, or NULL.
#[unsafe(no_mangle)]
pub(crate) extern "C" fn dynamos_shadow_get(obj: *mut c_void, id: u64) -> *mut c_void {
    out(get(obj as usize, id))
}

/// Allocates the shadow variable `(obj, id)` of `size` zeroed bytes and
/// runs `ctor(obj, data, ctor_data)` on it before it is visible. Returns
/// its data, or NULL (and a warning) if it exists already, if the
/// allocation fails or if `ctor` returns nonzero.
///
/// # Safety
///
/// `gfp` suits the calling context; `ctor`, if set, is a function that may
/// be called with these arguments under a spinlock.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_shadow_alloc(
    obj: *mut c_void,
    id: u64,
    size: usize,
    gfp: c_uint,
    ctor: Option<ShadowCtor>,
    ctor_data: *mut c_void,
) -> *mut c_void {
    // SAFETY: The caller's guarantee.
    out(unsafe { alloc(obj as usize, id, size, gfp, ctor, ctor_data, IfExists::Fail) })
}

/// Returns the data of the shadow variable `(obj, id)`, allocating and
/// constructing it first if there is none. Of racing callers, exactly one
/// constructs. NULL if the allocation fails or `ctor` returns nonzero.
///
/// # Safety
///
/// As [`dynamos_shadow_alloc`].
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_shadow_get_or_alloc(
    obj: *mut c_void,
    id: u64,
    size: usize,
    gfp: c_uint,
    ctor: Option<ShadowCtor>,
    ctor_data: *mut c_void,
) -> *mut c_void {
    // SAFETY: The caller's guarantee.
    out(unsafe { get_or_alloc(obj as usize, id, size, gfp, ctor, ctor_data) })
}

/// Frees the shadow variable `(obj, id)`, if any, calling `dtor(obj, data)`
/// first. The memory goes after a grace period.
///
/// # Safety
///
/// `dtor`, if set, may be called with these arguments. No code uses the
/// variable after this call (RCU readers that found it before may finish).
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_shadow_free(
    obj: *mut c_void,
    id: u64,
    dtor: Option<ShadowDtor>,
) {
    free(obj as usize, id, &mut with_dtor(dtor));
}

/// Frees every shadow variable with this `id`, calling `dtor` on each.
/// Process context.
///
/// # Safety
///
/// As [`dynamos_shadow_free`], for every variable of `id`.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn dynamos_shadow_free_all(id: u64, dtor: Option<ShadowDtor>) {
    free_all_with(id, dtor);
}

/// Gets the variable `(obj, id)`, creating it first if there is none: its
/// `size` bytes are zeroed, then `ctor` fills them, once, under the shadow
/// lock (it must not sleep), before the variable is visible; of racing
/// callers exactly one constructs. `None` if the allocation fails.
pub(super) fn get_or_alloc_with(
    obj: usize,
    id: u64,
    size: usize,
    gfp: c_uint,
    ctor: &mut dyn FnMut(usize, NonNull<u8>),
) -> Option<NonNull<u8>> {
    /// Runs the closure `ctx` points to.
    ///
    /// # Safety
    ///
    /// `ctx` is the `&mut &mut dyn FnMut` below, alive for the call; `data`
    /// is the variable's data, not null.
    unsafe extern "C" fn run(obj: *mut c_void, data: *mut c_void, ctx: *mut c_void) -> c_int {
        // SAFETY: By the function's contract.
        let f = unsafe { &mut *ctx.cast::<&mut dyn FnMut(usize, NonNull<u8>)>() };
        if let Some(d) = NonNull::new(data.cast::<u8>()) {
            f(obj as usize, d);
        }
        0
    }
    let mut ctor = ctor;
    // SAFETY: `run` may be called under the lock with this context, which
    // outlives the call; it does not sleep if `ctor` does not.
    unsafe {
        alloc(
            obj,
            id,
            size,
            gfp,
            Some(run),
            (&raw mut ctor).cast(),
            IfExists::Get,
        )
    }
}
