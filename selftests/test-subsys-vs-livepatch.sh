#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The headline comparison, in one boot: the same update of the same
# subsystem, whose kernel thread never returns from its loop, applied by the
# kernel's livepatch and by dynamos, under the same load.
# - livepatch (dynamos_test_klp_subsys): the transition must still be in
#   progress after $LP_WAIT s (the thread sleeps inside the patched loop
#   forever), then it is reversed and removed;
# - dynamos (dynamos_test_subsys): the switch must complete, with the
#   thread running the new loop.
# Both times are printed.

. "$(dirname "$0")/functions.sh"
KLP=dynamos_test_klp_subsys
LP_WAIT=${LP_WAIT:-5}

ms_now() { echo $(($(date +%s%N) / 1000000)); }
lp_transition() { cat "/sys/kernel/livepatch/$KLP/transition" 2>/dev/null; }

start_test "livepatch cannot switch a never-returning kthread; dynamos can"
[ -d /sys/kernel/livepatch ] || skip "the kernel has no livepatch (CONFIG_LIVEPATCH)"
load_mod "$SUB_KO"
write_file 2 "$SDBG/workers"
loop_until sdbg_at_least calls 100 || die "the workers do not run"
kpid=$(loop_field pid)

# livepatch.
t0=$(ms_now)
load_mod "$TESTMOD_DIR/$KLP.ko"
assert_eq "$(lp_transition)" 1 "livepatch transition right after loading"
deadline=$((t0 + LP_WAIT * 1000))
while [ "$(ms_now)" -lt "$deadline" ]; do
	[ "$(lp_transition)" = 1 ] || die "livepatch finished its transition: expected to stay in it"
	assert_eq "$(loop_field edition)" 0 "loop edition under livepatch"
	sleep 0.5
done
lp_ms=$(($(ms_now) - t0))
log "livepatch: did not finish in $((lp_ms / 1000)).$((lp_ms % 1000 / 100)) s (transition still 1; thread $kpid never left its loop)"
write_file 0 "/sys/kernel/livepatch/$KLP/enabled"
loop_until eval "[ ! -e /sys/kernel/livepatch/$KLP ]" || die "the livepatch did not go away"
unload_mod $KLP
assert_eq "$(sdbg mixes)" 0 "paths that mixed editions under livepatch"

# dynamos.
load_mod "$CORE_KO"
load_mod "$(test_ko subsys)"
t0=$(ms_now)
write_file 1 "$SYSFS/patches/$SUBPATCH/enabled"
wait_state $SUBPATCH enabled
dy_ms=$(($(ms_now) - t0))
loop_until loop_edition_is 1 || die "the loop thread does not run the new loop: $(sdbg loop)"
assert_eq "$(loop_field pid)" "$kpid" "loop thread pid"
log "dynamos: switched in $dy_ms ms (thread $kpid moved to the new loop at its safe point)"
assert_eq "$(sdbg mixes)" 0 "paths that mixed generations under dynamos"
[ -n "$DYNAMOS_RESULTS" ] && echo "livepatch did not finish in $LP_WAIT s; dynamos switched in $dy_ms ms" >"$DYNAMOS_RESULTS/headline.txt"
disable_patch $SUBPATCH
unload_mod $SUBPATCH
unload_mod "$CORE"
write_file 0 "$SDBG/workers"
unload_mod "$SUB"

check_result "dynamos_selftest: % insmod $SUB
dynamos_selftest: % echo 2 > $SDBG/workers
dynamos_selftest: % insmod $KLP
dynamos_selftest: % echo 0 > /sys/kernel/livepatch/$KLP/enabled
dynamos_selftest: % rmmod $KLP
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $SUBPATCH
dynamos: patch '$SUBPATCH' registered
dynamos_selftest: % echo 1 > $SYSFS/patches/$SUBPATCH/enabled
$SUBPATCH: pre_patch: 0
dynamos: enabling patch '$SUBPATCH'
$SUBPATCH: transfer forward
$SUBPATCH: post_patch
dynamos: subsystem 'dynamos_subsys': now at generation 1
dynamos: patch '$SUBPATCH' enabled
dynamos_selftest: % echo 0 > $SYSFS/patches/$SUBPATCH/enabled
$SUBPATCH: pre_unpatch: 0
dynamos: disabling patch '$SUBPATCH'
$SUBPATCH: transfer backward
$SUBPATCH: post_unpatch
dynamos: subsystem 'dynamos_subsys': now at generation 0
dynamos: patch '$SUBPATCH' disabled
dynamos_selftest: % rmmod $SUBPATCH
dynamos: patch '$SUBPATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % echo 0 > $SDBG/workers
dynamos_selftest: % rmmod $SUB"
