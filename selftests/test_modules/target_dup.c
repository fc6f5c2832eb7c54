// SPDX-License-Identifier: GPL-2.0
/* The second dynamos_dup of the dynamos_target module: see target_main.c. */
#include <linux/compiler.h>

int dynamos_target_dup2(void);

static noinline __attribute__((__noipa__)) int dynamos_dup(void)
{
	return 2;
}

int dynamos_target_dup2(void)
{
	return dynamos_dup();
}
