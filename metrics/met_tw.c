/*
 * met_tw.c — TensorWasm's families (the inventory in docs/metrics.md) and their typed update
 * functions; see met_tw.h.
 *
 * The registry pointer is written on the main thread before the workers start and cleared after
 * they stop, so the update functions read it without synchronisation. Every update function is
 * a NULL check, an index computation and the inlined shard update of met_int.h.
 */
#include "metrics/met_tw.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "version.h"

#include "core/build.h"
#include "core/ct.h"
#include "core/limits.h"
#include "core/span.h"
#include "metrics/met_int.h"
#include "metrics/met_process.h"

/* Upper bounds in seconds. The dashboards and SLOs rely on the classic ones (HTTP: .001 .005
 * .01 .025 .05 .1 .25 .5 1 2.5 5 10; kernels: 1e-5 5e-5 1e-4 5e-4 .001 .005 .01 .05 .1 .5 1 2 5
 * 10); the finer ones below 1 ms are there because our latencies are microseconds. */
static const double http_bounds[] = {1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, .001, .005, .01,
				     .025, .05,	   .1,	 .25,  .5,     1,    2.5,  5,	 10};
static const double kernel_bounds[] = {1e-6,   2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4,
				       2.5e-4, 5e-4,   .001, .005, .01,	   .05,	 .1,
				       .5,     1,      2,    5,	   10};

/* Status codes with their own label value; the rest collapse to their class ("4xx"). */
static const unsigned status_codes[] = {200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403,
					404, 405, 406, 408, 409, 410, 411, 413, 414, 415, 416,
					422, 429, 431, 500, 501, 502, 503, 504, 505};
#define NSTATUS_CODES (sizeof(status_codes) / sizeof(status_codes[0]))
#define NSTATUS (NSTATUS_CODES + 5) /* + "1xx".."5xx" */

static const char *const method_names[MET_HTTP__METHODS] = {"GET",    "HEAD",  "POST",	  "PUT",
							    "DELETE", "PATCH", "OPTIONS", "other"};

static const char *const trap_names[MET_TRAP__COUNT] = {
    "unreachable",
    "memory_out_of_bounds",
    "integer_divide_by_zero",
    "integer_overflow",
    "invalid_conversion_to_integer",
    "indirect_call_type_mismatch",
    "undefined_element",
    "uninitialized_element",
    "call_stack_exhausted",
    "fuel_exhausted",
    "deadline_exceeded",
    "host_error",
    "other",
};

static const char *const fallback_names[MET_FALLBACK__COUNT] = {
    "disabled", "no_gpu",	"below_threshold", "no_permit",
    "quota",	"launch_error", "unsupported",	   "out_of_bounds",
    "overlap",	"may_trap",	"nan_result", "other"};

static const char *const cuda_fn_names[MET_CUDA__COUNT] = {
    "load_ptx", "launch", "sync", "last_error_len", "last_error_copy",
    "alloc", "free", "memcpy_h2d", "memcpy_d2h"};
/* Index = -status for the ABI's codes 0..-10 (gpu/gpu_abi.h), then "other". */
static const char *const cuda_result_names[] = {
    "ok", "not_available", "invalid_pointer", "invalid_kernel", "malformed_ptx", "launch_failed",
    "quota_exceeded", "internal", "invalid_dimensions", "invalid_args",
    "kernel_args_unsupported", "other"};
#define NCUDA_RESULTS (sizeof(cuda_result_names) / sizeof(cuda_result_names[0]))
static const char *const span_drop_names[] = {"ring_full", "export_failed", "out_of_memory"};

static const enum tw_err auth_errs[] = {TW_ERR_UNAUTHORIZED, TW_ERR_INVALID_AUTH,
					TW_ERR_TENANT_SCOPE_DENIED, TW_ERR_MISSING_TENANT,
					TW_ERR_INVALID_TENANT};
static const enum tw_err module_errs[] = {TW_ERR_WASM_MALFORMED,	  TW_ERR_WASM_INVALID,
					  TW_ERR_WASM_UNLINKABLE,	  TW_ERR_MODULE_TOO_LARGE,
					  TW_ERR_MODULE_MEMORY_TOO_LARGE, TW_ERR_INVALID_BASE64};
