// SPDX-License-Identifier: GPL-2.0
/*
 * Targets for the dynamos benchmarks: 1000 small functions,
 * dynamos_bench_f000 to dynamos_bench_f999, where dynamos_bench_fNNN(x)
 * returns x + NNN, so that a patch (which must compute the same) can change
 * any number of them, and a task that sleeps in dynamos_bench_hold() for as
 * long as a benchmark wants one on a stack.
 *
 *   /sys/kernel/debug/dynamos_bench/
 *     run       write "IDX ITERS" (IDX 0..999, ITERS 1..100000000): calls
 *               dynamos_bench_fIDX(i) for i = 0..ITERS-1 in chunks of 10000
 *               calls, each timed with preemption disabled, and checks that
 *               each returned i + IDX; read: "idx IDX iters ITERS ns TOTAL_NS
 *               mismatches M" of the last run (TOTAL_NS: the chunks' sum)
 *     call1     read: calls dynamos_bench_f000(42) once and returns its result
 *               (every read at offset 0 calls it again: time pread() with it)
 *     nr        read/write (1..1000): how many functions, f000 upward, a
 *               patch should change (scripts/bench-guest.sh passes it to
 *               the patches as their nr= parameter)
 *     mode      read/write (0..2): how the Rust patch switches: 0 plain,
 *               1 adaptive, 2 subsystem (its mode= parameter)
 *     layers    read/write dynamos_bench_layers (1..8)
 *     hold      read: sleeps in dynamos_bench_hold() until released, then
 *               returns what it returned
 *     release   write anything: wakes every holder
 *     holders   read: tasks inside dynamos_bench_hold() now
 *
 * The functions are noipa so that the compiler neither inlines, clones nor
 * merges them, nor assumes anything of their results in the callers: each
 * stays a traceable function of its own with its own name, which a patch
 * replaces. bench_fns[] holds their addresses and keeps them alive.
 */
#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "bench_target.h"
#include "target_attrs.h"

#define RUN_CHUNK	10000
#define RUN_MAX_ITERS	100000000

static int dynamos_bench_nr = 1;
static int dynamos_bench_mode;
int dynamos_bench_layers = 1;
EXPORT_SYMBOL_GPL(dynamos_bench_layers);

static DECLARE_WAIT_QUEUE_HEAD(hold_wq);
static atomic_t release_gen = ATOMIC_INIT(0);
static atomic_t holders = ATOMIC_INIT(0);

/* The last run, for the readers of run. */
static DEFINE_MUTEX(run_lock);
static int run_idx;
static int run_iters;
static u64 run_ns;
static u64 run_mismatches;

static struct dentry *dir;

/* dynamos_bench_f000 .. dynamos_bench_f999: x + their number. */
#define BENCH_FN(a, b, c)						\
static noinline __noipa __used int dynamos_bench_f##a##b##c(int x)	\
{									\
	return x + (a * 100 + b * 10 + c);				\
}

BENCH_FOR_EACH(BENCH_FN)

#define BENCH_PTR(a, b, c)	dynamos_bench_f##a##b##c,

static int (*const bench_fns[])(int) = {
	BENCH_FOR_EACH(BENCH_PTR)
};
static_assert(ARRAY_SIZE(bench_fns) == DYNAMOS_BENCH_NR_FNS);

/*
 * Returns 0 once released (-ERESTARTSYS if a signal came first). The
 * barrier() after the wait keeps the frame in place until it has returned.
 */
__dynamos_target int dynamos_bench_hold(void)
{
	int gen = atomic_read(&release_gen);
	int ret;

	atomic_inc(&holders);
	ret = wait_event_interruptible(hold_wq, atomic_read(&release_gen) != gen);
	barrier();
	atomic_dec(&holders);
	return ret;
}
EXPORT_SYMBOL_GPL(dynamos_bench_hold);

/* Calls bench_fns[idx](i) for i = 0..iters-1; run_lock held. */
static void bench_run(int idx, int iters)
{
	int (*fn)(int) = bench_fns[idx];
	u64 ns = 0, mismatches = 0;
	int i = 0;

	while (i < iters) {
		int end = min(iters, i + RUN_CHUNK);
		u64 t0, t1;

		preempt_disable();
		t0 = ktime_get_ns();
		for (; i < end; i++)
			if (fn(i) != i + idx)
				mismatches++;
		t1 = ktime_get_ns();
		preempt_enable();
		ns += t1 - t0;
		cond_resched();
	}
	run_idx = idx;
	run_iters = iters;
	run_ns = ns;
	run_mismatches = mismatches;
}

