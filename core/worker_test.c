/* worker_test.c — worker groups: lifecycle, inbox, timers, hooks and shutdown. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/worker.h"

/* ---- start and stop ----------------------------------------------------------------------- */

static _Atomic int started, stopped, drained;
static _Atomic int bad_current;

static enum tw_err count_start(struct tw_worker *w, void *arg)
{
	(void)arg;
	if (tw_worker_current() != w || !tw_worker_ring(w) || tw_worker_ctx(w) != NULL)
		atomic_fetch_add(&bad_current, 1);
	tw_worker_set_ctx(w, w);
	atomic_fetch_add(&started, 1);
	return TW_ERR_OK;
}

static void count_stop(struct tw_worker *w, void *arg)
{
	(void)arg;
	if (tw_worker_current() != w || tw_worker_ctx(w) != w)
		atomic_fetch_add(&bad_current, 1);
	atomic_fetch_add(&stopped, 1);
}

static void count_drain(struct tw_worker *w, void *arg)
{
	(void)arg;
	if (!tw_worker_draining(w))
		atomic_fetch_add(&bad_current, 1);
	atomic_fetch_add(&drained, 1);
}

static const struct tw_worker_hooks counting = {
	.name = "counting", .start = count_start, .drain = count_drain, .stop = count_stop};

static void start_stop(uint32_t n)
{
	struct tw_worker_group_opts o = {.workers = n, .ring_entries = 64, .nhooks = 1,
					 .hooks = {&counting}};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	cr_assert_eq(tw_worker_group_size(g), n);
	cr_assert_eq(atomic_load(&started), (int)n);
	for (uint32_t i = 0; i < n; i++) {
		struct tw_worker *w = tw_worker_group_at(g, i);
		cr_assert_eq(tw_worker_index(w), i);
		cr_assert_eq(tw_worker_count(w), n);
	}
	cr_assert_null(tw_worker_current());
	tw_worker_group_stop(g);
	cr_assert_eq(atomic_load(&stopped), (int)n);
	cr_assert_eq(atomic_load(&drained), (int)n);
	cr_assert_eq(atomic_load(&bad_current), 0);
}

Test(worker, start_stop_one)
{
	start_stop(1);
}

Test(worker, start_stop_several)
{
	start_stop(4);
}

Test(worker, zero_means_online_cpus_and_pinning)
{
	struct tw_worker_group_opts o = {.workers = 0, .pin = true, .ring_entries = 32};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	cr_assert_eq(tw_worker_group_size(g), (uint32_t)CPU_COUNT(&set));
	tw_worker_group_stop(g);
}

/* ---- start-hook failure ------------------------------------------------------------------- */

static enum tw_err fail_on_two(struct tw_worker *w, void *arg)
{
	(void)arg;
	return tw_worker_index(w) == 2 ? TW_ERR_CONFIG : TW_ERR_OK;
}

static _Atomic int second_stopped;

static void second_stop(struct tw_worker *w, void *arg)
{
	(void)w, (void)arg;
	atomic_fetch_add(&second_stopped, 1);
}

static const struct tw_worker_hooks failing = {.name = "failing", .start = fail_on_two,
					       .stop = second_stop};

Test(worker, start_hook_failure_aborts_cleanly)
{
	tw_log_set_filter("off"); /* the failure is expected; keep the output clean */
	struct tw_worker_group_opts o = {.workers = 4, .ring_entries = 32, .nhooks = 2,
					 .hooks = {&counting, &failing}};
	struct tw_worker_group *g = (void *)1;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_CONFIG);
	cr_assert_null(g);
	/* Every worker started the first hook and so stops it; the second hook stops only where
	 * it started (three of four workers). No drain: the group never ran. */
	cr_assert_eq(atomic_load(&started), 4);
	cr_assert_eq(atomic_load(&stopped), 4);
	cr_assert_eq(atomic_load(&second_stopped), 3);
	cr_assert_eq(atomic_load(&drained), 0);
}

Test(worker, too_many_workers_is_invalid)
{
	struct tw_worker_group_opts o = {.workers = TW_WORKERS_MAX + 1};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_INVALID_ARG);
}

