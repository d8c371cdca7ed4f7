/*
 * twm_load.c — decode, validate and compile a WebAssembly 2.0 module.
 *
 * One pass over the bytes. Sections are decoded into struct twm_module (allocated in the module's
 * arena); function bodies are validated and compiled to internal code in the same walk (see
 * twm_int.h for the code format and twm_compile.c for the body compiler). Every count and length
 * read from the module is checked against the bytes that remain before anything is allocated, so a
 * hostile module costs at most a small multiple of its own size.
 *
 * Error messages use the spec suite's wording; the first error wins.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "wasm/twm_load_int.h"

void twm_err_set(struct twm_error *err, enum tw_err code, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code != TW_ERR_OK)
		return;
	err->code = code;
	err->trap = TWM_TRAP_NONE;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void twm_err_trap(struct twm_error *err, enum twm_trap trap)
{
	if (!err)
		return;
	err->code = trap == TWM_TRAP_STACK_EXHAUSTED ? TW_ERR_WASM_EXHAUSTED : TW_ERR_WASM_TRAP;
	err->trap = trap;
	snprintf(err->msg, sizeof(err->msg), "%s", twm_trap_str(trap));
}

/* ---- reader --------------------------------------------------------------------------------- */

bool twm_rd_fail(struct twm_rd *r, enum tw_err code, const char *msg)
{
	if (r->err && r->err->code == TW_ERR_OK) {
		twm_err_set(r->err, code, "%s", msg);
		r->err->offset = (uint32_t)(r->p - r->base);
	}
	r->failed = true;
	return false;
}

bool twm_rd_failf(struct twm_rd *r, enum tw_err code, const char *fmt, uint32_t idx)
{
	char msg[96];
	snprintf(msg, sizeof(msg), fmt, idx);
	return twm_rd_fail(r, code, msg);
}

bool twm_rd_eof(struct twm_rd *r)
{
	return twm_rd_fail(r, TW_ERR_WASM_MALFORMED,
			   r->eof_msg ? r->eof_msg : "unexpected end of section or function");
}

/* LEB128 bytes may run past the section into the module: the error is then about the number
 * ("too long", "too large") when it has one, as the reference decoder reports it. */
static bool rd_leb_u8(struct twm_rd *r, uint8_t *out)
{
	if (r->p >= r->end && (r->p >= r->mend || !r->mend))
		return twm_rd_eof(r);
	*out = *r->p++;
	return true;
}

bool twm_rd_u8(struct twm_rd *r, uint8_t *out)
{
	if (r->p >= r->end)
		return twm_rd_eof(r);
	*out = *r->p++;
	return true;
}

static bool rd_leb(struct twm_rd *r, unsigned bits, bool sign, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	unsigned maxbytes = (bits + 6) / 7;

	for (unsigned i = 0;; i++) {
		uint8_t b;
		if (!rd_leb_u8(r, &b))
			return false;
		if (i == maxbytes - 1) {
			/* last byte: no continuation and the unused bits must be a sign/zero
			 * extension of the value */
			if (b & 0x80)
				return twm_rd_fail(r, TW_ERR_WASM_MALFORMED,
						   "integer representation too long");
			unsigned used = bits - shift; /* bits this byte may carry */
			if (sign) {
				uint8_t rest = (uint8_t)(b & 0x7f) >> (used - 1);
				uint8_t allset = (uint8_t)(0x7f >> (used - 1));
				if (rest != 0 && rest != allset)
					return twm_rd_fail(r, TW_ERR_WASM_MALFORMED,
							   "integer too large");
			} else if ((b & 0x7f) >> used) {
				return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "integer too large");
			}
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (sign && shift < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << shift;
			break;
		}
	}
	if (r->p > r->end) {
		r->p = r->end;
		return twm_rd_eof(r);
	}
	if (bits < 64 && !sign)
		v &= ((uint64_t)1 << bits) - 1;
	*out = v;
	return true;
}

bool twm_rd_u32(struct twm_rd *r, uint32_t *out)
{
	uint64_t v;
	if (!rd_leb(r, 32, false, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool twm_rd_s32(struct twm_rd *r, int32_t *out)
{
	uint64_t v;
	if (!rd_leb(r, 32, true, &v))
		return false;
	*out = (int32_t)(uint32_t)v;
	return true;
}

bool twm_rd_s33(struct twm_rd *r, int64_t *out)
{
	uint64_t v;
	if (!rd_leb(r, 33, true, &v))
		return false;
	*out = (int64_t)v;
	return true;
}

bool twm_rd_s64(struct twm_rd *r, int64_t *out)
{
	uint64_t v;
	if (!rd_leb(r, 64, true, &v))
		return false;
	*out = (int64_t)v;
	return true;
}

bool twm_rd_fixed(struct twm_rd *r, unsigned n, uint64_t *out)
{
	uint64_t v = 0;
	if ((size_t)(r->end - r->p) < n)
		return twm_rd_eof(r);
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	*out = v;
	return true;
}

/* A count of items each at least `min_bytes` long: reject counts the remaining bytes cannot hold
 * before anything is allocated for them. */
static bool rd_count(struct twm_rd *r, uint32_t *n, size_t min_bytes)
{
	if (!twm_rd_u32(r, n))
		return false;
	if (min_bytes && (uint64_t)*n * min_bytes > (uint64_t)(r->end - r->p))
		return twm_rd_eof(r);
	return true;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		uint32_t cp;
		unsigned len;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp < 0xe000))
			return false;
		i += len;
	}
	return true;
}

