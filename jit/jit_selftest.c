/* jit_selftest.c — GPU verification: blueprints bit-exact against the host, overhead, bandwidth.
 * See jit_selftest.h. */
#include "jit/jit_selftest.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/limits.h"
#include "gpu/gpu_abi.h"
#include "gpu/gpu_admit.h"
#include "gpu/gpu_completion.h"
#include "gpu/gpu_driver.h"
#include "jit/jit_builtin.h"
#include "jit/jit_cache.h"
#include "jit/jit_gpu.h"
#include "jit/jit_host.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	/* splitmix64: deterministic, so a mismatch is reproducible run to run */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Random values with the edge cases mixed in: one element in eight is an edge. */
static void fill(void *dst, enum jit_type t, uint64_t n)
{
	static const uint32_t e32[] = {0x7fc00000u, 0xffc00000u, 0x7fa00001u, 0x80000000u, 0,
				       0x7f800000u, 0xff800000u, 0x00000001u, 0x3f800000u,
				       0x4f000000u, 0xcf000000u, 0x4f800000u};
	static const uint64_t e64[] = {0x7ff8000000000000ull, 0x8000000000000000ull, 0,
				       0x7ff0000000000000ull, 0x0000000000000001ull,
				       0x43e0000000000000ull, 0xc3e0000000000000ull,
				       0x41e0000000000000ull, 0x3ff0000000000000ull};
	static const uint64_t ei[] = {0, 1, (uint64_t)-1, 0x80000000u, 0x7fffffffu,
				      0x8000000000000000ull, 0x7fffffffffffffffull, 31, 32, 63, 64};
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = rnd();
		bool edge = (r & 7) == 0;
		uint64_t v = rnd();
		switch (t) {
		case JIT_F32: {
			uint32_t u = edge ? e32[(r >> 3) % (sizeof(e32) / 4)] : (uint32_t)v;
			if (!edge && (r & 8)) { /* ordinary magnitudes too, not only random bits */
				float f = (float)((int64_t)(v >> 40) - (1 << 23)) / 1024.0f;
				memcpy(&u, &f, 4);
			}
			memcpy((uint8_t *)dst + 4 * i, &u, 4);
			break;
		}
		case JIT_F64: {
			uint64_t u = edge ? e64[(r >> 3) % (sizeof(e64) / 8)] : v;
			if (!edge && (r & 8)) {
				double d = (double)((int64_t)(v >> 11) - (1ll << 52)) / 65536.0;
				memcpy(&u, &d, 8);
			}
			memcpy((uint8_t *)dst + 8 * i, &u, 8);
			break;
		}
		case JIT_I32: {
			uint32_t u = edge ? (uint32_t)ei[(r >> 3) % (sizeof(ei) / 8)] : (uint32_t)v;
			memcpy((uint8_t *)dst + 4 * i, &u, 4);
			break;
		}
		case JIT_I64: {
			uint64_t u = edge ? ei[(r >> 3) % (sizeof(ei) / 8)] : v;
			memcpy((uint8_t *)dst + 8 * i, &u, 8);
			break;
		}
		}
	}
}

/* Inputs used as integer divisors get their zeros and -1s replaced so the launch is allowed
 * (the refusal itself is tested on the host). */
static void fix_divisors(const struct jit_blueprint *bp, void **inputs, uint64_t n)
{
	for (unsigned k = 0; k < bp->n_nodes; k++) {
		const struct jit_node *nd = &bp->nodes[k];
		if ((nd->op != JIT_OP_DIV && nd->op != JIT_OP_REM) ||
		    jit_type_is_float((enum jit_type)nd->type))
			continue;
		const struct jit_node *d = &bp->nodes[nd->b];
		if (d->op != JIT_OP_INPUT)
			continue;
		for (uint64_t i = 0; i < n; i++) {
			if (nd->type == JIT_I32) {
				int32_t *a = (int32_t *)inputs[d->imm] + i;
				if (*a == 0 || *a == -1)
					*a = 3;
			} else {
				int64_t *a = (int64_t *)inputs[d->imm] + i;
				if (*a == 0 || *a == -1)
					*a = 3;
			}
		}
	}
}

static void random_params(const struct jit_blueprint *bp, union jit_value *p)
{
	for (unsigned i = 0; i < bp->n_params; i++) {
		fill(&p[i], (enum jit_type)bp->param_type[i], 1);
		if (bp->param_type[i] == JIT_I32 && (p[i].i32 == 0 || p[i].i32 == -1))
			p[i].i32 = 7;
		if (bp->param_type[i] == JIT_I64 && (p[i].i64 == 0 || p[i].i64 == -1))
			p[i].i64 = 7;
	}
}