/* ---- messages ----------------------------------------------------------------------------- */

#define PRODUCERS 4
#define PER_PRODUCER 20000

static _Atomic uint8_t seen[PRODUCERS * PER_PRODUCER];
static _Atomic int wrong_thread;

struct producer {
	struct tw_worker_group *g;
	uint32_t id;
};

static void on_msg(struct tw_worker *w, void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	if (tw_worker_current() != w || v % tw_worker_count(w) != tw_worker_index(w))
		atomic_fetch_add(&wrong_thread, 1);
	atomic_fetch_add(&seen[v], 1);
}

static void *produce(void *p)
{
	struct producer *pr = p;
	uint32_t n = tw_worker_group_size(pr->g);
	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		uintptr_t v = (uintptr_t)pr->id * PER_PRODUCER + i;
		struct tw_worker *w = tw_worker_group_at(pr->g, (uint32_t)(v % n));
		enum tw_err e;
		while ((e = tw_worker_post(w, on_msg, (void *)v)) == TW_ERR_FULL)
			sched_yield();
		if (e != TW_ERR_OK)
			atomic_fetch_add(&wrong_thread, 1000);
	}
	return NULL;
}

Test(worker, messages_from_many_threads_arrive_exactly_once)
{
	struct tw_worker_group_opts o = {.workers = 3, .ring_entries = 64};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	pthread_t th[PRODUCERS];
	struct producer pr[PRODUCERS];
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		pr[i] = (struct producer){g, i};
		pthread_create(&th[i], NULL, produce, &pr[i]);
	}
	for (uint32_t i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	/* Stopping runs every accepted message before the workers exit. */
	tw_worker_group_stop(g);
	for (uint32_t i = 0; i < PRODUCERS * PER_PRODUCER; i++)
		cr_assert_eq(atomic_load(&seen[i]), 1, "message %u seen %u times", i,
			     (unsigned)atomic_load(&seen[i]));
	cr_assert_eq(atomic_load(&wrong_thread), 0);
}

static _Atomic int gate_open, in_gate, after_gate;

static void block_until_open(struct tw_worker *w, void *arg)
{
	(void)w, (void)arg;
	atomic_store(&in_gate, 1);
	while (!atomic_load(&gate_open))
		sched_yield();
}

static void count_after(struct tw_worker *w, void *arg)
{
	(void)w, (void)arg;
	atomic_fetch_add(&after_gate, 1);
}

static _Atomic int post_in_stop;

static void post_from_stop(struct tw_worker *w, void *arg)
{
	(void)arg;
	atomic_store(&post_in_stop, (int)tw_worker_post(w, count_after, NULL));
}

static const struct tw_worker_hooks post_at_stop = {.name = "post", .stop = post_from_stop};

Test(worker, full_inbox_is_a_normal_return_and_shutdown_refuses)
{
	struct tw_worker_group_opts o = {.workers = 1, .ring_entries = 32, .nhooks = 1,
					 .hooks = {&post_at_stop}};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	struct tw_worker *w = tw_worker_group_at(g, 0);
	cr_assert_eq(tw_worker_post(w, block_until_open, NULL), TW_ERR_OK);
	while (!atomic_load(&in_gate))
		sched_yield();
	for (uint32_t i = 0; i < TW_INBOX_SLOTS; i++)
		cr_assert_eq(tw_worker_post(w, count_after, NULL), TW_ERR_OK, "post %u", i);
	cr_assert_eq(tw_worker_post(w, count_after, NULL), TW_ERR_FULL);
	atomic_store(&gate_open, 1);
	while (atomic_load(&after_gate) < TW_INBOX_SLOTS)
		sched_yield();
	cr_assert_eq(tw_worker_post(w, count_after, NULL), TW_ERR_OK);
	tw_worker_group_stop(g);
	cr_assert_eq(atomic_load(&after_gate), TW_INBOX_SLOTS + 1);
	cr_assert_eq(atomic_load(&post_in_stop), TW_ERR_SHUTDOWN);
}

/* ---- timers ------------------------------------------------------------------------------- */

#define NTIMERS 200

struct test_timer {
	struct tw_timer t;
	uint32_t id;
	uint64_t armed_for;
};

