#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make stress` inside the VM (scripts/stress.sh boots it, on the debug
# kernel): load, fault and hostile-input campaigns against dynamos. Each
# phase runs in a subshell of its own, so that a failure ends that phase
# only (with its cleanup); each writes one result line to
# $DYNAMOS_RESULTS/stress.txt: "ok - NAME: FIGURES" or "not ok - NAME: WHY".
#
#   load     4 callers (two of a test-module function, one of getpid(), one
#            reader of /proc/cmdline), each on its own vCPU, while
#            STRESS_OPS (1000) operations run: enable, disable, reversal
#            midway, default switches, per-process entries, stacking,
#            replace, insmod and rmmod of patches and of a target module.
#            After every round, with the callers stopped, a burst of 1000
#            calls must give the expected result 1000 times and add exactly
#            1000 to the entered edition's calls counter.
#   faults   an allocation failure at the Nth slab allocation (/proc/
#            thread-self/fail-nth), N = 1, 2, ... until the step makes no
#            more (for a module load: its last STRESS_FAULT_TAIL, 60;
#            with STRESS_FAULT_STRIDE=K, N = 1, 1 + K, ...), of:
#            registration (insmod), enable, disable, reversal, a default
#            write, a per-process write, a replace write, a target module
#            coming and going,
#            the enable and the disable of a seven-function subsystem patch
#            (two of its functions kernel-thread loops). After each, the
#            patch is wholly in one state and calls get that state's result.
#   hostile  every writable file, in four states (idle, a transition held
#            by a sleeper, a subsystem switch held by a sleeper, a forced
#            leftover), gets stress_tool's 60 hostile inputs as root (each
#            refused with an errno), as nobody (EACCES), as root without
#            CAP_SYS_ADMIN (EPERM) and from 4 racing root writers; the
#            readable state under /sys/kernel/dynamos/ must not change.
# A kmemleak scan ends the run: no leak may name a dynamos module.

# Transitions under the debug kernel and TCG take long: polls may last up
# to 5 minutes.
MAX_RETRIES=${MAX_RETRIES:-30000}
. "$(dirname "$0")/../selftests/functions.sh"
TOOL=$SELFTESTS/stress_tool
OUT=${DYNAMOS_RESULTS:-/tmp}/stress.txt
OPS=${STRESS_OPS:-1000}
FAULT_MAX=${STRESS_FAULT_MAX:-2000}
FAULT_TAIL=${STRESS_FAULT_TAIL:-60}
STRIDE=${STRESS_FAULT_STRIDE:-1}
PHASES=${STRESS_PHASES:-load faults hostile}
ADD=dynamos_test_add
F=dynamos_target:dynamos_target_add
FD=$SYSFS/functions/$F
STOP=/tmp/dynamos-stress.stop
: >"$OUT"

result() { echo "$*" >>"$OUT"; log "$*"; }

# Under the debug kernel every new process costs (and the callers keep
# every vCPU busy): the reads of this script use functions.sh's rd, and
# its polls nap there, with no new process.

# run_phase NAME: runs phase_NAME in a subshell; its last line on stdout
# that starts with "figures: " goes into the result.
run_phase() {
	local name=$1 log rc fig
	log=$(mktemp)
	log "== stress: $name"
	(phase_"$name") 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	fig=$(sed -n 's/^figures: //p' "$log" | tail -n 1)
	if [ "$rc" = 0 ]; then
		result "ok - stress: $name: $fig"
	else
		result "not ok - stress: $name: $(sed -n 's/^FAIL: //p' "$log" | tail -n 1)${fig:+ ($fig)}"
	fi
	rm -f "$log"
}

# --- helpers shared by the phases -------------------------------------------

# default_id: the edition new calls of add enter ("" if add is not patched).
default_id() { local v=; rd v "$FD/default"; printf '%s\n' "$v"; }

