/* arena.c — chunked bump allocator; see arena.h. */
#include "core/arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tw_arena_chunk {
	struct tw_arena_chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	_Alignas(16) unsigned char data[];
};

enum { ARENA_DEFAULT_CHUNK = 64 * 1024, ARENA_ALIGN_MAX = 4096 };

void tw_arena_init(struct tw_arena *a, size_t chunk_bytes, size_t bytes_max)
{
	a->head = NULL;
	a->chunk_bytes = chunk_bytes ? chunk_bytes : ARENA_DEFAULT_CHUNK;
	a->bytes_max = bytes_max;
	a->bytes_held = 0;
}

static struct tw_arena_chunk *arena_grow(struct tw_arena *a, size_t need)
{
	size_t size = a->chunk_bytes;
	if (need > size)
		size = need;
	size_t total = sizeof(struct tw_arena_chunk) + size;
	if (total < size)
		return NULL;
	if (a->bytes_max && (a->bytes_held + total > a->bytes_max || a->bytes_held + total < total))
		return NULL;
	struct tw_arena_chunk *c = malloc(total);
	if (!c)
		return NULL;
	c->size = size;
	c->used = 0;
	c->next = a->head;
	a->head = c;
	a->bytes_held += total;
	return c;
}

void *tw_arena_alloc(struct tw_arena *a, size_t n, size_t align)
{
	assert(align && (align & (align - 1)) == 0 && align <= ARENA_ALIGN_MAX);
	if (n == 0)
		n = 1;
	struct tw_arena_chunk *c = a->head;
	if (c) {
		uintptr_t base = (uintptr_t)c->data;
		uintptr_t p = (base + c->used + (align - 1)) & ~(uintptr_t)(align - 1);
		size_t off = (size_t)(p - base);
		if (off <= c->size && n <= c->size - off) {
			c->used = off + n;
			return (void *)p;
		}
	}
	if (n > SIZE_MAX - align)
		return NULL;
	c = arena_grow(a, n + align);
	if (!c)
		return NULL;
	uintptr_t base = (uintptr_t)c->data;
	uintptr_t p = (base + (align - 1)) & ~(uintptr_t)(align - 1);
	c->used = (size_t)(p - base) + n;
	return (void *)p;
}

void *tw_arena_calloc(struct tw_arena *a, size_t count, size_t size, size_t align)
{
	if (size && count > SIZE_MAX / size)
		return NULL;
	void *p = tw_arena_alloc(a, count * size, align);
	if (p)
		memset(p, 0, count * size);
	return p;
}

char *tw_arena_strndup(struct tw_arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = tw_arena_alloc(a, n + 1, 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void tw_arena_reset(struct tw_arena *a)
{
	struct tw_arena_chunk *c = a->head;
	if (!c)
		return;
	/* Keep the oldest ordinary-sized chunk (the last in the list): it is what a steady-state
	 * user of the arena needs again. */
	struct tw_arena_chunk *keep = NULL;
	while (c) {
		struct tw_arena_chunk *next = c->next;
		if (!next && c->size == a->chunk_bytes) {
			keep = c;
		} else {
			a->bytes_held -= sizeof(*c) + c->size;
			free(c);
		}
		c = next;
	}
	a->head = keep;
	if (keep) {
		keep->used = 0;
		keep->next = NULL;
	}
}

void tw_arena_free(struct tw_arena *a)
{
	struct tw_arena_chunk *c = a->head;
	while (c) {
		struct tw_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->bytes_held = 0;
}
