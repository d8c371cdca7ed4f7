/* hash.c — XXH3 wrappers; see hash.h. */
#include "core/hash.h"

#define XXH_STATIC_LINKING_ONLY /* the state struct, for tw_hash_stream */
#include <xxhash.h>

_Static_assert(sizeof(XXH3_state_t) <= sizeof(struct tw_hash_stream), "stream state too small");
_Static_assert(_Alignof(XXH3_state_t) <= 64, "stream state alignment");

uint64_t tw_hash64(const void *data, size_t n)
{
	return XXH3_64bits(data, n);
}

struct tw_hash128 tw_hash128(const void *data, size_t n)
{
	XXH128_hash_t h = XXH3_128bits(data, n);
	return (struct tw_hash128){.hi = h.high64, .lo = h.low64};
}

void tw_hash128_hex(struct tw_hash128 h, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[i] = hex[(h.hi >> (60 - 4 * i)) & 15];
		out[16 + i] = hex[(h.lo >> (60 - 4 * i)) & 15];
	}
	out[32] = '\0';
}

void tw_hash_stream_init(struct tw_hash_stream *s)
{
	XXH3_64bits_reset((XXH3_state_t *)s->opaque);
}

void tw_hash_stream_update(struct tw_hash_stream *s, const void *data, size_t n)
{
	XXH3_64bits_update((XXH3_state_t *)s->opaque, data, n);
}

uint64_t tw_hash_stream_digest(const struct tw_hash_stream *s)
{
	return XXH3_64bits_digest((const XXH3_state_t *)s->opaque);
}