# account VALUE: with every caller stopped, 1000 calls (one read of
# add_burst, in this process) give VALUE each and, if add is patched, add
# exactly 1000 to the calls of the entered edition.
account() {
	local id= c0= c1= got=
	rd id "$FD/default"
	[ -n "$id" ] && rd c0 "$FD/editions/$id/calls"
	rd got "$TDBG/add_burst"
	[ "$got" = "$1:1000 " ] || die "round $ROUND: a burst gave '$got', not $1 each time"
	if [ -n "$id" ]; then
		rd c1 "$FD/editions/$id/calls"
		[ $((c1 - c0)) = 1000 ] ||
			die "round $ROUND: edition $id counted $((c1 - c0)) of 1000 calls"
		ACCOUNTED=$((ACCOUNTED + 1000))
	fi
}

stopped_state() {
	local st=
	rd st "/proc/$1/stat"
	st=${st##*) }
	[ "${st%% *}" = T ]
}
pause_callers() {
	local p
	kill -STOP $CALLERS
	for p in $CALLERS; do loop_until stopped_state "$p" || die "caller $p did not stop"; done
}
resume_callers() { kill -CONT $CALLERS; }

op() { OPS_DONE=$((OPS_DONE + 1)); }
en() { echo 1 >"$SYSFS/patches/$1/enabled" || die "round $ROUND: enabling $1 failed"; op; wait_state "$1" enabled; }
dis() { echo 0 >"$SYSFS/patches/$1/enabled" || die "round $ROUND: disabling $1 failed"; op; wait_state "$1" disabled; }

# --- load -------------------------------------------------------------------

phase_load() {
	local r out v total wrong errors t0
	start_test "stress: load"
	cleanup_extra() {
		touch "$STOP"
		[ -n "${CALLERS:-}" ] && kill -CONT $CALLERS 2>/dev/null
		wait
	}
	load_mod "$TARGET_KO"
	load_mod "$CORE_KO"
	load_mod "$TESTMOD_DIR/dynamos_bench.ko"
	for p in add sleep cb replace; do load_mod "$(test_ko $p)"; done
	cat /proc/cmdline >/tmp/cmdline.orig
	echo "this has been live patched by dynamos" >/tmp/cmdline.patched
	load_mod "$(test_ko getpid)"
	load_mod "$MODDIR/patches/cmdline/dynamos_cmdline.ko"
	load_mod "$TESTMOD_DIR/dynamos_bench_patch.ko"
	wait_state dynamos_test_getpid enabled
	wait_state dynamos_cmdline enabled
	en dynamos_bench_patch

	rm -f "$STOP"
	CALLERS=
	out=$(mktemp -d)
	# The callers take every vCPU, at the lowest priority: the operations,
	# and dynamos' transition work, run first whenever they are ready.
	for i in 1 2; do
		nice -n 19 "$TOOL" caller "$TDBG/add_burst" "$STOP" 5 105 205 305 >"$out/add$i" </dev/null &
		CALLERS="$CALLERS $!"
	done
	nice -n 19 "$TOOL" getpid "$STOP" >"$out/getpid" </dev/null &
	CALLERS="$CALLERS $!"
	nice -n 19 "$TOOL" read /proc/cmdline "$STOP" /tmp/cmdline.orig /tmp/cmdline.patched >"$out/cmdline" </dev/null &
	CALLERS="$CALLERS $!"
	t0=$SECONDS

	OPS_DONE=0 ACCOUNTED=0 ROUND=0
	while [ "$OPS_DONE" -lt "$OPS" ]; do
		ROUND=$((ROUND + 1))
		case $((ROUND % 8)) in
		0) # enable, disable
			en $ADD; pause_callers; account 105; resume_callers
			dis $ADD; pause_callers; account 5; resume_callers ;;
		1) # reversal midway: a sleeper in the original holds the enable
			sleep_on "$TDBG/sleep" "$out/sleep" >/dev/null
			loop_until sleepers_are 1 || die "round $ROUND: the sleeper did not sleep"
			echo 1 >"$SYSFS/patches/dynamos_test_sleep/enabled" || die "round $ROUND: enable failed"
			op
			state_is dynamos_test_sleep enabling ||
				die "round $ROUND: not held: $(patch_file dynamos_test_sleep state)"
			echo 0 >"$SYSFS/patches/dynamos_test_sleep/enabled" || die "round $ROUND: reversal failed"
			op
			wait_state dynamos_test_sleep disabled
			echo 1 >"$TDBG/release"
			wait "$SLEEPER"
			rd v "$out/sleep"
			[ "$v" = "$(sleep_orig)" ] || die "round $ROUND: the sleeper read $v" ;;
		2) # default switches
			en $ADD
			v=$(default_id)
			echo 0 >"$FD/default" || die "round $ROUND: default 0 failed"
			op; pause_callers; account 5; resume_callers
			echo "$v" >"$FD/default" || die "round $ROUND: default $v failed"
			op; pause_callers; account 105; resume_callers
			dis $ADD ;;
		3) # a per-process entry for this shell
			en $ADD
			echo "$BASHPID 0" >"$FD/pids" || die "round $ROUND: pinning failed"
			op
			# In this very process (cat would be another one).
			rd v "$TDBG/add_burst"
			[ "$v" = "5:1000 " ] || die "round $ROUND: the pinned shell got '$v'"
			echo "-$BASHPID" >"$FD/pids" || die "round $ROUND: unpinning failed"
			op; pause_callers; account 105; resume_callers
			dis $ADD ;;
		4) # stacking
			en $ADD; en dynamos_test_cb
			pause_callers; account 305; resume_callers
			dis dynamos_test_cb; pause_callers; account 105; resume_callers
			dis $ADD ;;
		5) # replace: an atomic replace disables every other patch
			en $ADD; en dynamos_test_replace
			for p in $ADD dynamos_test_getpid dynamos_cmdline dynamos_bench_patch; do
				state_is $p disabled || die "round $ROUND: $p not replaced: $(patch_file $p state)"
			done
			pause_callers; account 205; resume_callers
			dis dynamos_test_replace; pause_callers; account 5; resume_callers
			en dynamos_test_getpid; en dynamos_cmdline; en dynamos_bench_patch ;;
		6) # the syscall and /proc paths
			dis dynamos_test_getpid; dis dynamos_cmdline
			en dynamos_test_getpid; en dynamos_cmdline ;;
		7) # modules: a patch module, and a target module under its patch
			rmmod $ADD || die "round $ROUND: rmmod $ADD failed"
			insmod "$(test_ko add)" || die "round $ROUND: insmod $ADD failed"
			rmmod dynamos_bench || die "round $ROUND: rmmod dynamos_bench failed"
			insmod "$TESTMOD_DIR/dynamos_bench.ko" || die "round $ROUND: insmod dynamos_bench failed"
			OPS_DONE=$((OPS_DONE + 4))
			state_is dynamos_bench_patch enabled || die "round $ROUND: the bench patch is $(patch_file dynamos_bench_patch state)" ;;
		esac
	done
	touch "$STOP"
	wait $CALLERS
	CALLERS=
	total=0 wrong=0 errors=0
	for f in "$out"/add1 "$out"/add2 "$out"/getpid "$out"/cmdline; do
		total=$((total + $(sed -n 's/^calls //p' "$f")))
		wrong=$((wrong + $(sed -n 's/^wrong //p' "$f")))
		errors=$((errors + $(sed -n 's/^errors //p' "$f")))
	done
	log "callers: $(cat "$out"/add1 "$out"/add2 | grep '^value' | tr '\n' ' ')"
	echo "figures: $OPS_DONE operations in $ROUND rounds, $((SECONDS - t0)) s; $total calls by 4 callers, $wrong wrong, $errors errors; $ACCOUNTED calls accounted exactly"
	[ "$wrong" = 0 ] && [ "$errors" = 0 ] || die "$wrong wrong results and $errors errors"
	[ "$total" -ge 1000000 ] || die "only $total calls (at least 1000000 wanted)"
	rm -rf "$out"
}

