/* hash_test.c — XXH3 wrappers: golden values (hashes are stored on disk) and streaming. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"

Test(hash, golden_values_are_stable)
{
	/* XXH3-64 and XXH3-128 of the empty input with seed 0, as published by xxHash. */
	cr_assert_eq(tw_hash64("", 0), 0x2D06800538D394C2ull);
	struct tw_hash128 h = tw_hash128("", 0);
	cr_assert_eq(h.hi, 0x99AA06D3014798D8ull);
	cr_assert_eq(h.lo, 0x6001C324468D497Full);
	char hex[33];
	tw_hash128_hex(h, hex);
	cr_assert_str_eq(hex, "99aa06d3014798d86001c324468d497f");
}

Test(hash, streaming_equals_one_shot)
{
	char buf[10000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 131 + 7);
	struct tw_hash_stream s;
	tw_hash_stream_init(&s);
	size_t off = 0, step = 1;
	while (off < sizeof(buf)) {
		size_t n = step < sizeof(buf) - off ? step : sizeof(buf) - off;
		tw_hash_stream_update(&s, buf + off, n);
		off += n;
		step = step * 3 + 1;
	}
	cr_assert_eq(tw_hash_stream_digest(&s), tw_hash64(buf, sizeof(buf)));
	cr_assert_neq(tw_hash64(buf, 100), tw_hash64(buf, 101));
}

Test(clock, formats)
{
	char buf[64];
	cr_assert_eq(tw_http_date(784111777ull * TW_NS_PER_S, buf, sizeof(buf)), 29);
	cr_assert_str_eq(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	tw_rfc3339(784111777ull * TW_NS_PER_S + 123456789, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1994-11-06T08:49:37.123456Z");
	uint64_t a = tw_now_ns(), b = tw_now_ns();
	cr_assert_geq(b, a, "monotonic");
}
