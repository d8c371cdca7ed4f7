/*
 * fuzz_traceparent.c — libFuzzer target for the traceparent and tracestate parsers.
 *
 * Properties: never crashes or reads out of bounds; whatever parses formats back to a header
 * that parses to the same ids; accepted version-00 headers format back to the same bytes.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_trace_ctx c;
	memset(&c, 0, sizeof(c));
	tw_tracestate_set(&c, (const char *)data, size);
	assert(c.tracestate_len <= TW_TRACESTATE_BYTES_MAX);
	if (!tw_traceparent_parse((const char *)data, size, &c))
		return 0;
	char out[TW_TRACEPARENT_LEN + 1];
	tw_traceparent_format(&c, c.parent_id, out);
	struct tw_trace_ctx back;
	memset(&back, 0, sizeof(back));
	int ok = tw_traceparent_parse(out, TW_TRACEPARENT_LEN, &back);
	assert(ok);
	assert(memcmp(back.trace_id, c.trace_id, 16) == 0);
	assert(memcmp(back.parent_id, c.parent_id, 8) == 0);
	if (size == TW_TRACEPARENT_LEN && data[0] == '0' && data[1] == '0')
		assert(memcmp(out, data, TW_TRACEPARENT_LEN) == 0);
	return 0;
}
