/* gpu_admit.c — launch permits, tenant quotas and GPU counters; see gpu_admit.h. */
#include "gpu/gpu_admit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "core/limits.h"
#include "metrics/met_tw.h"

static _Atomic uint32_t permits_max = TW_GPU_PERMITS;
static _Atomic uint32_t permits_in_use;
static _Atomic uint64_t launch_est_ns;
static _Atomic uint64_t n_dispatches, n_failures, n_refused_full, n_refused_deadline,
	n_quota_refused, mem_total;

struct tenant_slot {
	uint64_t tenant;
	uint64_t bytes;
	bool used; /* slot was ever taken (open addressing: slots are not removed) */
};

static pthread_mutex_t quota_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tenant_slot tenants[TW_GPU_TENANTS_MAX];
static uint64_t tenant_cap = TW_GPU_TENANT_MEM_BYTES;

void gpu_admit_init(uint32_t permits, uint64_t tenant_mem_bytes)
{
	atomic_store(&permits_max, permits ? permits : 1);
	atomic_store(&permits_in_use, 0);
	atomic_store(&launch_est_ns, 0);
	atomic_store(&n_dispatches, 0);
	atomic_store(&n_failures, 0);
	atomic_store(&n_refused_full, 0);
	atomic_store(&n_refused_deadline, 0);
	atomic_store(&n_quota_refused, 0);
	atomic_store(&mem_total, 0);
	pthread_mutex_lock(&quota_lock);
	memset(tenants, 0, sizeof(tenants));
	tenant_cap = tenant_mem_bytes;
	pthread_mutex_unlock(&quota_lock);
}

enum tw_err gpu_permit_try_acquire(uint64_t now_ns, uint64_t deadline_ns)
{
	if (deadline_ns) {
		uint64_t est = atomic_load_explicit(&launch_est_ns, memory_order_relaxed);
		/* Twice the estimate: the launch plus the copies and the wake-up around it. */
		if (deadline_ns <= now_ns || deadline_ns - now_ns <= 2 * est) {
			atomic_fetch_add_explicit(&n_refused_deadline, 1, memory_order_relaxed);
			return TW_ERR_TIMEOUT;
		}
	}
	uint32_t cur = atomic_load_explicit(&permits_in_use, memory_order_relaxed);
	uint32_t max = atomic_load_explicit(&permits_max, memory_order_relaxed);
	/* Bounded: each failed CAS means another thread made progress; give up after a few. */
	for (int tries = 0; tries < 64; tries++) {
		if (cur >= max) {
			atomic_fetch_add_explicit(&n_refused_full, 1, memory_order_relaxed);
			return TW_ERR_FULL;
		}
		if (atomic_compare_exchange_weak_explicit(&permits_in_use, &cur, cur + 1,
							  memory_order_acquire,
							  memory_order_relaxed)) {
			atomic_fetch_add_explicit(&n_dispatches, 1, memory_order_relaxed);
			return TW_ERR_OK;
		}
	}
	atomic_fetch_add_explicit(&n_refused_full, 1, memory_order_relaxed);
	return TW_ERR_FULL;
}

void gpu_permit_release(uint64_t launch_ns, bool failed)
{
	uint32_t prev = atomic_fetch_sub_explicit(&permits_in_use, 1, memory_order_release);
	if (prev == 0) /* a release without an acquire is our own bug: undo and stay sane */
		atomic_fetch_add_explicit(&permits_in_use, 1, memory_order_relaxed);
	if (failed)
		atomic_fetch_add_explicit(&n_failures, 1, memory_order_relaxed);
	if (launch_ns) {
		/* EWMA with weight 1/8; a lost update under contention only delays the estimate. */
		uint64_t old = atomic_load_explicit(&launch_est_ns, memory_order_relaxed);
		uint64_t est = old ? old - old / 8 + launch_ns / 8 : launch_ns;
		atomic_store_explicit(&launch_est_ns, est, memory_order_relaxed);
	}
}

uint64_t gpu_permit_estimate_ns(void)
{
	return atomic_load_explicit(&launch_est_ns, memory_order_relaxed);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Slot of tenant, or a fresh one when create; NULL when absent (or table full). Lock held. */
static struct tenant_slot *find(uint64_t tenant, bool create)
{
	size_t start = mix(tenant) % TW_GPU_TENANTS_MAX;
	for (size_t k = 0; k < TW_GPU_TENANTS_MAX; k++) {
		struct tenant_slot *s = &tenants[(start + k) % TW_GPU_TENANTS_MAX];
		if (s->used && s->tenant == tenant)
			return s;
		if (!s->used) {
			if (!create)
				return NULL;
			s->used = true;
			s->tenant = tenant;
			s->bytes = 0;
			return s;
		}
	}
	return NULL;
}

enum tw_err gpu_quota_charge(uint64_t tenant, uint64_t bytes)
{
	enum tw_err err = TW_ERR_OK;
	pthread_mutex_lock(&quota_lock);
	struct tenant_slot *s = find(tenant, true);
	if (!s) {
		err = TW_ERR_FULL;
		goto out_unlock;
	}
	if (bytes > tenant_cap || s->bytes > tenant_cap - bytes) {
		atomic_fetch_add_explicit(&n_quota_refused, 1, memory_order_relaxed);
		err = TW_ERR_GPU_QUOTA;
		goto out_unlock;
	}
	s->bytes += bytes;
	atomic_fetch_add_explicit(&mem_total, bytes, memory_order_relaxed);
out_unlock:
	pthread_mutex_unlock(&quota_lock);
	if (err == TW_ERR_OK)
		met_gpu_tenant_memory_add(met_tenant_slot(tenant), (int64_t)bytes);
	return err;
}

void gpu_quota_release(uint64_t tenant, uint64_t bytes)
{
	pthread_mutex_lock(&quota_lock);
	struct tenant_slot *s = find(tenant, false);
	uint64_t give = 0;
	if (s) {
		give = bytes < s->bytes ? bytes : s->bytes;
		s->bytes -= give;
		atomic_fetch_sub_explicit(&mem_total, give, memory_order_relaxed);
	}
	pthread_mutex_unlock(&quota_lock);
	if (give)
		met_gpu_tenant_memory_add(met_tenant_slot(tenant), -(int64_t)give);
}

uint64_t gpu_quota_used(uint64_t tenant)
{
	pthread_mutex_lock(&quota_lock);
	struct tenant_slot *s = find(tenant, false);
	uint64_t b = s ? s->bytes : 0;
	pthread_mutex_unlock(&quota_lock);
	return b;
}

void gpu_quota_for_each(void (*fn)(uint64_t tenant, uint64_t bytes, void *arg), void *arg)
{
	pthread_mutex_lock(&quota_lock);
	for (size_t i = 0; i < TW_GPU_TENANTS_MAX; i++)
		if (tenants[i].used && tenants[i].bytes)
			fn(tenants[i].tenant, tenants[i].bytes, arg);
	pthread_mutex_unlock(&quota_lock);
}

void gpu_stats_get(struct gpu_stats *out)
{
	out->dispatches = atomic_load(&n_dispatches);
	out->launch_failures = atomic_load(&n_failures);
	out->permits_in_use = atomic_load(&permits_in_use);
	out->permits_max = atomic_load(&permits_max);
	out->refused_full = atomic_load(&n_refused_full);
	out->refused_deadline = atomic_load(&n_refused_deadline);
	out->quota_refused = atomic_load(&n_quota_refused);
	out->memory_bytes = atomic_load(&mem_total);
}
