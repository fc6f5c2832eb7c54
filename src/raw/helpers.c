// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for fields that Rust must not read through bindgen's layouts.
 *
 * With this GCC-built kernel, bindgen (clang) lays out struct task_struct
 * differently from the compiler: the offset of ->tasks differs by 0x350
 * bytes, so field accesses through `bindings::task_struct` read the wrong
 * memory. dynamos therefore reads task and module fields here, in C, and
 * hands Rust plain values. See src/raw/tasks.rs and src/raw/modules.rs.
 */
#include <linux/ftrace.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/pgtable.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "helpers.h"

/* The record of thread t that Rust reads (struct dynamos_thread). */
static void dynamos_fill_thread(struct dynamos_thread *th, struct task_struct *t)
{
	th->task = t;
	th->pid = t->pid;
	th->tgid = t->tgid;
	th->on_cpu = READ_ONCE(t->on_cpu);
	strscpy(th->comm, t->comm, sizeof(th->comm));
}

/* Calls fn on every thread, under rcu_read_lock(): fn must not sleep. */
void dynamos_for_each_thread(dynamos_thread_fn fn, void *ctx)
{
	struct task_struct *g, *t;
	struct dynamos_thread th;

	rcu_read_lock();
	for_each_process_thread(g, t) {
		dynamos_fill_thread(&th, t);
		fn(ctx, &th);
	}
	rcu_read_unlock();
}

/*
 * A counted reference on the struct pid of the process whose id is nr (in
 * the caller's pid namespace); NULL if no process has that id.
 */
struct pid *dynamos_process_get(pid_t nr)
{
	struct pid *pid = find_get_pid(nr);

	if (pid && !pid_has_task(pid, PIDTYPE_TGID)) {
		put_pid(pid);
		return NULL;
	}
	return pid;
}

/* Whether the process of this struct pid still exists. */
bool dynamos_process_alive(struct pid *pid)
{
	return pid_has_task(pid, PIDTYPE_TGID);
}

/* Another reference on pid. */
void dynamos_pid_get(struct pid *pid)
{
	get_pid(pid);
}

/* The struct pid of the calling thread's process, as an identity. */
unsigned long dynamos_current_process(void)
{
	return (unsigned long)task_tgid(current);
}

void dynamos_module_text(struct module *mod, unsigned long *base, unsigned long *size)
{
	*base = (unsigned long)mod->mem[MOD_TEXT].base;
	*size = mod->mem[MOD_TEXT].size;
}

const char *dynamos_module_name(struct module *mod)
{
	return mod->name;
}

long dynamos_safepoint_rs(unsigned int slot, unsigned long ret, const long *args);

/*
 * Where a kernel thread's call of its safe point (kthread_should_stop(), or
 * a function its patch declared) goes when the thread must move to another
 * edition of its main function (see src/mech/safepoint.rs); one per hooked safe
 * point. They take the six argument registers, to call the real function
 * with, and return its bool in a full register; the return address is that
 * of the call in the thread's loop, which tells which edition runs.
 */
#define DYNAMOS_SAFEPOINT(n)							\
long dynamos_safepoint##n(long a0, long a1, long a2, long a3, long a4, long a5)	\
{										\
	long args[6] = { a0, a1, a2, a3, a4, a5 };				\
										\
	return dynamos_safepoint_rs(n, (unsigned long)__builtin_return_address(0), args); \
}

DYNAMOS_SAFEPOINT(0)
DYNAMOS_SAFEPOINT(1)
DYNAMOS_SAFEPOINT(2)
DYNAMOS_SAFEPOINT(3)

/* Calls a safe point function (a bool function of up to six arguments). */
bool dynamos_call_safepoint(unsigned long fn, const long *args)
{
	bool (*f)(long, long, long, long, long, long) = (void *)fn;

	return f(args[0], args[1], args[2], args[3], args[4], args[5]);
}

/*
 * Runs another edition of a kernel thread's main function on top of the
 * original's frame. Stack checks treat frames below this one as dormant:
 * never a tail call, so that its return address stays on the stack.
 */
noinline int dynamos_call_loop(int (*fn)(void *data), void *data)
{
	int ret = fn(data);

	barrier();
	return ret;
}

