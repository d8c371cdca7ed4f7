/* jit_builtin.c — the built-in blueprint table; see jit_builtin.h. */
#include "jit/jit_builtin.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Enough for every entry built below (asserted when building). */
#define BUILTINS_MAX 160

static struct jit_blueprint table[BUILTINS_MAX];
static size_t table_n;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static const enum jit_type all_types[] = {JIT_I32, JIT_I64, JIT_F32, JIT_F64};

static struct jit_blueprint *add_bp(const char *name, enum jit_kind kind, enum jit_type out,
				    unsigned n_in, const enum jit_type *in, unsigned n_par,
				    const enum jit_type *par)
{
	assert(table_n < BUILTINS_MAX);
	struct jit_blueprint *bp = &table[table_n++];
	jit_bp_init(bp, name, kind, out, n_in, in, n_par, par);
	return bp;
}

static bool is_float(enum jit_type t)
{
	return jit_type_is_float(t);
}

/* out = x OP y over two inputs of type t. */
static void binary(const char *stem, enum jit_op op, enum jit_type t, unsigned flags)
{
	char name[32];
	snprintf(name, sizeof(name), "%s_%s", stem, jit_type_str(t));
	enum jit_type in[2] = {t, t};
	struct jit_blueprint *bp = add_bp(name, JIT_MAP, t, 2, in, 0, NULL);
	uint16_t x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
	uint16_t y = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 1);
	jit_bp_node(bp, op, t, flags, x, y, 0, 0);
}

static void unary(const char *stem, enum jit_op op, enum jit_type t)
{
	char name[32];
	snprintf(name, sizeof(name), "%s_%s", stem, jit_type_str(t));
	struct jit_blueprint *bp = add_bp(name, JIT_MAP, t, 1, &t, 0, NULL);
	uint16_t x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
	jit_bp_node(bp, op, t, 0, x, 0, 0, 0);
}

static void compare(const char *stem, enum jit_op op, enum jit_type t, unsigned flags)
{
	char name[32];
	snprintf(name, sizeof(name), "%s_%s", stem, jit_type_str(t));
	enum jit_type in[2] = {t, t};
	struct jit_blueprint *bp = add_bp(name, JIT_MAP, JIT_I32, 2, in, 0, NULL);
	uint16_t x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
	uint16_t y = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 1);
	jit_bp_node(bp, op, JIT_I32, flags, x, y, 0, 0);
}

static uint64_t const_of(enum jit_type t, double f, int64_t i)
{
	switch (t) {
	case JIT_F32:
		return jit_f32_bits((float)f);
	case JIT_F64:
		return jit_f64_bits(f);
	case JIT_I32:
		return (uint32_t)(int32_t)i;
	default:
		return (uint64_t)i;
	}
}

