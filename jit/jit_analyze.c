/*
 * jit_analyze.c — loop analysis over validated wasm bytecode; see jit_analyze.h.
 *
 * Invariants: the bytecode was validated by the engine, so operand types agree and blocks nest;
 * even so every read is bounds-checked, because the fuzzers feed this file arbitrary bodies.
 * Symbolic values live in a fixed array (TW_JIT_LOOP_NODES_MAX); a node's operands are always
 * earlier nodes, so reachability is one backward sweep and recursion depth is bounded by the
 * node count.
 */
#include "jit/jit_analyze.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "wasm/twm.h"

#define NONE UINT32_MAX
#define LANES_MAX 16
#define STORES_MAX LANES_MAX

static const char *const reject_names[JIT_REJ__COUNT] = {
#define JIT_REJECT_STR(name, str) str,
	JIT_REJECT_LIST(JIT_REJECT_STR)
#undef JIT_REJECT_STR
};

const char *jit_reject_str(enum jit_reject r)
{
	return (unsigned)r < JIT_REJ__COUNT ? reject_names[r] : "?";
}

static uint64_t wmask(unsigned width)
{
	return width >= 64 ? UINT64_MAX : (1ull << width) - 1;
}

uint64_t jit_aff_eval(const struct jit_aff *a, const uint64_t *locals)
{
	uint64_t v = a->c;
	for (unsigned k = 0; k < a->nterms; k++)
		v += a->coef[k] * locals[a->local[k]];
	return v & wmask(a->width);
}

/* ---- bytecode reading ------------------------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
};

static uint8_t rd_u8(struct rd *r)
{
	if (r->pos >= r->len) {
		r->bad = true;
		return 0;
	}
	return r->p[r->pos++];
}

static uint64_t rd_leb(struct rd *r, bool sign, unsigned bits)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;
	do {
		b = rd_u8(r);
		if (r->bad || shift >= 70) {
			r->bad = true;
			return 0;
		}
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (sign && shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return v & wmask(bits);
}

static void rd_skip(struct rd *r, size_t n)
{
	if (r->len - r->pos < n) {
		r->bad = true;
		r->pos = r->len;
		return;
	}
	r->pos += n;
}

/* Skip the immediates of the instruction whose opcode was just read. */
static void skip_imm(struct rd *r, uint8_t op)
{
	switch (op) {
	case 0x02: case 0x03: case 0x04: /* blocktype: 0x40, a valtype or an s33 type index */
		rd_leb(r, true, 64);
		break;
	case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x20: case 0x21: case 0x22: case 0x23:
	case 0x24: case 0x25: case 0x26: case 0xd2:
		rd_leb(r, false, 32);
		break;
	case 0x0e: {
		uint64_t n = rd_leb(r, false, 32);
		for (uint64_t i = 0; i <= n && !r->bad; i++)
			rd_leb(r, false, 32);
		break;
	}
	case 0x11: case 0x13:
		rd_leb(r, false, 32);
		rd_leb(r, false, 32);
		break;
	case 0x1c: {
		uint64_t n = rd_leb(r, false, 32);
		rd_skip(r, n);
		break;
	}
	case 0x3f: case 0x40: case 0xd0:
		rd_u8(r);
		break;
	case 0x41:
		rd_leb(r, true, 32);
		break;
	case 0x42:
		rd_leb(r, true, 64);
		break;
	case 0x43:
		rd_skip(r, 4);
		break;
	case 0x44:
		rd_skip(r, 8);
		break;
	case 0xfc: {
		uint64_t sub = rd_leb(r, false, 32);
		switch (sub) {
		case 8: case 12: case 14:
			rd_leb(r, false, 32);
			rd_leb(r, false, 32);
			break;
		case 9: case 11: case 13: case 15: case 16: case 17:
			rd_leb(r, false, 32);
			break;
		case 10:
			rd_leb(r, false, 32);
			rd_leb(r, false, 32);
			break;
		default:
			break;
		}
		break;
	}
	case 0xfd: /* SIMD modules are refused by the loader; stop here if one slips through */
		r->bad = true;
		break;
	default:
		if (op >= 0x28 && op <= 0x3e) { /* memarg; bit 6 of the alignment: a memory index */
			uint64_t align = rd_leb(r, false, 32);
			if (align & 0x40)
				rd_leb(r, false, 32);
			rd_leb(r, false, 32);
		}
		break;
	}
}

/* ---- symbolic values -------------------------------------------------------------------- */

enum sym_kind { SYM_LOCAL = 1, SYM_CONST, SYM_LOAD, SYM_OP };

struct sym {
	uint8_t kind;
	uint8_t type;  /* enum jit_type */
	uint8_t op;    /* enum jit_op (SYM_OP) */
	uint8_t flags; /* JIT_F_* */
	uint32_t a, b, c;
	uint64_t imm;  /* constant bits, local index, or a load's memarg offset */
};

struct store {
	uint32_t addr, val;
	uint32_t offset;
	uint8_t type;
};

struct sx {
	const uint8_t *ltypes;
	uint32_t nlocals;
	struct sym n[TW_JIT_LOOP_NODES_MAX];
	uint32_t nn;
	uint32_t stack[TW_JIT_LOOP_STACK_MAX];
	uint32_t sp;
	uint32_t *cur;    /* per local: its current value, valid when gen[k] == curgen */
	uint32_t *local0; /* per local: its SYM_LOCAL node, valid when gen0[k] == curgen */
	uint32_t *gen, *gen0;
	uint32_t curgen;
	uint32_t *written; /* locals written this iteration, in order of first write */
	uint32_t nwritten;
	struct store st[STORES_MAX];
	uint32_t nst;
	uint32_t ops;
	uint8_t hasload[TW_JIT_LOOP_NODES_MAX]; /* the value depends on a load */
	uint32_t firstload[TW_JIT_LOOP_NODES_MAX]; /* first load in depth-first order, or NONE */
	/* affine forms, memoised per node (values are a DAG: without this, shared operands make
	 * the walk exponential); valid when aff_gen[v] == curgen */
	struct jit_aff aff[TW_JIT_LOOP_NODES_MAX];
	uint32_t aff_gen[TW_JIT_LOOP_NODES_MAX];
	uint8_t aff_ok[TW_JIT_LOOP_NODES_MAX];
	enum jit_reject rej;
	char detail[64];
	/* classification, per written local index in `written` */
	uint8_t *role; /* per local, valid when gen[k] == curgen */
	uint64_t *step;
};

enum role { ROLE_INVARIANT = 0, ROLE_INDUCTION, ROLE_REDUCTION, ROLE_TEMP };

static bool reject(struct sx *s, enum jit_reject r, const char *fmt, unsigned v)
{
	if (s->rej == JIT_REJ_NONE) {
		s->rej = r;
		if (fmt)
			snprintf(s->detail, sizeof(s->detail), fmt, v);
	}
	return false;
}

static uint32_t node(struct sx *s, uint8_t kind, uint8_t type, uint8_t op, uint8_t flags,
		     uint32_t a, uint32_t b, uint32_t c, uint64_t imm)
{
	if (s->nn >= TW_JIT_LOOP_NODES_MAX) {
		reject(s, JIT_REJ_TOO_COMPLEX, "more than %u values", TW_JIT_LOOP_NODES_MAX);
		return NONE;
	}
	s->n[s->nn] = (struct sym){kind, type, op, flags, a, b, c, imm};
	return s->nn++;
}

