/*
 * met_test.c — the metrics library, its exposition and TensorWasm's families.
 *
 * The exposition is checked by our own parser (check_exposition below: HELP/TYPE order, label
 * syntax and escaping, no duplicate series, cumulative buckets with +Inf, _count equal to the
 * +Inf bucket, OpenMetrics' counter names, UNIT and # EOF) and by `promtool check metrics`.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"

#include "core/limits.h"
#include "metrics/met.h"
#include "metrics/met_int.h"
#include "metrics/met_tw.h"

/* ---- an exposition checker ------------------------------------------------------------ */

#define CHECK_SERIES_MAX 20000

struct checker {
	bool om;
	char family[256];
	char type[32];
	char unit[64];
	bool saw_help, saw_type, saw_eof;
	char *seen[CHECK_SERIES_MAX]; /* name{sorted labels} of every sample */
	size_t nseen;
	/* the histogram series being read */
	char hist_key[2048];
	bool hist_open; /* a histogram series has begun in this family */
	bool saw_sum, saw_count;
	double last_bucket;
	bool saw_inf;
	double inf_value;
	size_t samples;
	char families[512][128];
	size_t nfamilies;
};

static bool starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool ends(const char *s, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);
	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Parse `{a="x",b="y"}` at *p; fills the label text without le (sorted is not needed: we emit a
 * fixed order, and a duplicate with another order would be our bug too) and le's value. */
