/*
 * twm_instance.c — instances, extern objects, the linker, host calls and the call API.
 *
 * Instantiation follows the spec's order: resolve and type-check imports, create functions,
 * globals (initialisers in order), tables and memories, resolve element segments, apply active
 * element then data segments one by one (a failure leaves earlier writes in place, as Wasm 2.0
 * requires), drop declarative ones, then run the start function.
 *
 * Memories reserve their whole reachable size (declared max capped by the instance's page cap)
 * as address space up front and commit pages as they grow, so the base pointer never moves
 * while the memory lives. Value stacks are reserved the same way, on the first call.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/limits.h"
#include "wasm/twm_int.h"

#define PAGE_BYTES 65536ull

/* ---- memories and tables -------------------------------------------------------------------- */

static enum tw_err mem_init(struct twm_memory *mem, struct twm_memtype t, uint32_t cap_pages)
{
	uint32_t max = t.has_max ? t.max : 65536;
	if (max > cap_pages)
		max = cap_pages;
	memset(mem, 0, sizeof(*mem));
	mem->type = t;
	if (t.min > max)
		return TW_ERR_FULL;
	mem->max_pages = max;
	mem->reserved = (size_t)(max ? max : 1) * PAGE_BYTES;
	void *p = mmap(NULL, mem->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return TW_ERR_NOMEM;
	mem->data = p;
	if (t.min && mprotect(p, (size_t)t.min * PAGE_BYTES, PROT_READ | PROT_WRITE) != 0) {
		munmap(p, mem->reserved);
		mem->data = NULL;
		return TW_ERR_NOMEM;
	}
	mem->pages = t.min;
	mem->size = (uint64_t)t.min * PAGE_BYTES;
	return TW_ERR_OK;
}

static void mem_fini(struct twm_memory *mem)
{
	if (mem->data)
		munmap(mem->data, mem->reserved);
	mem->data = NULL;
}

enum tw_err twm_mem_grow(struct twm_memory *mem, uint32_t delta, uint32_t *old)
{
	*old = mem->pages;
	if (delta == 0)
		return TW_ERR_OK;
	uint64_t n = (uint64_t)mem->pages + delta;
	if (n > mem->max_pages)
		return TW_ERR_FULL;
	if (mprotect(mem->data + mem->size, (size_t)delta * PAGE_BYTES, PROT_READ | PROT_WRITE) != 0)
		return TW_ERR_NOMEM;
	mem->pages = (uint32_t)n;
	mem->size = n * PAGE_BYTES;
	return TW_ERR_OK;
}

static enum tw_err tab_init(struct twm_table *t, struct twm_tabletype type, uintptr_t init)
{
	memset(t, 0, sizeof(*t));
	t->type = type;
	if (type.min > TW_WASM_TABLE_ELEMS_MAX)
		return TW_ERR_FULL;
	t->elems = calloc(type.min ? type.min : 1, sizeof(uintptr_t));
	if (!t->elems)
		return TW_ERR_NOMEM;
	t->cap = type.min ? type.min : 1;
	t->size = type.min;
	for (uint32_t i = 0; init && i < t->size; i++)
		t->elems[i] = init;
	return TW_ERR_OK;
}

enum tw_err twm_tab_grow(struct twm_table *t, uint32_t delta, uintptr_t init, uint32_t *old)
{
	*old = t->size;
	uint64_t n = (uint64_t)t->size + delta;
	uint64_t max = t->type.has_max ? t->type.max : UINT32_MAX;
	if (n > max || n > TW_WASM_TABLE_ELEMS_MAX)
		return TW_ERR_FULL;
	if (n > t->cap) {
		uint64_t cap = (uint64_t)t->cap * 2;
		if (cap < n)
			cap = n;
		if (cap > max)
			cap = max;
		if (cap > TW_WASM_TABLE_ELEMS_MAX)
			cap = TW_WASM_TABLE_ELEMS_MAX;
		uintptr_t *e = realloc(t->elems, cap * sizeof(uintptr_t));
		if (!e)
			return TW_ERR_NOMEM;
		t->elems = e;
		t->cap = (uint32_t)cap;
	}
	for (uint64_t i = t->size; i < n; i++)
		t->elems[i] = init;
	t->size = (uint32_t)n;
	return TW_ERR_OK;
}

/* ---- public extern accessors ---------------------------------------------------------------- */

void twm_func_type(const struct twm_func *f, struct twm_functype *out)
{
	out->nparams = f->type->nparams;
	out->nresults = f->type->nresults;
	out->params = f->type->types;
	out->results = f->type->types + f->type->nparams;
}

uint8_t *twm_memory_data(struct twm_memory *mem, uint64_t *size_bytes)
{
	if (size_bytes)
		*size_bytes = mem->size;
	return mem->data;
}

uint32_t twm_memory_pages(const struct twm_memory *mem)
{
	return mem->pages;
}

void twm_memory_type(const struct twm_memory *mem, struct twm_memtype *out)
{
	*out = mem->type;
	out->min = mem->pages;
}

enum tw_err twm_memory_grow(struct twm_memory *mem, uint32_t delta, uint32_t *old_pages)
{
	uint32_t old;
	enum tw_err e = twm_mem_grow(mem, delta, &old);
	if (old_pages)
		*old_pages = old;
	return e;
}

struct twm_value twm_global_get(const struct twm_global *g)
{
	return (struct twm_value){.type = g->type.type, .bits = g->val};
}

enum tw_err twm_global_set(struct twm_global *g, struct twm_value v)
{
	if (!g->type.mut || v.type != g->type.type)
		return TW_ERR_INVALID_ARG;
	g->val = v.bits;
	return TW_ERR_OK;
}

void twm_global_type(const struct twm_global *g, struct twm_globaltype *out)
{
	*out = g->type;
}

uint32_t twm_table_size(const struct twm_table *t)
{
	return t->size;
}

void twm_table_type(const struct twm_table *t, struct twm_tabletype *out)
{
	*out = t->type;
	out->min = t->size;
}

enum tw_err twm_table_get(const struct twm_table *t, uint32_t i, uintptr_t *ref)
{
	if (i >= t->size)
		return TW_ERR_INVALID_ARG;
	*ref = t->elems[i];
	return TW_ERR_OK;
}

enum tw_err twm_table_set(struct twm_table *t, uint32_t i, uintptr_t ref)
{
	if (i >= t->size)
		return TW_ERR_INVALID_ARG;
	t->elems[i] = ref;
	return TW_ERR_OK;
}

/* ---- host calls ----------------------------------------------------------------------------- */

struct twm_instance *twm_ctx_instance(struct twm_call_ctx *ctx)
{
	return ctx->inst;
}

uint8_t *twm_ctx_memory(struct twm_call_ctx *ctx, uint64_t *size_bytes)
{
	struct twm_memory *m = ctx->inst ? ctx->inst->mem0 : NULL;
	if (!m) {
		if (size_bytes)
			*size_bytes = 0;
		return NULL;
	}
	return twm_memory_data(m, size_bytes);
}

void *twm_ctx_user(struct twm_call_ctx *ctx)
{
	return ctx->inst ? ctx->inst->user : NULL;
}

void *twm_instance_host(const struct twm_instance *inst, const void *key)
{
	for (uint32_t i = 0; i < inst->nhost; i++)
		if (inst->host[i].key == key)
			return inst->host[i].value;
	return NULL;
}

void *twm_ctx_host(struct twm_call_ctx *ctx, const void *key)
{
	return ctx->inst ? twm_instance_host(ctx->inst, key) : NULL;
}

/* Copy the instantiator's host slots; false when they break the contract in twm.h. */
static bool host_slots_set(struct twm_instance *inst, const struct twm_host_slot *host,
			   uint32_t n)
{
	if (n > TW_WASM_HOST_SLOTS_MAX || (n && !host))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (!host[i].key)
			return false;
		for (uint32_t k = 0; k < i; k++)
			if (host[k].key == host[i].key)
				return false;
		inst->host[i] = host[i];
	}
	inst->nhost = n;
	return true;
}

