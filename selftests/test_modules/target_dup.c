// SPDX-License-Identifier: GPL-2.0
/* The second dynamos_dup of the dynamos_target module: see target_main.c. */
#include <linux/compiler.h>

int dynamos_target_dup2(void);

static noinline __noipa __used int dynamos_dup(void)
{
	int r = 2;

	/* clang has no noipa: hide the constant, or it folds the result. */
	OPTIMIZER_HIDE_VAR(r);
	return r;
}

int dynamos_target_dup2(void)
{
	return dynamos_dup();
}
