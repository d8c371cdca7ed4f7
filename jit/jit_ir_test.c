/* jit_ir_test.c — blueprint validation, launch-time trap decisions, serialisation and keys. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jit/jit_builtin.h"
#include "jit/jit_ir.h"

Test(jit_ir, builtins_valid_and_unique)
{
	size_t n = jit_builtin_count();
	cr_assert_gt(n, 100, "expected a full table, got %zu", n);
	for (size_t i = 0; i < n; i++) {
		const struct jit_blueprint *bp = jit_builtin_get(i);
		char why[160] = "";
		cr_assert_eq(jit_blueprint_validate(bp, false, why, sizeof(why)), TW_ERR_OK, "%s: %s",
			     bp->name, why);
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(bp->name, jit_builtin_get(j)->name);
		cr_assert_eq(jit_builtin_find(bp->name), bp);
	}
	cr_assert_null(jit_builtin_find("no_such_blueprint"));
	cr_assert_not_null(jit_builtin_find("saxpy_f32"));
	cr_assert_not_null(jit_builtin_find("sum_i32"));
	cr_assert_not_null(jit_builtin_find("clamp_f32"));
	cr_assert_not_null(jit_builtin_find("select_f64"));
	cr_assert_not_null(jit_builtin_find("cvt_f32_i32u"));
}

static void expect_invalid(const struct jit_blueprint *bp, const char *needle)
{
	char why[160] = "";
	cr_assert_eq(jit_blueprint_validate(bp, false, why, sizeof(why)), TW_ERR_INVALID_ARG,
		     "%s should be invalid", bp->name);
	cr_assert(strstr(why, needle), "reason '%s' lacks '%s'", why, needle);
}

Test(jit_ir, rejects_malformed)
{
	enum jit_type i32 = JIT_I32, f32 = JIT_F32;
	enum jit_type two[2] = {JIT_I32, JIT_I32};
	struct jit_blueprint bp;

	jit_bp_init(&bp, "fwd", JIT_MAP, JIT_I32, 1, &i32, 0, NULL);
	jit_bp_node(&bp, JIT_OP_NEG, JIT_I32, 0, 0, 0, 0, 0); /* refers to itself */
	expect_invalid(&bp, "earlier");

	jit_bp_init(&bp, "types", JIT_MAP, JIT_I32, 1, &f32, 0, NULL);
	uint16_t x = jit_bp_node(&bp, JIT_OP_INPUT, JIT_F32, 0, 0, 0, 0, 0);
	jit_bp_node(&bp, JIT_OP_ADD, JIT_I32, 0, x, x, 0, 0);
	expect_invalid(&bp, "operand types");

	jit_bp_init(&bp, "fred", JIT_REDUCE, JIT_F32, 1, &f32, 0, NULL);
	bp.reduce_op = JIT_RED_SUM;
	jit_bp_node(&bp, JIT_OP_INPUT, JIT_F32, 0, 0, 0, 0, 0);
	expect_invalid(&bp, "evaluation order");
	cr_assert_eq(jit_blueprint_validate(&bp, true, NULL, 0), TW_ERR_OK);

	/* A computed integer divisor cannot be decided before launch. */
	jit_bp_init(&bp, "cdiv", JIT_MAP, JIT_I32, 2, two, 0, NULL);
	x = jit_bp_node(&bp, JIT_OP_INPUT, JIT_I32, 0, 0, 0, 0, 0);
	uint16_t y = jit_bp_node(&bp, JIT_OP_INPUT, JIT_I32, 0, 0, 0, 0, 1);
	uint16_t s = jit_bp_node(&bp, JIT_OP_ADD, JIT_I32, 0, x, y, 0, 0);
	jit_bp_node(&bp, JIT_OP_DIV, JIT_I32, 0, x, s, 0, 0);
	expect_invalid(&bp, "divisor");

	jit_bp_init(&bp, "flags", JIT_MAP, JIT_I32, 1, &i32, 0, NULL);
	x = jit_bp_node(&bp, JIT_OP_INPUT, JIT_I32, 0, 0, 0, 0, 0);
	jit_bp_node(&bp, JIT_OP_ADD, JIT_I32, JIT_F_UNSIGNED, x, x, 0, 0);
	expect_invalid(&bp, "unsigned");

	jit_bp_init(&bp, "unused", JIT_MAP, JIT_I32, 1, &i32, 0, NULL);
	x = jit_bp_node(&bp, JIT_OP_INPUT, JIT_I32, 0, 0, 0, 0, 0);
	jit_bp_node(&bp, JIT_OP_NEG, JIT_I32, 0, x, 5, 0, 0);
	expect_invalid(&bp, "unused");

	jit_bp_init(&bp, "fbits", JIT_MAP, JIT_F32, 1, &f32, 0, NULL);
	x = jit_bp_node(&bp, JIT_OP_INPUT, JIT_F32, 0, 0, 0, 0, 0);
	jit_bp_node(&bp, JIT_OP_AND, JIT_F32, 0, x, x, 0, 0);
	expect_invalid(&bp, "integers");

	jit_bp_init(&bp, "root", JIT_MAP, JIT_I64, 1, &i32, 0, NULL);
	jit_bp_node(&bp, JIT_OP_INPUT, JIT_I32, 0, 0, 0, 0, 0);
	expect_invalid(&bp, "root type");

	jit_bp_init(&bp, "noinputs", JIT_MAP, JIT_I32, 0, NULL, 0, NULL);
	jit_bp_node(&bp, JIT_OP_INDEX, JIT_I32, 0, 0, 0, 0, 0);
	expect_invalid(&bp, "inputs");

	jit_bp_init(&bp, "overflow", JIT_MAP, JIT_I32, 1, &i32, 0, NULL);
	for (int i = 0; i < JIT_NODES_MAX + 3; i++)
		jit_bp_node(&bp, JIT_OP_INPUT, JIT_I32, 0, 0, 0, 0, 0);
	expect_invalid(&bp, "nodes");
	cr_assert_eq(jit_blueprint_key(&bp, "sm_80"), 0);
}

