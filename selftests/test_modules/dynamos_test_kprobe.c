// SPDX-License-Identifier: GPL-2.0
/*
 * A kprobe and a kretprobe on dynamos_target_add() that count entries and
 * returns (neither changes the instruction pointer). The counts are printed
 * at unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>

static atomic_t hits = ATOMIC_INIT(0);
static atomic_t returns = ATOMIC_INIT(0);

static int pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&hits);
	return 0;
}

static struct kprobe kp = {
	.symbol_name = "dynamos_target_add",
	.pre_handler = pre,
};

static int ret_handler(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	atomic_inc(&returns);
	return 0;
}

static struct kretprobe krp = {
	.kp.symbol_name = "dynamos_target_add",
	.handler = ret_handler,
};

static int __init dynamos_test_kprobe_init(void)
{
	int ret = register_kprobe(&kp);

	if (ret)
		return ret;
	ret = register_kretprobe(&krp);
	if (ret)
		unregister_kprobe(&kp);
	return ret;
}

static void __exit dynamos_test_kprobe_exit(void)
{
	unregister_kretprobe(&krp);
	unregister_kprobe(&kp);
	pr_info("%d hits, %d returns\n", atomic_read(&hits), atomic_read(&returns));
}

module_init(dynamos_test_kprobe_init);
module_exit(dynamos_test_kprobe_exit);
MODULE_DESCRIPTION("dynamos selftest: counting kprobe and kretprobe on dynamos_target_add");
MODULE_LICENSE("GPL");
