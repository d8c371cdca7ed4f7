/* jit_analyze_test.c — loop analysis verdicts on hand-assembled bodies, and robustness on
 * arbitrary bytes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jit_analyze.h"

/* locals: 0 out, 1 in, 2 i, 3 n (i32), 4 acc (i32), 5 x (f32) */
static const uint8_t types[] = {0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7d};

#define ADDR(arr) 0x20, arr, 0x20, 2, 0x41, 2, 0x74, 0x6a
#define NEXT_LT 0x20, 2, 0x41, 1, 0x6a, 0x22, 2, 0x20, 3, 0x48, 0x0d, 0
#define LOOP(...) 0x03, 0x40, __VA_ARGS__, 0x0b, 0x0b

static struct jit_loop analyse(const uint8_t *code, size_t len)
{
	struct jit_loop l[4];
	memset(l, 0, sizeof(l));
	size_t n = jit_analyze_function(7, code, len, types, sizeof(types), l, 4);
	cr_assert_eq(n, 1);
	cr_assert_eq(l[0].func_index, 7);
	cr_assert_eq(l[0].loop_offset, 0);
	return l[0];
}

Test(jit_analyze, indexed_map_matches)
{
	static const uint8_t code[] = {
	    LOOP(ADDR(0), ADDR(1), 0x2a, 2, 0, 0x43, 0, 0, 0, 0x40, 0x94, 0x38, 2, 0, NEXT_LT)};
	struct jit_loop l = analyse(code, sizeof(code));
	cr_assert_eq(l.reject, JIT_REJ_NONE, "%s %s", jit_reject_str(l.reject), l.detail);
	cr_assert_not_null(l.match);
	cr_assert_eq(l.match->bp.kind, JIT_MAP);
	cr_assert_eq(l.match->bp.out_type, JIT_F32);
	cr_assert_eq(l.match->bp.n_inputs, 1);
	cr_assert_eq(l.match->lanes, 1);
	cr_assert_eq(l.match->nind, 1);
	cr_assert_eq(l.match->exit_cmp, JIT_EXIT_LT);
	cr_assert_eq(l.match->out.esize, 4);
	jit_loops_release(&l, 1);
}

Test(jit_analyze, countdown_reduction_matches)
{
	/* acc += *in; in += 4; n -= 1; br_if n */
	static const uint8_t code[] = {LOOP(0x20, 1, 0x28, 2, 0, 0x20, 4, 0x6a, 0x21, 4, 0x20, 1,
					    0x41, 4, 0x6a, 0x21, 1, 0x20, 3, 0x41, 0x7f, 0x6a,
					    0x22, 3, 0x0d, 0)};
	struct jit_loop l = analyse(code, sizeof(code));
	cr_assert_eq(l.reject, JIT_REJ_NONE, "%s %s", jit_reject_str(l.reject), l.detail);
	cr_assert_eq(l.match->bp.kind, JIT_REDUCE);
	cr_assert_eq(l.match->bp.reduce_op, JIT_RED_SUM);
	cr_assert_eq(l.match->reduce_local, 4);
	cr_assert_eq(l.match->exit_cmp, JIT_EXIT_NE);
	cr_assert_eq(l.match->nind, 2);
	jit_loops_release(&l, 1);
}

static void expect(const uint8_t *code, size_t len, enum jit_reject want)
{
	struct jit_loop l = analyse(code, len);
	cr_assert_eq(l.reject, want, "got '%s' (%s), want '%s'", jit_reject_str(l.reject),
		     l.detail, jit_reject_str(want));
	cr_assert_null(l.match);
}

