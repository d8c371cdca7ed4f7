/*
 * http_conn.c — connections on a worker's ring: listener, multishot accept, multishot receive
 * into the provided-buffer ring, sends from the connection's output buffer, timeouts, closing.
 *
 * A connection has at most one receive (multishot) and one send in flight; both point at ops
 * embedded in the connection slot, so the slot is freed only after both have completed for the
 * last time. conn_step() is the one place that decides what to do next after any event.
 *
 * Receive buffers are shared by all connections of the worker and go back to the ring as soon
 * as the protocol engine has copied or parsed their bytes, so an idle connection holds none.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/http_int.h"

#define CONN_OF(op, field) ((struct http_conn *)((char *)(op)-offsetof(struct http_conn, field)))

static void conn_step(struct http_conn *c);

/* ---- connection memory ---------------------------------------------------------------------- */

static char *block_get(struct http_worker *hw)
{
	if (hw->nfree_blocks)
		return hw->free_blocks[--hw->nfree_blocks];
	return malloc(hw->srv->block_bytes);
}

static void block_put(struct http_worker *hw, char *b)
{
	if (hw->nfree_blocks < hw->free_blocks_cap)
		hw->free_blocks[hw->nfree_blocks++] = b;
	else
		free(b);
}

static void conn_free(struct http_conn *c)
{
	struct http_worker *hw = c->hw;
	if (hw->w)
		tw_timer_cancel(hw->w, &c->timer);
	http_session_release(c);
	block_put(hw, c->block);
	tw_pool_put(&hw->conns, c);
}

/* ---- submissions ---------------------------------------------------------------------------- */

static void conn_arm_recv(struct http_conn *c)
{
	struct http_worker *hw = c->hw;
	struct io_uring_sqe *sqe = tw_worker_get_sqe(hw->w);
	if (!sqe)
		return;
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = hw->bgid;
	io_uring_sqe_set_data(sqe, &c->recv_op);
	c->recv_armed = true;
	c->cancel_sent = false;
}

static void conn_cancel_recv(struct http_conn *c)
{
	if (!c->recv_armed || c->cancel_sent)
		return;
	struct io_uring_sqe *sqe = tw_worker_get_sqe(c->hw->w);
	if (!sqe)
		return;
	io_uring_prep_cancel(sqe, &c->recv_op, 0);
	io_uring_sqe_set_data64(sqe, 0);
	c->cancel_sent = true;
}

static void conn_send(struct http_conn *c)
{
	struct io_uring_sqe *sqe = tw_worker_get_sqe(c->hw->w);
	if (!sqe)
		return;
	c->inflight_len = http_session_unsent(c);
	io_uring_prep_send(sqe, c->fd, c->out + c->out_sent, c->inflight_len, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, &c->send_op);
	c->send_inflight = true;
}

/* Close once nothing is in flight; a pending handler keeps the slot until it responds. */
static void conn_try_finish(struct http_conn *c)
{
	if (c->recv_armed || c->send_inflight)
		return;
	if (c->fd >= 0) {
		struct io_uring_sqe *sqe = tw_worker_get_sqe(c->hw->w);
		if (sqe) {
			io_uring_prep_close(sqe, c->fd);
			io_uring_sqe_set_data64(sqe, 0);
		} else {
			close(c->fd);
		}
		c->fd = -1;
	}
	c->dead = true;
	if (c->phase == HTTP_PHASE_HANDLER && !c->req.responded)
		return;
	conn_free(c);
}

