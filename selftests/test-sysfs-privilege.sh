#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Writing to dynamos takes CAP_SYS_ADMIN, not only uid 0: root without the
# capability is refused with EPERM and nothing changes. What costs a scan of
# every thread's stack, or tells where tasks sit in the kernel, is readable
# by root only: editions/<id>/inside (and subsystems/<s>/holders, checked
# in test-subsys-refusals.sh).

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
F=dynamos_target:dynamos_target_add

# write_without_cap VALUE FILE: as root without CAP_SYS_ADMIN; prints the
# shell's error, and fails if the write succeeded.
write_without_cap() {
	! setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin bash -c 'echo "$1" >"$2"' bash "$1" "$2" 2>&1
}

start_test "writes need CAP_SYS_ADMIN; stack-scanning files are root-only"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
enable_patch $ADD
for w in "0 $SYSFS/patches/$ADD/enabled" "0 $(func_dir $F)/default" "$$ 0 $(func_dir $F)/pids"; do
	file=${w##* }
	value=${w% *}
	before=$(cat "$file")
	log_cmd "echo $(quote "$value") > $file (as root without CAP_SYS_ADMIN; expected to fail)"
	err=$(write_without_cap "$value" "$file") || die "root without CAP_SYS_ADMIN wrote '$value' to $file"
	case "$err" in
	*"Operation not permitted"*) ;;
	*) die "writing '$value' to $file without CAP_SYS_ADMIN: expected EPERM, got '$err'" ;;
	esac
	assert_eq "$(cat "$file")" "$before" "$file after the refused write"
done
assert_eq "$(patch_file $ADD state)" enabled "state after the refused writes"
assert_eq "$(call_add 2 3)" "$(add_v100 2 3)" "add after the refused writes"
log "ok: every write refused with EPERM, nothing changed"

inside=$(func_dir $F)/editions/1/inside
assert_mode "$inside" 400
assert_eq "$(cat "$inside")" 0 "inside, read by root"
if setpriv --reuid=65534 --regid=65534 --clear-groups cat "$inside" >/dev/null 2>&1; then
	die "nobody could read $inside"
fi
log "ok: $inside is root-only"
disable_patch $ADD
unload_mod $ADD
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "$CMD_PREFIX: % insmod $TARGET
$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $ADD
dynamos: patch '$ADD' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$ADD/enabled (as root without CAP_SYS_ADMIN; expected to fail)
$CMD_PREFIX: % echo 0 > $(func_dir $F)/default (as root without CAP_SYS_ADMIN; expected to fail)
$CMD_PREFIX: % echo '$$ 0' > $(func_dir $F)/pids (as root without CAP_SYS_ADMIN; expected to fail)
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
$CMD_PREFIX: % rmmod $ADD
dynamos: patch '$ADD' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded
$CMD_PREFIX: % rmmod $TARGET"
