/*
 * fuzz_wasm_decode.c — libFuzzer target: decode, validate and compile arbitrary bytes.
 *
 * Any input must end in TW_ERR_OK or an error with a message; never a crash, a sanitizer report,
 * a leak or a hang. Seeds: tests/fuzz/corpus/wasm_decode/ (see make_corpus.sh).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wasm/twm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct twm_module *m = NULL;
	struct twm_error err;
	memset(&err, 0, sizeof(err));
	enum tw_err e = twm_module_load(data, size, NULL, &m, &err);
	if (e == TW_ERR_OK) {
		/* Walk the descriptions too: they read what the decoder stored. */
		struct twm_import_desc im;
		struct twm_export_desc ex;
		for (uint32_t i = 0; i < twm_module_import_count(m); i++)
			twm_module_import(m, i, &im);
		for (uint32_t i = 0; i < twm_module_export_count(m); i++)
			twm_module_export(m, i, &ex);
		twm_module_unref(m);
	} else if (err.msg[0] == '\0' && e != TW_ERR_NOMEM) {
		/* Every rejection must say why: the spec suite and the API rely on the message. */
		__builtin_trap();
	}
	return 0;
}
