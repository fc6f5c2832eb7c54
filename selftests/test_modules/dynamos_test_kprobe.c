// SPDX-License-Identifier: GPL-2.0
/*
 * A kprobe on dynamos_target_add() that counts hits (pre_handler only, so
 * it does not change the instruction pointer). The count is printed at
 * unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>

static atomic_t hits = ATOMIC_INIT(0);

static int pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&hits);
	return 0;
}

static struct kprobe kp = {
	.symbol_name = "dynamos_target_add",
	.pre_handler = pre,
};

static int __init dynamos_test_kprobe_init(void)
{
	return register_kprobe(&kp);
}

static void __exit dynamos_test_kprobe_exit(void)
{
	unregister_kprobe(&kp);
	pr_info("%d hits\n", atomic_read(&hits));
}

module_init(dynamos_test_kprobe_init);
module_exit(dynamos_test_kprobe_exit);
MODULE_DESCRIPTION("dynamos selftest: a counting kprobe on dynamos_target_add");
MODULE_LICENSE("GPL");
