#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Duplicate symbol names: a patch picks one by position (livepatch's
# sympos), and a patch that names an ambiguous symbol without a position is
# refused with a clear error.

. "$(dirname "$0")/functions.sh"
DUP=dynamos_test_dup
DUPX=dynamos_test_dupx

call_dup() {
	echo "dup $1" >"$TDBG/call" || die "calling dup $1 failed"
	cat "$TDBG/call"
}

start_test "duplicate names: a position picks one, no position is refused"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko dupx)"
expect_write_error "$SYSFS/patches/$DUPX/enabled" 1 "Invalid argument"
grep -q "2 symbols named dynamos_dup" "$SYSFS/patches/$DUPX/error" ||
	die "error file: $(patch_file $DUPX error)"
unload_mod $DUPX

load_mod "$(test_ko dup)"
enable_patch $DUP
assert_exists "$(func_dir dynamos_target:dynamos_dup,2)"
assert_eq "$(call_dup 1)" "$(dup_orig 1)" "the first dynamos_dup"
assert_eq "$(call_dup 2)" "$(dup_v200)" "the second dynamos_dup"
disable_patch $DUP
assert_eq "$(call_dup 2)" "$(dup_orig 2)" "the second dynamos_dup after disable"
unload_mod $DUP
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos_selftest: % insmod $TARGET
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $DUPX
dynamos: patch '$DUPX' registered
dynamos_selftest: % echo -n 1 > $SYSFS/patches/$DUPX/enabled (expected to fail: Invalid argument)
dynamos: patch '$DUPX': 2 symbols named dynamos_dup in dynamos_target: give a position
dynamos_selftest: % rmmod $DUPX
dynamos: patch '$DUPX' unregistered
dynamos_selftest: % insmod $DUP
dynamos: patch '$DUP' registered
dynamos_selftest: % echo 1 > $SYSFS/patches/$DUP/enabled
dynamos: enabling patch '$DUP'
dynamos: patch '$DUP' enabled
dynamos_selftest: % echo 0 > $SYSFS/patches/$DUP/enabled
dynamos: disabling patch '$DUP'
dynamos: patch '$DUP' disabled
dynamos_selftest: % rmmod $DUP
dynamos: patch '$DUP' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
