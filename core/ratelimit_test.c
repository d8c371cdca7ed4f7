/* ratelimit_test.c — token buckets: burst, refill, isolation, saturation, threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "core/ratelimit.h"

#define SEC TW_NS_PER_S

Test(ratelimit, burst_then_refill_with_retry_after)
{
	struct tw_ratelimit rl;
	cr_assert_eq(tw_ratelimit_init(&rl, 20, 10.0, 1024, 0), TW_ERR_OK);
	uint32_t retry = 0;
	for (int i = 0; i < 20; i++)
		cr_assert(tw_ratelimit_take(&rl, 1, 5, 0, &retry), "request %d", i);
	cr_assert(!tw_ratelimit_take(&rl, 1, 5, 0, &retry));
	cr_assert_eq(retry, 1);
	cr_assert(!tw_ratelimit_take(&rl, 1, 5, SEC / 20, &retry), "half a token after 50 ms");
	cr_assert(tw_ratelimit_take(&rl, 1, 5, SEC / 10, &retry), "one token after 100 ms");
	int ok = 0;
	for (int i = 0; i < 100; i++)
		ok += tw_ratelimit_take(&rl, 1, 5, 2 * SEC, &retry);
	cr_assert_eq(ok, 19, "refill over 1.9 s gives 19 tokens (got %d)", ok);
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += tw_ratelimit_take(&rl, 1, 5, 100 * SEC, &retry);
	cr_assert_eq(ok, 20, "refill stops at the burst");
	tw_ratelimit_destroy(&rl);
}

Test(ratelimit, fractional_refill_is_not_lost)
{
	struct tw_ratelimit rl;
	cr_assert_eq(tw_ratelimit_init(&rl, 1, 3.0, 64, 0), TW_ERR_OK);
	uint32_t retry;
	cr_assert(tw_ratelimit_take(&rl, 1, 1, 0, &retry));
	int ok = 0;
	/* Polling every 10 ms for 10 s at 3/s must allow ~30, not fewer from rounding. */
	for (uint64_t t = 1; t <= 1000; t++)
		ok += tw_ratelimit_take(&rl, 1, 1, t * SEC / 100, &retry);
	cr_assert(ok >= 29 && ok <= 30, "ok=%d", ok);
	tw_ratelimit_destroy(&rl);
}

Test(ratelimit, keys_are_isolated_and_retry_after_scales)
{
	struct tw_ratelimit rl;
	cr_assert_eq(tw_ratelimit_init(&rl, 1, 0.25, 64, 0), TW_ERR_OK);
	uint32_t retry;
	cr_assert(tw_ratelimit_take(&rl, 1, 1, 0, &retry));
	cr_assert(!tw_ratelimit_take(&rl, 1, 1, 0, &retry));
	cr_assert_eq(retry, 4, "0.25 tokens/s: 4 s to the next one");
	cr_assert(tw_ratelimit_take(&rl, 1, 2, 0, &retry), "another tenant has its own bucket");
	cr_assert(tw_ratelimit_take(&rl, 2, 1, 0, &retry), "another credential too");
	tw_ratelimit_destroy(&rl);
}

Test(ratelimit, invented_tenants_cannot_escape)
{
	struct tw_ratelimit rl;
	cr_assert_eq(tw_ratelimit_init(&rl, 2, 1.0, 64, 0), TW_ERR_OK);
	uint32_t retry;
	int ok = 0;
	for (uint64_t tenant = 0; tenant < 100000; tenant++)
		ok += tw_ratelimit_take(&rl, 9, tenant, 0, &retry);
	cr_assert_lt(ok, 64 * 2 + 2, "bounded by the table and the overflow bucket: %d", ok);
	tw_ratelimit_destroy(&rl);
}

Test(ratelimit, bad_parameters)
{
	struct tw_ratelimit rl;
	cr_assert_eq(tw_ratelimit_init(&rl, 0, 1, 64, 0), TW_ERR_INVALID_ARG);
	cr_assert_eq(tw_ratelimit_init(&rl, 1, 0, 64, 0), TW_ERR_INVALID_ARG);
	cr_assert_eq(tw_ratelimit_init(&rl, 70000, 1, 64, 0), TW_ERR_INVALID_ARG);
	cr_assert_eq(tw_ratelimit_init(&rl, 1, 1, 100, 0), TW_ERR_INVALID_ARG);
}

static struct tw_ratelimit shared;
static atomic_int granted;

static void *hammer(void *arg)
{
	(void)arg;
	uint32_t retry;
	for (int i = 0; i < 20000; i++)
		if (tw_ratelimit_take(&shared, 1, 1, 0, &retry))
			atomic_fetch_add(&granted, 1);
	return NULL;
}

Test(ratelimit, threads_never_overspend)
{
	cr_assert_eq(tw_ratelimit_init(&shared, 1000, 1.0, 64, 0), TW_ERR_OK);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_leq(atomic_load(&granted), 1000);
	cr_assert_geq(atomic_load(&granted), 990, "contention sheds very little");
	tw_ratelimit_destroy(&shared);
}
