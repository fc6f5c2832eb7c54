// SPDX-License-Identifier: GPL-2.0
/*
 * Targets for the dynamos selftests: functions with known behaviour that
 * the test patches change, driven from user space through debugfs.
 *
 *   /sys/kernel/debug/dynamos_target/
 *     call      write "add A B", "write LEN" or "dup 1|2": calls the
 *               function in the writer's context; read: the last result
 *     sleep     read: sleeps in dynamos_target_sleep() until released, then
 *               returns what it returned
 *     release   write anything: wakes every sleeper
 *     sleepers  read: tasks inside dynamos_target_sleep() now
 *     add_burst read: calls dynamos_target_add(2, 3) ADD_BURST times in the
 *               reader's context and returns "VALUE:COUNT" per result
 *               seen, space-separated (make stress's callers)
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "target_main.h"
#include "target_attrs.h"

static DECLARE_WAIT_QUEUE_HEAD(sleep_wq);
static atomic_t release_gen = ATOMIC_INIT(0);
static atomic_t sleepers = ATOMIC_INIT(0);
static long last_result;
/* A static variable that test-ksyms.sh's patch reaches by name. */
static u32 dynamos_ksym_var = 5;
static DEFINE_MUTEX(call_lock);
static struct dentry *dir;

/*
 * Exported so that the compiler keeps their names and signatures intact.
 * The barrier keeps a caller in this file from calling add once for many
 * calls with the same arguments: clang (the debug kernel's compiler)
 * infers that a function without side effects may be, and GCC's noipa
 * has no clang equivalent.
 */
__dynamos_target int dynamos_target_add(int a, int b)
{
	barrier();
	return a + b;
}
EXPORT_SYMBOL_GPL(dynamos_target_add);

/*
 * Two static functions named dynamos_dup, one here (returns 1) and one in
 * target_dup.c (returns 2): a patch must give a position to pick one.
 * noipa keeps the compiler from folding their results into the callers.
 */
static noinline __noipa __used int dynamos_dup(void)
{
	int r = 1;

	/* clang has no noipa: hide the constant, or it folds the result. */
	OPTIMIZER_HIDE_VAR(r);
	return r;
}

int dynamos_target_dup2(void);

/* ftrace cannot hook this one: patching it must fail cleanly. */
notrace noinline int dynamos_target_notrace(void)
{
	return 0;
}
EXPORT_SYMBOL_GPL(dynamos_target_notrace);

/* What DynAMOS' pipe_write example looks like: the edition may depend on len. */
__dynamos_target long dynamos_target_write(unsigned long len)
{
	long r = 0;

	/* As in dynamos_dup: a constant result would be folded into callers. */
	OPTIMIZER_HIDE_VAR(r);
	return r;
}
EXPORT_SYMBOL_GPL(dynamos_target_write);

__dynamos_target int dynamos_target_sleep(void)
{
	int gen = atomic_read(&release_gen);
	int ret;

	atomic_inc(&sleepers);
	ret = wait_event_interruptible(sleep_wq, atomic_read(&release_gen) != gen);
	atomic_dec(&sleepers);
	return ret ? ret : 0;
}
EXPORT_SYMBOL_GPL(dynamos_target_sleep);

/*
 * Recurses depth times, then sleeps as dynamos_target_sleep() does, until
 * released: a sleeper whose stack is deeper than dynamos' trace buffer
 * (test-retire-deep.sh). The array kept across the call keeps the compiler
 * from turning the recursion into a loop.
 */
__dynamos_target int dynamos_target_deep_sleep(int depth)
{
	volatile char frame[16];
	int gen, ret;

	frame[0] = (char)depth;
	if (depth > 0) {
		ret = dynamos_target_deep_sleep(depth - 1);
		return ret + frame[0] - (char)depth;
	}
	gen = atomic_read(&release_gen);
	atomic_inc(&sleepers);
	ret = wait_event_interruptible(sleep_wq, atomic_read(&release_gen) != gen);
	atomic_dec(&sleepers);
	return ret;
}
EXPORT_SYMBOL_GPL(dynamos_target_deep_sleep);

