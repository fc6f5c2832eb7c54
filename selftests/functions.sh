#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for the dynamos selftests, in the spirit of
# tools/testing/selftests/livepatch/functions.sh. Source it from a test.
#
# A test:
#   . "$(dirname "$0")/functions.sh"
#   start_test "what the test shows"
#   ... load_mod, unload_mod, assert_* ...
#   check_result "expected dmesg lines"
#
# The commands a test body runs (load_mod, unload_mod, enable_patch,
# write_file, ...) go to the kernel log as well as to stdout, as lines
# "dynamos_selftest: % COMMAND", so that the expected dmesg lines show each
# command beside the kernel messages it caused, as in the kernel's
# tools/testing/selftests/livepatch.
#
# Exit codes (kselftest): 0 pass, 1 fail, 4 skip.

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

SELFTESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$SELFTESTS")
# Where the modules are: the root of the M= build.
MODDIR=${DYNAMOS_MODDIR:-$TOP}
SYSFS=/sys/kernel/dynamos
CORE=dynamos
CORE_KO=$MODDIR/dynamos.ko
HELLO=dynamos_hello
HELLO_KO=$MODDIR/patches/hello/dynamos_hello.ko
# Bounded polling: tries of 10 ms each.
MAX_RETRIES=${MAX_RETRIES:-500}

log() { echo "$*"; }
skip() { log "SKIP: $*"; exit "$KSFT_SKIP"; }
die() { log "FAIL: $*"; exit "$KSFT_FAIL"; }

# The prefix of the command lines in the kernel log. test_dmesg keeps it; no
# module of the tree has this name, so no kernel message can look like one.
CMD_PREFIX=dynamos_selftest

# log_cmd COMMAND...: "% COMMAND" on stdout and in the kernel log, just
# before the test runs it. Only for what a test body runs: not in cleanup
# (its messages come after check_result) and not inside a polling loop.
log_cmd() {
	log "% $*"
	echo "$CMD_PREFIX: % $*" >/dev/kmsg
}

# quote VALUE: VALUE as one shell word, for a command line: as it is, in
# single quotes, or, with quotes or control characters, in bash's $'...'.
quote() {
	case "$1" in
	*[!A-Za-z0-9_.,:/+=@-]* | "") ;;
	*) printf '%s' "$1"; return ;;
	esac
	case "$1" in
	*[\'[:cntrl:]]*) printf '%q' "$1" ;;
	*) printf "'%s'" "$1" ;;
	esac
}

# write_file VALUE FILE [NOTE]: echo VALUE > FILE, logged (NOTE in
# parentheses after it); a failed write fails the test.
write_file() {
	log_cmd "echo $(quote "$1") > $2${3:+ ($3)}"
	echo "$1" >"$2" || die "writing '$1' to $2 failed"
}

# try_write VALUE FILE [NOTE]: the same, for a write the test expects to
# fail: returns whether it succeeded, without its error message.
try_write() {
	log_cmd "echo $(quote "$1") > $2${3:+ ($3)}"
	(echo "$1" >"$2") 2>/dev/null
}

# try_write_as_nobody VALUE FILE [NOTE]: try_write as the user nobody.
try_write_as_nobody() {
	log_cmd "echo $(quote "$1") > $2 (as nobody${3:+; $3})"
	setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo "$1" >"$2"' sh "$1" "$2" 2>/dev/null
}

# sleep_on FILE OUT: a task that reads FILE, a debugfs file whose read
# sleeps in a target function until released, into OUT, in the
# background; SLEEPER is its pid.
sleep_on() {
	log_cmd "cat $1 &"
	cat "$1" >"$2" &
	SLEEPER=$!
}

# start_still: a process whose mappings stay as they are, in the
# background; STILL is its pid. Returns once it is `sleep`, asleep: before
# its exec it is a bash, and while ld.so runs its mappings change.
start_still() {
	sleep 1000 </dev/null >/dev/null 2>&1 &
	STILL=$!
	loop_until eval '[ "$(cat /proc/$STILL/comm)" = sleep ] && grep -q "^State:.S" /proc/$STILL/status' ||
		die "process $STILL did not go to sleep"
}

