/*
 * core_bench.c — benchmarks of the core floor: hashing, arena and pool allocation, a log call
 * that the filter drops, and command-line parsing.
 *
 * These are the building blocks of the request path, so their costs are the floor under every
 * end-to-end number. The ids are recorded in bench/baseline.json; keep them stable.
 *
 * TW_BENCH_SLOWDOWN (a compile-time switch, never set by the build) makes core/hash64/64 hash
 * its input twice. The perf-gate test builds a runner with it to show that the gate rejects a
 * regression.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "core/arena.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/options.h"
#include "core/pool.h"

/* ---- hashing ----------------------------------------------------------------------------- */

static _Alignas(64) unsigned char hash_input[4096];

static enum tw_err hash_setup(struct bench_state *st)
{
	for (size_t i = 0; i < sizeof(hash_input); i++)
		hash_input[i] = (unsigned char)(i * 131u + 7u);
	return TW_ERR_OK;
}

static void hash_n(struct bench_state *st, size_t n)
{
	for (uint64_t i = 0; i < st->iters; i++) {
		/* The input "changes" every iteration as far as the compiler knows, so the hash
		 * cannot be computed once and hoisted out of the loop. */
		bench_black_box(hash_input);
		bench_black_box_u64(tw_hash64(hash_input, n));
#ifdef TW_BENCH_SLOWDOWN
		if (n == 64) {
			bench_black_box(hash_input);
			bench_black_box_u64(tw_hash64(hash_input, n));
		}
#endif
	}
}

static void bench_hash64_64(struct bench_state *st)
{
	hash_n(st, 64);
}

static void bench_hash64_4096(struct bench_state *st)
{
	hash_n(st, 4096);
}

BENCH("core/hash64/64", bench_hash64_64, .setup = hash_setup, .bytes_per_iter = 64);
BENCH("core/hash64/4096", bench_hash64_4096, .setup = hash_setup, .bytes_per_iter = 4096);

/* ---- arena ------------------------------------------------------------------------------- */

/* Allocations between resets: a request-sized burst, and a divisor of every iteration count
 * the callgrind mode uses (200, 400), so each count covers whole bursts. */
#define ARENA_BURST 100

static enum tw_err arena_setup(struct bench_state *st)
{
	struct tw_arena *a = malloc(sizeof(*a));
	if (!a)
		return TW_ERR_NOMEM;
	tw_arena_init(a, 0, 0);
	st->ctx = a;
	return TW_ERR_OK;
}

static void arena_teardown(struct bench_state *st)
{
	tw_arena_free(st->ctx);
	free(st->ctx);
}

static void bench_arena_alloc_64(struct bench_state *st)
{
	struct tw_arena *a = st->ctx;
	for (uint64_t i = 0; i < st->iters; i++) {
		bench_black_box(tw_arena_alloc(a, 64, 8));
		if (i % ARENA_BURST == ARENA_BURST - 1)
			tw_arena_reset(a);
	}
}

BENCH("core/arena/alloc_64", bench_arena_alloc_64, .setup = arena_setup,
      .teardown = arena_teardown);

/* ---- pool -------------------------------------------------------------------------------- */

static enum tw_err pool_setup(struct bench_state *st)
{
	struct tw_pool *p = malloc(sizeof(*p));
	if (!p)
		return TW_ERR_NOMEM;
	enum tw_err err = tw_pool_init(p, 256, 1024);
	if (err != TW_ERR_OK) {
		free(p);
		return err;
	}
	/* Half full, like a busy connection table, so get/put work on a non-trivial free list. */
	for (int i = 0; i < 512; i++)
		(void)tw_pool_get(p);
	st->ctx = p;
	return TW_ERR_OK;
}

static void pool_teardown(struct bench_state *st)
{
	tw_pool_destroy(st->ctx);
	free(st->ctx);
}

static void bench_pool_get_put(struct bench_state *st)
{
	struct tw_pool *p = st->ctx;
	for (uint64_t i = 0; i < st->iters; i++) {
		void *slot = tw_pool_get(p);
		bench_black_box(slot);
		tw_pool_put(p, slot);
	}
}

BENCH("core/pool/get_put_256b", bench_pool_get_put, .setup = pool_setup, .teardown = pool_teardown);

/* ---- log --------------------------------------------------------------------------------- */

static enum tw_err log_setup(struct bench_state *st)
{
	return tw_log_set_filter("info");
}

static void bench_log_filtered(struct bench_state *st)
{
	for (uint64_t i = 0; i < st->iters; i++) {
		uint64_t v = bench_black_box_u64(i);
		TW_DEBUG(HTTP, "request %llu on connection %d", (unsigned long long)v, 7);
	}
}

BENCH("core/log/filtered_debug", bench_log_filtered, .setup = log_setup);

/* ---- options ----------------------------------------------------------------------------- */

/* A typical `serve` command line. The environment is read too (as at start-up), so wall-clock
 * numbers depend a little on its size; the perf gate runs with a fixed environment. */
static void bench_options_parse(struct bench_state *st)
{
	static char a0[] = "serve", a1[] = "--listen", a2[] = "127.0.0.1:9000", a3[] = "--workers",
		    a4[] = "4", a5[] = "--max-body-bytes=16M", a6[] = "--deadline-ms", a7[] = "250",
		    a8[] = "--pin-workers";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, NULL};
	struct tw_config c;
	char err[128];
	for (uint64_t i = 0; i < st->iters; i++) {
		int first = 0;
		bool help = false;
		tw_config_defaults(&c);
		enum tw_err e =
		    tw_config_parse(&c, TW_CMD_SERVE, 9, argv, 1, &first, &help, err, sizeof(err));
		bench_black_box_u64((uint64_t)e);
		bench_black_box(&c);
	}
}

/* Microseconds per call, long enough next to a clock read for a tail-latency profile. */
BENCH("core/options/parse_serve", bench_options_parse, .callgrind_iters = 50,
      .latency_samples = 10000);
