/*
 * jit_ptx.h — PTX text emission for blueprints.
 *
 * Each blueprint becomes one `.visible .entry tw_<name>` kernel with the parameters
 *     (.u64 out, .u64 in0 .. in<k-1>, .u64 n, scalar params in order)
 * where out and in* are device addresses of arrays of n elements (one element for a reduce).
 * Kernels use a grid-stride loop (i = %ctaid.x * %ntid.x + %tid.x; i += %ntid.x * %nctaid.x)
 * with 64-bit indices and addresses, so any grid shape covers any n, including 0.
 *
 * Floating-point operations are IEEE round-to-nearest and never contracted (add.rn, mul.rn,
 * div.rn, sqrt.rn; no fma); wasm's rules are emitted explicitly where PTX differs: shift counts
 * are masked, float min/max follow wasm's NaN and -0 rules, NaN results are canonical, neg/abs
 * of floats are sign-bit operations, signed rem by -1 is 0, and float-to-int conversions are
 * saturating (wasm's trunc_sat: cvt.rzi clamps, and NaN is mapped to 0 explicitly).
 *
 * Integer reductions accumulate per thread over the grid-stride loop and combine with one
 * red.global per thread. Integer addition, min, max, and, or and xor are associative and
 * commutative, so the result is bit-exact whatever order the hardware applies them in. The output
 * element must hold the reduction's seed (jit_args.reduce_init) before the launch. Float
 * reductions are refused (their result depends on order).
 *
 * Emission is pure text generation: no CUDA header or driver is needed.
 */
#ifndef TW_JIT_PTX_H
#define TW_JIT_PTX_H

#include <stddef.h>

#include "core/err.h"
#include "jit/jit_ir.h"

/* A PTX target: the .target name and the lowest .version that supports it. Emitting the lowest
 * version means any driver that knows the device accepts the text. */
struct jit_arch {
	const char *name; /* "sm_80" */
	unsigned sm;      /* 80 */
	unsigned ptx_major, ptx_minor;
};

/* The arch named `name` ("sm_80", "sm_90", ...), or NULL. */
const struct jit_arch *jit_arch_find(const char *name);

/* The best arch for a device of compute capability major.minor: the exact one when known, else
 * the highest known one below it (PTX for a lower target runs on higher devices). NULL when the
 * device is older than every known arch. */
const struct jit_arch *jit_arch_for_cc(int major, int minor);

/* Entry name of bp's kernel: "tw_" + the name with characters outside [A-Za-z0-9_] as '_'. */
void jit_ptx_entry_name(const struct jit_blueprint *bp, char out[48]);

/*
 * Emit one PTX module holding a kernel for each of the `count` blueprints (each must be valid
 * and have a distinct name). On success *out is a malloc'd NUL-terminated text (caller frees)
 * and *len its length. Errors: TW_ERR_UNSUPPORTED (float reduction), TW_ERR_INVALID_ARG
 * (invalid blueprint), TW_ERR_FULL (text over TW_JIT_PTX_BYTES_MAX), TW_ERR_NOMEM.
 */
enum tw_err jit_ptx_emit(const struct jit_blueprint *const *bps, size_t count,
			 const struct jit_arch *arch, char **out, size_t *len);

#endif
