// SPDX-License-Identifier: GPL-2.0
//! Tests of `src/logic/symtext.rs`.

use crate::symtext::*;

/// Feeds `(kind, name, addr)` symbols to a fresh [`Matches`] for `want`.
fn scan(want: &[u8], sympos: u32, syms: &[(u8, &[u8], usize)]) -> Matches {
    let mut m = Matches::default();
    for &(kind, name, addr) in syms {
        m.record(want, sympos, kind, name, addr);
    }
    m
}

#[test]
fn vmlinux_positions_count_every_match() {
    // kallsyms_on_each_match_symbol() hands every symbol of the name, of
    // any type, as livepatch counts them.
    let mut m = Matches::default();
    for addr in [0x100, 0x200, 0x300] {
        m.record_match(2, addr);
    }
    assert_eq!(m.count, 3);
    assert_eq!(m.outcome(false, 2), Ok(0x200));
    assert_eq!(m.outcome(false, 0), Err(LookupError::Ambiguous(3)));
}

#[test]
fn vmlinux_unique_match_without_position() {
    let mut m = Matches::default();
    m.record_match(0, 0x100);
    assert_eq!(m.outcome(false, 0), Ok(0x100));
}

#[test]
fn vmlinux_no_match_is_not_found() {
    assert_eq!(
        Matches::default().outcome(false, 0),
        Err(LookupError::NotFound)
    );
}

#[test]
fn klp_object_of_a_module_symbol() {
    assert_eq!(
        klp_object(b".klp.sym.dynamos_target.dynamos_dup,2"),
        Some(&b"dynamos_target"[..])
    );
}

#[test]
fn klp_object_of_vmlinux_is_none() {
    assert_eq!(klp_object(b".klp.sym.vmlinux.kallsyms_lookup_name,0"), None);
}

#[test]
fn klp_object_of_other_or_malformed_names_is_none() {
    for bad in [
        &b"kallsyms_lookup_name"[..],
        b".klp.sym.",
        b".klp.sym.nodot",
        b".klp.sym..name,0",
        b".klp.rela.vmlinux.text",
    ] {
        assert_eq!(klp_object(bad), None, "{:?}", core::str::from_utf8(bad));
    }
}

#[test]
fn kallsyms_text_kinds_are_t_and_t_upper() {
    assert!(is_text(b't'));
    assert!(is_text(b'T'));
    for k in [b'd', b'D', b'b', b'B', b'r', b'R', b'W', b'w', b'U', b'a'] {
        assert!(!is_text(k), "{}", k as char);
    }
}

#[test]
fn unique_text_symbol_is_found() {
    let m = scan(
        b"f",
        0,
        &[(b'T', b"g", 0x10), (b'T', b"f", 0x20), (b'T', b"h", 0x30)],
    );
    assert_eq!(m.count, 1);
    assert_eq!(m.outcome(false, 0), Ok(0x20));
}

#[test]
fn several_symbols_with_sympos_0_are_ambiguous() {
    let m = scan(
        b"f",
        0,
        &[(b't', b"f", 0x10), (b'T', b"f", 0x20), (b't', b"f", 0x30)],
    );
    assert_eq!(m.outcome(false, 0), Err(LookupError::Ambiguous(3)));
}

#[test]
fn two_symbols_with_sympos_0_are_ambiguous() {
    let m = scan(b"f", 0, &[(b't', b"f", 0x10), (b't', b"f", 0x20)]);
    assert_eq!(m.outcome(false, 0), Err(LookupError::Ambiguous(2)));
}

#[test]
fn sympos_0_keeps_the_first_address() {
    let m = scan(
        b"f",
        0,
        &[(b't', b"f", 0x10), (b'T', b"f", 0x20), (b't', b"f", 0x30)],
    );
    assert_eq!((m.count, m.addr), (3, 0x10));
}

#[test]
fn sympos_picks_the_nth_symbol_of_the_name() {
    let syms: &[(u8, &[u8], usize)] = &[
        (b't', b"f", 0x10),
        (b'T', b"g", 0x18),
        (b't', b"f", 0x20),
        (b't', b"f", 0x30),
    ];
    for (pos, addr) in [(1, 0x10), (2, 0x20), (3, 0x30)] {
        assert_eq!(scan(b"f", pos, syms).outcome(false, pos), Ok(addr));
    }
}

#[test]
fn sympos_1_of_a_unique_symbol_is_it() {
    let m = scan(b"f", 1, &[(b'T', b"f", 0x40)]);
    assert_eq!(m.outcome(false, 1), Ok(0x40));
}

#[test]
fn sympos_beyond_the_count_is_not_found() {
    let syms: &[(u8, &[u8], usize)] = &[(b't', b"f", 0x10), (b't', b"f", 0x20)];
    assert_eq!(
        scan(b"f", 3, syms).outcome(false, 3),
        Err(LookupError::NotFound)
    );
}

#[test]
fn no_symbol_of_the_name_is_not_found() {
    let m = scan(b"f", 0, &[(b'T', b"g", 0x10)]);
    assert_eq!(m.count, 0);
    assert_eq!(m.outcome(false, 0), Err(LookupError::NotFound));
}

