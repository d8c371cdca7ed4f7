/*
 * gpu_bind.c — the wasi_cuda_* functions as engine host functions; see gpu_bind.h.
 *
 * Every thunk has the same shape: find the instance's gpu_guest (the host slot keyed by
 * `binding_key`, which is also each function's env), take a fresh view of memory 0, call the
 * plain C function of gpu_abi.c, count the result, and for the four traced functions record the
 * span around it. The result goes back as the wasm result (i32 statuses sign-extended into the
 * low 32 bits, i64 handles whole).
 */
#include "gpu/gpu_bind.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/span.h"
#include "gpu/gpu_abi.h"
#include "gpu/gpu_admit.h"
#include "gpu/gpu_driver.h"
#include "metrics/met_tw.h"

/* The host slot key: only its address matters (twm.h's contract). */
static const char binding_key = 'G';

struct call {
	struct gpu_guest *g;
	struct gpu_guest_mem m;
};

static bool begin(struct twm_call_ctx *ctx, void *env, struct call *c)
{
	c->g = twm_ctx_host(ctx, env);
	c->m.base = twm_ctx_memory(ctx, &c->m.size);
	return c->g != NULL;
}

static void put_i32(uint64_t *results, int32_t v)
{
	results[0] = (uint32_t)v;
}

/* Begin a span under the thread's current span; false (nothing recorded) when there is none. */
static bool span_begin(struct tw_span *sp, const char *name)
{
	const struct tw_span *parent = tw_span_current();
	if (!parent)
		return false;
	tw_span_begin(sp, name, TW_SPAN_INTERNAL, NULL, parent);
	return true;
}

static void span_finish(struct tw_span *sp, int64_t status)
{
	tw_span_str(sp, "result", status >= 0 ? "ok" : gpu_cuda_status_str((int32_t)status));
	if (status < 0)
		sp->error = true;
	tw_span_end(sp);
}

static void dims_str(char *buf, size_t cap, uint32_t x, uint32_t y, uint32_t z)
{
	snprintf(buf, cap, "%" PRIu32 "x%" PRIu32 "x%" PRIu32, x, y, z);
}

static enum tw_err cuda_load_ptx(struct twm_call_ctx *ctx, const uint64_t *args,
				 uint64_t *results, void *env)
{
	struct call c;
	struct tw_span sp;
	bool traced = span_begin(&sp, "wasi_cuda.load_ptx");
	uint32_t ptx_ptr = (uint32_t)args[0], ptx_len = (uint32_t)args[1];
	uint32_t entry_ptr = (uint32_t)args[2], entry_len = (uint32_t)args[3];
	int64_t r = begin(ctx, env, &c) ? gpu_wasi_cuda_load_ptx(c.g, c.m, ptx_ptr, ptx_len,
								   entry_ptr, entry_len)
					 : GPU_CUDA_NOT_AVAILABLE;
	met_wasi_cuda_call(MET_CUDA_LOAD_PTX, r);
	if (traced) {
		/* The entry name, when it is readable; the guest's bytes, cut, never trusted. */
		bool named = r >= 0 && c.m.base && entry_len &&
			     (uint64_t)entry_ptr + entry_len <= c.m.size;
		tw_span_strn(&sp, "kernel", named ? (const char *)c.m.base + entry_ptr : NULL,
			     named ? entry_len : 0);
		tw_span_int(&sp, "ptx_bytes", ptx_len);
		span_finish(&sp, r);
	}
	results[0] = (uint64_t)r;
	return TW_ERR_OK;
}

