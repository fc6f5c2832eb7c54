#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ksyms! on real vmlinux code: a new edition of show_map() (fs/proc/
# task_mmu.c, static) calls the file's static helper show_map_vma(), which
# no module can link against, twice per mapping. /proc/PID/maps of a
# process that does not change shows every line twice while the patch is
# enabled, and as before once it is disabled.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_maps

cleanup_extra() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; }

start_test "an edition of static show_map() calls static show_map_vma()"
# A process whose mappings stay as they are.
sleep 1000 &
pid=$!
loop_until grep -q '\[stack\]' "/proc/$pid/maps" || die "no /proc/$pid/maps"
orig=$(cat "/proc/$pid/maps")
twice=$(printf '%s\n' "$orig" | awk '{ print; print }')
load_mod "$CORE_KO"
load_mod "$(test_ko maps)"
enable_patch $PATCH
assert_eq "$(cat "/proc/$pid/maps")" "$twice" "/proc/$pid/maps under the patch"
calls=$(edition_file show_map 1 calls)
[ "$calls" -ge "$(printf '%s\n' "$orig" | wc -l)" ] || die "the edition counted $calls calls"
log "ok: every mapping shown twice, by the edition's calls of show_map_vma()"
case "$(cat /sys/module/$PATCH/taint)" in
*K*) log "ok: $PATCH taints the kernel as a live patch (K)" ;;
*) die "$PATCH does not taint the kernel K: '$(cat /sys/module/$PATCH/taint)'" ;;
esac
disable_patch $PATCH
assert_eq "$(cat "/proc/$pid/maps")" "$orig" "/proc/$pid/maps after disable"
unload_mod $PATCH
unload_mod "$CORE"

check_result "$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $PATCH
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
