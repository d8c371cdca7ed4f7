/*
 * fuzz_wasm_run.c — libFuzzer target: instantiate arbitrary modules and run their exports.
 *
 * Every import is satisfied by a stub of the imported type (functions return zeros, globals,
 * memories and tables are fresh and small), then every exported function is called with zero
 * arguments under a small fuel budget. Anything the guest does must end in a result, a trap or
 * running out of fuel. Memory is capped small so a hostile module cannot make the fuzzer swap;
 * the start function gets the same small fuel budget as each export.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wasm/twm.h"

#define FUZZ_PAGES_MAX 64      /* 4 MiB of linear memory per instance */
#define FUZZ_TABLE_MAX 10000   /* elements of an imported table */
#define FUZZ_CALL_DEPTH 200
#define FUZZ_FUEL 20000        /* per exported function */
#define FUZZ_EXPORTS_MAX 64
#define FUZZ_VALUES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum tw_err stub_func(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			     void *env)
{
	(void)ctx, (void)args;
	const struct twm_functype *ft = env;
	for (uint32_t i = 0; i < ft->nresults; i++)
		results[i] = 0;
	return TW_ERR_OK;
}

static bool define_stubs(struct twm_linker *l, const struct twm_module *m,
			 struct twm_functype *types, uint32_t cap)
{
	uint32_t n = twm_module_import_count(m);
	for (uint32_t i = 0; i < n; i++) {
		struct twm_import_desc d;
		if (!twm_module_import(m, i, &d))
			return false;
		if (strlen(d.module) != d.module_len || strlen(d.name) != d.name_len)
			return false;
		enum tw_err e = TW_ERR_OK;
		switch (d.kind) {
		case TWM_EXTERN_FUNC: {
			if (i >= cap)
				return false;
			types[i] = d.type.func;
			struct twm_host_func h = {.fn = stub_func, .env = &types[i]};
			e = twm_linker_define_func(l, d.module, d.name, &d.type.func, &h);
			break;
		}
		case TWM_EXTERN_GLOBAL:
			e = twm_linker_define_global(l, d.module, d.name, d.type.global,
						     (struct twm_value){.type = d.type.global.type});
			break;
		case TWM_EXTERN_MEMORY:
			if (d.type.memory.min > FUZZ_PAGES_MAX)
				return false;
			e = twm_linker_define_memory(l, d.module, d.name, d.type.memory);
			break;
		case TWM_EXTERN_TABLE:
			if (d.type.table.min > FUZZ_TABLE_MAX)
				return false;
			e = twm_linker_define_table(l, d.module, d.name, d.type.table, 0);
			break;
		}
		if (e != TW_ERR_OK && e != TW_ERR_EXISTS)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct twm_module *m = NULL;
	struct twm_linker *l = NULL;
	struct twm_instance *inst = NULL;
	struct twm_error err;
	static struct twm_functype types[1024];

	if (size < 8)
		return 0;
	struct twm_limits lim = {.memory_pages_max = FUZZ_PAGES_MAX,
				 .call_depth_max = FUZZ_CALL_DEPTH};
	if (twm_module_load(data, size, &lim, &m, &err) != TW_ERR_OK)
		return 0;
	if (twm_linker_new(&l) != TW_ERR_OK)
		goto out_unref;
	if (!define_stubs(l, m, types, 1024))
		goto out_free_linker;
	struct twm_instance_config cfg = {.memory_pages_max = FUZZ_PAGES_MAX,
					  .call_depth_max = FUZZ_CALL_DEPTH,
					  .start_fuel = FUZZ_FUEL};
	if (twm_instantiate(m, l, &cfg, &inst, &err) != TW_ERR_OK)
		goto out_free_linker;
	uint32_t nexp = twm_module_export_count(m);
	for (uint32_t i = 0; i < nexp && i < FUZZ_EXPORTS_MAX; i++) {
		struct twm_export_desc d;
		struct twm_extern ext;
		struct twm_value args[FUZZ_VALUES_MAX];
		if (!twm_module_export(m, i, &d) || d.kind != TWM_EXTERN_FUNC)
			continue;
		if (twm_instance_export_n(inst, d.name, d.name_len, &ext) != TW_ERR_OK)
			continue;
		struct twm_functype ft;
		twm_func_type(ext.u.func, &ft);
		if (ft.nparams > FUZZ_VALUES_MAX)
			continue;
		for (uint32_t k = 0; k < ft.nparams; k++)
			args[k] = (struct twm_value){.type = ft.params[k]};
		if (twm_call_begin(inst, ext.u.func, args, ft.nparams, &err) != TW_ERR_OK)
			continue;
		enum tw_err e = twm_call_run(inst, FUZZ_FUEL, &err);
		if (e == TW_ERR_WASM_FUEL)
			twm_call_abort(inst);
	}
	twm_instance_free(inst);
out_free_linker:
	twm_linker_free(l);
out_unref:
	twm_module_unref(m);
	return 0;
}
