#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch module registers with the core at load: it shows up under
# /sys/kernel/dynamos/patches/ and disappears on rmmod.

. "$(dirname "$0")/functions.sh"

start_test "a patch registers in sysfs and unregisters on rmmod"
load_mod "$CORE_KO"
assert_eq "$(ls "$SYSFS/patches")" "" "patches before insmod"

load_mod "$HELLO_KO"
assert_exists "$SYSFS/patches/$HELLO/state"
assert_eq "$(cat "$SYSFS/patches/$HELLO/state")" "registered" "patch state"

unload_mod "$HELLO"
assert_absent "$SYSFS/patches/$HELLO"
assert_eq "$(ls "$SYSFS/patches")" "" "patches after rmmod"

# Registering again after an unregistration works.
load_mod "$HELLO_KO"
assert_exists "$SYSFS/patches/$HELLO"
unload_mod "$HELLO"
unload_mod "$CORE"

check_result "dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $HELLO
dynamos: patch '$HELLO' registered
dynamos_selftest: % rmmod $HELLO
dynamos: patch '$HELLO' unregistered
dynamos_selftest: % insmod $HELLO
dynamos: patch '$HELLO' registered
dynamos_selftest: % rmmod $HELLO
dynamos: patch '$HELLO' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded"
