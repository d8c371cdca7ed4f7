/*
 * hash.h — the program's one hash: xxHash's XXH3 (libxxhash).
 *
 * 64-bit for tables and cache keys (blueprints), 128-bit for content addresses (module files).
 * A streaming state for inputs that arrive in pieces. Seeds are fixed: hashes are stable across
 * runs and machines and may be stored.
 */
#ifndef TW_CORE_HASH_H
#define TW_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

struct tw_hash128 {
	uint64_t hi, lo;
};

uint64_t tw_hash64(const void *data, size_t n);
struct tw_hash128 tw_hash128(const void *data, size_t n);

/* Lower-case hex of a 128-bit hash: 32 characters + NUL into `out` (>= 33 bytes). */
void tw_hash128_hex(struct tw_hash128 h, char out[33]);

/* Streaming XXH3-64. The state is opaque storage big enough for XXH3_state_t. */
struct tw_hash_stream {
	_Alignas(64) unsigned char opaque[640];
};
void tw_hash_stream_init(struct tw_hash_stream *s);
void tw_hash_stream_update(struct tw_hash_stream *s, const void *data, size_t n);
uint64_t tw_hash_stream_digest(const struct tw_hash_stream *s);

#endif
