/*
 * met.c — registry, dimensions, families, shard binding, updates and reads; see met.h.
 *
 * Everything here but the update and read functions runs at start-up on one thread; interning a
 * new dimension value may happen later from any thread and takes that dimension's mutex.
 */
#include "metrics/met_int.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"

_Thread_local uint32_t met_tls_shard = MET_SHARD_SHARED;

/* Which worker shard indexes are held by a thread: catches two workers sharing a shard, which
 * would lose updates silently. */
static _Atomic bool shard_owned[TW_WORKERS_MAX];

enum tw_err met_shard_bind(uint32_t index)
{
	assert(index < TW_WORKERS_MAX);
	if (met_tls_shard == index)
		return TW_ERR_OK;
	if (atomic_exchange(&shard_owned[index], true))
		return TW_ERR_EXISTS;
	met_shard_unbind();
	met_tls_shard = index;
	return TW_ERR_OK;
}

void met_shard_unbind(void)
{
	if (met_tls_shard == MET_SHARD_SHARED)
		return;
	atomic_store(&shard_owned[met_tls_shard], false);
	met_tls_shard = MET_SHARD_SHARED;
}

uint32_t met_shard_current(void)
{
	return met_tls_shard;
}

/* ---- registry ------------------------------------------------------------------------- */

struct met_registry *met_registry_new(uint32_t workers, uint32_t series_max)
{
	if (workers < 1 || workers > TW_WORKERS_MAX || series_max < 1)
		return NULL;
	struct met_registry *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->workers = workers;
	r->series_max = series_max;
	r->families_tail = &r->families;
	return r;
}

static void dim_free(struct met_dim *d)
{
	uint32_t n = d->cap + ((d->flags & MET_DIM_OVERFLOW) ? 1 : 0);
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < d->nnames; j++)
			free(d->values[i].v[j]);
	for (uint32_t j = 0; j < d->nnames; j++)
		free(d->names[j]);
	free(d->values);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static void family_free(struct met_family *f)
{
	free(f->name);
	free(f->help);
	free(f->unit);
	free(f);
}

void met_registry_free(struct met_registry *r)
{
	if (!r)
		return;
	for (struct met_family *f = r->families, *next; f; f = next) {
		next = f->next;
		family_free(f);
	}
	for (struct met_dim *d = r->dims, *next; d; d = next) {
		next = d->next;
		dim_free(d);
	}
	free(r->cells);
	free(r);
}

enum tw_err met_registry_seal(struct met_registry *r)
{
	assert(!r->sealed);
	/* 16 cells = 128 bytes: shards never share a cache line nor an adjacent-line pair. */
	r->stride = (r->ncells + 15) & ~(size_t)15;
	if (r->stride == 0)
		r->stride = 16;
	size_t bytes = (size_t)(r->workers + 1) * r->stride * sizeof(uint64_t);
	r->cells = aligned_alloc(128, bytes);
	if (!r->cells)
		return TW_ERR_NOMEM;
	memset((void *)r->cells, 0, bytes);
	r->sealed = true;
	return TW_ERR_OK;
}

uint32_t met_registry_series(const struct met_registry *r)
{
	return r->nseries;
}

void met_registry_set_collect(struct met_registry *r, void (*collect)(void *ctx), void *ctx)
{
	r->collect = collect;
	r->collect_ctx = ctx;
}

/* ---- dimensions ----------------------------------------------------------------------- */

static bool valid_label_name(const char *s)
{
	if (!s || !*s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	if (strlen(s) > 63)
		return false; /* the exposition's label buffer counts on it */
	if (s[0] == '_' && s[1] == '_')
		return false; /* reserved for Prometheus itself */
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return strcmp(s, "le") != 0; /* the histogram bucket label */
}

/* A copy of `s` with what a label value may not hold replaced, cut to the value bound. */
static char *sanitize(const char *s)
{
	size_t n = strnlen(s, MET_VALUE_BYTES_MAX - 1);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c == '\n' || (c >= 0x20 && c < 0x7f)) ? (char)c : '?';
	}
	out[n] = 0;
	return out;
}

