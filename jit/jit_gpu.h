/*
 * jit_gpu.h — running blueprints on the GPU: the kernel for a blueprint (through the cache),
 * a launch over device arrays, and a synchronous host-to-host run used by the self-test and,
 * later, by the offload dispatch.
 *
 * The launch shape is a grid-stride one: 256 threads per block and at most 16 blocks per SM
 * (enough to fill the device; the loop covers any n). Reductions require the output element
 * to hold the seed before the launch; jit_gpu_run() writes it.
 *
 * All functions need the GPU context bound on the calling thread (they bind it) and return
 * TW_ERR_GPU_UNAVAILABLE without a GPU.
 */
#ifndef TW_JIT_GPU_H
#define TW_JIT_GPU_H

#include <stdint.h>

#include "core/err.h"
#include "gpu/gpu_driver.h"
#include "jit/jit_cache.h"
#include "jit/jit_host.h"
#include "jit/jit_ptx.h"

/* The PTX target for the present device (jit_arch_for_cc of its compute capability). */
const struct jit_arch *jit_gpu_arch(void);

/* The kernel of bp for the device, emitted and loaded through the cache. *fn is borrowed. */
enum tw_err jit_gpu_kernel(struct jit_cache *c, const struct jit_blueprint *bp,
			   struct gpu_function **fn);

/* Launch fn (bp's kernel) over device arrays: out_d, in_d[bp->n_inputs], n elements, bp's
 * parameters. Asynchronous on stream (NULL: default stream). */
enum tw_err jit_gpu_launch(struct gpu_function *fn, const struct jit_blueprint *bp,
			   uint64_t out_d, const uint64_t *in_d, uint64_t n,
			   const union jit_value *params, struct gpu_stream *stream);

/* Copy args' arrays to the device, run, copy the output back (synchronous). Trap decisions
 * first (TW_ERR_WASM_TRAP, nothing launched). */
enum tw_err jit_gpu_run(struct jit_cache *c, const struct jit_blueprint *bp,
			const struct jit_args *args);

/* Device arrays of a run in flight (jit_gpu_run_async). */
struct jit_gpu_async {
	uint64_t in_d[JIT_INPUTS_MAX];
	uint64_t out_d;
	unsigned n_in;
};

/* jit_gpu_run without waiting: allocate the device arrays, copy args' inputs (and a
 * reduction's seed) to the device, launch, copy the output back into args->out and record `ev`,
 * all on `stream`. On TW_ERR_OK the work is queued: args->out must stay valid and untouched
 * until `ev` completed, then jit_gpu_async_free(mem). On error nothing is left queued or
 * allocated. Trap decisions first (TW_ERR_WASM_TRAP, nothing launched). */
enum tw_err jit_gpu_run_async(struct jit_cache *c, const struct jit_blueprint *bp,
			      const struct jit_args *args, struct gpu_stream *stream,
			      struct gpu_event *ev, struct jit_gpu_async *mem);
void jit_gpu_async_free(struct jit_gpu_async *mem);

#endif
