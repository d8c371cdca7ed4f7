/* jit_ptx.c — blueprint to PTX text; see jit_ptx.h for the kernel contract. */
#include "jit/jit_ptx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

static const struct jit_arch arches[] = {
	/* Lowest PTX ISA version that supports each target (PTX ISA release notes). */
	{"sm_70", 70, 6, 0},  {"sm_75", 75, 6, 3},  {"sm_80", 80, 7, 0},   {"sm_86", 86, 7, 1},
	{"sm_87", 87, 7, 4},  {"sm_89", 89, 7, 8},  {"sm_90", 90, 7, 8},   {"sm_100", 100, 8, 6},
	{"sm_120", 120, 8, 7},
};
#define NARCHES (sizeof(arches) / sizeof(arches[0]))

const struct jit_arch *jit_arch_find(const char *name)
{
	for (size_t i = 0; i < NARCHES; i++)
		if (strcmp(arches[i].name, name) == 0)
			return &arches[i];
	return NULL;
}

const struct jit_arch *jit_arch_for_cc(int major, int minor)
{
	int sm = major * 10 + minor;
	const struct jit_arch *best = NULL;
	for (size_t i = 0; i < NARCHES; i++)
		if ((int)arches[i].sm <= sm)
			best = &arches[i];
	return best;
}

void jit_ptx_entry_name(const struct jit_blueprint *bp, char out[48])
{
	size_t o = 0;
	memcpy(out, "tw_", 3);
	o = 3;
	for (size_t i = 0; i < sizeof(bp->name) && bp->name[i] && o < 47; i++) {
		char c = bp->name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_';
		out[o++] = ok ? c : '_';
	}
	out[o] = '\0';
}

/* ---- text buffer ---------------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	enum tw_err err;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	if (b->err)
		return;
	for (int attempt = 0; attempt < 2; attempt++) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = TW_ERR_INTERNAL;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t need = b->len + (size_t)n + 1;
		if (need > TW_JIT_PTX_BYTES_MAX) {
			b->err = TW_ERR_FULL;
			return;
		}
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < need)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->err = TW_ERR_NOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

/* ---- registers ------------------------------------------------------------------------ */

enum rclass { RC_P, RC_R, RC_RD, RC_F, RC_FD, RC__N };
static const char *const rc_prefix[RC__N] = {"%p", "%r", "%rd", "%f", "%fd"};
static const char *const rc_decl[RC__N] = {".pred", ".b32", ".b64", ".f32", ".f64"};

struct reg {
	uint8_t rc;
	uint16_t n;
};

struct kstate {
	struct sbuf *body;
	unsigned count[RC__N];
	struct reg val[JIT_NODES_MAX];
};

static struct reg new_reg(struct kstate *k, enum rclass rc)
{
	struct reg r = {(uint8_t)rc, (uint16_t)++k->count[rc]};
	return r;
}

/* Up to 4 register names live in one instruction; rotate through small static-free slots. */
struct rname {
	char s[16];
};

static struct rname R(struct reg r)
{
	struct rname n;
	snprintf(n.s, sizeof(n.s), "%s%u", rc_prefix[r.rc], r.n);
	return n;
}

static enum rclass rc_of(unsigned t)
{
	switch (t) {
	case JIT_I32:
		return RC_R;
	case JIT_I64:
		return RC_RD;
	case JIT_F32:
		return RC_F;
	default:
		return RC_FD;
	}
}

/* PTX type suffixes. */
static const char *bits_t(unsigned t)
{
	return jit_type_size((enum jit_type)t) == 4 ? "b32" : "b64";
}

static const char *int_t(unsigned t, bool u)
{
	if (t == JIT_I32)
		return u ? "u32" : "s32";
	return u ? "u64" : "s64";
}

static const char *float_t(unsigned t)
{
	return t == JIT_F32 ? "f32" : "f64";
}

static const char *val_t(unsigned t, bool u)
{
	return jit_type_is_float((enum jit_type)t) ? float_t(t) : int_t(t, u);
}

static const char *canon_imm(unsigned t)
{
	return t == JIT_F32 ? "0f7FC00000" : "0d7FF8000000000000";
}

#define EMIT(k, ...) sb_printf((k)->body, "\t" __VA_ARGS__)