static int verify_blueprints(struct jit_cache *c, bool quick, FILE *out)
{
	static const uint64_t sizes_full[] = {0, 1, 7, 255, 256, 257, 1000, 65537, (1u << 20) + 3};
	static const uint64_t sizes_quick[] = {0, 1, 7, 1000};
	const uint64_t *sizes = quick ? sizes_quick : sizes_full;
	size_t n_sizes = quick ? 4 : sizeof(sizes_full) / sizeof(sizes_full[0]);
	uint64_t max_n = sizes[n_sizes - 1];
	void *in[JIT_INPUTS_MAX];
	for (int k = 0; k < JIT_INPUTS_MAX; k++)
		in[k] = malloc(max_n * 8 + 8);
	void *want = malloc(max_n * 8 + 8), *got = malloc(max_n * 8 + 8);
	int failures = 0, runs = 0;
	for (size_t b = 0; b < jit_builtin_count(); b++) {
		const struct jit_blueprint *bp = jit_builtin_get(b);
		for (size_t s = 0; s < n_sizes; s++) {
			uint64_t n = sizes[s];
			struct jit_args args;
			memset(&args, 0, sizeof(args));
			for (unsigned k = 0; k < bp->n_inputs; k++) {
				fill(in[k], (enum jit_type)bp->in_type[k], n);
				args.inputs[k] = in[k];
			}
			fix_divisors(bp, in, n);
			random_params(bp, args.params);
			if (bp->kind == JIT_REDUCE)
				fill(&args.reduce_init, (enum jit_type)bp->out_type, 1);
			size_t osz = jit_type_size((enum jit_type)bp->out_type);
			size_t out_bytes = bp->kind == JIT_REDUCE ? osz : osz * n;
			memset(want, 0xa5, out_bytes + 8);
			memset(got, 0x5a, out_bytes + 8);
			args.out = want;
			enum tw_err e1 = jit_host_run(bp, &args);
			args.out = got;
			enum tw_err e2 = jit_gpu_run(c, bp, &args);
			runs++;
			if (e1 != TW_ERR_OK || e2 != TW_ERR_OK) {
				fprintf(out, "FAIL %-16s n=%-8llu host %s gpu %s (%s)\n", bp->name,
					(unsigned long long)n, tw_err_str(e1), tw_err_str(e2),
					gpu_last_error());
				failures++;
				continue;
			}
			if (memcmp(want, got, out_bytes) != 0) {
				size_t i = 0;
				while (memcmp((uint8_t *)want + i * osz, (uint8_t *)got + i * osz,
					      osz) == 0)
					i++;
				uint64_t w = 0, g = 0;
				memcpy(&w, (uint8_t *)want + i * osz, osz);
				memcpy(&g, (uint8_t *)got + i * osz, osz);
				fprintf(out,
					"FAIL %-16s n=%-8llu first mismatch at %zu: host %016llx "
					"gpu %016llx\n",
					bp->name, (unsigned long long)n, i, (unsigned long long)w,
					(unsigned long long)g);
				failures++;
			}
		}
	}
	fprintf(out, "blueprints: %d runs over %zu blueprints x %zu sizes, %d mismatches\n", runs,
		jit_builtin_count(), n_sizes, failures);
	for (int k = 0; k < JIT_INPUTS_MAX; k++)
		free(in[k]);
	free(want);
	free(got);
	return failures;
}