bool twm_module_imports_from(const struct twm_module *m, const char *module)
{
	size_t n = strlen(module);
	for (uint32_t i = 0; i < m->nimports; i++)
		if (m->imports[i].module_len == n && memcmp(m->imports[i].module, module, n) == 0)
			return true;
	return false;
}

enum tw_err twm_ctx_trap(struct twm_call_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	struct twm_error *err = ctx->err;
	if (err->code == TW_ERR_OK) {
		err->code = TW_ERR_WASM_TRAP;
		err->trap = TWM_TRAP_HOST;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return TW_ERR_WASM_TRAP;
}

enum tw_err twm_ctx_exit(struct twm_call_ctx *ctx, int32_t code)
{
	ctx->exit_code = code;
	return TW_ERR_WASM_EXIT;
}

enum tw_err twm_host_call(struct twm_instance *inst, struct twm_func *f, uint64_t *slots,
			  struct twm_error *err)
{
	/* args and results share the slots; the host must see its args intact */
	uint64_t args[TW_WASM_PARAMS_MAX + 1];
	struct twm_call_ctx ctx = {.inst = inst, .err = err, .nresults = f->type->nresults};
	struct twm_instance *run = twm_host_running();
	enum tw_err rc;
	if (run && run->pend_ready && twm_host_pend_take(run, f, slots, err, &rc))
		return rc; /* a suspended call resumes: its result was supplied */
	memcpy(args, slots, (size_t)f->type->nparams * 8);
	rc = f->host.fn(&ctx, args, slots, f->host.env);
	switch (rc) {
	case TW_ERR_OK:
		if (ctx.suspend) {
			/* twm_ctx_suspend accepts only with a running call (run != NULL) */
			run->pend_waiting = true;
			run->pend_func = f;
			run->pend_slots = slots;
			run->pend_depth = run->depth;
			return TW_ERR_WASM_PENDING;
		}
		return TW_ERR_OK;
	case TW_ERR_WASM_EXIT:
		err->code = TW_ERR_WASM_EXIT;
		err->trap = TWM_TRAP_NONE;
		err->exit_code = ctx.exit_code;
		snprintf(err->msg, sizeof(err->msg), "exit with code %d", ctx.exit_code);
		return rc;
	case TW_ERR_WASM_TRAP:
		if (err->code == TW_ERR_OK) {
			err->code = TW_ERR_WASM_TRAP;
			err->trap = TWM_TRAP_HOST;
			snprintf(err->msg, sizeof(err->msg), "%s", twm_trap_str(TWM_TRAP_HOST));
		}
		return TW_ERR_WASM_TRAP;
	default:
		err->code = TW_ERR_OK;
		twm_err_set(err, TW_ERR_WASM_TRAP, "host function failed: %s", tw_err_msg(rc));
		err->trap = TWM_TRAP_HOST;
		return TW_ERR_WASM_TRAP;
	}
}

/* ---- linker --------------------------------------------------------------------------------- */

struct link_entry {
	char *module;
	size_t module_len;
	char *name;
	size_t name_len;
	struct twm_extern ext;
};

struct twm_linker {
	struct link_entry *entries;
	uint32_t n, cap;
	/* objects owned by the linker */
	void **owned;
	uint8_t *owned_kind; /* enum twm_extern_kind, or 0xff for a function type */
	uint32_t nowned, owned_cap;
};

enum tw_err twm_linker_new(struct twm_linker **out)
{
	*out = calloc(1, sizeof(struct twm_linker));
	return *out ? TW_ERR_OK : TW_ERR_NOMEM;
}

void twm_linker_free(struct twm_linker *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; i < l->n; i++) {
		free(l->entries[i].module);
		free(l->entries[i].name);
	}
	for (uint32_t i = l->nowned; i-- > 0;) {
		void *o = l->owned[i];
		switch (l->owned_kind[i]) {
		case TWM_EXTERN_MEMORY:
			mem_fini(o);
			break;
		case TWM_EXTERN_TABLE:
			free(((struct twm_table *)o)->elems);
			break;
		case 0xff:
			free(((struct twm_ftype *)o)->types);
			break;
		default:
			break;
		}
		free(o);
	}
	free(l->owned);
	free(l->owned_kind);
	free(l->entries);
	free(l);
}