static bool rd_name(struct twm_rd *r, struct tw_arena *a, char **out, uint32_t *len)
{
	uint32_t n;
	if (r->p >= r->end && r->end < r->mend) {
		/* A name that starts at its section's end: the reference decoder reads its length
		 * from the bytes that follow the section and fails with "length out of bounds" when
		 * it points past the module. Decide the same way; otherwise it is a plain end. */
		struct twm_rd past = *r;
		past.end = r->mend;
		uint32_t follows;
		if (twm_rd_u32(&past, &follows) && follows > (size_t)(past.end - past.p))
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "length out of bounds");
		return twm_rd_eof(r);
	}
	if (!twm_rd_u32(r, &n))
		return false;
	if (n > (size_t)(r->end - r->p))
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "length out of bounds");
	if (!utf8_valid(r->p, n))
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed UTF-8 encoding");
	if (a) {
		*out = tw_arena_strndup(a, (const char *)r->p, n);
		if (!*out)
			return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
		*len = n;
	}
	r->p += n;
	return true;
}

bool twm_rd_valtype(struct twm_rd *r, uint8_t *t)
{
	if (!twm_rd_u8(r, t))
		return false;
	switch (*t) {
	case TWM_I32:
	case TWM_I64:
	case TWM_F32:
	case TWM_F64:
	case TWM_FUNCREF:
	case TWM_EXTERNREF:
		return true;
	case TWM_V128:
		return twm_rd_fail(r, TW_ERR_UNSUPPORTED, "unsupported: SIMD (v128) is not supported");
	default:
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed value type");
	}
}

static bool rd_reftype(struct twm_rd *r, uint8_t *t)
{
	if (!twm_rd_u8(r, t))
		return false;
	if (*t != TWM_FUNCREF && *t != TWM_EXTERNREF)
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed reference type");
	return true;
}

static bool rd_limits(struct twm_rd *r, bool *has_max, uint32_t *min, uint32_t *max)
{
	uint64_t flags;
	/* a one-bit LEB128: 0x02.. is "too large", a continuation bit "too long" */
	if (!rd_leb(r, 1, false, &flags))
		return false;
	*has_max = flags == 1;
	if (!twm_rd_u32(r, min))
		return false;
	*max = 0;
	if (*has_max && !twm_rd_u32(r, max))
		return false;
	return true;
}

static bool rd_tabletype(struct twm_rd *r, struct twm_tabletype *t)
{
	if (!rd_reftype(r, &t->elem))
		return false;
	if (!rd_limits(r, &t->has_max, &t->min, &t->max))
		return false;
	if (t->has_max && t->min > t->max)
		return twm_rd_fail(r, TW_ERR_WASM_INVALID,
				   "size minimum must not be greater than maximum");
	return true;
}

static bool rd_memtype(struct twm_rd *r, struct twm_memtype *t)
{
	if (!rd_limits(r, &t->has_max, &t->min, &t->max))
		return false;
	if (t->min > 65536 || (t->has_max && t->max > 65536))
		return twm_rd_fail(r, TW_ERR_WASM_INVALID,
				   "memory size must be at most 65536 pages (4GiB)");
	if (t->has_max && t->min > t->max)
		return twm_rd_fail(r, TW_ERR_WASM_INVALID,
				   "size minimum must not be greater than maximum");
	return true;
}

static bool rd_globaltype(struct twm_rd *r, struct twm_globaltype *t)
{
	uint8_t m;
	if (!twm_rd_valtype(r, &t->type) || !twm_rd_u8(r, &m))
		return false;
	if (m > 1)
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed mutability");
	t->mut = m;
	return true;
}

/* ---- constant expressions ------------------------------------------------------------------- */

/* Read a constant expression of type `want` (0 = any reference type accepted by the caller's
 * check). Only imported immutable globals may be read, as in Wasm 2.0. */
