#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A replaced patch's module stays while a thread can return into any of its
# text. A task sleeps in the original under the tail-calling wrapper of
# dynamos_test_tail (prev()'s frame only); a cumulative patch replaces it.
# The sleeper holds the replace's consistent transition (it is inside a
# function of the transition), which the admin forces: the replaced
# editions retire, but the module must not go: rmmod fails until the
# sleeper wakes, then succeeds. An earlier version
# dropped the module's last reference with the editions (a panic on
# wake-up, after rmmod).

. "$(dirname "$0")/functions.sh"
TAIL=dynamos_test_tail
REPL=dynamos_test_replace

tail_refs_are() { [ "$(cat /sys/module/$TAIL/refcnt)" = "$1" ]; }

start_test "a sleeper under a replaced patch's tail-calling wrapper keeps its module"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko tail)"
load_mod "$(test_ko replace)"
enable_patch $TAIL
out=$(mktemp)
sleep_on "$TDBG/sleep" "$out"
s=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 1 "$SYSFS/patches/$REPL/enabled"
loop_until eval 'grep -qx "holder $s cat" "$SYSFS/patches/$REPL/waiting"' ||
	die "waiting does not name the sleeper: $(patch_file $REPL waiting)"
state_is $REPL enabling || die "the replace did not wait for the sleeper"
write_file 1 "$SYSFS/patches/$REPL/force"
wait_state $REPL enabled
wait_state $TAIL disabled
# Nothing of the replaced patch is on any site any more: only its module
# is kept, by dynamos, for the sleeper.
# (The forced switch's leftover goes at a later run of the transition work.)
# Whether the replaced editions drain at the force itself or as a leftover
# a little later depends on what the other CPU runs at that moment (a
# drain check of a running task may fail and is retried): the two
# messages that differ between the two orders are checked apart.
DMESG_IGNORE="the last task left the editions of a forced switch|patch '$TAIL': its module stays loaded while"
loop_until eval '[ ! -e "$(func_dir dynamos_target:dynamos_target_sleep)" ]' ||
	die "$(func_dir dynamos_target:dynamos_target_sleep) stayed"
tail_refs_are 0 && die "$TAIL has no references under its sleeper"
log_cmd "rmmod $TAIL (expected to fail: a task may return into it)"
if rmmod $TAIL 2>/dev/null; then die "$TAIL was removed under its sleeper"; fi
loop_until eval "dmesg | grep -q \"patch '$TAIL': its module stays loaded while task $s \"" ||
	die "no message names the sleeper that keeps $TAIL"
log "ok: $TAIL stays while its sleeper sleeps under prev()"
write_file 1 "$TDBG/release"
wait "$s"
assert_eq "$(cat "$out")" 0 "the sleeper's result (the tail edition returns prev()'s)"
rm -f "$out"
loop_until tail_refs_are 0 || die "$TAIL kept $(cat /sys/module/$TAIL/refcnt) references after its sleeper left"
unload_mod $TAIL
disable_patch $REPL
unload_mod $REPL
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "$CMD_PREFIX: % insmod $TARGET
$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $TAIL
dynamos: patch '$TAIL' registered
$CMD_PREFIX: % insmod $REPL
dynamos: patch '$REPL' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$TAIL/enabled
dynamos: enabling patch '$TAIL'
dynamos: patch '$TAIL' enabled
$CMD_PREFIX: % cat $TDBG/sleep &
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$REPL/enabled
dynamos: enabling patch '$REPL'
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$REPL/force
dynamos: patch '$REPL': transition forced by the admin; tasks that had not switched now run the new state, and what they may still run stays loaded until they leave it
dynamos: patch '$REPL' enabled
dynamos: patch '$TAIL' disabled: replaced by '$REPL'
$CMD_PREFIX: % rmmod $TAIL (expected to fail: a task may return into it)
$CMD_PREFIX: % echo 1 > $TDBG/release
dynamos: patch '$TAIL': no task can return into its module now
$CMD_PREFIX: % rmmod $TAIL
dynamos: patch '$TAIL' unregistered
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$REPL/enabled
dynamos: disabling patch '$REPL'
dynamos: patch '$REPL' disabled
$CMD_PREFIX: % rmmod $REPL
dynamos: patch '$REPL' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded
$CMD_PREFIX: % rmmod $TARGET"
