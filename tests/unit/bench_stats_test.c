/*
 * bench_stats_test.c — the benchmark harness's statistics on synthetic data: the slope, the
 * bootstrap intervals, the change between runs and Tukey's outlier classes.
 *
 * The harness is not one of the floors' libraries, so its statistics module is compiled into
 * this test directly; it depends on nothing but libc and libm.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "bench/bench_stats.c"

#define N 50

/* Samples as the harness takes them: iteration counts d, 2d, ... and times per_iter * x plus
 * multiplicative noise of up to +/- noise. */
static void synth(double *x, double *y, size_t n, double per_iter, double noise, uint64_t seed)
{
	struct bench_rng rng = {seed};
	for (size_t i = 0; i < n; i++) {
		double u = (double)(bench_rng_next(&rng) >> 11) / 9007199254740992.0; /* [0, 1) */
		x[i] = (double)(i + 1) * 1000;
		y[i] = per_iter * x[i] * (1 + noise * (2 * u - 1));
	}
}

Test(bench_stats, slope_of_exact_line)
{
	double x[] = {1, 2, 3, 4, 5}, y[] = {2.5, 5, 7.5, 10, 12.5};
	cr_assert_float_eq(bench_stats_slope(x, y, 5), 2.5, 1e-12);
	cr_assert_float_eq(bench_stats_r2(x, y, 5, 2.5), 1.0, 1e-12);
	cr_assert_eq(bench_stats_slope(x, y, 0), 0);
}

Test(bench_stats, slope_through_origin_is_least_squares)
{
	/* sum(xy)/sum(xx) for x = 1, 2, 3 and y = 1, 3, 2: (1 + 6 + 6) / 14. */
	double x[] = {1, 2, 3}, y[] = {1, 3, 2};
	cr_assert_float_eq(bench_stats_slope(x, y, 3), 13.0 / 14.0, 1e-12);
}

Test(bench_stats, slope_recovers_noisy_per_iteration_time)
{
	double x[N], y[N];
	synth(x, y, N, 42.0, 0.10, 1);
	double b = bench_stats_slope(x, y, N);
	cr_assert(fabs(b - 42.0) < 42.0 * 0.03, "slope %f", b);
}

Test(bench_stats, quantiles_interpolate_linearly)
{
	double v[] = {1, 2, 3, 4};
	cr_assert_float_eq(bench_stats_quantile_sorted(v, 4, 0.25), 1.75, 1e-12);
	cr_assert_float_eq(bench_stats_quantile_sorted(v, 4, 0.5), 2.5, 1e-12);
	cr_assert_float_eq(bench_stats_quantile_sorted(v, 4, 1.0), 4, 1e-12);
	cr_assert_float_eq(bench_stats_quantile_sorted(v, 1, 0.7), 1, 1e-12);
}

Test(bench_stats, median_and_mad)
{
	double v[] = {100, 2, 3, 1, 4}, med, mad;
	cr_assert_eq(bench_stats_median_mad(v, 5, &med, &mad), TW_ERR_OK);
	cr_assert_float_eq(med, 3, 1e-12);
	/* |v - 3| = 97, 1, 0, 2, 1 -> median 1, scaled for normal consistency. */
	cr_assert_float_eq(mad, 1.4826, 1e-12);
	cr_assert_float_eq(v[0], 100, 0, "input untouched");
}

Test(bench_stats, bootstrap_slope_ci_contains_true_value)
{
	double x[N], y[N];
	synth(x, y, N, 250.0, 0.20, 7);
	struct bench_ci ci;
	cr_assert_eq(bench_stats_slope_ci(x, y, N, 10000, 0.95, 99, &ci), TW_ERR_OK);
	cr_assert(ci.lo <= ci.point && ci.point <= ci.hi);
	cr_assert(ci.lo < 250.0 && 250.0 < ci.hi, "[%f %f %f]", ci.lo, ci.point, ci.hi);
	cr_assert(ci.hi - ci.lo < 250.0 * 0.1, "interval too wide: [%f %f]", ci.lo, ci.hi);

	struct bench_ci again;
	bench_stats_slope_ci(x, y, N, 10000, 0.95, 99, &again);
	cr_assert(again.lo == ci.lo && again.hi == ci.hi, "same seed, same interval");
}

Test(bench_stats, bootstrap_slope_ci_coverage)
{
	/* A 95% interval should miss the true value about 5 times in 100 data sets; allow up to
	 * 15 (the bootstrap percentile interval is a little narrow at n = 50). */
	int misses = 0;
	for (uint64_t s = 0; s < 100; s++) {
		double x[N], y[N];
		struct bench_ci ci;
		synth(x, y, N, 10.0, 0.30, 1000 + s);
		cr_assert_eq(bench_stats_slope_ci(x, y, N, 2000, 0.95, s, &ci), TW_ERR_OK);
		misses += !(ci.lo <= 10.0 && 10.0 <= ci.hi);
	}
	cr_assert_leq(misses, 15, "%d of 100 intervals missed", misses);
}

