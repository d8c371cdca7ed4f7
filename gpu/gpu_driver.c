/* gpu_driver.c — the CUDA Driver API through dlopen; see gpu_driver.h. */
#include "gpu/gpu_driver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/log.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static enum tw_err init_result = TW_ERR_GPU_UNAVAILABLE;
static char status_line[256];
static _Thread_local char last_error[512];

const char *gpu_last_error(void)
{
	return last_error;
}

const char *gpu_status_line(void)
{
	gpu_init();
	return status_line;
}

bool gpu_available(void)
{
	return gpu_init() == TW_ERR_OK;
}

#if HAVE_CUDA_H

#include <cuda.h>
#include <dlfcn.h>

/* The entry points we use, resolved by their versioned symbol names (the unversioned names
 * are the old ABI, kept by the driver for old binaries, e.g. 32-bit cuMemAlloc). */
struct cu_api {
	CUresult (*Init)(unsigned int);
	CUresult (*DriverGetVersion)(int *);
	CUresult (*DeviceGetCount)(int *);
	CUresult (*DeviceGet)(CUdevice *, int);
	CUresult (*DeviceGetName)(char *, int, CUdevice);
	CUresult (*DeviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
	CUresult (*DeviceTotalMem)(size_t *, CUdevice);
	CUresult (*DevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*CtxSetCurrent)(CUcontext);
	CUresult (*CtxSynchronize)(void);
	CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned int, CUjit_option *,
				     void **);
	CUresult (*ModuleUnload)(CUmodule);
	CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
				 unsigned, unsigned, CUstream, void **, void **);
	CUresult (*MemAlloc)(CUdeviceptr *, size_t);
	CUresult (*MemFree)(CUdeviceptr);
	CUresult (*MemAllocHost)(void **, size_t);
	CUresult (*MemFreeHost)(void *);
	CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
	CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
	CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*MemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
	CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t);
	CUresult (*StreamCreate)(CUstream *, unsigned int);
	CUresult (*StreamDestroy)(CUstream);
	CUresult (*StreamSynchronize)(CUstream);
	CUresult (*EventCreate)(CUevent *, unsigned int);
	CUresult (*EventDestroy)(CUevent);
	CUresult (*EventRecord)(CUevent, CUstream);
	CUresult (*EventQuery)(CUevent);
	CUresult (*EventSynchronize)(CUevent);
	CUresult (*EventElapsedTime)(float *, CUevent, CUevent);
	CUresult (*GetErrorName)(CUresult, const char **);
	CUresult (*GetErrorString)(CUresult, const char **);
};

static struct cu_api cu;
static void *cu_lib;
static CUcontext primary_ctx;
static struct gpu_device_info dev_info;
static _Thread_local bool ctx_bound;

