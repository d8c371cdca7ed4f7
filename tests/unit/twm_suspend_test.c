/* twm_suspend_test.c — host functions that suspend the call with their result pending
 * (twm_ctx_suspend, twm_call_complete_host, twm_call_trap_host): several suspensions in one
 * call, suspensions deep in wasm frames and across instances, mixed with fuel slices, abort
 * while pending, a trap supplied instead of a result, and the synchronous fallback under
 * twm_invoke. Guests: tests/guests/twm_suspend.wat and twm_suspend_outer.wat. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/twm.h"

/* What the host function saw; the test supplies results from it. */
struct later_env {
	uint32_t calls;
	uint32_t last_arg;
	uint32_t refused; /* twm_ctx_suspend said no: answered synchronously */
};

static enum tw_err host_later(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			      void *env)
{
	struct later_env *e = env;
	e->calls++;
	e->last_arg = (uint32_t)args[0];
	if (twm_ctx_suspend(ctx) == TW_ERR_OK) {
		results[0] = 0xdeadbeef; /* must be ignored */
		return TW_ERR_OK;
	}
	e->refused++;
	results[0] = (uint32_t)args[0] * 10;
	return TW_ERR_OK;
}

static uint8_t *read_guest(const char *name, size_t *len)
{
	char full[512];
	const char *dir = getenv("TW_GUESTS_DIR");
	snprintf(full, sizeof(full), "%s/%s", dir ? dir : "build/guests", name);
	FILE *f = fopen(full, "rb");
	cr_assert(f, "cannot open %s", full);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n);
	cr_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static struct twm_module *load(const char *name)
{
	size_t len;
	uint8_t *bytes = read_guest(name, &len);
	struct twm_module *m;
	struct twm_error err;
	cr_assert_eq(twm_module_load(bytes, len, NULL, &m, &err), TW_ERR_OK, "%s", err.msg);
	free(bytes);
	return m;
}

struct fx {
	struct later_env env;
	struct twm_module *mod;
	struct twm_linker *linker;
	struct twm_instance *inst;
};

static void fx_setup(struct fx *fx)
{
	memset(fx, 0, sizeof(*fx));
	static const uint8_t i[] = {TWM_I32};
	struct twm_functype ft = {1, 1, i, i};
	struct twm_host_func h = {host_later, &fx->env};
	fx->mod = load("twm_suspend.wasm");
	cr_assert_eq(twm_linker_new(&fx->linker), TW_ERR_OK);
	cr_assert_eq(twm_linker_define_func(fx->linker, "env", "later", &ft, &h), TW_ERR_OK);
	struct twm_error err;
	cr_assert_eq(twm_instantiate(fx->mod, fx->linker, NULL, &fx->inst, &err), TW_ERR_OK, "%s",
		     err.msg);
}

static void fx_teardown(struct fx *fx)
{
	twm_instance_free(fx->inst);
	twm_linker_free(fx->linker);
	twm_module_unref(fx->mod);
}

static struct twm_func *func(struct twm_instance *inst, const char *name)
{
	struct twm_extern ext;
	cr_assert_eq(twm_instance_export(inst, name, &ext), TW_ERR_OK, "no export %s", name);
	return ext.u.func;
}

/* Run `inst`'s begun call to its end with slices of `fuel`, answering each suspension with
 * 10 * the host's argument. Counts fuel stops and suspensions; returns the final status. */
static enum tw_err drive(struct fx *fx, struct twm_instance *inst, uint64_t fuel,
			 uint32_t *nfuel, uint32_t *npend, struct twm_error *err)
{
	for (int guard = 0; guard < 100000; guard++) {
		enum tw_err e = twm_call_run(inst, fuel, err);
		if (e == TW_ERR_WASM_FUEL) {
			(*nfuel)++;
			cr_assert(twm_call_suspended(inst));
			cr_assert(!twm_call_pending(inst));
			continue;
		}
		if (e != TW_ERR_WASM_PENDING)
			return e;
		(*npend)++;
		cr_assert(twm_call_suspended(inst));
		cr_assert(twm_call_pending(inst));
		uint64_t r = (uint64_t)fx->env.last_arg * 10;
		cr_assert_eq(twm_call_complete_host(inst, &r, 1), TW_ERR_OK);
		cr_assert(!twm_call_pending(inst));
	}
	cr_assert_fail("call never ended");
	return TW_ERR_INTERNAL;
}

