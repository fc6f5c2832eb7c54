#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: per-call cost, apply time and switch time, dynamos against
# the kernel's livepatch, each mode in one VM boot (scripts/bench-guest.sh).
#
#   BENCH_MODES="tcg icount"   which runs (default both):
#       tcg     wall-clock time under TCG, 2 vCPUs: noisy;
#       icount  QEMU -icount shift=0,sleep=off, 1 vCPU: guest time counts
#               instructions (1 ns each), so figures repeat run to run.
#   DOCS=1      also copy the table and plot into Documentation/.
#   BENCH_BEFORE=COMMIT  apply time is also measured, in the same boot, with
#               the core and bench patch of COMMIT (default: 73ee016, the
#               last commit before the core resolved its targets through
#               kallsyms_on_each_match_symbol() instead of reading
#               /proc/kallsyms); "none" skips it. They are built from
#               `git archive COMMIT` against the same kernel, outside the tree.
#
# Results in .results/bench/: bench.json, bench.csv, results.rst, bench.svg,
# and per mode the raw records (<mode>/bench.txt) and console log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$DYNAMOS_TOP/scripts/build.sh" modules

# The "before" build: that commit's own Kbuild, the current kernel.
before=${BENCH_BEFORE:-73ee016}
before_dir=
if [ "$before" != none ]; then
	commit=$(git -C "$DYNAMOS_TOP" rev-parse --verify -q "$before^{commit}") ||
		die "BENCH_BEFORE=$before is not a commit of this clone (BENCH_BEFORE=none skips it)"
	kdir=$("$DYNAMOS_TOP/scripts/build.sh" kernel | tail -n 1)
	before_dir=$DYNAMOS_CACHE/bench-before/${commit:0:12}-${kdir##*/}
	if [ ! -f "$before_dir/selftests/test_modules/dynamos_bench_patch.ko" ]; then
		rm -rf "$before_dir"
		mkdir -p "$before_dir"
		git -C "$DYNAMOS_TOP" archive "$commit" | tar -x -C "$before_dir"
		stage "building the core and bench patch of ${commit:0:12}" "$DYNAMOS_LOGS/bench-before.log" \
			make -C "$kdir" M="$before_dir" $(kbuild_cc "$kdir") -j"$(nproc)" || die "the build of $before failed"
	fi
fi

# The plot: matplotlib in dynamos' own virtualenv (created by deps.sh).
py=$DYNAMOS_CACHE/venv/bin/python3
if ! "$py" -c "import matplotlib" 2>/dev/null; then
	stage "installing matplotlib into $DYNAMOS_CACHE/venv (for the plot)" \
		"$DYNAMOS_LOGS/pip-matplotlib.log" "$DYNAMOS_CACHE/venv/bin/pip" install matplotlib ||
		{ say "no plot without matplotlib"; py=python3; }
fi

out=$DYNAMOS_TOP/.results/bench
mkdir -p "$out"
runs=()
for mode in ${BENCH_MODES:-tcg icount}; do
	dir=$out/$mode
	rm -rf "$dir"
	mkdir -p "$dir"
	case "$mode" in
	tcg) opts=() ;;
	icount) opts=(--cpus 1 --qemu-opts "-icount shift=0,sleep=off") ;;
	*) die "unknown benchmark mode $mode (tcg, icount)" ;;
	esac
	say "benchmark, $mode mode (console log: $dir/console.log)"
	start=$(date +%s)
	DYNAMOS_RESULTS=$dir "$DYNAMOS_TOP/scripts/vm.sh" --filter --timeout "${BENCH_TIMEOUT:-3000}" \
		"${opts[@]}" -- "DYNAMOS_RESULTS=$dir BENCH_BEFORE_DIR=$before_dir $DYNAMOS_TOP/scripts/bench-guest.sh" ||
		die "the $mode benchmark failed (console log: $dir/console.log)"
	say "$mode run: $(($(date +%s) - start)) s"
	runs+=(--run "$mode=$dir/bench.txt")
done

"$py" "$DYNAMOS_TOP/scripts/bench-report.py" "${runs[@]}" --json "$out/bench.json" \
	--csv "$out/bench.csv" --rst "$out/results.rst" --plot "$out/bench.svg"
if [ "${DOCS:-0}" = 1 ]; then
	cp "$out/results.rst" "$DYNAMOS_TOP/Documentation/benchmark-results.rst"
	mkdir -p "$DYNAMOS_TOP/Documentation/images"
	[ -f "$out/bench.svg" ] && cp "$out/bench.svg" "$DYNAMOS_TOP/Documentation/images/benchmark.svg"
	say "copied the table and the plot into Documentation/"
fi
say "results: $out/bench.json, $out/bench.csv, $out/bench.svg"
