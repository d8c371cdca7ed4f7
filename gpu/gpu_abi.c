/* gpu_abi.c — the wasi_cuda_* host functions; see gpu_abi.h for the ABI. */
#include "gpu/gpu_abi.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "gpu/gpu_admit.h"
#include "gpu/gpu_driver.h"
#include "metrics/met_tw.h"

const char *gpu_cuda_status_str(int32_t status)
{
	switch (status) {
	case GPU_CUDA_OK:
		return "ok";
	case GPU_CUDA_NOT_AVAILABLE:
		return "not_available";
	case GPU_CUDA_INVALID_POINTER:
		return "invalid_pointer";
	case GPU_CUDA_INVALID_KERNEL:
		return "invalid_kernel";
	case GPU_CUDA_MALFORMED_PTX:
		return "malformed_ptx";
	case GPU_CUDA_LAUNCH_FAILED:
		return "launch_failed";
	case GPU_CUDA_QUOTA_EXCEEDED:
		return "quota_exceeded";
	case GPU_CUDA_INTERNAL:
		return "internal";
	case GPU_CUDA_INVALID_DIMENSIONS:
		return "invalid_dimensions";
	case GPU_CUDA_INVALID_ARGS:
		return "invalid_args";
	case GPU_CUDA_KERNEL_ARGS_UNSUPPORTED:
		return "kernel_args_unsupported";
	default:
		return "unknown";
	}
}

/* [off, off + len) lies inside memory (no overflow: 64-bit sums of 32-bit values). */
static bool in_bounds(struct gpu_guest_mem m, uint32_t off, uint32_t len)
{
	return m.base != NULL && (uint64_t)off + len <= m.size;
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int32_t gpu_cuda_argv_parse(struct gpu_guest_mem m, uint32_t args_ptr, uint32_t args_len,
			    struct gpu_cuda_arg *out, size_t cap)
{
	if (args_len == 0)
		return 0;
	if (!in_bounds(m, args_ptr, args_len))
		return GPU_CUDA_INVALID_POINTER;
	const uint8_t *p = m.base + args_ptr;
	uint32_t at = 0;
	int32_t n = 0;
	while (at < args_len) {
		uint8_t tag = p[at++];
		unsigned size;
		switch (tag) {
		case GPU_ARG_I32:
		case GPU_ARG_F32:
			size = 4;
			break;
		case GPU_ARG_I64:
		case GPU_ARG_F64:
		case GPU_ARG_BUFFER:
		case GPU_ARG_PTR:
			size = 8;
			break;
		case GPU_ARG_RESERVED:
			return GPU_CUDA_KERNEL_ARGS_UNSUPPORTED;
		default:
			return GPU_CUDA_INVALID_ARGS;
		}
		if (args_len - at < size)
			return GPU_CUDA_INVALID_ARGS;
		if ((size_t)n >= cap || n >= TW_GPU_KERNEL_ARGS_MAX)
			return GPU_CUDA_INVALID_ARGS;
		struct gpu_cuda_arg *a = &out[n];
		memset(a, 0, sizeof(*a));
		a->tag = tag;
		uint64_t raw = get_le(p + at, size);
		switch (tag) {
		case GPU_ARG_I32:
			a->v.i32 = (int32_t)(uint32_t)raw;
			break;
		case GPU_ARG_F32: {
			uint32_t u = (uint32_t)raw;
			memcpy(&a->v.f32, &u, 4);
			break;
		}
		case GPU_ARG_F64:
			memcpy(&a->v.f64, &raw, 8);
			break;
		case GPU_ARG_PTR:
			a->v.ptr.offset = (uint32_t)raw;
			a->v.ptr.len = (uint32_t)(raw >> 32);
			if (!in_bounds(m, a->v.ptr.offset, a->v.ptr.len))
				return GPU_CUDA_INVALID_POINTER;
			break;
		default: /* i64 and buffer handles */
			a->v.i64 = (int64_t)raw;
			break;
		}
		at += size;
		n++;
	}
	return n;
}

int32_t gpu_cuda_check_dims(uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx, uint32_t by,
			    uint32_t bz, uint32_t shared_mem)
{
	if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0)
		return GPU_CUDA_INVALID_DIMENSIONS;
	if (gx > 0x7fffffffu || gy > 65535 || gz > 65535)
		return GPU_CUDA_INVALID_DIMENSIONS;
	if (bx > 1024 || by > 1024 || bz > 64 ||
	    (uint64_t)bx * by * bz > TW_GPU_BLOCK_THREADS_MAX)
		return GPU_CUDA_INVALID_DIMENSIONS;
	if (shared_mem > TW_GPU_SHARED_BYTES_MAX)
		return GPU_CUDA_INVALID_DIMENSIONS;
	return GPU_CUDA_OK;
}