static bool rd_cexpr(struct twm_rd *r, struct twm_module *m, uint8_t want, struct twm_cexpr *cx,
		     uint8_t *declared)
{
	uint8_t op, end, got;
	memset(cx, 0, sizeof(*cx));
	if (!twm_rd_u8(r, &op))
		return false;
	switch (op) {
	case 0x41: {
		int32_t v;
		if (!twm_rd_s32(r, &v))
			return false;
		cx->val = (uint32_t)v;
		got = TWM_I32;
		break;
	}
	case 0x42: {
		int64_t v;
		if (!twm_rd_s64(r, &v))
			return false;
		cx->val = (uint64_t)v;
		got = TWM_I64;
		break;
	}
	case 0x43:
		if (!twm_rd_fixed(r, 4, &cx->val))
			return false;
		got = TWM_F32;
		break;
	case 0x44:
		if (!twm_rd_fixed(r, 8, &cx->val))
			return false;
		got = TWM_F64;
		break;
	case 0xd0:
		if (!rd_reftype(r, &got))
			return false;
		cx->op = TWM_CX_REF_NULL;
		break;
	case 0xd2:
		if (!twm_rd_u32(r, &cx->idx))
			return false;
		if (cx->idx >= m->nfuncs)
			return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown function %u", cx->idx);
		if (declared)
			declared[cx->idx] = 1;
		cx->op = TWM_CX_REF_FUNC;
		got = TWM_FUNCREF;
		break;
	case 0x23:
		if (!twm_rd_u32(r, &cx->idx))
			return false;
		if (cx->idx >= m->nglobal_imports)
			return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown global %u", cx->idx);
		if (m->globals[cx->idx].mut)
			return twm_rd_fail(r, TW_ERR_WASM_INVALID, "constant expression required");
		cx->op = TWM_CX_GLOBAL_GET;
		got = m->globals[cx->idx].type;
		break;
	case 0x0b:
		return twm_rd_fail(r, TW_ERR_WASM_INVALID, "type mismatch");
	default:
		if (twm_op_known(op))
			return twm_rd_fail(r, TW_ERR_WASM_INVALID, "constant expression required");
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "illegal opcode");
	}
	if (r->p >= r->end && r->end < r->mend) /* the next section's id is no opcode here */
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "illegal opcode");
	if (!twm_rd_u8(r, &end))
		return false;
	if (end != 0x0b) {
		bool constant = (end >= 0x41 && end <= 0x44) || end == 0x23 || end == 0xd0 ||
				end == 0xd2;
		if (twm_op_known(end))
			return twm_rd_fail(r, TW_ERR_WASM_INVALID,
					   constant ? "type mismatch" : "constant expression required");
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "illegal opcode");
	}
	if (got != want)
		return twm_rd_fail(r, TW_ERR_WASM_INVALID, "type mismatch");
	return true;
}

/* ---- sections ------------------------------------------------------------------------------- */

static uint64_t ftype_hash(const struct twm_ftype *t)
{
	/* FNV-1a over the shape; only used to reject unequal types quickly */
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)t->nparams << 32 | t->nresults);
	for (uint32_t i = 0; i < t->nparams + t->nresults; i++)
		h = (h ^ t->types[i]) * 0x100000001b3ull;
	return h;
}

bool twm_ftype_eq(const struct twm_ftype *a, const struct twm_ftype *b)
{
	if (a == b)
		return true;
	return a->hash == b->hash && a->nparams == b->nparams && a->nresults == b->nresults &&
	       memcmp(a->types, b->types, a->nparams + a->nresults) == 0;
}

static bool sec_type(struct twm_rd *r, struct twm_module *m)
{
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	m->types = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_ftype, n ? n : 1);
	if (!m->types)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	m->ntypes = n;
	for (uint32_t i = 0; i < n; i++) {
		struct twm_ftype *t = &m->types[i];
		uint8_t form;
		uint32_t np, nr;
		if (!twm_rd_u8(r, &form))
			return false;
		if (form != 0x60)
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "integer representation too long");
		if (!rd_count(r, &np, 1))
			return false;
		const uint8_t *pp = r->p;
		for (uint32_t k = 0; k < np; k++) {
			uint8_t vt;
			if (!twm_rd_valtype(r, &vt))
				return false;
		}
		if (!rd_count(r, &nr, 1))
			return false;
		const uint8_t *rp = r->p;
		for (uint32_t k = 0; k < nr; k++) {
			uint8_t vt;
			if (!twm_rd_valtype(r, &vt))
				return false;
		}
		if (np > TW_WASM_PARAMS_MAX || nr > TW_WASM_PARAMS_MAX)
			return twm_rd_fail(r, TW_ERR_WASM_INVALID, "too many parameters or results");
		t->nparams = np;
		t->nresults = nr;
		t->types = tw_arena_alloc(&m->arena, np + nr + 1, 1);
		if (!t->types)
			return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
		memcpy(t->types, pp, np);
		memcpy(t->types + np, rp, nr);
		t->hash = ftype_hash(t);
	}
	return true;
}

