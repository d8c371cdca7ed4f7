/*
 * met_tw.h — TensorWasm's metric families and the typed functions every subsystem calls to update
 * them.
 *
 * One process-wide registry, built by met_tw_init() on the main thread before the workers start
 * (it needs the worker count and the router's table of routes). Every family of the inventory in
 * docs/metrics.md is registered there, including those whose subsystem reports nothing yet: they
 * are exposed at zero. Update functions may be called from any thread; on a worker thread bound
 * with met_shard_bind(worker_index) they are a few plain loads and stores into that worker's
 * shard. Before met_tw_init and after met_tw_fini they do nothing, so unit tests of other
 * subsystems need no metrics set-up.
 *
 * Label sets are bounded and fixed at start-up (routes, methods, status codes, reasons, kinds),
 * or bounded with an overflow value (tenants, blueprints: "other" once full).
 */
#ifndef TW_METRICS_MET_TW_H
#define TW_METRICS_MET_TW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "metrics/met.h"

/* ---- set-up --------------------------------------------------------------------------- */

/* One entry of the router's table, in the router's order: its index is the route index the
 * HTTP server passes to met_http_*. */
struct met_http_route {
	const char *method;   /* "GET", "POST", ...; borrowed during met_tw_init only */
	const char *template; /* "/functions/:id/invoke"; becomes the route label */
};

struct met_tw_config {
	uint32_t workers;		     /* worker threads (shards), 1..TW_WORKERS_MAX */
	const struct met_http_route *routes; /* borrowed during met_tw_init only */
	uint32_t nroutes;		     /* <= TW_METRIC_ROUTES_MAX */
	const char *build_profile;	     /* build_info's profile; NULL: the build mode */
};

/*
 * Build the registry and every family. Main thread, once, before workers start.
 * Returns TW_ERR_INVALID_ARG (worker or route count out of range), TW_ERR_NOMEM, or
 * TW_ERR_EXISTS when already initialised.
 */
enum tw_err met_tw_init(const struct met_tw_config *cfg);

/* Free the registry; updates become no-ops. Main thread, after the workers have stopped. */
void met_tw_fini(void);

/* The registry (NULL before init), for met_expose and for tests. */
struct met_registry *met_tw_registry(void);

/*
 * The /metrics body: every family in `fmt` into `out` (see met_expose). Any thread.
 * Returns TW_ERR_SHUTDOWN before init, TW_ERR_NOMEM.
 */
enum tw_err met_tw_expose(enum met_format fmt, struct met_buf *out);

/*
 * Whether a /metrics request may be served: true when `token` (the configured
 * TENSOR_WASM_API_METRICS_TOKEN) is NULL or empty, or when `authorization` (the request's
 * Authorization header value, NULL when absent) is "Bearer <token>" (scheme case-insensitive).
 * The token comparison takes constant time.
 */
bool met_token_ok(const char *token, const char *authorization);

/* ---- HTTP (http/, on worker threads) ---------------------------------------------------- */

/* Methods as the unknown-route rows label them. A registered route is labelled with its own
 * method, whatever the request's. */
enum met_http_method {
	MET_HTTP_GET,
	MET_HTTP_HEAD,
	MET_HTTP_POST,
	MET_HTTP_PUT,
	MET_HTTP_DELETE,
	MET_HTTP_PATCH,
	MET_HTTP_OPTIONS,
	MET_HTTP_OTHER,
	MET_HTTP__METHODS
};

/* The request's route index when the router found none (404, and 405 if the router does not
 * attribute it to a route): counted under route="unknown" and the request's method. */
#define MET_ROUTE_UNKNOWN UINT32_MAX

/* The method enum of a method token ("GET", n = 3); anything unknown is MET_HTTP_OTHER. */
enum met_http_method met_http_method_parse(const char *s, size_t n);

/* Requests in flight: +1 when the route is known (after routing), -1 when the response is done;
 * the same route and method both times. An index >= the route count counts as unknown. */
void met_http_in_flight_add(uint32_t route, enum met_http_method m, int64_t delta);

