/*
 * met_expose.c — the Prometheus text (0.0.4) and OpenMetrics (1.0.0) expositions; see met.h.
 *
 * One pass over the families in the order they were added. For each series the labels are
 * written once into a small buffer and reused for every line of that series (histograms write
 * nbounds + 3 lines). Integers are printed with a hand-rolled converter and histogram sums as
 * exact decimals (ticks / 10^k), so a scrape does no floating-point formatting except for the
 * few set gauges. Expected load: one scrape every few seconds; 1,000 series well under 1 ms.
 */
#include "metrics/met_int.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Labels of one series, escaped: every name (at most 63 bytes) and value (MET_VALUE_BYTES_MAX,
 * doubled by escaping) of every dimension, with quotes and separators. */
#define LABELS_BYTES_MAX \
	(MET_FAMILY_DIMS_MAX * MET_DIM_NAMES_MAX * (64 + 2 * MET_VALUE_BYTES_MAX + 4))

struct writer {
	struct met_buf *b;
	bool failed;
	bool om;
};

void met_buf_free(struct met_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static bool grow(struct writer *w, size_t more)
{
	struct met_buf *b = w->b;
	if (w->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 16384;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		w->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

static void put(struct writer *w, const char *s, size_t n)
{
	if (!grow(w, n))
		return;
	memcpy(w->b->data + w->b->len, s, n);
	w->b->len += n;
}

static void puts_(struct writer *w, const char *s)
{
	put(w, s, strlen(s));
}

static size_t u64_str(uint64_t v, char *out)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
	return n;
}

static void put_u64(struct writer *w, uint64_t v)
{
	char buf[24];
	put(w, buf, u64_str(v, buf));
}

static void put_i64(struct writer *w, int64_t v)
{
	if (v < 0) {
		put(w, "-", 1);
		put_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(w, (uint64_t)v);
	}
}

/* ticks / 10^digits, exactly, without trailing zeros ("1.5", "0.000001", "12"). */
static void put_scaled(struct writer *w, uint64_t ticks, uint64_t tpu, uint32_t digits)
{
	put_u64(w, ticks / tpu);
	uint64_t frac = ticks % tpu;
	if (!frac)
		return;
	char buf[24];
	for (uint32_t i = digits; i > 0; i--) {
		buf[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	buf[0] = '.';
	size_t n = digits + 1;
	while (buf[n - 1] == '0')
		n--;
	put(w, buf, n);
}

size_t met_format_double(double v, char *buf, size_t cap)
{
	if (isnan(v))
		return (size_t)snprintf(buf, cap, "NaN");
	if (isinf(v))
		return (size_t)snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
	if (v == 0)
		return (size_t)snprintf(buf, cap, "0");
	/* The fewest significant digits that read back as v, then Go's 'g' layout (what the
	 * Prometheus clients print): an exponent only below 1e-4 or from 1e21 up. */
	char e[40];
	int prec = 1;
	for (; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, v);
		if (strtod(e, NULL) == v)
			break;
	}
	int exp10 = atoi(strchr(e, 'e') + 1);
	if (exp10 < -4 || exp10 >= 21)
		return (size_t)snprintf(buf, cap, "%s", e);
	int decimals = prec - 1 - exp10;
	return (size_t)snprintf(buf, cap, "%.*f", decimals > 0 ? decimals : 0, v);
}

static void put_double(struct writer *w, double v)
{
	char buf[32];
	put(w, buf, met_format_double(v, buf, sizeof(buf)));
}

/* HELP text: 0.0.4 escapes backslash and newline; OpenMetrics also the double quote. */
static void put_help(struct writer *w, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\')
			puts_(w, "\\\\");
		else if (*p == '\n')
			puts_(w, "\\n");
		else if (*p == '"' && w->om)
			puts_(w, "\\\"");
		else
			put(w, p, 1);
	}
}

/* Appends `s` escaped as a label value to lb (capacity LABELS_BYTES_MAX, always enough). */
static size_t esc_value(char *lb, size_t n, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '\\' || *p == '"') {
			lb[n++] = '\\';
			lb[n++] = *p;
		} else if (*p == '\n') {
			lb[n++] = '\\';
			lb[n++] = 'n';
		} else {
			lb[n++] = *p;
		}
	}
	return n;
}

/* The family's name as TYPE/HELP/UNIT lines give it: OpenMetrics names a counter family without
 * its "_total". */
static void put_family_name(struct writer *w, const struct met_family *f)
{
	size_t n = strlen(f->name);
	bool counter = f->kind == MET_COUNTER || f->kind == MET_COUNTER_SET;
	put(w, f->name, (w->om && counter) ? n - 6 : n);
}

