#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the VM (scripts/bench.sh boots it): one boot
# measures dynamos and the kernel's livepatch on the same functions of
# dynamos_bench.ko (selftests/test_modules/bench_target.c).
#
# Writes one record per line to $DYNAMOS_RESULTS/bench.txt:
#   percall PATH VARIANT FUNCS EDITIONS MEDIAN MIN MAX REPEATS CALLS
#       per-call time in ns of dynamos_bench_f000 (PATH kernel: a tight
#       loop in the module; syscall: one pread of debugfs per call)
#   apply SYSTEM FUNCS MS EN MIN MAX REPS
#                               insmod of the patch until fully switched,
#                               median of REPS loads (dynamos: EN, from the
#                               enable write on; "-" for livepatch);
#                               SYSTEM dynamos@COMMIT: the core and patch of
#                               an earlier commit, from BENCH_BEFORE_DIR
#   apply_vmlinux SYSTEM MS MIN MAX REPS
#                               the same for one static vmlinux function,
#                               cmdline_proc_show() (its patch enables itself)
#   switch SYSTEM MS|dnf:S      update of a subsystem whose kernel thread
#                               never returns (dnf: not finished after S s)
# Environment: BENCH_BEFORE_DIR (scripts/bench.sh builds it),
# BENCH_APPLY_REPS (5), BENCH_APPLY_REPS_1000 (3), BENCH_ITERS (kernel loop calls per run), BENCH_SYSCALLS,
# BENCH_REPS, BENCH_SMOKE=1 (a few tiny runs, for `make check`).

# Livepatch's transitions of hundreds of functions take minutes under TCG:
# polls may run for up to 10 minutes here.
MAX_RETRIES=${MAX_RETRIES:-60000}
. "$(dirname "$0")/../selftests/functions.sh"
B=/sys/kernel/debug/dynamos_bench
BENCH=dynamos_bench
BENCH_KO=$TESTMOD_DIR/dynamos_bench.ko
PATCH=dynamos_bench_patch
PATCH_KO=$TESTMOD_DIR/$PATCH.ko
STACK=dynamos_bench_stack
KLP=dynamos_bench_klp
USER_BIN=$SELFTESTS/bench_user
OUT=${DYNAMOS_RESULTS:-/tmp}/bench.txt

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	ITERS=${BENCH_ITERS:-2000} SYSCALLS=${BENCH_SYSCALLS:-200} REPS=${BENCH_REPS:-1}
	FUNCS="1 10" LAYERS="1 2"
else
	ITERS=${BENCH_ITERS:-100000} SYSCALLS=${BENCH_SYSCALLS:-5000} REPS=${BENCH_REPS:-7}
	FUNCS="1 10 100 1000" LAYERS="1 2 4 8"
fi
LP_WAIT=${LP_WAIT:-5}
: >"$OUT"

ms_now() { echo $(($(date +%s%N) / 1000000)); }
record() { echo "$*" >>"$OUT"; log "  $*"; }

# stats: median, min, max of the numbers on stdin.
stats() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

# One kernel-loop run: ns per call.
kernel_run() {
	local idx iters ns mism
	echo "0 $ITERS" >"$B/run" || die "run failed"
	read -r _ idx _ iters _ ns _ mism <"$B/run"
	[ "$mism" = 0 ] || die "$mism calls returned a wrong result"
	awk -v n="$ns" -v i="$iters" 'BEGIN { printf "%.3f\n", n / i }'
}

syscall_run() {
	local out
	out=$("$USER_BIN" "$B/call1" "$SYSCALLS") || die "bench_user failed"
	set -- $out
	awk -v n="$4" -v i="$2" 'BEGIN { printf "%.3f\n", n / i }'
}

