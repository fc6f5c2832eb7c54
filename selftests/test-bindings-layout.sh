#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A patch reads current->tgid through bindings::task_struct and gets this
# shell's process id: the bindings' layout is the running kernel's. On the
# first guest kernel the field sat 48 bytes early (bindgen dropped the
# alignment of an empty struct sched_statistics), and the read returned
# another field; scripts/layout.py now checks every struct at each kernel
# build.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_layout

start_test "a patch reads task_struct fields where the kernel has them"
load_mod "$TARGET_KO"
load_mod "$CORE_KO"
load_mod "$(test_ko layout)"
enable_patch $PATCH
# call_add writes from the process that runs it (echo is a builtin): here
# the subshell of the command substitution, which prints its pid after.
{ read -r got; read -r pid; } < <(call_add 2 3; echo "$BASHPID")
assert_eq "$got" $((2 + 3 + pid)) "add + current->tgid, read through the bindings, in process $pid"
log "ok: current->tgid read through bindings::task_struct is $pid"
disable_patch $PATCH
unload_mod $PATCH
unload_mod "$CORE"
unload_mod "$TARGET"

check_result "$CMD_PREFIX: % insmod $TARGET
$CMD_PREFIX: % insmod $CORE
dynamos: dynamos 0.1.0 loaded
$CMD_PREFIX: % insmod $PATCH
dynamos: patch '$PATCH' registered
$CMD_PREFIX: % echo 1 > $SYSFS/patches/$PATCH/enabled
dynamos: enabling patch '$PATCH'
dynamos: patch '$PATCH' enabled
$CMD_PREFIX: % echo 0 > $SYSFS/patches/$PATCH/enabled
dynamos: disabling patch '$PATCH'
dynamos: patch '$PATCH' disabled
$CMD_PREFIX: % rmmod $PATCH
dynamos: patch '$PATCH' unregistered
$CMD_PREFIX: % rmmod $CORE
dynamos: dynamos unloaded
$CMD_PREFIX: % rmmod $TARGET"
