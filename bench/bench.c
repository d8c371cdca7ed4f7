/*
 * bench.c — the benchmark runner: registry walk, wall-clock measurement, reports, and the
 * fixed-iteration mode for callgrind. See bench.h for how benchmarks are written and
 * docs/bench.md for the command line.
 *
 * Wall-clock mode, per benchmark (the scheme of Rust's Criterion):
 *  1. warm-up: run 1, 2, 4, ... iterations until the warm-up budget is spent; the mean time per
 *     iteration sizes the sampling,
 *  2. samples: sample i (1-based) runs i*d iterations, d chosen so the samples together take about
 *     the measurement budget,
 *  3. estimates: slope through the origin with a bootstrap interval, mean/median/MAD of the
 *     per-iteration times, Tukey outliers, and the change against the previous run's samples,
 *  4. output: one `bencher` line on stdout, the human details on stderr, and
 *     <out-dir>/<id>/new.json (the previous new.json becomes base.json first).
 *
 * Callgrind mode runs each benchmark at two fixed iteration counts, n and 2n, each between
 * CALLGRIND_TOGGLE_COLLECT requests and followed by a CALLGRIND_DUMP_STATS_AT labelled with the id
 * and the count. bench/perf_gate.py runs this under `valgrind --tool=callgrind
 * --collect-atstart=no` and takes (Ir(2n) - Ir(n)) / n, which cancels the cost of the call into
 * the benchmark and of its loop set-up. Outside valgrind the requests are a few no-op
 * instructions.
 *
 * The runner is a development tool, not part of the server: it allocates freely and exits on
 * the first I/O error writing results.
 */
#include "bench/bench.h"

#include <alloca.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_stats.h"
#include "config.h"
#include "core/clock.h"
#include "core/limits.h"
#include "version.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_HAVE_CALLGRIND 1
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(label) ((void)(label))
#define BENCH_HAVE_CALLGRIND 0
#endif

/* The registry: pointers the BENCH macro put into section tw_bench_defs. Weak, so that a runner
 * linked without any benchmark still links (and reports that it has none). */
extern const struct bench_def *const __start_tw_bench_defs[] __attribute__((weak));
extern const struct bench_def *const __stop_tw_bench_defs[] __attribute__((weak));

#define BENCH_CALLGRIND_ITERS_DEFAULT 200
#define BENCH_NOISE_DEFAULT 0.02 /* changes smaller than 2% are reported as noise */
#define BENCH_CONFIDENCE 0.95
#define BENCH_SEED 0x7477626e63680001ull /* fixed: the same samples give the same interval */
#define BENCH_ITERS_MAX (1ull << 40)	 /* bounds the warm-up's doubling */

struct options {
	uint64_t warm_up_ns;
	uint64_t measure_ns;
	uint32_t samples;
	uint32_t resamples;
	double noise;
	bool callgrind;
	bool list;
	bool save;
	const char *out_dir;
	char **patterns;
	int npatterns;
};

/* One benchmark's measurements and estimates. */
struct result {
	const struct bench_def *def;
	uint32_t n;
	double *iters, *ns, *per_iter; /* n each */
	uint8_t *classes;
	uint64_t warm_up_iters, warm_up_ns;
	struct bench_ci slope, mean;
	double median, mad, stddev, r2;
	struct bench_outliers outliers;
	bool have_change;
	struct bench_ci change;
	double base_slope;
	const char *verdict;
	double *latency; /* latency_n single-iteration times, sorted after estimate() */
	uint32_t latency_n;
	double p50, p95, p99, p999;
};

static char machine_desc[256];

/* ---- registry ---------------------------------------------------------------------------- */

static int cmp_def(const void *a, const void *b)
{
	const struct bench_def *x = *(const struct bench_def *const *)a;
	const struct bench_def *y = *(const struct bench_def *const *)b;
	return strcmp(x->id, y->id);
}

static bool id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n >= TW_BENCH_ID_BYTES_MAX || id[0] == '/' || id[n - 1] == '/')
		return false;
	if (strstr(id, "//") || strstr(id, "..") || strcmp(id, "report") == 0 ||
	    strncmp(id, "report/", 7) == 0)
		return false;
	for (const char *p = id; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '/' ||
			  c == '+';
		if (!ok)
			return false;
	}
	return true;
}

