// SPDX-License-Identifier: GPL-2.0
/*
 * Targets for the dynamos selftests of updates that change data, not only
 * code: (1) an interface change, where a callee takes its arguments another
 * way and its callers must be switched with it (arguments of the new
 * interface carry DYNAMOS_IFACE_TAG, so that the old callee notices them);
 * (2) shadow data, where a patch attaches a counter to each account;
 * (3) lazy state conversion, where a patch converts each object of a table
 * the first time its edition of dynamos_obj_read() meets it, and reverts it
 * when it is removed. The functions are driven by worker kthreads, by a
 * sleeper and by the readers and writers of the debugfs files.
 *
 * Targets (the patches replace them):
 *   dynamos_iface_compute, dynamos_iface_caller_a, dynamos_iface_caller_b,
 *   dynamos_account_deposit, dynamos_account_extra,
 *   dynamos_obj_read, dynamos_obj_add
 * Helpers the patches call, never replaced:
 *   dynamos_data_note, dynamos_iface_wait, dynamos_account_at,
 *   dynamos_obj_at, dynamos_obj_count
 *
 *   /sys/kernel/debug/dynamos_data/
 *     notes          read: "crossings=%ld adapted=%ld new=%ld dtors=%ld
 *                    freed=%ld\n", the notes 0 to 4 counted by
 *                    dynamos_data_note(); write anything: resets every note
 *     iface_workers  write N (0..16): have exactly N worker kthreads
 *                    ("dynamos_ifwI") calling dynamos_iface_caller_a(x) and
 *                    dynamos_iface_caller_b(x, false) for x = 0..1023 over
 *                    and over, each call checked to return 2 * x + 1;
 *                    read: N
 *     iface_stats    read: "calls=%ld old=%ld wrong=%ld sleeping=%d\n":
 *                    calls made by the workers, calls that entered the
 *                    original dynamos_iface_compute(), wrong results, and
 *                    tasks sleeping in dynamos_iface_caller_b() now
 *     iface_sleep    read: calls dynamos_iface_caller_b(7, true) in the
 *                    reading task, which sleeps in dynamos_iface_wait()
 *                    until iface_wake is written, then returns "%u\n", what
 *                    it returned (15)
 *     iface_wake     write anything: wakes every sleeper
 *     acct_workers   write N (0..16): have exactly N worker kthreads
 *                    ("dynamos_acwI") depositing 1 in each account in turn
 *                    with dynamos_account_deposit(); read: N
 *     acct_stats     read: "deposits=%ld balance=%llu extra=%llu\n":
 *                    deposits made by the workers, the sum of the balances,
 *                    and the sum of dynamos_account_extra() over the
 *                    accounts (0 here; a patch's edition counts)
 *     obj_touch      write "FIRST COUNT": calls dynamos_obj_read() on the
 *                    objects FIRST to FIRST + COUNT - 1 (-EINVAL if out of
 *                    range)
 *     obj_add        write "IDX D": calls dynamos_obj_add() on object IDX
 *                    with D (-EINVAL if out of range)
 *     obj_sum        read: "%llu\n", the sum of dynamos_obj_read() over all
 *                    the objects
 *     obj_stats      read: "objs=%u raw_sum=%llu converted0=%u
 *                    converted1=%u convertedN=%u reverted0=%u reverted1=%u
 *                    revertedN=%u wrong=%ld\n": the number of objects, the
 *                    sum of their value fields read directly, how many have
 *                    their converted field 0, 1 or more than 1 (the same for
 *                    reverted), and the wrong results the obj workers saw
 *     obj_workers    write N (0..16): have exactly N worker kthreads
 *                    ("dynamos_obwI") calling dynamos_obj_read() on objects
 *                    at random, each call checked to return less than 1000;
 *                    read: N
 *
 * The module parameter nr_objs (default 100000) sets the number of objects;
 * object i starts with value i % 1000.
 *
 * The updater finds callers by the return addresses on the stacks, so a call
 * of a target from another target must never be a tail call: each such call
 * is followed by code that uses its result, or by barrier().
 * __dynamos_target (target_attrs.h) keeps the compiler from specializing the
 * callers on the bodies of the callees (constant returns, clobbered
 * registers, clones), which the patched editions would not honour.
 */