/* The guest ABI end to end: a blueprint's PTX loaded by a "guest", buffers, argv records. */
static int verify_guest_abi(struct jit_cache *c, FILE *out)
{
	const struct jit_blueprint *bp = jit_builtin_find("add_i32");
	const struct jit_cache_entry *e;
	if (jit_cache_get(c, bp, jit_gpu_arch(), &e) != TW_ERR_OK)
		return 1;
	enum { N = 1000 };
	size_t ptx_at = 0, name_at = e->ptx_len, args_at = name_at + 64, a_at = args_at + 64;
	size_t mem_size = a_at + 3 * N * 4;
	uint8_t *mem = calloc(1, mem_size);
	struct gpu_guest_mem m = {mem, mem_size};
	memcpy(mem + ptx_at, e->ptx, e->ptx_len);
	memcpy(mem + name_at, e->entry_name, strlen(e->entry_name));
	int32_t *a = (int32_t *)(mem + a_at), *b = a + N, *r = b + N;
	for (int i = 0; i < N; i++)
		a[i] = i * 3, b[i] = -i;
	struct gpu_guest *g;
	int fail = 1;
	if (gpu_guest_create(&g, 1) != TW_ERR_OK)
		goto out_free;
	int64_t k = gpu_wasi_cuda_load_ptx(g, m, (uint32_t)ptx_at, (uint32_t)e->ptx_len,
					   (uint32_t)name_at, (uint32_t)strlen(e->entry_name));
	int64_t da = gpu_wasi_cuda_alloc(g, N * 4, 0), db = gpu_wasi_cuda_alloc(g, N * 4, 0),
		dr = gpu_wasi_cuda_alloc(g, N * 4, 0);
	if (k < 0 || da < 0 || db < 0 || dr < 0) {
		fprintf(out, "FAIL guest ABI setup: %lld %lld (%s)\n", (long long)k, (long long)da,
			gpu_last_error());
		goto out_destroy;
	}
	gpu_wasi_cuda_memcpy_h2d(g, m, da, (uint32_t)a_at, N * 4);
	gpu_wasi_cuda_memcpy_h2d(g, m, db, (uint32_t)(a_at + N * 4), N * 4);
	uint8_t *p = mem + args_at;
	int64_t vals[4] = {dr, da, db, N};
	uint8_t tags[4] = {0x05, 0x05, 0x05, 0x02};
	for (int i = 0; i < 4; i++) {
		*p++ = tags[i];
		memcpy(p, &vals[i], 8);
		p += 8;
	}
	int32_t rc = gpu_wasi_cuda_launch(g, m, k, 4, 1, 1, 256, 1, 1, 0, (uint32_t)args_at, 36);
	int32_t rs = gpu_wasi_cuda_sync(g);
	int32_t rd = gpu_wasi_cuda_memcpy_d2h(g, m, (uint32_t)(a_at + 2 * N * 4), dr, N * 4);
	fail = rc != 0 || rs != 0 || rd != 0;
	for (int i = 0; i < N && !fail; i++)
		fail = r[i] != 2 * i;
	fprintf(out, "guest ABI: load_ptx/alloc/h2d/launch/sync/d2h %s (launch %d sync %d)\n",
		fail ? "FAILED" : "ok", rc, rs);
out_destroy:
	gpu_guest_destroy(g);
out_free:
	free(mem);
	return fail;
}

