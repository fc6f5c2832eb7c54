#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A cumulative patch replaces every earlier patch in one switch: the
# functions it patches run its editions, the functions it does not patch
# go back to their originals, and the replaced patches end disabled and
# removable.

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
WRAP=dynamos_test_wrap
ADAPT=dynamos_test_adapt
REPL=dynamos_test_replace

start_test "a cumulative patch replaces all earlier patches atomically"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
for p in add wrap adapt replace; do load_mod "$(test_ko $p)"; done
enable_patch $ADD
enable_patch $WRAP
enable_patch $ADAPT
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add before the replace"
assert_eq "$(call_write 1000000)" "$(write_v2)" "write before the replace"

enable_patch $REPL
assert_eq "$(call_add 2 3)" "$(add_v200 2 3)" "add after the replace"
assert_eq "$(call_write 1000000)" "$(write_orig)" "write after the replace (back to the original)"
for p in $ADD $WRAP $ADAPT; do
	assert_eq "$(patch_file $p state)" disabled "$p after the replace"
done
loop_until test ! -e "$(func_dir dynamos_target:dynamos_target_write)" ||
	die "the write function kept its site"
assert_eq "$(ls "$(func_dir dynamos_target:dynamos_target_add)/editions" | tr '\n' ' ')" "0 3 " \
	"editions of add after the replace"

for p in $ADAPT $WRAP; do unload_mod $p; done
disable_patch $REPL
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "add after disabling the replace"

# Reversed midway: a sleeper in the sleep patch's edition holds the
# replace; reversing it brings the replaced patches back as they were.
SLEEP=dynamos_test_sleep
load_mod "$(test_ko sleep)"
enable_patch $ADD
enable_patch $SLEEP
out=$(mktemp)
sleep_on "$TDBG/sleep" "$out"
s=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 1 "$SYSFS/patches/$REPL/enabled"
assert_eq "$(patch_file $REPL state)" enabling "$REPL held by the sleeper"
assert_eq "$(patch_file $SLEEP state)" disabling "$SLEEP while replaced"
assert_eq "$(call_add 2 3)" "$(add_v200 2 3)" "add during the replace"
write_file 0 "$SYSFS/patches/$REPL/enabled" reverse
wait_state $REPL disabled
assert_eq "$(patch_file $SLEEP state)" enabled "$SLEEP after the reversal"
assert_eq "$(patch_file $ADD state)" enabled "$ADD after the reversal"
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add after the reversal"
write_file 1 "$TDBG/release"
wait $s
assert_eq "$(cat "$out")" "$(sleep_v7)" "the sleeper's result (the sleep patch's edition)"
rm -f "$out"
disable_patch $SLEEP
disable_patch $ADD
unload_mod $SLEEP
unload_mod $ADD
unload_mod $REPL
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos_selftest: % insmod $TARGET
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $ADD
dynamos: patch '$ADD' registered
dynamos_selftest: % insmod $WRAP
dynamos: patch '$WRAP' registered
dynamos_selftest: % insmod $ADAPT
dynamos: patch '$ADAPT' registered
dynamos_selftest: % insmod $REPL
dynamos: patch '$REPL' registered
dynamos_selftest: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
dynamos_selftest: % echo 1 > $SYSFS/patches/$WRAP/enabled
dynamos: enabling patch '$WRAP'
dynamos: patch '$WRAP' enabled
dynamos_selftest: % echo 1 > $SYSFS/patches/$ADAPT/enabled
dynamos: enabling patch '$ADAPT'
dynamos: patch '$ADAPT' enabled
dynamos_selftest: % echo 1 > $SYSFS/patches/$REPL/enabled
dynamos: enabling patch '$REPL'
dynamos: patch '$REPL' enabled
dynamos: patch '$ADD' disabled: replaced by '$REPL'
dynamos: patch '$WRAP' disabled: replaced by '$REPL'
dynamos: patch '$ADAPT' disabled: replaced by '$REPL'
dynamos_selftest: % rmmod $ADAPT
dynamos: patch '$ADAPT' unregistered
dynamos_selftest: % rmmod $WRAP
$WRAP: counted 1 calls
dynamos: patch '$WRAP' unregistered
dynamos_selftest: % echo 0 > $SYSFS/patches/$REPL/enabled
dynamos: disabling patch '$REPL'
dynamos: patch '$REPL' disabled
dynamos_selftest: % insmod $SLEEP
dynamos: patch '$SLEEP' registered
dynamos_selftest: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
dynamos_selftest: % echo 1 > $SYSFS/patches/$SLEEP/enabled
dynamos: enabling patch '$SLEEP'
dynamos: patch '$SLEEP' enabled
dynamos_selftest: % cat $TDBG/sleep &
dynamos_selftest: % echo 1 > $SYSFS/patches/$REPL/enabled
dynamos: enabling patch '$REPL'
dynamos_selftest: % echo 0 > $SYSFS/patches/$REPL/enabled (reverse)
dynamos: reversing the transition of patch '$REPL'
dynamos: patch '$REPL' disabled
dynamos_selftest: % echo 1 > $TDBG/release
dynamos_selftest: % echo 0 > $SYSFS/patches/$SLEEP/enabled
dynamos: disabling patch '$SLEEP'
dynamos: patch '$SLEEP' disabled
dynamos_selftest: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
dynamos_selftest: % rmmod $SLEEP
dynamos: patch '$SLEEP' unregistered
dynamos_selftest: % rmmod $ADD
dynamos: patch '$ADD' unregistered
dynamos_selftest: % rmmod $REPL
dynamos: patch '$REPL' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
