// SPDX-License-Identifier: GPL-2.0
/*
 * The exact mix detector of test-consistency.sh: callers run call paths
 * through the chain of chain.h, and every path is checked.
 *
 *   /sys/kernel/debug/dynamos_chain/
 *     run    read: runs 16 call paths in the reader's context (depths 0 to
 *            15, every other one sleeping on the way, and a sleep outside
 *            the chain after each), checks each, and returns "paths N
 *            mixed M" for them
 *     stats  read: "paths N mixed M old O new W last 0xSEEN" since the last
 *            reset: every path counted, as all old, all new or mixed
 *            (SEEN: the record of the last mixed path); write: resets
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>

#include "chain.h"

#define RUN_PATHS 16
#define MAX_DEPTH 16

static atomic_long_t paths, mixed, all_old, all_new, last_mix;
static struct dentry *dir;

/* One call path from the top; whether it mixed editions. */
static bool one_path(int i)
{
	struct dynamos_chain_path p = { .seen = 0, .nap = i & 1 };

	dynamos_chain_a(&p, i % MAX_DEPTH);
	atomic_long_inc(&paths);
	if (p.seen == DYNAMOS_CHAIN_ALL_OLD) {
		atomic_long_inc(&all_old);
		return false;
	}
	if (p.seen == DYNAMOS_CHAIN_ALL_NEW) {
		atomic_long_inc(&all_new);
		return false;
	}
	atomic_long_inc(&mixed);
	atomic_long_set(&last_mix, p.seen);
	return true;
}

static ssize_t run_read(struct file *f, char __user *buf, size_t len, loff_t *ppos)
{
	char out[64];
	int i, n = 0;

	for (i = 0; i < RUN_PATHS; i++) {
		n += one_path(i);
		/* Tasks spend time outside patched code too, as real ones do. */
		usleep_range(50, 100);
	}
	i = scnprintf(out, sizeof(out), "paths %d mixed %d\n", RUN_PATHS, n);
	return simple_read_from_buffer(buf, len, ppos, out, i);
}

static ssize_t stats_read(struct file *f, char __user *buf, size_t len, loff_t *ppos)
{
	char out[160];
	int n = scnprintf(out, sizeof(out), "paths %ld mixed %ld old %ld new %ld last 0x%lx\n",
			  atomic_long_read(&paths), atomic_long_read(&mixed),
			  atomic_long_read(&all_old), atomic_long_read(&all_new),
			  atomic_long_read(&last_mix));

	return simple_read_from_buffer(buf, len, ppos, out, n);
}

static ssize_t stats_write(struct file *f, const char __user *buf, size_t len, loff_t *ppos)
{
	atomic_long_set(&paths, 0);
	atomic_long_set(&mixed, 0);
	atomic_long_set(&all_old, 0);
	atomic_long_set(&all_new, 0);
	atomic_long_set(&last_mix, 0);
	return len;
}

static const struct file_operations run_fops = {
	.owner = THIS_MODULE,
	.read = run_read,
	.llseek = default_llseek,
};

static const struct file_operations stats_fops = {
	.owner = THIS_MODULE,
	.read = stats_read,
	.write = stats_write,
	.llseek = default_llseek,
};

static int __init chain_init(void)
{
	dir = debugfs_create_dir("dynamos_chain", NULL);
	debugfs_create_file("run", 0444, dir, NULL, &run_fops);
	debugfs_create_file("stats", 0644, dir, NULL, &stats_fops);
	return 0;
}

static void __exit chain_exit(void)
{
	debugfs_remove(dir);
}

module_init(chain_init);
module_exit(chain_exit);
MODULE_DESCRIPTION("dynamos selftest target: a call chain whose every path is checked for mixed editions");
MODULE_LICENSE("GPL");
