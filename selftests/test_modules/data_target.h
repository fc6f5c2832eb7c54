/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dynamos_data selftest module (data_target.c): the targets of the
 * patches that change an interface, attach shadow data, and convert state
 * lazily, and what those patches need of it.
 *
 * The Rust patches mirror struct dynamos_obj with #[repr(C)]: do not
 * reorder, add or remove fields.
 */
#ifndef _DYNAMOS_DATA_TARGET_H
#define _DYNAMOS_DATA_TARGET_H

#include <linux/spinlock.h>
#include <linux/types.h>

/* Notes: counters that the patches bump with dynamos_data_note(). */
#define DYNAMOS_NR_NOTES	8
#define DYNAMOS_NOTE_CROSSING	0	/* new-interface args in the old callee */
#define DYNAMOS_NOTE_ADAPTED	1	/* a call adapted between interfaces */
#define DYNAMOS_NOTE_NEW	2	/* a call of the new-interface callee */
#define DYNAMOS_NOTE_DTOR	3	/* a shadow variable's destructor ran */
#define DYNAMOS_NOTE_FREED	4	/* a converted-state record was freed */

/* (1) Interface change: set on the arguments of the NEW interface. */
#define DYNAMOS_IFACE_TAG	0x40000000u

/* (2) Shadow data: the accounts that a patch attaches counters to. */
#define DYNAMOS_NR_ACCOUNTS	16

struct dynamos_account {
	spinlock_t lock;
	u64 balance;
};

/* (3) Lazy state conversion: one object of the table. */
struct dynamos_obj {
	u32 value;
	u32 converted;
	u32 reverted;
	u32 pad;
};

/* Targets: the patches replace them. */
u32 dynamos_iface_compute(u32 x);
u32 dynamos_iface_caller_a(u32 x);
u32 dynamos_iface_caller_b(u32 x, bool sleep);
void dynamos_account_deposit(struct dynamos_account *a, u32 amount);
u64 dynamos_account_extra(struct dynamos_account *a);
u32 dynamos_obj_read(struct dynamos_obj *o);
void dynamos_obj_add(struct dynamos_obj *o, u32 d);

/* Helpers that the patches call; they are not replaced. */
void dynamos_data_note(int what);
void dynamos_iface_wait(void);
struct dynamos_account *dynamos_account_at(unsigned int i);
struct dynamos_obj *dynamos_obj_at(u32 i);
u32 dynamos_obj_count(void);

#endif /* _DYNAMOS_DATA_TARGET_H */
