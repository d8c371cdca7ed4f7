/*
 * bench.h — the micro-benchmark harness: how a benchmark is written and registered.
 *
 * A benchmark is a function that runs its measured body `st->iters` times:
 *
 *     static void bench_hash_4k(struct bench_state *st)
 *     {
 *             for (uint64_t i = 0; i < st->iters; i++)
 *                     bench_black_box_u64(tw_hash64(buf, 4096));
 *     }
 *     BENCH("core/hash64/4096", bench_hash_4k, .bytes_per_iter = 4096);
 *
 * BENCH places a pointer to a constant `struct bench_def` in the ELF section `tw_bench_defs`; the
 * linker collects every such pointer from every object it links and brackets them with
 * __start_tw_bench_defs / __stop_tw_bench_defs, which the runner walks. So a new bench/NAME_bench.c
 * file needs no list to edit, only a re-run of ./configure.py. The objects are linked directly,
 * never through a static archive, because an archive member nobody references would be dropped
 * together with its registrations.
 *
 * The harness (bench.c) owns main(): it times each benchmark in wall-clock mode (warm-up, linear
 * sampling, slope, bootstrap interval, outliers, comparison with the previous run) or runs it a
 * fixed number of iterations between callgrind client requests (--callgrind) for the instruction
 * gate. See docs/bench.md.
 *
 * Contracts for benchmark authors:
 *  - `fn` must do the same work on every iteration (or the same work on average over a cycle
 *    whose length divides the iteration counts, e.g. an arena reset every 256 allocations), and
 *    must feed its results to bench_black_box*() so the compiler cannot delete them.
 *  - Everything not to be measured (allocating tables, building inputs) goes in `setup`, which
 *    may store a pointer in st->ctx; `teardown` releases it. Both run once per benchmark, outside
 *    any timed region. setup returning anything but TW_ERR_OK skips the benchmark as failed.
 *  - Ids are "group/name[/parameter]", lower case, '/'-separated; they become folder names under
 *    build/bench/ and keys of bench/baseline.json, so they must stay stable once recorded.
 *  - Single-threaded: the harness calls everything from the main thread.
 */
#ifndef TW_BENCH_H
#define TW_BENCH_H

#include <stdint.h>

#include "core/err.h"

struct bench_def;

/* What a benchmark function sees. */
struct bench_state {
	uint64_t iters;		     /* run the measured body exactly this many times */
	void *ctx;		     /* whatever setup stored; NULL otherwise */
	const struct bench_def *def; /* the registration, for its id */
};

struct bench_def {
	const char *id;
	void (*fn)(struct bench_state *st);
	enum tw_err (*setup)(struct bench_state *st); /* optional */
	void (*teardown)(struct bench_state *st);     /* optional */
	uint64_t bytes_per_iter;		      /* optional: reported as throughput */
	/* Iterations of the smaller of the two fixed-count runs in --callgrind mode; the larger
	 * one is twice as many. 0 means 200. Lower it for benchmarks whose iteration costs more
	 * than ~100k instructions, so the gate stays within its time budget. */
	uint64_t callgrind_iters;
	/* When non-zero: after the slope samples, time this many single iterations one by one and
	 * report their p50/p95/p99/p99.9/max (tail latency, for end-to-end benchmarks; 10,000 or
	 * more for a meaningful p99.9). Each sample includes one clock read (~20-30 ns), so use it
	 * for operations of microseconds, not nanoseconds. At most TW_BENCH_LATENCY_SAMPLES_MAX. */
	uint32_t latency_samples;
	const char *file; /* where BENCH was written; filled in by the macro */
	int line;
};

#define BENCH_CAT2_(a, b) a##b
#define BENCH_CAT_(a, b) BENCH_CAT2_(a, b)

/*
 * BENCH(id, fn[, .field = value ...]): register a benchmark. Optional fields are designated
 * initialisers of struct bench_def (.setup, .teardown, .bytes_per_iter, .callgrind_iters,
 * .latency_samples).
 * Use at file scope, at most once per source line.
 */
#define BENCH(id_, ...)                                                                      \
	static const struct bench_def BENCH_CAT_(bench_def_, __LINE__) = {                   \
	    .file = __FILE__, .line = __LINE__, .id = (id_), .fn = __VA_ARGS__};             \
	__attribute__((used, section("tw_bench_defs"))) static const struct bench_def *const \
	BENCH_CAT_(bench_ref_, __LINE__) = &BENCH_CAT_(bench_def_, __LINE__)

/*
 * Keep the optimiser honest. bench_black_box(p) makes the compiler assume the memory behind p is
 * read and written by code it cannot see; bench_black_box_u64(v) returns v through a register
 * the compiler cannot see into, so a computed result counts as used and a loop-invariant input
 * is not hoisted; bench_clobber() makes every earlier store to memory observable. Each costs
 * zero instructions of its own.
 */
static inline void bench_black_box(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static inline uint64_t bench_black_box_u64(uint64_t v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}

static inline void bench_clobber(void)
{
	__asm__ volatile("" : : : "memory");
}

#endif