/* NaN results of float arithmetic become the canonical NaN (see jit_ir.h). */
static void emit_canon(struct kstate *k, struct reg d, unsigned t)
{
	struct reg p = new_reg(k, RC_P);
	EMIT(k, "setp.nan.%s %s, %s, %s;\n", float_t(t), R(p).s, R(d).s, R(d).s);
	EMIT(k, "selp.%s %s, %s, %s, %s;\n", float_t(t), R(d).s, canon_imm(t), R(d).s, R(p).s);
}

/* wasm fmin/fmax: NaN if either operand is NaN; otherwise the smaller (larger) one, with equal
 * operands merged bitwise so that min(-0, +0) = -0 and max(-0, +0) = +0. */
static void emit_fminmax(struct kstate *k, struct reg d, struct reg a, struct reg b, unsigned t,
			 bool is_min)
{
	const char *ft = float_t(t), *bt = bits_t(t);
	enum rclass irc = t == JIT_F32 ? RC_R : RC_RD;
	struct reg ia = new_reg(k, irc), ib = new_reg(k, irc), p = new_reg(k, RC_P);
	EMIT(k, "mov.%s %s, %s;\n", bt, R(ia).s, R(a).s);
	EMIT(k, "mov.%s %s, %s;\n", bt, R(ib).s, R(b).s);
	EMIT(k, "%s.%s %s, %s, %s;\n", is_min ? "or" : "and", bt, R(ia).s, R(ia).s, R(ib).s);
	EMIT(k, "mov.%s %s, %s;\n", bt, R(d).s, R(ia).s);
	const char *cc = is_min ? "lt" : "gt";
	EMIT(k, "setp.%s.%s %s, %s, %s;\n", cc, ft, R(p).s, R(a).s, R(b).s);
	EMIT(k, "selp.%s %s, %s, %s, %s;\n", ft, R(d).s, R(a).s, R(d).s, R(p).s);
	EMIT(k, "setp.%s.%s %s, %s, %s;\n", cc, ft, R(p).s, R(b).s, R(a).s);
	EMIT(k, "selp.%s %s, %s, %s, %s;\n", ft, R(d).s, R(b).s, R(d).s, R(p).s);
	EMIT(k, "setp.nan.%s %s, %s, %s;\n", ft, R(p).s, R(a).s, R(b).s);
	EMIT(k, "selp.%s %s, %s, %s, %s;\n", ft, R(d).s, canon_imm(t), R(d).s, R(p).s);
}

static void emit_cvt(struct kstate *k, struct reg d, struct reg a, unsigned from, unsigned to,
		     bool u)
{
	bool ff = jit_type_is_float((enum jit_type)from), ft = jit_type_is_float((enum jit_type)to);
	if (!ff && !ft) {
		if (to == JIT_I32)
			EMIT(k, "cvt.u32.u64 %s, %s;\n", R(d).s, R(a).s);
		else
			EMIT(k, "cvt.%s.%s %s, %s;\n", u ? "u64" : "s64", u ? "u32" : "s32", R(d).s,
			     R(a).s);
	} else if (!ff && ft) {
		EMIT(k, "cvt.rn.%s.%s %s, %s;\n", float_t(to), int_t(from, u), R(d).s, R(a).s);
	} else if (ff && !ft) {
		/* wasm's trunc_sat: PTX cvt.rzi clamps to the destination range; NaN is mapped to
		 * 0 explicitly rather than relying on the hardware's choice for it. */
		struct reg p = new_reg(k, RC_P);
		EMIT(k, "cvt.rzi.%s.%s %s, %s;\n", int_t(to, u), float_t(from), R(d).s, R(a).s);
		EMIT(k, "setp.nan.%s %s, %s, %s;\n", float_t(from), R(p).s, R(a).s, R(a).s);
		EMIT(k, "selp.%s %s, 0, %s, %s;\n", bits_t(to), R(d).s, R(d).s, R(p).s);
	} else {
		EMIT(k, "cvt%s.%s.%s %s, %s;\n", to == JIT_F32 ? ".rn" : "", float_t(to),
		     float_t(from), R(d).s, R(a).s);
		emit_canon(k, d, to);
	}
}

static const char *cmp_cc(unsigned op, bool fl)
{
	switch (op) {
	case JIT_OP_EQ:
		return "eq";
	case JIT_OP_NE:
		return fl ? "neu" : "ne"; /* wasm: NaN != x is true */
	case JIT_OP_LT:
		return "lt";
	case JIT_OP_LE:
		return "le";
	case JIT_OP_GT:
		return "gt";
	default:
		return "ge";
	}
}

