/*
 * store.c — functions and jobs on disk: content-addressed module files + SQLite metadata.
 * See store.h for the layout and the durability contract.
 *
 * Load: deploys and job completions are rare next to invokes (tens per second at most); every
 * call here may fsync, which is why the server runs it off the worker threads.
 */
#include "core/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

struct tw_store {
	pthread_mutex_t lock;
	sqlite3 *db;
	int dir_fd;     /* the data directory */
	int modules_fd; /* modules/ */
	int tmp_fd;     /* tmp/ */
	int lock_fd;    /* LOCK, flock'd: one server per data directory */
};

static const char SCHEMA[] =
	"CREATE TABLE IF NOT EXISTS functions("
	"  id TEXT PRIMARY KEY, tenant INTEGER NOT NULL, name TEXT NOT NULL,"
	"  module_hash TEXT NOT NULL, module_bytes INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL, offload TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX IF NOT EXISTS functions_by_tenant ON functions(tenant, created_ms);"
	"CREATE INDEX IF NOT EXISTS functions_by_module ON functions(module_hash);"
	"CREATE TABLE IF NOT EXISTS jobs("
	"  id TEXT PRIMARY KEY, tenant INTEGER NOT NULL, function_id TEXT NOT NULL,"
	"  status INTEGER NOT NULL, result_json TEXT, error_json TEXT,"
	"  finished_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS jobs_by_finish ON jobs(finished_ms);"
	"PRAGMA user_version = 1;";

static enum tw_err sqlite_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return TW_ERR_OK;
	case SQLITE_FULL:
		return TW_ERR_NO_SPACE;
	case SQLITE_CONSTRAINT:
		return TW_ERR_EXISTS;
	case SQLITE_NOMEM:
		return TW_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return TW_ERR_AGAIN;
	default:
		return TW_ERR_IO;
	}
}

static enum tw_err errno_err(int e)
{
	/* A file that would exceed RLIMIT_FSIZE is, to the caller, the same as a full disk. */
	return e == EFBIG ? TW_ERR_NO_SPACE : tw_err_from_errno(e);
}

static int open_subdir(int parent, const char *name)
{
	if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
		return -1;
	return openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void clear_dir(int dir_fd, uint64_t *removed)
{
	int fd = dup(dir_fd);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (unlinkat(dir_fd, e->d_name, 0) == 0 && removed)
			(*removed)++;
	}
	closedir(d);
}

enum tw_err tw_store_open(const char *dir, struct tw_store **out, char *err, size_t cap)
{
	*out = NULL;
	struct tw_store *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, cap, "out of memory");
		return TW_ERR_NOMEM;
	}
	enum tw_err e;
	s->dir_fd = s->modules_fd = s->tmp_fd = s->lock_fd = -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		goto out_errno;
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0)
		goto out_errno;
	s->lock_fd = openat(s->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0)
		goto out_errno;
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, cap, "%s is in use by another process", dir);
		e = TW_ERR_AGAIN;
		goto out_free;
	}
	s->modules_fd = open_subdir(s->dir_fd, "modules");
	s->tmp_fd = open_subdir(s->dir_fd, "tmp");
	if (s->modules_fd < 0 || s->tmp_fd < 0)
		goto out_errno;
	clear_dir(s->tmp_fd, NULL);

	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/meta.sqlite3", dir) >= (int)sizeof(path)) {
		snprintf(err, cap, "data directory path too long");
		e = TW_ERR_INVALID_ARG;
		goto out_free;
	}
	int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
						      SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto out_sqlite;
	sqlite3_busy_timeout(s->db, 5000);
	char *msg = NULL;
	rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			  &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, SCHEMA, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, cap, "%s: %s", path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		e = sqlite_err(rc);
		goto out_free;
	}
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return TW_ERR_OK;

out_sqlite:
	snprintf(err, cap, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	e = sqlite_err(rc);
	goto out_free;
out_errno:
	snprintf(err, cap, "%s: %s", dir, strerror(errno));
	e = errno_err(errno);
out_free:
	if (s->db)
		sqlite3_close(s->db);
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	if (s->modules_fd >= 0)
		close(s->modules_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s);
	return e;
}

void tw_store_close(struct tw_store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	close(s->tmp_fd);
	close(s->modules_fd);
	close(s->lock_fd);
	close(s->dir_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void module_rel_path(const char *hex, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.2s/%s.wasm", hex, hex);
}

static bool is_hex_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == TW_STORE_ID_LEN;
}

static enum tw_err write_all(int fd, const void *bytes, size_t n)
{
	const unsigned char *p = bytes;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno_err(errno);
		}
		p += w;
		n -= (size_t)w;
	}
	return TW_ERR_OK;
}

