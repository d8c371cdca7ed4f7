/*
 * limits.h — every bound in TensorWasm, with the reason for its value.
 *
 * Each limit can be overridden at configure time (CFLAGS=-DTW_...=N) and, where it says so, at run
 * time by a command-line flag or environment variable (see core/config.c). Relations between limits
 * are checked at compile time at the end of this file. Bounds protect the server from its inputs:
 * network bytes, module bytes and guest behaviour are all untrusted.
 */
#ifndef TW_CORE_LIMITS_H
#define TW_CORE_LIMITS_H

/* ---- workers ---------------------------------------------------------------------------- */

/* Most worker threads. One per CPU is the design; 256 covers the largest machines we target and
 * keeps per-core tables (metrics shards) statically sized. */
#ifndef TW_WORKERS_MAX
#define TW_WORKERS_MAX 256
#endif

/* io_uring submission queue entries per worker. Enough for a full batch of sends and re-armed
 * receives for many connections per loop turn; the completion ring is twice as large. */
#ifndef TW_RING_ENTRIES
#define TW_RING_ENTRIES 4096
#endif

/* Messages a worker's inbox holds. Cross-core messages are rare (deploys, GPU completions); a
 * full inbox is reported to the sender, who retries later. Must be a power of two. */
#ifndef TW_INBOX_SLOTS
#define TW_INBOX_SLOTS 1024
#endif

/* Timers one worker can have armed at once (per-connection deadlines are one each). */
#ifndef TW_TIMERS_MAX
#define TW_TIMERS_MAX 65536
#endif

/* How long shutdown waits for in-flight work before it stops the workers anyway. */
#ifndef TW_SHUTDOWN_GRACE_MS
#define TW_SHUTDOWN_GRACE_MS 10000
#endif

/* ---- HTTP ------------------------------------------------------------------------------- */

/* Open connections per worker; new ones beyond it are refused (closed at accept). 16k per core
 * keeps the slot table at a few MiB. Run time: --max-connections. */
#ifndef TW_HTTP_CONNS_PER_CORE
#define TW_HTTP_CONNS_PER_CORE 16384
#endif

/* Request line plus headers. nginx's default large_client_header_buffers is 4 x 8 KiB; 16 KiB
 * is generous for API clients and small enough to hold per connection. Over it: 431. */
#ifndef TW_HTTP_HEADER_BYTES_MAX
#define TW_HTTP_HEADER_BYTES_MAX (16 * 1024)
#endif

/* Headers per request. Over it: 431. */
#ifndef TW_HTTP_HEADERS_MAX
#define TW_HTTP_HEADERS_MAX 64
#endif

/* Request body. Modules are deployed in the body, so this is the module size cap plus JSON and
 * base64 overhead room. Over it: 413. Run time: --max-body-bytes. */
#ifndef TW_HTTP_BODY_BYTES_MAX
#define TW_HTTP_BODY_BYTES_MAX (64u * 1024 * 1024)
#endif

/* Time to receive a whole request head (slowloris defence): 408 then close. */
#ifndef TW_HTTP_HEADER_TIMEOUT_MS
#define TW_HTTP_HEADER_TIMEOUT_MS 10000
#endif

/* Idle keep-alive connections are closed after this. */
#ifndef TW_HTTP_IDLE_TIMEOUT_MS
#define TW_HTTP_IDLE_TIMEOUT_MS 60000
#endif

/* A client that stops reading its response is cut off after this. */
#ifndef TW_HTTP_WRITE_TIMEOUT_MS
#define TW_HTTP_WRITE_TIMEOUT_MS 30000
#endif

/* Provided receive buffers per worker and their size. Buffers go back to the ring as soon as
 * their bytes are parsed, so they are shared by all of a worker's connections: 1024 x 4 KiB
 * (4 MiB per worker) covers a full batch of completions even with thousands of busy clients. */
#ifndef TW_HTTP_RECV_BUFS
#define TW_HTTP_RECV_BUFS 1024
#endif
#ifndef TW_HTTP_RECV_BUF_BYTES
#define TW_HTTP_RECV_BUF_BYTES 4096
#endif

/* Output buffered per connection before it grows: room for 16 pipelined small responses many
 * times over. Larger responses grow it on demand up to TW_HTTP_RESPONSE_BYTES_MAX. */
#ifndef TW_HTTP_OUT_BYTES
#define TW_HTTP_OUT_BYTES (16 * 1024)
#endif

