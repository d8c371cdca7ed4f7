/* jit_ir.c — blueprint validation, launch-time trap decision, canonical serialisation, keys. */
#include "jit/jit_ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/hash.h"

static const char *const op_names[] = {
#define JIT_OP_NAME(name, str, n) [JIT_OP_##name] = str,
	JIT_OP_LIST(JIT_OP_NAME)
#undef JIT_OP_NAME
};

static const uint8_t op_arity[] = {
#define JIT_OP_ARITY(name, str, n) [JIT_OP_##name] = n,
	JIT_OP_LIST(JIT_OP_ARITY)
#undef JIT_OP_ARITY
};

size_t jit_type_size(enum jit_type t)
{
	switch (t) {
	case JIT_I32:
	case JIT_F32:
		return 4;
	case JIT_I64:
	case JIT_F64:
		return 8;
	}
	return 0;
}

const char *jit_type_str(enum jit_type t)
{
	switch (t) {
	case JIT_I32:
		return "i32";
	case JIT_I64:
		return "i64";
	case JIT_F32:
		return "f32";
	case JIT_F64:
		return "f64";
	}
	return "?";
}

bool jit_type_is_float(enum jit_type t)
{
	return t == JIT_F32 || t == JIT_F64;
}

static bool type_ok(unsigned t)
{
	return t >= JIT_I32 && t <= JIT_F64;
}

static bool is_int(unsigned t)
{
	return t == JIT_I32 || t == JIT_I64;
}

const char *jit_op_str(enum jit_op op)
{
	if ((unsigned)op >= JIT_OP__COUNT)
		return "?";
	return op_names[op];
}

