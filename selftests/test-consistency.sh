#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# One consistency model: while a patch of three functions is enabled,
# disabled and reversed midway, again and again under callers, no call
# path mixes old and new editions. The chain (test_modules/chain.h) is
# ordinary C, built as the kernel builds it: a sibling call, an unpatched
# helper between patched functions, recursion through it (deep stacks),
# and sleeps on the way. The module checks every path it runs
# (chain_main.c). With dynamos' consistency knob off, the sites switch one
# by one and the same check must find mixed paths: it can fail.

# Transitions wait for the callers to be outside the chain: polls may last
# up to a minute.
MAX_RETRIES=${MAX_RETRIES:-6000}
. "$(dirname "$0")/functions.sh"
P=dynamos_test_chain
CDBG=/sys/kernel/debug/dynamos_chain
STOP=/tmp/dynamos-chain.stop
ROUNDS=${CHAIN_ROUNDS:-10}

# Each read of run makes 16 call paths.
run_paths() { read -r _ <"$CDBG/run"; }
cleanup_extra() { stop_loops "$STOP"; }

# chain_stat NAME: a field of the stats file ("paths N mixed M ...").
chain_stat() {
	local want=$1 line
	rd line "$CDBG/stats"
	set -- $line
	while [ $# -ge 2 ]; do
		[ "$1" = "$want" ] && { echo "$2"; return; }
		shift 2
	done
}

# run_phase [DYNAMOS PARAMS]: the rounds under callers; sets PATHS, MIXED,
# OLD, NEW, REVERSED.
run_phase() {
	local before
	load_mod "$CORE_KO" "$@"
	load_mod "$(test_ko chain)"
	echo 1 >"$CDBG/stats"
	before=$(dmesg | grep -c "reversing the transition of patch '$P'")
	log "$ROUNDS rounds of enable, disable and reversals under 3 callers"
	start_loops "$STOP" run_paths
	transition_rounds $P "$ROUNDS"
	stop_loops "$STOP"
	PATHS=$(chain_stat paths) MIXED=$(chain_stat mixed) OLD=$(chain_stat old) NEW=$(chain_stat new)
	REVERSED=$(($(dmesg | grep -c "reversing the transition of patch '$P'") - before))
	log "$PATHS call paths: $OLD all old, $NEW all new, $MIXED mixed (last mixed record $(chain_stat last)); $REVERSED reversals"
	unload_mod $P
	unload_mod "$CORE"
}

start_test "no call path mixes old and new editions of a patch (and the check can fail)"
load_mod "$CHAIN_KO"

run_phase consistency=0
[ "$MIXED" -gt 0 ] ||
	die "with consistency off, no mixed path in $PATHS: the check cannot tell"
log "ok: with consistency off, $MIXED of $PATHS call paths mixed editions"

run_phase
[ "$OLD" -gt 0 ] && [ "$NEW" -gt 0 ] || die "the paths did not run both editions ($OLD old, $NEW new)"
[ "$REVERSED" -gt 0 ] || die "no transition was reversed midway"
[ "$MIXED" = 0 ] || die "$MIXED of $PATHS call paths mixed old and new editions"
log "ok: 0 of $PATHS call paths mixed editions ($OLD all old, $NEW all new; $REVERSED reversals midway)"
unload_mod "$CHAIN"
