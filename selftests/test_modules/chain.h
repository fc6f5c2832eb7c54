/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dynamos_chain module (chain_main.c): a call chain of ordinary C
 * functions, each in a file of its own so that none is inlined into
 * another, built as the kernel builds any module (no noipa, no barriers):
 *
 *   dynamos_chain_a --(tail call)--> dynamos_chain_b --> dynamos_chain_help
 *   dynamos_chain_help --(tail call)--> dynamos_chain_c
 *   dynamos_chain_c --> dynamos_chain_help (depth times: deep stacks)
 *
 * a, b and c are patched (dynamos_test_chain.rs); help is not. Every
 * function records on the path it is handed which edition of it ran: a
 * path whose record holds both an old and a new edition mixed old and new
 * code on one call path.
 */
#ifndef _DYNAMOS_CHAIN_H
#define _DYNAMOS_CHAIN_H

/* What one call path saw: bit i for the old edition of function i, bit 8 + i for the new. */
struct dynamos_chain_path {
	unsigned long seen;
	/* Nonzero: help sleeps briefly on the way, so that paths last. */
	int nap;
};

enum { DYNAMOS_CHAIN_A, DYNAMOS_CHAIN_B, DYNAMOS_CHAIN_C, DYNAMOS_CHAIN_N };

#define DYNAMOS_CHAIN_OLD(f) (1UL << (f))
#define DYNAMOS_CHAIN_NEW(f) (1UL << (8 + (f)))
#define DYNAMOS_CHAIN_ALL_OLD (DYNAMOS_CHAIN_OLD(DYNAMOS_CHAIN_N) - 1)
#define DYNAMOS_CHAIN_ALL_NEW (DYNAMOS_CHAIN_ALL_OLD << 8)

int dynamos_chain_a(struct dynamos_chain_path *p, int depth);
int dynamos_chain_b(struct dynamos_chain_path *p, int depth);
int dynamos_chain_c(struct dynamos_chain_path *p, int depth);
int dynamos_chain_help(struct dynamos_chain_path *p, int depth);

#endif /* _DYNAMOS_CHAIN_H */