static const enum tw_err ptx_errs[] = {TW_ERR_GPU_PTX, TW_ERR_INVALID_ARG};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct tw_metrics {
	struct met_registry *reg;
	uint32_t nroutes;
	uint32_t route_row[TW_METRIC_ROUTES_MAX]; /* route index -> row of the route dimension */
	uint32_t unknown_row;			  /* + method */
	uint8_t status_idx[600];
	pthread_mutex_t tenant_lock; /* keeps the two tenant dimensions in the same order */
	pthread_mutex_t device_lock;
	uint64_t gpu_total_bytes;
	uint32_t gpu_devices;
	struct met_dim *route, *status, *tenant, *tenant_id, *blueprint, *device;
	struct met_family *http_requests, *http_duration, *http_in_flight;
	struct met_family *active_instances, *spawns, *terminations, *jobs_active;
	struct met_family *kernel_dispatches, *kernel_latency, *offload_success, *offload_fallback;
	struct met_family *gpu_used, *gpu_total, *gpu_devices_f, *gpu_device_info, *gpu_tenant;
	struct met_family *permits_used, *permits_available;
	struct met_family *snap_capture, *snap_restore, *snap_round_trip;
	struct met_family *jit_warm, *jit_cold, *jit_emit;
	struct met_family *auth_denials, *rate_limited, *guest_traps, *modules_rejected;
	struct met_family *ptx_rejected;
	struct met_dim *cuda_fn, *cuda_result, *span_drop;
	struct met_family *cuda_calls, *spans_dropped, *spans_exported;
	uint32_t ncollectors;
	struct {
		void (*fn)(void *arg);
		void *arg;
	} collectors[MET_TW_COLLECTORS_MAX];
	struct met_family *build_info;
	struct met_family *p_cpu, *p_rss, *p_vms, *p_fds, *p_max_fds, *p_start;
};

static struct tw_metrics tw;
static struct tw_metrics *g; /* &tw between init and fini */

/* ---- set-up --------------------------------------------------------------------------- */

static const char *target_str(void)
{
#if defined(__x86_64__)
#define TW_ARCH "x86_64"
#elif defined(__aarch64__)
#define TW_ARCH "aarch64"
#else
#define TW_ARCH "unknown"
#endif
#if defined(__linux__) && defined(__GLIBC__)
	return TW_ARCH "-linux-gnu";
#elif defined(__linux__)
	return TW_ARCH "-linux";
#else
	return TW_ARCH "-unknown";
#endif
#undef TW_ARCH
}

static void collect_process(void *ctx)
{
	struct tw_metrics *m = ctx;
	struct met_process p;
	met_process_read(&p);
	met_counter_set(m->p_cpu, 0, p.cpu_seconds);
	met_gauge_set(m->p_rss, 0, p.resident_bytes);
	met_gauge_set(m->p_vms, 0, p.virtual_bytes);
	met_gauge_set(m->p_fds, 0, p.open_fds);
	met_gauge_set(m->p_max_fds, 0, p.max_fds);
	met_gauge_set(m->p_start, 0, p.start_time_seconds);
	struct tw_span_stats st;
	tw_spans_stats(&st);
	met_counter_set(m->spans_dropped, 0, (double)st.dropped_ring_full);
	met_counter_set(m->spans_dropped, 1, (double)st.dropped_export_failed);
	met_counter_set(m->spans_dropped, 2, (double)st.dropped_out_of_memory);
	met_counter_set(m->spans_exported, 0, (double)st.exported);
	/* Registered before the workers start and never removed while they run: no lock. */
	for (uint32_t i = 0; i < m->ncollectors; i++)
		m->collectors[i].fn(m->collectors[i].arg);
}

struct fam {
	struct met_family **out;
	const char *name, *help, *unit;
	enum met_kind kind;
	struct met_dim *d0, *d1;
	bool sparse;
	const double *bounds;
	uint32_t nbounds;
};

static enum tw_err add_family(struct met_registry *r, const struct fam *f)
{
	struct met_family_spec s = {
	    .name = f->name,
	    .help = f->help,
	    .unit = f->unit,
	    .kind = f->kind,
	    .dims = {f->d0, f->d1},
	    .ndims = f->d1   ? 2
		     : f->d0 ? 1
			     : 0,
	    .sparse = f->sparse,
	    .bounds = f->bounds,
	    .nbounds = f->nbounds,
	    .ticks_per_unit = 1000000000ull,
	};
	return met_family_new(r, &s, f->out);
}

/* A dimension of one name whose values are `values` in order (index = enum value). */
static struct met_dim *list_dim(struct met_registry *r, const char *name, const char *const *values,
				uint32_t n)
{
	struct met_dim *d = met_dim_new(r, &name, 1, n, MET_DIM_SEED_ALL);
	for (uint32_t i = 0; d && i < n; i++)
		if (met_dim_intern(d, &values[i]) != i)
			return NULL;
	return d;
}