/*
 * ftrace's recursion guard, for hooks registered without
 * FTRACE_OPS_FL_RECURSION (whose generic wrapper costs about 50
 * instructions a call): the lock also disables preemption, as livepatch's
 * handler relies on.
 */
notrace int dynamos_recursion_trylock(unsigned long ip, unsigned long parent_ip)
{
	return ftrace_test_recursion_trylock(ip, parent_ip);
}

notrace void dynamos_recursion_unlock(int bit)
{
	ftrace_test_recursion_unlock(bit);
}

void *dynamos_kthread_data(void)
{
	return kthread_data(current);
}

/* cond_resched() is a macro over a config-dependent function. */
void dynamos_cond_resched(void)
{
	cond_resched();
}

/*
 * The live module called modname, other than dynamos, or NULL; the caller
 * holds rcu_read_lock(). find_module() is not exported: the module list is
 * walked from this module's own node, skipping the list head, which is not
 * in module memory.
 */
static struct module *find_live_module(const char *modname)
{
	struct module *mod;

	list_for_each_entry_rcu(mod, &THIS_MODULE->list, list) {
		unsigned long a = (unsigned long)mod;

		if (a < MODULES_VADDR || a >= MODULES_END)
			continue;
		if (mod->state != MODULE_STATE_UNFORMED && !strcmp(mod->name, modname))
			return mod;
	}
	return NULL;
}

/*
 * Calls fn on each defined (undef false) or undefined (undef true) symbol of
 * the loaded module modname, in the order /proc/kallsyms lists them, under
 * rcu_read_lock(): fn must not sleep. Returns -ENOENT if no such module is
 * loaded (module_kallsyms_on_each_symbol() is not exported).
 */
static int each_module_symbol(const char *modname, bool undef, dynamos_sym_fn fn, void *ctx)
{
	struct module *mod;
	int ret = -ENOENT;

	rcu_read_lock();
	mod = find_live_module(modname);
	if (mod) {
		struct mod_kallsyms *ks = rcu_dereference(mod->kallsyms);
		unsigned int i;

		for (i = 0; i < ks->num_symtab; i++) {
			const Elf_Sym *sym = &ks->symtab[i];

			if ((sym->st_shndx == SHN_UNDEF) != undef)
				continue;
			fn(ctx, ks->strtab + sym->st_name, sym->st_value, ks->typetab[i]);
		}
		ret = 0;
	}
	rcu_read_unlock();
	return ret;
}

/* Calls fn on each defined symbol of the module: see each_module_symbol(). */
int dynamos_module_symbols(const char *modname, dynamos_sym_fn fn, void *ctx)
{
	return each_module_symbol(modname, false, fn, ctx);
}

/*
 * Takes a reference on the live module called modname, as
 * try_module_get() does; NULL if there is none or it is going.
 */
struct module *dynamos_module_get(const char *modname)
{
	struct module *mod;

	rcu_read_lock();
	mod = find_live_module(modname);
	if (mod && !try_module_get(mod))
		mod = NULL;
	rcu_read_unlock();
	return mod;
}

static void count_klp_symbol(void *ctx, const char *name, unsigned long addr, char type)
{
	if (!strncmp(name, ".klp.sym.", 9))
		(*(int *)ctx)++;
}

/*
 * How many livepatch symbols (".klp.sym.*") of the module called modname
 * were left undefined: references that tools/ksymconv did not convert,
 * which the loader resolved to 0. -ENOENT if no such module is live.
 */
int dynamos_module_unconverted(const char *modname)
{
	int n = 0;
	int ret = each_module_symbol(modname, true, count_klp_symbol, &n);

	return ret ? ret : n;
}

/*
 * The address the module loader gave vmlinux's
 * kallsyms_on_each_match_symbol() for dynamos' own reference (a livepatch
 * relocation, see src/raw/ksyms.rs): 0 if the build did not convert the
 * references, which are weak until then.
 */
/*
 * The symbol name of a livepatch reference to vmlinux's NAME at position 0.
 * GCC writes an asm label into its assembly as it is, and gas needs the
 * comma quoted; clang's integrated assembler takes the label as the name
 * itself, quotes included, so it gets it bare.
 */
#ifdef __clang__
#define KLP_VMLINUX(name) __asm__(".klp.sym.vmlinux." name ",0")
#else
#define KLP_VMLINUX(name) __asm__("\".klp.sym.vmlinux." name ",0\"")
#endif