static void parse_labels(const char **pp, char *key, size_t cap, char *le, size_t lecap)
{
	const char *p = *pp;
	size_t n = 0;
	le[0] = 0;
	key[0] = 0;
	if (*p != '{')
		return;
	p++;
	while (*p != '}') {
		char name[128];
		size_t k = 0;
		cr_assert((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_',
			  "label name starts badly at: %.40s", p);
		while (*p && *p != '=') {
			cr_assert(k < sizeof(name) - 1);
			name[k++] = *p++;
		}
		name[k] = 0;
		cr_assert_eq(*p, '=');
		p++;
		cr_assert_eq(*p, '"', "label value not quoted: %.40s", p);
		p++;
		char value[1024];
		size_t v = 0;
		while (*p != '"') {
			cr_assert(*p && *p != '\n', "unterminated label value");
			if (*p == '\\') {
				p++;
				cr_assert(*p == '\\' || *p == '"' || *p == 'n', "bad escape \\%c",
					  *p);
				value[v++] = *p == 'n' ? '\n' : *p;
				p++;
			} else {
				value[v++] = *p++;
			}
			cr_assert(v < sizeof(value) - 1);
		}
		value[v] = 0;
		p++;
		if (strcmp(name, "le") == 0) {
			snprintf(le, lecap, "%s", value);
		} else {
			n += (size_t)snprintf(key + n, cap - n, "%s=%s;", name, value);
			cr_assert(n < cap);
		}
		if (*p == ',')
			p++;
		else
			cr_assert_eq(*p, '}', "expected , or } at: %.40s", p);
	}
	*pp = p + 1;
}

static double parse_value(const char *s)
{
	if (strcmp(s, "+Inf") == 0)
		return INFINITY;
	if (strcmp(s, "-Inf") == 0)
		return -INFINITY;
	if (strcmp(s, "NaN") == 0)
		return NAN;
	char *end;
	double v = strtod(s, &end);
	cr_assert(end != s && *end == 0, "value does not parse: '%s'", s);
	return v;
}

static void end_histogram_series(struct checker *c)
{
	cr_assert(!c->hist_open || (c->saw_inf && c->saw_sum && c->saw_count),
		  "series ended without +Inf, _sum or _count: %s", c->hist_key);
	c->saw_sum = c->saw_count = false;
	c->hist_key[0] = 0;
	c->hist_open = false;
}

static void check_line(struct checker *c, const char *line)
{
	cr_assert(!c->saw_eof, "content after # EOF");
	if (strcmp(line, "# EOF") == 0) {
		cr_assert(c->om, "# EOF in the 0.0.4 format");
		c->saw_eof = true;
		return;
	}
	if (starts(line, "# HELP ") || starts(line, "# TYPE ") || starts(line, "# UNIT ")) {
		char name[256], rest[1024] = "";
		cr_assert(sscanf(line + 7, "%255s %1023[^\n]", name, rest) >= 1);
		if (starts(line, "# HELP ")) {
			for (size_t i = 0; i < c->nfamilies; i++)
				cr_assert(strcmp(c->families[i], name) != 0, "family %s twice",
					  name);
			cr_assert(c->nfamilies < 512);
			snprintf(c->families[c->nfamilies++], 128, "%s", name);
			snprintf(c->family, sizeof(c->family), "%s", name);
			c->saw_help = true;
			c->saw_type = false;
			c->unit[0] = 0;
			end_histogram_series(c);
			for (const char *p = rest; *p; p++) {
				if (*p != '\\')
					continue;
				cr_assert(p[1] == '\\' || p[1] == 'n' || (c->om && p[1] == '"'),
					  "bad HELP escape in %s", line);
				p++;
			}
		} else if (starts(line, "# TYPE ")) {
			cr_assert(c->saw_help && strcmp(name, c->family) == 0,
				  "TYPE without its HELP: %s", line);
			snprintf(c->type, sizeof(c->type), "%s", rest);
			cr_assert(strcmp(rest, "counter") == 0 || strcmp(rest, "gauge") == 0 ||
				      strcmp(rest, "histogram") == 0,
				  "type %s", rest);
			if (c->om && strcmp(rest, "counter") == 0)
				cr_assert(!ends(name, strlen(name), "_total"),
					  "OpenMetrics counter family named with _total: %s", name);
			if (!c->om && strcmp(rest, "counter") == 0)
				cr_assert(ends(name, strlen(name), "_total"), "counter %s", name);
			c->saw_type = true;
		} else {
			cr_assert(c->om, "UNIT in 0.0.4");
			cr_assert(c->saw_type && strcmp(name, c->family) == 0);
			char suffix[80];
			snprintf(suffix, sizeof(suffix), "_%s", rest);
			cr_assert(ends(name, strlen(name), suffix), "unit %s not a suffix of %s",
				  rest, name);
			snprintf(c->unit, sizeof(c->unit), "%s", rest);
		}
		return;
	}
	cr_assert(line[0] != '#', "unknown comment line: %s", line);
	cr_assert(c->saw_type, "sample before TYPE: %s", line);
	/* name */
	const char *p = line;
	size_t n = 0;
	while (p[n] && p[n] != '{' && p[n] != ' ')
		n++;
	char name[256];
	cr_assert(n < sizeof(name));
	memcpy(name, p, n);
	name[n] = 0;
	p += n;
	char key[2048], le[64];
	parse_labels(&p, key, sizeof(key), le, sizeof(le));
	cr_assert_eq(*p, ' ', "no space before the value: %s", line);
	double v = parse_value(p + 1);
	size_t fl = strlen(c->family);
	const char *suffix = name + (strncmp(name, c->family, fl) == 0 ? fl : 0);
	cr_assert(strncmp(name, c->family, fl) == 0, "sample %s outside family %s", name,
		  c->family);
	if (strcmp(c->type, "histogram") == 0) {
		cr_assert(strcmp(suffix, "_bucket") == 0 || strcmp(suffix, "_sum") == 0 ||
			      strcmp(suffix, "_count") == 0,
			  "histogram sample %s", name);
		if (strcmp(suffix, "_bucket") == 0) {
			cr_assert(le[0], "bucket without le: %s", line);
			if (!c->hist_open || strcmp(c->hist_key, key) != 0) {
				end_histogram_series(c);
				c->hist_open = true;
				snprintf(c->hist_key, sizeof(c->hist_key), "%s", key);
				c->last_bucket = 0;
				c->saw_inf = false;
			}
			cr_assert(!c->saw_inf, "bucket after +Inf: %s", line);
			cr_assert(v >= c->last_bucket, "buckets not cumulative: %s", line);
			c->last_bucket = v;
			if (strcmp(le, "+Inf") == 0) {
				c->saw_inf = true;
				c->inf_value = v;
			} else {
				parse_value(le);
			}
		} else {
			cr_assert(!le[0]);
			cr_assert(c->hist_open && strcmp(c->hist_key, key) == 0 && c->saw_inf,
				  "%s without its buckets and +Inf: %s", suffix, line);
			if (strcmp(suffix, "_sum") == 0)
				c->saw_sum = true;
			else
				c->saw_count = true;
			if (strcmp(suffix, "_count") == 0)
				cr_assert(v == c->inf_value, "_count %g != +Inf bucket %g", v,
					  c->inf_value);
		}
		char full[2400];
		snprintf(full, sizeof(full), "%s{%s}le=%s", name, key, le);
		key[0] = 0;
		snprintf(key, sizeof(key), "%s", full);
	} else {
		cr_assert(!le[0], "le on a %s", c->type);
		if (c->om && strcmp(c->type, "counter") == 0)
			cr_assert(strcmp(suffix, "_total") == 0, "OM counter sample %s", name);
		else
			cr_assert(suffix[0] == 0, "sample %s in family %s", name, c->family);
		if (strcmp(c->type, "counter") == 0)
			cr_assert(v >= 0);
		char full[2400];
		snprintf(full, sizeof(full), "%s{%s}", name, key);
		snprintf(key, sizeof(key), "%s", full);
	}
	for (size_t i = 0; i < c->nseen; i++)
		cr_assert(strcmp(c->seen[i], key) != 0, "duplicate series %s", key);
	cr_assert(c->nseen < CHECK_SERIES_MAX);
	c->seen[c->nseen++] = strdup(key);
	c->samples++;
}

/* Check a whole exposition; returns the number of samples. */
static size_t check_exposition(const char *text, bool om)
{
	struct checker *c = calloc(1, sizeof(*c));
	c->om = om;
	cr_assert(strlen(text) > 0 && text[strlen(text) - 1] == '\n', "must end with a newline");
	char *copy = strdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		check_line(c, line);
	end_histogram_series(c);
	cr_assert_eq(c->saw_eof, om, "# EOF presence");
	size_t n = c->samples;
	for (size_t i = 0; i < c->nseen; i++)
		free(c->seen[i]);
	free(copy);
	free(c);
	return n;
}

/* ---- helpers --------------------------------------------------------------------------- */

static char *expose(struct met_registry *r, enum met_format fmt)
{
	struct met_buf b = {0};
	cr_assert_eq(met_expose(r, fmt, &b), TW_ERR_OK);
	cr_assert_eq(strlen(b.data), b.len);
	return b.data;
}

static const double secs[] = {0.001, 0.01, 0.1, 1};

/* ---- shards ---------------------------------------------------------------------------- */

static void *try_bind(void *arg)
{
	return (void *)(uintptr_t)met_shard_bind((uint32_t)(uintptr_t)arg);
}

Test(met_shard, one_thread_per_shard)
{
	cr_assert_eq(met_shard_current(), MET_SHARD_SHARED);
	cr_assert_eq(met_shard_bind(3), TW_ERR_OK);
	cr_assert_eq(met_shard_bind(3), TW_ERR_OK, "rebinding the same index is a no-op");
	pthread_t t;
	void *rc;
	pthread_create(&t, NULL, try_bind, (void *)(uintptr_t)3);
	pthread_join(t, &rc);
	cr_assert_eq((enum tw_err)(uintptr_t)rc, TW_ERR_EXISTS);
	cr_assert_eq(met_shard_bind(4), TW_ERR_OK, "moving frees the old index");
	pthread_create(&t, NULL, try_bind, (void *)(uintptr_t)3);
	pthread_join(t, &rc);
	cr_assert_eq((enum tw_err)(uintptr_t)rc, TW_ERR_OK);
	met_shard_unbind();
	cr_assert_eq(met_shard_current(), MET_SHARD_SHARED);
}

Test(met_shard, shards_do_not_share_cache_lines)
{
	struct met_registry *r = met_registry_new(3, 100);
	struct met_family *f;
	struct met_family_spec s = {.name = "a_total", .help = "h", .kind = MET_COUNTER};
	cr_assert_eq(met_family_new(r, &s, &f), TW_ERR_OK);
	cr_assert_eq(met_registry_seal(r), TW_ERR_OK);
	/* One cell in use, yet each shard takes two whole lines (adjacent-line prefetch). */
	cr_assert_eq((uintptr_t)r->cells % 128, 0);
	cr_assert_eq(r->stride * sizeof(uint64_t) % 128, 0);
	cr_assert_geq(r->stride, 16);
	met_registry_free(r);
}

/* ---- dimensions ------------------------------------------------------------------------ */

Test(met_dim, intern_overflow_and_sanitise)
{
	struct met_registry *r = met_registry_new(2, 1000);
	const char *name = "tenant";
	struct met_dim *d = met_dim_new(r, &name, 1, 3, MET_DIM_OVERFLOW);
	const char *a = "a", *b = "b", *c = "c", *x = "x", *other = "other";
	cr_assert_eq(met_dim_intern(d, &a), 0);
	cr_assert_eq(met_dim_intern(d, &b), 1);
	cr_assert_eq(met_dim_intern(d, &a), 0);
	cr_assert_eq(met_dim_intern(d, &other), 3, "a value equal to the overflow is the overflow");
	cr_assert_eq(met_dim_intern(d, &c), 2);
	cr_assert_eq(met_dim_intern(d, &x), 3, "full: overflow");
	cr_assert_eq(met_dim_size(d), 4);
	cr_assert_eq(met_dim_overflow(d), 3);
	const char *weird = "caf\xc3\xa9\t\"q\"\n";
	struct met_dim *d2 = met_dim_new(r, &name, 1, 2, 0);
	cr_assert_eq(met_dim_intern(d2, &weird), 0);
	cr_assert_str_eq(d2->values[0].v[0], "caf??\?\"q\"\n");
	cr_assert_eq(met_dim_intern(d2, &a), 1);
	cr_assert_eq(met_dim_intern(d2, &b), UINT32_MAX, "full without overflow");
	struct met_dim *d3 = met_dim_new(r, &name, 1, 2, MET_DIM_OVERFLOW);
	cr_assert_eq(met_dim_intern_u64(d3, 42), 0);
	cr_assert_eq(met_dim_intern_u64(d3, 7), 1);
	cr_assert_eq(met_dim_intern_u64(d3, 42), 0);
	cr_assert_str_eq(d3->values[1].v[0], "7");
	cr_assert_eq(met_dim_intern_u64(d3, 8), 2);
	met_registry_free(r);
}

Test(met_family, series_bound_is_enforced)
{
	struct met_registry *r = met_registry_new(1, 10);
	const char *name = "k";
	struct met_dim *d = met_dim_new(r, &name, 1, 6, 0);
	struct met_family *f;
	struct met_family_spec s = {
	    .name = "a_total", .help = "h", .kind = MET_COUNTER, .dims = {d}, .ndims = 1};
	cr_assert_eq(met_family_new(r, &s, &f), TW_ERR_OK);
	s.name = "b_total";
	cr_assert_eq(met_family_new(r, &s, &f), TW_ERR_FULL);
	cr_assert_eq(met_registry_series(r), 6);
	met_registry_free(r);
}

/* ---- bucket search --------------------------------------------------------------------- */

Test(met_histogram, bucket_search_matches_linear_search)
{
	static const double b[] = {1e-6, 2.5e-6, 5e-6,	1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4,
				   5e-4, .001,	 .0025, .005, .01,    .025, .05,  .1,
				   .25,	 .5,	 1,	2,    2.5,    5,    10};
	struct met_registry *r = met_registry_new(1, 10);
	struct met_family *f;
	struct met_family_spec s = {.name = "x_seconds",
				    .help = "h",
				    .kind = MET_HISTOGRAM,
				    .bounds = b,
				    .nbounds = 23,
				    .ticks_per_unit = 1000000000};
	cr_assert_eq(met_family_new(r, &s, &f), TW_ERR_OK);
	uint64_t probes[4096];
	size_t n = 0;
	for (uint32_t i = 0; i < 23; i++) {
		uint64_t t = f->bound_ticks[i];
		probes[n++] = t - 1;
		probes[n++] = t;
		probes[n++] = t + 1;
	}
	for (uint32_t k = 0; k < 64; k++) {
		probes[n++] = 1ull << k;
		probes[n++] = (1ull << k) - 1;
	}
	probes[n++] = 0;
	probes[n++] = UINT64_MAX;
	uint64_t x = 88172645463325252ull;
	while (n < 4096) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		probes[n++] = x >> (x % 64);
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t want = 0;
		while (want < 23 && probes[i] > f->bound_ticks[want])
			want++;
		cr_assert_eq(met_bucket_(f, probes[i]), want, "ticks %llu",
			     (unsigned long long)probes[i]);
	}
	met_registry_free(r);
}