static uint32_t result_i32(struct twm_instance *inst)
{
	struct twm_value v;
	cr_assert_eq(twm_call_results(inst, &v, 1), 1);
	return (uint32_t)v.bits;
}

Test(twm_suspend, two_suspensions_results_supplied_later)
{
	struct fx fx;
	fx_setup(&fx);
	struct twm_value args[2] = {twm_val_i32(3), twm_val_i32(4)};
	struct twm_error err;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "twice"), args, 2, &err), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert_eq(err.code, TW_ERR_WASM_PENDING);
	cr_assert_eq(fx.env.calls, 1);
	cr_assert_eq(fx.env.last_arg, 3);
	/* Running again before the result is supplied changes nothing. */
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert_eq(fx.env.calls, 1);
	/* Wrong result count is refused and leaves the call pending. */
	uint64_t two[2] = {1, 2};
	cr_assert_eq(twm_call_complete_host(fx.inst, two, 2), TW_ERR_INVALID_ARG);
	cr_assert(twm_call_pending(fx.inst));
	/* A call cannot begin while one is pending. */
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "twice"), args, 2, &err), TW_ERR_AGAIN);
	/* Upper bits of an i32 result are dropped. */
	uint64_t r = 0xffffffff00000000ull | 30;
	cr_assert_eq(twm_call_complete_host(fx.inst, &r, 1), TW_ERR_OK);
	cr_assert_eq(twm_call_complete_host(fx.inst, &r, 1), TW_ERR_INVALID_ARG);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert_eq(fx.env.calls, 2);
	cr_assert_eq(fx.env.last_arg, 4);
	r = 40;
	cr_assert_eq(twm_call_complete_host(fx.inst, &r, 1), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(result_i32(fx.inst), 70);
	cr_assert(!twm_call_suspended(fx.inst));
	cr_assert_eq(twm_call_complete_host(fx.inst, &r, 1), TW_ERR_INVALID_ARG);
	fx_teardown(&fx);
}