#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#include "data_target.h"
#include "target_attrs.h"

#define MAX_WORKERS	16
/* The workers' x runs over 0..IFACE_RANGE - 1. */
#define IFACE_RANGE	1024
/* Object values stay below this. */
#define OBJ_RANGE	1000
#define MAX_OBJS	10000000
/* The workers sleep a little every this many calls. */
#define PAUSE_EVERY	64

/* The Rust patch mirrors struct dynamos_obj: keep its layout. */
static_assert(sizeof(struct dynamos_obj) == 16);

static unsigned int nr_objs = 100000;
module_param(nr_objs, uint, 0444);
MODULE_PARM_DESC(nr_objs, "Number of objects in the table (default: 100000)");

static atomic_long_t notes[DYNAMOS_NR_NOTES];

/* (1) Interface change. */
static atomic_long_t iface_calls = ATOMIC_LONG_INIT(0);
static atomic_long_t iface_old = ATOMIC_LONG_INIT(0);
static atomic_long_t iface_wrong = ATOMIC_LONG_INIT(0);
static atomic_t iface_sleeping = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(iface_wq);
static atomic_t wake_gen = ATOMIC_INIT(0);

/* (2) Shadow data. */
static struct dynamos_account dynamos_accounts[DYNAMOS_NR_ACCOUNTS];
static atomic_long_t acct_deposits = ATOMIC_LONG_INIT(0);

/* (3) Lazy state conversion. */
static struct dynamos_obj *objs;
static u32 obj_count;
static atomic_long_t obj_wrong = ATOMIC_LONG_INIT(0);

/* A set of worker kthreads, all running fn. */
struct worker_set {
	int (*fn)(void *data);
	const char *prefix;	/* of the names, followed by the number */
	struct task_struct *tasks[MAX_WORKERS];
	int nr;
	struct mutex lock;
};

static struct dentry *dir;

/* Helpers: not targets, exported for the Rust patches. */

/* Counts one event of kind what (DYNAMOS_NOTE_*); others are ignored. */
__dynamos_target void dynamos_data_note(int what)
{
	if ((unsigned int)what >= DYNAMOS_NR_NOTES)
		return;
	atomic_long_inc(&notes[what]);
}
EXPORT_SYMBOL_GPL(dynamos_data_note);

/* Sleeps until the next write to debugfs "iface_wake" (or a fatal signal). */
__dynamos_target void dynamos_iface_wait(void)
{
	int gen = atomic_read(&wake_gen);

	wait_event_killable(iface_wq, atomic_read(&wake_gen) != gen);
	barrier();
}
EXPORT_SYMBOL_GPL(dynamos_iface_wait);

__dynamos_target struct dynamos_account *dynamos_account_at(unsigned int i)
{
	if (i >= DYNAMOS_NR_ACCOUNTS)
		return NULL;
	return &dynamos_accounts[i];
}
EXPORT_SYMBOL_GPL(dynamos_account_at);

__dynamos_target struct dynamos_obj *dynamos_obj_at(u32 i)
{
	if (i >= obj_count)
		return NULL;
	return &objs[i];
}
EXPORT_SYMBOL_GPL(dynamos_obj_at);

__dynamos_target u32 dynamos_obj_count(void)
{
	return obj_count;
}
EXPORT_SYMBOL_GPL(dynamos_obj_count);

/* (1) Targets of the interface change: the old interface takes a plain x. */

