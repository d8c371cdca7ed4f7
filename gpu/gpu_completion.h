/*
 * gpu_completion.h — delivers GPU completions to workers without a worker ever blocking.
 *
 * A worker launches asynchronously, records an event after its work and submits the event here
 * with a callback. One completion thread waits on submitted items in order (cuEventSynchronize
 * on a thread that does nothing else) and then calls the callback on that thread. The callback
 * must only hand the result over, never do the work: the intended hook for core/worker is a
 * callback that posts a message to the owning worker's inbox ring and writes its eventfd, which
 * the worker's io_uring is reading, so the worker resumes the suspended guest on its own core.
 * gpu_completion_notify_eventfd() is such a callback for the simplest case (an eventfd per
 * waiter).
 *
 * The queue is bounded (capacity given at start); a full queue is a normal return (TW_ERR_FULL)
 * and the caller falls back (synchronous wait in tools, the interpreter in the server). The
 * queue is guarded by one mutex held for a few instructions per submit: launches are far rarer
 * than requests. Items complete in submission order, which matches one stream's order.
 *
 * Generic items (a wait function instead of an event) let the machinery be used and tested
 * without a GPU.
 */
#ifndef TW_GPU_COMPLETION_H
#define TW_GPU_COMPLETION_H

#include "core/err.h"
#include "gpu/gpu_driver.h"

struct gpu_completion;

/* Called on the completion thread with the wait's result. */
typedef void (*gpu_done_fn)(void *arg, enum tw_err result);
/* Blocks until the work is done; runs on the completion thread. */
typedef enum tw_err (*gpu_wait_fn)(void *arg);

/* Start the thread. capacity: items queued at most (>= 1). TW_ERR_NOMEM, TW_ERR_SYSTEM. */
enum tw_err gpu_completion_start(struct gpu_completion **out, unsigned capacity);

/* Stop: items already queued are still waited on and their callbacks called, then the thread
 * is joined and everything freed. No submit may race with it. */
void gpu_completion_stop(struct gpu_completion *c);

/* Queue a wait. TW_ERR_OK, TW_ERR_FULL (queue full), TW_ERR_SHUTDOWN (stopping). Any thread. */
enum tw_err gpu_completion_submit(struct gpu_completion *c, gpu_wait_fn wait, void *wait_arg,
				  gpu_done_fn done, void *done_arg);

/* Queue a recorded event (borrowed until done is called; the thread binds the GPU context). */
enum tw_err gpu_completion_submit_event(struct gpu_completion *c, struct gpu_event *ev,
					gpu_done_fn done, void *done_arg);

/* A done callback that writes 1 to the eventfd whose number is (int)(intptr_t)arg. */
void gpu_completion_notify_eventfd(void *arg, enum tw_err result);

#endif
