#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A plain patch's consistent transition held by a sleeper: it is reported
# after the patch's timeout_ms with the task that holds it (pid, command,
# function), it can be cancelled (written back), and forced, which leaves
# the sleeper's code loaded until it leaves: rmmod of the patch module is
# refused while the sleeper sleeps in its edition, and works after.

. "$(dirname "$0")/functions.sh"
P=dynamos_test_sleep

# holder_named PID: waiting names PID.
holder_named() { grep -qx "holder $1 cat" "$SYSFS/patches/$P/waiting"; }

start_test "a sleeper holds a plain patch's transition: timeout report, cancel, force"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko sleep)"
write_file 200 "$SYSFS/patches/$P/timeout_ms"
assert_eq "$(patch_file $P timeout_ms)" 200 "timeout_ms"

# Enable, held by a sleeper in the original.
out=$(mktemp)
sleep_on "$TDBG/sleep" "$out"
s1=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 1 "$SYSFS/patches/$P/enabled" "a sleeper in the original"
loop_until holder_named $s1 || die "waiting does not name sleeper $s1: $(patch_file $P waiting)"
grep -qx "pending 1" "$SYSFS/patches/$P/waiting" || die "waiting: $(patch_file $P waiting)"
grep -q "^switched [0-9]* of [0-9]*$" "$SYSFS/patches/$P/waiting" || die "waiting: $(patch_file $P waiting)"
reported() {
	dmesg | grep -q "patch '$P': the transition to enabled has not ended after 200 ms" &&
		dmesg | grep -Eq "patch '$P':   $s1 cat dynamos_target_sleep\+0x[0-9a-f]+/0x[0-9a-f]+ \[dynamos_target\]"
}
loop_until reported || die "no timeout report names sleeper $s1 in dynamos_target_sleep"
log "ok: the timeout report names the sleeper and its function"
assert_eq "$(call_add 2 3)" "$(add_orig 2 3)" "add (not patched) while held"

# Cancel: written back, the transition reverses and ends at once (the
# sleeper never left the old side).
write_file 0 "$SYSFS/patches/$P/enabled" "cancel"
wait_state $P disabled
sleepers_are 1 || die "the sleeper woke"
log "ok: cancelled while the sleeper sleeps"

# Force: the sleeper moves to the new side as it is.
write_file 1 "$SYSFS/patches/$P/enabled"
loop_until holder_named $s1 || die "waiting does not name sleeper $s1: $(patch_file $P waiting)"
write_file 1 "$SYSFS/patches/$P/force"
wait_state $P enabled
try_write 1 "$SYSFS/patches/$P/force" "expected to fail: not in transition" &&
	die "force outside a transition was taken"
write_file 1 "$TDBG/release"
wait "$s1"
assert_eq "$(cat "$out")" "$(sleep_orig)" "the sleeper's result: it ran the original"

# A disable held by a sleeper in the edition, forced: the module stays
# for the sleeper.
sleep_on "$TDBG/sleep" "$out"
s2=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 0 "$SYSFS/patches/$P/enabled" "a sleeper in the edition"
loop_until holder_named $s2 || die "waiting does not name sleeper $s2: $(patch_file $P waiting)"
write_file 1 "$SYSFS/patches/$P/force"
wait_state $P disabled
log_cmd "rmmod $P (expected to fail: a task may return into it)"
if rmmod $P 2>/dev/null; then die "$P was removed under its sleeper"; fi
log "ok: forced, the module stays while its sleeper sleeps in it"
write_file 1 "$TDBG/release"
wait "$s2"
assert_eq "$(cat "$out")" 7 "the sleeper's result: it ran the edition"
rm -f "$out"
loop_until eval "rmmod $P 2>/dev/null" || die "rmmod $P failed after its sleeper left"
log "ok: removed once the sleeper left"
unload_mod "$CORE"
unload_mod "$TARGET"