struct met_dim *met_dim_new(struct met_registry *r, const char *const *names, uint32_t nnames,
			    uint32_t cap, unsigned flags)
{
	assert(!r->sealed);
	assert(nnames >= 1 && nnames <= MET_DIM_NAMES_MAX);
	assert(cap >= 1 || (flags & MET_DIM_OVERFLOW));
	struct met_dim *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	uint32_t slots = cap + ((flags & MET_DIM_OVERFLOW) ? 1 : 0);
	d->values = calloc(slots, sizeof(*d->values));
	if (!d->values)
		goto out_free_dim;
	pthread_mutex_init(&d->lock, NULL);
	d->reg = r;
	d->nnames = nnames;
	d->cap = cap;
	d->flags = flags;
	for (uint32_t j = 0; j < nnames; j++) {
		assert(valid_label_name(names[j]));
		d->names[j] = strdup(names[j]);
		if (!d->names[j])
			goto out_free_names;
	}
	if (flags & MET_DIM_OVERFLOW) {
		struct met_dim_value *o = &d->values[cap];
		for (uint32_t j = 0; j < nnames; j++) {
			o->v[j] = strdup(MET_OVERFLOW_VALUE);
			if (!o->v[j])
				goto out_free_names;
		}
		atomic_init(&o->seed, (flags & MET_DIM_SEED_ALL) != 0);
	}
	d->next = r->dims;
	r->dims = d;
	return d;

out_free_names:
	dim_free(d); /* frees what was set, the values array and the mutex */
	return NULL;
out_free_dim:
	free(d);
	return NULL;
}

static uint64_t values_key(const struct met_dim *d, char *const *v)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a: a filter only, strings are compared too */
	for (uint32_t j = 0; j < d->nnames; j++) {
		for (const char *p = v[j]; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
		h = (h ^ 0xff) * 0x100000001b3ull;
	}
	return h;
}

static bool values_equal(const struct met_dim *d, char *const *a, char *const *b)
{
	for (uint32_t j = 0; j < d->nnames; j++)
		if (strcmp(a[j], b[j]) != 0)
			return false;
	return true;
}

static uint32_t dim_find(const struct met_dim *d, uint32_t n, uint64_t key, char *const *v)
{
	for (uint32_t i = 0; i < n; i++)
		if (d->values[i].key == key && (!v || values_equal(d, d->values[i].v, v)))
			return i;
	return UINT32_MAX;
}

/* Find or add; `v` holds sanitised copies (ownership passes to the dimension when added, else
 * they are freed). `numeric` values compare by key alone. */
static uint32_t dim_intern(struct met_dim *d, uint64_t key, char **v, bool numeric)
{
	uint32_t found, n = atomic_load_explicit(&d->count, memory_order_acquire);
	char *const *cmp = numeric ? NULL : v;
	if ((found = dim_find(d, n, key, cmp)) != UINT32_MAX)
		goto out_free_v;
	pthread_mutex_lock(&d->lock);
	n = atomic_load_explicit(&d->count, memory_order_relaxed);
	if ((found = dim_find(d, n, key, cmp)) != UINT32_MAX)
		goto out_unlock;
	if (n == d->cap) {
		found = (d->flags & MET_DIM_OVERFLOW) ? d->cap : UINT32_MAX;
		goto out_unlock;
	}
	struct met_dim_value *slot = &d->values[n];
	for (uint32_t j = 0; j < d->nnames; j++) {
		slot->v[j] = v[j];
		v[j] = NULL;
	}
	slot->key = key;
	atomic_store_explicit(&slot->seed, (d->flags & MET_DIM_SEED_ALL) != 0,
			      memory_order_relaxed);
	/* Release: a reader that sees the new count sees the slot's strings and key. */
	atomic_store_explicit(&d->count, n + 1, memory_order_release);
	found = n;
out_unlock:
	pthread_mutex_unlock(&d->lock);
out_free_v:
	for (uint32_t j = 0; j < d->nnames; j++)
		free(v[j]);
	return found;
}

uint32_t met_dim_intern(struct met_dim *d, const char *const *values)
{
	char *v[MET_DIM_NAMES_MAX] = {0};
	bool all_overflow = true;
	uint32_t out = UINT32_MAX;
	for (uint32_t j = 0; j < d->nnames; j++) {
		v[j] = sanitize(values[j]);
		if (!v[j])
			goto out_free;
		all_overflow = all_overflow && strcmp(v[j], MET_OVERFLOW_VALUE) == 0;
	}
	if (all_overflow && (d->flags & MET_DIM_OVERFLOW)) {
		out = d->cap;
		goto out_free;
	}
	return dim_intern(d, values_key(d, v), v, false);
out_free:
	for (uint32_t j = 0; j < d->nnames; j++)
		free(v[j]);
	/* Out of memory: count it in the overflow slot rather than lose it. */
	if (out == UINT32_MAX && (d->flags & MET_DIM_OVERFLOW))
		out = d->cap;
	return out;
}

