// SPDX-License-Identifier: GPL-2.0

//! Symbol text: `sprint_symbol()`'s "name+off/size [module]", livepatch
//! symbol names, and how a symbol's position (livepatch's `sympos`) picks
//! one of several symbols of the same name.

/// Why a symbol query failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum LookupError {
    /// The module named as the symbol's object is not loaded.
    NoObject,
    /// No symbol of that name (or not that many).
    NotFound,
    /// Several symbols of that name and the position was 0.
    Ambiguous(u32),
    /// The symbol at that position is not code (data of the same name).
    NotText,
}

/// The matches seen so far for one query: a name and a 1-based position
/// among the symbols of that name, of any type, as livepatch counts them
/// (`klp_find_object_symbol()`; 0: it must be unique).
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Matches {
    /// Symbols of the wanted name seen so far.
    pub(crate) count: u32,
    /// The address of the wanted one, once seen.
    pub(crate) addr: usize,
    /// Whether the wanted one is known not to be code.
    pub(crate) not_text: bool,
    /// Whether the query's module was found (for module symbols).
    pub(crate) object_seen: bool,
}

/// Whether a kallsyms type letter is a text (code) symbol.
pub(crate) fn is_text(kind: u8) -> bool {
    kind == b't' || kind == b'T'
}

impl Matches {
    /// Counts a symbol of type `kind` called `name` at `addr` if it is
    /// called `want`, whatever its type, and keeps its address (and
    /// whether it is code) if it is the `sympos`-th (or the first, for 0).
    pub(crate) fn record(&mut self, want: &[u8], sympos: u32, kind: u8, name: &[u8], addr: usize) {
        if want != name {
            return;
        }
        self.record_match(sympos, addr);
        if sympos == 0 && self.count == 1 || sympos == self.count {
            // A weak function is code too (`w`, `W`).
            self.not_text = !(is_text(kind) || kind == b'w' || kind == b'W');
        }
    }

    /// Counts a symbol known to match, at `addr`, and keeps its address if
    /// it is the `sympos`-th (or the first, for 0).
    pub(crate) fn record_match(&mut self, sympos: u32, addr: usize) {
        self.count += 1;
        if sympos == 0 && self.count == 1 || sympos == self.count {
            self.addr = addr;
        }
    }

    /// The result of the query once every symbol was seen. `in_module` says
    /// whether the query named a module (which must then have been seen).
    pub(crate) fn outcome(&self, in_module: bool, sympos: u32) -> Result<usize, LookupError> {
        if in_module && !self.object_seen {
            Err(LookupError::NoObject)
        } else if self.count == 0 || sympos > self.count {
            Err(LookupError::NotFound)
        } else if sympos == 0 && self.count > 1 {
            Err(LookupError::Ambiguous(self.count))
        } else if self.not_text {
            Err(LookupError::NotText)
        } else {
            Ok(self.addr)
        }
    }
}

/// A hexadecimal number with no prefix, `None` on overflow or a bad digit.
fn hex(s: &[u8]) -> Option<usize> {
    if s.is_empty() {
        return None;
    }
    let mut value = 0usize;
    for &c in s {
        let digit = (c as char).to_digit(16)? as usize;
        value = value.checked_mul(16)?.checked_add(digit)?;
    }
    Some(value)
}

/// The size of a function from `sprint_symbol()`'s text for its start
/// address, "name+0x0/0x80 [module]": `None` unless the offset is 0 (the
/// address is the start of a function) and the size is readable.
pub(crate) fn size_from_sprint(text: &[u8]) -> Option<usize> {
    let text = text.split(|&b| b == b' ').next()?;
    let slash = text.iter().rposition(|&b| b == b'/')?;
    let size = hex(text[slash + 1..].strip_prefix(b"0x")?)?;
    let plus = text[..slash].iter().rposition(|&b| b == b'+')?;
    (&text[plus + 1..slash] == b"0x0").then_some(size)
}

/// The object a livepatch symbol `.klp.sym.<object>.<name>,<pos>` lives in,
/// unless it is `vmlinux`; `None` for any other symbol.
pub(crate) fn klp_object(symbol: &[u8]) -> Option<&[u8]> {
    let rest = symbol.strip_prefix(b".klp.sym.")?;
    let dot = rest.iter().position(|&c| c == b'.')?;
    let object = &rest[..dot];
    (!object.is_empty() && object != b"vmlinux").then_some(object)
}

/// The text up to the first NUL of a fixed buffer (a C string in an array),
/// as UTF-8, or "?" if it is not.
pub(crate) fn c_text(buf: &[u8]) -> &str {
    let len = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    core::str::from_utf8(&buf[..len]).unwrap_or("?")
}
