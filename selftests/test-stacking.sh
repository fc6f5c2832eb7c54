#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Patches stack on a function like livepatch's func_stack: the top one
# runs, a wrapper on top calls the edition below it, only the top patch may
# be disabled, and disabling it returns to the one below.

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
WRAP=dynamos_test_wrap
F=dynamos_target:dynamos_target_add

start_test "patches stack; disabling the top returns to the one below"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
load_mod "$(test_ko wrap)"
enable_patch $ADD
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add with $ADD"
enable_patch $WRAP
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add with $WRAP over $ADD"
assert_eq "$(cat "$(func_dir $F)/default")" 2 "default edition"
assert_eq "$(edition_file $F 2 patch)" $WRAP "edition 2 owner"
assert_eq "$(edition_file $F 1 state)" live "edition 1 state"

expect_write_error "$SYSFS/patches/$ADD/enabled" 0 "Device or resource busy"
assert_eq "$(patch_file $ADD state)" enabled "$ADD after refused disable"
grep -q "patch '$WRAP' is above this one" "$SYSFS/patches/$ADD/error" || die "no reason in $ADD/error"

disable_patch $WRAP
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add after disabling $WRAP"
disable_patch $ADD
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "add after disabling both"
unload_mod $WRAP
unload_mod $ADD
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos_selftest: % insmod $TARGET
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $ADD
dynamos: patch '$ADD' registered
dynamos_selftest: % insmod $WRAP
dynamos: patch '$WRAP' registered
dynamos_selftest: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
dynamos_selftest: % echo 1 > $SYSFS/patches/$WRAP/enabled
dynamos: enabling patch '$WRAP'
dynamos: patch '$WRAP' enabled
dynamos_selftest: % echo -n 0 > $SYSFS/patches/$ADD/enabled (expected to fail: Device or resource busy)
dynamos: patch '$ADD': patch '$WRAP' is above this one on dynamos_target:dynamos_target_add: disable it first
dynamos_selftest: % echo 0 > $SYSFS/patches/$WRAP/enabled
dynamos: disabling patch '$WRAP'
dynamos: patch '$WRAP' disabled
dynamos_selftest: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
dynamos_selftest: % rmmod $WRAP
$WRAP: counted 1 calls
dynamos: patch '$WRAP' unregistered
dynamos_selftest: % rmmod $ADD
dynamos: patch '$ADD' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