static ssize_t run_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[64];
	int idx, iters;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (sscanf(buf, "%d %d", &idx, &iters) != 2)
		return -EINVAL;
	if (idx < 0 || idx >= DYNAMOS_BENCH_NR_FNS || iters < 1 || iters > RUN_MAX_ITERS)
		return -EINVAL;
	if (mutex_lock_interruptible(&run_lock))
		return -EINTR;
	bench_run(idx, iters);
	mutex_unlock(&run_lock);
	return count;
}

static ssize_t run_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[128];
	int n;

	if (mutex_lock_interruptible(&run_lock))
		return -EINTR;
	n = scnprintf(buf, sizeof(buf), "idx %d iters %d ns %llu mismatches %llu\n",
		      run_idx, run_iters, run_ns, run_mismatches);
	mutex_unlock(&run_lock);
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

/* One call per read at offset 0, so that pread() can be timed with it. */
static ssize_t call1_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[32];
	int n;

	if (*ppos)
		return 0;
	n = scnprintf(buf, sizeof(buf), "%d\n", bench_fns[0](42));
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t hold_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[32];
	int n;

	if (*ppos)
		return 0;
	n = scnprintf(buf, sizeof(buf), "%d\n", dynamos_bench_hold());
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t release_write(struct file *file, const char __user *ubuf, size_t count, loff_t *ppos)
{
	atomic_inc(&release_gen);
	wake_up_all(&hold_wq);
	return count;
}

static ssize_t holders_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[32];
	int n = scnprintf(buf, sizeof(buf), "%d\n", atomic_read(&holders));

	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

/* nr, mode and layers: an int with a range, the file's data. */
struct bench_param {
	const char *name;
	int *val;
	int min;
	int max;
};

static struct bench_param params[] = {
	{ "nr", &dynamos_bench_nr, 1, DYNAMOS_BENCH_NR_FNS },
	{ "mode", &dynamos_bench_mode, 0, 2 },
	{ "layers", &dynamos_bench_layers, 1, 8 },
};

static int param_get(void *data, u64 *val)
{
	struct bench_param *p = data;

	*val = READ_ONCE(*p->val);
	return 0;
}

static int param_set(void *data, u64 val)
{
	struct bench_param *p = data;

	if (val < (u64)p->min || val > (u64)p->max)
		return -EINVAL;
	WRITE_ONCE(*p->val, (int)val);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(param_fops, param_get, param_set, "%llu\n");

static const struct file_operations run_fops = {
	.owner = THIS_MODULE, .read = run_read, .write = run_write,
};
static const struct file_operations call1_fops = {
	.owner = THIS_MODULE, .read = call1_read,
};
static const struct file_operations hold_fops = {
	.owner = THIS_MODULE, .read = hold_read,
};
static const struct file_operations release_fops = {
	.owner = THIS_MODULE, .write = release_write,
};
static const struct file_operations holders_fops = {
	.owner = THIS_MODULE, .read = holders_read,
};

static int __init dynamos_bench_init(void)
{
	int i;

	dir = debugfs_create_dir("dynamos_bench", NULL);
	debugfs_create_file("run", 0600, dir, NULL, &run_fops);
	debugfs_create_file("call1", 0400, dir, NULL, &call1_fops);
	for (i = 0; i < ARRAY_SIZE(params); i++)
		debugfs_create_file_unsafe(params[i].name, 0600, dir, &params[i], &param_fops);
	debugfs_create_file("hold", 0400, dir, NULL, &hold_fops);
	debugfs_create_file("release", 0200, dir, NULL, &release_fops);
	debugfs_create_file("holders", 0400, dir, NULL, &holders_fops);
	return 0;
}

static void __exit dynamos_bench_exit(void)
{
	debugfs_remove(dir);
}

module_init(dynamos_bench_init);
module_exit(dynamos_bench_exit);
MODULE_DESCRIPTION("dynamos benchmark target functions");
MODULE_LICENSE("GPL");