static enum tw_err own(struct twm_linker *l, void *o, uint8_t kind)
{
	if (l->nowned == l->owned_cap) {
		uint32_t cap = l->owned_cap ? l->owned_cap * 2 : 16;
		void **a = realloc(l->owned, cap * sizeof(void *));
		if (!a)
			return TW_ERR_NOMEM;
		l->owned = a;
		uint8_t *k = realloc(l->owned_kind, cap);
		if (!k)
			return TW_ERR_NOMEM;
		l->owned_kind = k;
		l->owned_cap = cap;
	}
	l->owned[l->nowned] = o;
	l->owned_kind[l->nowned++] = kind;
	return TW_ERR_OK;
}

static struct link_entry *find(const struct twm_linker *l, const char *module, size_t mlen,
			       const char *name, size_t nlen)
{
	for (uint32_t i = 0; i < l->n; i++) {
		struct link_entry *e = &l->entries[i];
		if (e->module_len == mlen && e->name_len == nlen &&
		    memcmp(e->module, module, mlen) == 0 && memcmp(e->name, name, nlen) == 0)
			return e;
	}
	return NULL;
}

static enum tw_err define_n(struct twm_linker *l, const char *module, size_t mlen,
			    const char *name, size_t nlen, const struct twm_extern *ext, bool replace)
{
	struct link_entry *e = find(l, module, mlen, name, nlen);
	if (e) {
		if (!replace)
			return TW_ERR_EXISTS;
		e->ext = *ext;
		return TW_ERR_OK;
	}
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 16;
		struct link_entry *a = realloc(l->entries, cap * sizeof(*a));
		if (!a)
			return TW_ERR_NOMEM;
		l->entries = a;
		l->cap = cap;
	}
	e = &l->entries[l->n];
	e->module = malloc(mlen + 1);
	e->name = malloc(nlen + 1);
	if (!e->module || !e->name) {
		free(e->module);
		free(e->name);
		return TW_ERR_NOMEM;
	}
	memcpy(e->module, module, mlen);
	e->module[mlen] = 0;
	memcpy(e->name, name, nlen);
	e->name[nlen] = 0;
	e->module_len = mlen;
	e->name_len = nlen;
	e->ext = *ext;
	l->n++;
	return TW_ERR_OK;
}

enum tw_err twm_linker_define(struct twm_linker *l, const char *module, const char *name,
			      const struct twm_extern *ext)
{
	return define_n(l, module, strlen(module), name, strlen(name), ext, false);
}

bool twm_linker_lookup(const struct twm_linker *l, const char *module, size_t module_len,
		       const char *name, size_t name_len, struct twm_extern *out)
{
	struct link_entry *e = l ? find(l, module, module_len, name, name_len) : NULL;
	if (!e)
		return false;
	*out = e->ext;
	return true;
}