# Pure ASCII marker so that dmesg filtering finds exactly this test's lines.
start_test() {
	TEST_NAME=$(basename "$0" .sh)
	MARKER="dynamos selftest: start $TEST_NAME $$"
	log "TEST: $*"
	echo "$MARKER" >/dev/kmsg
	trap cleanup EXIT INT TERM HUP
}

# Tests may override cleanup_extra() to undo their own changes.
cleanup_extra() { :; }
cleanup() {
	local rc=$? m
	trap - EXIT INT TERM HUP
	cleanup_extra
	[ -w "$TDBG/release" ] && echo 1 >"$TDBG/release"
	# Patches, last registered first: disable, wait; then their modules,
	# most recently loaded first.
	# Only the top patch of a function may be disabled: a few passes.
	for pass in 1 2 3; do
		for m in $(ls -r "$SYSFS/patches" 2>/dev/null); do
			echo 0 >"$SYSFS/patches/$m/enabled" 2>/dev/null
			loop_until state_settled "$m"
		done
	done
	for m in $(awk '$1 ~ /^dynamos_(test_|cmdline|bench_patch|bench_stack)/ { print $1 }' /proc/modules); do
		rmmod "$m" 2>/dev/null
	done
	# Livepatches (the side-by-side tests): disable, wait until gone, remove.
	for m in $(awk '$1 ~ /^dynamos_(test_klp|bench_klp)/ { print $1 }' /proc/modules); do
		if [ -e "/sys/kernel/livepatch/$m/enabled" ]; then
			echo 0 >"/sys/kernel/livepatch/$m/enabled" 2>/dev/null
			loop_until eval "[ ! -e /sys/kernel/livepatch/$m ]"
		fi
		rmmod "$m" 2>/dev/null
	done
	if is_loaded "$SUB"; then
		echo 0 >"$SDBG/workers" 2>/dev/null
		echo 1 >"$SDBG/release" 2>/dev/null
		rmmod "$SUB" 2>/dev/null
	fi
	if is_loaded "$DATA"; then
		for w in iface_workers acct_workers obj_workers; do
			echo 0 >"$DDBG/$w" 2>/dev/null
		done
		echo 1 >"$DDBG/iface_wake" 2>/dev/null
		rmmod "$DATA" 2>/dev/null
	fi
	is_loaded "$TARGET" && rmmod "$TARGET" 2>/dev/null
	is_loaded "$CHAIN" && rmmod "$CHAIN" 2>/dev/null
	if is_loaded dynamos_bench; then
		echo 1 >/sys/kernel/debug/dynamos_bench/release 2>/dev/null
		rmmod dynamos_bench 2>/dev/null
	fi
	is_loaded "$HELLO" && rmmod "$HELLO" 2>/dev/null
	is_loaded "$CORE" && rmmod "$CORE" 2>/dev/null
	exit "$rc"
}

state_settled() {
	case "$(cat "$SYSFS/patches/$1/state" 2>/dev/null)" in
	enabling | disabling) return 1 ;;
	*) return 0 ;;
	esac
}

is_loaded() { grep -q "^$1 " /proc/modules; }

# nap: 10 ms, waited on a pipe that never has data: a builtin, not a
# sleep process (new processes are slow under TCG, more on debug kernels).
exec {NAP_FD}<> <(:)
nap() { read -r -t 0.01 -u "$NAP_FD" _ || true; }

# loop_until CMD...: poll CMD until it succeeds, at most MAX_RETRIES times.
loop_until() {
	local i=0
	while [ "$i" -lt "$MAX_RETRIES" ]; do
		"$@" && return 0
		i=$((i + 1))
		nap
	done
	return 1
}

# rd VAR FILE: the first line of FILE into VAR, with no new process.
rd() { IFS= read -r "$1" <"$2" 2>/dev/null || printf -v "$1" '%s' "${!1:-}"; }