static bool sec_import(struct twm_rd *r, struct twm_module *m)
{
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	m->imports = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_import, n ? n : 1);
	if (!m->imports)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	m->nimports = n;
	for (uint32_t i = 0; i < n; i++) {
		struct twm_import *im = &m->imports[i];
		if (!rd_name(r, &m->arena, &im->module, &im->module_len) ||
		    !rd_name(r, &m->arena, &im->name, &im->name_len) || !twm_rd_u8(r, &im->kind))
			return false;
		switch (im->kind) {
		case TWM_EXTERN_FUNC:
			if (!twm_rd_u32(r, &im->u.type))
				return false;
			if (im->u.type >= m->ntypes)
				return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown type %u", im->u.type);
			m->nfunc_imports++;
			break;
		case TWM_EXTERN_TABLE:
			if (!rd_tabletype(r, &im->u.table))
				return false;
			m->ntable_imports++;
			break;
		case TWM_EXTERN_MEMORY:
			if (!rd_memtype(r, &im->u.mem))
				return false;
			m->nmem_imports++;
			break;
		case TWM_EXTERN_GLOBAL:
			if (!rd_globaltype(r, &im->u.global))
				return false;
			m->nglobal_imports++;
			break;
		default:
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed import kind");
		}
	}
	return true;
}

/* Fill the import part of the index spaces once the counts of defined items are known. */
static bool alloc_spaces(struct twm_rd *r, struct twm_module *m, uint32_t nfuncs, uint32_t ntables,
			 uint32_t nmems, uint32_t nglobals)
{
	uint64_t tf = (uint64_t)m->nfunc_imports + nfuncs;
	uint64_t tt = (uint64_t)m->ntable_imports + ntables;
	uint64_t tm = (uint64_t)m->nmem_imports + nmems;
	uint64_t tg = (uint64_t)m->nglobal_imports + nglobals;
	if (tf > TW_WASM_FUNCS_MAX || tt > TW_WASM_TABLES_MAX || tg > TW_WASM_GLOBALS_MAX)
		return twm_rd_fail(r, TW_ERR_WASM_INVALID, "module has too many functions, tables or globals");
	if (tm > 1)
		return twm_rd_fail(r, TW_ERR_WASM_INVALID, "multiple memories");
	m->nfuncs = (uint32_t)tf;
	m->ntables = (uint32_t)tt;
	m->nmems = (uint32_t)tm;
	m->nglobals = (uint32_t)tg;
	m->func_types = TW_ARENA_NEW_ARRAY(&m->arena, uint32_t, tf + 1);
	m->tables = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_tabletype, tt + 1);
	m->mems = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_memtype, tm + 1);
	m->globals = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_globaltype, tg + 1);
	m->global_inits = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_cexpr, tg + 1);
	if (!m->func_types || !m->tables || !m->mems || !m->globals || !m->global_inits)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	uint32_t f = 0, t = 0, me = 0, g = 0;
	for (uint32_t i = 0; i < m->nimports; i++) {
		struct twm_import *im = &m->imports[i];
		switch (im->kind) {
		case TWM_EXTERN_FUNC:
			m->func_types[f++] = im->u.type;
			break;
		case TWM_EXTERN_TABLE:
			m->tables[t++] = im->u.table;
			break;
		case TWM_EXTERN_MEMORY:
			m->mems[me++] = im->u.mem;
			break;
		default:
			m->globals[g++] = im->u.global;
			break;
		}
	}
	return true;
}

struct load_state {
	struct twm_module *m;
	uint32_t nfuncs_declared; /* function section count */
	bool have_func_sec, have_table_sec, have_mem_sec, have_global_sec, have_code_sec;
	bool spaces_ready;
	bool has_datacount;
	uint32_t datacount;
	bool have_data_sec;
	bool code_count_mismatch;
	uint8_t *declared; /* functions that ref.func may name */
	uint32_t ntables_def, nmems_def, nglobals_def;
	uint32_t *ftmp;                /* function section, until the index spaces exist */
	struct twm_tabletype *ttmp;    /* table section, likewise */
	struct twm_memtype memtmp;     /* memory section, likewise */
};

static bool ensure_spaces(struct twm_rd *r, struct load_state *s)
{
	if (s->spaces_ready)
		return true;
	s->spaces_ready = true;
	if (!alloc_spaces(r, s->m, s->nfuncs_declared, s->ntables_def, s->nmems_def,
			  s->nglobals_def))
		return false;
	s->declared = tw_arena_calloc(&s->m->arena, s->m->nfuncs + 1, 1, 1);
	if (!s->declared)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	return true;
}

static bool sec_func(struct twm_rd *r, struct load_state *s)
{
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	/* the function section comes before table/memory/global; read types into a temp first */
	uint32_t *tmp = malloc(sizeof(uint32_t) * (n ? n : 1));
	if (!tmp)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		if (!twm_rd_u32(r, &tmp[i])) {
			free(tmp);
			return false;
		}
		if (tmp[i] >= s->m->ntypes) {
			uint32_t bad = tmp[i];
			free(tmp);
			return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown type %u", bad);
		}
	}
	s->nfuncs_declared = n;
	s->have_func_sec = true;
	s->ftmp = tmp;
	return true;
}

