#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A wrapper edition counts the calls and calls the edition it replaced (the
# original): behaviour is unchanged and the count is exact. Every call goes
# to the one edition, so the function's entry jumps straight to it.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_wrap
N=50

start_test "a wrapper edition counts calls exactly and calls the original"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko wrap)"
assert_eq "$(patch_file $PATCH state)" registered "state before enable"
enable_patch $PATCH
loop_until eval '[ "$(calls_mode dynamos_target:dynamos_target_add)" = "$STEADY_MODE" ]' ||
	die "calls reach the edition by '$(calls_mode dynamos_target:dynamos_target_add)', not '$STEADY_MODE'"
for i in $(seq $N); do
	r=$(call_add "$i" 3)
	[ "$r" = "$(add_orig "$i" 3)" ] || die "add $i 3 returned $r under the wrapper"
done
log "ok: $N calls, each result unchanged"
assert_eq "$(edition_file dynamos_target:dynamos_target_add 1 calls)" "$N" "calls counted by dynamos"
disable_patch $PATCH
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "add after disable"
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
dynamos_selftest: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos_selftest: % rmmod $PATCH
$PATCH: counted $N calls
dynamos: patch '$PATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $TARGET"