extern char dynamos_ksym_probe[] KLP_VMLINUX("kallsyms_on_each_match_symbol") __attribute__((weak));

int dynamos_task_call_func(struct task_struct *p, task_call_f func, void *arg)
	KLP_VMLINUX("task_call_func") __attribute__((weak));
int dynamos_save_tsk_reliable(struct task_struct *tsk, unsigned long *store, unsigned int size)
	KLP_VMLINUX("stack_trace_save_tsk_reliable") __attribute__((weak));
struct task_struct *dynamos_idle_task(int cpu) KLP_VMLINUX("idle_task") __attribute__((weak));
extern struct tracepoint dynamos_tp_newtask KLP_VMLINUX("__tracepoint_task_newtask")
	__attribute__((weak));

/* Nonzero when every reference of dynamos to a non-exported symbol was resolved. */
unsigned long dynamos_ksyms_resolved(void)
{
	return (unsigned long)dynamos_ksym_probe && dynamos_task_call_func &&
	       dynamos_save_tsk_reliable && dynamos_idle_task && &dynamos_tp_newtask;
}

/*
 * Reliable stack traces of a pinned task, as kernel/livepatch/transition.c
 * takes them: task_call_func() holds the task still (not running, its
 * runqueue locked) while stack_trace_save_tsk_reliable() reads its stack.
 * Neither is exported; both are reached through livepatch relocations
 * (declared above; Documentation/design.rst chapter 12).
 */
struct dynamos_trace {
	unsigned long *store;
	unsigned int size;
	int nr;
};

static int dynamos_save_pinned(struct task_struct *task, void *arg)
{
	struct dynamos_trace *t = arg;

	/* Running on another CPU: its stack is moving. */
	if (READ_ONCE(task->on_cpu) && task != current)
		return -EBUSY;
	t->nr = dynamos_save_tsk_reliable(task, t->store, t->size);
	return t->nr < 0 ? t->nr : 0;
}

/*
 * Fills store with the return addresses on task's stack, innermost first;
 * returns how many, or a negative errno when the trace cannot be trusted:
 * -EBUSY (the task runs), -EINVAL and the like (the unwinder found the
 * stack unreliable), -E2BIG (deeper than size). Callers treat every error
 * as "may be anywhere". Any context but NMI; does not sleep.
 */
int dynamos_task_stack(struct task_struct *task, unsigned long *store, unsigned int size)
{
	struct dynamos_trace t = { .store = store, .size = size, .nr = 0 };
	int ret;

	if (!dynamos_task_call_func || !dynamos_save_tsk_reliable)
		return -ENOSYS;
	ret = dynamos_task_call_func(task, dynamos_save_pinned, &t);
	if (ret)
		return ret;
	if (t.nr >= size)
		return -E2BIG;
	return t.nr;
}

/*
 * Per-task consistency (src/raw/tasks.rs, src/mech/switch.rs): a task's
 * switch is decided on a trace taken while the task cannot run, and made
 * before it runs again, as klp_check_and_switch_task() does it.
 */

static bool consistency = true;
module_param(consistency, bool, 0444);
MODULE_PARM_DESC(consistency,
		 "Debug knob for tests: 0 switches a plain patch's sites one by one, with no per-task consistency (default 1)");

/* Whether plain patches' transitions are consistent per task. */
bool dynamos_consistency(void)
{
	return consistency;
}

/*
 * Calls fn on the idle task of every online CPU, under rcu_read_lock(): fn
 * must not sleep. An offline CPU's idle task runs nothing (and is never
 * switched out: it could not be checked); a CPU that comes online starts
 * it anew.
 */
void dynamos_for_each_idle_task(dynamos_thread_fn fn, void *ctx)
{
	struct dynamos_thread th;
	int cpu;

	rcu_read_lock();
	for_each_online_cpu(cpu) {
		struct task_struct *t = dynamos_idle_task(cpu);

		if (!t)
			continue;
		dynamos_fill_thread(&th, t);
		fn(ctx, &th);
	}
	rcu_read_unlock();
}

struct dynamos_pinned {
	unsigned long *store;
	unsigned int size;
	dynamos_stack_fn fn;
	void *ctx;
	bool ret;
};