static int valtype_jit(uint8_t vt)
{
	switch (vt) {
	case 0x7f: return JIT_I32;
	case 0x7e: return JIT_I64;
	case 0x7d: return JIT_F32;
	case 0x7c: return JIT_F64;
	default: return 0;
	}
}

static bool push(struct sx *s, uint32_t v)
{
	if (v == NONE)
		return false;
	if (s->sp >= TW_JIT_LOOP_STACK_MAX)
		return reject(s, JIT_REJ_TOO_COMPLEX, "operand stack deeper than %u",
			      TW_JIT_LOOP_STACK_MAX);
	s->stack[s->sp++] = v;
	return true;
}

static uint32_t pop(struct sx *s)
{
	if (s->sp == 0) { /* values from outside the loop: cannot be followed */
		reject(s, JIT_REJ_CONTROL_FLOW, "operand from outside the loop", 0);
		return NONE;
	}
	return s->stack[--s->sp];
}

static uint32_t local_value(struct sx *s, uint32_t k)
{
	if (k >= s->nlocals) {
		reject(s, JIT_REJ_UNSUPPORTED_OP, "local %u out of range", k);
		return NONE;
	}
	if (s->gen[k] == s->curgen)
		return s->cur[k];
	if (s->gen0[k] == s->curgen)
		return s->local0[k];
	int t = valtype_jit(s->ltypes[k]);
	if (!t) {
		reject(s, JIT_REJ_UNSUPPORTED_OP, "local %u is a reference or vector", k);
		return NONE;
	}
	uint32_t v = node(s, SYM_LOCAL, (uint8_t)t, 0, 0, 0, 0, 0, k);
	if (v != NONE) {
		s->local0[k] = v;
		s->gen0[k] = s->curgen;
	}
	return v;
}

static bool set_local(struct sx *s, uint32_t k, uint32_t v)
{
	if (k >= s->nlocals)
		return reject(s, JIT_REJ_UNSUPPORTED_OP, "local %u out of range", k);
	if (s->gen[k] != s->curgen) {
		s->gen[k] = s->curgen;
		s->role[k] = ROLE_INVARIANT;
		s->written[s->nwritten++] = k;
	}
	s->cur[k] = v;
	return true;
}

static bool written(const struct sx *s, uint32_t k)
{
	return s->gen[k] == s->curgen;
}

/* A numeric instruction as a blueprint operation. */
struct numop {
	uint8_t op, type, flags, arity, in_type;
	bool eqz;
};

static bool numeric(unsigned opc, struct numop *o)
{
	static const uint8_t icmp[10][2] = {
	    {JIT_OP_EQ, 0}, {JIT_OP_NE, 0}, {JIT_OP_LT, 0}, {JIT_OP_LT, 1}, {JIT_OP_GT, 0},
	    {JIT_OP_GT, 1}, {JIT_OP_LE, 0}, {JIT_OP_LE, 1}, {JIT_OP_GE, 0}, {JIT_OP_GE, 1}};
	static const uint8_t fcmp[6] = {JIT_OP_EQ, JIT_OP_NE, JIT_OP_LT,
					JIT_OP_GT, JIT_OP_LE, JIT_OP_GE};
	static const uint8_t iar[13][2] = {
	    {JIT_OP_ADD, 0}, {JIT_OP_SUB, 0}, {JIT_OP_MUL, 0}, {JIT_OP_DIV, 0}, {JIT_OP_DIV, 1},
	    {JIT_OP_REM, 0}, {JIT_OP_REM, 1}, {JIT_OP_AND, 0}, {JIT_OP_OR, 0},	{JIT_OP_XOR, 0},
	    {JIT_OP_SHL, 0}, {JIT_OP_SHR, 0}, {JIT_OP_SHR, 1}};
	static const uint8_t far[6] = {JIT_OP_ADD, JIT_OP_SUB, JIT_OP_MUL,
				       JIT_OP_DIV, JIT_OP_MIN, JIT_OP_MAX};
	/* conversions 0xa7..0xbb: {to, from, unsigned}; 0 = not representable */
	static const uint8_t cvt[21][3] = {
	    {JIT_I32, JIT_I64, 0}, {0}, {0}, {0}, {0}, {JIT_I64, JIT_I32, 0}, {JIT_I64, JIT_I32, 1},
	    {0}, {0}, {0}, {0}, {JIT_F32, JIT_I32, 0}, {JIT_F32, JIT_I32, 1}, {JIT_F32, JIT_I64, 0},
	    {JIT_F32, JIT_I64, 1}, {JIT_F32, JIT_F64, 0}, {JIT_F64, JIT_I32, 0},
	    {JIT_F64, JIT_I32, 1}, {JIT_F64, JIT_I64, 0}, {JIT_F64, JIT_I64, 1},
	    {JIT_F64, JIT_F32, 0}};
	memset(o, 0, sizeof(*o));
	if (opc == 0x45 || opc == 0x50) {
		o->op = JIT_OP_EQ, o->type = JIT_I32, o->arity = 1, o->eqz = true;
		o->in_type = opc == 0x45 ? JIT_I32 : JIT_I64;
		return true;
	}
	if ((opc >= 0x46 && opc <= 0x4f) || (opc >= 0x51 && opc <= 0x5a)) {
		unsigned i = opc >= 0x51 ? opc - 0x51 : opc - 0x46;
		o->op = icmp[i][0], o->flags = icmp[i][1] ? JIT_F_UNSIGNED : 0;
		o->type = JIT_I32, o->arity = 2, o->in_type = opc >= 0x51 ? JIT_I64 : JIT_I32;
		return true;
	}
	if (opc >= 0x5b && opc <= 0x66) {
		o->op = fcmp[(opc - 0x5b) % 6], o->type = JIT_I32, o->arity = 2;
		o->in_type = opc <= 0x60 ? JIT_F32 : JIT_F64;
		return true;
	}
	if ((opc >= 0x6a && opc <= 0x76) || (opc >= 0x7c && opc <= 0x88)) {
		unsigned i = opc >= 0x7c ? opc - 0x7c : opc - 0x6a;
		o->op = iar[i][0], o->flags = iar[i][1] ? JIT_F_UNSIGNED : 0, o->arity = 2;
		o->type = o->in_type = opc >= 0x7c ? JIT_I64 : JIT_I32;
		return true;
	}
	if ((opc >= 0x8b && opc <= 0x97) || (opc >= 0x99 && opc <= 0xa5)) {
		unsigned i = opc >= 0x99 ? opc - 0x99 : opc - 0x8b;
		o->type = o->in_type = opc >= 0x99 ? JIT_F64 : JIT_F32;
		if (i == 0)
			o->op = JIT_OP_ABS, o->arity = 1;
		else if (i == 1)
			o->op = JIT_OP_NEG, o->arity = 1;
		else if (i == 6)
			o->op = JIT_OP_SQRT, o->arity = 1;
		else if (i >= 7)
			o->op = far[i - 7], o->arity = 2;
		else
			return false; /* ceil floor trunc nearest */
		return true;
	}
	if (opc >= 0xa7 && opc <= 0xbb && cvt[opc - 0xa7][0]) {
		const uint8_t *c = cvt[opc - 0xa7];
		o->op = JIT_OP_CVT, o->type = c[0], o->in_type = c[1], o->arity = 1;
		o->flags = c[2] ? JIT_F_UNSIGNED : 0;
		return true;
	}
	return false;
}

