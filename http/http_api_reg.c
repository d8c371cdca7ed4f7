/*
 * http_api_reg.c — the function registry, per-tenant counters and the store thread of the
 * function API. The registry's reclamation scheme is described in http_api_int.h.
 *
 * Expected load: lookups on every invoke (a hash and one or two probes); deploys and deletes
 * are rare; the store thread spends its time in fsync.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "gpu/gpu_bind.h"
#include "http/http_api_int.h"
#include "jit/jit_analyze.h"
#include "jit/jit_offload.h"
#include "wasm/twm_wasi.h"

struct api_fn api_tombstone;

/* ---- functions ------------------------------------------------------------------------------ */

void api_fn_ref(struct api_fn *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void api_fn_unref(struct api_fn *f)
{
	if (!f || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	jit_offload_free(f->offload);
	jit_plan_free(f->plan);
	twm_module_unref(f->module);
	free(f->exports_json);
	free(f->image);
	free(f);
}

static const char *valtype_str(uint8_t t)
{
	switch (t) {
	case TWM_I32: return "i32";
	case TWM_I64: return "i64";
	case TWM_F32: return "f32";
	case TWM_F64: return "f64";
	case TWM_V128: return "v128";
	case TWM_FUNCREF: return "funcref";
	case TWM_EXTERNREF: return "externref";
	default: return "unknown";
	}
}

/* Append to a growable string; false when out of memory. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static bool sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return false;
		b->p = p, b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static bool sb_str(struct sbuf *b, const char *s)
{
	return sb_add(b, s, strlen(s));
}

/* A JSON string literal of `n` bytes (export names may hold any byte; non-UTF-8 and controls
 * are escaped as \u00XX so the document stays valid). */
static bool sb_json_str(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_add(b, "\"", 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c;
			if (!sb_add(b, esc, 2))
				return false;
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			if (!sb_add(b, esc, 6))
				return false;
		} else if (!sb_add(b, (const char *)&c, 1)) {
			return false;
		}
	}
	return sb_add(b, "\"", 1);
}

static bool sb_types(struct sbuf *b, const uint8_t *t, uint32_t n)
{
	if (!sb_str(b, "["))
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (i && !sb_str(b, ","))
			return false;
		if (!sb_str(b, "\"") || !sb_str(b, valtype_str(t[i])) || !sb_str(b, "\""))
			return false;
	}
	return sb_str(b, "]");
}

static char *describe_exports(const struct twm_module *m)
{
	struct sbuf b = {0};
	if (!sb_str(&b, "["))
		goto out_fail;
	uint32_t n = twm_module_export_count(m), shown = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct twm_export_desc d;
		if (!twm_module_export(m, i, &d) || d.kind != TWM_EXTERN_FUNC)
			continue;
		if ((shown++ && !sb_str(&b, ",")) || !sb_str(&b, "{\"name\":") ||
		    !sb_json_str(&b, d.name, d.name_len) || !sb_str(&b, ",\"params\":") ||
		    !sb_types(&b, d.type.func.params, d.type.func.nparams) ||
		    !sb_str(&b, ",\"results\":") ||
		    !sb_types(&b, d.type.func.results, d.type.func.nresults) || !sb_str(&b, "}"))
			goto out_fail;
	}
	if (!sb_str(&b, "]"))
		goto out_fail;
	return b.p;
out_fail:
	free(b.p);
	return NULL;
}

