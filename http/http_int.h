/*
 * http_int.h — structures shared inside http/: the router, the per-worker server state and the
 * connection, split into a protocol engine (http_session.c: bytes in, responses out, no I/O) and
 * the I/O layer on the ring (http_conn.c). The fuzzer drives the protocol engine directly.
 */
#ifndef TW_HTTP_HTTP_INT_H
#define TW_HTTP_HTTP_INT_H

#include <llhttp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/limits.h"
#include "core/pool.h"
#include "core/span.h"
#include "core/trace.h"
#include "http/http.h"

/* ---- router ---------------------------------------------------------------------------------- */

struct http_route_seg {
	const char *ptr; /* into the route's template copy */
	uint16_t len;
	bool param;
};

struct http_route {
	char *tmpl; /* owned copy */
	uint32_t nseg;
	struct http_route_seg seg[TW_HTTP_ROUTE_SEGMENTS_MAX];
	uint32_t methods; /* bit per enum http_method that has a handler (HEAD implied by GET) */
	http_handler_fn fn[HTTP_METHOD__COUNT];
	void *arg[HTTP_METHOD__COUNT];
	char allow[80]; /* "GET, HEAD, POST" for 405 responses */
};

struct http_router {
	uint32_t n;
	struct http_route routes[TW_HTTP_ROUTES_MAX];
};

struct http_param {
	struct http_str name;
	struct http_str value;
};

enum http_match {
	HTTP_MATCH_OK,
	HTTP_MATCH_NO_ROUTE,  /* 404 */
	HTTP_MATCH_NO_METHOD, /* 405; *route is a template that matched the path */
};

/* Match `path` and `method` without allocating. On HTTP_MATCH_OK fills *route, the handler and
 * params (values point into `path`); *nparams is set on every return. */
enum http_match http_router_match(const struct http_router *r, enum http_method method,
				  struct http_str path, uint32_t *route, http_handler_fn *fn,
				  void **arg, struct http_param *params, uint32_t *nparams);
enum tw_err http_router_add(struct http_router *r, enum http_method method, const char *tmpl,
			    http_handler_fn fn, void *arg);
void http_router_free(struct http_router *r);

/* ---- server and worker ---------------------------------------------------------------------- */

struct http_worker;

struct http_server {
	struct http_server_opts opts;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct http_router router;
	http_observer_fn observer;
	void *observer_arg;
	http_dispatch_fn on_dispatch;
	void *on_dispatch_arg;
	char *health_body; /* GET /healthz's body with details; NULL: {"status":"ok"} */
	size_t health_len;
	struct tw_worker_hooks hooks;
	/* connection block layout, fixed at creation from the options */
	size_t block_bytes;
	size_t off_headers, off_out, off_stash, off_body;
	struct http_worker *workers[TW_WORKERS_MAX];
};

struct http_conn;

struct http_worker {
	struct http_server *srv;
	struct tw_worker *w; /* NULL in the fuzzer */
	int listen_fd;
	bool accept_armed;
	bool draining;
	struct tw_op accept_op;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	char *bufs;
	uint16_t bgid;
	bool br_registered;
	struct tw_pool conns;
	/* freed connection blocks kept for the next accept */
	void **free_blocks;
	uint32_t nfree_blocks, free_blocks_cap;
	/* the Date header, formatted once per second */
	uint64_t date_sec;
	char date[32];
	/* counters (read in logs and tests) */
	uint64_t accepted, refused, requests;
	struct tw_timer accept_retry; /* re-arms accept after EMFILE and friends */
};

/* ---- connection ----------------------------------------------------------------------------- */

enum http_phase {
	HTTP_PHASE_IDLE,    /* between requests: no byte of the next one yet */
	HTTP_PHASE_HEAD,    /* request line and headers arriving */
	HTTP_PHASE_BODY,    /* body arriving */
	HTTP_PHASE_HANDLER, /* a handler is pending */
	HTTP_PHASE_CLOSING, /* final response queued; no more requests are read */
};

