/* SPDX-License-Identifier: GPL-2.0 */
/* Functions of dynamos_target (target_main.c) that test patches change. */
#ifndef DYNAMOS_TARGET_MAIN_H
#define DYNAMOS_TARGET_MAIN_H

int dynamos_target_add(int a, int b);
int dynamos_target_notrace(void);
long dynamos_target_write(unsigned long len);
int dynamos_target_sleep(void);
int dynamos_target_deep_sleep(int depth);

#endif
