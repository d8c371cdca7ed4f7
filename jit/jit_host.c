/* jit_host.c — the host reference executor; see jit_host.h. */
#include "jit/jit_host.h"

#include <math.h>
#include <string.h>

/* Each IR operation is rounded on its own, as wasm and the emitted PTX (no FMA) do. */
#pragma STDC FP_CONTRACT OFF

#define CANON_F32 0x7fc00000u
#define CANON_F64 0x7ff8000000000000ull

static float canon_f(float f)
{
	if (f != f) {
		uint32_t u = CANON_F32;
		memcpy(&f, &u, 4);
	}
	return f;
}

static double canon_d(double d)
{
	if (d != d) {
		uint64_t u = CANON_F64;
		memcpy(&d, &u, 8);
	}
	return d;
}

static uint32_t fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float bitsf(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static uint64_t dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

static double bitsd(uint64_t u)
{
	double d;
	memcpy(&d, &u, 8);
	return d;
}

/* wasm fmin: NaN if either is NaN; -0 below +0. Equal operands are merged bitwise: equal
 * non-zero values have equal bits, and for zeros OR keeps -0 (min) and AND keeps +0 (max). */
float jit_wasm_fminf(float a, float b)
{
	if (a != a || b != b)
		return bitsf(CANON_F32);
	if (a < b)
		return a;
	if (b < a)
		return b;
	return bitsf(fbits(a) | fbits(b));
}

float jit_wasm_fmaxf(float a, float b)
{
	if (a != a || b != b)
		return bitsf(CANON_F32);
	if (a > b)
		return a;
	if (b > a)
		return b;
	return bitsf(fbits(a) & fbits(b));
}

double jit_wasm_fmin(double a, double b)
{
	if (a != a || b != b)
		return bitsd(CANON_F64);
	if (a < b)
		return a;
	if (b < a)
		return b;
	return bitsd(dbits(a) | dbits(b));
}

double jit_wasm_fmax(double a, double b)
{
	if (a != a || b != b)
		return bitsd(CANON_F64);
	if (a > b)
		return a;
	if (b > a)
		return b;
	return bitsd(dbits(a) & dbits(b));
}

/* wasm trunc_sat from a double (f32 sources are widened exactly first). */
static uint64_t trunc_sat(double x, enum jit_type to, bool u)
{
	if (x != x)
		return 0;
	if (to == JIT_I32) {
		if (u) {
			if (x <= -1.0)
				return 0;
			if (x >= 4294967296.0)
				return UINT32_MAX;
			return (uint32_t)x;
		}
		if (x <= -2147483649.0)
			return (uint32_t)INT32_MIN;
		if (x >= 2147483648.0)
			return (uint32_t)INT32_MAX;
		return (uint32_t)(int32_t)x;
	}
	if (u) {
		if (x <= -1.0)
			return 0;
		if (x >= 18446744073709551616.0)
			return UINT64_MAX;
		return (uint64_t)x;
	}
	if (x < -9223372036854775808.0)
		return (uint64_t)INT64_MIN;
	if (x >= 9223372036854775808.0)
		return (uint64_t)INT64_MAX;
	return (uint64_t)(int64_t)x;
}

static union jit_value cvt(union jit_value a, enum jit_type from, enum jit_type to, bool u)
{
	union jit_value r;
	r.u64 = 0;
	switch (to) {
	case JIT_I32:
		if (from == JIT_I64)
			r.u32 = (uint32_t)a.u64;
		else
			r.u32 = (uint32_t)trunc_sat(from == JIT_F32 ? (double)a.f32 : a.f64, to, u);
		break;
	case JIT_I64:
		if (from == JIT_I32)
			r.u64 = u ? (uint64_t)a.u32 : (uint64_t)(int64_t)a.i32;
		else
			r.u64 = trunc_sat(from == JIT_F32 ? (double)a.f32 : a.f64, to, u);
		break;
	case JIT_F32:
		if (from == JIT_I32)
			r.f32 = u ? (float)a.u32 : (float)a.i32;
		else if (from == JIT_I64)
			r.f32 = u ? (float)a.u64 : (float)a.i64;
		else
			r.f32 = canon_f((float)a.f64);
		break;
	case JIT_F64:
		if (from == JIT_I32)
			r.f64 = u ? (double)a.u32 : (double)a.i32;
		else if (from == JIT_I64)
			r.f64 = u ? (double)a.u64 : (double)a.i64;
		else
			r.f64 = canon_d((double)a.f32);
		break;
	}
	return r;
}

static int cmp_int(uint64_t a, uint64_t b, bool wide, bool u)
{
	if (u) {
		if (!wide)
			a = (uint32_t)a, b = (uint32_t)b;
		return a < b ? -1 : a > b;
	}
	int64_t sa = wide ? (int64_t)a : (int64_t)(int32_t)a;
	int64_t sb = wide ? (int64_t)b : (int64_t)(int32_t)b;
	return sa < sb ? -1 : sa > sb;
}

static bool compare(unsigned op, union jit_value a, union jit_value b, enum jit_type t, bool u)
{
	if (t == JIT_F32 || t == JIT_F64) {
		double x = t == JIT_F32 ? (double)a.f32 : a.f64;
		double y = t == JIT_F32 ? (double)b.f32 : b.f64;
		switch (op) {
		case JIT_OP_EQ:
			return x == y;
		case JIT_OP_NE:
			return x != y;
		case JIT_OP_LT:
			return x < y;
		case JIT_OP_LE:
			return x <= y;
		case JIT_OP_GT:
			return x > y;
		default:
			return x >= y;
		}
	}
	int c = cmp_int(a.u64, b.u64, t == JIT_I64, u);
	switch (op) {
	case JIT_OP_EQ:
		return c == 0;
	case JIT_OP_NE:
		return c != 0;
	case JIT_OP_LT:
		return c < 0;
	case JIT_OP_LE:
		return c <= 0;
	case JIT_OP_GT:
		return c > 0;
	default:
		return c >= 0;
	}
}

/* Integer binary op on a 64-bit container; 32-bit results are kept zero-extended. */
static uint64_t int_binop(unsigned op, uint64_t a, uint64_t b, bool wide, bool u)
{
	uint64_t mask = wide ? UINT64_MAX : UINT32_MAX;
	unsigned width = wide ? 64 : 32;
	int64_t sa = wide ? (int64_t)a : (int64_t)(int32_t)a;
	int64_t sb = wide ? (int64_t)b : (int64_t)(int32_t)b;
	uint64_t r = 0;
	switch (op) {
	case JIT_OP_ADD:
		r = a + b;
		break;
	case JIT_OP_SUB:
		r = a - b;
		break;
	case JIT_OP_MUL:
		r = a * b;
		break;
	case JIT_OP_DIV:
		/* Zero and INT_MIN/-1 divisors were refused before the run. */
		if (u)
			r = (a & mask) / (b & mask);
		else
			r = (uint64_t)(sa / sb);
		break;
	case JIT_OP_REM:
		if (u)
			r = (a & mask) % (b & mask);
		else
			r = sb == -1 ? 0 : (uint64_t)(sa % sb);
		break;
	case JIT_OP_AND:
		r = a & b;
		break;
	case JIT_OP_OR:
		r = a | b;
		break;
	case JIT_OP_XOR:
		r = a ^ b;
		break;
	case JIT_OP_SHL:
		r = a << (b & (width - 1));
		break;
	case JIT_OP_SHR:
		if (u)
			r = (a & mask) >> (b & (width - 1));
		else
			r = (uint64_t)(sa >> (b & (width - 1)));
		break;
	case JIT_OP_MIN:
		r = cmp_int(a, b, wide, u) <= 0 ? a : b;
		break;
	case JIT_OP_MAX:
		r = cmp_int(a, b, wide, u) >= 0 ? a : b;
		break;
	}
	return r & mask;
}

static union jit_value float_binop(unsigned op, union jit_value a, union jit_value b,
				   enum jit_type t)
{
	union jit_value r;
	r.u64 = 0;
	if (t == JIT_F32) {
		float x = a.f32, y = b.f32, z = 0;
		switch (op) {
		case JIT_OP_ADD:
			z = x + y;
			break;
		case JIT_OP_SUB:
			z = x - y;
			break;
		case JIT_OP_MUL:
			z = x * y;
			break;
		case JIT_OP_DIV:
			z = x / y;
			break;
		case JIT_OP_MIN:
			z = jit_wasm_fminf(x, y);
			break;
		case JIT_OP_MAX:
			z = jit_wasm_fmaxf(x, y);
			break;
		}
		r.f32 = canon_f(z);
	} else {
		double x = a.f64, y = b.f64, z = 0;
		switch (op) {
		case JIT_OP_ADD:
			z = x + y;
			break;
		case JIT_OP_SUB:
			z = x - y;
			break;
		case JIT_OP_MUL:
			z = x * y;
			break;
		case JIT_OP_DIV:
			z = x / y;
			break;
		case JIT_OP_MIN:
			z = jit_wasm_fmin(x, y);
			break;
		case JIT_OP_MAX:
			z = jit_wasm_fmax(x, y);
			break;
		}
		r.f64 = canon_d(z);
	}
	return r;
}

static union jit_value load(const void *base, uint64_t i, enum jit_type t)
{
	union jit_value v;
	v.u64 = 0;
	size_t sz = jit_type_size(t);
	memcpy(&v, (const uint8_t *)base + i * sz, sz);
	return v;
}

/* One operation node (not INPUT, PARAM, CONST or INDEX) on its operands' values. */
static inline union jit_value node_op(const struct jit_blueprint *bp, const struct jit_node *n,
				      union jit_value a, union jit_value b, union jit_value c)
{
	enum jit_type t = (enum jit_type)n->type;
	bool u = n->flags & JIT_F_UNSIGNED;
	bool fl = jit_type_is_float(t);
	union jit_value r;
	r.u64 = 0;
	switch (n->op) {
	case JIT_OP_ADD:
	case JIT_OP_SUB:
	case JIT_OP_MUL:
	case JIT_OP_DIV:
	case JIT_OP_MIN:
	case JIT_OP_MAX:
		if (fl) {
			r = float_binop(n->op, a, b, t);
			break;
		}
		/* fall through */
	case JIT_OP_REM:
	case JIT_OP_AND:
	case JIT_OP_OR:
	case JIT_OP_XOR:
	case JIT_OP_SHL:
	case JIT_OP_SHR:
		r.u64 = int_binop(n->op, a.u64, b.u64, t == JIT_I64, u);
		break;
	case JIT_OP_NEG:
		if (t == JIT_F32)
			r.u32 = a.u32 ^ 0x80000000u;
		else if (t == JIT_F64)
			r.u64 = a.u64 ^ 0x8000000000000000ull;
		else
			r.u64 = (0 - a.u64) & (t == JIT_I64 ? UINT64_MAX : UINT32_MAX);
		break;
	case JIT_OP_ABS:
		if (t == JIT_F32)
			r.u32 = a.u32 & 0x7fffffffu;
		else if (t == JIT_F64)
			r.u64 = a.u64 & 0x7fffffffffffffffull;
		else if (t == JIT_I32)
			r.u32 = a.i32 < 0 ? 0u - a.u32 : a.u32;
		else
			r.u64 = a.i64 < 0 ? 0 - a.u64 : a.u64;
		break;
	case JIT_OP_SQRT:
		if (t == JIT_F32)
			r.f32 = canon_f(sqrtf(a.f32));
		else
			r.f64 = canon_d(sqrt(a.f64));
		break;
	case JIT_OP_EQ:
	case JIT_OP_NE:
	case JIT_OP_LT:
	case JIT_OP_LE:
	case JIT_OP_GT:
	case JIT_OP_GE:
		r.u32 = compare(n->op, a, b, (enum jit_type)bp->nodes[n->a].type, u);
		break;
	case JIT_OP_SELECT:
		r = a.u32 ? b : c;
		break;
	case JIT_OP_CVT:
		r = cvt(a, (enum jit_type)bp->nodes[n->a].type, t, u);
		break;
	}
	return r;
}

static union jit_value eval(const struct jit_blueprint *bp, const struct jit_args *args,
			    uint64_t i, union jit_value *vals)
{
	for (unsigned k = 0; k < bp->n_nodes; k++) {
		const struct jit_node *n = &bp->nodes[k];
		enum jit_type t = (enum jit_type)n->type;
		union jit_value r;
		r.u64 = 0;
		switch (n->op) {
		case JIT_OP_INPUT:
			r = load(args->inputs[n->imm], i, t);
			break;
		case JIT_OP_PARAM:
			r = args->params[n->imm];
			if (jit_type_size(t) == 4)
				r.u64 = r.u32;
			break;
		case JIT_OP_CONST:
			r.u64 = n->imm;
			break;
		case JIT_OP_INDEX:
			r.u64 = t == JIT_I32 ? (uint32_t)i : i;
			break;
		default:
			r = node_op(bp, n, vals[n->a], vals[n->b], vals[n->c]);
			break;
		}
		vals[k] = r;
	}
	return vals[bp->n_nodes - 1];
}

static union jit_value reduce_step(const struct jit_blueprint *bp, union jit_value acc,
				   union jit_value v)
{
	enum jit_type t = (enum jit_type)bp->out_type;
	bool u = bp->reduce_flags & JIT_F_UNSIGNED;
	if (jit_type_is_float(t)) {
		unsigned op = bp->reduce_op == JIT_RED_SUM   ? JIT_OP_ADD
			      : bp->reduce_op == JIT_RED_MIN ? JIT_OP_MIN
							     : JIT_OP_MAX;
		return float_binop(op, acc, v, t);
	}
	static const unsigned ops[] = {
		[JIT_RED_SUM] = JIT_OP_ADD, [JIT_RED_MIN] = JIT_OP_MIN, [JIT_RED_MAX] = JIT_OP_MAX,
		[JIT_RED_AND] = JIT_OP_AND, [JIT_RED_OR] = JIT_OP_OR,   [JIT_RED_XOR] = JIT_OP_XOR,
	};
	union jit_value r;
	r.u64 = int_binop(ops[bp->reduce_op], acc.u64, v.u64, t == JIT_I64, u);
	return r;
}

enum tw_err jit_host_run(const struct jit_blueprint *bp, const struct jit_args *args)
{
	enum tw_err err = jit_blueprint_check_launch(bp, args->inputs, args->params, args->n, NULL,
						     0);
	if (err != TW_ERR_OK)
		return err;
	union jit_value vals[JIT_NODES_MAX];
	memset(vals, 0, sizeof(vals));
	size_t osz = jit_type_size((enum jit_type)bp->out_type);
	if (bp->kind == JIT_REDUCE) {
		union jit_value acc = args->reduce_init;
		if (osz == 4)
			acc.u64 = acc.u32;
		for (uint64_t i = 0; i < args->n; i++)
			acc = reduce_step(bp, acc, eval(bp, args, i, vals));
		memcpy(args->out, &acc, osz);
		return TW_ERR_OK;
	}
	for (uint64_t i = 0; i < args->n; i++) {
		union jit_value r = eval(bp, args, i, vals);
		memcpy((uint8_t *)args->out + i * osz, &r, osz);
	}
	return TW_ERR_OK;
}

/* ---- the block executor ----------------------------------------------------------------- */

/* Elements per block: one column of 8-byte values per node stays in L1/L2 (64 nodes x 256 x 8 =
 * 128 KiB per thread at most), and the per-node dispatch is paid once per block. */
#define BLOCK 256

static _Thread_local union jit_value cols[JIT_NODES_MAX][BLOCK];

/* Fill column r with node n over elements [base, base + m). Common operations have their own
 * loops (the compiler vectorises them); the rest go through node_op per element. */
static void block_node(const struct jit_blueprint *bp, const struct jit_args *args, unsigned k,
		       uint64_t base, unsigned m)
{
	const struct jit_node *n = &bp->nodes[k];
	enum jit_type t = (enum jit_type)n->type;
	union jit_value *restrict r = cols[k];
	const union jit_value *a = cols[n->a], *b = cols[n->b], *c = cols[n->c];
	switch (n->op) {
	case JIT_OP_INPUT: {
		const uint8_t *p = args->inputs[n->imm];
		if (jit_type_size(t) == 4) {
			p += base * 4;
			for (unsigned j = 0; j < m; j++) {
				uint32_t v;
				memcpy(&v, p + 4 * j, 4);
				r[j].u64 = v;
			}
		} else {
			p += base * 8;
			for (unsigned j = 0; j < m; j++)
				memcpy(&r[j].u64, p + 8 * j, 8);
		}
		return;
	}
	case JIT_OP_PARAM:
	case JIT_OP_CONST: {
		uint64_t v = n->op == JIT_OP_CONST ? n->imm : args->params[n->imm].u64;
		if (jit_type_size(t) == 4)
			v = (uint32_t)v;
		for (unsigned j = 0; j < m; j++)
			r[j].u64 = v;
		return;
	}
	case JIT_OP_INDEX:
		for (unsigned j = 0; j < m; j++)
			r[j].u64 = t == JIT_I32 ? (uint32_t)(base + j) : base + j;
		return;
	default:
		break;
	}
#define LOOP_F32(expr)                                                                    \
	for (unsigned j = 0; j < m; j++) {                                                \
		float x = a[j].f32, y = b[j].f32, z = (expr);                             \
		r[j].u64 = z != z ? CANON_F32 : fbits(z);                                 \
	}                                                                                 \
	return
#define LOOP_F64(expr)                                                                    \
	for (unsigned j = 0; j < m; j++) {                                                \
		double x = a[j].f64, y = b[j].f64, z = (expr);                            \
		r[j].u64 = z != z ? CANON_F64 : dbits(z);                                 \
	}                                                                                 \
	return
#define LOOP_INT(expr)                                                                    \
	if (t == JIT_I32) {                                                               \
		for (unsigned j = 0; j < m; j++) {                                        \
			uint32_t x = a[j].u32, y = b[j].u32;                              \
			r[j].u64 = (uint32_t)(expr);                                      \
		}                                                                         \
	} else {                                                                          \
		for (unsigned j = 0; j < m; j++) {                                        \
			uint64_t x = a[j].u64, y = b[j].u64;                              \
			r[j].u64 = (expr);                                                \
		}                                                                         \
	}                                                                                 \
	return
	if (t == JIT_F32) {
		switch (n->op) {
		case JIT_OP_ADD: LOOP_F32(x + y);
		case JIT_OP_SUB: LOOP_F32(x - y);
		case JIT_OP_MUL: LOOP_F32(x * y);
		case JIT_OP_DIV: LOOP_F32(x / y);
		default: break;
		}
	} else if (t == JIT_F64) {
		switch (n->op) {
		case JIT_OP_ADD: LOOP_F64(x + y);
		case JIT_OP_SUB: LOOP_F64(x - y);
		case JIT_OP_MUL: LOOP_F64(x * y);
		case JIT_OP_DIV: LOOP_F64(x / y);
		default: break;
		}
	} else {
		switch (n->op) {
		case JIT_OP_ADD: LOOP_INT(x + y);
		case JIT_OP_SUB: LOOP_INT(x - y);
		case JIT_OP_MUL: LOOP_INT(x * y);
		case JIT_OP_AND: LOOP_INT(x & y);
		case JIT_OP_OR: LOOP_INT(x | y);
		case JIT_OP_XOR: LOOP_INT(x ^ y);
		default: break;
		}
	}
	if (n->op == JIT_OP_SHL || n->op == JIT_OP_SHR) {
		bool u = n->flags & JIT_F_UNSIGNED;
		if (n->op == JIT_OP_SHL) {
			LOOP_INT(x << (y & (t == JIT_I32 ? 31 : 63)));
		} else if (t == JIT_I32) {
			for (unsigned j = 0; j < m; j++)
				r[j].u64 = u ? a[j].u32 >> (b[j].u32 & 31)
					     : (uint32_t)(a[j].i32 >> (b[j].u32 & 31));
		} else {
			for (unsigned j = 0; j < m; j++)
				r[j].u64 = u ? a[j].u64 >> (b[j].u64 & 63)
					     : (uint64_t)(a[j].i64 >> (b[j].u64 & 63));
		}
		return;
	}
#undef LOOP_F32
#undef LOOP_F64
#undef LOOP_INT
	if (n->op >= JIT_OP_EQ && n->op <= JIT_OP_GE) {
		enum jit_type at = (enum jit_type)bp->nodes[n->a].type;
		bool u = n->flags & JIT_F_UNSIGNED;
#define CMP(F)                                                                            \
	switch (n->op) {                                                                  \
	case JIT_OP_EQ: for (unsigned j = 0; j < m; j++) r[j].u64 = a[j].F == b[j].F; return; \
	case JIT_OP_NE: for (unsigned j = 0; j < m; j++) r[j].u64 = a[j].F != b[j].F; return; \
	case JIT_OP_LT: for (unsigned j = 0; j < m; j++) r[j].u64 = a[j].F < b[j].F; return;  \
	case JIT_OP_LE: for (unsigned j = 0; j < m; j++) r[j].u64 = a[j].F <= b[j].F; return; \
	case JIT_OP_GT: for (unsigned j = 0; j < m; j++) r[j].u64 = a[j].F > b[j].F; return;  \
	default: for (unsigned j = 0; j < m; j++) r[j].u64 = a[j].F >= b[j].F; return;         \
	}
		if (at == JIT_F32) {
			CMP(f32)
		} else if (at == JIT_F64) {
			CMP(f64)
		} else if (at == JIT_I32) {
			if (u) {
				CMP(u32)
			} else {
				CMP(i32)
			}
		} else if (u) {
			CMP(u64)
		} else {
			CMP(i64)
		}
#undef CMP
	}
	if (n->op == JIT_OP_SELECT) {
		for (unsigned j = 0; j < m; j++)
			r[j] = a[j].u32 ? b[j] : c[j];
		return;
	}
	for (unsigned j = 0; j < m; j++)
		r[j] = node_op(bp, n, a[j], b[j], c[j]);
}

enum tw_err jit_host_run_blocks(const struct jit_blueprint *bp, const struct jit_args *args)
{
	enum tw_err err = jit_blueprint_check_launch(bp, args->inputs, args->params, args->n, NULL,
						     0);
	if (err != TW_ERR_OK)
		return err;
	size_t osz = jit_type_size((enum jit_type)bp->out_type);
	union jit_value acc = args->reduce_init;
	if (osz == 4)
		acc.u64 = acc.u32;
	const union jit_value *root = cols[bp->n_nodes - 1];
	for (uint64_t base = 0; base < args->n; base += BLOCK) {
		unsigned m = args->n - base < BLOCK ? (unsigned)(args->n - base) : BLOCK;
		for (unsigned k = 0; k < bp->n_nodes; k++)
			block_node(bp, args, k, base, m);
		if (bp->kind == JIT_REDUCE) {
			/* wrapping sums and bitwise folds commute: fold the block, then mask */
			uint64_t mask = osz == 4 ? UINT32_MAX : UINT64_MAX, v = acc.u64;
			switch (jit_type_is_float((enum jit_type)bp->out_type) ? 0 : bp->reduce_op) {
			case JIT_RED_SUM:
				for (unsigned j = 0; j < m; j++)
					v += root[j].u64;
				acc.u64 = v & mask;
				continue;
			case JIT_RED_XOR:
				for (unsigned j = 0; j < m; j++)
					v ^= root[j].u64;
				acc.u64 = v & mask;
				continue;
			default:
				break;
			}
			for (unsigned j = 0; j < m; j++)
				acc = reduce_step(bp, acc, root[j]);
			continue;
		}
		uint8_t *out = (uint8_t *)args->out + base * osz;
		if (osz == 4)
			for (unsigned j = 0; j < m; j++)
				memcpy(out + 4 * j, &root[j].u32, 4);
		else
			for (unsigned j = 0; j < m; j++)
				memcpy(out + 8 * j, &root[j].u64, 8);
	}
	if (bp->kind == JIT_REDUCE)
		memcpy(args->out, &acc, osz);
	return TW_ERR_OK;
}
