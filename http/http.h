/*
 * http.h — the HTTP/1.1 server on the workers' rings: public face for handlers and composition.
 *
 * Each worker owns a listening socket (SO_REUSEPORT), a multishot accept, a provided-buffer ring
 * for multishot receives and a table of connection slots; nothing is shared between workers on
 * the request path and no lock is taken. Requests are parsed with llhttp into a per-connection
 * head buffer (request line and headers, bounded), routed on route templates
 * ("/functions/:id/invoke") and handed to a handler on the worker thread that owns the
 * connection.
 *
 * A handler either responds before it returns (HTTP_DONE) or returns HTTP_PENDING and responds
 * later with http_respond*() from the same worker (after a timer, a message, a GPU completion).
 * While a request is pending the connection reads no further requests; pipelined requests wait
 * in order. The request, its headers, params and body stay valid until the response is given.
 *
 * Observations (route index, method, status, duration) go to one observer per server, called on
 * the worker thread for every response, so a metrics subsystem can count them per core.
 *
 * Thread rules: configure (routes, observer) on the main thread before the workers start; after
 * that everything happens on worker threads, each request on its connection's worker.
 */
#ifndef TW_HTTP_HTTP_H
#define TW_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/worker.h"

struct http_server;  /* opaque */
struct http_request; /* opaque; borrowed by the handler until it responds */

/* Methods we route on; everything else is HTTP_METHOD_OTHER (405 on any route). */
enum http_method {
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_PATCH,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_OTHER,
	HTTP_METHOD__COUNT
};

const char *http_method_str(enum http_method m);

/* A byte range into request memory; not NUL-terminated. */
struct http_str {
	const char *ptr;
	size_t len;
};

enum http_handler_ret {
	HTTP_DONE,    /* the handler has called http_respond*() */
	HTTP_PENDING, /* the handler will call http_respond*() later, on this worker */
};

typedef enum http_handler_ret (*http_handler_fn)(struct http_request *req, void *arg);

/* Route index given to observations of requests that matched no route (404, 405, 400, 408...). */
#define HTTP_ROUTE_NONE UINT32_MAX

/* One response observation; see http_server_set_observer. */
struct http_observation {
	uint32_t worker;      /* tw_worker_index of the connection's worker */
	uint32_t route;       /* index of the route template, or HTTP_ROUTE_NONE */
	enum http_method method;
	uint16_t status;
	uint64_t duration_ns; /* first byte of the request to the response queued for sending */
	uint64_t body_bytes;  /* request body bytes */
	bool dispatched;      /* a handler was called (the dispatch callback saw this request) */
};

typedef void (*http_observer_fn)(const struct http_observation *o, void *arg);

/* Server settings; http_server_opts_defaults fills them from core/limits.h. */
struct http_server_opts {
	char listen[128]; /* "HOST:PORT"; HOST an IPv4 or IPv6 literal ("[::1]:8080") */
	uint32_t max_connections; /* per worker */
	uint32_t header_bytes_max;
	uint32_t headers_max;
	uint64_t body_bytes_max;
	uint32_t header_timeout_ms;
	uint32_t idle_timeout_ms;
	uint32_t write_timeout_ms;
};

void http_server_opts_defaults(struct http_server_opts *o);

/* Create a server with the built-in routes (GET /healthz). Main thread. The listen address is
 * checked here (TW_ERR_CONFIG); sockets are opened by each worker when the group starts. */
enum tw_err http_server_create(const struct http_server_opts *o, struct http_server **out);

/* Free the server; after its worker group has stopped. */
void http_server_destroy(struct http_server *s);

/*
 * Route `method` requests on `tmpl` to `fn(req, arg)`. A template is a path whose segments are
 * literals or parameters (":name"), e.g. "/functions/:id/invoke". Templates are matched in the
 * order they were first added; a template may carry one handler per method. GET handlers also
 * answer HEAD (without a body) unless HEAD has its own. Main thread, before the workers start.
 * TW_ERR_FULL beyond TW_HTTP_ROUTES_MAX templates; TW_ERR_INVALID_ARG for a malformed template
 * or HTTP_METHOD_OTHER; TW_ERR_EXISTS for a second handler for the same method and template.
 */
enum tw_err http_route_add(struct http_server *s, enum http_method method, const char *tmpl,
			   http_handler_fn fn, void *arg);

/* Route templates, by index, for labels sized at start-up (metrics). */
uint32_t http_server_route_count(const struct http_server *s);
const char *http_server_route_template(const struct http_server *s, uint32_t index);