static void conn_teardown(struct http_conn *c)
{
	if (c->teardown)
		return;
	c->teardown = true;
	tw_timer_cancel(c->hw->w, &c->timer);
	conn_cancel_recv(c);
	if (c->send_inflight) {
		/* A send blocked on a client that does not read would never complete. */
		struct io_uring_sqe *sqe = tw_worker_get_sqe(c->hw->w);
		if (sqe) {
			io_uring_prep_cancel(sqe, &c->send_op, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	conn_try_finish(c);
}

/* ---- deadlines ------------------------------------------------------------------------------ */

static void conn_deadline(struct http_conn *c)
{
	const struct http_server_opts *o = &c->hw->srv->opts;
	uint64_t d = 0;
	if (c->lingering)
		d = c->linger_until_ns;
	else if (http_session_unsent(c) > 0)
		d = c->activity_ns + (uint64_t)o->write_timeout_ms * TW_NS_PER_MS;
	else if (c->phase == HTTP_PHASE_IDLE)
		d = c->activity_ns + (uint64_t)o->idle_timeout_ms * TW_NS_PER_MS;
	else if (c->phase == HTTP_PHASE_HEAD)
		d = c->req.start_ns + (uint64_t)o->header_timeout_ms * TW_NS_PER_MS;
	else if (c->phase == HTTP_PHASE_BODY)
		d = c->activity_ns + (uint64_t)o->header_timeout_ms * TW_NS_PER_MS;
	c->deadline_ns = d;
	/* Lazy timer: moved only when the deadline comes earlier; a later deadline is noticed
	 * when the timer fires, which keeps the heap out of the per-request path. */
	if (d && (!tw_timer_armed(&c->timer) || d < c->timer.deadline_ns))
		if (tw_timer_arm(c->hw->w, &c->timer, d) != TW_ERR_OK)
			conn_teardown(c); /* no timer, no protection: refuse to keep it */
}

static void conn_timer_fire(struct tw_worker *w, struct tw_timer *t)
{
	struct http_conn *c = (struct http_conn *)((char *)t - offsetof(struct http_conn, timer));
	uint64_t now = tw_now_ns();
	if (c->teardown || c->deadline_ns == 0)
		return;
	if (now < c->deadline_ns) {
		if (tw_timer_arm(w, t, c->deadline_ns) != TW_ERR_OK)
			conn_teardown(c);
		return;
	}
	if (c->lingering) {
		conn_teardown(c);
		return;
	}
	if (http_session_unsent(c) > 0) {
		/* A client that stopped reading: reset, so the kernel drops what is still
		 * queued for it instead of trickling it out after the close. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		TW_DEBUG(HTTP, "fd %d: write timeout, %zu bytes unsent", c->fd,
			 http_session_unsent(c));
		conn_teardown(c);
		return;
	}
	http_session_timeout(c);
	conn_step(c);
}

/* ---- the decision after every event --------------------------------------------------------- */

static void conn_step(struct http_conn *c)
{
	if (c->teardown) {
		conn_try_finish(c);
		return;
	}
	if (!c->send_inflight && http_session_unsent(c) > 0)
		conn_send(c);
	bool out_done = !c->send_inflight && http_session_unsent(c) == 0;
	if (c->close_after && out_done && c->phase != HTTP_PHASE_HANDLER) {
		if (c->peer_eof || c->hw->draining) {
			conn_teardown(c);
			return;
		}
		if (!c->lingering) {
			/* Tell the client we are done, then read and drop what it still sends, so
			 * unread input does not turn our last response into a reset. */
			shutdown(c->fd, SHUT_WR);
			c->lingering = true;
			c->linger_until_ns = tw_now_ns() + (uint64_t)TW_HTTP_LINGER_MS * TW_NS_PER_MS;
		}
	}
	size_t held = c->stash_len - c->stash_off;
	if (c->recv_armed && held > TW_HTTP_STASH_BYTES / 2) {
		conn_cancel_recv(c);
		c->recv_stopped = true;
	} else if (!c->recv_armed && !c->peer_eof && held <= TW_HTTP_STASH_BYTES / 4) {
		c->recv_stopped = false;
		conn_arm_recv(c);
	}
	conn_deadline(c);
}

static void conn_kick(struct http_conn *c)
{
	if (c->dead) {
		conn_free(c);
		return;
	}
	conn_step(c);
}

/* ---- completions ---------------------------------------------------------------------------- */

static void recycle_buffer(struct http_worker *hw, uint16_t bid)
{
	io_uring_buf_ring_add(hw->br, hw->bufs + (size_t)bid * TW_HTTP_RECV_BUF_BYTES,
			      TW_HTTP_RECV_BUF_BYTES, bid, io_uring_buf_ring_mask(TW_HTTP_RECV_BUFS),
			      0);
	io_uring_buf_ring_advance(hw->br, 1);
}

static void conn_recv_complete(struct tw_worker *w, struct tw_op *op,
			       const struct io_uring_cqe *cqe)
{
	(void)w;
	struct http_conn *c = CONN_OF(op, recv_op);
	struct http_worker *hw = c->hw;
	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		if (cqe->res > 0 && !c->teardown) {
			c->activity_ns = tw_now_ns();
			if (!c->lingering)
				http_session_feed(c, hw->bufs + (size_t)bid * TW_HTTP_RECV_BUF_BYTES,
						  (size_t)cqe->res);
		}
		recycle_buffer(hw, bid);
	}
	if (c->teardown) {
		conn_try_finish(c);
		return;
	}
	if (cqe->res == 0) {
		http_session_eof(c);
	} else if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
		/* Reset or another hard error: nobody is left to answer. A pending handler
		 * keeps the slot until it responds (conn_try_finish). */
		c->peer_eof = true;
		conn_teardown(c);
		return;
	}
	conn_step(c);
}

static void conn_send_complete(struct tw_worker *w, struct tw_op *op,
			       const struct io_uring_cqe *cqe)
{
	(void)w;
	struct http_conn *c = CONN_OF(op, send_op);
	c->send_inflight = false;
	free(c->out_retired);
	c->out_retired = NULL;
	if (c->teardown) {
		conn_try_finish(c);
		return;
	}
	if (cqe->res < 0) {
		c->peer_eof = true;
		conn_teardown(c);
		return;
	}
	c->activity_ns = tw_now_ns();
	http_session_sent(c, (size_t)cqe->res);
	conn_step(c);
}

/* ---- accept --------------------------------------------------------------------------------- */

static void arm_accept(struct http_worker *hw)
{
	if (hw->accept_armed || hw->draining || hw->listen_fd < 0)
		return;
	struct io_uring_sqe *sqe = tw_worker_get_sqe(hw->w);
	if (!sqe)
		return;
	io_uring_prep_multishot_accept(sqe, hw->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, &hw->accept_op);
	hw->accept_armed = true;
}

static void accept_retry_fire(struct tw_worker *w, struct tw_timer *t)
{
	(void)w;
	arm_accept((struct http_worker *)((char *)t - offsetof(struct http_worker, accept_retry)));
}

#define BUSY_BODY "{\"error\":{\"kind\":\"capacity_exhausted\",\"message\":\"too many connections\"}}"

static void refuse(struct http_worker *hw, int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json"
				   "\r\nContent-Length: 72\r\nConnection: close\r\n\r\n" BUSY_BODY;
	_Static_assert(sizeof(BUSY_BODY) - 1 == 72, "Content-Length of the 503 body");
	ssize_t r = send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)r; /* best effort: the connection is refused either way */
	close(fd);
	hw->refused++;
}

static void accept_complete(struct tw_worker *w, struct tw_op *op, const struct io_uring_cqe *cqe)
{
	struct http_worker *hw = (struct http_worker *)((char *)op -
							offsetof(struct http_worker, accept_op));
	if (!(cqe->flags & IORING_CQE_F_MORE))
		hw->accept_armed = false;
	if (cqe->res < 0) {
		if (cqe->res != -ECANCELED) {
			TW_WARN(HTTP, "worker %u: accept: %s", tw_worker_index(w),
				strerror(-cqe->res));
			/* EMFILE and friends: retry shortly instead of spinning. */
			if (!hw->accept_armed && !hw->draining)
				tw_timer_arm(w, &hw->accept_retry, tw_now_ns() + 10 * TW_NS_PER_MS);
		}
		return;
	}
	int fd = cqe->res;
	if (!hw->accept_armed)
		arm_accept(hw);
	if (hw->draining) {
		close(fd);
		return;
	}
	struct http_conn *c = tw_pool_get(&hw->conns);
	char *block = c ? block_get(hw) : NULL;
	if (!block) {
		if (c)
			tw_pool_put(&hw->conns, c);
		refuse(hw, fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	hw->accepted++;
	c->fd = fd;
	c->recv_op.complete = conn_recv_complete;
	c->send_op.complete = conn_send_complete;
	c->timer.fire = conn_timer_fire;
	c->kick = conn_kick;
	http_session_init(c, hw, block);
	/* A fresh connection must send its first request head within the header timeout. */
	uint64_t now = tw_now_ns();
	c->activity_ns = now - (uint64_t)hw->srv->opts.idle_timeout_ms * TW_NS_PER_MS +
			 (uint64_t)hw->srv->opts.header_timeout_ms * TW_NS_PER_MS;
	conn_arm_recv(c);
	conn_deadline(c);
}

/* ---- worker hooks --------------------------------------------------------------------------- */

static int open_listener(const struct http_server *s)
{
	int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    bind(fd, (const struct sockaddr *)&s->addr, s->addrlen) != 0 ||
	    listen(fd, 4096) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static enum tw_err setup_buffers(struct http_worker *hw)
{
	struct io_uring *ring = tw_worker_ring(hw->w);
	hw->br_bytes = ((size_t)TW_HTTP_RECV_BUFS * sizeof(struct io_uring_buf) + 4095) &
		       ~(size_t)4095;
	void *br = mmap(NULL, hw->br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	if (br == MAP_FAILED)
		return TW_ERR_NOMEM;
	hw->br = br;
	hw->bufs = aligned_alloc(4096, (size_t)TW_HTTP_RECV_BUFS * TW_HTTP_RECV_BUF_BYTES);
	if (!hw->bufs)
		return TW_ERR_NOMEM;
	io_uring_buf_ring_init(hw->br);
	struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)hw->br,
				       .ring_entries = TW_HTTP_RECV_BUFS,
				       .bgid = hw->bgid};
	int r = io_uring_register_buf_ring(ring, &reg, 0);
	if (r < 0) {
		TW_ERROR(HTTP, "provided-buffer ring: %s", strerror(-r));
		return tw_err_from_errno(r);
	}
	hw->br_registered = true;
	for (uint32_t i = 0; i < TW_HTTP_RECV_BUFS; i++)
		io_uring_buf_ring_add(hw->br, hw->bufs + (size_t)i * TW_HTTP_RECV_BUF_BYTES,
				      TW_HTTP_RECV_BUF_BYTES, (uint16_t)i,
				      io_uring_buf_ring_mask(TW_HTTP_RECV_BUFS), (int)i);
	io_uring_buf_ring_advance(hw->br, TW_HTTP_RECV_BUFS);
	return TW_ERR_OK;
}

static void free_worker_state(struct http_worker *hw)
{
	for (uint32_t i = 0; i < hw->nfree_blocks; i++)
		free(hw->free_blocks[i]);
	free(hw->free_blocks);
	if (hw->conns.capacity)
		tw_pool_destroy(&hw->conns);
	free(hw->bufs);
	if (hw->br)
		munmap(hw->br, hw->br_bytes);
	free(hw);
}

static enum tw_err http_worker_start(struct tw_worker *w, void *arg)
{
	struct http_server *s = arg;
	enum tw_err err = TW_ERR_NOMEM;
	struct http_worker *hw = calloc(1, sizeof(*hw));
	if (!hw)
		return TW_ERR_NOMEM;
	hw->srv = s;
	hw->w = w;
	hw->listen_fd = -1;
	hw->bgid = 1;
	hw->accept_op.complete = accept_complete;
	hw->accept_retry.fire = accept_retry_fire;
	hw->free_blocks_cap = 256;
	hw->free_blocks = calloc(hw->free_blocks_cap, sizeof(*hw->free_blocks));
	if (!hw->free_blocks)
		goto out_free;
	err = tw_pool_init(&hw->conns, sizeof(struct http_conn), s->opts.max_connections);
	if (err != TW_ERR_OK)
		goto out_free;
	err = setup_buffers(hw);
	if (err != TW_ERR_OK)
		goto out_free;
	int fd = open_listener(s);
	if (fd < 0) {
		TW_ERROR(HTTP, "worker %u: cannot listen on %s: %s", tw_worker_index(w),
			 s->opts.listen, strerror(-fd));
		err = tw_err_from_errno(fd);
		goto out_free;
	}
	hw->listen_fd = fd;
	s->workers[tw_worker_index(w)] = hw;
	arm_accept(hw);
	if (tw_worker_index(w) == 0)
		TW_INFO(HTTP, "listening on %s with %u workers", s->opts.listen,
			tw_worker_count(w));
	return TW_ERR_OK;

out_free:
	if (hw->br_registered)
		io_uring_unregister_buf_ring(tw_worker_ring(w), hw->bgid);
	free_worker_state(hw);
	return err;
}

static void http_worker_drain(struct tw_worker *w, void *arg)
{
	struct http_server *s = arg;
	struct http_worker *hw = s->workers[tw_worker_index(w)];
	hw->draining = true;
	tw_timer_cancel(w, &hw->accept_retry);
	if (hw->accept_armed) {
		struct io_uring_sqe *sqe = tw_worker_get_sqe(w);
		if (sqe) {
			io_uring_prep_cancel(sqe, &hw->accept_op, 0);
			io_uring_sqe_set_data64(sqe, 0);
		}
	}
	/* The pending accept holds its own reference; the socket goes when it is cancelled. */
	close(hw->listen_fd);
	hw->listen_fd = -1;
	for (uint32_t i = 0; i < hw->conns.capacity; i++) {
		struct http_conn *c = tw_pool_at(&hw->conns, i);
		if (!c || c->teardown || c->dead)
			continue;
		if (c->phase == HTTP_PHASE_IDLE && http_session_unsent(c) == 0 && !c->paused) {
			c->close_after = true;
			c->phase = HTTP_PHASE_CLOSING;
			c->peer_eof = true; /* no lingering for connections we close while idle */
			conn_step(c);
		}
		/* Others finish their request; http_respond sees `draining` and closes. */
	}
}

static bool http_worker_idle(struct tw_worker *w, void *arg)
{
	struct http_server *s = arg;
	struct http_worker *hw = s->workers[tw_worker_index(w)];
	return tw_pool_used(&hw->conns) == 0;
}

static void http_worker_stop(struct tw_worker *w, void *arg)
{
	struct http_server *s = arg;
	struct http_worker *hw = s->workers[tw_worker_index(w)];
	if (!hw)
		return;
	for (uint32_t i = 0; i < hw->conns.capacity; i++) {
		struct http_conn *c = tw_pool_at(&hw->conns, i);
		if (!c)
			continue;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		tw_timer_cancel(w, &c->timer);
		http_session_release(c);
		/* The block may still be the target of a receive until the ring is gone; it
		 * is only our memory, never the kernel's, so it can go now. */
		free(c->block);
		tw_pool_put(&hw->conns, c);
	}
	if (hw->listen_fd >= 0)
		close(hw->listen_fd);
	hw->listen_fd = -1;
	tw_timer_cancel(w, &hw->accept_retry);
	TW_DEBUG(HTTP, "worker %u: %llu accepted, %llu refused, %llu requests", tw_worker_index(w),
		 (unsigned long long)hw->accepted, (unsigned long long)hw->refused,
		 (unsigned long long)hw->requests);
}

static void http_worker_release(struct tw_worker *w, void *arg)
{
	struct http_server *s = arg;
	struct http_worker *hw = s->workers[tw_worker_index(w)];
	if (!hw)
		return;
	/* The ring is gone, so no receive can land in the buffers any more. */
	free_worker_state(hw);
	s->workers[tw_worker_index(w)] = NULL;
}

void http_server_init_hooks(struct http_server *s)
{
	s->hooks = (struct tw_worker_hooks){
		.name = "http",
		.arg = s,
		.start = http_worker_start,
		.drain = http_worker_drain,
		.idle = http_worker_idle,
		.stop = http_worker_stop,
		.release = http_worker_release,
	};
}