static struct test_timer timers[NTIMERS];
static uint32_t fired_order[NTIMERS];
static _Atomic uint32_t nfired;
static _Atomic int early;
static _Atomic int timers_armed;

static void on_fire(struct tw_worker *w, struct tw_timer *t)
{
	(void)w;
	struct test_timer *tt = (struct test_timer *)t;
	if (tw_now_ns() < tt->armed_for || tw_timer_armed(t))
		atomic_fetch_add(&early, 1);
	fired_order[atomic_fetch_add(&nfired, 1)] = tt->id;
}

static void arm_timers(struct tw_worker *w, void *arg)
{
	(void)arg;
	uint64_t base = tw_now_ns() + 5 * TW_NS_PER_MS;
	srand(42);
	for (uint32_t i = 0; i < NTIMERS; i++) {
		timers[i] = (struct test_timer){.t = {.fire = on_fire}, .id = i};
		/* Several timers share a deadline to check first-armed-first-fired. */
		timers[i].armed_for = base + (uint64_t)(rand() % 40) * TW_NS_PER_MS;
		tw_timer_arm(w, &timers[i].t, timers[i].armed_for);
	}
	/* Move one, cancel every tenth. */
	timers[1].armed_for = base + 45 * TW_NS_PER_MS;
	tw_timer_arm(w, &timers[1].t, timers[1].armed_for);
	for (uint32_t i = 0; i < NTIMERS; i += 10)
		tw_timer_cancel(w, &timers[i].t);
	tw_timer_cancel(w, &timers[0].t); /* cancelling twice is harmless */
	atomic_store(&timers_armed, 1);
}

Test(worker, timers_fire_in_order_and_cancel)
{
	struct tw_worker_group_opts o = {.workers = 1, .ring_entries = 32};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	cr_assert_eq(tw_worker_post(tw_worker_group_at(g, 0), arm_timers, NULL), TW_ERR_OK);
	uint64_t t0 = tw_now_ns();
	while (atomic_load(&nfired) < NTIMERS - NTIMERS / 10 && tw_now_ns() - t0 < 5 * TW_NS_PER_S)
		usleep(1000);
	usleep(20000);
	tw_worker_group_stop(g);
	cr_assert_eq(atomic_load(&nfired), NTIMERS - NTIMERS / 10);
	cr_assert_eq(atomic_load(&early), 0);
	for (uint32_t i = 0; i < atomic_load(&nfired); i++) {
		cr_assert_neq(fired_order[i] % 10, 0, "cancelled timer %u fired", fired_order[i]);
		if (i == 0)
			continue;
		const struct test_timer *a = &timers[fired_order[i - 1]], *b = &timers[fired_order[i]];
		cr_assert(a->armed_for < b->armed_for ||
			      (a->armed_for == b->armed_for && a->t.seq < b->t.seq),
			  "timers %u and %u out of order", a->id, b->id);
	}
}

static _Atomic int full_result;

static void fill_heap(struct tw_worker *w, void *arg)
{
	(void)arg;
	struct tw_timer *many = calloc(TW_TIMERS_MAX + 1, sizeof(*many));
	uint64_t far = tw_now_ns() + 3600 * TW_NS_PER_S;
	int bad = 0;
	for (uint32_t i = 0; i < TW_TIMERS_MAX; i++) {
		many[i].fire = on_fire;
		if (tw_timer_arm(w, &many[i], far + i) != TW_ERR_OK)
			bad++;
	}
	many[TW_TIMERS_MAX].fire = on_fire;
	int full = tw_timer_arm(w, &many[TW_TIMERS_MAX], far) == TW_ERR_FULL;
	for (uint32_t i = 0; i < TW_TIMERS_MAX; i++)
		tw_timer_cancel(w, &many[i]);
	int after = tw_timer_arm(w, &many[TW_TIMERS_MAX], far) == TW_ERR_OK;
	tw_timer_cancel(w, &many[TW_TIMERS_MAX]);
	free(many);
	atomic_store(&full_result, bad == 0 && full && after ? 1 : -1);
}