Test(twm_suspend, suspension_deep_in_wasm_frames)
{
	struct fx fx;
	fx_setup(&fx);
	struct twm_value a = twm_val_i32(20);
	struct twm_error err;
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "nest"), &a, 1, &err), TW_ERR_OK);
	cr_assert_eq(drive(&fx, fx.inst, 0, &nfuel, &npend, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(npend, 1);
	cr_assert_eq(fx.env.last_arg, 100);
	cr_assert_eq(result_i32(fx.inst), 1000 + 20);
	fx_teardown(&fx);
}

Test(twm_suspend, suspension_through_call_indirect)
{
	struct fx fx;
	fx_setup(&fx);
	struct twm_value a = twm_val_i32(6);
	struct twm_error err;
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "indirect"), &a, 1, &err), TW_ERR_OK);
	cr_assert_eq(drive(&fx, fx.inst, 1, &nfuel, &npend, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(npend, 1);
	cr_assert_eq(fx.env.calls, 1);
	cr_assert_eq(result_i32(fx.inst), 61);
	fx_teardown(&fx);
}

Test(twm_suspend, suspension_across_instances)
{
	struct fx fx;
	fx_setup(&fx);
	cr_assert_eq(twm_linker_register(fx.linker, "s", fx.inst), TW_ERR_OK);
	struct twm_module *om = load("twm_suspend_outer.wasm");
	struct twm_instance *outer;
	struct twm_error err;
	cr_assert_eq(twm_instantiate(om, fx.linker, NULL, &outer, &err), TW_ERR_OK, "%s", err.msg);
	struct twm_value a = twm_val_i32(5);
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(outer, func(outer, "outer"), &a, 1, &err), TW_ERR_OK);
	/* The pending result belongs to the call on `outer`, whose stack holds the frames. */
	cr_assert_eq(twm_call_run(outer, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert(twm_call_pending(outer));
	cr_assert(!twm_call_pending(fx.inst));
	uint64_t r = 7;
	cr_assert_eq(twm_call_complete_host(outer, &r, 1), TW_ERR_OK);
	cr_assert_eq(drive(&fx, outer, 3, &nfuel, &npend, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(result_i32(outer), (7 + 5) * 2);
	twm_instance_free(outer);
	twm_module_unref(om);
	fx_teardown(&fx);
}

Test(twm_suspend, fuel_slices_mixed_with_suspensions)
{
	struct fx fx;
	fx_setup(&fx);
	struct twm_value a = twm_val_i32(12);
	struct twm_error err;
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "loop"), &a, 1, &err), TW_ERR_OK);
	cr_assert_eq(drive(&fx, fx.inst, 7, &nfuel, &npend, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(npend, 12);
	cr_assert_gt(nfuel, 12, "fuel stops: %u", nfuel);
	cr_assert_eq(result_i32(fx.inst), 10 * (12 * 11 / 2));
	/* The same call without slices gives the same answer. */
	nfuel = npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "loop"), &a, 1, &err), TW_ERR_OK);
	cr_assert_eq(drive(&fx, fx.inst, 0, &nfuel, &npend, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(nfuel, 0);
	cr_assert_eq(npend, 12);
	cr_assert_eq(result_i32(fx.inst), 660);
	fx_teardown(&fx);
}

Test(twm_suspend, abort_while_pending)
{
	struct fx fx;
	fx_setup(&fx);
	struct twm_value args[2] = {twm_val_i32(1), twm_val_i32(2)};
	struct twm_error err;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "twice"), args, 2, &err), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	twm_call_abort(fx.inst);
	cr_assert(!twm_call_pending(fx.inst));
	cr_assert(!twm_call_suspended(fx.inst));
	uint64_t r = 1;
	cr_assert_eq(twm_call_complete_host(fx.inst, &r, 1), TW_ERR_INVALID_ARG);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_INVALID_ARG);
	/* The instance serves the next call normally. */
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "twice"), args, 2, &err), TW_ERR_OK);
	cr_assert_eq(drive(&fx, fx.inst, 0, &nfuel, &npend, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(npend, 2);
	cr_assert_eq(result_i32(fx.inst), 30);
	fx_teardown(&fx);
}

Test(twm_suspend, trap_supplied_instead_of_result)
{
	struct fx fx;
	fx_setup(&fx);
	struct twm_value a = twm_val_i32(8);
	struct twm_error err;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "nest"), &a, 1, &err), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert_eq(twm_call_trap_host(fx.inst, "device failed: %d", -5), TW_ERR_OK);
	cr_assert(!twm_call_pending(fx.inst));
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_TRAP);
	cr_assert_eq(err.trap, TWM_TRAP_HOST);
	cr_assert_str_eq(err.msg, "device failed: -5");
	cr_assert(!twm_call_suspended(fx.inst));
	/* Then a clean call. */
	uint32_t nfuel = 0, npend = 0;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "nest"), &a, 1, &err), TW_ERR_OK);
	cr_assert_eq(drive(&fx, fx.inst, 0, &nfuel, &npend, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(result_i32(fx.inst), 1008);
	fx_teardown(&fx);
}

Test(twm_suspend, host_function_as_entry)
{
	struct fx fx;
	fx_setup(&fx);
	struct twm_value a = twm_val_i32(9);
	struct twm_error err;
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "later_direct"), &a, 1, &err),
		     TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert(twm_call_suspended(fx.inst));
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert_eq(fx.env.calls, 1);
	uint64_t r = 90;
	cr_assert_eq(twm_call_complete_host(fx.inst, &r, 1), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(result_i32(fx.inst), 90);
	cr_assert_eq(fx.env.calls, 1);
	fx_teardown(&fx);
}

Test(twm_suspend, invoke_cannot_suspend_so_host_answers_at_once)
{
	struct fx fx;
	fx_setup(&fx);
	struct twm_value args[2] = {twm_val_i32(3), twm_val_i32(4)}, res;
	struct twm_error err;
	cr_assert_eq(twm_invoke(fx.inst, func(fx.inst, "twice"), args, 2, &res, 1, &err),
		     TW_ERR_OK, "%s", err.msg);
	cr_assert_eq(fx.env.refused, 2);
	cr_assert_eq((uint32_t)res.bits, 70);
	/* A later suspendable call may suspend again. */
	cr_assert_eq(twm_call_begin(fx.inst, func(fx.inst, "twice"), args, 2, &err), TW_ERR_OK);
	cr_assert_eq(twm_call_run(fx.inst, 0, &err), TW_ERR_WASM_PENDING);
	cr_assert_eq(fx.env.refused, 2);
	twm_call_abort(fx.inst);
	fx_teardown(&fx);
}
