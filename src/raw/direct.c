// SPDX-License-Identifier: GPL-2.0
/*
 * Direct ftrace calls and jumps for dynamos' sites (src/raw/direct.rs wraps
 * this file; src/mech/site.rs decides where each call goes).
 *
 * Each site owns one direct ftrace_ops on its target. Its __fentry__ call
 * becomes either
 *  - a jump to a patch's entry (ftrace's "jmp" mode), when every call goes
 *    to the same place: the call costs one jump, and the entry returns to
 *    the caller; or
 *  - a call to dynamos_tramp below, which saves the argument registers and
 *    asks dynamos_tramp_dispatch() (Rust) where the call goes: it rewrites
 *    the return slot to send the call to an edition, or leaves it to run
 *    the original.
 * modify_ftrace_direct() moves a site between the two without a moment
 * where calls skip dynamos: ftrace routes them through its list function,
 * which calls the old or the new target, while it patches the call site.
 */
#include <linux/ftrace.h>
#include <linux/linkage.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/ibt.h>
#include <asm/nospec-branch.h>

#include "direct.h"

/*
 * Entered by a call from a target's __fentry__ site (directly, or from
 * ftrace's regs caller when other ftrace users share the function), with
 * the stack as at the target's entry plus that return address, which points
 * into the target. The argument registers and %rax are saved and handed to
 * dynamos_tramp_dispatch(regs, slot) with the address of the return slot;
 * returning through a rewritten slot enters the chosen edition as if the
 * caller had called it.
 */
asm(
"	.pushsection	.text, \"ax\", @progbits\n"
"	.type		dynamos_tramp, @function\n"
"	.globl		dynamos_tramp\n"
"dynamos_tramp:\n"
	ASM_ENDBR
"	pushq	%rbp\n"
"	movq	%rsp, %rbp\n"
	CALL_DEPTH_ACCOUNT
"	pushq	%rax\n"
"	pushq	%rdi\n"
"	pushq	%rsi\n"
"	pushq	%rdx\n"
"	pushq	%rcx\n"
"	pushq	%r8\n"
"	pushq	%r9\n"
"	movq	%rsp, %rdi\n"
"	leaq	8(%rbp), %rsi\n"
"	call	dynamos_tramp_dispatch\n"
"	popq	%r9\n"
"	popq	%r8\n"
"	popq	%rcx\n"
"	popq	%rdx\n"
"	popq	%rsi\n"
"	popq	%rdi\n"
"	popq	%rax\n"
"	leave\n"
	ASM_RET
"	.size		dynamos_tramp, .-dynamos_tramp\n"
"	.popsection\n"
);

void dynamos_tramp(void);

struct dynamos_direct {
	struct ftrace_ops ops;
	unsigned long ip;
};

/* Whether sites may use ftrace's jmp mode: see dynamos_direct_target(). */
/*
 * QEMU's TCG has no IBT: this takes the path of a CPU that enforces it, so
 * that tests and benchmarks can run it. Fixed at load.
 */
static bool trampoline_only;
module_param(trampoline_only, bool, 0444);
MODULE_PARM_DESC(trampoline_only,
		 "Behave as on a CPU that enforces IBT: sites never jump, calls go through the trampoline, prev() enters originals at their entry (for tests and benchmarks)");

bool dynamos_jmp_ok(void)
{
	/*
	 * Where sites jump, patches enter the original past its __fentry__
	 * site, through a pointer (prev(), the adaptive entry); with IBT that
	 * landing has no ENDBR, so jumps are used only without it. Without
	 * jumps, prev() calls the original's entry directly.
	 */
	return IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_JMP) &&
	       !cpu_feature_enabled(X86_FEATURE_IBT) && !trampoline_only;
}

unsigned long dynamos_tramp_addr(void)
{
	return (unsigned long)dynamos_tramp;
}

/* The direct address for a call (jmp false) to tramp, or a jump to addr. */
static unsigned long direct_addr(unsigned long addr, bool jmp)
{
	return jmp ? ftrace_jmp_set(addr) : addr;
}

/* Hooks ip with a direct call or jump to addr. NULL and *err on failure. */
struct dynamos_direct *dynamos_direct_new(unsigned long ip, unsigned long addr,
					  bool jmp, int *err)
{
	struct dynamos_direct *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d) {
		*err = -ENOMEM;
		return NULL;
	}
	d->ip = ip;
	*err = ftrace_set_filter_ip(&d->ops, ip, 0, 0);
	if (!*err)
		*err = register_ftrace_direct(&d->ops, direct_addr(addr, jmp));
	if (*err) {
		ftrace_free_filter(&d->ops);
		kfree(d);
		return NULL;
	}
	return d;
}

/* Sends the calls elsewhere; calls keep going to one of the two meanwhile. */
int dynamos_direct_retarget(struct dynamos_direct *d, unsigned long addr, bool jmp)
{
	return modify_ftrace_direct(&d->ops, direct_addr(addr, jmp));
}

/* Unhooks; once this returns no CPU runs the trampoline for it. */
void dynamos_direct_free(struct dynamos_direct *d)
{
	int err = unregister_ftrace_direct(&d->ops, d->ops.direct_call, true);

	if (err)
		pr_err("dynamos: unregister_ftrace_direct(%pS) failed: %d\n",
		       (void *)d->ip, err);
	else
		kfree(d);
}

/*
 * Where the body of the function at addr starts, past its __fentry__ call
 * (and the ENDBR before it): prev() calls the original there.
 */
unsigned long dynamos_body(unsigned long addr)
{
	u32 insn;

	if (copy_from_kernel_nofault(&insn, (void *)addr, sizeof(insn)))
		return 0;
#ifdef CONFIG_X86_KERNEL_IBT
	/* An ENDBR, or the NOP that sealing put in its place. */
	if (__is_endbr(insn))
		addr += ENDBR_INSN_SIZE;
#endif
	return addr + MCOUNT_INSN_SIZE;
}