/* symbol names; a second name is a fallback for drivers that predate the first */
static const struct {
	const char *name, *fallback;
	size_t offset;
} syms[] = {
#define S(field, name, fb) {name, fb, offsetof(struct cu_api, field)}
	S(Init, "cuInit", NULL),
	S(DriverGetVersion, "cuDriverGetVersion", NULL),
	S(DeviceGetCount, "cuDeviceGetCount", NULL),
	S(DeviceGet, "cuDeviceGet", NULL),
	S(DeviceGetName, "cuDeviceGetName", NULL),
	S(DeviceGetAttribute, "cuDeviceGetAttribute", NULL),
	S(DeviceTotalMem, "cuDeviceTotalMem_v2", NULL),
	S(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", NULL),
	S(CtxSetCurrent, "cuCtxSetCurrent", NULL),
	S(CtxSynchronize, "cuCtxSynchronize", NULL),
	S(ModuleLoadDataEx, "cuModuleLoadDataEx", NULL),
	S(ModuleUnload, "cuModuleUnload", NULL),
	S(ModuleGetFunction, "cuModuleGetFunction", NULL),
	S(LaunchKernel, "cuLaunchKernel", NULL),
	S(MemAlloc, "cuMemAlloc_v2", NULL),
	S(MemFree, "cuMemFree_v2", NULL),
	S(MemAllocHost, "cuMemAllocHost_v2", "cuMemAllocHost"),
	S(MemFreeHost, "cuMemFreeHost", NULL),
	S(MemcpyHtoD, "cuMemcpyHtoD_v2", NULL),
	S(MemcpyDtoH, "cuMemcpyDtoH_v2", NULL),
	S(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", NULL),
	S(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", NULL),
	S(MemsetD8, "cuMemsetD8_v2", NULL),
	S(StreamCreate, "cuStreamCreate", NULL),
	S(StreamDestroy, "cuStreamDestroy_v2", NULL),
	S(StreamSynchronize, "cuStreamSynchronize", NULL),
	S(EventCreate, "cuEventCreate", NULL),
	S(EventDestroy, "cuEventDestroy_v2", NULL),
	S(EventRecord, "cuEventRecord", NULL),
	S(EventQuery, "cuEventQuery", NULL),
	S(EventSynchronize, "cuEventSynchronize", NULL),
	S(EventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime"),
	S(GetErrorName, "cuGetErrorName", NULL),
	S(GetErrorString, "cuGetErrorString", NULL),
#undef S
};

static const char *cu_name(CUresult r)
{
	const char *s = NULL;
	if (cu.GetErrorName && cu.GetErrorName(r, &s) == CUDA_SUCCESS && s)
		return s;
	/* The stub library answers no questions, not even about its own errors. */
	switch (r) {
	case CUDA_ERROR_STUB_LIBRARY:
		return "CUDA_ERROR_STUB_LIBRARY";
	case CUDA_ERROR_NO_DEVICE:
		return "CUDA_ERROR_NO_DEVICE";
	case CUDA_ERROR_NOT_INITIALIZED:
		return "CUDA_ERROR_NOT_INITIALIZED";
	default:
		return "CUDA_ERROR_(unnamed)";
	}
}

static enum tw_err cu_fail(const char *call, CUresult r)
{
	const char *text = NULL;
	if (!cu.GetErrorString || cu.GetErrorString(r, &text) != CUDA_SUCCESS || !text)
		text = "unknown";
	snprintf(last_error, sizeof(last_error), "%s: %s (%s)", call, cu_name(r), text);
	TW_DEBUG(GPU, "%s", last_error);
	if (r == CUDA_ERROR_OUT_OF_MEMORY)
		return TW_ERR_NOMEM;
	return TW_ERR_GPU_DRIVER;
}

#define CU_CALL(call, args) ((r = cu.call args) == CUDA_SUCCESS ? TW_ERR_OK : cu_fail("cu" #call, r))

static void unavailable(const char *fmt, const char *a, const char *b)
{
	char why[200];
	snprintf(why, sizeof(why), fmt, a, b);
	snprintf(status_line, sizeof(status_line), "none (%s)", why);
	TW_INFO(GPU, "no GPU: %s; running without GPU offload", why);
}

static void do_init(void)
{
	const char *paths[3] = {"libcuda.so.1", "libcuda.so", NULL};
	const char *override = getenv("TENSOR_WASM_CUDA_LIBRARY");
	if (override && *override) {
		paths[0] = override;
		paths[1] = NULL;
	}
	char first_err[160] = "";
	for (size_t i = 0; paths[i] && !cu_lib; i++) {
		cu_lib = dlopen(paths[i], RTLD_NOW | RTLD_LOCAL);
		if (!cu_lib && i == 0) {
			const char *e = dlerror();
			snprintf(first_err, sizeof(first_err), "%s", e ? e : paths[i]);
		}
	}
	if (!cu_lib) {
		unavailable("%s%s", first_err, "");
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(cu_lib, syms[i].name);
		if (!f && syms[i].fallback)
			f = dlsym(cu_lib, syms[i].fallback);
		if (!f) {
			unavailable("the CUDA driver lacks %s%s", syms[i].name, "");
			goto out_close;
		}
		memcpy((char *)&cu + syms[i].offset, &f, sizeof(f));
	}
	CUresult r = cu.Init(0);
	if (r != CUDA_SUCCESS) {
		/* STUB_LIBRARY (34), NO_DEVICE (100), NOT_INITIALIZED (3) are the expected ways of
		 * having no GPU; anything else is reported the same way but named. */
		char code[48];
		snprintf(code, sizeof(code), " (%d%s)", (int)r,
			 r == CUDA_ERROR_STUB_LIBRARY || r == CUDA_ERROR_NO_DEVICE ||
				 r == CUDA_ERROR_NOT_INITIALIZED
				 ? ""
				 : ", unexpected");
		unavailable("cuInit: %s%s", cu_name(r), code);
		goto out_close;
	}
	int count = 0;
	if (cu.DeviceGetCount(&count) != CUDA_SUCCESS || count < 1) {
		unavailable("no CUDA device%s%s", "", "");
		goto out_close;
	}
	CUdevice dev;
	if ((r = cu.DeviceGet(&dev, 0)) != CUDA_SUCCESS ||
	    (r = cu.DevicePrimaryCtxRetain(&primary_ctx, dev)) != CUDA_SUCCESS) {
		unavailable("device 0: %s%s", cu_name(r), "");
		goto out_close;
	}
	struct gpu_device_info *d = &dev_info;
	if (cu.DeviceGetName(d->name, (int)sizeof(d->name) - 1, dev) != CUDA_SUCCESS)
		snprintf(d->name, sizeof(d->name), "CUDA device 0");
	int v = 0;
	cu.DeviceGetAttribute(&d->cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev);
	cu.DeviceGetAttribute(&d->cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev);
	cu.DeviceGetAttribute(&d->sm_count, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev);
	cu.DeviceGetAttribute(&d->max_threads_per_block,
			      CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev);
	if (cu.DeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, dev) == CUDA_SUCCESS)
		d->mem_clock_khz = (uint64_t)v;
	if (cu.DeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, dev) ==
	    CUDA_SUCCESS)
		d->mem_bus_bits = (uint64_t)v;
	size_t total = 0;
	if (cu.DeviceTotalMem(&total, dev) == CUDA_SUCCESS)
		d->total_mem_bytes = total;
	cu.DriverGetVersion(&d->driver_version);
	snprintf(d->arch, sizeof(d->arch), "sm_%d%d", d->cc_major % 100, d->cc_minor % 10);
	snprintf(status_line, sizeof(status_line), "%s (%s, %d SMs, %.1f GiB, driver %d.%d)",
		 d->name, d->arch, d->sm_count, (double)d->total_mem_bytes / (1 << 30),
		 d->driver_version / 1000, (d->driver_version % 1000) / 10);
	TW_INFO(GPU, "GPU: %s", status_line);
	init_result = TW_ERR_OK;
	return;

out_close:
	/* The library stays unloaded: nothing else will call into it. */
	dlclose(cu_lib);
	cu_lib = NULL;
	memset(&cu, 0, sizeof(cu));
}

enum tw_err gpu_init(void)
{
	pthread_once(&init_once, do_init);
	return init_result;
}

enum tw_err gpu_device_info(struct gpu_device_info *out)
{
	if (gpu_init() != TW_ERR_OK)
		return TW_ERR_GPU_UNAVAILABLE;
	*out = dev_info;
	return TW_ERR_OK;
}

enum tw_err gpu_ctx_bind(void)
{
	if (gpu_init() != TW_ERR_OK)
		return TW_ERR_GPU_UNAVAILABLE;
	if (ctx_bound)
		return TW_ERR_OK;
	CUresult r;
	enum tw_err err = CU_CALL(CtxSetCurrent, (primary_ctx));
	if (err == TW_ERR_OK)
		ctx_bound = true;
	return err;
}

enum tw_err gpu_module_load(const char *ptx, struct gpu_module **out, char *log, size_t log_cap)
{
	*out = NULL;
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	char errlog[4096] = "";
	CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void *vals[2] = {errlog, (void *)(uintptr_t)sizeof(errlog)};
	CUmodule mod;
	CUresult r = cu.ModuleLoadDataEx(&mod, ptx, 2, opts, vals);
	if (r != CUDA_SUCCESS) {
		errlog[sizeof(errlog) - 1] = '\0';
		if (log && log_cap)
			snprintf(log, log_cap, "%s", errlog);
		cu_fail("cuModuleLoadDataEx", r);
		if (r == CUDA_ERROR_INVALID_PTX || r == CUDA_ERROR_INVALID_IMAGE ||
		    r == CUDA_ERROR_NO_BINARY_FOR_GPU || r == CUDA_ERROR_UNSUPPORTED_PTX_VERSION ||
		    r == CUDA_ERROR_JIT_COMPILER_NOT_FOUND)
			return TW_ERR_GPU_PTX;
		return r == CUDA_ERROR_OUT_OF_MEMORY ? TW_ERR_NOMEM : TW_ERR_GPU_DRIVER;
	}
	*out = (struct gpu_module *)mod;
	return TW_ERR_OK;
}

void gpu_module_unload(struct gpu_module *m)
{
	if (m && gpu_ctx_bind() == TW_ERR_OK)
		cu.ModuleUnload((CUmodule)m);
}

enum tw_err gpu_module_function(struct gpu_module *m, const char *name, struct gpu_function **out)
{
	*out = NULL;
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUfunction f;
	CUresult r = cu.ModuleGetFunction(&f, (CUmodule)m, name);
	if (r == CUDA_ERROR_NOT_FOUND) {
		cu_fail("cuModuleGetFunction", r);
		return TW_ERR_NOT_FOUND;
	}
	if (r != CUDA_SUCCESS)
		return cu_fail("cuModuleGetFunction", r);
	*out = (struct gpu_function *)f;
	return TW_ERR_OK;
}

enum tw_err gpu_launch(struct gpu_function *f, struct gpu_dim grid, struct gpu_dim block,
		       uint32_t shared_bytes, struct gpu_stream *stream, void **params)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r;
	return CU_CALL(LaunchKernel, ((CUfunction)f, grid.x, grid.y, grid.z, block.x, block.y,
				      block.z, shared_bytes, (CUstream)stream, params, NULL));
}

enum tw_err gpu_mem_alloc(uint64_t bytes, uint64_t *dptr)
{
	*dptr = 0;
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUdeviceptr p;
	CUresult r;
	err = CU_CALL(MemAlloc, (&p, (size_t)(bytes ? bytes : 1)));
	if (err == TW_ERR_OK)
		*dptr = (uint64_t)p;
	return err;
}

enum tw_err gpu_mem_free(uint64_t dptr)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r;
	return CU_CALL(MemFree, ((CUdeviceptr)dptr));
}