/* One in-loop node. Leaves (param, const) were placed before the loop. */
static void emit_node(struct kstate *k, const struct jit_blueprint *bp, unsigned i,
		      const struct reg *in_base, struct reg idx)
{
	const struct jit_node *n = &bp->nodes[i];
	unsigned t = n->type;
	bool u = n->flags & JIT_F_UNSIGNED;
	bool fl = jit_type_is_float((enum jit_type)t);
	struct reg d = new_reg(k, rc_of(t));
	struct reg a = k->val[n->a], b = k->val[n->b], c = k->val[n->c];
	switch (n->op) {
	case JIT_OP_INPUT: {
		struct reg addr = new_reg(k, RC_RD);
		unsigned sh = jit_type_size((enum jit_type)t) == 4 ? 2 : 3;
		EMIT(k, "shl.b64 %s, %s, %u;\n", R(addr).s, R(idx).s, sh);
		EMIT(k, "add.s64 %s, %s, %s;\n", R(addr).s, R(in_base[n->imm]).s, R(addr).s);
		EMIT(k, "ld.global.%s %s, [%s];\n", val_t(t, false), R(d).s, R(addr).s);
		break;
	}
	case JIT_OP_INDEX:
		if (t == JIT_I32)
			EMIT(k, "cvt.u32.u64 %s, %s;\n", R(d).s, R(idx).s);
		else
			EMIT(k, "mov.b64 %s, %s;\n", R(d).s, R(idx).s);
		break;
	case JIT_OP_ADD:
	case JIT_OP_SUB:
	case JIT_OP_MUL: {
		const char *m = n->op == JIT_OP_ADD ? "add" : n->op == JIT_OP_SUB ? "sub" : "mul";
		if (fl) {
			EMIT(k, "%s.rn.%s %s, %s, %s;\n", m, float_t(t), R(d).s, R(a).s, R(b).s);
			emit_canon(k, d, t);
		} else {
			EMIT(k, "%s%s.%s %s, %s, %s;\n", m, n->op == JIT_OP_MUL ? ".lo" : "",
			     int_t(t, false), R(d).s, R(a).s, R(b).s);
		}
		break;
	}
	case JIT_OP_DIV:
		if (fl) {
			EMIT(k, "div.rn.%s %s, %s, %s;\n", float_t(t), R(d).s, R(a).s, R(b).s);
			emit_canon(k, d, t);
		} else {
			/* Zero and -1 divisors were refused before the launch. */
			EMIT(k, "div.%s %s, %s, %s;\n", int_t(t, u), R(d).s, R(a).s, R(b).s);
		}
		break;
	case JIT_OP_REM:
		EMIT(k, "rem.%s %s, %s, %s;\n", int_t(t, u), R(d).s, R(a).s, R(b).s);
		if (!u) {
			/* wasm: x rem_s -1 is 0 (also for INT_MIN, where hardware may differ). */
			struct reg p = new_reg(k, RC_P);
			EMIT(k, "setp.eq.%s %s, %s, -1;\n", int_t(t, false), R(p).s, R(b).s);
			EMIT(k, "selp.%s %s, 0, %s, %s;\n", bits_t(t), R(d).s, R(d).s, R(p).s);
		}
		break;
	case JIT_OP_AND:
	case JIT_OP_OR:
	case JIT_OP_XOR: {
		const char *m = n->op == JIT_OP_AND ? "and" : n->op == JIT_OP_OR ? "or" : "xor";
		EMIT(k, "%s.%s %s, %s, %s;\n", m, bits_t(t), R(d).s, R(a).s, R(b).s);
		break;
	}
	case JIT_OP_SHL:
	case JIT_OP_SHR: {
		/* PTX clamps counts above the width; wasm takes them modulo the width. */
		struct reg cnt = new_reg(k, RC_R);
		if (t == JIT_I64) {
			EMIT(k, "cvt.u32.u64 %s, %s;\n", R(cnt).s, R(b).s);
			EMIT(k, "and.b32 %s, %s, 63;\n", R(cnt).s, R(cnt).s);
		} else {
			EMIT(k, "and.b32 %s, %s, 31;\n", R(cnt).s, R(b).s);
		}
		if (n->op == JIT_OP_SHL)
			EMIT(k, "shl.%s %s, %s, %s;\n", bits_t(t), R(d).s, R(a).s, R(cnt).s);
		else
			EMIT(k, "shr.%s %s, %s, %s;\n", int_t(t, u), R(d).s, R(a).s, R(cnt).s);
		break;
	}
	case JIT_OP_MIN:
	case JIT_OP_MAX:
		if (fl)
			emit_fminmax(k, d, a, b, t, n->op == JIT_OP_MIN);
		else
			EMIT(k, "%s.%s %s, %s, %s;\n", n->op == JIT_OP_MIN ? "min" : "max",
			     int_t(t, u), R(d).s, R(a).s, R(b).s);
		break;
	case JIT_OP_NEG:
	case JIT_OP_ABS:
		if (fl) {
			/* Sign-bit operations, as wasm defines them (NaN payloads kept). */
			enum rclass irc = t == JIT_F32 ? RC_R : RC_RD;
			struct reg x = new_reg(k, irc);
			const char *mask = n->op == JIT_OP_NEG
						   ? (t == JIT_F32 ? "0x80000000" : "0x8000000000000000")
						   : (t == JIT_F32 ? "0x7FFFFFFF" : "0x7FFFFFFFFFFFFFFF");
			EMIT(k, "mov.%s %s, %s;\n", bits_t(t), R(x).s, R(a).s);
			EMIT(k, "%s.%s %s, %s, %s;\n", n->op == JIT_OP_NEG ? "xor" : "and", bits_t(t),
			     R(x).s, R(x).s, mask);
			EMIT(k, "mov.%s %s, %s;\n", bits_t(t), R(d).s, R(x).s);
		} else if (n->op == JIT_OP_NEG) {
			EMIT(k, "neg.%s %s, %s;\n", int_t(t, false), R(d).s, R(a).s);
		} else {
			/* Two's complement abs with abs(INT_MIN) = INT_MIN, spelled out rather than
			 * relying on abs.s32's edge case. */
			struct reg p = new_reg(k, RC_P);
			EMIT(k, "neg.%s %s, %s;\n", int_t(t, false), R(d).s, R(a).s);
			EMIT(k, "setp.lt.%s %s, %s, 0;\n", int_t(t, false), R(p).s, R(a).s);
			EMIT(k, "selp.%s %s, %s, %s, %s;\n", bits_t(t), R(d).s, R(d).s, R(a).s,
			     R(p).s);
		}
		break;
	case JIT_OP_SQRT:
		EMIT(k, "sqrt.rn.%s %s, %s;\n", float_t(t), R(d).s, R(a).s);
		emit_canon(k, d, t);
		break;
	case JIT_OP_EQ:
	case JIT_OP_NE:
	case JIT_OP_LT:
	case JIT_OP_LE:
	case JIT_OP_GT:
	case JIT_OP_GE: {
		unsigned ta = bp->nodes[n->a].type;
		bool afl = jit_type_is_float((enum jit_type)ta);
		struct reg p = new_reg(k, RC_P);
		EMIT(k, "setp.%s.%s %s, %s, %s;\n", cmp_cc(n->op, afl), val_t(ta, u), R(p).s, R(a).s,
		     R(b).s);
		EMIT(k, "selp.u32 %s, 1, 0, %s;\n", R(d).s, R(p).s);
		break;
	}
	case JIT_OP_SELECT: {
		struct reg p = new_reg(k, RC_P);
		EMIT(k, "setp.ne.u32 %s, %s, 0;\n", R(p).s, R(a).s);
		EMIT(k, "selp.%s %s, %s, %s, %s;\n", fl ? float_t(t) : bits_t(t), R(d).s, R(b).s,
		     R(c).s, R(p).s);
		break;
	}
	case JIT_OP_CVT:
		emit_cvt(k, d, a, bp->nodes[n->a].type, t, u);
		break;
	default:
		break;
	}
	k->val[i] = d;
}

