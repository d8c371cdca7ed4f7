/*
 * jit_analyze.h — loop analysis: which loops of a module are data-parallel maps or integer
 * reductions over linear memory, as blueprints plus the binding that ties a blueprint to the
 * loop's locals, or why a loop is not one.
 *
 * The analysis reads the validated bytecode of each defined function (twm_module_func_code),
 * never the interpreter's internal code. For every `loop` it symbolically executes one iteration
 * over the operand stack: values become expressions over the locals' values at the start of the
 * iteration, loads, constants and pure operations. It then classifies the locals the body writes
 * (induction: new = old + constant; reduction: new = old (+) f; temporary: a value recomputed
 * from scratch each iteration), checks that every address is affine in the inductions and
 * loop-invariant locals, that the stores (or the reduction leaves) are the N lanes of an unrolled
 * element-wise expression, and that the only exit is a final `br_if 0` on an induction compare.
 * See docs/offload.md for the shapes handled and every rejection reason.
 *
 * A plan is immutable once built and may be shared by every thread; dispatch looks a loop up by
 * (function index, loop offset) with a binary search. Analysis of untrusted modules is bounded
 * (TW_JIT_LOOP_NODES_MAX values per iteration, TW_JIT_LOOPS_MAX loops) and never crashes.
 */
#ifndef TW_JIT_JIT_ANALYZE_H
#define TW_JIT_JIT_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "jit/jit_ir.h"

struct twm_module;

/* X(NAME, "text"): why a loop is not offloaded. The text is stable (tests and `jit analyze`). */
#define JIT_REJECT_LIST(X)                                                                \
	X(NONE, "matched")                                                                \
	X(LOOP_TYPE, "loop has parameters or results")                                    \
	X(CONTROL_FLOW, "control flow inside the loop body")                              \
	X(EXIT, "no counted exit (the body must end in br_if 0 on an induction compare)") \
	X(DATA_EXIT, "data-dependent exit")                                               \
	X(CALL, "call inside the loop")                                                   \
	X(GLOBAL, "global access inside the loop")                                        \
	X(MEMORY_GROW, "memory.size/grow or bulk memory inside the loop")                 \
	X(NARROW, "8/16-bit load or store")                                               \
	X(UNSUPPORTED_OP, "operation not representable in a blueprint")                   \
	X(TOO_COMPLEX, "loop body too large to analyse")                                  \
	X(NO_OUTPUT, "no store and no reduction")                                         \
	X(STORES, "stores that are not the lanes of one element-wise output")             \
	X(ADDRESS, "address not affine in the induction variables")                       \
	X(STRIDE, "access stride differs from the element size")                          \
	X(CARRIED, "loop-carried dependence through a local")                             \
	X(REDUCTION, "reduction that is not an integer add/and/or/xor into one local")    \
	X(LANES, "unrolled lanes that do not compute the same expression")                \
	X(STRAY_LOAD, "load or division outside the element expression")                  \
	X(LIMITS, "more inputs, parameters or temporaries than a blueprint holds")        \
	X(INVALID, "blueprint rejected by validation")

enum jit_reject {
#define JIT_REJECT_ENUM(name, str) JIT_REJ_##name,
	JIT_REJECT_LIST(JIT_REJECT_ENUM)
#undef JIT_REJECT_ENUM
	JIT_REJ__COUNT
};

/* The stable text of a reason ("call inside the loop"); "?" outside the enum. */
const char *jit_reject_str(enum jit_reject r);

/* An affine form c + sum(coef[k] * local[k]) over `width`-bit integers (32 or 64), wrapping. */
#define JIT_AFF_TERMS 4
struct jit_aff {
	uint64_t c;
	uint8_t width;
	uint8_t nterms;
	uint32_t local[JIT_AFF_TERMS];
	uint64_t coef[JIT_AFF_TERMS];
};

/* Evaluate `a` on raw local words (i32 locals in their low 32 bits). */
uint64_t jit_aff_eval(const struct jit_aff *a, const uint64_t *locals);

/* An array the blueprint reads or writes: element e of the loop is at linear-memory address
 * (jit_aff_eval(addr) at loop entry) + offset + e * esize, as long as the 32-bit address part
 * does not wrap (dispatch checks it). esize 0 marks an input the blueprint never reads (the IR
 * wants at least one; `out[i] = f(i)` and some temporaries have none). */
struct jit_access {
	struct jit_aff addr;
	uint32_t offset;
	uint8_t esize;
};

