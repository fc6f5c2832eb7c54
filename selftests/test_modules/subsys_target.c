// SPDX-License-Identifier: GPL-2.0
/*
 * A "subsystem" for the dynamos selftests: functions that a live update
 * must switch as one. dynamos_sub_path() encodes a token with
 * dynamos_sub_encode(), sleeps a little, then has dynamos_sub_check() decode
 * it; an update that changes the encoding must never let a path encode with
 * one generation and check with the other (a "mix"). The functions are
 * driven by worker kthreads, by a long-running loop kthread, by sleepers and
 * by the readers of the debugfs files.
 *
 * Members (generation 0 here, generation 1 in the patches):
 *   dynamos_sub_encode, dynamos_sub_check, dynamos_sub_path,
 *   dynamos_sub_count, dynamos_sub_sleep, dynamos_sub_loop, dynamos_sub_loop2
 * Helpers the patches call, never replaced:
 *   dynamos_sub_run, dynamos_sub_tick, dynamos_sub_pause, dynamos_sub_wait,
 *   dynamos_sub_refusal, dynamos_sub_should_exit
 *
 *   /sys/kernel/debug/dynamos_subsys/
 *     workers    write N (0..16): have exactly N worker kthreads
 *                ("dynamos_subwI") calling dynamos_sub_run(); read: N
 *     mixes      read: paths whose token was encoded by another generation
 *     calls      read: paths completed through dynamos_sub_run()
 *     count      read: what dynamos_sub_count() returns now
 *     loop       read: "pid P edition E ticks T" of the loop kthread
 *                (P is 0 if there is none: module parameter loop=0)
 *     loop_comm  read: the comm of the loop kthread, or an empty line
 *     loop2      read: the same as loop, for the second loop kthread
 *                ("dynamos_subsys2"), whose loop never calls
 *                kthread_should_stop() itself: its exit test is
 *                dynamos_sub_should_exit(), a safe point a patch declares
 *     sleep      read: sleeps in dynamos_sub_sleep() until released, then
 *                returns what it returned (0: generation 0, 1: patched)
 *     release    write anything: wakes every sleeper
 *     sleepers   read: tasks inside dynamos_sub_wait() now
 *     refuse     write an int (e.g. -22): what dynamos_sub_refusal()
 *                returns, for a patch's pre-switch hook; read: it
 *     quiet      write 1: the loop kthread keeps looping but runs no path
 *                (dynamos_sub_tick() does nothing), so that counts settle;
 *                write 0: it runs them again; read: it
 *
 * The updater finds callers by the return addresses on the stacks, so a call
 * from one dynamos_sub_* function to another must never be a tail call: each
 * such call is followed by code that uses its result, or by barrier().
 * __dynamos_target (target_attrs.h) keeps the compiler from specializing the
 * callers on the bodies of the callees (constant returns, clobbered
 * registers, clones), which the patched editions would not honour.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "subsys_target.h"
#include "target_attrs.h"

#define MAX_WORKERS 16

static bool start_loop = true;
module_param_named(loop, start_loop, bool, 0444);
MODULE_PARM_DESC(loop, "Start the loop kthread running dynamos_sub_loop() (default: true)");

atomic64_t dynamos_sub_count_v0 = ATOMIC64_INIT(0);
EXPORT_SYMBOL_GPL(dynamos_sub_count_v0);

struct dynamos_sub_loop_state dynamos_sub_loop_state;
EXPORT_SYMBOL_GPL(dynamos_sub_loop_state);
struct dynamos_sub_loop_state dynamos_sub_loop2_state;
EXPORT_SYMBOL_GPL(dynamos_sub_loop2_state);

static atomic_t mixes = ATOMIC_INIT(0);
static atomic64_t calls_total = ATOMIC64_INIT(0);

static DECLARE_WAIT_QUEUE_HEAD(sleep_wq);
static atomic_t release_gen = ATOMIC_INIT(0);
static atomic_t sleepers = ATOMIC_INIT(0);

static int refuse;
static int quiet;

/* The loop kthread; loop_lock keeps the debugfs readers off a stopped one. */
static struct task_struct *loop_task;
static struct task_struct *loop2_task;
static DEFINE_MUTEX(loop_lock);

static struct task_struct *workers[MAX_WORKERS];
static int nr_workers;
static DEFINE_MUTEX(workers_lock);

static struct dentry *dir;

