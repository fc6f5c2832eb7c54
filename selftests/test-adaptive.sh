#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An adaptation handler picks the edition from the call's arguments
# (DynAMOS' pipe_write example): writes over 64 KiB enter the new edition,
# the others the edition it replaced. Both branches are driven and the
# per-edition call counts checked.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_adapt
F=dynamos_target:dynamos_target_write

start_test "an adaptation handler picks the edition by argument"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko adapt)"
enable_patch $PATCH
grep -qx "handler $PATCH" "$(func_dir $F)/policy" || die "policy does not name the handler"
# The handler is the only policy: the entry jumps to the patch, which asks it.
want=handler
[ "$STEADY_MODE" = jump ] && want="jump adaptive"
loop_until eval '[ "$(calls_mode $F)" = "$want" ]' || die "calls reach the editions by '$(calls_mode $F)', not '$want'"
assert_eq "$(call_write 100)" "$(write_orig)" "write 100 (original)"
assert_eq "$(call_write 65536)" "$(write_orig)" "write 65536 (original)"
assert_eq "$(call_write 65537)" "$(write_v2)" "write 65537 (edition 1)"
assert_eq "$(call_write 1000000)" "$(write_v2)" "write 1000000 (edition 1)"
assert_eq "$(call_write 7)" "$(write_orig)" "write 7 (original)"
assert_eq "$(edition_file $F 0 calls)" 3 "calls into edition 0"
assert_eq "$(edition_file $F 1 calls)" 2 "calls into edition 1"
# A per-process entry is a policy the patch does not know: the handler of
# dynamos decides again, and the counts go on.
write_file "$$ 0" "$(func_dir $F)/pids"
assert_eq "$(calls_mode $F)" handler "how calls reach the editions with a per-process entry"
echo "write 65537" >"$TDBG/call" || die "calling write failed"
assert_eq "$(cat "$TDBG/call")" "$(write_orig)" "write 65537 from this process (original)"
write_file "-$$" "$(func_dir $F)/pids"
assert_eq "$(call_write 65537)" "$(write_v2)" "write 65537 again (edition 1)"
assert_eq "$(edition_file $F 0 calls)" 4 "calls into edition 0"
assert_eq "$(edition_file $F 1 calls)" 3 "calls into edition 1"
disable_patch $PATCH
assert_eq "$(call_write 1000000)" "$(write_orig)" "write 1000000 after disable"
unload_mod $PATCH
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos_selftest: % insmod $TARGET
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $PATCH
dynamos: patch '$PATCH' registered
dynamos_selftest: % echo 1 > $SYSFS/patches/$PATCH/enabled
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
dynamos_selftest: % echo '$$ 0' > $(func_dir $F)/pids
dynamos_selftest: % echo -$$ > $(func_dir $F)/pids
dynamos_selftest: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos_selftest: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