/* Largest single response the server will buffer (metrics scrapes, invoke results). */
#ifndef TW_HTTP_RESPONSE_BYTES_MAX
#define TW_HTTP_RESPONSE_BYTES_MAX (64u * 1024 * 1024)
#endif

/* Bytes a connection holds while it is not parsing (a handler is pending or its output is
 * backed up). Reading stops at half of it; a client that overruns the rest is cut off. */
#ifndef TW_HTTP_STASH_BYTES
#define TW_HTTP_STASH_BYTES (32 * 1024)
#endif

/* Request bodies up to this size live in the connection's own buffer; larger ones are
 * allocated once, when the headers announce them. */
#ifndef TW_HTTP_INLINE_BODY_BYTES
#define TW_HTTP_INLINE_BODY_BYTES (8 * 1024)
#endif

/* Route templates per server, segments per template and parameters per route: the API has a
 * dozen routes with at most two parameters. */
#ifndef TW_HTTP_ROUTES_MAX
#define TW_HTTP_ROUTES_MAX 64
#endif
#ifndef TW_HTTP_ROUTE_SEGMENTS_MAX
#define TW_HTTP_ROUTE_SEGMENTS_MAX 16
#endif
#ifndef TW_HTTP_ROUTE_PARAMS_MAX
#define TW_HTTP_ROUTE_PARAMS_MAX 8
#endif

/* After a final response (errors, Connection: close) unread input is drained this long before
 * the socket closes, so the client reads the response instead of a reset. */
#ifndef TW_HTTP_LINGER_MS
#define TW_HTTP_LINGER_MS 2000
#endif

/* ---- WebAssembly ------------------------------------------------------------------------ */

/* Module bytes accepted at deploy and by the decoder. */
#ifndef TW_WASM_MODULE_BYTES_MAX
#define TW_WASM_MODULE_BYTES_MAX (64u * 1024 * 1024)
#endif

/* Linear memory pages (64 KiB) one instance may have: 16384 pages = 1 GiB. Run time:
 * --max-memory-pages. */
#ifndef TW_WASM_PAGES_MAX
#define TW_WASM_PAGES_MAX 16384
#endif

/* Nested calls, host and guest together. Deep enough for recursive C programs, shallow enough
 * that the interpreter's frame stack stays a few MiB per instance. */
#ifndef TW_WASM_CALL_DEPTH_MAX
#define TW_WASM_CALL_DEPTH_MAX 10000
#endif

/* Parameters or results of one function type. The spec sets no bound; 1000 covers every real
 * program and keeps per-call copies and type checks small. */
#ifndef TW_WASM_PARAMS_MAX
#define TW_WASM_PARAMS_MAX 1000
#endif

/* GPU waits queued on the completion thread at once (suspended wasi_cuda syncs across all
 * workers). Each is one event; a full queue makes a sync wait on its worker instead. */
#ifndef TW_GPU_COMPLETION_QUEUE
#define TW_GPU_COMPLETION_QUEUE 1024
#endif

/* Tries (100 us apart, so 1 s in all) to post a GPU completion to a worker whose inbox is
 * full. The inbox drains every loop turn; a second of full inbox means the worker is stuck. */
#ifndef TW_API_GPU_POST_TRIES
#define TW_API_GPU_POST_TRIES 10000
#endif

/* Results a host function that suspends the call (twm_ctx_suspend) may have: they are kept in
 * the instance until the call resumes. Host functions return a status or a handle; 8 leaves
 * room, and a function with more simply cannot suspend. */
#ifndef TW_WASM_HOST_PEND_RESULTS_MAX
#define TW_WASM_HOST_PEND_RESULTS_MAX 8
#endif

/* Functions, tables and globals in one module's index spaces (imports included). Real modules
 * have tens of thousands of functions at most; the caps bound per-instance arrays. */
#ifndef TW_WASM_FUNCS_MAX
#define TW_WASM_FUNCS_MAX 1000000
#endif
#ifndef TW_WASM_TABLES_MAX
#define TW_WASM_TABLES_MAX 100000
#endif
#ifndef TW_WASM_GLOBALS_MAX
#define TW_WASM_GLOBALS_MAX 1000000
#endif

/* Locals of one function, params included. Each is a 64-bit frame slot zeroed on every call, so
 * a huge count is both a memory and a time attack. 50000 is what other engines accept. */