/* Reason labels from error kinds, with "other" last. */
static struct met_dim *err_dim(struct met_registry *r, const enum tw_err *errs, uint32_t n)
{
	const char *names[8];
	assert(n < 8);
	for (uint32_t i = 0; i < n; i++)
		names[i] = tw_err_str(errs[i]);
	names[n] = "other";
	return list_dim(r, "reason", names, n + 1);
}

static uint32_t err_index(const enum tw_err *errs, uint32_t n, enum tw_err e)
{
	for (uint32_t i = 0; i < n; i++)
		if (errs[i] == e)
			return i;
	return n;
}

static enum tw_err build_dims(struct met_registry *r, const struct met_tw_config *c,
			      struct met_dim **reasons)
{
	const char *rm[] = {"route", "method"};
	struct tw_metrics *m = &tw;
	m->route = met_dim_new(r, rm, 2, c->nroutes + MET_HTTP__METHODS, 0);
	if (!m->route)
		return TW_ERR_NOMEM;
	for (uint32_t i = 0; i < c->nroutes; i++) {
		const char *v[] = {c->routes[i].template, c->routes[i].method};
		m->route_row[i] = met_dim_intern(m->route, v);
		if (m->route_row[i] == UINT32_MAX)
			return TW_ERR_NOMEM;
		met_dim_set_seed(m->route, m->route_row[i], true);
	}
	m->nroutes = c->nroutes;
	for (uint32_t i = 0; i < MET_HTTP__METHODS; i++) {
		const char *v[] = {"unknown", method_names[i]};
		uint32_t row = met_dim_intern(m->route, v);
		if (row == UINT32_MAX)
			return TW_ERR_NOMEM;
		if (i == 0)
			m->unknown_row = row;
		/* Registered routes may already name ("unknown", GET): rows must stay contiguous.
		 */
		if (row != m->unknown_row + i)
			return TW_ERR_INVALID_ARG;
	}
	const char *st[NSTATUS];
	char codes[NSTATUS_CODES][4];
	for (uint32_t i = 0; i < NSTATUS_CODES; i++) {
		snprintf(codes[i], sizeof(codes[i]), "%u", status_codes[i]);
		st[i] = codes[i];
	}
	const char *classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
	for (uint32_t i = 0; i < 5; i++)
		st[NSTATUS_CODES + i] = classes[i];
	const char *status_name = "status";
	m->status = met_dim_new(r, &status_name, 1, NSTATUS, 0);
	if (!m->status)
		return TW_ERR_NOMEM;
	for (uint32_t i = 0; i < NSTATUS; i++)
		if (met_dim_intern(m->status, &st[i]) != i)
			return TW_ERR_NOMEM;
	met_dim_set_seed(m->status, 0, true); /* status="200": a zero series per route */
	for (unsigned code = 0; code < 600; code++) {
		unsigned cls = code < 100 ? 5 : code / 100;
		m->status_idx[code] = (uint8_t)(NSTATUS_CODES + cls - 1);
		for (uint32_t i = 0; i < NSTATUS_CODES; i++)
			if (status_codes[i] == code)
				m->status_idx[code] = (uint8_t)i;
	}
	const char *tenant = "tenant", *tenant_id = "tenant_id", *bp = "blueprint";
	const char *dev[] = {"device", "name", "compute_capability"};
	unsigned of = MET_DIM_OVERFLOW | MET_DIM_SEED_ALL;
	m->tenant = met_dim_new(r, &tenant, 1, TW_METRIC_TENANTS_MAX, of);
	m->tenant_id = met_dim_new(r, &tenant_id, 1, TW_METRIC_TENANTS_MAX, of);
	m->blueprint = met_dim_new(r, &bp, 1, TW_METRIC_BLUEPRINTS_MAX, of);
	m->device = met_dim_new(r, dev, 3, TW_METRIC_GPU_DEVICES_MAX, MET_DIM_SEED_ALL);
	reasons[0] = err_dim(r, auth_errs, NELEM(auth_errs));
	reasons[1] = err_dim(r, module_errs, NELEM(module_errs));
	reasons[2] = err_dim(r, ptx_errs, NELEM(ptx_errs));
	reasons[3] = list_dim(r, "reason", fallback_names, MET_FALLBACK__COUNT);
	reasons[4] = list_dim(r, "kind", trap_names, MET_TRAP__COUNT);
	m->cuda_fn = list_dim(r, "function", cuda_fn_names, MET_CUDA__COUNT);
	m->cuda_result = list_dim(r, "result", cuda_result_names, NCUDA_RESULTS);
	m->span_drop = list_dim(r, "reason", span_drop_names, NELEM(span_drop_names));
	if (!m->cuda_fn || !m->cuda_result || !m->span_drop)
		return TW_ERR_NOMEM;
	const char *bi[] = {"version", "git_sha", "compiler", "profile", "target"};
	reasons[5] = met_dim_new(r, bi, 5, 1, MET_DIM_SEED_ALL);
	if (!m->tenant || !m->tenant_id || !m->blueprint || !m->device)
		return TW_ERR_NOMEM;
	for (int i = 0; i < 6; i++)
		if (!reasons[i])
			return TW_ERR_NOMEM;
	char compiler[MET_VALUE_BYTES_MAX];
	size_t cn = (size_t)snprintf(compiler, sizeof(compiler), "%s", tw_build_compiler());
	while (cn > 0 && compiler[cn - 1] == ' ') /* __clang_version__ ends with a space */
		compiler[--cn] = 0;
	const char *biv[] = {TW_VERSION, TW_GIT_SHA, compiler,
			     c->build_profile ? c->build_profile : TW_BUILD_MODE, target_str()};
	if (met_dim_intern(reasons[5], biv) != 0)
		return TW_ERR_NOMEM;
	return TW_ERR_OK;
}

