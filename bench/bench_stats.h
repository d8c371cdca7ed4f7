/*
 * bench_stats.h — the statistics behind the benchmark harness.
 *
 * Pure functions over caller-owned arrays, no I/O and no clock, so they can be unit-tested on
 * synthetic data. A run is a set of samples (x_i iterations took y_i nanoseconds) whose iteration
 * counts grow linearly; the time per iteration is the least-squares slope of y on x through the
 * origin, which averages out the fixed cost of a sample (the clock reads) instead of smearing it
 * over the iterations. Uncertainty comes from a bootstrap: resample the (x, y) pairs with
 * replacement, recompute the statistic, take the 2.5% and 97.5% quantiles. Resampling uses a
 * seeded generator, so the same samples always give the same interval.
 *
 * Expected load: a few hundred samples and some ten thousand resamples per benchmark; the
 * allocating functions take their scratch memory with malloc and release it before returning.
 */
#ifndef TW_BENCH_STATS_H
#define TW_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* A point estimate with the bounds of its confidence interval (lo <= point <= hi normally). */
struct bench_ci {
	double point, lo, hi;
};

/* splitmix64: small, fast, good enough for resampling; the seed makes intervals reproducible. */
struct bench_rng {
	uint64_t state;
};
uint64_t bench_rng_next(struct bench_rng *r);
/* Uniform integer in [0, n); n > 0. */
size_t bench_rng_below(struct bench_rng *r, size_t n);

/* Least-squares slope of y = b*x through the origin: sum(x*y) / sum(x*x). 0 when n is 0 or
 * every x is 0. */
double bench_stats_slope(const double *x, const double *y, size_t n);

/* Coefficient of determination of that fit (1 = every sample on the line). */
double bench_stats_r2(const double *x, const double *y, size_t n, double slope);

double bench_stats_mean(const double *v, size_t n);
/* Sample standard deviation (n - 1 in the denominator); 0 for n < 2. */
double bench_stats_stddev(const double *v, size_t n);

/* Sort ascending in place. */
void bench_stats_sort(double *v, size_t n);

/* Quantile q in [0, 1] of sorted data, linear interpolation between closest ranks (the
 * "type 7" definition used by R and NumPy). n must be > 0. */
double bench_stats_quantile_sorted(const double *sorted, size_t n, double q);

/* Median and median absolute deviation (scaled by 1.4826, consistent with the standard
 * deviation for normal data) of v. v is not modified. Returns TW_ERR_NOMEM or TW_ERR_OK. */
enum tw_err bench_stats_median_mad(const double *v, size_t n, double *median, double *mad);

/* Bootstrap confidence interval of the slope at `level` (0.95) with `resamples` resamples of the
 * (x, y) pairs. out->point is the slope of the full data. Returns TW_ERR_INVALID_ARG for n 0 or
 * resamples 0, TW_ERR_NOMEM. */
enum tw_err bench_stats_slope_ci(const double *x, const double *y, size_t n, uint32_t resamples,
				 double level, uint64_t seed, struct bench_ci *out);

/* Bootstrap confidence interval of the mean of v, as above. */
enum tw_err bench_stats_mean_ci(const double *v, size_t n, uint32_t resamples, double level,
				uint64_t seed, struct bench_ci *out);

/*
 * Relative change of the slope from an old run to a new one, (new - old) / old, with a bootstrap
 * interval: each resample draws both runs independently with replacement. The change counts as
 * significant when the interval excludes 0. Returns TW_ERR_INVALID_ARG when a run is empty or
 * the old slope is not positive, TW_ERR_NOMEM.
 */
enum tw_err bench_stats_change_ci(const double *x_new, const double *y_new, size_t n_new,
				  const double *x_old, const double *y_old, size_t n_old,
				  uint32_t resamples, double level, uint64_t seed,
				  struct bench_ci *out);

/* Tukey's fences: mild outliers lie beyond 1.5 IQR from the quartiles, severe beyond 3 IQR. */
enum bench_outlier {
	BENCH_OUTLIER_NONE = 0,
	BENCH_OUTLIER_LOW_SEVERE,
	BENCH_OUTLIER_LOW_MILD,
	BENCH_OUTLIER_HIGH_MILD,
	BENCH_OUTLIER_HIGH_SEVERE,
};

struct bench_outliers {
	double q1, q3;
	double low_severe, low_mild, high_mild, high_severe; /* the four fences */
	uint32_t n_low_severe, n_low_mild, n_high_mild, n_high_severe;
};

/* Classify every value of v (n > 0). When `classes` is not NULL it receives one class per value,
 * in the order of v. v is not modified. Returns TW_ERR_NOMEM, TW_ERR_INVALID_ARG for n 0. */
enum tw_err bench_stats_tukey(const double *v, size_t n, struct bench_outliers *out,
			      uint8_t *classes);

/* Total of the four counts. */
uint32_t bench_outliers_total(const struct bench_outliers *o);

#endif