# --- faults -----------------------------------------------------------------

# fault N STEP ARGS...: stress_tool fault; sets INJECTED (0/1) and RES.
fault() {
	local line
	line=$("$TOOL" fault "$@") || die "stress_tool fault $* failed"
	set -- $line
	INJECTED=$2 RES=$4
}

# fault_at N SETUP STEP CHECK UNDO: SETUP, the step with its Nth
# allocation failing (STEP, evaluated after SETUP, is 'write FILE VALUE' or
# 'insmod KO'), CHECK (which sees INJECTED and RES), UNDO.
fault_at() {
	local n=$1 setup=$2 step=$3 check=$4 undo=$5
	$setup
	eval "fault $n $step"
	$check || die "$NAME: after a fault at allocation $n (result $RES): $CHECK_WHY"
	$undo
}

# fault_loop NAME SETUP STEP CHECK UNDO [TAIL]: fault_at N = 1, 2, ...
# until a run in which no fault was injected. With TAIL, only the last TAIL
# allocations of the step: their number is found first by bisection (every
# probe checked too). A module load makes hundreds of allocations in the
# loader before the module's init runs; TAIL covers the init's and the
# loader's last ones. Counts into FAULTS and STEPS.
fault_loop() {
	local setup=$2 step=$3 check=$4 undo=$5 tail=${6:-} n=0 hit=0 lo hi mid
	NAME=$1
	if [ -n "$tail" ]; then
		# The last N at which a fault is injected: lo is, hi is not.
		lo=0 hi=1
		while :; do
			fault_at "$hi" "$setup" "$step" "$check" "$undo"
			[ "$INJECTED" = 1 ] || break
			lo=$hi hi=$((hi * 2))
			[ "$hi" -le $((FAULT_MAX * 8)) ] || die "$NAME: more than $((FAULT_MAX * 8)) allocations"
		done
		while [ $((hi - lo)) -gt 1 ]; do
			mid=$(((lo + hi) / 2))
			fault_at "$mid" "$setup" "$step" "$check" "$undo"
			if [ "$INJECTED" = 1 ]; then lo=$mid; else hi=$mid; fi
		done
		n=$((lo > tail ? lo - tail : 0))
		log "$NAME: $lo allocations; faults at the last $((lo - n))"
	fi
	local first=$((n + 1)) done=0
	while :; do
		n=$((n + 1))
		[ "$n" -le $((first + FAULT_MAX)) ] || die "$NAME: still failing allocations at N=$n"
		fault_at "$n" "$setup" "$step" "$check" "$undo"
		[ "$INJECTED" = 1 ] || break
		done=$((done + 1))
		[ "$RES" = 0 ] || hit=$((hit + 1))
		# Every STRIDE-th allocation only (the first always): a fault at
		# each one takes long under KASAN and TCG.
		n=$((n + STRIDE - 1))
	done
	log "$NAME: $done faults injected (allocations $first to $((n - 1)), every $STRIDE), $hit refused the step"
	FAULTS=$((FAULTS + done)) STEPS=$((STEPS + 1))
}