#[test]
fn module_positions_count_every_type_as_livepatch() {
    // module_kallsyms_on_each_symbol() hands livepatch every symbol of the
    // module, data included: positions count them all.
    let syms: &[(u8, &[u8], usize)] = &[
        (b'd', b"f", 0x10),
        (b'D', b"f", 0x11),
        (b'b', b"f", 0x12),
        (b'B', b"f", 0x13),
        (b'r', b"f", 0x14),
        (b'R', b"f", 0x15),
        (b'T', b"f", 0x20),
    ];
    assert_eq!(scan(b"f", 0, syms).count, 7);
    assert_eq!(
        scan(b"f", 0, syms).outcome(false, 0),
        Err(LookupError::Ambiguous(7))
    );
    assert_eq!(scan(b"f", 7, syms).outcome(false, 7), Ok(0x20));
}

#[test]
fn a_position_on_data_is_not_text() {
    let syms: &[(u8, &[u8], usize)] = &[(b't', b"f", 0x10), (b'd', b"f", 0x20)];
    assert_eq!(
        scan(b"f", 2, syms).outcome(false, 2),
        Err(LookupError::NotText)
    );
    assert_eq!(scan(b"f", 1, syms).outcome(false, 1), Ok(0x10));
    assert_eq!(
        scan(b"f", 0, &[(b'D', b"f", 0x20)]).outcome(false, 0),
        Err(LookupError::NotText)
    );
}

#[test]
fn a_weak_function_is_text() {
    assert_eq!(
        scan(b"f", 0, &[(b'W', b"f", 0x20)]).outcome(false, 0),
        Ok(0x20)
    );
    assert_eq!(
        scan(b"f", 0, &[(b'w', b"f", 0x20)]).outcome(false, 0),
        Ok(0x20)
    );
}

#[test]
fn lower_and_upper_t_are_both_counted() {
    let m = scan(b"f", 2, &[(b't', b"f", 0x10), (b'T', b"f", 0x20)]);
    assert_eq!(m.count, 2);
    assert_eq!(m.outcome(false, 2), Ok(0x20));
}

#[test]
fn other_names_are_ignored_even_prefixes() {
    let syms: &[(u8, &[u8], usize)] = &[
        (b'T', b"fo", 0x10),
        (b'T', b"foo.cold", 0x11),
        (b'T', b"FOO", 0x12),
        (b'T', b"foo", 0x20),
    ];
    let m = scan(b"foo", 0, syms);
    assert_eq!(m.count, 1);
    assert_eq!(m.outcome(false, 0), Ok(0x20));
}

#[test]
fn module_query_without_its_module_is_no_object() {
    // Even with a match: the module was not seen, so nothing counts.
    let m = scan(b"f", 0, &[(b'T', b"f", 0x20)]);
    assert_eq!(m.outcome(true, 0), Err(LookupError::NoObject));
    let empty = Matches::default();
    assert_eq!(empty.outcome(true, 0), Err(LookupError::NoObject));
}

#[test]
fn module_query_with_its_module_seen_resolves() {
    let mut m = scan(b"f", 0, &[(b't', b"f", 0x20)]);
    m.object_seen = true;
    assert_eq!(m.outcome(true, 0), Ok(0x20));
    let none = Matches {
        object_seen: true,
        ..Matches::default()
    };
    assert_eq!(none.outcome(true, 0), Err(LookupError::NotFound));
}

#[test]
fn function_size_of_a_function_start() {
    assert_eq!(size_from_sprint(b"do_thing+0x0/0x80 [mod]"), Some(0x80));
    assert_eq!(size_from_sprint(b"do_thing+0x0/0x1a0"), Some(0x1a0));
}

#[test]
fn function_size_needs_offset_0() {
    assert_eq!(size_from_sprint(b"do_thing+0x4/0x80 [mod]"), None);
    assert_eq!(size_from_sprint(b"do_thing+0x10/0x80"), None);
}

#[test]
fn function_size_needs_a_size() {
    assert_eq!(size_from_sprint(b"do_thing+0x0"), None);
    assert_eq!(size_from_sprint(b"do_thing"), None);
    assert_eq!(size_from_sprint(b"0xffffffff81000000"), None);
    assert_eq!(size_from_sprint(b""), None);
}

#[test]
fn function_size_refuses_bad_hex() {
    assert_eq!(size_from_sprint(b"do_thing+0x0/0xzz [mod]"), None);
    assert_eq!(size_from_sprint(b"do_thing+0x0/80"), None);
    assert_eq!(size_from_sprint(b"do_thing+0x0/0x"), None);
}

#[test]
fn function_size_needs_an_offset() {
    assert_eq!(size_from_sprint(b"do_thing/0x80"), None);
}

#[test]
fn c_text_stops_at_the_first_nul() {
    assert_eq!(c_text(b"kworker/0:1\0\0garbage"), "kworker/0:1");
}

#[test]
fn c_text_without_nul_is_the_whole_buffer() {
    assert_eq!(c_text(b"bash"), "bash");
}

#[test]
fn c_text_of_non_utf8_is_a_question_mark() {
    assert_eq!(c_text(b"ab\xff\xfe\0"), "?");
}

#[test]
fn c_text_empty() {
    assert_eq!(c_text(b""), "");
    assert_eq!(c_text(b"\0abc"), "");
}