enum tw_err api_fn_build(struct http_api *api, const uint8_t *bytes, size_t n,
			 struct api_fn **out, uint16_t *status, char *err, size_t cap)
{
	struct twm_limits lim = {.memory_pages_max = api->cfg->max_memory_pages};
	struct twm_error werr = {0};
	struct twm_module *m = NULL;
	enum tw_err e;
	*out = NULL;
	if (n > api->cfg->max_module_bytes) {
		*status = 413;
		snprintf(err, cap, "module is larger than %llu bytes",
			 (unsigned long long)api->cfg->max_module_bytes);
		return TW_ERR_MODULE_TOO_LARGE;
	}
	e = twm_module_load(bytes, n, &lim, &m, &werr);
	if (e == TW_ERR_MODULE_TOO_LARGE) {
		*status = 413;
		snprintf(err, cap, "%s", werr.msg[0] ? werr.msg : tw_err_msg(e));
		return e;
	}
	if (e == TW_ERR_NOMEM) {
		*status = 503;
		snprintf(err, cap, "out of memory");
		return e;
	}
	if (e != TW_ERR_OK) {
		*status = 400;
		if (werr.offset)
			snprintf(err, cap, "%s (at byte %u)", werr.msg[0] ? werr.msg : tw_err_msg(e),
				 werr.offset);
		else
			snprintf(err, cap, "%s", werr.msg[0] ? werr.msg : tw_err_msg(e));
		return TW_ERR_WASM_INVALID;
	}
	/* Memories the module declares where we can see them (imports and exports): a minimum
	 * above the per-instance cap could never be instantiated. */
	bool wasi = false;
	uint32_t cap_pages = api->cfg->max_memory_pages;
	for (uint32_t i = 0; i < twm_module_import_count(m); i++) {
		struct twm_import_desc d;
		if (!twm_module_import(m, i, &d))
			continue;
		if (d.kind == TWM_EXTERN_MEMORY && d.type.memory.min > cap_pages)
			goto out_memory;
		struct twm_extern ext;
		if (!twm_linker_lookup(api->linker, d.module, d.module_len, d.name, d.name_len,
				       &ext)) {
			*status = 400;
			snprintf(err, cap, "unknown import %.*s.%.*s (only %s and %s are offered)",
				 (int)(d.module_len > 64 ? 64 : d.module_len), d.module,
				 (int)(d.name_len > 64 ? 64 : d.name_len), d.name, TWM_WASI_MODULE,
				 GPU_WASI_CUDA_MODULE);
			for (char *q = err; *q; q++)
				if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
					*q = '?';
			twm_module_unref(m);
			return TW_ERR_WASM_INVALID;
		}
		if (d.module_len == strlen(TWM_WASI_MODULE) &&
		    memcmp(d.module, TWM_WASI_MODULE, d.module_len) == 0)
			wasi = true;
	}
	/* Every memory, imported, exported or private: refused at deploy, not at first call. */
	for (uint32_t i = 0; i < twm_module_memory_count(m); i++) {
		struct twm_memtype mt;
		if (twm_module_memory(m, i, &mt) && mt.min > cap_pages)
			goto out_memory;
	}
	struct api_fn *f = calloc(1, sizeof(*f));
	if (!f)
		goto out_nomem;
	f->exports_json = describe_exports(m);
	if (!f->exports_json) {
		free(f);
		goto out_nomem;
	}
	atomic_init(&f->refs, 1);
	f->module = m;
	f->wasi = wasi;
	f->rec.module_bytes = n;
	f->reuse = api_reuse_classify(bytes, n);
	api_reuse_prepare(f, cap_pages);
	if (api_fn_offload(api, f, api->cfg->offload) == TW_ERR_NOMEM) {
		api_fn_unref(f);
		*status = 503;
		snprintf(err, cap, "out of memory");
		return TW_ERR_NOMEM;
	}
	*out = f;
	return TW_ERR_OK;
out_memory:
	*status = 413;
	snprintf(err, cap, "module declares more linear memory than %u pages", cap_pages);
	twm_module_unref(m);
	return TW_ERR_MODULE_MEMORY_TOO_LARGE;
out_nomem:
	*status = 503;
	snprintf(err, cap, "out of memory");
	twm_module_unref(m);
	return TW_ERR_NOMEM;
}

enum tw_err api_fn_offload(struct http_api *api, struct api_fn *f, const char *mode)
{
	enum jit_offload_mode m;
	if (!jit_offload_mode_parse(mode, &m))
		return TW_ERR_INVALID_ARG;
	jit_offload_free(f->offload);
	f->offload = NULL;
	if (jit_offload_mode_resolve(m, false) == JIT_OFFLOAD_OFF)
		return TW_ERR_OK; /* off, or auto without a GPU: no analysis, no hook */
	if (!f->plan && jit_analyze_module(f->module, &f->plan) != TW_ERR_OK)
		return TW_ERR_NOMEM;
	struct jit_offload_config oc = {.mode = m,
					.min_elements = api->cfg->offload_min_elements,
					.tenant = f->rec.tenant};
	return jit_offload_new(f->plan, &oc, &f->offload);
}

/* ---- registry ------------------------------------------------------------------------------- */

static uint32_t reg_hash(const char *id, size_t len)
{
	return (uint32_t)tw_hash64(id, len) & (API_REG_SLOTS - 1);
}

struct api_fn *api_reg_get(struct http_api *api, const char *id, size_t len)
{
	if (len != TW_STORE_ID_LEN)
		return NULL;
	uint32_t h = reg_hash(id, len);
	for (uint32_t i = 0; i < API_REG_SLOTS; i++) {
		struct api_fn *f = atomic_load_explicit(&api->reg[(h + i) & (API_REG_SLOTS - 1)],
							memory_order_acquire);
		if (!f)
			return NULL;
		if (f != &api_tombstone && memcmp(f->rec.id, id, len) == 0)
			return f;
	}
	return NULL;
}