static ssize_t call_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[64];
	int a, b;
	unsigned long len;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	mutex_lock(&call_lock);
	if (sscanf(buf, "add %d %d", &a, &b) == 2)
		last_result = dynamos_target_add(a, b);
	else if (sscanf(buf, "write %lu", &len) == 1)
		last_result = dynamos_target_write(len);
	else if (sscanf(buf, "dup %d", &a) == 1)
		last_result = a == 1 ? dynamos_dup() : dynamos_target_dup2();
	else
		count = -EINVAL;
	mutex_unlock(&call_lock);
	return count;
}

static ssize_t call_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[32];
	int n;

	mutex_lock(&call_lock);
	n = scnprintf(buf, sizeof(buf), "%ld\n", last_result);
	mutex_unlock(&call_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t sleep_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[32];
	int n;

	if (*ppos)
		return 0;
	n = scnprintf(buf, sizeof(buf), "%d\n", dynamos_target_sleep());
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t release_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	atomic_inc(&release_gen);
	wake_up_all(&sleep_wq);
	return count;
}

static ssize_t sleepers_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[32];
	int n = scnprintf(buf, sizeof(buf), "%d\n", atomic_read(&sleepers));

	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

#define ADD_BURST 1000
#define ADD_VALUES 8

/*
 * A seq_file, so that the burst runs once per open file, however the reader
 * reads (bash's read builtin takes one byte per read()).
 */
static int add_burst_show(struct seq_file *m, void *v)
{
	int vals[ADD_VALUES], cnt[ADD_VALUES], nv = 0, i, j, r;

	for (i = 0; i < ADD_BURST; i++) {
		int a = 2, b = 3;

		/* Arguments the compiler cannot see: ADD_BURST real calls. */
		OPTIMIZER_HIDE_VAR(a);
		OPTIMIZER_HIDE_VAR(b);
		r = dynamos_target_add(a, b);
		for (j = 0; j < nv && vals[j] != r; j++)
			;
		if (j == nv) {
			if (nv == ADD_VALUES)
				return -E2BIG;
			vals[nv] = r;
			cnt[nv++] = 0;
		}
		cnt[j]++;
	}
	for (j = 0; j < nv; j++)
		seq_printf(m, "%d:%d ", vals[j], cnt[j]);
	seq_putc(m, '\n');
	return 0;
}

static int add_burst_open(struct inode *inode, struct file *file)
{
	return single_open(file, add_burst_show, NULL);
}

static const struct file_operations add_burst_fops = {
	.owner = THIS_MODULE, .open = add_burst_open, .read = seq_read,
	.llseek = seq_lseek, .release = single_release,
};
static const struct file_operations call_fops = {
	.owner = THIS_MODULE, .read = call_read, .write = call_write,
};
static const struct file_operations sleep_fops = {
	.owner = THIS_MODULE, .read = sleep_read,
};
static const struct file_operations release_fops = {
	.owner = THIS_MODULE, .write = release_write,
};
static const struct file_operations sleepers_fops = {
	.owner = THIS_MODULE, .read = sleepers_read,
};

static int __init dynamos_target_init(void)
{
	dir = debugfs_create_dir("dynamos_target", NULL);
	debugfs_create_file("call", 0600, dir, NULL, &call_fops);
	debugfs_create_file("sleep", 0400, dir, NULL, &sleep_fops);
	debugfs_create_file("release", 0200, dir, NULL, &release_fops);
	debugfs_create_file("sleepers", 0400, dir, NULL, &sleepers_fops);
	debugfs_create_file("add_burst", 0400, dir, NULL, &add_burst_fops);
	debugfs_create_u32("ksym_var", 0600, dir, &dynamos_ksym_var);
	return 0;
}

static void __exit dynamos_target_exit(void)
{
	debugfs_remove(dir);
}

module_init(dynamos_target_init);
module_exit(dynamos_target_exit);
MODULE_DESCRIPTION("dynamos selftest target functions");
MODULE_LICENSE("GPL");