/* The task's reliable trace (a negative errno if untrusted), then fn on it. */
static void dynamos_trace_then(struct task_struct *task, struct dynamos_pinned *p)
{
	int nr = dynamos_save_tsk_reliable(task, p->store, p->size);

	if (nr >= (int)p->size)
		nr = -E2BIG;
	p->ret = p->fn(p->ctx, p->store, nr);
}

static int dynamos_run_pinned(struct task_struct *task, void *arg)
{
	/* Running on another CPU: its stack is moving. */
	if (READ_ONCE(task->on_cpu) && task != current)
		return -EBUSY;
	dynamos_trace_then(task, arg);
	return 0;
}

/*
 * Calls fn(ctx, trace, nr) with task pinned (task_call_func(): it does not
 * run until fn returns) on its reliable trace, innermost first (nr < 0:
 * the unwinder could not vouch for it, or it is deeper than size).
 * Returns 1 or 0, what fn returned, or -EBUSY if the task runs on another
 * CPU (fn is not called). fn runs with the task's runqueue locked and
 * interrupts off: it must not sleep nor take a lock that is held around
 * scheduler calls. Process context.
 */
int dynamos_task_pinned(struct task_struct *task, unsigned long *store, unsigned int size,
			dynamos_stack_fn fn, void *ctx)
{
	struct dynamos_pinned p = { .store = store, .size = size, .fn = fn, .ctx = ctx };
	int ret = dynamos_task_call_func(task, dynamos_run_pinned, &p);

	return ret ? ret : p.ret;
}

struct dynamos_on_cpu {
	struct task_struct *task;
	struct dynamos_pinned p;
	int ret;
};

static void dynamos_check_current(void *arg)
{
	struct dynamos_on_cpu *c = arg;

	/* Another task runs there now: ask again later. */
	if (current != c->task)
		return;
	dynamos_trace_then(current, &c->p);
	c->ret = c->p.ret;
}

/*
 * For a task that runs: calls fn, as dynamos_task_pinned() does, in an
 * interrupt on the task's CPU if the task is the one running there (it
 * cannot run on until fn returns); the trace goes through the interrupt
 * frame into what the task was doing (nothing in the kernel if it was in
 * user space). Returns 1 or 0 as fn did, or -EAGAIN if the task was not
 * running there. Process context, interrupts on.
 */
int dynamos_task_on_cpu(struct task_struct *task, unsigned long *store, unsigned int size,
			dynamos_stack_fn fn, void *ctx)
{
	struct dynamos_on_cpu c = {
		.task = task,
		.p = { .store = store, .size = size, .fn = fn, .ctx = ctx },
		.ret = -EAGAIN,
	};
	int cpu = task_cpu(task);

	if (smp_call_function_single(cpu, dynamos_check_current, &c, 1))
		return -EAGAIN;
	return c.ret;
}

/* The task_newtask tracepoint: a new task, before it first runs. */
static void dynamos_newtask_probe(void *data, struct task_struct *task, u64 clone_flags)
{
	((dynamos_newtask_fn)data)(task);
}

/* Calls fn on every new task, in its parent, before the task first runs. */
int dynamos_newtask_hook(dynamos_newtask_fn fn)
{
	return tracepoint_probe_register(&dynamos_tp_newtask, dynamos_newtask_probe, fn);
}

/* Undoes dynamos_newtask_hook(); fn is not running anywhere when it returns. */
void dynamos_newtask_unhook(dynamos_newtask_fn fn)
{
	tracepoint_probe_unregister(&dynamos_tp_newtask, dynamos_newtask_probe, fn);
	tracepoint_synchronize_unregister();
}

/*
 * The lock of mech/switch.rs's table writers (src/raw/global.rs, RawLocked):
 * raw, since it is taken inside task_call_func() under the task's pi_lock
 * and runqueue lock, and in hard interrupts.
 */
static DEFINE_RAW_SPINLOCK(dynamos_raw_lock);

unsigned long dynamos_raw_lock_irqsave(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&dynamos_raw_lock, flags);
	return flags;
}

void dynamos_raw_unlock_irqrestore(unsigned long flags)
{
	raw_spin_unlock_irqrestore(&dynamos_raw_lock, flags);
}
