/*
 * jit_ir.h — the blueprint IR: what a data-parallel wasm loop computes, in a form that can be
 * emitted as PTX, run by the host reference executor, serialised canonically and hashed.
 *
 * A blueprint is either
 *   - a map:    out[i] = expr(in0[i], .., in3[i], params, i)           for i in [0, n)
 *   - a reduce: out[0] = init (+) expr(in0[i], ..) (+) ...  over i      (integer types only
 *               by default: float reductions change results with evaluation order)
 * over 1..4 input arrays and one output array of i32/i64/f32/f64 elements, with up to four
 * scalar parameters (saxpy's `a`).
 *
 * The expression is a DAG stored as an array of nodes in evaluation order: a node's operands are
 * indices of earlier nodes, and the last node is the root. Every operation has wasm's semantics
 * exactly, including the cases where wasm traps: integer division whose divisor is zero (or
 * INT_MIN / -1) traps in wasm, so a blueprint may only divide by a constant, a parameter or a
 * whole input array, and jit_blueprint_check_launch() decides before any launch whether some
 * element could trap; if so the loop is not offloaded and the interpreter runs it (and traps
 * exactly where wasm says). Trapping float-to-int truncations are not representable at all:
 * only the saturating ones (wasm's trunc_sat) are, so such loops never become blueprints.
 *
 * NaN results of float arithmetic (add, sub, mul, div, sqrt, min, max, demote, promote) are the
 * canonical NaN (0x7fc00000 / 0x7ff8000000000000) on every backend. Wasm leaves their payload
 * nondeterministic, and the canonical NaN is always an allowed result, so this choice keeps the
 * GPU, the host executor and the interpreter's allowed results bit-identical. neg, abs and
 * select are bit operations, exactly as in wasm.
 *
 * Blueprints are plain values (no pointers): copy them freely. Validation is pure and bounded.
 */
#ifndef TW_JIT_IR_H
#define TW_JIT_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Nodes in one expression. A wasm loop body worth offloading is a handful of operations; 64
 * keeps a blueprint small enough to copy and to evaluate per element on the host. */
#define JIT_NODES_MAX 64
#define JIT_INPUTS_MAX 4
#define JIT_PARAMS_MAX 4
/* Bumped whenever emitted PTX changes for the same IR: part of every cache key. */
#define JIT_EMITTER_VERSION 1u

enum jit_type {
	JIT_I32 = 1,
	JIT_I64 = 2,
	JIT_F32 = 3,
	JIT_F64 = 4,
};

/* X(NAME, "text", operand count) */
#define JIT_OP_LIST(X)                                                                   \
	X(INPUT, "input", 0)   /* imm = input index; type = that input's type */          \
	X(PARAM, "param", 0)   /* imm = parameter index */                                \
	X(CONST, "const", 0)   /* imm = the value's bits (f32 in the low 32 bits) */      \
	X(INDEX, "index", 0)   /* the element index i, as i32 (wrapped) or i64 */         \
	X(ADD, "add", 2)                                                                  \
	X(SUB, "sub", 2)                                                                  \
	X(MUL, "mul", 2)                                                                  \
	X(DIV, "div", 2)       /* ints: flag JIT_F_UNSIGNED selects div_u */              \
	X(REM, "rem", 2)       /* ints only */                                            \
	X(AND, "and", 2)                                                                  \
	X(OR, "or", 2)                                                                    \
	X(XOR, "xor", 2)                                                                  \
	X(SHL, "shl", 2)       /* shift count masked to the width, as wasm */             \
	X(SHR, "shr", 2)       /* arithmetic, or logical with JIT_F_UNSIGNED */           \
	X(MIN, "min", 2)       /* floats: wasm fmin (NaN wins, -0 < +0) */                \
	X(MAX, "max", 2)                                                                  \
	X(NEG, "neg", 1)                                                                  \
	X(ABS, "abs", 1)                                                                  \
	X(SQRT, "sqrt", 1)     /* floats only */                                          \
	X(EQ, "eq", 2)         /* comparisons produce i32 0/1 */                          \
	X(NE, "ne", 2)                                                                    \
	X(LT, "lt", 2)                                                                    \
	X(LE, "le", 2)                                                                    \
	X(GT, "gt", 2)                                                                    \
	X(GE, "ge", 2)                                                                    \
	X(SELECT, "select", 3) /* a = condition (i32, nonzero = true), b if true, c else */ \
	X(CVT, "cvt", 1)       /* wasm conversion from a's type to this node's type */

enum jit_op {
#define JIT_OP_ENUM(name, str, n) JIT_OP_##name,
	JIT_OP_LIST(JIT_OP_ENUM)
#undef JIT_OP_ENUM
	JIT_OP__COUNT
};

/* Node flags. */
enum {
	/* Integer division, remainder, shr, min, max, comparisons and conversions from or to an
	 * integer treat the integer as unsigned. */
	JIT_F_UNSIGNED = 1u << 0,
};

struct jit_node {
	uint8_t op;      /* enum jit_op */
	uint8_t type;    /* enum jit_type of the result */
	uint8_t flags;   /* JIT_F_* */
	uint8_t pad;     /* zero */
	uint16_t a, b, c; /* operand node indices (earlier nodes) */
	uint64_t imm;
};

