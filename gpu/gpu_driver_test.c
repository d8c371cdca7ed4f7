/* gpu_driver_test.c — the driver layer without a GPU: clean "not available", logged once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/log.h"
#include "gpu/gpu_driver.h"

/* Criterion runs each test in its own process, so each sees a fresh gpu_init(). */

static void skip_if_gpu(void)
{
	if (gpu_init() == TW_ERR_OK)
		cr_skip_test("a GPU is present (%s): the no-GPU path is not reachable",
			     gpu_status_line());
}

Test(gpu_driver, no_gpu_every_call_unavailable)
{
	skip_if_gpu();
	cr_assert_not(gpu_available());
	cr_assert_eq(strncmp(gpu_status_line(), "none (", 6), 0, "%s", gpu_status_line());
	struct gpu_device_info info;
	cr_assert_eq(gpu_device_info(&info), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_eq(gpu_ctx_bind(), TW_ERR_GPU_UNAVAILABLE);
	struct gpu_module *m = (struct gpu_module *)1;
	char log[16] = "x";
	cr_assert_eq(gpu_module_load(".version 7.0", &m, log, sizeof(log)), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_null(m);
	uint64_t d = 7;
	cr_assert_eq(gpu_mem_alloc(16, &d), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_eq(d, 0);
	cr_assert_eq(gpu_mem_free(0), TW_ERR_GPU_UNAVAILABLE);
	char buf[4];
	cr_assert_eq(gpu_memcpy_htod(0, buf, 4, NULL), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_eq(gpu_memcpy_dtoh(buf, 0, 4, NULL), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_eq(gpu_memset_d8(0, 0, 4), TW_ERR_GPU_UNAVAILABLE);
	struct gpu_stream *s = (struct gpu_stream *)1;
	cr_assert_eq(gpu_stream_create(&s), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_null(s);
	struct gpu_event *e = (struct gpu_event *)1;
	cr_assert_eq(gpu_event_create(&e, true), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_null(e);
	struct gpu_dim one = {1, 1, 1};
	cr_assert_eq(gpu_launch(NULL, one, one, 0, NULL, NULL), TW_ERR_GPU_UNAVAILABLE);
	cr_assert_eq(gpu_ctx_sync(), TW_ERR_GPU_UNAVAILABLE);
	gpu_module_unload(NULL);
	gpu_stream_destroy(NULL);
	gpu_event_destroy(NULL);
}

Test(gpu_driver, log_line_once)
{
	char path[] = "/tmp/tw-gpu-log-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	int old = tw_log_set_fd(fd);
	tw_log_set_filter("info");
	for (int i = 0; i < 5; i++) {
		(void)gpu_init();
		(void)gpu_available();
		(void)gpu_status_line();
	}
	tw_log_set_fd(old);
	char text[4096] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(path);
	cr_assert_gt(n, 0);
	text[n] = '\0';
	int lines = 0;
	for (char *p = text; (p = strstr(p, " gpu: ")); p++)
		lines++;
	cr_assert_eq(lines, 1, "expected one gpu line, got:\n%s", text);
	if (!gpu_available())
		cr_assert(strstr(text, "no GPU"), "%s", text);
}

Test(gpu_driver, missing_library_override)
{
	setenv("TENSOR_WASM_CUDA_LIBRARY", "/nonexistent/libcuda.so.1", 1);
	cr_assert_eq(gpu_init(), TW_ERR_GPU_UNAVAILABLE);
	cr_assert(strstr(gpu_status_line(), HAVE_CUDA_H ? "/nonexistent/libcuda.so.1" : "cuda.h"),
		  "%s", gpu_status_line());
}

/* The toolkit's stub libcuda answers cuInit with CUDA_ERROR_STUB_LIBRARY (34): the classic
 * container without a driver. */
Test(gpu_driver, stub_library_means_no_gpu)
{
#if HAVE_CUDA_H
	char stub[512];
	snprintf(stub, sizeof(stub), "%s/../lib64/stubs/libcuda.so", TW_CUDA_INCLUDE);
	if (access(stub, R_OK) != 0)
		cr_skip_test("no stub libcuda at %s", stub);
	setenv("TENSOR_WASM_CUDA_LIBRARY", stub, 1);
	cr_assert_eq(gpu_init(), TW_ERR_GPU_UNAVAILABLE);
	cr_assert(strstr(gpu_status_line(), "CUDA_ERROR_STUB_LIBRARY (34)"), "%s",
		  gpu_status_line());
	uint64_t d;
	cr_assert_eq(gpu_mem_alloc(1, &d), TW_ERR_GPU_UNAVAILABLE);
#else
	cr_skip_test("built without cuda.h: no driver loading at all");
#endif
}

Test(gpu_driver, real_gpu_smoke)
{
	if (gpu_init() != TW_ERR_OK)
		cr_skip_test("no GPU: %s", gpu_status_line());
	struct gpu_device_info info;
	cr_assert_eq(gpu_device_info(&info), TW_ERR_OK);
	cr_assert_gt(info.cc_major, 0);
	uint64_t d;
	cr_assert_eq(gpu_mem_alloc(4096, &d), TW_ERR_OK);
	uint8_t in[4096], out[4096];
	for (int i = 0; i < 4096; i++)
		in[i] = (uint8_t)i;
	cr_assert_eq(gpu_memcpy_htod(d, in, sizeof(in), NULL), TW_ERR_OK);
	cr_assert_eq(gpu_memcpy_dtoh(out, d, sizeof(out), NULL), TW_ERR_OK);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	cr_assert_eq(gpu_mem_free(d), TW_ERR_OK);
	struct gpu_module *m;
	char log[1024];
	cr_assert_eq(gpu_module_load("this is not PTX", &m, log, sizeof(log)), TW_ERR_GPU_PTX);
}
