#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch of a module's function applies when the module arrives after the
# patch, goes when the module goes, and applies again when it is reloaded,
# as livepatch does with its module notifier.

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
F=dynamos_target:dynamos_target_add

start_test "a patch follows its target module as it comes, goes and comes back"
is_loaded "$TARGET" && die "$TARGET is already loaded"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
enable_patch $ADD
assert_absent "$(func_dir $F)"

load_mod "$TARGET_KO"
assert_exists "$(func_dir $F)"
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add in the module loaded after the patch"

unload_mod "$TARGET"
loop_until test ! -e "$(func_dir $F)" || die "$(func_dir $F) stayed after the module went"
assert_eq "$(patch_file $ADD state)" enabled "patch state without its module"

load_mod "$TARGET_KO"
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add in the reloaded module"
disable_patch $ADD
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "add after disable"
unload_mod $ADD
unload_mod "$TARGET"
unload_mod "$CORE"

check_result "dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $ADD
dynamos: patch '$ADD' registered
dynamos_selftest: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: patch '$ADD': dynamos_target_add waits for module dynamos_target
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
dynamos_selftest: % insmod $TARGET
dynamos: patch '$ADD': applied to dynamos_target_add in module dynamos_target
dynamos_selftest: % rmmod $TARGET
dynamos: patch '$ADD': module dynamos_target is going
dynamos_selftest: % insmod $TARGET
dynamos: patch '$ADD': applied to dynamos_target_add in module dynamos_target
dynamos_selftest: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
dynamos_selftest: % rmmod $ADD
dynamos: patch '$ADD' unregistered
dynamos_selftest: % rmmod $TARGET
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded"
