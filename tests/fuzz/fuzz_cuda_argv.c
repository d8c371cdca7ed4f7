/*
 * fuzz_cuda_argv.c — libFuzzer target for the wasi_cuda_launch argv record parser.
 *
 * Input layout: 4 bytes args_ptr, 4 bytes args_len (little-endian), then the guest memory
 * image. Pointers are taken modulo a little more than the memory size so that both in-bounds and
 * out-of-bounds cases are reached. Invariants checked: the parser never reads outside memory
 * (ASan), returns a count within capacity or a known negative status, and every 0x07 region it
 * accepts lies inside memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "gpu/gpu_abi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	uint32_t ptr = le32(data), len = le32(data + 4);
	size_t mem_size = size - 8;
	/* A private copy exactly as large as the memory, so ASan sees any overread. */
	uint8_t *mem = malloc(mem_size ? mem_size : 1);
	if (!mem)
		return 0;
	memcpy(mem, data + 8, mem_size);
	if (!(ptr & 0x80000000u))
		ptr %= (uint32_t)mem_size + 16;
	if (!(len & 0x80000000u))
		len %= (uint32_t)mem_size + 16;
	struct gpu_guest_mem m = {mem, mem_size};
	struct gpu_cuda_arg args[TW_GPU_KERNEL_ARGS_MAX];
	size_t cap = (data[0] >> 3) % (TW_GPU_KERNEL_ARGS_MAX + 1);
	int32_t n = gpu_cuda_argv_parse(m, ptr, len, args, cap);
	if (n >= 0) {
		if ((size_t)n > cap)
			abort();
		for (int32_t i = 0; i < n; i++) {
			if (args[i].tag < 0x01 || args[i].tag > 0x07 || args[i].tag == 0x06)
				abort();
			if (args[i].tag == GPU_ARG_PTR &&
			    (uint64_t)args[i].v.ptr.offset + args[i].v.ptr.len > mem_size)
				abort();
		}
	} else if (n != GPU_CUDA_INVALID_ARGS && n != GPU_CUDA_INVALID_POINTER &&
		   n != GPU_CUDA_KERNEL_ARGS_UNSUPPORTED) {
		abort();
	}
	free(mem);
	return 0;
}
