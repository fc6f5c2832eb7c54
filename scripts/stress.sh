#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make stress`: the load, fault and hostile-input campaign
# (scripts/stress-guest.sh) in one boot of the KASAN kernel (lockdep, KASAN,
# UBSAN, kmemleak, hung-task detection, fault injection), 4 vCPUs.
#
#   DEBUG=gcc or 0     the GCC debug kernel (no KASAN) or the plain one
#   STRESS_OPS=N       operations of the load phase (default 1000)
#   STRESS_FAULT_MAX=N most allocations one step may make (2000)
#   STRESS_FAULT_TAIL=N a module load's last N allocations get faults (60)
#   STRESS_FAULT_STRIDE=K a fault at every Kth allocation only (default 1)
#   STRESS_PHASES=...  which phases (default: load faults hostile)
#   STRESS_TIMEOUT=S   the VM's limit (default 3000)
#
# Prints one line per phase with its figures, then "N passed, N failed":
# the phases, and the guest kernel log, which must hold no report.
set -uo pipefail
export DEBUG=${DEBUG:-1}
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
"$DYNAMOS_TOP/scripts/build.sh" modules || exit 1
RESULTS=$DYNAMOS_TOP/.results/stress
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
env=(DYNAMOS_RESULTS="$RESULTS")
for v in STRESS_OPS STRESS_FAULT_MAX STRESS_FAULT_TAIL STRESS_FAULT_STRIDE STRESS_PHASES; do
	[ -n "${!v:-}" ] && env+=("$v=${!v}")
done
say "booting the debug VM for the stress campaign (console log: $RESULTS/console.log)"
DYNAMOS_RESULTS=$RESULTS "$DYNAMOS_TOP/scripts/vm.sh" --filter --cpus 4 \
	--timeout "${STRESS_TIMEOUT:-3000}" -- "$(printf '%q ' "${env[@]}")$DYNAMOS_TOP/scripts/stress-guest.sh"
vm_rc=$?

pass=0 fail=0
phases=${STRESS_PHASES:-load faults hostile}
while IFS= read -r line; do
	echo "$line"
	case "$line" in
	"ok "*) pass=$((pass + 1)) ;;
	"not ok "*) fail=$((fail + 1)) ;;
	esac
done <"$RESULTS/stress.txt"
reported=$((pass + fail))
wanted=$(($(wc -w <<<"$phases") + 1))
if [ "$reported" -lt "$wanted" ]; then
	echo "not ok - stress: the guest reported $reported of $wanted results (VM exit $vm_rc)"
	fail=$((fail + wanted - reported))
fi
# Kernel log hygiene, as scripts/vm.sh checks it, but without the reports
# that injected allocation failures cause by design: warn_alloc()'s
# "vmalloc error:" and "page allocation failure:" dumps, each up to the end
# of its stack trace. They are counted instead.
expected=$(grep -acE 'vmalloc error:|page allocation failure:' "$RESULTS/console.log" || true)
awk '/vmalloc error:|page allocation failure:/ { skip = 1 } !skip { print } skip && /<\/TASK>/ { skip = 0 }' \
	"$RESULTS/console.log" | grep -aE "$PROBLEM_RE" | sort -u >"$RESULTS/log-problems.txt" || true
say "$expected allocation-failure reports from injected faults (expected, not counted as problems)"
if [ -s "$RESULTS/log-problems.txt" ]; then
	echo "not ok - stress: guest kernel log is free of Oops/BUG/WARNING/lockdep/KASAN/UBSAN/kmemleak/hung-task reports"
	sed 's/^/# /' "$RESULTS/log-problems.txt" | head -n 20
	fail=$((fail + 1))
else
	echo "ok - stress: guest kernel log is free of Oops/BUG/WARNING/lockdep/KASAN/UBSAN/kmemleak/hung-task reports"
	pass=$((pass + 1))
fi
say "logs: $RESULTS/console.log, $RESULTS/stress.txt; $(($(date +%s) - start)) s in all"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