/* Sorted copy of the registry, checked for bad and duplicate ids. Returns the count, or -1
 * after printing what is wrong (a program error in some *_bench.c). */
static long registry(const struct bench_def ***out)
{
	size_t n = (size_t)(__stop_tw_bench_defs - __start_tw_bench_defs);
	const struct bench_def **defs = calloc(n ? n : 1, sizeof(*defs));
	if (!defs)
		return -1;
	for (size_t i = 0; i < n; i++)
		defs[i] = __start_tw_bench_defs[i];
	qsort(defs, n, sizeof(*defs), cmp_def);
	for (size_t i = 0; i < n; i++) {
		if (!id_valid(defs[i]->id) || !defs[i]->fn) {
			fprintf(stderr,
				"bench: %s:%d: invalid benchmark id %s (allowed: "
				"[A-Za-z0-9_.+-] in '/'-separated parts)\n",
				defs[i]->file, defs[i]->line, defs[i]->id);
			free(defs);
			return -1;
		}
		if (i > 0 && strcmp(defs[i - 1]->id, defs[i]->id) == 0) {
			fprintf(stderr, "bench: duplicate id %s (%s:%d and %s:%d)\n", defs[i]->id,
				defs[i - 1]->file, defs[i - 1]->line, defs[i]->file, defs[i]->line);
			free(defs);
			return -1;
		}
	}
	*out = defs;
	return (long)n;
}

static bool has_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/* A pattern with *, ? or [ is a shell glob over the whole id; otherwise a substring. */
static bool selected(const struct options *o, const char *id)
{
	if (o->npatterns == 0)
		return true;
	for (int i = 0; i < o->npatterns; i++) {
		const char *p = o->patterns[i];
		if (has_glob(p) ? fnmatch(p, id, 0) == 0 : strstr(id, p) != NULL)
			return true;
	}
	return false;
}

/* ---- formatting -------------------------------------------------------------------------- */

/* A duration with four significant digits and a unit that keeps it in [1, 1000). */
static const char *fmt_time(double ns, char *buf, size_t cap)
{
	static const char *const units[] = {"ps", "ns", "µs", "ms", "s"};
	double v = ns * 1000;
	int u = 0;
	while (u < 4 && fabs(v) >= 1000) {
		v /= 1000;
		u++;
	}
	int decimals = fabs(v) >= 100 ? 1 : fabs(v) >= 10 ? 2 : 3;
	snprintf(buf, cap, "%.*f %s", decimals, v, units[u]);
	return buf;
}

static const char *fmt_rate(double bytes_per_s, char *buf, size_t cap)
{
	static const char *const units[] = {"B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"};
	double v = bytes_per_s;
	int u = 0;
	while (u < 4 && v >= 1024) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%.4g %s", v, units[u]);
	return buf;
}

/* An integer with thousands separators, as libtest's bencher lines have them. */
static const char *fmt_commas(double v, char *buf, size_t cap)
{
	char digits[32];
	unsigned long long x = v > 0 ? (unsigned long long)llround(v) : 0;
	int len = snprintf(digits, sizeof(digits), "%llu", x);
	size_t o = 0;
	for (int i = 0; i < len && o + 2 < cap; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/* ---- machine description ------------------------------------------------------------------ */

static void describe_machine(void)
{
	char model[160] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "model name", 10) != 0)
				continue;
			char *colon = strchr(line, ':');
			if (colon) {
				colon += 1 + (colon[1] == ' ');
				colon[strcspn(colon, "\n")] = '\0';
				snprintf(model, sizeof(model), "%s", colon);
			}
			break;
		}
		fclose(f);
	}
	struct utsname u;
	const char *kernel = uname(&u) == 0 ? u.release : "?";
	snprintf(machine_desc, sizeof(machine_desc), "%s, %ld CPUs, Linux %s", model,
		 sysconf(_SC_NPROCESSORS_ONLN), kernel);
}

/* ---- measurement ------------------------------------------------------------------------- */

static uint64_t time_iters(const struct bench_def *d, struct bench_state *st, uint64_t iters)
{
	st->iters = iters;
	uint64_t t0 = tw_now_ns();
	d->fn(st);
	uint64_t t1 = tw_now_ns();
	return t1 - t0;
}

