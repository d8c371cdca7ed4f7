/* jit_gpu.c — blueprints on the GPU; see jit_gpu.h. */
#include "jit/jit_gpu.h"

#include <string.h>

#include "core/log.h"

#define BLOCK_THREADS 256
#define BLOCKS_PER_SM 16

const struct jit_arch *jit_gpu_arch(void)
{
	struct gpu_device_info info;
	if (gpu_device_info(&info) != TW_ERR_OK)
		return NULL;
	return jit_arch_for_cc(info.cc_major, info.cc_minor);
}

enum tw_err jit_gpu_kernel(struct jit_cache *c, const struct jit_blueprint *bp,
			   struct gpu_function **fn)
{
	*fn = NULL;
	const struct jit_arch *arch = jit_gpu_arch();
	if (!arch)
		return gpu_available() ? TW_ERR_UNSUPPORTED : TW_ERR_GPU_UNAVAILABLE;
	const struct jit_cache_entry *e;
	enum tw_err err = jit_cache_get(c, bp, arch, &e);
	if (err != TW_ERR_OK)
		return err;
	struct gpu_module *mod;
	err = jit_cache_module(c, e, &mod);
	if (err != TW_ERR_OK)
		return err;
	return gpu_module_function(mod, e->entry_name, fn);
}

enum tw_err jit_gpu_launch(struct gpu_function *fn, const struct jit_blueprint *bp,
			   uint64_t out_d, const uint64_t *in_d, uint64_t n,
			   const union jit_value *params, struct gpu_stream *stream)
{
	/* Written once with the same value by whichever thread gets here first. */
	static _Atomic int sm_count;
	if (!sm_count) {
		struct gpu_device_info info;
		if (gpu_device_info(&info) != TW_ERR_OK)
			return TW_ERR_GPU_UNAVAILABLE;
		sm_count = info.sm_count > 0 ? info.sm_count : 1;
	}
	/* Kernel parameters in declaration order: out, in0.., n, s0.. (see jit_ptx.h). A 4-byte
	 * parameter is read from the start of its union, which holds it on little-endian. */
	void *p[1 + JIT_INPUTS_MAX + 1 + JIT_PARAMS_MAX];
	uint64_t in_copy[JIT_INPUTS_MAX];
	union jit_value par_copy[JIT_PARAMS_MAX];
	uint64_t out_copy = out_d, n_copy = n;
	unsigned k = 0;
	p[k++] = &out_copy;
	for (unsigned i = 0; i < bp->n_inputs; i++) {
		in_copy[i] = in_d[i];
		p[k++] = &in_copy[i];
	}
	p[k++] = &n_copy;
	for (unsigned i = 0; i < bp->n_params; i++) {
		par_copy[i] = params[i];
		p[k++] = &par_copy[i];
	}
	uint64_t blocks = (n + BLOCK_THREADS - 1) / BLOCK_THREADS;
	uint64_t max_blocks = (uint64_t)sm_count * BLOCKS_PER_SM;
	if (blocks > max_blocks)
		blocks = max_blocks;
	if (blocks == 0)
		blocks = 1;
	struct gpu_dim grid = {(uint32_t)blocks, 1, 1}, block = {BLOCK_THREADS, 1, 1};
	return gpu_launch(fn, grid, block, 0, stream, p);
}

/* The work of a run, queued on stream (NULL: the default stream, where the copies are
 * synchronous): trap decisions, the kernel, device arrays in mem, inputs (and a reduction's seed)
 * copied in, the launch, the output copied back into args->out. On error mem holds what was
 * allocated; the caller frees it once nothing queued can touch it. */
static enum tw_err stage_and_launch(struct jit_cache *c, const struct jit_blueprint *bp,
				    const struct jit_args *args, struct gpu_stream *stream,
				    struct jit_gpu_async *mem)
{
	memset(mem, 0, sizeof(*mem));
	enum tw_err err = jit_blueprint_check_launch(bp, args->inputs, args->params, args->n, NULL,
						     0);
	if (err != TW_ERR_OK)
		return err;
	struct gpu_function *fn;
	err = jit_gpu_kernel(c, bp, &fn);
	if (err != TW_ERR_OK)
		return err;
	size_t osz = jit_type_size((enum jit_type)bp->out_type);
	size_t out_bytes = bp->kind == JIT_REDUCE ? osz : osz * args->n;
	for (; mem->n_in < bp->n_inputs; mem->n_in++) {
		unsigned i = mem->n_in;
		size_t bytes = jit_type_size((enum jit_type)bp->in_type[i]) * args->n;
		err = gpu_mem_alloc(bytes, &mem->in_d[i]);
		if (err != TW_ERR_OK)
			return err;
		err = gpu_memcpy_htod(mem->in_d[i], args->inputs[i], bytes, stream);
		if (err != TW_ERR_OK) {
			mem->n_in++;
			return err;
		}
	}
	err = gpu_mem_alloc(out_bytes, &mem->out_d);
	if (err != TW_ERR_OK)
		return err;
	if (bp->kind == JIT_REDUCE) {
		err = gpu_memcpy_htod(mem->out_d, &args->reduce_init, osz, stream);
		if (err != TW_ERR_OK)
			return err;
	}
	err = jit_gpu_launch(fn, bp, mem->out_d, mem->in_d, args->n, args->params, stream);
	if (err != TW_ERR_OK)
		return err;
	/* On the default stream this synchronous copy waits for the kernel. */
	return gpu_memcpy_dtoh(args->out, mem->out_d, out_bytes, stream);
}

enum tw_err jit_gpu_run(struct jit_cache *c, const struct jit_blueprint *bp,
			const struct jit_args *args)
{
	struct jit_gpu_async mem;
	enum tw_err err = stage_and_launch(c, bp, args, NULL, &mem);
	jit_gpu_async_free(&mem);
	return err;
}

void jit_gpu_async_free(struct jit_gpu_async *mem)
{
	if (mem->out_d)
		gpu_mem_free(mem->out_d);
	for (unsigned i = 0; i < mem->n_in; i++)
		gpu_mem_free(mem->in_d[i]);
	memset(mem, 0, sizeof(*mem));
}

enum tw_err jit_gpu_run_async(struct jit_cache *c, const struct jit_blueprint *bp,
			      const struct jit_args *args, struct gpu_stream *stream,
			      struct gpu_event *ev, struct jit_gpu_async *mem)
{
	enum tw_err err = stage_and_launch(c, bp, args, stream, mem);
	if (err == TW_ERR_OK)
		err = gpu_event_record(ev, stream);
	if (err == TW_ERR_OK)
		return TW_ERR_OK;
	/* Work already queued may still read or write these arrays. */
	if (mem->n_in || mem->out_d)
		gpu_stream_sync(stream);
	jit_gpu_async_free(mem);
	return err;
}