static void emit_leaf(struct kstate *k, const struct jit_blueprint *bp, unsigned i)
{
	const struct jit_node *n = &bp->nodes[i];
	unsigned t = n->type;
	struct reg d = new_reg(k, rc_of(t));
	if (n->op == JIT_OP_PARAM) {
		EMIT(k, "ld.param.%s %s, [s%u];\n", val_t(t, true), R(d).s, (unsigned)n->imm);
	} else if (t == JIT_F32) {
		EMIT(k, "mov.f32 %s, 0f%08X;\n", R(d).s, (unsigned)n->imm);
	} else if (t == JIT_F64) {
		EMIT(k, "mov.f64 %s, 0d%016llX;\n", R(d).s, (unsigned long long)n->imm);
	} else if (t == JIT_I32) {
		EMIT(k, "mov.b32 %s, 0x%08X;\n", R(d).s, (unsigned)n->imm);
	} else {
		EMIT(k, "mov.b64 %s, 0x%016llX;\n", R(d).s, (unsigned long long)n->imm);
	}
	k->val[i] = d;
}

static const char *red_name(unsigned op)
{
	switch (op) {
	case JIT_RED_SUM:
		return "add";
	case JIT_RED_MIN:
		return "min";
	case JIT_RED_MAX:
		return "max";
	case JIT_RED_AND:
		return "and";
	case JIT_RED_OR:
		return "or";
	default:
		return "xor";
	}
}

