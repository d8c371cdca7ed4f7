/*
 * worker.c — per-core worker threads; see worker.h.
 *
 * Invariants:
 *  - Only the worker's thread touches its ring, timer heap and inbox head. Producers touch only
 *    the inbox cells, its tail, `posting`, `sleeping`, `closed` and the eventfd.
 *  - The eventfd always has one read in flight while the loop runs, so a write wakes the loop.
 *  - A producer writes the eventfd only when it flips `sleeping` from 1 to 0, so a busy worker
 *    is never woken by a syscall per message.
 */
#include "core/worker.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "config.h"
#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"

/* One inbox cell: a bounded MPMC queue cell (sequence-numbered), used here by one consumer. */
struct inbox_cell {
	_Atomic uint64_t seq;
	tw_worker_msg_fn fn;
	void *arg;
};

struct tw_worker {
	struct io_uring ring;
	struct tw_worker_group *group;
	uint32_t index;
	int cpu; /* -1 when not pinned */
	pthread_t thread;
	bool thread_started;
	void *ctx;

	/* timers: a binary min-heap of pointers, preallocated at TW_TIMERS_MAX */
	struct tw_timer **heap;
	uint32_t nheap;
	uint64_t timer_seq;

	/* lifecycle, worker thread only after start */
	enum tw_err start_err;
	uint32_t hooks_started;
	bool ring_ready;
	bool draining;
	bool efd_armed;
	uint64_t drain_deadline_ns;

	/* inbox consumer side */
	struct inbox_cell *cells;
	uint64_t head;
	int efd;
	uint64_t efd_value;
	struct tw_op efd_op;

	/* inbox producer side, on its own cache line */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint32_t posting; /* producers between the `closed` check and publication */
	_Atomic bool closed;
	_Alignas(64) _Atomic int sleeping; /* 1 while the loop may block in io_uring_enter */
};

struct tw_worker_group {
	struct tw_worker_group_opts opts;
	uint32_t n;
	struct tw_worker **workers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t ready;     /* workers done with their start phase, ok or not */
	int go;             /* 0 = wait, 1 = run, -1 = abort */
	enum tw_err first_err;
	_Atomic bool shutdown;
};

static _Thread_local struct tw_worker *current_worker;

/* ---- accessors ------------------------------------------------------------------------------ */

struct tw_worker *tw_worker_current(void)
{
	return current_worker;
}

struct io_uring *tw_worker_ring(struct tw_worker *w)
{
	return &w->ring;
}

uint32_t tw_worker_index(const struct tw_worker *w)
{
	return w->index;
}

uint32_t tw_worker_count(const struct tw_worker *w)
{
	return w->group->n;
}

void *tw_worker_ctx(const struct tw_worker *w)
{
	return w->ctx;
}

void tw_worker_set_ctx(struct tw_worker *w, void *ctx)
{
	w->ctx = ctx;
}

bool tw_worker_draining(const struct tw_worker *w)
{
	return w->draining;
}

uint32_t tw_worker_group_size(const struct tw_worker_group *g)
{
	return g->n;
}

struct tw_worker *tw_worker_group_at(struct tw_worker_group *g, uint32_t index)
{
	return index < g->n ? g->workers[index] : NULL;
}

struct io_uring_sqe *tw_worker_get_sqe(struct tw_worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
	if (sqe)
		return sqe;
	/* The SQ is full: hand the batch to the kernel. Completions are not reaped here, so the
	 * caller's CQE (if any) stays valid. */
	if (io_uring_submit(&w->ring) < 0)
		return NULL;
	return io_uring_get_sqe(&w->ring);
}

/* ---- timers --------------------------------------------------------------------------------- */

static bool timer_before(const struct tw_timer *a, const struct tw_timer *b)
{
	return a->deadline_ns < b->deadline_ns ||
	       (a->deadline_ns == b->deadline_ns && a->seq < b->seq);
}

