#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An edition does not retire on a stack trace that cannot be trusted. A
# task asleep in the edition under a hundred frames of recursion has a
# stack deeper than dynamos' trace buffer: the edition's frame is not in
# what a truncated trace would show, and a trace that stopped there would
# have let it retire, and its module go, under the sleeper. The reliable
# trace says it is incomplete; the task stays pending until it leaves.

. "$(dirname "$0")/functions.sh"

start_test "a sleeper deeper than the stack trace keeps its edition"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko deep)"
# 2: what the edition returns (dynamos_test_deep.rs).
sleeper_holds_disable dynamos_test_deep 2 "the sleeper is in the edition, 100 frames down"