# Sites make their jumps in the background, after a switch: wait for them
# (no function left on the handler or on a counted entry) before measuring
# a steady state.
no_counted_jumps() { ! grep -qx -e "calls jump counted" -e "calls handler" "$SYSFS"/functions/*/policy 2>/dev/null; }
wait_jumps() {
	grep -qw ibt /proc/cpuinfo && return 0 # no jumps with IBT
	loop_until no_counted_jumps || die "jumps did not settle"
}

# measure VARIANT FUNCS EDITIONS: both paths, REPS runs each.
measure() {
	local r s
	s=$(for r in $(seq "$REPS"); do kernel_run; done | stats)
	record percall kernel "$1" "$2" "$3" $s "$REPS" "$ITERS"
	s=$(for r in $(seq "$REPS"); do syscall_run; done | stats)
	record percall syscall "$1" "$2" "$3" $s "$REPS" "$SYSCALLS"
}

bench_set() { echo "$2" >"$B/$1" || die "setting $1 to $2 failed"; }
# The patch module's parameters: the target's settings.
patch_args() { echo "nr=$(cat "$B/nr") mode=$(cat "$B/mode")"; }
holders_are() { [ "$(cat "$B/holders")" = "$1" ]; }
start_holder() {
	cat "$B/hold" >/dev/null &
	HOLDER=$!
	loop_until holders_are 1 || die "the holder did not go to sleep"
}
release_holder() {
	echo 1 >"$B/release"
	wait "$HOLDER"
}
lp_gone() { [ ! -e "/sys/kernel/livepatch/$1" ]; }
lp_done() { [ "$(cat "/sys/kernel/livepatch/$1/transition" 2>/dev/null)" = 0 ]; }
lp_remove() {
	echo 0 >"/sys/kernel/livepatch/$1/enabled" || die "disabling livepatch $1 failed"
	loop_until lp_gone "$1" || die "livepatch $1 did not go away"
	rmmod "$1" || die "rmmod $1 failed"
}
dy_remove() {
	disable_patch "$1"
	rmmod "$2" || die "rmmod $2 failed"
}

# apply_dynamos PATCH_KO: insmod until enabled; the patch stays. Prints
# the time from insmod and from the enable write, in ms.
apply_dynamos() {
	local t0 t1 t2
	t0=$(ms_now)
	insmod "$1" $(patch_args) || die "insmod $1 failed"
	t1=$(ms_now)
	echo 1 >"$SYSFS/patches/$PATCH/enabled" || die "enable failed"
	wait_state $PATCH enabled
	t2=$(ms_now)
	echo "$((t2 - t0)) $((t2 - t1))"
}

# apply_reps FUNCS: how many times an apply of FUNCS functions is timed
# (one time alone is noise: a module load waits for RCU grace periods and
# timers, whose phase differs from one load to the next).
apply_reps() {
	if [ "${BENCH_SMOKE:-0}" = 1 ]; then
		echo 1
	elif [ "$1" -ge 1000 ]; then
		echo "${BENCH_APPLY_REPS_1000:-3}"
	else
		echo "${BENCH_APPLY_REPS:-5}"
	fi
}

# record_apply SYSTEM FUNCS FILE: one apply record from FILE's lines
# ("MS [EN]" each), which it empties.
record_apply() {
	local sys=$1 n=$2 f=$3 en=- reps
	reps=$(wc -l <"$f")
	# median min max
	set -- $(cut -d' ' -f1 "$f" | stats)
	if [ "$(awk '{ print NF; exit }' "$f")" = 2 ]; then
		en=$(cut -d' ' -f2 "$f" | stats | cut -d' ' -f1)
	fi
	record apply "$sys" "$n" "$1" "$en" "$2" "$3" "$reps"
	: >"$f"
}

# record_apply_vmlinux SYSTEM FILE: one apply_vmlinux record from FILE's
# times (ms from insmod until switched), which it empties.
record_apply_vmlinux() {
	local reps
	reps=$(wc -l <"$2")
	set -- "$1" "$2" $(stats <"$2")
	record apply_vmlinux "$1" "$3" "$4" "$5" "$reps"
	: >"$2"
}

MARKER="dynamos benchmark: start"
echo "$MARKER" >/dev/kmsg
trap cleanup EXIT INT TERM HUP
log "benchmark: $ITERS calls per kernel run, $SYSCALLS per syscall run, $REPS runs each"
load_mod "$BENCH_KO"
load_mod "$CORE_KO"

log "(a) unpatched"
measure unpatched 1 0

log "(b) dynamos, steady state"
bench_set nr 1
bench_set mode 0
load_mod "$PATCH_KO" $(patch_args)
enable_patch $PATCH
wait_jumps
measure dynamos 1 1
dy_remove $PATCH $PATCH

log "(c) dynamos, during a consistent transition (a sleeper holds the enable)"
load_mod "$PATCH_KO" $(patch_args)
start_holder
echo 1 >"$SYSFS/patches/$PATCH/enabled" || die "enable failed"
wait_state $PATCH enabling
# Each task runs its side's snapshot: every call asks the handler.
loop_until eval '[ "$(sed -n "s/^calls //p" $SYSFS/functions/dynamos_bench:dynamos_bench_f000/policy)" = handler ]' ||
	die "calls do not go through the handler during the transition"
measure dynamos-transition 1 1
release_holder
wait_state $PATCH enabled
dy_remove $PATCH $PATCH

log "(c) dynamos, adaptive path (a handler picks the edition)"
bench_set mode 1
load_mod "$PATCH_KO" $(patch_args)
enable_patch $PATCH
wait_jumps
measure dynamos-adaptive 1 1
dy_remove $PATCH $PATCH

log "(d) dynamos, during a subsystem switch"
bench_set mode 2
load_mod "$PATCH_KO" $(patch_args)
start_holder
echo 1 >"$SYSFS/patches/$PATCH/enabled" || die "enable failed"
loop_until eval '[ "$(cat $SYSFS/subsystems/dynamos_bench/state)" != "switching 0->1" ]' ||
	die "the subsystem switch did not start draining"
measure dynamos-switch 1 1
release_holder
wait_state $PATCH enabled
dy_remove $PATCH $PATCH
bench_set mode 0

log "(e) livepatch"
load_mod "$TESTMOD_DIR/$KLP.ko"
loop_until lp_done $KLP || die "livepatch did not finish"
measure livepatch 1 1
lp_remove $KLP

log "scaling in the number of patched functions; apply time"
for n in $FUNCS; do
	bench_set nr "$n"
	times=$(mktemp)
	for r in $(seq "$(apply_reps "$n")"); do
		apply_dynamos "$PATCH_KO" >>"$times"
		if [ "$r" = 1 ]; then
			wait_jumps
			measure dynamos "$n" 1
		fi
		dy_remove $PATCH $PATCH
	done
	record_apply dynamos "$n" "$times"
	for r in $(seq "$(apply_reps "$n")"); do
		t0=$(ms_now)
		insmod "$TESTMOD_DIR/$KLP.ko" nr="$n" || die "insmod $KLP failed"
		loop_until lp_done $KLP || die "livepatch did not finish"
		echo $(($(ms_now) - t0)) >>"$times"
		[ "$r" = 1 ] && measure livepatch "$n" 1
		lp_remove $KLP
	done
	record_apply livepatch "$n" "$times"
	if [ -n "${BENCH_BEFORE_DIR:-}" ]; then
		# The same patch and the same count, with the earlier core:
		# swapped in for these runs only (both are "dynamos").
		name=${BENCH_BEFORE_DIR##*/}
		unload_mod "$CORE"
		load_mod "$BENCH_BEFORE_DIR/$CORE.ko"
		for r in $(seq "$(apply_reps "$n")"); do
			apply_dynamos "$BENCH_BEFORE_DIR/selftests/test_modules/$PATCH.ko" >>"$times"
			dy_remove $PATCH $PATCH
		done
		record_apply "dynamos@${name%%-*}" "$n" "$times"
		unload_mod "$CORE"
		load_mod "$CORE_KO"
	fi
	rm -f "$times"
