#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ksyms! on real vmlinux code: a new edition of show_map() (fs/proc/
# task_mmu.c, static) calls the file's static helper show_map_vma(), which
# no module can link against, then the original through prev(). /proc/
# PID/maps of a process that does not change shows every line twice while
# the patch is enabled, and as before once it is disabled. Twice: as sites
# run here (a jump, prev() entering the original past its hook), and with
# dynamos.trampoline_only=1, the path of CPUs that enforce IBT, where
# prev() calls the original's entry directly, through a livepatch
# relocation (a pointer call would fault on a sealed ENDBR there).

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_maps

cleanup_extra() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; }

# maps_twice [PARAM]: the whole run, with dynamos loaded with PARAM.
maps_twice() {
	local param=${1:-} mode
	load_mod "$CORE_KO" $param
	load_mod "$(test_ko maps)"
	enable_patch $PATCH
	assert_eq "$(cat "/proc/$pid/maps")" "$twice" "/proc/$pid/maps under the patch${param:+ ($param)}"
	calls=$(edition_file show_map 1 calls)
	[ "$calls" -ge "$(printf '%s\n' "$orig" | wc -l)" ] || die "the edition counted $calls calls"
	mode=$(sed -n 's/^calls //p' "$(func_dir show_map)/policy")
	case "$param" in
	"") [ "$mode" != handler ] || die "show_map's site does not jump: $mode" ;;
	*) assert_eq "$mode" handler "show_map's calls with $param" ;;
	esac
	log "ok: every mapping shown twice, by show_map_vma() and prev() (calls: $mode)"
	case "$(cat /sys/module/$PATCH/taint)" in
	*K*) ;;
	*) die "$PATCH does not taint the kernel K: '$(cat /sys/module/$PATCH/taint)'" ;;
	esac
	disable_patch $PATCH
	assert_eq "$(cat "/proc/$pid/maps")" "$orig" "/proc/$pid/maps after disable"
	unload_mod $PATCH
	unload_mod "$CORE"
}

start_test "an edition of static show_map() calls static show_map_vma() and prev()"
start_still
pid=$STILL
orig=$(cat "/proc/$pid/maps")
twice=$(printf '%s\n' "$orig" | awk '{ print; print }')
# prev(), call() and orig_counted reach a vmlinux target by a direct call,
# through a livepatch relocation: what keeps them valid under IBT, which
# QEMU does not enforce.
command -v readelf >/dev/null || die "readelf (binutils) is needed to read $PATCH.ko"
readelf -rW "$(test_ko maps)" | awk '/^Relocation section .*\.klp\.rela\.vmlinux\.text/ { s = 1; next }
	/^Relocation section/ { s = 0 } s && /PLT32 .*\.klp\.sym\.vmlinux\.show_map,0/ { f = 1 } END { exit !f }' ||
	die "$PATCH.ko has no direct call of show_map through a livepatch relocation"
log "ok: $PATCH.ko calls show_map directly, through a livepatch relocation"
maps_twice
maps_twice trampoline_only=1

run="$CMD_PREFIX: % insmod $PATCH
dynamos: patch '$PATCH' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$PATCH/enabled
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
$CMD_PREFIX: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded"
check_result "$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$run
$CMD_PREFIX: % insmod $CORE trampoline_only=1
dynamos: dynamos 0.1.0 loaded
$run"