Test(jit_analyze, rejections_name_their_reason)
{
	static const uint8_t call[] = {LOOP(0x10, 0, NEXT_LT)};
	expect(call, sizeof(call), JIT_REJ_CALL);
	static const uint8_t gset[] = {LOOP(0x41, 1, 0x24, 0, NEXT_LT)};
	expect(gset, sizeof(gset), JIT_REJ_GLOBAL);
	static const uint8_t grow[] = {LOOP(0x41, 1, 0x40, 0, 0x1a, NEXT_LT)};
	expect(grow, sizeof(grow), JIT_REJ_MEMORY_GROW);
	static const uint8_t typed[] = {0x03, 0x7f, 0x41, 0, 0x0b, 0x1a, 0x0b};
	expect(typed, sizeof(typed), JIT_REJ_LOOP_TYPE);
	static const uint8_t narrow[] = {LOOP(ADDR(0), ADDR(1), 0x2d, 0, 0, 0x3a, 0, 0, NEXT_LT)};
	expect(narrow, sizeof(narrow), JIT_REJ_NARROW);
	static const uint8_t nested[] = {LOOP(0x02, 0x40, 0x0b, NEXT_LT)};
	expect(nested, sizeof(nested), JIT_REJ_CONTROL_FLOW);
	/* i32.trunc_f32_s traps on NaN and overflow: not representable */
	static const uint8_t trunc[] = {LOOP(ADDR(0), ADDR(1), 0x2a, 2, 0, 0xa8, 0x36, 2, 0, NEXT_LT)};
	expect(trunc, sizeof(trunc), JIT_REJ_UNSUPPORTED_OP);
	/* out[i] = in[i]; in[i] = 0: two outputs */
	static const uint8_t two[] = {
	    LOOP(ADDR(0), ADDR(1), 0x28, 2, 0, 0x36, 2, 0, ADDR(1), 0x41, 0, 0x36, 2, 0, NEXT_LT)};
	expect(two, sizeof(two), JIT_REJ_STORES);
	/* out[i] = acc; acc = acc + in[i]: a scan */
	static const uint8_t scan[] = {LOOP(ADDR(0), 0x20, 4, 0x36, 2, 0, ADDR(1), 0x28, 2, 0,
					    0x20, 4, 0x6a, 0x21, 4, NEXT_LT)};
	expect(scan, sizeof(scan), JIT_REJ_CARRIED);
	/* exit on a loaded value */
	static const uint8_t dexit[] = {LOOP(ADDR(0), ADDR(1), 0x28, 2, 0, 0x36, 2, 0, 0x20, 2,
					     0x41, 1, 0x6a, 0x21, 2, ADDR(1), 0x28, 2, 0, 0x0d, 0)};
	expect(dexit, sizeof(dexit), JIT_REJ_DATA_EXIT);
}

Test(jit_analyze, induction_value_becomes_index)
{
	/* out[i] = i: the entry value + 1 * INDEX, with an input that is never read */
	static const uint8_t code[] = {LOOP(ADDR(0), 0x20, 2, 0x36, 2, 0, NEXT_LT)};
	struct jit_loop l = analyse(code, sizeof(code));
	cr_assert_eq(l.reject, JIT_REJ_NONE, "%s %s", jit_reject_str(l.reject), l.detail);
	const struct jit_blueprint *bp = &l.match->bp;
	bool has_index = false;
	for (unsigned k = 0; k < bp->n_nodes; k++)
		has_index |= bp->nodes[k].op == JIT_OP_INDEX;
	cr_assert(has_index);
	cr_assert_eq(l.match->in[0].esize, 0);
	jit_loops_release(&l, 1);
}

Test(jit_analyze, arbitrary_bytes_never_crash)
{
	uint8_t code[256];
	struct jit_loop l[8];
	uint32_t s = 12345;
	for (int round = 0; round < 20000; round++) {
		size_t len = 2 + (size_t)(round % 200);
		for (size_t i = 0; i < len; i++) {
			s = s * 1103515245u + 12345u;
			code[i] = (uint8_t)(s >> 16);
		}
		if (round % 2)
			code[0] = 0x03, code[1] = 0x40;
		size_t n = jit_analyze_function(0, code, len, types, sizeof(types), l, 8);
		jit_loops_release(l, n < 8 ? n : 8);
	}
}