static enum tw_err fail(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum tw_err fail(char *why, size_t cap, const char *fmt, ...)
{
	if (why && cap) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return TW_ERR_INVALID_ARG;
}

/* Ops for which JIT_F_UNSIGNED means something (and then only with an integer involved). */
static bool op_takes_unsigned(unsigned op)
{
	switch (op) {
	case JIT_OP_DIV:
	case JIT_OP_REM:
	case JIT_OP_SHR:
	case JIT_OP_MIN:
	case JIT_OP_MAX:
	case JIT_OP_LT:
	case JIT_OP_LE:
	case JIT_OP_GT:
	case JIT_OP_GE:
	case JIT_OP_CVT:
		return true;
	default:
		return false;
	}
}

static bool is_compare(unsigned op)
{
	return op >= JIT_OP_EQ && op <= JIT_OP_GE;
}

enum tw_err jit_blueprint_validate(const struct jit_blueprint *bp, bool allow_float_reduce,
				   char *why, size_t cap)
{
	if (bp->n_inputs < 1 || bp->n_inputs > JIT_INPUTS_MAX)
		return fail(why, cap, "inputs: %u (1..%d)", bp->n_inputs, JIT_INPUTS_MAX);
	if (bp->n_params > JIT_PARAMS_MAX)
		return fail(why, cap, "params: %u (0..%d)", bp->n_params, JIT_PARAMS_MAX);
	if (bp->n_nodes < 1 || bp->n_nodes > JIT_NODES_MAX)
		return fail(why, cap, "nodes: %u (1..%d)", bp->n_nodes, JIT_NODES_MAX);
	if (!type_ok(bp->out_type))
		return fail(why, cap, "bad output type %u", bp->out_type);
	for (unsigned i = 0; i < bp->n_inputs; i++)
		if (!type_ok(bp->in_type[i]))
			return fail(why, cap, "bad type of input %u", i);
	for (unsigned i = 0; i < bp->n_params; i++)
		if (!type_ok(bp->param_type[i]))
			return fail(why, cap, "bad type of param %u", i);
	if (bp->kind == JIT_MAP) {
		if (bp->reduce_op != JIT_RED_NONE || bp->reduce_flags)
			return fail(why, cap, "a map has no reduction");
	} else if (bp->kind == JIT_REDUCE) {
		if (bp->reduce_op < JIT_RED_SUM || bp->reduce_op > JIT_RED_XOR)
			return fail(why, cap, "bad reduction %u", bp->reduce_op);
		if (bp->reduce_flags & ~JIT_F_UNSIGNED)
			return fail(why, cap, "bad reduction flags");
		if (bp->reduce_flags &&
		    !(bp->reduce_op == JIT_RED_MIN || bp->reduce_op == JIT_RED_MAX))
			return fail(why, cap, "unsigned only applies to min/max reductions");
		if (jit_type_is_float(bp->out_type)) {
			if (!allow_float_reduce)
				return fail(why, cap, "float reductions depend on evaluation order");
			if (bp->reduce_op >= JIT_RED_AND || bp->reduce_flags)
				return fail(why, cap, "bitwise reduction over floats");
		}
	} else {
		return fail(why, cap, "bad kind %u", bp->kind);
	}

	for (unsigned i = 0; i < bp->n_nodes; i++) {
		const struct jit_node *n = &bp->nodes[i];
		if (n->op >= JIT_OP__COUNT)
			return fail(why, cap, "node %u: bad op %u", i, n->op);
		if (!type_ok(n->type))
			return fail(why, cap, "node %u: bad type %u", i, n->type);
		if (n->pad || (n->flags & ~JIT_F_UNSIGNED))
			return fail(why, cap, "node %u: reserved bits set", i);
		unsigned ar = op_arity[n->op];
		uint16_t ops[3] = {n->a, n->b, n->c};
		for (unsigned k = 0; k < 3; k++) {
			if (k < ar && ops[k] >= i)
				return fail(why, cap, "node %u: operand %u is not an earlier node", i,
					    k);
			if (k >= ar && ops[k] != 0)
				return fail(why, cap, "node %u: unused operand set", i);
		}
		if (ar > 0 && n->imm != 0)
			return fail(why, cap, "node %u: immediate on an operation", i);
		unsigned t = n->type;
		unsigned ta = ar > 0 ? bp->nodes[n->a].type : 0;
		unsigned tb = ar > 1 ? bp->nodes[n->b].type : 0;
		unsigned tc = ar > 2 ? bp->nodes[n->c].type : 0;
		if (n->flags & JIT_F_UNSIGNED) {
			bool ok = op_takes_unsigned(n->op) &&
				  (n->op == JIT_OP_CVT ? (is_int(t) || is_int(ta))
						       : is_int(is_compare(n->op) ? ta : t));
			if (ok && n->op == JIT_OP_CVT && is_int(t) && is_int(ta) && t == JIT_I32)
				ok = false; /* wrap has no sign */
			if (!ok)
				return fail(why, cap, "node %u: unsigned flag not meaningful", i);
		}
		switch (n->op) {
		case JIT_OP_INPUT:
			if (n->imm >= bp->n_inputs || bp->in_type[n->imm] != t)
				return fail(why, cap, "node %u: bad input reference", i);
			break;
		case JIT_OP_PARAM:
			if (n->imm >= bp->n_params || bp->param_type[n->imm] != t)
				return fail(why, cap, "node %u: bad param reference", i);
			break;
		case JIT_OP_CONST:
			if (jit_type_size(t) == 4 && (n->imm >> 32) != 0)
				return fail(why, cap, "node %u: 32-bit constant has high bits", i);
			break;
		case JIT_OP_INDEX:
			if (!is_int(t) || n->imm)
				return fail(why, cap, "node %u: index is i32 or i64", i);
			break;
		case JIT_OP_ADD:
		case JIT_OP_SUB:
		case JIT_OP_MUL:
		case JIT_OP_MIN:
		case JIT_OP_MAX:
			if (ta != t || tb != t)
				return fail(why, cap, "node %u: %s operand types", i, op_names[n->op]);
			break;
		case JIT_OP_DIV:
		case JIT_OP_REM: {
			if (ta != t || tb != t)
				return fail(why, cap, "node %u: %s operand types", i, op_names[n->op]);
			if (n->op == JIT_OP_REM && !is_int(t))
				return fail(why, cap, "node %u: rem is integer only", i);
			unsigned dop = bp->nodes[n->b].op;
			if (is_int(t) && dop != JIT_OP_CONST && dop != JIT_OP_PARAM &&
			    dop != JIT_OP_INPUT)
				return fail(why, cap,
					    "node %u: integer divisor must be a constant, a parameter "
					    "or an input (traps are decided before launch)",
					    i);
			break;
		}
		case JIT_OP_AND:
		case JIT_OP_OR:
		case JIT_OP_XOR:
		case JIT_OP_SHL:
		case JIT_OP_SHR:
			if (!is_int(t) || ta != t || tb != t)
				return fail(why, cap, "node %u: %s needs integers of one type", i,
					    op_names[n->op]);
			break;
		case JIT_OP_NEG:
		case JIT_OP_ABS:
			if (ta != t)
				return fail(why, cap, "node %u: operand type", i);
			break;
		case JIT_OP_SQRT:
			if (ta != t || !jit_type_is_float(t))
				return fail(why, cap, "node %u: sqrt is float only", i);
			break;
		case JIT_OP_EQ:
		case JIT_OP_NE:
		case JIT_OP_LT:
		case JIT_OP_LE:
		case JIT_OP_GT:
		case JIT_OP_GE:
			if (t != JIT_I32 || ta != tb)
				return fail(why, cap, "node %u: comparison types", i);
			break;
		case JIT_OP_SELECT:
			if (ta != JIT_I32 || tb != t || tc != t)
				return fail(why, cap, "node %u: select types", i);
			break;
		case JIT_OP_CVT:
			if (ta == t)
				return fail(why, cap, "node %u: conversion to the same type", i);
			break;
		}
	}
	if (bp->nodes[bp->n_nodes - 1].type != bp->out_type)
		return fail(why, cap, "root type %s is not the output type %s",
			    jit_type_str(bp->nodes[bp->n_nodes - 1].type), jit_type_str(bp->out_type));
	return TW_ERR_OK;
}

static bool divisor_may_trap(const struct jit_blueprint *bp, const struct jit_node *n,
			     const void *const *inputs, const union jit_value *params, uint64_t n_el)
{
	const struct jit_node *d = &bp->nodes[n->b];
	bool minus_one_traps = n->op == JIT_OP_DIV && !(n->flags & JIT_F_UNSIGNED);
	bool wide = n->type == JIT_I64;
	int64_t v;
	switch (d->op) {
	case JIT_OP_CONST:
		v = wide ? (int64_t)d->imm : (int64_t)(int32_t)(uint32_t)d->imm;
		return v == 0 || (minus_one_traps && v == -1);
	case JIT_OP_PARAM:
		v = wide ? params[d->imm].i64 : params[d->imm].i32;
		return v == 0 || (minus_one_traps && v == -1);
	case JIT_OP_INPUT:
		for (uint64_t i = 0; i < n_el; i++) {
			v = wide ? ((const int64_t *)inputs[d->imm])[i]
				 : ((const int32_t *)inputs[d->imm])[i];
			if (v == 0 || (minus_one_traps && v == -1))
				return true;
		}
		return false;
	default:
		return true; /* validation forbids it; refuse rather than guess */
	}
}

enum tw_err jit_blueprint_check_launch(const struct jit_blueprint *bp, const void *const *inputs,
				       const union jit_value *params, uint64_t n, char *why,
				       size_t cap)
{
	if (n == 0)
		return TW_ERR_OK;
	for (unsigned i = 0; i < bp->n_nodes; i++) {
		const struct jit_node *nd = &bp->nodes[i];
		if ((nd->op != JIT_OP_DIV && nd->op != JIT_OP_REM) || !is_int(nd->type))
			continue;
		if (divisor_may_trap(bp, nd, inputs, params, n)) {
			if (why && cap)
				snprintf(why, cap,
					 "node %u: %s by zero%s may trap; the interpreter runs it", i,
					 op_names[nd->op],
					 nd->op == JIT_OP_DIV && !(nd->flags & JIT_F_UNSIGNED)
						 ? " or -1"
						 : "");
			return TW_ERR_WASM_TRAP;
		}
	}
	return TW_ERR_OK;
}

union jit_value jit_reduce_identity(enum jit_reduce_op op, unsigned flags, enum jit_type t)
{
	union jit_value v;
	memset(&v, 0, sizeof(v));
	bool u = flags & JIT_F_UNSIGNED;
	bool w = t == JIT_I64;
	switch (op) {
	case JIT_RED_AND:
		v.u64 = w ? UINT64_MAX : UINT32_MAX;
		break;
	case JIT_RED_MIN:
		if (t == JIT_F32)
			v.f32 = __builtin_inff();
		else if (t == JIT_F64)
			v.f64 = __builtin_inf();
		else if (w)
			v.u64 = u ? UINT64_MAX : (uint64_t)INT64_MAX;
		else
			v.u32 = u ? UINT32_MAX : (uint32_t)INT32_MAX;
		break;
	case JIT_RED_MAX:
		if (t == JIT_F32)
			v.f32 = -__builtin_inff();
		else if (t == JIT_F64)
			v.f64 = -__builtin_inf();
		else if (w)
			v.u64 = u ? 0 : (uint64_t)INT64_MIN;
		else
			v.u32 = u ? 0 : (uint32_t)INT32_MIN;
		break;
	default:
		break;
	}
	return v;
}

static size_t put(uint8_t *out, size_t cap, size_t at, uint64_t v, unsigned bytes)
{
	for (unsigned k = 0; k < bytes; k++)
		if (at + k < cap)
			out[at + k] = (uint8_t)(v >> (8 * k));
	return at + bytes;
}

size_t jit_blueprint_serialize(const struct jit_blueprint *bp, uint8_t *out, size_t cap)
{
	/* Two passes would be wasteful: write while counting, and report the need at the end. */
	size_t at = 0;
	at = put(out, cap, at, 0x31425754u, 4); /* "TWB1" */
	at = put(out, cap, at, bp->kind, 1);
	at = put(out, cap, at, bp->reduce_op, 1);
	at = put(out, cap, at, bp->reduce_flags, 1);
	at = put(out, cap, at, bp->out_type, 1);
	at = put(out, cap, at, bp->n_inputs, 1);
	for (unsigned i = 0; i < bp->n_inputs; i++)
		at = put(out, cap, at, bp->in_type[i], 1);
	at = put(out, cap, at, bp->n_params, 1);
	for (unsigned i = 0; i < bp->n_params; i++)
		at = put(out, cap, at, bp->param_type[i], 1);
	at = put(out, cap, at, bp->n_nodes, 2);
	for (unsigned i = 0; i < bp->n_nodes; i++) {
		const struct jit_node *n = &bp->nodes[i];
		at = put(out, cap, at, n->op, 1);
		at = put(out, cap, at, n->type, 1);
		at = put(out, cap, at, n->flags, 1);
		unsigned ar = n->op < JIT_OP__COUNT ? op_arity[n->op] : 0;
		uint16_t ops[3] = {n->a, n->b, n->c};
		for (unsigned k = 0; k < ar; k++)
			at = put(out, cap, at, ops[k], 2);
		if (ar == 0)
			at = put(out, cap, at, n->imm, 8);
	}
	return at;
}

uint64_t jit_blueprint_key(const struct jit_blueprint *bp, const char *arch)
{
	uint8_t buf[JIT_SERIAL_BYTES_MAX + 64];
	if (jit_blueprint_validate(bp, true, NULL, 0) != TW_ERR_OK)
		return 0; /* never a real key: callers validate first */
	size_t n = jit_blueprint_serialize(bp, buf, JIT_SERIAL_BYTES_MAX);
	size_t alen = strlen(arch);
	if (n > JIT_SERIAL_BYTES_MAX || alen > 32)
		return 0;
	buf[n++] = (uint8_t)alen;
	memcpy(buf + n, arch, alen);
	n += alen;
	n = put(buf, sizeof(buf), n, JIT_EMITTER_VERSION, 4);
	return tw_hash64(buf, n);
}

void jit_bp_init(struct jit_blueprint *bp, const char *name, enum jit_kind kind,
		 enum jit_type out_type, unsigned n_inputs, const enum jit_type *in,
		 unsigned n_params, const enum jit_type *params)
{
	memset(bp, 0, sizeof(*bp));
	snprintf(bp->name, sizeof(bp->name), "%s", name);
	bp->kind = (uint8_t)kind;
	bp->out_type = (uint8_t)out_type;
	bp->n_inputs = (uint8_t)n_inputs;
	for (unsigned i = 0; i < n_inputs && i < JIT_INPUTS_MAX; i++)
		bp->in_type[i] = (uint8_t)in[i];
	bp->n_params = (uint8_t)n_params;
	for (unsigned i = 0; i < n_params && i < JIT_PARAMS_MAX; i++)
		bp->param_type[i] = (uint8_t)params[i];
}

uint16_t jit_bp_node(struct jit_blueprint *bp, enum jit_op op, enum jit_type type, unsigned flags,
		     uint16_t a, uint16_t b, uint16_t c, uint64_t imm)
{
	if (bp->n_nodes >= JIT_NODES_MAX) {
		bp->n_nodes = JIT_NODES_MAX + 1; /* poison: validation reports it */
		return JIT_NODES_MAX;
	}
	struct jit_node *n = &bp->nodes[bp->n_nodes];
	n->op = (uint8_t)op;
	n->type = (uint8_t)type;
	n->flags = (uint8_t)flags;
	n->a = a;
	n->b = b;
	n->c = c;
	n->imm = imm;
	return bp->n_nodes++;
}

uint64_t jit_f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

uint64_t jit_f64_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}
