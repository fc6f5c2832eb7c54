/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dynamos_subsys selftest module (subsys_target.c): a "subsystem" of
 * functions that a live update must switch as one, and what its patches
 * (the Rust one and the livepatch dynamos_test_klp_subsys.c) need of it.
 *
 * The Rust patch mirrors both structures with #[repr(C)]: do not reorder,
 * add or remove fields.
 */
#ifndef _DYNAMOS_SUBSYS_TARGET_H
#define _DYNAMOS_SUBSYS_TARGET_H

#include <linux/atomic.h>
#include <linux/types.h>

/* Per path, on the caller's stack: raw is value as encoded by an edition. */
struct dynamos_sub_token {
	u64 value;
	u64 raw;
};

/* The state of the loop kthread (dynamos_sub_loop()'s data). */
struct dynamos_sub_loop_state {
	int edition;
	u64 ticks;
};

/* Generation 0's state: paths completed (counted by dynamos_sub_check()). */
extern atomic64_t dynamos_sub_count_v0;
extern struct dynamos_sub_loop_state dynamos_sub_loop_state;
extern struct dynamos_sub_loop_state dynamos_sub_loop2_state;

/* Members of the subsystem: an update switches all of them at once. */
int dynamos_sub_encode(struct dynamos_sub_token *t, u64 v);
int dynamos_sub_check(struct dynamos_sub_token *t);
int dynamos_sub_path(u64 v);
u64 dynamos_sub_count(void);
int dynamos_sub_sleep(void);
int dynamos_sub_loop(void *data);
int dynamos_sub_loop2(void *data);

/* Helpers that the patches call; they are not replaced. */
int dynamos_sub_run(u64 v);
int dynamos_sub_tick(u64 v);
void dynamos_sub_pause(void);
void dynamos_sub_wait(void);
int dynamos_sub_refusal(void);
bool dynamos_sub_should_exit(void);

#endif /* _DYNAMOS_SUBSYS_TARGET_H */