static bool sec_table(struct twm_rd *r, struct load_state *s, const uint8_t *start)
{
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	s->ntables_def = n;
	s->ttmp = malloc(sizeof(*s->ttmp) * (n ? n : 1));
	if (!s->ttmp)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		if (!rd_tabletype(r, &s->ttmp[i]))
			return false;
	}
	(void)start;
	return true;
}

static bool sec_mem(struct twm_rd *r, struct load_state *s)
{
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	if (n + s->m->nmem_imports > 1)
		return twm_rd_fail(r, TW_ERR_WASM_INVALID, "multiple memories");
	s->nmems_def = n;
	for (uint32_t i = 0; i < n; i++) {
		if (!rd_memtype(r, &s->memtmp))
			return false;
	}
	return true;
}

/* Once the counts are known, build index spaces and put the function types and defined tables
 * and memories in place. Called before any section that needs the spaces. */
static bool place_defined(struct twm_rd *r, struct load_state *s)
{
	struct twm_module *m = s->m;
	if (s->spaces_ready)
		return true;
	bool ok = ensure_spaces(r, s);
	if (ok) {
		for (uint32_t i = 0; i < s->nfuncs_declared; i++)
			m->func_types[m->nfunc_imports + i] = s->ftmp[i];
		for (uint32_t i = 0; i < s->ntables_def; i++)
			m->tables[m->ntable_imports + i] = s->ttmp[i];
		if (s->nmems_def)
			m->mems[m->nmem_imports] = s->memtmp;
	}
	return ok;
}

static bool sec_global(struct twm_rd *r, struct load_state *s)
{
	struct twm_module *m = s->m;
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	s->nglobals_def = n;
	if (!place_defined(r, s))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t g = m->nglobal_imports + i;
		if (!rd_globaltype(r, &m->globals[g]))
			return false;
		if (!rd_cexpr(r, m, m->globals[g].type, &m->global_inits[g], s->declared))
			return false;
	}
	return true;
}

static bool sec_export(struct twm_rd *r, struct load_state *s)
{
	struct twm_module *m = s->m;
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	m->exports = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_export, n ? n : 1);
	if (!m->exports)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct twm_export *e = &m->exports[i];
		if (!rd_name(r, &m->arena, &e->name, &e->name_len) || !twm_rd_u8(r, &e->kind) ||
		    !twm_rd_u32(r, &e->idx))
			return false;
		switch (e->kind) {
		case TWM_EXTERN_FUNC:
			if (e->idx >= m->nfuncs)
				return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown function %u", e->idx);
			s->declared[e->idx] = 1;
			break;
		case TWM_EXTERN_TABLE:
			if (e->idx >= m->ntables)
				return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown table %u", e->idx);
			break;
		case TWM_EXTERN_MEMORY:
			if (e->idx >= m->nmems)
				return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown memory %u", e->idx);
			break;
		case TWM_EXTERN_GLOBAL:
			if (e->idx >= m->nglobals)
				return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown global %u", e->idx);
			break;
		default:
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed export kind");
		}
		/* exports are few; a quadratic duplicate check is bounded by the section size */
		for (uint32_t k = 0; k < i; k++) {
			if (m->exports[k].name_len == e->name_len &&
			    memcmp(m->exports[k].name, e->name, e->name_len) == 0)
				return twm_rd_fail(r, TW_ERR_WASM_INVALID, "duplicate export name");
		}
		m->nexports = i + 1;
	}
	return true;
}

static bool sec_start(struct twm_rd *r, struct load_state *s)
{
	struct twm_module *m = s->m;
	if (!twm_rd_u32(r, &m->start))
		return false;
	if (m->start >= m->nfuncs)
		return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown function %u", m->start);
	const struct twm_ftype *t = &m->types[m->func_types[m->start]];
	if (t->nparams || t->nresults)
		return twm_rd_fail(r, TW_ERR_WASM_INVALID, "start function");
	m->has_start = true;
	return true;
}