enum tw_err api_reg_insert(struct http_api *api, struct api_fn *fn)
{
	if (api->reg_live >= TW_API_FUNCTIONS_MAX)
		return TW_ERR_CAPACITY_EXHAUSTED;
	uint32_t h = reg_hash(fn->rec.id, TW_STORE_ID_LEN);
	for (uint32_t i = 0; i < API_REG_SLOTS; i++) {
		_Atomic(struct api_fn *) *slot = &api->reg[(h + i) & (API_REG_SLOTS - 1)];
		struct api_fn *cur = atomic_load_explicit(slot, memory_order_relaxed);
		if (cur && cur != &api_tombstone) {
			if (memcmp(cur->rec.id, fn->rec.id, TW_STORE_ID_LEN) == 0)
				return TW_ERR_EXISTS;
			continue;
		}
		/* A tombstone may be reused: a reader sees either it or the new entry. Release
		 * ordering publishes the entry's fields before its pointer. */
		if (!cur)
			api->reg_used++;
		atomic_store_explicit(slot, fn, memory_order_release);
		api->reg_live++;
		return TW_ERR_OK;
	}
	return TW_ERR_CAPACITY_EXHAUSTED;
}

struct api_retire {
	_Atomic uint32_t remaining;
	struct api_fn *fn;
};

static void retire_msg(struct tw_worker *w, void *arg)
{
	(void)w;
	struct api_retire *r = arg;
	if (atomic_fetch_sub_explicit(&r->remaining, 1, memory_order_acq_rel) == 1) {
		api_fn_unref(r->fn);
		free(r);
	}
}

void api_reg_remove(struct http_api *api, struct api_fn *fn)
{
	uint32_t h = reg_hash(fn->rec.id, TW_STORE_ID_LEN);
	bool found = false;
	for (uint32_t i = 0; i < API_REG_SLOTS; i++) {
		_Atomic(struct api_fn *) *slot = &api->reg[(h + i) & (API_REG_SLOTS - 1)];
		struct api_fn *cur = atomic_load_explicit(slot, memory_order_relaxed);
		if (!cur)
			break;
		if (cur == fn) {
			atomic_store_explicit(slot, &api_tombstone, memory_order_release);
			api->reg_live--;
			found = true;
			break;
		}
	}
	if (!found)
		return;
	struct api_retire *r = malloc(sizeof(*r));
	if (!r) {
		/* Cannot prove quiescence without the message: keep the entry alive (a leak of
		 * one function, never a use after free). */
		TW_WARN(API, "out of memory retiring function %s; kept in memory", fn->rec.id);
		return;
	}
	r->fn = fn;
	atomic_init(&r->remaining, api->nworkers + 1);
	for (uint32_t i = 0; i < api->nworkers; i++) {
		struct tw_worker *w = atomic_load(&api->workers[i]);
		enum tw_err e = w ? tw_worker_post(w, retire_msg, r) : TW_ERR_SHUTDOWN;
		for (int tries = 0; e == TW_ERR_FULL && tries < 10000; tries++) {
			nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
			e = tw_worker_post(w, retire_msg, r);
		}
		if (e == TW_ERR_FULL) {
			TW_WARN(API, "worker %u inbox stays full; function %s kept in memory", i,
				fn->rec.id);
			return;
		}
		/* A worker that has stopped (or never started) holds no borrowed pointers. */
		if (e != TW_ERR_OK)
			retire_msg(NULL, r);
	}
	retire_msg(NULL, r);
}

/* ---- tenants -------------------------------------------------------------------------------- */

struct api_tenant *api_tenant(struct http_api *api, uint64_t tenant, bool create)
{
	uint64_t key = tenant + 1;
	struct api_tenant *overflow = &api->tenants[TW_API_TENANTS_TRACKED];
	if (key == 0)
		return overflow;
	uint32_t h = (uint32_t)tw_hash64(&tenant, sizeof(tenant)) % TW_API_TENANTS_TRACKED;
	for (uint32_t i = 0; i < TW_API_TENANTS_TRACKED; i++) {
		struct api_tenant *t = &api->tenants[(h + i) % TW_API_TENANTS_TRACKED];
		uint64_t k = atomic_load_explicit(&t->key, memory_order_acquire);
		if (k == key)
			return t;
		if (k == 0) {
			if (!create)
				return NULL;
			uint64_t expect = 0;
			if (atomic_compare_exchange_strong(&t->key, &expect, key) || expect == key)
				return t;
		}
	}
	return create ? overflow : NULL;
}

