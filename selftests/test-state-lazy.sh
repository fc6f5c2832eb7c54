#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lazy state conversion of 10^5 objects to a new representation:
# - the objects the new edition touches are converted on first access;
# - the eager pass converts the rest while two readers race it on random
#   objects, with its progress in sysfs;
# - every object is converted exactly once, and reads the same value in
#   its new representation;
# - disabling the patch converts each object back, once, with the change
#   made in the new representation kept.

. "$(dirname "$0")/functions.sh"

STATE=dynamos_test_state
ST=$SYSFS/patches/$STATE/states/dynamos_objs

start_test "10^5 objects converted lazily, then eagerly, exactly once; then back"
load_mod "$DATA_KO"
load_mod "$CORE_KO"
n=$(ddbg_field obj_stats objs)
assert_eq "$n" 100000 "objects"
sum=$(ddbg_field obj_stats raw_sum)

load_mod "$(test_ko state)"
wait_state $STATE enabled
for f in converted reversible eager allow_loss; do assert_exists "$ST/$f"; done
assert_eq "$(cat "$ST/converted")" 0 "objects converted at enable"
assert_eq "$(cat "$ST/reversible")" 1 "reversible"
assert_eq "$(cat "$ST/eager")" idle "eager pass before it is asked for"

# First access by the new edition converts.
write_file "0 500" "$DDBG/obj_touch"
assert_eq "$(cat "$ST/converted")" 500 "objects converted by 500 reads"
write_file "0 500" "$DDBG/obj_touch"
assert_eq "$(cat "$ST/converted")" 500 "objects converted by reading them again"

# The eager pass, raced by readers.
write_file 2 "$DDBG/obj_workers"
write_file 1 "$ST/eager"
seen=""
done_pass() {
	local e
	e=$(cat "$ST/eager")
	case "$e" in running*) seen=$e ;; esac
	[ "${e%% *}" = done ]
}
loop_until done_pass || die "the eager pass did not finish: $(cat "$ST/eager")"
assert_eq "$(cat "$ST/eager")" "done $n/$n" "eager pass"
log "ok: eager pass done${seen:+ (seen: $seen)}"
write_file 0 "$DDBG/obj_workers"
assert_eq "$(cat "$ST/converted")" "$n" "objects converted"
assert_eq "$(ddbg_field obj_stats converted1)" "$n" "objects converted exactly once"
assert_eq "$(ddbg_field obj_stats convertedN)" 0 "objects converted more than once"
assert_eq "$(ddbg_field obj_stats wrong)" 0 "wrong reads"
assert_eq "$(cat "$SYSFS/shadow_vars")" "$n" "records"
assert_eq "$(ddbg obj_sum)" "$sum" "sum of the values in the new representation"
write_file "5 7" "$DDBG/obj_add"
assert_eq "$(ddbg obj_sum)" $((sum + 7)) "sum after adding 7 in the new representation"
assert_eq "$(ddbg_field obj_stats raw_sum)" "$sum" "old representation, unchanged"
expect_write_error "$ST/eager" maybe "Invalid argument"
expect_write_error "$ST/allow_loss" 1 "Invalid argument"

# Back: every object once, with its new value.
disable_patch $STATE
assert_eq "$(cat "$ST/converted")" 0 "objects converted after the disable"
assert_eq "$(ddbg_field obj_stats reverted1)" "$n" "objects converted back exactly once"
assert_eq "$(ddbg_field obj_stats raw_sum)" $((sum + 7)) "sum in the old representation"
assert_eq "$(cat "$SYSFS/shadow_vars")" 0 "records after the disable"
expect_write_error "$ST/eager" 1 "Invalid argument"
unload_mod $STATE

check_result "dynamos_selftest: % insmod $DATA
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $STATE
dynamos: patch '$STATE' registered
dynamos: enabling patch '$STATE'
dynamos: patch '$STATE' enabled
dynamos_selftest: % echo '0 500' > $DDBG/obj_touch
dynamos_selftest: % echo '0 500' > $DDBG/obj_touch
dynamos_selftest: % echo 2 > $DDBG/obj_workers
dynamos_selftest: % echo 1 > $ST/eager
dynamos: state 'dynamos_objs': eager pass done after $n of $n objects
dynamos_selftest: % echo 0 > $DDBG/obj_workers
dynamos_selftest: % echo '5 7' > $DDBG/obj_add
dynamos_selftest: % echo -n maybe > $ST/eager (expected to fail: Invalid argument)
dynamos_selftest: % echo -n 1 > $ST/allow_loss (expected to fail: Invalid argument)
dynamos_selftest: % echo 0 > $SYSFS/patches/$STATE/enabled
dynamos: disabling patch '$STATE'
dynamos: state 'dynamos_objs': $n objects converted back
dynamos: patch '$STATE' disabled
dynamos_selftest: % echo -n 1 > $ST/eager (expected to fail: Invalid argument)
dynamos_selftest: % rmmod $STATE
dynamos: patch '$STATE' unregistered"
