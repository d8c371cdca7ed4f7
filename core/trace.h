/*
 * trace.h — W3C Trace Context: parsing and producing `traceparent`, carrying `tracestate`, and
 * fresh trace and span ids.
 *
 * Parsing is strict (https://www.w3.org/TR/trace-context/): version 00 is exactly 55 characters
 * "00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>", lower-case hex only, ids not all
 * zero, version "ff" invalid; a higher version is parsed by its first four fields when the
 * character after them is '-' or the end. Anything else is rejected and the caller starts a
 * fresh root trace.
 *
 * Ids come from a per-thread generator seeded with getrandom(2): no lock, no system call per id.
 */
#ifndef TW_CORE_TRACE_H
#define TW_CORE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef TW_TRACESTATE_BYTES_MAX
#define TW_TRACESTATE_BYTES_MAX 512 /* what the W3C spec asks vendors to propagate at least */
#endif

#define TW_TRACEPARENT_LEN 55
#define TW_TRACE_FLAG_SAMPLED 0x01

struct tw_trace_ctx {
	uint8_t trace_id[16];
	uint8_t parent_id[8]; /* the caller's span, or all zero for a root */
	uint8_t flags;
	bool remote;          /* trace_id and parent_id came from a valid traceparent */
	uint16_t tracestate_len;
	char tracestate[TW_TRACESTATE_BYTES_MAX];
};

/* Parse a traceparent header value of `n` bytes. False (and *out untouched) when malformed. */
bool tw_traceparent_parse(const char *s, size_t n, struct tw_trace_ctx *out);

/* Write "00-<trace>-<span>-<flags>" (55 chars + NUL) for a span `span_id` of `ctx`'s trace. */
void tw_traceparent_format(const struct tw_trace_ctx *ctx, const uint8_t span_id[8],
			   char out[TW_TRACEPARENT_LEN + 1]);

/* Remember a tracestate value to pass on unchanged. A value over the bound, or with bytes
 * outside printable ASCII, is dropped (false) rather than truncated into something else. */
bool tw_tracestate_set(struct tw_trace_ctx *ctx, const char *s, size_t n);

/* Start a fresh root: new random trace id, no parent, sampled flag as given. */
void tw_trace_new_root(struct tw_trace_ctx *ctx, bool sampled);

/* A new non-zero random span id / trace id. */
void tw_trace_new_span_id(uint8_t out[8]);
void tw_trace_new_trace_id(uint8_t out[16]);

/* Lower-case hex of `n` bytes into `out` (2n + 1 bytes). */
void tw_hex_encode(const uint8_t *in, size_t n, char *out);

#endif