enum tw_err gpu_host_alloc(size_t bytes, void **out)
{
	*out = NULL;
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r;
	return CU_CALL(MemAllocHost, (out, bytes ? bytes : 1));
}

void gpu_host_free(void *p)
{
	if (p && gpu_ctx_bind() == TW_ERR_OK)
		cu.MemFreeHost(p);
}

enum tw_err gpu_memcpy_htod(uint64_t dst, const void *src, size_t n, struct gpu_stream *stream)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK || n == 0)
		return err;
	CUresult r;
	if (stream)
		return CU_CALL(MemcpyHtoDAsync, ((CUdeviceptr)dst, src, n, (CUstream)stream));
	return CU_CALL(MemcpyHtoD, ((CUdeviceptr)dst, src, n));
}

enum tw_err gpu_memcpy_dtoh(void *dst, uint64_t src, size_t n, struct gpu_stream *stream)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK || n == 0)
		return err;
	CUresult r;
	if (stream)
		return CU_CALL(MemcpyDtoHAsync, (dst, (CUdeviceptr)src, n, (CUstream)stream));
	return CU_CALL(MemcpyDtoH, (dst, (CUdeviceptr)src, n));
}

enum tw_err gpu_memset_d8(uint64_t dst, uint8_t value, size_t n)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK || n == 0)
		return err;
	CUresult r;
	return CU_CALL(MemsetD8, ((CUdeviceptr)dst, value, n));
}