/* ---- values and exposition ------------------------------------------------------------- */

struct small {
	struct met_registry *r;
	struct met_dim *route, *code;
	struct met_family *req, *lat, *inflight, *mem;
};

static void small_build(struct small *s, bool sparse)
{
	s->r = met_registry_new(2, 1000);
	const char *names[] = {"route", "method"}, *code = "code";
	s->route = met_dim_new(s->r, names, 2, 3, 0);
	s->code = met_dim_new(s->r, &code, 1, 2, 0);
	const char *r0[] = {"/a", "GET"}, *r1[] = {"/b\\\"x\"\nend", "POST"};
	const char *c0 = "200", *c1 = "500";
	cr_assert_eq(met_dim_intern(s->route, r0), 0);
	cr_assert_eq(met_dim_intern(s->route, r1), 1);
	cr_assert_eq(met_dim_intern(s->code, &c0), 0);
	cr_assert_eq(met_dim_intern(s->code, &c1), 1);
	met_dim_set_seed(s->route, 0, true);
	met_dim_set_seed(s->code, 0, true);
	struct met_family_spec req = {.name = "t_requests_total",
				      .help = "Requests with a \\ and\na newline.",
				      .kind = MET_COUNTER,
				      .dims = {s->route, s->code},
				      .ndims = 2,
				      .sparse = sparse};
	struct met_family_spec lat = {.name = "t_latency_seconds",
				      .help = "Latency.",
				      .unit = "seconds",
				      .kind = MET_HISTOGRAM,
				      .dims = {s->code},
				      .ndims = 1,
				      .bounds = secs,
				      .nbounds = 4,
				      .ticks_per_unit = 1000000000};
	struct met_family_spec inflight = {
	    .name = "t_in_flight", .help = "In flight.", .kind = MET_GAUGE};
	struct met_family_spec mem = {
	    .name = "t_mem_bytes", .help = "Memory.", .unit = "bytes", .kind = MET_GAUGE_SET};
	cr_assert_eq(met_family_new(s->r, &req, &s->req), TW_ERR_OK);
	cr_assert_eq(met_family_new(s->r, &lat, &s->lat), TW_ERR_OK);
	cr_assert_eq(met_family_new(s->r, &inflight, &s->inflight), TW_ERR_OK);
	cr_assert_eq(met_family_new(s->r, &mem, &s->mem), TW_ERR_OK);
	cr_assert_eq(met_registry_seal(s->r), TW_ERR_OK);
}

