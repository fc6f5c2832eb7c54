#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Non-exported symbols (the patch API's ksyms!): an edition calls the second
# of two static functions named dynamos_dup in dynamos_target (@ 2) and the
# first (@ 1), reads and writes a static variable of that module, and calls
# kallsyms_lookup_name(), which vmlinux does not export. The module loader
# resolves them at insmod, through livepatch relocations; the patch module
# is marked a live patch (taint K), and its target module cannot be removed
# under it.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_ksyms
VAR=$TDBG/ksym_var

# The edition's result for add A B with the static variable at V
# (dynamos_test_ksyms.rs): a + b, 10 x dynamos_dup @ 1 (1), 100 x @ 2 (2),
# 1000 when kallsyms_lookup_name() finds dynamos_target_add, 10000 x V.
add_ksyms() { echo $(($1 + $2 + 10 * 1 + 100 * 2 + 1000 + 10000 * $3)); }

start_test "an edition reaches static functions and data, and a non-exported vmlinux function"
load_mod "$CORE_KO"
# Without dynamos_target the loader cannot resolve the module's symbols:
# insmod fails, nothing stays loaded.
log_cmd "insmod $PATCH (expected to fail: $TARGET is not loaded)"
if insmod "$(test_ko ksyms)" 2>/dev/null; then die "$PATCH loaded without its target module"; fi
is_loaded $PATCH && die "$PATCH stayed loaded"
dmesg | grep -q "livepatch: symbol 'dynamos_dup' not found in symbol table" ||
	die "no loader message for the unresolved symbol"
log "ok: insmod refused, the loader says which symbol it could not resolve"

load_mod "$TARGET_KO"
# A patch module whose references the build did not convert (the module as
# linked, kept by scripts/ksyms.sh) loads with them resolved to address 0
# (they are weak): dynamos refuses to register it, so none of its code
# runs.
[ -f "$(test_ko ksyms).unconverted" ] || die "no $(test_ko ksyms).unconverted (scripts/ksyms.sh keeps it)"
log_cmd "insmod $PATCH.ko.unconverted (expected to fail)"
if insmod "$(test_ko ksyms).unconverted" 2>/dev/null; then die "an unconverted $PATCH loaded"; fi
is_loaded $PATCH && die "an unconverted $PATCH stayed loaded"
log "ok: an unconverted patch module does not load"
assert_eq "$(cat "$VAR")" 5 "the static variable before the patch"
load_mod "$(test_ko ksyms)"
wait_state $PATCH enabled
assert_eq "$(call_add 1 2)" "$(add_ksyms 1 2 5)" "add under the patch"
assert_eq "$(cat "$VAR")" 6 "the static variable, written by the edition"
assert_eq "$(call_add 3 4)" "$(add_ksyms 3 4 6)" "add under the patch, again"
log "ok: both dynamos_dup functions, the variable and kallsyms_lookup_name() reached"
case "$(cat /sys/module/$PATCH/taint)" in
*K*) log "ok: $PATCH taints the kernel as a live patch (K)" ;;
*) die "$PATCH does not taint the kernel K: '$(cat /sys/module/$PATCH/taint)'" ;;
esac
# The patch holds its target module: removing it would leave the
# edition's calls pointing into freed code.
log_cmd "rmmod $TARGET (expected to fail: in use)"
if rmmod "$TARGET" 2>/dev/null; then die "$TARGET was removed under $PATCH"; fi
log "ok: $TARGET cannot be removed while $PATCH is loaded"
disable_patch $PATCH
assert_eq "$(call_add 1 2)" "$(add_orig 1 2)" "add after disable"
unload_mod $PATCH
unload_mod "$TARGET"
unload_mod "$CORE"

check_result "$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $PATCH (expected to fail: $TARGET is not loaded)
$CMD_PREFIX: % insmod $TARGET
$CMD_PREFIX: % insmod $PATCH.ko.unconverted (expected to fail)
dynamos: register: patch $PATCH: 4 references to non-exported symbols were not converted (tools/ksymconv, run by the build): their calls would go to address 0
$CMD_PREFIX: % insmod $PATCH
dynamos: patch '$PATCH' registered
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
$CMD_PREFIX: % rmmod $TARGET (expected to fail: in use)
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
$CMD_PREFIX: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
$CMD_PREFIX: % rmmod $TARGET
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded"