/* ---- per-instance state ----------------------------------------------------------------- */

struct kernel_slot {
	uint32_t gen;  /* bumped on reuse; 0 = never used */
	bool live;
	struct gpu_module *module;
	struct gpu_function *fn;
	char name[TW_GPU_KERNEL_NAME_BYTES]; /* entry name, cut; for traces */
};

struct buffer_slot {
	uint32_t gen;
	bool live;
	uint64_t dptr, bytes;
};

struct gpu_guest {
	uint64_t tenant;
	uint32_t met_tenant; /* the tenant's metrics label slot */
	struct gpu_stream *stream;   /* created on first launch */
	uint32_t pending;            /* launches holding a permit, released at sync */
	struct gpu_event *sync_event; /* recorded by gpu_wasi_cuda_sync_begin; created once */
	struct gpu_route route;       /* set by an embedder that resumes calls; else zero */
	uint64_t sync_begin_unix_ns;  /* when the last sync_begin recorded its event */
	uint64_t pending_since_ns;
	struct kernel_slot kernels[TW_GPU_KERNELS_PER_INSTANCE];
	struct buffer_slot buffers[TW_GPU_ALLOCS_PER_INSTANCE];
	char last_error[TW_GPU_ERROR_BYTES_MAX];
};

static int32_t fail(struct gpu_guest *g, int32_t status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int32_t fail(struct gpu_guest *g, int32_t status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->last_error, sizeof(g->last_error), fmt, ap);
	va_end(ap);
	return status;
}

static int64_t make_handle(uint32_t idx, uint32_t gen)
{
	return (int64_t)(((uint64_t)gen << 32) | (idx + 1));
}

/* Slot index of handle h in a table of n slots with generation gens, or -1. */
static int64_t handle_index(int64_t h, size_t n)
{
	if (h <= 0)
		return -1;
	uint64_t idx = ((uint64_t)h & 0xffffffffu);
	if (idx == 0 || idx > n)
		return -1;
	return (int64_t)idx - 1;
}

static struct kernel_slot *kernel_of(struct gpu_guest *g, int64_t h)
{
	int64_t i = handle_index(h, TW_GPU_KERNELS_PER_INSTANCE);
	if (i < 0 || !g->kernels[i].live || g->kernels[i].gen != (uint32_t)((uint64_t)h >> 32))
		return NULL;
	return &g->kernels[i];
}

static struct buffer_slot *buffer_of(struct gpu_guest *g, int64_t h)
{
	int64_t i = handle_index(h, TW_GPU_ALLOCS_PER_INSTANCE);
	if (i < 0 || !g->buffers[i].live || g->buffers[i].gen != (uint32_t)((uint64_t)h >> 32))
		return NULL;
	return &g->buffers[i];
}

enum tw_err gpu_guest_create(struct gpu_guest **out, uint64_t tenant)
{
	struct gpu_guest *g = calloc(1, sizeof(*g));
	*out = g;
	if (!g)
		return TW_ERR_NOMEM;
	g->tenant = tenant;
	g->met_tenant = met_tenant_slot(tenant);
	return TW_ERR_OK;
}