/*
 * One finished request: tensor_wasm_http_requests_total and
 * tensor_wasm_http_request_duration_seconds{route,method,status}. `status` is the code sent;
 * codes the metrics do not list individually are counted as "1xx".."5xx" (regexes like 5..
 * still match).
 */
void met_http_observe(uint32_t route, enum met_http_method m, unsigned status,
		      uint64_t duration_ns);

/* ---- tenants ---------------------------------------------------------------------------- */

/* The label slot of a tenant, to keep with the tenant and pass to the per-tenant functions.
 * The first TW_METRIC_TENANTS_MAX tenants seen get their own; later ones share "other". A known
 * tenant costs a scan of at most TW_METRIC_TENANTS_MAX ids; a new one takes a lock. */
uint32_t met_tenant_slot(uint64_t tenant_id);

/* The "other" slot (always valid). */
uint32_t met_tenant_other(void);

/* ---- instances (wasm/, http/) ----------------------------------------------------------- */

void met_instances_active_add(uint32_t tenant_slot, int64_t delta);
void met_instance_spawned(void);
void met_instance_terminated(void);
void met_jobs_active_add(int64_t delta);

/* Traps and aborted calls, by kind (tensor_wasm_guest_traps_total{kind}). */
enum met_trap {
	MET_TRAP_UNREACHABLE,
	MET_TRAP_MEMORY_OUT_OF_BOUNDS,
	MET_TRAP_DIVIDE_BY_ZERO,
	MET_TRAP_INTEGER_OVERFLOW,
	MET_TRAP_INVALID_CONVERSION,
	MET_TRAP_INDIRECT_CALL_MISMATCH,
	MET_TRAP_UNDEFINED_ELEMENT,
	MET_TRAP_UNINITIALIZED_ELEMENT,
	MET_TRAP_STACK_EXHAUSTED,
	MET_TRAP_FUEL_EXHAUSTED,
	MET_TRAP_DEADLINE,
	MET_TRAP_HOST,
	MET_TRAP_OTHER,
	MET_TRAP__COUNT
};
void met_guest_trap(enum met_trap kind);

/* Rejected deploys, by the error returned (tensor_wasm_modules_rejected_total{reason}): the
 * reason label is tw_err_str(err) for malformed_wasm, invalid_wasm, unlinkable,
 * module_too_large, module_memory_too_large, invalid_base64; "other" for anything else. */
void met_module_rejected(enum tw_err err);

/* ---- security (http/ middleware) -------------------------------------------------------- */

/* tensor_wasm_auth_denials_total{reason}: reason is tw_err_str(err) for unauthorized,
 * invalid_auth, tenant_scope_denied, missing_tenant, invalid_tenant; "other" otherwise. */
void met_auth_denied(enum tw_err err);
void met_rate_limited(uint32_t tenant_slot);

/* ---- GPU and JIT (gpu/, jit/) ----------------------------------------------------------- */

void met_kernel_dispatched(uint32_t tenant_slot);
void met_kernel_latency(uint64_t ns);
void met_offload_success(void);

enum met_fallback {
	MET_FALLBACK_DISABLED,	      /* --offload off/host */
	MET_FALLBACK_NO_GPU,	      /* no device or no driver */
	MET_FALLBACK_BELOW_THRESHOLD, /* trip count or data too small to pay for a launch */
	MET_FALLBACK_NO_PERMIT,	      /* back-pressure: every permit in use */
	MET_FALLBACK_QUOTA,	      /* the tenant's GPU memory quota */
	MET_FALLBACK_LAUNCH_ERROR,    /* the driver refused the launch or the module */
	MET_FALLBACK_UNSUPPORTED,     /* the blueprint cannot run on this device, or no trip count */
	MET_FALLBACK_OUT_OF_BOUNDS,   /* some access of the loop is outside memory: it will trap */
	MET_FALLBACK_OVERLAP,	      /* output overlaps an input in a way that may differ */
	MET_FALLBACK_MAY_TRAP,	      /* an integer division may trap on this data */
	MET_FALLBACK_NAN_RESULT,      /* a float result was NaN: the interpreter's own NaN bits */
	MET_FALLBACK_OTHER,
	MET_FALLBACK__COUNT
};
void met_offload_fallback(enum met_fallback reason);

