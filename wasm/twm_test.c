/* twm_test.c — the wasm engine through its public API: load, link, instantiate, invoke, fuel
 * slices, host functions, traps and the bounds that protect us from hostile modules. Uses the
 * fixture build/guests/twm_engine.wasm (tests/guests/twm_engine.wat) and hand-made bytes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	struct twm_loop_hook hook = {loop_hook, &answer};
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

#define I32(v) ((struct twm_value){.type = TWM_I32, .bits = (uint32_t)(v)})
#define I64(v) ((struct twm_value){.type = TWM_I64, .bits = (uint64_t)(v)})

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

	twm_instance_free(inst);
	twm_module_unref(mod);
	free(bytes);
}
