#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shadow data: struct dynamos_account gains a deposit counter without a
# layout change. Patched under the load of four depositors, the counters
# add up exactly to the deposits the new edition made; every account has
# one variable. Disabling the patch frees them all, each through its
# destructor.

. "$(dirname "$0")/functions.sh"

SHADOW=dynamos_test_shadow
DEPOSIT=dynamos_data:dynamos_account_deposit

start_test "a new field in shadow data: exact under load, freed with the patch"
load_mod "$DATA_KO"
load_mod "$CORE_KO"
write_file 1 "$DDBG/notes"
assert_eq "$(cat "$SYSFS/shadow_vars")" 0 "shadow variables before the patch"

write_file 4 "$DDBG/acct_workers"
loop_until ddbg_field_at_least acct_stats deposits 1000 || die "the depositors do not run: $(ddbg acct_stats)"
load_mod "$(test_ko shadow)"
wait_state $SHADOW enabled
calls=$(edition_file $DEPOSIT 1 calls)
loop_until eval '[ "$(edition_file $DEPOSIT 1 calls)" -ge $((calls + 4000)) ]' ||
	die "the new edition is not called: $(edition_file $DEPOSIT 1 calls)"
write_file 0 "$DDBG/acct_workers"

calls=$(edition_file $DEPOSIT 1 calls)
assert_eq "$(ddbg_field acct_stats extra)" "$calls" "deposits counted in shadow data"
assert_eq "$(ddbg_field acct_stats balance)" "$(ddbg_field acct_stats deposits)" "balance"
assert_eq "$(cat "$SYSFS/shadow_vars")" 16 "shadow variables (one per account)"
log "ok: $calls deposits through the new edition, all counted in the accounts' shadow counters"

disable_patch $SHADOW
assert_eq "$(cat "$SYSFS/shadow_vars")" 0 "shadow variables after the disable"
assert_eq "$(ddbg_field notes dtors)" 16 "destructors run"
assert_eq "$(ddbg_field acct_stats extra)" 0 "the counter once the patch is gone"
unload_mod $SHADOW

check_result "dynamos_selftest: % insmod $DATA
dynamos_selftest: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
dynamos_selftest: % echo 1 > $DDBG/notes
dynamos_selftest: % echo 4 > $DDBG/acct_workers
dynamos_selftest: % insmod $SHADOW
dynamos: patch '$SHADOW' registered
dynamos: enabling patch '$SHADOW'
dynamos: patch '$SHADOW' enabled
dynamos_selftest: % echo 0 > $DDBG/acct_workers
dynamos_selftest: % echo 0 > $SYSFS/patches/$SHADOW/enabled
dynamos: disabling patch '$SHADOW'
dynamos: freed 16 shadow variables of id 13959169
dynamos: patch '$SHADOW' disabled
dynamos_selftest: % rmmod $SHADOW
dynamos: patch '$SHADOW' unregistered"
