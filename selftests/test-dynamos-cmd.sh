#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The dynamos command (tools/dynamos) against real patches: status as
# tables and as JSON, load/enable/disable/unload with their waits,
# default/pin/unpin switching calls, errors with their own message and
# exit code (1 refused, 2 usage, 3 timed out), a disable held up by a
# sleeper (timed out, naming the sleeper; blocking lists it; done once it
# is released), replace, a subsystem's switch held by a sleeper (load times
# out; cancel; enable times out; force), and install/uninstall into a root directory from which
# modprobe loads a patch with dynamos.ko first.

. "$(dirname "$0")/functions.sh"
DYN=${DYNAMOS_CMD:-$TOP/tools/dynamos/target/release/dynamos}
[ -x "$DYN" ] || skip "the dynamos command is not built (make builds it)"
PATCH=dynamos_test_add
SLEEP=dynamos_test_sleep
ADAPT=dynamos_test_adapt
F=dynamos_target:dynamos_target_add
ROOT=/tmp/dynamos-cmd-root.$$

cleanup_extra() {
	rm -rf "$ROOT"
	[ -n "${CANARY_PID:-}" ] && kill "$CANARY_PID" 2>/dev/null
}

# canary_add A B: the canary process (below) calls add and prints the result.
canary_add() {
	echo "$1 $2" >&"${CANARY[1]}"
	read -r -t 10 r <&"${CANARY[0]}" || die "the canary did not answer"
	echo "$r"
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

start_test "the dynamos command shows and controls patches"
command -v python3 >/dev/null || skip "no python3 in the guest for the JSON checks"

# 1. Without dynamos.ko.
expect 1 "dynamos is not loaded" status
expect 2 "" frobnicate
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
expect 0 "No patches registered." status

# 2. load enables a patch that does not enable itself; status shows it.
expect 0 "patch '$PATCH' enabled" load "$(test_ko add)"
assert_eq "$(call_add 1 2)" "$(add_v100 1 2)" "add after dynamos load"
expect 0 "" status
row "^ *$PATCH +enabled +1 +- +-$"
row "^ *$F$"
row "^ +0 +original +live "
row "^ +1 +$PATCH +default "
row "^ *$F +1 +- +- +jump"
[ "$(printf '%s\n' "$OUT" | awk '{ if (length($0) > 80) n++ } END { print n + 0 }')" = 0 ] ||
	die "a line is wider than 80 columns"
expect 0 "" status --json
assert_eq "$(js "d['patches'][0]['name'], d['patches'][0]['state'], d['patches'][0]['enabled']")" \
	"$PATCH enabled True" "JSON patch"
assert_eq "$(js "[f['policy']['default'] for f in d['functions'] if f['name'] == '$F']")" "[1]" "JSON default"
assert_eq "$(js "[(e['id'], e['patch'], e['state']) for e in d['functions'][0]['editions']]")" \
	"[(0, 'original', 'live'), (1, '$PATCH', 'default')]" "JSON editions"

# 3. default switches new calls; refusals have their own message.
expect 0 "new calls enter edition 0" default "$F" 0
assert_eq "$(call_add 1 2)" "$(add_orig 1 2)" "add with default 0"
expect 0 "new calls enter edition 1" default dynamos_target_add "$PATCH"
assert_eq "$(call_add 1 2)" "$(add_v100 1 2)" "add with default 1 (by patch name)"
expect 1 "No such file or directory (ENOENT): the function has no such edition" default "$F" 7
expect 1 "no function named 'nosuch'" default nosuch 0

# 4. pin / unpin: a canary process's calls.
coproc CANARY { while read -r a b; do echo "add $a $b" >"$TDBG/call"; cat "$TDBG/call"; done; }
c=$CANARY_PID
expect 0 "calls of process $c enter edition 0" pin "$c" "$F" original
assert_eq "$(canary_add 1 2)" "$(add_orig 1 2)" "add of the pinned canary"
assert_eq "$(call_add 1 2)" "$(add_v100 1 2)" "add of this shell (not pinned)"
expect 0 "" status --json
assert_eq "$(js "d['functions'][0]['policy']['pids']")" "[{'pid': $c, 'edition': 0}]" "JSON pids"
expect 0 "" status
row "^ *$F +1 +$c->0 +- +"
expect 0 "follows the policy again" unpin "$c" "$F"
assert_eq "$(canary_add 1 2)" "$(add_v100 1 2)" "add of the canary once unpinned"
expect 1 "(ENOENT): the process has no entry on this function" unpin "$c" "$F"
expect 1 "No such process (ESRCH)" pin 4000000 "$F" 0
expect 1 "Invalid argument (EINVAL)" pin 5000000 "$F" 0
kill "$c"

# 5. disable / enable, and their refusals.
expect 0 "patch '$PATCH' disabled" disable "$PATCH"
assert_eq "$(call_add 1 2)" "$(add_orig 1 2)" "add once disabled"
expect 1 "disabling patch '$PATCH' refused: Invalid argument (EINVAL): it is not enabled" disable "$PATCH"
expect 0 "patch '$PATCH' enabled" enable "$PATCH"
assert_eq "$(call_add 1 2)" "$(add_v100 1 2)" "add enabled again"
expect 1 "no patch named 'nosuch' (known: $PATCH)" enable nosuch

# 5b. replace: a patch built as an ordinary one, enabled as a cumulative
# one: the other patch ends disabled and its function runs the original.
load_mod "$(test_ko adapt)"
expect 0 "patch '$ADAPT' enabled, replacing every other patch" replace "$ADAPT"
assert_eq "$(call_add 1 2)" "$(add_orig 1 2)" "add once replaced (not patched by $ADAPT)"
assert_eq "$(call_write 1000000)" "$(write_v2)" "write under $ADAPT"
assert_eq "$(patch_file $PATCH state)" disabled "$PATCH after the replace"
expect 1 "cannot replace: it is enabled, not disabled" replace "$ADAPT"
expect 0 "patch '$ADAPT' disabled" disable "$ADAPT"
assert_eq "$(call_write 1000000)" "$(write_orig)" "write once $ADAPT is disabled"
unload_mod "$ADAPT"
expect 0 "patch '$PATCH' enabled" enable "$PATCH"
log_cmd "dynamos disable $PATCH (as nobody)"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$DYN" disable "$PATCH" 2>&1)
assert_eq "$?:$out" "1:dynamos: this command changes dynamos' state and must run as root (with CAP_SYS_ADMIN)" "as nobody"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$DYN" status --json) || die "status as nobody failed"
OUT=$out
assert_eq "$(js "[e['inside'] for e in d['functions'][0]['editions']]")" "[None, None]" "inside as nobody (root only)"

# 6. A sleeper holds a disable up: timed out (3), named; then done.
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
expect 0 "patch '$PATCH' unloaded" unload "$PATCH"
is_loaded "$PATCH" && die "$PATCH still loaded after dynamos unload"
expect 1 "/dev/null/nothing.ko: no such module file" load /dev/null/nothing.ko

# 6b. A subsystem's switch held up by a sleeper in generation 0: load
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

# 7. install into a root directory; modprobe loads dynamos.ko first.
rel=$(uname -r)
expect 0 "installed $ROOT/lib/modules/$rel/extra/dynamos/$PATCH.ko" install --root "$ROOT" "$CORE_KO" "$(test_ko add)"
assert_eq "$(grep -v '^#' "$ROOT/etc/modules-load.d/dynamos-$PATCH.conf")" "$PATCH" "the boot entry"
assert_absent "$ROOT/etc/modules-load.d/dynamos-$CORE.conf"
grep -q "^extra/dynamos/$PATCH.ko: extra/dynamos/$CORE.ko" "$ROOT/lib/modules/$rel/modules.dep" ||
	die "modules.dep: $(cat "$ROOT/lib/modules/$rel/modules.dep")"
expect 0 "" list --installed --root "$ROOT"
row "^ *$PATCH +yes "
row "^ *$CORE +\(dependency\) "
log_cmd "modprobe -d $ROOT $PATCH"
modprobe -d "$ROOT" "$PATCH" || die "modprobe -d $ROOT $PATCH failed"
is_loaded "$CORE" || die "modprobe did not load $CORE"
expect 0 "" list
row "^ *$PATCH +registered +-$"
unload_mod "$PATCH"
unload_mod "$CORE"
expect 0 "removed $ROOT/etc/modules-load.d/dynamos-$PATCH.conf" uninstall --root "$ROOT" "$PATCH" "$CORE"
assert_absent "$ROOT/lib/modules/$rel/extra/dynamos/$PATCH.ko"
expect 0 "No dynamos module is installed." list --installed --root "$ROOT"
expect 1 "no installed module named 'nosuch'" uninstall --root "$ROOT" nosuch
unload_mod "$TARGET"
log "ok: every command did what it says"