static void heap_set(struct tw_worker *w, uint32_t i, struct tw_timer *t)
{
	w->heap[i] = t;
	t->heap_index = i + 1;
}

static void heap_up(struct tw_worker *w, uint32_t i)
{
	struct tw_timer *t = w->heap[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!timer_before(t, w->heap[parent]))
			break;
		heap_set(w, i, w->heap[parent]);
		i = parent;
	}
	heap_set(w, i, t);
}

static void heap_down(struct tw_worker *w, uint32_t i)
{
	struct tw_timer *t = w->heap[i];
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		const struct tw_timer *best = t;
		if (l < w->nheap && timer_before(w->heap[l], best))
			m = l, best = w->heap[l];
		if (r < w->nheap && timer_before(w->heap[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(w, i, w->heap[m]);
		i = m;
	}
	heap_set(w, i, t);
}

static void heap_remove(struct tw_worker *w, struct tw_timer *t)
{
	uint32_t i = t->heap_index - 1;
	assert(i < w->nheap && w->heap[i] == t);
	t->heap_index = 0;
	struct tw_timer *last = w->heap[--w->nheap];
	if (i == w->nheap)
		return;
	heap_set(w, i, last);
	heap_up(w, i);
	heap_down(w, last->heap_index - 1);
}

enum tw_err tw_timer_arm(struct tw_worker *w, struct tw_timer *t, uint64_t deadline_ns)
{
	assert(t->fire);
	if (t->heap_index) {
		t->deadline_ns = deadline_ns;
		t->seq = ++w->timer_seq;
		heap_up(w, t->heap_index - 1);
		heap_down(w, t->heap_index - 1);
		return TW_ERR_OK;
	}
	if (w->nheap >= TW_TIMERS_MAX)
		return TW_ERR_FULL;
	t->deadline_ns = deadline_ns;
	t->seq = ++w->timer_seq;
	heap_set(w, w->nheap++, t);
	heap_up(w, w->nheap - 1);
	return TW_ERR_OK;
}

void tw_timer_cancel(struct tw_worker *w, struct tw_timer *t)
{
	if (t->heap_index)
		heap_remove(w, t);
}

/* Fire every timer due at `now`. Bounded by the heap size on entry, so a callback that re-arms
 * for "now" runs on the next turn instead of looping forever. */
static void run_timers(struct tw_worker *w, uint64_t now)
{
	uint32_t budget = w->nheap;
	while (budget-- && w->nheap && w->heap[0]->deadline_ns <= now) {
		struct tw_timer *t = w->heap[0];
		heap_remove(w, t);
		t->fire(w, t);
	}
}

/* ---- inbox ---------------------------------------------------------------------------------- */

enum tw_err tw_worker_post(struct tw_worker *w, tw_worker_msg_fn fn, void *arg)
{
	const uint64_t mask = TW_INBOX_SLOTS - 1;
	enum tw_err err = TW_ERR_OK;
	atomic_fetch_add(&w->posting, 1);
	if (atomic_load(&w->closed)) {
		err = TW_ERR_SHUTDOWN;
		goto out_done;
	}
	uint64_t pos = atomic_load_explicit(&w->tail, memory_order_relaxed);
	struct inbox_cell *c;
	for (;;) {
		c = &w->cells[pos & mask];
		uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
		int64_t diff = (int64_t)(seq - pos);
		if (diff == 0) {
			if (atomic_compare_exchange_weak_explicit(&w->tail, &pos, pos + 1,
								  memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (diff < 0) {
			err = TW_ERR_FULL;
			goto out_done;
		} else {
			pos = atomic_load_explicit(&w->tail, memory_order_relaxed);
		}
	}
	c->fn = fn;
	c->arg = arg;
	atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
	/* Pairs with the fence in wait_for_events: either the worker sees this cell before it
	 * blocks, or we see it asleep and wake it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&w->sleeping, memory_order_relaxed) &&
	    atomic_exchange(&w->sleeping, 0)) {
		uint64_t one = 1;
		ssize_t r = write(w->efd, &one, sizeof(one));
		(void)r; /* a blocking eventfd write only fails on counter overflow: already awake */
	}
out_done:
	atomic_fetch_sub(&w->posting, 1);
	return err;
}

static bool inbox_pending(struct tw_worker *w)
{
	struct inbox_cell *c = &w->cells[w->head & (TW_INBOX_SLOTS - 1)];
	return atomic_load_explicit(&c->seq, memory_order_acquire) == w->head + 1;
}

/* Run at most one inbox's worth of messages, so producers cannot starve the ring. */
static void run_inbox(struct tw_worker *w)
{
	for (uint32_t i = 0; i < TW_INBOX_SLOTS; i++) {
		struct inbox_cell *c = &w->cells[w->head & (TW_INBOX_SLOTS - 1)];
		if (atomic_load_explicit(&c->seq, memory_order_acquire) != w->head + 1)
			return;
		tw_worker_msg_fn fn = c->fn;
		void *arg = c->arg;
		atomic_store_explicit(&c->seq, w->head + TW_INBOX_SLOTS, memory_order_release);
		w->head++;
		fn(w, arg);
	}
}

/* Stop taking messages, then run what was accepted before. Waiting for `posting` to reach zero
 * makes "accepted" exact: a producer that passed the `closed` check publishes before we look. */
static void close_inbox(struct tw_worker *w)
{
	atomic_store(&w->closed, true);
	for (uint32_t spins = 0; atomic_load(&w->posting) != 0; spins++)
		if (spins > 64)
			sched_yield();
	while (inbox_pending(w))
		run_inbox(w);
}

/* ---- the loop ------------------------------------------------------------------------------- */

static void arm_eventfd(struct tw_worker *w);

static void efd_complete(struct tw_worker *w, struct tw_op *op, const struct io_uring_cqe *cqe)
{
	(void)op;
	w->efd_armed = false;
	if (cqe->res < 0 && cqe->res != -EINTR && cqe->res != -EAGAIN)
		TW_WARN(WORKER, "worker %u: eventfd read failed: %s", w->index,
			strerror(-cqe->res));
	arm_eventfd(w);
}

static void arm_eventfd(struct tw_worker *w)
{
	if (w->efd_armed)
		return;
	struct io_uring_sqe *sqe = tw_worker_get_sqe(w);
	if (!sqe)
		return; /* retried at the next turn of the loop */
	io_uring_prep_read(sqe, w->efd, &w->efd_value, sizeof(w->efd_value), 0);
	io_uring_sqe_set_data(sqe, &w->efd_op);
	w->efd_armed = true;
}

static void dispatch_cqes(struct tw_worker *w)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	const unsigned max = *w->ring.cq.kring_entries;
	io_uring_for_each_cqe(&w->ring, head, cqe)
	{
		uint64_t ud = cqe->user_data;
		if (ud != 0 && ud != LIBURING_UDATA_TIMEOUT) {
			struct tw_op *op = (struct tw_op *)(uintptr_t)ud;
			op->complete(w, op, cqe);
		}
		if (++n == max)
			break;
	}
	io_uring_cq_advance(&w->ring, n);
}

static void wait_for_events(struct tw_worker *w, uint64_t wait_ns)
{
	struct io_uring_cqe *cqe;
	arm_eventfd(w);
	atomic_store(&w->sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (inbox_pending(w) || (!w->draining && atomic_load(&w->group->shutdown)))
		wait_ns = 0;
	if (wait_ns == 0) {
		io_uring_submit_and_get_events(&w->ring);
	} else if (wait_ns == UINT64_MAX) {
		io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, NULL, NULL);
	} else {
		struct __kernel_timespec ts = {.tv_sec = (long long)(wait_ns / TW_NS_PER_S),
					       .tv_nsec = (long long)(wait_ns % TW_NS_PER_S)};
		io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
	}
	atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

static void begin_drain(struct tw_worker *w)
{
	struct tw_worker_group *g = w->group;
	uint32_t grace_ms = g->opts.grace_ms ? g->opts.grace_ms : TW_SHUTDOWN_GRACE_MS;
	w->draining = true;
	w->drain_deadline_ns = tw_now_ns() + (uint64_t)grace_ms * TW_NS_PER_MS;
	TW_DEBUG(WORKER, "worker %u: draining (grace %u ms)", w->index, grace_ms);
	for (uint32_t i = 0; i < w->hooks_started; i++)
		if (g->opts.hooks[i]->drain)
			g->opts.hooks[i]->drain(w, g->opts.hooks[i]->arg);
}

static bool all_idle(struct tw_worker *w)
{
	struct tw_worker_group *g = w->group;
	for (uint32_t i = 0; i < w->hooks_started; i++)
		if (g->opts.hooks[i]->idle && !g->opts.hooks[i]->idle(w, g->opts.hooks[i]->arg))
			return false;
	return true;
}

static void run_loop(struct tw_worker *w)
{
	for (;;) {
		if (!w->draining && atomic_load_explicit(&w->group->shutdown, memory_order_relaxed))
			begin_drain(w);
		uint64_t now = tw_now_ns();
		run_timers(w, now);
		run_inbox(w);
		if (w->draining) {
			if (all_idle(w))
				break;
			if (now >= w->drain_deadline_ns) {
				TW_WARN(WORKER, "worker %u: grace period over with work in flight",
					w->index);
				break;
			}
		}
		uint64_t until = UINT64_MAX;
		if (w->nheap)
			until = w->heap[0]->deadline_ns;
		if (w->draining && w->drain_deadline_ns < until)
			until = w->drain_deadline_ns;
		now = tw_now_ns();
		uint64_t wait_ns = until == UINT64_MAX ? UINT64_MAX : until > now ? until - now : 0;
		wait_for_events(w, wait_ns);
		dispatch_cqes(w);
	}
}

/* ---- ring setup ----------------------------------------------------------------------------- */

static enum tw_err setup_ring(struct tw_worker *w)
{
	uint32_t entries = w->group->opts.ring_entries ? w->group->opts.ring_entries
						       : TW_RING_ENTRIES;
	static const struct {
		unsigned flags;
		const char *name;
	} modes[] = {
#if HAVE_IORING_SINGLE_ISSUER && HAVE_IORING_DEFER_TASKRUN
		{IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE,
		 "single-issuer, defer-taskrun"},
#endif
#ifdef IORING_SETUP_COOP_TASKRUN
		{IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE, "coop-taskrun"},
#endif
		{IORING_SETUP_CQSIZE, "plain, large CQ"},
		{0, "plain"},
	};
	int r = -EINVAL;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = modes[i].flags;
		p.cq_entries = entries * 2;
		r = io_uring_queue_init_params(entries, &w->ring, &p);
		if (r == 0) {
			TW_DEBUG(WORKER, "worker %u: io_uring %u entries, %s", w->index, entries,
				 modes[i].name);
			return TW_ERR_OK;
		}
	}
	TW_ERROR(WORKER, "worker %u: io_uring setup failed: %s", w->index, strerror(-r));
	return tw_err_from_errno(r);
}

/* ---- threads -------------------------------------------------------------------------------- */

/* The i-th CPU this process may run on (so taskset and cgroups are honoured), or -1. */
static int nth_allowed_cpu(uint32_t i)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	int count = CPU_COUNT(&set);
	if (count <= 0)
		return -1;
	int want = (int)(i % (uint32_t)count);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && want-- == 0)
			return cpu;
	return -1;
}

static void stop_hooks(struct tw_worker *w)
{
	struct tw_worker_group *g = w->group;
	for (uint32_t i = w->hooks_started; i-- > 0;)
		if (g->opts.hooks[i]->stop)
			g->opts.hooks[i]->stop(w, g->opts.hooks[i]->arg);
}

static void release_hooks(struct tw_worker *w)
{
	struct tw_worker_group *g = w->group;
	for (uint32_t i = w->hooks_started; i-- > 0;)
		if (g->opts.hooks[i]->release)
			g->opts.hooks[i]->release(w, g->opts.hooks[i]->arg);
	w->hooks_started = 0;
}

static void *worker_main(void *p)
{
	struct tw_worker *w = p;
	struct tw_worker_group *g = w->group;
	current_worker = w;

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (w->cpu >= 0) {
		cpu_set_t cs;
		CPU_ZERO(&cs);
		CPU_SET(w->cpu, &cs);
		int r = pthread_setaffinity_np(pthread_self(), sizeof(cs), &cs);
		if (r != 0)
			TW_WARN(WORKER, "worker %u: cannot pin to CPU %d: %s", w->index, w->cpu,
				strerror(r));
	}

	enum tw_err err = setup_ring(w);
	if (err == TW_ERR_OK) {
		w->ring_ready = true;
		arm_eventfd(w);
		for (uint32_t i = 0; i < g->opts.nhooks; i++) {
			const struct tw_worker_hooks *h = g->opts.hooks[i];
			err = h->start ? h->start(w, h->arg) : TW_ERR_OK;
			if (err != TW_ERR_OK) {
				TW_ERROR(WORKER, "worker %u: %s failed to start: %s", w->index,
					 h->name ? h->name : "hook", tw_err_str(err));
				break;
			}
			w->hooks_started = i + 1;
		}
	}

	pthread_mutex_lock(&g->mu);
	w->start_err = err;
	if (err != TW_ERR_OK && g->first_err == TW_ERR_OK)
		g->first_err = err;
	g->ready++;
	pthread_cond_broadcast(&g->cv);
	while (g->go == 0)
		pthread_cond_wait(&g->cv, &g->mu);
	int go = g->go;
	pthread_mutex_unlock(&g->mu);

	if (go > 0 && err == TW_ERR_OK) {
		TW_DEBUG(WORKER, "worker %u: running on CPU %d", w->index, w->cpu);
		run_loop(w);
		close_inbox(w);
	} else {
		atomic_store(&w->closed, true);
	}
	stop_hooks(w);
	if (w->ring_ready) {
		io_uring_queue_exit(&w->ring);
		w->ring_ready = false;
	}
	release_hooks(w);
	TW_DEBUG(WORKER, "worker %u: stopped", w->index);
	current_worker = NULL;
	return NULL;
}

static void free_worker(struct tw_worker *w)
{
	if (!w)
		return;
	if (w->efd >= 0)
		close(w->efd);
	free(w->cells);
	free(w->heap);
	free(w);
}

static enum tw_err alloc_worker(struct tw_worker_group *g, uint32_t index, struct tw_worker **out)
{
	struct tw_worker *w = aligned_alloc(64, (sizeof(*w) + 63) & ~(size_t)63);
	if (!w)
		return TW_ERR_NOMEM;
	memset(w, 0, sizeof(*w));
	w->group = g;
	w->index = index;
	w->cpu = g->opts.pin ? nth_allowed_cpu(index) : -1;
	w->efd = -1;
	w->efd_op.complete = efd_complete;
	w->cells = calloc(TW_INBOX_SLOTS, sizeof(*w->cells));
	w->heap = malloc(sizeof(*w->heap) * TW_TIMERS_MAX);
	if (!w->cells || !w->heap)
		goto out_nomem;
	for (uint64_t i = 0; i < TW_INBOX_SLOTS; i++)
		atomic_init(&w->cells[i].seq, i);
	/* Blocking on purpose: io_uring completes a read of an O_NONBLOCK file with -EAGAIN
	 * instead of waiting for it. */
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->efd < 0) {
		enum tw_err e = tw_err_from_errno(errno);
		free_worker(w);
		return e;
	}
	*out = w;
	return TW_ERR_OK;

out_nomem:
	free_worker(w);
	return TW_ERR_NOMEM;
}