static enum tw_err build_families(struct met_registry *r, struct met_dim **rs)
{
	struct tw_metrics *m = &tw;
	const uint32_t hb = NELEM(http_bounds), kb = NELEM(kernel_bounds);
	const struct fam fams[] = {
	    {.out = &m->build_info,
	     .name = "tensor_wasm_build_info",
	     .help = "Build identity of the running binary; always 1.",
	     .kind = MET_GAUGE_SET,
	     .d0 = rs[5]},
	    {.out = &m->http_requests,
	     .name = "tensor_wasm_http_requests_total",
	     .help = "HTTP requests answered, by route template, method and status code.",
	     .kind = MET_COUNTER,
	     .d0 = m->route,
	     .d1 = m->status,
	     .sparse = true},
	    {.out = &m->http_duration,
	     .name = "tensor_wasm_http_request_duration_seconds",
	     .help = "Time from the first byte of a request to its response being queued.",
	     .unit = "seconds",
	     .kind = MET_HISTOGRAM,
	     .d0 = m->route,
	     .d1 = m->status,
	     .sparse = true,
	     .bounds = http_bounds,
	     .nbounds = hb},
	    {.out = &m->http_in_flight,
	     .name = "tensor_wasm_http_requests_in_flight",
	     .help = "HTTP requests routed and not yet answered.",
	     .kind = MET_GAUGE,
	     .d0 = m->route},
	    {.out = &m->auth_denials,
	     .name = "tensor_wasm_auth_denials_total",
	     .help = "Requests refused by authentication or tenant scope (401/403), by reason.",
	     .kind = MET_COUNTER,
	     .d0 = rs[0]},
	    {.out = &m->rate_limited,
	     .name = "tensor_wasm_rate_limited_total",
	     .help = "Requests refused with 429 by the tenant's rate limit.",
	     .kind = MET_COUNTER,
	     .d0 = m->tenant},
	    {.out = &m->modules_rejected,
	     .name = "tensor_wasm_modules_rejected_total",
	     .help = "Deploys refused because of the module, by reason.",
	     .kind = MET_COUNTER,
	     .d0 = rs[1]},
	    {.out = &m->active_instances,
	     .name = "tensor_wasm_active_instances",
	     .help = "WebAssembly instances alive (running or pooled), by tenant.",
	     .kind = MET_GAUGE,
	     .d0 = m->tenant},
	    {.out = &m->spawns,
	     .name = "tensor_wasm_instance_spawns_total",
	     .help = "WebAssembly instances created (fresh or restored from a snapshot).",
	     .kind = MET_COUNTER},
	    {.out = &m->terminations,
	     .name = "tensor_wasm_instance_terminations_total",
	     .help = "WebAssembly instances destroyed.",
	     .kind = MET_COUNTER},
	    {.out = &m->guest_traps,
	     .name = "tensor_wasm_guest_traps_total",
	     .help = "Guest calls ended by a trap, fuel exhaustion or their deadline, by kind.",
	     .kind = MET_COUNTER,
	     .d0 = rs[4]},
	    {.out = &m->jobs_active,
	     .name = "tensor_wasm_jobs_active",
	     .help = "Asynchronous invocations accepted and not finished.",
	     .kind = MET_GAUGE},
	    {.out = &m->kernel_dispatches,
	     .name = "tensor_wasm_kernel_dispatches_total",
	     .help = "GPU kernel launches, by tenant.",
	     .kind = MET_COUNTER,
	     .d0 = m->tenant},
	    {.out = &m->kernel_latency,
	     .name = "tensor_wasm_kernel_latency_seconds",
	     .help = "Time from a kernel launch to its completion being seen.",
	     .unit = "seconds",
	     .kind = MET_HISTOGRAM,
	     .bounds = kernel_bounds,
	     .nbounds = kb},
	    {.out = &m->offload_success,
	     .name = "tensor_wasm_offload_success_total",
	     .help = "Hot loops run by the offloader (GPU, or the host executor in host mode).",
	     .kind = MET_COUNTER},
	    {.out = &m->offload_fallback,
	     .name = "tensor_wasm_offload_fallback_total",
	     .help = "Hot loops with a blueprint that the interpreter ran instead, by reason.",
	     .kind = MET_COUNTER,
	     .d0 = rs[3]},
	    {.out = &m->ptx_rejected,
	     .name = "tensor_wasm_ptx_rejected_total",
	     .help = "PTX from guests refused (by the driver or for its size), by reason.",
	     .kind = MET_COUNTER,
	     .d0 = rs[2]},
	    {.out = &m->cuda_calls,
	     .name = "tensor_wasm_wasi_cuda_calls_total",
	     .help = "Calls of the wasi_cuda guest functions, by function and result.",
	     .kind = MET_COUNTER,
	     .d0 = m->cuda_fn,
	     .d1 = m->cuda_result},
	    {.out = &m->gpu_used,
	     .name = "tensor_wasm_gpu_memory_used_bytes",
	     .help = "GPU memory in use on all devices, as last reported by the GPU layer.",
	     .unit = "bytes",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->gpu_total,
	     .name = "tensor_wasm_gpu_memory_total_bytes",
	     .help = "GPU memory of all devices; 0 without a GPU.",
	     .unit = "bytes",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->gpu_tenant,
	     .name = "tensor_wasm_gpu_memory_bytes_per_tenant",
	     .help = "GPU memory allocated for each tenant's guests.",
	     .kind = MET_GAUGE,
	     .d0 = m->tenant_id},
	    {.out = &m->gpu_devices_f,
	     .name = "tensor_wasm_gpu_devices",
	     .help = "GPU devices in use; 0 without a GPU.",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->gpu_device_info,
	     .name = "tensor_wasm_gpu_device_info",
	     .help = "Identity of each GPU device in use; always 1.",
	     .kind = MET_GAUGE_SET,
	     .d0 = m->device},
	    {.out = &m->permits_used,
	     .name = "tensor_wasm_backpressure_permits_used",
	     .help = "GPU launch permits held.",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->permits_available,
	     .name = "tensor_wasm_backpressure_permits_available",
	     .help = "GPU launch permits free.",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->snap_capture,
	     .name = "tensor_wasm_snapshot_capture_seconds",
	     .help = "Time to capture an instance's memory image.",
	     .unit = "seconds",
	     .kind = MET_HISTOGRAM,
	     .bounds = http_bounds,
	     .nbounds = hb},
	    {.out = &m->snap_restore,
	     .name = "tensor_wasm_snapshot_restore_seconds",
	     .help = "Time to restore an instance from a memory image.",
	     .unit = "seconds",
	     .kind = MET_HISTOGRAM,
	     .bounds = http_bounds,
	     .nbounds = hb},
	    {.out = &m->snap_round_trip,
	     .name = "tensor_wasm_snapshot_disk_round_trip_seconds",
	     .help = "Time to write a memory image to disk and read it back.",
	     .unit = "seconds",
	     .kind = MET_HISTOGRAM,
	     .bounds = http_bounds,
	     .nbounds = hb},
	    {.out = &m->jit_warm,
	     .name = "tensor_wasm_jit_cache_warm_hit_total",
	     .help = "Blueprint cache lookups that found a compiled kernel.",
	     .kind = MET_COUNTER},
	    {.out = &m->jit_cold,
	     .name = "tensor_wasm_jit_cache_cold_miss_then_insert_total",
	     .help = "Blueprint cache misses that emitted and inserted a kernel.",
	     .kind = MET_COUNTER},
	    {.out = &m->jit_emit,
	     .name = "tensor_wasm_jit_emit_text_seconds",
	     .help = "Time to emit a blueprint's PTX text, by blueprint.",
	     .unit = "seconds",
	     .kind = MET_HISTOGRAM,
	     .d0 = m->blueprint,
	     .bounds = kernel_bounds,
	     .nbounds = kb},
	    {.out = &m->spans_dropped,
	     .name = "tensor_wasm_trace_spans_dropped_total",
	     .help = "Finished spans not exported, by reason.",
	     .kind = MET_COUNTER_SET,
	     .d0 = m->span_drop},
	    {.out = &m->spans_exported,
	     .name = "tensor_wasm_trace_spans_exported_total",
	     .help = "Spans the OTLP collector accepted.",
	     .kind = MET_COUNTER_SET},
	    {.out = &m->p_cpu,
	     .name = "process_cpu_seconds_total",
	     .help = "Total user and system CPU time spent.",
	     .unit = "seconds",
	     .kind = MET_COUNTER_SET},
	    {.out = &m->p_rss,
	     .name = "process_resident_memory_bytes",
	     .help = "Resident memory size.",
	     .unit = "bytes",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->p_vms,
	     .name = "process_virtual_memory_bytes",
	     .help = "Virtual memory size.",
	     .unit = "bytes",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->p_fds,
	     .name = "process_open_fds",
	     .help = "Open file descriptors.",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->p_max_fds,
	     .name = "process_max_fds",
	     .help = "Limit on open file descriptors.",
	     .kind = MET_GAUGE_SET},
	    {.out = &m->p_start,
	     .name = "process_start_time_seconds",
	     .help = "Start time of the process since the Unix epoch.",
	     .unit = "seconds",
	     .kind = MET_GAUGE_SET},
	};
	for (size_t i = 0; i < NELEM(fams); i++) {
		enum tw_err e = add_family(r, &fams[i]);
		if (e != TW_ERR_OK)
			return e;
	}
	return TW_ERR_OK;
}

