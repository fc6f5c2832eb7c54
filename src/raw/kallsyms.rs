// SPDX-License-Identifier: GPL-2.0

//! Symbol lookup for out-of-tree code.
//!
//! `kallsyms_lookup_name()` and `kallsyms_on_each_symbol()` are not exported
//! to modules. kprobes resolve a name, but only the first of several
//! symbols with that name, so they cannot honour a position. dynamos
//! therefore reads `/proc/kallsyms` once per patch: it lists every symbol,
//! vmlinux first and then each module's, in the order that livepatch's
//! `sympos` counts. Addresses are readable because the read happens in the
//! context of the (root) task loading or enabling the patch; with
//! `kptr_restrict=2` they read as zero and resolution fails with `EPERM`.
//!
//! A module's symbols are read from the module itself instead (a C helper
//! walks its symbol table, in the same order): a patch whose targets are all
//! in modules does not read `/proc/kallsyms` at all, which takes most of
//! the time of enabling a small patch.
//!
//! The size of a function comes from `sprint_symbol()` ("name+off/size").

pub(crate) use crate::logic::symtext::LookupError;
use crate::logic::symtext::{self, Matches};
use kernel::{
    bindings, c_str,
    ffi::{c_char, c_int, c_ulong, c_void},
    prelude::*,
    str::CStr,
};

extern "C" {
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

/// Resolves every query in one pass over `/proc/kallsyms`. Only text
/// symbols (types `t` and `T`) match.
///
/// # Errors
///
/// The outer error is an I/O failure (or `EPERM` when addresses are
/// hidden); the inner results say, per query, whether it was found.
///
/// Reading `/proc/kallsyms` takes seq_file locks: call this without holding
/// the registry mutex.
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
    // vmlinux symbols, from `/proc/kallsyms`, if any are wanted.
    if queries.iter().any(|q| q.object.is_none()) {
        let mut hidden = true;
        each_line(|line| {
            let Some((addr, kind, name, module)) = symtext::parse_line(line) else {
                return;
            };
            if addr != 0 {
                hidden = false;
            }
            if module.is_some() {
                return;
            }
            for (q, m) in queries.iter().zip(found.iter_mut()) {
                if q.object.is_none() {
                    m.record(q.name.to_bytes(), q.sympos, kind, name, addr);
                }
            }
        })?;
        if hidden {
            pr_err!("/proc/kallsyms shows no addresses (kptr_restrict?): cannot resolve symbols\n");
            return Err(EPERM);
        }
    }
    let mut out = KVec::with_capacity(queries.len(), GFP_KERNEL)?;
    for (q, m) in queries.iter().zip(found.iter()) {
        out.push(m.outcome(q.object.is_some(), q.sympos), GFP_KERNEL)?;
    }
    Ok(out)
}

/// Reads the next bytes of the seq_file `file` at `*pos` into `out`.
///
/// `/proc/kallsyms` has no `read_iter`, so `kernel_read()` refuses it;
/// `seq_read_iter()` on a kernel buffer (a kvec iterator) does the same job.
fn read_some(file: *mut bindings::file, out: &mut [u8], pos: &mut bindings::loff_t) -> isize {
    let vec = bindings::kvec {
        iov_base: out.as_mut_ptr().cast::<c_void>(),
        iov_len: out.len(),
    };
    // SAFETY: All-zero is a valid `kiocb` and `iov_iter`; the fields that
    // matter are set below and by `iov_iter_kvec()`.
    let (mut iocb, mut iter): (bindings::kiocb, bindings::iov_iter) =
        unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
    iocb.ki_filp = file;
    iocb.ki_pos = *pos;
    // SAFETY: `vec` describes `out`, valid for writes for this call.
    unsafe { bindings::iov_iter_kvec(&mut iter, bindings::ITER_DEST, &vec, 1, out.len()) };
    // SAFETY: `file` is an open seq_file (its `private_data` is the
    // `seq_file` set up by its open method); `iocb` and `iter` are valid.
    let n = unsafe { bindings::seq_read_iter(&mut iocb, &mut iter) };
    *pos = iocb.ki_pos;
    n
}

/// Calls `f` on each line of `/proc/kallsyms`, without the newline.
fn each_line(mut f: impl FnMut(&[u8])) -> Result {
    let path = c_str!("/proc/kallsyms");
    // SAFETY: `path` is a valid NUL-terminated string.
    let file = unsafe { bindings::filp_open(path.as_char_ptr(), bindings::O_RDONLY as i32, 0) };
    let file = kernel::error::from_err_ptr(file).inspect_err(|e| {
        pr_err!("cannot open /proc/kallsyms ({})\n", e.to_errno());
    })?;
    let mut buf: KVec<u8> = KVec::with_capacity(16384, GFP_KERNEL)?;
    buf.resize(16384, 0, GFP_KERNEL)?;
    let mut pos: bindings::loff_t = 0;
    let mut have = 0usize;
    let res = loop {
        let n = read_some(file, &mut buf[have..], &mut pos);
        if n < 0 {
            break Err(Error::from_errno(n as i32));
        }
        let end = have + n as usize;
        let mut start = 0;
        while let Some(nl) = buf[start..end].iter().position(|&b| b == b'\n') {
            f(&buf[start..start + nl]);
            start += nl + 1;
        }
        if n == 0 {
            if start < end {
                f(&buf[start..end]);
            }
            break Ok(());
        }
        buf.copy_within(start..end, 0);
        have = end - start;
        if have == buf.len() {
            // A line longer than the buffer: kallsyms has none.
            break Err(EINVAL);
        }
    };
    // SAFETY: `file` was opened above and is closed once.
    unsafe { bindings::filp_close(file, core::ptr::null_mut()) };
    res
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