static void free_group(struct tw_worker_group *g)
{
	for (uint32_t i = 0; i < g->n; i++)
		free_worker(g->workers[i]);
	free(g->workers);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static void join_all(struct tw_worker_group *g)
{
	for (uint32_t i = 0; i < g->n; i++) {
		struct tw_worker *w = g->workers[i];
		if (w && w->thread_started) {
			pthread_join(w->thread, NULL);
			w->thread_started = false;
		}
	}
}

static void wake_all(struct tw_worker_group *g)
{
	uint64_t one = 1;
	for (uint32_t i = 0; i < g->n; i++) {
		struct tw_worker *w = g->workers[i];
		if (w && w->efd >= 0) {
			ssize_t r = write(w->efd, &one, sizeof(one));
			(void)r;
		}
	}
}

uint32_t tw_worker_default_count(void)
{
	cpu_set_t set;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t n = sched_getaffinity(0, sizeof(set), &set) == 0 ? (uint32_t)CPU_COUNT(&set)
								  : (uint32_t)online;
	if (n == 0)
		n = 1;
	return n > TW_WORKERS_MAX ? TW_WORKERS_MAX : n;
}

enum tw_err tw_worker_group_start(const struct tw_worker_group_opts *o,
				  struct tw_worker_group **out)
{
	*out = NULL;
	if (o->nhooks > TW_WORKER_HOOKS_MAX || o->workers > TW_WORKERS_MAX)
		return TW_ERR_INVALID_ARG;
	uint32_t n = o->workers ? o->workers : tw_worker_default_count();
	struct tw_worker_group *g = calloc(1, sizeof(*g));
	if (!g)
		return TW_ERR_NOMEM;
	g->opts = *o;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->workers = calloc(n, sizeof(*g->workers));
	if (!g->workers) {
		free_group(g);
		return TW_ERR_NOMEM;
	}
	g->n = n;
	enum tw_err err = TW_ERR_OK;
	for (uint32_t i = 0; i < n && err == TW_ERR_OK; i++)
		err = alloc_worker(g, i, &g->workers[i]);
	if (err != TW_ERR_OK)
		goto out_free_group;

	uint32_t created = 0;
	for (; created < n; created++) {
		struct tw_worker *w = g->workers[created];
		int r = pthread_create(&w->thread, NULL, worker_main, w);
		if (r != 0) {
			err = tw_err_from_errno(r);
			TW_ERROR(WORKER, "cannot create worker thread %u: %s", created, strerror(r));
			break;
		}
		w->thread_started = true;
	}

	pthread_mutex_lock(&g->mu);
	while (g->ready < created)
		pthread_cond_wait(&g->cv, &g->mu);
	if (err == TW_ERR_OK)
		err = g->first_err;
	g->go = err == TW_ERR_OK ? 1 : -1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (err != TW_ERR_OK)
		goto out_join;
	TW_DEBUG(WORKER, "%u workers started", n);
	*out = g;
	return TW_ERR_OK;

out_join:
	join_all(g);
out_free_group:
	free_group(g);
	return err;
}

void tw_worker_group_shutdown(struct tw_worker_group *g)
{
	if (atomic_exchange(&g->shutdown, true))
		return;
	wake_all(g);
}

void tw_worker_group_stop(struct tw_worker_group *g)
{
	if (!g)
		return;
	tw_worker_group_shutdown(g);
	join_all(g);
	free_group(g);
}

/* ---- signals -------------------------------------------------------------------------------- */

static void shutdown_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

void tw_signals_block(void)
{
	sigset_t set;
	shutdown_sigset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int tw_signals_wait(void)
{
	sigset_t set;
	shutdown_sigset(&set);
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) == 0)
			return sig;
	}
}
