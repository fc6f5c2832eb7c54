#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch that cannot be applied fails with a clear reason (dmesg and the
# patch's error file) and leaves nothing patched: an unknown symbol (after
# a good one), a function ftrace cannot hook, and a function a livepatch
# holds (both orders).

. "$(dirname "$0")/functions.sh"
KLP=dynamos_test_klp
ADD=dynamos_test_add
KLPSYS=/sys/kernel/livepatch/$KLP

klp_settled() { [ "$(cat "$KLPSYS/transition")" = 0 ]; }
no_functions() { [ -z "$(ls "$SYSFS/functions")" ]; }

start_test "failures are reported and undone; livepatch is refused cleanly"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"

# 1. Unknown symbol, after a good one: insmod fails, nothing stays.
log_cmd "insmod dynamos_test_bad (expected to fail)"
if insmod "$(test_ko bad)" 2>/dev/null; then die "a patch with an unknown symbol loaded"; fi
is_loaded dynamos_test_bad && die "dynamos_test_bad is loaded"
loop_until no_functions || die "functions left behind: $(ls "$SYSFS/functions")"
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "add after the failed patch"

# 2. Not traceable.
load_mod "$(test_ko notrace)"
expect_write_error "$SYSFS/patches/dynamos_test_notrace/enabled" 1 "Invalid argument"
assert_eq "$(patch_file dynamos_test_notrace state)" registered "state after the failure"
grep -q "ftrace cannot trace it" "$SYSFS/patches/dynamos_test_notrace/error" ||
	die "error file: $(patch_file dynamos_test_notrace error)"
loop_until no_functions || die "functions left behind: $(ls "$SYSFS/functions")"
unload_mod dynamos_test_notrace

# 3. A livepatch holds the function: dynamos refuses, livepatch goes on.
load_mod "$TESTMOD_DIR/$KLP.ko"
loop_until klp_settled || die "the livepatch did not finish its transition"
assert_eq "$(call_add 2 3)" "$(livepatch_add 2 3)" "add under the livepatch"
load_mod "$(test_ko add)"
expect_write_error "$SYSFS/patches/$ADD/enabled" 1 "Device or resource busy"
assert_eq "$(patch_file $ADD state)" registered "$ADD after the refusal"
loop_until no_functions || die "functions left behind: $(ls "$SYSFS/functions")"
assert_eq "$(call_add 2 3)" "$(livepatch_add 2 3)" "add still under the livepatch"
write_file 0 "$KLPSYS/enabled"
loop_until test ! -e "$KLPSYS" || die "the livepatch did not go away"
unload_mod $KLP
enable_patch $ADD
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add under dynamos"

# 4. dynamos holds the function: the livepatch is refused, dynamos goes on.
log_cmd "insmod $KLP (expected to fail)"
if insmod "$TESTMOD_DIR/$KLP.ko" 2>/dev/null; then die "the livepatch loaded over dynamos"; fi
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add still under dynamos"

disable_patch $ADD
unload_mod $ADD
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos_selftest: % insmod $TARGET
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod dynamos_test_bad (expected to fail)
dynamos: patch 'dynamos_test_bad' registered
dynamos: patch 'dynamos_test_bad': unknown symbol dynamos_target_missing in dynamos_target
dynamos: patch 'dynamos_test_bad' unregistered
dynamos_selftest: % insmod dynamos_test_notrace
dynamos: patch 'dynamos_test_notrace' registered
dynamos_selftest: % echo -n 1 > $SYSFS/patches/dynamos_test_notrace/enabled (expected to fail: Invalid argument)
dynamos: patch 'dynamos_test_notrace': cannot patch dynamos_target_notrace: ftrace cannot trace it (-22)
dynamos_selftest: % rmmod dynamos_test_notrace
dynamos: patch 'dynamos_test_notrace' unregistered
dynamos_selftest: % insmod $KLP
dynamos_selftest: % insmod $ADD
dynamos: patch '$ADD' registered
dynamos_selftest: % echo -n 1 > $SYSFS/patches/$ADD/enabled (expected to fail: Device or resource busy)
dynamos: patch '$ADD': cannot patch dynamos_target_add: another ftrace user that changes the instruction pointer (a livepatch, a kprobe) holds it (-16)
dynamos_selftest: % echo 0 > $KLPSYS/enabled
dynamos_selftest: % rmmod $KLP
dynamos_selftest: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
dynamos_selftest: % insmod $KLP (expected to fail)
dynamos_selftest: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
dynamos_selftest: % rmmod $ADD
dynamos: patch '$ADD' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