enum tw_err twm_linker_define_func(struct twm_linker *l, const char *module, const char *name,
				   const struct twm_functype *type, const struct twm_host_func *host)
{
	if (type->nparams > TW_WASM_PARAMS_MAX || type->nresults > TW_WASM_PARAMS_MAX || !host->fn)
		return TW_ERR_INVALID_ARG;
	if (find(l, module, strlen(module), name, strlen(name)))
		return TW_ERR_EXISTS;
	struct twm_ftype *ft = calloc(1, sizeof(*ft));
	struct twm_func *f = calloc(1, sizeof(*f));
	uint8_t *types = malloc(type->nparams + type->nresults + 1);
	if (!ft || !f || !types) {
		free(ft);
		free(f);
		free(types);
		return TW_ERR_NOMEM;
	}
	if (type->nparams)
		memcpy(types, type->params, type->nparams);
	if (type->nresults)
		memcpy(types + type->nparams, type->results, type->nresults);
	ft->nparams = type->nparams;
	ft->nresults = type->nresults;
	ft->types = types;
	{
		uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)ft->nparams << 32 | ft->nresults);
		for (uint32_t i = 0; i < ft->nparams + ft->nresults; i++)
			h = (h ^ ft->types[i]) * 0x100000001b3ull;
		ft->hash = h;
	}
	f->type = ft;
	f->host = *host;
	enum tw_err e = own(l, ft, 0xff);
	if (e != TW_ERR_OK) {
		free(types);
		free(ft);
		free(f);
		return e;
	}
	if ((e = own(l, f, TWM_EXTERN_FUNC)) != TW_ERR_OK) {
		free(f);
		return e;
	}
	struct twm_extern ext = {.kind = TWM_EXTERN_FUNC, .u.func = f};
	return twm_linker_define(l, module, name, &ext);
}

enum tw_err twm_linker_define_global(struct twm_linker *l, const char *module, const char *name,
				     struct twm_globaltype type, struct twm_value init)
{
	struct twm_global *g = calloc(1, sizeof(*g));
	if (!g)
		return TW_ERR_NOMEM;
	g->type = type;
	g->val = init.bits;
	enum tw_err e = own(l, g, TWM_EXTERN_GLOBAL);
	if (e != TW_ERR_OK) {
		free(g);
		return e;
	}
	struct twm_extern ext = {.kind = TWM_EXTERN_GLOBAL, .u.global = g};
	return twm_linker_define(l, module, name, &ext);
}

enum tw_err twm_linker_define_memory(struct twm_linker *l, const char *module, const char *name,
				     struct twm_memtype type)
{
	struct twm_memory *m = calloc(1, sizeof(*m));
	if (!m)
		return TW_ERR_NOMEM;
	enum tw_err e = mem_init(m, type, TW_WASM_PAGES_MAX);
	if (e == TW_ERR_OK)
		e = own(l, m, TWM_EXTERN_MEMORY);
	if (e != TW_ERR_OK) {
		mem_fini(m);
		free(m);
		return e;
	}
	struct twm_extern ext = {.kind = TWM_EXTERN_MEMORY, .u.memory = m};
	return twm_linker_define(l, module, name, &ext);
}

enum tw_err twm_linker_define_table(struct twm_linker *l, const char *module, const char *name,
				    struct twm_tabletype type, uintptr_t init)
{
	struct twm_table *t = calloc(1, sizeof(*t));
	if (!t)
		return TW_ERR_NOMEM;
	enum tw_err e = tab_init(t, type, init);
	if (e == TW_ERR_OK)
		e = own(l, t, TWM_EXTERN_TABLE);
	if (e != TW_ERR_OK) {
		free(t->elems);
		free(t);
		return e;
	}
	struct twm_extern ext = {.kind = TWM_EXTERN_TABLE, .u.table = t};
	return twm_linker_define(l, module, name, &ext);
}

static void export_extern(struct twm_instance *inst, const struct twm_export *e,
			  struct twm_extern *out)
{
	out->kind = e->kind;
	switch (e->kind) {
	case TWM_EXTERN_FUNC:
		out->u.func = inst->funcs[e->idx];
		break;
	case TWM_EXTERN_TABLE:
		out->u.table = inst->tables[e->idx];
		break;
	case TWM_EXTERN_MEMORY:
		out->u.memory = inst->mems[e->idx];
		break;
	default:
		out->u.global = inst->globals[e->idx];
		break;
	}
}

enum tw_err twm_linker_register(struct twm_linker *l, const char *module,
				struct twm_instance *inst)
{
	const struct twm_module *m = inst->module;
	for (uint32_t i = 0; i < m->nexports; i++) {
		struct twm_extern ext;
		export_extern(inst, &m->exports[i], &ext);
		enum tw_err e = define_n(l, module, strlen(module), m->exports[i].name,
					 m->exports[i].name_len, &ext, true);
		if (e != TW_ERR_OK)
			return e;
	}
	return TW_ERR_OK;
}

/* ---- instances ------------------------------------------------------------------------------ */

static bool limits_match(uint32_t have_min, bool have_has_max, uint32_t have_max, uint32_t want_min,
			 bool want_has_max, uint32_t want_max)
{
	if (have_min < want_min)
		return false;
	if (want_has_max) {
		if (!have_has_max || have_max > want_max)
			return false;
	}
	return true;
}

static uint64_t cexpr_eval(struct twm_instance *inst, const struct twm_cexpr *cx)
{
	switch (cx->op) {
	case TWM_CX_GLOBAL_GET:
		return inst->globals[cx->idx]->val;
	case TWM_CX_REF_FUNC:
		return (uintptr_t)inst->funcs[cx->idx];
	case TWM_CX_REF_NULL:
		return 0;
	default:
		return cx->val;
	}
}

