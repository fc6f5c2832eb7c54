#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Refusals of interface and data changes, with nothing changed:
# - an interface change whose listed caller has no new edition and no
#   adaptor is refused at load, with the reason in dmesg;
# - a patch whose conversion loses information is not disabled while
#   objects are converted: EPERM, with the reason in its error file, and it
#   stays enabled. Once the admin allows the loss, it is disabled and the
#   records are dropped.

. "$(dirname "$0")/functions.sh"

LOSSY=dynamos_test_state_lossy
ST=$SYSFS/patches/$LOSSY/states/dynamos_wide

start_test "an uncovered caller and an irreversible conversion are refused"
load_mod "$DATA_KO"
load_mod "$CORE_KO"

log_cmd "insmod dynamos_test_iface_bad (expected to fail)"
if insmod "$(test_ko iface_bad)" 2>/dev/null; then
	die "a patch that leaves a caller behind was loaded"
fi
assert_absent "$SYSFS/patches/dynamos_test_iface_bad"
assert_eq "$(ls "$SYSFS/functions")" "" "hooked functions after the refusal"
assert_eq "$(ddbg_field obj_stats converted0)" 100000 "objects untouched"

load_mod "$(test_ko state_lossy)"
wait_state $LOSSY enabled
assert_eq "$(cat "$ST/reversible")" 0 "reversible"
expect_write_error "$ST/eager" 1 "Operation not supported"
sum=$(ddbg obj_sum)
for i in 1 2 3; do write_file "$i 1" "$DDBG/obj_add"; done
assert_eq "$(cat "$ST/converted")" 3 "objects converted"
expect_write_error "$SYSFS/patches/$LOSSY/enabled" 0 "Operation not permitted"
assert_eq "$(patch_file $LOSSY state)" enabled "state after the refused disable"
assert_eq "$(patch_file $LOSSY error)" "state 'dynamos_wide' cannot be converted back: its conversion loses information, and 3 objects are converted (write 1 to its allow_loss to drop them)" "error file"
write_file "4 1" "$DDBG/obj_add"
assert_eq "$(cat "$ST/converted")" 4 "the patch still converts"
assert_eq "$(ddbg obj_sum)" "$sum" "old values while the new edition counts elsewhere"

expect_write_error "$ST/allow_loss" 2 "Invalid argument"
write_file 1 "$ST/allow_loss"
disable_patch $LOSSY
assert_eq "$(cat "$ST/converted")" 0 "records after the lossy disable"
assert_eq "$(cat "$SYSFS/shadow_vars")" 0 "shadow variables"
unload_mod $LOSSY

check_result "dynamos_selftest: % insmod $DATA
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod dynamos_test_iface_bad (expected to fail)
dynamos: register: patch dynamos_test_iface_bad: dynamos_iface_compute changes its interface, and its caller dynamos_iface_caller_b has no new edition in this patch and no adaptor covers it
dynamos_selftest: % insmod $LOSSY
dynamos: patch '$LOSSY' registered
dynamos: enabling patch '$LOSSY'
dynamos: patch '$LOSSY' enabled
dynamos_selftest: % echo -n 1 > $ST/eager (expected to fail: Operation not supported)
dynamos_selftest: % echo '1 1' > $DDBG/obj_add
dynamos_selftest: % echo '2 1' > $DDBG/obj_add
dynamos_selftest: % echo '3 1' > $DDBG/obj_add
dynamos_selftest: % echo -n 0 > $SYSFS/patches/$LOSSY/enabled (expected to fail: Operation not permitted)
dynamos: patch '$LOSSY': state 'dynamos_wide' cannot be converted back: its conversion loses information, and 3 objects are converted (write 1 to its allow_loss to drop them)
dynamos_selftest: % echo '4 1' > $DDBG/obj_add
dynamos_selftest: % echo -n 2 > $ST/allow_loss (expected to fail: Invalid argument)
dynamos_selftest: % echo 1 > $ST/allow_loss
dynamos_selftest: % echo 0 > $SYSFS/patches/$LOSSY/enabled
dynamos: disabling patch '$LOSSY'
dynamos: state 'dynamos_wide': 4 converted objects dropped, as allowed: their new data is lost
dynamos: patch '$LOSSY' disabled
dynamos_selftest: % rmmod $LOSSY
dynamos: patch '$LOSSY' unregistered"
