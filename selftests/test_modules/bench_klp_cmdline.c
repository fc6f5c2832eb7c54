// SPDX-License-Identifier: GPL-2.0
/*
 * A livepatch (the kernel's own) of one vmlinux function, for the apply
 * time of `make bench` beside patches/cmdline (dynamos): replaces
 * cmdline_proc_show() (fs/proc/cmdline.c, static) with one that prints a
 * fixed line. livepatch finds the old function by name in vmlinux's
 * kallsyms at enable, as dynamos does.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	seq_puts(m, "this has been live patched by livepatch\n");
	return 0;
}

static struct klp_func funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = livepatch_cmdline_proc_show, },
	{ }
};

static struct klp_object objs[] = {
	{ .funcs = funcs, },	/* NULL name: vmlinux */
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init dynamos_bench_klp_cmdline_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit dynamos_bench_klp_cmdline_exit(void)
{
}

module_init(dynamos_bench_klp_cmdline_init);
module_exit(dynamos_bench_klp_cmdline_exit);
MODULE_DESCRIPTION("dynamos benchmark: livepatch of cmdline_proc_show()");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
