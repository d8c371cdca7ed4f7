/* twm_test.c — the wasm engine through its public API: load, link, instantiate, invoke, fuel
 * slices, host functions, traps and the bounds that protect us from hostile modules. Uses the
 * fixture build/guests/twm_engine.wasm (tests/guests/twm_engine.wat) and hand-made bytes. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/limits.h"
#include "wasm/twm.h"

static uint8_t *read_file(const char *path, size_t *len)
{
	char full[512];
	const char *dir = getenv("TW_GUESTS_DIR");
	snprintf(full, sizeof(full), "%s/%s", dir ? dir : "build/guests", path);
	FILE *f = fopen(full, "rb");
	cr_assert(f, "cannot open %s", full);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n);
	cr_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static enum tw_err host_add(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			    void *env)
{
	uint64_t size;
	uint8_t *mem = twm_ctx_memory(ctx, &size);
	uint32_t sum = (uint32_t)args[0] + (uint32_t)args[1];
	(void)env;
	if (!mem || size < 4)
		return twm_ctx_trap(ctx, "no memory");
	memcpy(mem, &sum, 4);
	results[0] = sum;
	return TW_ERR_OK;
}

static enum tw_err host_boom(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			     void *env)
{
	(void)args, (void)results, (void)env;
	return twm_ctx_trap(ctx, "boom from host");
}

static enum tw_err host_bye(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			    void *env)
{
	(void)results, (void)env;
	return twm_ctx_exit(ctx, (int32_t)args[0]);
}

struct fixture {
	struct twm_module *mod;
	struct twm_linker *linker;
	struct twm_instance *inst;
};

static void define_env(struct twm_linker *l)
{
	static const uint8_t ii[] = {TWM_I32, TWM_I32}, i[] = {TWM_I32};
	struct twm_functype add = {2, 1, ii, i}, none = {0, 0, NULL, NULL}, one = {1, 0, i, NULL};
	struct twm_host_func h1 = {host_add, NULL}, h2 = {host_boom, NULL}, h3 = {host_bye, NULL};
	cr_assert_eq(twm_linker_define_func(l, "env", "add", &add, &h1), TW_ERR_OK);
	cr_assert_eq(twm_linker_define_func(l, "env", "boom", &none, &h2), TW_ERR_OK);
	cr_assert_eq(twm_linker_define_func(l, "env", "bye", &one, &h3), TW_ERR_OK);
	cr_assert_eq(twm_linker_define_func(l, "env", "add", &add, &h1), TW_ERR_EXISTS);
}

static void setup(struct fixture *fx, const struct twm_instance_config *cfg)
{
	size_t len;
	uint8_t *bytes = read_file("twm_engine.wasm", &len);
	struct twm_error err;
	cr_assert_eq(twm_module_load(bytes, len, NULL, &fx->mod, &err), TW_ERR_OK, "%s", err.msg);
	free(bytes);
	cr_assert_eq(twm_linker_new(&fx->linker), TW_ERR_OK);
	define_env(fx->linker);
	cr_assert_eq(twm_instantiate(fx->mod, fx->linker, cfg, &fx->inst, &err), TW_ERR_OK, "%s",
		     err.msg);
}

static void teardown(struct fixture *fx)
{
	twm_instance_free(fx->inst);
	twm_linker_free(fx->linker);
	twm_module_unref(fx->mod);
}

static struct twm_func *func(struct fixture *fx, const char *name)
{
	struct twm_extern ext;
	cr_assert_eq(twm_instance_export(fx->inst, name, &ext), TW_ERR_OK, "export %s", name);
	cr_assert_eq(ext.kind, TWM_EXTERN_FUNC);
	return ext.u.func;
}

Test(twm, invoke_loop_and_recursion)
{
	struct fixture fx;
	struct twm_value arg = twm_val_i32(1000), res[2];
	struct twm_error err;
	setup(&fx, NULL);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "sum"), &arg, 1, res, 1, &err), TW_ERR_OK);
	cr_assert_eq(res[0].type, TWM_I64);
	cr_assert_eq(res[0].bits, 499500u);
	arg = twm_val_i32(20);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "fib"), &arg, 1, res, 1, &err), TW_ERR_OK);
	cr_assert_eq(res[0].bits, 6765u);
	arg = twm_val_i32(5);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "multi"), &arg, 1, res, 2, &err), TW_ERR_OK);
	cr_assert_eq(res[0].bits, 5u);
	cr_assert_eq(res[1].bits, 9u);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "multi"), &arg, 1, res, 1, &err),
		     TW_ERR_INVALID_ARG);
	arg = twm_val_i64(5);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "fib"), &arg, 1, res, 1, &err),
		     TW_ERR_INVALID_ARG);
	teardown(&fx);
}

Test(twm, fuel_slices_suspend_and_resume)
{
	struct fixture fx;
	struct twm_value arg = twm_val_i32(100000), res;
	struct twm_error err;
	enum tw_err rc;
	int slices = 0;
	setup(&fx, NULL);
	cr_assert_eq(twm_call_begin(fx.inst, func(&fx, "sum"), &arg, 1, &err), TW_ERR_OK);
	while ((rc = twm_call_run(fx.inst, 10000, &err)) == TW_ERR_WASM_FUEL) {
		cr_assert(twm_call_suspended(fx.inst));
		/* another call must wait for the suspended one */
		cr_assert_eq(twm_invoke(fx.inst, func(&fx, "fib"), &arg, 1, &res, 1, NULL),
			     TW_ERR_AGAIN);
		cr_assert_lt(++slices, 100000);
	}
	cr_assert_eq(rc, TW_ERR_OK, "%s", err.msg);
	cr_assert_gt(slices, 10, "a 100000-iteration loop must take several 10000-unit slices");
	cr_assert_eq(twm_call_results(fx.inst, &res, 1), 1u);
	cr_assert_eq(res.bits, 4999950000ull);

	/* suspension inside nested calls */
	arg = twm_val_i32(22);
	slices = 0;
	cr_assert_eq(twm_call_begin(fx.inst, func(&fx, "fib"), &arg, 1, &err), TW_ERR_OK);
	while ((rc = twm_call_run(fx.inst, 100, &err)) == TW_ERR_WASM_FUEL)
		slices++;
	cr_assert_eq(rc, TW_ERR_OK);
	cr_assert_gt(slices, 100);
	twm_call_results(fx.inst, &res, 1);
	cr_assert_eq(res.bits, 17711u);

	/* abort drops a suspended call and frees the instance */
	cr_assert_eq(twm_call_begin(fx.inst, func(&fx, "fib"), &arg, 1, &err), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 50, &err), TW_ERR_WASM_FUEL);
	twm_call_abort(fx.inst);
	cr_assert(!twm_call_suspended(fx.inst));
	arg = twm_val_i32(10);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "fib"), &arg, 1, &res, 1, &err), TW_ERR_OK);
	cr_assert_eq(res.bits, 55u);
	cr_assert_gt(twm_instance_fuel_used(fx.inst), 0u);
	teardown(&fx);
}

Test(twm, call_stack_exhausted_is_clean)
{
	struct fixture fx;
	struct twm_value arg = twm_val_i32(0), res;
	struct twm_error err;
	setup(&fx, NULL);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "deep"), &arg, 1, &res, 1, &err),
		     TW_ERR_WASM_EXHAUSTED);
	cr_assert_eq(err.trap, TWM_TRAP_STACK_EXHAUSTED);
	cr_assert_str_eq(err.msg, "call stack exhausted");
	arg = twm_val_i32(10);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "fib"), &arg, 1, &res, 1, &err), TW_ERR_OK);
	teardown(&fx);
}

