/*
 * met.h — counters, gauges and histograms in per-core shards, with bounded label sets and the
 * Prometheus text exposition.
 *
 * A registry owns dimensions (label names with a bounded set of values), families (a metric name,
 * its kind and its dimensions) and the cells that hold the values. Each family has one series per
 * combination of its dimensions' values, so the series count of a registry is fixed when it is
 * sealed and bounded by TW_METRIC_SERIES_MAX.
 *
 * Shards. The cells are laid out once per shard: shards 0..workers-1 belong to the worker threads,
 * and one more, the shared shard, takes every other thread. A thread binds itself to a worker
 * shard with met_shard_bind(); from then on its updates are a plain load and a relaxed atomic
 * store into memory that no other thread writes (no read-modify-write, no lock, no cache line
 * shared with another shard: shards are padded to 128 bytes, two lines, for the adjacent-line
 * prefetcher). A thread that is not bound (main thread, tests, GPU completion threads, a worker
 * bound to an index the registry does not have) updates the shared shard with relaxed
 * fetch-and-add: correct from any number of threads, just slower. A scrape sums the shards.
 *
 * Cells are 64-bit aligned atomics loaded with relaxed loads, so the scraper never sees a torn
 * value; a counter or a histogram bucket read twice never goes backwards. A histogram's _count is
 * the sum of its buckets as read by the same scrape, so _count always equals the +Inf bucket; its
 * _sum is read at a slightly different instant and may be a few observations ahead or behind, as
 * in every Prometheus client.
 *
 * Gauges come in two flavours:
 *   MET_GAUGE      an added quantity (in-flight requests, active instances): each shard holds a
 *                  signed delta, the scrape sums them. +1 on one core and -1 on another is fine.
 *   MET_GAUGE_SET  a fact with one owner (device memory used, build_info, permits available):
 *                  one process-wide cell, last write wins, any thread may set it. It is never
 *                  summed across shards, so "set" on two cores does not double it.
 * MET_COUNTER_SET is the counter equivalent of MET_GAUGE_SET, for counters read from outside the
 * program (process_cpu_seconds_total from /proc): the owner stores the current total.
 *
 * Life cycle: met_registry_new, then met_dim_new / met_dim_intern / met_family_new on one thread
 * at start-up, then met_registry_seal (allocates the cells), then updates from any thread and
 * met_expose from any thread. Dimensions created with spare capacity may intern new values after
 * sealing (tenants, blueprints); when full they answer with their overflow value ("other").
 */
#ifndef TW_METRICS_MET_H
#define TW_METRICS_MET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Label names in one dimension (a dimension whose values are tuples, e.g. route+method). */
#define MET_DIM_NAMES_MAX 5
/* Dimensions of one family. */
#define MET_FAMILY_DIMS_MAX 3
/* Finite bucket bounds of one histogram (the +Inf bucket comes on top). */
#define MET_BUCKETS_MAX 40
/* Bytes of one label value; longer values are cut. */
#define MET_VALUE_BYTES_MAX 128

/* The label value every name of a dimension's overflow slot carries. */
#define MET_OVERFLOW_VALUE "other"

struct met_registry;
struct met_dim;
struct met_family;

enum met_kind {
	MET_COUNTER,	 /* sharded, only goes up; the name ends in "_total" */
	MET_GAUGE,	 /* sharded signed deltas, summed */
	MET_GAUGE_SET,	 /* one process-wide value, last write wins (double) */
	MET_COUNTER_SET, /* one process-wide total owned outside (double); name ends in "_total" */
	MET_HISTOGRAM,	 /* sharded; integer observations (ticks), bounds in output units */
};

enum met_format {
	MET_FORMAT_TEXT,	/* Prometheus text exposition 0.0.4 */
	MET_FORMAT_OPENMETRICS, /* OpenMetrics 1.0.0 text */
};

/* ---- shards --------------------------------------------------------------------------- */

