#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark's smoke run, for correctness only (no time is asserted):
# scripts/bench-guest.sh with tiny runs must go through every variant
# (unpatched, dynamos steady, counted, adaptive, during a subsystem switch,
# livepatch), the function and edition scaling and the apply times, with
# every call of the patched function returning the right result, and
# leave nothing loaded.

. "$(dirname "$0")/functions.sh"

start_test "the benchmark runs every variant correctly (tiny runs)"
out=$(mktemp -d)
log_cmd "BENCH_SMOKE=1 scripts/bench-guest.sh"
BENCH_SMOKE=1 DYNAMOS_RESULTS=$out "$TOP/scripts/bench-guest.sh" >"$out/log" 2>&1 ||
	{ sed 's/^/    /' "$out/log"; die "the benchmark failed"; }
rec=$out/bench.txt
for path in kernel syscall; do
	for v in unpatched dynamos dynamos-transition dynamos-adaptive dynamos-switch livepatch; do
		grep -q "^percall $path $v 1 " "$rec" || die "no $path record for $v"
	done
	for n in 1 10; do
		grep -q "^percall $path dynamos $n 1 " "$rec" || die "no $path record for $n functions"
		grep -q "^percall $path livepatch $n 1 " "$rec" || die "no livepatch $path record for $n functions"
	done
	grep -q "^percall $path dynamos 1 2 " "$rec" || die "no $path record for 2 editions"
done
for s in dynamos livepatch; do
	for n in 1 10; do
		grep -q "^apply $s $n [0-9]" "$rec" || die "no apply time of $s for $n functions"
	done
done
log "ok: $(wc -l <"$rec") records, every call returned the right result"
for m in dynamos dynamos_bench dynamos_bench_patch dynamos_bench_stack dynamos_bench_klp; do
	is_loaded $m && die "$m is still loaded"
done
assert_absent /sys/kernel/livepatch/dynamos_bench_klp
rm -rf "$out"
