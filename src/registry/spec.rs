// SPDX-License-Identifier: GPL-2.0

//! A patch as the registry knows it: what `api/entry.rs` made of its
//! descriptor, checked.
//!
//! Lifetimes: the ABI contract (`abi.rs`) keeps every descriptor, string
//! and counter of a patch alive and unchanged from registration until
//! `dynamos_unregister_patch()` returns. The `'static` references here are
//! held only by the registered patch (dropped at unregistration) and by its
//! editions, which keep the patch module loaded (`mech::site::Edition`), so
//! they never outlive what they point to.

use crate::{
    abi,
    mech::site::EditionSpec,
    raw::{
        callbacks::{PatchCallbacks, StateFns},
        modules::{ModuleRef, PatchModule},
    },
};
use kernel::{prelude::*, str::CStr};

/// One function of a patch, checked.
#[derive(Clone, Copy)]
pub(crate) struct FuncSpec {
    /// Symbol name.
    pub(crate) name: &'static CStr,
    /// Module holding the symbol, `None` for vmlinux.
    pub(crate) object: Option<&'static CStr>,
    /// 1-based position among equal names; 0: unique.
    pub(crate) sympos: u32,
    /// The new edition.
    pub(crate) edition: EditionSpec,
    /// The main function of kernel threads that never return
    /// ([`abi::FUNC_KTHREAD_LOOP`]).
    pub(crate) kthread_loop: bool,
    /// A caller of a function whose interface the patch changes, covered
    /// by that function's adaptor: threads still in its old edition need
    /// not drain, since their calls are translated.
    pub(crate) covered: bool,
}

/// A patch, checked.
pub(crate) struct PatchSpec {
    /// Patch name.
    pub(crate) name: &'static CStr,
    /// The patch module.
    pub(crate) module: PatchModule,
    /// The modules whose non-exported symbols the patch module reaches
    /// (`ksyms!`), kept loaded while it is registered.
    pub(crate) _pinned: KVec<ModuleRef>,
    /// Its functions.
    pub(crate) funcs: KVec<FuncSpec>,
    /// `abi::PATCH_*` flags.
    pub(crate) flags: u32,
    /// The subsystem its functions form, if any.
    pub(crate) subsystem: Option<&'static CStr>,
    /// Its callbacks.
    pub(crate) callbacks: PatchCallbacks,
    /// The kinds of shadow variables it uses.
    pub(crate) shadows: KVec<&'static abi::ShadowDesc>,
    /// The states it converts lazily.
    pub(crate) states: KVec<StateFns>,
    /// Their names, in the same order.
    pub(crate) state_names: KVec<&'static CStr>,
}
