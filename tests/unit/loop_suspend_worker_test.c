/* loop_suspend_worker_test.c — the worker path of a loop hook that suspends the call, without a
 * GPU: a guest on a worker enters a loop whose hook hands the loop's work to gpu_completion (a
 * plain wait function that computes the loop's output into a staging buffer, standing in for a
 * kernel and its copy out) and answers TWM_HOOK_PENDING; the done callback posts to the worker's
 * inbox, and the worker wakes the call (twm_call_wake) and resumes it in fuel slices, where the
 * hook copies the staged output into memory and writes the exit values. The wait checks that the
 * worker keeps serving its inbox meanwhile. A second test abandons the call while its wait is
 * queued: the instance and the staging buffer are kept until the completion arrives. This is the
 * shape of jit_offload's routed hook with http_api's call_step / call_gpu_resume. Guest:
 * tests/guests/twm_loop_pend.wat. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/worker.h"
#include "gpu/gpu_completion.h"
#include "wasm/twm.h"

#define N 300

struct run {
	struct tw_worker *w;
	struct gpu_completion *gc;
	struct twm_module *mod;
	struct twm_instance *inst;
	uint32_t stage[N];     /* written by the completion thread */
	uint32_t n;            /* the loop's trip count, read at its entry */
	enum tw_err waited;    /* written by the completion thread before the post */
	bool abandon;          /* abort the call while its wait is queued */
	bool busy, ready;      /* the hook's state (worker thread only) */
	bool orphan;
	uint32_t suspensions, fuel_stops, hook_done;
	atomic_int pings;
	atomic_int done; /* 1 finished, 2 freed after abandon */
	atomic_uint result;
	atomic_int status;
};

static void on_ping(struct tw_worker *w, void *arg)
{
	(void)w;
	struct run *r = arg;
	atomic_fetch_add(&r->pings, 1);
}

/* On the completion thread: "the kernel". */
static enum tw_err wait_fn(void *arg)
{
	struct run *r = arg;
	int before = atomic_load(&r->pings);
	while (tw_worker_post(r->w, on_ping, r) == TW_ERR_FULL)
		usleep(100);
	for (int i = 0; i < 2000 && atomic_load(&r->pings) == before; i++)
		usleep(1000);
	for (uint32_t i = 0; i < r->n; i++)
		r->stage[i] = i + 1;
	usleep(r->abandon ? 20000 : 1000);
	return atomic_load(&r->pings) > before ? TW_ERR_OK : TW_ERR_TIMEOUT;
}

static void step(struct tw_worker *w, void *arg);

static void on_done(void *arg, enum tw_err result)
{
	struct run *r = arg;
	r->waited = result;
	while (tw_worker_post(r->w, step, r) == TW_ERR_FULL)
		usleep(100);
}

static enum twm_hook_action hook(const struct twm_loop_site *site, void *env)
{
	struct run *r = env;
	if (site->nlocals != 4)
		return TWM_HOOK_RUN_LOOP; /* $warm */
	if (r->ready) {
		r->ready = false;
		if (r->waited != TW_ERR_OK)
			return TWM_HOOK_RUN_LOOP;
		memcpy(site->mem, r->stage, 4 * (size_t)r->n);
		site->locals[1] = r->n;
		site->locals[2] = (uint32_t)((uint64_t)r->n * (r->n - 1) / 2);
		r->hook_done++;
		return TWM_HOOK_LOOP_DONE;
	}
	r->n = (uint32_t)site->locals[0];
	cr_assert_leq(r->n, N);
	if (site->can_suspend && gpu_completion_submit(r->gc, wait_fn, r, on_done, r) == TW_ERR_OK) {
		r->busy = true;
		return TWM_HOOK_PENDING;
	}
	return TWM_HOOK_RUN_LOOP;
}

static void finish(struct run *r)
{
	twm_instance_free(r->inst);
	r->inst = NULL;
}