Test(jit_ir, garbage_is_rejected_not_crashed)
{
	/* Random bytes as a blueprint must be refused (or accepted if valid) without harm. */
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 2000; round++) {
		struct jit_blueprint bp;
		uint8_t *p = (uint8_t *)&bp;
		for (size_t i = 0; i < sizeof(bp); i++) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			p[i] = (uint8_t)(s >> 56);
		}
		bp.n_nodes = (uint16_t)(bp.n_nodes % 8);
		(void)jit_blueprint_validate(&bp, false, NULL, 0);
		(void)jit_blueprint_key(&bp, "sm_80");
	}
}

Test(jit_ir, launch_check_decides_traps)
{
	const struct jit_blueprint *divp = jit_builtin_find("divp_i32");
	int32_t x[3] = {INT32_MIN, 5, -7};
	const void *in[1] = {x};
	union jit_value p[1];
	char why[160];
	p[0].i32 = 0;
	cr_assert_eq(jit_blueprint_check_launch(divp, in, p, 3, why, sizeof(why)), TW_ERR_WASM_TRAP);
	cr_assert(strstr(why, "interpreter"));
	p[0].i32 = -1; /* INT_MIN / -1 traps in wasm */
	cr_assert_eq(jit_blueprint_check_launch(divp, in, p, 3, NULL, 0), TW_ERR_WASM_TRAP);
	p[0].i32 = 3;
	cr_assert_eq(jit_blueprint_check_launch(divp, in, p, 3, NULL, 0), TW_ERR_OK);
	p[0].i32 = 0;
	cr_assert_eq(jit_blueprint_check_launch(divp, in, p, 0, NULL, 0), TW_ERR_OK,
		     "no element, no trap");

	const struct jit_blueprint *divu = jit_builtin_find("divu_i32");
	const struct jit_blueprint *rem = jit_builtin_find("rem_i32");
	const struct jit_blueprint *div = jit_builtin_find("div_i32");
	int32_t d[3] = {1, -1, 2};
	const void *in2[2] = {x, d};
	cr_assert_eq(jit_blueprint_check_launch(divu, in2, NULL, 3, NULL, 0), TW_ERR_OK,
		     "unsigned division by 0xffffffff is fine");
	cr_assert_eq(jit_blueprint_check_launch(rem, in2, NULL, 3, NULL, 0), TW_ERR_OK,
		     "rem_s by -1 is 0, not a trap");
	cr_assert_eq(jit_blueprint_check_launch(div, in2, NULL, 3, NULL, 0), TW_ERR_WASM_TRAP);
	d[1] = 0;
	cr_assert_eq(jit_blueprint_check_launch(rem, in2, NULL, 3, NULL, 0), TW_ERR_WASM_TRAP);
	cr_assert_eq(jit_blueprint_check_launch(divu, in2, NULL, 3, NULL, 0), TW_ERR_WASM_TRAP);
	cr_assert_eq(jit_blueprint_check_launch(div, in2, NULL, 1, NULL, 0), TW_ERR_OK,
		     "only the first element is in range");

	/* Float division never traps. */
	const struct jit_blueprint *fdiv = jit_builtin_find("div_f32");
	float z[1] = {0.0f};
	const void *in3[2] = {z, z};
	cr_assert_eq(jit_blueprint_check_launch(fdiv, in3, NULL, 1, NULL, 0), TW_ERR_OK);
}