done
bench_set nr 1

# One static vmlinux function (cmdline_proc_show()): targets found in
# vmlinux's kallsyms, which the earlier core read from /proc/kallsyms.
log "apply time of a vmlinux function"
CMDLINE_KO=$MODDIR/patches/cmdline/dynamos_cmdline.ko
times=$(mktemp)
apply_vmlinux() {
	local t0
	t0=$(ms_now)
	insmod "$1" || die "insmod $1 failed"
	wait_state dynamos_cmdline enabled
	echo $(($(ms_now) - t0))
	grep -q "live patched by dynamos" /proc/cmdline || die "/proc/cmdline is not patched"
	# Its command lines go to stderr, not into the times.
	dy_remove dynamos_cmdline dynamos_cmdline >&2
}
for r in $(seq "$(apply_reps 1)"); do apply_vmlinux "$CMDLINE_KO" >>"$times"; done
record_apply_vmlinux dynamos "$times"
for r in $(seq "$(apply_reps 1)"); do
	t0=$(ms_now)
	insmod "$TESTMOD_DIR/dynamos_bench_klp_cmdline.ko" || die "insmod the cmdline livepatch failed"
	loop_until lp_done dynamos_bench_klp_cmdline || die "livepatch did not finish"
	echo $(($(ms_now) - t0)) >>"$times"
	grep -q "live patched by livepatch" /proc/cmdline || die "/proc/cmdline is not livepatched"
	lp_remove dynamos_bench_klp_cmdline >&2