static void stats_of(const struct api_tenant *t, struct http_api_tenant_stats *out)
{
	int64_t ia = atomic_load(&t->instances_active), ja = atomic_load(&t->jobs_active);
	out->spawns = atomic_load(&t->spawns);
	out->terminations = atomic_load(&t->terminations);
	out->instances_active = ia > 0 ? (uint64_t)ia : 0;
	out->jobs_active = ja > 0 ? (uint64_t)ja : 0;
}

bool http_api_tenant_stats(const struct http_api *api, uint64_t tenant,
			   struct http_api_tenant_stats *out)
{
	memset(out, 0, sizeof(*out));
	struct api_tenant *t = api_tenant((struct http_api *)api, tenant, false);
	if (!t)
		return false;
	stats_of(t, out);
	return true;
}

void http_api_each_tenant(const struct http_api *api,
			  void (*fn)(uint64_t tenant, const struct http_api_tenant_stats *s,
				     void *arg),
			  void *arg)
{
	for (uint32_t i = 0; i <= TW_API_TENANTS_TRACKED; i++) {
		const struct api_tenant *t = &api->tenants[i];
		uint64_t k = atomic_load(&t->key);
		if (i < TW_API_TENANTS_TRACKED && k == 0)
			continue;
		if (i == TW_API_TENANTS_TRACKED && atomic_load(&t->spawns) == 0)
			continue;
		struct http_api_tenant_stats s;
		stats_of(t, &s);
		fn(i == TW_API_TENANTS_TRACKED ? UINT64_MAX : k - 1, &s, arg);
	}
}

/* ---- store thread --------------------------------------------------------------------------- */

void api_store_req_free(struct api_store_req *r)
{
	if (!r)
		return;
	if (r->fn)
		api_fn_unref(r->fn);
	free(r->bytes);
	tw_job_rec_release(&r->job);
	free(r);
}

enum tw_err api_store_submit(struct http_api *api, struct api_store_req *r)
{
	enum tw_err e = TW_ERR_OK;
	r->next = NULL;
	pthread_mutex_lock(&api->q_lock);
	if (api->q_stop) {
		e = TW_ERR_SHUTDOWN;
	} else if (api->q_len >= TW_API_STORE_QUEUE_MAX) {
		e = TW_ERR_FULL;
	} else {
		if (api->q_tail)
			api->q_tail->next = r;
		else
			api->q_head = r;
		api->q_tail = r;
		api->q_len++;
		pthread_cond_signal(&api->q_cond);
	}
	pthread_mutex_unlock(&api->q_lock);
	return e;
}

static void do_deploy(struct http_api *api, struct api_store_req *r)
{
	if (api->reg_live >= TW_API_FUNCTIONS_MAX) {
		r->result = TW_ERR_CAPACITY_EXHAUSTED;
		return;
	}
	r->result = tw_store_deploy(api->store, &r->fn->rec, r->bytes, r->nbytes);
	if (r->result != TW_ERR_OK)
		return;
	api_fn_ref(r->fn); /* the registry's reference */
	r->result = api_reg_insert(api, r->fn);
	if (r->result != TW_ERR_OK) {
		api_fn_unref(r->fn);
		tw_store_delete_function(api->store, r->fn->rec.tenant, r->fn->rec.id);
	}
}

static void do_delete(struct http_api *api, struct api_store_req *r)
{
	struct api_fn *f = api_reg_get(api, r->id, strlen(r->id));
	if (!f || f->rec.tenant != r->tenant) {
		r->result = TW_ERR_NOT_FOUND;
		return;
	}
	r->result = tw_store_delete_function(api->store, r->tenant, r->id);
	if (r->result == TW_ERR_OK || r->result == TW_ERR_NOT_FOUND) {
		api_reg_remove(api, f);
		r->result = TW_ERR_OK;
	}
}

static void do_job_new(struct http_api *api, struct api_store_req *r)
{
	if (api->npending >= TW_API_JOBS_ACTIVE_MAX) {
		r->result = TW_ERR_CAPACITY_EXHAUSTED;
		return;
	}
	struct api_pending_job *p = &api->pending[api->npending++];
	memcpy(p->id, r->id, sizeof(p->id));
	memcpy(p->function_id, r->function_id, sizeof(p->function_id));
	p->tenant = r->tenant;
	r->result = TW_ERR_OK;
}