static bool do_numeric(struct sx *s, const struct numop *o)
{
	uint32_t a = NONE, b = 0;
	if (o->arity == 2) {
		b = pop(s);
		a = pop(s);
	} else {
		a = pop(s);
	}
	if (a == NONE || b == NONE)
		return false;
	if (o->eqz) {
		b = node(s, SYM_CONST, o->in_type, 0, 0, 0, 0, 0, 0);
		if (b == NONE)
			return false;
	}
	return push(s, node(s, SYM_OP, o->type, o->op, o->flags, a, o->arity == 1 && !o->eqz ? 0 : b,
			    0, 0));
}

/* Symbolically execute the body [pos, end) of the loop. Returns false (with s->rej set) on the
 * first thing it cannot follow; on success s->stack holds the br_if condition. */
static bool exec_body(struct sx *s, struct rd *r, size_t end)
{
	while (r->pos < end && !r->bad) {
		size_t at = r->pos;
		uint8_t op = rd_u8(r);
		s->ops++;
		switch (op) {
		case 0x01: /* nop */
			continue;
		case 0x0d: { /* br_if: only `br_if 0` as the last instruction */
			uint64_t depth = rd_leb(r, false, 32);
			if (depth != 0) /* leaves the loop early, on whatever it tests */
				return reject(s, JIT_REJ_DATA_EXIT, "br_if %u at +%u",
					      (unsigned)depth) ||
				       snprintf(s->detail, sizeof(s->detail), "early br_if at +%u",
						(unsigned)at) < 0;
			if (r->pos != end)
				return reject(s, JIT_REJ_CONTROL_FLOW, "br_if at +%u",
					      (unsigned)at);
			return s->sp == 1 ||
			       reject(s, JIT_REJ_CONTROL_FLOW, "values left on the stack", 0);
		}
		case 0x10: case 0x11: case 0x12: case 0x13:
			return reject(s, JIT_REJ_CALL, "opcode 0x%02x", op);
		case 0x23: case 0x24:
			return reject(s, JIT_REJ_GLOBAL, op == 0x24 ? "global.set" : "global.get",
				      0);
		case 0x3f: case 0x40:
			return reject(s, JIT_REJ_MEMORY_GROW, "opcode 0x%02x", op);
		case 0x1a: /* drop */
			if (pop(s) == NONE)
				return false;
			continue;
		case 0x1b: case 0x1c: { /* select */
			if (op == 0x1c)
				skip_imm(r, op);
			uint32_t c = pop(s), b = pop(s), a = pop(s);
			if (a == NONE || b == NONE || c == NONE)
				return false;
			if (!push(s, node(s, SYM_OP, s->n[a].type, JIT_OP_SELECT, 0, c, a, b, 0)))
				return false;
			continue;
		}
		case 0x20: case 0x21: case 0x22: {
			uint32_t k = (uint32_t)rd_leb(r, false, 32);
			if (op == 0x20) {
				if (!push(s, local_value(s, k)))
					return false;
				continue;
			}
			uint32_t v = pop(s);
			if (v == NONE || !set_local(s, k, v))
				return false;
			if (op == 0x22 && !push(s, v))
				return false;
			continue;
		}
		case 0x41:
			if (!push(s, node(s, SYM_CONST, JIT_I32, 0, 0, 0, 0, 0,
					  rd_leb(r, true, 32))))
				return false;
			continue;
		case 0x42:
			if (!push(s, node(s, SYM_CONST, JIT_I64, 0, 0, 0, 0, 0,
					  rd_leb(r, true, 64))))
				return false;
			continue;
		case 0x43: case 0x44: {
			unsigned nb = op == 0x43 ? 4 : 8;
			uint64_t bits = 0;
			for (unsigned i = 0; i < nb; i++)
				bits |= (uint64_t)rd_u8(r) << (8 * i);
			if (!push(s, node(s, SYM_CONST, op == 0x43 ? JIT_F32 : JIT_F64, 0, 0, 0, 0,
					  0, bits)))
				return false;
			continue;
		}
		case 0xfc: {
			uint64_t sub = rd_leb(r, false, 32);
			if (sub > 7)
				return reject(s, JIT_REJ_MEMORY_GROW, "0xfc %u", (unsigned)sub);
			static const uint8_t to[4] = {JIT_I32, JIT_I32, JIT_I64, JIT_I64};
			struct numop o = {.op = JIT_OP_CVT,
					  .type = to[sub / 2],
					  .in_type = (sub / 2) % 2 ? JIT_F64 : JIT_F32,
					  .arity = 1,
					  .flags = sub % 2 ? JIT_F_UNSIGNED : 0};
			if (!do_numeric(s, &o))
				return false;
			continue;
		}
		default:
			break;
		}
		if (op >= 0x28 && op <= 0x3e) {
			uint64_t align = rd_leb(r, false, 32); /* a hint, but bit 6 names a memory */
			if (align & 0x40)
				return reject(s, JIT_REJ_UNSUPPORTED_OP, "access to memory %u",
					      (unsigned)rd_leb(r, false, 32));
			uint32_t off = (uint32_t)rd_leb(r, false, 32);
			static const uint8_t mt[4] = {JIT_I32, JIT_I64, JIT_F32, JIT_F64};
			if ((op >= 0x2c && op <= 0x35) || op >= 0x3a)
				return reject(s, JIT_REJ_NARROW, "opcode 0x%02x", op);
			if (op <= 0x2b) {
				uint32_t a = pop(s);
				if (a == NONE ||
				    !push(s, node(s, SYM_LOAD, mt[op - 0x28], 0, 0, a, 0, 0, off)))
					return false;
				continue;
			}
			uint32_t v = pop(s), a = pop(s);
			if (v == NONE || a == NONE)
				return false;
			if (s->nst >= STORES_MAX)
				return reject(s, JIT_REJ_STORES, "more than %u stores", STORES_MAX);
			s->st[s->nst++] = (struct store){a, v, off, mt[op - 0x36]};
			continue;
		}
		struct numop o;
		if (numeric(op, &o)) {
			if (!do_numeric(s, &o))
				return false;
			continue;
		}
		if (op >= 0x02 && op <= 0x0f)
			return reject(s, JIT_REJ_CONTROL_FLOW, "opcode 0x%02x", op);
		return reject(s, JIT_REJ_UNSUPPORTED_OP, "opcode 0x%02x", op);
	}
	return reject(s, JIT_REJ_EXIT, NULL, 0);
}

/* ---- affine forms ----------------------------------------------------------------------- */

static bool aff_add_term(struct jit_aff *a, uint32_t local, uint64_t coef)
{
	uint64_t m = wmask(a->width);
	for (unsigned k = 0; k < a->nterms; k++) {
		if (a->local[k] == local) {
			a->coef[k] = (a->coef[k] + coef) & m;
			if (a->coef[k] == 0) {
				a->nterms--;
				a->local[k] = a->local[a->nterms];
				a->coef[k] = a->coef[a->nterms];
			}
			return true;
		}
	}
	if ((coef & m) == 0)
		return true;
	if (a->nterms >= JIT_AFF_TERMS)
		return false;
	a->local[a->nterms] = local;
	a->coef[a->nterms++] = coef & m;
	return true;
}

