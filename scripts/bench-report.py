#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the benchmark's records (scripts/bench-guest.sh) into a table on the
terminal, JSON, CSV, an RST page fragment and a plot.

    bench-report.py --run MODE=FILE [--run MODE=FILE ...] [--json F] [--csv F]
                    [--rst F] [--plot F.svg]

MODE names how the VM ran (tcg: wall-clock time under TCG; icount: QEMU
-icount shift=0,sleep=off, where guest time counts instructions, 1 ns each).
The plot needs matplotlib; without it, that step is skipped with a note.
"""
import argparse
import csv
import json
import sys

TARGETS = [
    # variant, limit as a fraction of livepatch's overhead
    ("dynamos", 0.1, "steady state"),
    ("dynamos-transition", 1.0, "consistent transition path"),
    ("dynamos-adaptive", 1.0, "adaptive path"),
]


def parse(path):
    out = {"percall": [], "apply": [], "apply_vmlinux": [], "switch": []}
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "percall":
                out["percall"].append({
                    "path": w[1], "variant": w[2], "funcs": int(w[3]),
                    "editions": int(w[4]), "median_ns": float(w[5]),
                    "min_ns": float(w[6]), "max_ns": float(w[7]),
                    "repeats": int(w[8]), "calls": int(w[9])})
            elif w[0] == "apply":
                # apply SYSTEM FUNCS MS EN MIN MAX REPS (medians; EN "-"
                # for livepatch), or the older apply SYSTEM FUNCS MS [EN].
                rec = {"system": w[1], "funcs": int(w[2]), "ms": round(float(w[3]))}
                if len(w) > 4 and w[4] != "-":
                    rec["enable_ms"] = round(float(w[4]))
                if len(w) > 7:
                    rec.update(min_ms=round(float(w[5])), max_ms=round(float(w[6])), repeats=int(w[7]))
                out["apply"].append(rec)
            elif w[0] == "apply_vmlinux":
                out["apply_vmlinux"].append({
                    "system": w[1], "ms": round(float(w[2])), "min_ms": round(float(w[3])),
                    "max_ms": round(float(w[4])), "repeats": int(w[5])})
            elif w[0] == "switch":
                v = w[2]
                rec = {"system": w[1]}
                if v.startswith("dnf:"):
                    rec["finished"] = False
                    rec["waited_s"] = float(v[4:])
                else:
                    rec["finished"] = True
                    rec["ms"] = int(v)
                out["switch"].append(rec)
    return out


def find(recs, path, variant, funcs=1, editions=1):
    for r in recs:
        if (r["path"], r["variant"], r["funcs"], r["editions"]) == (path, variant, funcs, editions):
            return r
    return None


def base(recs, path):
    r = find(recs, path, "unpatched", 1, 0)
    return r["median_ns"] if r else None


def ratios(data):
    """Overheads over unpatched and their ratios to livepatch's."""
    out = {}
    for path in ("kernel", "syscall"):
        a = base(data["percall"], path)
        lp = find(data["percall"], path, "livepatch")
        if a is None or lp is None:
            continue
        lp_over = lp["median_ns"] - a
        for r in data["percall"]:
            if r["path"] != path or r["funcs"] != 1 or r["editions"] > 1:
                continue
            if (path, r["variant"]) in out:
                continue
            over = r["median_ns"] - a
            out[(path, r["variant"])] = (over, over / lp_over if lp_over > 0 else None)
    return out