/* Members of the subsystem, generation 0. */

__dynamos_target int dynamos_sub_encode(struct dynamos_sub_token *t, u64 v)
{
	t->raw = v;
	return 0;
}
EXPORT_SYMBOL_GPL(dynamos_sub_encode);

/* Returns 1 if the token was encoded by another generation: a mix. */
__dynamos_target int dynamos_sub_check(struct dynamos_sub_token *t)
{
	atomic64_inc(&dynamos_sub_count_v0);
	return t->raw != t->value;
}
EXPORT_SYMBOL_GPL(dynamos_sub_check);

__dynamos_target int dynamos_sub_path(u64 v)
{
	struct dynamos_sub_token t = { .value = v };
	int bad;

	dynamos_sub_encode(&t, v);
	/* Widens the window between encoding and checking. */
	dynamos_sub_pause();
	/* Not a tail call (see the top of the file): bad is kept, then returned. */
	bad = dynamos_sub_check(&t);
	barrier();
	return bad;
}
EXPORT_SYMBOL_GPL(dynamos_sub_path);

__dynamos_target u64 dynamos_sub_count(void)
{
	return atomic64_read(&dynamos_sub_count_v0);
}
EXPORT_SYMBOL_GPL(dynamos_sub_count);

/* Returns 0: finished in generation 0 (the patched edition returns 1). */
__dynamos_target int dynamos_sub_sleep(void)
{
	dynamos_sub_wait();
	/* Not a tail call (see the top of the file): code follows it. */
	dynamos_sub_run(7);
	barrier();
	return 0;
}
EXPORT_SYMBOL_GPL(dynamos_sub_sleep);

/*
 * The loop kthread. kthread_should_stop() is called from here directly: it
 * is the loop's safe point, where an update may switch it to another edition.
 */
__dynamos_target int dynamos_sub_loop(void *data)
{
	struct dynamos_sub_loop_state *st = data;

	while (!kthread_should_stop()) {
		st->edition = 0;
		st->ticks++;
		/* Not a tail call: the sleep below follows it. */
		dynamos_sub_tick(st->ticks);
		schedule_timeout_interruptible(msecs_to_jiffies(10));
	}
	return 0;
}
EXPORT_SYMBOL_GPL(dynamos_sub_loop);

/* The exit test of the second loop: the safe point its patch declares. */
__dynamos_target bool dynamos_sub_should_exit(void)
{
	bool stop = kthread_should_stop();

	barrier();
	return stop;
}
EXPORT_SYMBOL_GPL(dynamos_sub_should_exit);

/*
 * The second loop kthread: it never calls kthread_should_stop() itself;
 * dynamos_sub_should_exit() is its safe point.
 */
__dynamos_target int dynamos_sub_loop2(void *data)
{
	struct dynamos_sub_loop_state *st = data;

	for (;;) {
		if (dynamos_sub_should_exit())
			break;
		st->edition = 0;
		st->ticks++;
		/* Not a tail call: the sleep below follows it. */
		dynamos_sub_tick(st->ticks);
		schedule_timeout_interruptible(msecs_to_jiffies(10));
	}
	return 0;
}
EXPORT_SYMBOL_GPL(dynamos_sub_loop2);

/* Helpers: not members, exported for the Rust patch. */

__dynamos_target int dynamos_sub_run(u64 v)
{
	int r;

	/* Not a tail call: the counting below follows it. */
	r = dynamos_sub_path(v);
	if (r)
		atomic_inc(&mixes);
	atomic64_inc(&calls_total);
	return r;
}
EXPORT_SYMBOL_GPL(dynamos_sub_run);

__dynamos_target void dynamos_sub_pause(void)
{
	usleep_range(20, 50);
	/* Keeps this frame on the stack while sleeping: no tail call. */
	barrier();
}
EXPORT_SYMBOL_GPL(dynamos_sub_pause);

/* Sleeps until the next write to debugfs "release" (or a signal). */
__dynamos_target void dynamos_sub_wait(void)
{
	int gen = atomic_read(&release_gen);

	atomic_inc(&sleepers);
	wait_event_interruptible(sleep_wq, atomic_read(&release_gen) != gen);
	atomic_dec(&sleepers);
}
EXPORT_SYMBOL_GPL(dynamos_sub_wait);

