#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Per-process editions follow processes, not numbers. An entry goes when its
# process exits: 64 processes fill the table (the 65th is refused with
# ENOSPC); once they exit the table reads empty and takes new entries. And a
# later process that gets an exited one's id does not inherit its edition.
# An earlier version kept the numbers: the table stayed full, and a reused
# id ran the pinned edition.

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
F=dynamos_target:dynamos_target_add
MAX=64	# MAX_PIDS, src/api/sysfs.rs

old_pid_max=$(cat /proc/sys/kernel/pid_max)
sleepers=()
cleanup_extra() {
	kill "${sleepers[@]}" ${extra:-} ${pinned:-} 2>/dev/null
	echo "$old_pid_max" >/proc/sys/kernel/pid_max
}

# A process that does nothing, with no hold on the test's output (which
# the runner reads until every writer is gone).
idle() { sleep 1000 </dev/null >/dev/null 2>&1 & }

start_test "per-process entries go with their processes; a reused id inherits nothing"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
enable_patch $ADD
pids=$(func_dir $F)/pids

# Fill the table with processes pinned to the original.
for i in $(seq $MAX); do
	idle
	sleepers+=($!)
	echo "$! 0" >"$pids" || die "pinning process $i ($!) failed"
done
log "ok: $MAX processes pinned to edition 0"
idle
extra=$!
expect_write_error "$pids" "$extra 0" "No space left on device"
kill "${sleepers[@]}"
wait "${sleepers[@]}" 2>/dev/null
sleepers=()
assert_eq "$(cat "$pids")" "" "pids once the $MAX processes exited"
grep -q '^pid ' "$(func_dir $F)/policy" && die "policy still lists exited processes"
write_file "$extra 0" "$pids" "a new process, after they exited"
assert_eq "$(cat "$pids")" "$extra 0" "pids with the new process"
kill "$extra"
wait "$extra" 2>/dev/null
assert_eq "$(cat "$pids")" "" "pids once it exited too"

# Ids are reused quickly with a small pid_max: a process pinned to the
# original exits, and forks go on until one gets its id. After a wrap the
# kernel hands out ids from 301 (RESERVED_PIDS), so the pinned one must be
# above that.
while [ "$(sh -c 'echo $$')" -le 301 ]; do :; done
idle
pinned=$!
write_file "$pinned 0" "$pids" "pinned to the original"
write_file $((pinned + 10)) /proc/sys/kernel/pid_max "ids wrap around quickly"
kill "$pinned"
wait "$pinned" 2>/dev/null
got=
# Forks go up to pid_max and wrap to 301: at most pinned + 10 - 301 of
# them reach the id again (a fixed 3000 fell short when the id was near
# 3300).
for i in $(seq $((pinned + 20))); do
	if got=$([ "$BASHPID" = "$pinned" ] || exit 1; call_add 2 3); then
		break
	fi
	got=
done
[ -n "$got" ] || die "no process got id $pinned again"
assert_eq "$got" "$(add_v100 2 3)" "add in a new process with the exited one's id $pinned"
log "ok: the new process with id $pinned runs the default edition"
write_file "$old_pid_max" /proc/sys/kernel/pid_max
disable_patch $ADD
unload_mod $ADD
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "$CMD_PREFIX: % insmod $TARGET
$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $ADD
dynamos: patch '$ADD' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$ADD/enabled
dynamos: enabling patch '$ADD'
dynamos: patch '$ADD' enabled
$CMD_PREFIX: % echo -n '$extra 0' > $pids (expected to fail: No space left on device)
$CMD_PREFIX: % echo '$extra 0' > $pids (a new process, after they exited)
$CMD_PREFIX: % echo '$pinned 0' > $pids (pinned to the original)
$CMD_PREFIX: % echo $((pinned + 10)) > /proc/sys/kernel/pid_max (ids wrap around quickly)
$CMD_PREFIX: % echo $old_pid_max > /proc/sys/kernel/pid_max
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$ADD/enabled
dynamos: disabling patch '$ADD'
dynamos: patch '$ADD' disabled
$CMD_PREFIX: % rmmod $ADD
dynamos: patch '$ADD' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded
$CMD_PREFIX: % rmmod $TARGET"
