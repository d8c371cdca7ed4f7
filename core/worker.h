/*
 * worker.h — the per-core worker: one thread, one io_uring, timers and a message inbox.
 *
 * A worker group runs N threads, each optionally pinned to its CPU. Each thread owns one io_uring
 * created on that thread (IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them),
 * a min-heap of timers and a bounded inbox that any thread may post to. Everything a worker owns
 * is touched only by its own thread, except the inbox and the shutdown flag.
 *
 * Completion dispatch: every SQE a subsystem submits carries, as user_data, a pointer to a
 * `struct tw_op` embedded in the subsystem's own struct (a connection, a listener). The loop calls
 * op->complete for each CQE. user_data 0 is never dispatched: use it for SQEs whose completion
 * nobody needs (cancellations, fire-and-forget closes).
 *
 * Subsystems plug in through hooks, called on every worker thread:
 *   start  before the loop; a failure on any worker aborts the whole group start cleanly
 *   drain  once, when shutdown begins (stop accepting, finish what is in flight)
 *   idle   polled while draining: true when the subsystem has no in-flight work left
 *   stop   final cleanup, after the loop, while the ring still exists
 *   release  after the ring is gone: free memory the kernel could still have written to
 *            (provided receive buffers)
 * Shutdown ends when every hook is idle or TW_SHUTDOWN_GRACE_MS (or the group's grace) passes.
 *
 * Expected load: tens of thousands of CQEs per second per worker, a few timers per connection,
 * rare cross-core messages.
 */
#ifndef TW_CORE_WORKER_H
#define TW_CORE_WORKER_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct tw_worker;       /* opaque; one per thread */
struct tw_worker_group; /* opaque */

/* Embed in the struct an SQE belongs to; set user_data with io_uring_sqe_set_data(sqe, op). */
struct tw_op {
	void (*complete)(struct tw_worker *w, struct tw_op *op, const struct io_uring_cqe *cqe);
};

/* A timer, embedded in the owner's struct. Zero-initialise it, set `fire`, then arm it. Fires once
 * per arming, on the owning worker's thread, no earlier than its deadline. */
struct tw_timer {
	void (*fire)(struct tw_worker *w, struct tw_timer *t);
	uint64_t deadline_ns; /* tw_now_ns() clock; read-only for the owner */
	uint64_t seq;         /* arming order: equal deadlines fire first-armed first */
	uint32_t heap_index;  /* position in the worker's heap + 1; 0 = not armed */
};

/* Lifecycle hooks of one subsystem. Every function is optional; `arg` is passed back verbatim
 * (borrowed; must outlive the group). All run on the worker thread. */
struct tw_worker_hooks {
	const char *name; /* for logs */
	void *arg;
	enum tw_err (*start)(struct tw_worker *w, void *arg);
	void (*drain)(struct tw_worker *w, void *arg);
	bool (*idle)(struct tw_worker *w, void *arg);
	void (*stop)(struct tw_worker *w, void *arg);
	void (*release)(struct tw_worker *w, void *arg);
};

/* Most hook sets one group takes (http, metrics, jobs, ... with room to spare). */
#define TW_WORKER_HOOKS_MAX 8

struct tw_worker_group_opts {
	uint32_t workers;      /* 0 = one per online CPU; at most TW_WORKERS_MAX */
	bool pin;              /* pin worker i to CPU i % online CPUs */
	uint32_t ring_entries; /* SQ entries; 0 = TW_RING_ENTRIES (the CQ is twice as large) */
	uint32_t grace_ms;     /* longest drain; 0 = TW_SHUTDOWN_GRACE_MS */
	uint32_t nhooks;
	const struct tw_worker_hooks *hooks[TW_WORKER_HOOKS_MAX]; /* borrowed; outlive the group */
};

/* The worker count that `workers = 0` means: the CPUs this process may run on (so taskset is
 * respected), at least 1, at most TW_WORKERS_MAX. */
uint32_t tw_worker_default_count(void);

/*
 * Start the group and return once every worker has created its ring and run every start hook.
 * If any worker fails (ring setup, thread creation, a start hook), every worker that started runs
 * the stop hooks of the hooks it started, in reverse order, all threads are joined, and the first
 * error is returned (*out is left NULL). Call from the main thread, after tw_signals_block().
 */
enum tw_err tw_worker_group_start(const struct tw_worker_group_opts *o,
				  struct tw_worker_group **out);

/* Begin shutdown: every worker calls its drain hooks and stops once idle or after the grace
 * period. Any thread, idempotent, returns at once. */
void tw_worker_group_shutdown(struct tw_worker_group *g);

/* Shut down (if not already), wait for every worker to finish and free the group. Not from a
 * worker thread. */
void tw_worker_group_stop(struct tw_worker_group *g);

uint32_t tw_worker_group_size(const struct tw_worker_group *g);
struct tw_worker *tw_worker_group_at(struct tw_worker_group *g, uint32_t index);

/* ---- on the worker thread ---------------------------------------------------------------- */

/* The worker running on this thread, or NULL on any other thread. */
struct tw_worker *tw_worker_current(void);

/* The worker's ring. Only its own thread may get SQEs or submit. */
struct io_uring *tw_worker_ring(struct tw_worker *w);

/* An SQE from the worker's ring; when the SQ is full, submits what is queued and tries again.
 * NULL only if the kernel refuses to take the queued entries (then treat as TW_ERR_AGAIN). */
struct io_uring_sqe *tw_worker_get_sqe(struct tw_worker *w);

uint32_t tw_worker_index(const struct tw_worker *w);
uint32_t tw_worker_count(const struct tw_worker *w);

/* One pointer per worker for the composition root or a subsystem; NULL until set. */
void *tw_worker_ctx(const struct tw_worker *w);
void tw_worker_set_ctx(struct tw_worker *w, void *ctx);

/* True once shutdown has begun for this worker (drain hooks have run). */
bool tw_worker_draining(const struct tw_worker *w);

/* Arm `t` to fire at `deadline_ns` (tw_now_ns clock); re-arming an armed timer moves it.
 * TW_ERR_FULL when TW_TIMERS_MAX timers are armed (a normal condition). Worker thread only. */
enum tw_err tw_timer_arm(struct tw_worker *w, struct tw_timer *t, uint64_t deadline_ns);

/* Disarm `t`; a timer that is not armed is left alone. Worker thread only. */
void tw_timer_cancel(struct tw_worker *w, struct tw_timer *t);

static inline bool tw_timer_armed(const struct tw_timer *t)
{
	return t->heap_index != 0;
}

/* ---- from any thread ---------------------------------------------------------------------- */

typedef void (*tw_worker_msg_fn)(struct tw_worker *w, void *arg);

/*
 * Queue fn(w, arg) to run on w's thread. Lock-free; wakes the worker only when it sleeps.
 * Returns TW_ERR_FULL when the inbox (TW_INBOX_SLOTS) is full (retry later) and TW_ERR_SHUTDOWN
 * once the worker has stopped taking messages. A message that was accepted runs exactly once.
 * `arg` ownership passes to fn.
 */
enum tw_err tw_worker_post(struct tw_worker *w, tw_worker_msg_fn fn, void *arg);

/* ---- signals (main thread) ---------------------------------------------------------------- */

/* Block SIGINT and SIGTERM in the calling thread (and so in threads it creates later) and ignore
 * SIGPIPE. Call before tw_worker_group_start. */
void tw_signals_block(void);

/* Wait for SIGINT or SIGTERM (blocked by tw_signals_block); returns the signal number. */
int tw_signals_wait(void);

#endif
