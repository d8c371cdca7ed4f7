/*
 * http_api_int.h — what the function API's files share: the registry, the tenant counters and
 * the store thread. Private to http/http_api*.c.
 *
 * Registry scheme (read-mostly table, quiescent-state reclamation):
 *   - Functions are `struct api_fn`, immutable once published except for their reference count.
 *     The compiled module inside is shared by every worker (twm modules are immutable).
 *   - The table is a fixed open-addressing array of atomic pointers keyed by id. Only the store
 *     thread writes it (insert at deploy, tombstone at delete), so writers never race; readers
 *     (workers) load slots with acquire ordering and take no lock.
 *   - A pointer read from the table is valid until the reading worker goes back to its event
 *     loop. A call that outlives the handler (fuel slices, async jobs) takes a reference first.
 *   - On delete the store thread tombstones the slot and posts a message to every worker; a
 *     message runs from the loop, where no worker holds a borrowed pointer, so when the last
 *     worker has run it no reader can still see the entry and the table's reference is dropped.
 */
#ifndef TW_HTTP_HTTP_API_INT_H
#define TW_HTTP_HTTP_API_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/auth.h"
#include "core/limits.h"
#include "core/options.h"
#include "core/ratelimit.h"
#include "core/store.h"
#include "core/worker.h"
#include "http/http.h"
#include "http/http_api.h"
#include "wasm/twm.h"

#define API_REG_SLOTS (2u * TW_API_FUNCTIONS_MAX)
_Static_assert((API_REG_SLOTS & (API_REG_SLOTS - 1)) == 0, "registry slots: a power of two");

/* How an instance of a function may be reused; see http_api_pool.c. */
enum api_reuse {
	API_REUSE_NONE,
	API_REUSE_STATELESS,
	API_REUSE_MEMORY,
};

struct jit_plan;
struct jit_offload;

struct api_fn {
	_Atomic uint32_t refs;
	enum api_reuse reuse;
	uint8_t *image;       /* MEMORY: memory bytes after instantiation, up to the last non-zero */
	size_t image_bytes;
	uint32_t image_pages;
	struct tw_function_rec rec;
	struct twm_module *module; /* owned reference */
	bool wasi;                 /* imports wasi_snapshot_preview1 */
	char *exports_json;        /* owned; the "exports" array of the function document */
	struct jit_plan *plan;     /* owned; its loops, analysed at deploy (NULL: none) */
	struct jit_offload *offload; /* owned; NULL when offload is off for this function */
};

/* (Re)bind f's loop offload to mode `mode` ("off", "auto", "gpu", "host"), analysing the
 * module the first time. Before f is published only. Errors: TW_ERR_INVALID_ARG (mode),
 * TW_ERR_NOMEM. */
enum tw_err api_fn_offload(struct http_api *api, struct api_fn *f, const char *mode);

void api_fn_ref(struct api_fn *f);
void api_fn_unref(struct api_fn *f);

/* Per-tenant counters; see http_api_tenant_stats. */
struct api_tenant {
	_Atomic uint64_t key; /* tenant + 1; 0 = free */
	_Atomic uint64_t spawns;
	_Atomic uint64_t terminations;
	_Atomic int64_t instances_active;
	_Atomic int64_t jobs_active;
	char pad[24];
};

/* A pending async job as the store thread knows it. */
struct api_pending_job {
	char id[TW_STORE_ID_LEN + 1];
	uint64_t tenant;
	char function_id[TW_STORE_ID_LEN + 1];
};

enum api_store_op {
	API_STORE_DEPLOY,
	API_STORE_DELETE,
	API_STORE_JOB_NEW,
	API_STORE_JOB_DONE,
	API_STORE_JOB_GET,
};

/* One request for the store thread. Owned by whoever holds it: the worker builds it, the store
 * thread does the work and posts it back to `worker` (when `done` is set), which frees it. */
struct api_store_req {
	struct api_store_req *next;
	enum api_store_op op;
	struct http_api *api;
	struct tw_worker *worker;   /* where `done` runs; NULL = nobody waits */
	struct http_request *req;   /* borrowed; the request waiting for the answer */
	tw_worker_msg_fn done;
	enum tw_err result;
	struct api_fn *fn;          /* DEPLOY: the new function (owned until published) */
	uint8_t *bytes;             /* DEPLOY: module bytes (owned) */
	size_t nbytes;
	uint64_t tenant;
	char id[TW_STORE_ID_LEN + 1];
	char function_id[TW_STORE_ID_LEN + 1];
	struct tw_job_rec job;      /* JOB_DONE: what to store; JOB_GET: what was found */
	bool job_pending;           /* JOB_GET: still running */
};

