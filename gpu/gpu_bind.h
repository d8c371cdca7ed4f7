/*
 * gpu_bind.h — the `wasi_cuda_*` guest ABI (gpu_abi.h) bound as engine host functions.
 *
 * What it is for: make the nine functions importable by guests from module "wasi_cuda" (names
 * without the prefix: "load_ptx", "launch", "sync", ...; wasm types in gpu_abi.h) in `tensor-wasm
 * run` and in functions served by `serve`, without the wasm floor knowing the GPU. The binding is
 * a struct twm_host_binding (wasm/twm.h): whoever makes instances links it into its linker once,
 * attaches one struct gpu_guest per instance of a module that imports "wasi_cuda" (charged to the
 * instance's tenant: per-instance limits and the tenant's GPU memory quota apply), passes the
 * slot to twm_instantiate, and detaches it after freeing the instance.
 *
 * Each call:
 *   - finds the instance's gpu_guest through its host slot (none: NotAvailable, −1), and its
 *     memory 0, re-read on every call since the guest may have grown it; i32 arguments are
 *     taken as uint32_t, so every guest pointer is bounds-checked in 64-bit arithmetic (−2);
 *   - counts the call in tensor_wasm_wasi_cuda_calls_total{function,result};
 *   - records the spans wasi_cuda.load_ptx, wasi_cuda.launch (+ its child wasi_cuda.dispatch)
 *     and wasi_cuda.sync as children of the thread's current span (tw_span_current(); none are
 *     recorded when there is none, e.g. under `tensor-wasm run`), with the status as the
 *     "result" attribute and the error flag set when it is negative — also without a GPU, where
 *     every call returns NotAvailable.
 *
 * Threads: the functions run on the thread that runs the instance. `sync` waits for the
 * instance's launches on that thread: it is not yet a suspension point (docs/gpu.md).
 */
#ifndef TW_GPU_GPU_BIND_H
#define TW_GPU_GPU_BIND_H

#include "core/err.h"
#include "wasm/twm.h"

/* The import module name. */
#define GPU_WASI_CUDA_MODULE "wasi_cuda"

/* The binding: module GPU_WASI_CUDA_MODULE, link = gpu_wasi_cuda_link, attach makes a
 * struct gpu_guest for the tenant, detach destroys it (waits for its launches, frees its device
 * memory, credits the quota). */
extern const struct twm_host_binding gpu_wasi_cuda_binding;

/* Define the nine functions in `l` under GPU_WASI_CUDA_MODULE. Errors of the linker. */
enum tw_err gpu_wasi_cuda_link(struct twm_linker *l);

/*
 * Describe the device to the metrics layer (tensor_wasm_gpu_device_info, memory total, device
 * count) and register a scrape-time collector for the permit gauges and the device memory in
 * use. Call once, after met_tw_init, from the composition root. Without a GPU only the
 * collector is registered (the gauges read 0 used, all permits available).
 */
void gpu_metrics_attach(void);

/*
 * The `gpu` object of /healthz details, as JSON text into buf (cap bytes, NUL-terminated):
 * {"present":true,"name":"...","compute_capability":"9.0","status":"<status line>"} or
 * {"present":false,"status":"none (<reason>)"}. Calls gpu_init(). Returns the length.
 */
size_t gpu_health_json(char *buf, size_t cap);

#endif
