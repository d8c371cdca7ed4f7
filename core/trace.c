/* trace.c — W3C trace context; see trace.h. */
#include "core/trace.h"

#include <string.h>
#include <sys/random.h>

#include "core/clock.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is invalid in traceparent */
}

static bool hex_decode(const char *s, size_t nbytes, uint8_t *out)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < nbytes; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
		acc |= out[i];
	}
	return acc != 0 || nbytes == 1; /* ids must not be all zero; one byte is flags/version */
}

void tw_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

bool tw_traceparent_parse(const char *s, size_t n, struct tw_trace_ctx *out)
{
	if (n < TW_TRACEPARENT_LEN)
		return false;
	uint8_t version, trace[16], parent[8], flags;
	if (!hex_decode(s, 1, &version) || version == 0xff)
		return false;
	if (version == 0 && n != TW_TRACEPARENT_LEN)
		return false;
	if (version > 0 && n > TW_TRACEPARENT_LEN && s[TW_TRACEPARENT_LEN] != '-')
		return false;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!hex_decode(s + 3, 16, trace) || !hex_decode(s + 36, 8, parent) ||
	    !hex_decode(s + 53, 1, &flags))
		return false;
	memcpy(out->trace_id, trace, 16);
	memcpy(out->parent_id, parent, 8);
	/* Version 00 defines only the sampled bit; unknown bits of a future version are dropped. */
	out->flags = version == 0 ? flags : (uint8_t)(flags & TW_TRACE_FLAG_SAMPLED);
	out->remote = true;
	return true;
}

void tw_traceparent_format(const struct tw_trace_ctx *ctx, const uint8_t span_id[8],
			   char out[TW_TRACEPARENT_LEN + 1])
{
	memcpy(out, "00-", 3);
	tw_hex_encode(ctx->trace_id, 16, out + 3);
	out[35] = '-';
	tw_hex_encode(span_id, 8, out + 36);
	out[52] = '-';
	tw_hex_encode(&ctx->flags, 1, out + 53);
}

bool tw_tracestate_set(struct tw_trace_ctx *ctx, const char *s, size_t n)
{
	ctx->tracestate_len = 0;
	if (n > TW_TRACESTATE_BYTES_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	memcpy(ctx->tracestate, s, n);
	ctx->tracestate_len = (uint16_t)n;
	return true;
}

/* xoshiro256** per thread; seeded once from the kernel. */
static _Thread_local uint64_t rng[4];
static _Thread_local bool rng_ready;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
	if (!rng_ready) {
		if (getrandom(rng, sizeof(rng), 0) != (ssize_t)sizeof(rng)) {
			/* No entropy source: ids only need to be unique, not secret. */
			uint64_t t = tw_now_ns() ^ (uint64_t)(uintptr_t)&rng;
			for (int i = 0; i < 4; i++)
				rng[i] = t = t * 6364136223846793005ull + 1442695040888963407ull;
		}
		rng_ready = true;
	}
	uint64_t result = rotl(rng[1] * 5, 7) * 9;
	uint64_t t = rng[1] << 17;
	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return result;
}

void tw_trace_new_span_id(uint8_t out[8])
{
	uint64_t v;
	do
		v = rng_next();
	while (v == 0);
	memcpy(out, &v, 8);
}

void tw_trace_new_trace_id(uint8_t out[16])
{
	uint64_t a, b;
	do {
		a = rng_next();
		b = rng_next();
	} while ((a | b) == 0);
	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}

void tw_trace_new_root(struct tw_trace_ctx *ctx, bool sampled)
{
	tw_trace_new_trace_id(ctx->trace_id);
	memset(ctx->parent_id, 0, sizeof(ctx->parent_id));
	ctx->flags = sampled ? TW_TRACE_FLAG_SAMPLED : 0;
	ctx->remote = false;
	ctx->tracestate_len = 0;
}