/* Write the module file if it is not there yet. Called with the lock held. */
static enum tw_err put_module_locked(struct tw_store *s, const void *bytes, size_t n,
				     const char *hex)
{
	char rel[64], fan[3] = {hex[0], hex[1], '\0'};
	module_rel_path(hex, rel, sizeof(rel));
	struct stat st;
	if (fstatat(s->modules_fd, rel, &st, 0) == 0 && (size_t)st.st_size == n)
		return TW_ERR_OK; /* same content address and size: already durable */

	bool new_fan = mkdirat(s->modules_fd, fan, 0755) == 0;
	if (!new_fan && errno != EEXIST)
		return errno_err(errno);
	int fan_fd = openat(s->modules_fd, fan, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fan_fd < 0)
		return errno_err(errno);
	enum tw_err e;
	char tmp[96], suffix[TW_STORE_ID_LEN + 1];
	e = tw_random_id(suffix);
	if (e)
		goto out_close_fan;
	snprintf(tmp, sizeof(tmp), "%s.%.8s.tmp", hex, suffix);
	int fd = openat(s->tmp_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = errno_err(errno);
		goto out_close_fan;
	}
	e = write_all(fd, bytes, n);
	if (!e && fsync(fd) < 0)
		e = errno_err(errno);
	if (close(fd) < 0 && !e)
		e = errno_err(errno);
	if (e)
		goto out_unlink;
	if (renameat(s->tmp_fd, tmp, fan_fd, rel + 3) < 0) {
		e = errno_err(errno);
		goto out_unlink;
	}
	/* The rename is durable only once the directory holding the new name is synced; a new fan
	 * directory must itself be made durable in modules/. */
	if (fsync(fan_fd) < 0 || (new_fan && fsync(s->modules_fd) < 0)) {
		e = errno_err(errno);
		goto out_close_fan;
	}
	close(fan_fd);
	return TW_ERR_OK;

out_unlink:
	unlinkat(s->tmp_fd, tmp, 0);
out_close_fan:
	close(fan_fd);
	return e;
}

enum tw_err tw_store_load_module(struct tw_store *s, const char *hex, uint8_t **bytes, size_t *n)
{
	*bytes = NULL;
	*n = 0;
	if (!is_hex_id(hex))
		return TW_ERR_NOT_FOUND;
	char rel[64];
	module_rel_path(hex, rel, sizeof(rel));
	int fd = openat(s->modules_fd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? TW_ERR_NOT_FOUND : errno_err(errno);
	enum tw_err e = TW_ERR_OK;
	struct stat st;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) < 0) {
		e = errno_err(errno);
		goto out_close;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		e = TW_ERR_NOMEM;
		goto out_close;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			e = r < 0 ? errno_err(errno) : TW_ERR_IO;
			goto out_free;
		}
		got += (size_t)r;
	}
	char check[TW_STORE_ID_LEN + 1];
	tw_hash128_hex(tw_hash128(buf, got), check);
	if (strcmp(check, hex) != 0) {
		TW_ERROR(STORE, "module %s is damaged on disk (content hashes to %s)", hex, check);
		e = TW_ERR_IO;
		goto out_free;
	}
	close(fd);
	*bytes = buf;
	*n = got;
	return TW_ERR_OK;

out_free:
	free(buf);
out_close:
	close(fd);
	return e;
}

