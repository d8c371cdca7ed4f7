/* twm_loop_pend_test.c — a loop hook that suspends the call (TWM_HOOK_PENDING) and finishes
 * the loop when woken (twm_call_wake): memory and exit values applied and the loop skipped, or
 * the loop left to the interpreter on wake; abort while pending; fuel stops before and after
 * the suspension; twm_invoke, where the hook cannot suspend. Guest:
 * tests/guests/twm_loop_pend.wat. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/twm.h"

enum on_wake { WAKE_DONE, WAKE_RUN_LOOP };

/* The test hook: suspends at the loop of "fill" (the one with 4 locals), then on the next
 * call at that site writes what the loop would have (WAKE_DONE) or declines (WAKE_RUN_LOOP). */
struct hook_env {
	enum on_wake on_wake;
	uint32_t calls;   /* calls at the loop of "fill" */
	uint32_t pends;   /* answered TWM_HOOK_PENDING */
	uint32_t refused; /* could not suspend: ran the loop synchronously */
	bool waiting;
	uint32_t func_index, loop_offset;
	uint64_t *locals;
};

static void finish_loop(const struct twm_loop_site *site)
{
	uint32_t n = (uint32_t)site->locals[0];
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v = i + 1;
		memcpy(site->mem + 4 * i, &v, 4);
	}
	site->locals[1] = n;
	site->locals[2] = (uint64_t)(uint32_t)((uint64_t)n * (n - 1) / 2);
}

static enum twm_hook_action hook(const struct twm_loop_site *site, void *arg)
{
	struct hook_env *e = arg;
	if (site->nlocals != 4)
		return TWM_HOOK_RUN_LOOP; /* $warm */
	e->calls++;
	if (e->waiting) {
		/* woken: the same site and frame as when it suspended */
		cr_assert_eq(site->func_index, e->func_index);
		cr_assert_eq(site->loop_offset, e->loop_offset);
		cr_assert_eq(site->locals, e->locals);
		cr_assert_eq(site->locals[1], 0u, "locals untouched while pending");
		e->waiting = false;
		if (e->on_wake == WAKE_RUN_LOOP)
			return TWM_HOOK_RUN_LOOP;
		finish_loop(site);
		return TWM_HOOK_LOOP_DONE;
	}
	if (!site->can_suspend) {
		e->refused++;
		finish_loop(site);
		return TWM_HOOK_LOOP_DONE;
	}
	e->pends++;
	e->waiting = true;
	e->func_index = site->func_index;
	e->loop_offset = site->loop_offset;
	e->locals = site->locals;
	return TWM_HOOK_PENDING;
}

static struct twm_module *load(void)
{
	char full[512];
	const char *dir = getenv("TW_GUESTS_DIR");
	snprintf(full, sizeof(full), "%s/twm_loop_pend.wasm", dir ? dir : "build/guests");
	FILE *f = fopen(full, "rb");
	cr_assert(f, "cannot open %s", full);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n);
	cr_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	struct twm_module *m;
	struct twm_error err;
	cr_assert_eq(twm_module_load(b, (size_t)n, NULL, &m, &err), TW_ERR_OK, "%s", err.msg);
	free(b);
	return m;
}

struct fx {
	struct hook_env env;
	struct twm_module *mod;
	struct twm_linker *linker;
	struct twm_instance *inst;
	struct twm_func *fill;
};

static void fx_setup(struct fx *fx, enum on_wake w)
{
	memset(fx, 0, sizeof(*fx));
	fx->env.on_wake = w;
	fx->mod = load();
	cr_assert_eq(twm_linker_new(&fx->linker), TW_ERR_OK);
	struct twm_error err;
	cr_assert_eq(twm_instantiate(fx->mod, fx->linker, NULL, &fx->inst, &err), TW_ERR_OK, "%s",
		     err.msg);
	struct twm_extern ext;
	cr_assert_eq(twm_instance_export(fx->inst, "fill", &ext), TW_ERR_OK);
	fx->fill = ext.u.func;
	struct twm_loop_hook h = {.fn = hook, .env = &fx->env};
	twm_instance_set_loop_hook(fx->inst, &h);
}