enum tw_err met_tw_init(const struct met_tw_config *c)
{
	enum tw_err e;
	struct met_dim *reasons[6];
	if (g)
		return TW_ERR_EXISTS;
	if (c->workers < 1 || c->workers > TW_WORKERS_MAX || c->nroutes > TW_METRIC_ROUTES_MAX ||
	    (c->nroutes && !c->routes))
		return TW_ERR_INVALID_ARG;
	memset(&tw, 0, sizeof(tw));
	tw.reg = met_registry_new(c->workers, TW_METRIC_SERIES_MAX);
	if (!tw.reg)
		return TW_ERR_NOMEM;
	pthread_mutex_init(&tw.tenant_lock, NULL);
	pthread_mutex_init(&tw.device_lock, NULL);
	if ((e = build_dims(tw.reg, c, reasons)) != TW_ERR_OK)
		goto out_free;
	if ((e = build_families(tw.reg, reasons)) != TW_ERR_OK)
		goto out_free;
	if ((e = met_registry_seal(tw.reg)) != TW_ERR_OK)
		goto out_free;
	met_gauge_set(tw.build_info, 0, 1);
	met_registry_set_collect(tw.reg, collect_process, &tw);
	g = &tw;
	return TW_ERR_OK;

out_free:
	met_registry_free(tw.reg);
	pthread_mutex_destroy(&tw.tenant_lock);
	pthread_mutex_destroy(&tw.device_lock);
	memset(&tw, 0, sizeof(tw));
	return e;
}