Test(twm, host_functions_memory_trap_exit)
{
	struct fixture fx;
	struct twm_value args[2] = {twm_val_i32(2), twm_val_i32(3)}, res;
	struct twm_error err;
	setup(&fx, NULL);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "call_add"), args, 2, &res, 1, &err), TW_ERR_OK);
	cr_assert_eq(res.bits, 5u);
	uint64_t size;
	uint8_t *mem = twm_memory_data(twm_instance_memory(fx.inst, 0), &size);
	cr_assert_eq(size, 65536u);
	cr_assert_eq(mem[0], 5);

	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "host_trap"), NULL, 0, NULL, 0, &err),
		     TW_ERR_WASM_TRAP);
	cr_assert_eq(err.trap, TWM_TRAP_HOST);
	cr_assert_str_eq(err.msg, "boom from host");

	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "host_exit"), NULL, 0, NULL, 0, &err),
		     TW_ERR_WASM_EXIT);
	cr_assert_eq(err.exit_code, 7);

	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "div"), args, 2, &res, 1, &err), TW_ERR_OK);
	args[1] = twm_val_i32(0);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "div"), args, 2, &res, 1, &err),
		     TW_ERR_WASM_TRAP);
	cr_assert_str_eq(err.msg, "integer divide by zero");
	args[0] = twm_val_i32(0x80000000u);
	args[1] = twm_val_i32(0xffffffffu);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "div"), args, 2, &res, 1, &err),
		     TW_ERR_WASM_TRAP);
	cr_assert_str_eq(err.msg, "integer overflow");
	args[0] = twm_val_i32(65534);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "load"), args, 1, &res, 1, &err),
		     TW_ERR_WASM_TRAP);
	cr_assert_str_eq(err.msg, "out of bounds memory access");
	teardown(&fx);
}

Test(twm, globals_and_memory_cap)
{
	struct fixture fx;
	struct twm_instance_config cfg = {.memory_pages_max = 2};
	struct twm_value arg = twm_val_i32(1), res;
	struct twm_extern g;
	setup(&fx, &cfg);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "grow"), &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 1u);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "grow"), &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 0xffffffffu, "the instance cap (2 pages) is below the declared max");
	cr_assert_eq(twm_instance_export(fx.inst, "g", &g), TW_ERR_OK);
	cr_assert_eq(twm_global_get(g.u.global).bits, 40u);
	cr_assert_eq(twm_global_set(g.u.global, twm_val_i32(100)), TW_ERR_OK);
	cr_assert_eq(twm_global_set(g.u.global, twm_val_i64(100)), TW_ERR_INVALID_ARG);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "bump"), NULL, 0, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 102u);
	cr_assert_eq(twm_instance_export(fx.inst, "nope", &g), TW_ERR_MISSING_EXPORT);
	teardown(&fx);
}

Test(twm, introspection_and_linking_errors)
{
	size_t len;
	uint8_t *bytes = read_file("twm_engine.wasm", &len);
	struct twm_module *m;
	struct twm_linker *l;
	struct twm_instance *inst;
	struct twm_error err;
	struct twm_import_desc im;
	struct twm_export_desc ex;
	cr_assert_eq(twm_module_load(bytes, len, NULL, &m, &err), TW_ERR_OK);
	free(bytes);
	cr_assert_eq(twm_module_import_count(m), 3u);
	cr_assert(twm_module_import(m, 0, &im));
	cr_assert_str_eq(im.module, "env");
	cr_assert_str_eq(im.name, "add");
	cr_assert_eq(im.type.func.nparams, 2u);
	cr_assert(!twm_module_import(m, 3, &im));
	cr_assert(twm_module_find_export(m, "sum", 3, &ex));
	cr_assert_eq(ex.kind, TWM_EXTERN_FUNC);
	cr_assert_eq(ex.type.func.nresults, 1u);
	cr_assert_eq(ex.type.func.results[0], TWM_I64);
	const uint8_t *code;
	size_t clen;
	cr_assert(twm_module_func_code(m, ex.index, &code, &clen));
	cr_assert_eq(code[clen - 1], 0x0b);

	cr_assert_eq(twm_instantiate(m, NULL, NULL, &inst, &err), TW_ERR_WASM_UNLINKABLE);
	cr_assert(strncmp(err.msg, "unknown import", 14) == 0, "%s", err.msg);
	cr_assert_eq(twm_linker_new(&l), TW_ERR_OK);
	static const uint8_t i[] = {TWM_I32};
	struct twm_functype wrong = {1, 1, i, i};
	struct twm_host_func h = {host_add, NULL};
	cr_assert_eq(twm_linker_define_func(l, "env", "add", &wrong, &h), TW_ERR_OK);
	cr_assert_eq(twm_instantiate(m, l, NULL, &inst, &err), TW_ERR_WASM_UNLINKABLE);
	cr_assert(strncmp(err.msg, "incompatible import type", 24) == 0, "%s", err.msg);
	twm_linker_free(l);
	twm_module_unref(m);
}

/* A module of one function type [] -> [] and one function whose body is `body` (locals
 * declarations included). */
