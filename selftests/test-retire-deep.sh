#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An edition does not retire on a stack trace that cannot be trusted. A
# task asleep in the edition under a hundred frames of recursion has a
# stack deeper than dynamos' trace buffer: the edition's frame is not in
# what a truncated trace would show, and a trace that stopped there would
# have let it retire, and its module go, under the sleeper. The reliable
# trace says it is incomplete; the task stays pending until it leaves.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_deep

sleepers_are() { [ "$(cat "$TDBG/sleepers")" = "$1" ]; }
# The drain's first checks have seen every other thread outside: only the
# sleeper can be pending.
only_sleeper_pending() { grep -qx "pending 1" "$SYSFS/patches/$PATCH/waiting"; }
# What the edition returns (dynamos_test_deep.rs).
sleep_deep() { echo 2; }

start_test "a sleeper deeper than the stack trace keeps its edition"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko deep)"
enable_patch $PATCH
out=$(mktemp)
sleep_on "$TDBG/sleep" "$out"
s=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 0 "$SYSFS/patches/$PATCH/enabled" "the sleeper is in the edition, 100 frames down"
loop_until only_sleeper_pending || die "waiting: $(patch_file $PATCH waiting)"
assert_eq "$(patch_file $PATCH state)" disabling "state while the deep sleeper sleeps"
log_cmd "rmmod $PATCH (expected to fail: its edition may run)"
if rmmod $PATCH 2>/dev/null; then die "$PATCH was removed under its sleeper"; fi
log "ok: the edition stays while its sleeper is too deep to see"
write_file 1 "$TDBG/release"
wait "$s"
assert_eq "$(cat "$out")" "$(sleep_deep)" "the sleeper's result"
wait_state $PATCH disabled
unload_mod $PATCH
unload_mod "$CORE"
unload_mod "$TARGET"
rm -f "$out"

check_result "$CMD_PREFIX: % insmod $TARGET
$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $PATCH
dynamos: patch '$PATCH' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$PATCH/enabled
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
$CMD_PREFIX: % cat $TDBG/sleep &
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$PATCH/enabled (the sleeper is in the edition, 100 frames down)
dynamos: disabling patch '$PATCH'
$CMD_PREFIX: % rmmod $PATCH (expected to fail: its edition may run)
$CMD_PREFIX: % echo 1 > $TDBG/release
dynamos: patch '$PATCH' disabled
$CMD_PREFIX: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded
$CMD_PREFIX: % rmmod $TARGET"
