#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The sysfs tree exists with the documented modes and contents, and nothing
# in it can be written: not by root (read-only files), not by other users.

. "$(dirname "$0")/functions.sh"

start_test "the sysfs tree has the right files, modes and contents"
load_mod "$CORE_KO"
load_mod "$HELLO_KO"

assert_mode "$SYSFS" 755
assert_mode "$SYSFS/version" 444
assert_mode "$SYSFS/patches" 755
assert_mode "$SYSFS/patches/$HELLO" 755
assert_mode "$SYSFS/functions" 755
assert_mode "$SYSFS/patches/$HELLO/enabled" 644
assert_mode "$SYSFS/patches/$HELLO/state" 444
assert_mode "$SYSFS/patches/$HELLO/transition" 444
assert_mode "$SYSFS/patches/$HELLO/error" 444
assert_mode "$SYSFS/patches/$HELLO/waiting" 444
assert_mode "$SYSFS/patches/$HELLO/force" 200
assert_mode "$SYSFS/patches/$HELLO/timeout_ms" 644

assert_mode "$SYSFS/subsystems" 755

assert_eq "$(cat "$SYSFS/version")" "0.1.0 abi 5" "version"
assert_eq "$(ls "$SYSFS")" "functions
patches
shadow_vars
subsystems
version" "files in $SYSFS"
assert_mode "$SYSFS/shadow_vars" 444
assert_eq "$(cat "$SYSFS/shadow_vars")" 0 "shadow variables without a patch that uses them"
assert_eq "$(ls "$SYSFS/subsystems")" "" "subsystems without a subsystem patch"
assert_eq "$(ls "$SYSFS/patches/$HELLO" | tr '\n' ' ')" "enabled error force replace state timeout_ms transition waiting " "files of a patch"
assert_eq "$(ls "$SYSFS/patches")" "$HELLO" "registered patches"
assert_eq "$(cat "$SYSFS/patches/$HELLO/state")" "registered" "patch state"

# Read-only files refuse writes, from root and from others; writable files
# refuse others. Nothing changes.
for f in "$SYSFS/version" "$SYSFS/patches/$HELLO/state" "$SYSFS/patches/$HELLO/enabled"; do
	before=$(cat "$f")
	if [ "$(stat -c %a "$f")" = 444 ] && try_write 1 "$f" "expected to fail"; then die "root could write $f"; fi
	if try_write_as_nobody 1 "$f" "expected to fail"; then
		die "an unprivileged user could write $f"
	fi
	assert_eq "$(cat "$f")" "$before" "$f after refused writes"
done
log "ok: writes refused, contents unchanged"

unload_mod "$HELLO"
unload_mod "$CORE"

check_result "dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $HELLO
dynamos: patch '$HELLO' registered
dynamos_selftest: % echo 1 > $SYSFS/version (expected to fail)
dynamos_selftest: % echo 1 > $SYSFS/version (as nobody; expected to fail)
dynamos_selftest: % echo 1 > $SYSFS/patches/$HELLO/state (expected to fail)
dynamos_selftest: % echo 1 > $SYSFS/patches/$HELLO/state (as nobody; expected to fail)
dynamos_selftest: % echo 1 > $SYSFS/patches/$HELLO/enabled (as nobody; expected to fail)
dynamos_selftest: % rmmod $HELLO
dynamos: patch '$HELLO' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded"
