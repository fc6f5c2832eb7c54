// SPDX-License-Identifier: GPL-2.0
/* dynamos_chain_c: see chain.h. It recurses through the helper. */
#include "chain.h"

int dynamos_chain_c(struct dynamos_chain_path *p, int depth)
{
	p->seen |= DYNAMOS_CHAIN_OLD(DYNAMOS_CHAIN_C);
	if (depth > 0)
		return dynamos_chain_help(p, depth - 1) + 1;
	return 1;
}
