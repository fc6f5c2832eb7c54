#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bad writes to every writable sysfs file get an errno and change nothing:
# non-numbers, out-of-range and unknown values, overlong input, a PID that
# does not exist, writes that conflict with a running transition, writes
# by other users.

. "$(dirname "$0")/functions.sh"
ADD=dynamos_test_add
SLEEP=dynamos_test_sleep
F=dynamos_target:dynamos_target_add
LONG=$(printf '1%.0s' $(seq 100))


# snapshot: what must not change.
snapshot() {
	cat "$SYSFS/patches/$ADD/state" "$SYSFS/patches/$ADD/enabled" \
		"$(func_dir $F)/default" "$(func_dir $F)/pids" "$(func_dir $F)/policy"
}

start_test "bad sysfs input gets an errno and changes nothing"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko add)"
load_mod "$(test_ko sleep)"
enable_patch $ADD
before=$(snapshot)

E=$SYSFS/patches/$ADD/enabled
for v in 2 abc -1 " 1" "1 1" 0x1 $'\n' "1"$'\n'$'\n'; do
	expect_write_error "$E" "$v" "Invalid argument"
done
expect_write_error "$E" "$LONG" "Argument list too long"
expect_write_error "$E" 1 "Invalid argument"

R=$SYSFS/patches/$ADD/replace
for v in 0 2 abc " 1" "1 1"; do
	expect_write_error "$R" "$v" "Invalid argument"
done
expect_write_error "$R" "$LONG" "Argument list too long"
# Enabled already: nothing to replace with it.
expect_write_error "$R" 1 "Invalid argument"

D=$(func_dir $F)/default
for v in abc -1 4294967296 99999999999999999999 " 1" 1.0; do
	expect_write_error "$D" "$v" "Invalid argument"
done
expect_write_error "$D" 99 "No such file or directory"
expect_write_error "$D" "$LONG" "Argument list too long"

P=$(func_dir $F)/pids
for v in x 1 "0 1" "1 x" "1 -1" "--1" "1  1" "4194305 1"; do
	expect_write_error "$P" "$v" "Invalid argument"
done
expect_write_error "$P" "3999999 1" "No such process"
expect_write_error "$P" "$$ 9" "No such file or directory"
expect_write_error "$P" "-$$" "No such file or directory"
expect_write_error "$P" "$LONG" "Argument list too long"

# Other users may not write.
for f in "$E" "$R" "$D" "$P"; do
	if try_write_as_nobody 1 "$f" "expected to fail"; then
		die "an unprivileged user could write $f"
	fi
done
log "ok: unprivileged writes refused"
assert_eq "$(snapshot)" "$before" "state after the bad writes"

# While a transition runs (held by a sleeper), policy writes and other
# patches' enables are refused with EBUSY.
sleep_on "$TDBG/sleep" /dev/null
s=$SLEEPER
loop_until sleepers_are 1 || die "the sleeper did not go to sleep"
write_file 1 "$SYSFS/patches/$SLEEP/enabled"
assert_eq "$(patch_file $SLEEP state)" enabling "$SLEEP held by the sleeper"
expect_write_error "$SYSFS/patches/$ADD/enabled" 0 "Device or resource busy"
expect_write_error "$(func_dir dynamos_target:dynamos_target_sleep)/default" 0 "Device or resource busy"
expect_write_error "$(func_dir dynamos_target:dynamos_target_sleep)/pids" "$$ 0" "Device or resource busy"
assert_eq "$(snapshot)" "$before" "state after the refused writes"
write_file 1 "$TDBG/release"
wait $s
wait_state $SLEEP enabled
disable_patch $SLEEP
disable_patch $ADD
unload_mod $SLEEP
unload_mod $ADD
unload_mod "$CORE"
unload_mod "$TARGET"
