#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch's module stays while a thread can return into any of its text,
# also when an old-interface call enters an interface change's adaptor:
# the adaptor ends in a tail jump to the new edition, which ends in a tail
# jump to a function of the target module that sleeps. Disabling must wait
# for the sleeper, and rmmod must fail, until it wakes.

. "$(dirname "$0")/functions.sh"

start_test "a sleeper under a tail-calling adaptor keeps its module"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko adaptor_tail)"
# 0: dynamos_target_deep_sleep(0)'s result once released.
SLEEPER_SUBSYS=dynamos_adaptor_tail sleeper_holds_disable dynamos_test_adaptor_tail 0 "the sleeper is under the adaptor"
