// SPDX-License-Identifier: GPL-2.0

//! Registration of patches and the sysfs tree under `/sys/kernel/dynamos/`.
//!
//! ```text
//! /sys/kernel/dynamos/
//!     version                 dynamos version and patch ABI version
//!     patches/
//!         <patch>/
//!             state           lifecycle state of the patch
//! ```
//!
//! All state lives in one global registry behind a mutex. Patch modules reach
//! it through the C entry points in `entry.rs`; they link against dynamos, so
//! the module loader keeps dynamos loaded while any of them is.

use crate::{
    abi::{PatchDesc, ABI_VERSION},
    emit,
    sysfs::{Attr, Dir, Mode, Parent, ShowBuf},
    VERSION,
};
use kernel::{
    c_str,
    prelude::*,
    str::{CStr, CString},
    sync::{global_lock, Arc},
};

/// Identifies a registered patch: the address of its descriptor.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct PatchKey(usize);

impl PatchKey {
    /// The key of the patch described at `desc`. The pointer is never
    /// dereferenced through a key.
    pub(crate) fn of(desc: *const PatchDesc) -> Self {
        PatchKey(desc as usize)
    }
}

/// What sysfs shows about a patch.
struct PatchInfo {
    name: CString,
}

/// A registered patch.
struct Patch {
    key: PatchKey,
    /// Its directory under `patches/`; removed when the patch is dropped.
    dir: Dir<PatchInfo>,
}

/// Everything dynamos owns while loaded. Fields drop in declaration order:
/// the patches' directories go before `patches/`, which goes before the root.
struct Core {
    patches: KVec<Patch>,
    patches_dir: Dir<()>,
    root: Dir<()>,
}

global_lock! {
    // SAFETY: `init()` initializes it before anything else can use it.
    unsafe(uninit) static CORE: Mutex<Option<Core>> = None;
}

fn show_version(_: &(), buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "{} abi {}\n", VERSION, ABI_VERSION)
}

static ROOT_ATTRS: [Attr<()>; 1] = [Attr {
    name: c_str!("version"),
    mode: Mode::READ_ONLY,
    show: Some(show_version),
    store: None,
}];

fn show_state(_: &PatchInfo, buf: &mut ShowBuf<'_>) -> Result {
    emit!(buf, "registered\n")
}

static PATCH_ATTRS: [Attr<PatchInfo>; 1] = [Attr {
    name: c_str!("state"),
    mode: Mode::READ_ONLY,
    show: Some(show_state),
    store: None,
}];

/// Creates the registry and `/sys/kernel/dynamos/`. Called once, from the
/// module's init.
pub(crate) fn init() -> Result {
    // SAFETY: Called once, at module init, before any other use of `CORE`:
    // patch modules cannot call the entry points before dynamos is live.
    unsafe { CORE.init() };
    let root = Dir::new(
        c_str!("dynamos"),
        Parent::Kernel,
        Arc::new((), GFP_KERNEL)?,
        &ROOT_ATTRS,
    )?;
    let patches_dir = Dir::new(
        c_str!("patches"),
        Parent::Dir(&root),
        Arc::new((), GFP_KERNEL)?,
        &[],
    )?;
    *CORE.lock() = Some(Core {
        patches: KVec::new(),
        patches_dir,
        root,
    });
    Ok(())
}

/// Removes everything `init()` created. Called once, from the module's exit.
pub(crate) fn exit() {
    let core = CORE.lock().take();
    if let Some(core) = core {
        // Cannot happen: patch modules hold a reference on dynamos.
        if !core.patches.is_empty() {
            pr_warn!("exit with {} patches still registered\n", core.patches.len());
        }
        let Core {
            patches,
            patches_dir,
            root,
        } = core;
        drop(patches);
        drop(patches_dir);
        drop(root);
    }
}

/// Registers a patch whose descriptor `entry.rs` has checked.
pub(crate) fn register(key: PatchKey, name: &CStr) -> Result {
    let mut guard = CORE.lock();
    let core = guard.as_mut().ok_or(ENODEV)?;
    if core.patches.iter().any(|p| p.key == key || *p.dir.ctx().name == *name) {
        pr_err!("register: patch '{}' is already registered\n", name.to_str().unwrap_or("?"));
        return Err(EEXIST);
    }
    core.patches.reserve(1, GFP_KERNEL)?;
    let info = Arc::new(
        PatchInfo {
            name: CString::try_from(name)?,
        },
        GFP_KERNEL,
    )?;
    let dir = Dir::new(name, Parent::Dir(&core.patches_dir), info, &PATCH_ATTRS)?;
    core.patches.push(Patch { key, dir }, GFP_KERNEL)?;
    pr_info!("patch '{}' registered\n", name.to_str().unwrap_or("?"));
    Ok(())
}

/// Unregisters the patch registered with `key`, removing its sysfs directory.
pub(crate) fn unregister(key: PatchKey) {
    let mut guard = CORE.lock();
    let Some(core) = guard.as_mut() else { return };
    let Some(pos) = core.patches.iter().position(|p| p.key == key) else {
        pr_err!("unregister: unknown patch descriptor\n");
        return;
    };
    let patch = core.patches.remove(pos);
    drop(guard);
    if let Ok(patch) = patch {
        pr_info!(
            "patch '{}' unregistered\n",
            patch.dir.ctx().name.to_str().unwrap_or("?")
        );
    }
}