static void aff_sort(struct jit_aff *a)
{
	for (unsigned i = 1; i < a->nterms; i++)
		for (unsigned j = i; j > 0 && a->local[j - 1] > a->local[j]; j--) {
			uint32_t l = a->local[j];
			uint64_t c = a->coef[j];
			a->local[j] = a->local[j - 1], a->coef[j] = a->coef[j - 1];
			a->local[j - 1] = l, a->coef[j - 1] = c;
		}
}

static bool affine(struct sx *s, uint32_t v, struct jit_aff *out, unsigned depth);

/* The affine form of integer node v (uncached; see affine()). */
static bool affine_raw(struct sx *s, uint32_t v, struct jit_aff *out, unsigned depth)
{
	const struct sym *n = &s->n[v];
	memset(out, 0, sizeof(*out));
	if (n->type != JIT_I32 && n->type != JIT_I64)
		return false;
	out->width = n->type == JIT_I32 ? 32 : 64;
	uint64_t m = wmask(out->width);
	if (depth > 64)
		return false;
	switch (n->kind) {
	case SYM_CONST:
		out->c = n->imm & m;
		return true;
	case SYM_LOCAL:
		out->nterms = 1, out->local[0] = (uint32_t)n->imm, out->coef[0] = 1;
		return true;
	case SYM_OP:
		break;
	default:
		return false;
	}
	struct jit_aff x, y;
	switch (n->op) {
	case JIT_OP_ADD:
	case JIT_OP_SUB: {
		if (!affine(s, n->a, &x, depth + 1) || !affine(s, n->b, &y, depth + 1))
			return false;
		uint64_t sg = n->op == JIT_OP_SUB ? m : 1; /* -1 or 1 */
		*out = x;
		out->c = (x.c + sg * y.c) & m;
		for (unsigned k = 0; k < y.nterms; k++)
			if (!aff_add_term(out, y.local[k], sg * y.coef[k]))
				return false;
		break;
	}
	case JIT_OP_MUL:
	case JIT_OP_SHL: {
		if (!affine(s, n->a, &x, depth + 1) || !affine(s, n->b, &y, depth + 1))
			return false;
		uint64_t f;
		if (n->op == JIT_OP_SHL) {
			if (y.nterms)
				return false;
			f = 1ull << (y.c & (out->width - 1));
		} else if (y.nterms == 0) {
			f = y.c;
		} else if (x.nterms == 0) {
			f = x.c, x = y;
		} else {
			return false;
		}
		*out = x;
		out->c = (x.c * f) & m;
		out->nterms = 0;
		for (unsigned k = 0; k < x.nterms; k++)
			if (!aff_add_term(out, x.local[k], x.coef[k] * f))
				return false;
		break;
	}
	default:
		return false;
	}
	aff_sort(out);
	return true;
}

/* The affine form of integer node v, memoised per loop. */
static bool affine(struct sx *s, uint32_t v, struct jit_aff *out, unsigned depth)
{
	if (s->aff_gen[v] != s->curgen) {
		s->aff_ok[v] = affine_raw(s, v, &s->aff[v], depth);
		s->aff_gen[v] = s->curgen;
	}
	*out = s->aff[v];
	return s->aff_ok[v];
}

static bool aff_same_terms(const struct jit_aff *a, const struct jit_aff *b)
{
	if (a->nterms != b->nterms || a->width != b->width)
		return false;
	for (unsigned k = 0; k < a->nterms; k++)
		if (a->local[k] != b->local[k] || a->coef[k] != b->coef[k])
			return false;
	return true;
}

/* Change of `a` per iteration; false when a term is neither invariant nor an induction. */
static bool aff_delta(const struct sx *s, const struct jit_aff *a, uint64_t *delta, bool *varies)
{
	uint64_t d = 0;
	*varies = false;
	for (unsigned k = 0; k < a->nterms; k++) {
		uint32_t l = a->local[k];
		if (!written(s, l))
			continue;
		if (s->role[l] != ROLE_INDUCTION)
			return false;
		d += a->coef[k] * s->step[l];
		*varies = true;
	}
	*delta = d & wmask(a->width);
	return true;
}

/* ---- lowering to a blueprint ------------------------------------------------------------ */

struct lower {
	struct sx *s;
	struct jit_blueprint *bp;
	uint16_t *memo;   /* per node: blueprint index + 1, 0 = not yet */
	bool temp_mode;   /* inductions become parameters (their last-iteration values) */
	unsigned lanes;   /* elements per iteration (element expression only) */
	struct jit_access in[JIT_INPUTS_MAX];
	uint32_t param_local[JIT_PARAMS_MAX];
	bool failed;
};

static uint16_t lower_fail(struct lower *lw, enum jit_reject r, const char *fmt, unsigned v)
{
	reject(lw->s, r, fmt, v);
	lw->failed = true;
	return 0;
}