static void release_pending(struct gpu_guest *g, bool failed)
{
	uint64_t dt = g->pending ? (tw_now_ns() - g->pending_since_ns) / g->pending : 0;
	for (; g->pending; g->pending--)
		gpu_permit_release(dt, failed);
}

void gpu_guest_destroy(struct gpu_guest *g)
{
	if (!g)
		return;
	if (g->stream) {
		gpu_stream_sync(g->stream);
		gpu_stream_destroy(g->stream);
	}
	if (g->sync_event)
		gpu_event_destroy(g->sync_event);
	release_pending(g, false);
	for (size_t i = 0; i < TW_GPU_ALLOCS_PER_INSTANCE; i++) {
		if (!g->buffers[i].live)
			continue;
		gpu_mem_free(g->buffers[i].dptr);
		gpu_quota_release(g->tenant, g->buffers[i].bytes);
	}
	for (size_t i = 0; i < TW_GPU_KERNELS_PER_INSTANCE; i++)
		if (g->kernels[i].live)
			gpu_module_unload(g->kernels[i].module);
	free(g);
}

#define REQUIRE_GPU(g)                                                                    \
	do {                                                                              \
		if (!gpu_available())                                                     \
			return fail((g), GPU_CUDA_NOT_AVAILABLE, "no GPU available");     \
	} while (0)

int64_t gpu_wasi_cuda_load_ptx(struct gpu_guest *g, struct gpu_guest_mem m, uint32_t ptx_ptr,
			       uint32_t ptx_len, uint32_t entry_ptr, uint32_t entry_len)
{
	REQUIRE_GPU(g);
	if (!in_bounds(m, ptx_ptr, ptx_len) || !in_bounds(m, entry_ptr, entry_len))
		return fail(g, GPU_CUDA_INVALID_POINTER, "PTX or entry name outside memory");
	if (ptx_len == 0 || ptx_len > TW_GPU_PTX_BYTES_MAX) {
		met_ptx_rejected(TW_ERR_INVALID_ARG);
		return fail(g, GPU_CUDA_MALFORMED_PTX, "PTX size %u not in 1..%u", ptx_len,
			    (unsigned)TW_GPU_PTX_BYTES_MAX);
	}
	if (entry_len == 0 || entry_len > 255)
		return fail(g, GPU_CUDA_INVALID_ARGS, "entry name length %u not in 1..255",
			    entry_len);
	if (memchr(m.base + ptx_ptr, 0, ptx_len)) {
		met_ptx_rejected(TW_ERR_INVALID_ARG);
		return fail(g, GPU_CUDA_MALFORMED_PTX, "PTX text contains a NUL byte");
	}
	if (memchr(m.base + entry_ptr, 0, entry_len))
		return fail(g, GPU_CUDA_INVALID_ARGS, "entry name contains a NUL byte");
	size_t slot = TW_GPU_KERNELS_PER_INSTANCE;
	for (size_t i = 0; i < TW_GPU_KERNELS_PER_INSTANCE; i++)
		if (!g->kernels[i].live) {
			slot = i;
			break;
		}
	if (slot == TW_GPU_KERNELS_PER_INSTANCE)
		return fail(g, GPU_CUDA_QUOTA_EXCEEDED, "more than %d kernels loaded",
			    TW_GPU_KERNELS_PER_INSTANCE);

	int64_t result;
	char entry[256];
	memcpy(entry, m.base + entry_ptr, entry_len);
	entry[entry_len] = '\0';
	char *text = malloc((size_t)ptx_len + 1);
	if (!text)
		return fail(g, GPU_CUDA_INTERNAL, "out of memory");
	memcpy(text, m.base + ptx_ptr, ptx_len);
	text[ptx_len] = '\0';
	struct gpu_module *mod;
	char log[2048];
	enum tw_err err = gpu_module_load(text, &mod, log, sizeof(log));
	if (err == TW_ERR_GPU_PTX) {
		met_ptx_rejected(TW_ERR_GPU_PTX);
		result = fail(g, GPU_CUDA_MALFORMED_PTX, "PTX rejected: %s", log);
		goto out_free_text;
	}
	if (err != TW_ERR_OK) {
		result = fail(g, GPU_CUDA_INTERNAL, "module load: %s", gpu_last_error());
		goto out_free_text;
	}
	struct gpu_function *fn;
	err = gpu_module_function(mod, entry, &fn);
	if (err != TW_ERR_OK) {
		result = fail(g, GPU_CUDA_INVALID_KERNEL, "no kernel '%s' in the module", entry);
		goto out_unload;
	}
	struct kernel_slot *k = &g->kernels[slot];
	k->gen++;
	if (k->gen == 0)
		k->gen = 1;
	k->live = true;
	k->module = mod;
	k->fn = fn;
	snprintf(k->name, sizeof(k->name), "%s", entry);
	result = make_handle((uint32_t)slot, k->gen);
	goto out_free_text;

out_unload:
	gpu_module_unload(mod);
out_free_text:
	free(text);
	return result;
}