/* One path per tick of a loop, unless debugfs "quiet" is set. */
__dynamos_target int dynamos_sub_tick(u64 v)
{
	int r = 0;

	if (!READ_ONCE(quiet))
		r = dynamos_sub_run(v);
	barrier();
	return r;
}
EXPORT_SYMBOL_GPL(dynamos_sub_tick);

/* What a patch's pre-switch hook returns: 0 lets the update proceed. */
__dynamos_target int dynamos_sub_refusal(void)
{
	return READ_ONCE(refuse);
}
EXPORT_SYMBOL_GPL(dynamos_sub_refusal);

/* Not a member: the workers keep running paths across an update. */
static int worker_fn(void *data)
{
	u64 i = 0;

	while (!kthread_should_stop()) {
		dynamos_sub_run(i++);
		/* Sleeps a little: the VM (QEMU TCG, 2 vCPUs) stays responsive. */
		usleep_range(100, 200);
	}
	return 0;
}

/* Starts or stops workers until exactly n run; takes workers_lock. */
static int set_workers(int n)
{
	struct task_struct *k;
	int ret = 0;

	mutex_lock(&workers_lock);
	while (nr_workers < n) {
		k = kthread_run(worker_fn, NULL, "dynamos_subw%d", nr_workers);
		if (IS_ERR(k)) {
			ret = PTR_ERR(k);
			break;
		}
		get_task_struct(k);
		workers[nr_workers++] = k;
	}
	while (nr_workers > n) {
		k = workers[--nr_workers];
		workers[nr_workers] = NULL;
		kthread_stop(k);
		put_task_struct(k);
	}
	mutex_unlock(&workers_lock);
	return ret;
}

static ssize_t read_s64(char __user *ubuf, size_t count, loff_t *ppos, s64 v)
{
	char buf[32];
	int n = scnprintf(buf, sizeof(buf), "%lld\n", v);

	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t read_u64(char __user *ubuf, size_t count, loff_t *ppos, u64 v)
{
	char buf[32];
	int n = scnprintf(buf, sizeof(buf), "%llu\n", v);

	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t workers_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	int n;

	mutex_lock(&workers_lock);
	n = nr_workers;
	mutex_unlock(&workers_lock);
	return read_s64(ubuf, count, ppos, n);
}

static ssize_t workers_write(struct file *file, const char __user *ubuf, size_t count,
			     loff_t *ppos)
{
	int n, ret;

	if (kstrtoint_from_user(ubuf, count, 0, &n) || n < 0 || n > MAX_WORKERS)
		return -EINVAL;
	ret = set_workers(n);
	return ret ? ret : count;
}

static ssize_t mixes_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return read_s64(ubuf, count, ppos, atomic_read(&mixes));
}

static ssize_t calls_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return read_s64(ubuf, count, ppos, atomic64_read(&calls_total));
}

/* Through the call, not the atomic: the patched edition answers differently. */
static ssize_t count_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return read_u64(ubuf, count, ppos, dynamos_sub_count());
}

static ssize_t show_loop(char __user *ubuf, size_t count, loff_t *ppos,
			 struct task_struct **task, struct dynamos_sub_loop_state *st)
{
	char buf[80];
	pid_t pid;
	int n;

	mutex_lock(&loop_lock);
	pid = *task ? task_pid_nr(*task) : 0;
	mutex_unlock(&loop_lock);
	n = scnprintf(buf, sizeof(buf), "pid %d edition %d ticks %llu\n", pid,
		      READ_ONCE(st->edition), READ_ONCE(st->ticks));
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t loop_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return show_loop(ubuf, count, ppos, &loop_task, &dynamos_sub_loop_state);
}

static ssize_t loop2_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return show_loop(ubuf, count, ppos, &loop2_task, &dynamos_sub_loop2_state);
}

static ssize_t loop_comm_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char comm[TASK_COMM_LEN] = "";
	char buf[TASK_COMM_LEN + 2];
	int n;

	mutex_lock(&loop_lock);
	if (loop_task)
		get_task_comm(comm, loop_task);
	mutex_unlock(&loop_lock);
	n = scnprintf(buf, sizeof(buf), "%s\n", comm);
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t sleep_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	if (*ppos)
		return 0;
	return read_s64(ubuf, count, ppos, dynamos_sub_sleep());
}

static ssize_t release_write(struct file *file, const char __user *ubuf, size_t count,
			     loff_t *ppos)
{
	atomic_inc(&release_gen);
	wake_up_all(&sleep_wq);
	return count;
}