static uint16_t lower_node(struct lower *lw, uint32_t v)
{
	struct sx *s = lw->s;
	struct jit_blueprint *bp = lw->bp;
	if (lw->failed)
		return 0;
	if (lw->memo[v])
		return (uint16_t)(lw->memo[v] - 1);
	const struct sym *n = &s->n[v];
	uint16_t r = 0;
	switch (n->kind) {
	case SYM_CONST:
		r = jit_bp_node(bp, JIT_OP_CONST, n->type, 0, 0, 0, 0, n->imm);
		break;
	case SYM_LOCAL: {
		uint32_t l = (uint32_t)n->imm;
		bool ind = written(s, l) && s->role[l] == ROLE_INDUCTION;
		if (written(s, l) && !ind)
			return lower_fail(lw, JIT_REJ_CARRIED, "local %u", l);
		unsigned k;
		for (k = 0; k < bp->n_params; k++)
			if (lw->param_local[k] == l)
				break;
		if (k == bp->n_params) {
			if (k >= JIT_PARAMS_MAX)
				return lower_fail(lw, JIT_REJ_LIMITS, "more than %u parameters",
						  JIT_PARAMS_MAX);
			lw->param_local[k] = l;
			bp->param_type[k] = n->type;
			bp->n_params++;
		}
		r = jit_bp_node(bp, JIT_OP_PARAM, n->type, 0, 0, 0, 0, k);
		if (ind && !lw->temp_mode) {
			/* in element e = t * lanes + j the induction holds its entry value (the
			 * parameter) + step * t, with t = e / lanes: the IR's INDEX, wrapping as the
			 * local does */
			enum jit_type t = (enum jit_type)n->type;
			uint64_t m = t == JIT_I32 ? UINT32_MAX : UINT64_MAX;
			uint16_t i = jit_bp_node(bp, JIT_OP_INDEX, t, 0, 0, 0, 0, 0);
			if (lw->lanes > 1) {
				uint16_t u = jit_bp_node(bp, JIT_OP_CONST, t, 0, 0, 0, 0, lw->lanes);
				i = jit_bp_node(bp, JIT_OP_DIV, t, JIT_F_UNSIGNED, i, u, 0, 0);
			}
			uint16_t st = jit_bp_node(bp, JIT_OP_CONST, t, 0, 0, 0, 0, s->step[l] & m);
			uint16_t mul = jit_bp_node(bp, JIT_OP_MUL, t, 0, i, st, 0, 0);
			r = jit_bp_node(bp, JIT_OP_ADD, t, 0, r, mul, 0, 0);
		}
		break;
	}
	case SYM_LOAD: {
		struct jit_access acc = {.offset = (uint32_t)n->imm,
					 .esize = (uint8_t)jit_type_size(n->type)};
		if (!affine(s, n->a, &acc.addr, 0) || acc.addr.width != 32)
			return lower_fail(lw, JIT_REJ_ADDRESS, NULL, 0);
		unsigned k;
		for (k = 0; k < bp->n_inputs; k++)
			if (bp->in_type[k] == n->type && lw->in[k].offset == acc.offset &&
			    lw->in[k].addr.c == acc.addr.c && aff_same_terms(&lw->in[k].addr, &acc.addr))
				break;
		if (k == bp->n_inputs) {
			if (k >= JIT_INPUTS_MAX)
				return lower_fail(lw, JIT_REJ_LIMITS, "more than %u inputs",
						  JIT_INPUTS_MAX);
			lw->in[k] = acc;
			bp->in_type[k] = n->type;
			bp->n_inputs++;
		}
		r = jit_bp_node(bp, JIT_OP_INPUT, n->type, 0, 0, 0, 0, k);
		break;
	}
	case SYM_OP: {
		unsigned ar = n->op == JIT_OP_SELECT ? 3
			      : (n->op == JIT_OP_NEG || n->op == JIT_OP_ABS || n->op == JIT_OP_SQRT ||
				 n->op == JIT_OP_CVT)
				  ? 1
				  : 2;
		uint16_t a = lower_node(lw, n->a);
		uint16_t b = ar > 1 ? lower_node(lw, n->b) : 0;
		uint16_t c = ar > 2 ? lower_node(lw, n->c) : 0;
		if (lw->failed)
			return 0;
		r = jit_bp_node(bp, n->op, n->type, n->flags, a, b, c, 0);
		break;
	}
	default:
		return lower_fail(lw, JIT_REJ_UNSUPPORTED_OP, NULL, 0);
	}
	if (r >= JIT_NODES_MAX)
		return lower_fail(lw, JIT_REJ_LIMITS, "more than %u blueprint nodes", JIT_NODES_MAX);
	lw->memo[v] = (uint16_t)(r + 1);
	return r;
}

/* Is lane `y` lane `x` with every load moved by j elements? Bounded by *budget. */
static bool same_lane(struct sx *s, uint32_t x, uint32_t y, unsigned j, unsigned *budget)
{
	if (x == y) /* shared by two lanes: only right when it reads no element */
		return j == 0 || !s->hasload[x];
	if ((*budget)-- == 0)
		return false;
	const struct sym *a = &s->n[x], *b = &s->n[y];
	if (a->kind != b->kind || a->type != b->type || a->op != b->op || a->flags != b->flags)
		return false;
	switch (a->kind) {
	case SYM_CONST:
	case SYM_LOCAL:
		return a->imm == b->imm;
	case SYM_LOAD: {
		struct jit_aff fa, fb;
		if (a->imm != b->imm || !affine(s, a->a, &fa, 0) || !affine(s, b->a, &fb, 0))
			return false;
		uint64_t es = jit_type_size(a->type);
		return aff_same_terms(&fa, &fb) &&
		       ((fa.c + j * es) & wmask(fa.width)) == fb.c;
	}
	default:
		return same_lane(s, a->a, b->a, j, budget) &&
		       (a->op == JIT_OP_NEG || a->op == JIT_OP_ABS || a->op == JIT_OP_SQRT ||
			a->op == JIT_OP_CVT || same_lane(s, a->b, b->b, j, budget)) &&
		       (a->op != JIT_OP_SELECT || same_lane(s, a->c, b->c, j, budget));
	}
}

static unsigned op_arity(uint8_t op)
{
	if (op == JIT_OP_SELECT)
		return 3;
	if (op == JIT_OP_NEG || op == JIT_OP_ABS || op == JIT_OP_SQRT || op == JIT_OP_CVT)
		return 1;
	return 2;
}

/* ---- one loop --------------------------------------------------------------------------- */

/* Order lanes by the address of their first load (maps: by the store address). Returns false
 * when lanes cannot be told apart. keys[] receives each lane's key. */
static void sort_lanes(uint32_t *lane, uint64_t *key, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && key[j - 1] > key[j]; j--) {
			uint64_t k = key[j];
			uint32_t l = lane[j];
			key[j] = key[j - 1], lane[j] = lane[j - 1];
			key[j - 1] = k, lane[j - 1] = l;
		}
}

/* Does the chain of `op` nodes from v have local k's old value as a leaf? */
static bool chain_has(const struct sx *s, uint32_t v, uint32_t k, uint8_t op, unsigned depth)
{
	const struct sym *n = &s->n[v];
	if (n->kind == SYM_LOCAL)
		return n->imm == k;
	if (n->kind != SYM_OP || n->op != op || depth > LANES_MAX)
		return false;
	return chain_has(s, n->a, k, op, depth + 1) || chain_has(s, n->b, k, op, depth + 1);
}

