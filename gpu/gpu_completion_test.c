/* gpu_completion_test.c — the completion thread with generic waits (no GPU needed). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gpu/gpu_completion.h"

struct rec {
	pthread_mutex_t lock;
	int order[16];
	int n;
	enum tw_err results[16];
};

static enum tw_err wait_ok(void *arg)
{
	return (enum tw_err)(intptr_t)arg;
}

static struct rec g_rec = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void done_id(void *arg, enum tw_err r)
{
	pthread_mutex_lock(&g_rec.lock);
	g_rec.order[g_rec.n] = (int)(intptr_t)arg;
	g_rec.results[g_rec.n] = r;
	g_rec.n++;
	pthread_mutex_unlock(&g_rec.lock);
}

Test(gpu_completion, in_order_with_results)
{
	struct gpu_completion *c;
	cr_assert_eq(gpu_completion_start(&c, 8), TW_ERR_OK);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(gpu_completion_submit(c, wait_ok,
						   (void *)(intptr_t)(i == 3 ? TW_ERR_GPU_DRIVER
									     : TW_ERR_OK),
						   done_id, (void *)(intptr_t)i),
			     TW_ERR_OK);
	gpu_completion_stop(c); /* drains */
	cr_assert_eq(g_rec.n, 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(g_rec.order[i], i);
		cr_assert_eq(g_rec.results[i], i == 3 ? TW_ERR_GPU_DRIVER : TW_ERR_OK);
	}
}

static sem_t gate;

static enum tw_err wait_gate(void *arg)
{
	(void)arg;
	sem_wait(&gate);
	return TW_ERR_OK;
}

static void done_nothing(void *arg, enum tw_err r)
{
	(void)arg, (void)r;
}

Test(gpu_completion, full_queue_is_a_normal_return)
{
	sem_init(&gate, 0, 0);
	struct gpu_completion *c;
	cr_assert_eq(gpu_completion_start(&c, 2), TW_ERR_OK);
	/* The thread may or may not have taken the first item yet: submit until full. */
	int accepted = 0;
	enum tw_err e = TW_ERR_OK;
	for (int i = 0; i < 10 && e == TW_ERR_OK; i++) {
		e = gpu_completion_submit(c, wait_gate, NULL, done_nothing, NULL);
		if (e == TW_ERR_OK)
			accepted++;
	}
	cr_assert_eq(e, TW_ERR_FULL);
	cr_assert(accepted >= 2 && accepted <= 3, "accepted %d", accepted);
	for (int i = 0; i < accepted; i++)
		sem_post(&gate);
	gpu_completion_stop(c);
	sem_destroy(&gate);
}

Test(gpu_completion, eventfd_notification)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(fd, 0);
	struct gpu_completion *c;
	cr_assert_eq(gpu_completion_start(&c, 4), TW_ERR_OK);
	cr_assert_eq(gpu_completion_submit(c, wait_ok, (void *)(intptr_t)TW_ERR_OK,
					   gpu_completion_notify_eventfd, (void *)(intptr_t)fd),
		     TW_ERR_OK);
	uint64_t v = 0;
	cr_assert_eq(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v), "the worker's read wakes up");
	cr_assert_eq(v, 1);
	gpu_completion_stop(c);
	close(fd);
}

Test(gpu_completion, events_need_a_gpu)
{
	struct gpu_completion *c;
	cr_assert_eq(gpu_completion_start(&c, 1), TW_ERR_OK);
	if (!gpu_available())
		cr_assert_eq(gpu_completion_submit_event(c, NULL, done_nothing, NULL),
			     TW_ERR_GPU_UNAVAILABLE);
	gpu_completion_stop(c);
	cr_assert_eq(gpu_completion_start(&c, 0), TW_ERR_INVALID_ARG);
}