static void per_type(enum jit_type t)
{
	char name[32];
	const char *ts = jit_type_str(t);
	binary("add", JIT_OP_ADD, t, 0);
	binary("sub", JIT_OP_SUB, t, 0);
	binary("mul", JIT_OP_MUL, t, 0);
	binary("div", JIT_OP_DIV, t, 0);
	binary("min", JIT_OP_MIN, t, 0);
	binary("max", JIT_OP_MAX, t, 0);
	unary("neg", JIT_OP_NEG, t);
	unary("abs", JIT_OP_ABS, t);
	if (is_float(t)) {
		unary("sqrt", JIT_OP_SQRT, t);
	} else {
		binary("divu", JIT_OP_DIV, t, JIT_F_UNSIGNED);
		binary("rem", JIT_OP_REM, t, 0);
		binary("remu", JIT_OP_REM, t, JIT_F_UNSIGNED);
		binary("and", JIT_OP_AND, t, 0);
		binary("or", JIT_OP_OR, t, 0);
		binary("xor", JIT_OP_XOR, t, 0);
		binary("shl", JIT_OP_SHL, t, 0);
		binary("shr", JIT_OP_SHR, t, 0);
		binary("shru", JIT_OP_SHR, t, JIT_F_UNSIGNED);
		binary("minu", JIT_OP_MIN, t, JIT_F_UNSIGNED);
		binary("maxu", JIT_OP_MAX, t, JIT_F_UNSIGNED);
	}
	compare("eq", JIT_OP_EQ, t, 0);
	compare("ne", JIT_OP_NE, t, 0);
	compare("lt", JIT_OP_LT, t, 0);
	compare("le", JIT_OP_LE, t, 0);
	compare("gt", JIT_OP_GT, t, 0);
	compare("ge", JIT_OP_GE, t, 0);
	if (!is_float(t)) {
		compare("ltu", JIT_OP_LT, t, JIT_F_UNSIGNED);
		compare("geu", JIT_OP_GE, t, JIT_F_UNSIGNED);
	}

	/* clamp_T: min(max(x, lo), hi), with lo and hi scalar parameters. */
	snprintf(name, sizeof(name), "clamp_%s", ts);
	enum jit_type par2[2] = {t, t};
	struct jit_blueprint *bp = add_bp(name, JIT_MAP, t, 1, &t, 2, par2);
	uint16_t x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
	uint16_t lo = jit_bp_node(bp, JIT_OP_PARAM, t, 0, 0, 0, 0, 0);
	uint16_t hi = jit_bp_node(bp, JIT_OP_PARAM, t, 0, 0, 0, 0, 1);
	uint16_t m = jit_bp_node(bp, JIT_OP_MAX, t, 0, x, lo, 0, 0);
	jit_bp_node(bp, JIT_OP_MIN, t, 0, m, hi, 0, 0);

	/* select_T: x < y ? y : x (a max written as a comparison and a select). */
	snprintf(name, sizeof(name), "select_%s", ts);
	enum jit_type in2[2] = {t, t};
	bp = add_bp(name, JIT_MAP, t, 2, in2, 0, NULL);
	x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
	uint16_t y = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 1);
	uint16_t c = jit_bp_node(bp, JIT_OP_LT, JIT_I32, 0, x, y, 0, 0);
	jit_bp_node(bp, JIT_OP_SELECT, t, 0, c, y, x, 0);

	/* poly_T: x * x + 3 * x + 0.5 (constants; 7 for integers). */
	snprintf(name, sizeof(name), "poly_%s", ts);
	bp = add_bp(name, JIT_MAP, t, 1, &t, 0, NULL);
	x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
	uint16_t k3 = jit_bp_node(bp, JIT_OP_CONST, t, 0, 0, 0, 0, const_of(t, 3.0, 3));
	uint16_t kh = jit_bp_node(bp, JIT_OP_CONST, t, 0, 0, 0, 0, const_of(t, 0.5, 7));
	uint16_t xx = jit_bp_node(bp, JIT_OP_MUL, t, 0, x, x, 0, 0);
	uint16_t x3 = jit_bp_node(bp, JIT_OP_MUL, t, 0, k3, x, 0, 0);
	uint16_t s = jit_bp_node(bp, JIT_OP_ADD, t, 0, xx, x3, 0, 0);
	jit_bp_node(bp, JIT_OP_ADD, t, 0, s, kh, 0, 0);

	/* axpy: a * x + y (saxpy for f32, daxpy for f64). */
	snprintf(name, sizeof(name), "%s", t == JIT_F32 ? "saxpy_f32" : t == JIT_F64 ? "daxpy_f64"
											   : "axpy_");
	if (!is_float(t))
		snprintf(name, sizeof(name), "axpy_%s", ts);
	bp = add_bp(name, JIT_MAP, t, 2, in2, 1, &t);
	x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
	y = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 1);
	uint16_t a = jit_bp_node(bp, JIT_OP_PARAM, t, 0, 0, 0, 0, 0);
	uint16_t ax = jit_bp_node(bp, JIT_OP_MUL, t, 0, a, x, 0, 0);
	jit_bp_node(bp, JIT_OP_ADD, t, 0, ax, y, 0, 0);

	if (!is_float(t)) {
		/* divp_T: x / d with a scalar divisor (checked before launch). */
		snprintf(name, sizeof(name), "divp_%s", ts);
		bp = add_bp(name, JIT_MAP, t, 1, &t, 1, &t);
		x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
		uint16_t d = jit_bp_node(bp, JIT_OP_PARAM, t, 0, 0, 0, 0, 0);
		jit_bp_node(bp, JIT_OP_DIV, t, 0, x, d, 0, 0);

		/* iota_T: x + i. */
		snprintf(name, sizeof(name), "iota_%s", ts);
		bp = add_bp(name, JIT_MAP, t, 1, &t, 0, NULL);
		x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
		uint16_t i = jit_bp_node(bp, JIT_OP_INDEX, t, 0, 0, 0, 0, 0);
		jit_bp_node(bp, JIT_OP_ADD, t, 0, x, i, 0, 0);

		/* Reductions. */
		static const struct {
			const char *stem;
			enum jit_reduce_op op;
			unsigned flags;
		} reds[] = {
			{"sum", JIT_RED_SUM, 0},  {"rmin", JIT_RED_MIN, 0},
			{"rmax", JIT_RED_MAX, 0}, {"rminu", JIT_RED_MIN, JIT_F_UNSIGNED},
			{"rmaxu", JIT_RED_MAX, JIT_F_UNSIGNED}, {"rand", JIT_RED_AND, 0},
			{"ror", JIT_RED_OR, 0},   {"rxor", JIT_RED_XOR, 0},
		};
		for (size_t r = 0; r < sizeof(reds) / sizeof(reds[0]); r++) {
			snprintf(name, sizeof(name), "%s_%s", reds[r].stem, ts);
			bp = add_bp(name, JIT_REDUCE, t, 1, &t, 0, NULL);
			bp->reduce_op = (uint8_t)reds[r].op;
			bp->reduce_flags = (uint8_t)reds[r].flags;
			jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
		}
		/* dot_T: sum of x * y. */
		snprintf(name, sizeof(name), "dot_%s", ts);
		bp = add_bp(name, JIT_REDUCE, t, 2, in2, 0, NULL);
		bp->reduce_op = JIT_RED_SUM;
		x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
		y = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 1);
		jit_bp_node(bp, JIT_OP_MUL, t, 0, x, y, 0, 0);
	}

	/* Conversions from t to every other type, signed and unsigned where an integer is
	 * involved (i64 -> i32 is a wrap and has no sign). */
	for (size_t k = 0; k < 4; k++) {
		enum jit_type to = all_types[k];
		if (to == t)
			continue;
		bool has_sign = !(is_float(t) && is_float(to)) && !(t == JIT_I64 && to == JIT_I32);
		for (unsigned u = 0; u < (has_sign ? 2u : 1u); u++) {
			snprintf(name, sizeof(name), "cvt_%s_%s%s", ts, jit_type_str(to),
				 u ? "u" : "");
			bp = add_bp(name, JIT_MAP, to, 1, &t, 0, NULL);
			x = jit_bp_node(bp, JIT_OP_INPUT, t, 0, 0, 0, 0, 0);
			jit_bp_node(bp, JIT_OP_CVT, to, u ? JIT_F_UNSIGNED : 0, x, 0, 0, 0);
		}
	}
}

static void build(void)
{
	for (size_t k = 0; k < 4; k++)
		per_type(all_types[k]);
	for (size_t i = 0; i < table_n; i++) {
		char why[160];
		if (jit_blueprint_validate(&table[i], false, why, sizeof(why)) != TW_ERR_OK) {
			fprintf(stderr, "built-in blueprint %s is invalid: %s\n", table[i].name, why);
			assert(!"invalid built-in blueprint");
		}
	}
}

size_t jit_builtin_count(void)
{
	pthread_once(&table_once, build);
	return table_n;
}

const struct jit_blueprint *jit_builtin_get(size_t i)
{
	pthread_once(&table_once, build);
	return i < table_n ? &table[i] : NULL;
}

const struct jit_blueprint *jit_builtin_find(const char *name)
{
	pthread_once(&table_once, build);
	for (size_t i = 0; i < table_n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

enum jit_type jit_builtin_group(const struct jit_blueprint *bp)
{
	return (enum jit_type)bp->in_type[0];
}
