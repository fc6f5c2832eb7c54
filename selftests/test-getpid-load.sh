#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Patch and unpatch a syscall path under load, as livepatch's
# test-syscall.sh does: 64 processes call getpid() in a loop while the
# patch is enabled and disabled. No process sees a wrong result, and every
# process ends up in the new edition.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_getpid
N=64
LOOP=$SELFTESTS/getpid_loop
DMESG_IGNORE="entered the new edition"
GO=$(mktemp -u)
STOP=$(mktemp -u)
pids=()

cleanup_extra() {
	touch "$GO" "$STOP"
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -f "$GO" "$STOP"
}

# all_seen: every loader is in the new edition (no fork per pid: forks are
# slow under this load).
all_seen() {
	local seen p
	seen=" $(dmesg | sed -n 's/.*dynamos_test_getpid: pid \([0-9]*\) entered the new edition/\1/p' | tr '\n' ' ') "
	for p in "${pids[@]}"; do
		[[ "$seen" == *" $p "* ]] || return 1
	done
}

start_test "getpid is patched and unpatched under the load of $N processes"
[ -x "$LOOP" ] || skip "$LOOP was not built"
# The loaders start together once all are forked, at the lowest priority
# so that the test itself still gets the CPU under TCG.
log_cmd "nice -n 19 getpid_loop &, $N times"
for i in $(seq $N); do
	nice -n 19 "$LOOP" "$GO" "$STOP" &
	pids+=($!)
done
touch "$GO"
load_mod "$CORE_KO"
load_mod "$(test_ko getpid)"
wait_state $PATCH enabled
# Poll once a second: under this load every check forks three programs
# from the 9p root, which would starve the loaders if done every 10 ms.
seen_ok=0
for i in $(seq 120); do
	all_seen && { seen_ok=1; break; }
	sleep 1
done
[ $seen_ok = 1 ] || die "not every process entered the new edition within 120 s"
log "ok: all $N processes entered the new edition"
disable_patch $PATCH
touch "$STOP"
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
pids=()
[ "$fails" -eq 0 ] || die "$fails processes saw a wrong getpid()"
log "ok: no process saw a wrong result"
unload_mod $PATCH
unload_mod "$CORE"

check_result "dynamos_selftest: % nice -n 19 getpid_loop &, $N times
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % insmod $PATCH
dynamos: patch '$PATCH' registered
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
dynamos_selftest: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos_selftest: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
dynamos_selftest: % rmmod $CORE
dynamos: dynamos unloaded"