/* A local the loop writes that is recomputed from scratch each iteration: its exit value is its
 * expression evaluated in the last iteration, by a one-element blueprint whose parameters are
 * locals (inductions at their last-iteration values) and whose inputs are loads. */
#define JIT_LOOP_TEMPS_MAX 6
struct jit_loop_temp {
	uint32_t local;
	struct jit_blueprint bp;
	uint32_t param_local[JIT_PARAMS_MAX];
	struct jit_access in[JIT_INPUTS_MAX];
};

#define JIT_LOOP_INDUCTIONS_MAX 8

/* How a counted exit is decided: the loop continues while cmp(x, bound) holds after each
 * iteration, where x advances by `delta` each iteration. */
enum jit_exit_cmp { JIT_EXIT_NE = 1, JIT_EXIT_LT, JIT_EXIT_LE, JIT_EXIT_GT, JIT_EXIT_GE };

/* The binding of a matched loop. */
struct jit_loop_match {
	struct jit_blueprint bp;
	uint64_t key;  /* jit_blueprint_key(bp, "sm_80") for reports and the cache */
	uint8_t lanes; /* elements per iteration (the unroll factor) */
	uint8_t nind;
	struct {
		uint32_t local;
		uint64_t step;
		uint8_t width;
	} ind[JIT_LOOP_INDUCTIONS_MAX];
	/* exit */
	uint8_t exit_cmp;      /* enum jit_exit_cmp */
	bool exit_unsigned;
	struct jit_aff exit_x; /* the varying side, at iteration start values */
	uint64_t exit_delta;   /* its change per iteration (width bits, two's complement) */
	struct jit_aff exit_bound;
	/* data */
	struct jit_access in[JIT_INPUTS_MAX];
	struct jit_access out;   /* maps */
	uint32_t param_local[JIT_PARAMS_MAX];
	uint32_t reduce_local;   /* reductions: the accumulator */
	uint8_t ntemps;
	struct jit_loop_temp temps[JIT_LOOP_TEMPS_MAX];
	uint32_t body_ops;       /* wasm instructions per iteration (cost model) */
};

/* One loop of the module. */
struct jit_loop {
	uint32_t func_index;
	uint32_t loop_offset;    /* of the `loop` opcode in twm_module_func_code() */
	enum jit_reject reject;  /* JIT_REJ_NONE when matched */
	char detail[64];         /* more about the reason (an opcode, a validation message) */
	struct jit_loop_match *match; /* non-NULL when matched */
};

struct jit_plan;

/*
 * Analyse every loop of every defined function of `m` (borrowed, only during the call). On
 * success *out holds the plan. Errors: TW_ERR_NOMEM. Malformed bytecode cannot reach here (the
 * module was validated); a loop the analysis cannot follow is simply rejected. Any thread.
 */
enum tw_err jit_analyze_module(const struct twm_module *m, struct jit_plan **out);

/* Analyse one function body (code as twm_module_func_code gives it, local types as
 * twm_module_func_locals gives them) into `out` (room for `cap` loops); returns the number of
 * loops found (may exceed cap: only the first cap are written). For tests and fuzzers. */
size_t jit_analyze_function(uint32_t func_index, const uint8_t *code, size_t len,
			    const uint8_t *local_types, uint32_t nlocals, struct jit_loop *out,
			    size_t cap);

/* Free what jit_analyze_function wrote into loops[0..n). */
void jit_loops_release(struct jit_loop *loops, size_t n);

void jit_plan_free(struct jit_plan *p);

/* The module the plan was built from (identity only: loops of other modules reach a hook when a
 * guest calls into another instance, and must not be looked up in this plan). */
const struct twm_module *jit_plan_module(const struct jit_plan *p);

/* Loops in the plan, in (function, offset) order, and loop i. */
size_t jit_plan_count(const struct jit_plan *p);
const struct jit_loop *jit_plan_loop(const struct jit_plan *p, size_t i);
size_t jit_plan_matched(const struct jit_plan *p);
/* A flag per loop of the plan's module, by the loop's number (twm_module_loop_number): 1 for the
 * matched ones, the only loops a hook needs to see (struct twm_loop_hook's wants). */
const uint8_t *jit_plan_wants(const struct jit_plan *p);

/* The matched loop at (func_index, loop_offset), or NULL. O(log loops); any thread. */
const struct jit_loop_match *jit_plan_find(const struct jit_plan *p, uint32_t func_index,
					   uint32_t loop_offset);

#endif