static void fx_teardown(struct fx *fx)
{
	twm_instance_free(fx->inst);
	twm_linker_free(fx->linker);
	twm_module_unref(fx->mod);
}

static uint32_t expected(uint32_t n)
{
	return n * (n - 1) / 2 + 1000 * n + n + 3 * n;
}

static void check_memory(struct fx *fx, uint32_t n)
{
	uint64_t sz;
	const uint8_t *mem = twm_memory_data(twm_instance_memory(fx->inst, 0), &sz);
	cr_assert_geq(sz, 4ull * n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t v;
		memcpy(&v, mem + 4 * i, 4);
		cr_assert_eq(v, i + 1, "mem[%u]", i);
	}
}

/* Run the begun call with slices of `fuel`, waking it at each suspension. */
static uint32_t drive(struct fx *fx, uint64_t fuel, uint32_t *nfuel, uint32_t *npend)
{
	struct twm_error err;
	for (int guard = 0; guard < 100000; guard++) {
		enum tw_err e = twm_call_run(fx->inst, fuel, &err);
		if (e == TW_ERR_WASM_FUEL) {
			(*nfuel)++;
			cr_assert(!twm_call_pending(fx->inst));
			continue;
		}
		if (e == TW_ERR_WASM_PENDING) {
			(*npend)++;
			cr_assert(twm_call_suspended(fx->inst));
			cr_assert(twm_call_pending(fx->inst));
			/* not woken: stays pending, the hook is not called again */
			uint32_t calls = fx->env.calls;
			cr_assert_eq(twm_call_run(fx->inst, fuel, &err), TW_ERR_WASM_PENDING);
			cr_assert_eq(fx->env.calls, calls);
			cr_assert_eq(twm_call_wake(fx->inst), TW_ERR_OK);
			cr_assert(!twm_call_pending(fx->inst));
			cr_assert_eq(twm_call_wake(fx->inst), TW_ERR_INVALID_ARG);
			continue;
		}
		cr_assert_eq(e, TW_ERR_OK, "%s", err.msg);
		struct twm_value r;
		cr_assert_eq(twm_call_results(fx->inst, &r, 1), 1u);
		return (uint32_t)r.bits;
	}
	cr_assert_fail("call did not finish");
	return 0;
}

Test(twm_loop_pend, pending_then_done_skips_the_loop)
{
	struct fx fx;
	fx_setup(&fx, WAKE_DONE);
	struct twm_value arg = twm_val_i32(50);
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, fx.fill, &arg, 1, NULL), TW_ERR_OK);
	cr_assert_eq(drive(&fx, 0, &nfuel, &npend), expected(50));
	cr_assert_eq(npend, 1u);
	cr_assert_eq(fx.env.pends, 1u);
	cr_assert_eq(fx.env.calls, 2u, "suspended once, finished on wake");
	check_memory(&fx, 50);
	/* the instance is free: another call suspends again */
	cr_assert_eq(twm_call_begin(fx.inst, fx.fill, &arg, 1, NULL), TW_ERR_OK);
	cr_assert_eq(drive(&fx, 0, &nfuel, &npend), expected(50));
	cr_assert_eq(npend, 2u);
	fx_teardown(&fx);
}

Test(twm_loop_pend, pending_then_run_loop_interprets_it)
{
	struct fx fx;
	fx_setup(&fx, WAKE_RUN_LOOP);
	struct twm_value arg = twm_val_i32(37);
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, fx.fill, &arg, 1, NULL), TW_ERR_OK);
	cr_assert_eq(drive(&fx, 0, &nfuel, &npend), expected(37));
	cr_assert_eq(npend, 1u);
	cr_assert_eq(fx.env.calls, 2u, "the interpreter ran the loop: no further entries");
	check_memory(&fx, 37);
	fx_teardown(&fx);
}

