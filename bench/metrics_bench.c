/*
 * metrics_bench.c — the cost of recording a metric on a worker, and of a scrape.
 *
 * metrics/observe          one histogram observation on a worker's own shard (the kernel-latency
 *                          family: one series, the dashboards' buckets plus the finer ones)
 * metrics/http_observe     what the HTTP server records per response: counter + histogram of
 *                          {route, method, status}
 * metrics/scrape_1000      a Prometheus text exposition of 1,000 counter series summed over
 *                          4 worker shards
 *
 * Goals (docs/PERFORMANCE.md): observe <= 5 ns, scrape of 1,000 series <= 1 ms.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "metrics/met.h"
#include "metrics/met_tw.h"

static const struct met_http_route routes[] = {
	{"GET", "/healthz"}, {"GET", "/metrics"}, {"POST", "/functions/:id/invoke"}};

/* Latencies spread over the buckets, as real ones are; a table so that producing them costs
 * one load, not the division a generator would. */
static uint64_t latencies_ns[256];

static enum tw_err tw_metrics_setup(struct bench_state *st)
{
	uint64_t ns = 1000;
	for (size_t i = 0; i < 256; i++) {
		latencies_ns[i] = ns;
		ns = ns * 7 % 9999991 + 13;
	}
	struct met_tw_config c = {.workers = 1, .routes = routes, .nroutes = 3};
	enum tw_err e = met_tw_init(&c);
	if (e)
		return e;
	return met_shard_bind(0);
}

static void tw_metrics_teardown(struct bench_state *st)
{
	met_shard_unbind();
	met_tw_fini();
}

static void bench_observe(struct bench_state *st)
{
	for (uint64_t i = 0; i < st->iters; i++)
		met_kernel_latency(latencies_ns[i & 255]);
}

static void bench_http_observe(struct bench_state *st)
{
	for (uint64_t i = 0; i < st->iters; i++)
		met_http_observe((uint32_t)(i & 1), MET_HTTP_GET, i & 15 ? 200 : 404,
				 latencies_ns[i & 255]);
}

BENCH("metrics/observe", bench_observe, .setup = tw_metrics_setup,
      .teardown = tw_metrics_teardown);
BENCH("metrics/http_observe", bench_http_observe, .setup = tw_metrics_setup,
      .teardown = tw_metrics_teardown);

/* ---- scrape ------------------------------------------------------------------------------ */

struct scrape_ctx {
	struct met_registry *reg;
	struct met_buf buf;
};

enum { SCRAPE_SERIES = 1000, SCRAPE_SHARDS = 4 };

static enum tw_err scrape_setup(struct bench_state *st)
{
	struct scrape_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return TW_ERR_NOMEM;
	c->reg = met_registry_new(SCRAPE_SHARDS, SCRAPE_SERIES + 16);
	if (!c->reg) {
		free(c);
		return TW_ERR_NOMEM;
	}
	const char *names[] = {"series"};
	struct met_dim *d = met_dim_new(c->reg, names, 1, SCRAPE_SERIES, 0);
	struct met_family_spec spec = {.name = "bench_scrape_total",
				       .help = "Synthetic counter series for the scrape benchmark.",
				       .kind = MET_COUNTER, .dims = {d}, .ndims = 1};
	struct met_family *f;
	if (!d || met_family_new(c->reg, &spec, &f) != TW_ERR_OK ||
	    met_registry_seal(c->reg) != TW_ERR_OK)
		return TW_ERR_NOMEM;
	for (uint32_t i = 0; i < SCRAPE_SERIES; i++) {
		char v[16];
		snprintf(v, sizeof(v), "s%u", i);
		const char *vals[] = {v};
		uint32_t idx = met_dim_intern(d, vals);
		met_counter_add(f, met_series(f, &idx), (uint64_t)i * 1000003u);
	}
	st->ctx = c;
	return TW_ERR_OK;
}

static void scrape_teardown(struct bench_state *st)
{
	struct scrape_ctx *c = st->ctx;
	met_buf_free(&c->buf);
	met_registry_free(c->reg);
	free(c);
}

static void bench_scrape(struct bench_state *st)
{
	struct scrape_ctx *c = st->ctx;
	for (uint64_t i = 0; i < st->iters; i++) {
		met_expose(c->reg, MET_FORMAT_TEXT, &c->buf);
		bench_black_box(c->buf.data);
	}
}

BENCH("metrics/scrape_1000", bench_scrape, .setup = scrape_setup, .teardown = scrape_teardown,
      .callgrind_iters = 5);