static size_t make_module(uint8_t *out, const uint8_t *body, size_t body_len)
{
	size_t n = 0;
	static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0};
	memcpy(out, head, sizeof(head));
	n = sizeof(head);
	out[n++] = 10;
	/* section size, count 1, body size: LEB128 each */
	size_t inner = body_len;
	uint8_t bsz[5], ssz[5];
	size_t nb = 0, ns = 0;
	size_t v = inner;
	do {
		bsz[nb++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v);
	v = 1 + nb + inner;
	do {
		ssz[ns++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v);
	memcpy(out + n, ssz, ns);
	n += ns;
	out[n++] = 1;
	memcpy(out + n, bsz, nb);
	n += nb;
	memcpy(out + n, body, body_len);
	return n + body_len;
}

Test(twm, hostile_modules_get_errors)
{
	static uint8_t buf[1 << 20], body[1 << 20];
	struct twm_module *m;
	struct twm_error err;

	/* 4 billion locals */
	static const uint8_t many_locals[] = {1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b};
	size_t n = make_module(buf, many_locals, sizeof(many_locals));
	cr_assert_eq(twm_module_load(buf, n, NULL, &m, &err), TW_ERR_WASM_MALFORMED);
	cr_assert_str_eq(err.msg, "too many locals");

	/* nesting deeper than TW_WASM_NESTING_MAX */
	size_t k = 0;
	body[k++] = 0;
	for (int i = 0; i < TW_WASM_NESTING_MAX + 10; i++) {
		body[k++] = 0x02;
		body[k++] = 0x40;
	}
	for (int i = 0; i < TW_WASM_NESTING_MAX + 10; i++)
		body[k++] = 0x0b;
	body[k++] = 0x0b;
	n = make_module(buf, body, k);
	cr_assert_eq(twm_module_load(buf, n, NULL, &m, &err), TW_ERR_WASM_INVALID);

	/* a count far beyond the bytes: no giant allocation, just an error */
	static const uint8_t huge_count[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f};
	cr_assert_eq(twm_module_load(huge_count, sizeof(huge_count), NULL, &m, &err),
		     TW_ERR_WASM_MALFORMED);

	/* SIMD is reported as unsupported */
	static const uint8_t simd[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b};
	cr_assert_eq(twm_module_load(simd, sizeof(simd), NULL, &m, &err), TW_ERR_UNSUPPORTED);

	/* a valid tiny module still loads */
	static const uint8_t ok_body[] = {0, 0x0b};
	n = make_module(buf, ok_body, sizeof(ok_body));
	cr_assert_eq(twm_module_load(buf, n, NULL, &m, &err), TW_ERR_OK, "%s", err.msg);
	twm_module_unref(m);

	/* every truncation of a valid module is an error, never a crash */
	size_t len;
	uint8_t *bytes = read_file("twm_engine.wasm", &len);
	for (size_t cut = 0; cut < len; cut++) {
		enum tw_err rc = twm_module_load(bytes, cut, NULL, &m, &err);
		if (rc == TW_ERR_OK)
			twm_module_unref(m);
		else
			cr_assert(err.msg[0]);
	}
	free(bytes);
}

static int hook_calls;

static enum twm_hook_action loop_hook(const struct twm_loop_site *site, void *env)
{
	const uint8_t *code;
	size_t len;
	hook_calls++;
	/* the running function is found from ip (a search of the module's code): it must be the
	 * export itself, not a neighbour */
	bool named = false;
	for (uint32_t i = 0; i < twm_module_export_count(site->module); i++) {
		struct twm_export_desc d;
		cr_assert(twm_module_export(site->module, i, &d));
		if (d.kind == TWM_EXTERN_FUNC && d.name_len == 6 && !memcmp(d.name, "hooked", 6)) {
			cr_assert_eq(site->func_index, d.index);
			named = true;
		}
	}
	cr_assert(named);
	cr_assert(twm_module_func_code(site->module, site->func_index, &code, &len));
	cr_assert_lt(site->loop_offset, len);
	cr_assert_eq(code[site->loop_offset], 0x03, "the offset names the loop opcode");
	cr_assert_eq(site->nlocals, 2u);
	cr_assert(site->mem && site->mem_bytes == 65536);
	site->locals[1] = *(uint32_t *)env;
	return TWM_HOOK_LOOP_DONE;
}

Test(twm, loop_hook_can_run_a_loop)
{
	struct fixture fx;
	struct twm_value arg = twm_val_i32(100), res;
	uint32_t answer = 12345;
	struct twm_loop_hook hook = {.fn = loop_hook, .env = &answer};
	setup(&fx, NULL);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "hooked"), &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 100u);
	twm_instance_set_loop_hook(fx.inst, &hook);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "hooked"), &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 12345u);
	cr_assert_eq(hook_calls, 1, "once per loop entry, not per iteration");
	twm_instance_set_loop_hook(fx.inst, NULL);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "hooked"), &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 100u);
	teardown(&fx);
}

static uint32_t seen_loop = UINT32_MAX, seen_func;

static enum twm_hook_action loop_number_hook(const struct twm_loop_site *site, void *env)
{
	(void)env;
	hook_calls++;
	seen_func = site->func_index;
	cr_assert(twm_module_loop_number(site->module, site->func_index, site->loop_offset,
					 &seen_loop));
	return TWM_HOOK_RUN_LOOP;
}

/* A hook's `wants` keeps the loops it does not name from reaching it at all. */
Test(twm, loop_hook_sees_only_the_loops_it_wants)
{
	struct fixture fx;
	struct twm_value arg = twm_val_i32(100), res;
	setup(&fx, NULL);
	const struct twm_module *m = twm_instance_module(fx.inst);
	uint32_t n = twm_module_loop_count(m);
	cr_assert_gt(n, 0u);
	/* first every loop, to learn the number of "hooked"'s */
	hook_calls = 0;
	struct twm_loop_hook all = {loop_number_hook, NULL, NULL};
	twm_instance_set_loop_hook(fx.inst, &all);
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "hooked"), &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(hook_calls, 1);
	cr_assert_lt(seen_loop, n);
	uint32_t k = seen_loop, nimp, got;
	/* "hooked" has one loop: its offset alone has a number, that one */
	const uint8_t *code;
	size_t len;
	uint32_t found = 0;
	cr_assert(twm_module_func_code(m, seen_func, &code, &len));
	for (uint32_t off = 0; off < len; off++) {
		if (!twm_module_loop_number(m, seen_func, off, &got))
			continue;
		cr_assert_eq(code[off], 0x03, "offset %u", off);
		cr_assert_eq(got, k);
		found++;
	}
	cr_assert_eq(found, 1u);
	twm_module_func_count(m, &nimp);
	if (nimp)
		cr_assert_not(twm_module_loop_number(m, 0, 0, &got), "an import has no loops");
	cr_assert_not(twm_module_loop_number(m, UINT32_MAX, 0, &got));
	/* wanted: reaches the hook; not wanted: the interpreter runs it without asking */
	uint8_t *wants = calloc(n, 1);
	cr_assert_not_null(wants);
	struct twm_loop_hook some = {loop_number_hook, NULL, wants};
	twm_instance_set_loop_hook(fx.inst, &some);
	hook_calls = 0;
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "hooked"), &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 100u);
	cr_assert_eq(hook_calls, 0);
	wants[k] = 1;
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "hooked"), &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 100u);
	cr_assert_eq(hook_calls, 1);
	twm_instance_set_loop_hook(fx.inst, NULL);
	free(wants);
	teardown(&fx);
}

Test(twm, calls_and_fuel_stops_cross_instances)
{
	struct fixture fx;
	size_t len;
	struct twm_module *m;
	struct twm_instance *imp;
	struct twm_error err;
	struct twm_extern ex;
	struct twm_value arg = twm_val_i32(20000), res;
	enum tw_err rc;
	int slices = 0;
	setup(&fx, NULL);
	cr_assert_eq(twm_linker_register(fx.linker, "eng", fx.inst), TW_ERR_OK);
	uint8_t *bytes = read_file("twm_importer.wasm", &len);
	cr_assert_eq(twm_module_load(bytes, len, NULL, &m, &err), TW_ERR_OK, "%s", err.msg);
	free(bytes);
	cr_assert_eq(twm_instantiate(m, fx.linker, NULL, &imp, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(twm_instance_export(imp, "twice", &ex), TW_ERR_OK);
	cr_assert_eq(twm_call_begin(imp, ex.u.func, &arg, 1, &err), TW_ERR_OK);
	while ((rc = twm_call_run(imp, 1000, &err)) == TW_ERR_WASM_FUEL)
		slices++;
	cr_assert_eq(rc, TW_ERR_OK, "%s", err.msg);
	cr_assert_gt(slices, 10);
	twm_call_results(imp, &res, 1);
	cr_assert_eq(res.bits, 2ull * 199990000ull);
	/* the imported memory is the exporter's */
	struct twm_value a2[2] = {twm_val_i32(40), twm_val_i32(2)};
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "call_add"), a2, 2, &res, 1, &err), TW_ERR_OK);
	cr_assert_eq(twm_instance_export(imp, "peek", &ex), TW_ERR_OK);
	cr_assert_eq(twm_invoke(imp, ex.u.func, NULL, 0, &res, 1, &err), TW_ERR_OK);
	cr_assert_eq(res.bits, 42u);
	twm_instance_free(imp);
	twm_module_unref(m);
	teardown(&fx);
}

Test(twm, trap_strings)
{
	cr_assert_str_eq(twm_trap_str(TWM_TRAP_UNREACHABLE), "unreachable");
	cr_assert_str_eq(twm_trap_str(TWM_TRAP_INDIRECT_TYPE), "indirect call type mismatch");
	cr_assert_str_eq(twm_trap_str(TWM_TRAP__COUNT), "unknown trap");
}