static bool classify_and_build(struct sx *s, struct jit_loop_match *m)
{
	uint32_t cond = s->stack[0];
	for (uint32_t i = 0; i < s->nn; i++) {
		const struct sym *n = &s->n[i];
		s->hasload[i] = n->kind == SYM_LOAD;
		s->firstload[i] = n->kind == SYM_LOAD ? i : NONE;
		if (n->kind == SYM_OP) {
			unsigned ar = op_arity(n->op);
			uint32_t f = s->firstload[n->a];
			if (f == NONE && ar > 1)
				f = s->firstload[n->b];
			if (f == NONE && ar > 2)
				f = s->firstload[n->c];
			s->firstload[i] = f;
		}
		if (n->kind == SYM_OP) {
			unsigned ar = op_arity(n->op);
			s->hasload[i] = s->hasload[n->a] || (ar > 1 && s->hasload[n->b]) ||
					(ar > 2 && s->hasload[n->c]);
		}
	}
	/* 1. the locals the body writes */
	uint32_t red = NONE;
	uint32_t red_leaves[LANES_MAX];
	unsigned nleaves = 0;
	for (uint32_t i = 0; i < s->nwritten; i++) {
		uint32_t k = s->written[i];
		uint32_t v = s->cur[k];
		const struct sym *n = &s->n[v];
		if (n->kind == SYM_LOCAL && n->imm == k) {
			s->gen[k] = 0; /* wrote its own value back: unchanged */
			continue;
		}
		struct jit_aff f;
		if (affine(s, v, &f, 0) && f.nterms == 1 && f.local[0] == k && f.coef[0] == 1 &&
		    f.c != 0) {
			if (m->nind >= JIT_LOOP_INDUCTIONS_MAX)
				return reject(s, JIT_REJ_LIMITS, "more than %u inductions",
					      JIT_LOOP_INDUCTIONS_MAX);
			s->role[k] = ROLE_INDUCTION;
			s->step[k] = f.c;
			m->ind[m->nind].local = k;
			m->ind[m->nind].step = f.c;
			m->ind[m->nind++].width = f.width;
			continue;
		}
		s->role[k] = ROLE_TEMP;
	}
	/* reductions: an integer add/and/or/xor chain with the old value as one leaf */
	for (uint32_t i = 0; i < s->nwritten; i++) {
		uint32_t k = s->written[i];
		if (!written(s, k) || s->role[k] != ROLE_TEMP)
			continue;
		uint32_t v = s->cur[k];
		const struct sym *n = &s->n[v];
		if (n->kind == SYM_OP && jit_type_is_float((enum jit_type)n->type) &&
		    n->op >= JIT_OP_ADD && n->op <= JIT_OP_DIV && chain_has(s, v, k, n->op, 0))
			return reject(s, JIT_REJ_REDUCTION, "float reduction into local %u", k);
		if (n->kind != SYM_OP || (n->type != JIT_I32 && n->type != JIT_I64) ||
		    (n->op != JIT_OP_ADD && n->op != JIT_OP_AND && n->op != JIT_OP_OR &&
		     n->op != JIT_OP_XOR))
			continue;
		/* flatten the chain */
		uint32_t work[LANES_MAX + 2], leaves[LANES_MAX + 1];
		unsigned nw = 0, nl = 0, self = 0;
		bool ok = true;
		work[nw++] = v;
		while (nw && ok) {
			uint32_t x = work[--nw];
			const struct sym *xn = &s->n[x];
			if (xn->kind == SYM_OP && xn->op == n->op && xn->type == n->type &&
			    nw + 2 <= LANES_MAX + 2) {
				work[nw++] = xn->b;
				work[nw++] = xn->a;
			} else if (xn->kind == SYM_LOCAL && xn->imm == k) {
				self++;
			} else if (nl < LANES_MAX) {
				leaves[nl++] = x;
			} else {
				ok = false;
			}
		}
		if (!ok || self != 1 || nl == 0)
			continue;
		if (red != NONE)
			return reject(s, JIT_REJ_REDUCTION, "two accumulators", 0);
		red = k;
		s->role[k] = ROLE_REDUCTION;
		memcpy(red_leaves, leaves, nl * sizeof(uint32_t));
		nleaves = nl;
		static const uint8_t rop[JIT_OP__COUNT] = {
		    [JIT_OP_ADD] = JIT_RED_SUM, [JIT_OP_AND] = JIT_RED_AND,
		    [JIT_OP_OR] = JIT_RED_OR, [JIT_OP_XOR] = JIT_RED_XOR};
		m->bp.reduce_op = rop[n->op];
	}
	if (red != NONE && s->nst) /* a running value that is also stored: a scan */
		return reject(s, JIT_REJ_CARRIED, "running value of local %u is stored", red);
	if (red == NONE && s->nst == 0)
		return reject(s, JIT_REJ_NO_OUTPUT, NULL, 0);
	if (m->nind == 0)
		return reject(s, JIT_REJ_EXIT, "no induction variable", 0);

	/* 2. the exit */
	{
		const struct sym *c = &s->n[cond];
		uint32_t lhs = cond, rhs = NONE;
		uint8_t cmp = JIT_EXIT_NE;
		bool uns = false;
		if (c->kind == SYM_OP && c->op >= JIT_OP_EQ && c->op <= JIT_OP_GE &&
		    (s->n[c->a].type == JIT_I32 || s->n[c->a].type == JIT_I64)) {
			static const uint8_t map[JIT_OP__COUNT] = {
			    [JIT_OP_NE] = JIT_EXIT_NE, [JIT_OP_LT] = JIT_EXIT_LT,
			    [JIT_OP_LE] = JIT_EXIT_LE, [JIT_OP_GT] = JIT_EXIT_GT,
			    [JIT_OP_GE] = JIT_EXIT_GE};
			if (c->op == JIT_OP_EQ)
				return reject(s, JIT_REJ_EXIT, "continues while equal", 0);
			lhs = c->a, rhs = c->b, cmp = map[c->op];
			uns = c->flags & JIT_F_UNSIGNED;
		}
		struct jit_aff x, b;
		uint64_t dx = 0, db = 0;
		bool vx = false, vb = false;
		if (!affine(s, lhs, &x, 0) || (rhs != NONE && !affine(s, rhs, &b, 0))) {
			for (uint32_t i = 0; i < s->nn; i++)
				if (s->n[i].kind == SYM_LOAD)
					return reject(s, JIT_REJ_DATA_EXIT, NULL, 0);
			return reject(s, JIT_REJ_EXIT, "bound is not affine", 0);
		}
		if (rhs == NONE) {
			memset(&b, 0, sizeof(b));
			b.width = x.width;
		}
		if (!aff_delta(s, &x, &dx, &vx) || !aff_delta(s, &b, &db, &vb))
			return reject(s, JIT_REJ_CARRIED, "in the exit condition", 0);
		if (vb && !vx) {
			struct jit_aff t = x;
			x = b, b = t;
			dx = db, vx = true, vb = false;
			static const uint8_t mirror[] = {0, JIT_EXIT_NE, JIT_EXIT_GT, JIT_EXIT_GE,
							 JIT_EXIT_LT, JIT_EXIT_LE};
			cmp = mirror[cmp];
		}
		if (!vx || vb || dx == 0)
			return reject(s, JIT_REJ_EXIT, "exit does not advance", 0);
		m->exit_cmp = cmp, m->exit_unsigned = uns;
		m->exit_x = x, m->exit_bound = b, m->exit_delta = dx;
	}

	/* 3. the lanes and the element expression */
	uint32_t lane[LANES_MAX];
	uint64_t key[LANES_MAX];
	unsigned nlanes;
	enum jit_type out_t;
	if (red == NONE) {
		nlanes = s->nst;
		out_t = (enum jit_type)s->st[0].type;
		for (unsigned j = 0; j < nlanes; j++) {
			struct jit_aff f;
			if (!affine(s, s->st[j].addr, &f, 0) || f.width != 32)
				return reject(s, JIT_REJ_ADDRESS, "store %u", j);
			if (s->st[j].type != out_t || s->st[j].offset != s->st[0].offset)
				return reject(s, JIT_REJ_STORES, "store %u", j);
			if (j == 0) {
				m->out.addr = f;
			} else if (!aff_same_terms(&f, &m->out.addr)) {
				return reject(s, JIT_REJ_STORES, "store %u base", j);
			}
			lane[j] = j;
			key[j] = f.c;
		}
		sort_lanes(lane, key, nlanes);
		uint64_t es = jit_type_size(out_t);
		for (unsigned j = 0; j < nlanes; j++)
			if (((key[0] + j * es) & 0xffffffffu) != key[j])
				return reject(s, JIT_REJ_STORES, "store lanes not contiguous", 0);
		m->out.addr.c = key[0];
		m->out.offset = s->st[0].offset;
		m->out.esize = (uint8_t)es;
		uint64_t d;
		bool varies;
		if (!aff_delta(s, &m->out.addr, &d, &varies))
			return reject(s, JIT_REJ_CARRIED, "in the output address", 0);
		if (d != ((nlanes * es) & 0xffffffffu))
			return reject(s, JIT_REJ_STRIDE, "output", 0);
		for (unsigned j = 0; j < nlanes; j++)
			lane[j] = s->st[lane[j]].val;
	} else {
		nlanes = nleaves;
		out_t = (enum jit_type)s->n[red_leaves[0]].type;
		for (unsigned j = 0; j < nlanes; j++) {
			uint32_t fl = s->firstload[red_leaves[j]];
			struct jit_aff f;
			if (fl == NONE || !affine(s, s->n[fl].a, &f, 0))
				return reject(s, JIT_REJ_LANES, "reduction leaf without a load", 0);
			lane[j] = red_leaves[j];
			key[j] = (f.c + s->n[fl].imm) & 0xffffffffffull;
		}
		sort_lanes(lane, key, nlanes);
		m->reduce_local = red;
	}
	if (nlanes > LANES_MAX || nlanes == 0)
		return reject(s, JIT_REJ_LANES, NULL, 0);
	m->lanes = (uint8_t)nlanes;
	unsigned budget = 4 * TW_JIT_LOOP_NODES_MAX;
	for (unsigned j = 1; j < nlanes; j++)
		if (!same_lane(s, lane[0], lane[j], j, &budget))
			return reject(s, JIT_REJ_LANES, "lane %u", j);

	/* every load and every integer division belongs to some lane */
	{
		uint8_t mark[TW_JIT_LOOP_NODES_MAX];
		memset(mark, 0, s->nn);
		for (unsigned j = 0; j < nlanes; j++)
			mark[lane[j]] = 1;
		for (uint32_t i = s->nn; i-- > 0;) {
			const struct sym *n = &s->n[i];
			if (!mark[i]) {
				bool divi = n->kind == SYM_OP &&
					    (n->op == JIT_OP_DIV || n->op == JIT_OP_REM) &&
					    !jit_type_is_float((enum jit_type)n->type);
				if (n->kind == SYM_LOAD || divi)
					return reject(s, JIT_REJ_STRAY_LOAD, "value %u", i);
				continue;
			}
			if (n->kind == SYM_OP) {
				unsigned ar = op_arity(n->op);
				mark[n->a] = 1;
				if (ar > 1)
					mark[n->b] = 1;
				if (ar > 2)
					mark[n->c] = 1;
			}
		}
	}

	uint16_t memo[TW_JIT_LOOP_NODES_MAX];
	memset(memo, 0, s->nn * sizeof(uint16_t));
	uint8_t red_op = m->bp.reduce_op;
	jit_bp_init(&m->bp, red == NONE ? "loop_map" : "loop_reduce",
		    red == NONE ? JIT_MAP : JIT_REDUCE, out_t, 0, NULL, 0, NULL);
	m->bp.reduce_op = red == NONE ? JIT_RED_NONE : red_op;
	struct lower lw = {.s = s, .bp = &m->bp, .memo = memo, .lanes = nlanes};
	lower_node(&lw, lane[0]);
	if (lw.failed)
		return false;
	if (m->bp.n_inputs == 0) { /* out[i] = f(i): the IR wants an input; this one is never read */
		m->bp.n_inputs = 1;
		m->bp.in_type[0] = JIT_I32;
		memset(&lw.in[0], 0, sizeof(lw.in[0]));
	}
	for (unsigned k = 0; k < m->bp.n_inputs; k++) {
		uint64_t d;
		bool varies;
		if (!aff_delta(s, &lw.in[k].addr, &d, &varies))
			return reject(s, JIT_REJ_CARRIED, "in input %u's address", k);
		if (d != ((nlanes * (uint64_t)lw.in[k].esize) & 0xffffffffu))
			return reject(s, JIT_REJ_STRIDE, "input %u", k);
		m->in[k] = lw.in[k];
	}
	memcpy(m->param_local, lw.param_local, sizeof(m->param_local));
	if (red != NONE && s->n[s->cur[red]].type != out_t)
		return reject(s, JIT_REJ_REDUCTION, "type", 0);
	char why[96];
	if (jit_blueprint_validate(&m->bp, false, why, sizeof(why)) != TW_ERR_OK) {
		reject(s, JIT_REJ_INVALID, NULL, 0);
		snprintf(s->detail, sizeof(s->detail), "%s", why);
		return false;
	}
	m->key = jit_blueprint_key(&m->bp, "sm_80");

	/* 4. temporaries: exit values from a one-element blueprint each */
	for (uint32_t i = 0; i < s->nwritten; i++) {
		uint32_t k = s->written[i];
		if (!written(s, k) || s->role[k] != ROLE_TEMP)
			continue;
		if (m->ntemps >= JIT_LOOP_TEMPS_MAX)
			return reject(s, JIT_REJ_LIMITS, "more than %u temporaries",
				      JIT_LOOP_TEMPS_MAX);
		struct jit_loop_temp *t = &m->temps[m->ntemps++];
		t->local = k;
		memset(memo, 0, s->nn * sizeof(uint16_t));
		jit_bp_init(&t->bp, "loop_temp", JIT_MAP, (enum jit_type)s->n[s->cur[k]].type, 0,
			    NULL, 0, NULL);
		struct lower tl = {.s = s, .bp = &t->bp, .memo = memo, .temp_mode = true};
		lower_node(&tl, s->cur[k]);
		if (tl.failed)
			return false;
		if (t->bp.n_inputs == 0) { /* the IR wants an input; this one is never read */
			t->bp.n_inputs = 1;
			t->bp.in_type[0] = JIT_I32;
			memset(&tl.in[0], 0, sizeof(tl.in[0]));
		}
		memcpy(t->in, tl.in, sizeof(t->in));
		memcpy(t->param_local, tl.param_local, sizeof(t->param_local));
		if (jit_blueprint_validate(&t->bp, false, why, sizeof(why)) != TW_ERR_OK) {
			reject(s, JIT_REJ_INVALID, NULL, 0);
			snprintf(s->detail, sizeof(s->detail), "temporary: %s", why);
			return false;
		}
	}
	m->body_ops = s->ops;
	return true;
}

