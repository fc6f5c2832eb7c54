#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A subsystem switches as one unit, under load, and back:
# - worker threads run a two-step path (encode, then check) across the
#   switch: no path ever mixes generations (0 mixes);
# - the kernel threads that never return move to the new loop at their safe
#   point (kthread_should_stop() for one, a safe point the patch declares
#   for the other) and report it; they keep their pid and name, and their
#   tick counts are carried over (migrate callback) in both directions;
# - a task asleep in the old generation finishes in it, while new calls go
#   to the new one at once; the old generation retires when it leaves;
# - the subsystem's state (paths completed) is transferred (transfer
#   callback): the totals are exact after each switch;
# - the callbacks run in their documented order.

. "$(dirname "$0")/functions.sh"
F=dynamos_subsys:dynamos_sub_path

start_test "switch a subsystem under load: no mix, kthread moved, sleeper kept, state carried over"
load_mod "$SUB_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko subsys)"

assert_eq "$(sub_file generation)" 0 "generation before"
assert_eq "$(sub_file state)" idle "state before"
kpid=$(loop_field pid)
k2pid=$(loop_field pid loop2)
kcomm=$(sdbg loop_comm)
assert_eq "$kcomm" dynamos_subsys "loop thread name"
loop_until eval '[ "$(loop_field ticks)" -ge 3 ]' || die "the loop thread does not tick"
assert_eq "$(loop_field edition)" 0 "loop edition before"
loop_until eval '[ "$(loop_field ticks loop2)" -ge 3 ]' || die "the second loop thread does not tick"

write_file 4 "$SDBG/workers"
loop_until sdbg_at_least calls 200 || die "the workers do not run"
out=$(mktemp)
start_sleeper "$out"

t0=$(loop_field ticks)
t0b=$(loop_field ticks loop2)
write_file 1 "$SYSFS/patches/$SUBPATCH/enabled" "4 workers, the loop threads, a sleeper in generation 0"
assert_eq "$(sub_file generation)" 1 "generation during the switch"
loop_until loop_edition_is 1 || die "the loop thread did not move to edition 1: $(sdbg loop)"
assert_eq "$(loop_field pid)" "$kpid" "loop thread pid after moving"
assert_eq "$(sdbg loop_comm)" "$kcomm" "loop thread name after moving"
[ "$(loop_field ticks)" -ge "$t0" ] || die "ticks went back from $t0 to $(loop_field ticks): not carried over"
log "ok: loop thread $kpid runs edition 1 ($(sdbg loop))"
loop_until loop_edition_is 1 loop2 || die "the second loop thread did not move: $(sdbg loop2)"
assert_eq "$(loop_field pid loop2)" "$k2pid" "second loop thread pid after moving"
[ "$(loop_field ticks loop2)" -ge "$t0b" ] || die "second loop's ticks went back from $t0b"
log "ok: loop thread $k2pid runs edition 1 at its declared safe point ($(sdbg loop2))"

# The sleeper holds generation 0; new paths run generation 1 meanwhile.
loop_until sub_state_starts "draining 0->1" || die "subsystem state: $(sub_file state)"
assert_eq "$(patch_file $SUBPATCH state)" enabling "patch state while the sleeper sleeps"
loop_until eval 'grep -q "^$SLEEPER cat dynamos_sub_" "$SUBSYS/holders"' ||
	die "holders does not name the sleeper: $(sub_file holders)"
c1=$(edition_file $F 1 calls)
loop_until eval '[ "$(edition_file $F 1 calls)" -gt $((c1 + 20)) ]' ||
	die "new paths do not run generation 1 while the sleeper sleeps"
log "ok: new paths run generation 1 while sleeper $SLEEPER holds generation 0"

write_file 1 "$SDBG/release"
wait "$SLEEPER"
assert_eq "$(cat "$out")" "$(sub_sleep_orig)" "the sleeper's result (generation 0)"
wait_state $SUBPATCH enabled
assert_eq "$(sub_file state)" idle "state after the switch"
assert_eq "$(sub_file holders)" "" "holders after the switch"
assert_eq "$(sdbg mixes)" 0 "paths that mixed generations"
t1=$(loop_field ticks)
t1b=$(loop_field ticks loop2)
settle_counts

# Back: disabling switches 1->0 the same way; the loop thread unwinds to
# the original loop, its ticks carried back.
write_file 4 "$SDBG/workers"
write_file 0 "$SYSFS/patches/$SUBPATCH/enabled"
loop_until loop_edition_is 0 || die "the loop thread did not come back to edition 0: $(sdbg loop)"
loop_until loop_edition_is 0 loop2 || die "the second loop thread did not come back: $(sdbg loop2)"
wait_state $SUBPATCH disabled
t2=$(loop_field ticks)
[ "$t2" -ge "$t1" ] || die "ticks went back from $t1 to $t2: not carried over"
t2b=$(loop_field ticks loop2)
[ "$t2b" -ge "$t1b" ] || die "second loop's ticks went back from $t1b to $t2b"
assert_eq "$(loop_field pid)" "$kpid" "loop thread pid after coming back"
assert_eq "$(loop_field pid loop2)" "$k2pid" "second loop thread pid after coming back"
assert_eq "$(sub_file generation)" 0 "generation after disabling"
assert_eq "$(sub_file state)" idle "state after disabling"
assert_eq "$(sdbg mixes)" 0 "paths that mixed generations"
settle_counts
unload_mod $SUBPATCH
unload_mod "$CORE"
unload_mod "$SUB"
rm -f "$out"

check_result "dynamos_selftest: % insmod $SUB
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $SUBPATCH
dynamos: patch '$SUBPATCH' registered
dynamos_selftest: % echo 4 > $SDBG/workers
dynamos_selftest: % cat $SDBG/sleep &
dynamos_selftest: % echo 1 > $SYSFS/patches/$SUBPATCH/enabled (4 workers, the loop threads, a sleeper in generation 0)
$SUBPATCH: pre_patch: 0
dynamos: enabling patch '$SUBPATCH'
dynamos_selftest: % echo 1 > $SDBG/release
$SUBPATCH: transfer forward
$SUBPATCH: post_patch
dynamos: subsystem 'dynamos_subsys': now at generation 1
dynamos: patch '$SUBPATCH' enabled
dynamos_selftest: % echo 0 > $SDBG/workers
dynamos_selftest: % echo 1 > $SDBG/quiet
dynamos_selftest: % echo 0 > $SDBG/quiet
dynamos_selftest: % echo 4 > $SDBG/workers
dynamos_selftest: % echo 0 > $SYSFS/patches/$SUBPATCH/enabled
$SUBPATCH: pre_unpatch: 0
dynamos: disabling patch '$SUBPATCH'
$SUBPATCH: transfer backward
$SUBPATCH: post_unpatch
dynamos: subsystem 'dynamos_subsys': now at generation 0
dynamos: patch '$SUBPATCH' disabled
dynamos_selftest: % echo 0 > $SDBG/workers
dynamos_selftest: % echo 1 > $SDBG/quiet
dynamos_selftest: % echo 0 > $SDBG/quiet
dynamos_selftest: % rmmod $SUBPATCH
dynamos: patch '$SUBPATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded
dynamos_selftest: % rmmod $SUB"
