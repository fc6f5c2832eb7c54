#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Per-process editions: canary a fix on one process. With the default set
# to the original, one process runs the new edition and the others do not,
# and clearing the entry sends it back. Changes apply to the next call.

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
F=dynamos_target:dynamos_target_add

cleanup_extra() { [ -n "${CANARY_PID:-}" ] && kill "$CANARY_PID" 2>/dev/null; }

start_test "per-process editions apply to one process only"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
enable_patch $ADD
coproc CANARY { while read -r a b; do echo "add $a $b" >"$TDBG/call"; cat "$TDBG/call"; done; }
# Bash unsets CANARY_PID once the canary is gone: the transcript needs it.
canary=$CANARY_PID
assert_eq "$(canary_add 2 3)" "$(add_v100 2 3)" "canary before any policy"

write_file 0 "$(func_dir $F)/default"
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "this shell with default 0"
assert_eq "$(canary_add 2 3)" "$(add_orig 2 3)" "canary with default 0"

write_file "$canary 1" "$(func_dir $F)/pids" "the canary"
assert_eq "$(cat "$(func_dir $F)/pids")" "$canary 1" "pids file"
grep -qx "pid $canary 1" "$(func_dir $F)/policy" || die "policy does not show the canary"
assert_eq "$(canary_add 2 3)" "$(add_v100 2 3)" "canary with its own edition"
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "this shell, not the canary"

write_file "-$canary" "$(func_dir $F)/pids" "the canary"
assert_eq "$(cat "$(func_dir $F)/pids")" "" "pids file after clearing"
assert_eq "$(canary_add 2 3)" "$(add_orig 2 3)" "canary after clearing"

write_file 1 "$(func_dir $F)/default"
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "this shell with default 1"
kill "$CANARY_PID"
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
dynamos_selftest: % echo 0 > $(func_dir $F)/default
dynamos_selftest: % echo '$canary 1' > $(func_dir $F)/pids (the canary)
dynamos_selftest: % echo -$canary > $(func_dir $F)/pids (the canary)
dynamos_selftest: % echo 1 > $(func_dir $F)/default
dynamos_selftest: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
dynamos_selftest: % rmmod $ADD
dynamos: patch '$ADD' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
