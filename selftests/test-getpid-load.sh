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
STOP=$(mktemp -u)
pids=()

cleanup_extra() {
	touch "$STOP"
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -f "$STOP"
}

all_seen() {
	local seen p
	seen=$(dmesg | sed -n 's/.*dynamos_test_getpid: pid \([0-9]*\) entered the new edition/\1/p' | sort -u)
	for p in "${pids[@]}"; do
		grep -qx "$p" <<<"$seen" || return 1
	done
}

start_test "getpid is patched and unpatched under the load of $N processes"
[ -x "$LOOP" ] || skip "$LOOP was not built"
for i in $(seq $N); do
	"$LOOP" "$STOP" &
	pids+=($!)
done
load_mod "$CORE_KO"
load_mod "$(test_ko getpid)"
wait_state $PATCH enabled
loop_until all_seen || die "not every process entered the new edition"
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

check_result "dynamos: dynamos 0.1.0 loaded
dynamos: patch '$PATCH' registered
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
dynamos: patch '$PATCH' unregistered
dynamos: dynamos unloaded"