#ifndef TW_WASM_LOCALS_MAX
#define TW_WASM_LOCALS_MAX 50000
#endif

/* Operand stack depth and block nesting inside one function, checked by the validator. */
#ifndef TW_WASM_OPERANDS_MAX
#define TW_WASM_OPERANDS_MAX 65536
#endif
#ifndef TW_WASM_NESTING_MAX
#define TW_WASM_NESTING_MAX 65536
#endif

/* Internal code cells (4 bytes) one function may compile to. Code is a small multiple of the
 * bytecode except for br_table stubs; this caps that blow-up. */
#ifndef TW_WASM_ICODE_CELLS_MAX
#define TW_WASM_ICODE_CELLS_MAX (16u * 1024 * 1024)
#endif
/* ... and all functions of one module together: one block, in which a call names its callee
 * by a signed 32-bit cell offset. */
#ifndef TW_WASM_MODULE_ICODE_CELLS_MAX
#define TW_WASM_MODULE_ICODE_CELLS_MAX (64u * 1024 * 1024)
#endif

/* Value-stack slots (8 bytes) of one instance: every frame's params, locals and operands of the
 * calls in progress. 1M slots = 8 MiB of address space, touched only as deep as calls go. */
#ifndef TW_WASM_STACK_SLOTS
#define TW_WASM_STACK_SLOTS (1024u * 1024)
#endif

/* Elements of one table. Tables hold one pointer per element; 10M is 80 MiB. */
#ifndef TW_WASM_TABLE_ELEMS_MAX
#define TW_WASM_TABLE_ELEMS_MAX 10000000
#endif

/* Fuel units in one execution slice before the guest yields to the worker. About 100 µs of
 * interpretation: short enough that one guest never starves the core's other connections. */
#ifndef TW_WASM_FUEL_PER_SLICE
#define TW_WASM_FUEL_PER_SLICE 1000000
#endif

/* Default per-call deadline, and the most a request may ask for. */
#ifndef TW_INVOKE_DEADLINE_MS
#define TW_INVOKE_DEADLINE_MS 30000
#endif

/* Arguments and results of an invoke. */
#ifndef TW_INVOKE_ARGS_MAX
#define TW_INVOKE_ARGS_MAX 64
#endif

/* ---- GPU and JIT ------------------------------------------------------------------------ */

/* Kernels one instance may load through wasi_cuda_load_ptx. */
#ifndef TW_GPU_KERNELS_PER_INSTANCE
#define TW_GPU_KERNELS_PER_INSTANCE 64
#endif

/* PTX text a guest may hand us. */
#ifndef TW_GPU_PTX_BYTES_MAX
#define TW_GPU_PTX_BYTES_MAX (1024 * 1024)
#endif

/* Launches in flight per process: the back-pressure permits. */
#ifndef TW_GPU_PERMITS
#define TW_GPU_PERMITS 64
#endif

/* PTX text one emitted module may have. A blueprint kernel is a few KiB; a module holding every
 * built-in blueprint of one element type stays well under this. */
#ifndef TW_JIT_PTX_BYTES_MAX
#define TW_JIT_PTX_BYTES_MAX (1024 * 1024)
#endif

/* Blueprints the emitted-PTX cache holds. Loops worth offloading are few per module; a full
 * cache refuses new entries (the loop then runs in the interpreter) rather than evicting. */
#ifndef TW_JIT_CACHE_ENTRIES
#define TW_JIT_CACHE_ENTRIES 1024
#endif

/* Symbolic values one loop iteration may create during offload analysis. A data-parallel loop
 * body, even unrolled eight times by clang -O2, is a few dozen operations; bigger bodies are not
 * worth matching and are rejected as too complex. */
#ifndef TW_JIT_LOOP_NODES_MAX
#define TW_JIT_LOOP_NODES_MAX 1024
#endif

/* Operand stack depth the analysis follows inside one loop body (same reasoning). */
#ifndef TW_JIT_LOOP_STACK_MAX
#define TW_JIT_LOOP_STACK_MAX 64
#endif

/* Loops analysed per module; the rest are reported as not analysed. Generated code with more
 * loops than this is not the data-parallel kind the offloader targets. */
#ifndef TW_JIT_LOOPS_MAX
#define TW_JIT_LOOPS_MAX 65536
#endif

/* Elements below which `--offload=host` leaves a loop to the interpreter: under a few dozen
 * elements the dispatch checks cost about as much as interpreting (measured in
 * docs/PERFORMANCE.md). Overridden by --offload-min-elements. */
