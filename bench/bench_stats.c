/* bench_stats.c — slope, bootstrap intervals and outlier fences; see bench_stats.h. */
#include "bench/bench_stats.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t bench_rng_next(struct bench_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

size_t bench_rng_below(struct bench_rng *r, size_t n)
{
	assert(n > 0);
	/* Multiply-shift instead of modulo: no division, and the bias is below 2^-32 for the
	 * sample counts used here. */
	return (size_t)(((bench_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double bench_stats_slope(const double *x, const double *y, size_t n)
{
	double sxy = 0, sxx = 0;
	for (size_t i = 0; i < n; i++) {
		sxy += x[i] * y[i];
		sxx += x[i] * x[i];
	}
	return sxx > 0 ? sxy / sxx : 0;
}

double bench_stats_r2(const double *x, const double *y, size_t n, double slope)
{
	if (n == 0)
		return 0;
	double mean = bench_stats_mean(y, n), ss_res = 0, ss_tot = 0;
	for (size_t i = 0; i < n; i++) {
		double e = y[i] - slope * x[i], d = y[i] - mean;
		ss_res += e * e;
		ss_tot += d * d;
	}
	return ss_tot > 0 ? 1 - ss_res / ss_tot : 1;
}

double bench_stats_mean(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : 0;
}

double bench_stats_stddev(const double *v, size_t n)
{
	if (n < 2)
		return 0;
	double m = bench_stats_mean(v, n), s = 0;
	for (size_t i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	return sqrt(s / (double)(n - 1));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void bench_stats_sort(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
}

double bench_stats_quantile_sorted(const double *sorted, size_t n, double q)
{
	assert(n > 0);
	if (q <= 0)
		return sorted[0];
	if (q >= 1)
		return sorted[n - 1];
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;
	double frac = pos - (double)i;
	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + frac * (sorted[i + 1] - sorted[i]);
}

enum tw_err bench_stats_median_mad(const double *v, size_t n, double *median, double *mad)
{
	if (n == 0) {
		*median = *mad = 0;
		return TW_ERR_OK;
	}
	double *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return TW_ERR_NOMEM;
	memcpy(tmp, v, n * sizeof(*tmp));
	bench_stats_sort(tmp, n);
	double med = bench_stats_quantile_sorted(tmp, n, 0.5);
	for (size_t i = 0; i < n; i++)
		tmp[i] = fabs(v[i] - med);
	bench_stats_sort(tmp, n);
	*median = med;
	*mad = 1.4826 * bench_stats_quantile_sorted(tmp, n, 0.5);
	free(tmp);
	return TW_ERR_OK;
}

/* The percentile interval of `dist` (sorted in place) around `point`. */
static struct bench_ci interval(double *dist, size_t n, double level, double point)
{
	bench_stats_sort(dist, n);
	double alpha = (1 - level) / 2;
	return (struct bench_ci){
	    .point = point,
	    .lo = bench_stats_quantile_sorted(dist, n, alpha),
	    .hi = bench_stats_quantile_sorted(dist, n, 1 - alpha),
	};
}

/* One resample of (x, y) pairs; returns its slope. */
static double resampled_slope(struct bench_rng *rng, const double *x, const double *y, size_t n)
{
	double sxy = 0, sxx = 0;
	for (size_t i = 0; i < n; i++) {
		size_t j = bench_rng_below(rng, n);
		sxy += x[j] * y[j];
		sxx += x[j] * x[j];
	}
	return sxx > 0 ? sxy / sxx : 0;
}

enum tw_err bench_stats_slope_ci(const double *x, const double *y, size_t n, uint32_t resamples,
				 double level, uint64_t seed, struct bench_ci *out)
{
	if (n == 0 || resamples == 0)
		return TW_ERR_INVALID_ARG;
	double *dist = malloc(resamples * sizeof(*dist));
	if (!dist)
		return TW_ERR_NOMEM;
	struct bench_rng rng = {seed};
	for (uint32_t r = 0; r < resamples; r++)
		dist[r] = resampled_slope(&rng, x, y, n);
	*out = interval(dist, resamples, level, bench_stats_slope(x, y, n));
	free(dist);
	return TW_ERR_OK;
}

enum tw_err bench_stats_mean_ci(const double *v, size_t n, uint32_t resamples, double level,
				uint64_t seed, struct bench_ci *out)
{
	if (n == 0 || resamples == 0)
		return TW_ERR_INVALID_ARG;
	double *dist = malloc(resamples * sizeof(*dist));
	if (!dist)
		return TW_ERR_NOMEM;
	struct bench_rng rng = {seed};
	for (uint32_t r = 0; r < resamples; r++) {
		double s = 0;
		for (size_t i = 0; i < n; i++)
			s += v[bench_rng_below(&rng, n)];
		dist[r] = s / (double)n;
	}
	*out = interval(dist, resamples, level, bench_stats_mean(v, n));
	free(dist);
	return TW_ERR_OK;
}

enum tw_err bench_stats_change_ci(const double *x_new, const double *y_new, size_t n_new,
				  const double *x_old, const double *y_old, size_t n_old,
				  uint32_t resamples, double level, uint64_t seed,
				  struct bench_ci *out)
{
	if (n_new == 0 || n_old == 0 || resamples == 0)
		return TW_ERR_INVALID_ARG;
	double old = bench_stats_slope(x_old, y_old, n_old);
	if (!(old > 0))
		return TW_ERR_INVALID_ARG;
	double *dist = malloc(resamples * sizeof(*dist));
	if (!dist)
		return TW_ERR_NOMEM;
	struct bench_rng rng = {seed};
	for (uint32_t r = 0; r < resamples; r++) {
		double a = resampled_slope(&rng, x_new, y_new, n_new);
		double b = resampled_slope(&rng, x_old, y_old, n_old);
		dist[r] = b > 0 ? a / b - 1 : 0;
	}
	double point = bench_stats_slope(x_new, y_new, n_new) / old - 1;
	*out = interval(dist, resamples, level, point);
	free(dist);
	return TW_ERR_OK;
}

enum tw_err bench_stats_tukey(const double *v, size_t n, struct bench_outliers *out,
			      uint8_t *classes)
{
	if (n == 0)
		return TW_ERR_INVALID_ARG;
	double *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return TW_ERR_NOMEM;
	memcpy(tmp, v, n * sizeof(*tmp));
	bench_stats_sort(tmp, n);
	memset(out, 0, sizeof(*out));
	out->q1 = bench_stats_quantile_sorted(tmp, n, 0.25);
	out->q3 = bench_stats_quantile_sorted(tmp, n, 0.75);
	free(tmp);
	double iqr = out->q3 - out->q1;
	out->low_severe = out->q1 - 3 * iqr;
	out->low_mild = out->q1 - 1.5 * iqr;
	out->high_mild = out->q3 + 1.5 * iqr;
	out->high_severe = out->q3 + 3 * iqr;
	for (size_t i = 0; i < n; i++) {
		enum bench_outlier c = BENCH_OUTLIER_NONE;
		if (v[i] < out->low_severe) {
			c = BENCH_OUTLIER_LOW_SEVERE;
			out->n_low_severe++;
		} else if (v[i] < out->low_mild) {
			c = BENCH_OUTLIER_LOW_MILD;
			out->n_low_mild++;
		} else if (v[i] > out->high_severe) {
			c = BENCH_OUTLIER_HIGH_SEVERE;
			out->n_high_severe++;
		} else if (v[i] > out->high_mild) {
			c = BENCH_OUTLIER_HIGH_MILD;
			out->n_high_mild++;
		}
		if (classes)
			classes[i] = (uint8_t)c;
	}
	return TW_ERR_OK;
}

uint32_t bench_outliers_total(const struct bench_outliers *o)
{
	return o->n_low_severe + o->n_low_mild + o->n_high_mild + o->n_high_severe;
}
