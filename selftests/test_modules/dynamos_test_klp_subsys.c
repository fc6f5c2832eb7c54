// SPDX-License-Identifier: GPL-2.0
/*
 * The update of the dynamos_subsys subsystem (subsys_target.c) as a
 * livepatch (the kernel's own), to compare with the dynamos patch: generation
 * 1 encodes tokens as value ^ KEY and counts paths in its own count_v1.
 *
 * Like the originals, these functions never end with a tail call to another
 * dynamos_sub_* function (the stacks are checked by return address), and
 * call the others by their exported names so that the patched editions run.
 *
 * A kthread that never leaves dynamos_sub_loop() (module parameter loop=1)
 * keeps the livepatch transition from completing, and so does a sleeper in
 * dynamos_sub_sleep() until it is released.
 */
#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/sched.h>

#include "subsys_target.h"

#define KEY 0x5a5a5a5a5a5a5a5aULL

/* Generation 1's state: paths completed since the patch. */
static atomic64_t count_v1 = ATOMIC64_INIT(0);

static noinline __noipa int livepatch_sub_encode(struct dynamos_sub_token *t, u64 v)
{
	t->raw = v ^ KEY;
	return 0;
}

static noinline __noipa int livepatch_sub_check(struct dynamos_sub_token *t)
{
	atomic64_inc(&count_v1);
	return (t->raw ^ KEY) != t->value;
}

static noinline __noipa int livepatch_sub_path(u64 v)
{
	struct dynamos_sub_token t = { .value = v };
	int bad;

	dynamos_sub_encode(&t, v);
	dynamos_sub_pause();
	/* Not a tail call: bad is kept, then returned. */
	bad = dynamos_sub_check(&t);
	barrier();
	return bad;
}

static noinline __noipa u64 livepatch_sub_count(void)
{
	return atomic64_read(&count_v1) + atomic64_read(&dynamos_sub_count_v0);
}

static noinline __noipa int livepatch_sub_loop(void *data)
{
	struct dynamos_sub_loop_state *st = data;

	while (!kthread_should_stop()) {
		st->edition = 1;
		st->ticks++;
		dynamos_sub_tick(st->ticks);
		schedule_timeout_interruptible(msecs_to_jiffies(10));
	}
	return 0;
}

/* Returns 1: finished in generation 1. */
static noinline __noipa int livepatch_sub_sleep(void)
{
	dynamos_sub_wait();
	/* Not a tail call: code follows it. */
	dynamos_sub_run(7);
	barrier();
	return 1;
}

static noinline __noipa int livepatch_sub_loop2(void *data)
{
	struct dynamos_sub_loop_state *st = data;

	for (;;) {
		if (dynamos_sub_should_exit())
			break;
		st->edition = 1;
		st->ticks++;
		dynamos_sub_tick(st->ticks);
		schedule_timeout_interruptible(msecs_to_jiffies(10));
	}
	return 0;
}

static struct klp_func funcs[] = {
	{ .old_name = "dynamos_sub_encode", .new_func = livepatch_sub_encode, },
	{ .old_name = "dynamos_sub_check", .new_func = livepatch_sub_check, },
	{ .old_name = "dynamos_sub_path", .new_func = livepatch_sub_path, },
	{ .old_name = "dynamos_sub_count", .new_func = livepatch_sub_count, },
	{ .old_name = "dynamos_sub_loop", .new_func = livepatch_sub_loop, },
	{ .old_name = "dynamos_sub_loop2", .new_func = livepatch_sub_loop2, },
	{ .old_name = "dynamos_sub_sleep", .new_func = livepatch_sub_sleep, },
	{ }
};

static struct klp_object objs[] = {
	{ .name = "dynamos_subsys", .funcs = funcs, },
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init dynamos_test_klp_subsys_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit dynamos_test_klp_subsys_exit(void)
{
}

module_init(dynamos_test_klp_subsys_init);
module_exit(dynamos_test_klp_subsys_exit);
MODULE_DESCRIPTION("dynamos selftest: a livepatch of the dynamos_subsys subsystem");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