/* Failed instances whose functions may still be referenced from imported tables or globals
 * (the spec keeps their partial effects). They are kept until the process exits. */
static pthread_mutex_t zombie_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t instance_serial; /* twm_instance_id() */
static struct twm_instance **zombies;
static size_t nzombies, zombie_cap;

static bool keep_zombie(struct twm_instance *inst)
{
	bool ok = false;
	pthread_mutex_lock(&zombie_lock);
	if (nzombies == zombie_cap) {
		size_t cap = zombie_cap ? zombie_cap * 2 : 16;
		struct twm_instance **z = realloc(zombies, cap * sizeof(*z));
		if (z) {
			zombies = z;
			zombie_cap = cap;
		}
	}
	if (nzombies < zombie_cap) {
		zombies[nzombies++] = inst;
		ok = true;
	}
	pthread_mutex_unlock(&zombie_lock);
	return ok;
}

static bool may_leak_refs(const struct twm_module *m)
{
	if (m->ntable_imports)
		return true;
	for (uint32_t i = 0; i < m->nglobal_imports; i++)
		if (m->globals[i].mut && (m->globals[i].type == TWM_FUNCREF))
			return true;
	return false;
}

/* Where the frame array starts in its mapping, in bytes. The value stack starts on a page
 * boundary; a recursion that advances fp by as many bytes per call as a frame takes (16: two
 * slots, common for small functions) keeps each new frame and the callee's slots at the same
 * distance, and at a distance of 0 modulo 4 KiB every load of a slot waited on the frame store
 * before it (the processor compares only the low 12 address bits before it knows the rest):
 * fib ran 12% slower. Half a page apart they never meet in that case. */
#define FRAMES_SKEW 2048u

static bool stack_ready(struct twm_instance *inst)
{
	if (inst->stack)
		return true;
	size_t bytes = (size_t)TW_WASM_STACK_SLOTS * 8;
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	/* one more than the depth: frames[0] is the DONE frame the entry function returns to
	 * (twm_interp_run) */
	size_t fbytes = FRAMES_SKEW + ((size_t)inst->call_depth_max + 1) * sizeof(struct twm_frame);
	void *f = mmap(NULL, fbytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f == MAP_FAILED) {
		munmap(p, bytes);
		return false;
	}
	inst->frames = (struct twm_frame *)((char *)f + FRAMES_SKEW);
	inst->frames_bytes = fbytes;
	inst->stack = p;
	inst->stack_bytes = bytes;
	inst->stack_slots = TW_WASM_STACK_SLOTS;
	return true;
}

void twm_instance_free(struct twm_instance *inst)
{
	if (!inst)
		return;
	const struct twm_module *m = inst->module;
	if (inst->own_mems)
		for (uint32_t i = 0; i < m->nmems - m->nmem_imports; i++)
			mem_fini(&inst->own_mems[i]);
	if (inst->own_tables)
		for (uint32_t i = 0; i < m->ntables - m->ntable_imports; i++)
			free(inst->own_tables[i].elems);
	if (inst->elem_refs)
		for (uint32_t i = 0; i < m->nelems; i++)
			free(inst->elem_refs[i]);
	if (inst->stack)
		munmap(inst->stack, inst->stack_bytes);
	if (inst->frames)
		munmap((char *)inst->frames - FRAMES_SKEW, inst->frames_bytes);
	free(inst->elem_refs);
	free(inst->elem_lens);
	free(inst->data_lens);
	free(inst->own_funcs);
	free(inst->own_tables);
	free(inst->own_mems);
	free(inst->own_globals);
	free(inst->funcs);
	free(inst->tables);
	free(inst->mems);
	free(inst->globals);
	twm_module_unref(inst->module);
	free(inst);
}

static enum tw_err fail(struct twm_error *err, enum tw_err code, const char *fmt, const char *a,
			const char *b)
{
	twm_err_set(err, code, fmt, a, b);
	return code;
}

static enum tw_err resolve_imports(struct twm_instance *inst, const struct twm_linker *l,
				   struct twm_error *err)
{
	const struct twm_module *m = inst->module;
	uint32_t f = 0, t = 0, me = 0, g = 0;
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct twm_import *im = &m->imports[i];
		struct twm_extern ext;
		if (!twm_linker_lookup(l, im->module, im->module_len, im->name, im->name_len, &ext))
			return fail(err, TW_ERR_WASM_UNLINKABLE, "unknown import \"%s\".\"%s\"",
				    im->module, im->name);
		if (ext.kind != im->kind)
			goto incompatible;
		switch (im->kind) {
		case TWM_EXTERN_FUNC:
			if (!twm_ftype_eq(ext.u.func->type, &m->types[im->u.type]))
				goto incompatible;
			inst->funcs[f++] = ext.u.func;
			break;
		case TWM_EXTERN_TABLE: {
			const struct twm_table *tb = ext.u.table;
			if (tb->type.elem != im->u.table.elem ||
			    !limits_match(tb->size, tb->type.has_max, tb->type.max, im->u.table.min,
					  im->u.table.has_max, im->u.table.max))
				goto incompatible;
			inst->tables[t++] = ext.u.table;
			break;
		}
		case TWM_EXTERN_MEMORY: {
			const struct twm_memory *mm = ext.u.memory;
			if (!limits_match(mm->pages, mm->type.has_max, mm->type.max, im->u.mem.min,
					  im->u.mem.has_max, im->u.mem.max))
				goto incompatible;
			inst->mems[me++] = ext.u.memory;
			break;
		}
		default: {
			const struct twm_global *gl = ext.u.global;
			if (gl->type.type != im->u.global.type || gl->type.mut != im->u.global.mut)
				goto incompatible;
			inst->globals[g++] = ext.u.global;
			break;
		}
		}
		continue;
	incompatible:
		return fail(err, TW_ERR_WASM_UNLINKABLE, "incompatible import type \"%s\".\"%s\"",
			    im->module, im->name);
	}
	return TW_ERR_OK;
}

