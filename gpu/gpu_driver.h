/*
 * gpu_driver.h — the CUDA Driver API, loaded at run time.
 *
 * libcuda is never linked: gpu_init() dlopen()s "libcuda.so.1" (then "libcuda.so"; the
 * environment variable TENSOR_WASM_CUDA_LIBRARY names another file), resolves the versioned
 * entry points (cuMemAlloc_v2, cuMemFree_v2, cuModuleLoadDataEx, cuLaunchKernel, ...) into a
 * function table and calls cuInit(0) once. No library, CUDA_ERROR_STUB_LIBRARY (34),
 * CUDA_ERROR_NO_DEVICE (100) or CUDA_ERROR_NOT_INITIALIZED (3) all mean "no GPU": every call
 * below then returns TW_ERR_GPU_UNAVAILABLE, the reason is logged once (info), and the process
 * runs on without a GPU. A build without cuda.h has no GPU backend at all and behaves the same.
 *
 * One device (ordinal 0) is used, through its primary context; each thread that calls the
 * driver makes it current once with gpu_ctx_bind(). Handles (modules, functions, streams,
 * events) are opaque; device memory is a 64-bit device address.
 *
 * Errors: TW_ERR_GPU_UNAVAILABLE (no GPU), TW_ERR_GPU_DRIVER (a driver call failed; the
 * thread's gpu_last_error() says which and why), TW_ERR_GPU_PTX (module load rejected the PTX;
 * the JIT log is returned), TW_ERR_INVALID_ARG, TW_ERR_NOMEM.
 */
#ifndef TW_GPU_DRIVER_H
#define TW_GPU_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct gpu_module;
struct gpu_function;
struct gpu_stream;
struct gpu_event;

struct gpu_device_info {
	char name[128];
	int cc_major, cc_minor;   /* compute capability */
	uint64_t total_mem_bytes;
	int sm_count;
	int driver_version;       /* e.g. 12040 for 12.4 */
	char arch[8];             /* "sm_<major><minor>"; the JIT maps it to a PTX target */
	int max_threads_per_block;
	uint64_t mem_clock_khz, mem_bus_bits; /* for the theoretical bandwidth */
};

struct gpu_dim {
	uint32_t x, y, z;
};

/* Load the driver and initialise it, once per process (thread-safe; later calls return the
 * first result). TW_ERR_OK or TW_ERR_GPU_UNAVAILABLE. */
enum tw_err gpu_init(void);

/* gpu_init() succeeded. */
bool gpu_available(void);

/* One line for --version and /healthz: "NVIDIA H100 80GB HBM3 (sm_90, driver 12.4)" or
 * "none (libcuda.so.1: cannot open shared object file)". Calls gpu_init(). */
const char *gpu_status_line(void);

/* The device's description. */
enum tw_err gpu_device_info(struct gpu_device_info *out);

/* Make the device's primary context current on the calling thread (idempotent per thread). */
enum tw_err gpu_ctx_bind(void);

/* Last driver failure on the calling thread: "cuLaunchKernel: CUDA_ERROR_... (text)"; "" when
 * none. The string lives until the thread's next failing call. */
const char *gpu_last_error(void);

/*
 * Load a module from NUL-terminated PTX text (cuModuleLoadDataEx). On TW_ERR_GPU_PTX the
 * driver's JIT error log is copied into log (cap bytes, NUL-terminated; may be NULL). The info
 * log is discarded. *out is owned by the caller (gpu_module_unload).
 */
enum tw_err gpu_module_load(const char *ptx, struct gpu_module **out, char *log, size_t log_cap);
void gpu_module_unload(struct gpu_module *m);

/* The kernel `name` of module m; *out is borrowed from the module. TW_ERR_NOT_FOUND. */
enum tw_err gpu_module_function(struct gpu_module *m, const char *name, struct gpu_function **out);

/* Launch f (asynchronous). params: one pointer per kernel parameter, as cuLaunchKernel wants.
 * stream NULL means the default stream. */
enum tw_err gpu_launch(struct gpu_function *f, struct gpu_dim grid, struct gpu_dim block,
		       uint32_t shared_bytes, struct gpu_stream *stream, void **params);

/* Device memory. Quotas are the caller's business (gpu_admit.h), checked before this. */
enum tw_err gpu_mem_alloc(uint64_t bytes, uint64_t *dptr);
enum tw_err gpu_mem_free(uint64_t dptr);
/* Page-locked host memory (at least 1 byte): an asynchronous copy from the device into
 * ordinary memory returns only once it is done, into this one it is queued. */
enum tw_err gpu_host_alloc(size_t bytes, void **out);
void gpu_host_free(void *p);
/* Copies; stream NULL means synchronous. */
enum tw_err gpu_memcpy_htod(uint64_t dst, const void *src, size_t n, struct gpu_stream *stream);
enum tw_err gpu_memcpy_dtoh(void *dst, uint64_t src, size_t n, struct gpu_stream *stream);
enum tw_err gpu_memset_d8(uint64_t dst, uint8_t value, size_t n);

enum tw_err gpu_stream_create(struct gpu_stream **out);
void gpu_stream_destroy(struct gpu_stream *s);
enum tw_err gpu_stream_sync(struct gpu_stream *s);

/* timing: the event can be used with gpu_event_elapsed_ms (else it is created without timing,
 * which is cheaper to record and wait on). */
enum tw_err gpu_event_create(struct gpu_event **out, bool timing);
void gpu_event_destroy(struct gpu_event *e);
enum tw_err gpu_event_record(struct gpu_event *e, struct gpu_stream *stream);
/* TW_ERR_OK when the work before the event is done, TW_ERR_AGAIN while it is not. */
enum tw_err gpu_event_query(struct gpu_event *e);
/* Blocks the calling thread: only for the completion thread and tools, never a worker. */
enum tw_err gpu_event_sync(struct gpu_event *e);
enum tw_err gpu_event_elapsed_ms(struct gpu_event *start, struct gpu_event *end, float *ms);

/* Blocks until all work of the context is done (tools and tests only). */
enum tw_err gpu_ctx_sync(void);

#endif
