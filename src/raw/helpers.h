/* SPDX-License-Identifier: GPL-2.0 */
/* C helpers of dynamos (src/raw/helpers.c), called from Rust. */
#ifndef DYNAMOS_HELPERS_H
#define DYNAMOS_HELPERS_H

#include <linux/sched.h>

struct module;

struct dynamos_thread {
	struct task_struct *task;
	pid_t pid;
	pid_t tgid;
	int on_cpu;
	char comm[TASK_COMM_LEN];
};

typedef void (*dynamos_thread_fn)(void *ctx, const struct dynamos_thread *t);

void dynamos_for_each_thread(dynamos_thread_fn fn, void *ctx);
struct pid *dynamos_process_get(pid_t nr);
bool dynamos_process_alive(struct pid *pid);
void dynamos_pid_get(struct pid *pid);
unsigned long dynamos_current_process(void);
void dynamos_module_text(struct module *mod, unsigned long *base, unsigned long *size);
const char *dynamos_module_name(struct module *mod);

long dynamos_safepoint0(long a0, long a1, long a2, long a3, long a4, long a5);
long dynamos_safepoint1(long a0, long a1, long a2, long a3, long a4, long a5);
long dynamos_safepoint2(long a0, long a1, long a2, long a3, long a4, long a5);
long dynamos_safepoint3(long a0, long a1, long a2, long a3, long a4, long a5);
bool dynamos_call_safepoint(unsigned long fn, const long *args);
int dynamos_call_loop(int (*fn)(void *data), void *data);
void *dynamos_kthread_data(void);
int dynamos_recursion_trylock(unsigned long ip, unsigned long parent_ip);
void dynamos_recursion_unlock(int bit);
void dynamos_cond_resched(void);

typedef void (*dynamos_sym_fn)(void *ctx, const char *name, unsigned long addr, char type);
int dynamos_module_symbols(const char *modname, dynamos_sym_fn fn, void *ctx);
struct module *dynamos_module_get(const char *modname);
int dynamos_module_unconverted(const char *modname);
unsigned long dynamos_ksyms_resolved(void);
int dynamos_task_stack(struct task_struct *task, unsigned long *store, unsigned int size);

typedef bool (*dynamos_stack_fn)(void *ctx, const unsigned long *trace, int nr);
typedef void (*dynamos_newtask_fn)(struct task_struct *task);
bool dynamos_consistency(void);
void dynamos_for_each_idle_task(dynamos_thread_fn fn, void *ctx);
int dynamos_task_pinned(struct task_struct *task, unsigned long *store, unsigned int size,
			dynamos_stack_fn fn, void *ctx);
int dynamos_task_on_cpu(struct task_struct *task, unsigned long *store, unsigned int size,
			dynamos_stack_fn fn, void *ctx);
unsigned long dynamos_raw_lock_irqsave(void);
void dynamos_raw_unlock_irqrestore(unsigned long flags);
int dynamos_newtask_hook(dynamos_newtask_fn fn);
void dynamos_newtask_unhook(dynamos_newtask_fn fn);

#endif
