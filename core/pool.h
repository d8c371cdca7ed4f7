/*
 * pool.h — fixed-size slot pool with a free list, indexed by id.
 *
 * All memory is taken at tw_pool_init (start-up or accept time), never on the request path. Slots
 * are addressed both by pointer and by a dense index (connection tables, instance pools), so an
 * id can travel in an io_uring user_data or a message. An exhausted pool is a normal condition:
 * tw_pool_get returns NULL. Not thread-safe: a pool belongs to one worker.
 */
#ifndef TW_CORE_POOL_H
#define TW_CORE_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct tw_pool {
	unsigned char *slots; /* capacity * slot_bytes, owned */
	uint32_t *free_next;  /* free-list links by index, owned; UINT32_MAX ends the list */
	uint8_t *in_use;      /* one flag per slot, owned */
	size_t slot_bytes;
	uint32_t capacity;
	uint32_t used;
	uint32_t free_head;
};

/* Allocate room for `capacity` slots of `slot_bytes` each (rounded up to 16-byte alignment).
 * Returns TW_ERR_NOMEM or TW_ERR_INVALID_ARG (capacity 0 or too large). */
enum tw_err tw_pool_init(struct tw_pool *p, size_t slot_bytes, uint32_t capacity);

/* Take a zero-filled slot, or NULL when every slot is in use. */
void *tw_pool_get(struct tw_pool *p);

/* Return a slot taken with tw_pool_get. Returning a slot twice is a program error (asserted). */
void tw_pool_put(struct tw_pool *p, void *slot);

/* Index of a slot, and the slot at an index (NULL when that index is not in use). */
uint32_t tw_pool_index(const struct tw_pool *p, const void *slot);
void *tw_pool_at(const struct tw_pool *p, uint32_t index);

static inline uint32_t tw_pool_used(const struct tw_pool *p)
{
	return p->used;
}

void tw_pool_destroy(struct tw_pool *p);

#endif