def apply_table(recs, w):
    """One row per function count: each system's time from insmod (from the
    enable write in parentheses) and its ratio to livepatch's."""
    systems = sorted({r["system"] for r in recs},
                     key=lambda s: (s == "livepatch", s != "dynamos", s))
    by = {(r["system"], r["funcs"]): r for r in recs}
    reps = sorted({r["repeats"] for r in recs if "repeats" in r})
    w("apply time (insmod until fully switched), ms, median of "
      + ("/".join(map(str, reps)) if reps else "1") + " loads; dynamos' from its enable write in parentheses;")
    w("x: the median over livepatch's, in the same boot")
    w(f"{'funcs':>7} " + " ".join(f"{s:>26}" for s in systems))
    for n in sorted({r["funcs"] for r in recs}):
        lp = by.get(("livepatch", n))
        cells = []
        for sy in systems:
            r = by.get((sy, n))
            if r is None:
                cells.append(f"{'-':>26}")
                continue
            c = f"{r['ms']}"
            if "enable_ms" in r:
                c += f" ({r['enable_ms']})"
            if lp and sy != "livepatch" and lp["ms"] > 0:
                c += f" {r['ms'] / lp['ms']:.2f}x"
            cells.append(f"{c:>26}")
        w(f"{n:7} " + " ".join(cells))


def table(mode, data, w=print):
    unit = "instructions (1 ns each)" if mode == "icount" else "ns, wall clock under TCG"
    w(f"== {mode}: per call of dynamos_bench_f000, median of {data['percall'][0]['repeats'] if data['percall'] else 0} runs ({unit})")
    rat = ratios(data)
    w(f"{'path':8} {'variant':18} {'median':>9} {'min':>9} {'max':>9} {'overhead':>9} {'/ livepatch':>11}")
    seen = set()
    for r in data["percall"]:
        # The first record of each variant; the scaling runs repeat some.
        if r["funcs"] != 1 or r["editions"] > 1 or (r["path"], r["variant"]) in seen:
            continue
        seen.add((r["path"], r["variant"]))
        over, ratio = rat.get((r["path"], r["variant"]), (None, None))
        o = "" if over is None or r["variant"] == "unpatched" else f"{over:9.1f}"
        q = "" if ratio is None or r["variant"] == "unpatched" else f"{ratio:11.2f}"
        w(f"{r['path']:8} {r['variant']:18} {r['median_ns']:9.1f} {r['min_ns']:9.1f} {r['max_ns']:9.1f} {o:>9} {q:>11}")
    for variant, limit, what in TARGETS:
        v = rat.get(("kernel", variant))
        if not v or v[1] is None:
            continue
        verdict = "met" if v[1] <= limit else f"MISSED by {v[1] / limit:.1f}x"
        w(f"target: {what} <= {limit}x livepatch's overhead: {v[1]:.2f}x, {verdict}")
    a = base(data["percall"], "kernel")
    rows = [r for r in data["percall"] if r["path"] == "kernel" and r["variant"] in ("dynamos", "livepatch")]
    if a is not None and rows:
        w("scaling: overhead per call (kernel loop) with N patched functions / E live editions")
        for r in sorted(rows, key=lambda r: (r["variant"], r["funcs"], r["editions"])):
            w(f"  {r['variant']:10} funcs {r['funcs']:5} editions {r['editions']:2}: {r['median_ns'] - a:8.1f}")
    if data["apply"]:
        apply_table(data["apply"], w)
    if data.get("apply_vmlinux"):
        recs = data["apply_vmlinux"]
        lp = next((r for r in recs if r["system"] == "livepatch"), None)
        w(f"apply time of one static vmlinux function (cmdline_proc_show), ms from insmod, median of {recs[0]['repeats']} loads:")
        for r in sorted(recs, key=lambda r: (r["system"] == "livepatch", r["system"] != "dynamos", r["system"])):
            x = f" {r['ms'] / lp['ms']:.2f}x livepatch's" if lp and r is not lp and lp["ms"] > 0 else ""
            w(f"  {r['system']:22} {r['ms']:6} (min {r['min_ms']}, max {r['max_ms']}){x}")
    for r in data["switch"]:
        if r["finished"]:
            w(f"non-quiescent switch: {r['system']}: {r['ms']} ms")
        else:
            w(f"non-quiescent switch: {r['system']}: did not finish in {r['waited_s']:g} s")
    w("")