static enum tw_err cuda_launch(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			       void *env)
{
	struct call c;
	struct tw_span sp;
	bool traced = span_begin(&sp, "wasi_cuda.launch");
	int64_t kernel = (int64_t)args[0];
	uint32_t d[9];
	for (int i = 0; i < 9; i++)
		d[i] = (uint32_t)args[1 + i];
	struct gpu_dispatch_times t = {0};
	int32_t r = GPU_CUDA_NOT_AVAILABLE;
	bool have = begin(ctx, env, &c);
	if (have)
		r = gpu_wasi_cuda_launch_timed(c.g, c.m, kernel, d[0], d[1], d[2], d[3], d[4],
					       d[5], d[6], d[7], d[8], &t);
	else
		t = (struct gpu_dispatch_times){true, tw_wall_ns(), tw_wall_ns()};
	met_wasi_cuda_call(MET_CUDA_LAUNCH, r);
	if (traced) {
		const char *name = have ? gpu_guest_kernel_name(c.g, kernel) : NULL;
		char grid[40], block[40];
		dims_str(grid, sizeof(grid), d[0], d[1], d[2]);
		dims_str(block, sizeof(block), d[3], d[4], d[5]);
		tw_span_str(&sp, "kernel", name);
		tw_span_str(&sp, "grid", grid);
		tw_span_str(&sp, "block", block);
		tw_span_int(&sp, "shared_mem", d[6]);
		if (t.attempted) {
			struct tw_span ds;
			tw_span_begin(&ds, "wasi_cuda.dispatch", TW_SPAN_INTERNAL, NULL, &sp);
			ds.start_unix_ns = t.begin_unix_ns;
			tw_span_str(&ds, "kernel", name);
			tw_span_str(&ds, "result",
				    r >= 0 ? "ok" : gpu_cuda_status_str(r));
			ds.error = r < 0;
			tw_span_end_at(&ds, t.end_unix_ns);
		}
		span_finish(&sp, r);
	}
	put_i32(results, r);
	return TW_ERR_OK;
}

static enum tw_err cuda_sync(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			     void *env)
{
	(void)args;
	struct call c;
	uint64_t start_unix_ns = tw_wall_ns();
	int32_t r = GPU_CUDA_NOT_AVAILABLE;
	bool have = begin(ctx, env, &c);
	const struct gpu_route *rt = have ? gpu_guest_route(c.g) : NULL;
	if (rt && gpu_available() && twm_ctx_can_suspend(ctx)) {
		/* The guest waits, the worker does not: the completion thread waits on the
		 * event and rt->done brings the call back to this thread (gpu_wasi_cuda_resume). */
		struct gpu_event *ev;
		r = gpu_wasi_cuda_sync_begin(c.g, &ev);
		if (ev && gpu_completion_submit_event(rt->completion, ev, rt->done,
						       rt->done_arg) == TW_ERR_OK) {
			twm_ctx_suspend(ctx);
			return TW_ERR_OK;
		}
		/* A full queue: wait here, as without a route. */
		if (ev)
			r = gpu_wasi_cuda_sync_end(c.g, gpu_event_sync(ev));
	} else if (have) {
		r = gpu_wasi_cuda_sync(c.g);
	}
	/* Recorded after the fact (a suspended sync records its span at resume instead). */
	struct tw_span sp;
	met_wasi_cuda_call(MET_CUDA_SYNC, r);
	if (span_begin(&sp, "wasi_cuda.sync")) {
		sp.start_unix_ns = start_unix_ns;
		span_finish(&sp, r);
	}
	put_i32(results, r);
	return TW_ERR_OK;
}

enum tw_err gpu_wasi_cuda_resume(struct twm_host_slot *slot, struct twm_instance *inst,
				 enum tw_err waited)
{
	struct gpu_guest *g = slot->value;
	if (!g || !twm_call_pending(inst))
		return TW_ERR_INVALID_ARG;
	int32_t r = gpu_wasi_cuda_sync_end(g, waited);
	met_wasi_cuda_call(MET_CUDA_SYNC, r);
	struct tw_span sp;
	if (span_begin(&sp, "wasi_cuda.sync")) {
		sp.start_unix_ns = gpu_guest_sync_began_unix_ns(g);
		tw_span_str(&sp, "suspended", "true");
		span_finish(&sp, r);
	}
	uint64_t word = (uint32_t)r;
	return twm_call_complete_host(inst, &word, 1);
}

void gpu_wasi_cuda_set_route(struct twm_host_slot *slot, const struct gpu_route *r)
{
	if (slot->value)
		gpu_guest_set_route(slot->value, r);
}

static pthread_once_t completion_once = PTHREAD_ONCE_INIT;
static struct gpu_completion *completion;

static void completion_start(void)
{
	if (!gpu_available())
		return;
	if (gpu_completion_start(&completion, TW_GPU_COMPLETION_QUEUE) != TW_ERR_OK) {
		completion = NULL;
		TW_WARN(GPU, "no completion thread: wasi_cuda sync blocks its worker");
	}
}

struct gpu_completion *gpu_wasi_cuda_completion(void)
{
	pthread_once(&completion_once, completion_start);
	return completion;
}