static void measure(struct jit_cache *c, FILE *out)
{
	const struct jit_blueprint *bp = jit_builtin_find("add_f32");
	struct gpu_function *fn;
	if (jit_gpu_kernel(c, bp, &fn) != TW_ERR_OK)
		return;
	struct gpu_stream *s;
	struct gpu_event *e0, *e1;
	if (gpu_stream_create(&s) != TW_ERR_OK || gpu_event_create(&e0, true) != TW_ERR_OK ||
	    gpu_event_create(&e1, true) != TW_ERR_OK)
		return;
	uint64_t small[3];
	for (int i = 0; i < 3; i++)
		gpu_mem_alloc(1024, &small[i]);
	union jit_value none[JIT_PARAMS_MAX];
	memset(none, 0, sizeof(none));
	enum { ITERS = 2000 };

	/* Raw cuLaunchKernel: the same kernel and arguments, launched back to back. */
	void *p[4] = {&small[0], &small[1], &small[2], NULL};
	uint64_t one = 1;
	p[3] = &one;
	struct gpu_dim g1 = {1, 1, 1}, b256 = {256, 1, 1};
	for (int i = 0; i < 100; i++)
		gpu_launch(fn, g1, b256, 0, s, p);
	gpu_stream_sync(s);
	uint64_t t0 = tw_now_ns();
	for (int i = 0; i < ITERS; i++)
		gpu_launch(fn, g1, b256, 0, s, p);
	gpu_stream_sync(s);
	double raw_async = (double)(tw_now_ns() - t0) / ITERS / 1000.0;
	t0 = tw_now_ns();
	for (int i = 0; i < ITERS; i++) {
		gpu_launch(fn, g1, b256, 0, s, p);
		gpu_stream_sync(s);
	}
	double raw_rt = (double)(tw_now_ns() - t0) / ITERS / 1000.0;

	/* The blueprint path: cache lookup, permit, launch, event, completion thread wake-up. */
	struct gpu_completion *comp;
	int efd = -1;
	double bp_rt = -1, bp_async = -1;
	if (gpu_completion_start(&comp, 64) == TW_ERR_OK) {
		uint64_t in2[2] = {small[1], small[2]};
		struct gpu_event *ev;
		gpu_event_create(&ev, false);
		/* A worker would have io_uring read this eventfd; this tool just blocks on it. */
		efd = eventfd(0, EFD_CLOEXEC);
		t0 = tw_now_ns();
		for (int i = 0; i < ITERS; i++) {
			struct gpu_function *f2;
			jit_gpu_kernel(c, bp, &f2);
			if (gpu_permit_try_acquire(tw_now_ns(), 0) != TW_ERR_OK)
				continue;
			uint64_t l0 = tw_now_ns();
			jit_gpu_launch(f2, bp, small[0], in2, 1, none, s);
			gpu_event_record(ev, s);
			gpu_completion_submit_event(comp, ev, gpu_completion_notify_eventfd,
						    (void *)(intptr_t)efd);
			uint64_t v;
			if (read(efd, &v, 8) != 8)
				break;
			gpu_permit_release(tw_now_ns() - l0, false);
		}
		bp_rt = (double)(tw_now_ns() - t0) / ITERS / 1000.0;
		t0 = tw_now_ns();
		for (int i = 0; i < ITERS; i++) {
			struct gpu_function *f2;
			jit_gpu_kernel(c, bp, &f2);
			jit_gpu_launch(f2, bp, small[0], in2, 1, none, s);
		}
		gpu_stream_sync(s);
		bp_async = (double)(tw_now_ns() - t0) / ITERS / 1000.0;
		gpu_completion_stop(comp);
		gpu_event_destroy(ev);
		close(efd);
	}
	fprintf(out,
		"launch overhead (us per launch, %d launches): raw cuLaunchKernel async %.2f, "
		"raw launch+sync %.2f; blueprint async %.2f, blueprint launch+event+completion "
		"thread %.2f (+%.2f over raw round trip)\n",
		ITERS, raw_async, raw_rt, bp_async, bp_rt, bp_rt - raw_rt);

	/* Bandwidth of an element-wise kernel: out = x + y over 64 Mi floats (768 MiB moved). */
	uint64_t n = 64ull << 20, big[3];
	bool ok = true;
	for (int i = 0; i < 3; i++)
		ok = ok && gpu_mem_alloc(n * 4, &big[i]) == TW_ERR_OK;
	if (ok) {
		gpu_memset_d8(big[1], 0, n * 4);
		gpu_memset_d8(big[2], 0, n * 4);
		uint64_t in2[2] = {big[1], big[2]};
		jit_gpu_launch(fn, bp, big[0], in2, n, none, s);
		gpu_event_record(e0, s);
		for (int i = 0; i < 10; i++)
			jit_gpu_launch(fn, bp, big[0], in2, n, none, s);
		gpu_event_record(e1, s);
		gpu_event_sync(e1);
		float ms = 0;
		gpu_event_elapsed_ms(e0, e1, &ms);
		double gbs = 10.0 * 3 * 4 * (double)n / (ms / 1000.0) / 1e9;
		struct gpu_device_info info;
		gpu_device_info(&info);
		double peak = 2.0 * (double)info.mem_clock_khz * 1e3 * (double)info.mem_bus_bits /
			      8 / 1e9;
		fprintf(out,
			"bandwidth: add_f32 over %llu elements: %.1f GB/s achieved; device "
			"theoretical %.1f GB/s (%.0f%%)\n",
			(unsigned long long)n, gbs, peak, peak > 0 ? 100.0 * gbs / peak : 0.0);
	} else {
		fprintf(out, "bandwidth: skipped (could not allocate 768 MiB)\n");
	}
	for (int i = 0; i < 3; i++) {
		if (ok)
			gpu_mem_free(big[i]);
		gpu_mem_free(small[i]);
	}
	gpu_event_destroy(e0);
	gpu_event_destroy(e1);
	gpu_stream_destroy(s);
}

int jit_selftest_main(bool quick, FILE *out)
{
	if (gpu_init() != TW_ERR_OK) {
		fprintf(out, "no GPU: skipped (gpu: %s)\n", gpu_status_line());
		return 0;
	}
	struct gpu_device_info info;
	gpu_device_info(&info);
	const struct jit_arch *arch = jit_gpu_arch();
	fprintf(out, "device: %s; PTX target %s (.version %u.%u)\n", gpu_status_line(),
		arch ? arch->name : "none", arch ? arch->ptx_major : 0, arch ? arch->ptx_minor : 0);
	if (!arch) {
		fprintf(out, "device older than every known PTX target: skipped\n");
		return 0;
	}
	struct jit_cache *c;
	if (jit_cache_create(&c, 0) != TW_ERR_OK)
		return 1;
	gpu_admit_init(TW_GPU_PERMITS, UINT64_MAX);
	int failures = verify_blueprints(c, quick, out);
	failures += verify_guest_abi(c, out);
	if (!quick)
		measure(c, out);
	struct jit_cache_stats st;
	jit_cache_get_stats(c, &st);
	fprintf(out, "cache: %llu entries, %llu hits, %llu misses, %.1f us mean emit time\n",
		(unsigned long long)st.entries, (unsigned long long)st.hits,
		(unsigned long long)st.misses,
		st.misses ? (double)st.emit_ns_total / (double)st.misses / 1000.0 : 0.0);
	jit_cache_destroy(c);
	fprintf(out, "selftest: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