add_is() { [ "$(call_add 2 3)" = "$1" ]; }
settled() { loop_until state_settled $ADD; }

# Registration: loaded and registered, or not loaded and no trace.
reg_setup() { :; }
reg_check() {
	if [ "$RES" = 0 ]; then
		CHECK_WHY="loaded, but the patch is $(patch_file $ADD state 2>&1)"
		state_is $ADD registered
	else
		CHECK_WHY="refused, but something stayed"
		! is_loaded $ADD && [ ! -e "$SYSFS/patches/$ADD" ]
	fi
}
reg_undo() { if is_loaded $ADD; then rmmod $ADD || die "rmmod $ADD failed"; fi; }

# Enable: refused and all original, or enabled and all new.
en_setup() { :; }
en_check() {
	settled
	CHECK_WHY="state $(patch_file $ADD state), add(2,3)=$(call_add 2 3)"
	if state_is $ADD enabled; then add_is 105; else { state_is $ADD disabled || state_is $ADD registered; } && add_is 5; fi
}
en_undo() { if state_is $ADD enabled; then dis $ADD; fi; }

dis_setup() { en $ADD; }
dis_check() { en_check; }
dis_undo() { en_undo; }

# Reversal of an enable held by a sleeper.
rev_setup() {
	sleep_on "$TDBG/sleep" /tmp/dynamos-stress.sleep >/dev/null
	loop_until sleepers_are 1 || die "the sleeper did not sleep"
	echo 1 >"$SYSFS/patches/dynamos_test_sleep/enabled" || die "enable failed"
}
rev_check() {
	CHECK_WHY="state $(patch_file dynamos_test_sleep state)"
	if [ "$RES" = 0 ]; then state_is dynamos_test_sleep disabled || state_is dynamos_test_sleep disabling
	else state_is dynamos_test_sleep enabling; fi
}
rev_undo() {
	echo 1 >"$TDBG/release"
	wait "$SLEEPER"
	loop_until state_settled dynamos_test_sleep
	if state_is dynamos_test_sleep enabled; then dis dynamos_test_sleep; fi
}