void met_tw_fini(void)
{
	if (!g)
		return;
	g = NULL;
	met_registry_free(tw.reg);
	pthread_mutex_destroy(&tw.tenant_lock);
	pthread_mutex_destroy(&tw.device_lock);
	memset(&tw, 0, sizeof(tw));
}

struct met_registry *met_tw_registry(void)
{
	return g ? g->reg : NULL;
}

enum tw_err met_tw_expose(enum met_format fmt, struct met_buf *out)
{
	if (!g)
		return TW_ERR_SHUTDOWN;
	return met_expose(g->reg, fmt, out);
}

bool met_token_ok(const char *token, const char *authorization)
{
	if (!token || !*token)
		return true;
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	const char *given = authorization + 7;
	while (*given == ' ')
		given++;
	size_t n = strlen(given);
	while (n && (given[n - 1] == ' ' || given[n - 1] == '\t'))
		n--;
	return tw_ct_equal(given, n, token, strlen(token));
}

/* ---- HTTP ----------------------------------------------------------------------------- */

enum met_http_method met_http_method_parse(const char *s, size_t n)
{
	for (uint32_t i = 0; i < MET_HTTP_OTHER; i++)
		if (strlen(method_names[i]) == n && memcmp(s, method_names[i], n) == 0)
			return (enum met_http_method)i;
	return MET_HTTP_OTHER;
}

