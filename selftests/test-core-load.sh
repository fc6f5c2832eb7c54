#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The core module loads and unloads cleanly, three times in a row, creating
# /sys/kernel/dynamos/ on load and removing all of it on unload.

. "$(dirname "$0")/functions.sh"

start_test "dynamos loads and unloads cleanly, 3 times in a row"
is_loaded "$CORE" && die "dynamos is already loaded"
assert_absent "$SYSFS"

for i in 1 2 3; do
	load_mod "$CORE_KO"
	assert_exists "$SYSFS/version"
	assert_exists "$SYSFS/patches"
	unload_mod "$CORE"
	assert_absent "$SYSFS"
done

check_result "dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded"