__dynamos_target u32 dynamos_iface_compute(u32 x)
{
	/* Arguments of the new interface reached the old callee. */
	if (x & DYNAMOS_IFACE_TAG)
		dynamos_data_note(DYNAMOS_NOTE_CROSSING);
	atomic_long_inc(&iface_old);
	return (x & 0xffff) * 2;
}
EXPORT_SYMBOL_GPL(dynamos_iface_compute);

__dynamos_target u32 dynamos_iface_caller_a(u32 x)
{
	u32 r;

	/* Not a tail call (see the top of the file): r is used below. */
	r = dynamos_iface_compute(x);
	barrier();
	return r + 1;
}
EXPORT_SYMBOL_GPL(dynamos_iface_caller_a);

__dynamos_target u32 dynamos_iface_caller_b(u32 x, bool sleep)
{
	u32 r;

	if (sleep) {
		atomic_inc(&iface_sleeping);
		dynamos_iface_wait();
		atomic_dec(&iface_sleeping);
	}
	/* Not a tail call (see the top of the file): r is used below. */
	r = dynamos_iface_compute(x);
	barrier();
	return r + 1;
}
EXPORT_SYMBOL_GPL(dynamos_iface_caller_b);

/* (2) Targets of the shadow data. */

__dynamos_target void dynamos_account_deposit(struct dynamos_account *a, u32 amount)
{
	spin_lock(&a->lock);
	a->balance += amount;
	spin_unlock(&a->lock);
}
EXPORT_SYMBOL_GPL(dynamos_account_deposit);

/* 0 here: a patch's edition returns the account's shadow counter. */
__dynamos_target u64 dynamos_account_extra(struct dynamos_account *a)
{
	return 0;
}
EXPORT_SYMBOL_GPL(dynamos_account_extra);

/* (3) Targets of the lazy state conversion. */

__dynamos_target u32 dynamos_obj_read(struct dynamos_obj *o)
{
	return READ_ONCE(o->value);
}
EXPORT_SYMBOL_GPL(dynamos_obj_read);

/* Only used by one task at a time. */
__dynamos_target void dynamos_obj_add(struct dynamos_obj *o, u32 d)
{
	WRITE_ONCE(o->value, READ_ONCE(o->value) + d);
}
EXPORT_SYMBOL_GPL(dynamos_obj_add);

/*
 * The workers: not targets, they keep calling the targets across an update.
 * Each sleeps a little every PAUSE_EVERY calls, so that the VM (QEMU TCG,
 * 2 vCPUs) stays responsive.
 */

static int iface_worker_fn(void *data)
{
	unsigned long calls = 0;
	u32 x = 0;

	while (!kthread_should_stop()) {
		if (dynamos_iface_caller_a(x) != 2 * x + 1)
			atomic_long_inc(&iface_wrong);
		atomic_long_inc(&iface_calls);
		if (dynamos_iface_caller_b(x, false) != 2 * x + 1)
			atomic_long_inc(&iface_wrong);
		atomic_long_inc(&iface_calls);
		x = (x + 1) % IFACE_RANGE;
		calls += 2;
		cond_resched();
		if (calls % PAUSE_EVERY == 0)
			usleep_range(50, 100);
	}
	return 0;
}

static int acct_worker_fn(void *data)
{
	unsigned long calls = 0;
	unsigned int i = 0;

	while (!kthread_should_stop()) {
		dynamos_account_deposit(dynamos_account_at(i), 1);
		atomic_long_inc(&acct_deposits);
		i = (i + 1) % DYNAMOS_NR_ACCOUNTS;
		calls++;
		cond_resched();
		if (calls % PAUSE_EVERY == 0)
			usleep_range(50, 100);
	}
	return 0;
}