static inline uint32_t route_row(uint32_t route, enum met_http_method m)
{
	if (route < g->nroutes)
		return g->route_row[route];
	return g->unknown_row + ((unsigned)m < MET_HTTP__METHODS ? (uint32_t)m : MET_HTTP_OTHER);
}

void met_http_in_flight_add(uint32_t route, enum met_http_method m, int64_t delta)
{
	if (!g)
		return;
	met_counter_add_(g->http_in_flight, route_row(route, m), (uint64_t)delta);
}

void met_http_observe(uint32_t route, enum met_http_method m, unsigned status, uint64_t duration_ns)
{
	if (!g)
		return;
	uint32_t st = g->status_idx[status < 600 ? status : 599];
	uint32_t s = route_row(route, m) * (uint32_t)NSTATUS + st;
	met_counter_add_(g->http_requests, s, 1);
	met_histogram_observe_(g->http_duration, s, duration_ns);
}

/* ---- tenants -------------------------------------------------------------------------- */

uint32_t met_tenant_slot(uint64_t tenant_id)
{
	if (!g)
		return 0;
	/* Known tenants: lock-free scan. New ones are added to both tenant dimensions under one
	 * lock so that a slot means the same tenant in both. */
	uint32_t n = atomic_load_explicit(&g->tenant->count, memory_order_acquire);
	for (uint32_t i = 0; i < n; i++)
		if (g->tenant->values[i].key == tenant_id)
			return i;
	pthread_mutex_lock(&g->tenant_lock);
	uint32_t slot = met_dim_intern_u64(g->tenant, tenant_id);
	uint32_t slot2 = met_dim_intern_u64(g->tenant_id, tenant_id);
	pthread_mutex_unlock(&g->tenant_lock);
	return slot == slot2 ? slot : met_dim_overflow(g->tenant);
}

uint32_t met_tenant_other(void)
{
	return g ? met_dim_overflow(g->tenant) : 0;
}

static inline uint32_t tenant_ok(uint32_t slot)
{
	return slot < TW_METRIC_TENANTS_MAX + 1 ? slot : TW_METRIC_TENANTS_MAX;
}

void met_instances_active_add(uint32_t tenant_slot, int64_t delta)
{
	if (g)
		met_counter_add_(g->active_instances, tenant_ok(tenant_slot), (uint64_t)delta);
}

void met_instance_spawned(void)
{
	if (g)
		met_counter_add_(g->spawns, 0, 1);
}

void met_instance_terminated(void)
{
	if (g)
		met_counter_add_(g->terminations, 0, 1);
}

void met_jobs_active_add(int64_t delta)
{
	if (g)
		met_counter_add_(g->jobs_active, 0, (uint64_t)delta);
}

void met_guest_trap(enum met_trap kind)
{
	if (g)
		met_counter_add_(g->guest_traps,
				 (unsigned)kind < MET_TRAP__COUNT ? kind : MET_TRAP_OTHER, 1);
}

void met_module_rejected(enum tw_err err)
{
	if (g)
		met_counter_add_(g->modules_rejected,
				 err_index(module_errs, NELEM(module_errs), err), 1);
}

void met_auth_denied(enum tw_err err)
{
	if (g)
		met_counter_add_(g->auth_denials, err_index(auth_errs, NELEM(auth_errs), err), 1);
}

void met_rate_limited(uint32_t tenant_slot)
{
	if (g)
		met_counter_add_(g->rate_limited, tenant_ok(tenant_slot), 1);
}

/* ---- GPU and JIT ---------------------------------------------------------------------- */

void met_kernel_dispatched(uint32_t tenant_slot)
{
	if (g)
		met_counter_add_(g->kernel_dispatches, tenant_ok(tenant_slot), 1);
}

void met_kernel_latency(uint64_t ns)
{
	if (g)
		met_histogram_observe_(g->kernel_latency, 0, ns);
}

void met_offload_success(void)
{
	if (g)
		met_counter_add_(g->offload_success, 0, 1);
}

void met_offload_fallback(enum met_fallback reason)
{
	if (g)
		met_counter_add_(
		    g->offload_fallback,
		    (unsigned)reason < MET_FALLBACK__COUNT ? reason : MET_FALLBACK_OTHER, 1);
}