Test(worker, full_timer_heap_is_a_normal_return)
{
	struct tw_worker_group_opts o = {.workers = 1, .ring_entries = 32};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	cr_assert_eq(tw_worker_post(tw_worker_group_at(g, 0), fill_heap, NULL), TW_ERR_OK);
	while (atomic_load(&full_result) == 0)
		usleep(1000);
	tw_worker_group_stop(g);
	cr_assert_eq(atomic_load(&full_result), 1);
}

/* ---- shutdown draining -------------------------------------------------------------------- */

struct inflight {
	struct tw_timer t;
	_Atomic int done;
	_Atomic int drain_seen;
	_Atomic int stop_after_done;
};

static struct inflight inflight[2];

static void inflight_fire(struct tw_worker *w, struct tw_timer *t)
{
	(void)w;
	atomic_store(&((struct inflight *)t)->done, 1);
}

static void inflight_drain(struct tw_worker *w, void *arg)
{
	(void)arg;
	struct inflight *f = &inflight[tw_worker_index(w)];
	atomic_store(&f->drain_seen, 1);
	/* The "work" still in flight when shutdown begins finishes 100 ms later. */
	f->t.fire = inflight_fire;
	tw_timer_arm(w, &f->t, tw_now_ns() + 100 * TW_NS_PER_MS);
}

static bool inflight_idle(struct tw_worker *w, void *arg)
{
	(void)arg;
	return atomic_load(&inflight[tw_worker_index(w)].done);
}

static void inflight_stop(struct tw_worker *w, void *arg)
{
	(void)arg;
	struct inflight *f = &inflight[tw_worker_index(w)];
	atomic_store(&f->stop_after_done, atomic_load(&f->done) ? 1 : -1);
}

static const struct tw_worker_hooks inflight_hooks = {
	.name = "inflight", .drain = inflight_drain, .idle = inflight_idle, .stop = inflight_stop};

Test(worker, shutdown_waits_for_in_flight_work)
{
	struct tw_worker_group_opts o = {.workers = 2, .ring_entries = 32, .nhooks = 1,
					 .hooks = {&inflight_hooks}};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	uint64_t t0 = tw_now_ns();
	tw_worker_group_stop(g);
	uint64_t took = tw_now_ns() - t0;
	cr_assert_geq(took, 100 * TW_NS_PER_MS);
	cr_assert_lt(took, 2 * TW_NS_PER_S);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(atomic_load(&inflight[i].drain_seen), 1);
		cr_assert_eq(atomic_load(&inflight[i].stop_after_done), 1);
	}
}

static bool never_idle(struct tw_worker *w, void *arg)
{
	(void)w, (void)arg;
	return false;
}

static const struct tw_worker_hooks stuck = {.name = "stuck", .idle = never_idle};

Test(worker, shutdown_is_bounded_by_grace)
{
	tw_log_set_filter("off");
	struct tw_worker_group_opts o = {.workers = 2, .ring_entries = 32, .grace_ms = 150,
					 .nhooks = 1, .hooks = {&stuck}};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	uint64_t t0 = tw_now_ns();
	tw_worker_group_stop(g);
	uint64_t took = tw_now_ns() - t0;
	cr_assert_geq(took, 150 * TW_NS_PER_MS);
	cr_assert_lt(took, 2 * TW_NS_PER_S);
}

/* ---- signals ------------------------------------------------------------------------------ */

static void *send_term(void *p)
{
	usleep(20000);
	pthread_kill(*(pthread_t *)p, SIGTERM);
	return NULL;
}

Test(worker, sigterm_is_waited_for_then_workers_drain)
{
	tw_signals_block();
	struct tw_worker_group_opts o = {.workers = 2, .ring_entries = 32, .nhooks = 1,
					 .hooks = {&counting}};
	struct tw_worker_group *g;
	cr_assert_eq(tw_worker_group_start(&o, &g), TW_ERR_OK);
	pthread_t self = pthread_self(), th;
	pthread_create(&th, NULL, send_term, &self);
	cr_assert_eq(tw_signals_wait(), SIGTERM);
	pthread_join(th, NULL);
	tw_worker_group_stop(g);
	cr_assert_eq(atomic_load(&drained), 2);
	cr_assert_eq(atomic_load(&stopped), 2);
}