static bool sec_elem(struct twm_rd *r, struct load_state *s)
{
	struct twm_module *m = s->m;
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	m->elems = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_elem, n ? n : 1);
	if (!m->elems)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct twm_elem *e = &m->elems[i];
		uint32_t flags, cnt;
		if (!twm_rd_u32(r, &flags))
			return false;
		if (flags > 7)
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed elements segment kind");
		e->type = TWM_FUNCREF;
		if (flags & 1)
			e->mode = (flags & 2) ? TWM_SEG_DECLARATIVE : TWM_SEG_PASSIVE;
		else
			e->mode = TWM_SEG_ACTIVE;
		if (e->mode == TWM_SEG_ACTIVE) {
			if ((flags & 2) && !twm_rd_u32(r, &e->table))
				return false;
			if (e->table >= m->ntables)
				return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown table %u", e->table);
			if (!rd_cexpr(r, m, TWM_I32, &e->offset, s->declared))
				return false;
		}
		if (flags & 3) {
			/* elemkind (0x00 = funcref) for index lists, a reftype for expressions */
			uint8_t k;
			if (flags & 4) {
				if (!rd_reftype(r, &e->type))
					return false;
			} else {
				if (!twm_rd_u8(r, &k))
					return false;
				if (k != 0)
					return twm_rd_fail(r, TW_ERR_WASM_MALFORMED,
							   "malformed reference type");
			}
		}
		if (!rd_count(r, &cnt, 1))
			return false;
		e->count = cnt;
		e->items = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_cexpr, cnt ? cnt : 1);
		if (!e->items)
			return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
		for (uint32_t k = 0; k < cnt; k++) {
			if (flags & 4) {
				if (!rd_cexpr(r, m, e->type, &e->items[k], s->declared))
					return false;
			} else {
				uint32_t f;
				if (!twm_rd_u32(r, &f))
					return false;
				if (f >= m->nfuncs)
					return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown function %u", f);
				s->declared[f] = 1;
				e->items[k].op = TWM_CX_REF_FUNC;
				e->items[k].idx = f;
			}
		}
		if (e->mode == TWM_SEG_ACTIVE && m->tables[e->table].elem != e->type)
			return twm_rd_fail(r, TW_ERR_WASM_INVALID, "type mismatch");
		m->nelems = i + 1;
	}
	return true;
}

static bool sec_data(struct twm_rd *r, struct load_state *s)
{
	struct twm_module *m = s->m;
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	if (s->has_datacount && n != s->datacount)
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED,
				   "data count and data section have inconsistent lengths");
	m->datas = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_data, n ? n : 1);
	if (!m->datas)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct twm_data *d = &m->datas[i];
		uint32_t flags, len;
		if (!twm_rd_u32(r, &flags))
			return false;
		if (flags > 2)
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed data segment kind");
		d->mode = flags == 1 ? TWM_SEG_PASSIVE : TWM_SEG_ACTIVE;
		if (flags == 2 && !twm_rd_u32(r, &d->mem))
			return false;
		if (d->mode == TWM_SEG_ACTIVE) {
			if (d->mem >= m->nmems)
				return twm_rd_failf(r, TW_ERR_WASM_INVALID, "unknown memory %u", d->mem);
			if (!rd_cexpr(r, m, TWM_I32, &d->offset, s->declared))
				return false;
		}
		if (!twm_rd_u32(r, &len))
			return false;
		if (len > (size_t)(r->end - r->p))
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "unexpected end of section or function");
		d->bytes = r->p;
		d->len = len;
		r->p += len;
		m->ndatas = i + 1;
	}
	return true;
}

/* qsort order of code pointers: by address */
static int code_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(const uint32_t *const *)a, y = (uintptr_t)*(const uint32_t *const *)b;
	return (x > y) - (x < y);
}

static bool sec_code(struct twm_rd *r, struct load_state *s)
{
	struct twm_module *m = s->m;
	uint32_t n;
	if (!rd_count(r, &n, 1))
		return false;
	if (n != s->nfuncs_declared) {
		/* reported at the end of the module, after any section-order error */
		s->code_count_mismatch = true;
		r->p = r->end;
		return true;
	}
	m->codes = TW_ARENA_NEW_ARRAY(&m->arena, struct twm_code, n ? n : 1);
	if (!m->codes)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	struct twm_compiler *c = twm_compiler_new();
	if (!c)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	bool ok = true;
	for (uint32_t i = 0; i < n && ok; i++) {
		uint32_t size;
		if (!twm_rd_u32(r, &size)) {
			ok = false;
			break;
		}
		if (size > (size_t)(r->end - r->p)) {
			ok = twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "unexpected end of section or function");
			break;
		}
		struct twm_rd body = *r;
		body.end = r->p + size;
		/* reading past a body that lacks its end: inside the section the next byte is
		 * another body; at the section's end, the next section */
		if (body.end != r->end)
			body.eof_msg = "END opcode expected";
		else if (r->end != r->mend)
			body.eof_msg = "section size mismatch";
		else
			body.eof_msg = NULL;
		ok = twm_compile_func(c, m, m->nfunc_imports + i, &body, s->declared,
				      s->has_datacount, &m->codes[i]);
		r->p += size;
	}
	if (ok)
		ok = twm_link_code(c, m, n, r);
	twm_compiler_free(c);
	if (!ok)
		return false;
	m->code_starts = TW_ARENA_NEW_ARRAY(&m->arena, const uint32_t *, n ? n : 1);
	if (!m->code_starts)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		m->code_starts[i] = m->codes[i].icode;
	qsort(m->code_starts, n, sizeof(*m->code_starts), code_cmp);
	return true;
}

static void module_free(struct twm_module *m)
{
	tw_arena_free(&m->arena);
	free(m->code);
	free(m->bytes);
	free(m);
}