void met_ptx_rejected(enum tw_err err)
{
	if (g)
		met_counter_add_(g->ptx_rejected, err_index(ptx_errs, NELEM(ptx_errs), err), 1);
}

void met_wasi_cuda_call(enum met_wasi_cuda_fn fn, int64_t status)
{
	if (!g || (unsigned)fn >= MET_CUDA__COUNT)
		return;
	uint32_t r = status >= 0 ? 0
		     : status >= -(int64_t)(NCUDA_RESULTS - 2) ? (uint32_t)-status
							       : (uint32_t)(NCUDA_RESULTS - 1);
	met_counter_add_(g->cuda_calls, (uint32_t)fn * (uint32_t)NCUDA_RESULTS + r, 1);
}

enum tw_err met_tw_add_collector(void (*fn)(void *arg), void *arg)
{
	if (!g)
		return TW_ERR_SHUTDOWN;
	if (g->ncollectors >= MET_TW_COLLECTORS_MAX)
		return TW_ERR_FULL;
	g->collectors[g->ncollectors].fn = fn;
	g->collectors[g->ncollectors].arg = arg;
	g->ncollectors++;
	return TW_ERR_OK;
}

void met_gpu_memory_used_set(uint64_t bytes)
{
	if (g)
		met_gauge_set(g->gpu_used, 0, (double)bytes);
}

void met_backpressure_set(uint32_t permits_used, uint32_t permits_available)
{
	if (!g)
		return;
	met_gauge_set(g->permits_used, 0, permits_used);
	met_gauge_set(g->permits_available, 0, permits_available);
}

void met_gpu_tenant_memory_add(uint32_t tenant_slot, int64_t delta_bytes)
{
	if (g)
		met_counter_add_(g->gpu_tenant, tenant_ok(tenant_slot), (uint64_t)delta_bytes);
}

enum tw_err met_gpu_device_add(uint32_t ordinal, const char *name, const char *compute_capability,
			       uint64_t total_bytes)
{
	enum tw_err e = TW_ERR_OK;
	if (!g)
		return TW_ERR_SHUTDOWN;
	char dev[16];
	snprintf(dev, sizeof(dev), "%u", ordinal);
	const char *v[] = {dev, name ? name : "unknown",
			   compute_capability ? compute_capability : "unknown"};
	pthread_mutex_lock(&g->device_lock);
	uint32_t before = atomic_load(&g->device->count);
	for (uint32_t i = 0; i < before; i++)
		if (strcmp(g->device->values[i].v[0], dev) == 0) {
			e = TW_ERR_EXISTS;
			goto out_unlock;
		}
	uint32_t idx = met_dim_intern(g->device, v);
	if (idx == UINT32_MAX) {
		e = TW_ERR_FULL;
		goto out_unlock;
	}
	met_gauge_set(g->gpu_device_info, idx, 1);
	g->gpu_total_bytes += total_bytes;
	g->gpu_devices++;
	met_gauge_set(g->gpu_total, 0, (double)g->gpu_total_bytes);
	met_gauge_set(g->gpu_devices_f, 0, g->gpu_devices);
out_unlock:
	pthread_mutex_unlock(&g->device_lock);
	return e;
}

void met_jit_cache_warm_hit(void)
{
	if (g)
		met_counter_add_(g->jit_warm, 0, 1);
}

void met_jit_cache_cold_miss_insert(void)
{
	if (g)
		met_counter_add_(g->jit_cold, 0, 1);
}

uint32_t met_jit_blueprint_slot(const char *blueprint)
{
	if (!g)
		return 0;
	return met_dim_intern(g->blueprint, &blueprint);
}

void met_jit_emit_text(uint32_t blueprint_slot, uint64_t ns)
{
	if (!g)
		return;
	uint32_t s = blueprint_slot < TW_METRIC_BLUEPRINTS_MAX + 1 ? blueprint_slot
								   : TW_METRIC_BLUEPRINTS_MAX;
	met_histogram_observe_(g->jit_emit, s, ns);
}

/* ---- snapshots ------------------------------------------------------------------------ */

void met_snapshot_capture(uint64_t ns)
{
	if (g)
		met_histogram_observe_(g->snap_capture, 0, ns);
}

void met_snapshot_restore(uint64_t ns)
{
	if (g)
		met_histogram_observe_(g->snap_restore, 0, ns);
}

void met_snapshot_disk_round_trip(uint64_t ns)
{
	if (g)
		met_histogram_observe_(g->snap_round_trip, 0, ns);
}