static enum tw_err cuda_last_error_len(struct twm_call_ctx *ctx, const uint64_t *args,
				       uint64_t *results, void *env)
{
	(void)args;
	struct call c;
	int32_t r = begin(ctx, env, &c) ? gpu_wasi_cuda_last_error_len(c.g)
					: GPU_CUDA_NOT_AVAILABLE;
	met_wasi_cuda_call(MET_CUDA_LAST_ERROR_LEN, r);
	put_i32(results, r);
	return TW_ERR_OK;
}

static enum tw_err cuda_last_error_copy(struct twm_call_ctx *ctx, const uint64_t *args,
					uint64_t *results, void *env)
{
	struct call c;
	int32_t r = begin(ctx, env, &c) ? gpu_wasi_cuda_last_error_copy(c.g, c.m, (uint32_t)args[0],
									 (uint32_t)args[1])
					: GPU_CUDA_NOT_AVAILABLE;
	met_wasi_cuda_call(MET_CUDA_LAST_ERROR_COPY, r);
	put_i32(results, r);
	return TW_ERR_OK;
}

static enum tw_err cuda_alloc(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			      void *env)
{
	struct call c;
	int64_t r = begin(ctx, env, &c)
			    ? gpu_wasi_cuda_alloc(c.g, (uint32_t)args[0], (uint32_t)args[1])
			    : GPU_CUDA_NOT_AVAILABLE;
	met_wasi_cuda_call(MET_CUDA_ALLOC, r);
	results[0] = (uint64_t)r;
	return TW_ERR_OK;
}

static enum tw_err cuda_free(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			     void *env)
{
	struct call c;
	int32_t r = begin(ctx, env, &c) ? gpu_wasi_cuda_free(c.g, (int64_t)args[0])
					: GPU_CUDA_NOT_AVAILABLE;
	met_wasi_cuda_call(MET_CUDA_FREE, r);
	put_i32(results, r);
	return TW_ERR_OK;
}

static enum tw_err cuda_memcpy_h2d(struct twm_call_ctx *ctx, const uint64_t *args,
				   uint64_t *results, void *env)
{
	struct call c;
	int32_t r = begin(ctx, env, &c) ? gpu_wasi_cuda_memcpy_h2d(c.g, c.m, (int64_t)args[0],
								   (uint32_t)args[1],
								   (uint32_t)args[2])
					: GPU_CUDA_NOT_AVAILABLE;
	met_wasi_cuda_call(MET_CUDA_MEMCPY_H2D, r);
	put_i32(results, r);
	return TW_ERR_OK;
}

static enum tw_err cuda_memcpy_d2h(struct twm_call_ctx *ctx, const uint64_t *args,
				   uint64_t *results, void *env)
{
	struct call c;
	int32_t r = begin(ctx, env, &c) ? gpu_wasi_cuda_memcpy_d2h(c.g, c.m, (uint32_t)args[0],
								   (int64_t)args[1],
								   (uint32_t)args[2])
					: GPU_CUDA_NOT_AVAILABLE;
	met_wasi_cuda_call(MET_CUDA_MEMCPY_D2H, r);
	put_i32(results, r);
	return TW_ERR_OK;
}

/* ---- binding ------------------------------------------------------------------------------ */

struct cuda_fn {
	const char *name;
	const char *params; /* 'i' i32, 'I' i64 */
	char result;        /* 'i' or 'I' */
	enum tw_err (*fn)(struct twm_call_ctx *, const uint64_t *, uint64_t *, void *);
};

static const struct cuda_fn cuda_fns[] = {
	{"load_ptx", "iiii", 'I', cuda_load_ptx},
	{"launch", "Iiiiiiiiii", 'i', cuda_launch},
	{"sync", "", 'i', cuda_sync},
	{"last_error_len", "", 'i', cuda_last_error_len},
	{"last_error_copy", "ii", 'i', cuda_last_error_copy},
	{"alloc", "ii", 'I', cuda_alloc},
	{"free", "I", 'i', cuda_free},
	{"memcpy_h2d", "Iii", 'i', cuda_memcpy_h2d},
	{"memcpy_d2h", "iIi", 'i', cuda_memcpy_d2h},
};