/* Temporary device copies of 0x07 guest-memory arguments. */
struct staged {
	uint64_t dptr;
	uint32_t offset, len;
};

const char *gpu_guest_kernel_name(struct gpu_guest *g, int64_t kernel)
{
	struct kernel_slot *k = kernel_of(g, kernel);
	return k ? k->name : NULL;
}

int32_t gpu_wasi_cuda_launch(struct gpu_guest *g, struct gpu_guest_mem m, int64_t kernel,
			     uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx, uint32_t by,
			     uint32_t bz, uint32_t shared_mem, uint32_t args_ptr, uint32_t args_len)
{
	return gpu_wasi_cuda_launch_timed(g, m, kernel, gx, gy, gz, bx, by, bz, shared_mem,
					  args_ptr, args_len, NULL);
}

int32_t gpu_wasi_cuda_launch_timed(struct gpu_guest *g, struct gpu_guest_mem m, int64_t kernel,
				   uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx,
				   uint32_t by, uint32_t bz, uint32_t shared_mem,
				   uint32_t args_ptr, uint32_t args_len,
				   struct gpu_dispatch_times *t)
{
	struct gpu_dispatch_times local;
	if (!t)
		t = &local;
	t->attempted = false;
	if (!gpu_available()) {
		/* No device to dispatch to: refused at the dispatch stage, at once. */
		t->attempted = true;
		t->begin_unix_ns = t->end_unix_ns = tw_wall_ns();
		return fail(g, GPU_CUDA_NOT_AVAILABLE, "no GPU available");
	}
	struct kernel_slot *k = kernel_of(g, kernel);
	if (!k)
		return fail(g, GPU_CUDA_INVALID_KERNEL, "unknown kernel handle %lld",
			    (long long)kernel);
	if (gpu_cuda_check_dims(gx, gy, gz, bx, by, bz, shared_mem) != GPU_CUDA_OK)
		return fail(g, GPU_CUDA_INVALID_DIMENSIONS, "grid %ux%ux%u block %ux%ux%u shared %u",
			    gx, gy, gz, bx, by, bz, shared_mem);
	struct gpu_cuda_arg args[TW_GPU_KERNEL_ARGS_MAX];
	int32_t n = gpu_cuda_argv_parse(m, args_ptr, args_len, args, TW_GPU_KERNEL_ARGS_MAX);
	if (n < 0)
		return fail(g, n, "kernel arguments: %s", gpu_cuda_status_str(n));

