#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A disable that is refused runs none of the patch's callbacks: with
# another patch above it on its function, disabling dynamos_test_cb fails
# with EBUSY before its pre_unpatch hook, so the patch is never told it is
# going while it stays. An earlier version ran pre_unpatch first.

. "$(dirname "$0")/functions.sh"
CB=dynamos_test_cb
ADD=dynamos_test_add
F=dynamos_target:dynamos_target_add

start_test "a refused disable runs no callback"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko cb)"
load_mod "$(test_ko add)"
enable_patch $CB
enable_patch $ADD
expect_write_error "$SYSFS/patches/$CB/enabled" 0 "Device or resource busy"
assert_eq "$(patch_file $CB state)" enabled "$CB after the refused disable"
assert_eq "$(patch_file $CB error)" "patch '$ADD' is above this one on $F: disable it first" "error file"
disable_patch $ADD
assert_eq "$(call_add 2 3)" 305 "add under $CB alone"
disable_patch $CB
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "add after both are disabled"
unload_mod $ADD
unload_mod $CB
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "$CMD_PREFIX: % insmod $TARGET
$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $CB
dynamos: patch '$CB' registered
$CMD_PREFIX: % insmod $ADD
dynamos: patch '$ADD' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$CB/enabled
$CB: pre_patch
dynamos: enabling patch '$CB'
$CB: post_patch
dynamos: patch '$CB' enabled
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
$CMD_PREFIX: % echo -n 0 > $SYSFS/patches/$CB/enabled (expected to fail: Device or resource busy)
dynamos: patch '$CB': patch '$ADD' is above this one on $F: disable it first
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$CB/enabled
$CB: pre_unpatch
dynamos: disabling patch '$CB'
$CB: post_unpatch
dynamos: patch '$CB' disabled
$CMD_PREFIX: % rmmod $ADD
dynamos: patch '$ADD' unregistered
$CMD_PREFIX: % rmmod $CB
dynamos: patch '$CB' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded
$CMD_PREFIX: % rmmod $TARGET"
