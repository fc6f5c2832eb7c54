// SPDX-License-Identifier: GPL-2.0

//! Symbol lookup for out-of-tree code.
//!
//! `kallsyms_lookup_name()` and `kallsyms_on_each_match_symbol()` are not
//! exported to modules, and kprobes find only the first of several symbols
//! of a name. dynamos reaches `kallsyms_on_each_match_symbol()` the way
//! patches reach non-exported symbols (`raw/ksyms.rs`), and finds vmlinux
//! symbols with it, exactly as livepatch does (`klp_find_object_symbol()`):
//! every symbol of the name, of any type, counts for a position.
//!
//! A module's symbols are read from the module itself (a C helper walks
//! its symbol table in its kallsyms order, as
//! `module_kallsyms_on_each_symbol()` does): every symbol of the name, data
//! included, counts for a position, as in livepatch; a position that picks
//! data is refused.
//!
//! The size of a function comes from `sprint_symbol()` ("name+off/size").

pub(crate) use crate::logic::symtext::LookupError;
use crate::logic::symtext::{self, Matches};
use kernel::{
    bindings,
    ffi::{c_char, c_int, c_ulong, c_void},
    prelude::*,
    str::CStr,
};

extern "C" {
    fn dynamos_module_unconverted(modname: *const c_char) -> c_int;
    fn dynamos_ksyms_resolved() -> c_ulong;
    fn dynamos_module_symbols(
        modname: *const c_char,
        f: unsafe extern "C" fn(ctx: *mut c_void, name: *const c_char, addr: c_ulong, kind: c_char),
        ctx: *mut c_void,
    ) -> c_int;
}

/// A symbol to find: `name` in `object` (`None` for vmlinux), the
/// `sympos`-th of that name (0: it must be unique).
pub(crate) struct Query<'a> {
    /// Symbol name.
    pub(crate) name: &'a CStr,
    /// Module name, or `None` for vmlinux.
    pub(crate) object: Option<&'a CStr>,
    /// 1-based position among symbols of the same name; 0 for "unique".
    pub(crate) sympos: u32,
}

/// What [`module_symbol`] works on: one module's queries, by index.
struct ModuleWalk<'a, 'q> {
    mine: KVec<usize>,
    queries: &'a [Query<'q>],
    found: &'a mut KVec<Matches>,
}

/// Called by `dynamos_module_symbols()` for each symbol of the module.
///
/// # Safety
///
/// `ctx` is a live `ModuleWalk`; `name` a C string.
unsafe extern "C" fn module_symbol(
    ctx: *mut c_void,
    name: *const c_char,
    addr: c_ulong,
    kind: c_char,
) {
    // SAFETY: By the caller's guarantee.
    let walk = unsafe { &mut *ctx.cast::<ModuleWalk<'_, '_>>() };
    // SAFETY: By the caller's guarantee.
    let name = unsafe { CStr::from_char_ptr(name) }.to_bytes();
    for &i in walk.mine.iter() {
        let q = &walk.queries[i];
        walk.found[i].record(q.name.to_bytes(), q.sympos, kind, name, addr);
    }
}

/// How many `.klp.sym.*` symbols the module called `module` left
/// undefined: `ksyms!` references that `tools/ksymconv` did not convert,
/// which the loader resolved to address 0.
///
/// # Errors
///
/// `ENOENT` if no such module is loaded.
pub(crate) fn unconverted_klp_symbols(module: &CStr) -> Result<usize> {
    // SAFETY: `module` is a C string; the helper only reads under RCU.
    let n = unsafe { dynamos_module_unconverted(module.as_char_ptr()) };
    kernel::error::to_result(n.min(0))?;
    Ok(n as usize)
}

/// Refuses to run with references the build did not convert: their calls
/// would go to address 0. Called at module init, before any of them.
///
/// # Errors
///
/// `ENOEXEC`.
pub(crate) fn check_converted() -> Result {
    // SAFETY: Reads an address; no side effect.
    if unsafe { dynamos_ksyms_resolved() } == 0 {
        pr_err!(
            "references to non-exported kernel functions were not converted (scripts/ksyms.sh, run by the build): refusing to run\n"
        );
        return Err(ENOEXEC);
    }
    Ok(())
}

