#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The dynamos command's waits when a sleeper holds a transition up: a
# disable times out (exit 3) naming the sleeper, blocking lists it, it is
# done once the sleeper is released; a subsystem's switch: load times out
# and names cancel and force, status shows the holder, cancel rolls it
# back, enable times out again, force completes it.

. "$(dirname "$0")/functions.sh"
SLEEP=dynamos_test_sleep

start_test "the dynamos command waits, times out and names who holds a transition"
need_dyn
load_mod "$TARGET_KO"
load_mod "$CORE_KO"

# 1. A sleeper holds a disable up: timed out (3), named; then done.
expect 0 "patch '$SLEEP' enabled" load "$(test_ko sleep)"
out=$(mktemp)
sleep_on "$TDBG/sleep" "$out"
s=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
expect 3 "patch '$SLEEP' is still disabling after 2 s, held by $s (cat)" disable --timeout 2 "$SLEEP"
row "'dynamos enable $SLEEP' reverses the transition"
expect 0 "" blocking
row "^ *$s +cat +$SLEEP +dynamos"
expect 0 "" blocking --json
assert_eq "$(js "[(b['pid'], b['comm'], b['patch'], b['function'].split('+')[0]) for b in d]")" \
	"[($s, 'cat', '$SLEEP', 'dynamos_test_sleep::dynamos_target_sleep::prev')]" "JSON blocking (the frame in edition 1)"
expect 0 "" status
row "^ *$SLEEP +disabling +0 +1 pending, held by $s"
write_file 1 "$TDBG/release"
wait "$s"
assert_eq "$(cat "$out")" "$(sleep_v7)" "the sleeper's result"
rm -f "$out"
expect 0 "patch '$SLEEP' disabled" wait "$SLEEP"
expect 0 "No transition is held up." blocking
expect 0 "patch '$SLEEP' unloaded" unload "$SLEEP"

# 2. A subsystem's switch held up by a sleeper in generation 0: load
# times out and names the ways out; cancel rolls it back; enable times out
# again and force completes it (the sleeper finishes in generation 0).
load_mod "$SUB_KO"
out=$(mktemp)
start_sleeper "$out"
s=$SLEEPER
expect 3 "patch '$SUBPATCH' is still enabling after 2 s" load --timeout 2 "$(test_ko subsys)"
row "'dynamos cancel $SUB' rolls the switch back, 'dynamos force $SUB' completes it now"
loop_until eval 'grep -q "^$s cat " "$SUBSYS/holders"' || die "holders: $(sub_file holders)"
expect 0 "" blocking
row "^ *$s +cat +$SUBPATCH +dynamos_sub_"
expect 0 "" status
row "^ *$SUB +1 +draining 0->1 .* $s +[0-9]+$"
expect 0 "" status --json
assert_eq "$(js "[(x['name'], x['generation'], [h['pid'] for h in x['holders']]) for x in d['subsystems']]")" \
	"[('$SUB', 1, [$s])]" "JSON subsystem while held (new calls enter generation 1)"
expect 0 "subsystem '$SUB': switch cancelled; patch '$SUBPATCH' disabled" cancel "$SUB"
assert_eq "$(sub_file generation)" 0 "generation after dynamos cancel"
expect 3 "patch '$SUBPATCH' is still enabling after 2 s, held by $s (cat) in dynamos_sub_sleep" enable --timeout 2 "$SUBPATCH"
expect 0 "subsystem '$SUB': switch forced; patch '$SUBPATCH' enabled" force "$SUB"
assert_eq "$(sub_file generation)" 1 "generation after dynamos force"
expect 1 "no switch of this subsystem is in progress" force "$SUB"
write_file 1 "$SDBG/release"
wait "$s"
assert_eq "$(cat "$out")" "$(sub_sleep_orig)" "the sleeper's result (generation 0)"
rm -f "$out"
expect 0 "patch '$SUBPATCH' unloaded" unload "$SUBPATCH"
unload_mod "$SUB"
unload_mod "$CORE"

unload_mod "$TARGET"
log "ok: the waits timed out and ended as they say"
