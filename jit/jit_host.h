/*
 * jit_host.h — the host reference executor: runs any valid blueprint in plain C with wasm's
 * semantics (and the IR's canonical-NaN rule, see jit_ir.h).
 *
 * It is the ground truth that GPU results are compared with bit for bit, and it is usable as the
 * "host" offload mode. Single-threaded, no allocation, O(n * nodes).
 */
#ifndef TW_JIT_HOST_H
#define TW_JIT_HOST_H

#include <stdint.h>

#include "core/err.h"
#include "jit/jit_ir.h"

/* Arguments of one run. Arrays are borrowed for the call and may be unaligned (they can point
 * into wasm linear memory); element size is given by the blueprint's types. */
struct jit_args {
	const void *inputs[JIT_INPUTS_MAX]; /* n elements each */
	void *out;                          /* n elements (map) or 1 element (reduce) */
	uint64_t n;
	union jit_value params[JIT_PARAMS_MAX];
	union jit_value reduce_init;        /* a reduction starts from this value */
};

/*
 * Run `bp` (which must be valid) over args. Returns TW_ERR_WASM_TRAP, with nothing written, when
 * jit_blueprint_check_launch says an element may trap; TW_ERR_OK otherwise.
 */
enum tw_err jit_host_run(const struct jit_blueprint *bp, const struct jit_args *args);

/*
 * The same results as jit_host_run, bit for bit, computed a block of elements at a time: each
 * node fills a column of 256 values before the next node runs, so the dispatch on the node's
 * operation is paid once per block and the common arithmetic loops vectorise. This is the
 * `--offload=host` executor. Uses a per-thread scratch area (128 KiB); no allocation.
 */
enum tw_err jit_host_run_blocks(const struct jit_blueprint *bp, const struct jit_args *args);

/* wasm's fmin/fmax on bit patterns, with the canonical NaN (shared with tests). */
float jit_wasm_fminf(float a, float b);
float jit_wasm_fmaxf(float a, float b);
double jit_wasm_fmin(double a, double b);
double jit_wasm_fmax(double a, double b);

#endif
