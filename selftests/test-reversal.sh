#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A transition can be reversed midway, in both directions, while a sleeper
# holds it; calls in flight finish where they are.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_sleep

sleepers_are() { [ "$(cat "$TDBG/sleepers")" = "$1" ]; }

start_test "enabling and disabling can be reversed midway"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko sleep)"

# Enabling, held by a sleeper in the original, reversed to disabled: the
# new edition has nobody inside, so it retires at once.
out=$(mktemp)
cat "$TDBG/sleep" >"$out" &
s=$!
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
echo 1 >"$SYSFS/patches/$PATCH/enabled" || die "enable failed"
assert_eq "$(patch_file $PATCH state)" enabling "state held by the sleeper"
log "% echo 0 > $PATCH/enabled (reverse)"
echo 0 >"$SYSFS/patches/$PATCH/enabled" || die "reversal to disabled failed"
wait_state $PATCH disabled
echo 1 >"$TDBG/release"
wait $s
assert_eq "$(cat "$out")" 0 "sleeper's result (original)"

# Disabling, held by a sleeper in edition 1, reversed to enabled: the
# sleeper is also inside the original (edition 1 sleeps in it), so the
# transition waits for it, then ends enabled.
enable_patch $PATCH
cat "$TDBG/sleep" >"$out" &
s=$!
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
echo 0 >"$SYSFS/patches/$PATCH/enabled" || die "disable failed"
assert_eq "$(patch_file $PATCH state)" disabling "state held by the sleeper"
log "% echo 1 > $PATCH/enabled (reverse)"
echo 1 >"$SYSFS/patches/$PATCH/enabled" || die "reversal to enabled failed"
assert_eq "$(patch_file $PATCH state)" enabling "state after reversal"
echo 1 >"$TDBG/release"
wait $s
assert_eq "$(cat "$out")" 7 "sleeper's result (edition 1)"
wait_state $PATCH enabled
rm -f "$out"
disable_patch $PATCH
unload_mod $PATCH
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos: dynamos 0.1.0 loaded
dynamos: patch '$PATCH' registered
dynamos: enabling patch '$PATCH'
dynamos: disabling patch '$PATCH'
dynamos: reversing the transition of patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
dynamos: disabling patch '$PATCH'
dynamos: reversing the transition of patch '$PATCH'
dynamos: patch '$PATCH' enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos: patch '$PATCH' unregistered
dynamos: dynamos unloaded"