static uint64_t call_u64(struct twm_instance *inst, const char *name, const struct twm_value *args,
			 uint32_t nargs, enum tw_err want)
{
	struct twm_extern x;
	struct twm_value r = {0};
	struct twm_error err;
	cr_assert_eq(twm_instance_export(inst, name, &x), TW_ERR_OK, "%s", name);
	enum tw_err rc = twm_invoke(inst, x.u.func, args, nargs, &r, 1, &err);
	cr_assert_eq(rc, want, "%s: %s", name, err.msg);
	if (rc == TW_ERR_WASM_TRAP)
		cr_assert_str_eq(err.msg, "out of bounds memory access", "%s", name);
	return r.bits;
}

/* Export `name` called with `args` and run to its end in slices of `fuel` units (0: slices large
 * enough for the whole call); returns its single result. */
static uint64_t call_sliced(struct twm_instance *inst, const char *name,
			    const struct twm_value *args, uint32_t nargs, uint64_t fuel)
{
	struct twm_extern x;
	struct twm_value r = {0};
	struct twm_error err;
	enum tw_err rc;
	cr_assert_eq(twm_instance_export(inst, name, &x), TW_ERR_OK, "%s", name);
	cr_assert_eq(twm_call_begin(inst, x.u.func, args, nargs, &err), TW_ERR_OK, "%s: %s", name,
		     err.msg);
	while ((rc = twm_call_run(inst, fuel ? fuel : UINT32_MAX, &err)) == TW_ERR_WASM_FUEL)
		;
	cr_assert_eq(rc, TW_ERR_OK, "%s: %s", name, err.msg);
	cr_assert_eq(twm_call_results(inst, &r, 1), 1u);
	return r.bits;
}

#define I32(v) ((struct twm_value){.type = TWM_I32, .bits = (uint32_t)(v)})
#define I64(v) ((struct twm_value){.type = TWM_I64, .bits = (uint64_t)(v)})

/* What "guarded" computes: a do-while loop behind each guard, run when the guard falls through. */
static uint32_t guarded_model(int32_t p0, int32_t p1, uint32_t *loops)
{
	uint32_t acc = 0;
	int32_t c;
	*loops = 0;
#define GUARDED(init, skip, add)                                                                  \
	c = (init);                                                                               \
	if (!(skip)) {                                                                            \
		++*loops;                                                                         \
		do                                                                                \
			acc += (add);                                                             \
		while ((c = (int32_t)((uint32_t)c - 1)) > 0);                                     \
	}
	GUARDED(p0, (uint32_t)p0 < 2u, 1)
	GUARDED(p1, p0 > p1, 10)
	GUARDED(3, p1 != 0, 100)
	GUARDED(2, p1 == 0, 1000)
	GUARDED(1, (p0 & 4) != 0, 10000)
	GUARDED(1, (p0 & 1) == 0, 100000)
#undef GUARDED
	return acc;
}

static int guard_hook_calls;

static enum twm_hook_action count_loops(const struct twm_loop_site *site, void *env)
{
	(void)site;
	(void)env;
	guard_hook_calls++;
	return TWM_HOOK_RUN_LOOP;
}

/* Every kind of guard, taken and not; in fuel slices of 1 to 3 (a stop at the pair's loop entry
 * resumes at the header); and with a loop hook, which the pair calls as LOOP_HOOK would. */
static void guarded_loops(struct twm_instance *inst)
{
	static const int32_t ps[][2] = {{0, 0}, {1, 5}, {2, 5}, {3, 0}, {5, 3}, {6, -2}, {7, 7},
					{12, 20}, {13, 1}, {-3, 4}, {100, 0}};
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint32_t loops, want = guarded_model(ps[i][0], ps[i][1], &loops);
		struct twm_value args[2] = {I32((uint32_t)ps[i][0]), I32((uint32_t)ps[i][1])};
		for (uint64_t fuel = 0; fuel <= 3; fuel++)
			cr_assert_eq((uint32_t)call_sliced(inst, "guarded", args, 2, fuel), want,
				     "(%d, %d) fuel %llu", ps[i][0], ps[i][1], (unsigned long long)fuel);
		struct twm_loop_hook h = {.fn = count_loops};
		twm_instance_set_loop_hook(inst, &h);
		guard_hook_calls = 0;
		cr_assert_eq(call_u64(inst, "guarded", args, 2, TW_ERR_OK), want);
		cr_assert_eq(guard_hook_calls, (int)loops, "(%d, %d)", ps[i][0], ps[i][1]);
		twm_instance_set_loop_hook(inst, NULL);
	}
}

