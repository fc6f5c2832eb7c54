#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One consistency model on real vmlinux code: a patch of show_map() and of
# the static helper it calls, show_map_vma() (fs/proc/task_mmu.c), is
# enabled, disabled and reversed midway under readers of /proc/PID/maps;
# its editions check every call path between the two
# (dynamos_test_mapchain.rs) and none may mix an old and a new edition.
# With dynamos' consistency knob off, the same check must find mixes.

MAX_RETRIES=${MAX_RETRIES:-6000}
. "$(dirname "$0")/functions.sh"
P=dynamos_test_mapchain
STOP=/tmp/dynamos-mapchain.stop
ROUNDS=${CHAIN_ROUNDS:-8}

read_maps() { mapfile -t _ </proc/self/maps; }
cleanup_extra() { stop_loops "$STOP"; }

# run_phase [DYNAMOS PARAMS]: the rounds under readers; sets PATHS, MIXED.
run_phase() {
	local line before
	before=$(dmesg | grep -c "$P: paths ")
	load_mod "$CORE_KO" "$@"
	load_mod "$(test_ko mapchain)"
	log "$ROUNDS rounds of enable, disable and reversals under 3 readers of /proc/self/maps"
	start_loops "$STOP" read_maps
	transition_rounds $P "$ROUNDS"
	stop_loops "$STOP"
	[ "$(dmesg | grep -c "$P: paths ")" -gt "$before" ] || die "the patch reported no counts"
	line=$(dmesg | grep "$P: paths " | tail -n 1)
	PATHS=$(sed -n 's/.*paths \([0-9]*\) .*/\1/p' <<<"$line")
	MIXED=$(sed -n 's/.*mixed \([0-9]*\) .*/\1/p' <<<"$line")
	log "${line#*$P: }"
	unload_mod $P
	unload_mod "$CORE"
}

start_test "no call path mixes old and new editions of show_map() and show_map_vma()"
run_phase consistency=0
[ "$MIXED" -gt 0 ] || die "with consistency off, no mixed path in $PATHS: the check cannot tell"
log "ok: with consistency off, $MIXED of $PATHS checked call paths mixed editions"
run_phase
[ "$PATHS" -gt 0 ] || die "no call path went through a new edition"
[ "$MIXED" = 0 ] || die "$MIXED of $PATHS call paths mixed old and new editions"
log "ok: 0 of $PATHS checked call paths mixed editions"