Test(met_expose, text_golden)
{
	struct small s;
	small_build(&s, false);
	uint32_t idx[] = {1, 1};
	met_counter_add(s.req, met_series(s.req, idx), 3);
	cr_assert_eq(met_shard_bind(1), TW_ERR_OK);
	met_counter_add(s.req, met_series(s.req, idx), 4);
	met_histogram_observe(s.lat, 0, 1500000);    /* 1.5 ms */
	met_histogram_observe(s.lat, 0, 2000000000); /* 2 s: +Inf */
	met_gauge_add(s.inflight, 0, -2);
	met_shard_unbind();
	met_histogram_observe(s.lat, 0, 1000000); /* exactly 1 ms: le="0.001" */
	met_gauge_add(s.inflight, 0, 5);
	met_gauge_set(s.mem, 0, 1.5e9);
	cr_assert_eq(met_read_u64(s.req, 3), 7);
	char *t = expose(s.r, MET_FORMAT_TEXT);
	const char *want =
	    "# HELP t_requests_total Requests with a \\\\ and\\na newline.\n"
	    "# TYPE t_requests_total counter\n"
	    "t_requests_total{route=\"/a\",method=\"GET\",code=\"200\"} 0\n"
	    "t_requests_total{route=\"/a\",method=\"GET\",code=\"500\"} 0\n"
	    "t_requests_total{route=\"/b\\\\\\\"x\\\"\\nend\",method=\"POST\",code=\"200\"} 0\n"
	    "t_requests_total{route=\"/b\\\\\\\"x\\\"\\nend\",method=\"POST\",code=\"500\"} 7\n"
	    "# HELP t_latency_seconds Latency.\n"
	    "# TYPE t_latency_seconds histogram\n"
	    "t_latency_seconds_bucket{code=\"200\",le=\"0.001\"} 1\n"
	    "t_latency_seconds_bucket{code=\"200\",le=\"0.01\"} 2\n"
	    "t_latency_seconds_bucket{code=\"200\",le=\"0.1\"} 2\n"
	    "t_latency_seconds_bucket{code=\"200\",le=\"1\"} 2\n"
	    "t_latency_seconds_bucket{code=\"200\",le=\"+Inf\"} 3\n"
	    "t_latency_seconds_sum{code=\"200\"} 2.0025\n"
	    "t_latency_seconds_count{code=\"200\"} 3\n"
	    "t_latency_seconds_bucket{code=\"500\",le=\"0.001\"} 0\n"
	    "t_latency_seconds_bucket{code=\"500\",le=\"0.01\"} 0\n"
	    "t_latency_seconds_bucket{code=\"500\",le=\"0.1\"} 0\n"
	    "t_latency_seconds_bucket{code=\"500\",le=\"1\"} 0\n"
	    "t_latency_seconds_bucket{code=\"500\",le=\"+Inf\"} 0\n"
	    "t_latency_seconds_sum{code=\"500\"} 0\n"
	    "t_latency_seconds_count{code=\"500\"} 0\n"
	    "# HELP t_in_flight In flight.\n"
	    "# TYPE t_in_flight gauge\n"
	    "t_in_flight 3\n"
	    "# HELP t_mem_bytes Memory.\n"
	    "# TYPE t_mem_bytes gauge\n"
	    "t_mem_bytes 1500000000\n";
	cr_assert_str_eq(t, want);
	check_exposition(t, false);
	free(t);
	met_registry_free(s.r);
}

Test(met_expose, openmetrics_golden_parts)
{
	struct small s;
	small_build(&s, true);
	met_histogram_observe(s.lat, 1, 5000);
	char *t = expose(s.r, MET_FORMAT_OPENMETRICS);
	cr_assert(strstr(t, "# HELP t_requests Requests with a \\\\ and\\na newline.\n"
			    "# TYPE t_requests counter\n"
			    "t_requests_total{route=\"/a\",method=\"GET\",code=\"200\"} 0\n"
			    "# HELP t_latency_seconds"),
		  "%s", t);
	cr_assert(strstr(t, "# TYPE t_latency_seconds histogram\n# UNIT t_latency_seconds "
			    "seconds\n"));
	cr_assert(strstr(t, "# UNIT t_mem_bytes bytes\n"));
	cr_assert(strstr(t, "t_latency_seconds_sum{code=\"500\"} 0.000005\n"));
	cr_assert(strstr(t, "t_latency_seconds_sum{code=\"200\"} 0\n"), "dense family, zero");
	size_t len = strlen(t);
	cr_assert(len > 6 && strcmp(t + len - 6, "# EOF\n") == 0);
	check_exposition(t, true);
	free(t);
	met_registry_free(s.r);
}

