// SPDX-License-Identifier: GPL-2.0
/*
 * The livepatch (the kernel's own) of the dynamos benchmarks, to compare
 * with the dynamos patches: replaces dynamos_bench_f000 .. dynamos_bench_fNNN
 * (NNN = nr - 1, module parameter nr, 1..1000) of dynamos_bench
 * (bench_target.c) with editions that compute the same, x + their number.
 *
 * The klp_func array is allocated at init for nr functions; livepatch keeps
 * pointers to it while the patch is enabled, and the module can only be
 * removed once the patch is disabled and freed, so it is freed at exit.
 */
#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "bench_target.h"

static int nr = 1;
module_param(nr, int, 0444);
MODULE_PARM_DESC(nr, "How many functions, dynamos_bench_f000 upward, to patch: 1..1000 (default: 1)");

/* The replacements of dynamos_bench_f000 .. dynamos_bench_f999. */
#define BENCH_NEW_FN(a, b, c)						\
static noinline __noipa int livepatch_bench_f##a##b##c(int x)		\
{									\
	return x + (a * 100 + b * 10 + c);				\
}

BENCH_FOR_EACH(BENCH_NEW_FN)

#define BENCH_NEW_PTR(a, b, c)	livepatch_bench_f##a##b##c,
#define BENCH_OLD_NAME(a, b, c)	"dynamos_bench_f" #a #b #c,

static int (*const new_fns[])(int) = {
	BENCH_FOR_EACH(BENCH_NEW_PTR)
};
static_assert(ARRAY_SIZE(new_fns) == DYNAMOS_BENCH_NR_FNS);

static const char *const old_names[] = {
	BENCH_FOR_EACH(BENCH_OLD_NAME)
};
static_assert(ARRAY_SIZE(old_names) == DYNAMOS_BENCH_NR_FNS);

static struct klp_func *funcs;

static struct klp_object objs[] = {
	{ .name = "dynamos_bench", },
	{ }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init dynamos_bench_klp_init(void)
{
	int i, ret;

	if (nr < 1 || nr > DYNAMOS_BENCH_NR_FNS)
		return -EINVAL;
	/* nr functions and the empty one that ends the array. */
	funcs = kcalloc(nr + 1, sizeof(*funcs), GFP_KERNEL);
	if (!funcs)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		funcs[i].old_name = old_names[i];
		funcs[i].new_func = new_fns[i];
	}
	objs[0].funcs = funcs;
	ret = klp_enable_patch(&patch);
	if (ret) {
		kfree(funcs);
		funcs = NULL;
	}
	return ret;
}

static void __exit dynamos_bench_klp_exit(void)
{
	kfree(funcs);
}

module_init(dynamos_bench_klp_init);
module_exit(dynamos_bench_klp_exit);
MODULE_DESCRIPTION("dynamos benchmark: a livepatch of the dynamos_bench functions");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
