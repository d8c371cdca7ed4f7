/*
 * fuzz_api_args.c — libFuzzer target for the JSON body of POST /functions/:id/invoke.
 *
 * The body is parsed against a module exporting add(i32,i32), id64(i64), fsum(f32,f64) and
 * main(). Properties: never crashes or leaks; an accepted body names a function export and
 * yields exactly as many arguments as it has parameters, each of the parameter's type, and the
 * call then runs (the arguments are valid for the engine); a refused one carries a 4xx status
 * and an API error kind.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/http_api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t module_wasm[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x16, 0x04, 0x60, 0x02, 0x7f,
	0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7e, 0x01, 0x7e, 0x60, 0x02, 0x7d, 0x7c, 0x01, 0x7c,
	0x60, 0x00, 0x01, 0x7f, 0x03, 0x05, 0x04, 0x00, 0x01, 0x02, 0x03, 0x05, 0x03, 0x01,
	0x00, 0x01, 0x07, 0x25, 0x05, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x04, 0x69, 0x64,
	0x36, 0x34, 0x00, 0x01, 0x04, 0x66, 0x73, 0x75, 0x6d, 0x00, 0x02, 0x04, 0x6d, 0x61,
	0x69, 0x6e, 0x00, 0x03, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x0a,
	0x1c, 0x04, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, 0x04, 0x00, 0x20, 0x00,
	0x0b, 0x08, 0x00, 0x20, 0x00, 0xbb, 0x20, 0x01, 0xa0, 0x0b, 0x04, 0x00, 0x41, 0x2a,
	0x0b,
};

static struct api_fn fn;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fn.module) {
		struct twm_error err;
		enum tw_err e = twm_module_load(module_wasm, sizeof(module_wasm), NULL, &fn.module, &err);
		assert(e == TW_ERR_OK);
	}
	struct api_call_setup s;
	memset(&s, 0, sizeof(s));
	if (!api_parse_invoke_json(&fn, (const char *)data, size, &s)) {
		assert(s.status >= 400 && s.status < 500);
		assert(s.kind == TW_ERR_INVALID_JSON || s.kind == TW_ERR_INVALID_ARGS ||
		       s.kind == TW_ERR_TOO_MANY_ARGS || s.kind == TW_ERR_MISSING_EXPORT);
		return 0;
	}
	assert(s.exp.kind == TWM_EXTERN_FUNC);
	assert(s.nargs == s.exp.type.func.nparams);
	for (uint32_t i = 0; i < s.nargs; i++)
		assert(s.args[i].type == s.exp.type.func.params[i]);
	struct twm_instance *inst = NULL;
	struct twm_error err;
	enum tw_err e = twm_instantiate(fn.module, NULL, NULL, &inst, &err);
	assert(e == TW_ERR_OK);
	struct twm_extern ext;
	e = twm_instance_export_n(inst, s.exp.name, s.exp.name_len, &ext);
	assert(e == TW_ERR_OK);
	struct twm_value res[4];
	e = twm_invoke(inst, ext.u.func, s.args, s.nargs, res, 4, &err);
	assert(e == TW_ERR_OK);
	twm_instance_free(inst);
	return 0;
}
