// SPDX-License-Identifier: GPL-2.0
/* dynamos_chain_b: see chain.h. */
#include "chain.h"

int dynamos_chain_b(struct dynamos_chain_path *p, int depth)
{
	p->seen |= DYNAMOS_CHAIN_OLD(DYNAMOS_CHAIN_B);
	return dynamos_chain_help(p, depth) + 1;
}
