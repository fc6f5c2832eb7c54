#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch's module stays while a thread can return into any of its text.
# The wrapper the patch-author guide teaches ends in a tail jump to
# prev(): a task asleep in the original has prev()'s frame on its stack,
# not the edition's. Disabling must wait for it, and rmmod must fail,
# until it wakes; an earlier version let the module go under it (a panic
# on wake-up).

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_tail

sleepers_are() { [ "$(cat "$TDBG/sleepers")" = "$1" ]; }
# The drain's first checks have seen every other thread outside: only the
# sleeper can be pending.
only_sleeper_pending() { grep -qx "pending 1" "$SYSFS/patches/$PATCH/waiting"; }
# What the edition returns (dynamos_test_tail.rs: the original's).
sleep_tail() { echo 0; }

start_test "a sleeper under a tail-calling wrapper keeps its module"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko tail)"
enable_patch $PATCH
out=$(mktemp)
sleep_on "$TDBG/sleep" "$out"
s=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 0 "$SYSFS/patches/$PATCH/enabled" "the sleeper is in the original, under prev()"
loop_until only_sleeper_pending || die "waiting: $(patch_file $PATCH waiting)"
assert_eq "$(patch_file $PATCH state)" disabling "state while the deep sleeper sleeps"
log_cmd "rmmod $PATCH (expected to fail: its edition may run)"
if rmmod $PATCH 2>/dev/null; then die "$PATCH was removed under its sleeper"; fi
log "ok: the edition stays while a sleeper can return into its prev()"
write_file 1 "$TDBG/release"
wait "$s"
assert_eq "$(cat "$out")" "$(sleep_tail)" "the sleeper's result"
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
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$PATCH/enabled (the sleeper is in the original, under prev())
dynamos: disabling patch '$PATCH'
$CMD_PREFIX: % rmmod $PATCH (expected to fail: its edition may run)
$CMD_PREFIX: % echo 1 > $TDBG/release
dynamos: patch '$PATCH' disabled
$CMD_PREFIX: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded
$CMD_PREFIX: % rmmod $TARGET"
