#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Refusals that change nothing:
# - a patch whose pre_patch callback fails is not enabled: no function is
#   hooked, the generation stays 0, the kernel thread stays in its loop, and
#   the reason is in the patch's error file and in dmesg;
# - a pre_unpatch failure refuses the disable the same way;
# - bad writes to the subsystem's files get an errno and change nothing;
#   cancel and force without a switch in progress are refused.

. "$(dirname "$0")/functions.sh"

start_test "a failing pre hook refuses the switch; bad input to the subsystem files"
load_mod "$SUB_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko subsys)"
assert_exists "$SUBSYS"
for f in generation state holders members timeout_ms; do assert_exists "$SUBSYS/$f"; done
assert_mode "$SUBSYS/timeout_ms" 644
assert_mode "$SUBSYS/state" 444
assert_mode "$SUBSYS/holders" 400
assert_mode "$SUBSYS/cancel" 200
assert_mode "$SUBSYS/force" 200

# The pre hook refuses.
write_file -22 "$SDBG/refuse"
expect_write_error "$SYSFS/patches/$SUBPATCH/enabled" 1 "Invalid argument"
write_file -16 "$SDBG/refuse"
expect_write_error "$SYSFS/patches/$SUBPATCH/enabled" 1 "Device or resource busy"
assert_eq "$(patch_file $SUBPATCH state)" registered "patch state after a refusal"
assert_eq "$(patch_file $SUBPATCH error)" "its pre_patch callback refused (-16)" "error file"
assert_eq "$(sub_file generation)" 0 "generation after a refusal"
assert_eq "$(sub_file state)" idle "state after a refusal"
assert_eq "$(ls "$SYSFS/functions")" "" "hooked functions after a refusal"
assert_eq "$(sub_file members)" "" "members before any switch"
ticks=$(loop_field ticks)
loop_until eval '[ "$(loop_field ticks)" -gt $ticks ]' || die "the loop thread stopped"
assert_eq "$(loop_field edition)" 0 "loop edition after a refusal"
# A subsystem's patch never replaces others.
expect_write_error "$SYSFS/patches/$SUBPATCH/replace" 1 "Invalid argument"
assert_eq "$(patch_file $SUBPATCH error)" "cannot replace: a subsystem's patch never replaces others" "error file after a replace"
assert_eq "$(patch_file $SUBPATCH state)" registered "patch state after a replace"

write_file 0 "$SDBG/refuse"
enable_patch $SUBPATCH
assert_eq "$(sub_file members | sort)" "dynamos_subsys:dynamos_sub_check
dynamos_subsys:dynamos_sub_count
dynamos_subsys:dynamos_sub_encode
dynamos_subsys:dynamos_sub_loop
dynamos_subsys:dynamos_sub_loop2
dynamos_subsys:dynamos_sub_path
dynamos_subsys:dynamos_sub_sleep" "members"
loop_until loop_edition_is 1 || die "the loop thread did not move: $(sdbg loop)"

# Bad input to the subsystem's files.
assert_eq "$(sub_file timeout_ms)" 30000 "default timeout_ms"
expect_write_error "$SUBSYS/timeout_ms" abc "Invalid argument"
expect_write_error "$SUBSYS/timeout_ms" -1 "Invalid argument"
expect_write_error "$SUBSYS/timeout_ms" 3600001 "Invalid argument"
expect_write_error "$SUBSYS/timeout_ms" "$(printf '%065d' 1)" "Argument list too long"
assert_eq "$(sub_file timeout_ms)" 30000 "timeout_ms after bad writes"
expect_write_error "$SUBSYS/cancel" 0 "Invalid argument"
expect_write_error "$SUBSYS/cancel" 1 "Invalid argument"
expect_write_error "$SUBSYS/force" yes "Invalid argument"
expect_write_error "$SUBSYS/force" 1 "Invalid argument"
assert_eq "$(sub_file generation)" 1 "generation after bad writes"
assert_eq "$(sub_file state)" idle "state after bad writes"
assert_eq "$(patch_file $SUBPATCH state)" enabled "patch state after bad writes"

