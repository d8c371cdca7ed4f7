/*
 * jit_offload.h — the offload dispatch: the loop hook that runs a matched loop (see
 * jit_analyze.h) as its blueprint, on the GPU or on the host executor, and leaves memory and
 * locals exactly as the interpreter would have.
 *
 * At each entry of a matched loop the hook computes the trip count from the live locals, checks
 * the whole loop's accesses against memory (a loop that would trap is left to the interpreter,
 * which traps exactly where wasm says), refuses overlaps of output and inputs other than the
 * exact same elements, decides integer-division traps before running, applies the cost
 * threshold, runs the blueprint, writes the exit values of every local the loop changes and
 * continues after the loop. Anything else falls back to the interpreter, counted by reason.
 *
 * Modes (--offload): off (no hook), host (the host executor), gpu (the GPU wherever legal;
 * without a GPU every matched loop falls back with reason no_gpu), auto (the GPU when present
 * and the cost model says it pays; without a GPU it behaves exactly like off and counts nothing).
 *
 * A struct jit_offload and the plan it borrows may serve instances on every thread at once:
 * its only mutable state is relaxed atomic counters (and the GPU kernel cache, which locks).
 */
#ifndef TW_JIT_JIT_OFFLOAD_H
#define TW_JIT_JIT_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "jit/jit_analyze.h"

struct twm_instance;
struct twm_module;
struct twm_cli_ext;

enum jit_offload_mode {
	JIT_OFFLOAD_OFF = 0,
	JIT_OFFLOAD_AUTO,
	JIT_OFFLOAD_GPU,
	JIT_OFFLOAD_HOST,
};

/* "off", "auto", "gpu", "host" -> mode. Returns false on anything else. */
bool jit_offload_mode_parse(const char *s, enum jit_offload_mode *out);
const char *jit_offload_mode_str(enum jit_offload_mode m);

/* X(NAME, "label"): why a matched loop was interpreted anyway. */
#define JIT_FALLBACK_LIST(X)                \
	X(NO_GPU, "no_gpu")                 \
	X(BELOW_THRESHOLD, "below_threshold") \
	X(TRIP_COUNT, "trip_count")         \
	X(OUT_OF_BOUNDS, "out_of_bounds")   \
	X(OVERLAP, "overlap")               \
	X(MAY_TRAP, "may_trap")             \
	X(NO_PERMIT, "no_permit")           \
	X(QUOTA, "quota")                   \
	X(NAN_RESULT, "nan_result")         \
	X(NO_MEMORY, "no_memory")           \
	X(LAUNCH_ERROR, "launch_error")

enum jit_fallback {
#define JIT_FB_ENUM(name, str) JIT_FB_##name,
	JIT_FALLBACK_LIST(JIT_FB_ENUM)
#undef JIT_FB_ENUM
	JIT_FB__COUNT
};

const char *jit_fallback_str(enum jit_fallback f);

struct jit_offload_stats {
	uint64_t entries;  /* entries of matched loops */
	uint64_t success;  /* of which run as a blueprint */
	uint64_t elements; /* elements those runs covered */
	uint64_t fallback[JIT_FB__COUNT];
};

struct jit_offload_config {
	enum jit_offload_mode mode;
	uint64_t min_elements; /* 0 = the mode's default (host: TW_OFFLOAD_HOST_MIN_ELEMENTS;
				* auto: the cost model; gpu: none) */
	bool quiet_probe;      /* probe the GPU without its INFO log line (`run`: stderr
				* belongs to the guest) */
	uint64_t tenant;       /* whose GPU memory quota a GPU run is charged to */
};

struct jit_offload;

/* Dispatch state for instances of the module `plan` was built from (plan borrowed; must
 * outlive it). Errors: TW_ERR_NOMEM. */
enum tw_err jit_offload_new(const struct jit_plan *plan, const struct jit_offload_config *cfg,
			    struct jit_offload **out);
void jit_offload_free(struct jit_offload *o);

/* The mode `mode` comes to on this machine: auto without a GPU is off (probes the driver once;
 * quiet: without its INFO log line). Lets callers skip the analysis when nothing would use it. */
enum jit_offload_mode jit_offload_mode_resolve(enum jit_offload_mode mode, bool quiet);

/* The mode in effect (auto without a GPU is off). */
enum jit_offload_mode jit_offload_effective_mode(const struct jit_offload *o);

/* Install the loop hook on `inst` (an instance of the plan's module; borrowed; `o` must
 * outlive its use) when the effective mode is not off and the plan matched some loop, else
 * clear it. Instance's thread. */
void jit_offload_attach(struct jit_offload *o, struct twm_instance *inst);

/*
 * Asynchronous GPU runs. An embedder that drives calls with twm_call_run and can resume them
 * (the HTTP function API) attaches with a route (gpu/gpu_abi.h: the completion queue and a done
 * callback that reaches the instance's thread). Then, in gpu/auto mode with a GPU, a loop that
 * goes to the GPU inside a call that can suspend is launched asynchronously (copies in, kernel
 * and copy out on the instance's stream into a staging buffer; its event submitted to the
 * completion queue) and the hook answers TWM_HOOK_PENDING: twm_call_run returns
 * TW_ERR_WASM_PENDING and the thread is free. When `done` has brought the wait's result to the
 * instance's thread, jit_offload_resume() releases the launch (permit, quota, device arrays) and
 * wakes the call; the next twm_call_run re-enters the loop, whose hook applies the run (the NaN
 * rule of the synchronous path holds) or, on any failure, lets the interpreter run the loop
 * (counted as a fallback). Without a GPU, outside gpu/auto, or with nothing matched this is
 * jit_offload_attach and *out is NULL; twm_invoke and the CLI stay synchronous.
 * The struct jit_offload_inst must outlive the instance's calls and any `done` in flight
 * (jit_offload_waiting() false, or done has run): free it with jit_offload_inst_free() after
 * that. Instance's thread. Errors: TW_ERR_NOMEM (nothing attached).
 */
struct jit_offload_inst;
struct gpu_route;
enum tw_err jit_offload_attach_routed(struct jit_offload *o, struct twm_instance *inst,
				      const struct gpu_route *route,
				      struct jit_offload_inst **out);
/* True while a run launched for the instance awaits its `done` (NULL: false). */
bool jit_offload_waiting(const struct jit_offload_inst *pi);
/* On the instance's thread, with the result `done` was given: finish the wait and wake the
 * call (twm_call_wake). TW_ERR_INVALID_ARG when nothing was waiting, or when the call that
 * waited is no longer pending (aborted): the run is then dropped, never applied elsewhere. */
enum tw_err jit_offload_resume(struct jit_offload_inst *pi, struct twm_instance *inst,
			       enum tw_err waited);
/* Free (NULL is fine). Only when no `done` is in flight for it. */
void jit_offload_inst_free(struct jit_offload_inst *pi);

void jit_offload_get_stats(const struct jit_offload *o, struct jit_offload_stats *out);

/* One line: "offload: mode=host loops=L matched=M entries=E success=S elements=N fallback=..." */
void jit_offload_print_stats(const struct jit_offload *o, FILE *out);

/* The `tensor-wasm run` extension that analyses the module and attaches the hook according to
 * --offload, --offload-min-elements and --offload-report. Static; never NULL. */
const struct twm_cli_ext *jit_offload_cli_ext(void);

#endif
