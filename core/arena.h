/*
 * arena.h — region allocation: many small allocations, one release.
 *
 * An arena hands out memory from chunks it obtains with malloc and frees them all at once with
 * tw_arena_reset() or tw_arena_free(). Used for everything whose lifetime is one request, one
 * decode or one instantiation. Not thread-safe: an arena belongs to one thread at a time.
 *
 * Invariant: every pointer returned is aligned to `align` (a power of two, at most 4096) and lies
 * inside a chunk owned by the arena until the next reset/free.
 */
#ifndef TW_CORE_ARENA_H
#define TW_CORE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct tw_arena_chunk;

struct tw_arena {
	struct tw_arena_chunk *head; /* chunk being carved; older chunks follow */
	size_t chunk_bytes;          /* size of an ordinary new chunk */
	size_t bytes_max;            /* most bytes the arena may hold in chunks; 0 = no cap */
	size_t bytes_held;           /* bytes currently held in chunks (headers included) */
};

/* Prepare `a`. No memory is taken until the first allocation. `chunk_bytes` 0 means 64 KiB. A
 * non-zero `bytes_max` caps the total the arena may take from malloc. */
void tw_arena_init(struct tw_arena *a, size_t chunk_bytes, size_t bytes_max);

/* Allocate `n` bytes aligned to `align`. Returns NULL when malloc fails or the cap is reached;
 * `n` 0 returns a unique non-NULL pointer. The memory is not cleared. */
void *tw_arena_alloc(struct tw_arena *a, size_t n, size_t align);

/* Like tw_arena_alloc, zero-filled, for `count` elements of `size` bytes (overflow checked). */
void *tw_arena_calloc(struct tw_arena *a, size_t count, size_t size, size_t align);

/* Copy `n` bytes of `s` into the arena and append a NUL. */
char *tw_arena_strndup(struct tw_arena *a, const char *s, size_t n);

/* Release every allocation but keep the first chunk for reuse. */
void tw_arena_reset(struct tw_arena *a);

/* Release everything. The arena may be used again after tw_arena_init. */
void tw_arena_free(struct tw_arena *a);

#define TW_ARENA_NEW(a, type) ((type *)tw_arena_calloc((a), 1, sizeof(type), _Alignof(type)))
#define TW_ARENA_NEW_ARRAY(a, type, n)                                                    \
	((type *)tw_arena_calloc((a), (n), sizeof(type), _Alignof(type)))

#endif