/* On the worker: wake after a completion, then run slices until the call waits or ends. */
static void step(struct tw_worker *w, void *arg)
{
	struct run *r = arg;
	if (r->busy) {
		r->busy = false;
		if (r->orphan) { /* abandoned: only now may the instance and the stage go */
			finish(r);
			atomic_store(&r->done, 2);
			return;
		}
		r->ready = true;
		cr_assert_eq(twm_call_wake(r->inst), TW_ERR_OK);
	}
	struct twm_error err;
	enum tw_err e = twm_call_run(r->inst, 5, &err);
	if (e == TW_ERR_WASM_FUEL) {
		r->fuel_stops++;
		cr_assert_eq(tw_worker_post(w, step, r), TW_ERR_OK);
		return;
	}
	if (e == TW_ERR_WASM_PENDING) {
		r->suspensions++;
		if (r->abandon) {
			twm_call_abort(r->inst);
			r->orphan = true;
		}
		return;
	}
	struct twm_value v = {0};
	twm_call_results(r->inst, &v, 1);
	atomic_store(&r->result, (uint32_t)v.bits);
	atomic_store(&r->status, (int)e);
	uint64_t sz;
	const uint8_t *mem = twm_memory_data(twm_instance_memory(r->inst, 0), &sz);
	for (uint32_t i = 0; i < r->n; i++) {
		uint32_t x;
		memcpy(&x, mem + 4 * i, 4);
		cr_assert_eq(x, i + 1);
	}
	finish(r);
	atomic_store(&r->done, 1);
}

static void begin_on_worker(struct tw_worker *w, void *arg)
{
	struct run *r = arg;
	struct twm_error err;
	struct twm_linker *l;
	cr_assert_eq(twm_linker_new(&l), TW_ERR_OK);
	cr_assert_eq(twm_instantiate(r->mod, l, NULL, &r->inst, &err), TW_ERR_OK);
	twm_linker_free(l);
	struct twm_loop_hook h = {.fn = hook, .env = r};
	twm_instance_set_loop_hook(r->inst, &h);
	struct twm_extern ext;
	cr_assert_eq(twm_instance_export(r->inst, "fill", &ext), TW_ERR_OK);
	struct twm_value n = twm_val_i32(N);
	cr_assert_eq(twm_call_begin(r->inst, ext.u.func, &n, 1, &err), TW_ERR_OK);
	step(w, r);
}

static void run_case(struct run *r)
{
	char path[512];
	const char *dir = getenv("TW_GUESTS_DIR");
	snprintf(path, sizeof(path), "%s/twm_loop_pend.wasm", dir ? dir : "build/guests");
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	uint8_t buf[4096];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct twm_error err;
	cr_assert_eq(twm_module_load(buf, len, NULL, &r->mod, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(gpu_completion_start(&r->gc, 4), TW_ERR_OK);
	struct tw_worker_group *g;
	struct tw_worker_group_opts o = {.workers = 1, .ring_entries = 32};
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	r->w = tw_worker_group_at(g, 0);
	cr_assert_eq(tw_worker_post(r->w, begin_on_worker, r), TW_ERR_OK);
	for (int k = 0; k < 5000 && !atomic_load(&r->done); k++)
		usleep(1000);
	tw_worker_group_stop(g);
	gpu_completion_stop(r->gc);
	twm_module_unref(r->mod);
}

Test(loop_suspend_worker, completion_finishes_the_loop_on_its_worker)
{
	struct run *r = calloc(1, sizeof(*r));
	run_case(r);
	cr_assert_eq(atomic_load(&r->done), 1);
	cr_assert_eq(atomic_load(&r->status), TW_ERR_OK);
	uint32_t n = N;
	cr_assert_eq(atomic_load(&r->result), n * (n - 1) / 2 + 1000 * n + n + 3 * n);
	cr_assert_eq(r->suspensions, 1u);
	cr_assert_eq(r->hook_done, 1u, "the loop was skipped: its output came from the stage");
	cr_assert_gt(r->fuel_stops, 0u);
	cr_assert_geq(atomic_load(&r->pings), 1, "the worker served its inbox while waiting");
	free(r);
}

Test(loop_suspend_worker, abandoned_call_is_freed_when_its_wait_completes)
{
	struct run *r = calloc(1, sizeof(*r));
	r->abandon = true;
	run_case(r);
	cr_assert_eq(atomic_load(&r->done), 2);
	cr_assert_eq(r->suspensions, 1u);
	free(r);
}
