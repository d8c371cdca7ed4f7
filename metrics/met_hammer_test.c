/*
 * met_hammer_test.c — many threads updating their own shards while scrapes run.
 *
 * Writers bound to worker shards (plain load + store) and unbound writers sharing the shared
 * shard (fetch-and-add) hammer a counter and a histogram. Totals after the join must be exact.
 * A concurrent scraper checks that no value it reads is torn and none goes backwards: the
 * counter is bumped by K = 2^32 + 1, so every untorn shard value and every sum of them is a
 * multiple of K whose two 32-bit halves are equal; a torn 64-bit read would break that.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"

#define BOUND_WRITERS 3
#define SHARED_WRITERS 2
#define ITERS 500000
#define K ((1ull << 32) + 1)

static const double bounds[] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2};
/* Observations cycle through these (ns); each lands in a known bucket. */
static const uint64_t obs[] = {500, 1000, 1001, 50000, 100000, 2000000, 20000000, 7};
static const uint32_t obs_bucket[] = {0, 0, 1, 2, 2, 4, 5, 0};
#define NOBS (sizeof(obs) / sizeof(obs[0]))

struct hammer {
	struct met_registry *r;
	struct met_family *ctr, *hist;
	_Atomic int running;
	_Atomic uint64_t scrapes;
};

struct writer_arg {
	struct hammer *h;
	int shard; /* -1: unbound */
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	if (a->shard >= 0)
		cr_assert_eq(met_shard_bind((uint32_t)a->shard), TW_ERR_OK);
	for (uint32_t i = 0; i < ITERS; i++) {
		met_counter_add(a->h->ctr, 0, K);
		met_histogram_observe(a->h->hist, 0, obs[i % NOBS]);
	}
	met_shard_unbind();
	return NULL;
}

static uint64_t parse_after(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix);
	cr_assert(p, "no %s in scrape", prefix);
	return strtoull(p + strlen(prefix), NULL, 10);
}

static void *scraper(void *p)
{
	struct hammer *h = p;
	uint64_t last_ctr = 0, last_count = 0, last_text_ctr = 0;
	uint64_t last_buckets[6] = {0};
	struct met_buf b = {0};
	/* Keep scraping until the writers stop, and at least a few times after. */
	for (uint64_t n = 0; atomic_load(&h->running) || n < 3; n++) {
		uint64_t v = met_read_u64(h->ctr, 0);
		cr_assert_eq(v % K, 0, "torn counter value %#llx", (unsigned long long)v);
		cr_assert_eq(v >> 32, v & 0xffffffffu, "torn counter value %#llx",
			     (unsigned long long)v);
		cr_assert_geq(v, last_ctr, "counter went backwards");
		last_ctr = v;
		struct met_histogram_read hr;
		met_read_histogram(h->hist, 0, &hr);
		cr_assert_eq(hr.count, hr.buckets[5]);
		cr_assert_geq(hr.count, last_count, "histogram count went backwards");
		last_count = hr.count;
		for (int i = 0; i < 6; i++) {
			cr_assert_geq(hr.buckets[i], last_buckets[i], "bucket %d went backwards",
				      i);
			if (i)
				cr_assert_geq(hr.buckets[i], hr.buckets[i - 1], "not cumulative");
			last_buckets[i] = hr.buckets[i];
		}
		if (n % 16 == 0) {
			cr_assert_eq(met_expose(h->r, MET_FORMAT_TEXT, &b), TW_ERR_OK);
			uint64_t t = parse_after(b.data, "\nhammer_total ");
			cr_assert_eq(t % K, 0, "torn counter in the text");
			cr_assert_geq(t, last_text_ctr, "text counter went backwards");
			last_text_ctr = t;
			uint64_t inf = parse_after(b.data, "hammer_seconds_bucket{le=\"+Inf\"} ");
			uint64_t cnt = parse_after(b.data, "\nhammer_seconds_count ");
			cr_assert_eq(inf, cnt);
		}
		atomic_fetch_add(&h->scrapes, 1);
	}
	met_buf_free(&b);
	return NULL;
}

Test(met_hammer, exact_totals_and_untorn_scrapes, .timeout = 60)
{
	struct hammer h = {0};
	h.r = met_registry_new(BOUND_WRITERS, 10);
	struct met_family_spec c = {.name = "hammer_total", .help = "h", .kind = MET_COUNTER};
	struct met_family_spec hs = {.name = "hammer_seconds",
				     .help = "h",
				     .kind = MET_HISTOGRAM,
				     .bounds = bounds,
				     .nbounds = 5,
				     .ticks_per_unit = 1000000000};
	cr_assert_eq(met_family_new(h.r, &c, &h.ctr), TW_ERR_OK);
	cr_assert_eq(met_family_new(h.r, &hs, &h.hist), TW_ERR_OK);
	cr_assert_eq(met_registry_seal(h.r), TW_ERR_OK);
	atomic_store(&h.running, 1);
	pthread_t sc, w[BOUND_WRITERS + SHARED_WRITERS];
	struct writer_arg args[BOUND_WRITERS + SHARED_WRITERS];
	pthread_create(&sc, NULL, scraper, &h);
	for (int i = 0; i < BOUND_WRITERS + SHARED_WRITERS; i++) {
		args[i] = (struct writer_arg){&h, i < BOUND_WRITERS ? i : -1};
		pthread_create(&w[i], NULL, writer, &args[i]);
	}
	for (int i = 0; i < BOUND_WRITERS + SHARED_WRITERS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&h.running, 0);
	pthread_join(sc, NULL);

	const uint64_t threads = BOUND_WRITERS + SHARED_WRITERS;
	cr_assert_eq(met_read_u64(h.ctr, 0), threads * ITERS * K);
	uint64_t want[6] = {0}, sum = 0;
	for (uint32_t i = 0; i < ITERS; i++) {
		want[obs_bucket[i % NOBS]] += threads;
		sum += obs[i % NOBS] * threads;
	}
	struct met_histogram_read hr;
	met_read_histogram(h.hist, 0, &hr);
	uint64_t cum = 0;
	for (int i = 0; i < 6; i++) {
		cum += want[i];
		cr_assert_eq(hr.buckets[i], cum, "bucket %d: %llu != %llu", i,
			     (unsigned long long)hr.buckets[i], (unsigned long long)cum);
	}
	cr_assert_eq(hr.count, threads * ITERS);
	cr_assert_eq(hr.sum_ticks, sum);
	cr_assert_gt(atomic_load(&h.scrapes), 3);
	cr_log_info("scrapes during the run: %llu", (unsigned long long)atomic_load(&h.scrapes));
	met_registry_free(h.r);
}