static enum tw_err exec_sql(struct tw_store *s, const char *sql)
{
	return sqlite_err(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

enum tw_err tw_store_deploy(struct tw_store *s, struct tw_function_rec *rec, const void *bytes,
			    size_t n)
{
	tw_hash128_hex(tw_hash128(bytes, n), rec->module_hash);
	rec->module_bytes = n;
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	enum tw_err e = put_module_locked(s, bytes, n, rec->module_hash);
	if (e)
		goto out_unlock;
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT INTO functions(id, tenant, name, module_hash, "
				    "module_bytes, created_ms, offload) VALUES(?,?,?,?,?,?,?)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, rec->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)rec->tenant);
		sqlite3_bind_text(st, 3, rec->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, rec->module_hash, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)rec->module_bytes);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)rec->created_ms);
		sqlite3_bind_text(st, 7, rec->offload, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	e = sqlite_err(rc);
	if (e && e != TW_ERR_EXISTS)
		TW_ERROR(STORE, "storing function %s failed: %s", rec->id, sqlite3_errmsg(s->db));
out_unlock:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

/* Prepare `sql` (whose parameters are ?1 = id, ?2 = tenant) into *st and take its first step.
 * Returns the step's code (SQLITE_ROW, SQLITE_DONE) or the prepare error; *st is finalised by
 * the caller either way. */
static int step_by_id_tenant(struct tw_store *s, const char *sql, const char *id, uint64_t tenant,
			     sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(*st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(*st, 2, (sqlite3_int64)tenant);
	return sqlite3_step(*st);
}

static void row_to_function(sqlite3_stmt *st, struct tw_function_rec *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", (const char *)sqlite3_column_text(st, 0));
	r->tenant = (uint64_t)sqlite3_column_int64(st, 1);
	snprintf(r->name, sizeof(r->name), "%s", (const char *)sqlite3_column_text(st, 2));
	snprintf(r->module_hash, sizeof(r->module_hash), "%s",
		 (const char *)sqlite3_column_text(st, 3));
	r->module_bytes = (uint64_t)sqlite3_column_int64(st, 4);
	r->created_ms = (uint64_t)sqlite3_column_int64(st, 5);
	snprintf(r->offload, sizeof(r->offload), "%s", (const char *)sqlite3_column_text(st, 6));
}

#define FUNCTION_COLUMNS "id, tenant, name, module_hash, module_bytes, created_ms, offload"

enum tw_err tw_store_get_function(struct tw_store *s, uint64_t tenant, const char *id,
				  struct tw_function_rec *out)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	int rc = step_by_id_tenant(s, "SELECT " FUNCTION_COLUMNS
				   " FROM functions WHERE id = ? AND tenant = ?",
				   id, tenant, &st);
	enum tw_err e = rc == SQLITE_ROW ? TW_ERR_OK : rc == SQLITE_DONE ? TW_ERR_NOT_FOUND
									 : sqlite_err(rc);
	if (rc == SQLITE_ROW)
		row_to_function(st, out);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum tw_err tw_store_delete_function(struct tw_store *s, uint64_t tenant, const char *id)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	char hash[TW_STORE_ID_LEN + 1] = "";
	int64_t users = -1;
	enum tw_err e = exec_sql(s, "BEGIN IMMEDIATE");
	if (e)
		goto out_unlock;
	int rc = step_by_id_tenant(s, "SELECT module_hash FROM functions WHERE id = ? AND tenant = ?",
				   id, tenant, &st);
	if (rc != SQLITE_ROW) {
		e = rc == SQLITE_DONE ? TW_ERR_NOT_FOUND : sqlite_err(rc);
		goto out_rollback;
	}
	snprintf(hash, sizeof(hash), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	rc = step_by_id_tenant(s, "DELETE FROM functions WHERE id = ? AND tenant = ?", id, tenant,
			       &st);
	if (rc != SQLITE_DONE) {
		e = sqlite_err(rc);
		goto out_rollback;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM functions WHERE module_hash = ?", -1,
				&st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc != SQLITE_ROW) {
		e = sqlite_err(rc);
		goto out_rollback;
	}
	users = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	e = exec_sql(s, "COMMIT");
	if (e)
		goto out_rollback;
	if (users == 0) {
		/* After the commit: a crash before this unlink leaves an orphan file, which
		 * tw_store_collect() removes at the next start. */
		char rel[64];
		module_rel_path(hash, rel, sizeof(rel));
		unlinkat(s->modules_fd, rel, 0);
	}
	goto out_unlock;

out_rollback:
	sqlite3_finalize(st);
	st = NULL;
	exec_sql(s, "ROLLBACK");
out_unlock:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum tw_err tw_store_each_function(struct tw_store *s, tw_store_function_cb fn, void *ctx)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	enum tw_err e = TW_ERR_OK;
	int rc = sqlite3_prepare_v2(s->db, "SELECT " FUNCTION_COLUMNS
				    " FROM functions ORDER BY created_ms, rowid", -1, &st, NULL);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		struct tw_function_rec r;
		row_to_function(st, &r);
		e = fn(&r, ctx);
		if (e)
			break;
	}
	if (!e && rc != SQLITE_DONE)
		e = sqlite_err(rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

enum tw_err tw_store_put_job(struct tw_store *s, const struct tw_job_rec *rec)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "INSERT OR REPLACE INTO jobs(id, tenant, function_id, status, "
				    "result_json, error_json, finished_ms) VALUES(?,?,?,?,?,?,?)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, rec->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)rec->tenant);
		sqlite3_bind_text(st, 3, rec->function_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, (int)rec->status);
		sqlite3_bind_text(st, 5, rec->result_json, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, rec->error_json, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)rec->finished_ms);
		rc = sqlite3_step(st);
	}
	enum tw_err e = sqlite_err(rc);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

static char *dup_column(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? strdup((const char *)t) : NULL;
}

enum tw_err tw_store_get_job(struct tw_store *s, uint64_t tenant, const char *id,
			     struct tw_job_rec *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	int rc = step_by_id_tenant(s,
				   "SELECT id, tenant, function_id, status, result_json, "
				   "error_json, finished_ms FROM jobs WHERE id = ? AND tenant = ?",
				   id, tenant, &st);
	enum tw_err e = rc == SQLITE_ROW ? TW_ERR_OK : rc == SQLITE_DONE ? TW_ERR_NOT_FOUND
									 : sqlite_err(rc);
	if (rc == SQLITE_ROW) {
		snprintf(out->id, sizeof(out->id), "%s", (const char *)sqlite3_column_text(st, 0));
		out->tenant = (uint64_t)sqlite3_column_int64(st, 1);
		snprintf(out->function_id, sizeof(out->function_id), "%s",
			 (const char *)sqlite3_column_text(st, 2));
		out->status = (enum tw_job_status)sqlite3_column_int(st, 3);
		out->result_json = dup_column(st, 4);
		out->error_json = dup_column(st, 5);
		out->finished_ms = (uint64_t)sqlite3_column_int64(st, 6);
		if ((sqlite3_column_type(st, 4) != SQLITE_NULL && !out->result_json) ||
		    (sqlite3_column_type(st, 5) != SQLITE_NULL && !out->error_json)) {
			tw_job_rec_release(out);
			e = TW_ERR_NOMEM;
		}
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

void tw_job_rec_release(struct tw_job_rec *rec)
{
	free(rec->result_json);
	free(rec->error_json);
	rec->result_json = rec->error_json = NULL;
}

enum tw_err tw_store_expire_jobs(struct tw_store *s, uint64_t before_ms, uint64_t keep_max,
				 uint64_t *removed)
{
	pthread_mutex_lock(&s->lock);
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "DELETE FROM jobs WHERE finished_ms < ?1 OR id NOT IN "
				    "(SELECT id FROM jobs ORDER BY finished_ms DESC LIMIT ?2)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)before_ms);
		sqlite3_bind_int64(st, 2, keep_max > INT64_MAX ? INT64_MAX : (int64_t)keep_max);
		rc = sqlite3_step(st);
	}
	enum tw_err e = sqlite_err(rc);
	if (!e && removed)
		*removed = (uint64_t)sqlite3_changes(s->db);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return e;
}

/* Is a module hash referenced by a function row? Called with the lock held. */
static bool module_in_use(struct tw_store *s, sqlite3_stmt *st, const char *hex)
{
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
	/* On a read error keep the file: collecting is an optimisation, losing data is not. */
	return sqlite3_step(st) != SQLITE_DONE;
}

enum tw_err tw_store_collect(struct tw_store *s, uint64_t *removed)
{
	uint64_t n = 0;
	pthread_mutex_lock(&s->lock);
	clear_dir(s->tmp_fd, &n);
	sqlite3_stmt *st = NULL;
	enum tw_err e = sqlite_err(sqlite3_prepare_v2(
		s->db, "SELECT 1 FROM functions WHERE module_hash = ? LIMIT 1", -1, &st, NULL));
	if (e)
		goto out_unlock;
	int fd = dup(s->modules_fd);
	DIR *top = fd >= 0 ? fdopendir(fd) : NULL;
	if (!top) {
		if (fd >= 0)
			close(fd);
		e = errno_err(errno);
		goto out_unlock;
	}
	rewinddir(top);
	struct dirent *fan;
	while ((fan = readdir(top)) != NULL) {
		if (fan->d_name[0] == '.')
			continue;
		int fan_fd = openat(s->modules_fd, fan->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fan_fd >= 0 ? fdopendir(fan_fd) : NULL;
		if (!d) {
			if (fan_fd >= 0)
				close(fan_fd);
			continue;
		}
		struct dirent *f;
		while ((f = readdir(d)) != NULL) {
			if (f->d_name[0] == '.')
				continue;
			char hex[TW_STORE_ID_LEN + 1];
			size_t len = strlen(f->d_name);
			bool named_ok = len == TW_STORE_ID_LEN + 5 &&
					strcmp(f->d_name + TW_STORE_ID_LEN, ".wasm") == 0;
			if (named_ok) {
				memcpy(hex, f->d_name, TW_STORE_ID_LEN);
				hex[TW_STORE_ID_LEN] = '\0';
				named_ok = is_hex_id(hex);
			}
			if (named_ok && module_in_use(s, st, hex))
				continue;
			if (unlinkat(dirfd(d), f->d_name, 0) == 0)
				n++;
		}
		closedir(d);
	}
	closedir(top);
out_unlock:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (removed)
		*removed = n;
	if (n)
		TW_INFO(STORE, "collected %llu unreferenced files", (unsigned long long)n);
	return e;
}

enum tw_err tw_random_id(char out[TW_STORE_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TW_STORE_ID_LEN / 2];
	size_t got = 0;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return TW_ERR_SYSTEM;
		}
		got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TW_STORE_ID_LEN] = '\0';
	return TW_ERR_OK;
}