Test(bench_stats, bootstrap_mean_ci_contains_true_mean)
{
	double v[200];
	struct bench_rng rng = {3};
	for (int i = 0; i < 200; i++)
		v[i] = 5.0 + (double)(bench_rng_next(&rng) % 1001) / 1000.0 - 0.5;
	struct bench_ci ci;
	cr_assert_eq(bench_stats_mean_ci(v, 200, 10000, 0.95, 5, &ci), TW_ERR_OK);
	cr_assert(ci.lo < 5.0 && 5.0 < ci.hi, "[%f %f]", ci.lo, ci.hi);
	cr_assert_eq(bench_stats_mean_ci(v, 0, 10, 0.95, 5, &ci), TW_ERR_INVALID_ARG);
}

Test(bench_stats, change_between_runs)
{
	double x[N], y_old[N], y_same[N], y_slow[N];
	synth(x, y_old, N, 100.0, 0.05, 11);
	synth(x, y_same, N, 100.0, 0.05, 12);
	synth(x, y_slow, N, 150.0, 0.05, 13);
	struct bench_ci c;
	cr_assert_eq(bench_stats_change_ci(x, y_same, N, x, y_old, N, 5000, 0.95, 1, &c),
		     TW_ERR_OK);
	cr_assert(c.lo < 0 && 0 < c.hi, "no change expected: [%f %f]", c.lo, c.hi);
	cr_assert_eq(bench_stats_change_ci(x, y_slow, N, x, y_old, N, 5000, 0.95, 1, &c),
		     TW_ERR_OK);
	cr_assert(fabs(c.point - 0.5) < 0.03, "change %f", c.point);
	cr_assert(c.lo > 0.4, "significant slowdown expected: [%f %f]", c.lo, c.hi);
	double zero[N] = {0};
	cr_assert_eq(bench_stats_change_ci(x, y_slow, N, x, zero, N, 100, 0.95, 1, &c),
		     TW_ERR_INVALID_ARG);
}

Test(bench_stats, tukey_classifies_known_sample)
{
	/* Sorted: -30 -10 10 10 12 14 15 16 18 20 20 40 60 (13 values). Q1 is the 4th value (10),
	 * Q3 the 10th (20), IQR 10: fences at -20, -5, 35 and 50. */
	double v[] = {15, 60, 10, -10, 20, 12, 40, 18, -30, 14, 10, 16, 20};
	uint8_t cls[13];
	struct bench_outliers o;
	cr_assert_eq(bench_stats_tukey(v, 13, &o, cls), TW_ERR_OK);
	cr_assert_float_eq(o.q1, 10, 1e-12);
	cr_assert_float_eq(o.q3, 20, 1e-12);
	cr_assert_float_eq(o.low_severe, -20, 1e-12);
	cr_assert_float_eq(o.low_mild, -5, 1e-12);
	cr_assert_float_eq(o.high_mild, 35, 1e-12);
	cr_assert_float_eq(o.high_severe, 50, 1e-12);
	cr_assert_eq(o.n_low_severe, 1);
	cr_assert_eq(o.n_low_mild, 1);
	cr_assert_eq(o.n_high_mild, 1);
	cr_assert_eq(o.n_high_severe, 1);
	cr_assert_eq(bench_outliers_total(&o), 4);
	cr_assert_eq(cls[1], BENCH_OUTLIER_HIGH_SEVERE);
	cr_assert_eq(cls[3], BENCH_OUTLIER_LOW_MILD);
	cr_assert_eq(cls[6], BENCH_OUTLIER_HIGH_MILD);
	cr_assert_eq(cls[8], BENCH_OUTLIER_LOW_SEVERE);
	cr_assert_eq(cls[0], BENCH_OUTLIER_NONE);
	cr_assert_eq(cls[4], BENCH_OUTLIER_NONE);
}

Test(bench_stats, tukey_value_on_a_fence_is_not_an_outlier)
{
	/* Q1 = 10 and Q3 = 20 (type 7 on 9 values: positions 2 and 6), mild fence at 35. */
	double v[] = {10, 10, 10, 15, 15, 20, 20, 20, 35};
	struct bench_outliers o;
	cr_assert_eq(bench_stats_tukey(v, 9, &o, NULL), TW_ERR_OK);
	cr_assert_float_eq(o.high_mild, 35, 1e-12);
	cr_assert_eq(bench_outliers_total(&o), 0);
	cr_assert_eq(bench_stats_tukey(v, 0, &o, NULL), TW_ERR_INVALID_ARG);
}