# load_mod KO [PARAM=VALUE...]
load_mod() {
	local ko=$1 name
	shift
	name=$(basename "$ko" .ko)
	log_cmd "insmod $name${*:+ $*}"
	insmod "$ko" "$@" || die "insmod $ko $* failed"
	loop_until is_loaded "$name" || die "$name did not appear in /proc/modules"
}

unload_mod() {
	local name=$1
	log_cmd "rmmod $name"
	rmmod "$name" || die "rmmod $name failed"
	loop_until eval "! is_loaded $name" || die "$name did not leave /proc/modules"
}

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	[ "$1" = "$2" ] || die "$3: expected '$2', got '$1'"
}

assert_exists() { [ -e "$1" ] || die "$1 does not exist"; }
assert_absent() { [ ! -e "$1" ] || die "$1 exists"; }

# assert_mode PATH OCTAL
assert_mode() {
	local mode
	mode=$(stat -c %a "$1") || die "cannot stat $1"
	assert_eq "$mode" "$2" "mode of $1"
}

# The kernel messages of this test: the lines after the marker from dynamos
# and the modules under test, and the test's commands (log_cmd), without
# timestamps and without the once-per-boot taint notice.
test_dmesg() {
	dmesg | sed 's/^\[[ 0-9.]*\] //' |
		awk -v m="$MARKER" 'p; $0 == m { p = 1 }' |
		grep -E "^($CMD_PREFIX: % |(dynamos|$HELLO|dynamos_test)[a-z_]*: )" |
		grep -v -e 'taints kernel' -e 'tainting kernel' -e 'module verification failed' |
		grep -v -E "${DMESG_IGNORE:-^\$}"
}

# check_result EXPECTED: the test's kernel messages must equal EXPECTED.
check_result() {
	local expect=$1 result
	result=$(test_dmesg)
	if [ "$expect" != "$result" ]; then
		log "FAIL: kernel messages differ from the expected ones:"
		diff -u <(printf '%s\n' "$expect") <(printf '%s\n' "$result") | sed 's/^/    /'
		exit "$KSFT_FAIL"
	fi
	log "ok: kernel messages as expected"
}

TARGET=dynamos_target
TARGET_KO=$MODDIR/selftests/test_modules/dynamos_target.ko
TESTMOD_DIR=$MODDIR/selftests/test_modules
TDBG=/sys/kernel/debug/dynamos_target
CHAIN=dynamos_chain
CHAIN_KO=$MODDIR/selftests/test_modules/dynamos_chain.ko

# The ko of a test patch: test_ko add -> .../dynamos_test_add.ko
test_ko() { echo "$TESTMOD_DIR/dynamos_test_$1.ko"; }

patch_file() { cat "$SYSFS/patches/$1/$2"; }

state_is() { local v=; rd v "$SYSFS/patches/$1/state"; [ "$v" = "$2" ]; }

# wait_state PATCH STATE: poll until the patch reaches STATE.
wait_state() {
	loop_until state_is "$1" "$2" ||
		die "patch $1 did not reach state $2 (state $(patch_file "$1" state); waiting: $(patch_file "$1" waiting | tr '\n' ' '))"
}

# enable_patch / disable_patch PATCH: write enabled and wait for the end
# of the transition.
enable_patch() {
	write_file 1 "$SYSFS/patches/$1/enabled"
	wait_state "$1" enabled
}

disable_patch() {
	write_file 0 "$SYSFS/patches/$1/enabled"
	wait_state "$1" disabled
}

# Calls (call_add, call_write, call_dup) are not logged: they change
# nothing but counters, and some tests make hundreds.

# call_add A B: dynamos_target_add(A, B) in this shell's process.
call_add() {
	echo "add $1 $2" >"$TDBG/call" || die "calling add failed"
	cat "$TDBG/call"
}

# canary_add A B: the test's canary coprocess (coproc CANARY, reading
# "A B" lines and calling add through the target's debugfs file) calls add
# and prints the result: calls from a process other than the test's.
canary_add() {
	echo "$1 $2" >&"${CANARY[1]}"
	read -r -t 10 r <&"${CANARY[0]}" || die "the canary did not answer"
	echo "$r"
}

call_write() {
	echo "write $1" >"$TDBG/call" || die "calling write failed"
	cat "$TDBG/call"
}