# A replace write: either the add patch is enabled and the sleep patch it
# replaced disabled, or nothing changed (the sleep patch enabled, add not).
SLEEP_P=dynamos_test_sleep
rep_setup() {
	if state_is $ADD enabled; then dis $ADD; fi
	state_is $SLEEP_P enabled || en $SLEEP_P
}
rep_check() {
	settled
	loop_until state_settled $SLEEP_P
	CHECK_WHY="add: $(patch_file $ADD state), sleep: $(patch_file $SLEEP_P state), add(2,3)=$(call_add 2 3)"
	if state_is $ADD enabled; then state_is $SLEEP_P disabled && add_is 105
	else state_is $SLEEP_P enabled && add_is 5; fi
}
rep_undo() { if state_is $ADD enabled; then dis $ADD; fi; }

# A default write: the default is the new one or the old one, and calls
# get that edition's result.
def_setup() { en $ADD; NEW_ID=$(default_id); }
def_check() {
	CHECK_WHY="default $(default_id), add(2,3)=$(call_add 2 3)"
	case "$(default_id)" in
	0) [ "$RES" = 0 ] && add_is 5 ;;
	"$NEW_ID") [ "$RES" != 0 ] && add_is 105 ;;
	*) false ;;
	esac
}
def_undo() { dis $ADD; }

# A per-process write for a sleeping process.
pid_setup() {
	en $ADD
	sleep 1000 </dev/null >/dev/null 2>&1 &
	PINNED=$!
}
pid_check() {
	CHECK_WHY="pids: '$(cat "$FD/pids")'"
	if [ "$RES" = 0 ]; then [ "$(cat "$FD/pids")" = "$PINNED 0" ]; else [ -z "$(cat "$FD/pids")" ]; fi
}
pid_undo() { kill "$PINNED"; wait "$PINNED" 2>/dev/null; dis $ADD; }

# A target module coming under an enabled patch: loaded and patched, or
# not loaded.
come_setup() { :; }
come_check() {
	if is_loaded "$TARGET" && [ ! -e "$TDBG/call" ]; then
		# The fault hit the target module's own debugfs setup, which it
		# ignores: dynamos' side must still be whole.
		CHECK_WHY="loaded without its debugfs files, and $FD is missing"
		[ "$RES" = 0 ] && [ -e "$FD/default" ]
	elif is_loaded "$TARGET"; then
		CHECK_WHY="loaded (result $RES), add(2,3)=$(call_add 2 3)"
		[ "$RES" = 0 ] && add_is 105
	else
		CHECK_WHY="refused, but the function is there"
		[ "$RES" != 0 ] && [ ! -e "$FD" ]
	fi
}
come_undo() { if is_loaded "$TARGET"; then rmmod "$TARGET" || die "rmmod $TARGET failed"; fi; }