static void result_free(struct result *r)
{
	free(r->iters);
	free(r->ns);
	free(r->per_iter);
	free(r->classes);
	free(r->latency);
	memset(r, 0, sizeof(*r));
}

static enum tw_err measure(const struct bench_def *d, struct bench_state *st,
			   const struct options *o, struct result *r)
{
	/* Warm-up: doubling counts until the budget is spent; the last doubling may overshoot it
	 * by at most the budget, which bounds the warm-up to twice its budget. */
	uint64_t iters = 1, total_iters = 0, total_ns = 0;
	while (total_ns < o->warm_up_ns && iters <= BENCH_ITERS_MAX) {
		total_ns += time_iters(d, st, iters);
		total_iters += iters;
		iters *= 2;
	}
	r->warm_up_iters = total_iters;
	r->warm_up_ns = total_ns;
	double per_iter_ns = total_iters ? (double)total_ns / (double)total_iters : 1;
	if (per_iter_ns <= 0)
		per_iter_ns = 0.01;

	uint32_t n = o->samples;
	double tri = (double)n * (n + 1) / 2;
	double step = ceil((double)o->measure_ns / (per_iter_ns * tri));
	if (step < 1)
		step = 1;
	if (step > (double)BENCH_ITERS_MAX / n)
		step = (double)BENCH_ITERS_MAX / n;
	uint64_t d_iters = (uint64_t)step;

	r->n = n;
	r->iters = calloc(n, sizeof(double));
	r->ns = calloc(n, sizeof(double));
	r->per_iter = calloc(n, sizeof(double));
	r->classes = calloc(n, 1);
	if (!r->iters || !r->ns || !r->per_iter || !r->classes)
		return TW_ERR_NOMEM;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k = (uint64_t)(i + 1) * d_iters;
		r->iters[i] = (double)k;
		r->ns[i] = (double)time_iters(d, st, k);
		r->per_iter[i] = r->ns[i] / (double)k;
	}
	if (d->latency_samples) {
		uint32_t m = d->latency_samples;
		if (m > TW_BENCH_LATENCY_SAMPLES_MAX)
			m = TW_BENCH_LATENCY_SAMPLES_MAX;
		r->latency = calloc(m, sizeof(double));
		if (!r->latency)
			return TW_ERR_NOMEM;
		for (uint32_t i = 0; i < m; i++)
			r->latency[i] = (double)time_iters(d, st, 1);
		r->latency_n = m;
	}
	return TW_ERR_OK;
}

static enum tw_err estimate(const struct options *o, struct result *r)
{
	enum tw_err err;
	err = bench_stats_slope_ci(r->iters, r->ns, r->n, o->resamples, BENCH_CONFIDENCE,
				   BENCH_SEED, &r->slope);
	if (err)
		return err;
	err = bench_stats_mean_ci(r->per_iter, r->n, o->resamples, BENCH_CONFIDENCE, BENCH_SEED + 1,
				  &r->mean);
	if (err)
		return err;
	err = bench_stats_median_mad(r->per_iter, r->n, &r->median, &r->mad);
	if (err)
		return err;
	r->stddev = bench_stats_stddev(r->per_iter, r->n);
	r->r2 = bench_stats_r2(r->iters, r->ns, r->n, r->slope.point);
	if (r->latency_n) {
		bench_stats_sort(r->latency, r->latency_n);
		r->p50 = bench_stats_quantile_sorted(r->latency, r->latency_n, 0.50);
		r->p95 = bench_stats_quantile_sorted(r->latency, r->latency_n, 0.95);
		r->p99 = bench_stats_quantile_sorted(r->latency, r->latency_n, 0.99);
		r->p999 = bench_stats_quantile_sorted(r->latency, r->latency_n, 0.999);
	}
	return bench_stats_tukey(r->per_iter, r->n, &r->outliers, r->classes);
}

/* ---- saved runs -------------------------------------------------------------------------- */