uint32_t met_dim_intern_u64(struct met_dim *d, uint64_t key)
{
	assert(d->nnames == 1);
	char buf[24];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)key);
	char *v[MET_DIM_NAMES_MAX] = {strdup(buf)};
	if (!v[0])
		return (d->flags & MET_DIM_OVERFLOW) ? d->cap : UINT32_MAX;
	return dim_intern(d, key, v, true);
}

void met_dim_set_seed(struct met_dim *d, uint32_t index, bool seed)
{
	assert(index < met_dim_size(d));
	atomic_store_explicit(&d->values[index].seed, seed, memory_order_relaxed);
}

uint32_t met_dim_size(const struct met_dim *d)
{
	return d->cap + ((d->flags & MET_DIM_OVERFLOW) ? 1 : 0);
}

uint32_t met_dim_overflow(const struct met_dim *d)
{
	return (d->flags & MET_DIM_OVERFLOW) ? d->cap : UINT32_MAX;
}

/* ---- families ------------------------------------------------------------------------- */

static bool valid_metric_name(const char *s)
{
	if (!s || !*s ||
	    !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == ':'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The unit must end the family name (OpenMetrics), before "_total" for counters. */
static bool unit_matches(const char *name, const char *unit, bool counter)
{
	char tail[64];
	snprintf(tail, sizeof(tail), "_%s%s", unit, counter ? "_total" : "");
	return ends_with(name, tail);
}

static void histogram_setup(struct met_family *f, const struct met_family_spec *s)
{
	assert(s->nbounds >= 1 && s->nbounds <= MET_BUCKETS_MAX && s->bounds);
	assert(s->ticks_per_unit >= 1);
	uint64_t t = s->ticks_per_unit;
	f->ticks_per_unit = t;
	while (t > 1) {
		assert(t % 10 == 0);
		t /= 10;
		f->tpu_digits++;
	}
	f->nbounds = s->nbounds;
	for (uint32_t i = 0; i < s->nbounds; i++) {
		double b = s->bounds[i] * (double)s->ticks_per_unit;
		assert(isfinite(b) && b >= 1 && b < 1.8e19);
		f->bound_ticks[i] = (uint64_t)llround(b);
		assert(i == 0 || f->bound_ticks[i] > f->bound_ticks[i - 1]);
		met_format_double(s->bounds[i], f->le[i], sizeof(f->le[i]));
	}
	f->bound_ticks[s->nbounds] = UINT64_MAX;
	for (uint32_t k = 0; k < 64; k++) {
		uint64_t lo = 1ull << k;
		uint32_t b = 0;
		while (b < s->nbounds && f->bound_ticks[b] < lo)
			b++;
		f->first_bucket[k] = (uint8_t)b;
		uint32_t in_range = 0;
		while (b + in_range < s->nbounds &&
		       (k == 63 || f->bound_ticks[b + in_range] < (2ull << k)))
			in_range++;
		if (in_range > f->steps)
			f->steps = in_range;
	}
}

enum tw_err met_family_new(struct met_registry *r, const struct met_family_spec *s,
			   struct met_family **out)
{
	assert(!r->sealed);
	assert(valid_metric_name(s->name) && s->help);
	assert(s->ndims <= MET_FAMILY_DIMS_MAX);
	bool counter = s->kind == MET_COUNTER || s->kind == MET_COUNTER_SET;
	assert(!counter || ends_with(s->name, "_total"));
	assert(counter || !ends_with(s->name, "_total"));
	assert(!s->unit || unit_matches(s->name, s->unit, counter));
	uint64_t nseries = 1;
	for (uint32_t i = 0; i < s->ndims; i++) {
		assert(s->dims[i] && s->dims[i]->reg == r);
		nseries *= met_dim_size(s->dims[i]);
	}
	if (nseries > r->series_max - r->nseries)
		return TW_ERR_FULL;
	struct met_family *f = calloc(1, sizeof(*f));
	if (!f)
		return TW_ERR_NOMEM;
	f->reg = r;
	f->name = strdup(s->name);
	f->help = strdup(s->help);
	f->unit = s->unit ? strdup(s->unit) : NULL;
	if (!f->name || !f->help || (s->unit && !f->unit)) {
		family_free(f);
		return TW_ERR_NOMEM;
	}
	f->kind = s->kind;
	f->sparse = s->sparse;
	f->ndims = s->ndims;
	for (uint32_t i = 0; i < s->ndims; i++) {
		f->dims[i] = s->dims[i];
		f->radix[i] = met_dim_size(s->dims[i]);
	}
	f->nseries = (uint32_t)nseries;
	f->cells_per_series = 1;
	if (s->kind == MET_HISTOGRAM) {
		histogram_setup(f, s);
		f->cells_per_series = f->nbounds + 2;
	}
	f->base = r->ncells;
	r->ncells += (size_t)f->nseries * f->cells_per_series;
	r->nseries += f->nseries;
	*r->families_tail = f;
	r->families_tail = &f->next;
	*out = f;
	return TW_ERR_OK;
}

uint32_t met_series(const struct met_family *f, const uint32_t *idx)
{
	uint32_t s = 0;
	for (uint32_t i = 0; i < f->ndims; i++) {
		assert(idx[i] < f->radix[i]);
		s = s * f->radix[i] + idx[i];
	}
	return s;
}

/* ---- updates -------------------------------------------------------------------------- */

void met_counter_add(const struct met_family *f, uint32_t series, uint64_t n)
{
	met_counter_add_(f, series, n);
}

void met_gauge_add(const struct met_family *f, uint32_t series, int64_t delta)
{
	/* Two's complement: the sum over shards wraps back to the signed total. */
	met_counter_add_(f, series, (uint64_t)delta);
}

static void set_double(const struct met_family *f, uint32_t series, double v)
{
	const struct met_registry *r = f->reg;
	_Atomic uint64_t *c = r->cells + (size_t)r->workers * r->stride + f->base + series;
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	atomic_store_explicit(c, bits, memory_order_relaxed);
}

void met_gauge_set(const struct met_family *f, uint32_t series, double value)
{
	assert(f->kind == MET_GAUGE_SET && series < f->nseries);
	set_double(f, series, value);
}

void met_counter_set(const struct met_family *f, uint32_t series, double total)
{
	assert(f->kind == MET_COUNTER_SET && series < f->nseries);
	set_double(f, series, total);
}

void met_histogram_observe(const struct met_family *f, uint32_t series, uint64_t ticks)
{
	met_histogram_observe_(f, series, ticks);
}

/* ---- reads ---------------------------------------------------------------------------- */

uint64_t met_read_u64(const struct met_family *f, uint32_t series)
{
	const struct met_registry *r = f->reg;
	const _Atomic uint64_t *c = r->cells + f->base + (size_t)series * f->cells_per_series;
	uint64_t sum = 0;
	for (uint32_t s = 0; s <= r->workers; s++, c += r->stride)
		sum += atomic_load_explicit(c, memory_order_relaxed);
	return sum;
}

double met_read_double(const struct met_family *f, uint32_t series)
{
	const struct met_registry *r = f->reg;
	const _Atomic uint64_t *c = r->cells + (size_t)r->workers * r->stride + f->base + series;
	uint64_t bits = atomic_load_explicit(c, memory_order_relaxed);
	double v;
	memcpy(&v, &bits, sizeof(v));
	return v;
}

void met_read_histogram(const struct met_family *f, uint32_t series, struct met_histogram_read *out)
{
	const struct met_registry *r = f->reg;
	const _Atomic uint64_t *c = r->cells + f->base + (size_t)series * f->cells_per_series;
	uint32_t nb = f->nbounds;
	memset(out, 0, sizeof(*out));
	out->nbounds = nb;
	for (uint32_t s = 0; s <= r->workers; s++, c += r->stride) {
		for (uint32_t b = 0; b <= nb; b++)
			out->buckets[b] += atomic_load_explicit(&c[b], memory_order_relaxed);
		out->sum_ticks += atomic_load_explicit(&c[nb + 1], memory_order_relaxed);
	}
	for (uint32_t b = 1; b <= nb; b++)
		out->buckets[b] += out->buckets[b - 1];
	out->count = out->buckets[nb];
}
