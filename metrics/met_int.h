/*
 * met_int.h — the metrics library's private structures, shared by met.c (registry, updates),
 * met_expose.c (exposition) and met_tw.c (TensorWasm's families, whose typed update functions
 * inline the hot path below). Nothing outside metrics/ includes this file.
 *
 * Cell layout: the registry holds (workers + 1) shards of `stride` 64-bit cells each; shard
 * `workers` is the shared shard. A family owns cells [base, base + nseries * cells_per_series) of
 * every shard. Per series: counter and gauge 1 cell; set gauge/counter 1 cell, used only in the
 * shared shard (a double's bits); histogram nbounds + 1 bucket cells (not cumulative; the last is
 * +Inf) and then the sum of the observed ticks.
 */
#ifndef TW_METRICS_MET_INT_H
#define TW_METRICS_MET_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "metrics/met.h"

struct met_dim_value {
	char *v[MET_DIM_NAMES_MAX]; /* owned, sanitised */
	uint64_t key;		    /* hash of the strings, or the number for intern_u64 */
	_Atomic bool seed;
};

struct met_dim {
	struct met_registry *reg;
	struct met_dim *next; /* registry's list */
	char *names[MET_DIM_NAMES_MAX];
	uint32_t nnames;
	uint32_t cap; /* regular values; the overflow value, if any, sits at index cap */
	unsigned flags;
	_Atomic uint32_t count;	      /* published regular values; written under lock, release */
	struct met_dim_value *values; /* cap (+1) slots */
	pthread_mutex_t lock;	      /* serialises interning of new values */
};

struct met_family {
	struct met_registry *reg;
	struct met_family *next; /* registry's list, in the order added */
	char *name;		 /* as exposed in 0.0.4; counters end in "_total" */
	char *help;
	char *unit; /* or NULL */
	enum met_kind kind;
	bool sparse;
	uint32_t ndims;
	struct met_dim *dims[MET_FAMILY_DIMS_MAX];
	uint32_t radix[MET_FAMILY_DIMS_MAX]; /* met_dim_size of each dimension */
	uint32_t nseries;
	uint32_t cells_per_series;
	size_t base; /* first cell in every shard */
	/* histograms */
	uint32_t nbounds;
	uint32_t tpu_digits; /* log10(ticks_per_unit) */
	uint64_t ticks_per_unit;
	uint64_t bound_ticks[MET_BUCKETS_MAX + 1]; /* [nbounds] = UINT64_MAX, the search sentinel */
	uint8_t first_bucket[64]; /* first bucket whose bound is >= 2^k: where a search starts */
	uint32_t steps;		  /* most bounds in one range [2^k, 2^(k+1)) */
	char le[MET_BUCKETS_MAX][32];
};

struct met_registry {
	_Atomic uint64_t *cells; /* (workers + 1) * stride, 128-byte aligned, owned */
	size_t stride;		 /* cells per shard, a multiple of 16 (128 bytes) */
	size_t ncells;		 /* cells per shard actually used */
	uint32_t workers;
	uint32_t series_max;
	uint32_t nseries;
	bool sealed;
	struct met_family *families, **families_tail;
	struct met_dim *dims;
	void (*collect)(void *ctx);
	void *collect_ctx;
};

/* The calling thread's worker shard, or MET_SHARD_SHARED. */
extern _Thread_local uint32_t met_tls_shard;

/*
 * The cells of one series in the caller's shard. *shared tells whether other threads may write
 * the same cells (so updates need fetch-and-add).
 */
static inline _Atomic uint64_t *met_cells_(const struct met_family *f, uint32_t series,
					   bool *shared)
{
	const struct met_registry *r = f->reg;
	uint32_t s = met_tls_shard;
	*shared = s >= r->workers;
	if (*shared)
		s = r->workers;
	return r->cells + (size_t)s * r->stride + f->base + (size_t)series * f->cells_per_series;
}

static inline void met_cell_add_(_Atomic uint64_t *c, uint64_t n, bool shared)
{
	if (shared) {
		atomic_fetch_add_explicit(c, n, memory_order_relaxed);
	} else {
		/* Only this thread writes this cell: load, add, store is enough, and the relaxed
		 * store is one aligned 64-bit move, so a concurrent scraper sees old or new. */
		uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
		atomic_store_explicit(c, v + n, memory_order_relaxed);
	}
}

static inline void met_counter_add_(const struct met_family *f, uint32_t series, uint64_t n)
{
	bool shared;
	_Atomic uint64_t *c = met_cells_(f, series, &shared);
	met_cell_add_(c, n, shared);
}

static inline uint32_t met_bucket_(const struct met_family *f, uint64_t ticks)
{
	uint32_t b = f->first_bucket[63 - __builtin_clzll(ticks | 1)];
	/* The answer is at most `steps` (the most bounds inside one power-of-two range, 1 for
	 * the usual 1-2.5-5 ladders) past the start. A fixed count of compare-and-add steps has no
	 * data-dependent branch to mispredict; the UINT64_MAX sentinel keeps b <= nbounds. */
	for (uint32_t i = 0; i < f->steps; i++)
		b += ticks > f->bound_ticks[b];
	return b;
}

static inline void met_histogram_observe_(const struct met_family *f, uint32_t series,
					  uint64_t ticks)
{
	bool shared;
	_Atomic uint64_t *c = met_cells_(f, series, &shared);
	met_cell_add_(c + met_bucket_(f, ticks), 1, shared);
	met_cell_add_(c + f->nbounds + 1, ticks, shared);
}

/* Whether dimension value `i` exists (published, or the overflow slot). */
static inline bool met_dim_has_(const struct met_dim *d, uint32_t i)
{
	if (i < atomic_load_explicit(&d->count, memory_order_acquire))
		return true;
	return (d->flags & MET_DIM_OVERFLOW) && i == d->cap;
}

#endif