enum tw_err gpu_wasi_cuda_link(struct twm_linker *l)
{
	for (size_t i = 0; i < sizeof(cuda_fns) / sizeof(cuda_fns[0]); i++) {
		const struct cuda_fn *f = &cuda_fns[i];
		uint8_t params[16], result;
		size_t n = strlen(f->params);
		for (size_t k = 0; k < n; k++)
			params[k] = f->params[k] == 'I' ? TWM_I64 : TWM_I32;
		result = f->result == 'I' ? TWM_I64 : TWM_I32;
		struct twm_functype ft = {.nparams = (uint32_t)n, .nresults = 1,
					  .params = params, .results = &result};
		struct twm_host_func h = {.fn = f->fn, .env = (void *)&binding_key};
		enum tw_err e = twm_linker_define_func(l, GPU_WASI_CUDA_MODULE, f->name, &ft, &h);
		if (e)
			return e;
	}
	return TW_ERR_OK;
}

static enum tw_err binding_attach(uint64_t tenant, struct twm_host_slot *slot)
{
	struct gpu_guest *g = NULL;
	enum tw_err e = gpu_guest_create(&g, tenant);
	slot->key = &binding_key;
	slot->value = g;
	return e;
}

static void binding_detach(struct twm_host_slot *slot)
{
	gpu_guest_destroy(slot->value);
	slot->value = NULL;
}

const struct twm_host_binding gpu_wasi_cuda_binding = {
	.module = GPU_WASI_CUDA_MODULE,
	.link = gpu_wasi_cuda_link,
	.attach = binding_attach,
	.detach = binding_detach,
};

/* ---- metrics and health ------------------------------------------------------------------- */

static void collect(void *arg)
{
	(void)arg;
	struct gpu_stats st;
	gpu_stats_get(&st);
	uint32_t used = st.permits_in_use < st.permits_max ? st.permits_in_use : st.permits_max;
	met_backpressure_set(used, st.permits_max - used);
	met_gpu_memory_used_set(st.memory_bytes);
}

void gpu_metrics_attach(void)
{
	struct gpu_device_info di;
	if (gpu_init() == TW_ERR_OK && gpu_device_info(&di) == TW_ERR_OK) {
		char cc[16];
		snprintf(cc, sizeof(cc), "%d.%d", di.cc_major, di.cc_minor);
		met_gpu_device_add(0, di.name, cc, di.total_mem_bytes);
	}
	met_tw_add_collector(collect, NULL);
}

/* Append `s` as a JSON string (quotes added; control bytes and non-ASCII as \u00XX). */
static size_t json_str(char *buf, size_t cap, size_t at, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[8];
	if (at < cap)
		buf[at] = '"';
	at++;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t n = 0;
		if (*p == '"' || *p == '\\') {
			tmp[n++] = '\\';
			tmp[n++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			memcpy(tmp, "\\u00", 4);
			tmp[4] = hex[*p >> 4];
			tmp[5] = hex[*p & 15];
			n = 6;
		} else {
			tmp[n++] = (char)*p;
		}
		for (size_t i = 0; i < n; i++, at++)
			if (at < cap)
				buf[at] = tmp[i];
	}
	if (at < cap)
		buf[at] = '"';
	return at + 1;
}

static size_t json_lit(char *buf, size_t cap, size_t at, const char *s)
{
	for (; *s; s++, at++)
		if (at < cap)
			buf[at] = *s;
	return at;
}

size_t gpu_health_json(char *buf, size_t cap)
{
	size_t at = 0;
	struct gpu_device_info di;
	if (cap == 0)
		return 0;
	if (gpu_init() == TW_ERR_OK && gpu_device_info(&di) == TW_ERR_OK) {
		char cc[16];
		snprintf(cc, sizeof(cc), "%d.%d", di.cc_major, di.cc_minor);
		at = json_lit(buf, cap, at, "{\"present\":true,\"name\":");
		at = json_str(buf, cap, at, di.name);
		at = json_lit(buf, cap, at, ",\"compute_capability\":");
		at = json_str(buf, cap, at, cc);
	} else {
		at = json_lit(buf, cap, at, "{\"present\":false");
	}
	at = json_lit(buf, cap, at, ",\"status\":");
	at = json_str(buf, cap, at, gpu_status_line());
	at = json_lit(buf, cap, at, "}");
	if (at >= cap) { /* cut: better no details than broken JSON */
		snprintf(buf, cap, "{}");
		return strlen(buf);
	}
	buf[at] = '\0';
	return at;
}
