/*
 * gpu_admit.h — admission to the GPU: back-pressure permits, per-tenant device-memory quotas,
 * and the GPU counters and gauges.
 *
 * Permits bound the launches in flight in the whole process (TW_GPU_PERMITS by default). A
 * worker never waits for one: gpu_permit_try_acquire() either grants a permit at once or says
 * why not, and the caller runs the loop in the interpreter instead. It is deadline-aware: when
 * the caller's deadline is nearer than twice the recent launch time (an exponentially weighted
 * average of what gpu_permit_release() reports) the launch is refused, since its result would
 * arrive too late to be useful.
 *
 * Quotas are a hard in-process cap on the device memory each tenant holds, charged before the
 * driver is asked for memory (gpu_quota_charge) and credited after it is freed. The tenant
 * table is bounded (TW_GPU_TENANTS_MAX) and taken under one mutex: allocations are rare next to
 * launches.
 *
 * Metrics: charges and credits update tensor_wasm_gpu_memory_bytes_per_tenant as they happen;
 * the permit gauges (tensor_wasm_backpressure_permits_used / _available) and
 * tensor_wasm_gpu_memory_used_bytes are read from gpu_stats_get() at scrape time by the collector
 * gpu_metrics_attach() registers (gpu_bind.h). The other counters here (dispatches, refusals,
 * quota refusals) are process-wide atomics for tests and tools; the metric families count the
 * same events where they happen (kernel dispatches, wasi_cuda call results, offload fallbacks).
 * Reading them never blocks a launch.
 */
#ifndef TW_GPU_ADMIT_H
#define TW_GPU_ADMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* Reset permits and quotas (start-up and tests; no permit may be held). permits: 1.. ;
 * tenant_mem_bytes: the per-tenant cap. */
void gpu_admit_init(uint32_t permits, uint64_t tenant_mem_bytes);

/*
 * Try to take a launch permit at time now_ns for a caller whose deadline is deadline_ns (0: no
 * deadline), on the tw_now_ns() clock. TW_ERR_OK: a permit is held, release it with
 * gpu_permit_release(). TW_ERR_FULL: all permits are in use. TW_ERR_TIMEOUT: the deadline is too
 * near. Never blocks; any thread.
 */
enum tw_err gpu_permit_try_acquire(uint64_t now_ns, uint64_t deadline_ns);

/* Give back a permit; launch_ns is how long the launch took (0 if it never ran), which feeds
 * the estimate used for deadline decisions. failed counts a launch failure. */
void gpu_permit_release(uint64_t launch_ns, bool failed);

/* Current estimate of one launch's duration (ns). */
uint64_t gpu_permit_estimate_ns(void);

/* Charge `bytes` of device memory to tenant before allocating it. TW_ERR_GPU_QUOTA when the
 * tenant would go over its cap, TW_ERR_FULL when the tenant table is full. */
enum tw_err gpu_quota_charge(uint64_t tenant, uint64_t bytes);

/* Credit back memory charged earlier (after freeing it). */
void gpu_quota_release(uint64_t tenant, uint64_t bytes);

/* Bytes tenant holds now. */
uint64_t gpu_quota_used(uint64_t tenant);

/* Call fn for every tenant that holds memory (scrape). Takes the quota lock. */
void gpu_quota_for_each(void (*fn)(uint64_t tenant, uint64_t bytes, void *arg), void *arg);

struct gpu_stats {
	uint64_t dispatches;       /* permits granted */
	uint64_t launch_failures;
	uint32_t permits_in_use;
	uint32_t permits_max;
	uint64_t refused_full;
	uint64_t refused_deadline;
	uint64_t quota_refused;
	uint64_t memory_bytes;     /* all tenants */
};

void gpu_stats_get(struct gpu_stats *out);

#endif
