/*
 * gpu_abi.h — the `wasi_cuda_*` guest ABI: host functions for guests that bring their own PTX.
 *
 * Each function is plain C over the calling instance's state (struct gpu_guest), a view of its
 * linear memory, and the wasm arguments (i32 arguments arrive as uint32_t, as wasm passes them).
 * The engine binding registers them as imports of module "wasi_cuda" with these wasm types:
 *
 *   load_ptx(ptx_ptr i32, ptx_len i32, entry_ptr i32, entry_len i32) -> i64   kernel handle
 *   launch(kernel i64, gx i32, gy i32, gz i32, bx i32, by i32, bz i32, shared_mem i32,
 *          args_ptr i32, args_len i32) -> i32
 *   sync() -> i32
 *   last_error_len() -> i32
 *   last_error_copy(dst_ptr i32, dst_len i32) -> i32                          bytes copied
 *   alloc(size_lo i32, size_hi i32) -> i64                                    buffer handle
 *   free(buffer i64) -> i32
 *   memcpy_h2d(dst_buffer i64, src_ptr i32, len i32) -> i32
 *   memcpy_d2h(dst_ptr i32, src_buffer i64, len i32) -> i32
 *
 * Results >= 0 are success (a handle, a length, or 0); negative results are the GPU_CUDA_*
 * codes below. Without a GPU every call returns GPU_CUDA_NOT_AVAILABLE (-1). Every guest
 * pointer is bounds-checked against the memory view before use; guest bytes never cause a
 * crash, only an error code. Handles are opaque (slot and generation), never device addresses.
 *
 * Kernel arguments (launch's args_ptr/args_len) are records of a tag byte followed by a
 * little-endian value, packed without padding:
 *   0x01 i32 (4 bytes)   0x02 i64 (8)   0x03 f32 (4)   0x04 f64 (8)
 *   0x05 buffer handle from alloc (8), passed to the kernel as its device address
 *   0x06 reserved: GPU_CUDA_KERNEL_ARGS_UNSUPPORTED
 *   0x07 guest memory: u32 offset + u32 length (8), bounds-checked; the region is copied to a
 *        temporary device buffer, the kernel gets its address, and after the kernel finishes
 *        (launch then waits) the region is copied back into guest memory.
 * Any other tag, a truncated record, or more than TW_GPU_KERNEL_ARGS_MAX records is
 * GPU_CUDA_INVALID_ARGS.
 *
 * Limits (core/limits.h): PTX size TW_GPU_PTX_BYTES_MAX, kernels per instance
 * TW_GPU_KERNELS_PER_INSTANCE, allocations per instance TW_GPU_ALLOCS_PER_INSTANCE, device memory
 * per tenant (gpu_admit.h), grid and block dimensions and shared memory (CUDA's limits).
 *
 * Threads: a gpu_guest belongs to its instance, which runs on one worker at a time.
 */
#ifndef TW_GPU_ABI_H
#define TW_GPU_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "gpu/gpu_completion.h"

enum gpu_cuda_status {
	GPU_CUDA_OK = 0,
	GPU_CUDA_NOT_AVAILABLE = -1,
	GPU_CUDA_INVALID_POINTER = -2,
	GPU_CUDA_INVALID_KERNEL = -3,
	GPU_CUDA_MALFORMED_PTX = -4,
	GPU_CUDA_LAUNCH_FAILED = -5,
	GPU_CUDA_QUOTA_EXCEEDED = -6,
	GPU_CUDA_INTERNAL = -7,
	GPU_CUDA_INVALID_DIMENSIONS = -8,
	GPU_CUDA_INVALID_ARGS = -9,
	GPU_CUDA_KERNEL_ARGS_UNSUPPORTED = -10,
};

/* Stable name of a status ("invalid_pointer"); "unknown" otherwise. */
const char *gpu_cuda_status_str(int32_t status);

/* The calling instance's linear memory, borrowed for one call. */
struct gpu_guest_mem {
	uint8_t *base;
	uint64_t size;
};

enum gpu_cuda_arg_tag {
	GPU_ARG_I32 = 0x01,
	GPU_ARG_I64 = 0x02,
	GPU_ARG_F32 = 0x03,
	GPU_ARG_F64 = 0x04,
	GPU_ARG_BUFFER = 0x05,
	GPU_ARG_RESERVED = 0x06,
	GPU_ARG_PTR = 0x07,
};

struct gpu_cuda_arg {
	uint8_t tag; /* enum gpu_cuda_arg_tag */
	union {
		int32_t i32;
		int64_t i64;
		float f32;
		double f64;
		int64_t buffer;
		struct {
			uint32_t offset, len;
		} ptr;
	} v;
};

/*
 * Parse the argv records at [args_ptr, args_ptr + args_len) of guest memory into out (cap
 * entries). Returns the number of arguments (>= 0) or a negative GPU_CUDA_* status:
 * INVALID_POINTER (the records or a 0x07 region lie outside memory), INVALID_ARGS (unknown tag,
 * truncated record, too many), KERNEL_ARGS_UNSUPPORTED (reserved tag). Pure; any input is safe.
 */
