#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The dynamos command (tools/dynamos) against real patches: status as
# tables and as JSON, load/enable/disable/replace/unload with their waits,
# default/pin/unpin switching calls, errors with their own message and
# exit code (1 refused, 2 usage). test-dynamos-held.sh has the waits that
# time out, test-dynamos-install.sh install and uninstall.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_add
ADAPT=dynamos_test_adapt
F=dynamos_target:dynamos_target_add

cleanup_extra() { [ -n "${CANARY_PID:-}" ] && kill "$CANARY_PID" 2>/dev/null; }

start_test "the dynamos command shows and controls patches"
need_dyn

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

expect 0 "patch '$PATCH' unloaded" unload "$PATCH"
is_loaded "$PATCH" && die "$PATCH still loaded after dynamos unload"
expect 1 "/dev/null/nothing.ko: no such module file" load /dev/null/nothing.ko
unload_mod "$CORE"
unload_mod "$TARGET"
log "ok: every command did what it says"
