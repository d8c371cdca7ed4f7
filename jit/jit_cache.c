/* jit_cache.c — the blueprint cache; see jit_cache.h. */
#include "jit/jit_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "gpu/gpu_driver.h"

struct slot {
	struct jit_cache_entry e;      /* public part; first member */
	uint8_t ir[JIT_SERIAL_BYTES_MAX]; /* canonical IR, compared on hit to rule out collisions */
	size_t ir_len;
	char *ptx_owned;
	struct gpu_module *module;     /* loaded on first use; guarded by the cache lock */
};

struct jit_cache {
	pthread_mutex_t lock;
	struct slot **table;           /* open addressing by key, size a power of two */
	size_t table_size;
	unsigned capacity, count;
	jit_emit_observer_fn observer;
	void *observer_arg;
	_Atomic uint64_t hits, misses, emit_errors, emit_ns_total;
};

enum tw_err jit_cache_create(struct jit_cache **out, unsigned capacity)
{
	*out = NULL;
	if (capacity == 0)
		capacity = TW_JIT_CACHE_ENTRIES;
	struct jit_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return TW_ERR_NOMEM;
	size_t size = 8;
	while (size < (size_t)capacity * 2)
		size *= 2;
	c->table = calloc(size, sizeof(*c->table));
	if (!c->table) {
		free(c);
		return TW_ERR_NOMEM;
	}
	c->table_size = size;
	c->capacity = capacity;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return TW_ERR_OK;
}

void jit_cache_destroy(struct jit_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->table_size; i++) {
		struct slot *s = c->table[i];
		if (!s)
			continue;
		if (s->module)
			gpu_module_unload(s->module);
		free(s->ptx_owned);
		free(s);
	}
	free(c->table);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void jit_cache_set_emit_observer(struct jit_cache *c, jit_emit_observer_fn fn, void *arg)
{
	pthread_mutex_lock(&c->lock);
	c->observer = fn;
	c->observer_arg = arg;
	pthread_mutex_unlock(&c->lock);
}

/* Index of key's slot or of the empty slot where it would go. Lock held. */
static size_t probe(struct jit_cache *c, uint64_t key, const struct jit_arch *arch)
{
	size_t mask = c->table_size - 1, i = (size_t)key & mask;
	/* The table is at most half full, so an empty slot is always found. */
	while (c->table[i] && !(c->table[i]->e.key == key && c->table[i]->e.arch == arch))
		i = (i + 1) & mask;
	return i;
}

enum tw_err jit_cache_get(struct jit_cache *c, const struct jit_blueprint *bp,
			  const struct jit_arch *arch, const struct jit_cache_entry **entry)
{
	*entry = NULL;
	enum tw_err err = jit_blueprint_validate(bp, false, NULL, 0);
	if (err != TW_ERR_OK)
		return jit_blueprint_validate(bp, true, NULL, 0) == TW_ERR_OK ? TW_ERR_UNSUPPORTED
									   : err;
	uint8_t ir[JIT_SERIAL_BYTES_MAX];
	size_t ir_len = jit_blueprint_serialize(bp, ir, sizeof(ir));
	uint64_t key = jit_blueprint_key(bp, arch->name);

	pthread_mutex_lock(&c->lock);
	struct slot *s = c->table[probe(c, key, arch)];
	pthread_mutex_unlock(&c->lock);
	if (s) {
		if (s->ir_len != ir_len || memcmp(s->ir, ir, ir_len) != 0)
			return TW_ERR_EXISTS;
		atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
		*entry = &s->e;
		return TW_ERR_OK;
	}
	atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);

	/* Emit outside the lock; two threads missing at once both emit and one result wins. */
	struct slot *fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return TW_ERR_NOMEM;
	uint64_t t0 = tw_now_ns();
	err = jit_ptx_emit(&bp, 1, arch, &fresh->ptx_owned, &fresh->e.ptx_len);
	uint64_t dt = tw_now_ns() - t0;
	if (err != TW_ERR_OK) {
		atomic_fetch_add_explicit(&c->emit_errors, 1, memory_order_relaxed);
		free(fresh);
		return err;
	}
	fresh->e.key = key;
	fresh->e.arch = arch;
	fresh->e.ptx = fresh->ptx_owned;
	fresh->e.emit_ns = dt;
	memcpy(fresh->e.name, bp->name, sizeof(fresh->e.name));
	fresh->e.name[sizeof(fresh->e.name) - 1] = '\0';
	jit_ptx_entry_name(bp, fresh->e.entry_name);
	memcpy(fresh->ir, ir, ir_len);
	fresh->ir_len = ir_len;
	atomic_fetch_add_explicit(&c->emit_ns_total, dt, memory_order_relaxed);

	jit_emit_observer_fn obs;
	void *obs_arg;
	pthread_mutex_lock(&c->lock);
	size_t i = probe(c, key, arch);
	struct slot *winner = c->table[i];
	if (!winner) {
		if (c->count >= c->capacity) {
			pthread_mutex_unlock(&c->lock);
			free(fresh->ptx_owned);
			free(fresh);
			return TW_ERR_FULL;
		}
		c->table[i] = fresh;
		c->count++;
		winner = fresh;
		fresh = NULL;
	}
	obs = c->observer;
	obs_arg = c->observer_arg;
	pthread_mutex_unlock(&c->lock);
	if (fresh) { /* lost the race: identical text is already published */
		free(fresh->ptx_owned);
		free(fresh);
	}
	if (obs)
		obs(bp->name, dt, obs_arg);
	TW_DEBUG(JIT, "emitted %s for %s in %llu ns (%zu bytes)", bp->name, arch->name,
		 (unsigned long long)dt, winner->e.ptx_len);
	*entry = &winner->e;
	return TW_ERR_OK;
}

enum tw_err jit_cache_module(struct jit_cache *c, const struct jit_cache_entry *entry,
			     struct gpu_module **mod)
{
	*mod = NULL;
	if (!gpu_available())
		return TW_ERR_GPU_UNAVAILABLE;
	struct slot *s = (struct slot *)(void *)entry; /* entry is the first member of its slot */
	enum tw_err err = TW_ERR_OK;
	pthread_mutex_lock(&c->lock);
	if (!s->module) {
		char log[1024];
		/* Loading under the lock keeps one module per entry; loads happen once each. */
		err = gpu_module_load(s->e.ptx, &s->module, log, sizeof(log));
		if (err == TW_ERR_GPU_PTX)
			TW_ERROR(JIT, "driver rejected PTX of %s: %s", s->e.name, log);
	}
	*mod = s->module;
	pthread_mutex_unlock(&c->lock);
	return err;
}

void jit_cache_get_stats(struct jit_cache *c, struct jit_cache_stats *out)
{
	out->hits = atomic_load(&c->hits);
	out->misses = atomic_load(&c->misses);
	out->emit_errors = atomic_load(&c->emit_errors);
	out->emit_ns_total = atomic_load(&c->emit_ns_total);
	pthread_mutex_lock(&c->lock);
	out->entries = c->count;
	pthread_mutex_unlock(&c->lock);
}