void twm_module_ref(struct twm_module *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void twm_module_unref(struct twm_module *m)
{
	if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
		module_free(m);
}

/* Binary order of the non-custom sections: type import function table memory global export
 * start element datacount code data. */
static int section_rank(uint8_t id)
{
	static const int8_t rank[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
	return id < 13 ? rank[id] : -1;
}

enum tw_err twm_module_load(const uint8_t *bytes, size_t len, const struct twm_limits *limits,
			    struct twm_module **out, struct twm_error *err)
{
	struct twm_error local = {0};
	struct load_state s = {0};
	struct twm_module *m;
	struct twm_rd r;
	int last_rank = 0;
	bool ok = true;

	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	*out = NULL;
	if (len > TW_WASM_MODULE_BYTES_MAX) {
		twm_err_set(err, TW_ERR_MODULE_TOO_LARGE, "module too large");
		return err->code;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		twm_err_set(err, TW_ERR_NOMEM, "out of memory");
		return err->code;
	}
	atomic_init(&m->refs, 1);
	tw_arena_init(&m->arena, 0, 0);
	m->bytes = malloc(len ? len : 1);
	if (!m->bytes) {
		free(m);
		twm_err_set(err, TW_ERR_NOMEM, "out of memory");
		return err->code;
	}
	memcpy(m->bytes, bytes, len);
	m->nbytes = len;
	m->limits.memory_pages_max = limits && limits->memory_pages_max ? limits->memory_pages_max
									 : TW_WASM_PAGES_MAX;
	m->limits.call_depth_max =
		limits && limits->call_depth_max ? limits->call_depth_max : TW_WASM_CALL_DEPTH_MAX;
	s.m = m;

	r = (struct twm_rd){.base = m->bytes,
			    .p = m->bytes,
			    .end = m->bytes + len,
			    .mend = m->bytes + len,
			    .err = err};
	uint64_t version;
	if (len < 4) {
		ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED, "unexpected end");
		goto out;
	}
	if (memcmp(m->bytes, "\0asm", 4) != 0) {
		ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED, "magic header not detected");
		goto out;
	}
	r.p += 4;
	if (len < 8) {
		ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED, "unexpected end");
		goto out;
	}
	twm_rd_fixed(&r, 4, &version);
	if (version != 1) {
		ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED, "unknown binary version");
		goto out;
	}
	while (ok && r.p < r.end) {
		uint8_t id;
		uint32_t size;
		if (!twm_rd_u8(&r, &id) || !twm_rd_u32(&r, &size)) {
			ok = false;
			break;
		}
		if (size > (size_t)(r.end - r.p)) {
			ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED, "length out of bounds");
			break;
		}
		struct twm_rd sr = r;
		sr.end = r.p + size;
		if (id != 0) {
			int rank = section_rank(id);
			if (rank < 0) {
				ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED, "malformed section id");
				break;
			}
			if (rank <= last_rank) {
				ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED,
						 "unexpected content after last section");
				break;
			}
			last_rank = rank;
		}
		/* sections after the memory section need the index spaces */
		if (id > 6 && !place_defined(&sr, &s)) {
			ok = false;
			break;
		}
		switch (id) {
		case 0:
			ok = rd_name(&sr, NULL, NULL, NULL);
			sr.p = sr.end;
			break;
		case 1:
			ok = sec_type(&sr, m);
			break;
		case 2:
			ok = sec_import(&sr, m);
			break;
		case 3:
			ok = sec_func(&sr, &s);
			break;
		case 4:
			ok = sec_table(&sr, &s, r.p);
			break;
		case 5:
			ok = sec_mem(&sr, &s);
			break;
		case 6:
			ok = sec_global(&sr, &s);
			break;
		case 7:
			ok = sec_export(&sr, &s);
			break;
		case 8:
			ok = sec_start(&sr, &s);
			break;
		case 9:
			ok = sec_elem(&sr, &s);
			break;
		case 10:
			s.have_code_sec = true;
			ok = sec_code(&sr, &s);
			break;
		case 11:
			ok = sec_data(&sr, &s);
			if (ok)
				s.have_data_sec = true;
			break;
		case 12:
			ok = twm_rd_u32(&sr, &s.datacount);
			s.has_datacount = ok;
			m->has_datacount = ok;
			m->datacount = s.datacount;
			break;
		}
		if (ok && sr.p != sr.end)
			ok = twm_rd_fail(&sr, TW_ERR_WASM_MALFORMED, "section size mismatch");
		r.p = sr.end;
	}
	if (ok && !place_defined(&r, &s))
		ok = false;
	if (ok && (s.code_count_mismatch || (!s.have_code_sec && s.nfuncs_declared)))
		ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED,
				 "function and code section have inconsistent lengths");
	if (ok && m->data_idx_used) {
		if (s.have_data_sec)
			ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED, "data count section required");
		else
			ok = twm_rd_failf(&r, TW_ERR_WASM_INVALID, "unknown data segment %u",
					  m->data_idx_first);
	}
	if (ok && s.has_datacount && !s.have_data_sec && s.datacount)
		ok = twm_rd_fail(&r, TW_ERR_WASM_MALFORMED,
				 "data count and data section have inconsistent lengths");
