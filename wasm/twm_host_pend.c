/*
 * twm_host_pend.c — host functions that suspend the call with their result pending.
 *
 * A host function whose work finishes elsewhere (a GPU, another thread) calls
 * twm_ctx_suspend() and returns TW_ERR_OK. twm_host_call() then records, on the instance whose
 * call is running (its stack holds the frames), which host function at which frame slots is
 * awaited and how deep the frames are, and returns TW_ERR_WASM_PENDING. The interpreter leaves
 * as for an error, but its exit keeps ip (at the call instruction), fp and the current
 * function in the instance; twm_call_run() restores the frame depth and reports
 * TW_ERR_WASM_PENDING with the call suspended. The embedder supplies the result
 * (twm_call_complete_host) or a trap (twm_call_trap_host) and runs the call again: the call
 * instruction runs again, and twm_host_call() hands over what was supplied instead of calling
 * the host. The same path serves an entry that is itself the host function.
 *
 * Why re-run the call instruction rather than resume after it: the interpreter needs no new
 * exit (a fuel stop already resumes by re-running the charging instruction), and an
 * interpreter rewritten around other dispatch keeps working as long as its error exit stores
 * ip, fp and the current function.
 *
 * A loop hook suspends the same way (TWM_HOOK_PENDING, pend_loop): the interpreter leaves with
 * ip at the LOOP_HOOK instruction, and twm_call_wake() only clears the wait, since the hook
 * itself finishes the work when LOOP_HOOK runs again.
 *
 * Invariants: pend_waiting and pend_ready are never both set; either implies the call is
 * active. Everything here runs on the instance's thread; `running` is per thread and saved and
 * restored by twm_call_run so that nested runs see their own instance.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wasm/twm_int.h"

static _Thread_local struct twm_instance *running;

struct twm_instance *twm_host_running(void)
{
	return running;
}

void twm_host_set_running(struct twm_instance *inst)
{
	running = inst;
}

void twm_host_pend_clear(struct twm_instance *inst)
{
	inst->no_suspend = false;
	inst->pend_waiting = false;
	inst->pend_ready = false;
	inst->pend_trap = false;
	inst->pend_loop = false;
	inst->pend_func = NULL;
	inst->pend_slots = NULL;
	inst->pend_depth = 0;
}

bool twm_host_pend_loop_ok(const struct twm_instance *sinst, const struct twm_instance *inst)
{
	/* The embedder wakes the instance it drives; a hook of another instance reached by a
	 * cross-instance call would keep its state where nobody looks for it. */
	return sinst == inst && running == sinst && !sinst->no_suspend && sinst->active &&
	       !sinst->pend_waiting && !sinst->pend_ready;
}

enum twm_hook_action twm_host_pend_loop(struct twm_instance *sinst, bool can_suspend)
{
	if (!can_suspend)
		return TWM_HOOK_RUN_LOOP;
	sinst->pend_waiting = true;
	sinst->pend_loop = true;
	sinst->pend_func = NULL;
	sinst->pend_slots = NULL;
	return TWM_HOOK_PENDING;
}

enum tw_err twm_call_wake(struct twm_instance *inst)
{
	if (!twm_call_pending(inst) || !inst->pend_loop)
		return TW_ERR_INVALID_ARG;
	/* Nothing to hand over: the LOOP_HOOK instruction runs again and calls the hook. */
	inst->pend_waiting = false;
	inst->pend_loop = false;
	return TW_ERR_OK;
}

bool twm_ctx_can_suspend(const struct twm_call_ctx *ctx)
{
	const struct twm_instance *run = running;
	/* Only a call the embedder drives with twm_call_run can be resumed. */
	return run && !run->no_suspend && run->active && !run->pend_waiting && !run->pend_ready &&
	       ctx->nresults <= TW_WASM_HOST_PEND_RESULTS_MAX;
}

enum tw_err twm_ctx_suspend(struct twm_call_ctx *ctx)
{
	if (!twm_ctx_can_suspend(ctx))
		return TW_ERR_UNSUPPORTED;
	ctx->suspend = true;
	return TW_ERR_OK;
}

bool twm_call_pending(const struct twm_instance *inst)
{
	return inst->active && inst->pend_waiting;
}

enum tw_err twm_call_complete_host(struct twm_instance *inst, const uint64_t *results,
				   uint32_t n)
{
	if (!twm_call_pending(inst))
		return TW_ERR_INVALID_ARG;
	if (inst->pend_loop)
		return n == 0 ? twm_call_wake(inst) : TW_ERR_INVALID_ARG;
	const struct twm_ftype *t = inst->pend_func->type;
	if (n != t->nresults || (n && !results))
		return TW_ERR_INVALID_ARG;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t ty = t->types[t->nparams + i];
		uint64_t v = results[i];
		/* the interpreter relies on 32-bit values having zero upper bits */
		if (ty == TWM_I32 || ty == TWM_F32)
			v &= 0xffffffffu;
		inst->pend_results[i] = v;
	}
	inst->pend_waiting = false;
	inst->pend_ready = true;
	inst->pend_trap = false;
	return TW_ERR_OK;
}

enum tw_err twm_call_trap_host(struct twm_instance *inst, const char *fmt, ...)
{
	if (!twm_call_pending(inst) || inst->pend_loop)
		return TW_ERR_INVALID_ARG;
	va_list ap;
	memset(&inst->pend_err, 0, sizeof(inst->pend_err));
	inst->pend_err.code = TW_ERR_WASM_TRAP;
	inst->pend_err.trap = TWM_TRAP_HOST;
	va_start(ap, fmt);
	vsnprintf(inst->pend_err.msg, sizeof(inst->pend_err.msg), fmt, ap);
	va_end(ap);
	inst->pend_waiting = false;
	inst->pend_ready = true;
	inst->pend_trap = true;
	return TW_ERR_OK;
}

void twm_host_pend_suspended(struct twm_instance *inst)
{
	inst->depth = inst->pend_depth;
	inst->suspended = true;
}

bool twm_host_pend_take(struct twm_instance *run, struct twm_func *f, uint64_t *slots,
			struct twm_error *err, enum tw_err *rc)
{
	if (!run || !run->pend_ready)
		return false;
	if (run->pend_func != f || run->pend_slots != slots) {
		/* The resumed call instruction must be the one that suspended. */
		twm_err_set(err, TW_ERR_INTERNAL, "resumed host call does not match");
		*rc = TW_ERR_INTERNAL;
		return true;
	}
	run->pend_ready = false;
	run->pend_func = NULL;
	run->pend_slots = NULL;
	if (run->pend_trap) {
		run->pend_trap = false;
		*err = run->pend_err;
		*rc = TW_ERR_WASM_TRAP;
		return true;
	}
	memcpy(slots, run->pend_results, (size_t)f->type->nresults * 8);
	*rc = TW_ERR_OK;
	return true;
}