/// Calls `f` with the object name of every non-exported symbol that the
/// module called `module` reaches through livepatch relocations (its
/// `.klp.sym.<object>.<name>,<pos>` symbols, see the patch API's `ksyms!`),
/// once per symbol. `f` runs under the RCU read lock: it must not sleep
/// (allocate with `GFP_ATOMIC`).
///
/// # Errors
///
/// `ENOENT` if no such module is loaded.
pub(crate) fn klp_objects(module: &CStr, f: &mut dyn FnMut(&[u8])) -> Result {
    /// Called by `dynamos_module_symbols()` for each symbol.
    ///
    /// # Safety
    ///
    /// `ctx` is the `&mut &mut dyn FnMut` below; `name` a C string.
    unsafe extern "C" fn each(
        ctx: *mut c_void,
        name: *const c_char,
        _addr: c_ulong,
        _kind: c_char,
    ) {
        // SAFETY: By the function's contract.
        let f = unsafe { &mut *ctx.cast::<&mut dyn FnMut(&[u8])>() };
        // SAFETY: By the function's contract.
        let name = unsafe { CStr::from_char_ptr(name) }.to_bytes();
        if let Some(object) = symtext::klp_object(name) {
            f(object);
        }
    }
    let mut f = f;
    // SAFETY: `module` is a C string; the callback takes `f` back, which
    // lives across the call, and does not sleep.
    let r = unsafe { dynamos_module_symbols(module.as_char_ptr(), each, (&raw mut f).cast()) };
    kernel::error::to_result(r)
}

/// Resolves every query: vmlinux symbols through kallsyms, module symbols
/// from each module's table. Positions count every symbol of the name, as
/// livepatch's do; the one picked must be code.
///
/// # Errors
///
/// The outer error is an allocation failure; the inner results say, per
/// query, whether it was found.
///
/// Walking kallsyms takes a while for many queries (it reschedules): call
/// this without holding the registry mutex.
pub(crate) fn resolve(
    queries: &[Query<'_>],
) -> Result<KVec<core::result::Result<usize, LookupError>>> {
    if queries.is_empty() {
        return Ok(KVec::new());
    }
    let mut found: KVec<Matches> = KVec::with_capacity(queries.len(), GFP_KERNEL)?;
    for _ in queries {
        found.push(Matches::default(), GFP_KERNEL)?;
    }
    // Module symbols, from each module's own table.
    for i in 0..queries.len() {
        let Some(object) = queries[i].object else {
            continue;
        };
        if found[i].object_seen || queries[..i].iter().any(|q| q.object == Some(object)) {
            continue;
        }
        let mut mine = KVec::new();
        for (j, q) in queries.iter().enumerate().skip(i) {
            if q.object == Some(object) {
                mine.push(j, GFP_KERNEL)?;
            }
        }
        let mut walk = ModuleWalk {
            mine,
            queries,
            found: &mut found,
        };
        // SAFETY: `object` is a C string; the callback takes `walk` back,
        // which lives across the call, and does not sleep.
        let r = unsafe {
            dynamos_module_symbols(object.as_char_ptr(), module_symbol, (&raw mut walk).cast())
        };
        if r == 0 {
            for &j in walk.mine.iter() {
                walk.found[j].object_seen = true;
            }
        }
    }
    // vmlinux symbols, from the kernel's own kallsyms, as livepatch counts
    // them: every symbol of the name, of any type.
    for (q, m) in queries.iter().zip(found.iter_mut()) {
        if q.object.is_none() {
            super::ksyms::each_vmlinux_symbol(q.name, &mut |addr| {
                m.record_match(q.sympos, addr);
                true
            });
        }
    }
    let mut out = KVec::with_capacity(queries.len(), GFP_KERNEL)?;
    for (q, m) in queries.iter().zip(found.iter()) {
        out.push(m.outcome(q.object.is_some(), q.sympos), GFP_KERNEL)?;
    }
    Ok(out)
}

/// The size in bytes of the function starting at `addr`, from kallsyms.
pub(crate) fn function_size(addr: usize) -> Option<usize> {
    // KSYM_SYMBOL_LEN is about 512 bytes.
    let mut buf = [0u8; 512];
    // SAFETY: `buf` is at least KSYM_SYMBOL_LEN bytes long.
    unsafe { bindings::sprint_symbol(buf.as_mut_ptr().cast(), addr) };
    let len = buf.iter().position(|&b| b == 0)?;
    symtext::size_from_sprint(&buf[..len])
}

/// `addr` as `name+off/size [module]`, in `buf`.
pub(crate) fn symbol(addr: usize, buf: &mut [u8; 512]) -> &str {
    // SAFETY: `buf` is at least KSYM_SYMBOL_LEN bytes long.
    unsafe { bindings::sprint_symbol(buf.as_mut_ptr().cast(), addr) };
    symtext::c_text(&buf[..])
}
