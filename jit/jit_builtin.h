/*
 * jit_builtin.h — the named built-in blueprints: the loops the offloader recognises first, and
 * the set every test and the GPU self-test run (saxpy, element-wise arithmetic for each type,
 * bit operations and shifts, clamp via min/max, select via a comparison, comparisons, every
 * conversion, integer reductions).
 *
 * The table is built once (thread-safe) and is read-only afterwards.
 */
#ifndef TW_JIT_BUILTIN_H
#define TW_JIT_BUILTIN_H

#include <stddef.h>

#include "jit/jit_ir.h"

/* Number of built-in blueprints. */
size_t jit_builtin_count(void);

/* The i-th built-in (i < jit_builtin_count()); the pointer is valid for the process lifetime. */
const struct jit_blueprint *jit_builtin_get(size_t i);

/* The built-in named `name`, or NULL. */
const struct jit_blueprint *jit_builtin_find(const char *name);

/* The element type that groups a blueprint for batched emission: its first input's type. */
enum jit_type jit_builtin_group(const struct jit_blueprint *bp);

#endif
