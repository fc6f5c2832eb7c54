#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rmmod of the core while a patch module is loaded is refused, and the core,
# the patch and their sysfs entries stay as they were.

. "$(dirname "$0")/functions.sh"

start_test "rmmod dynamos is refused while a patch is loaded"
load_mod "$CORE_KO"
load_mod "$HELLO_KO"

log_cmd "rmmod $CORE (expected to fail)"
err=$(rmmod "$CORE" 2>&1) && die "rmmod dynamos succeeded with a patch loaded"
log "rmmod said: $err"
case "$err" in
*"in use by: $HELLO"*) ;;
*) die "rmmod's error does not name the patch module" ;;
esac
is_loaded "$CORE" || die "dynamos was unloaded"
is_loaded "$HELLO" || die "$HELLO was unloaded"
assert_eq "$(cat "$SYSFS/patches/$HELLO/state")" "registered" "patch state"

unload_mod "$HELLO"
unload_mod "$CORE"

check_result "dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $HELLO
dynamos: patch '$HELLO' registered
dynamos_selftest: % rmmod $CORE (expected to fail)
dynamos_selftest: % rmmod $HELLO
dynamos: patch '$HELLO' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded"
