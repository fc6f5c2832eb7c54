#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The layering check of src/ (run by `make check`).

src/ is built in layers (Documentation/design.rst, "Source files"):

    1 logic/     pure decisions: no kernel crate, no allocation, no unsafe
    2 raw/       every unsafe call into C, behind safe APIs
    3 mech/      editions, sites, draining, lazy state, safe points
    4 registry/  the model: patches, transitions, subsystems, modules
    5 api/       the boundaries: C entry points, sysfs handlers

A file may use files of its own layer and of the layers below it, never a
higher one. `abi.rs` (the C contract with patch modules) is below every
layer; the crate root `dynamos.rs` wires the layers together and may use
them all. `dynamos_patch.rs` is the patch modules' side and not part of
the core's graph.

Besides the order, the check finds import circles between files (in any
layer), and enforces two rules on what a layer may hold: no `unsafe` outside
raw/, and no `kernel::` use, allocation or `unsafe` in logic/.

Edges are read from `use` declarations and from inline `crate::`/`super::`
paths, each resolved to the file that defines the module it names.

Exit code 0 when everything holds; 1 otherwise, with one line per finding.
`--graph` prints the edges; `--stats` the unsafe blocks per file.
"""

import os
import re
import sys

LAYERS = {"logic": 1, "raw": 2, "mech": 3, "registry": 4, "api": 5}

# Unsafe code allowed outside raw/, per file: none. (A ceiling per file
# that may only go down, had a file to be let off while its wrapper in
# raw/ is written.)
UNSAFE_CEILING = {
    # The C contract's `unsafe impl Sync for StateDesc`: patch modules
    # include abi.rs too, and share the descriptor with dynamos.
    "abi.rs": 1,
}
BASE = {"abi": 0}
ROOT = "dynamos"
SKIP = {"dynamos_patch"}


def strip_comments(text):
    """Source without comments and string contents (so that paths in prose
    or messages are not taken for imports)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'" and i + 2 < n and (text[i + 2] == "'" or text[i + 1] == "\\"):
            # A char literal ('x' or '\n'), not a lifetime.
            j = text.find("'", i + 2 if text[i + 1] == "\\" else i + 1)
            out.append("' '")
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def modules(src):
    """Map module path (tuple) -> file, for every .rs file under src/."""
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            parts = tuple(rel[:-3].split(os.sep))
            if parts == (ROOT,):
                parts = ()
            mods[parts] = rel
    return mods


def use_trees(text):
    """Each `use` declaration's tree, flattened to full paths."""
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        yield from expand(m.group(1).replace("\n", " "))


def expand(tree, prefix=""):
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        for part in split_top(tree):
            part = re.sub(r"\s+as\s+\w+$", "", part.strip())
            if part:
                yield prefix + part
        return
    head = tree[:brace].strip()
    depth, end = 0, brace
    for k in range(brace, len(tree)):
        if tree[k] == "{":
            depth += 1
        elif tree[k] == "}":
            depth -= 1
            if depth == 0:
                end = k
                break
    inner = tree[brace + 1 : end]
    for part in split_top(inner):
        yield from expand(part, prefix + head)
    rest = tree[end + 1 :].lstrip(" ,")
    if rest:
        yield from expand(rest, prefix)


def split_top(s):
    parts, depth, cur = [], 0, []
    for c in s:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def resolve(path, here, mods):
    """The module file a path like `crate::a::b::Item` or `super::x` names."""
    segs = [s for s in re.split(r"\s*::\s*", path) if s]
    if not segs:
        return None
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        base = list(here)
        # `here` is the module itself; for a file `x.rs` with children in
        # `x/`, `self::` is `x` and `super::` its parent.
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    else:
        return None
    best = None
    cur = list(base)
    if tuple(cur) in mods:
        best = tuple(cur)
    for s in segs:
        cur.append(s)
        if tuple(cur) in mods:
            best = tuple(cur)
        else:
            break
    return best


def layer(mod):
    if mod == ():
        return None
    if mod[0] in LAYERS:
        return LAYERS[mod[0]]
    if mod[0] in BASE:
        return BASE[mod[0]]
    return -1


def name(mod):
    return "/".join(mod) if mod else ROOT


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = os.path.join(top, "src")
    mods = modules(src)
    graph, findings, pending, unsafe_count = {}, [], [], {}
    for mod, rel in sorted(mods.items()):
        if mod and mod[0] in SKIP:
            continue
        with open(os.path.join(src, rel)) as f:
            raw_text = f.read()
        text = strip_comments(raw_text)
        paths = set(use_trees(text))
        paths |= set(re.findall(r"\b(?:crate|super)(?:\s*::\s*\w+)+", text))
        edges = set()
        for p in paths:
            target = resolve(p, mod, mods)
            if target is None or target == mod:
                continue
            # A module's own children are below it in the tree, not
            # imports of it: `x.rs` declaring `mod y;` is no edge, but
            # `x.rs` using `x/y.rs` items is.
            edges.add(target)
        graph[mod] = edges
        mine = layer(mod)
        for t in sorted(edges):
            theirs = layer(t)
            if mod == () or theirs is None:
                continue
            if mine == -1 or theirs == -1:
                findings.append(f"{rel}: outside the layers (uses {name(t)})")
            elif theirs > mine:
                findings.append(
                    f"{rel} (layer {mine}) uses {name(t)} (layer {theirs}): "
                    "a lower layer may not use a higher one"
                )
        # Unsafe code: blocks, unsafe fn and impl, named unsafe extern fns,
        # global_lock!'s unsafe(uninit). Types of C function pointers
        # (`unsafe extern "C" fn(..)`) are not code.
        n = len(re.findall(r'\bunsafe\s*(?:\{|\(|impl\b|fn\s+\w|extern\s+""\s+fn\s+\w)', text))
        unsafe_count[rel] = n
        if mod and mod[0] == "logic":
            if re.search(r"\bkernel\s*::|\bbindings\s*::", text):
                findings.append(f"{rel}: logic/ may not use the kernel crate")
            if re.search(r"\b(KVec|KBox|Arc|Vec|Box|String|CString)\b", text):
                findings.append(f"{rel}: logic/ may not allocate")
            if re.search(r"\bunsafe\b", text):
                findings.append(f"{rel}: logic/ may not hold unsafe code")
        elif n and not (mod and mod[0] == "raw"):
            ceiling = UNSAFE_CEILING.get(rel, 0)
            if n > ceiling:
                findings.append(f"{rel}: {n} unsafe uses outside raw/ (at most {ceiling})")
            else:
                pending.append(f"{rel}: {n} unsafe uses still outside raw/")
    for comp in sccs(graph):
        findings.append("import circle: " + " <-> ".join(name(m) for m in comp))
    if "--graph" in sys.argv:
        for mod in sorted(graph):
            for t in sorted(graph[mod]):
                print(f"{name(mod)} -> {name(t)}")
    if "--stats" in sys.argv:
        for rel, n in sorted(unsafe_count.items()):
            if n:
                print(f"{n:4} {rel}")
    for f in findings:
        print(f)
    for p in pending:
        print("pending: " + p)
    circles = sum(1 for f in findings if f.startswith("import circle"))
    outside = sum(n for rel, n in unsafe_count.items() if not rel.startswith("raw"))
    print(
        f"layers: {len(graph)} files, {circles} import circles, "
        f"{outside} unsafe outside raw/, {len(findings)} findings"
    )
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