	t->attempted = true;
	t->begin_unix_ns = tw_wall_ns();
	union {
		int32_t i32;
		int64_t i64;
		float f32;
		double f64;
		uint64_t dptr;
	} vals[TW_GPU_KERNEL_ARGS_MAX];
	void *params[TW_GPU_KERNEL_ARGS_MAX + 1];
	struct staged staged[TW_GPU_KERNEL_ARGS_MAX];
	unsigned n_staged = 0;
	int32_t result = GPU_CUDA_OK;
	for (int32_t i = 0; i < n; i++) {
		switch (args[i].tag) {
		case GPU_ARG_I32:
			vals[i].i32 = args[i].v.i32;
			break;
		case GPU_ARG_F32:
			vals[i].f32 = args[i].v.f32;
			break;
		case GPU_ARG_F64:
			vals[i].f64 = args[i].v.f64;
			break;
		case GPU_ARG_I64:
			vals[i].i64 = args[i].v.i64;
			break;
		case GPU_ARG_BUFFER: {
			struct buffer_slot *b = buffer_of(g, args[i].v.buffer);
			if (!b) {
				result = fail(g, GPU_CUDA_INVALID_POINTER,
					      "argument %d: unknown buffer handle", i);
				goto out_free_staged;
			}
			vals[i].dptr = b->dptr;
			break;
		}
		case GPU_ARG_PTR: {
			struct staged *s = &staged[n_staged];
			s->offset = args[i].v.ptr.offset;
			s->len = args[i].v.ptr.len;
			if (gpu_quota_charge(g->tenant, s->len) != TW_ERR_OK) {
				result = fail(g, GPU_CUDA_QUOTA_EXCEEDED,
					      "argument %d: tenant GPU memory quota", i);
				goto out_free_staged;
			}
			if (gpu_mem_alloc(s->len, &s->dptr) != TW_ERR_OK) {
				gpu_quota_release(g->tenant, s->len);
				result = fail(g, GPU_CUDA_QUOTA_EXCEEDED, "argument %d: %s", i,
					      gpu_last_error());
				goto out_free_staged;
			}
			n_staged++;
			if (gpu_memcpy_htod(s->dptr, m.base + s->offset, s->len, NULL) !=
			    TW_ERR_OK) {
				result = fail(g, GPU_CUDA_INTERNAL, "argument %d: %s", i,
					      gpu_last_error());
				goto out_free_staged;
			}
			vals[i].dptr = s->dptr;
			break;
		}
		}
		params[i] = &vals[i];
	}
	params[n] = NULL;

	if (!g->stream && gpu_stream_create(&g->stream) != TW_ERR_OK) {
		result = fail(g, GPU_CUDA_INTERNAL, "stream: %s", gpu_last_error());
		goto out_free_staged;
	}
	enum tw_err err = gpu_permit_try_acquire(tw_now_ns(), 0);
	if (err != TW_ERR_OK) {
		result = fail(g, GPU_CUDA_LAUNCH_FAILED, "GPU busy: all launch permits in use");
		goto out_free_staged;
	}
	if (g->pending++ == 0)
		g->pending_since_ns = tw_now_ns();
	struct gpu_dim grid = {gx, gy, gz}, block = {bx, by, bz};
	err = gpu_launch(k->fn, grid, block, shared_mem, g->stream, params);
	if (err != TW_ERR_OK) {
		result = fail(g, GPU_CUDA_LAUNCH_FAILED, "%s", gpu_last_error());
		g->pending--;
		gpu_permit_release(0, true);
		goto out_free_staged;
	}
	if (n_staged) {
		/* Guest memory arguments are copied back after the kernel: wait for it now. */
		if (gpu_stream_sync(g->stream) != TW_ERR_OK) {
			result = fail(g, GPU_CUDA_LAUNCH_FAILED, "%s", gpu_last_error());
			goto out_free_staged;
		}
		for (unsigned s = 0; s < n_staged; s++)
			if (gpu_memcpy_dtoh(m.base + staged[s].offset, staged[s].dptr, staged[s].len,
					    NULL) != TW_ERR_OK)
				result = fail(g, GPU_CUDA_INTERNAL, "copy back: %s", gpu_last_error());
	}

out_free_staged:
	for (unsigned s = 0; s < n_staged; s++) {
		gpu_mem_free(staged[s].dptr);
		gpu_quota_release(g->tenant, staged[s].len);
	}
	if (result == GPU_CUDA_OK)
		met_kernel_dispatched(g->met_tenant);
	t->end_unix_ns = tw_wall_ns();
	return result;
}