# What each edition of a target function returns, named after the function
# that implements it in test_modules/ (the original: *_orig), so that a test
# says which edition it expects to answer rather than a bare number.
# dynamos_target_add(A, B):
add_orig() { echo $(($1 + $2)); }		# target_main.c; dynamos_test_wrap calls it
add_v100() { echo $(($1 + $2 + 100)); }		# dynamos_test_add.rs
add_v200() { echo $(($1 + $2 + 200)); }		# dynamos_test_replace.rs
livepatch_add() { echo $(($1 + $2 + 1000)); }	# dynamos_test_klp.c, a livepatch
# dynamos_target_write(LEN), whatever LEN is:
write_orig() { echo 0; }	# target_main.c
write_v2() { echo 2; }		# dynamos_test_adapt.rs (its handler takes LEN > 64 KiB)
# dynamos_dup() at position N (1 or 2) returns N; the edition returns 200:
dup_orig() { echo "$1"; }	# target_main.c, target_dup.c
dup_v200() { echo 200; }	# dynamos_test_dup.rs
# What a sleeper in dynamos_target_sleep() reads once released:
sleep_orig() { echo 0; }	# target_main.c
sleep_v7() { echo 7; }		# dynamos_test_sleep.rs: it sleeps in the original

# expect_write_error FILE VALUE ERRNO-TEXT: the write (logged) must fail
# with that error (as strerror words, e.g. "Invalid argument").
expect_write_error() {
	local file=$1 value=$2 want=$3 err
	log_cmd "echo -n $(quote "$value") > $file (expected to fail: $want)"
	if err=$( (printf '%s' "$value" >"$file") 2>&1); then
		die "writing '$value' to $file succeeded"
	fi
	case "$err" in
	*"$want"*) log "ok: '$value' > $(basename "$file"): $want" ;;
	*) die "writing '$value' to $file: expected '$want', got '$err'" ;;
	esac
}

func_dir() { echo "$SYSFS/functions/$1"; }
# calls_mode FUNC: how its calls reach the edition ("jump" or "handler").
calls_mode() { sed -n 's/^calls //p' "$SYSFS/functions/$1/policy"; }
# The mode of a function whose calls all go to one edition: a jump, unless
# the CPU enforces IBT (see Documentation/design.rst, chapter 5).
if grep -qw ibt /proc/cpuinfo 2>/dev/null; then STEADY_MODE=handler; else STEADY_MODE=jump; fi
edition_file() { cat "$SYSFS/functions/$1/editions/$2/$3"; }

# The subsystem target (subsys_target.c) and its sysfs directory.
SUB=dynamos_subsys
SUB_KO=$TESTMOD_DIR/dynamos_subsys.ko
SDBG=/sys/kernel/debug/dynamos_subsys
SUBSYS=$SYSFS/subsystems/dynamos_subsys
SUBPATCH=dynamos_test_subsys

sub_file() { cat "$SUBSYS/$1"; }
sub_state_is() { [ "$(sub_file state)" = "$1" ]; }
sub_state_starts() { case "$(sub_file state)" in "$1"*) return 0 ;; *) return 1 ;; esac; }

# loop_field pid|edition|ticks [loop|loop2]: from a loop kthread's
# "pid P edition E ticks T" (the first loop by default).
loop_field() {
	awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$SDBG/${2:-loop}"
}
# loop_edition_is E [loop|loop2]
loop_edition_is() { [ "$(loop_field edition "$2")" = "$1" ]; }
sdbg() { cat "$SDBG/$1"; }
sdbg_at_least() { [ "$(sdbg "$1")" -ge "$2" ]; }
sleepers_in_sub_are() { [ "$(sdbg sleepers)" = "$1" ]; }

# Every path that completed is counted by the subsystem's state: with the
# load stopped and the loop quiet, the two totals settle equal.
counts_equal() { [ "$(sdbg calls)" = "$(sdbg count)" ]; }
settle_counts() {
	write_file 0 "$SDBG/workers"
	write_file 1 "$SDBG/quiet"
	loop_until counts_equal ||
		die "totals differ: $(sdbg calls) paths completed, the subsystem counted $(sdbg count)"
	log "ok: $(sdbg calls) paths completed, all counted by the subsystem's state"
	write_file 0 "$SDBG/quiet"
}