Test(met_expose, sparse_families_show_seeds_and_touched_series)
{
	struct small s;
	small_build(&s, true);
	char *t = expose(s.r, MET_FORMAT_TEXT);
	cr_assert(strstr(t, "t_requests_total{route=\"/a\",method=\"GET\",code=\"200\"} 0\n"));
	cr_assert(!strstr(t, "t_requests_total{route=\"/a\",method=\"GET\",code=\"500\"}"),
		  "unseeded zero series hidden:\n%s", t);
	free(t);
	uint32_t idx[] = {1, 1};
	met_counter_add(s.req, met_series(s.req, idx), 1);
	t = expose(s.r, MET_FORMAT_TEXT);
	cr_assert(strstr(t, "method=\"POST\",code=\"500\"} 1\n"));
	cr_assert(!strstr(t, "method=\"GET\",code=\"500\"}"));
	check_exposition(t, false);
	free(t);
	met_registry_free(s.r);
}

Test(met_expose, unpublished_dimension_values_are_not_exposed)
{
	struct met_registry *r = met_registry_new(1, 100);
	const char *name = "blueprint";
	struct met_dim *d = met_dim_new(r, &name, 1, 4, MET_DIM_OVERFLOW);
	struct met_family *f;
	struct met_family_spec s = {
	    .name = "x_total", .help = "h", .kind = MET_COUNTER, .dims = {d}, .ndims = 1};
	cr_assert_eq(met_family_new(r, &s, &f), TW_ERR_OK);
	cr_assert_eq(met_registry_seal(r), TW_ERR_OK);
	char *t = expose(r, MET_FORMAT_TEXT);
	cr_assert_str_eq(t, "# HELP x_total h\n# TYPE x_total counter\n"
			    "x_total{blueprint=\"other\"} 0\n");
	free(t);
	const char *v = "abc";
	uint32_t i = met_dim_intern(d, &v); /* after seal: allowed, up to cap */
	met_counter_add(f, i, 2);
	t = expose(r, MET_FORMAT_TEXT);
	cr_assert_str_eq(t, "# HELP x_total h\n# TYPE x_total counter\n"
			    "x_total{blueprint=\"abc\"} 2\nx_total{blueprint=\"other\"} 0\n");
	free(t);
	met_registry_free(r);
}