Test(twm, fused_instructions_keep_wasm_semantics)
{
	size_t len;
	uint8_t *bytes = read_file("twm_fused.wasm", &len);
	struct twm_module *mod;
	struct twm_instance *inst;
	struct twm_error err;
	cr_assert_eq(twm_module_load(bytes, len, NULL, &mod, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(twm_instantiate(mod, NULL, NULL, &inst, &err), TW_ERR_OK, "%s", err.msg);
	uint64_t size;
	uint8_t *mem = twm_memory_data(twm_instance_memory(inst, 0), &size);
	cr_assert(mem && size == 65536);
	for (int i = 0; i < 64; i++)
		mem[i] = (uint8_t)i;

	/* address arithmetic wraps at 32 bits, then the offset is added without wrapping */
	struct twm_value a2[2] = {I32(4), I32(0)};
	cr_assert_eq(call_u64(inst, "ld_rr", a2, 2, TW_ERR_OK), 0x0f0e0d0cu);
	a2[0] = I32(0xfffffff8u), a2[1] = I32(12);
	cr_assert_eq(call_u64(inst, "ld_rr", a2, 2, TW_ERR_OK), 0x0f0e0d0cu);
	a2[0] = I32(0xfffffff8u), a2[1] = I32(4);
	call_u64(inst, "ld_rr", a2, 2, TW_ERR_WASM_TRAP);
	struct twm_value a1 = I32(8);
	cr_assert_eq(call_u64(inst, "ld_ri", &a1, 1, TW_ERR_OK), 0x0b0a0908u);
	a1 = I32(4); /* 4 - 8 wraps to 2^32 - 4; + 8 is past 4 GiB */
	call_u64(inst, "ld_ri", &a1, 1, TW_ERR_WASM_TRAP);
	a1 = I32(65536 - 32);
	call_u64(inst, "ld_f64_ri", &a1, 1, TW_ERR_OK);
	a1 = I32(65536 - 31);
	call_u64(inst, "ld_f64_ri", &a1, 1, TW_ERR_WASM_TRAP);

	struct twm_value a3[3] = {I32(0xfffffffcu), I32(8), I32(0xdeadbeefu)};
	call_u64(inst, "st_rr", a3, 3, TW_ERR_OK);
	cr_assert_eq(mem[8] | mem[9] << 8 | mem[10] << 16 | (uint32_t)mem[11] << 24, 0xdeadbeefu);
	a1 = I32(40);
	call_u64(inst, "st_imm_ri", &a1, 1, TW_ERR_OK);
	cr_assert_eq(mem[40], 0x5a);
	a1 = I32(2);
	call_u64(inst, "st_imm_ri", &a1, 1, TW_ERR_WASM_TRAP);
	a2[0] = I32(16), a2[1] = I32(8);
	call_u64(inst, "st_imm_rr", a2, 2, TW_ERR_OK);
	cr_assert_eq(mem[24], 0xfe);
	cr_assert_eq(mem[31], 0xff);
	a2[0] = I32(65536), a2[1] = I32(0xfffffff9u);
	call_u64(inst, "st_imm_rr", a2, 2, TW_ERR_WASM_TRAP);
	a1 = I32(0);
	cr_assert_eq(call_u64(inst, "ld_tee", &a1, 1, TW_ERR_OK), 0x07060504u + 4);

	/* i64 compare-and-branch: full 64-bit operands, signed and unsigned */
	struct twm_value l2[2] = {I64(-1), I64(1)};
	cr_assert_eq(call_u64(inst, "lt_s64", l2, 2, TW_ERR_OK), 1);
	cr_assert_eq(call_u64(inst, "gt_u64", l2, 2, TW_ERR_OK), 1);
	l2[0] = I64(0x100000000ull), l2[1] = I64(1);
	cr_assert_eq(call_u64(inst, "lt_s64", l2, 2, TW_ERR_OK), 0);
	cr_assert_eq(call_u64(inst, "gt_u64", l2, 2, TW_ERR_OK), 1);
	l2[0] = I64(1), l2[1] = I64(0x100000001ull);
	cr_assert_eq(call_u64(inst, "gt_u64", l2, 2, TW_ERR_OK), 0);
	struct twm_value l1 = I64(-5);
	cr_assert_eq(call_u64(inst, "le_s64_imm", &l1, 1, TW_ERR_OK), 1);
	l1 = I64(-4);
	cr_assert_eq(call_u64(inst, "le_s64_imm", &l1, 1, TW_ERR_OK), 0);
	l1 = I64(0xfffffffbull); /* -5 in the low half only */
	cr_assert_eq(call_u64(inst, "le_s64_imm", &l1, 1, TW_ERR_OK), 0);
	l1 = I64(0);
	cr_assert_eq(call_u64(inst, "eqz64_if", &l1, 1, TW_ERR_OK), 7);
	l1 = I64(0x100000000ull);
	cr_assert_eq(call_u64(inst, "eqz64_if", &l1, 1, TW_ERR_OK), 9);
	l1 = I64(1000);
	cr_assert_eq(call_u64(inst, "count64", &l1, 1, TW_ERR_OK), 499500);
	l1 = I64(3);
	cr_assert_eq(call_u64(inst, "mix64", &l1, 1, TW_ERR_OK),
		     (3 * 0xbf58476d1ce4e5b9ull) ^ 0x100000000ull);
	l1 = I64(0xffffffffull);
	cr_assert_eq(call_u64(inst, "big_lt", &l1, 1, TW_ERR_OK), 1);
	l1 = I64(0x100000000ull);
	cr_assert_eq(call_u64(inst, "big_lt", &l1, 1, TW_ERR_OK), 0);

	a1 = I32(4);
	cr_assert_eq(call_u64(inst, "bit_set", &a1, 1, TW_ERR_OK), 1);
	a1 = I32(3);
	cr_assert_eq(call_u64(inst, "bit_set", &a1, 1, TW_ERR_OK), 0);
	a1 = I32(9);
	cr_assert_eq(call_u64(inst, "bit_clear", &a1, 1, TW_ERR_OK), 1);
	a1 = I32(2);
	cr_assert_eq(call_u64(inst, "bit_clear", &a1, 1, TW_ERR_OK), 0);
	a1 = I32(40);
	cr_assert_eq(call_u64(inst, "ctz_loop", &a1, 1, TW_ERR_OK), 3);
	a1 = I32(0x80000000u);
	cr_assert_eq(call_u64(inst, "ctz_loop", &a1, 1, TW_ERR_OK), 31);

	/* float arithmetic on two loaded operands: both addresses wrap and trap like loads */
	double d3 = 3.0, d01 = 0.1;
	float f15 = 1.5f, f025 = 0.25f;
	memcpy(mem + 1024, &d3, 8);
	memcpy(mem + 1032, &d01, 8);
	memcpy(mem + 2048, &f15, 4);
	memcpy(mem + 2052, &f025, 4);
	volatile double vd3 = d3, vd01 = d01;
	double want = vd3 * vd01, got;
	a2[0] = I32(1008), a2[1] = I32(1016);
	uint64_t bits = call_u64(inst, "mul_ll", a2, 2, TW_ERR_OK);
	memcpy(&got, &bits, 8);
	cr_assert(got == want, "mul_ll %.17g", got);
	a2[0] = I32(65536 - 24), a2[1] = I32(0);
	call_u64(inst, "mul_ll", a2, 2, TW_ERR_OK);
	a2[0] = I32(65536 - 23);
	call_u64(inst, "mul_ll", a2, 2, TW_ERR_WASM_TRAP);
	a2[0] = I32(0), a2[1] = I32(65536 - 16);
	call_u64(inst, "mul_ll", a2, 2, TW_ERR_WASM_TRAP);
	a2[0] = I32(0), a2[1] = I32(0);
	call_u64(inst, "mul_ll_far", a2, 2, TW_ERR_WASM_TRAP);
	a2[0] = I32(2048), a2[1] = I32(2052);
	bits = call_u64(inst, "sub_ll_f32", a2, 2, TW_ERR_OK);
	cr_assert_eq((uint32_t)bits, 0x3fa00000u); /* 1.25f */
	a2[1] = I32(0); /* 0 - 4 wraps to 2^32 - 4; + 4 is past 4 GiB */
	call_u64(inst, "sub_ll_f32", a2, 2, TW_ERR_WASM_TRAP);
	want = vd3 / vd01;
	a2[0] = I32(1024), a2[1] = I32(1032);
	bits = call_u64(inst, "div_ll_set", a2, 2, TW_ERR_OK);
	memcpy(&got, &bits, 8);
	cr_assert(got == want, "div_ll_set %.17g", got);

	/* multiplies of loads fused with the add or sub that consumes them: (1 + 2^-30) *
	 * (1 - 2^-30) rounds to 1.0 on its own, so s - p and p + s differ from an FMA's result */
	double x[8] = {1.0 + 0x1p-30, 3.0, 0.1, 7.0}, y[8] = {1.0 - 0x1p-30, 0.3, 5.0, 1.0 / 3};
	memcpy(mem + 4096, x, sizeof(x));
	memcpy(mem + 8192, y, sizeof(y));
	volatile double vx[4] = {x[0], x[1], x[2], x[3]}, vy[4] = {y[0], y[1], y[2], y[3]};
	volatile double s0 = -1.0;
	struct twm_value dv3[3] = {I32(4096), I32(8192), {.type = TWM_F64}};
	double sv = s0;
	memcpy(&dv3[2].bits, &sv, 8);
	double q0 = vx[0] * vy[0], q1 = vx[1] * vy[1], q2 = vx[2] * vy[2], q3 = vx[3] * vy[3];
	want = q0 + (q1 - (q2 + (q3 + s0)));
	bits = call_u64(inst, "madd_chain", dv3, 3, TW_ERR_OK);
	memcpy(&got, &bits, 8);
	cr_assert(got == want, "madd_chain %.17g, want %.17g", got, want);
	sv = 1.0;
	memcpy(&dv3[2].bits, &sv, 8);
	bits = call_u64(inst, "madd_rev", dv3, 3, TW_ERR_OK);
	memcpy(&got, &bits, 8);
	cr_assert(got == 0.0, "madd_rev %.17g (an FMA gives 2^-60)", got);
	sv = -1.0;
	memcpy(&dv3[2].bits, &sv, 8);
	want = ((vx[0] * vy[0] + vx[1] * vy[1]) + s0) + vx[1] * vy[1];
	bits = call_u64(inst, "madd_tee", dv3, 3, TW_ERR_OK);
	memcpy(&got, &bits, 8);
	cr_assert(got == want, "madd_tee %.17g, want %.17g", got, want);
	float fx = 1.0f + 0x1p-13f, fy = 1.0f - 0x1p-13f, fs = -1.0f;
	memcpy(mem + 3072, &fx, 4);
	memcpy(mem + 3076, &fy, 4);
	struct twm_value mf3[3] = {I32(3072), I32(3076), {.type = TWM_F32}};
	memcpy(&mf3[2].bits, &fs, 4);
	bits = call_u64(inst, "madd_f32", mf3, 3, TW_ERR_OK);
	cr_assert_eq((uint32_t)bits, 0u, "madd_f32 %#x (an FMA gives -2^-26)", (uint32_t)bits);
	/* chains: each product and each add rounded on its own, in the wasm order */
	memcpy(&dv3[2].bits, &(double){-1.0}, 8);
	dv3[0] = I32(4096), dv3[1] = I32(8192);
	want = q0 + (q1 + (q2 + (q3 + s0)));
	want += want;
	bits = call_u64(inst, "dot4", dv3, 3, TW_ERR_OK);
	memcpy(&got, &bits, 8);
	cr_assert(got == want, "dot4 %.17g, want %.17g", got, want);
	float fa[3] = {1.0f + 0x1p-13f, 3.0f, 0.1f}, fb[3] = {1.0f - 0x1p-13f, 0.3f, 7.0f};
	memcpy(mem + 5120, fa, sizeof(fa));
	memcpy(mem + 5184, fb, sizeof(fb));
	volatile float va[3] = {fa[0], fa[1], fa[2]}, vb[3] = {fb[0], fb[1], fb[2]};
	volatile float fs0 = 2.5f;
	float fwant = va[0] * vb[0] - (va[1] * vb[1] - (va[2] * vb[2] - fs0));
	struct twm_value fv3[3] = {I32(5120), I32(5184), {.type = TWM_F32}};
	memcpy(&fv3[2].bits, &(float){2.5f}, 4);
	bits = call_u64(inst, "msub3", fv3, 3, TW_ERR_OK);
	float fgot;
	memcpy(&fgot, &bits, 4);
	cr_assert(fgot == fwant, "msub3 %.9g, want %.9g", fgot, fwant);
	dv3[0] = I32(65536 - 32);
	call_u64(inst, "dot4", dv3, 3, TW_ERR_OK);
	dv3[0] = I32(65536 - 31); /* the last product's first load is out of bounds */
	call_u64(inst, "dot4", dv3, 3, TW_ERR_WASM_TRAP);
	dv3[0] = I32(4096), dv3[1] = I32(65536 - 16); /* the third product's second load */
	call_u64(inst, "dot4", dv3, 3, TW_ERR_WASM_TRAP);
	dv3[1] = I32(8192);

	/* every load of the chain still traps, wherever its multiply was moved */
	dv3[0] = I32(65536 - 32);
	call_u64(inst, "madd_chain", dv3, 3, TW_ERR_OK);
	dv3[0] = I32(65536 - 31);
	call_u64(inst, "madd_chain", dv3, 3, TW_ERR_WASM_TRAP);
	dv3[0] = I32(4096), dv3[1] = I32(65536 - 8);
	call_u64(inst, "madd_chain", dv3, 3, TW_ERR_WASM_TRAP);
	dv3[1] = I32(65536 - 7);
	call_u64(inst, "madd_rev", dv3, 3, TW_ERR_WASM_TRAP);

	/* binary operations on a shifted operand */
	uint64_t x64 = 0x0123456789abcdefull;
	l1 = I64(x64);
	x64 ^= x64 << 13;
	x64 ^= x64 >> 7;
	x64 ^= x64 << (81 & 63);
	cr_assert_eq(call_u64(inst, "xorshift", &l1, 1, TW_ERR_OK), x64);
	int32_t i0 = -123456789, i1 = -987654;
	a2[0] = I32(i0), a2[1] = I32(i1);
	uint32_t w32 = ((uint32_t)i0 - (uint32_t)(i1 >> 3)) ^ (((uint32_t)i1 << 2) - (uint32_t)i0);
	cr_assert_eq((uint32_t)call_u64(inst, "sh_sub32", a2, 2, TW_ERR_OK), w32);
	int64_t j0 = -0x123456789abcdll, j1 = -0x7edcba987654321ll;
	struct twm_value b2[2] = {I64(j0), I64(j1)};
	uint64_t w64 = (((uint64_t)(j1 >> 3) - (uint64_t)j0) & ((uint64_t)j0 >> 60)) +
		       (((uint64_t)j1 << 4) | (uint64_t)j0);
	cr_assert_eq(call_u64(inst, "sh_mix64", b2, 2, TW_ERR_OK), w64);
	a2[0] = I32(1000), a2[1] = I32(0xf0);
	cr_assert_eq((uint32_t)call_u64(inst, "sh_tee", a2, 2, TW_ERR_OK), (1000 + 0xf) * 0xf);

	/* loop increments fused with their backedge, run whole and in slices of 1 to 7 fuel units
	 * (a slice can stop at every backedge) */
	uint64_t want_sum = 0;
	for (uint32_t j = 7; j < 1000; j += 13)
		want_sum += j;
	for (int k = 0; k < 10; k++)
		want_sum *= 3;
	for (int64_t k = 0; k < 25; k++)
		want_sum ^= (uint64_t)k;
	want_sum += 40;
	struct twm_value s3[3] = {I32(7), I32(13), I32(1000)};
	cr_assert_eq(call_u64(inst, "abr_sum", s3, 3, TW_ERR_OK), want_sum);
	for (uint64_t fuel = 1; fuel <= 7; fuel++)
		cr_assert_eq(call_sliced(inst, "abr_sum", s3, 3, fuel), want_sum, "fuel %llu",
			     (unsigned long long)fuel);
	a1 = I32(0x10000000);
	cr_assert_eq(call_u64(inst, "abr_wrap", &a1, 1, TW_ERR_OK), 2);
	uint32_t want_aabr = 0;
	for (uint32_t i = 2; i < 50; i += 3)
		want_aabr += i;
	want_aabr += 100 * 1000;
	struct twm_value ab[2] = {I32(2), I32(50)};
	cr_assert_eq(call_u64(inst, "aabr", ab, 2, TW_ERR_OK), want_aabr);
	for (uint64_t fuel = 1; fuel <= 5; fuel++)
		cr_assert_eq(call_sliced(inst, "aabr", ab, 2, fuel), want_aabr, "fuel %llu",
			     (unsigned long long)fuel);

	/* constant first operands */
	int32_t ks[] = {-100, -5, -4, 0, 6, 7, 8, 0x7fffffff};
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		uint32_t kx = (uint32_t)ks[i];
		uint32_t w = ((10u - kx) ^ (3u * kx)) + (-5 < ks[i] ? 1000u : 2000u) + (7u >= kx);
		a1 = I32(kx);
		cr_assert_eq((uint32_t)call_u64(inst, "kfirst32", &a1, 1, TW_ERR_OK), w, "%d", ks[i]);
		int64_t ky = (int64_t)ks[i] * 3;
		uint64_t kw = ((uint64_t)-10 - (uint64_t)ky) + (0x100000000ull - (uint64_t)ky) +
			       (uint64_t)(9 > ky);
		l1 = I64(ky);
		cr_assert_eq(call_u64(inst, "kfirst64", &l1, 1, TW_ERR_OK), kw, "%lld",
			     (long long)ky);
	}

	/* count64 leaves large values in the slots that locals_zero's locals reuse */
	l1 = I64(1000);
	call_u64(inst, "count64", &l1, 1, TW_ERR_OK);
	a1 = I32(5);
	cr_assert_eq(call_u64(inst, "locals_zero", &a1, 1, TW_ERR_OK), 12);
	/* calls with fused argument moves, one/two/three moves, with constants, and four */
	struct twm_value m3[3] = {I32(1), I32(2), I32(3)};
	cr_assert_eq(call_u64(inst, "call_moves", m3, 3, TW_ERR_OK), 123u + 327 + 111 + 3 + 1231);
	struct twm_value m2[2] = {I32(1), I32(2)};
	cr_assert_eq(call_u64(inst, "deep_moves", m2, 2, TW_ERR_WASM_EXHAUSTED), 0u);
	/* the same loop whole and in slices of 3 fuel units, which stop at its calls */
	a1 = I32(1000);
	uint64_t whole = call_u64(inst, "moves_loop", &a1, 1, TW_ERR_OK);
	struct twm_extern ml;
	cr_assert_eq(twm_instance_export(inst, "moves_loop", &ml), TW_ERR_OK);
	cr_assert_eq(twm_call_begin(inst, ml.u.func, &a1, 1, &err), TW_ERR_OK);
	enum tw_err rc;
	int slices = 0;
	while ((rc = twm_call_run(inst, 3, &err)) == TW_ERR_WASM_FUEL)
		slices++;
	cr_assert_eq(rc, TW_ERR_OK, "%s", err.msg);
	cr_assert_geq(slices, 1000, "%d", slices); /* one stop per iteration, at the first call */
	struct twm_value r;
	cr_assert_eq(twm_call_results(inst, &r, 1), 1u);
	cr_assert_eq(r.bits, whole);

	/* results computed in place of the return's slot, through calls and from the entry */
	struct twm_value p2[2] = {I32(10), I32(3)};
	cr_assert_eq(call_u64(inst, "ret_in_place", p2, 2, TW_ERR_OK), 7u + 30 + 42 + 11);
	cr_assert_eq(call_u64(inst, "sub_in_place", p2, 2, TW_ERR_OK), 7u);

	/* every zeroed run reads 0, not the ones a previous call left in the same slots */
	l1 = I64(5);
	cr_assert_eq(call_u64(inst, "zero_runs", &l1, 1, TW_ERR_OK), 10);

	/* pairs run by one dispatch (ADDI2, ADDI3, CONST2, MOVE_CONST, ADDI_CONST, CONST_ADDI): the
	 * second sees what the first wrote; pairs split again where a load or a loop branch absorbs
	 * the second add */
	a1 = I32(10);
	cr_assert_eq(call_u64(inst, "addi2", &a1, 1, TW_ERR_OK), 1236054u);
	a3[0] = I32(100), a3[1] = I32(0), a3[2] = I32(8);
	uint32_t w11 = mem[11] | mem[12] << 8 | mem[13] << 16 | (uint32_t)mem[14] << 24;
	cr_assert_eq(call_u64(inst, "addi2_loop", a3, 3, TW_ERR_OK), (uint32_t)(w11 + 110 + 11));
	cr_assert_eq(memcmp(mem + 100, mem, 8), 0);
	a1 = I32(0);
	cr_assert_eq(call_u64(inst, "const2", &a1, 1, TW_ERR_OK), 932u);
	a2[0] = I32(5), a2[1] = I32(6);
	cr_assert_eq(call_u64(inst, "move_const", a2, 2, TW_ERR_OK), 1573u);
	a2[0] = I32(3), a2[1] = I32(6);
	uint32_t w28 = mem[28] | mem[29] << 8 | mem[30] << 16 | (uint32_t)mem[31] << 24;
	cr_assert_eq(call_u64(inst, "const_addi", a2, 2, TW_ERR_OK), (uint32_t)(w28 + 20078204u));

	/* recursion through CALL_LOCAL_AI and ADD_RET, whole and in slices of 1 to 4 fuel units
	 * (a stop at the call must not add twice) */
	a1 = I32(20);
	cr_assert_eq(call_u64(inst, "fibl", &a1, 1, TW_ERR_OK), 6765u);
	a1 = I32(15);
	for (uint64_t fuel = 1; fuel <= 4; fuel++)
		cr_assert_eq(call_sliced(inst, "fibl", &a1, 1, fuel), 610u, "fuel %llu",
			     (unsigned long long)fuel);
	uint32_t want_ca = (7u * 3 + 5) * 2 + 0 + 2 + 14 * 100 + 9 * 10000 + 1 * 1000000;
	a1 = I32(7);
	for (uint64_t fuel = 0; fuel <= 3; fuel++)
		cr_assert_eq((uint32_t)call_sliced(inst, "call_addi", &a1, 1, fuel), want_ca,
			     "fuel %llu", (unsigned long long)fuel);
	struct twm_value mb[3] = {I32(0), I32(7), I32(9)};
	cr_assert_eq(call_u64(inst, "move_br", mb, 3, TW_ERR_OK), 907u);
	mb[0] = I32(6);
	cr_assert_eq(call_u64(inst, "move_br", mb, 3, TW_ERR_OK), 709u);
	mb[0] = I32(1);
	cr_assert_eq(call_u64(inst, "move_br", mb, 3, TW_ERR_OK), 707u);
	struct twm_value fib_args[3] = {I32(3), I32(4), I32(30)};
	uint32_t fa0 = 3, fa1 = 4;
	for (int k = 0; k < 30; k++) {
		uint32_t nx = fa0 + fa1;
		fa0 = fa1, fa1 = nx;
	}
	for (uint64_t fuel = 0; fuel <= 3; fuel++)
		cr_assert_eq((uint32_t)call_sliced(inst, "move_brb", fib_args, 3, fuel), fa1,
			     "fuel %llu", (unsigned long long)fuel);
	for (uint32_t p = 1; p < 4; p++) {
		a1 = I32(p);
		cr_assert_eq(call_u64(inst, "zero_calls", &a1, 1, TW_ERR_OK), 12u + 7 * p, "%u", p);
	}
	guarded_loops(inst);
	for (uint32_t p = 0; p < 3; p++) {
		a1 = I32(p);
		cr_assert_eq(call_u64(inst, "known_const", &a1, 1, TW_ERR_OK), 46u, "%u", p);
	}

	twm_instance_free(inst);
	twm_module_unref(mod);
	free(bytes);
}

/* Nested runs: a host function of one instance runs calls of others on the same thread. The
 * interpreter's per-thread run state must come back intact for the enclosing run. */
#define NEST_LEVELS 4

struct nest {
	struct twm_instance *inst[NEST_LEVELS];
	struct twm_func *run[NEST_LEVELS], *trap[NEST_LEVELS];
	uint32_t model_mem[NEST_LEVELS];
};

static uint32_t nest_model_run(struct nest *n, uint32_t lvl, uint32_t count);

static uint32_t nest_model_inner(struct nest *n, uint32_t lvl, uint32_t i)
{
	return lvl + 1 < NEST_LEVELS ? nest_model_run(n, lvl + 1, i + 1) : i * 7 + lvl;
}

static uint32_t nest_model_run(struct nest *n, uint32_t lvl, uint32_t count)
{
	uint32_t acc = 1;
	for (uint32_t i = 0; i < count; i++) {
		acc = acc * 31 + nest_model_inner(n, lvl, i);
		n->model_mem[lvl] += acc;
	}
	return acc + n->model_mem[lvl];
}

static enum tw_err host_inner(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			      void *env)
{
	struct nest *n = env;
	uint32_t lvl = (uint32_t)args[0], i = (uint32_t)args[1];
	struct twm_value a[2] = {twm_val_i32(lvl + 1), twm_val_i32(i + 1)}, r;
	struct twm_error err;
	if (lvl + 1 >= NEST_LEVELS) {
		results[0] = i * 7 + lvl;
		return TW_ERR_OK;
	}
	if (i == 1 && twm_invoke(n->inst[lvl + 1], n->trap[lvl + 1], NULL, 0, NULL, 0, &err) !=
			      TW_ERR_WASM_TRAP)
		return twm_ctx_trap(ctx, "nested trap did not trap");
	if (twm_invoke(n->inst[lvl + 1], n->run[lvl + 1], a, 2, &r, 1, &err) != TW_ERR_OK)
		return twm_ctx_trap(ctx, "nested run failed");
	results[0] = r.bits;
	return TW_ERR_OK;
}

Test(twm, nested_runs_from_host_functions)
{
	static const uint8_t ii[] = {TWM_I32, TWM_I32}, i[] = {TWM_I32};
	struct twm_functype ft = {2, 1, ii, i};
	struct nest n = {0};
	struct twm_host_func h = {host_inner, &n};
	struct twm_module *mod;
	struct twm_linker *l;
	struct twm_error err;
	struct twm_value arg[2] = {twm_val_i32(0), twm_val_i32(5)}, res;
	struct twm_extern ex;
	enum tw_err rc;
	size_t len;
	uint8_t *bytes = read_file("twm_nested.wasm", &len);
	cr_assert_eq(twm_module_load(bytes, len, NULL, &mod, &err), TW_ERR_OK, "%s", err.msg);
	free(bytes);
	cr_assert_eq(twm_linker_new(&l), TW_ERR_OK);
	cr_assert_eq(twm_linker_define_func(l, "env", "inner", &ft, &h), TW_ERR_OK);
	for (int k = 0; k < NEST_LEVELS; k++) {
		cr_assert_eq(twm_instantiate(mod, l, NULL, &n.inst[k], &err), TW_ERR_OK, "%s",
			     err.msg);
		cr_assert_eq(twm_instance_export(n.inst[k], "run", &ex), TW_ERR_OK);
		n.run[k] = ex.u.func;
		cr_assert_eq(twm_instance_export(n.inst[k], "trap", &ex), TW_ERR_OK);
		n.trap[k] = ex.u.func;
	}
	uint32_t want = nest_model_run(&n, 0, 5);
	cr_assert_eq(twm_invoke(n.inst[0], n.run[0], arg, 2, &res, 1, &err), TW_ERR_OK, "%s",
		     err.msg);
	cr_assert_eq((uint32_t)res.bits, want);

	/* the outer call in small fuel slices, suspended and resumed between nested runs */
	want = nest_model_run(&n, 0, 5);
	int slices = 0;
	cr_assert_eq(twm_call_begin(n.inst[0], n.run[0], arg, 2, &err), TW_ERR_OK);
	while ((rc = twm_call_run(n.inst[0], 3, &err)) == TW_ERR_WASM_FUEL)
		cr_assert_lt(++slices, 100000);
	cr_assert_eq(rc, TW_ERR_OK, "%s", err.msg);
	cr_assert_gt(slices, 3);
	twm_call_results(n.inst[0], &res, 1);
	cr_assert_eq((uint32_t)res.bits, want);
	for (int k = 0; k < NEST_LEVELS; k++)
		twm_instance_free(n.inst[k]);
	twm_linker_free(l);
	twm_module_unref(mod);
}

/* Each thread that runs wasm gets its own run state; threads that come and go release theirs. */
static void *thread_fib(void *arg)
{
	struct fixture *fx = arg;
	struct twm_value a = twm_val_i32(18), res;
	struct twm_error err;
	bool ok = true;
	for (int k = 0; k < 5 && ok; k++)
		ok = twm_invoke(fx->inst, func(fx, "fib"), &a, 1, &res, 1, &err) == TW_ERR_OK &&
		     res.bits == 2584u;
	return ok ? arg : NULL;
}

Test(twm, runs_on_many_threads)
{
	enum { THREADS = 4, ROUNDS = 3 };
	struct fixture fx[THREADS];
	pthread_t t[THREADS];
	void *ret;
	for (int k = 0; k < THREADS; k++)
		setup(&fx[k], NULL);
	for (int r = 0; r < ROUNDS; r++) {
		for (int k = 0; k < THREADS; k++)
			cr_assert_eq(pthread_create(&t[k], NULL, thread_fib, &fx[k]), 0);
		for (int k = 0; k < THREADS; k++) {
			cr_assert_eq(pthread_join(t[k], &ret), 0);
			cr_assert_eq(ret, &fx[k]);
		}
	}
	for (int k = 0; k < THREADS; k++)
		teardown(&fx[k]);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A thread whose first run cannot map its run state gets an error, not a crash. The address
 * space is capped at what the process already uses while the thread runs; its stack is ours. */
#ifndef UNDER_ASAN
static void *thread_fib_nomem(void *arg)
{
	struct fixture *fx = arg;
	struct twm_value a = twm_val_i32(5), res;
	static struct twm_error err;
	enum tw_err rc = twm_invoke(fx->inst, func(fx, "fib"), &a, 1, &res, 1, &err);
	return rc == TW_ERR_NOMEM ? &err : NULL;
}

static uint64_t vm_bytes(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	cr_assert(f);
	cr_assert_eq(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}
#endif

Test(twm, run_state_mapping_failure_is_an_error)
{
#ifdef UNDER_ASAN
	cr_skip_test("the sanitizer's own allocations fail under an address-space cap");
#else
	struct fixture fx;
	struct twm_value a = twm_val_i32(5), res;
	struct rlimit old, cap;
	pthread_attr_t attr;
	pthread_t t;
	void *ret;
	size_t stack_bytes = 1 << 20;
	void *stack = aligned_alloc(4096, stack_bytes);
	cr_assert(stack);
	setup(&fx, NULL);
	/* the instance's stacks are ready; only the new thread's run state is left to map */
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "fib"), &a, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(pthread_attr_init(&attr), 0);
	cr_assert_eq(pthread_attr_setstack(&attr, stack, stack_bytes), 0);
	cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
	cap = old;
	cap.rlim_cur = vm_bytes();
	cr_assert_eq(setrlimit(RLIMIT_AS, &cap), 0);
	int rc = pthread_create(&t, &attr, thread_fib_nomem, &fx);
	if (rc == 0)
		rc = pthread_join(t, &ret);
	setrlimit(RLIMIT_AS, &old);
	cr_assert_eq(rc, 0);
	cr_assert(ret, "the run must fail with TW_ERR_NOMEM");
	cr_assert_str_eq(((struct twm_error *)ret)->msg,
			 "out of memory for the interpreter's run state");
	/* the same instance still runs on a thread that has its run state */
	cr_assert_eq(twm_invoke(fx.inst, func(&fx, "fib"), &a, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, 5u);
	pthread_attr_destroy(&attr);
	teardown(&fx);
	free(stack);
#endif
}
