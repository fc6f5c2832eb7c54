#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Per-process editions: canary a fix on one process. With the default set
# to the original, one process runs the new edition and the others do not,
# and clearing the entry sends it back. Changes apply to the next call.

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
F=dynamos_target:dynamos_target_add

cleanup_extra() { [ -n "${CANARY_PID:-}" ] && kill "$CANARY_PID" 2>/dev/null; }

# canary_add A B: the canary process calls add and prints the result.
canary_add() {
	echo "$1 $2" >&"${CANARY[1]}"
	read -r -t 10 r <&"${CANARY[0]}" || die "the canary did not answer"
	echo "$r"
}

start_test "per-process editions apply to one process only"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
enable_patch $ADD
coproc CANARY { while read -r a b; do echo "add $a $b" >"$TDBG/call"; cat "$TDBG/call"; done; }
assert_eq "$(canary_add 2 3)" 105 "canary before any policy"

log "% echo 0 > default"
echo 0 >"$(func_dir $F)/default"
assert_eq "$(call_add 2 3)" 5 "this shell with default 0"
assert_eq "$(canary_add 2 3)" 5 "canary with default 0"

log "% echo '<canary> 1' > pids"
echo "$CANARY_PID 1" >"$(func_dir $F)/pids"
assert_eq "$(cat "$(func_dir $F)/pids")" "$CANARY_PID 1" "pids file"
grep -qx "pid $CANARY_PID 1" "$(func_dir $F)/policy" || die "policy does not show the canary"
assert_eq "$(canary_add 2 3)" 105 "canary with its own edition"
assert_eq "$(call_add 2 3)" 5 "this shell, not the canary"

log "% echo -<canary> > pids"
echo "-$CANARY_PID" >"$(func_dir $F)/pids"
assert_eq "$(cat "$(func_dir $F)/pids")" "" "pids file after clearing"
assert_eq "$(canary_add 2 3)" 5 "canary after clearing"

echo 1 >"$(func_dir $F)/default"
assert_eq "$(call_add 2 3)" 105 "this shell with default 1"
kill "$CANARY_PID"
disable_patch $ADD
unload_mod $ADD
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "dynamos: dynamos 0.1.0 loaded
dynamos: patch '$ADD' registered
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
dynamos: patch '$ADD' unregistered
dynamos: dynamos unloaded"