/*
 * Bind the calling thread to worker shard `index` (< TW_WORKERS_MAX) for every registry. Call it
 * once when a worker thread starts. Two threads may not hold the same index: the second gets
 * TW_ERR_EXISTS. Binding to an index a registry does not have is allowed: that registry then
 * treats the thread as unbound (shared shard).
 */
enum tw_err met_shard_bind(uint32_t index);

/* Give the calling thread's shard back (worker exit). The thread uses the shared shard after. */
void met_shard_unbind(void);

/* The calling thread's shard index, or MET_SHARD_SHARED when unbound. */
uint32_t met_shard_current(void);
#define MET_SHARD_SHARED UINT32_MAX

/* ---- registry ------------------------------------------------------------------------- */

/*
 * Create a registry with `workers` worker shards (1..TW_WORKERS_MAX) plus the shared shard, and
 * room for at most `series_max` series (label sets) across its families.
 * Returns NULL when out of memory or when an argument is out of range.
 */
struct met_registry *met_registry_new(uint32_t workers, uint32_t series_max);

/* Free the registry, its dimensions, families and cells. No thread may update it any more. */
void met_registry_free(struct met_registry *r);

/*
 * Allocate the cells of every family (zeroed). After this no dimension or family may be added.
 * Returns TW_ERR_NOMEM.
 */
enum tw_err met_registry_seal(struct met_registry *r);

/* Series (label sets) the registry's families can hold, all values of all dimensions counted. */
uint32_t met_registry_series(const struct met_registry *r);

/*
 * A hook run at the start of every exposition, before any value is read, to refresh MET_*_SET
 * families from outside sources (/proc). It may run on several threads at once.
 */
void met_registry_set_collect(struct met_registry *r, void (*collect)(void *ctx), void *ctx);

/* ---- dimensions ----------------------------------------------------------------------- */

enum met_dim_flags {
	MET_DIM_OVERFLOW = 1u << 0, /* reserve one more value, all labels "other", used when full */
	MET_DIM_SEED_ALL = 1u << 1, /* every value is a seed (see met_family_spec.sparse) */
};

/*
 * A dimension: `nnames` label names (copied) and room for `cap` values (each a tuple of nnames
 * strings), plus the overflow value when MET_DIM_OVERFLOW is set. Start-up only.
 * Returns NULL when out of memory; bad names or counts are the program's mistakes (asserted).
 */
struct met_dim *met_dim_new(struct met_registry *r, const char *const *names, uint32_t nnames,
			    uint32_t cap, unsigned flags);

/*
 * The index of the value `values` (nnames strings), adding it when new. Any thread, any time;
 * a known value costs a scan of the published values (no lock), a new one takes the dimension's
 * mutex. When the dimension is full the answer is the overflow index, or UINT32_MAX when the
 * dimension has no overflow. A value equal to the overflow value maps to the overflow index so
 * that no series is ever exposed twice. Bytes that are not printable ASCII are stored as '?'
 * (label values must be valid UTF-8); values are cut at MET_VALUE_BYTES_MAX - 1 bytes.
 * Callers on a hot path keep the index instead of interning each time.
 */
uint32_t met_dim_intern(struct met_dim *d, const char *const *values);

/* Same for a one-name dimension whose value is a number (tenant ids): the label is its decimal. */
uint32_t met_dim_intern_u64(struct met_dim *d, uint64_t key);

/* Mark value `index` as a seed or not (see met_family_spec.sparse). */
void met_dim_set_seed(struct met_dim *d, uint32_t index, bool seed);

/* Values the dimension can index (cap, plus one for the overflow value). */
uint32_t met_dim_size(const struct met_dim *d);

/* The overflow index, or UINT32_MAX when the dimension has none. */
uint32_t met_dim_overflow(const struct met_dim *d);

/* ---- families ------------------------------------------------------------------------- */