enum tw_err gpu_stream_create(struct gpu_stream **out)
{
	*out = NULL;
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUstream s;
	CUresult r;
	err = CU_CALL(StreamCreate, (&s, CU_STREAM_NON_BLOCKING));
	if (err == TW_ERR_OK)
		*out = (struct gpu_stream *)s;
	return err;
}

void gpu_stream_destroy(struct gpu_stream *s)
{
	if (s && gpu_ctx_bind() == TW_ERR_OK)
		cu.StreamDestroy((CUstream)s);
}

enum tw_err gpu_stream_sync(struct gpu_stream *s)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r;
	return CU_CALL(StreamSynchronize, ((CUstream)s));
}

enum tw_err gpu_event_create(struct gpu_event **out, bool timing)
{
	*out = NULL;
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUevent e;
	CUresult r;
	err = CU_CALL(EventCreate, (&e, timing ? CU_EVENT_DEFAULT : CU_EVENT_DISABLE_TIMING));
	if (err == TW_ERR_OK)
		*out = (struct gpu_event *)e;
	return err;
}

void gpu_event_destroy(struct gpu_event *e)
{
	if (e && gpu_ctx_bind() == TW_ERR_OK)
		cu.EventDestroy((CUevent)e);
}

enum tw_err gpu_event_record(struct gpu_event *e, struct gpu_stream *stream)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r;
	return CU_CALL(EventRecord, ((CUevent)e, (CUstream)stream));
}

