// SPDX-License-Identifier: GPL-2.0
/*
 * A livepatch (the kernel's own) of dynamos_target_add(): returns
 * a + b + 1000. Used to check that dynamos and livepatch refuse to share a
 * function cleanly, and to compare the two side by side.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

static int livepatch_add(int a, int b)
{
	return a + b + 1000;
}

static struct klp_func funcs[] = {
	{ .old_name = "dynamos_target_add", .new_func = livepatch_add, },
	{ }
};

static struct klp_object objs[] = {
	{ .name = "dynamos_target", .funcs = funcs, },
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init dynamos_test_klp_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit dynamos_test_klp_exit(void)
{
}

module_init(dynamos_test_klp_init);
module_exit(dynamos_test_klp_exit);
MODULE_DESCRIPTION("dynamos selftest: a livepatch of dynamos_target_add");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