struct api_worker; /* per-worker state, http_api.c */

struct http_api {
	const struct tw_config *cfg;
	struct http_server *srv;
	struct tw_store *store;
	struct tw_auth auth;
	struct tw_ratelimit rl;
	/* WASI preview1 and wasi_cuda for every instance; read-only after start-up, so shared by
	 * all workers (their functions find their per-call state through the instance's user
	 * pointer and host slots). */
	struct twm_linker *linker;
	/* registry */
	_Atomic(struct api_fn *) *reg; /* API_REG_SLOTS */
	uint32_t reg_live, reg_used;   /* store thread only: live entries, live + tombstones */
	/* instances */
	_Atomic int64_t instances_active;
	struct api_tenant *tenants; /* TW_API_TENANTS_TRACKED + 1 (overflow last) */
	_Atomic int64_t jobs_active;
	/* workers, registered by their start hook */
	uint32_t nworkers;
	_Atomic(struct tw_worker *) workers[TW_WORKERS_MAX];
	struct api_worker *aws[TW_WORKERS_MAX]; /* each written and read by its own worker */
	struct tw_worker_hooks hooks;
	/* store thread */
	pthread_t store_thread;
	bool store_started;
	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;
	struct api_store_req *q_head, *q_tail;
	uint32_t q_len;
	bool q_stop;
	struct api_pending_job *pending; /* store thread only; TW_API_JOBS_ACTIVE_MAX */
	uint32_t npending;
};

extern struct api_fn api_tombstone;

/* Registry lookups (any thread; see the scheme above). */
struct api_fn *api_reg_get(struct http_api *api, const char *id, size_t len);
/* Store thread (or start-up): publish / remove. */
enum tw_err api_reg_insert(struct http_api *api, struct api_fn *fn);
void api_reg_remove(struct http_api *api, struct api_fn *fn);

/* Build a function entry for `bytes` (compile, check the memory cap, describe exports).
 * `err` receives the engine's reason. */
enum tw_err api_fn_build(struct http_api *api, const uint8_t *bytes, size_t n,
			 struct api_fn **out, uint16_t *status, char *err, size_t cap);

struct api_tenant *api_tenant(struct http_api *api, uint64_t tenant, bool create);

/* What an invoke asks for, parsed; on failure status/kind/msg say why. */
struct api_call_setup {
	struct twm_export_desc exp;
	struct twm_value args[TW_INVOKE_ARGS_MAX];
	uint32_t nargs;
	uint64_t deadline_ms;
	bool octet;
	uint16_t status;
	enum tw_err kind;
	char msg[256];
};

/* Parse a JSON invoke body ({"export": ..., "args": [...]}, empty allowed) against the exports
 * of `f`: the export (default _start, then main) into s->exp and typed arguments into s->args.
 * False with s->status/kind/msg set. Any thread; the untrusted-input boundary of invoke. */
bool api_parse_invoke_json(const struct api_fn *f, const char *body, size_t len,
			   struct api_call_setup *s);

/* Instance reuse (http_api_pool.c). Classify from the module bytes; prepare takes the pristine
 * memory image of a MEMORY function (instantiates once; runs no guest code). */
enum api_reuse api_reuse_classify(const uint8_t *bytes, size_t n);
enum tw_err api_reuse_prepare(struct api_fn *f, uint32_t memory_pages_max);

/* A per-worker pool; owning worker thread only. take: a ready instance or NULL. put: reset
 * `inst` and keep it (true), or false when the caller must free it. */
struct api_pool;
struct api_pool *api_pool_new(void);
void api_pool_free(struct api_pool *p);
struct twm_instance *api_pool_take(struct api_pool *p, struct api_fn *fn);
bool api_pool_put(struct api_pool *p, struct api_fn *fn, struct twm_instance *inst);
/* Restore `inst` to its post-instantiation state; false when that is impossible. */
bool api_pool_reset(const struct api_fn *fn, struct twm_instance *inst);
uint32_t api_pool_cached(const struct api_pool *p);

/* Store thread. */
enum tw_err api_store_start(struct http_api *api);
void api_store_stop(struct http_api *api);
/* Queue `r` (ownership passes). TW_ERR_FULL when the queue is full. Any thread. */
enum tw_err api_store_submit(struct http_api *api, struct api_store_req *r);
void api_store_req_free(struct api_store_req *r);

#endif
