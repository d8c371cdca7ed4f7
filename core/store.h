/*
 * store.h — the durable store: deployed functions and finished jobs under --data-dir.
 *
 * Layout of the data directory:
 *   modules/<2 hex>/<32 hex>.wasm   module bytes, named by the XXH3-128 of their content
 *   tmp/                            files being written; emptied on open
 *   meta.sqlite3 (+ -wal, -shm)     metadata: functions and finished jobs (SQLite, WAL mode)
 *
 * Durability contract: when tw_store_deploy() returns TW_ERR_OK the module bytes are on disk
 * under their final name (written to tmp/, fsync'd, renamed, directory fsync'd) and then the row
 * is committed with synchronous=FULL; the same holds for tw_store_put_job(). The server
 * acknowledges a deploy only after that. A crash at any point leaves either
 * the whole function or none of it: a module file without a row is an orphan, removed by
 * tw_store_collect() (run at start-up); a row never points at a missing or partial file because
 * the file is complete before the row is written. Module files are verified against their hash
 * when read.
 *
 * A full disk gives TW_ERR_NO_SPACE and leaves what was stored before intact.
 *
 * Threads: every call may block on disk I/O (fsync), so the server calls the store from a
 * dedicated thread, never from a worker's loop. The store serialises its own calls with a mutex,
 * so any thread may use it.
 */
#ifndef TW_CORE_STORE_H
#define TW_CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/hash.h"

struct tw_store;

/* Identifiers are lower-case hex: 32 characters for ids and hashes. */
#define TW_STORE_ID_LEN 32
#define TW_STORE_NAME_MAX 256

struct tw_function_rec {
	char id[TW_STORE_ID_LEN + 1];
	uint64_t tenant;
	char name[TW_STORE_NAME_MAX + 1];
	char module_hash[TW_STORE_ID_LEN + 1]; /* XXH3-128 of the module bytes */
	uint64_t module_bytes;
	uint64_t created_ms;                   /* wall clock, Unix milliseconds */
	char offload[16];                      /* per-function offload mode override, "" = server's */
};

enum tw_job_status {
	TW_JOB_PENDING = 0,
	TW_JOB_COMPLETED,
	TW_JOB_FAILED,
};

struct tw_job_rec {
	char id[TW_STORE_ID_LEN + 1];
	uint64_t tenant;
	char function_id[TW_STORE_ID_LEN + 1];
	enum tw_job_status status;
	char *result_json;   /* completed: the result document; owned by the record */
	char *error_json;    /* failed: the error envelope; owned by the record */
	uint64_t finished_ms;
};

/* Open (creating if needed) the store in `dir`. On failure *out is NULL and `err` (cap bytes)
 * says why. Removes leftovers in tmp/. */
enum tw_err tw_store_open(const char *dir, struct tw_store **out, char *err, size_t cap);

/* Close the store. NULL is allowed. */
void tw_store_close(struct tw_store *s);

/* Deploy: write the module bytes durably under their content address (unless already there),
 * then commit the function row. Fills rec->module_hash and rec->module_bytes. Both steps happen
 * under the store's lock, so a concurrent delete cannot remove a module file a new row points
 * at. Returns TW_ERR_EXISTS on a duplicate id, TW_ERR_NO_SPACE on a full disk (nothing is
 * stored then), TW_ERR_IO. */
enum tw_err tw_store_deploy(struct tw_store *s, struct tw_function_rec *rec, const void *bytes,
			    size_t n);

/* Read a module by hash into a malloc'd buffer (*bytes, caller frees). The content is checked
 * against the hash: a mismatch is TW_ERR_IO (the file was damaged). TW_ERR_NOT_FOUND if absent. */
enum tw_err tw_store_load_module(struct tw_store *s, const char *hex, uint8_t **bytes,
				 size_t *n);

/* Fetch one function of a tenant. TW_ERR_NOT_FOUND when it does not exist for that tenant. */
enum tw_err tw_store_get_function(struct tw_store *s, uint64_t tenant, const char *id,
				  struct tw_function_rec *out);

/* Delete a function of a tenant; its module file goes too when no other function uses it.
 * TW_ERR_NOT_FOUND when there is no such function for that tenant. */
enum tw_err tw_store_delete_function(struct tw_store *s, uint64_t tenant, const char *id);

/* Call `fn` for every function, in creation order (start-up: rebuild the registry). A non-OK
 * return from `fn` stops the walk and is returned. */
typedef enum tw_err (*tw_store_function_cb)(const struct tw_function_rec *rec, void *ctx);
enum tw_err tw_store_each_function(struct tw_store *s, tw_store_function_cb fn, void *ctx);

/* Insert or replace a finished job. */
enum tw_err tw_store_put_job(struct tw_store *s, const struct tw_job_rec *rec);

/* Fetch a job of a tenant; free its strings with tw_job_rec_release. */
enum tw_err tw_store_get_job(struct tw_store *s, uint64_t tenant, const char *id,
			     struct tw_job_rec *out);
void tw_job_rec_release(struct tw_job_rec *rec);

/* Delete jobs finished before `before_ms`, and beyond the newest `keep_max` jobs. The number
 * removed goes to *removed (may be NULL). */
enum tw_err tw_store_expire_jobs(struct tw_store *s, uint64_t before_ms, uint64_t keep_max,
				 uint64_t *removed);

/* Remove module files that no function references and files left in tmp/. Run at start-up,
 * before serving. The number of files removed goes to *removed (may be NULL). */
enum tw_err tw_store_collect(struct tw_store *s, uint64_t *removed);

/* A fresh random identifier (32 hex characters + NUL) from getrandom(2). */
enum tw_err tw_random_id(char out[TW_STORE_ID_LEN + 1]);

#endif
