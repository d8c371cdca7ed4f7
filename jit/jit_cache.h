/*
 * jit_cache.h — the blueprint cache: emitted PTX (and, when a GPU exists, the loaded module) per
 * (blueprint IR, element types, target arch, emitter version), keyed by jit_blueprint_key().
 *
 * Entries are immutable once published, except the module slot which is filled once, on first
 * use, under the cache's lock; callers hold borrowed pointers valid until jit_cache_destroy().
 * The lock is taken on lookup; lookups happen once per loop launch decision, not per element,
 * and the emit itself (tens of microseconds) happens outside the lock. The table is bounded
 * (TW_JIT_CACHE_ENTRIES); a full cache refuses new blueprints (TW_ERR_FULL) and the loop runs in
 * the interpreter.
 *
 * Metrics: hits and misses feed jit_blueprint_cache_{hits,misses}_total, and each emit is
 * reported to the emit observer, meant for the jit_emit_text_seconds{blueprint} histogram.
 */
#ifndef TW_JIT_CACHE_H
#define TW_JIT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "jit/jit_ir.h"
#include "jit/jit_ptx.h"

struct jit_cache;
struct gpu_module;

struct jit_cache_entry {
	uint64_t key;
	char name[32];          /* the blueprint's name when first emitted */
	const struct jit_arch *arch;
	const char *ptx;        /* NUL-terminated module text with one entry */
	size_t ptx_len;
	char entry_name[48];    /* the kernel's .entry name */
	uint64_t emit_ns;       /* time the emission took */
};

struct jit_cache_stats {
	uint64_t hits, misses, emit_errors, entries;
	uint64_t emit_ns_total;
};

/* Called after each successful emit with the blueprint name and the time it took (ns). Runs on
 * the thread that missed; must be cheap and thread-safe. */
typedef void (*jit_emit_observer_fn)(const char *blueprint, uint64_t emit_ns, void *arg);

/* capacity: most entries (0 = TW_JIT_CACHE_ENTRIES). Returns TW_ERR_NOMEM. */
enum tw_err jit_cache_create(struct jit_cache **out, unsigned capacity);

/* Frees every entry and unloads modules. No lookup may be in progress. */
void jit_cache_destroy(struct jit_cache *c);

void jit_cache_set_emit_observer(struct jit_cache *c, jit_emit_observer_fn fn, void *arg);

/*
 * Find or emit the PTX of `bp` for `arch`. *entry is borrowed (valid until destroy). Errors:
 * those of jit_ptx_emit, TW_ERR_FULL (cache full), TW_ERR_EXISTS (a different blueprint has the
 * same 64-bit key: never served the wrong PTX). Thread-safe.
 */
enum tw_err jit_cache_get(struct jit_cache *c, const struct jit_blueprint *bp,
			  const struct jit_arch *arch, const struct jit_cache_entry **entry);

/*
 * The loaded module of `entry`, loading it on first use (gpu_module_load). Returns
 * TW_ERR_GPU_UNAVAILABLE without a GPU, or the load's error. *mod is borrowed. Thread-safe; the
 * calling thread must have the GPU context current (gpu_ctx_bind).
 */
enum tw_err jit_cache_module(struct jit_cache *c, const struct jit_cache_entry *entry,
			     struct gpu_module **mod);

void jit_cache_get_stats(struct jit_cache *c, struct jit_cache_stats *out);

#endif