def rst(runs, path):
    lines = [".. Generated by scripts/bench-report.py from `make bench`; do not edit.", ""]
    for mode, data in runs.items():
        lines.append(f"{mode}")
        lines.append("~" * len(mode))
        lines.append("")
        lines.append("::")
        lines.append("")
        buf = []
        table(mode, data, w=buf.append)
        lines.extend("    " + l for l in buf)
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def plot(runs, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"note: matplotlib is missing: no plot ({path})", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for mode, data in runs.items():
        a = base(data["percall"], "kernel")
        if a is None:
            continue
        for variant in ("dynamos", "livepatch"):
            pts = sorted((r["funcs"], r["median_ns"] - a) for r in data["percall"]
                         if r["path"] == "kernel" and r["variant"] == variant and r["editions"] == 1)
            if pts:
                axes[0].plot(*zip(*pts), marker="o", label=f"{variant} ({mode})")
        pts = sorted((r["editions"], r["median_ns"] - a) for r in data["percall"]
                     if r["path"] == "kernel" and r["variant"] == "dynamos" and r["funcs"] == 1 and r["editions"] >= 1)
        if pts:
            axes[1].plot(*zip(*pts), marker="o", label=f"dynamos ({mode})")
        for system in sorted({r["system"] for r in data["apply"]}):
            pts = sorted((r["funcs"], r["ms"]) for r in data["apply"] if r["system"] == system)
            if pts:
                axes[2].plot(*zip(*pts), marker="o", label=f"{system} ({mode})")
    axes[0].set(xscale="log", xlabel="patched functions", ylabel="overhead per call (ns or instructions)",
                title="Per-call overhead vs patched functions")
    axes[1].set_xscale("log", base=2)
    axes[1].set_xticks([1, 2, 4, 8], labels=["1", "2", "4", "8"])
    axes[1].set(xlabel="live editions", ylabel="overhead per call",
                title="Per-call overhead vs live editions")
    axes[2].set(xscale="log", yscale="log", xlabel="patched functions", ylabel="ms",
                title="Apply time (insmod until switched)")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    if path.endswith(".svg"):
        fig.savefig(path[:-4] + ".png", dpi=80)
    print(f"plot: {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", required=True, help="MODE=FILE")
    ap.add_argument("--json")
    ap.add_argument("--csv")
    ap.add_argument("--rst")
    ap.add_argument("--plot")
    args = ap.parse_args()
    runs = {}
    for spec in args.run:
        mode, _, path = spec.partition("=")
        runs[mode] = parse(path)
    for mode, data in runs.items():
        table(mode, data)
    if args.json:
        out = {}
        for mode, data in runs.items():
            rat = ratios(data)
            out[mode] = dict(data, ratios=[
                {"path": p, "variant": v, "overhead": o, "ratio_to_livepatch": q}
                for (p, v), (o, q) in rat.items()])
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            c = csv.writer(f)
            c.writerow(["mode", "metric", "path", "variant", "funcs", "editions",
                        "median_ns", "min_ns", "max_ns", "repeats", "calls", "ms", "finished"])
            for mode, data in runs.items():
                for r in data["percall"]:
                    c.writerow([mode, "percall", r["path"], r["variant"], r["funcs"], r["editions"],
                                r["median_ns"], r["min_ns"], r["max_ns"], r["repeats"], r["calls"], "", ""])
                for r in data["apply"]:
                    c.writerow([mode, "apply", "", r["system"], r["funcs"], "", "", "", "", "", "", r["ms"], ""])
                    if "enable_ms" in r:
                        c.writerow([mode, "apply-enable", "", r["system"], r["funcs"], "", "", "", "", "", "",
                                    r["enable_ms"], ""])
                for r in data.get("apply_vmlinux", []):
                    c.writerow([mode, "apply-vmlinux", "", r["system"], 1, "", "", "", "",
                                r["repeats"], "", r["ms"], ""])
                for r in data["switch"]:
                    c.writerow([mode, "switch", "", r["system"], "", "", "", "", "", "", "",
                                r.get("ms", ""), int(r["finished"])])
    if args.rst:
        rst(runs, args.rst)
    if args.plot:
        plot(runs, args.plot)


if __name__ == "__main__":
    main()