/* data: the worker's number, which seeds its xorshift. */
static int obj_worker_fn(void *data)
{
	u32 s = 0x9e3779b9u * ((u32)(unsigned long)data + 1);
	unsigned long calls = 0;

	if (!s)
		s = 1;
	while (!kthread_should_stop()) {
		s ^= s << 13;
		s ^= s >> 17;
		s ^= s << 5;
		if (dynamos_obj_read(dynamos_obj_at(s % obj_count)) >= OBJ_RANGE)
			atomic_long_inc(&obj_wrong);
		calls++;
		cond_resched();
		if (calls % PAUSE_EVERY == 0)
			usleep_range(50, 100);
	}
	return 0;
}

static struct worker_set iface_workers = {
	.fn = iface_worker_fn,
	.prefix = "dynamos_ifw",
	.lock = __MUTEX_INITIALIZER(iface_workers.lock),
};
static struct worker_set acct_workers = {
	.fn = acct_worker_fn,
	.prefix = "dynamos_acw",
	.lock = __MUTEX_INITIALIZER(acct_workers.lock),
};
static struct worker_set obj_workers = {
	.fn = obj_worker_fn,
	.prefix = "dynamos_obw",
	.lock = __MUTEX_INITIALIZER(obj_workers.lock),
};

/* Starts or stops workers of ws until exactly n run; takes ws->lock. */
static int set_workers(struct worker_set *ws, int n)
{
	struct task_struct *k;
	int ret = 0;

	mutex_lock(&ws->lock);
	while (ws->nr < n) {
		k = kthread_run(ws->fn, (void *)(unsigned long)ws->nr, "%s%d", ws->prefix,
				ws->nr);
		if (IS_ERR(k)) {
			ret = PTR_ERR(k);
			break;
		}
		get_task_struct(k);
		ws->tasks[ws->nr++] = k;
	}
	while (ws->nr > n) {
		k = ws->tasks[--ws->nr];
		ws->tasks[ws->nr] = NULL;
		kthread_stop(k);
		put_task_struct(k);
	}
	mutex_unlock(&ws->lock);
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

/* Reads "A B" (two u32) written by the user. */
static int parse_two_u32(const char __user *ubuf, size_t count, u32 *a, u32 *b)
{
	char buf[48];

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (sscanf(buf, "%u %u", a, b) != 2)
		return -EINVAL;
	return 0;
}

/* The *_workers files: private_data is their struct worker_set. */
static ssize_t workers_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct worker_set *ws = file->private_data;
	int n;

	mutex_lock(&ws->lock);
	n = ws->nr;
	mutex_unlock(&ws->lock);
	return read_s64(ubuf, count, ppos, n);
}

static ssize_t workers_write(struct file *file, const char __user *ubuf, size_t count,
			     loff_t *ppos)
{
	struct worker_set *ws = file->private_data;
	int n, ret;

	if (kstrtoint_from_user(ubuf, count, 0, &n) || n < 0 || n > MAX_WORKERS)
		return -EINVAL;
	ret = set_workers(ws, n);
	return ret ? ret : count;
}

static ssize_t notes_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	char buf[160];
	int n;

	n = scnprintf(buf, sizeof(buf), "crossings=%ld adapted=%ld new=%ld dtors=%ld freed=%ld\n",
		      atomic_long_read(&notes[DYNAMOS_NOTE_CROSSING]),
		      atomic_long_read(&notes[DYNAMOS_NOTE_ADAPTED]),
		      atomic_long_read(&notes[DYNAMOS_NOTE_NEW]),
		      atomic_long_read(&notes[DYNAMOS_NOTE_DTOR]),
		      atomic_long_read(&notes[DYNAMOS_NOTE_FREED]));
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t notes_write(struct file *file, const char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	int i;

	for (i = 0; i < DYNAMOS_NR_NOTES; i++)
		atomic_long_set(&notes[i], 0);
	return count;
}

