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
 * Threads: the functions run on the thread that runs the instance. `sync` is a suspension
 * point where the embedder set a route (below); elsewhere it waits on that thread.
 */
#ifndef TW_GPU_GPU_BIND_H
#define TW_GPU_GPU_BIND_H

#include "core/err.h"
#include "gpu/gpu_abi.h"
#include "wasm/twm.h"

/* The import module name. */
#define GPU_WASI_CUDA_MODULE "wasi_cuda"

/* The binding: module GPU_WASI_CUDA_MODULE, link = gpu_wasi_cuda_link, attach makes a
 * struct gpu_guest for the tenant, detach destroys it (waits for its launches, frees its device
 * memory, credits the quota). */
extern const struct twm_host_binding gpu_wasi_cuda_binding;

/*
 * Suspending sync. An embedder that drives calls with twm_call_run and can resume them (the
 * HTTP function API) sets a route on each instance's slot after attach: the completion queue
 * (gpu_wasi_cuda_completion()) and a done callback that reaches the instance's thread (for a
 * worker: post to its inbox, which wakes it through its eventfd). With a route and a GPU,
 * `sync` records an event after the instance's launches, submits it, and suspends the call
 * (twm_ctx_suspend; twm_call_run returns TW_ERR_WASM_PENDING). When the done callback has
 * brought `waited` to the instance's thread, gpu_wasi_cuda_resume() turns it into sync's
 * status (releasing the launches' permits) and supplies it as the call's result; the embedder
 * then runs the call again. The instance and its slot must stay alive until done has run,
 * even when the call is abandoned (the event is borrowed from the slot's state).
 * Without a GPU or a route, or when the call cannot suspend (twm_invoke, a start function) or
 * the queue is full, sync waits on the calling thread as before (returns −1 at once without a
 * GPU). The `tensor-wasm run` CLI sets no route: it is synchronous and simply waits.
 */
void gpu_wasi_cuda_set_route(struct twm_host_slot *slot, const struct gpu_route *r);
enum tw_err gpu_wasi_cuda_resume(struct twm_host_slot *slot, struct twm_instance *inst,
				 enum tw_err waited);

/* The process-wide completion queue and thread, started on first use; NULL without a GPU (or
 * when the thread cannot start). Lives until the process exits. Any thread. */
struct gpu_completion *gpu_wasi_cuda_completion(void);

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