int32_t gpu_cuda_argv_parse(struct gpu_guest_mem m, uint32_t args_ptr, uint32_t args_len,
			    struct gpu_cuda_arg *out, size_t cap);

/* GPU_CUDA_OK when a launch shape is within limits, else GPU_CUDA_INVALID_DIMENSIONS. */
int32_t gpu_cuda_check_dims(uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx, uint32_t by,
			    uint32_t bz, uint32_t shared_mem);

struct gpu_guest;

/* Per-instance state, charged to `tenant`'s quota. TW_ERR_NOMEM. Works without a GPU (every
 * call then returns GPU_CUDA_NOT_AVAILABLE). */
enum tw_err gpu_guest_create(struct gpu_guest **out, uint64_t tenant);

/* Waits for the instance's launches, frees its device memory (crediting the quota), unloads its
 * modules. */
void gpu_guest_destroy(struct gpu_guest *g);

int64_t gpu_wasi_cuda_load_ptx(struct gpu_guest *g, struct gpu_guest_mem m, uint32_t ptx_ptr,
			       uint32_t ptx_len, uint32_t entry_ptr, uint32_t entry_len);
int32_t gpu_wasi_cuda_launch(struct gpu_guest *g, struct gpu_guest_mem m, int64_t kernel,
			     uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx, uint32_t by,
			     uint32_t bz, uint32_t shared_mem, uint32_t args_ptr, uint32_t args_len);
/* Wall-clock times (tw_wall_ns) of a launch's dispatch: from asking for a permit to the kernel
 * submitted (and, with 0x07 arguments, copied back). `attempted` is false when the call failed
 * before (bad handle, dimensions or arguments). Without a GPU the dispatch is refused at once:
 * attempted, begin == end. */
struct gpu_dispatch_times {
	bool attempted;
	uint64_t begin_unix_ns, end_unix_ns;
};

/* gpu_wasi_cuda_launch that also reports its dispatch times into *t (may be NULL). */
int32_t gpu_wasi_cuda_launch_timed(struct gpu_guest *g, struct gpu_guest_mem m, int64_t kernel,
				   uint32_t gx, uint32_t gy, uint32_t gz, uint32_t bx,
				   uint32_t by, uint32_t bz, uint32_t shared_mem,
				   uint32_t args_ptr, uint32_t args_len,
				   struct gpu_dispatch_times *t);

/* The entry name a kernel handle was loaded with (borrowed from g, valid until the kernel's
 * instance is destroyed), NULL for an unknown handle. */
const char *gpu_guest_kernel_name(struct gpu_guest *g, int64_t kernel);

/* Waits for the instance's launches, blocking the caller. The binding (gpu_bind.h) uses the
 * two halves below instead where the embedder resumes suspended calls, so that the guest
 * waits and the worker does not. */
int32_t gpu_wasi_cuda_sync(struct gpu_guest *g);

/* Sync in two halves, for a caller that waits elsewhere (gpu_completion). begin records the
 * instance's event after its launches into *ev (borrowed from g, valid until end) and returns
 * GPU_CUDA_OK, or a negative status; *ev is NULL when there is nothing to wait for (no launch
 * yet) or on failure, and then end must not be called. end, after the event's wait returned
 * `waited`: releases the launches' permits, counts their latency, returns the sync status. */
int32_t gpu_wasi_cuda_sync_begin(struct gpu_guest *g, struct gpu_event **ev);
int32_t gpu_wasi_cuda_sync_end(struct gpu_guest *g, enum tw_err waited);

/* Where the instance's waits go when its embedder resumes suspended calls (gpu_bind.h): the
 * completion queue and the done callback (with its argument) that reaches the instance's
 * thread. Without one (completion NULL) waits block the calling thread. */
struct gpu_route {
	struct gpu_completion *completion;
	gpu_done_fn done;
	void *done_arg;
};
void gpu_guest_set_route(struct gpu_guest *g, const struct gpu_route *r);
/* Wall-clock time (tw_wall_ns) of the last sync_begin that recorded an event. */
uint64_t gpu_guest_sync_began_unix_ns(const struct gpu_guest *g);
/* The route, NULL when none is set. */
const struct gpu_route *gpu_guest_route(const struct gpu_guest *g);
int32_t gpu_wasi_cuda_last_error_len(struct gpu_guest *g);
int32_t gpu_wasi_cuda_last_error_copy(struct gpu_guest *g, struct gpu_guest_mem m, uint32_t dst_ptr,
				      uint32_t dst_len);
int64_t gpu_wasi_cuda_alloc(struct gpu_guest *g, uint32_t size_lo, uint32_t size_hi);
int32_t gpu_wasi_cuda_free(struct gpu_guest *g, int64_t buffer);
int32_t gpu_wasi_cuda_memcpy_h2d(struct gpu_guest *g, struct gpu_guest_mem m, int64_t dst_buffer,
				 uint32_t src_ptr, uint32_t len);
int32_t gpu_wasi_cuda_memcpy_d2h(struct gpu_guest *g, struct gpu_guest_mem m, uint32_t dst_ptr,
				 int64_t src_buffer, uint32_t len);

#endif