done
record_apply_vmlinux livepatch "$times"
if [ -n "${BENCH_BEFORE_DIR:-}" ]; then
	name=${BENCH_BEFORE_DIR##*/}
	unload_mod "$CORE"
	load_mod "$BENCH_BEFORE_DIR/$CORE.ko"
	for r in $(seq "$(apply_reps 1)"); do
		apply_vmlinux "$BENCH_BEFORE_DIR/patches/cmdline/dynamos_cmdline.ko" >>"$times"
	done
	record_apply_vmlinux "dynamos@${name%%-*}" "$times"
	unload_mod "$CORE"
	load_mod "$CORE_KO"
fi
rm -f "$times"

log "scaling in the number of live editions"
set -- $LAYERS
bench_set layers "$(eval echo \${$#})"
load_mod "$TESTMOD_DIR/$STACK.ko"
on=0
for l in $LAYERS; do
	while [ "$on" -lt "$l" ]; do
		on=$((on + 1))
		enable_patch "dynamos_bench_s$on"
	done
	wait_jumps
	measure dynamos 1 "$l"
done
while [ "$on" -gt 0 ]; do
	disable_patch "dynamos_bench_s$on"
	on=$((on - 1))
done
unload_mod $STACK

if [ "${BENCH_SMOKE:-0}" != 1 ]; then
	log "non-quiescent switch: a subsystem whose kernel thread never returns"
	load_mod "$SUB_KO"
	t0=$(ms_now)
	insmod "$TESTMOD_DIR/dynamos_test_klp_subsys.ko" || die "insmod the livepatch failed"
	while [ $(($(ms_now) - t0)) -lt $((LP_WAIT * 1000)) ]; do
		lp_done dynamos_test_klp_subsys && break
		sleep 0.1
	done
	if lp_done dynamos_test_klp_subsys; then
		record switch livepatch $(($(ms_now) - t0))
	else
		record switch livepatch "dnf:$LP_WAIT"
	fi
	lp_remove dynamos_test_klp_subsys
	load_mod "$(test_ko subsys)"
	t0=$(ms_now)
	echo 1 >"$SYSFS/patches/$SUBPATCH/enabled" || die "enable failed"
	wait_state $SUBPATCH enabled
	record switch dynamos $(($(ms_now) - t0))
	dy_remove $SUBPATCH $SUBPATCH
	unload_mod "$SUB"
fi

unload_mod "$CORE"
unload_mod $BENCH
log "benchmark: done, $(wc -l <"$OUT") records in $OUT"
