// SPDX-License-Identifier: GPL-2.0

//! A small safe layer over sysfs directories (kobjects) and attribute files.
//!
//! The 7.3 `kernel` crate has no sysfs abstraction, so this file holds every
//! `unsafe` call dynamos makes into kobject/sysfs. The rest of the module sees:
//!
//! - [`Dir`]: a directory that shows one Rust object of type `T` (its
//!   *context*), created under `/sys/kernel/` or under another [`Dir`];
//! - [`Attr`]: a file in such a directory, described by a name, a mode and
//!   plain Rust functions that read or change the context.
//!
//! Dropping a [`Dir`] removes its files, then its kobject. sysfs waits for
//! callbacks already running on a file when that file is removed
//! (`kernfs_drain()`), so no handler runs once `drop` has returned, and the
//! context outlives every call into it.

use core::ptr::NonNull;
use kernel::{
    bindings,
    prelude::*,
    str::{CStr, Formatter},
    sync::Arc,
};

/// File mode bits for an attribute. sysfs enforces them: files without a
/// write bit for others may be written by root only; and every write
/// needs `CAP_SYS_ADMIN` besides (see `store_trampoline`).
#[derive(Clone, Copy)]
pub(crate) struct Mode(u16);

impl Mode {
    /// Readable by everybody, writable by nobody.
    pub(crate) const READ_ONLY: Mode = Mode(0o444);
    /// Readable by everybody, writable by root.
    pub(crate) const READ_WRITE: Mode = Mode(0o644);
    /// Writable by root only: a trigger.
    pub(crate) const WRITE_ONLY: Mode = Mode(0o200);
    /// Readable by root only: what tells where tasks are in the kernel, or
    /// costs a scan of every thread's stack to compute.
    pub(crate) const ROOT_ONLY: Mode = Mode(0o400);
}

/// Writes the contents of a file being read. Wraps the page that sysfs hands
/// to `show`; writing past its end fails with `EOVERFLOW`.
pub(crate) type ShowBuf<'a> = Formatter<'a>;

/// Reads a file: formats the context into the buffer.
pub(crate) type ShowFn<T> = fn(&T, &mut ShowBuf<'_>) -> Result;

/// Writes a file: parses the bytes written and applies them to the context.
/// An error is returned to the writer as its errno; on error the handler must
/// leave the context unchanged.
pub(crate) type StoreFn<T> = fn(&T, &[u8]) -> Result;

/// Describes one attribute file of a [`Dir`] showing a `T`.
pub(crate) struct Attr<T: 'static> {
    /// File name.
    pub(crate) name: &'static CStr,
    /// Permission bits.
    pub(crate) mode: Mode,
    /// Called on read; `None` makes reads fail with `EIO`.
    pub(crate) show: Option<ShowFn<T>>,
    /// Called on write; `None` makes writes fail with `EIO`.
    pub(crate) store: Option<StoreFn<T>>,
}

/// A registered attribute: the C `kobj_attribute` followed by what the
/// trampolines need to reach the Rust handlers.
///
/// # Invariants
///
/// `ctx` points to the context of the [`Dir`] that owns this file, which is
/// kept alive (by the `Arc` in the [`Dir`]) until the file is removed.
#[repr(C)]
struct RawAttr<T: 'static> {
    kattr: bindings::kobj_attribute,
    spec: &'static Attr<T>,
    ctx: *const T,
}

/// A sysfs directory, the view of one context object of type `T`.
///
/// # Invariants
///
/// - `kobj` is a kobject created by `kobject_create_and_add()` to which this
///   value holds the reference; it is put in `drop`.
/// - Each element of `files` has been added to `kobj` with
///   `sysfs_create_file()` and is removed in `drop` before it is freed.
pub(crate) struct Dir<T: Send + Sync + 'static> {
    kobj: NonNull<bindings::kobject>,
    files: KVec<KBox<RawAttr<T>>>,
    ctx: Arc<T>,
}

