#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch built for another build of the kernel: dynamos_test_stale names
# show_map_vma() @ 2, which the System.map it was checked against lists
# twice (scripts/build.sh makes that map) and the running kernel has once.
# insmod must fail with EINVAL, the loader must say which symbol and
# position it could not find, and nothing may stay: no module, no patch in
# sysfs, show_map() unchanged.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_stale

cleanup_extra() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; }

start_test "a ksyms! position the running kernel does not have fails insmod"
command -v readelf >/dev/null || die "readelf (binutils) is needed to read $PATCH.ko"
readelf -sW "$(test_ko stale)" | grep -q '\.klp\.sym\.vmlinux\.show_map_vma,2$' ||
	die "$PATCH.ko has no converted reference to show_map_vma @ 2"
[ "$(grep -c ' show_map_vma$' /proc/kallsyms)" = 1 ] ||
	skip "this kernel has $(grep -c ' show_map_vma$' /proc/kallsyms) show_map_vma(), the test needs exactly 1"
start_still
pid=$STILL
orig=$(cat "/proc/$pid/maps")
load_mod "$CORE_KO"
log_cmd "insmod $PATCH (expected to fail: Invalid argument)"
if err=$(insmod "$(test_ko stale)" 2>&1); then die "$PATCH loaded with a position the kernel does not have"; fi
case "$err" in
*"Invalid argument"* | *"Invalid parameters"*) log "ok: insmod failed: $err" ;;
*) die "insmod failed, but not with EINVAL: $err" ;;
esac
is_loaded $PATCH && die "$PATCH stayed loaded"
assert_absent "$SYSFS/patches/$PATCH"
assert_absent "$SYSFS/functions/show_map"
dmesg | awk -v m="$MARKER" 'p; index($0, m) { p = 1 }' |
	grep -q "livepatch: symbol position 2 for symbol 'show_map_vma' in object 'vmlinux' not found" ||
	die "no loader message naming show_map_vma and position 2"
log "ok: the loader names the symbol and the position; nothing stayed loaded"
assert_eq "$(cat "/proc/$pid/maps")" "$orig" "/proc/$pid/maps after the refusal"
unload_mod "$CORE"

check_result "$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $PATCH (expected to fail: Invalid argument)
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded"
