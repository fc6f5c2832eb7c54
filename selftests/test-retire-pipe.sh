#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The crash a user met, on real vmlinux code: the guide's tail-calling
# wrapper on fifo_pipe_read() (fs/pipe.c), a reader asleep on an empty FIFO
# under prev(). Disabling must wait for it and rmmod must fail until it
# wakes; then the patch is disabled and its module goes. Without the check
# of the module's whole text the patch retires at once, rmmod succeeds, and
# the reader wakes into freed text (Oops: int3, then a panic).

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_pipe

fifo=$(mktemp -u)
writer=
cleanup_extra() {
	[ -n "$writer" ] && kill "$writer" 2>/dev/null
	rm -f "$fifo"
}

start_test "a reader asleep on a FIFO under a tail-calling wrapper keeps its module"
mkfifo "$fifo"
load_mod "$CORE_KO"
load_mod "$(test_ko pipe)"
enable_patch $PATCH
out=$(mktemp)
# cat opens the FIFO, a writer that writes nothing opens it too, and cat
# sleeps reading it: in anon_pipe_read(), under fifo_pipe_read(), entered
# through the patch.
log_cmd "cat fifo > out & sleep 1000 > fifo &"
cat "$fifo" >"$out" &
reader=$!
sleep 1000 >"$fifo" &
writer=$!
loop_until eval "[ \"\$(cat /proc/$reader/wchan 2>/dev/null)\" = anon_pipe_read ]" ||
	die "cat ($reader) does not sleep in anon_pipe_read: $(cat /proc/$reader/wchan 2>/dev/null)"
calls=$(edition_file fifo_pipe_read 1 calls)
[ "$calls" -ge 1 ] || die "the edition counted $calls calls"
write_file 0 "$SYSFS/patches/$PATCH/enabled" "the reader is in the original, under prev()"
log_cmd "rmmod $PATCH (expected to fail: a task may return into it)"
if rmmod $PATCH 2>/dev/null; then die "$PATCH was removed under its sleeping reader"; fi
loop_until grep -qx "holder $reader cat" "$SYSFS/patches/$PATCH/waiting" ||
	die "the reader is not among the holders: $(patch_file $PATCH waiting | tr '\n' ' ')"
assert_eq "$(patch_file $PATCH state)" disabling "state while the reader sleeps"
log "ok: $PATCH stays while its reader sleeps under prev()"
write_file woke "$fifo" "another writer writes"
kill "$writer"
wait "$writer" 2>/dev/null
writer=
wait "$reader"
assert_eq "$(cat "$out")" woke "what the reader read"
rm -f "$out"
wait_state $PATCH disabled
unload_mod $PATCH
unload_mod "$CORE"

check_result "$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $PATCH
dynamos: patch '$PATCH' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$PATCH/enabled
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
$CMD_PREFIX: % cat fifo > out & sleep 1000 > fifo &
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$PATCH/enabled (the reader is in the original, under prev())
dynamos: disabling patch '$PATCH'
$CMD_PREFIX: % rmmod $PATCH (expected to fail: a task may return into it)
$CMD_PREFIX: % echo woke > $fifo (another writer writes)
dynamos: patch '$PATCH' disabled
$CMD_PREFIX: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded"
