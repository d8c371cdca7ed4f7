/*
 * api_spawn_test.c — what a function call pays for its instance: instantiate the shared
 * compiled module of add(i32,i32), call it through the suspendable-call API the server uses,
 * free the instance. Prints the mean cost per spawn+call+free so docs/PERFORMANCE.md can quote
 * it; the bound asserted here is loose (machines are noisy), the figure is the point.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "wasm/twm.h"
#include "http/http_api_int.h"
#include "wasm/twm_wasi.h"

/* examples/add.wat assembled. */
static const uint8_t add_wasm[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f,
	0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64,
	0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
};

/* A module with a one-page memory and a data segment whose export bumps memory[0] and returns
 * 7 + memory[0]: 9 on a pristine instance, more on a dirty one.
 *   (memory (export "memory") 1) (data (i32.const 0) "\01\02...\10") (global $g i32 (i32.const 7))
 *   (func (export "f") (result i32) (i32.store8 (i32.const 0) (i32.add (i32.load8_u (i32.const 0))
 *     (i32.const 1))) (i32.add (global.get $g) (i32.load8_u (i32.const 0)))) */
static const uint8_t mem_wasm[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,
	0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x06, 0x06, 0x01, 0x7f, 0x00, 0x41,
	0x07, 0x0b, 0x07, 0x0e, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01,
	0x66, 0x00, 0x00, 0x0a, 0x19, 0x01, 0x17, 0x00, 0x41, 0x00, 0x41, 0x00, 0x2d, 0x00, 0x00,
	0x41, 0x01, 0x6a, 0x3a, 0x00, 0x00, 0x23, 0x00, 0x41, 0x00, 0x2d, 0x00, 0x00, 0x6a, 0x0b,
	0x0b, 0x16, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x10, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
};

static void call_once(struct twm_instance *inst, const char *exp, const struct twm_value *args,
		      uint32_t nargs, uint32_t expect)
{
	struct twm_error err = {0};
	struct twm_extern ext;
	cr_assert_eq(twm_instance_export(inst, exp, &ext), TW_ERR_OK);
	cr_assert_eq(twm_call_begin(inst, ext.u.func, args, nargs, &err), TW_ERR_OK);
	cr_assert_eq(twm_call_run(inst, 1000000, &err), TW_ERR_OK);
	struct twm_value r;
	cr_assert_eq(twm_call_results(inst, &r, 1), 1);
	cr_assert_eq((uint32_t)r.bits, expect);
}

/* The server's reuse path: reset a pooled instance and call it. */
static double reset_call_ns(const uint8_t *bytes, size_t len, enum api_reuse want, const char *exp,
			    const struct twm_value *args, uint32_t nargs, uint32_t expect)
{
	struct api_fn f = {.reuse = api_reuse_classify(bytes, len)};
	struct twm_error err = {0};
	cr_assert_eq(f.reuse, want);
	cr_assert_eq(twm_module_load(bytes, len, NULL, &f.module, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(api_reuse_prepare(&f, 16), TW_ERR_OK);
	cr_assert_eq(f.reuse, want);
	struct twm_instance *inst = NULL;
	cr_assert_eq(twm_instantiate(f.module, NULL, NULL, &inst, &err), TW_ERR_OK);
	const int n = 100000;
	uint64_t t0 = tw_now_ns();
	for (int i = 0; i < n; i++) {
		call_once(inst, exp, args, nargs, expect);
		cr_assert(api_pool_reset(&f, inst));
	}
	double ns = (double)(tw_now_ns() - t0) / n;
	twm_instance_free(inst);
	twm_module_unref(f.module);
	free(f.image);
	return ns;
}

static double spawn_call_free_ns(const uint8_t *bytes, size_t len, const char *exp,
				 const struct twm_value *args, uint32_t nargs, uint32_t expect)
{
	struct twm_module *m = NULL;
	struct twm_error err = {0};
	cr_assert_eq(twm_module_load(bytes, len, NULL, &m, &err), TW_ERR_OK, "%s", err.msg);
	struct twm_linker *l = NULL;
	cr_assert_eq(twm_linker_new(&l), TW_ERR_OK);
	cr_assert_eq(twm_wasi_link(l, NULL), TW_ERR_OK);
	const int n = 500;
	uint64_t t0 = tw_now_ns();
	for (int i = 0; i < n; i++) {
		struct twm_instance *inst = NULL;
		cr_assert_eq(twm_instantiate(m, l, NULL, &inst, &err), TW_ERR_OK, "%s", err.msg);
		call_once(inst, exp, args, nargs, expect);
		twm_instance_free(inst);
	}
	double ns = (double)(tw_now_ns() - t0) / n;
	twm_linker_free(l);
	twm_module_unref(m);
	return ns;
}

Test(api_spawn, add_spawn_call_free)
{
	struct twm_value args[2] = {twm_val_i32(2), twm_val_i32(3)};
	double ns = spawn_call_free_ns(add_wasm, sizeof(add_wasm), "add", args, 2, 5);
	printf("api_spawn: add(i32,i32) instantiate+call+free: %.0f ns\n", ns);
	cr_expect_lt(ns, 2e7, "a spawn is bounded");
}

Test(api_spawn, memory_module_spawn_call_free)
{
	double ns = spawn_call_free_ns(mem_wasm, sizeof(mem_wasm), "f", NULL, 0, 9);
	printf("api_spawn: 1-page memory module instantiate+call+free: %.0f ns\n", ns);
	cr_expect_lt(ns, 2e7, "a spawn is bounded");
}

Test(api_spawn, add_reset_call)
{
	struct twm_value args[2] = {twm_val_i32(2), twm_val_i32(3)};
	double ns = reset_call_ns(add_wasm, sizeof(add_wasm), API_REUSE_STATELESS, "add", args, 2, 5);
	printf("api_spawn: add(i32,i32) pooled reset+call: %.0f ns\n", ns);
	cr_expect_lt(ns, 5000, "goal: spawn-and-reset of a small module within 5 us");
}

Test(api_spawn, memory_module_reset_call)
{
	/* Always 9: the reset restored the data segment's byte after each call bumped it. */
	double ns = reset_call_ns(mem_wasm, sizeof(mem_wasm), API_REUSE_MEMORY, "f", NULL, 0, 9);
	printf("api_spawn: 1-page memory module pooled reset+call: %.0f ns\n", ns);
	cr_expect_lt(ns, 50000, "a one-page reset is a 64 KiB copy");
}

Test(api_spawn, classify)
{
	static const uint8_t with_start[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
					     0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02,
					     0x01, 0x00, 0x08, 0x01, 0x00, 0x0a, 0x04, 0x01,
					     0x02, 0x00, 0x0b};
	cr_expect_eq(api_reuse_classify(with_start, sizeof(with_start)), API_REUSE_NONE);
	cr_expect_eq(api_reuse_classify(add_wasm, 5), API_REUSE_NONE);
	/* A mutable global: not reusable from outside the engine. */
	static const uint8_t mut_global[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
					     0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b};
	cr_expect_eq(api_reuse_classify(mut_global, sizeof(mut_global)), API_REUSE_NONE);
}