enum tw_err gpu_event_query(struct gpu_event *e)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r = cu.EventQuery((CUevent)e);
	if (r == CUDA_ERROR_NOT_READY)
		return TW_ERR_AGAIN;
	return r == CUDA_SUCCESS ? TW_ERR_OK : cu_fail("cuEventQuery", r);
}

enum tw_err gpu_event_sync(struct gpu_event *e)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r;
	return CU_CALL(EventSynchronize, ((CUevent)e));
}

enum tw_err gpu_event_elapsed_ms(struct gpu_event *start, struct gpu_event *end, float *ms)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r;
	return CU_CALL(EventElapsedTime, (ms, (CUevent)start, (CUevent)end));
}

enum tw_err gpu_ctx_sync(void)
{
	enum tw_err err = gpu_ctx_bind();
	if (err != TW_ERR_OK)
		return err;
	CUresult r;
	return CU_CALL(CtxSynchronize, ());
}

#else /* !HAVE_CUDA_H: no GPU backend in this build */

static void do_init(void)
{
	snprintf(status_line, sizeof(status_line), "none (built without cuda.h)");
	TW_INFO(GPU, "no GPU: this build has no GPU backend (cuda.h was not found at configure)");
}

enum tw_err gpu_init(void)
{
	pthread_once(&init_once, do_init);
	return init_result;
}

enum tw_err gpu_device_info(struct gpu_device_info *out)
{
	memset(out, 0, sizeof(*out));
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_ctx_bind(void)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_module_load(const char *ptx, struct gpu_module **out, char *log, size_t log_cap)
{
	*out = NULL;
	if (log && log_cap)
		log[0] = '\0';
	return TW_ERR_GPU_UNAVAILABLE;
}

void gpu_module_unload(struct gpu_module *m)
{
}

enum tw_err gpu_module_function(struct gpu_module *m, const char *name, struct gpu_function **out)
{
	*out = NULL;
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_launch(struct gpu_function *f, struct gpu_dim grid, struct gpu_dim block,
		       uint32_t shared_bytes, struct gpu_stream *stream, void **params)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_mem_alloc(uint64_t bytes, uint64_t *dptr)
{
	*dptr = 0;
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_mem_free(uint64_t dptr)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_host_alloc(size_t bytes, void **out)
{
	(void)bytes;
	*out = NULL;
	return TW_ERR_GPU_UNAVAILABLE;
}

void gpu_host_free(void *p)
{
	(void)p;
}

enum tw_err gpu_memcpy_htod(uint64_t dst, const void *src, size_t n, struct gpu_stream *stream)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_memcpy_dtoh(void *dst, uint64_t src, size_t n, struct gpu_stream *stream)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_memset_d8(uint64_t dst, uint8_t value, size_t n)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_stream_create(struct gpu_stream **out)
{
	*out = NULL;
	return TW_ERR_GPU_UNAVAILABLE;
}

void gpu_stream_destroy(struct gpu_stream *s)
{
}

enum tw_err gpu_stream_sync(struct gpu_stream *s)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_event_create(struct gpu_event **out, bool timing)
{
	*out = NULL;
	return TW_ERR_GPU_UNAVAILABLE;
}

void gpu_event_destroy(struct gpu_event *e)
{
}

enum tw_err gpu_event_record(struct gpu_event *e, struct gpu_stream *stream)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_event_query(struct gpu_event *e)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_event_sync(struct gpu_event *e)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_event_elapsed_ms(struct gpu_event *start, struct gpu_event *end, float *ms)
{
	*ms = 0;
	return TW_ERR_GPU_UNAVAILABLE;
}

enum tw_err gpu_ctx_sync(void)
{
	return TW_ERR_GPU_UNAVAILABLE;
}

#endif