Test(jit_ir, keys_stable_and_distinct)
{
	/* Golden values: the key is stored alongside cached PTX, so it must never drift
	 * silently. Changing the emitter means bumping JIT_EMITTER_VERSION and these. */
	const struct jit_blueprint *saxpy = jit_builtin_find("saxpy_f32");
	const struct jit_blueprint *sum = jit_builtin_find("sum_i32");
	uint64_t k1 = jit_blueprint_key(saxpy, "sm_80");
	uint64_t k2 = jit_blueprint_key(sum, "sm_90");
	cr_assert_eq(k1, 0x634c83605ea8b590ull, "saxpy_f32/sm_80 key %016llx", (unsigned long long)k1);
	cr_assert_eq(k2, 0x79e257f959039f2eull, "sum_i32/sm_90 key %016llx", (unsigned long long)k2);

	/* The name is not part of the key; everything else is. */
	struct jit_blueprint copy = *saxpy;
	snprintf(copy.name, sizeof(copy.name), "renamed");
	cr_assert_eq(jit_blueprint_key(&copy, "sm_80"), k1);
	copy.nodes[3].op = JIT_OP_SUB;
	cr_assert_neq(jit_blueprint_key(&copy, "sm_80"), k1);

	size_t n = jit_builtin_count();
	static uint64_t keys[2 * 256];
	cr_assert_leq(n, 256);
	for (size_t i = 0; i < n; i++) {
		keys[2 * i] = jit_blueprint_key(jit_builtin_get(i), "sm_80");
		keys[2 * i + 1] = jit_blueprint_key(jit_builtin_get(i), "sm_90");
		cr_assert_neq(keys[2 * i], 0);
	}
	for (size_t i = 0; i < 2 * n; i++)
		for (size_t j = 0; j < i; j++)
			cr_assert_neq(keys[i], keys[j], "keys %zu and %zu collide", i, j);
}

Test(jit_ir, serialisation_is_canonical)
{
	for (size_t i = 0; i < jit_builtin_count(); i++) {
		const struct jit_blueprint *bp = jit_builtin_get(i);
		uint8_t a[JIT_SERIAL_BYTES_MAX], b[JIT_SERIAL_BYTES_MAX];
		size_t na = jit_blueprint_serialize(bp, a, sizeof(a));
		cr_assert_leq(na, sizeof(a));
		/* Unused node slots beyond n_nodes do not matter. */
		struct jit_blueprint copy = *bp;
		memset(&copy.nodes[copy.n_nodes], 0xab,
		       sizeof(copy.nodes[0]) * (JIT_NODES_MAX - copy.n_nodes));
		size_t nb = jit_blueprint_serialize(&copy, b, sizeof(b));
		cr_assert_eq(na, nb);
		cr_assert_eq(memcmp(a, b, na), 0);
		/* A short buffer reports the size needed and writes nothing past it. */
		uint8_t small[4] = {0};
		cr_assert_eq(jit_blueprint_serialize(bp, small, sizeof(small)), na);
	}
}
