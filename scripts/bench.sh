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
#
# Results in .results/bench/: bench.json, bench.csv, results.rst, bench.svg,
# and per mode the raw records (<mode>/bench.txt) and console log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$DYNAMOS_TOP/scripts/build.sh" modules

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
		"${opts[@]}" -- "DYNAMOS_RESULTS=$dir $DYNAMOS_TOP/scripts/bench-guest.sh" ||
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