static int mkdir_p(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0777);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	if (mkdir(path, 0777) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Samples of a saved run: two parallel arrays from "samples": {"iters": [...], "ns": [...]}.
 * Returns false when the file is absent or not a run this harness wrote. */
static bool load_samples(const char *path, double **x, double **y, size_t *n)
{
	bool ok = false;
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (!root)
		return false;
	json_t *s = json_object_get(root, "samples");
	json_t *ji = json_object_get(s, "iters"), *jn = json_object_get(s, "ns");
	size_t len = json_array_size(ji);
	if (!json_is_array(ji) || !json_is_array(jn) || len == 0 || len != json_array_size(jn))
		goto out_decref;
	*x = calloc(len, sizeof(double));
	*y = calloc(len, sizeof(double));
	if (!*x || !*y)
		goto out_free;
	for (size_t i = 0; i < len; i++) {
		(*x)[i] = json_number_value(json_array_get(ji, i));
		(*y)[i] = json_number_value(json_array_get(jn, i));
	}
	*n = len;
	ok = true;
	goto out_decref;
out_free:
	free(*x);
	free(*y);
	*x = *y = NULL;
out_decref:
	json_decref(root);
	return ok;
}

static void compare_with_base(const struct options *o, const char *base_path, struct result *r)
{
	double *bx = NULL, *by = NULL;
	size_t bn = 0;
	if (!load_samples(base_path, &bx, &by, &bn))
		return;
	if (bench_stats_change_ci(r->iters, r->ns, r->n, bx, by, bn, o->resamples, BENCH_CONFIDENCE,
				  BENCH_SEED + 2, &r->change) == TW_ERR_OK) {
		r->have_change = true;
		r->base_slope = bench_stats_slope(bx, by, bn);
		if (r->change.lo <= 0 && r->change.hi >= 0)
			r->verdict = "no change in performance detected";
		else if (r->change.lo >= -o->noise && r->change.hi <= o->noise)
			r->verdict = "change within noise threshold";
		else if (r->change.point > 0)
			r->verdict = "performance has regressed";
		else
			r->verdict = "performance has improved";
	}
	free(bx);
	free(by);
}

static void put_ci(FILE *f, const char *name, const struct bench_ci *c, const char *tail)
{
	fprintf(f, "    \"%s\": {\"point\": %.6g, \"lo\": %.6g, \"hi\": %.6g}%s\n", name, c->point,
		c->lo, c->hi, tail);
}

static void put_array(FILE *f, const double *v, uint32_t n, const char *fmt)
{
	fputc('[', f);
	for (uint32_t i = 0; i < n; i++) {
		fprintf(f, i ? ", " : "");
		fprintf(f, fmt, v[i]);
	}
	fputc(']', f);
}

/* Ids and the machine text are plain ASCII without quotes or backslashes, except the CPU model,
 * which is escaped here to be safe. */
static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int write_json(const char *path, const struct options *o, const struct result *r)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	const struct bench_def *d = r->def;
	fprintf(f, "{\n  \"format\": \"tensor-wasm-bench/1\",\n  \"id\": ");
	put_string(f, d->id);
	fprintf(f, ",\n  \"source\": ");
	put_string(f, d->file);
	fprintf(f, ",\n  \"git\": ");
	put_string(f, TW_GIT_SHA);
	fprintf(f, ",\n  \"machine\": ");
	put_string(f, machine_desc);
	fprintf(f, ",\n  \"unix_time\": %lld,\n", (long long)time(NULL));
	fprintf(f,
		"  \"config\": {\"warm_up_ms\": %.0f, \"measure_ms\": %.0f, \"samples\": %u, "
		"\"resamples\": %u, \"confidence\": %.2f, \"noise\": %.4f},\n",
		(double)o->warm_up_ns / 1e6, (double)o->measure_ns / 1e6, o->samples, o->resamples,
		BENCH_CONFIDENCE, o->noise);
	fprintf(f, "  \"bytes_per_iter\": %llu,\n", (unsigned long long)d->bytes_per_iter);
	fprintf(f, "  \"warm_up\": {\"iters\": %llu, \"ns\": %llu},\n",
		(unsigned long long)r->warm_up_iters, (unsigned long long)r->warm_up_ns);
	fprintf(f, "  \"samples\": {\n    \"iters\": ");
	put_array(f, r->iters, r->n, "%.0f");
	fprintf(f, ",\n    \"ns\": ");
	put_array(f, r->ns, r->n, "%.0f");
	fprintf(f, ",\n    \"outlier\": [");
	for (uint32_t i = 0; i < r->n; i++)
		fprintf(f, "%s%u", i ? ", " : "", r->classes[i]);
	fprintf(f, "]\n  },\n  \"estimates\": {\n");
	put_ci(f, "slope_ns", &r->slope, ",");
	put_ci(f, "mean_ns", &r->mean, ",");
	fprintf(f,
		"    \"median_ns\": %.6g,\n    \"mad_ns\": %.6g,\n    \"std_dev_ns\": %.6g,\n"
		"    \"r2\": %.6f\n  },\n",
		r->median, r->mad, r->stddev, r->r2);
	const struct bench_outliers *q = &r->outliers;
	fprintf(f,
		"  \"outliers\": {\"classes\": [\"none\", \"low severe\", \"low mild\", "
		"\"high mild\", \"high severe\"], \"low_severe\": %u, \"low_mild\": %u, "
		"\"high_mild\": %u, \"high_severe\": %u, \"fences_ns\": [%.6g, %.6g, %.6g, "
		"%.6g]},\n",
		q->n_low_severe, q->n_low_mild, q->n_high_mild, q->n_high_severe, q->low_severe,
		q->low_mild, q->high_mild, q->high_severe);
	if (r->latency_n)
		fprintf(f,
			"  \"latency\": {\"samples\": %u, \"p50_ns\": %.6g, \"p95_ns\": %.6g, "
			"\"p99_ns\": %.6g, \"p999_ns\": %.6g, \"min_ns\": %.6g, "
			"\"max_ns\": %.6g},\n",
			r->latency_n, r->p50, r->p95, r->p99, r->p999, r->latency[0],
			r->latency[r->latency_n - 1]);
	else
		fprintf(f, "  \"latency\": null,\n");
	if (r->have_change) {
		fprintf(f,
			"  \"change\": {\"base_slope_ns\": %.6g, \"rel\": {\"point\": %.6g, "
			"\"lo\": %.6g, \"hi\": %.6g}, \"significant\": %s, \"verdict\": \"%s\"}\n",
			r->base_slope, r->change.point, r->change.lo, r->change.hi,
			(r->change.lo > 0 || r->change.hi < 0) ? "true" : "false", r->verdict);
	} else {
		fprintf(f, "  \"change\": null\n");
	}
	fprintf(f, "}\n");
	int rc = ferror(f) ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	return rc;
}

