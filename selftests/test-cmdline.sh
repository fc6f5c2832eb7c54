#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The cmdline sample replaces cmdline_proc_show, livepatch's sample target:
# /proc/cmdline shows the marker while the patch is enabled and the real
# command line after it is disabled.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_cmdline
MARK="this has been live patched by dynamos"

start_test "the cmdline sample patches /proc/cmdline and unpatches it"
orig=$(cat /proc/cmdline)
[ "$orig" != "$MARK" ] || die "/proc/cmdline already shows the marker"

load_mod "$CORE_KO"
load_mod "$MODDIR/patches/cmdline/$PATCH.ko"
wait_state $PATCH enabled
assert_eq "$(cat /proc/cmdline)" "$MARK" "/proc/cmdline while enabled"
assert_eq "$(patch_file $PATCH enabled)" 1 "enabled"
assert_eq "$(edition_file cmdline_proc_show 1 patch)" "$PATCH" "edition 1 owner"
assert_eq "$(edition_file cmdline_proc_show 0 patch)" "original" "edition 0 owner"
assert_eq "$(edition_file cmdline_proc_show 1 state)" "default" "edition 1 state"
calls=$(edition_file cmdline_proc_show 1 calls)
[ "$calls" -ge 1 ] || die "edition 1 counted $calls calls"

log_cmd "rmmod $PATCH (expected to fail: enabled)"
if rmmod $PATCH 2>/dev/null; then die "an enabled patch module could be removed"; fi

disable_patch $PATCH
assert_eq "$(cat /proc/cmdline)" "$orig" "/proc/cmdline after disable"
# The function's directory goes with its last edition.
loop_until test ! -e "$(func_dir cmdline_proc_show)" || die "$(func_dir cmdline_proc_show) stayed"
unload_mod $PATCH
unload_mod "$CORE"

check_result "dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $PATCH
dynamos: patch '$PATCH' registered
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
dynamos_selftest: % rmmod $PATCH (expected to fail: enabled)
dynamos_selftest: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos_selftest: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded"