// SAFETY: A `Dir` only holds a counted kobject reference, heap-allocated
// attributes and an `Arc<T>` with `T: Send + Sync`; the kobject and sysfs
// calls made through it may happen from any thread.
unsafe impl<T: Send + Sync + 'static> Send for Dir<T> {}
// SAFETY: Shared references to a `Dir` allow no mutation.
unsafe impl<T: Send + Sync + 'static> Sync for Dir<T> {}

/// Where a new [`Dir`] goes.
pub(crate) enum Parent<'a> {
    /// `/sys/kernel/`.
    Kernel,
    /// Under another directory.
    Dir(&'a dyn AsParent),
}

mod sealed {
    /// Only this file's types may be parents (see [`super::AsParent`]).
    pub(crate) trait Sealed {}
}

impl<T: Send + Sync + 'static> sealed::Sealed for Dir<T> {}

/// Implemented by every [`Dir`], whatever its context type, so that it can be
/// the parent of another directory. Sealed: `Dir::new` trusts the kobject
/// it returns, so no other type may implement it.
pub(crate) trait AsParent: sealed::Sealed {
    /// The kobject of this directory.
    fn kobj(&self) -> NonNull<bindings::kobject>;
}

impl<T: Send + Sync + 'static> AsParent for Dir<T> {
    fn kobj(&self) -> NonNull<bindings::kobject> {
        self.kobj
    }
}

impl<T: Send + Sync + 'static> Dir<T> {
    /// Creates the directory `name` under `parent`, with the files `attrs`
    /// showing `ctx`.
    ///
    /// # Errors
    ///
    /// `ENOMEM` if the directory cannot be created (allocation failure, or
    /// a name already taken, which callers rule out first), or the error of
    /// `sysfs_create_file()`. On error nothing stays in sysfs.
    pub(crate) fn new(
        name: &CStr,
        parent: Parent<'_>,
        ctx: Arc<T>,
        attrs: &'static [Attr<T>],
    ) -> Result<Self> {
        let parent = match parent {
            // SAFETY: `kernel_kobj` is set up during boot and never changes.
            Parent::Kernel => unsafe { bindings::kernel_kobj },
            Parent::Dir(dir) => dir.kobj().as_ptr(),
        };
        // SAFETY: `name` is a valid NUL-terminated string (it is copied), and
        // `parent` is a live kobject: `kernel_kobj` or one owned by a `Dir`
        // borrowed for this call. `kobject_add()` takes its own reference.
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), parent) };
        // NULL means allocation failure or a name already taken; callers
        // check names first, so report the former.
        let kobj = NonNull::new(kobj).ok_or(ENOMEM)?;
        // INVARIANT: `kobj` came from `kobject_create_and_add()`, no files yet.
        let mut dir = Dir {
            kobj,
            files: KVec::new(),
            ctx,
        };
        for spec in attrs {
            // On error, dropping `dir` removes the files added so far.
            dir.add(spec)?;
        }
        Ok(dir)
    }

    /// The context this directory shows.
    pub(crate) fn ctx(&self) -> &Arc<T> {
        &self.ctx
    }

    fn add(&mut self, spec: &'static Attr<T>) -> Result {
        self.files.reserve(1, GFP_KERNEL)?;
        // SAFETY: All-zero is a valid `kobj_attribute` (null pointers, no
        // callbacks); every field that matters is set below.
        let mut kattr: bindings::kobj_attribute = unsafe { core::mem::zeroed() };
        kattr.attr.name = spec.name.as_char_ptr();
        kattr.attr.mode = spec.mode.0;
        #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
        {
            // What `sysfs_attr_init()` does for attributes not in static
            // storage: one lockdep class for all dynamos files.
            kattr.attr.key = kernel::static_lock_class!().as_ptr();
        }
        kattr.__bindgen_anon_1.show = Some(show_trampoline::<T>);
        kattr.__bindgen_anon_2.store = Some(store_trampoline::<T>);
        let raw = KBox::new(
            RawAttr {
                kattr,
                spec,
                ctx: Arc::as_ptr(&self.ctx),
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `self.kobj` is live (type invariant) and `raw.kattr.attr`
        // stays at this heap address until `drop` removes the file.
        let ret = unsafe {
            bindings::sysfs_create_file_ns(self.kobj.as_ptr(), &raw.kattr.attr, core::ptr::null())
        };
        kernel::error::to_result(ret)?;
        // PANIC: cannot fail, one slot was reserved above.
        self.files.push(raw, GFP_NOWAIT).map_err(|_| ENOMEM)?;
        Ok(())
    }
}

impl<T: Send + Sync + 'static> Drop for Dir<T> {
    fn drop(&mut self) {
        for raw in self.files.iter() {
            // SAFETY: The file was added to `self.kobj` by `add()` (type
            // invariant). Removal waits for running callbacks, so `raw` may
            // be freed afterwards.
            unsafe {
                bindings::sysfs_remove_file_ns(
                    self.kobj.as_ptr(),
                    &raw.kattr.attr,
                    core::ptr::null(),
                )
            };
        }
        // SAFETY: We own the reference from `kobject_create_and_add()`
        // (type invariant); it is not used again.
        unsafe { bindings::kobject_put(self.kobj.as_ptr()) };
    }
}