# The pre_unpatch hook refuses.
write_file -16 "$SDBG/refuse"
expect_write_error "$SYSFS/patches/$SUBPATCH/enabled" 0 "Device or resource busy"
assert_eq "$(patch_file $SUBPATCH state)" enabled "patch state after a refused disable"
assert_eq "$(patch_file $SUBPATCH error)" "its pre_unpatch callback refused (-16)" "error file"
assert_eq "$(sub_file generation)" 1 "generation after a refused disable"
assert_eq "$(loop_field edition)" 1 "loop edition after a refused disable"
write_file 0 "$SDBG/refuse"
disable_patch $SUBPATCH
loop_until loop_edition_is 0 || die "the loop thread did not come back: $(sdbg loop)"
unload_mod $SUBPATCH
assert_absent "$SUBSYS"
unload_mod "$CORE"
unload_mod "$SUB"

check_result "dynamos_selftest: % insmod $SUB
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $SUBPATCH
dynamos: patch '$SUBPATCH' registered
dynamos_selftest: % echo -22 > $SDBG/refuse
dynamos_selftest: % echo -n 1 > $SYSFS/patches/$SUBPATCH/enabled (expected to fail: Invalid argument)
$SUBPATCH: pre_patch: -22
dynamos: patch '$SUBPATCH': its pre_patch callback refused (-22)
dynamos_selftest: % echo -16 > $SDBG/refuse
dynamos_selftest: % echo -n 1 > $SYSFS/patches/$SUBPATCH/enabled (expected to fail: Device or resource busy)
$SUBPATCH: pre_patch: -16
dynamos: patch '$SUBPATCH': its pre_patch callback refused (-16)
dynamos_selftest: % echo -n 1 > $SYSFS/patches/$SUBPATCH/replace (expected to fail: Invalid argument)
dynamos: patch '$SUBPATCH': cannot replace: a subsystem's patch never replaces others
dynamos_selftest: % echo 0 > $SDBG/refuse
dynamos_selftest: % echo 1 > $SYSFS/patches/$SUBPATCH/enabled
$SUBPATCH: pre_patch: 0
dynamos: enabling patch '$SUBPATCH'
$SUBPATCH: transfer forward
$SUBPATCH: post_patch
dynamos: subsystem 'dynamos_subsys': now at generation 1
dynamos: patch '$SUBPATCH' enabled
dynamos_selftest: % echo -n abc > $SUBSYS/timeout_ms (expected to fail: Invalid argument)
dynamos_selftest: % echo -n -1 > $SUBSYS/timeout_ms (expected to fail: Invalid argument)
dynamos_selftest: % echo -n 3600001 > $SUBSYS/timeout_ms (expected to fail: Invalid argument)
dynamos_selftest: % echo -n $(printf '%065d' 1) > $SUBSYS/timeout_ms (expected to fail: Argument list too long)
dynamos_selftest: % echo -n 0 > $SUBSYS/cancel (expected to fail: Invalid argument)
dynamos_selftest: % echo -n 1 > $SUBSYS/cancel (expected to fail: Invalid argument)
dynamos_selftest: % echo -n yes > $SUBSYS/force (expected to fail: Invalid argument)
dynamos_selftest: % echo -n 1 > $SUBSYS/force (expected to fail: Invalid argument)
dynamos_selftest: % echo -16 > $SDBG/refuse
dynamos_selftest: % echo -n 0 > $SYSFS/patches/$SUBPATCH/enabled (expected to fail: Device or resource busy)
$SUBPATCH: pre_unpatch: -16
dynamos: patch '$SUBPATCH': its pre_unpatch callback refused (-16)
dynamos_selftest: % echo 0 > $SDBG/refuse
dynamos_selftest: % echo 0 > $SYSFS/patches/$SUBPATCH/enabled
$SUBPATCH: pre_unpatch: 0
dynamos: disabling patch '$SUBPATCH'
$SUBPATCH: transfer backward
$SUBPATCH: post_unpatch
dynamos: subsystem 'dynamos_subsys': now at generation 0
dynamos: patch '$SUBPATCH' disabled
dynamos_selftest: % rmmod $SUBPATCH
dynamos: patch '$SUBPATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $SUB"