static enum tw_err apply_segments(struct twm_instance *inst, struct twm_error *err)
{
	const struct twm_module *m = inst->module;
	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct twm_elem *e = &m->elems[i];
		if (e->mode == TWM_SEG_ACTIVE) {
			struct twm_table *t = inst->tables[e->table];
			uint64_t d = (uint32_t)cexpr_eval(inst, &e->offset);
			uint64_t n = inst->elem_lens[i];
			if (d + n > t->size) {
				twm_err_trap(err, TWM_TRAP_TABLE_OOB);
				err->code = TW_ERR_WASM_UNINSTANTIABLE;
				return err->code;
			}
			if (n)
				memcpy(t->elems + d, inst->elem_refs[i], n * sizeof(uintptr_t));
		}
		if (e->mode != TWM_SEG_PASSIVE)
			inst->elem_lens[i] = 0;
	}
	for (uint32_t i = 0; i < m->ndatas; i++) {
		const struct twm_data *d = &m->datas[i];
		if (d->mode != TWM_SEG_ACTIVE)
			continue;
		struct twm_memory *mem = inst->mems[d->mem];
		uint64_t off = (uint32_t)cexpr_eval(inst, &d->offset);
		if (off + d->len > mem->size) {
			twm_err_trap(err, TWM_TRAP_MEMORY_OOB);
			err->code = TW_ERR_WASM_UNINSTANTIABLE;
			return err->code;
		}
		if (d->len)
			memcpy(mem->data + off, d->bytes, d->len);
		inst->data_lens[i] = 0;
	}
	return TW_ERR_OK;
}

enum tw_err twm_instantiate(struct twm_module *m, const struct twm_linker *l,
			    const struct twm_instance_config *cfg, struct twm_instance **out,
			    struct twm_error *err)
{
	struct twm_error local;
	struct twm_instance *inst;
	enum tw_err e = TW_ERR_OK;
	bool effects = false; /* segments may have written into imported objects */

	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	*out = NULL;
	inst = calloc(1, sizeof(*inst));
	if (!inst)
		return fail(err, TW_ERR_NOMEM, "out of memory%s%s", "", "");
	twm_module_ref(m);
	inst->module = m;
	inst->memory_pages_max = cfg && cfg->memory_pages_max ? cfg->memory_pages_max
							       : m->limits.memory_pages_max;
	inst->call_depth_max =
		cfg && cfg->call_depth_max ? cfg->call_depth_max : m->limits.call_depth_max;
	inst->user = cfg ? cfg->user : NULL;
	inst->id = atomic_fetch_add_explicit(&instance_serial, 1, memory_order_relaxed) + 1;
	if (cfg && !host_slots_set(inst, cfg->host, cfg->nhost)) {
		e = fail(err, TW_ERR_INVALID_ARG, "invalid host slots%s%s", "", "");
		goto out_free;
	}

	uint32_t nf = m->nfuncs - m->nfunc_imports, nt = m->ntables - m->ntable_imports;
	uint32_t nm = m->nmems - m->nmem_imports, ng = m->nglobals - m->nglobal_imports;
	inst->funcs = calloc(m->nfuncs + 1, sizeof(void *));
	inst->tables = calloc(m->ntables + 1, sizeof(void *));
	inst->mems = calloc(m->nmems + 1, sizeof(void *));
	inst->globals = calloc(m->nglobals + 1, sizeof(void *));
	inst->own_funcs = calloc(nf + 1, sizeof(struct twm_func));
	inst->own_tables = calloc(nt + 1, sizeof(struct twm_table));
	inst->own_mems = calloc(nm + 1, sizeof(struct twm_memory));
	inst->own_globals = calloc(ng + 1, sizeof(struct twm_global));
	inst->elem_refs = calloc(m->nelems + 1, sizeof(uintptr_t *));
	inst->elem_lens = calloc(m->nelems + 1, sizeof(uint32_t));
	inst->data_lens = calloc(m->ndatas + 1, sizeof(uint32_t));
	if (!inst->funcs || !inst->tables || !inst->mems || !inst->globals || !inst->own_funcs ||
	    !inst->own_tables || !inst->own_mems || !inst->own_globals || !inst->elem_refs ||
	    !inst->elem_lens || !inst->data_lens) {
		e = fail(err, TW_ERR_NOMEM, "out of memory%s%s", "", "");
		goto out_free;
	}
	if (m->nimports && !l) {
		const struct twm_import *im = &m->imports[0];
		e = fail(err, TW_ERR_WASM_UNLINKABLE, "unknown import \"%s\".\"%s\"", im->module,
			 im->name);
		goto out_free;
	}
	if ((e = resolve_imports(inst, l, err)) != TW_ERR_OK)
		goto out_free;