static ssize_t sleepers_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return read_s64(ubuf, count, ppos, atomic_read(&sleepers));
}

static ssize_t refuse_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return read_s64(ubuf, count, ppos, READ_ONCE(refuse));
}

static ssize_t refuse_write(struct file *file, const char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	int v;

	if (kstrtoint_from_user(ubuf, count, 0, &v))
		return -EINVAL;
	WRITE_ONCE(refuse, v);
	return count;
}

static ssize_t quiet_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	return read_s64(ubuf, count, ppos, READ_ONCE(quiet));
}

static ssize_t quiet_write(struct file *file, const char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	int v;

	if (kstrtoint_from_user(ubuf, count, 0, &v) || v < 0 || v > 1)
		return -EINVAL;
	WRITE_ONCE(quiet, v);
	return count;
}

static const struct file_operations workers_fops = {
	.owner = THIS_MODULE, .read = workers_read, .write = workers_write,
};
static const struct file_operations mixes_fops = {
	.owner = THIS_MODULE, .read = mixes_read,
};
static const struct file_operations calls_fops = {
	.owner = THIS_MODULE, .read = calls_read,
};
static const struct file_operations count_fops = {
	.owner = THIS_MODULE, .read = count_read,
};
static const struct file_operations loop_fops = {
	.owner = THIS_MODULE, .read = loop_read,
};
static const struct file_operations loop2_fops = {
	.owner = THIS_MODULE, .read = loop2_read,
};
static const struct file_operations loop_comm_fops = {
	.owner = THIS_MODULE, .read = loop_comm_read,
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
static const struct file_operations refuse_fops = {
	.owner = THIS_MODULE, .read = refuse_read, .write = refuse_write,
};
static const struct file_operations quiet_fops = {
	.owner = THIS_MODULE, .read = quiet_read, .write = quiet_write,
};

static void stop_loop(struct task_struct **task)
{
	struct task_struct *k;

	mutex_lock(&loop_lock);
	k = *task;
	*task = NULL;
	mutex_unlock(&loop_lock);
	if (k) {
		kthread_stop(k);
		put_task_struct(k);
	}
}

static void stop_loops(void)
{
	stop_loop(&loop2_task);
	stop_loop(&loop_task);
}

static int __init dynamos_subsys_init(void)
{
	struct task_struct *k;

	if (start_loop) {
		k = kthread_run(dynamos_sub_loop, &dynamos_sub_loop_state, "dynamos_subsys");
		if (IS_ERR(k))
			return PTR_ERR(k);
		get_task_struct(k);
		loop_task = k;
		k = kthread_run(dynamos_sub_loop2, &dynamos_sub_loop2_state, "dynamos_subsys2");
		if (IS_ERR(k)) {
			stop_loops();
			return PTR_ERR(k);
		}
		get_task_struct(k);
		loop2_task = k;
	}

	dir = debugfs_create_dir("dynamos_subsys", NULL);
	debugfs_create_file("workers", 0600, dir, NULL, &workers_fops);
	debugfs_create_file("mixes", 0400, dir, NULL, &mixes_fops);
	debugfs_create_file("calls", 0400, dir, NULL, &calls_fops);
	debugfs_create_file("count", 0400, dir, NULL, &count_fops);
	debugfs_create_file("loop", 0400, dir, NULL, &loop_fops);
	debugfs_create_file("loop_comm", 0400, dir, NULL, &loop_comm_fops);
	debugfs_create_file("loop2", 0400, dir, NULL, &loop2_fops);
	debugfs_create_file("sleep", 0400, dir, NULL, &sleep_fops);
	debugfs_create_file("release", 0200, dir, NULL, &release_fops);
	debugfs_create_file("sleepers", 0400, dir, NULL, &sleepers_fops);
	debugfs_create_file("refuse", 0600, dir, NULL, &refuse_fops);
	debugfs_create_file("quiet", 0600, dir, NULL, &quiet_fops);
	return 0;
}

static void __exit dynamos_subsys_exit(void)
{
	set_workers(0);
	stop_loops();
	debugfs_remove(dir);
}

module_init(dynamos_subsys_init);
module_exit(dynamos_subsys_exit);
MODULE_DESCRIPTION("dynamos selftest: a subsystem of functions updated as one");
MODULE_LICENSE("GPL");
