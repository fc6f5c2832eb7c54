// SPDX-License-Identifier: GPL-2.0
/*
 * dynamos_chain_help: see chain.h. Not patched: a helper between patched
 * functions. It may sleep, so that call paths last across switches.
 */
#include <linux/delay.h>
#include "chain.h"

int dynamos_chain_help(struct dynamos_chain_path *p, int depth)
{
	if (p->nap && depth % 4 == 0)
		usleep_range(20, 60);
	return dynamos_chain_c(p, depth);
}
