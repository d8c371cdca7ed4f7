/* host_suspend_worker_test.c — the worker path of a suspended host call, without a GPU: a
 * guest on a worker calls a host function that hands a wait to gpu_completion (a plain wait
 * function instead of a GPU event) and suspends the call; the done callback posts to the
 * worker's inbox, and the worker supplies the result and resumes the call in fuel slices. The
 * wait itself checks that the worker keeps serving its inbox meanwhile. A second test abandons
 * the call while its wait is queued: the instance is kept until the completion arrives. This is
 * the shape of http_api's call_step / call_gpu_resume; with a GPU the wait is the event's. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/worker.h"
#include "gpu/gpu_completion.h"
#include "wasm/twm.h"

struct run {
	struct tw_worker *w;
	struct gpu_completion *gc;
	struct twm_module *mod;
	struct twm_linker *linker;
	struct twm_instance *inst;
	uint32_t arg;          /* the pending host call's argument */
	enum tw_err waited;    /* written by the completion thread before the post */
	int wait_ms;           /* how long each wait takes */
	bool abandon;          /* abort the call while its first wait is queued */
	bool waiting, orphan;  /* worker thread only */
	uint32_t suspensions, fuel_stops;
	atomic_int pings;      /* inbox messages served while a wait was queued */
	atomic_int done;       /* 1 finished, 2 freed after abandon */
	atomic_uint result;
	atomic_int status;
};

static void on_ping(struct tw_worker *w, void *arg)
{
	(void)w;
	struct run *r = arg;
	atomic_fetch_add(&r->pings, 1);
}

/* On the completion thread: the worker must keep serving its inbox during the wait. */
static enum tw_err wait_fn(void *arg)
{
	struct run *r = arg;
	int before = atomic_load(&r->pings);
	while (tw_worker_post(r->w, on_ping, r) == TW_ERR_FULL)
		usleep(100);
	for (int i = 0; i < 2000 && atomic_load(&r->pings) == before; i++)
		usleep(1000);
	usleep((useconds_t)r->wait_ms * 1000);
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

static enum tw_err host_later(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			      void *env)
{
	struct run *r = env;
	r->arg = (uint32_t)args[0];
	if (twm_ctx_can_suspend(ctx) &&
	    gpu_completion_submit(r->gc, wait_fn, r, on_done, r) == TW_ERR_OK) {
		cr_assert_eq(twm_ctx_suspend(ctx), TW_ERR_OK);
		return TW_ERR_OK;
	}
	results[0] = (uint32_t)args[0] * 10;
	return TW_ERR_OK;
}

static void finish(struct run *r)
{
	twm_instance_free(r->inst);
	r->inst = NULL;
}

/* On the worker: resume after a completion, then run slices until the call waits or ends. */
static void step(struct tw_worker *w, void *arg)
{
	struct run *r = arg;
	if (r->waiting) {
		r->waiting = false;
		if (r->orphan) { /* abandoned: only now may the instance go */
			finish(r);
			atomic_store(&r->done, 2);
			return;
		}
		if (r->waited == TW_ERR_OK) {
			uint64_t v = (uint64_t)r->arg * 10;
			cr_assert_eq(twm_call_complete_host(r->inst, &v, 1), TW_ERR_OK);
		} else {
			twm_call_trap_host(r->inst, "wait failed: %s", tw_err_str(r->waited));
		}
	}
	struct twm_error err;
	enum tw_err e = twm_call_run(r->inst, 5, &err);
	if (e == TW_ERR_WASM_FUEL) {
		r->fuel_stops++;
		cr_assert_eq(tw_worker_post(w, step, r), TW_ERR_OK); /* yield, as a 0 timer would */
		return;
	}
	if (e == TW_ERR_WASM_PENDING) {
		r->suspensions++;
		r->waiting = true;
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
	finish(r);
	atomic_store(&r->done, 1);
}

static void begin_on_worker(struct tw_worker *w, void *arg)
{
	struct run *r = arg;
	struct twm_error err;
	cr_assert_eq(twm_instantiate(r->mod, r->linker, NULL, &r->inst, &err), TW_ERR_OK);
	struct twm_extern ext;
	cr_assert_eq(twm_instance_export(r->inst, "loop", &ext), TW_ERR_OK);
	struct twm_value n = twm_val_i32(4);
	cr_assert_eq(twm_call_begin(r->inst, ext.u.func, &n, 1, &err), TW_ERR_OK);
	step(w, r);
}

static void run_case(struct run *r)
{
	char path[512];
	const char *dir = getenv("TW_GUESTS_DIR");
	snprintf(path, sizeof(path), "%s/twm_suspend.wasm", dir ? dir : "build/guests");
	FILE *f = fopen(path, "rb");
	cr_assert(f, "cannot open %s", path);
	uint8_t buf[4096];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct twm_error err;
	cr_assert_eq(twm_module_load(buf, len, NULL, &r->mod, &err), TW_ERR_OK, "%s", err.msg);
	static const uint8_t i[] = {TWM_I32};
	struct twm_functype ft = {1, 1, i, i};
	struct twm_host_func h = {host_later, r};
	cr_assert_eq(twm_linker_new(&r->linker), TW_ERR_OK);
	cr_assert_eq(twm_linker_define_func(r->linker, "env", "later", &ft, &h), TW_ERR_OK);
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
	twm_linker_free(r->linker);
	twm_module_unref(r->mod);
}

Test(host_suspend_worker, completion_resumes_call_on_its_worker)
{
	struct run *r = calloc(1, sizeof(*r));
	r->wait_ms = 1;
	run_case(r);
	cr_assert_eq(atomic_load(&r->done), 1);
	cr_assert_eq(atomic_load(&r->status), TW_ERR_OK);
	cr_assert_eq(atomic_load(&r->result), 10 * (0 + 1 + 2 + 3));
	cr_assert_eq(r->suspensions, 4);
	cr_assert_gt(r->fuel_stops, 0);
	cr_assert_geq(atomic_load(&r->pings), 4, "the worker served its inbox while waiting");
	free(r);
}

Test(host_suspend_worker, abandoned_call_is_freed_when_its_wait_completes)
{
	struct run *r = calloc(1, sizeof(*r));
	r->wait_ms = 20;
	r->abandon = true;
	run_case(r);
	cr_assert_eq(atomic_load(&r->done), 2);
	cr_assert_eq(r->suspensions, 1);
	free(r);
}