# A subsystem patch of seven functions, two of them kernel-thread loops:
# an allocation failure may fall at any of them. Refused: no member hooked,
# both loops in the original; enabled: every loop in the new edition.
sub_hooked() { ls "$SYSFS/functions" | grep -c '^dynamos_subsys:' || true; }
sub_whole_state() {
	loop_until state_settled $SUBPATCH
	if state_is $SUBPATCH enabled; then
		CHECK_WHY="enabled, loops at $(loop_field edition loop) and $(loop_field edition loop2)"
		loop_until loop_edition_is 1 loop && loop_until loop_edition_is 1 loop2
	else
		CHECK_WHY="state $(patch_file $SUBPATCH state), $(sub_hooked) members hooked, loops at $(loop_field edition loop) and $(loop_field edition loop2)"
		[ "$(sub_hooked)" = 0 ] && loop_until loop_edition_is 0 loop && loop_until loop_edition_is 0 loop2
	fi
}
sub_en_setup() { :; }
sub_en_check() {
	sub_whole_state || return 1
	# The step's own answer agrees with the state it left.
	if [ "$RES" = 0 ]; then state_is $SUBPATCH enabled; else ! state_is $SUBPATCH enabled; fi
}
sub_en_undo() { if state_is $SUBPATCH enabled; then dis $SUBPATCH; fi; }
sub_dis_setup() { en $SUBPATCH; loop_until loop_edition_is 1 loop || die "the loop did not switch"; }
sub_dis_check() {
	sub_whole_state || return 1
	if [ "$RES" = 0 ]; then ! state_is $SUBPATCH enabled; else state_is $SUBPATCH enabled; fi
}
sub_dis_undo() { sub_en_undo; }

phase_faults() {
	start_test "stress: faults"
	cleanup_extra() {
		echo Y >/sys/kernel/debug/failslab/ignore-gfp-wait 2>/dev/null
		echo 1 >"$TDBG/release" 2>/dev/null
		[ -n "${PINNED:-}" ] && kill "$PINNED" 2>/dev/null
		wait
	}
	# Slab allocations that may sleep too (most of dynamos' are), in the
	# faulted task only; no stack dump per fault.
	echo N >/sys/kernel/debug/failslab/ignore-gfp-wait || die "no /sys/kernel/debug/failslab"
	echo 0 >/sys/kernel/debug/failslab/verbose
	FAULTS=0 STEPS=0
	load_mod "$TARGET_KO"
	load_mod "$CORE_KO"
	fault_loop registration reg_setup 'insmod "$(test_ko add)"' reg_check reg_undo "$FAULT_TAIL"
	load_mod "$(test_ko add)"
	load_mod "$(test_ko sleep)"
	fault_loop enable en_setup 'write "$SYSFS/patches/$ADD/enabled" 1' en_check en_undo
	fault_loop disable dis_setup 'write "$SYSFS/patches/$ADD/enabled" 0' dis_check dis_undo
	fault_loop reversal rev_setup 'write "$SYSFS/patches/dynamos_test_sleep/enabled" 0' rev_check rev_undo
	fault_loop default def_setup 'write "$FD/default" 0' def_check def_undo
	fault_loop pids pid_setup 'write "$FD/pids" "$PINNED 0"' pid_check pid_undo
	fault_loop replace rep_setup 'write "$SYSFS/patches/$ADD/replace" 1' rep_check rep_undo
	if state_is $SLEEP_P enabled; then dis $SLEEP_P; fi
	unload_mod dynamos_test_sleep
	unload_mod "$TARGET"
	en $ADD
	fault_loop module-coming come_setup 'insmod "$TARGET_KO"' come_check come_undo "$FAULT_TAIL"
	dis $ADD
	unload_mod $ADD
	load_mod "$SUB_KO"
	load_mod "$(test_ko subsys)"
	fault_loop subsystem-enable sub_en_setup 'write "$SYSFS/patches/$SUBPATCH/enabled" 1' sub_en_check sub_en_undo
	fault_loop subsystem-disable sub_dis_setup 'write "$SYSFS/patches/$SUBPATCH/enabled" 0' sub_dis_check sub_dis_undo
	unload_mod $SUBPATCH
	unload_mod "$CORE"
	unload_mod "$SUB"
	echo "figures: $FAULTS allocation faults injected in $STEPS steps, each left one whole state"
}

# --- hostile input ----------------------------------------------------------

# snapshot: the readable state of dynamos, without counters that move.
snapshot() {
	find "$SYSFS" -type f -perm -0400 ! -name calls ! -name inside ! -name waiting ! -name holders \
		-exec grep -H . {} + 2>/dev/null | sort
}

# writable: every file under /sys/kernel/dynamos/ with a write bit.
writable() { find "$SYSFS" -type f -perm /0222 | sort; }

