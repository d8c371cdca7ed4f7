/*
 * span.h — recording spans without locks or allocation on the request path, and exporting them.
 *
 * Each thread that records spans owns a single-producer ring of finished spans, taken on its
 * first span (one allocation per thread, at start-up in practice) and registered in a fixed
 * table. One exporter thread drains every ring (every 2 ms while there is work, every 200 ms
 * when idle), batches spans and sends them as OTLP/HTTP with the protobuf-JSON encoding
 * (POST <endpoint>/v1/traces) over one kept-alive connection. A full ring or a batch the
 * collector refuses drops spans and counts them by reason (tw_spans_stats, exposed as
 * tensor_wasm_trace_spans_dropped_total{reason}); a worker never waits for the exporter.
 *
 * Span names and their attributes are a public contract (docs/OBSERVABILITY.md). A required
 * attribute whose value is unknown is recorded as "unknown", never left out.
 *
 * Configuration (read by tw_spans_start_from_env): TENSOR_WASM_OTLP_ENDPOINT, else
 * OTEL_EXPORTER_OTLP_ENDPOINT (http://host:port[/base]; https is not supported);
 * OTEL_SERVICE_NAME (default "tensor-wasm"); TENSOR_WASM_TRACE_SAMPLE_RATIO (0..1, default 1)
 * for new root traces — a caller's sampled flag is followed as it is.
 */
#ifndef TW_CORE_SPAN_H
#define TW_CORE_SPAN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/trace.h"

#ifndef TW_SPAN_ATTRS_MAX
#define TW_SPAN_ATTRS_MAX 8 /* the widest span of the schema has 5 required attributes */
#endif
#ifndef TW_SPAN_STR_BYTES
#define TW_SPAN_STR_BYTES 64 /* attribute strings are ids, names, routes: cut beyond this */
#endif
#ifndef TW_SPAN_RING_SLOTS
#define TW_SPAN_RING_SLOTS 4096 /* per thread, a power of two; ~2.8 MiB; 40 ms of a busy worker */
#endif
#ifndef TW_SPAN_THREADS_MAX
#define TW_SPAN_THREADS_MAX 512 /* workers plus helper threads */
#endif
#ifndef TW_SPAN_BATCH_MAX
#define TW_SPAN_BATCH_MAX 512 /* spans per OTLP request */
#endif

enum tw_span_kind {
	TW_SPAN_INTERNAL = 1,
	TW_SPAN_SERVER = 2,
	TW_SPAN_CLIENT = 3,
};

enum tw_attr_type { TW_ATTR_STR = 1, TW_ATTR_INT };

struct tw_span_attr {
	const char *key; /* static storage */
	enum tw_attr_type type;
	union {
		int64_t i;
		char s[TW_SPAN_STR_BYTES];
	};
};

struct tw_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* all zero for a root */
	const char *name;     /* static storage */
	enum tw_span_kind kind;
	bool error;
	bool sampled;
	uint8_t nattrs;
	uint64_t start_unix_ns;
	uint64_t end_unix_ns;
	struct tw_span_attr attrs[TW_SPAN_ATTRS_MAX];
};

/* Begin a span as a child of `parent` (a span, or NULL for the request's trace context `ctx`):
 * fills ids, name, kind and start time. `ctx` gives the trace id and the remote parent. */
void tw_span_begin(struct tw_span *sp, const char *name, enum tw_span_kind kind,
		   const struct tw_trace_ctx *ctx, const struct tw_span *parent);

/* Attributes beyond TW_SPAN_ATTRS_MAX are ignored; strings are cut at TW_SPAN_STR_BYTES - 1.
 * A NULL string is recorded as "unknown". */
void tw_span_str(struct tw_span *sp, const char *key, const char *value);
void tw_span_strn(struct tw_span *sp, const char *key, const char *value, size_t n);
void tw_span_int(struct tw_span *sp, const char *key, int64_t value);

/* Stamp the end time and hand the span to this thread's ring (dropped if unsampled, if no
 * exporter runs, or if the ring is full). Never blocks. */
void tw_span_end(struct tw_span *sp);

/* The same with an end time measured earlier (tw_wall_ns clock), for a span recorded after the
 * fact; the caller may also set sp->start_unix_ns after tw_span_begin. */
void tw_span_end_at(struct tw_span *sp, uint64_t end_unix_ns);

/*
 * The calling thread's current span: the one code deeper in the call stack (host functions
 * called by a guest) should parent its spans on, NULL when none. The code that runs a guest sets
 * it around each slice with tw_span_set_current() (which returns the previous value, to restore)
 * and clears it before the span ends; the span must outlive the setting. Thread-local, no lock.
 */
const struct tw_span *tw_span_current(void);
const struct tw_span *tw_span_set_current(const struct tw_span *sp);

/* Sampling decision for a new root trace (the configured ratio). */
bool tw_trace_sample_root(void);

struct tw_span_stats {
	uint64_t recorded; /* handed to a ring */
	uint64_t dropped;  /* the sum of the three reasons below */
	uint64_t dropped_ring_full;     /* the recording thread's ring was full (or unavailable) */
	uint64_t dropped_export_failed; /* the collector did not accept a batch after the retries */
	uint64_t dropped_out_of_memory; /* a batch could not be encoded */
	uint64_t exported; /* accepted by the collector */
	uint64_t batches_failed;
};

/* Start the exporter thread for `endpoint` (NULL or "" = no export: spans are not kept, trace
 * context still propagates). */
enum tw_err tw_spans_start(const char *endpoint, const char *service_name, double sample_ratio);

/* The same, configured from the environment (see the header comment). Logs the choice. */
enum tw_err tw_spans_start_from_env(void);

/* Export what is buffered, then stop the exporter thread. Safe to call when not started. */
void tw_spans_stop(void);

/* Push out everything recorded so far and wait (bounded by timeout_ms) until it was sent or
 * given up. For tests and shutdown. Returns true when the rings were emptied in time. */
bool tw_spans_flush(uint32_t timeout_ms);

void tw_spans_stats(struct tw_span_stats *out);

#endif