/* PTX a guest handed to wasi_cuda_load_ptx and that was refused
 * (tensor_wasm_ptx_rejected_total{reason}): the reason label is tw_err_str(err) for
 * malformed_ptx (the driver refused it) and invalid_argument (over TW_GPU_PTX_BYTES_MAX or not
 * text); "other" otherwise. */
void met_ptx_rejected(enum tw_err err);

/* The wasi_cuda_* guest functions (tensor_wasm_wasi_cuda_calls_total{function,result}). */
enum met_wasi_cuda_fn {
	MET_CUDA_LOAD_PTX,
	MET_CUDA_LAUNCH,
	MET_CUDA_SYNC,
	MET_CUDA_LAST_ERROR_LEN,
	MET_CUDA_LAST_ERROR_COPY,
	MET_CUDA_ALLOC,
	MET_CUDA_FREE,
	MET_CUDA_MEMCPY_H2D,
	MET_CUDA_MEMCPY_D2H,
	MET_CUDA__COUNT
};

/* One wasi_cuda call that returned `status`: >= 0 is result="ok", -1..-10 the ABI's codes
 * (not_available, invalid_pointer, invalid_kernel, malformed_ptx, launch_failed,
 * quota_exceeded, internal, invalid_dimensions, invalid_args, kernel_args_unsupported, the
 * names gpu_cuda_status_str gives), anything else "other". */
void met_wasi_cuda_call(enum met_wasi_cuda_fn fn, int64_t status);

/* Device-wide facts, set by their owner (last write wins). */
void met_gpu_memory_used_set(uint64_t bytes);
void met_backpressure_set(uint32_t permits_used, uint32_t permits_available);
void met_gpu_tenant_memory_add(uint32_t tenant_slot, int64_t delta_bytes);

/* Describe device `ordinal` (once per device at start-up): tensor_wasm_gpu_device_info{device,
 * name,compute_capability} = 1, and its memory is added to tensor_wasm_gpu_memory_total_bytes
 * and the device to tensor_wasm_gpu_devices. Returns TW_ERR_FULL beyond
 * TW_METRIC_GPU_DEVICES_MAX or TW_ERR_EXISTS when the device was described already. */
enum tw_err met_gpu_device_add(uint32_t ordinal, const char *name, const char *compute_capability,
			       uint64_t total_bytes);

void met_jit_cache_warm_hit(void);
void met_jit_cache_cold_miss_insert(void);
/* The label slot of a blueprint name (first TW_METRIC_BLUEPRINTS_MAX get their own). */
uint32_t met_jit_blueprint_slot(const char *blueprint);
void met_jit_emit_text(uint32_t blueprint_slot, uint64_t ns);

/* ---- scrape-time collectors ------------------------------------------------------------ */

/*
 * Run `fn(arg)` at the start of every exposition, after the process metrics are read, so a
 * floor above this one can refresh its set gauges (the GPU layer's permits and memory) from its
 * own counters without pushing on every change. It may run on several threads at once. Main
 * thread, after met_tw_init, before the workers start; cleared by met_tw_fini. TW_ERR_FULL
 * beyond MET_TW_COLLECTORS_MAX, TW_ERR_SHUTDOWN before init.
 */
#define MET_TW_COLLECTORS_MAX 4
enum tw_err met_tw_add_collector(void (*fn)(void *arg), void *arg);

/* The trace exporter's counters (core/span.h) are read at scrape time into
 * tensor_wasm_trace_spans_dropped_total{reason} and tensor_wasm_trace_spans_exported_total;
 * nothing needs to be called for them. */

/* ---- snapshots -------------------------------------------------------------------------- */

void met_snapshot_capture(uint64_t ns);
void met_snapshot_restore(uint64_t ns);
void met_snapshot_disk_round_trip(uint64_t ns);

#endif
