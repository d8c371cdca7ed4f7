/* arena_test.c — tw_arena and tw_pool edge cases. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/pool.h"

Test(arena, alignment_and_zero_size)
{
	struct tw_arena a;
	tw_arena_init(&a, 256, 0);
	for (size_t align = 1; align <= 4096; align <<= 1) {
		void *p = tw_arena_alloc(&a, 3, align);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % align, 0, "align %zu", align);
	}
	void *z1 = tw_arena_alloc(&a, 0, 1), *z2 = tw_arena_alloc(&a, 0, 1);
	cr_assert(z1 && z2 && z1 != z2);
	tw_arena_free(&a);
}

Test(arena, large_allocation_gets_own_chunk)
{
	struct tw_arena a;
	tw_arena_init(&a, 128, 0);
	char *big = tw_arena_alloc(&a, 10000, 8);
	cr_assert_not_null(big);
	memset(big, 0xab, 10000);
	char *small = tw_arena_alloc(&a, 16, 8);
	cr_assert_not_null(small);
	cr_assert(small < big || small >= big + 10000);
	tw_arena_free(&a);
}

Test(arena, cap_is_enforced_and_reset_reuses)
{
	struct tw_arena a;
	tw_arena_init(&a, 1024, 4096);
	int n = 0;
	while (tw_arena_alloc(&a, 512, 8))
		n++;
	cr_assert(n >= 4 && n < 9, "n=%d", n);
	cr_assert_leq(a.bytes_held, 4096);
	tw_arena_reset(&a);
	cr_assert_not_null(tw_arena_alloc(&a, 512, 8));
	tw_arena_free(&a);
	cr_assert_eq(a.bytes_held, 0);
}

Test(arena, calloc_overflow_and_strndup)
{
	struct tw_arena a;
	tw_arena_init(&a, 0, 0);
	cr_assert_null(tw_arena_calloc(&a, SIZE_MAX / 2, 4, 8));
	cr_assert_null(tw_arena_alloc(&a, SIZE_MAX - 2, 8));
	uint32_t *z = TW_ARENA_NEW_ARRAY(&a, uint32_t, 100);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(z[i], 0);
	char *s = tw_arena_strndup(&a, "hello world", 5);
	cr_assert_str_eq(s, "hello");
	tw_arena_free(&a);
}

Test(pool, exhaust_and_reuse)
{
	struct tw_pool p;
	cr_assert_eq(tw_pool_init(&p, 40, 3), TW_ERR_OK);
	void *a = tw_pool_get(&p), *b = tw_pool_get(&p), *c = tw_pool_get(&p);
	cr_assert(a && b && c);
	cr_assert_null(tw_pool_get(&p), "a full pool is a normal NULL");
	cr_assert_eq(tw_pool_used(&p), 3);
	uint32_t ib = tw_pool_index(&p, b);
	cr_assert_eq(tw_pool_at(&p, ib), b);
	memset(b, 0x5a, 40);
	tw_pool_put(&p, b);
	cr_assert_null(tw_pool_at(&p, ib));
	unsigned char *again = tw_pool_get(&p);
	cr_assert_eq((void *)again, b);
	for (int i = 0; i < 40; i++)
		cr_assert_eq(again[i], 0, "slots come back zeroed");
	cr_assert_null(tw_pool_at(&p, 1000));
	tw_pool_destroy(&p);
}

Test(pool, invalid_sizes)
{
	struct tw_pool p;
	cr_assert_eq(tw_pool_init(&p, 16, 0), TW_ERR_INVALID_ARG);
	cr_assert_eq(tw_pool_init(&p, 0, 4), TW_ERR_INVALID_ARG);
	cr_assert_eq(tw_pool_init(&p, SIZE_MAX / 2, 16), TW_ERR_INVALID_ARG);
}