struct http_request {
	struct http_conn *conn;
	enum http_method method;
	uint8_t version_minor;
	bool head_only;   /* HEAD routed to a GET handler: no body in the response */
	bool responded;
	bool dispatching; /* inside the handler call */
	bool handled;     /* the handler was called (reported as observation.dispatched) */
	struct http_str path, query, body;
	uint32_t nheaders;
	struct http_header *headers; /* in the connection block, opts.headers_max entries */
	uint32_t route;
	uint32_t nparams;
	struct http_param params[TW_HTTP_ROUTE_PARAMS_MAX];
	uint64_t start_ns;
	bool traced;               /* trace and span below are set for this request */
	struct tw_trace_ctx trace; /* the caller's context, or a fresh root */
	struct tw_span span;       /* http.request, ended when the response is queued */
};

struct http_conn {
	struct tw_op recv_op;
	struct tw_op send_op;
	struct tw_timer timer;
	struct http_worker *hw;
	int fd;
	enum http_phase phase;
	bool recv_armed;    /* a multishot receive is active */
	bool recv_stopped;  /* reading paused for back-pressure (receive cancelled) */
	bool send_inflight;
	bool paused;        /* parser stopped: handler pending or output backed up */
	bool close_after;   /* close once the output is sent */
	bool peer_eof;      /* the client half-closed or went away */
	bool dead;          /* fd closed; the slot waits only for a pending handler */
	bool lingering;
	bool teardown;      /* closing: waiting for in-flight operations, then the slot is freed */
	bool cancel_sent;   /* an async cancel of the receive is on its way */
	bool expect_continue;
	bool chunked;
	bool over_limit;    /* a limit error was recorded in a parser callback */
	enum { HTTP_CB_NONE, HTTP_CB_FIELD, HTTP_CB_VALUE } last_cb;
	uint16_t fail_status;
	enum tw_err fail_err;
	const char *fail_msg;
	uint64_t deadline_ns;  /* when the current phase times out (0 = none) */
	uint64_t activity_ns;  /* last byte received or sent */
	uint64_t linger_until_ns;
	llhttp_t parser;
	struct http_request req;
	/* request head: URL, header names and values, copied */
	char *block;
	char *head;
	uint32_t head_len, head_cap;
	/* body */
	char *body;
	size_t body_len, body_cap;
	bool body_heap;
	/* input held while paused */
	char *stash;
	uint32_t stash_off, stash_len;
	/* output */
	char *out;
	size_t out_len, out_sent, out_cap, inflight_len;
	char *out_inline;
	char *out_retired; /* heap buffer an in-flight send still reads; freed when it completes */
	/* the I/O layer's reaction to new output or a resumed parser; NULL in the fuzzer */
	void (*kick)(struct http_conn *c);
};

/* Protocol engine (http_session.c). */
void http_session_init(struct http_conn *c, struct http_worker *hw, char *block);
/* Feed received bytes; they are parsed now or stashed while paused. Never fails: problems
 * become error responses and close_after. */
void http_session_feed(struct http_conn *c, const char *data, size_t len);
/* The client sent EOF. */
void http_session_eof(struct http_conn *c);
/* The phase's deadline passed: 408 (and close) when a request is partly read. */
void http_session_timeout(struct http_conn *c);
/* Release what the session holds beyond its block (heap body and output). */
void http_session_release(struct http_conn *c);
/* Output sent: drop it, and resume parsing if it was held back by output. */
void http_session_sent(struct http_conn *c, size_t n);
static inline size_t http_session_unsent(const struct http_conn *c)
{
	return c->out_len - c->out_sent;
}

/* Refresh the worker's cached Date header. */
void http_worker_date(struct http_worker *hw);

/* Fill s->hooks with the worker hooks of http_conn.c. */
void http_server_init_hooks(struct http_server *s);

/* Size and layout of a connection block for these options. */
void http_server_layout(struct http_server *s);

#endif