	for (uint32_t i = 0; i < nf; i++) {
		struct twm_func *f = &inst->own_funcs[i];
		uint32_t idx = m->nfunc_imports + i;
		f->type = &m->types[m->func_types[idx]];
		f->inst = inst;
		f->code = &m->codes[i];
		f->index = idx;
		inst->funcs[idx] = f;
	}
	for (uint32_t i = 0; i < ng; i++) {
		uint32_t idx = m->nglobal_imports + i;
		struct twm_global *g = &inst->own_globals[i];
		g->type = m->globals[idx];
		g->val = cexpr_eval(inst, &m->global_inits[idx]);
		inst->globals[idx] = g;
	}
	for (uint32_t i = 0; i < nt; i++) {
		uint32_t idx = m->ntable_imports + i;
		if (tab_init(&inst->own_tables[i], m->tables[idx], 0) != TW_ERR_OK) {
			e = fail(err, TW_ERR_WASM_UNINSTANTIABLE, "table too large%s%s", "", "");
			goto out_free;
		}
		inst->tables[idx] = &inst->own_tables[i];
	}
	for (uint32_t i = 0; i < nm; i++) {
		uint32_t idx = m->nmem_imports + i;
		enum tw_err me = mem_init(&inst->own_mems[i], m->mems[idx], inst->memory_pages_max);
		if (me != TW_ERR_OK) {
			e = fail(err, me == TW_ERR_NOMEM ? TW_ERR_NOMEM : TW_ERR_MODULE_MEMORY_TOO_LARGE,
				 "memory larger than the instance's cap%s%s", "", "");
			goto out_free;
		}
		inst->mems[idx] = &inst->own_mems[i];
	}
	inst->mem0 = m->nmems ? inst->mems[0] : NULL;
	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct twm_elem *el = &m->elems[i];
		inst->elem_refs[i] = calloc(el->count + 1, sizeof(uintptr_t));
		if (!inst->elem_refs[i]) {
			e = fail(err, TW_ERR_NOMEM, "out of memory%s%s", "", "");
			goto out_free;
		}
		for (uint32_t k = 0; k < el->count; k++)
			inst->elem_refs[i][k] = (uintptr_t)cexpr_eval(inst, &el->items[k]);
		inst->elem_lens[i] = el->count;
	}
	for (uint32_t i = 0; i < m->ndatas; i++)
		inst->data_lens[i] = m->datas[i].len;

	effects = true;
	if ((e = apply_segments(inst, err)) != TW_ERR_OK)
		goto out_free;
	if (m->has_start) {
		e = twm_call_begin(inst, inst->funcs[m->start], NULL, 0, err);
		inst->no_suspend = true; /* nobody could resume it */
		if (e == TW_ERR_OK)
			e = twm_call_run(inst, cfg ? cfg->start_fuel : 0, err);
		if (e == TW_ERR_WASM_FUEL) {
			twm_call_abort(inst);
			err->code = TW_ERR_OK;
			twm_err_set(err, TW_ERR_WASM_FUEL, "start function ran out of fuel");
		}
		if (e != TW_ERR_OK)
			goto out_free;
	}
	*out = inst;
	return TW_ERR_OK;

out_free:
	/* The instantiator frees the slots' values once we return: a zombie must not see them. */
	inst->nhost = 0;
	if (effects && may_leak_refs(m) && keep_zombie(inst))
		return e;
	twm_instance_free(inst);
	return e;
}

const struct twm_module *twm_instance_module(const struct twm_instance *inst)
{
	return inst->module;
}

void twm_instance_set_user(struct twm_instance *inst, void *user)
{
	inst->user = user;
}

void *twm_instance_user(const struct twm_instance *inst)
{
	return inst->user;
}

uint64_t twm_instance_id(const struct twm_instance *inst)
{
	return inst->id;
}

enum tw_err twm_instance_export_n(struct twm_instance *inst, const char *name, size_t len,
				  struct twm_extern *out)
{
	const struct twm_module *m = inst->module;
	for (uint32_t i = 0; i < m->nexports; i++) {
		if (m->exports[i].name_len == len && memcmp(m->exports[i].name, name, len) == 0) {
			export_extern(inst, &m->exports[i], out);
			return TW_ERR_OK;
		}
	}
	return TW_ERR_MISSING_EXPORT;
}

enum tw_err twm_instance_export(struct twm_instance *inst, const char *name,
				struct twm_extern *out)
{
	return twm_instance_export_n(inst, name, strlen(name), out);
}

struct twm_memory *twm_instance_memory(struct twm_instance *inst, uint32_t i)
{
	return i < inst->module->nmems ? inst->mems[i] : NULL;
}

void twm_instance_set_loop_hook(struct twm_instance *inst, const struct twm_loop_hook *hook)
{
	if (hook)
		inst->hook = *hook;
	else
		memset(&inst->hook, 0, sizeof(inst->hook));
}