Test(met_expose, format_double)
{
	char b[32];
	struct {
		double v;
		const char *s;
	} cases[] = {{0.001, "0.001"},
		     {1e-5, "1e-05"},
		     {2.5e-6, "2.5e-06"},
		     {1, "1"},
		     {2.5, "2.5"},
		     {10, "10"},
		     {0.1 + 0.2, "0.30000000000000004"},
		     {1.5e9, "1500000000"},
		     {INFINITY, "+Inf"},
		     {-INFINITY, "-Inf"},
		     {NAN, "NaN"},
		     {0, "0"},
		     {-3.25, "-3.25"},
		     {1e300, "1e+300"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		met_format_double(cases[i].v, b, sizeof(b));
		cr_assert_str_eq(b, cases[i].s);
	}
}

Test(met_expose, accept_negotiation)
{
	cr_assert_eq(met_format_from_accept(NULL), MET_FORMAT_TEXT);
	cr_assert_eq(met_format_from_accept(""), MET_FORMAT_TEXT);
	cr_assert_eq(met_format_from_accept("*/*"), MET_FORMAT_TEXT);
	cr_assert_eq(met_format_from_accept("text/plain;version=0.0.4"), MET_FORMAT_TEXT);
	/* What Prometheus 2.x sends. */
	cr_assert_eq(
	    met_format_from_accept("application/openmetrics-text;version=1.0.0,application/"
				   "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;"
				   "q=0.5,*/*;q=0.1"),
	    MET_FORMAT_OPENMETRICS);
	cr_assert_eq(met_format_from_accept("application/openmetrics-text; version=1.0.0; "
					    "charset=utf-8"),
		     MET_FORMAT_OPENMETRICS);
	cr_assert_eq(met_format_from_accept("application/openmetrics-text"),
		     MET_FORMAT_OPENMETRICS);
	cr_assert_eq(met_format_from_accept("application/openmetrics-text;version=0.0.1"),
		     MET_FORMAT_TEXT, "only 1.0.0 is spoken");
	cr_assert_eq(met_format_from_accept("text/plain, application/openmetrics-text;q=0.5"),
		     MET_FORMAT_TEXT);
	cr_assert_eq(met_format_from_accept("application/openmetrics-text;q=0"), MET_FORMAT_TEXT);
	cr_assert_eq(met_format_from_accept("APPLICATION/OpenMetrics-Text ; q=0.9 , text/plain;"
					    "q=0.8"),
		     MET_FORMAT_OPENMETRICS);
	cr_assert_str_eq(met_content_type(MET_FORMAT_TEXT),
			 "text/plain; version=0.0.4; charset=utf-8");
	cr_assert_str_eq(met_content_type(MET_FORMAT_OPENMETRICS),
			 "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

/* ---- TensorWasm's families ------------------------------------------------------------- */

static const struct met_http_route routes[] = {
    {"GET", "/healthz"},       {"GET", "/metrics"},	     {"POST", "/functions"},
    {"GET", "/functions/:id"}, {"DELETE", "/functions/:id"}, {"POST", "/functions/:id/invoke"},
};

static void tw_init(void)
{
	struct met_tw_config c = {.workers = 2, .routes = routes, .nroutes = 6};
	cr_assert_eq(met_tw_init(&c), TW_ERR_OK);
}

/* Every family the dashboards and the issue list: all emitted before any traffic. */
static const char *const inventory[] = {
    "tensor_wasm_http_requests_total",
    "tensor_wasm_http_request_duration_seconds",
    "tensor_wasm_http_requests_in_flight",
    "tensor_wasm_active_instances",
    "tensor_wasm_instance_spawns_total",
    "tensor_wasm_instance_terminations_total",
    "tensor_wasm_kernel_dispatches_total",
    "tensor_wasm_kernel_latency_seconds",
    "tensor_wasm_offload_success_total",
    "tensor_wasm_offload_fallback_total",
    "tensor_wasm_gpu_memory_used_bytes",
    "tensor_wasm_gpu_memory_bytes_per_tenant",
    "tensor_wasm_gpu_memory_total_bytes",
    "tensor_wasm_gpu_devices",
    "tensor_wasm_jobs_active",
    "tensor_wasm_build_info",
    "tensor_wasm_snapshot_capture_seconds",
    "tensor_wasm_snapshot_restore_seconds",
    "tensor_wasm_snapshot_disk_round_trip_seconds",
    "tensor_wasm_jit_cache_warm_hit_total",
    "tensor_wasm_jit_cache_cold_miss_then_insert_total",
    "tensor_wasm_jit_emit_text_seconds",
    "tensor_wasm_backpressure_permits_used",
    "tensor_wasm_backpressure_permits_available",
    "tensor_wasm_auth_denials_total",
    "tensor_wasm_rate_limited_total",
    "tensor_wasm_guest_traps_total",
    "tensor_wasm_modules_rejected_total",
    "tensor_wasm_ptx_rejected_total",
    "tensor_wasm_wasi_cuda_calls_total",
    "tensor_wasm_trace_spans_dropped_total",
    "tensor_wasm_trace_spans_exported_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
};

Test(met_tw, every_family_is_emitted_with_a_sample)
{
	tw_init();
	char *t = NULL;
	struct met_buf b = {0};
	cr_assert_eq(met_tw_expose(MET_FORMAT_TEXT, &b), TW_ERR_OK);
	t = b.data;
	for (size_t i = 0; i < sizeof(inventory) / sizeof(inventory[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want), "\n# TYPE %s ", inventory[i]);
		cr_assert(strstr(t, want) || strncmp(t, want + 1, strlen(want) - 1) == 0,
			  "%s missing", inventory[i]);
		snprintf(want, sizeof(want), "\n%s", inventory[i]);
		const char *p = strstr(t, want);
		cr_assert(p, "no sample of %s", inventory[i]);
	}
	cr_assert(strstr(t, "tensor_wasm_build_info{version=\"" TW_VERSION "\",git_sha=\""));
	cr_assert_null(strstr(t, " \",profile=\""), "no trailing space in the compiler label");
	cr_assert(strstr(t, "tensor_wasm_http_requests_total{route=\"/functions/:id/invoke\","
			    "method=\"POST\",status=\"200\"} 0\n"));
	cr_assert(strstr(t, "tensor_wasm_active_instances{tenant=\"other\"} 0\n"));
	cr_assert(strstr(t, "tensor_wasm_gpu_devices 0\n"));
	cr_assert(strstr(t, "tensor_wasm_kernel_latency_seconds_bucket{le=\"1e-05\"} 0\n"));
	cr_assert(strstr(t, "tensor_wasm_http_request_duration_seconds_bucket{route=\"/healthz\","
			    "method=\"GET\",status=\"200\",le=\"2.5\"} 0\n"));
	/* The dashboards' bucket boundaries are all there. */
	const char *http_le[] = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1",
				 "0.25",  "0.5",   "1",	   "2.5",   "5",    "10"};
	const char *kern_le[] = {"1e-05", "5e-05", "0.0001", "0.0005", "0.001", "0.005", "0.01",
				 "0.05",  "0.1",   "0.5",    "1",      "2",	"5",	 "10"};
	for (size_t i = 0; i < 12; i++) {
		char want[200];
		snprintf(want, sizeof(want), "status=\"200\",le=\"%s\"}", http_le[i]);
		cr_assert(strstr(t, want), "http le %s", http_le[i]);
	}
	for (size_t i = 0; i < 14; i++) {
		char want[200];
		snprintf(want, sizeof(want), "tensor_wasm_kernel_latency_seconds_bucket{le=\"%s\"}",
			 kern_le[i]);
		cr_assert(strstr(t, want), "kernel le %s", kern_le[i]);
	}
	check_exposition(t, false);
	cr_assert_eq(met_tw_expose(MET_FORMAT_OPENMETRICS, &b), TW_ERR_OK);
	check_exposition(b.data, true);
	cr_assert(strstr(b.data, "# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds "
				 "seconds\nprocess_cpu_seconds_total "));
	met_buf_free(&b);
	met_tw_fini();
}

static double sample_value(const char *text, const char *series)
{
	char want[512];
	snprintf(want, sizeof(want), "\n%s", series);
	const char *p = strstr(text, want);
	cr_assert(p, "no %s", series);
	return strtod(p + strlen(want), NULL);
}

Test(met_tw, updates_reach_their_series)
{
	tw_init();
	cr_assert_eq(met_shard_bind(0), TW_ERR_OK);
	met_http_observe(5, MET_HTTP_POST, 200, 3000000);
	met_http_observe(5, MET_HTTP_GET, 200, 3000000); /* a known route keeps its method */
	met_http_observe(MET_ROUTE_UNKNOWN, MET_HTTP_PATCH, 404, 1000);
	met_http_observe(99, met_http_method_parse("BREW", 4), 418, 1000);
	met_http_observe(0, MET_HTTP_GET, 599, 1000);
	met_http_in_flight_add(5, MET_HTTP_POST, 1);
	uint32_t t1 = met_tenant_slot(1001), t2 = met_tenant_slot(1002);
	cr_assert_eq(met_tenant_slot(1001), t1);
	cr_assert_neq(t1, t2);
	met_instances_active_add(t1, 2);
	met_kernel_dispatched(t2);
	met_rate_limited(t2);
	met_gpu_tenant_memory_add(t1, 4096);
	met_auth_denied(TW_ERR_INVALID_AUTH);
	met_auth_denied(TW_ERR_IO);
	met_guest_trap(MET_TRAP_MEMORY_OUT_OF_BOUNDS);
	met_module_rejected(TW_ERR_WASM_MALFORMED);
	met_offload_fallback(MET_FALLBACK_NO_GPU);
	met_ptx_rejected(TW_ERR_GPU_PTX);
	met_shard_unbind();
	met_kernel_latency(30000);
	met_gpu_memory_used_set(1 << 20);
	met_backpressure_set(3, 61);
	cr_assert_eq(met_gpu_device_add(0, "NVIDIA H100", "9.0", 80ull << 30), TW_ERR_OK);
	cr_assert_eq(met_gpu_device_add(0, "NVIDIA H100", "9.0", 80ull << 30), TW_ERR_EXISTS);
	uint32_t bp = met_jit_blueprint_slot("saxpy_f32");
	met_jit_emit_text(bp, 20000);
	met_jit_cache_cold_miss_insert();
	met_snapshot_capture(1000000);
	met_instance_spawned();
	met_jobs_active_add(1);
	struct met_buf b = {0};
	cr_assert_eq(met_tw_expose(MET_FORMAT_TEXT, &b), TW_ERR_OK);
	const char *t = b.data;
	cr_assert_eq(sample_value(t, "tensor_wasm_http_requests_total{route=\"/functions/:id/"
				     "invoke\",method=\"POST\",status=\"200\"} "),
		     2);
	cr_assert_eq(sample_value(t, "tensor_wasm_http_request_duration_seconds_sum{route=\"/"
				     "functions/:id/invoke\",method=\"POST\",status=\"200\"} "),
		     0.006);
	cr_assert_eq(sample_value(t, "tensor_wasm_http_requests_total{route=\"unknown\","
				     "method=\"PATCH\",status=\"404\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_http_requests_total{route=\"unknown\","
				     "method=\"other\",status=\"4xx\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_http_requests_total{route=\"/healthz\","
				     "method=\"GET\",status=\"5xx\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_http_requests_in_flight{route=\"/functions/:id/"
				     "invoke\",method=\"POST\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_active_instances{tenant=\"1001\"} "), 2);
	cr_assert_eq(sample_value(t, "tensor_wasm_kernel_dispatches_total{tenant=\"1002\"} "), 1);
	cr_assert_eq(sample_value(t, "tensor_wasm_rate_limited_total{tenant=\"1002\"} "), 1);
	cr_assert_eq(
	    sample_value(t, "tensor_wasm_gpu_memory_bytes_per_tenant{tenant_id=\"1001\"} "), 4096);
	cr_assert_eq(sample_value(t, "tensor_wasm_auth_denials_total{reason=\"invalid_auth\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_auth_denials_total{reason=\"other\"} "), 1);
	cr_assert_eq(
	    sample_value(t, "tensor_wasm_guest_traps_total{kind=\"memory_out_of_bounds\"} "), 1);
	cr_assert_eq(
	    sample_value(t, "tensor_wasm_modules_rejected_total{reason=\"malformed_wasm\"} "), 1);
	cr_assert_eq(sample_value(t, "tensor_wasm_offload_fallback_total{reason=\"no_gpu\"} "), 1);
	cr_assert_eq(sample_value(t, "tensor_wasm_ptx_rejected_total{reason=\"malformed_ptx\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_kernel_latency_seconds_bucket{le=\"5e-05\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_kernel_latency_seconds_bucket{le=\"2.5e-05\"} "),
		     0);
	cr_assert_eq(sample_value(t, "tensor_wasm_gpu_memory_used_bytes "), 1 << 20);
	cr_assert_eq(sample_value(t, "tensor_wasm_gpu_memory_total_bytes "), 80.0 * (1u << 30));
	cr_assert_eq(sample_value(t, "tensor_wasm_gpu_devices "), 1);
	cr_assert_eq(sample_value(t, "tensor_wasm_gpu_device_info{device=\"0\",name=\"NVIDIA "
				     "H100\",compute_capability=\"9.0\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_backpressure_permits_available "), 61);
	cr_assert_eq(sample_value(t, "tensor_wasm_jit_emit_text_seconds_count{blueprint="
				     "\"saxpy_f32\"} "),
		     1);
	cr_assert_eq(sample_value(t, "tensor_wasm_snapshot_capture_seconds_sum "), 0.001);
	cr_assert_eq(sample_value(t, "tensor_wasm_instance_spawns_total "), 1);
	cr_assert_eq(sample_value(t, "tensor_wasm_jobs_active "), 1);
	cr_assert_gt(sample_value(t, "process_resident_memory_bytes "), 1e5);
	cr_assert_gt(sample_value(t, "process_open_fds "), 2);
	cr_assert_gt(sample_value(t, "process_start_time_seconds "), 1.6e9);
	check_exposition(t, false);
	met_buf_free(&b);
	met_tw_fini();
	met_http_observe(0, MET_HTTP_GET, 200, 1); /* after fini: a no-op */
	cr_assert_null(met_tw_registry());
}

Test(met_tw, tenants_overflow_to_other)
{
	tw_init();
	for (uint64_t i = 0; i < TW_METRIC_TENANTS_MAX; i++)
		cr_assert_eq(met_tenant_slot(5000 + i), i);
	uint32_t o = met_tenant_slot(99);
	cr_assert_eq(o, met_tenant_other());
	met_rate_limited(o);
	met_rate_limited(met_tenant_slot(98));
	struct met_buf b = {0};
	cr_assert_eq(met_tw_expose(MET_FORMAT_TEXT, &b), TW_ERR_OK);
	cr_assert_eq(sample_value(b.data, "tensor_wasm_rate_limited_total{tenant=\"other\"} "), 2);
	check_exposition(b.data, false);
	met_buf_free(&b);
	met_tw_fini();
}

static int collected;

static void count_collect(void *arg)
{
	collected += *(int *)arg;
}

Test(met_tw, wasi_cuda_calls_collectors_and_span_counters)
{
	tw_init();
	met_wasi_cuda_call(MET_CUDA_LAUNCH, 0);
	met_wasi_cuda_call(MET_CUDA_LAUNCH, 3);   /* a length or handle: ok */
	met_wasi_cuda_call(MET_CUDA_LAUNCH, -1);
	met_wasi_cuda_call(MET_CUDA_ALLOC, -6);
	met_wasi_cuda_call(MET_CUDA_MEMCPY_D2H, -10);
	met_wasi_cuda_call(MET_CUDA_MEMCPY_D2H, -11); /* outside the ABI: other */
	met_wasi_cuda_call(MET_CUDA__COUNT, -1);      /* ignored */
	static int step = 5;
	cr_assert_eq(met_tw_add_collector(count_collect, &step), TW_ERR_OK);
	for (int i = 1; i < MET_TW_COLLECTORS_MAX; i++)
		cr_assert_eq(met_tw_add_collector(count_collect, &step), TW_ERR_OK);
	cr_assert_eq(met_tw_add_collector(count_collect, &step), TW_ERR_FULL);
	collected = 0;
	struct met_buf b = {0};
	cr_assert_eq(met_tw_expose(MET_FORMAT_TEXT, &b), TW_ERR_OK);
	cr_assert_eq(collected, 5 * MET_TW_COLLECTORS_MAX, "each collector once per scrape");
	const char *t = b.data;
#define CUDA(fn, res) "tensor_wasm_wasi_cuda_calls_total{function=\"" fn "\",result=\"" res "\"} "
	cr_assert_eq(sample_value(t, CUDA("launch", "ok")), 2);
	cr_assert_eq(sample_value(t, CUDA("launch", "not_available")), 1);
	cr_assert_eq(sample_value(t, CUDA("alloc", "quota_exceeded")), 1);
	cr_assert_eq(sample_value(t, CUDA("memcpy_d2h", "kernel_args_unsupported")), 1);
	cr_assert_eq(sample_value(t, CUDA("memcpy_d2h", "other")), 1);
	cr_assert_eq(sample_value(t, CUDA("load_ptx", "ok")), 0, "every series from the start");
#undef CUDA
	for (int i = 0; i < 3; i++) {
		const char *r[] = {"ring_full", "export_failed", "out_of_memory"};
		char key[128];
		snprintf(key, sizeof(key), "tensor_wasm_trace_spans_dropped_total{reason=\"%s\"} ",
			 r[i]);
		cr_assert_eq(sample_value(t, key), 0, "%s", r[i]);
	}
	cr_assert_eq(sample_value(t, "tensor_wasm_trace_spans_exported_total "), 0);
	check_exposition(t, false);
	met_buf_free(&b);
	met_tw_fini();
	cr_assert_eq(met_tw_add_collector(count_collect, &step), TW_ERR_SHUTDOWN);
}

Test(met_tw, init_arguments)
{
	struct met_tw_config c = {.workers = 0};
	cr_assert_eq(met_tw_init(&c), TW_ERR_INVALID_ARG);
	c.workers = 1;
	c.nroutes = TW_METRIC_ROUTES_MAX + 1;
	c.routes = routes;
	cr_assert_eq(met_tw_init(&c), TW_ERR_INVALID_ARG);
	c.nroutes = 0;
	cr_assert_eq(met_tw_init(&c), TW_ERR_OK);
	cr_assert_eq(met_tw_init(&c), TW_ERR_EXISTS);
	met_tw_fini();
	/* The largest configuration fits the series bound. */
	static struct met_http_route many[TW_METRIC_ROUTES_MAX];
	static char tmpl[TW_METRIC_ROUTES_MAX][32];
	for (int i = 0; i < TW_METRIC_ROUTES_MAX; i++) {
		snprintf(tmpl[i], sizeof(tmpl[i]), "/r%d", i);
		many[i] = (struct met_http_route){"GET", tmpl[i]};
	}
	c.routes = many;
	c.nroutes = TW_METRIC_ROUTES_MAX;
	c.workers = 4;
	cr_assert_eq(met_tw_init(&c), TW_ERR_OK);
	cr_assert_leq(met_registry_series(met_tw_registry()), TW_METRIC_SERIES_MAX);
	met_tw_fini();
}

Test(met_tw, metrics_token)
{
	cr_assert(met_token_ok(NULL, NULL));
	cr_assert(met_token_ok("", "whatever"));
	cr_assert(met_token_ok("s3cret", "Bearer s3cret"));
	cr_assert(met_token_ok("s3cret", "bearer s3cret "));
	cr_assert(!met_token_ok("s3cret", NULL));
	cr_assert(!met_token_ok("s3cret", "Bearer s3cre"));
	cr_assert(!met_token_ok("s3cret", "Bearer s3cretX"));
	cr_assert(!met_token_ok("s3cret", "Basic s3cret"));
	cr_assert(!met_token_ok("s3cret", "Bearer "));
}

/* ---- promtool -------------------------------------------------------------------------- */

/* Run `promtool check metrics` on `text`; returns its exit status, or -1 when absent. */
static int promtool_check(const char *text, char *out, size_t cap)
{
	const char *promtool = "/usr/bin/promtool";
	if (access(promtool, X_OK) != 0)
		return -1;
	char in_path[] = "/tmp/tw-met-XXXXXX";
	int fd = mkstemp(in_path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "%s check metrics < %s 2>&1", promtool, in_path);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = 0;
	int st = pclose(p);
	unlink(in_path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(met_promtool, full_exposition_passes)
{
	tw_init();
	cr_assert_eq(met_shard_bind(1), TW_ERR_OK);
	for (unsigned i = 0; i < 50; i++)
		met_http_observe(i % 7, MET_HTTP_GET, i % 3 ? 200 : 503, i * 77777);
	met_rate_limited(met_tenant_slot(7));
	met_jit_emit_text(met_jit_blueprint_slot("a\"b\\c\nd"), 1234);
	met_gpu_device_add(0, "Dev \"quoted\"", "8.6", 1 << 30);
	struct met_buf b = {0};
	cr_assert_eq(met_tw_expose(MET_FORMAT_TEXT, &b), TW_ERR_OK);
	check_exposition(b.data, false);
	char out[8192];
	int rc = promtool_check(b.data, out, sizeof(out));
	if (rc < 0) {
		printf("met_promtool: skipped: /usr/bin/promtool is absent (Debian package "
		       "prometheus)\n");
		met_buf_free(&b);
		met_tw_fini();
		cr_skip_test("promtool is absent (Debian package prometheus)");
	}
	cr_assert_eq(rc, 0, "promtool check metrics failed (%d):\n%s", rc, out);
	cr_assert_eq(out[0], 0, "promtool has remarks:\n%s", out);
	met_buf_free(&b);
	met_tw_fini();
}
