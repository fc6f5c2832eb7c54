#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A transition can be reversed midway, in both directions, while a sleeper
# holds it; calls in flight finish where they are.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_sleep


start_test "enabling and disabling can be reversed midway"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko sleep)"

# Enabling, held by a sleeper in the original, reversed to disabled: the
# new edition has nobody inside, so it retires at once.
out=$(mktemp)
sleep_on "$TDBG/sleep" "$out"
s=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 1 "$SYSFS/patches/$PATCH/enabled"
assert_eq "$(patch_file $PATCH state)" enabling "state held by the sleeper"
write_file 0 "$SYSFS/patches/$PATCH/enabled" reverse
wait_state $PATCH disabled
write_file 1 "$TDBG/release"
wait $s
assert_eq "$(cat "$out")" "$(sleep_orig)" "sleeper's result (original)"

# Disabling, held by a sleeper in edition 1, reversed to enabled: the
# sleeper is also inside the original (edition 1 sleeps in it), so the
# transition waits for it, then ends enabled.
enable_patch $PATCH
sleep_on "$TDBG/sleep" "$out"
s=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 0 "$SYSFS/patches/$PATCH/enabled"
assert_eq "$(patch_file $PATCH state)" disabling "state held by the sleeper"
write_file 1 "$SYSFS/patches/$PATCH/enabled" reverse
assert_eq "$(patch_file $PATCH state)" enabling "state after reversal"
write_file 1 "$TDBG/release"
wait $s
assert_eq "$(cat "$out")" "$(sleep_v7)" "sleeper's result (edition 1)"
wait_state $PATCH enabled
rm -f "$out"
disable_patch $PATCH
unload_mod $PATCH
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos_selftest: % insmod $TARGET
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $PATCH
dynamos: patch '$PATCH' registered
dynamos_selftest: % cat $TDBG/sleep &
dynamos_selftest: % echo 1 > $SYSFS/patches/$PATCH/enabled
dynamos: enabling patch '$PATCH'
dynamos_selftest: % echo 0 > $SYSFS/patches/$PATCH/enabled (reverse)
dynamos: disabling patch '$PATCH'
dynamos: reversing the transition of patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos_selftest: % echo 1 > $TDBG/release
dynamos_selftest: % echo 1 > $SYSFS/patches/$PATCH/enabled
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
dynamos_selftest: % cat $TDBG/sleep &
dynamos_selftest: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos_selftest: % echo 1 > $SYSFS/patches/$PATCH/enabled (reverse)
dynamos: reversing the transition of patch '$PATCH'
dynamos_selftest: % echo 1 > $TDBG/release
dynamos: patch '$PATCH' enabled
dynamos_selftest: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos_selftest: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