#ifndef TW_OFFLOAD_HOST_MIN_ELEMENTS
#define TW_OFFLOAD_HOST_MIN_ELEMENTS 32
#endif

/* Cost model for `auto` / `gpu` (ns). A launch plus its synchronisation costs ~20 us on the
 * driver API; transfers run at ~10 GB/s over PCIe for pageable memory (0.1 ns per byte); the
 * interpreter spends ~4 ns per wasm instruction of a loop body. A loop goes to the GPU when the
 * interpreter's estimate exceeds launch + transfers. Figures to re-measure on each GPU host. */
#ifndef TW_OFFLOAD_GPU_LAUNCH_NS
#define TW_OFFLOAD_GPU_LAUNCH_NS 20000
#endif
#ifndef TW_OFFLOAD_GPU_PS_PER_BYTE
#define TW_OFFLOAD_GPU_PS_PER_BYTE 100
#endif
#ifndef TW_OFFLOAD_INTERP_PS_PER_OP
#define TW_OFFLOAD_INTERP_PS_PER_OP 4000
#endif

/* Device allocations one instance may hold through wasi_cuda_alloc. */
#ifndef TW_GPU_ALLOCS_PER_INSTANCE
#define TW_GPU_ALLOCS_PER_INSTANCE 256
#endif

/* Kernel arguments in one wasi_cuda_launch argv; CUDA itself caps parameter space at 4 KiB. */
#ifndef TW_GPU_KERNEL_ARGS_MAX
#define TW_GPU_KERNEL_ARGS_MAX 32
#endif

/* Grid and block bounds a guest may ask for: CUDA's own limits for compute capability 3.0+
 * (block: 1024 threads, z <= 64; grid: x < 2^31, y and z <= 65535). */
#ifndef TW_GPU_BLOCK_THREADS_MAX
#define TW_GPU_BLOCK_THREADS_MAX 1024
#endif
#ifndef TW_GPU_SHARED_BYTES_MAX
#define TW_GPU_SHARED_BYTES_MAX (48 * 1024)
#endif

/* Tenants the GPU memory accounting tracks at once; beyond it new tenants are refused GPU
 * memory (a bounded table, no allocation on the launch path). */
#ifndef TW_GPU_TENANTS_MAX
#define TW_GPU_TENANTS_MAX 1024
#endif

/* Device memory one tenant may hold at once, enforced before every allocation. */
#ifndef TW_GPU_TENANT_MEM_BYTES
#define TW_GPU_TENANT_MEM_BYTES (1024ull * 1024 * 1024)
#endif

/* Bytes of the last driver error (JIT log included) kept per guest instance. */
#ifndef TW_GPU_ERROR_BYTES_MAX
#define TW_GPU_ERROR_BYTES_MAX 4096
#endif

/* ---- metrics ---------------------------------------------------------------------------- */

/* Series across all families. Label sets are fixed at start-up, so this bounds scrape size. */
#ifndef TW_METRIC_SERIES_MAX
#define TW_METRIC_SERIES_MAX 8192
#endif

/* Route templates the HTTP metrics know (the router's table). Each (route, method) row times the
 * status codes the metrics distinguish (36) is a series of the request counter and of the latency
 * histogram, so this bounds the biggest families. */
#ifndef TW_METRIC_ROUTES_MAX
#define TW_METRIC_ROUTES_MAX 64
#endif

/* Tenants that get their own label value in per-tenant families; later ones are counted under
 * tenant="other". Tenants are few per server in practice; a bound keeps a tenant-creation loop
 * from exploding the series count. */
#ifndef TW_METRIC_TENANTS_MAX
#define TW_METRIC_TENANTS_MAX 64
#endif

/* JIT blueprints with their own label value in tensor_wasm_jit_emit_text_seconds; later ones are
 * counted under blueprint="other". */
#ifndef TW_METRIC_BLUEPRINTS_MAX
#define TW_METRIC_BLUEPRINTS_MAX 64
#endif

/* GPU devices described by tensor_wasm_gpu_device_info. */
#ifndef TW_METRIC_GPU_DEVICES_MAX
#define TW_METRIC_GPU_DEVICES_MAX 16
#endif

/* ---- logging ---------------------------------------------------------------------------- */

/* One formatted log line; longer ones are cut and marked. */
#ifndef TW_LOG_LINE_BYTES_MAX
#define TW_LOG_LINE_BYTES_MAX 2048
#endif