static void do_job_done(struct http_api *api, struct api_store_req *r)
{
	for (uint32_t i = 0; i < api->npending; i++) {
		if (strcmp(api->pending[i].id, r->job.id) == 0) {
			api->pending[i] = api->pending[--api->npending];
			break;
		}
	}
	r->result = tw_store_put_job(api->store, &r->job);
	if (r->result != TW_ERR_OK)
		TW_ERROR(STORE, "job %s: cannot store its result: %s", r->job.id,
			 tw_err_msg(r->result));
}

static void do_job_get(struct http_api *api, struct api_store_req *r)
{
	for (uint32_t i = 0; i < api->npending; i++) {
		if (strcmp(api->pending[i].id, r->id) == 0 && api->pending[i].tenant == r->tenant) {
			r->job_pending = true;
			memcpy(r->function_id, api->pending[i].function_id, sizeof(r->function_id));
			r->result = TW_ERR_OK;
			return;
		}
	}
	r->result = tw_store_get_job(api->store, r->tenant, r->id, &r->job);
}

static void expire_jobs(struct http_api *api)
{
	uint64_t now_ms = tw_wall_ns() / 1000000;
	uint64_t ttl_ms = (uint64_t)api->cfg->job_ttl_s * 1000;
	uint64_t removed = 0;
	enum tw_err e = tw_store_expire_jobs(api->store, now_ms > ttl_ms ? now_ms - ttl_ms : 0,
					     api->cfg->jobs_max, &removed);
	if (e != TW_ERR_OK)
		TW_WARN(STORE, "expiring jobs: %s", tw_err_msg(e));
	else if (removed)
		TW_DEBUG(STORE, "expired %llu finished jobs", (unsigned long long)removed);
}

static void post_back(struct api_store_req *r)
{
	enum tw_err e = tw_worker_post(r->worker, r->done, r);
	/* The worker is the only one who can answer the request; its inbox drains quickly, so
	 * wait for room (bounded) rather than lose an acknowledgement. */
	for (int tries = 0; e == TW_ERR_FULL && tries < 100000; tries++) {
		nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
		e = tw_worker_post(r->worker, r->done, r);
	}
	if (e != TW_ERR_OK) {
		TW_WARN(API, "cannot hand a store result back to its worker: %s", tw_err_msg(e));
		api_store_req_free(r);
	}
}

static void *store_main(void *arg)
{
	struct http_api *api = arg;
	uint64_t next_expire_ns = tw_now_ns();
	for (;;) {
		pthread_mutex_lock(&api->q_lock);
		while (!api->q_head && !api->q_stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 10;
			pthread_cond_timedwait(&api->q_cond, &api->q_lock, &ts);
			if (tw_now_ns() >= next_expire_ns)
				break;
		}
		struct api_store_req *r = api->q_head;
		if (r) {
			api->q_head = r->next;
			if (!api->q_head)
				api->q_tail = NULL;
			api->q_len--;
		}
		bool stop = api->q_stop && !r;
		pthread_mutex_unlock(&api->q_lock);
		if (stop)
			break;
		if (tw_now_ns() >= next_expire_ns) {
			expire_jobs(api);
			next_expire_ns = tw_now_ns() + 60ull * TW_NS_PER_S;
		}
		if (!r)
			continue;
		switch (r->op) {
		case API_STORE_DEPLOY: do_deploy(api, r); break;
		case API_STORE_DELETE: do_delete(api, r); break;
		case API_STORE_JOB_NEW: do_job_new(api, r); break;
		case API_STORE_JOB_DONE: do_job_done(api, r); break;
		case API_STORE_JOB_GET: do_job_get(api, r); break;
		}
		if (r->worker && r->done)
			post_back(r);
		else
			api_store_req_free(r);
	}
	return NULL;
}

enum tw_err api_store_start(struct http_api *api)
{
	api->pending = calloc(TW_API_JOBS_ACTIVE_MAX, sizeof(*api->pending));
	if (!api->pending)
		return TW_ERR_NOMEM;
	/* The thread starts with every signal blocked: SIGINT/SIGTERM belong to the main
	 * thread's sigwait, whatever order the composition root sets things up in. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&api->store_thread, NULL, store_main, api);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return TW_ERR_SYSTEM;
	api->store_started = true;
	return TW_ERR_OK;
}

void api_store_stop(struct http_api *api)
{
	if (api->store_started) {
		pthread_mutex_lock(&api->q_lock);
		api->q_stop = true;
		pthread_cond_signal(&api->q_cond);
		pthread_mutex_unlock(&api->q_lock);
		pthread_join(api->store_thread, NULL);
		api->store_started = false;
	}
	free(api->pending);
	api->pending = NULL;
}
