#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An interface change, under load: dynamos_iface_compute(x) gains a
# parameter, and its two callers switch with it as one subsystem.
# - Calls with the new interface (from the new callers) enter the new
#   edition; calls with the old one never do. Both sides count a call that
#   crossed interfaces: there must be none, while four workers call through
#   both callers across the switch and back.
# - A caller asleep in its old edition does not hold the switch up: the
#   patch is enabled while it sleeps. Woken, its old-interface call goes
#   through the adaptor to the new callee, and returns the right value.

. "$(dirname "$0")/functions.sh"

IFACE=dynamos_test_iface
ISUB=$SYSFS/subsystems/dynamos_iface

start_test "a callee gains a parameter with its callers; a sleeping old caller goes through the adaptor"
load_mod "$DATA_KO"
load_mod "$CORE_KO"
write_file 1 "$DDBG/notes"

write_file 4 "$DDBG/iface_workers"
loop_until ddbg_field_at_least iface_stats calls 2000 || die "the workers do not run: $(ddbg iface_stats)"

# A task asleep in dynamos_iface_caller_b(), before its call of the callee.
out=$(mktemp)
sleep_on "$DDBG/iface_sleep" "$out"
sleeper=$SLEEPER
loop_until eval '[ "$(ddbg_field iface_stats sleeping)" = 1 ]' || die "the sleeper did not go to sleep"

load_mod "$(test_ko iface)"
wait_state $IFACE enabled
assert_eq "$(cat "$ISUB/generation")" 1 "generation after the switch"
assert_eq "$(ddbg_field iface_stats sleeping)" 1 "the old caller still sleeps after the switch"
log "ok: switched while an old caller sleeps in its old edition"
new=$(ddbg_field notes new)
loop_until ddbg_field_at_least notes new $((new + 2000)) || die "the new callee is not called: $(ddbg notes)"

# Nothing else calls the old interface now: the sleeper's call is the only
# one the adaptor translates.
write_file 0 "$DDBG/iface_workers"
adapted=$(ddbg_field notes adapted)
write_file 1 "$DDBG/iface_wake"
wait "$sleeper"
assert_eq "$(cat "$out")" "$(iface_caller_orig 7)" "the sleeper's result (7 * 2 + 1)"
rm -f "$out"
assert_eq "$(ddbg_field notes adapted)" $((adapted + 1)) "calls through the adaptor after the wake-up"
log "ok: the old caller's call went through the adaptor: $(ddbg notes)"
# Its old edition is let go once it has left.
left() { test_dmesg | grep -q "the last task left the old callers that an adaptor covers"; }
loop_until left || die "the old callers' editions were not let go"

# And back, under load.
write_file 4 "$DDBG/iface_workers"
old=$(ddbg_field iface_stats old)
disable_patch $IFACE
loop_until ddbg_field_at_least iface_stats old $((old + 2000)) || die "the original callee is not called again: $(ddbg iface_stats)"
write_file 0 "$DDBG/iface_workers"
assert_eq "$(cat "$ISUB/generation")" 0 "generation after the disable"
assert_eq "$(ddbg_field notes crossings)" 0 "calls that crossed interfaces"
assert_eq "$(ddbg_field iface_stats wrong)" 0 "wrong results"
log "ok: $(ddbg_field iface_stats calls) calls, $(ddbg_field notes new) through the new interface, no crossing"
unload_mod $IFACE

check_result "dynamos_selftest: % insmod $DATA
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % echo 1 > $DDBG/notes
dynamos_selftest: % echo 4 > $DDBG/iface_workers
dynamos_selftest: % cat $DDBG/iface_sleep &
dynamos_selftest: % insmod $IFACE
dynamos: patch '$IFACE' registered
dynamos: enabling patch '$IFACE'
dynamos: subsystem 'dynamos_iface': now at generation 1
dynamos: patch '$IFACE' enabled
dynamos_selftest: % echo 0 > $DDBG/iface_workers
dynamos_selftest: % echo 1 > $DDBG/iface_wake
dynamos: the last task left the old callers that an adaptor covers
dynamos_selftest: % echo 4 > $DDBG/iface_workers
dynamos_selftest: % echo 0 > $SYSFS/patches/$IFACE/enabled
dynamos: disabling patch '$IFACE'
dynamos: subsystem 'dynamos_iface': now at generation 0
dynamos: patch '$IFACE' disabled
dynamos_selftest: % echo 0 > $DDBG/iface_workers
dynamos_selftest: % rmmod $IFACE
dynamos: patch '$IFACE' unregistered"