/* ---- reporting --------------------------------------------------------------------------- */

static void report(const struct result *r)
{
	const struct bench_def *d = r->def;
	char a[32], b[32], c[32];
	char pt[32], err[32];
	/* libtest's format, as Criterion's --output-format bencher writes it: the slope and half
	 * the width of its interval, rounded to whole nanoseconds. */
	printf("test %s ... bench: %11s ns/iter (+/- %s)", d->id,
	       fmt_commas(r->slope.point, pt, sizeof(pt)),
	       fmt_commas((r->slope.hi - r->slope.lo) / 2, err, sizeof(err)));
	if (d->bytes_per_iter && r->slope.point > 0)
		printf(" = %.0f MB/s", (double)d->bytes_per_iter * 1e3 / r->slope.point);
	printf("\n");
	fflush(stdout);

	fprintf(stderr, "%-24s time:   [%s %s %s]\n", d->id, fmt_time(r->slope.lo, a, sizeof(a)),
		fmt_time(r->slope.point, b, sizeof(b)), fmt_time(r->slope.hi, c, sizeof(c)));
	if (d->bytes_per_iter && r->slope.lo > 0) {
		double bpi = (double)d->bytes_per_iter * 1e9;
		fprintf(stderr, "%-24s thrpt:  [%s %s %s]\n", "",
			fmt_rate(bpi / r->slope.hi, a, sizeof(a)),
			fmt_rate(bpi / r->slope.point, b, sizeof(b)),
			fmt_rate(bpi / r->slope.lo, c, sizeof(c)));
	}
	if (r->have_change)
		fprintf(stderr, "%-24s change: [%+.2f%% %+.2f%% %+.2f%%] %s\n", "",
			r->change.lo * 100, r->change.point * 100, r->change.hi * 100, r->verdict);
	fprintf(stderr, "%-24s median %s, MAD %s, R² %.4f\n", "", fmt_time(r->median, a, sizeof(a)),
		fmt_time(r->mad, b, sizeof(b)), r->r2);
	if (r->latency_n) {
		char e[32], g[32];
		fprintf(stderr,
			"%-24s latency: p50 %s, p95 %s, p99 %s, p99.9 %s, max %s (%u single "
			"iterations)\n",
			"", fmt_time(r->p50, a, sizeof(a)), fmt_time(r->p95, b, sizeof(b)),
			fmt_time(r->p99, c, sizeof(c)), fmt_time(r->p999, e, sizeof(e)),
			fmt_time(r->latency[r->latency_n - 1], g, sizeof(g)), r->latency_n);
	}
	const struct bench_outliers *q = &r->outliers;
	uint32_t total = bench_outliers_total(q);
	if (total) {
		fprintf(stderr, "Found %u outliers among %u measurements (%.2f%%)\n", total, r->n,
			100.0 * total / r->n);
		static const char *const names[] = {"low severe", "low mild", "high mild",
						    "high severe"};
		uint32_t counts[] = {q->n_low_severe, q->n_low_mild, q->n_high_mild,
				     q->n_high_severe};
		for (int i = 0; i < 4; i++)
			if (counts[i])
				fprintf(stderr, "  %u (%.2f%%) %s\n", counts[i],
					100.0 * counts[i] / r->n, names[i]);
	}
	fprintf(stderr, "\n");
}