/* ---- benchmarks ------------------------------------------------------------------------- */

/* Samples one wall-clock benchmark run may take (--samples). Criterion's 100 is plenty for a
 * slope and its bootstrap; a cap keeps the JSON files and the resampling cost small. */
#ifndef TW_BENCH_SAMPLES_MAX
#define TW_BENCH_SAMPLES_MAX 1000
#endif

/* Bootstrap resamples per interval (--resamples). 100k costs well under a second at the sample
 * cap; more adds nothing visible at two significant digits. */
#ifndef TW_BENCH_RESAMPLES_MAX
#define TW_BENCH_RESAMPLES_MAX 100000
#endif

/* Single-iteration latency samples one benchmark may ask for (.latency_samples): enough for a
 * p99.99 with a hundred samples above it, at 8 bytes each. */
#ifndef TW_BENCH_LATENCY_SAMPLES_MAX
#define TW_BENCH_LATENCY_SAMPLES_MAX 1000000
#endif

/* Longest benchmark id; ids become paths under build/bench/. */
#ifndef TW_BENCH_ID_BYTES_MAX
#define TW_BENCH_ID_BYTES_MAX 128
#endif

/* ---- WASI -------------------------------------------------------------------------------- */

/* Arguments, and environment variables, one guest may be given. */
#ifndef TW_WASI_ARGS_MAX
#define TW_WASI_ARGS_MAX 4096
#endif

/* Bytes of arguments and environment together (with their NULs): Linux's ARG_MAX default. */
#ifndef TW_WASI_ARGS_BYTES_MAX
#define TW_WASI_ARGS_BYTES_MAX (2u * 1024 * 1024)
#endif

/* Output one captured stream (stdout or stderr kept in memory) holds; bytes past it are dropped
 * and counted. A response body is built from it, so it matches the request body cap. */
#ifndef TW_WASI_CAPTURE_BYTES_MAX
#define TW_WASI_CAPTURE_BYTES_MAX (64u * 1024 * 1024)
#endif

/* ---- relations -------------------------------------------------------------------------- */

/* ---- function API ------------------------------------------------------------------------ */

/* Token bucket per (token, tenant): a short burst for interactive use, a steady rate that one
 * client cannot turn into a denial of service for the others. */
#ifndef TW_API_RATE_BURST
#define TW_API_RATE_BURST 20
#endif
#ifndef TW_API_RATE_PER_SECOND
#define TW_API_RATE_PER_SECOND 10
#endif

/* Live guest instances: each reserves address space for its memory and a frame stack, so the
 * whole server and each tenant get a ceiling (503 capacity_exhausted above). */
#ifndef TW_API_INSTANCES_MAX
#define TW_API_INSTANCES_MAX 4096
#endif
#ifndef TW_API_TENANT_INSTANCES_MAX
#define TW_API_TENANT_INSTANCES_MAX 1024
#endif

/* Deployed functions held in the registry; its open-addressing table has twice as many slots
 * so probes stay short even with tombstones. */
#ifndef TW_API_FUNCTIONS_MAX
#define TW_API_FUNCTIONS_MAX 16384
#endif

/* Tenants whose instance and job counters are tracked one by one; further tenants share an
 * overflow slot (their limits still hold, counted together). */
#ifndef TW_API_TENANTS_TRACKED
#define TW_API_TENANTS_TRACKED 1024
#endif

/* Calls (sync and async) running at once on one worker: each holds an instance and a state
 * block; beyond it new calls get 503. */
#ifndef TW_API_CALLS_PER_CORE
#define TW_API_CALLS_PER_CORE 1024
#endif

/* Instance pools per worker: functions with reusable instances kept, and instances kept per
 * function (about the calls one core runs at once for one function). */
#ifndef TW_API_POOL_FUNCTIONS
#define TW_API_POOL_FUNCTIONS 64
#endif
#ifndef TW_API_POOL_PER_FUNCTION
#define TW_API_POOL_PER_FUNCTION 8
#endif

/* Async jobs not yet finished, server-wide (kept in memory until they finish). */
#ifndef TW_API_JOBS_ACTIVE_MAX
#define TW_API_JOBS_ACTIVE_MAX 4096
#endif

