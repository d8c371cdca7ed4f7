/* gpu_abi_test.c — wasi_cuda_*: argv records, limits, and NotAvailable without a GPU. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "gpu/gpu_abi.h"
#include "gpu/gpu_driver.h"

static uint8_t mem[256];

static struct gpu_guest_mem view(void)
{
	struct gpu_guest_mem m = {mem, sizeof(mem)};
	return m;
}

static size_t put(size_t at, uint8_t tag, uint64_t v, unsigned bytes)
{
	mem[at++] = tag;
	for (unsigned i = 0; i < bytes; i++)
		mem[at++] = (uint8_t)(v >> (8 * i));
	return at;
}

Test(gpu_abi, argv_every_tag)
{
	memset(mem, 0, sizeof(mem));
	size_t at = 16;
	at = put(at, 0x01, (uint32_t)-5, 4);
	at = put(at, 0x02, (uint64_t)-6, 8);
	float f = 1.5f;
	uint32_t fu;
	memcpy(&fu, &f, 4);
	at = put(at, 0x03, fu, 4);
	double d = -2.25;
	uint64_t du;
	memcpy(&du, &d, 8);
	at = put(at, 0x04, du, 8);
	at = put(at, 0x05, 0x100000001ull, 8);
	at = put(at, 0x07, ((uint64_t)16 << 32) | 200, 8); /* offset 200, length 16 */
	struct gpu_cuda_arg args[8];
	int32_t n = gpu_cuda_argv_parse(view(), 16, (uint32_t)(at - 16), args, 8);
	cr_assert_eq(n, 6);
	cr_assert_eq(args[0].v.i32, -5);
	cr_assert_eq(args[1].v.i64, -6);
	cr_assert_eq(args[2].v.f32, 1.5f);
	cr_assert_eq(args[3].v.f64, -2.25);
	cr_assert_eq(args[4].v.buffer, 0x100000001ll);
	cr_assert_eq(args[5].tag, GPU_ARG_PTR);
	cr_assert_eq(args[5].v.ptr.offset, 200);
	cr_assert_eq(args[5].v.ptr.len, 16);
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, 0, args, 8), 0, "no arguments");
}

Test(gpu_abi, argv_errors)
{
	struct gpu_cuda_arg args[TW_GPU_KERNEL_ARGS_MAX + 4];
	memset(mem, 0, sizeof(mem));
	size_t at = put(0, 0x01, 1, 4);
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, (uint32_t)at - 1, args, 8),
		     GPU_CUDA_INVALID_ARGS, "truncated record");
	mem[0] = 0x00;
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, 5, args, 8), GPU_CUDA_INVALID_ARGS,
		     "unknown tag");
	mem[0] = 0x08;
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, 5, args, 8), GPU_CUDA_INVALID_ARGS);
	mem[0] = 0x06;
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, 9, args, 8), GPU_CUDA_KERNEL_ARGS_UNSUPPORTED);
	cr_assert_eq(gpu_cuda_argv_parse(view(), 250, 10, args, 8), GPU_CUDA_INVALID_POINTER,
		     "records past the end of memory");
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0xfffffff0u, 0x20, args, 8),
		     GPU_CUDA_INVALID_POINTER, "no 32-bit wrap-around");
	put(0, 0x07, ((uint64_t)16 << 32) | 250, 8);
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, 9, args, 8), GPU_CUDA_INVALID_POINTER,
		     "guest region past the end");
	put(0, 0x07, ((uint64_t)0x20 << 32) | 0xfffffff0u, 8);
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, 9, args, 8), GPU_CUDA_INVALID_POINTER);
	put(0, 0x07, ((uint64_t)0 << 32) | 256, 8);
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, 9, args, 8), 1, "empty region at the end");
	/* Too many records. */
	at = 0;
	for (int i = 0; i < TW_GPU_KERNEL_ARGS_MAX + 1; i++)
		at = put(at, 0x01, (uint32_t)i, 4);
	cr_assert_leq(at, sizeof(mem));
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, (uint32_t)at, args, TW_GPU_KERNEL_ARGS_MAX + 4),
		     GPU_CUDA_INVALID_ARGS);
	cr_assert_eq(gpu_cuda_argv_parse(view(), 0, 15, args, 2), GPU_CUDA_INVALID_ARGS,
		     "caller capacity");
	struct gpu_guest_mem none = {NULL, 0};
	cr_assert_eq(gpu_cuda_argv_parse(none, 0, 1, args, 8), GPU_CUDA_INVALID_POINTER);
}

