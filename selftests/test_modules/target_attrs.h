/* SPDX-License-Identifier: GPL-2.0 */
/*
 * __dynamos_target: a function the selftests patch. Its callers must call
 * it as its source says, without using what the compiler learnt from its
 * body (a constant result, an argument it ignores, the registers it leaves
 * alone, a specialized clone), which a patched edition would not honour.
 * GCC has noipa for that. clang has no such attribute, and __noipa is empty
 * there; but clang assumes nothing of a weak definition, which the linker
 * may replace, so the clang-built debug kernel's modules get weak ones.
 */
#ifndef DYNAMOS_TARGET_ATTRS_H
#define DYNAMOS_TARGET_ATTRS_H

#include <linux/compiler.h>

#ifdef __clang__
#define __dynamos_target noinline __weak
#else
#define __dynamos_target noinline __noipa
#endif

#endif
