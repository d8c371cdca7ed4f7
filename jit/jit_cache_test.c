/* jit_cache_test.c — blueprint cache hits, misses, keys per arch, bounds and observer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gpu_driver.h"
#include "jit/jit_builtin.h"
#include "jit/jit_cache.h"
#include "jit/jit_gpu.h"
#include "jit/jit_selftest.h"

static int observed;

static void observe(const char *name, uint64_t ns, void *arg)
{
	(void)ns;
	cr_assert_str_eq(name, "saxpy_f32");
	cr_assert_eq(arg, &observed);
	observed++;
}

Test(jit_cache, hit_miss_and_per_arch)
{
	struct jit_cache *c;
	cr_assert_eq(jit_cache_create(&c, 0), TW_ERR_OK);
	jit_cache_set_emit_observer(c, observe, &observed);
	const struct jit_blueprint *bp = jit_builtin_find("saxpy_f32");
	const struct jit_arch *a80 = jit_arch_find("sm_80"), *a90 = jit_arch_find("sm_90");
	const struct jit_cache_entry *e1, *e2, *e3;
	cr_assert_eq(jit_cache_get(c, bp, a80, &e1), TW_ERR_OK);
	cr_assert_eq(jit_cache_get(c, bp, a80, &e2), TW_ERR_OK);
	cr_assert_eq(e1, e2, "a hit returns the published entry");
	cr_assert_eq(jit_cache_get(c, bp, a90, &e3), TW_ERR_OK);
	cr_assert_neq(e1, e3);
	cr_assert(strstr(e1->ptx, ".target sm_80") && strstr(e3->ptx, ".target sm_90"));
	cr_assert_str_eq(e1->entry_name, "tw_saxpy_f32");
	cr_assert_eq(e1->key, jit_blueprint_key(bp, "sm_80"));
	cr_assert_gt(e1->emit_ns, 0);
	/* Same IR under another name shares the entry. */
	struct jit_blueprint copy = *bp;
	strcpy(copy.name, "other");
	cr_assert_eq(jit_cache_get(c, &copy, a80, &e2), TW_ERR_OK);
	cr_assert_eq(e2, e1);
	struct jit_cache_stats st;
	jit_cache_get_stats(c, &st);
	cr_assert_eq(st.hits, 2);
	cr_assert_eq(st.misses, 2);
	cr_assert_eq(st.entries, 2);
	cr_assert_eq(observed, 2);
	cr_assert_geq(st.emit_ns_total, e1->emit_ns);
	struct gpu_module *mod = (struct gpu_module *)1;
	if (!gpu_available()) {
		cr_assert_eq(jit_cache_module(c, e1, &mod), TW_ERR_GPU_UNAVAILABLE);
		cr_assert_null(mod);
	}
	jit_cache_destroy(c);
}

Test(jit_cache, bounded_and_refusing)
{
	struct jit_cache *c;
	cr_assert_eq(jit_cache_create(&c, 3), TW_ERR_OK);
	const struct jit_arch *a80 = jit_arch_find("sm_80");
	const struct jit_cache_entry *e;
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(jit_cache_get(c, jit_builtin_get(i), a80, &e), TW_ERR_OK);
	cr_assert_eq(jit_cache_get(c, jit_builtin_get(3), a80, &e), TW_ERR_FULL);
	cr_assert_null(e);
	cr_assert_eq(jit_cache_get(c, jit_builtin_get(0), a80, &e), TW_ERR_OK, "hits still work");

	enum jit_type f = JIT_F64;
	struct jit_blueprint bp;
	jit_bp_init(&bp, "fsum", JIT_REDUCE, JIT_F64, 1, &f, 0, NULL);
	bp.reduce_op = JIT_RED_SUM;
	jit_bp_node(&bp, JIT_OP_INPUT, JIT_F64, 0, 0, 0, 0, 0);
	cr_assert_eq(jit_cache_get(c, &bp, a80, &e), TW_ERR_UNSUPPORTED,
		     "float reductions are not offloaded");
	bp.n_nodes = 0;
	cr_assert_eq(jit_cache_get(c, &bp, a80, &e), TW_ERR_INVALID_ARG);
	jit_cache_destroy(c);
}

Test(jit_cache, gpu_run_and_selftest_without_gpu)
{
	if (gpu_available())
		cr_skip_test("a GPU is present: covered by jit selftest");
	struct jit_cache *c;
	cr_assert_eq(jit_cache_create(&c, 0), TW_ERR_OK);
	const struct jit_blueprint *bp = jit_builtin_find("divp_i32");
	int32_t x[2] = {1, 2}, out[2];
	struct jit_args args;
	memset(&args, 0, sizeof(args));
	args.inputs[0] = x;
	args.out = out;
	args.n = 2;
	args.params[0].i32 = 0;
	cr_assert_eq(jit_gpu_run(c, bp, &args), TW_ERR_WASM_TRAP, "traps are decided first");
	args.params[0].i32 = 2;
	cr_assert_eq(jit_gpu_run(c, bp, &args), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_null(jit_gpu_arch());
	jit_cache_destroy(c);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_eq(jit_selftest_main(false, f), 0);
	fclose(f);
	cr_assert(strstr(text, "no GPU: skipped"), "%s", text);
	free(text);
}