static ssize_t iface_stats_read(struct file *file, char __user *ubuf, size_t count,
				loff_t *ppos)
{
	char buf[128];
	int n;

	n = scnprintf(buf, sizeof(buf), "calls=%ld old=%ld wrong=%ld sleeping=%d\n",
		      atomic_long_read(&iface_calls), atomic_long_read(&iface_old),
		      atomic_long_read(&iface_wrong), atomic_read(&iface_sleeping));
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

/* Sleeps in the reading task, in dynamos_iface_caller_b()'s edition. */
static ssize_t iface_sleep_read(struct file *file, char __user *ubuf, size_t count,
				loff_t *ppos)
{
	if (*ppos)
		return 0;
	return read_u64(ubuf, count, ppos, dynamos_iface_caller_b(7, true));
}

static ssize_t iface_wake_write(struct file *file, const char __user *ubuf, size_t count,
				loff_t *ppos)
{
	atomic_inc(&wake_gen);
	wake_up_all(&iface_wq);
	return count;
}

/* extra through the call, not the field: a patch's edition answers. */
static ssize_t acct_stats_read(struct file *file, char __user *ubuf, size_t count,
			       loff_t *ppos)
{
	struct dynamos_account *a;
	u64 balance = 0, extra = 0;
	char buf[128];
	unsigned int i;
	int n;

	for (i = 0; i < DYNAMOS_NR_ACCOUNTS; i++) {
		a = dynamos_account_at(i);
		spin_lock(&a->lock);
		balance += a->balance;
		spin_unlock(&a->lock);
		extra += dynamos_account_extra(a);
	}
	n = scnprintf(buf, sizeof(buf), "deposits=%ld balance=%llu extra=%llu\n",
		      atomic_long_read(&acct_deposits), balance, extra);
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static ssize_t obj_touch_write(struct file *file, const char __user *ubuf, size_t count,
			       loff_t *ppos)
{
	u32 first, nr, i;
	int ret;

	ret = parse_two_u32(ubuf, count, &first, &nr);
	if (ret)
		return ret;
	if ((u64)first + nr > obj_count)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		dynamos_obj_read(dynamos_obj_at(first + i));
		barrier();
		if (i % 1024 == 1023)
			cond_resched();
	}
	return count;
}

static ssize_t obj_add_write(struct file *file, const char __user *ubuf, size_t count,
			     loff_t *ppos)
{
	struct dynamos_obj *o;
	u32 idx, d;
	int ret;

	ret = parse_two_u32(ubuf, count, &idx, &d);
	if (ret)
		return ret;
	o = dynamos_obj_at(idx);
	if (!o)
		return -EINVAL;
	dynamos_obj_add(o, d);
	return count;
}

/* Through the call, not the field: a patch's edition answers. */
static ssize_t obj_sum_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	u64 sum = 0;
	u32 i;

	if (*ppos)
		return 0;
	for (i = 0; i < obj_count; i++) {
		sum += dynamos_obj_read(dynamos_obj_at(i));
		if (i % 1024 == 1023)
			cond_resched();
	}
	return read_u64(ubuf, count, ppos, sum);
}

static ssize_t obj_stats_read(struct file *file, char __user *ubuf, size_t count,
			      loff_t *ppos)
{
	u32 conv[3] = { 0 }, rev[3] = { 0 };
	struct dynamos_obj *o;
	u64 raw_sum = 0;
	char buf[256];
	u32 i, c, r;
	int n;

	if (*ppos)
		return 0;
	for (i = 0; i < obj_count; i++) {
		o = &objs[i];
		raw_sum += READ_ONCE(o->value);
		c = READ_ONCE(o->converted);
		r = READ_ONCE(o->reverted);
		conv[min(c, 2u)]++;
		rev[min(r, 2u)]++;
		if (i % 1024 == 1023)
			cond_resched();
	}
	n = scnprintf(buf, sizeof(buf),
		      "objs=%u raw_sum=%llu converted0=%u converted1=%u convertedN=%u reverted0=%u reverted1=%u revertedN=%u wrong=%ld\n",
		      obj_count, raw_sum, conv[0], conv[1], conv[2], rev[0], rev[1], rev[2],
		      atomic_long_read(&obj_wrong));
	return simple_read_from_buffer(ubuf, count, ppos, buf, n);
}