Test(twm_loop_pend, fuel_slices_before_and_after_the_suspension)
{
	for (int w = WAKE_DONE; w <= WAKE_RUN_LOOP; w++) {
		struct fx fx;
		fx_setup(&fx, (enum on_wake)w);
		struct twm_value arg = twm_val_i32(200);
		uint32_t nfuel = 0, npend = 0;
		cr_assert_eq(twm_call_begin(fx.inst, fx.fill, &arg, 1, NULL), TW_ERR_OK);
		cr_assert_eq(drive(&fx, 7, &nfuel, &npend), expected(200));
		cr_assert_eq(npend, 1u);
		cr_assert_gt(nfuel, 20u, "the warm loop and the rest ran in slices");
		check_memory(&fx, 200);
		fx_teardown(&fx);
	}
}

Test(twm_loop_pend, abort_while_pending)
{
	struct fx fx;
	fx_setup(&fx, WAKE_DONE);
	struct twm_value arg = twm_val_i32(10);
	struct twm_error err;
	cr_assert_eq(twm_call_begin(fx.inst, fx.fill, &arg, 1, NULL), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	/* a loop wait takes no results and no trap */
	uint64_t one = 1;
	cr_assert_eq(twm_call_complete_host(fx.inst, &one, 1), TW_ERR_INVALID_ARG);
	cr_assert_eq(twm_call_trap_host(fx.inst, "no"), TW_ERR_INVALID_ARG);
	cr_assert(twm_call_pending(fx.inst));
	twm_call_abort(fx.inst);
	cr_assert(!twm_call_pending(fx.inst));
	cr_assert(!twm_call_suspended(fx.inst));
	cr_assert_eq(twm_call_wake(fx.inst), TW_ERR_INVALID_ARG);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_INVALID_ARG);
	/* the hook forgets its stale wait; a new call suspends and finishes (complete_host with
	 * no results wakes a loop wait too) */
	fx.env.waiting = false;
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, fx.fill, &arg, 1, NULL), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert_eq(twm_call_complete_host(fx.inst, NULL, 0), TW_ERR_OK);
	cr_assert_eq(drive(&fx, 0, &nfuel, &npend), expected(10));
	check_memory(&fx, 10);
	fx_teardown(&fx);
}

Test(twm_loop_pend, invoke_cannot_suspend)
{
	struct fx fx;
	fx_setup(&fx, WAKE_DONE);
	struct twm_value arg = twm_val_i32(20), res;
	cr_assert_eq(twm_invoke(fx.inst, fx.fill, &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, expected(20));
	cr_assert_eq(fx.env.refused, 1u);
	cr_assert_eq(fx.env.pends, 0u);
	fx_teardown(&fx);
}

/* A hook answering PENDING where it may not is taken as RUN_LOOP. */
static enum twm_hook_action always_pending(const struct twm_loop_site *site, void *arg)
{
	(void)site;
	(*(uint32_t *)arg)++;
	return TWM_HOOK_PENDING;
}

Test(twm_loop_pend, pending_without_can_suspend_runs_the_loop)
{
	struct fx fx;
	fx_setup(&fx, WAKE_DONE);
	uint32_t n = 0;
	struct twm_loop_hook h = {.fn = always_pending, .env = &n};
	twm_instance_set_loop_hook(fx.inst, &h);
	struct twm_value arg = twm_val_i32(30), res;
	cr_assert_eq(twm_invoke(fx.inst, fx.fill, &arg, 1, &res, 1, NULL), TW_ERR_OK);
	cr_assert_eq(res.bits, expected(30));
	cr_assert_eq(n, 2u, "both loops asked, both interpreted");
	check_memory(&fx, 30);
	fx_teardown(&fx);
}
