#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch's module stays while a thread can return into any of its text.
# The wrapper the patch-author guide teaches ends in a tail jump to
# prev(): a task asleep in the original has prev()'s frame on its stack,
# not the edition's. Disabling must wait for it, and rmmod must fail,
# until it wakes; an earlier version let the module go under it (a panic
# on wake-up).

. "$(dirname "$0")/functions.sh"

start_test "a sleeper under a tail-calling wrapper keeps its module"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko tail)"
# 0: what the edition returns (dynamos_test_tail.rs).
sleeper_holds_disable dynamos_test_tail 0 "the sleeper is in the original, under prev()"
