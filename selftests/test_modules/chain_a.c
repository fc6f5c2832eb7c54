// SPDX-License-Identifier: GPL-2.0
/* dynamos_chain_a: see chain.h. Its call of b is a sibling call at -O2. */
#include "chain.h"

int dynamos_chain_a(struct dynamos_chain_path *p, int depth)
{
	p->seen |= DYNAMOS_CHAIN_OLD(DYNAMOS_CHAIN_A);
	return dynamos_chain_b(p, depth);
}