# What a sleeper in dynamos_sub_sleep() reads once released (the edition
# of dynamos_test_subsys.rs, sleep_v1, would give 1):
sub_sleep_orig() { echo 0; }	# subsys_target.c: it finished in generation 0

# start_sleeper OUTFILE: a task that sleeps in dynamos_sub_sleep(); sets SLEEPER.
start_sleeper() {
	local before
	before=$(sdbg sleepers)
	sleep_on "$SDBG/sleep" "$1"
	loop_until sleepers_in_sub_are $((before + 1)) || die "the sleeper did not go to sleep"
}


# The dynamos command (tools/dynamos), for the test-dynamos-*.sh tests.
DYN=${DYNAMOS_CMD:-$TOP/tools/dynamos/target/release/dynamos}
# need_dyn: skip unless the command is built and python3 reads its JSON.
need_dyn() {
	[ -x "$DYN" ] || skip "the dynamos command is not built (make builds it)"
	command -v python3 >/dev/null || skip "no python3 in the guest for the JSON checks"
}
# dyn ARGS...: run the command (logged); its output (stdout and stderr)
# into OUT, its exit code into RC.
dyn() {
	log_cmd "dynamos $*"
	OUT=$("$DYN" "$@" 2>&1)
	RC=$?
	printf '%s\n' "$OUT" | sed 's/^/    /'
}
# expect RC TEXT ARGS...: dynamos ARGS must exit RC and print TEXT.
expect() {
	local want=$1 text=$2
	shift 2
	dyn "$@"
	[ "$RC" = "$want" ] || die "dynamos $*: exit code $RC, expected $want"
	case "$OUT" in *"$text"*) ;; *) die "dynamos $*: output lacks '$text'" ;; esac
	log "ok: dynamos $*: exit $RC, '$text'"
}
# row REGEX: a line of the last output matches REGEX (extended).
row() { printf '%s\n' "$OUT" | grep -Eq "$1" || die "no line matches '$1'"; }
# js EXPR: EXPR (Python, on the document d) of the last output, printed.
js() { printf '%s' "$OUT" | python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

# The data target (data_target.c): interface, shadow data and state tests.
DATA=dynamos_data
DATA_KO=$TESTMOD_DIR/dynamos_data.ko
DDBG=/sys/kernel/debug/dynamos_data

# dynamos_iface_caller_a/b(X): the same in both generations (the new ones
# pass a scale of 2; the adaptor gives old-interface calls the same).
iface_caller_orig() { echo $((($1 & 0xffff) * 2 + 1)); }	# data_target.c

ddbg() { cat "$DDBG/$1"; }
# ddbg_field FILE KEY: KEY's value in a "k=v k=v" line of FILE.
ddbg_field() {
	tr ' ' '\n' <"$DDBG/$1" | awk -F= -v k="$2" '$1 == k { print $2 }'
}
ddbg_field_at_least() { [ "$(ddbg_field "$1" "$2")" -ge "$3" ]; }

# sleeper_holds_disable NAME RESULT WHERE [CHECK...]: with the target, the
# core and test patch NAME loaded and enabled (then CHECK, a command, must
# succeed within the poll limit), a task sleeps in dynamos_target_sleep()
# (WHERE says where its stack holds the patch's code); disabling NAME must
# wait for it alone and rmmod of NAME must fail until it is released, after
# which it reads RESULT, NAME is disabled and everything unloads. The
# kernel messages are checked (SLEEPER_SUBSYS: NAME's subsystem, whose
# generation changes are among them).
sleeper_holds_disable() {
	local name=$1 result=$2 where=$3 out s
	shift 3
	enable_patch "$name"
	if [ $# -gt 0 ]; then
		loop_until "$@" || die "after enabling $name: $* failed"
	fi
	out=$(mktemp)
	sleep_on "$TDBG/sleep" "$out"
	s=$SLEEPER
	loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
	write_file 0 "$SYSFS/patches/$name/enabled" "$where"
	# The drain's first checks have seen every other thread outside: only
	# the sleeper can be pending.
	loop_until grep -qx "pending 1" "$SYSFS/patches/$name/waiting" ||
		die "waiting: $(patch_file "$name" waiting)"
	assert_eq "$(patch_file "$name" state)" disabling "state while the sleeper sleeps"
	log_cmd "rmmod $name (expected to fail: a task may return into it)"
	if rmmod "$name" 2>/dev/null; then die "$name was removed under its sleeper"; fi
	log "ok: $name stays while its sleeper sleeps"
	write_file 1 "$TDBG/release"
	wait "$s"
	assert_eq "$(cat "$out")" "$result" "the sleeper's result"
	rm -f "$out"
	wait_state "$name" disabled
	unload_mod "$name"
	unload_mod "$CORE"
	unload_mod "$TARGET"
	check_result "$CMD_PREFIX: % insmod $TARGET
$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $name
dynamos: patch '$name' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$name/enabled
dynamos: enabling patch '$name'
${SLEEPER_SUBSYS:+dynamos: subsystem '$SLEEPER_SUBSYS': now at generation 1
}dynamos: patch '$name' enabled
$CMD_PREFIX: % cat $TDBG/sleep &
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$name/enabled ($where)
dynamos: disabling patch '$name'
$CMD_PREFIX: % rmmod $name (expected to fail: a task may return into it)
$CMD_PREFIX: % echo 1 > $TDBG/release
${SLEEPER_SUBSYS:+dynamos: subsystem '$SLEEPER_SUBSYS': now at generation 0
}dynamos: patch '$name' disabled
$CMD_PREFIX: % rmmod $name
dynamos: patch '$name' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded
$CMD_PREFIX: % rmmod $TARGET"
}
# start_loops STOP CMD...: three background shells that run CMD (no new
# process per run if CMD is a builtin) until the file STOP exists; LOOPS
# holds their pids. stop_loops STOP ends them.
start_loops() {
	local stop=$1
	shift
	rm -f "$stop"
	LOOPS=
	for _ in 1 2 3; do
		(while [ ! -e "$stop" ]; do "$@"; done) &
		LOOPS="$LOOPS $!"
	done
}
stop_loops() {
	touch "$1"
	[ -n "${LOOPS:-}" ] && wait $LOOPS
	LOOPS=
}

# transition_rounds PATCH N: N rounds of an enable, a disable, an enable
# reversed midway and a disable reversed midway (flip), each waited for.
transition_rounds() {
	local p=$1 r f=$SYSFS/patches/$1/enabled
	for r in $(seq "$2"); do
		echo 1 >"$f" || die "round $r: enabling $p failed"
		wait_state "$p" enabled
		echo 0 >"$f" || die "round $r: disabling $p failed"
		wait_state "$p" disabled
		echo 1 >"$f" || die "round $r: enabling $p failed"
		flip "$p" 0
		wait_state "$p" disabled
		echo 1 >"$f" || die "round $r: enabling $p failed"
		wait_state "$p" enabled
		echo 0 >"$f" || die "round $r: disabling $p failed"
		flip "$p" 1
		wait_state "$p" enabled
		echo 0 >"$f" || die "round $r: disabling $p failed"
		wait_state "$p" disabled
	done
}

# flip PATCH VALUE: writes VALUE to PATCH's enabled right after the
# opposite write, to reverse its transition midway; if the transition is in
# its transfer step (EBUSY), once it has ended, which starts the opposite
# transition instead.
flip() {
	(echo "$2" >"$SYSFS/patches/$1/enabled") 2>/dev/null && return
	loop_until state_settled "$1" || die "the transition of $1 did not end"
	echo "$2" >"$SYSFS/patches/$1/enabled" || die "writing $2 to $1's enabled failed"
}

# sleepers_are N: N tasks sleep in dynamos_target_sleep() now.
sleepers_are() { local v=; rd v "$TDBG/sleepers"; [ "$v" = "$1" ]; }