out:
	free(s.ftmp);
	free(s.ttmp);
	if (!ok) {
		module_free(m);
		if (err->code == TW_ERR_OK)
			twm_err_set(err, TW_ERR_WASM_MALFORMED, "malformed module");
		return err->code;
	}
	*out = m;
	return TW_ERR_OK;
}

/* ---- introspection -------------------------------------------------------------------------- */

static void ftype_pub(const struct twm_ftype *t, struct twm_functype *out)
{
	out->nparams = t->nparams;
	out->nresults = t->nresults;
	out->params = t->types;
	out->results = t->types + t->nparams;
}

uint32_t twm_module_import_count(const struct twm_module *m)
{
	return m->nimports;
}

uint32_t twm_module_memory_count(const struct twm_module *m)
{
	return m->nmems;
}

bool twm_module_memory(const struct twm_module *m, uint32_t i, struct twm_memtype *out)
{
	if (i >= m->nmems)
		return false;
	*out = m->mems[i];
	return true;
}

uint32_t twm_module_export_count(const struct twm_module *m)
{
	return m->nexports;
}

bool twm_module_import(const struct twm_module *m, uint32_t i, struct twm_import_desc *out)
{
	if (i >= m->nimports)
		return false;
	const struct twm_import *im = &m->imports[i];
	memset(out, 0, sizeof(*out));
	out->module = im->module;
	out->module_len = im->module_len;
	out->name = im->name;
	out->name_len = im->name_len;
	out->kind = im->kind;
	switch (im->kind) {
	case TWM_EXTERN_FUNC:
		ftype_pub(&m->types[im->u.type], &out->type.func);
		break;
	case TWM_EXTERN_TABLE:
		out->type.table = im->u.table;
		break;
	case TWM_EXTERN_MEMORY:
		out->type.memory = im->u.mem;
		break;
	default:
		out->type.global = im->u.global;
		break;
	}
	return true;
}

bool twm_module_export(const struct twm_module *m, uint32_t i, struct twm_export_desc *out)
{
	if (i >= m->nexports)
		return false;
	const struct twm_export *e = &m->exports[i];
	memset(out, 0, sizeof(*out));
	out->name = e->name;
	out->name_len = e->name_len;
	out->kind = e->kind;
	out->index = e->idx;
	switch (e->kind) {
	case TWM_EXTERN_FUNC:
		ftype_pub(&m->types[m->func_types[e->idx]], &out->type.func);
		break;
	case TWM_EXTERN_TABLE:
		out->type.table = m->tables[e->idx];
		break;
	case TWM_EXTERN_MEMORY:
		out->type.memory = m->mems[e->idx];
		break;
	default:
		out->type.global = m->globals[e->idx];
		break;
	}
	return true;
}

bool twm_module_find_export(const struct twm_module *m, const char *name, size_t len,
			    struct twm_export_desc *out)
{
	for (uint32_t i = 0; i < m->nexports; i++) {
		if (m->exports[i].name_len == len && memcmp(m->exports[i].name, name, len) == 0)
			return twm_module_export(m, i, out);
	}
	return false;
}

bool twm_module_func_code(const struct twm_module *m, uint32_t func_index, const uint8_t **code,
			  size_t *len)
{
	if (func_index < m->nfunc_imports || func_index >= m->nfuncs)
		return false;
	const struct twm_code *c = &m->codes[func_index - m->nfunc_imports];
	*code = c->body;
	*len = c->body_len;
	return true;
}

uint32_t twm_module_loop_count(const struct twm_module *m)
{
	return m->nloops;
}

bool twm_module_loop_number(const struct twm_module *m, uint32_t func_index, uint32_t loop_offset,
			    uint32_t *number)
{
	if (func_index < m->nfunc_imports || func_index >= m->nfuncs)
		return false;
	const struct twm_code *c = &m->codes[func_index - m->nfunc_imports];
	uint32_t lo = 0, hi = c->nloops; /* offsets increase: loops are recorded in code order */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c->loop_offsets[mid] < loop_offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->nloops || c->loop_offsets[lo] != loop_offset)
		return false;
	*number = c->loop_base + lo;
	return true;
}

uint32_t twm_module_func_count(const struct twm_module *m, uint32_t *nimported)
{
	if (nimported)
		*nimported = m->nfunc_imports;
	return m->nfuncs;
}

bool twm_module_func_locals(const struct twm_module *m, uint32_t func_index, const uint8_t **types,
			    uint32_t *nlocals)
{
	if (func_index < m->nfunc_imports || func_index >= m->nfuncs)
		return false;
	const struct twm_code *c = &m->codes[func_index - m->nfunc_imports];
	*types = c->local_types;
	*nlocals = c->nlocals;
	return true;
}