uint64_t twm_instance_fuel_used(const struct twm_instance *inst)
{
	return inst->fuel_used;
}

/* ---- calls ---------------------------------------------------------------------------------- */

enum tw_err twm_call_begin(struct twm_instance *inst, struct twm_func *f,
			   const struct twm_value *args, uint32_t nargs, struct twm_error *err)
{
	struct twm_error local;
	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	if (inst->active) {
		twm_err_set(err, TW_ERR_AGAIN, "instance has a call in progress");
		return TW_ERR_AGAIN;
	}
	if (nargs != f->type->nparams) {
		twm_err_set(err, TW_ERR_INVALID_ARG, "expected %u arguments, got %u",
			    f->type->nparams, nargs);
		return TW_ERR_INVALID_ARG;
	}
	for (uint32_t i = 0; i < nargs; i++) {
		if ((uint8_t)args[i].type != f->type->types[i]) {
			twm_err_set(err, TW_ERR_INVALID_ARG, "argument %u has the wrong type", i);
			return TW_ERR_INVALID_ARG;
		}
	}
	if (!stack_ready(inst)) {
		twm_err_set(err, TW_ERR_NOMEM, "out of memory");
		return TW_ERR_NOMEM;
	}
	for (uint32_t i = 0; i < nargs; i++)
		inst->stack[i] = args[i].bits;
	inst->entry = f;
	inst->depth = 0;
	inst->suspended = false;
	twm_host_pend_clear(inst);
	if (f->code) {
		const struct twm_code *c = f->code;
		if (c->frame_slots > inst->stack_slots) {
			twm_err_trap(err, TWM_TRAP_STACK_EXHAUSTED);
			return err->code;
		}
		if (c->nlocals > nargs)
			memset(inst->stack + nargs, 0, (size_t)(c->nlocals - nargs) * 8);
		inst->cur = f;
		inst->fp = inst->stack;
		inst->ip = c->icode;
	}
	inst->active = true;
	return TW_ERR_OK;
}

enum tw_err twm_call_run(struct twm_instance *inst, uint64_t fuel, struct twm_error *err)
{
	struct twm_error local;
	enum tw_err rc;
	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	if (!inst->active) {
		twm_err_set(err, TW_ERR_INVALID_ARG, "no call in progress");
		return TW_ERR_INVALID_ARG;
	}
	if (inst->pend_waiting) {
		twm_err_set(err, TW_ERR_WASM_PENDING, "host function result pending");
		return TW_ERR_WASM_PENDING;
	}
	struct twm_instance *prev = twm_host_running();
	twm_host_set_running(inst);
	if (!inst->entry->code) {
		rc = twm_host_call(inst, inst->entry, inst->stack, err);
	} else {
		int64_t f = (fuel == 0 || fuel > (uint64_t)INT64_MAX) ? INT64_MAX : (int64_t)fuel;
		rc = twm_interp_run(inst, f, err);
	}
	twm_host_set_running(prev);
	if (rc == TW_ERR_WASM_PENDING) {
		twm_host_pend_suspended(inst);
		err->code = TW_ERR_OK;
		twm_err_set(err, rc, "host function result pending");
	}
	if (rc != TW_ERR_WASM_FUEL && rc != TW_ERR_WASM_PENDING) {
		inst->active = false;
		inst->suspended = false;
		twm_host_pend_clear(inst);
	}
	return rc;
}

uint32_t twm_call_results(struct twm_instance *inst, struct twm_value *results, uint32_t cap)
{
	const struct twm_ftype *t = inst->entry ? inst->entry->type : NULL;
	if (!t)
		return 0;
	for (uint32_t i = 0; i < t->nresults && i < cap; i++) {
		uint8_t ty = t->types[t->nparams + i];
		uint64_t v = inst->stack[i];
		if (ty == TWM_I32 || ty == TWM_F32)
			v &= 0xffffffffu;
		results[i] = (struct twm_value){.type = ty, .bits = v};
	}
	return t->nresults;
}

void twm_call_abort(struct twm_instance *inst)
{
	inst->active = false;
	inst->suspended = false;
	inst->depth = 0;
	twm_host_pend_clear(inst);
}

bool twm_call_suspended(const struct twm_instance *inst)
{
	return inst->active && inst->suspended;
}

enum tw_err twm_invoke(struct twm_instance *inst, struct twm_func *f, const struct twm_value *args,
		       uint32_t nargs, struct twm_value *results, uint32_t cap,
		       struct twm_error *err)
{
	struct twm_error local;
	if (!err)
		err = &local;
	if (cap < f->type->nresults) {
		memset(err, 0, sizeof(*err));
		twm_err_set(err, TW_ERR_INVALID_ARG, "room for %u results, function has %u", cap,
			    f->type->nresults);
		return TW_ERR_INVALID_ARG;
	}
	enum tw_err rc = twm_call_begin(inst, f, args, nargs, err);
	if (rc != TW_ERR_OK)
		return rc;
	inst->no_suspend = true; /* runs to completion: nobody could resume it */
	rc = twm_call_run(inst, 0, err);
	if (rc == TW_ERR_OK && results)
		twm_call_results(inst, results, cap);
	return rc;
}