int32_t gpu_wasi_cuda_sync(struct gpu_guest *g)
{
	REQUIRE_GPU(g);
	if (!g->stream)
		return GPU_CUDA_OK;
	enum tw_err err = gpu_stream_sync(g->stream);
	if (g->pending)
		met_kernel_latency(tw_now_ns() - g->pending_since_ns);
	release_pending(g, err != TW_ERR_OK);
	if (err != TW_ERR_OK)
		return fail(g, GPU_CUDA_LAUNCH_FAILED, "%s", gpu_last_error());
	return GPU_CUDA_OK;
}

int32_t gpu_wasi_cuda_sync_begin(struct gpu_guest *g, struct gpu_event **ev)
{
	*ev = NULL;
	REQUIRE_GPU(g);
	if (!g->stream)
		return GPU_CUDA_OK;
	if (!g->sync_event && gpu_event_create(&g->sync_event, false) != TW_ERR_OK) {
		g->sync_event = NULL;
		return fail(g, GPU_CUDA_INTERNAL, "no event for sync: %s", gpu_last_error());
	}
	if (gpu_event_record(g->sync_event, g->stream) != TW_ERR_OK)
		return fail(g, GPU_CUDA_LAUNCH_FAILED, "%s", gpu_last_error());
	*ev = g->sync_event;
	g->sync_begin_unix_ns = tw_wall_ns();
	return GPU_CUDA_OK;
}

int32_t gpu_wasi_cuda_sync_end(struct gpu_guest *g, enum tw_err waited)
{
	if (g->pending)
		met_kernel_latency(tw_now_ns() - g->pending_since_ns);
	release_pending(g, waited != TW_ERR_OK);
	if (waited != TW_ERR_OK)
		return fail(g, GPU_CUDA_LAUNCH_FAILED, "%s", gpu_last_error());
	return GPU_CUDA_OK;
}

void gpu_guest_set_route(struct gpu_guest *g, const struct gpu_route *r)
{
	g->route = r ? *r : (struct gpu_route){0};
}

uint64_t gpu_guest_sync_began_unix_ns(const struct gpu_guest *g)
{
	return g->sync_begin_unix_ns;
}

const struct gpu_route *gpu_guest_route(const struct gpu_guest *g)
{
	return g->route.completion ? &g->route : NULL;
}

int32_t gpu_wasi_cuda_last_error_len(struct gpu_guest *g)
{
	REQUIRE_GPU(g);
	return (int32_t)strlen(g->last_error);
}

int32_t gpu_wasi_cuda_last_error_copy(struct gpu_guest *g, struct gpu_guest_mem m, uint32_t dst_ptr,
				      uint32_t dst_len)
{
	REQUIRE_GPU(g);
	if (!in_bounds(m, dst_ptr, dst_len))
		return GPU_CUDA_INVALID_POINTER; /* keep the error being read */
	size_t len = strlen(g->last_error);
	if (len > dst_len)
		len = dst_len;
	memcpy(m.base + dst_ptr, g->last_error, len);
	return (int32_t)len;
}