/* Type suffix of a reduction's combining instruction and of its red.global. */
static const char *red_t(const struct jit_blueprint *bp)
{
	unsigned t = bp->out_type;
	bool u = bp->reduce_flags & JIT_F_UNSIGNED;
	switch (bp->reduce_op) {
	case JIT_RED_SUM:
		return t == JIT_I32 ? "u32" : "u64";
	case JIT_RED_MIN:
	case JIT_RED_MAX:
		return int_t(t, u);
	default:
		return bits_t(t);
	}
}

static void emit_kernel(struct sbuf *out, const struct jit_blueprint *bp)
{
	struct sbuf body = {0};
	struct kstate k = {.body = &body};
	char entry[48];
	jit_ptx_entry_name(bp, entry);

	/* Prologue: parameters, thread index and stride. */
	struct reg outp = new_reg(&k, RC_RD), in_base[JIT_INPUTS_MAX], nreg, idx, stride;
	EMIT(&k, "ld.param.u64 %s, [out];\n", R(outp).s);
	EMIT(&k, "cvta.to.global.u64 %s, %s;\n", R(outp).s, R(outp).s);
	for (unsigned i = 0; i < bp->n_inputs; i++) {
		in_base[i] = new_reg(&k, RC_RD);
		EMIT(&k, "ld.param.u64 %s, [in%u];\n", R(in_base[i]).s, i);
		EMIT(&k, "cvta.to.global.u64 %s, %s;\n", R(in_base[i]).s, R(in_base[i]).s);
	}
	nreg = new_reg(&k, RC_RD);
	EMIT(&k, "ld.param.u64 %s, [n];\n", R(nreg).s);
	struct reg cta = new_reg(&k, RC_R), ntid = new_reg(&k, RC_R), tid = new_reg(&k, RC_R),
		   ncta = new_reg(&k, RC_R), tmp = new_reg(&k, RC_RD);
	idx = new_reg(&k, RC_RD);
	stride = new_reg(&k, RC_RD);
	EMIT(&k, "mov.u32 %s, %%ctaid.x;\n", R(cta).s);
	EMIT(&k, "mov.u32 %s, %%ntid.x;\n", R(ntid).s);
	EMIT(&k, "mov.u32 %s, %%tid.x;\n", R(tid).s);
	EMIT(&k, "mov.u32 %s, %%nctaid.x;\n", R(ncta).s);
	EMIT(&k, "mul.wide.u32 %s, %s, %s;\n", R(idx).s, R(cta).s, R(ntid).s);
	EMIT(&k, "cvt.u64.u32 %s, %s;\n", R(tmp).s, R(tid).s);
	EMIT(&k, "add.s64 %s, %s, %s;\n", R(idx).s, R(idx).s, R(tmp).s);
	EMIT(&k, "mul.wide.u32 %s, %s, %s;\n", R(stride).s, R(ntid).s, R(ncta).s);

	/* Loop-invariant leaves. */
	for (unsigned i = 0; i < bp->n_nodes; i++)
		if (bp->nodes[i].op == JIT_OP_PARAM || bp->nodes[i].op == JIT_OP_CONST)
			emit_leaf(&k, bp, i);

	bool reduce = bp->kind == JIT_REDUCE;
	unsigned ot = bp->out_type;
	struct reg acc = {0};
	if (reduce) {
		union jit_value id = jit_reduce_identity((enum jit_reduce_op)bp->reduce_op,
							 bp->reduce_flags, (enum jit_type)ot);
		acc = new_reg(&k, rc_of(ot));
		if (ot == JIT_I32)
			EMIT(&k, "mov.b32 %s, 0x%08X;\n", R(acc).s, id.u32);
		else
			EMIT(&k, "mov.b64 %s, 0x%016llX;\n", R(acc).s, (unsigned long long)id.u64);
	}

	struct reg p = new_reg(&k, RC_P);
	sb_printf(&body, "$L_loop:\n");
	EMIT(&k, "setp.ge.u64 %s, %s, %s;\n", R(p).s, R(idx).s, R(nreg).s);
	EMIT(&k, "@%s bra $L_done;\n", R(p).s);
	for (unsigned i = 0; i < bp->n_nodes; i++)
		if (bp->nodes[i].op != JIT_OP_PARAM && bp->nodes[i].op != JIT_OP_CONST)
			emit_node(&k, bp, i, in_base, idx);
	struct reg root = k.val[bp->n_nodes - 1];
	if (reduce) {
		const char *m = red_name(bp->reduce_op);
		EMIT(&k, "%s.%s %s, %s, %s;\n", m, red_t(bp), R(acc).s, R(acc).s, R(root).s);
	} else {
		struct reg addr = new_reg(&k, RC_RD);
		unsigned sh = jit_type_size((enum jit_type)ot) == 4 ? 2 : 3;
		EMIT(&k, "shl.b64 %s, %s, %u;\n", R(addr).s, R(idx).s, sh);
		EMIT(&k, "add.s64 %s, %s, %s;\n", R(addr).s, R(outp).s, R(addr).s);
		EMIT(&k, "st.global.%s [%s], %s;\n", val_t(ot, false), R(addr).s, R(root).s);
	}
	EMIT(&k, "add.s64 %s, %s, %s;\n", R(idx).s, R(idx).s, R(stride).s);
	EMIT(&k, "bra.uni $L_loop;\n");
	sb_printf(&body, "$L_done:\n");
	if (reduce)
		EMIT(&k, "red.global.%s.%s [%s], %s;\n", red_name(bp->reduce_op), red_t(bp),
		     R(outp).s, R(acc).s);
	EMIT(&k, "ret;\n");

	/* Header with the parameter list and register declarations, then the body. */
	sb_printf(out, "\n// blueprint %s\n.visible .entry %s(\n\t.param .u64 out", bp->name,
		  entry);
	for (unsigned i = 0; i < bp->n_inputs; i++)
		sb_printf(out, ",\n\t.param .u64 in%u", i);
	sb_printf(out, ",\n\t.param .u64 n");
	for (unsigned i = 0; i < bp->n_params; i++)
		sb_printf(out, ",\n\t.param .%s s%u", val_t(bp->param_type[i], true), i);
	sb_printf(out, "\n)\n{\n");
	for (unsigned rc = 0; rc < RC__N; rc++)
		if (k.count[rc])
			sb_printf(out, "\t.reg %s %s<%u>;\n", rc_decl[rc], rc_prefix[rc],
				  k.count[rc] + 1);
	if (body.err)
		out->err = body.err;
	else
		sb_printf(out, "%.*s}\n", (int)body.len, body.p);
	free(body.p);
}

enum tw_err jit_ptx_emit(const struct jit_blueprint *const *bps, size_t count,
			 const struct jit_arch *arch, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < count; i++) {
		if (jit_blueprint_validate(bps[i], false, NULL, 0) != TW_ERR_OK)
			return jit_blueprint_validate(bps[i], true, NULL, 0) == TW_ERR_OK
				       ? TW_ERR_UNSUPPORTED
				       : TW_ERR_INVALID_ARG;
	}
	struct sbuf b = {0};
	sb_printf(&b,
		  "// Generated by tensor-wasm, blueprint emitter v%u.\n"
		  ".version %u.%u\n.target %s\n.address_size 64\n",
		  JIT_EMITTER_VERSION, arch->ptx_major, arch->ptx_minor, arch->name);
	for (size_t i = 0; i < count; i++)
		emit_kernel(&b, bps[i]);
	if (b.err) {
		enum tw_err e = b.err;
		free(b.p);
		return e;
	}
	*out = b.p;
	*len = b.len;
	return TW_ERR_OK;
}