/// Recovers the [`RawAttr`] around a `kobj_attribute`.
///
/// # Safety
///
/// `attr` must be the `kattr` field of a live `RawAttr<T>`.
unsafe fn raw_attr<'a, T>(attr: *const bindings::kobj_attribute) -> &'a RawAttr<T> {
    // SAFETY: `kattr` is the first field of the `#[repr(C)]` `RawAttr<T>`,
    // so the pointers are equal; the caller guarantees it is live.
    unsafe { &*attr.cast::<RawAttr<T>>() }
}

/// `show` callback of every dynamos attribute.
///
/// # Safety
///
/// Called by sysfs only: `attr` belongs to a file added by [`Dir::add`] and
/// `buf` is a page-sized buffer.
unsafe extern "C" fn show_trampoline<T: 'static>(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut kernel::ffi::c_char,
) -> isize {
    // SAFETY: sysfs passes the attribute of a file that is still present,
    // hence a live `RawAttr<T>` (see `Dir::drop`).
    let raw = unsafe { raw_attr::<T>(attr) };
    let Some(show) = raw.spec.show else {
        return EIO.to_errno() as isize;
    };
    // SAFETY: sysfs hands `show` a buffer of `PAGE_SIZE` bytes that nobody
    // else uses during this call.
    let page =
        unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), kernel::page::PAGE_SIZE) };
    let mut out = Formatter::new(page);
    // SAFETY: `ctx` is live while the file exists (type invariant of `RawAttr`).
    let ctx = unsafe { &*raw.ctx };
    match show(ctx, &mut out) {
        Ok(()) => out.bytes_written() as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// `store` callback of every dynamos attribute.
///
/// # Safety
///
/// Called by sysfs only: `attr` belongs to a file added by [`Dir::add`] and
/// `buf` holds `count` readable bytes.
unsafe extern "C" fn store_trampoline<T: 'static>(
    _kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *const kernel::ffi::c_char,
    count: usize,
) -> isize {
    // Patch management is administration: uid 0 without the capability
    // (a sandboxed service, a container's root) may not do it.
    // SAFETY: Checks the calling task's credentials; no other effect.
    if !unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as kernel::ffi::c_int) } {
        return EPERM.to_errno() as isize;
    }
    // SAFETY: As in `show_trampoline`.
    let raw = unsafe { raw_attr::<T>(attr) };
    let Some(store) = raw.spec.store else {
        return EIO.to_errno() as isize;
    };
    // SAFETY: sysfs passes `count` valid bytes in `buf` for this call.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
    // SAFETY: `ctx` is live while the file exists (type invariant of `RawAttr`).
    let ctx = unsafe { &*raw.ctx };
    match store(ctx, input) {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// Writes `args` to a show buffer: `emit!(buf, "{}\n", x)`.
#[macro_export]
macro_rules! emit {
    ($buf:expr, $($arg:tt)*) => {
        ::core::fmt::Write::write_fmt($buf, ::core::format_args!($($arg)*))
            .map_err(|_| ::kernel::error::code::EOVERFLOW)
    };
}