static const char *type_str(enum met_kind k)
{
	switch (k) {
	case MET_COUNTER:
	case MET_COUNTER_SET:
		return "counter";
	case MET_GAUGE:
	case MET_GAUGE_SET:
		return "gauge";
	case MET_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

static void put_header(struct writer *w, const struct met_family *f)
{
	puts_(w, "# HELP ");
	put_family_name(w, f);
	put(w, " ", 1);
	put_help(w, f->help);
	puts_(w, "\n# TYPE ");
	put_family_name(w, f);
	put(w, " ", 1);
	puts_(w, type_str(f->kind));
	put(w, "\n", 1);
	if (w->om && f->unit) {
		puts_(w, "# UNIT ");
		put_family_name(w, f);
		put(w, " ", 1);
		puts_(w, f->unit);
		put(w, "\n", 1);
	}
}

/* The sum over shards of one cell of one series. */
static uint64_t cell_sum(const struct met_registry *r, size_t cell)
{
	const _Atomic uint64_t *c = r->cells + cell;
	uint64_t sum = 0;
	for (uint32_t s = 0; s <= r->workers; s++, c += r->stride)
		sum += atomic_load_explicit(c, memory_order_relaxed);
	return sum;
}

static void put_sample(struct writer *w, const char *name, const char *suffix, const char *labels,
		       size_t nlabels)
{
	puts_(w, name);
	if (suffix)
		puts_(w, suffix);
	if (nlabels) {
		put(w, "{", 1);
		put(w, labels, nlabels);
		put(w, "}", 1);
	}
	put(w, " ", 1);
}

static void put_histogram(struct writer *w, const struct met_family *f, size_t cell,
			  const char *labels, size_t nlabels, uint64_t *buckets)
{
	const struct met_registry *r = f->reg;
	char lb[LABELS_BYTES_MAX + 48];
	memcpy(lb, labels, nlabels);
	size_t base = nlabels;
	if (nlabels)
		lb[base++] = ',';
	memcpy(lb + base, "le=\"", 4);
	base += 4;
	uint64_t cum = 0;
	for (uint32_t b = 0; b <= f->nbounds; b++) {
		cum += buckets[b];
		const char *le = b < f->nbounds ? f->le[b] : "+Inf";
		size_t n = strlen(le);
		memcpy(lb + base, le, n);
		lb[base + n] = '"';
		put_sample(w, f->name, "_bucket", lb, base + n + 1);
		put_u64(w, cum);
		put(w, "\n", 1);
	}
	put_sample(w, f->name, "_sum", labels, nlabels);
	put_scaled(w, cell_sum(r, cell + f->nbounds + 1), f->ticks_per_unit, f->tpu_digits);
	put(w, "\n", 1);
	put_sample(w, f->name, "_count", labels, nlabels);
	put_u64(w, cum);
	put(w, "\n", 1);
}

/* Writes the labels of `series` into lb; false when one of its dimension values does not exist
 * yet. *seed tells whether all its values are seeds. */
static bool series_labels(const struct met_family *f, uint32_t series, char *lb, size_t *len,
			  bool *seed)
{
	uint32_t idx[MET_FAMILY_DIMS_MAX];
	for (uint32_t i = f->ndims; i-- > 0;) {
		idx[i] = series % f->radix[i];
		series /= f->radix[i];
	}
	size_t n = 0;
	*seed = true;
	for (uint32_t i = 0; i < f->ndims; i++) {
		const struct met_dim *d = f->dims[i];
		if (!met_dim_has_(d, idx[i]))
			return false;
		const struct met_dim_value *v = &d->values[idx[i]];
		*seed = *seed && atomic_load_explicit(&v->seed, memory_order_relaxed);
		for (uint32_t j = 0; j < d->nnames; j++) {
			if (n)
				lb[n++] = ',';
			size_t k = strlen(d->names[j]);
			memcpy(lb + n, d->names[j], k);
			n += k;
			lb[n++] = '=';
			lb[n++] = '"';
			n = esc_value(lb, n, v->v[j]);
			lb[n++] = '"';
		}
	}
	*len = n;
	return true;
}

static void put_family(struct writer *w, const struct met_family *f)
{
	const struct met_registry *r = f->reg;
	char lb[LABELS_BYTES_MAX];
	uint64_t buckets[MET_BUCKETS_MAX + 1];
	put_header(w, f);
	for (uint32_t s = 0; s < f->nseries && !w->failed; s++) {
		size_t nl;
		bool seed;
		if (!series_labels(f, s, lb, &nl, &seed))
			continue;
		size_t cell = f->base + (size_t)s * f->cells_per_series;
		switch (f->kind) {
		case MET_COUNTER:
		case MET_GAUGE: {
			uint64_t v = cell_sum(r, cell);
			if (f->sparse && !v && !seed)
				continue;
			put_sample(w, f->name, NULL, lb, nl);
			if (f->kind == MET_COUNTER)
				put_u64(w, v);
			else
				put_i64(w, (int64_t)v);
			break;
		}
		case MET_GAUGE_SET:
		case MET_COUNTER_SET: {
			double v = met_read_double(f, s);
			if (f->sparse && v == 0 && !seed)
				continue;
			put_sample(w, f->name, NULL, lb, nl);
			put_double(w, v);
			break;
		}
		case MET_HISTOGRAM: {
			uint64_t count = 0;
			for (uint32_t b = 0; b <= f->nbounds; b++) {
				buckets[b] = cell_sum(r, cell + b);
				count += buckets[b];
			}
			if (f->sparse && !count && !seed)
				continue;
			put_histogram(w, f, cell, lb, nl, buckets);
			continue;
		}
		}
		put(w, "\n", 1);
	}
}

enum tw_err met_expose(struct met_registry *r, enum met_format fmt, struct met_buf *out)
{
	struct writer w = {.b = out, .om = fmt == MET_FORMAT_OPENMETRICS};
	assert(r->sealed);
	out->len = 0;
	if (r->collect)
		r->collect(r->collect_ctx);
	for (const struct met_family *f = r->families; f && !w.failed; f = f->next)
		put_family(&w, f);
	if (w.om)
		puts_(&w, "# EOF\n");
	if (!grow(&w, 0))
		return TW_ERR_NOMEM;
	out->data[out->len] = 0;
	return TW_ERR_OK;
}

const char *met_content_type(enum met_format fmt)
{
	return fmt == MET_FORMAT_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; "
					       "charset=utf-8"
					     : "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- Accept negotiation ---------------------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static bool token_eq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/* Quality of one media range "type/sub;param=v;q=0.5" for OpenMetrics (*om) and text (*txt). */
static void media_range(const char *p, const char *end, double *om, double *txt)
{
	p = skip_ws(p, end);
	const char *semi = memchr(p, ';', (size_t)(end - p));
	const char *tend = semi ? semi : end;
	while (tend > p && (tend[-1] == ' ' || tend[-1] == '\t'))
		tend--;
	size_t tn = (size_t)(tend - p);
	double q = 1.0;
	bool version_ok = true;
	const char *type = p;
	for (p = semi; p && p < end;) {
		p = skip_ws(p + 1, end);
		const char *next = memchr(p, ';', (size_t)(end - p));
		const char *pend = next ? next : end;
		const char *eq = memchr(p, '=', (size_t)(pend - p));
		if (eq) {
			size_t kn = (size_t)(eq - p);
			while (kn && (p[kn - 1] == ' ' || p[kn - 1] == '\t'))
				kn--;
			const char *v = skip_ws(eq + 1, pend);
			size_t vn = (size_t)(pend - v);
			while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
				vn--;
			if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"')
				v++, vn -= 2;
			if (token_eq(p, kn, "q")) {
				char tmp[16] = {0};
				memcpy(tmp, v, vn < 15 ? vn : 15);
				q = strtod(tmp, NULL);
				if (!(q >= 0 && q <= 1))
					q = 0;
			} else if (token_eq(p, kn, "version")) {
				version_ok = token_eq(v, vn, "1.0.0");
			}
		}
		p = next;
	}
	if (token_eq(type, tn, "application/openmetrics-text")) {
		if (version_ok && q > *om)
			*om = q;
	} else if (token_eq(type, tn, "text/plain") || token_eq(type, tn, "text/*") ||
		   token_eq(type, tn, "*/*")) {
		if (q > *txt)
			*txt = q;
	}
}

enum met_format met_format_from_accept(const char *accept)
{
	if (!accept || !*accept)
		return MET_FORMAT_TEXT;
	double om = 0, txt = 0;
	const char *end = accept + strnlen(accept, 4096);
	for (const char *p = accept; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *rend = comma ? comma : end;
		media_range(p, rend, &om, &txt);
		p = comma ? comma + 1 : end;
	}
	return (om > 0 && om >= txt) ? MET_FORMAT_OPENMETRICS : MET_FORMAT_TEXT;
}