/* ---- the two modes ----------------------------------------------------------------------- */

static int run_wall(const struct bench_def *d, const struct options *o, size_t k, size_t total)
{
	int rc = 1;
	struct bench_state st = {.def = d};
	struct result r = {.def = d};
	char dir[PATH_MAX], new_path[PATH_MAX], base_path[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s", o->out_dir, d->id);
	snprintf(new_path, sizeof(new_path), "%s/new.json", dir);
	snprintf(base_path, sizeof(base_path), "%s/base.json", dir);

	fprintf(stderr, "[%zu/%zu] %s: warming up for %.1f s, then %u samples in about %.1f s\n", k,
		total, d->id, (double)o->warm_up_ns / 1e9, o->samples, (double)o->measure_ns / 1e9);
	if (d->setup && d->setup(&st) != TW_ERR_OK) {
		fprintf(stderr, "bench: %s: setup failed\n", d->id);
		printf("test %s ... FAILED (setup)\n", d->id);
		goto out;
	}
	enum tw_err err = measure(d, &st, o, &r);
	if (d->teardown)
		d->teardown(&st);
	if (err == TW_ERR_OK)
		err = estimate(o, &r);
	if (err != TW_ERR_OK) {
		fprintf(stderr, "bench: %s: %s\n", d->id, tw_err_msg(err));
		goto out;
	}
	if (o->save) {
		if (mkdir_p(dir) != 0) {
			fprintf(stderr, "bench: cannot create %s: %s\n", dir, strerror(errno));
			goto out;
		}
		/* The previous run becomes the base that this one is compared with. */
		if (rename(new_path, base_path) != 0 && errno != ENOENT) {
			fprintf(stderr, "bench: cannot rename %s: %s\n", new_path, strerror(errno));
			goto out;
		}
	}
	/* Without saving, nothing was rotated: the last saved run is still new.json. */
	compare_with_base(o, o->save ? base_path : new_path, &r);
	report(&r);
	if (o->save && write_json(new_path, o, &r) != 0) {
		fprintf(stderr, "bench: cannot write %s: %s\n", new_path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	result_free(&r);
	return rc;
}

/*
 * Run the benchmark with callgrind collecting, from a stack pointer at a fixed offset within a
 * page. Where the stack starts depends on the size of argv and the environment, and the C
 * library's string and memory routines execute more or fewer instructions depending on the
 * alignment of their operands; without this, a stack buffer in a benchmark (a struct filled by
 * snprintf) counts differently when the runner merely lives at a longer path.
 */
static __attribute__((noinline)) void collect_at_fixed_stack_offset(const struct bench_def *d,
								   struct bench_state *st)
{
	uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
	volatile char *pad = alloca((frame & 4095) + 1);
	pad[0] = 0;
	CALLGRIND_TOGGLE_COLLECT;
	d->fn(st);
	CALLGRIND_TOGGLE_COLLECT;
}

static int run_callgrind(const struct bench_def *d)
{
	struct bench_state st = {.def = d};
	uint64_t n = d->callgrind_iters ? d->callgrind_iters : BENCH_CALLGRIND_ITERS_DEFAULT;
	char label[TW_BENCH_ID_BYTES_MAX + 64];

	if (d->setup && d->setup(&st) != TW_ERR_OK) {
		fprintf(stderr, "bench: %s: setup failed\n", d->id);
		printf("callgrind %s FAILED (setup)\n", d->id);
		return 1;
	}
	/* One unmeasured round first: lazy symbol binding, first-touch page faults and one-time
	 * initialisation inside the code under test would otherwise land in the first count. */
	st.iters = n;
	d->fn(&st);
	for (uint64_t k = n; k <= 2 * n; k += n) {
		st.iters = k;
		snprintf(label, sizeof(label), "tw-bench id=%s iters=%llu", d->id,
			 (unsigned long long)k);
		CALLGRIND_ZERO_STATS;
		collect_at_fixed_stack_offset(d, &st);
		CALLGRIND_DUMP_STATS_AT(label);
	}
	if (d->teardown)
		d->teardown(&st);
	printf("callgrind %s iters=%llu,%llu\n", d->id, (unsigned long long)n,
	       (unsigned long long)(2 * n));
	fflush(stdout);
	return 0;
}

/* ---- command line ------------------------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: tensor-wasm-bench [options] [PATTERN...]\n\n"
	    "Runs the registered benchmarks whose id contains PATTERN (or matches it as a glob\n"
	    "when it has * ? or [); all of them without a pattern. TW_BENCH_FILTER supplies\n"
	    "patterns (space-separated) when none is given on the command line.\n\n"
	    "  --list             print the ids and exit\n"
	    "  --callgrind        fixed-iteration mode for valgrind --tool=callgrind\n"
	    "                     --collect-atstart=no (see bench/perf_gate.py)\n"
	    "  --warm-up-ms N     warm-up budget per benchmark (default 500)\n"
	    "  --measure-ms N     sampling budget per benchmark (default 2000)\n"
	    "  --samples N        samples per benchmark (default 50, at most %d)\n"
	    "  --resamples N      bootstrap resamples (default 10000, at most %d)\n"
	    "  --noise PCT        changes within +/-PCT%% are noise (default 2)\n"
	    "  --out-dir DIR      where <id>/new.json and base.json live (default: the\n"
	    "                     runner's own folder, build/bench)\n"
	    "  --no-save          do not write or rotate JSON files\n"
	    "Environment: TW_BENCH_WARM_UP_MS, TW_BENCH_MEASURE_MS, TW_BENCH_SAMPLES.\n",
	    TW_BENCH_SAMPLES_MAX, TW_BENCH_RESAMPLES_MAX);
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool env_u64(const char *name, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return true;
	if (parse_u64(v, lo, hi, out))
		return true;
	fprintf(stderr, "bench: %s=%s: expected an integer in [%llu, %llu]\n", name, v,
		(unsigned long long)lo, (unsigned long long)hi);
	return false;
}

static char default_out_dir[PATH_MAX];

static const char *exe_dir(void)
{
	ssize_t n = readlink("/proc/self/exe", default_out_dir, sizeof(default_out_dir) - 1);
	if (n <= 0)
		return "build/bench";
	default_out_dir[n] = '\0';
	char *slash = strrchr(default_out_dir, '/');
	if (slash)
		*slash = '\0';
	return default_out_dir;
}

/* Splits TW_BENCH_FILTER on spaces and commas into o->patterns. */
static void env_patterns(struct options *o, char *buf, char **slots, int cap)
{
	int n = 0;
	for (char *tok = strtok(buf, " ,"); tok && n < cap; tok = strtok(NULL, " ,"))
		slots[n++] = tok;
	o->patterns = slots;
	o->npatterns = n;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	uint64_t warm_ms = 500, measure_ms = 2000, samples = 50, resamples = 10000, noise = 2;
	if (!env_u64("TW_BENCH_WARM_UP_MS", 1, 600000, &warm_ms) ||
	    !env_u64("TW_BENCH_MEASURE_MS", 1, 3600000, &measure_ms) ||
	    !env_u64("TW_BENCH_SAMPLES", 10, TW_BENCH_SAMPLES_MAX, &samples))
		return 2;
	static const struct option longopts[] = {
	    {"list", no_argument, 0, 'l'},
	    {"callgrind", no_argument, 0, 'c'},
	    {"warm-up-ms", required_argument, 0, 'w'},
	    {"measure-ms", required_argument, 0, 'm'},
	    {"samples", required_argument, 0, 's'},
	    {"resamples", required_argument, 0, 'r'},
	    {"noise", required_argument, 0, 'n'},
	    {"out-dir", required_argument, 0, 'o'},
	    {"no-save", no_argument, 0, 'N'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	o->save = true;
	int c, li = -1;
	while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
		bool ok = true;
		switch (c) {
		case 'l':
			o->list = true;
			break;
		case 'c':
			o->callgrind = true;
			break;
		case 'w':
			ok = parse_u64(optarg, 1, 600000, &warm_ms);
			break;
		case 'm':
			ok = parse_u64(optarg, 1, 3600000, &measure_ms);
			break;
		case 's':
			ok = parse_u64(optarg, 10, TW_BENCH_SAMPLES_MAX, &samples);
			break;
		case 'r':
			ok = parse_u64(optarg, 100, TW_BENCH_RESAMPLES_MAX, &resamples);
			break;
		case 'n':
			ok = parse_u64(optarg, 0, 100, &noise);
			break;
		case 'o':
			o->out_dir = optarg;
			break;
		case 'N':
			o->save = false;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "bench: bad value for --%s: %s (see --help)\n",
				li >= 0 ? longopts[li].name : "?", optarg);
			return 2;
		}
	}
	o->warm_up_ns = warm_ms * TW_NS_PER_MS;
	o->measure_ns = measure_ms * TW_NS_PER_MS;
	o->samples = (uint32_t)samples;
	o->resamples = (uint32_t)resamples;
	o->noise = (double)noise / 100;
	if (!o->out_dir)
		o->out_dir = exe_dir();
	o->patterns = argv + optind;
	o->npatterns = argc - optind;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	static char filter_buf[1024];
	static char *filter_slots[64];
	const char *env_filter = getenv("TW_BENCH_FILTER");
	if (o.npatterns == 0 && env_filter && *env_filter) {
		snprintf(filter_buf, sizeof(filter_buf), "%s", env_filter);
		env_patterns(&o, filter_buf, filter_slots, 64);
	}
	const struct bench_def **defs = NULL;
	long n = registry(&defs);
	if (n < 0)
		return 2;
	size_t nsel = 0;
	for (long i = 0; i < n; i++)
		nsel += selected(&o, defs[i]->id);
	if (o.list) {
		for (long i = 0; i < n; i++)
			if (selected(&o, defs[i]->id))
				printf("%s\n", defs[i]->id);
		goto out_free;
	}
	if (nsel == 0) {
		fprintf(stderr, "bench: no benchmark matches (%ld registered; try --list)\n", n);
		rc = 1;
		goto out_free;
	}
	if (o.callgrind && !BENCH_HAVE_CALLGRIND)
		fprintf(stderr, "bench: built without valgrind/callgrind.h: --callgrind runs the "
				"fixed counts but nothing can be measured\n");
	/* Only wall-clock results name the machine; in callgrind mode nothing may run before the
	 * benchmarks that another machine would run differently. */
	if (!o.callgrind)
		describe_machine();
	size_t k = 0, failed = 0;
	for (long i = 0; i < n; i++) {
		if (!selected(&o, defs[i]->id))
			continue;
		k++;
		failed += o.callgrind ? run_callgrind(defs[i]) : run_wall(defs[i], &o, k, nsel);
	}
	if (!o.callgrind)
		fprintf(stderr, "bench: %zu benchmarks, %zu failed; results in %s/<id>/new.json\n",
			nsel, failed, o.out_dir);
	rc = failed ? 1 : 0;
out_free:
	free(defs);
	return rc;
}
