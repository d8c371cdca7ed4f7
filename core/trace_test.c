/* trace_test.c — traceparent parsing against the W3C rules, formatting, ids. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/trace.h"

static const char GOOD[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

static bool parse(const char *s, struct tw_trace_ctx *c)
{
	memset(c, 0, sizeof(*c));
	return tw_traceparent_parse(s, strlen(s), c);
}

Test(trace, valid_header_round_trips)
{
	struct tw_trace_ctx c;
	cr_assert(parse(GOOD, &c));
	cr_assert(c.remote);
	cr_assert_eq(c.flags, 1);
	char hex[33];
	tw_hex_encode(c.trace_id, 16, hex);
	cr_assert_str_eq(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
	char out[TW_TRACEPARENT_LEN + 1];
	tw_traceparent_format(&c, c.parent_id, out);
	cr_assert_str_eq(out, GOOD);
}

Test(trace, malformed_headers_are_rejected)
{
	const char *bad[] = {
		"",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",   /* short */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* v00 too long */
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* upper case */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace id */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero parent id */
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* separator */
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  /* not hex */
		"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version not hex */
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", /* future, no dash */
		" 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tw_trace_ctx c;
		cr_assert(!parse(bad[i], &c), "accepted: '%s'", bad[i]);
	}
}

Test(trace, future_versions_parse_by_prefix)
{
	struct tw_trace_ctx c;
	cr_assert(parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-the-future",
			&c));
	cr_assert_eq(c.flags, 1, "unknown flag bits of a future version are dropped");
	cr_assert(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &c));
}

Test(trace, tracestate_is_bounded_and_clean)
{
	struct tw_trace_ctx c = {0};
	cr_assert(tw_tracestate_set(&c, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 39));
	cr_assert_eq(c.tracestate_len, 39);
	char big[TW_TRACESTATE_BYTES_MAX + 1];
	memset(big, 'a', sizeof(big));
	cr_assert(!tw_tracestate_set(&c, big, sizeof(big)));
	cr_assert_eq(c.tracestate_len, 0);
	cr_assert(!tw_tracestate_set(&c, "a=b\r\nx: y", 10));
}

Test(trace, fresh_ids_are_nonzero_and_distinct)
{
	struct tw_trace_ctx a, b;
	tw_trace_new_root(&a, true);
	tw_trace_new_root(&b, false);
	cr_assert_neq(memcmp(a.trace_id, b.trace_id, 16), 0);
	cr_assert(!a.remote);
	cr_assert_eq(b.flags, 0);
	uint8_t zero[8] = {0};
	cr_assert_eq(memcmp(a.parent_id, zero, 8), 0);
	uint8_t s1[8], s2[8];
	tw_trace_new_span_id(s1);
	tw_trace_new_span_id(s2);
	cr_assert_neq(memcmp(s1, s2, 8), 0);
	cr_assert_neq(memcmp(s1, zero, 8), 0);
	char out[TW_TRACEPARENT_LEN + 1];
	tw_traceparent_format(&a, s1, out);
	struct tw_trace_ctx back;
	cr_assert(tw_traceparent_parse(out, strlen(out), &back), "%s", out);
	cr_assert_eq(memcmp(back.trace_id, a.trace_id, 16), 0);
}
