#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An edition retires only when quiescent. A task asleep inside the old
# edition holds the transition: the old edition does not retire and its
# patch module cannot be removed until the sleeper is released; then both
# happen. The sleeper finishes in the edition it entered.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_sleep
F=dynamos_target:dynamos_target_sleep

holder_is() { grep -qx "holder $1 .*" "$SYSFS/patches/$PATCH/waiting"; }

start_test "a sleeper holds its edition and its patch module until released"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko sleep)"

# 1. A sleeper in the original holds the enable transition.
out1=$(mktemp)
sleep_on "$TDBG/sleep" "$out1"
s1=$SLEEPER
loop_until sleepers_are 1 || die "the first sleeper did not go to sleep"
write_file 1 "$SYSFS/patches/$PATCH/enabled" "a sleeper in the original"
loop_until holder_is $s1 || die "waiting does not name sleeper $s1: $(patch_file $PATCH waiting)"
assert_eq "$(patch_file $PATCH state)" enabling "state while the original has a sleeper"
assert_eq "$(edition_file $F 0 state)" draining "edition 0 while its sleeper sleeps"
write_file 1 "$TDBG/release"
wait $s1
assert_eq "$(cat "$out1")" "$(sleep_orig)" "the first sleeper's result (original)"
wait_state $PATCH enabled
log "ok: enabled once the sleeper left the original"

# 2. A sleeper in edition 1 holds the disable transition and the module.
out2=$(mktemp)
sleep_on "$TDBG/sleep" "$out2"
s2=$SLEEPER
loop_until sleepers_are 1 || die "the second sleeper did not go to sleep"
write_file 0 "$SYSFS/patches/$PATCH/enabled" "a sleeper in edition 1"
loop_until holder_is $s2 || die "waiting does not name sleeper $s2: $(patch_file $PATCH waiting)"
assert_eq "$(patch_file $PATCH state)" disabling "state while edition 1 has a sleeper"
assert_eq "$(edition_file $F 1 state)" draining "edition 1 while its sleeper sleeps"
assert_eq "$(edition_file $F 1 inside)" 1 "threads inside edition 1"
log_cmd "rmmod $PATCH (expected to fail: a sleeper is inside)"
if rmmod $PATCH 2>/dev/null; then die "the patch module was removed under a sleeper"; fi
# New calls of the patched function go to the original right away: a
# third caller enters it during the transition, not after it.
out3=$(mktemp)
sleep_on "$TDBG/sleep" "$out3"
s3=$SLEEPER
loop_until sleepers_are 2 || die "the third sleeper did not go to sleep beside the second"
assert_eq "$(patch_file $PATCH state)" disabling "state while the third caller sleeps"
write_file 1 "$TDBG/release"
wait $s2 $s3
assert_eq "$(cat "$out2")" "$(sleep_v7)" "the second sleeper's result (edition 1)"
assert_eq "$(cat "$out3")" "$(sleep_orig)" "the third caller's result (the original, entered mid-transition)"
wait_state $PATCH disabled
unload_mod $PATCH
rm -f "$out1" "$out2" "$out3"
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos_selftest: % insmod $TARGET
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $PATCH
dynamos: patch '$PATCH' registered
dynamos_selftest: % cat $TDBG/sleep &
dynamos_selftest: % echo 1 > $SYSFS/patches/$PATCH/enabled (a sleeper in the original)
dynamos: enabling patch '$PATCH'
dynamos_selftest: % echo 1 > $TDBG/release
dynamos: patch '$PATCH' enabled
dynamos_selftest: % cat $TDBG/sleep &
dynamos_selftest: % echo 0 > $SYSFS/patches/$PATCH/enabled (a sleeper in edition 1)
dynamos: disabling patch '$PATCH'
dynamos_selftest: % rmmod $PATCH (expected to fail: a sleeper is inside)
dynamos_selftest: % cat $TDBG/sleep &
dynamos_selftest: % echo 1 > $TDBG/release
dynamos: patch '$PATCH' disabled
dynamos_selftest: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