# attack STATE: every writable file, all three identities and the race.
attack() {
	local f before after n=0 r racers
	before=$(snapshot)
	for f in $(writable); do
		n=$((n + 1))
		# Where the run is, in the console log.
		echo "stress: $1: $f" >/dev/kmsg
		r=$("$TOOL" hostile "$f") || die "$1: root: $f: $r"
		r=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TOOL" hostile "$f" EACCES) ||
			die "$1: nobody: $f: $r"
		r=$(setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$TOOL" hostile "$f" EPERM) ||
			die "$1: root without CAP_SYS_ADMIN: $f: $r"
		# Their PIDs: a bare wait would wait for the sleeper too.
		racers=
		for i in 1 2 3 4; do
			"$TOOL" hostile "$f" >"/tmp/dynamos-race.$i" &
			racers="$racers $!"
		done
		wait $racers
		for i in 1 2 3 4; do
			grep -q '^accepted' "/tmp/dynamos-race.$i" && die "$1: racing writers: $f: $(cat "/tmp/dynamos-race.$i")"
		done
		WRITES=$((WRITES + 7 * 60))
	done
	after=$(snapshot)
	[ "$before" = "$after" ] || die "$1: the state changed: $(diff <(echo "$before") <(echo "$after") | head -n 5)"
	FILES=$((FILES + n))
	log "$1: $n writable files, every hostile write refused, state unchanged"
}

phase_hostile() {
	local out
	start_test "stress: hostile input"
	FILES=0 WRITES=0
	load_mod "$TARGET_KO"
	load_mod "$CORE_KO"
	load_mod "$SUB_KO"
	load_mod "$(test_ko add)"
	load_mod "$(test_ko sleep)"
	load_mod "$(test_ko subsys)"
	# A patch with a state (its states/<name>/ files are writable too).
	load_mod "$DATA_KO"
	load_mod "$(test_ko state)"
	wait_state dynamos_test_state enabled
	en $ADD
	attack idle

	out=$(mktemp)
	sleep_on "$TDBG/sleep" "$out" >/dev/null
	loop_until sleepers_are 1 || die "the sleeper did not sleep"
	echo 1 >"$SYSFS/patches/dynamos_test_sleep/enabled"
	attack "a transition held by a sleeper"
	echo 1 >"$TDBG/release"
	wait "$SLEEPER"
	wait_state dynamos_test_sleep enabled

	echo 600000 >"$SUBSYS/timeout_ms"
	start_sleeper "$out"
	echo 1 >"$SYSFS/patches/$SUBPATCH/enabled"
	loop_until eval '[ "$(sub_file state)" != idle ]' || die "the switch did not start"
	attack "a subsystem switch held by a sleeper"
	echo 1 >"$SUBSYS/force"
	wait_state $SUBPATCH enabled
	attack "a forced leftover"
	echo 1 >"$SDBG/release"
	wait "$SLEEPER"
	rm -f "$out"
	echo "figures: $WRITES hostile writes to $FILES files in 4 states, as root, nobody, root without CAP_SYS_ADMIN and 4 racing writers: all refused, state unchanged"
}

# --- the run ----------------------------------------------------------------

echo "dynamos stress: start" >/dev/kmsg
for phase in $PHASES; do run_phase "$phase"; done

# Leaks: objects allocated by a dynamos module and never freed. kmemleak
# reports only objects older than 5 s, and only after a scan.
if [ -w /sys/kernel/debug/kmemleak ]; then
	# Not a poll: the age is kmemleak's rule (MSECS_MIN_AGE), not a state.
	sleep 6
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(grep -c "dynamos" /sys/kernel/debug/kmemleak || true)
	all=$(grep -c "^unreferenced object" /sys/kernel/debug/kmemleak || true)
	if [ "$leaks" = 0 ]; then
		result "ok - stress: kmemleak: no leak from a dynamos module ($all suspected objects in all)"
	else
		result "not ok - stress: kmemleak: $leaks backtrace lines name a dynamos module"
		cp /sys/kernel/debug/kmemleak "${DYNAMOS_RESULTS:-/tmp}/kmemleak.txt"
	fi
else
	result "ok - stress: kmemleak: # SKIP this kernel has no kmemleak"
fi
log "stress: done"
