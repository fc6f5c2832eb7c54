#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A switch held by a sleeper past the subsystem's timeout is reported (state
# "failed", the holders with pid, comm and function, a dmesg report). The
# admin then:
# 1. cancels it: back to generation 0 at once (the loop thread unwinds to
#    its original loop) while the sleeper still sleeps; nothing is lost:
#    what generation 1 counted is transferred back;
# 2. forces it: generation 1 at once, the sleeper finishes in generation 0,
#    which stays loaded until it leaves. Forcing gives up what the old
#    generation does after the transfer: exactly the sleeper's one path,
#    until the next switch transfers it back.

. "$(dirname "$0")/functions.sh"
F=dynamos_subsys:dynamos_sub_sleep
DMESG_IGNORE="^dynamos: subsystem 'dynamos_subsys':   [0-9]+ "

start_test "a switch that does not drain times out; cancel and force"
load_mod "$SUB_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko subsys)"
write_file 300 "$SUBSYS/timeout_ms"
assert_eq "$(sub_file timeout_ms)" 300 "timeout_ms"
write_file 2 "$SDBG/workers"

# 1. Timeout, then cancel.
out1=$(mktemp)
start_sleeper "$out1"
write_file 1 "$SYSFS/patches/$SUBPATCH/enabled" "a sleeper in generation 0"
loop_until sub_state_starts "failed 0->1: not drained after" || die "no timeout: $(sub_file state)"
grep -q "^$SLEEPER cat dynamos_sub_" "$SUBSYS/holders" || die "holders: $(sub_file holders)"
dmesg | grep -q "subsystem 'dynamos_subsys':   $SLEEPER cat dynamos_sub_" ||
	die "dmesg does not name the sleeper"
log "ok: timed out, held by $(sub_file holders)"
loop_until loop_edition_is 1 || die "the loop thread did not move: $(sdbg loop)"
write_file 1 "$SUBSYS/cancel"
wait_state $SUBPATCH disabled
assert_eq "$(sub_file generation)" 0 "generation after cancel"
assert_eq "$(sub_file state)" idle "state after cancel"
loop_until loop_edition_is 0 || die "the loop thread did not come back: $(sdbg loop)"
assert_eq "$(sdbg sleepers)" 1 "sleepers after cancel (it never had to wake)"
write_file 1 "$SDBG/release"
wait "$SLEEPER"
assert_eq "$(cat "$out1")" "$(sub_sleep_orig)" "the first sleeper's result (generation 0)"
assert_eq "$(sdbg mixes)" 0 "paths that mixed generations"
settle_counts

# 2. Timeout, then force.
write_file 2 "$SDBG/workers"
out2=$(mktemp)
start_sleeper "$out2"
write_file 1 "$SYSFS/patches/$SUBPATCH/enabled" "a sleeper in generation 0"
loop_until sub_state_starts "failed 0->1" || die "no timeout: $(sub_file state)"
write_file 1 "$SUBSYS/force"
wait_state $SUBPATCH enabled
assert_eq "$(sub_file generation)" 1 "generation after force"
assert_eq "$(sub_file state)" idle "state after force"
assert_eq "$(edition_file $F 0 state)" draining "the sleeper's edition after force"
log_cmd "rmmod $SUBPATCH (expected to fail: enabled)"
if rmmod $SUBPATCH 2>/dev/null; then die "the patch module was removed while enabled"; fi
write_file 1 "$SDBG/release"
wait "$SLEEPER"
assert_eq "$(cat "$out2")" "$(sub_sleep_orig)" "the second sleeper's result (generation 0)"
loop_until eval '[ "$(edition_file $F 0 state)" = live ]' ||
	die "the forced generation did not retire: $(edition_file $F 0 state)"