/* Add `details_json` (a JSON object, copied) to GET /healthz's answer, which becomes
 * {"status":"ok","details":<details_json>}; computed once at start-up so that the probe stays
 * free of work. TW_ERR_NOMEM. Main thread, before the workers start. */
enum tw_err http_server_set_health_details(struct http_server *s, const char *details_json);

/* Call fn(observation, arg) for every response (borrowed arg; must outlive the server). One
 * observer; a later call replaces it. Main thread, before the workers start. */
void http_server_set_observer(struct http_server *s, http_observer_fn fn, void *arg);

/* Call fn(worker, route, method, arg) on the worker thread just before a route's handler runs:
 * with the observer, this brackets each routed request (in-flight gauges). One callback; a later
 * call replaces it. Main thread, before the workers start. */
typedef void (*http_dispatch_fn)(uint32_t worker, uint32_t route, enum http_method method,
				 void *arg);
void http_server_set_dispatch_observer(struct http_server *s, http_dispatch_fn fn, void *arg);

/* The methods with a handler on route `index`, one bit per enum http_method (HEAD is answered by
 * GET handlers without its own bit). 0 for an index out of range. */
uint32_t http_server_route_methods(const struct http_server *s, uint32_t index);

/* The hooks that run the server on a worker group; pass them in tw_worker_group_opts. Put them
 * before the hooks of subsystems that keep requests pending: stop hooks run in reverse order,
 * so those subsystems answer (or drop) their requests before the connections are freed. */
const struct tw_worker_hooks *http_server_hooks(struct http_server *s);

/* ---- requests (worker thread of the request) --------------------------------------------- */

enum http_method http_request_method(const struct http_request *r);
struct http_str http_request_path(const struct http_request *r);  /* without the query */
struct http_str http_request_query(const struct http_request *r); /* after '?', may be empty */
struct http_str http_request_body(const struct http_request *r);
/* First header named `name` (case-insensitive); false when absent. */
bool http_request_header(const struct http_request *r, const char *name, struct http_str *value);
/* Route parameter captured by ":name" in the template; false when there is none. */
bool http_request_param(const struct http_request *r, const char *name, struct http_str *value);
/* The template that matched ("/functions/:id/invoke") and its index. */
const char *http_request_route(const struct http_request *r);
uint32_t http_request_route_index(const struct http_request *r);
struct tw_worker *http_request_worker(const struct http_request *r);
/* The request's W3C trace context (from a valid `traceparent`, else a fresh root) and its
 * `http.request` span, the parent for a handler's own spans:
 *     tw_span_begin(&child, "http.invoke_function", TW_SPAN_INTERNAL, NULL,
 *                   http_request_span(req));
 * Valid until the response is given. */
struct tw_trace_ctx;
struct tw_span;
const struct tw_trace_ctx *http_request_trace(struct http_request *r);
const struct tw_span *http_request_span(struct http_request *r);

/* True when the client went away while the request was pending; respond anyway (the response
 * is dropped) so the connection's slot is released. */
bool http_request_aborted(const struct http_request *r);

/* ---- responses ---------------------------------------------------------------------------- */

struct http_header {
	struct http_str name;
	struct http_str value;
};

struct http_response {
	uint16_t status;
	const char *content_type;          /* NULL: no Content-Type */
	const struct http_header *headers; /* extra headers, copied; may be NULL */
	uint32_t nheaders;
	const void *body; /* copied */
	size_t body_len;
};

/*
 * Queue the response to `req` (Date and Content-Length are added; Connection: close when the
 * connection ends after it). Exactly once per request, on the request's worker. After it returns
 * `req` and everything borrowed from it are gone. Returns TW_ERR_NOMEM when the response cannot
 * be buffered (the connection is then closed) and TW_ERR_INVALID_ARG on a second call.
 */
enum tw_err http_respond(struct http_request *req, const struct http_response *resp);

/* http_respond with Content-Type: application/json. */
enum tw_err http_respond_json(struct http_request *req, uint16_t status, const char *json,
			      size_t len);

/* The error envelope {"error":{"kind":"<tw_err_str(kind)>","message":"<message>"}} with
 * `status`; message NULL means tw_err_msg(kind). The message is JSON-escaped. */
enum tw_err http_respond_error(struct http_request *req, uint16_t status, enum tw_err kind,
			       const char *message);

/* The status an error maps to when it reaches a client (404 for NOT_FOUND, 413, 431...). */
uint16_t http_status_for_err(enum tw_err e);

/* The reason phrase of a status ("Not Found"); "Unknown" when we have none. */
const char *http_status_reason(uint16_t status);

#endif
