#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A kprobe and a kretprobe (neither changes the instruction pointer)
# coexist with a dynamos edition on the same function: all keep working,
# and every entry and return is seen. (With two ftrace
# users the call goes through ftrace_ops_list_func; a -Os kernel that left
# it at an odd address crashed here: see scripts/config/base.config.)

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add

start_test "a kprobe, a kretprobe and a dynamos edition share a function"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
enable_patch $ADD
load_mod "$TESTMOD_DIR/dynamos_test_kprobe.ko"
for i in 1 2 3; do assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add under dynamos and the probes"; done
unload_mod dynamos_test_kprobe
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add after the kprobe went"
disable_patch $ADD
unload_mod $ADD
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos_selftest: % insmod $TARGET
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $ADD
dynamos: patch '$ADD' registered
dynamos_selftest: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
dynamos_selftest: % insmod dynamos_test_kprobe
dynamos_selftest: % rmmod dynamos_test_kprobe
dynamos_test_kprobe: 3 hits, 3 returns
dynamos_selftest: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
dynamos_selftest: % rmmod $ADD
dynamos: patch '$ADD' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
