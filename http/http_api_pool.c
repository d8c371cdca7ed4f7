/*
 * http_api_pool.c — per-worker pools of reusable instances, keyed by function.
 *
 * An instance may go back to a pool only if it can be brought back exactly to its
 * post-instantiation state from outside the engine. At deploy a module is classified from its
 * bytes (api_reuse_classify):
 *   STATELESS  no imports, no tables, no memory, no mutable globals, no start function: a
 *              call leaves nothing behind, so the instance is reused as is.
 *   MEMORY     the same, but with one defined memory and no passive-segment state (no
 *              data-count section): a reset copies the pristine memory image (taken at deploy
 *              by instantiating once) back over the memory; an instance whose memory grew is
 *              freed instead, since memories cannot shrink.
 *   NONE       anything else (WASI guests have a mutable stack-pointer global, for one):
 *              every call gets a fresh instance.
 * Instantiating is expensive in this engine (each instance maps a frame stack), so reuse is
 * what keeps an invoke of a small function cheap.
 *
 * Pools belong to one worker thread. Each entry holds a reference to its function, so a freed
 * function's address can never be mistaken for a new one.
 */
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "http/http_api_int.h"

/* ---- classification ------------------------------------------------------------------------- */

struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t rd_leb(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static uint8_t rd_byte(struct rd *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

/* Skip a constant expression made only of the simple constant instructions. */
static bool skip_const_expr(struct rd *r)
{
	for (int i = 0; i < 16 && !r->bad; i++) {
		uint8_t op = rd_byte(r);
		switch (op) {
		case 0x0b: return true;                               /* end */
		case 0x41: case 0x42: case 0x23: case 0xd2: rd_leb(r); break;
		case 0x43: r->p += 4; break;
		case 0x44: r->p += 8; break;
		case 0xd0: rd_byte(r); break;
		default: return false;
		}
		if (r->p > r->end)
			return false;
	}
	return false;
}

enum api_reuse api_reuse_classify(const uint8_t *bytes, size_t n)
{
	struct rd r = {bytes + 8, bytes + n, false};
	uint32_t mems = 0;
	if (n < 8)
		return API_REUSE_NONE;
	while (r.p < r.end && !r.bad) {
		uint8_t id = rd_byte(&r);
		uint64_t size = rd_leb(&r);
		if (r.bad || size > (uint64_t)(r.end - r.p))
			return API_REUSE_NONE;
		struct rd s = {r.p, r.p + size, false};
		r.p += size;
		switch (id) {
		case 2:  /* imports */
		case 4:  /* tables */
		case 8:  /* start */
		case 12: /* data count: passive segments carry dropped-or-not state */
			if (id == 4 || id == 2) {
				if (rd_leb(&s) == 0 && !s.bad)
					break; /* an empty section is harmless */
			}
			return API_REUSE_NONE;
		case 5:
			mems = (uint32_t)rd_leb(&s);
			if (s.bad || mems > 1)
				return API_REUSE_NONE;
			break;
		case 6: {
			uint64_t count = rd_leb(&s);
			for (uint64_t i = 0; i < count && !s.bad; i++) {
				rd_byte(&s);          /* value type */
				if (rd_byte(&s) != 0) /* mutable */
					return API_REUSE_NONE;
				if (!skip_const_expr(&s))
					return API_REUSE_NONE;
			}
			if (s.bad)
				return API_REUSE_NONE;
			break;
		}
		default:
			break;
		}
	}
	if (r.bad)
		return API_REUSE_NONE;
	return mems ? API_REUSE_MEMORY : API_REUSE_STATELESS;
}

enum tw_err api_reuse_prepare(struct api_fn *f, uint32_t memory_pages_max)
{
	if (f->reuse != API_REUSE_MEMORY)
		return TW_ERR_OK;
	struct twm_instance_config cfg = {.memory_pages_max = memory_pages_max};
	struct twm_instance *inst = NULL;
	struct twm_error err = {0};
	/* No imports and no start function: instantiating runs no guest code. */
	if (twm_instantiate(f->module, NULL, &cfg, &inst, &err) != TW_ERR_OK) {
		f->reuse = API_REUSE_NONE;
		return TW_ERR_OK;
	}
	struct twm_memory *mem = twm_instance_memory(inst, 0);
	uint64_t size = 0;
	uint8_t *data = mem ? twm_memory_data(mem, &size) : NULL;
	size_t used = 0;
	for (size_t i = size; i > 0; i--) {
		if (data[i - 1]) {
			used = i;
			break;
		}
	}
	f->image = used ? malloc(used) : NULL;
	if (used && !f->image) {
		twm_instance_free(inst);
		f->reuse = API_REUSE_NONE;
		return TW_ERR_OK;
	}
	if (used)
		memcpy(f->image, data, used);
	f->image_bytes = used;
	f->image_pages = mem ? twm_memory_pages(mem) : 0;
	twm_instance_free(inst);
	return TW_ERR_OK;
}

/* ---- pools ---------------------------------------------------------------------------------- */

struct api_pool_entry {
	struct api_fn *fn; /* a reference; NULL = free entry */
	uint32_t n;
	struct twm_instance *inst[TW_API_POOL_PER_FUNCTION];
};

struct api_pool {
	uint32_t next_evict;
	uint32_t cached; /* instances held, all entries */
	struct api_pool_entry e[TW_API_POOL_FUNCTIONS];
};

struct api_pool *api_pool_new(void)
{
	return calloc(1, sizeof(struct api_pool));
}

static void entry_clear(struct api_pool *p, struct api_pool_entry *e)
{
	for (uint32_t i = 0; i < e->n; i++)
		twm_instance_free(e->inst[i]);
	p->cached -= e->n;
	e->n = 0;
	api_fn_unref(e->fn);
	e->fn = NULL;
}

void api_pool_free(struct api_pool *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < TW_API_POOL_FUNCTIONS; i++)
		if (p->e[i].fn)
			entry_clear(p, &p->e[i]);
	free(p);
}

uint32_t api_pool_cached(const struct api_pool *p)
{
	return p ? p->cached : 0;
}

static struct api_pool_entry *find(struct api_pool *p, const struct api_fn *fn)
{
	uint32_t h = (uint32_t)(((uintptr_t)fn >> 4) * 2654435761u) % TW_API_POOL_FUNCTIONS;
	for (uint32_t i = 0; i < TW_API_POOL_FUNCTIONS; i++) {
		struct api_pool_entry *e = &p->e[(h + i) % TW_API_POOL_FUNCTIONS];
		if (e->fn == fn)
			return e;
	}
	return NULL;
}

struct twm_instance *api_pool_take(struct api_pool *p, struct api_fn *fn)
{
	if (!p || fn->reuse == API_REUSE_NONE)
		return NULL;
	struct api_pool_entry *e = find(p, fn);
	if (!e || e->n == 0)
		return NULL;
	p->cached--;
	return e->inst[--e->n];
}

bool api_pool_reset(const struct api_fn *fn, struct twm_instance *inst)
{
	if (fn->reuse == API_REUSE_STATELESS)
		return true;
	if (fn->reuse != API_REUSE_MEMORY)
		return false;
	struct twm_memory *mem = twm_instance_memory(inst, 0);
	if (!mem || twm_memory_pages(mem) != fn->image_pages)
		return false;
	uint64_t size = 0;
	uint8_t *data = twm_memory_data(mem, &size);
	if (fn->image_bytes)
		memcpy(data, fn->image, fn->image_bytes);
	memset(data + fn->image_bytes, 0, size - fn->image_bytes);
	return true;
}

bool api_pool_put(struct api_pool *p, struct api_fn *fn, struct twm_instance *inst)
{
	if (!p || fn->reuse == API_REUSE_NONE || twm_call_suspended(inst))
		return false;
	struct api_pool_entry *e = find(p, fn);
	if (!e) {
		uint32_t h = (uint32_t)(((uintptr_t)fn >> 4) * 2654435761u) % TW_API_POOL_FUNCTIONS;
		for (uint32_t i = 0; i < TW_API_POOL_FUNCTIONS && !e; i++)
			if (!p->e[(h + i) % TW_API_POOL_FUNCTIONS].fn)
				e = &p->e[(h + i) % TW_API_POOL_FUNCTIONS];
		if (!e) {
			/* Full: evict round-robin (a deleted function's entry goes this way too). */
			e = &p->e[p->next_evict++ % TW_API_POOL_FUNCTIONS];
			entry_clear(p, e);
		}
		api_fn_ref(fn);
		e->fn = fn;
	}
	if (e->n >= TW_API_POOL_PER_FUNCTION || !api_pool_reset(fn, inst))
		return false;
	e->inst[e->n++] = inst;
	p->cached++;
	return true;
}
