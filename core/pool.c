/* pool.c — fixed-size slot pool; see pool.h. */
#include "core/pool.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum tw_err tw_pool_init(struct tw_pool *p, size_t slot_bytes, uint32_t capacity)
{
	memset(p, 0, sizeof(*p));
	if (capacity == 0 || capacity == UINT32_MAX || slot_bytes == 0)
		return TW_ERR_INVALID_ARG;
	slot_bytes = (slot_bytes + 15) & ~(size_t)15;
	if (slot_bytes > SIZE_MAX / capacity)
		return TW_ERR_INVALID_ARG;
	p->slots = aligned_alloc(64, ((slot_bytes * capacity) + 63) & ~(size_t)63);
	if (!p->slots)
		goto out_nomem;
	p->free_next = malloc(sizeof(uint32_t) * capacity);
	if (!p->free_next)
		goto out_free_slots;
	p->in_use = calloc(capacity, 1);
	if (!p->in_use)
		goto out_free_next;
	p->slot_bytes = slot_bytes;
	p->capacity = capacity;
	for (uint32_t i = 0; i < capacity; i++)
		p->free_next[i] = i + 1 < capacity ? i + 1 : UINT32_MAX;
	p->free_head = 0;
	return TW_ERR_OK;

out_free_next:
	free(p->free_next);
out_free_slots:
	free(p->slots);
out_nomem:
	memset(p, 0, sizeof(*p));
	return TW_ERR_NOMEM;
}

void *tw_pool_get(struct tw_pool *p)
{
	uint32_t i = p->free_head;
	if (i == UINT32_MAX)
		return NULL;
	p->free_head = p->free_next[i];
	p->in_use[i] = 1;
	p->used++;
	void *slot = p->slots + (size_t)i * p->slot_bytes;
	memset(slot, 0, p->slot_bytes);
	return slot;
}

uint32_t tw_pool_index(const struct tw_pool *p, const void *slot)
{
	size_t off = (size_t)((const unsigned char *)slot - p->slots);
	assert(off % p->slot_bytes == 0 && off / p->slot_bytes < p->capacity);
	return (uint32_t)(off / p->slot_bytes);
}

void tw_pool_put(struct tw_pool *p, void *slot)
{
	uint32_t i = tw_pool_index(p, slot);
	assert(p->in_use[i]);
	p->in_use[i] = 0;
	p->free_next[i] = p->free_head;
	p->free_head = i;
	p->used--;
}

void *tw_pool_at(const struct tw_pool *p, uint32_t index)
{
	if (index >= p->capacity || !p->in_use[index])
		return NULL;
	return p->slots + (size_t)index * p->slot_bytes;
}

void tw_pool_destroy(struct tw_pool *p)
{
	free(p->in_use);
	free(p->free_next);
	free(p->slots);
	memset(p, 0, sizeof(*p));
}
