/* gpu_admit_test.c — launch permits, deadline refusal, tenant quotas, counters. */
#include <criterion/criterion.h>

#include "gpu/gpu_admit.h"

Test(gpu_admit, permits_bound_in_flight)
{
	gpu_admit_init(3, 1000);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(gpu_permit_try_acquire(100, 0), TW_ERR_OK);
	cr_assert_eq(gpu_permit_try_acquire(100, 0), TW_ERR_FULL, "a full pool is refused at once");
	struct gpu_stats st;
	gpu_stats_get(&st);
	cr_assert_eq(st.permits_in_use, 3);
	cr_assert_eq(st.permits_max, 3);
	cr_assert_eq(st.dispatches, 3);
	cr_assert_eq(st.refused_full, 1);
	gpu_permit_release(1000, false);
	cr_assert_eq(gpu_permit_try_acquire(100, 0), TW_ERR_OK);
	gpu_permit_release(0, true);
	gpu_permit_release(0, false);
	gpu_permit_release(0, false);
	gpu_stats_get(&st);
	cr_assert_eq(st.permits_in_use, 0);
	cr_assert_eq(st.launch_failures, 1);
	gpu_permit_release(0, false); /* unmatched: must not underflow */
	gpu_stats_get(&st);
	cr_assert_eq(st.permits_in_use, 0);
}

Test(gpu_admit, deadline_aware)
{
	gpu_admit_init(4, 1000);
	cr_assert_eq(gpu_permit_estimate_ns(), 0);
	cr_assert_eq(gpu_permit_try_acquire(1000, 999), TW_ERR_TIMEOUT, "deadline passed");
	cr_assert_eq(gpu_permit_try_acquire(1000, 1001), TW_ERR_OK, "no estimate yet");
	gpu_permit_release(1000000, false); /* launches take 1 ms */
	cr_assert_eq(gpu_permit_estimate_ns(), 1000000);
	cr_assert_eq(gpu_permit_try_acquire(0, 1500000), TW_ERR_TIMEOUT,
		     "1.5 ms left for a 1 ms launch is too near");
	cr_assert_eq(gpu_permit_try_acquire(0, 2500000), TW_ERR_OK);
	gpu_permit_release(2000000, false);
	uint64_t est = gpu_permit_estimate_ns();
	cr_assert(est > 1000000 && est < 2000000, "EWMA moves towards new samples: %llu",
		  (unsigned long long)est);
	struct gpu_stats st;
	gpu_stats_get(&st);
	cr_assert_eq(st.refused_deadline, 2);
}

static void sum_bytes(uint64_t tenant, uint64_t bytes, void *arg)
{
	uint64_t *acc = arg;
	acc[0] += bytes;
	acc[1]++;
	(void)tenant;
}

Test(gpu_admit, tenant_quotas)
{
	gpu_admit_init(4, 1000);
	cr_assert_eq(gpu_quota_charge(7, 600), TW_ERR_OK);
	cr_assert_eq(gpu_quota_charge(7, 401), TW_ERR_GPU_QUOTA, "hard cap before allocation");
	cr_assert_eq(gpu_quota_charge(7, 400), TW_ERR_OK);
	cr_assert_eq(gpu_quota_charge(8, 1000), TW_ERR_OK, "tenants are separate");
	cr_assert_eq(gpu_quota_charge(9, UINT64_MAX), TW_ERR_GPU_QUOTA, "no overflow");
	cr_assert_eq(gpu_quota_used(7), 1000);
	uint64_t acc[2] = {0, 0};
	gpu_quota_for_each(sum_bytes, acc);
	cr_assert_eq(acc[0], 2000);
	cr_assert_eq(acc[1], 2);
	gpu_quota_release(7, 600);
	cr_assert_eq(gpu_quota_used(7), 400);
	gpu_quota_release(7, 10000); /* over-release clamps */
	cr_assert_eq(gpu_quota_used(7), 0);
	gpu_quota_release(12345, 1); /* unknown tenant: nothing */
	struct gpu_stats st;
	gpu_stats_get(&st);
	cr_assert_eq(st.memory_bytes, 1000);
	cr_assert_eq(st.quota_refused, 2);
}

Test(gpu_admit, tenant_table_bounded)
{
	gpu_admit_init(1, 10);
	enum tw_err last = TW_ERR_OK;
	uint64_t t;
	for (t = 1; t < 100000 && last == TW_ERR_OK; t++)
		last = gpu_quota_charge(t, 1);
	cr_assert_eq(last, TW_ERR_FULL, "the table fills instead of growing");
	cr_assert_eq(gpu_quota_charge(1, 1), TW_ERR_OK, "known tenants still work");
}