int64_t gpu_wasi_cuda_alloc(struct gpu_guest *g, uint32_t size_lo, uint32_t size_hi)
{
	REQUIRE_GPU(g);
	uint64_t bytes = ((uint64_t)size_hi << 32) | size_lo;
	if (bytes == 0)
		return fail(g, GPU_CUDA_INVALID_ARGS, "zero-byte allocation");
	size_t slot = TW_GPU_ALLOCS_PER_INSTANCE;
	for (size_t i = 0; i < TW_GPU_ALLOCS_PER_INSTANCE; i++)
		if (!g->buffers[i].live) {
			slot = i;
			break;
		}
	if (slot == TW_GPU_ALLOCS_PER_INSTANCE)
		return fail(g, GPU_CUDA_QUOTA_EXCEEDED, "more than %d allocations",
			    TW_GPU_ALLOCS_PER_INSTANCE);
	if (gpu_quota_charge(g->tenant, bytes) != TW_ERR_OK)
		return fail(g, GPU_CUDA_QUOTA_EXCEEDED, "tenant GPU memory quota exceeded");
	uint64_t dptr;
	enum tw_err err = gpu_mem_alloc(bytes, &dptr);
	if (err != TW_ERR_OK) {
		gpu_quota_release(g->tenant, bytes);
		return fail(g, err == TW_ERR_NOMEM ? GPU_CUDA_QUOTA_EXCEEDED : GPU_CUDA_INTERNAL,
			    "%s", gpu_last_error());
	}
	struct buffer_slot *b = &g->buffers[slot];
	b->gen++;
	if (b->gen == 0)
		b->gen = 1;
	b->live = true;
	b->dptr = dptr;
	b->bytes = bytes;
	return make_handle((uint32_t)slot, b->gen);
}

int32_t gpu_wasi_cuda_free(struct gpu_guest *g, int64_t buffer)
{
	REQUIRE_GPU(g);
	struct buffer_slot *b = buffer_of(g, buffer);
	if (!b)
		return fail(g, GPU_CUDA_INVALID_POINTER, "unknown buffer handle %lld",
			    (long long)buffer);
	/* Launches may still read it: the stream's work must finish first. */
	if (g->stream)
		gpu_stream_sync(g->stream);
	gpu_mem_free(b->dptr);
	gpu_quota_release(g->tenant, b->bytes);
	b->live = false;
	b->dptr = 0;
	b->bytes = 0;
	return GPU_CUDA_OK;
}

int32_t gpu_wasi_cuda_memcpy_h2d(struct gpu_guest *g, struct gpu_guest_mem m, int64_t dst_buffer,
				 uint32_t src_ptr, uint32_t len)
{
	REQUIRE_GPU(g);
	struct buffer_slot *b = buffer_of(g, dst_buffer);
	if (!b || !in_bounds(m, src_ptr, len) || len > b->bytes)
		return fail(g, GPU_CUDA_INVALID_POINTER, "h2d copy of %u bytes out of bounds", len);
	if (g->stream)
		gpu_stream_sync(g->stream); /* order after launches that use the buffer */
	if (gpu_memcpy_htod(b->dptr, m.base + src_ptr, len, NULL) != TW_ERR_OK)
		return fail(g, GPU_CUDA_INTERNAL, "%s", gpu_last_error());
	return GPU_CUDA_OK;
}

int32_t gpu_wasi_cuda_memcpy_d2h(struct gpu_guest *g, struct gpu_guest_mem m, uint32_t dst_ptr,
				 int64_t src_buffer, uint32_t len)
{
	REQUIRE_GPU(g);
	struct buffer_slot *b = buffer_of(g, src_buffer);
	if (!b || !in_bounds(m, dst_ptr, len) || len > b->bytes)
		return fail(g, GPU_CUDA_INVALID_POINTER, "d2h copy of %u bytes out of bounds", len);
	if (g->stream)
		gpu_stream_sync(g->stream);
	if (gpu_memcpy_dtoh(m.base + dst_ptr, b->dptr, len, NULL) != TW_ERR_OK)
		return fail(g, GPU_CUDA_INTERNAL, "%s", gpu_last_error());
	return GPU_CUDA_OK;
}
