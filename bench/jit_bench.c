/*
 * jit_bench.c — blueprint compilation: PTX text emission and the blueprint cache.
 *
 * jit_compile/emit_text/saxpy_f32   emit the PTX of the saxpy blueprint for sm_90
 * jit_compile/emit_text/sum_i64     the same for an integer reduction
 * jit_compile/cache/warm_hit        look up a blueprint whose PTX is already cached
 */
#include <stdlib.h>

#include "bench/bench.h"
#include "jit/jit_builtin.h"
#include "jit/jit_cache.h"
#include "jit/jit_ptx.h"

static void emit(struct bench_state *st, const char *name)
{
	const struct jit_blueprint *bp = jit_builtin_find(name);
	const struct jit_arch *arch = jit_arch_find("sm_90");
	for (uint64_t i = 0; i < st->iters; i++) {
		char *ptx = NULL;
		size_t len = 0;
		if (jit_ptx_emit(&bp, 1, arch, &ptx, &len) == TW_ERR_OK)
			bench_black_box(ptx);
		free(ptx);
	}
}

static enum tw_err emit_setup(struct bench_state *st)
{
	return jit_builtin_find("saxpy_f32") && jit_builtin_find("sum_i64") &&
			       jit_arch_find("sm_90")
		       ? TW_ERR_OK
		       : TW_ERR_NOT_FOUND;
}

static void bench_emit_saxpy(struct bench_state *st)
{
	emit(st, "saxpy_f32");
}

static void bench_emit_sum(struct bench_state *st)
{
	emit(st, "sum_i64");
}

BENCH("jit_compile/emit_text/saxpy_f32", bench_emit_saxpy, .setup = emit_setup,
      .callgrind_iters = 20);
BENCH("jit_compile/emit_text/sum_i64", bench_emit_sum, .setup = emit_setup,
      .callgrind_iters = 20);

static enum tw_err cache_setup(struct bench_state *st)
{
	struct jit_cache *c;
	enum tw_err e = jit_cache_create(&c, 64);
	if (e)
		return e;
	const struct jit_cache_entry *entry;
	e = jit_cache_get(c, jit_builtin_find("saxpy_f32"), jit_arch_find("sm_90"), &entry);
	st->ctx = c;
	return e;
}

static void cache_teardown(struct bench_state *st)
{
	if (st->ctx)
		jit_cache_destroy(st->ctx);
}

static void bench_warm_hit(struct bench_state *st)
{
	const struct jit_blueprint *bp = jit_builtin_find("saxpy_f32");
	const struct jit_arch *arch = jit_arch_find("sm_90");
	for (uint64_t i = 0; i < st->iters; i++) {
		const struct jit_cache_entry *entry;
		jit_cache_get(st->ctx, bp, arch, &entry);
		bench_black_box((void *)entry);
	}
}

BENCH("jit_compile/cache/warm_hit", bench_warm_hit, .setup = cache_setup,
      .teardown = cache_teardown);
