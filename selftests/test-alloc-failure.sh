#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Allocation failure at every point of enabling. With failslab's per-task
# fail-nth, the Nth slab allocation of the task that writes "enabled" fails, for
# N = 1, 2, 3, ... until enabling succeeds. Every failed attempt must leave
# nothing patched and the patch as it was.

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
FS=/sys/kernel/debug/failslab
MAX=1000

cleanup_extra() {
	[ -w "$FS/ignore-gfp-wait" ] && echo Y >"$FS/ignore-gfp-wait"
	[ -w "$FS/verbose" ] && echo 2 >"$FS/verbose"
}

no_functions() { [ -z "$(ls "$SYSFS/functions")" ]; }

start_test "allocation failures while enabling are undone"
[ -d "$FS" ] || skip "no $FS (CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS)"
[ -e /proc/thread-self/fail-nth ] || skip "no /proc/thread-self/fail-nth"
# kmemleak allocates after every allocation and switches itself off when
# that fails: the sweep would end there, untested.
[ -e /sys/kernel/debug/kmemleak ] && skip "kmemleak would take the injected failures (DEBUG=1 kernel)"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
# Count the allocations that may sleep too (most of dynamos' are); the
# global probability stays 0, so only the writing task is affected.
write_file N "$FS/ignore-gfp-wait"
# No stack dump per injected failure: it would read as a problem report.
write_file 0 "$FS/verbose"

# One line for the sweep: one command per attempt would flood the log.
log_cmd "echo 1 > $SYSFS/patches/$ADD/enabled, with its Nth allocation failing, for N = 1, 2, ... until it succeeds"
n=1
while [ $n -le $MAX ]; do
	if bash -c "echo $n >/proc/thread-self/fail-nth && echo 1 >'$SYSFS/patches/$ADD/enabled'" 2>/dev/null; then
		break
	fi
	state=$(patch_file $ADD state)
	[ "$state" = registered ] || die "state '$state' after failing allocation $n"
	no_functions || die "functions left after failing allocation $n: $(ls "$SYSFS/functions")"
	r=$(call_add 2 3)
	[ "$r" = "$(add_orig 2 3)" ] || die "add returned $r after failing allocation $n"
	n=$((n + 1))
done
write_file Y "$FS/ignore-gfp-wait"
write_file 2 "$FS/verbose"
[ $n -le $MAX ] || die "enabling never succeeded within $MAX allocations"
[ $n -gt 1 ] || die "no allocation failure was injected"
# The open and write paths alone make a few allocations; dynamos' enable
# makes dozens more. Far fewer failure points means the injection missed.
[ $n -gt 10 ] || die "only $((n - 1)) allocations could be failed: the injection does not reach dynamos"
log "ok: allocations 1 to $((n - 1)) failed in turn, each failure undone"
wait_state $ADD enabled
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add once enabling succeeded"
disable_patch $ADD
unload_mod $ADD
unload_mod "$CORE"
unload_mod "$TARGET"