Test(gpu_abi, dims)
{
	cr_assert_eq(gpu_cuda_check_dims(1, 1, 1, 256, 1, 1, 0), GPU_CUDA_OK);
	cr_assert_eq(gpu_cuda_check_dims(0x7fffffffu, 65535, 65535, 1024, 1, 1, 48 * 1024),
		     GPU_CUDA_OK);
	cr_assert_eq(gpu_cuda_check_dims(0, 1, 1, 1, 1, 1, 0), GPU_CUDA_INVALID_DIMENSIONS);
	cr_assert_eq(gpu_cuda_check_dims(1, 1, 1, 1, 1, 0, 0), GPU_CUDA_INVALID_DIMENSIONS);
	cr_assert_eq(gpu_cuda_check_dims(0x80000000u, 1, 1, 1, 1, 1, 0),
		     GPU_CUDA_INVALID_DIMENSIONS);
	cr_assert_eq(gpu_cuda_check_dims(1, 65536, 1, 1, 1, 1, 0), GPU_CUDA_INVALID_DIMENSIONS);
	cr_assert_eq(gpu_cuda_check_dims(1, 1, 1, 1025, 1, 1, 0), GPU_CUDA_INVALID_DIMENSIONS);
	cr_assert_eq(gpu_cuda_check_dims(1, 1, 1, 32, 32, 2, 0), GPU_CUDA_INVALID_DIMENSIONS,
		     "2048 threads per block");
	cr_assert_eq(gpu_cuda_check_dims(1, 1, 1, 1, 1, 65, 0), GPU_CUDA_INVALID_DIMENSIONS);
	cr_assert_eq(gpu_cuda_check_dims(1, 1, 1, 1, 1, 1, 48 * 1024 + 1),
		     GPU_CUDA_INVALID_DIMENSIONS);
	cr_assert_str_eq(gpu_cuda_status_str(GPU_CUDA_KERNEL_ARGS_UNSUPPORTED),
			 "kernel_args_unsupported");
	cr_assert_str_eq(gpu_cuda_status_str(-99), "unknown");
}

Test(gpu_abi, every_call_not_available_without_gpu)
{
	if (gpu_available())
		cr_skip_test("a GPU is present: %s", gpu_status_line());
	struct gpu_guest *g;
	cr_assert_eq(gpu_guest_create(&g, 42), TW_ERR_OK);
	struct gpu_guest_mem m = view();
	memcpy(mem, "x", 1);
	cr_assert_eq(gpu_wasi_cuda_load_ptx(g, m, 0, 10, 20, 3), GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(gpu_wasi_cuda_launch(g, m, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0),
		     GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(gpu_wasi_cuda_sync(g), GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(gpu_wasi_cuda_last_error_len(g), GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(gpu_wasi_cuda_last_error_copy(g, m, 0, 16), GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(gpu_wasi_cuda_alloc(g, 1024, 0), GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(gpu_wasi_cuda_free(g, 1), GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(gpu_wasi_cuda_memcpy_h2d(g, m, 1, 0, 4), GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(gpu_wasi_cuda_memcpy_d2h(g, m, 0, 1, 4), GPU_CUDA_NOT_AVAILABLE);
	/* Even with garbage arguments: availability is decided first. */
	cr_assert_eq(gpu_wasi_cuda_load_ptx(g, m, 0xffffffffu, 0xffffffffu, 0, 0),
		     GPU_CUDA_NOT_AVAILABLE);
	cr_assert_eq(mem[0], 'x', "guest memory untouched");
	gpu_guest_destroy(g);
}

Test(gpu_abi, guest_calls_with_gpu)
{
	if (!gpu_available())
		cr_skip_test("no GPU: %s", gpu_status_line());
	struct gpu_guest *g;
	cr_assert_eq(gpu_guest_create(&g, 42), TW_ERR_OK);
	struct gpu_guest_mem m = view();
	cr_assert_eq(gpu_wasi_cuda_load_ptx(g, m, 0, 300, 0, 1), GPU_CUDA_INVALID_POINTER);
	memcpy(mem, "garbage", 7);
	memcpy(mem + 100, "k", 1);
	cr_assert_eq(gpu_wasi_cuda_load_ptx(g, m, 0, 7, 100, 1), GPU_CUDA_MALFORMED_PTX);
	cr_assert_gt(gpu_wasi_cuda_last_error_len(g), 0);
	cr_assert_eq(gpu_wasi_cuda_launch(g, m, 12345, 1, 1, 1, 1, 1, 1, 0, 0, 0),
		     GPU_CUDA_INVALID_KERNEL);
	int64_t b = gpu_wasi_cuda_alloc(g, 64, 0);
	cr_assert_gt(b, 0);
	cr_assert_eq(gpu_wasi_cuda_memcpy_h2d(g, m, b, 0, 65), GPU_CUDA_INVALID_POINTER);
	cr_assert_eq(gpu_wasi_cuda_memcpy_h2d(g, m, b, 0, 64), GPU_CUDA_OK);
	cr_assert_eq(gpu_wasi_cuda_memcpy_d2h(g, m, 128, b, 64), GPU_CUDA_OK);
	cr_assert_eq(memcmp(mem, mem + 128, 64), 0);
	cr_assert_eq(gpu_wasi_cuda_free(g, b), GPU_CUDA_OK);
	cr_assert_eq(gpu_wasi_cuda_free(g, b), GPU_CUDA_INVALID_POINTER, "stale handle");
	gpu_guest_destroy(g);
}
