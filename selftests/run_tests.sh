#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs every selftest in this folder (test-*.sh, in name order) inside the
# guest and prints KTAP. Each test's output is shown as KTAP diagnostics.
#
#   run_tests.sh [TEST...]
#
# DYNAMOS_RESULTS, if set, receives ktap.txt and dmesg.log;
# DYNAMOS_TEST_TIMEOUT overrides each test's limit (settings: timeout=).
# Exit code: 0 when nothing failed (skips are fine), 1 otherwise.

cd "$(dirname "$0")" || exit 1
results=${DYNAMOS_RESULTS:-}
timeout_s=$(sed -n 's/^timeout=//p' settings 2>/dev/null)
timeout_s=${DYNAMOS_TEST_TIMEOUT:-${timeout_s:-120}}
# A debug kernel (kmemleak is the sign; lockdep, and KASAN on the clang
# one) runs several times slower under TCG.
[ -e /sys/kernel/debug/kmemleak ] && timeout_s=$((timeout_s * 3))

if [ $# -gt 0 ]; then tests=("$@"); else tests=(test-*.sh); fi

# reset_guest: after a test that was killed (its timeout), undo what it
# left: wake its sleepers, disable every patch, unload every test module,
# so that the tests after it start clean instead of failing with "File
# exists". Prints what it could not unload.
reset_guest() {
	local f mods i
	for f in /sys/kernel/debug/dynamos_*/release; do [ -e "$f" ] && echo 1 >"$f" 2>/dev/null; done
	for f in /sys/kernel/dynamos/patches/*/enabled /sys/kernel/livepatch/*/enabled; do
		[ -e "$f" ] && echo 0 >"$f" 2>/dev/null
	done
	for i in $(seq 60); do
		mods=$(awk '$1 ~ /^dynamos/ { print $1 }' /proc/modules)
		[ -z "$mods" ] && return 0
		for f in $mods; do rmmod "$f" 2>/dev/null; done
		sleep 1
	done
	echo "# reset after the timeout: still loaded: $(echo $mods)"
}

run() {
	local n=0 pass=0 fail=0 skip=0 t rc out
	echo "TAP version 13"
	echo "1..${#tests[@]}"
	for t in "${tests[@]}"; do
		n=$((n + 1))
		echo "# selftests: dynamos: $t"
		out=$(timeout -k 5 "$timeout_s" bash "./$t" 2>&1)
		rc=$?
		printf '%s\n' "$out" | sed 's/^/# /'
		case $rc in
		0) echo "ok $n selftests: dynamos: $t"; pass=$((pass + 1)) ;;
		4) echo "ok $n selftests: dynamos: $t # SKIP $(printf '%s\n' "$out" | sed -n 's/^SKIP: //p' | tail -n 1)"
			skip=$((skip + 1)) ;;
		124 | 137) echo "not ok $n selftests: dynamos: $t # TIMEOUT ${timeout_s} seconds"; fail=$((fail + 1)) ;;
		*) echo "not ok $n selftests: dynamos: $t # exit=$rc"; fail=$((fail + 1)) ;;
		esac
		case $rc in 124 | 137) reset_guest ;; esac
	done
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	[ "$fail" -eq 0 ]
}

if [ -n "$results" ]; then
	run | tee "$results/ktap.txt"
	rc=${PIPESTATUS[0]}
	# Debug kernels: have kmemleak scan now rather than in 10 minutes; a
	# report lands in dmesg ("kmemleak: N new suspected memory leaks").
	if [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan >/sys/kernel/debug/kmemleak
		cat /sys/kernel/debug/kmemleak >"$results/kmemleak.txt"
	fi
	dmesg >"$results/dmesg.log"
else
	run
	rc=$?
fi
exit "$rc"
