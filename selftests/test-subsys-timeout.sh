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
echo 300 >"$SUBSYS/timeout_ms" || die "setting timeout_ms failed"
assert_eq "$(sub_file timeout_ms)" 300 "timeout_ms"
echo 2 >"$SDBG/workers"

# 1. Timeout, then cancel.
out1=$(mktemp)
start_sleeper "$out1"
log "% echo 1 > $SUBPATCH/enabled (sleeper $SLEEPER in generation 0)"
echo 1 >"$SYSFS/patches/$SUBPATCH/enabled" || die "enable failed"
loop_until sub_state_starts "failed 0->1: not drained after" || die "no timeout: $(sub_file state)"
grep -q "^$SLEEPER cat dynamos_sub_" "$SUBSYS/holders" || die "holders: $(sub_file holders)"
dmesg | grep -q "subsystem 'dynamos_subsys':   $SLEEPER cat dynamos_sub_" ||
	die "dmesg does not name the sleeper"
log "ok: timed out, held by $(sub_file holders)"
loop_until loop_edition_is 1 || die "the loop thread did not move: $(sdbg loop)"
log "% echo 1 > subsystems/dynamos_subsys/cancel"
echo 1 >"$SUBSYS/cancel" || die "cancel failed"
wait_state $SUBPATCH disabled
assert_eq "$(sub_file generation)" 0 "generation after cancel"
assert_eq "$(sub_file state)" idle "state after cancel"
loop_until loop_edition_is 0 || die "the loop thread did not come back: $(sdbg loop)"
assert_eq "$(sdbg sleepers)" 1 "sleepers after cancel (it never had to wake)"
echo 1 >"$SDBG/release"
wait "$SLEEPER"
assert_eq "$(cat "$out1")" 0 "the first sleeper's result (generation 0)"
assert_eq "$(sdbg mixes)" 0 "paths that mixed generations"
settle_counts

# 2. Timeout, then force.
echo 2 >"$SDBG/workers"
out2=$(mktemp)
start_sleeper "$out2"
log "% echo 1 > $SUBPATCH/enabled (sleeper $SLEEPER in generation 0)"
echo 1 >"$SYSFS/patches/$SUBPATCH/enabled" || die "enable failed"
loop_until sub_state_starts "failed 0->1" || die "no timeout: $(sub_file state)"
log "% echo 1 > subsystems/dynamos_subsys/force"
echo 1 >"$SUBSYS/force" || die "force failed"
wait_state $SUBPATCH enabled
assert_eq "$(sub_file generation)" 1 "generation after force"
assert_eq "$(sub_file state)" idle "state after force"
assert_eq "$(edition_file $F 0 state)" draining "the sleeper's edition after force"
log "% rmmod $SUBPATCH (expected to fail: enabled)"
if rmmod $SUBPATCH 2>/dev/null; then die "the patch module was removed while enabled"; fi
echo 1 >"$SDBG/release"
wait "$SLEEPER"
assert_eq "$(cat "$out2")" 0 "the second sleeper's result (generation 0)"
loop_until eval '[ "$(edition_file $F 0 state)" = live ]' ||
	die "the forced generation did not retire: $(edition_file $F 0 state)"
assert_eq "$(sdbg mixes)" 0 "paths that mixed generations"
echo 0 >"$SDBG/workers"
echo 1 >"$SDBG/quiet"
loop_until eval '[ $(( $(sdbg calls) - $(sdbg count) )) -eq 1 ]' ||
	die "after force: $(sdbg calls) paths, $(sdbg count) counted (expected one less)"
log "ok: forced: the sleeper's generation-0 path was not transferred"
echo 0 >"$SDBG/quiet"
disable_patch $SUBPATCH
settle_counts
unload_mod $SUBPATCH
unload_mod "$CORE"
unload_mod "$SUB"
rm -f "$out1" "$out2"

check_result "dynamos: dynamos 0.1.0 loaded
dynamos: patch '$SUBPATCH' registered
$SUBPATCH: pre_patch: 0
dynamos: enabling patch '$SUBPATCH'
dynamos: subsystem 'dynamos_subsys': switch 0->1 has not drained after 300 ms; tasks holding generation 0:
dynamos: subsystem 'dynamos_subsys': switch cancelled by the admin
dynamos: disabling patch '$SUBPATCH'
dynamos: reversing the transition of patch '$SUBPATCH'
$SUBPATCH: transfer backward
$SUBPATCH: post_unpatch
dynamos: subsystem 'dynamos_subsys': now at generation 0
dynamos: patch '$SUBPATCH' disabled
$SUBPATCH: pre_patch: 0
dynamos: enabling patch '$SUBPATCH'
dynamos: subsystem 'dynamos_subsys': switch 0->1 has not drained after 300 ms; tasks holding generation 0:
dynamos: subsystem 'dynamos_subsys': switch forced by the admin
$SUBPATCH: transfer forward
$SUBPATCH: post_patch
dynamos: subsystem 'dynamos_subsys': forced; generation 0 stays loaded until its last task leaves
dynamos: subsystem 'dynamos_subsys': now at generation 1
dynamos: patch '$SUBPATCH' enabled
dynamos: the last task left the editions of a forced switch
$SUBPATCH: pre_unpatch: 0
dynamos: disabling patch '$SUBPATCH'
$SUBPATCH: transfer backward
$SUBPATCH: post_unpatch
dynamos: subsystem 'dynamos_subsys': now at generation 0
dynamos: patch '$SUBPATCH' disabled
dynamos: patch '$SUBPATCH' unregistered
dynamos: dynamos unloaded"