/* Analyse the loop whose opcode is at `at`; fills l. */
static void analyse_loop(struct sx *s, const uint8_t *code, size_t len, size_t at,
			 struct jit_loop *l)
{
	struct rd r = {code, len, at + 1, false};
	s->curgen++;
	if (s->curgen == 0) { /* wrapped: forget every stamp */
		memset(s->gen, 0, s->nlocals * sizeof(uint32_t));
		memset(s->gen0, 0, s->nlocals * sizeof(uint32_t));
		memset(s->aff_gen, 0, sizeof(s->aff_gen));
		s->curgen = 1;
	}
	s->nn = s->sp = s->nwritten = s->nst = s->ops = 0;
	s->rej = JIT_REJ_NONE;
	s->detail[0] = 0;
	/* only [] -> [] loops reach the hook */
	if (rd_u8(&r) != 0x40 || r.bad) {
		reject(s, JIT_REJ_LOOP_TYPE, NULL, 0);
		goto out;
	}
	size_t body = r.pos;
	/* find the matching end */
	size_t end = 0;
	for (unsigned depth = 1; r.pos < len && !r.bad;) {
		size_t p = r.pos;
		uint8_t op = rd_u8(&r);
		if (op == 0x02 || op == 0x03 || op == 0x04)
			depth++;
		if (op == 0x0b && --depth == 0) {
			end = p;
			break;
		}
		skip_imm(&r, op);
	}
	if (end == 0) {
		reject(s, JIT_REJ_CONTROL_FLOW, "no end", 0);
		goto out;
	}
	r.pos = body;
	if (!exec_body(s, &r, end))
		goto out;
	struct jit_loop_match *m = calloc(1, sizeof(*m));
	if (!m) {
		reject(s, JIT_REJ_TOO_COMPLEX, "out of memory", 0);
		goto out;
	}
	if (!classify_and_build(s, m)) {
		free(m);
		goto out;
	}
	l->match = m;
out:
	l->reject = s->rej;
	snprintf(l->detail, sizeof(l->detail), "%s", s->detail);
}