static const struct file_operations workers_fops = {
	.owner = THIS_MODULE, .open = simple_open, .read = workers_read,
	.write = workers_write,
};
static const struct file_operations notes_fops = {
	.owner = THIS_MODULE, .read = notes_read, .write = notes_write,
};
static const struct file_operations iface_stats_fops = {
	.owner = THIS_MODULE, .read = iface_stats_read,
};
static const struct file_operations iface_sleep_fops = {
	.owner = THIS_MODULE, .read = iface_sleep_read,
};
static const struct file_operations iface_wake_fops = {
	.owner = THIS_MODULE, .write = iface_wake_write,
};
static const struct file_operations acct_stats_fops = {
	.owner = THIS_MODULE, .read = acct_stats_read,
};
static const struct file_operations obj_touch_fops = {
	.owner = THIS_MODULE, .write = obj_touch_write,
};
static const struct file_operations obj_add_fops = {
	.owner = THIS_MODULE, .write = obj_add_write,
};
static const struct file_operations obj_sum_fops = {
	.owner = THIS_MODULE, .read = obj_sum_read,
};
static const struct file_operations obj_stats_fops = {
	.owner = THIS_MODULE, .read = obj_stats_read,
};

static void stop_all_workers(void)
{
	set_workers(&iface_workers, 0);
	set_workers(&acct_workers, 0);
	set_workers(&obj_workers, 0);
}

static int __init dynamos_data_init(void)
{
	unsigned int i;

	if (!nr_objs || nr_objs > MAX_OBJS)
		return -EINVAL;
	objs = vzalloc(array_size(nr_objs, sizeof(*objs)));
	if (!objs)
		return -ENOMEM;
	for (i = 0; i < nr_objs; i++)
		objs[i].value = i % OBJ_RANGE;
	obj_count = nr_objs;

	for (i = 0; i < DYNAMOS_NR_ACCOUNTS; i++) {
		spin_lock_init(&dynamos_accounts[i].lock);
		dynamos_accounts[i].balance = 0;
	}

	dir = debugfs_create_dir("dynamos_data", NULL);
	debugfs_create_file("notes", 0600, dir, NULL, &notes_fops);
	debugfs_create_file("iface_workers", 0600, dir, &iface_workers, &workers_fops);
	debugfs_create_file("iface_stats", 0400, dir, NULL, &iface_stats_fops);
	debugfs_create_file("iface_sleep", 0400, dir, NULL, &iface_sleep_fops);
	debugfs_create_file("iface_wake", 0200, dir, NULL, &iface_wake_fops);
	debugfs_create_file("acct_workers", 0600, dir, &acct_workers, &workers_fops);
	debugfs_create_file("acct_stats", 0400, dir, NULL, &acct_stats_fops);
	debugfs_create_file("obj_touch", 0200, dir, NULL, &obj_touch_fops);
	debugfs_create_file("obj_add", 0200, dir, NULL, &obj_add_fops);
	debugfs_create_file("obj_sum", 0400, dir, NULL, &obj_sum_fops);
	debugfs_create_file("obj_stats", 0400, dir, NULL, &obj_stats_fops);
	debugfs_create_file("obj_workers", 0600, dir, &obj_workers, &workers_fops);
	return 0;
}

static void __exit dynamos_data_exit(void)
{
	/* No file operation runs now: each holds a reference on the module. */
	debugfs_remove(dir);
	stop_all_workers();
	atomic_inc(&wake_gen);
	wake_up_all(&iface_wq);
	vfree(objs);
}

module_init(dynamos_data_init);
module_exit(dynamos_data_exit);
MODULE_DESCRIPTION("dynamos selftest: targets of interface, shadow data and state updates");
MODULE_LICENSE("GPL");
