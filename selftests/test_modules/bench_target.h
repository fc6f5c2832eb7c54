/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dynamos_bench benchmark module (bench_target.c): what its patches (the
 * Rust one and the livepatch bench_klp.c) and the other modules need of it.
 */
#ifndef _DYNAMOS_BENCH_TARGET_H
#define _DYNAMOS_BENCH_TARGET_H

/* How many layers of patches to stack: 1..8. */
extern int dynamos_bench_layers;

/*
 * BENCH_FOR_EACH(F) expands to F(a, b, c) for the 1000 digit triples 0 0 0 to
 * 9 9 9 in order, one for each function dynamos_bench_f##a##b##c, whose
 * number is a * 100 + b * 10 + c. F receives single-digit tokens, so that it
 * can paste them into names and stringify them.
 */
#define BENCH_FOR_10(F, a, b)						\
	F(a, b, 0) F(a, b, 1) F(a, b, 2) F(a, b, 3) F(a, b, 4)		\
	F(a, b, 5) F(a, b, 6) F(a, b, 7) F(a, b, 8) F(a, b, 9)
#define BENCH_FOR_100(F, a)						\
	BENCH_FOR_10(F, a, 0) BENCH_FOR_10(F, a, 1)			\
	BENCH_FOR_10(F, a, 2) BENCH_FOR_10(F, a, 3)			\
	BENCH_FOR_10(F, a, 4) BENCH_FOR_10(F, a, 5)			\
	BENCH_FOR_10(F, a, 6) BENCH_FOR_10(F, a, 7)			\
	BENCH_FOR_10(F, a, 8) BENCH_FOR_10(F, a, 9)
#define BENCH_FOR_EACH(F)						\
	BENCH_FOR_100(F, 0) BENCH_FOR_100(F, 1) BENCH_FOR_100(F, 2)	\
	BENCH_FOR_100(F, 3) BENCH_FOR_100(F, 4) BENCH_FOR_100(F, 5)	\
	BENCH_FOR_100(F, 6) BENCH_FOR_100(F, 7) BENCH_FOR_100(F, 8)	\
	BENCH_FOR_100(F, 9)

/* How many functions there are. */
#define DYNAMOS_BENCH_NR_FNS 1000

/*
 * Sleeps until the debugfs file release is written, then returns 0
 * (-ERESTARTSYS if a signal came first).
 */
int dynamos_bench_hold(void);

#endif /* _DYNAMOS_BENCH_TARGET_H */