size_t jit_analyze_function(uint32_t func_index, const uint8_t *code, size_t len,
			    const uint8_t *local_types, uint32_t nlocals, struct jit_loop *out,
			    size_t cap)
{
	/* Most functions have no loop: find that out before allocating the (large) state. */
	struct rd scan = {code, len, 0, false};
	size_t nloops = 0;
	while (scan.pos < len && !scan.bad) {
		uint8_t op = rd_u8(&scan);
		nloops += op == 0x03;
		skip_imm(&scan, op);
	}
	if (nloops == 0 || cap == 0)
		return nloops; /* counting only */
	struct sx *s = calloc(1, sizeof(*s));
	size_t per = nlocals ? nlocals : 1;
	uint32_t *words = calloc(per * 6, sizeof(uint32_t));
	uint8_t *role = calloc(per, 1);
	uint64_t *step = calloc(per, sizeof(uint64_t));
	size_t found = 0;
	struct rd r = {code, len, 0, false};
	if (!s || !words || !role || !step) {
		/* without memory every loop is reported as too complex */
		while (r.pos < len && !r.bad) {
			size_t at = r.pos;
			uint8_t op = rd_u8(&r);
			if (op == 0x03 && found < cap)
				out[found] = (struct jit_loop){func_index, (uint32_t)at,
							       JIT_REJ_TOO_COMPLEX, "out of memory",
							       NULL};
			found += op == 0x03;
			skip_imm(&r, op);
		}
		goto out_free;
	}
	s->ltypes = local_types;
	s->nlocals = nlocals;
	s->cur = words;
	s->local0 = words + per;
	s->gen = words + 2 * per;
	s->gen0 = words + 3 * per;
	s->written = words + 4 * per;
	s->role = role;
	s->step = step;
	while (r.pos < len && !r.bad) {
		size_t at = r.pos;
		uint8_t op = rd_u8(&r);
		if (op == 0x03) {
			if (found < cap) {
				struct jit_loop *l = &out[found];
				memset(l, 0, sizeof(*l));
				l->func_index = func_index;
				l->loop_offset = (uint32_t)at;
				analyse_loop(s, code, len, at, l);
			}
			found++;
		}
		skip_imm(&r, op);
	}
out_free:
	free(step);
	free(role);
	free(words);
	free(s);
	return found;
}

void jit_loops_release(struct jit_loop *loops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(loops[i].match);
		loops[i].match = NULL;
	}
}

/* ---- plans ------------------------------------------------------------------------------ */

struct jit_plan {
	const struct twm_module *module; /* borrowed; identity only */
	size_t n, matched;
	struct jit_loop *loops;  /* by (function, offset) */
	size_t *match_idx;       /* indices of matched loops, same order */
	uint8_t *func_matched;   /* per function index: 1 when one of its loops matched; the
				  * hook rejects every loop of the other functions at once */
	uint32_t nfuncs;
	uint8_t *wants;          /* per loop of the module, by its number: 1 when matched */
};

enum tw_err jit_analyze_module(const struct twm_module *m, struct jit_plan **out)
{
	struct jit_plan *p = calloc(1, sizeof(*p));
	if (!p)
		return TW_ERR_NOMEM;
	p->module = m;
	size_t cap = 0;
	uint32_t nimp, nf = twm_module_func_count(m, &nimp);
	for (uint32_t f = nimp; f < nf; f++) {
		const uint8_t *code, *types;
		size_t len;
		uint32_t nl;
		if (!twm_module_func_code(m, f, &code, &len) ||
		    !twm_module_func_locals(m, f, &types, &nl))
			continue;
		size_t need = jit_analyze_function(f, code, len, types, nl, NULL, 0);
		if (need == 0)
			continue;
		if (p->n + need > TW_JIT_LOOPS_MAX)
			break;
		if (p->n + need > cap) {
			size_t nc = (p->n + need) * 2;
			struct jit_loop *nloops = realloc(p->loops, nc * sizeof(*nloops));
			if (!nloops)
				goto out_nomem;
			p->loops = nloops;
			cap = nc;
		}
		p->n += jit_analyze_function(f, code, len, types, nl, p->loops + p->n, need);
	}
	uint32_t nl = twm_module_loop_count(m);
	p->match_idx = calloc(p->n ? p->n : 1, sizeof(size_t));
	p->func_matched = calloc(nf ? nf : 1, 1);
	p->wants = calloc(nl ? nl : 1, 1);
	if (!p->match_idx || !p->func_matched || !p->wants)
		goto out_nomem;
	p->nfuncs = nf;
	for (size_t i = 0; i < p->n; i++) {
		const struct jit_loop *l = &p->loops[i];
		uint32_t k;
		if (l->match) {
			p->match_idx[p->matched++] = i;
			p->func_matched[l->func_index] = 1;
			if (twm_module_loop_number(m, l->func_index, l->loop_offset, &k))
				p->wants[k] = 1;
		}
	}
	*out = p;
	return TW_ERR_OK;
out_nomem:
	jit_plan_free(p);
	return TW_ERR_NOMEM;
}

void jit_plan_free(struct jit_plan *p)
{
	if (!p)
		return;
	jit_loops_release(p->loops, p->n);
	free(p->loops);
	free(p->match_idx);
	free(p->func_matched);
	free(p->wants);
	free(p);
}

const struct twm_module *jit_plan_module(const struct jit_plan *p)
{
	return p->module;
}

size_t jit_plan_count(const struct jit_plan *p)
{
	return p->n;
}

size_t jit_plan_matched(const struct jit_plan *p)
{
	return p->matched;
}

const uint8_t *jit_plan_wants(const struct jit_plan *p)
{
	return p->wants;
}

const struct jit_loop *jit_plan_loop(const struct jit_plan *p, size_t i)
{
	return i < p->n ? &p->loops[i] : NULL;
}

const struct jit_loop_match *jit_plan_find(const struct jit_plan *p, uint32_t func_index,
					   uint32_t loop_offset)
{
	if (func_index >= p->nfuncs || !p->func_matched[func_index])
		return NULL;
	size_t lo = 0, hi = p->matched;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct jit_loop *l = &p->loops[p->match_idx[mid]];
		if (l->func_index < func_index ||
		    (l->func_index == func_index && l->loop_offset < loop_offset))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->matched) {
		const struct jit_loop *l = &p->loops[p->match_idx[lo]];
		if (l->func_index == func_index && l->loop_offset == loop_offset)
			return l->match;
	}
	return NULL;
}
