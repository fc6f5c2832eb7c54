#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks that bindgen's struct layouts match the C compiler's.

    scripts/layout.py KDIR [--list]

Rust code (patches and the core) reads kernel structures through the
`bindings` crate, which bindgen generates with clang's view of the headers;
the kernel itself is built by GCC. Where the two disagree, a Rust read of a
field lands elsewhere, silently. This compares, for every `#[repr(C)]`
struct of KDIR's rust/bindings/bindings_generated.rs that C can name, its
size, alignment and the offset of each named field, as rustc computes them
from the bindings and as the kernel's compiler computes them from the
headers (both built as one throwaway M= module against KDIR). Prints each
mismatch, naming the struct and field; exits 1 if there is any.

Each run also probes a canary that must differ: the shape that broke
task_struct (an empty ____cacheline_aligned struct inside another), laid
out in Rust as bindgen lays it out. If the canary is not caught, the check
itself is broken, and says so.
"""

import os
import re
import subprocess
import sys
import tempfile

# Field names bindgen suffixes with "_" because they are Rust keywords.
KEYWORDS = set("""as async await become box break const continue crate do dyn else
enum extern false final fn for if impl in let loop macro match mod move mut
override priv pub ref return self static struct super trait true try type
typeof unsafe unsized use virtual where while yield abstract""".split())

STRUCT = re.compile(r"^pub struct (\w+) \{(?:\}|\n(.*?)^\})", re.M | re.S)
FIELD = re.compile(r"^    pub (\w+): ", re.M)


def parse(bindings):
    """(name, [rust field names]) for each struct C may know by that name."""
    text = open(bindings).read()
    out = []
    for m in STRUCT.finditer(text):
        name, body = m.group(1), m.group(2) or ""
        if name.startswith("_") or "__bindgen" in name:
            continue
        fields = [f for f in FIELD.findall(body) if not f.startswith("_")]
        # Opaque declarations (`_unused: [u8; 0]`): nothing to compare.
        if not fields and "_unused" in body:
            continue
        out.append((name, fields))
    return out


def c_field(rust):
    """The C name of a field that bindgen may have renamed."""
    if rust.endswith("_") and rust[:-1] in KEYWORDS:
        return rust[:-1]
    return rust


def entries(structs):
    """[(struct, field or None for size/align, what)] in probe order."""
    out = []
    for name, fields in structs:
        out.append((name, None, "size"))
        out.append((name, None, "align"))
        for f in fields:
            out.append((name, f, "offset"))
    return out


def c_expr(form, name, field, what):
    ty = f"{form} {name}".strip()
    if what == "size":
        return f"sizeof({ty})"
    if what == "align":
        return f"_Alignof({ty})"
    return f"offsetof({ty}, {c_field(field)})"


def write_probe(work, ksrc, structs, forms):
    ents = entries(structs)
    lines = [
        "// SPDX-License-Identifier: GPL-2.0",
        f'#include "{ksrc}/rust/bindings/bindings_helper.h"',
        "#include <linux/module.h>",
        "#include <linux/stddef.h>",
        "MODULE_LICENSE(\"GPL\");",
        "const unsigned long dynamos_layout_c[] = {",
    ]
    line_of = {}
    for name, field, what in ents:
        line_of[len(lines) + 1] = name
        lines.append(f"\t{c_expr(forms[name], name, field, what)},")
    lines.append("};")
    lines += [
        "struct dynamos_canary_inner {} ____cacheline_aligned;",
        "struct dynamos_canary { long a; struct dynamos_canary_inner s; long b; };",
        "const unsigned long dynamos_layout_canary_c[] = {",
        "\tsizeof(struct dynamos_canary), offsetof(struct dynamos_canary, b),",
        "};",
    ]
    open(os.path.join(work, "lay_c.c"), "w").write("\n".join(lines) + "\n")
    rs = [
        "// SPDX-License-Identifier: GPL-2.0",
        "//! Layout probe (scripts/layout.py).",
        "use kernel::bindings as b;",
        "kernel::prelude::module! { type: L, name: \"lay_r\", authors: [\"dynamos\"],",
        "    description: \"layout probe\", license: \"GPL\", }",
        "struct L;",
        "impl kernel::Module for L {",
        "    fn init(_m: &'static kernel::ThisModule) -> kernel::error::Result<Self> { Ok(L) }",
        "}",
        f"#[no_mangle] #[used] static DYNAMOS_LAYOUT_R: [usize; {len(ents)}] = [",
    ]
    for name, field, what in ents:
        if what == "size":
            rs.append(f"    core::mem::size_of::<b::{name}>(),")
        elif what == "align":
            rs.append(f"    core::mem::align_of::<b::{name}>(),")
        else:
            rs.append(f"    core::mem::offset_of!(b::{name}, {field}),")
    rs.append("];")
    rs += [
        "#[repr(C)] struct CanaryInner {}",
        "#[repr(C)] struct Canary { a: i64, s: CanaryInner, b: i64 }",
        "#[no_mangle] #[used] static DYNAMOS_LAYOUT_CANARY_R: [usize; 2] =",
        "    [core::mem::size_of::<Canary>(), core::mem::offset_of!(Canary, b)];",
    ]
    open(os.path.join(work, "lay_r.rs"), "w").write("\n".join(rs) + "\n")
    return ents, line_of


def build(kdir, work, target):
    # The kernel's own compiler: KBUILD_CC is scripts/lib.sh's kbuild_cc
    # (LLVM=-N for a clang-built kernel, empty for GCC).
    cc = os.environ.get("KBUILD_CC", "").split()
    if any(a.startswith("LLVM=") for a in cc):
        # clang stops after 20 errors; each try must see every bad line.
        cc.append("KCFLAGS=-ferror-limit=0")
    return subprocess.run(
        ["make", "-C", kdir, f"M={work}", *cc, f"{target}.o"],
        capture_output=True, text=True)


def array(obj, symbol, n):
    """The n 8-byte values of `symbol` in object file `obj`."""
    table = subprocess.run(["objdump", "-t", obj], capture_output=True, text=True, check=True)
    for line in table.stdout.splitlines():
        parts = line.split()
        if parts and parts[-1] == symbol:
            addr, section = int(parts[0], 16), parts[-3]
            break
    else:
        sys.exit(f"layout: no {symbol} in {obj}")
    dump = os.path.join(os.path.dirname(obj), symbol + ".bin")
    subprocess.run(["objcopy", "-O", "binary", f"--only-section={section}", obj, dump], check=True)
    data = open(dump, "rb").read()[addr:addr + 8 * n]
    return [int.from_bytes(data[i:i + 8], "little") for i in range(0, len(data), 8)]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    kdir = os.path.abspath(sys.argv[1])
    ksrc = os.path.realpath(os.path.join(kdir, "source"))
    bindings = os.path.join(kdir, "rust/bindings/bindings_generated.rs")
    structs = parse(bindings)
    forms = {name: "struct" for name, _ in structs}
    with tempfile.TemporaryDirectory(prefix="dynamos-layout-") as work:
        open(os.path.join(work, "Kbuild"), "w").write("obj-m += lay_c.o lay_r.o\n")
        # C cannot name every bindgen struct as "struct NAME": typedefs of
        # anonymous structs are "NAME"; the rest are dropped.
        for _ in range(8):
            ents, line_of = write_probe(work, ksrc, structs, forms)
            res = build(kdir, work, "lay_c")
            if res.returncode == 0:
                break
            bad = {line_of[int(m)] for m in re.findall(r"lay_c\.c:(\d+):\d+: error", res.stderr)
                   if int(m) in line_of}
            if not bad:
                sys.exit("layout: the C probe does not build:\n" + res.stderr[-3000:])
            for name in bad:
                if forms[name] == "struct":
                    forms[name] = ""
                else:
                    structs = [s for s in structs if s[0] != name]
                    del forms[name]
        else:
            sys.exit("layout: the C probe does not build after 8 tries:\n" + res.stderr[-3000:])
        res = build(kdir, work, "lay_r")
        if res.returncode != 0:
            sys.exit("layout: the Rust probe does not build:\n" + res.stderr[-3000:])
        c = array(os.path.join(work, "lay_c.o"), "dynamos_layout_c", len(ents))
        r = array(os.path.join(work, "lay_r.o"), "DYNAMOS_LAYOUT_R", len(ents))
        canary_c = array(os.path.join(work, "lay_c.o"), "dynamos_layout_canary_c", 2)
        canary_r = array(os.path.join(work, "lay_r.o"), "DYNAMOS_LAYOUT_CANARY_R", 2)
    if canary_c == canary_r:
        print(f"layout: the check is broken: its canary (C {canary_c}, Rust {canary_r}) was not caught")
        return 1
    bad = []
    moved = set()
    for (name, field, what), cv, rv in zip(ents, c, r):
        if cv == rv:
            continue
        if what == "offset":
            if name in moved:
                continue  # the first field that moved says it; the rest follow
            moved.add(name)
        where = f"{name}.{field} offset" if field else f"{name} {what}"
        bad.append(f"bindings::{where}: {rv:#x} in Rust, {cv:#x} in C")
    checked = len({e[0] for e in ents})
    for line in bad:
        print(f"layout: {line}")
    if bad:
        print(f"layout: {len(bad)} mismatches in {checked} structs of {bindings}")
        return 1
    print(f"layout: {checked} structs, {len(ents)} sizes, alignments and offsets match"
          " (the canary, an empty aligned struct, is caught)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
