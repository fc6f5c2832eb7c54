#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch's module stays while a thread can return into any of its text,
# also when calls enter through an adaptation handler: the patch's
# generated adaptive entry asks the handler, which picks an edition that
# ends in a tail jump to prev(). A task asleep in the original has only
# the patch's glue on its stack. Disabling must wait for it, and rmmod
# must fail, until it wakes.

. "$(dirname "$0")/functions.sh"

start_test "a sleeper entered through an adaptation handler keeps its module"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko adapt_tail)"
F=$SYSFS/functions/dynamos_target:dynamos_target_sleep
# The handler is in force and, unless the CPU enforces IBT (no jumps
# there), calls jump to the patch's adaptive entry.
on_adaptive_entry() {
	grep -qx "handler dynamos_test_adapt_tail" "$F/policy" || return 1
	grep -qw ibt /proc/cpuinfo || grep -qx "calls jump adaptive" "$F/policy"
}
# 0: what the edition returns, the original's result (dynamos_test_adapt_tail.rs).
sleeper_holds_disable dynamos_test_adapt_tail 0 "the sleeper is in the original, under the handler's edition" on_adaptive_entry