/* Finished jobs are kept a day and at most this many, so the store cannot grow without end. */
#ifndef TW_API_JOB_TTL_S
#define TW_API_JOB_TTL_S 86400
#endif
#ifndef TW_API_JOBS_KEPT_MAX
#define TW_API_JOBS_KEPT_MAX 100000
#endif

/* Requests queued for the store thread (deploys, deletes, job writes and reads). */
#ifndef TW_API_STORE_QUEUE_MAX
#define TW_API_STORE_QUEUE_MAX 8192
#endif

/* One page of GET /functions. */
#ifndef TW_API_LIST_LIMIT_MAX
#define TW_API_LIST_LIMIT_MAX 1000
#endif

_Static_assert((TW_INBOX_SLOTS & (TW_INBOX_SLOTS - 1)) == 0, "inbox slots: power of two");
_Static_assert(TW_HTTP_BODY_BYTES_MAX >= TW_WASM_MODULE_BYTES_MAX,
	       "a module must fit in a request body");
_Static_assert(TW_WASM_PAGES_MAX <= 65536, "wasm32 has at most 65536 pages");
_Static_assert(TW_WASM_MODULE_ICODE_CELLS_MAX <= 0x7fffffffu &&
		       TW_WASM_ICODE_CELLS_MAX <= TW_WASM_MODULE_ICODE_CELLS_MAX,
	       "a call's callee is a signed 32-bit cell offset within the module's code");
_Static_assert(TW_HTTP_HEADER_TIMEOUT_MS <= TW_HTTP_IDLE_TIMEOUT_MS,
	       "a request head must not be given longer than an idle connection");
_Static_assert(TW_WORKERS_MAX >= 1, "at least one worker");
_Static_assert((TW_METRIC_ROUTES_MAX + 8) * 36 * 2 + TW_METRIC_ROUTES_MAX + 8 +
		       6 * (TW_METRIC_TENANTS_MAX + 1) + TW_METRIC_BLUEPRINTS_MAX + 1 +
		       TW_METRIC_GPU_DEVICES_MAX + 64 <= TW_METRIC_SERIES_MAX,
	       "metrics: the families' label sets must fit in the series bound");
_Static_assert(TW_BENCH_SAMPLES_MAX >= 10, "a slope needs a handful of samples");
_Static_assert(TW_GPU_PERMITS >= 1, "at least one GPU launch in flight");
_Static_assert(TW_GPU_KERNEL_ARGS_MAX <= 256, "kernel parameter space is 4 KiB");
_Static_assert(TW_GPU_PTX_BYTES_MAX <= TW_JIT_PTX_BYTES_MAX * 16, "PTX sizes of one order");
_Static_assert((TW_HTTP_RECV_BUFS & (TW_HTTP_RECV_BUFS - 1)) == 0 && TW_HTTP_RECV_BUFS <= 32768,
	       "provided-buffer rings: power of two, at most 32768 entries");
_Static_assert(TW_HTTP_STASH_BYTES >= 4 * TW_HTTP_RECV_BUF_BYTES,
	       "the stash must absorb the receives in flight when reading stops");
_Static_assert(TW_HTTP_RESPONSE_BYTES_MAX >= TW_HTTP_OUT_BYTES, "responses fit their buffer");
_Static_assert(TW_WASM_LOCALS_MAX + TW_WASM_OPERANDS_MAX < TW_WASM_STACK_SLOTS,
	       "one frame of the largest function must fit on the value stack");

_Static_assert(TW_API_TENANT_INSTANCES_MAX <= TW_API_INSTANCES_MAX,
	       "a tenant cannot have more instances than the server");
_Static_assert(TW_API_RATE_BURST >= 1 && TW_API_RATE_BURST <= 65535, "burst fits the bucket");

/* Per-instance host slots (wasm/twm.h): one for each binding that keeps per-instance state beside
 * WASI's user pointer (wasi_cuda today). A handful leaves room for more bindings while a lookup
 * stays a scan of a few words on every host call. */
#ifndef TW_WASM_HOST_SLOTS_MAX
#define TW_WASM_HOST_SLOTS_MAX 4
#endif
/* A guest kernel's entry name as kept for traces (span attributes are cut at 63 bytes anyway). */
#ifndef TW_GPU_KERNEL_NAME_BYTES
#define TW_GPU_KERNEL_NAME_BYTES 64
#endif
_Static_assert(TW_WASM_HOST_SLOTS_MAX >= 1 && TW_WASM_HOST_SLOTS_MAX <= 16,
	       "host slots are scanned linearly on every host call");

#endif
