/* gpu_completion.c — the completion thread; see gpu_completion.h. */
#include "gpu/gpu_completion.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"

struct item {
	gpu_wait_fn wait;
	void *wait_arg;
	gpu_done_fn done;
	void *done_arg;
};

struct gpu_completion {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pthread_t thread;
	struct item *ring;
	unsigned cap, head, count;
	bool stopping;
};

static void *run(void *arg)
{
	struct gpu_completion *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (c->count == 0 && !c->stopping)
			pthread_cond_wait(&c->nonempty, &c->lock);
		if (c->count == 0) { /* stopping and drained */
			pthread_mutex_unlock(&c->lock);
			break;
		}
		struct item it = c->ring[c->head];
		c->head = (c->head + 1) % c->cap;
		c->count--;
		pthread_mutex_unlock(&c->lock);
		/* Waiting and the callback happen outside the lock so submitters never wait on
		 * the GPU. */
		enum tw_err r = it.wait(it.wait_arg);
		it.done(it.done_arg, r);
	}
	return NULL;
}

enum tw_err gpu_completion_start(struct gpu_completion **out, unsigned capacity)
{
	*out = NULL;
	if (capacity < 1)
		return TW_ERR_INVALID_ARG;
	struct gpu_completion *c = calloc(1, sizeof(*c));
	if (!c)
		return TW_ERR_NOMEM;
	c->ring = calloc(capacity, sizeof(*c->ring));
	if (!c->ring)
		goto out_free_c;
	c->cap = capacity;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->nonempty, NULL);
	if (pthread_create(&c->thread, NULL, run, c) != 0)
		goto out_destroy;
	*out = c;
	return TW_ERR_OK;

out_destroy:
	pthread_cond_destroy(&c->nonempty);
	pthread_mutex_destroy(&c->lock);
	free(c->ring);
	free(c);
	return TW_ERR_SYSTEM;
out_free_c:
	free(c);
	return TW_ERR_NOMEM;
}

void gpu_completion_stop(struct gpu_completion *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->nonempty);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->nonempty);
	pthread_mutex_destroy(&c->lock);
	free(c->ring);
	free(c);
}

enum tw_err gpu_completion_submit(struct gpu_completion *c, gpu_wait_fn wait, void *wait_arg,
				  gpu_done_fn done, void *done_arg)
{
	enum tw_err err = TW_ERR_OK;
	pthread_mutex_lock(&c->lock);
	if (c->stopping) {
		err = TW_ERR_SHUTDOWN;
		goto out_unlock;
	}
	if (c->count == c->cap) {
		err = TW_ERR_FULL;
		goto out_unlock;
	}
	c->ring[(c->head + c->count) % c->cap] =
		(struct item){.wait = wait, .wait_arg = wait_arg, .done = done, .done_arg = done_arg};
	c->count++;
	pthread_cond_signal(&c->nonempty);
out_unlock:
	pthread_mutex_unlock(&c->lock);
	return err;
}

static enum tw_err wait_event(void *arg)
{
	/* The completion thread binds the context on its first event (idempotent). */
	return gpu_event_sync((struct gpu_event *)arg);
}

enum tw_err gpu_completion_submit_event(struct gpu_completion *c, struct gpu_event *ev,
					gpu_done_fn done, void *done_arg)
{
	if (!gpu_available())
		return TW_ERR_GPU_UNAVAILABLE;
	return gpu_completion_submit(c, wait_event, ev, done, done_arg);
}

void gpu_completion_notify_eventfd(void *arg, enum tw_err result)
{
	int fd = (int)(intptr_t)arg;
	uint64_t one = 1;
	/* An eventfd write only fails when the counter would overflow: the reader is gone. */
	if (write(fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		TW_WARN(GPU, "completion eventfd %d not written (result %s)", fd, tw_err_str(result));
}
