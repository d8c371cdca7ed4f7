/* store_test.c — the durable store: round trips, isolation, dedupe, collection, damage, full
 * disk. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/store.h"

static char dir[128];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tw-store-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(store, .init = make_dir, .fini = remove_dir);

static struct tw_store *open_store(const char *d)
{
	struct tw_store *s;
	char err[256];
	enum tw_err e = tw_store_open(d, &s, err, sizeof(err));
	cr_assert_eq(e, TW_ERR_OK, "%s", err);
	return s;
}

static void deploy(struct tw_store *s, struct tw_function_rec *r, uint64_t tenant,
		   const char *name, const void *bytes, size_t n)
{
	memset(r, 0, sizeof(*r));
	cr_assert_eq(tw_random_id(r->id), TW_ERR_OK);
	r->tenant = tenant;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->created_ms = 1000;
	cr_assert_eq(tw_store_deploy(s, r, bytes, n), TW_ERR_OK);
}

static int count_cb_n;
static enum tw_err count_cb(const struct tw_function_rec *rec, void *ctx)
{
	(void)rec, (void)ctx;
	count_cb_n++;
	return TW_ERR_OK;
}

static int count_module_files(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "find '%s/modules' -name '*.wasm' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	cr_assert_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

Test(store, deploy_get_reopen_load)
{
	struct tw_store *s = open_store(dir);
	static const char mod[] = "\0asm\1\0\0\0";
	struct tw_function_rec r, got;
	deploy(s, &r, 7, "adder", mod, 8);
	cr_assert_eq(strlen(r.module_hash), 32);
	cr_assert_eq(tw_store_get_function(s, 7, r.id, &got), TW_ERR_OK);
	cr_assert_str_eq(got.name, "adder");
	cr_assert_eq(got.module_bytes, 8);
	cr_assert_eq(tw_store_get_function(s, 8, r.id, &got), TW_ERR_NOT_FOUND,
		     "another tenant cannot see it");
	cr_assert_eq(tw_store_deploy(s, &r, mod, 8), TW_ERR_EXISTS);
	tw_store_close(s);

	s = open_store(dir);
	count_cb_n = 0;
	cr_assert_eq(tw_store_each_function(s, count_cb, NULL), TW_ERR_OK);
	cr_assert_eq(count_cb_n, 1);
	uint8_t *bytes;
	size_t n;
	cr_assert_eq(tw_store_load_module(s, r.module_hash, &bytes, &n), TW_ERR_OK);
	cr_assert_eq(n, 8);
	cr_assert_eq(memcmp(bytes, mod, 8), 0);
	free(bytes);
	cr_assert_eq(tw_store_load_module(s, "../../../etc/passwd", &bytes, &n), TW_ERR_NOT_FOUND);
	tw_store_close(s);
}

Test(store, one_server_per_directory)
{
	struct tw_store *s = open_store(dir), *t;
	char err[256];
	cr_assert_eq(tw_store_open(dir, &t, err, sizeof(err)), TW_ERR_AGAIN);
	cr_assert(strstr(err, "in use"), "%s", err);
	tw_store_close(s);
}

Test(store, shared_module_deleted_with_its_last_function)
{
	struct tw_store *s = open_store(dir);
	struct tw_function_rec a, b;
	deploy(s, &a, 1, "a", "same bytes", 10);
	deploy(s, &b, 2, "b", "same bytes", 10);
	cr_assert_str_eq(a.module_hash, b.module_hash);
	cr_assert_eq(count_module_files(), 1);
	cr_assert_eq(tw_store_delete_function(s, 2, a.id), TW_ERR_NOT_FOUND, "wrong tenant");
	cr_assert_eq(tw_store_delete_function(s, 1, a.id), TW_ERR_OK);
	cr_assert_eq(count_module_files(), 1, "still used by b");
	cr_assert_eq(tw_store_delete_function(s, 2, b.id), TW_ERR_OK);
	cr_assert_eq(count_module_files(), 0);
	cr_assert_eq(tw_store_delete_function(s, 2, b.id), TW_ERR_NOT_FOUND);
	tw_store_close(s);
}

Test(store, collect_removes_orphans_and_temp_files)
{
	struct tw_store *s = open_store(dir);
	struct tw_function_rec keep;
	deploy(s, &keep, 1, "keep", "kept module", 11);
	char path[512];
	snprintf(path, sizeof(path), "%s/modules/ab", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/modules/ab/abababababababababababababababab.wasm", dir);
	FILE *f = fopen(path, "w");
	fputs("orphan", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/tmp/half-written.tmp", dir);
	f = fopen(path, "w");
	fputs("partial", f);
	fclose(f);
	uint64_t removed = 0;
	cr_assert_eq(tw_store_collect(s, &removed), TW_ERR_OK);
	cr_assert_eq(removed, 2);
	cr_assert_eq(count_module_files(), 1);
	uint8_t *bytes;
	size_t n;
	cr_assert_eq(tw_store_load_module(s, keep.module_hash, &bytes, &n), TW_ERR_OK);
	free(bytes);
	tw_store_close(s);
}

Test(store, damaged_module_is_detected)
{
	struct tw_store *s = open_store(dir);
	struct tw_function_rec r;
	deploy(s, &r, 1, "x", "original content", 16);
	char path[512];
	snprintf(path, sizeof(path), "%s/modules/%.2s/%s.wasm", dir, r.module_hash, r.module_hash);
	int fd = open(path, O_WRONLY);
	cr_assert_eq(pwrite(fd, "X", 1, 3), 1);
	close(fd);
	uint8_t *bytes;
	size_t n;
	cr_assert_eq(tw_store_load_module(s, r.module_hash, &bytes, &n), TW_ERR_IO);
	cr_assert_null(bytes);
	tw_store_close(s);
}

Test(store, jobs_round_trip_and_expire)
{
	struct tw_store *s = open_store(dir);
	for (int i = 0; i < 5; i++) {
		struct tw_job_rec j = {.tenant = 3, .status = TW_JOB_COMPLETED,
				       .finished_ms = 100 + (uint64_t)i,
				       .result_json = "{\"result\":[1]}"};
		snprintf(j.id, sizeof(j.id), "%032d", i);
		snprintf(j.function_id, sizeof(j.function_id), "%032d", 99);
		cr_assert_eq(tw_store_put_job(s, &j), TW_ERR_OK);
	}
	struct tw_job_rec got;
	char id[33];
	snprintf(id, sizeof(id), "%032d", 4);
	cr_assert_eq(tw_store_get_job(s, 3, id, &got), TW_ERR_OK);
	cr_assert_eq(got.status, TW_JOB_COMPLETED);
	cr_assert_str_eq(got.result_json, "{\"result\":[1]}");
	cr_assert_null(got.error_json);
	tw_job_rec_release(&got);
	cr_assert_eq(tw_store_get_job(s, 4, id, &got), TW_ERR_NOT_FOUND);
	uint64_t removed;
	cr_assert_eq(tw_store_expire_jobs(s, 101, 3, &removed), TW_ERR_OK);
	cr_assert_eq(removed, 2, "one too old, one beyond the newest three");
	snprintf(id, sizeof(id), "%032d", 1);
	cr_assert_eq(tw_store_get_job(s, 3, id, &got), TW_ERR_NOT_FOUND);
	snprintf(id, sizeof(id), "%032d", 2);
	cr_assert_eq(tw_store_get_job(s, 3, id, &got), TW_ERR_OK);
	tw_job_rec_release(&got);
	tw_store_close(s);
}

Test(store, full_disk_loses_nothing_acknowledged)
{
	char mnt[256];
	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	mkdir(mnt, 0755);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0)
		cr_skip_test("cannot mount a small tmpfs here (needs root): %s", strerror(errno));
	struct tw_store *s = open_store(mnt);
	static unsigned char mod[64 * 1024];
	struct tw_function_rec acked[64];
	int n_acked = 0;
	enum tw_err e = TW_ERR_OK;
	for (int i = 0; i < 64 && e == TW_ERR_OK; i++) {
		memset(mod, i + 1, sizeof(mod));
		struct tw_function_rec r = {.tenant = 1, .created_ms = (uint64_t)i};
		tw_random_id(r.id);
		snprintf(r.name, sizeof(r.name), "f%d", i);
		e = tw_store_deploy(s, &r, mod, sizeof(mod));
		if (e == TW_ERR_OK)
			acked[n_acked++] = r;
	}
	cr_assert_eq(e, TW_ERR_NO_SPACE, "got %s", tw_err_str(e));
	cr_assert_gt(n_acked, 2);
	tw_store_close(s);

	s = open_store(mnt);
	uint64_t removed;
	cr_assert_eq(tw_store_collect(s, &removed), TW_ERR_OK);
	for (int i = 0; i < n_acked; i++) {
		struct tw_function_rec got;
		cr_assert_eq(tw_store_get_function(s, 1, acked[i].id, &got), TW_ERR_OK);
		uint8_t *bytes;
		size_t n;
		cr_assert_eq(tw_store_load_module(s, got.module_hash, &bytes, &n), TW_ERR_OK,
			     "function %d", i);
		cr_assert_eq(n, sizeof(mod));
		cr_assert_eq(bytes[0], (unsigned char)(i + 1));
		free(bytes);
	}
	cr_assert_eq(tw_store_delete_function(s, 1, acked[0].id), TW_ERR_OK);
	struct tw_function_rec r;
	deploy(s, &r, 1, "after", "small", 5);
	tw_store_close(s);
	umount(mnt);
}