assert_eq "$(sdbg mixes)" 0 "paths that mixed generations"
write_file 0 "$SDBG/workers"
write_file 1 "$SDBG/quiet"
loop_until eval '[ $(( $(sdbg calls) - $(sdbg count) )) -eq 1 ]' ||
	die "after force: $(sdbg calls) paths, $(sdbg count) counted (expected one less)"
log "ok: forced: the sleeper's generation-0 path was not transferred"
write_file 0 "$SDBG/quiet"
disable_patch $SUBPATCH
settle_counts
unload_mod $SUBPATCH
unload_mod "$CORE"
unload_mod "$SUB"
rm -f "$out1" "$out2"

check_result "dynamos_selftest: % insmod $SUB
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $SUBPATCH
dynamos: patch '$SUBPATCH' registered
dynamos_selftest: % echo 300 > $SUBSYS/timeout_ms
dynamos_selftest: % echo 2 > $SDBG/workers
dynamos_selftest: % cat $SDBG/sleep &
dynamos_selftest: % echo 1 > $SYSFS/patches/$SUBPATCH/enabled (a sleeper in generation 0)
$SUBPATCH: pre_patch: 0
dynamos: enabling patch '$SUBPATCH'
dynamos: subsystem 'dynamos_subsys': switch 0->1 has not drained after 300 ms; tasks holding generation 0:
dynamos_selftest: % echo 1 > $SUBSYS/cancel
dynamos: subsystem 'dynamos_subsys': switch cancelled by the admin
dynamos: disabling patch '$SUBPATCH'
dynamos: reversing the transition of patch '$SUBPATCH'
$SUBPATCH: transfer backward
$SUBPATCH: post_unpatch
dynamos: subsystem 'dynamos_subsys': now at generation 0
dynamos: patch '$SUBPATCH' disabled
dynamos_selftest: % echo 1 > $SDBG/release
dynamos_selftest: % echo 0 > $SDBG/workers
dynamos_selftest: % echo 1 > $SDBG/quiet
dynamos_selftest: % echo 0 > $SDBG/quiet
dynamos_selftest: % echo 2 > $SDBG/workers
dynamos_selftest: % cat $SDBG/sleep &
dynamos_selftest: % echo 1 > $SYSFS/patches/$SUBPATCH/enabled (a sleeper in generation 0)
$SUBPATCH: pre_patch: 0
dynamos: enabling patch '$SUBPATCH'
dynamos: subsystem 'dynamos_subsys': switch 0->1 has not drained after 300 ms; tasks holding generation 0:
dynamos_selftest: % echo 1 > $SUBSYS/force
dynamos: subsystem 'dynamos_subsys': switch forced by the admin
$SUBPATCH: transfer forward
$SUBPATCH: post_patch
dynamos: subsystem 'dynamos_subsys': forced; generation 0 stays loaded until its last task leaves
dynamos: subsystem 'dynamos_subsys': now at generation 1
dynamos: patch '$SUBPATCH' enabled
dynamos_selftest: % rmmod $SUBPATCH (expected to fail: enabled)
dynamos_selftest: % echo 1 > $SDBG/release
dynamos: the last task left the editions of a forced switch
dynamos_selftest: % echo 0 > $SDBG/workers
dynamos_selftest: % echo 1 > $SDBG/quiet
dynamos_selftest: % echo 0 > $SDBG/quiet
dynamos_selftest: % echo 0 > $SYSFS/patches/$SUBPATCH/enabled
$SUBPATCH: pre_unpatch: 0
dynamos: disabling patch '$SUBPATCH'
$SUBPATCH: transfer backward
$SUBPATCH: post_unpatch
dynamos: subsystem 'dynamos_subsys': now at generation 0
dynamos: patch '$SUBPATCH' disabled
dynamos_selftest: % echo 0 > $SDBG/workers
dynamos_selftest: % echo 1 > $SDBG/quiet
dynamos_selftest: % echo 0 > $SDBG/quiet
dynamos_selftest: % rmmod $SUBPATCH
dynamos: patch '$SUBPATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $SUB"