struct met_family_spec {
	const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in "_total" */
	const char *help; /* one line; backslashes and newlines are escaped on output */
	const char *unit; /* NULL, or the unit the name ends with ("seconds", "bytes") */
	enum met_kind kind;
	struct met_dim *dims[MET_FAMILY_DIMS_MAX]; /* borrowed; owned by the same registry */
	uint32_t ndims;
	/*
	 * Sparse families expose a series only once it has a non-zero value, or when every one of
	 * its dimension values is a seed (so a family is present, at zero, before any traffic).
	 * Dense families expose every series whose values exist.
	 */
	bool sparse;
	/* Histograms: strictly increasing finite upper bounds in output units, and how many
	 * observation ticks make one output unit (1e9 for nanoseconds observed, seconds exposed);
	 * must be a power of ten so that _sum is printed exactly. */
	const double *bounds;
	uint32_t nbounds;
	uint64_t ticks_per_unit;
};

/*
 * Add a family (start-up, before met_registry_seal). Its series are the combinations of its
 * dimensions' values, the first dimension varying slowest. Returns TW_ERR_OK and *out, or
 * TW_ERR_FULL when the registry's series_max would be exceeded, or TW_ERR_NOMEM. An invalid spec
 * (name, unit, bounds) is the program's mistake and asserted.
 */
enum tw_err met_family_new(struct met_registry *r, const struct met_family_spec *spec,
			   struct met_family **out);

/* The series index of dimension value indexes idx[0..ndims). Out-of-range indexes are asserted. */
uint32_t met_series(const struct met_family *f, const uint32_t *idx);

/* ---- updates (any thread after seal; cheap on a bound worker thread) ------------------ */

void met_counter_add(const struct met_family *f, uint32_t series, uint64_t n);
void met_gauge_add(const struct met_family *f, uint32_t series, int64_t delta);
void met_gauge_set(const struct met_family *f, uint32_t series, double value);
void met_counter_set(const struct met_family *f, uint32_t series, double total);
void met_histogram_observe(const struct met_family *f, uint32_t series, uint64_t ticks);

/* ---- reads (any thread; for tests and for programs that want numbers, not text) -------- */

/* Counter or added gauge: the sum over shards (a gauge's as int64 cast to uint64). */
uint64_t met_read_u64(const struct met_family *f, uint32_t series);
/* Set gauge or set counter: the value last stored. */
double met_read_double(const struct met_family *f, uint32_t series);

struct met_histogram_read {
	uint64_t buckets[MET_BUCKETS_MAX + 1]; /* cumulative; [nbounds] is +Inf */
	uint64_t count;			       /* == buckets[nbounds] */
	uint64_t sum_ticks;
	uint32_t nbounds;
};
void met_read_histogram(const struct met_family *f, uint32_t series,
			struct met_histogram_read *out);

/* ---- exposition ----------------------------------------------------------------------- */

/* A growable output buffer; zero-initialise it, reuse it across scrapes, free it at the end. */
struct met_buf {
	char *data; /* owned; NUL-terminated after a successful met_expose */
	size_t len;
	size_t cap;
};
void met_buf_free(struct met_buf *b);

/*
 * Write every family of `r` in `fmt` into `out` (replacing what it held). Any thread, any time
 * after seal, concurrently with updates and with other expositions. Families appear in the order
 * they were added, each with HELP and TYPE (and UNIT in OpenMetrics), series in index order; no
 * label set appears twice. Returns TW_ERR_NOMEM when the buffer cannot grow (out keeps its
 * memory, its content is undefined).
 */
enum tw_err met_expose(struct met_registry *r, enum met_format fmt, struct met_buf *out);

/* The Content-Type header value for `fmt`. */
const char *met_content_type(enum met_format fmt);

/*
 * Choose a format from an HTTP Accept header value (NULL or empty: text). OpenMetrics is chosen
 * when the client lists application/openmetrics-text (version 1.0.0 or no version) with a quality
 * at least as high as anything that would give the text format.
 */
enum met_format met_format_from_accept(const char *accept);

/*
 * Format `v` the way Prometheus parses it back to the same double: shortest round-trip decimal,
 * "+Inf", "-Inf", "NaN". Writes at most 32 bytes including the NUL; returns the length.
 */
size_t met_format_double(double v, char *buf, size_t cap);

#endif
