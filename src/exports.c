// SPDX-License-Identifier: GPL-2.0
/*
 * Makes the C entry points of dynamos (Rust functions with C linkage, defined
 * in src/exports.rs) visible to patch modules. Rust modules cannot export
 * symbols to other modules yet; this is the nova-core pattern.
 */
#include <linux/export.h>

struct dynamos_patch_desc;

int dynamos_register_patch(const struct dynamos_patch_desc *desc);
void dynamos_unregister_patch(const struct dynamos_patch_desc *desc);

EXPORT_SYMBOL_GPL(dynamos_register_patch);
EXPORT_SYMBOL_GPL(dynamos_unregister_patch);