enum jit_kind {
	JIT_MAP = 1,
	JIT_REDUCE = 2,
};

enum jit_reduce_op {
	JIT_RED_NONE = 0,
	JIT_RED_SUM,
	JIT_RED_MIN, /* signed, or unsigned with reduce_flags & JIT_F_UNSIGNED */
	JIT_RED_MAX,
	JIT_RED_AND,
	JIT_RED_OR,
	JIT_RED_XOR,
};

struct jit_blueprint {
	char name[32];          /* for logs and metrics labels; not part of the cache key */
	uint8_t kind;           /* enum jit_kind */
	uint8_t reduce_op;      /* enum jit_reduce_op; JIT_RED_NONE for maps */
	uint8_t reduce_flags;   /* JIT_F_UNSIGNED for unsigned min/max */
	uint8_t out_type;       /* element type of the output (and of a reduction's result) */
	uint8_t n_inputs;       /* 1..4 */
	uint8_t in_type[JIT_INPUTS_MAX];
	uint8_t n_params;       /* 0..4 */
	uint8_t param_type[JIT_PARAMS_MAX];
	uint16_t n_nodes;       /* 1..JIT_NODES_MAX; nodes[n_nodes-1] is the root */
	struct jit_node nodes[JIT_NODES_MAX];
};

/* One scalar value, by type. Parameters, reduction seeds and constants use it. */
union jit_value {
	int32_t i32;
	int64_t i64;
	float f32;
	double f64;
	uint32_t u32;
	uint64_t u64;
};

size_t jit_type_size(enum jit_type t);
const char *jit_type_str(enum jit_type t); /* "i32", ... ; "?" when out of range */
bool jit_type_is_float(enum jit_type t);
const char *jit_op_str(enum jit_op op);

/*
 * Check that `bp` is well formed: counts in range, operands refer to earlier nodes, types agree
 * with each operation, the root's type is the output type, reductions are over integer types
 * (unless allow_float_reduce), divisors are a constant, a parameter or an input. On failure
 * returns TW_ERR_INVALID_ARG and writes a one-line reason into why (cap bytes; may be NULL).
 * Pure; safe on any bytes (blueprints may come from untrusted analysis).
 */
enum tw_err jit_blueprint_validate(const struct jit_blueprint *bp, bool allow_float_reduce,
				   char *why, size_t cap);

/*
 * Decide before a launch over n elements whether any element would trap in wasm: a division or
 * remainder whose divisor (constant, parameter or input array `inputs[k]`) is zero, or a signed
 * division by -1 (INT_MIN / -1 traps; deciding it per dividend would mean running the
 * expression, so -1 divisors are refused conservatively). Returns TW_ERR_OK when no element can
 * trap, TW_ERR_WASM_TRAP when one may (run the loop in the interpreter instead), and writes the
 * reason into why. `inputs` are host arrays of n elements; `params` has bp->n_params values.
 */
enum tw_err jit_blueprint_check_launch(const struct jit_blueprint *bp, const void *const *inputs,
				       const union jit_value *params, uint64_t n, char *why,
				       size_t cap);

/* The identity of a reduction over type t (0 for sum/or/xor, all ones for and, the type's
 * maximum for min and minimum for max). */
union jit_value jit_reduce_identity(enum jit_reduce_op op, unsigned flags, enum jit_type t);

/*
 * Canonical serialisation: a byte string that depends only on what the blueprint computes (not
 * on its name or on unused padding), little-endian, versioned. Returns the length written, or
 * the length needed when cap is too small (nothing written then). Requires a valid blueprint.
 */
size_t jit_blueprint_serialize(const struct jit_blueprint *bp, uint8_t *out, size_t cap);

/* Most bytes jit_blueprint_serialize can produce. */
#define JIT_SERIAL_BYTES_MAX (32 + JIT_NODES_MAX * 17)

/*
 * The cache key: xxh3-64 over (canonical serialisation, target arch such as "sm_80", emitter
 * version). Element types are part of the serialisation. Stable across runs and machines.
 */
uint64_t jit_blueprint_key(const struct jit_blueprint *bp, const char *arch);

/* ---- building blueprints (tests, built-ins) ------------------------------------------- */

/* Start a blueprint; n_inputs input types in `in`, n_params parameter types in `params`. */
void jit_bp_init(struct jit_blueprint *bp, const char *name, enum jit_kind kind,
		 enum jit_type out_type, unsigned n_inputs, const enum jit_type *in,
		 unsigned n_params, const enum jit_type *params);

/* Append a node and return its index; the caller validates the whole blueprint afterwards.
 * On overflow the node is dropped and JIT_NODES_MAX is returned (validation then fails). */
uint16_t jit_bp_node(struct jit_blueprint *bp, enum jit_op op, enum jit_type type, unsigned flags,
		     uint16_t a, uint16_t b, uint16_t c, uint64_t imm);

uint64_t jit_f32_bits(float f);
uint64_t jit_f64_bits(double d);

#endif
