// SPDX-License-Identifier: GPL-2.0
/*
 * Makes the C entry points of dynamos (Rust functions with C linkage:
 * registration and lazy state are made by raw::desc::patch_entry_points!
 * and raw::callbacks::state_entry_point! in src/dynamos.rs, shadow data is
 * in src/raw/shadow.rs) visible to patch modules. Rust modules cannot export symbols to other
 * modules yet; this is the nova-core pattern.
 */
#include <linux/export.h>
#include <linux/gfp_types.h>
#include <linux/types.h>

struct dynamos_patch_desc;

int dynamos_register_patch(const struct dynamos_patch_desc *desc);
void dynamos_unregister_patch(const struct dynamos_patch_desc *desc);

EXPORT_SYMBOL_GPL(dynamos_register_patch);
EXPORT_SYMBOL_GPL(dynamos_unregister_patch);

/* Shadow data (src/raw/shadow.rs), with livepatch's klp_shadow_*() contracts. */
typedef int (*dynamos_shadow_ctor_t)(void *obj, void *data, void *ctor_data);
typedef void (*dynamos_shadow_dtor_t)(void *obj, void *data);

void *dynamos_shadow_get(void *obj, u64 id);
void *dynamos_shadow_alloc(void *obj, u64 id, size_t size, gfp_t gfp,
			   dynamos_shadow_ctor_t ctor, void *ctor_data);
void *dynamos_shadow_get_or_alloc(void *obj, u64 id, size_t size, gfp_t gfp,
				  dynamos_shadow_ctor_t ctor, void *ctor_data);
void dynamos_shadow_free(void *obj, u64 id, dynamos_shadow_dtor_t dtor);
void dynamos_shadow_free_all(u64 id, dynamos_shadow_dtor_t dtor);

EXPORT_SYMBOL_GPL(dynamos_shadow_get);
EXPORT_SYMBOL_GPL(dynamos_shadow_alloc);
EXPORT_SYMBOL_GPL(dynamos_shadow_get_or_alloc);
EXPORT_SYMBOL_GPL(dynamos_shadow_free);
EXPORT_SYMBOL_GPL(dynamos_shadow_free_all);

/* Lazy state conversion (src/mech/state.rs, through src/raw/callbacks.rs). */
struct dynamos_state_desc;

void *dynamos_state_get(const struct dynamos_state_desc *state, void *obj, gfp_t gfp);

EXPORT_SYMBOL_GPL(dynamos_state_get);
