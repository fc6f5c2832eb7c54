/* SPDX-License-Identifier: GPL-2.0 */
/* Direct ftrace hooks of dynamos (src/raw/direct.c), called from Rust. */
#ifndef DYNAMOS_DIRECT_H
#define DYNAMOS_DIRECT_H

#include <linux/types.h>

struct dynamos_direct;

bool dynamos_jmp_ok(void);
unsigned long dynamos_tramp_addr(void);
struct dynamos_direct *dynamos_direct_new(unsigned long ip, unsigned long addr,
					  bool jmp, int *err);
int dynamos_direct_retarget(struct dynamos_direct *d, unsigned long addr, bool jmp);
void dynamos_direct_free(struct dynamos_direct *d);
unsigned long dynamos_body(unsigned long addr);

#endif
