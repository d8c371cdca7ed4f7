/*
 * http_session.c — the protocol engine of one connection: bytes in, responses out, no I/O.
 *
 * llhttp parses into the connection's head buffer (URL, header names and values are copied as
 * they arrive, so receive buffers go back to the ring at once). A complete message pauses the
 * parser; the request is routed and its handler runs outside llhttp's callbacks. When the
 * handler is pending, or the output is backed up, further bytes wait in the stash, so pipelined
 * requests are answered strictly in order.
 *
 * Everything here works on caller-owned memory: the connection block (head, header array,
 * inline output, stash, inline body) is allocated at accept. Only bodies larger than
 * TW_HTTP_INLINE_BODY_BYTES and responses larger than the inline output take heap memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/http_int.h"

static struct http_conn *conn_of(llhttp_t *p)
{
	return (struct http_conn *)p->data;
}

/* ---- status and errors ---------------------------------------------------------------------- */

const char *http_status_reason(uint16_t status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

uint16_t http_status_for_err(enum tw_err e)
{
	switch (e) {
	case TW_ERR_OK: return 200;
	case TW_ERR_NOT_FOUND:
	case TW_ERR_MISSING_EXPORT: return 404;
	case TW_ERR_EXISTS: return 409;
	case TW_ERR_HEADERS_TOO_LARGE: return 431;
	case TW_ERR_BODY_TOO_LARGE:
	case TW_ERR_MODULE_TOO_LARGE: return 413;
	case TW_ERR_UNAUTHORIZED:
	case TW_ERR_INVALID_AUTH: return 401;
	case TW_ERR_TENANT_SCOPE_DENIED: return 403;
	case TW_ERR_RATE_LIMITED: return 429;
	case TW_ERR_TIMEOUT: return 408;
	case TW_ERR_INVOKE_TIMEOUT: return 504;
	case TW_ERR_UNSUPPORTED: return 501;
	case TW_ERR_FULL:
	case TW_ERR_AGAIN:
	case TW_ERR_NOMEM:
	case TW_ERR_SHUTDOWN:
	case TW_ERR_CAPACITY_EXHAUSTED:
	case TW_ERR_GPU_UNAVAILABLE: return 503;
	case TW_ERR_INVALID_ARG:
	case TW_ERR_HTTP_MALFORMED:
	case TW_ERR_INVALID_JSON:
	case TW_ERR_INVALID_NAME:
	case TW_ERR_INVALID_BASE64:
	case TW_ERR_INVALID_ARGS:
	case TW_ERR_TOO_MANY_ARGS:
	case TW_ERR_MISSING_TENANT:
	case TW_ERR_INVALID_TENANT:
	case TW_ERR_DUPLICATE_TENANT_HEADER:
	case TW_ERR_MODULE_MEMORY_TOO_LARGE: return 400;
	case TW_ERR_WASM_MALFORMED:
	case TW_ERR_WASM_INVALID:
	case TW_ERR_WASM_UNLINKABLE:
	case TW_ERR_WASM_UNINSTANTIABLE:
	case TW_ERR_WASM_TRAP:
	case TW_ERR_WASM_EXHAUSTED:
	case TW_ERR_WASM_EXIT:
	case TW_ERR_GPU_PTX: return 422;
	default: return 500;
	}
}

/* ---- output --------------------------------------------------------------------------------- */

/* Make room for `n` more output bytes. The inline buffer is compacted when no send reads it;
 * otherwise a larger heap buffer takes over and the old one is kept until the send completes. */
static bool out_reserve(struct http_conn *c, size_t n)
{
	if (c->out_cap - c->out_len >= n)
		return true;
	if (!c->send_inflight && c->out_sent > 0) {
		memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
		c->out_len -= c->out_sent;
		c->out_sent = 0;
		if (c->out_cap - c->out_len >= n)
			return true;
	}
	size_t need = c->out_len + n;
	if (need > TW_HTTP_RESPONSE_BYTES_MAX + TW_HTTP_OUT_BYTES)
		return false;
	size_t cap = c->out_cap * 2;
	while (cap < need)
		cap *= 2;
	char *nb = malloc(cap);
	if (!nb)
		return false;
	memcpy(nb, c->out, c->out_len);
	if (c->out != c->out_inline) {
		if (c->send_inflight && !c->out_retired)
			c->out_retired = c->out;
		else
			free(c->out);
	}
	c->out = nb;
	c->out_cap = cap;
	return true;
}

static inline void put(struct http_conn *c, const void *p, size_t n)
{
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

static inline void puts_(struct http_conn *c, const char *s)
{
	put(c, s, strlen(s));
}

static void put_u64(struct http_conn *c, uint64_t v)
{
	char tmp[24];
	int i = (int)sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(c, tmp + i, sizeof(tmp) - (size_t)i);
}

void http_worker_date(struct http_worker *hw)
{
	uint64_t sec = tw_wall_ns() / TW_NS_PER_S;
	if (sec != hw->date_sec) {
		hw->date_sec = sec;
		tw_http_date(sec * TW_NS_PER_S, hw->date, sizeof(hw->date));
	}
}

/* ---- trace context ------------------------------------------------------------------------- */

static bool header_is(const struct http_header *h, const char *name, size_t n)
{
	return h->name.len == n && strncasecmp(h->name.ptr, name, n) == 0;
}

/* Begin the request's trace once: from exactly one valid traceparent header, else a fresh root
 * (W3C: several traceparent headers are invalid). The span starts at the request's first byte. */
static void trace_begin(struct http_conn *c)
{
	struct http_request *req = &c->req;
	if (req->traced)
		return;
	req->traced = true;
	const struct http_header *tp = NULL, *ts = NULL;
	uint32_t ntp = 0;
	for (uint32_t i = 0; i < req->nheaders; i++) {
		if (header_is(&req->headers[i], "traceparent", 11))
			tp = &req->headers[i], ntp++;
		else if (header_is(&req->headers[i], "tracestate", 10) && !ts)
			ts = &req->headers[i];
	}
	if (ntp == 1 && tw_traceparent_parse(tp->value.ptr, tp->value.len, &req->trace)) {
		req->trace.tracestate_len = 0;
		if (ts)
			tw_tracestate_set(&req->trace, ts->value.ptr, ts->value.len);
	} else {
		tw_trace_new_root(&req->trace, tw_trace_sample_root());
	}
	tw_span_begin(&req->span, "http.request", TW_SPAN_SERVER, &req->trace, NULL);
	uint64_t now = tw_now_ns();
	if (req->start_ns && now > req->start_ns)
		req->span.start_unix_ns -= now - req->start_ns;
}

/* End the request's span with its required attributes. */
static void trace_end(struct http_conn *c, uint32_t route, enum http_method m, uint16_t status)
{
	struct http_request *req = &c->req;
	if (!req->traced)
		return;
	struct http_server *s = c->hw->srv;
	char rid[17];
	tw_hex_encode(req->span.span_id, 8, rid);
	tw_span_str(&req->span, "method", http_method_str(m));
	tw_span_str(&req->span, "route", route < s->router.n ? s->router.routes[route].tmpl
							      : "unknown");
	tw_span_int(&req->span, "status", status);
	tw_span_str(&req->span, "version", req->version_minor == 0 ? "1.0" : "1.1");
	tw_span_str(&req->span, "request_id", rid);
	req->span.error = status >= 500;
	tw_span_end(&req->span);
	/* A later response on this connection (a parse error before the next request begins)
	 * must start its own trace, not repeat this one. */
	req->traced = false;
}

const struct tw_trace_ctx *http_request_trace(struct http_request *r)
{
	trace_begin(r->conn);
	return &r->trace;
}

const struct tw_span *http_request_span(struct http_request *r)
{
	trace_begin(r->conn);
	return &r->span;
}

/* Append one whole response. `keep` decides the Connection header. */
static bool write_response(struct http_conn *c, const struct http_response *r, bool keep,
			   bool head_only, const char *allow)
{
	size_t need = 160 + 48 + r->body_len;
	if (r->content_type)
		need += strlen(r->content_type) + 16;
	if (allow)
		need += strlen(allow) + 16;
	for (uint32_t i = 0; i < r->nheaders; i++)
		need += r->headers[i].name.len + r->headers[i].value.len + 4;
	if (r->body_len > TW_HTTP_RESPONSE_BYTES_MAX || !out_reserve(c, need))
		return false;
	http_worker_date(c->hw);
	const char *reason = http_status_reason(r->status);
	puts_(c, "HTTP/1.1 ");
	put_u64(c, r->status % 1000);
	put(c, " ", 1);
	puts_(c, reason);
	puts_(c, "\r\nDate: ");
	puts_(c, c->hw->date);
	trace_begin(c);
	char trace_hex[33];
	tw_hex_encode(c->req.trace.trace_id, 16, trace_hex);
	puts_(c, "\r\nx-trace-id: ");
	put(c, trace_hex, 32);
	if (r->content_type) {
		puts_(c, "\r\nContent-Type: ");
		puts_(c, r->content_type);
	}
	if (allow) {
		puts_(c, "\r\nAllow: ");
		puts_(c, allow);
	}
	for (uint32_t i = 0; i < r->nheaders; i++) {
		puts_(c, "\r\n");
		put(c, r->headers[i].name.ptr, r->headers[i].name.len);
		puts_(c, ": ");
		put(c, r->headers[i].value.ptr, r->headers[i].value.len);
	}
	puts_(c, "\r\nContent-Length: ");
	put_u64(c, r->body_len);
	if (!keep)
		puts_(c, "\r\nConnection: close");
	else if (c->req.version_minor == 0)
		puts_(c, "\r\nConnection: keep-alive");
	puts_(c, "\r\n\r\n");
	if (!head_only && r->body_len)
		put(c, r->body, r->body_len);
	return true;
}

/* JSON-escape `s` into dst (cap bytes, NUL-terminated); long messages are cut. */
static size_t json_escape(char *dst, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (; *s && o + 7 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			memcpy(dst + o, "\\u00", 4);
			dst[o + 4] = hex[ch >> 4];
			dst[o + 5] = hex[ch & 15];
			o += 6;
		} else {
			dst[o++] = (char)ch;
		}
	}
	dst[o] = '\0';
	return o;
}

static size_t error_body(char *buf, size_t cap, enum tw_err kind, const char *message)
{
	char esc[512];
	json_escape(esc, sizeof(esc), message ? message : tw_err_msg(kind));
	int n = snprintf(buf, cap, "{\"error\":{\"kind\":\"%s\",\"message\":\"%s\"}}",
			 tw_err_str(kind), esc);
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static void observe(struct http_conn *c, uint32_t route, enum http_method m, uint16_t status)
{
	struct http_server *s = c->hw->srv;
	c->hw->requests++;
	trace_end(c, route, m, status);
	if (!s->observer)
		return;
	uint64_t now = tw_now_ns();
	struct http_observation o = {
		.worker = c->hw->w ? tw_worker_index(c->hw->w) : 0,
		.route = route,
		.method = m,
		.status = status,
		.duration_ns = c->req.start_ns && now > c->req.start_ns ? now - c->req.start_ns : 0,
		.body_bytes = c->body_len,
		.dispatched = c->req.handled,
	};
	s->observer(&o, s->observer_arg);
}

/* A response that ends the connection, for a request the parser could not finish (400, 408,
 * 413, 431): nothing more is parsed and the connection closes once it is sent. */
static void session_fail(struct http_conn *c, uint16_t status, enum tw_err kind, const char *msg)
{
	if (c->phase == HTTP_PHASE_CLOSING)
		return;
	char body[640];
	size_t n = error_body(body, sizeof(body), kind, msg);
	struct http_response r = {.status = status, .content_type = "application/json",
				  .body = body, .body_len = n};
	c->close_after = true;
	c->phase = HTTP_PHASE_CLOSING;
	c->stash_len = c->stash_off = 0;
	if (!write_response(c, &r, false, false, NULL))
		c->out_len = c->out_sent; /* nothing partial is ever sent */
	observe(c, HTTP_ROUTE_NONE, c->req.method, status);
	TW_DEBUG(HTTP, "fd %d: %u %s", c->fd, status, msg ? msg : tw_err_str(kind));
}

/* ---- requests ------------------------------------------------------------------------------- */

static void release_body(struct http_conn *c)
{
	if (c->body_heap)
		free(c->body);
	c->body_heap = false;
	c->body = c->block + c->hw->srv->off_body;
	c->body_cap = TW_HTTP_INLINE_BODY_BYTES;
	c->body_len = 0;
}

static void process(struct http_conn *c, const char *data, size_t len, bool from_stash);

/* Continue after a pending response or drained output: parse what waited in the stash. */
static void resume(struct http_conn *c)
{
	c->paused = false;
	if (c->stash_len > c->stash_off)
		process(c, c->stash + c->stash_off, c->stash_len - c->stash_off, true);
	else
		c->stash_len = c->stash_off = 0;
}

enum tw_err http_respond(struct http_request *req, const struct http_response *resp)
{
	struct http_conn *c = req->conn;
	if (req->responded)
		return TW_ERR_INVALID_ARG;
	req->responded = true;
	enum tw_err err = TW_ERR_OK;
	bool keep = !c->close_after && !c->peer_eof && !c->hw->draining &&
		    llhttp_should_keep_alive(&c->parser);
	if (!c->dead) {
		if (!write_response(c, resp, keep, req->head_only, NULL)) {
			err = TW_ERR_NOMEM;
			keep = false;
		}
	}
	observe(c, req->route, req->method, resp->status);
	release_body(c);
	if (!keep) {
		c->close_after = true;
		c->phase = HTTP_PHASE_CLOSING;
		c->stash_len = c->stash_off = 0;
	} else {
		c->phase = HTTP_PHASE_IDLE;
	}
	if (!req->dispatching) {
		/* Completed later: parse what waited and let the I/O layer send. */
		if (keep && !c->dead)
			resume(c);
		if (c->kick)
			c->kick(c);
	}
	return err;
}

enum tw_err http_respond_json(struct http_request *req, uint16_t status, const char *json,
			      size_t len)
{
	struct http_response r = {.status = status, .content_type = "application/json",
				  .body = json, .body_len = len};
	return http_respond(req, &r);
}

enum tw_err http_respond_error(struct http_request *req, uint16_t status, enum tw_err kind,
			       const char *message)
{
	char body[640];
	size_t n = error_body(body, sizeof(body), kind, message);
	return http_respond_json(req, status, body, n);
}

static void respond_405(struct http_conn *c, const char *allow)
{
	char body[640];
	size_t n = error_body(body, sizeof(body), TW_ERR_INVALID_ARG,
			      "method not allowed on this route");
	struct http_request *req = &c->req;
	bool keep = !c->close_after && !c->peer_eof && !c->hw->draining &&
		    llhttp_should_keep_alive(&c->parser);
	struct http_response r = {.status = 405, .content_type = "application/json", .body = body,
				  .body_len = n};
	req->responded = true;
	if (!write_response(c, &r, keep, req->method == HTTP_METHOD_HEAD, allow))
		keep = false;
	observe(c, HTTP_ROUTE_NONE, req->method, 405);
	release_body(c);
	c->phase = keep ? HTTP_PHASE_IDLE : HTTP_PHASE_CLOSING;
	c->close_after = !keep;
}

static enum http_method map_method(uint8_t m)
{
	switch (m) {
	case HTTP_GET: return HTTP_METHOD_GET;
	case HTTP_HEAD: return HTTP_METHOD_HEAD;
	case HTTP_POST: return HTTP_METHOD_POST;
	case HTTP_PUT: return HTTP_METHOD_PUT;
	case HTTP_DELETE: return HTTP_METHOD_DELETE;
	case HTTP_PATCH: return HTTP_METHOD_PATCH;
	case HTTP_OPTIONS: return HTTP_METHOD_OPTIONS;
	default: return HTTP_METHOD_OTHER;
	}
}

/* Route the complete request in c->req and run its handler. */
static void dispatch(struct http_conn *c)
{
	struct http_request *req = &c->req;
	struct http_server *s = c->hw->srv;
	http_handler_fn fn = NULL;
	void *arg = NULL;
	req->body = (struct http_str){c->body, c->body_len};
	req->route = HTTP_ROUTE_NONE;
	/* Every response given from here on is synchronous: process() continues parsing. */
	req->dispatching = true;
	enum http_match m = http_router_match(&s->router, req->method, req->path, &req->route,
					      &fn, &arg, req->params, &req->nparams);
	if (m == HTTP_MATCH_NO_ROUTE) {
		req->route = HTTP_ROUTE_NONE;
		req->head_only = req->method == HTTP_METHOD_HEAD;
		http_respond_error(req, 404, TW_ERR_NOT_FOUND, "no such route");
		req->dispatching = false;
		return;
	}
	if (m == HTTP_MATCH_NO_METHOD) {
		respond_405(c, s->router.routes[req->route].allow);
		req->dispatching = false;
		return;
	}
	req->head_only = req->method == HTTP_METHOD_HEAD && !s->router.routes[req->route].fn[HTTP_METHOD_HEAD];
	req->handled = true;
	if (s->on_dispatch)
		s->on_dispatch(c->hw->w ? tw_worker_index(c->hw->w) : 0, req->route, req->method,
			       s->on_dispatch_arg);
	enum http_handler_ret ret = fn(req, arg);
	if (!req->responded) {
		if (ret == HTTP_PENDING) {
			c->phase = HTTP_PHASE_HANDLER;
			c->paused = true;
		} else {
			TW_ERROR(HTTP, "handler for %s returned without a response",
				 s->router.routes[req->route].tmpl);
			http_respond_error(req, 500, TW_ERR_INTERNAL, NULL);
		}
	}
	req->dispatching = false;
}

/* ---- llhttp callbacks ----------------------------------------------------------------------- */

static int limit_error(struct http_conn *c, uint16_t status, enum tw_err err, const char *msg)
{
	c->over_limit = true;
	c->fail_status = status;
	c->fail_err = err;
	c->fail_msg = msg;
	return HPE_USER;
}

static int head_append(struct http_conn *c, const char *at, size_t len)
{
	/* Separators (": ", CRLF) are not stored; count them so the limit is on what was sent. */
	size_t used = c->head_len + 4u * c->req.nheaders;
	if (len > c->head_cap - c->head_len || used + len > c->hw->srv->opts.header_bytes_max)
		return limit_error(c, 431, TW_ERR_HEADERS_TOO_LARGE, "request headers too large");
	memcpy(c->head + c->head_len, at, len);
	c->head_len += (uint32_t)len;
	return 0;
}

static int on_message_begin(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);
	struct http_request *req = &c->req;
	struct http_header *headers = req->headers;
	memset(req, 0, sizeof(*req));
	req->conn = c;
	req->headers = headers;
	req->route = HTTP_ROUTE_NONE;
	req->method = HTTP_METHOD_OTHER;
	req->start_ns = tw_now_ns();
	req->path = (struct http_str){c->head, 0};
	c->head_len = 0;
	c->last_cb = HTTP_CB_NONE;
	c->expect_continue = false;
	c->phase = HTTP_PHASE_HEAD;
	release_body(c);
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	int r = head_append(c, at, len);
	c->req.path.len += len * (r == 0);
	return r;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	struct http_request *req = &c->req;
	if (c->last_cb != HTTP_CB_FIELD) {
		if (req->nheaders == c->hw->srv->opts.headers_max)
			return limit_error(c, 431, TW_ERR_HEADERS_TOO_LARGE, "too many headers");
		struct http_header *h = &req->headers[req->nheaders++];
		h->name = (struct http_str){c->head + c->head_len, 0};
		h->value = (struct http_str){c->head + c->head_len, 0};
		c->last_cb = HTTP_CB_FIELD;
	}
	int r = head_append(c, at, len);
	if (r == 0)
		req->headers[req->nheaders - 1].name.len += len;
	return r;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	struct http_request *req = &c->req;
	struct http_header *h = &req->headers[req->nheaders - 1];
	if (c->last_cb != HTTP_CB_VALUE) {
		h->value = (struct http_str){c->head + c->head_len, 0};
		c->last_cb = HTTP_CB_VALUE;
	}
	int r = head_append(c, at, len);
	if (r == 0)
		h->value.len += len;
	return r;
}

static bool str_ieq(struct http_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len == n && strncasecmp(s.ptr, lit, n) == 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);
	struct http_request *req = &c->req;
	const struct http_server_opts *o = &c->hw->srv->opts;
	req->method = map_method(p->method);
	req->version_minor = p->http_major == 1 ? p->http_minor : 0;
	/* Split the request target into path and query. */
	const char *q = memchr(req->path.ptr, '?', req->path.len);
	if (q) {
		req->query = (struct http_str){q + 1, req->path.len - (size_t)(q + 1 - req->path.ptr)};
		req->path.len = (size_t)(q - req->path.ptr);
	} else {
		req->query = (struct http_str){req->path.ptr + req->path.len, 0};
	}
	c->chunked = (p->flags & F_CHUNKED) != 0;
	bool has_body = c->chunked || ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > o->body_bytes_max)
		return limit_error(c, 413, TW_ERR_BODY_TOO_LARGE, "request body too large");
	if (has_body && !c->chunked && p->content_length > c->body_cap) {
		/* Announced up front: one allocation of the exact size, bounded by the limit. */
		char *b = malloc(p->content_length);
		if (!b)
			return limit_error(c, 413, TW_ERR_BODY_TOO_LARGE, "request body too large");
		c->body = b;
		c->body_cap = p->content_length;
		c->body_heap = true;
	}
	struct http_str expect;
	if (has_body && req->version_minor >= 1 && http_request_header(req, "expect", &expect)) {
		if (!str_ieq(expect, "100-continue"))
			return limit_error(c, 400, TW_ERR_HTTP_MALFORMED, "unsupported expectation");
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		if (out_reserve(c, sizeof(cont) - 1))
			put(c, cont, sizeof(cont) - 1);
	}
	c->phase = has_body ? HTTP_PHASE_BODY : HTTP_PHASE_HEAD;
	return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
	struct http_conn *c = conn_of(p);
	uint64_t max = c->hw->srv->opts.body_bytes_max;
	if (len > max - c->body_len)
		return limit_error(c, 413, TW_ERR_BODY_TOO_LARGE, "request body too large");
	if (len > c->body_cap - c->body_len) {
		/* Chunked bodies announce no size: grow by doubling up to the limit. */
		size_t cap = c->body_cap * 2;
		while (cap < c->body_len + len)
			cap *= 2;
		if (cap > max)
			cap = max;
		char *b = c->body_heap ? realloc(c->body, cap) : malloc(cap);
		if (!b)
			return limit_error(c, 413, TW_ERR_BODY_TOO_LARGE, "request body too large");
		if (!c->body_heap)
			memcpy(b, c->body, c->body_len);
		c->body = b;
		c->body_cap = cap;
		c->body_heap = true;
	}
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	return 0;
}

static int on_message_complete(llhttp_t *p)
{
	(void)p;
	/* Stop here: the handler runs outside the parser and may leave the request pending. */
	return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* ---- feeding -------------------------------------------------------------------------------- */

/* Keep unparsed bytes for later. Returns false when the client has overrun the stash. */
static bool stash(struct http_conn *c, const char *data, size_t len, bool from_stash)
{
	if (from_stash) {
		c->stash_off = (uint32_t)(data - c->stash);
		return true;
	}
	if (c->stash_off) {
		memmove(c->stash, c->stash + c->stash_off, c->stash_len - c->stash_off);
		c->stash_len -= c->stash_off;
		c->stash_off = 0;
	}
	if (len > TW_HTTP_STASH_BYTES - c->stash_len)
		return false;
	memcpy(c->stash + c->stash_len, data, len);
	c->stash_len += (uint32_t)len;
	return true;
}

static void process(struct http_conn *c, const char *data, size_t len, bool from_stash)
{
	while (len > 0 && !c->paused && c->phase != HTTP_PHASE_CLOSING) {
		llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
		if (e == HPE_OK) {
			len = 0;
			break;
		}
		if (e != HPE_PAUSED) {
			if (c->over_limit)
				session_fail(c, c->fail_status, c->fail_err, c->fail_msg);
			else
				session_fail(c, 400, TW_ERR_HTTP_MALFORMED,
					     llhttp_get_error_reason(&c->parser));
			len = 0;
			break;
		}
		const char *pos = llhttp_get_error_pos(&c->parser);
		len -= (size_t)(pos - data);
		data = pos;
		llhttp_resume(&c->parser);
		dispatch(c);
		/* Back-pressure: a client that pipelines without reading waits for its output. */
		if (http_session_unsent(c) > TW_HTTP_OUT_BYTES)
			c->paused = true;
	}
	if (from_stash && len == 0) {
		c->stash_len = c->stash_off = 0;
		return;
	}
	if (len > 0 && c->paused && c->phase != HTTP_PHASE_CLOSING) {
		if (!stash(c, data, len, from_stash)) {
			/* Far more pipelined input than we hold while a response waits: a
			 * client that does not read its responses. Stop serving it. */
			c->close_after = true;
			c->phase = HTTP_PHASE_CLOSING;
			c->stash_len = c->stash_off = 0;
		}
	} else if (from_stash) {
		c->stash_len = c->stash_off = 0;
	}
}

void http_session_feed(struct http_conn *c, const char *data, size_t len)
{
	if (c->phase == HTTP_PHASE_CLOSING || len == 0)
		return;
	if (c->paused) {
		if (!stash(c, data, len, false)) {
			c->close_after = true;
			c->phase = HTTP_PHASE_CLOSING;
			c->stash_len = c->stash_off = 0;
		}
		return;
	}
	process(c, data, len, false);
}

void http_session_eof(struct http_conn *c)
{
	c->peer_eof = true;
	if (c->phase == HTTP_PHASE_HANDLER || c->phase == HTTP_PHASE_CLOSING)
		return;
	if (c->paused && c->stash_len > c->stash_off)
		return; /* stashed requests are still answered; close once they are */
	/* A request cut off in the middle gets no answer: nobody is left to read it. */
	c->close_after = true;
	c->phase = HTTP_PHASE_CLOSING;
}

void http_session_timeout(struct http_conn *c)
{
	if (c->phase == HTTP_PHASE_HEAD || c->phase == HTTP_PHASE_BODY) {
		session_fail(c, 408, TW_ERR_TIMEOUT, "request not received in time");
		return;
	}
	if (c->phase == HTTP_PHASE_IDLE) {
		c->close_after = true;
		c->phase = HTTP_PHASE_CLOSING;
	}
}

void http_session_sent(struct http_conn *c, size_t n)
{
	c->out_sent += n;
	if (c->out_sent == c->out_len) {
		c->out_sent = c->out_len = 0;
		if (c->out != c->out_inline && !c->send_inflight) {
			/* A large response is done: go back to the inline buffer. */
			free(c->out);
			c->out = c->out_inline;
			c->out_cap = TW_HTTP_OUT_BYTES;
		}
	}
	if (c->paused && c->phase != HTTP_PHASE_HANDLER && c->phase != HTTP_PHASE_CLOSING &&
	    http_session_unsent(c) <= TW_HTTP_OUT_BYTES / 2)
		resume(c);
}

void http_session_init(struct http_conn *c, struct http_worker *hw, char *block)
{
	struct http_server *s = hw->srv;
	c->hw = hw;
	c->block = block;
	c->head = block;
	c->head_cap = s->opts.header_bytes_max;
	c->req.headers = (struct http_header *)(block + s->off_headers);
	c->req.conn = c;
	c->out_inline = c->out = block + s->off_out;
	c->out_cap = TW_HTTP_OUT_BYTES;
	c->stash = block + s->off_stash;
	c->body = block + s->off_body;
	c->body_cap = TW_HTTP_INLINE_BODY_BYTES;
	c->phase = HTTP_PHASE_IDLE;
	llhttp_init(&c->parser, HTTP_REQUEST, &settings);
	c->parser.data = c;
}

void http_session_release(struct http_conn *c)
{
	release_body(c);
	if (c->out != c->out_inline)
		free(c->out);
	free(c->out_retired);
	c->out_retired = NULL;
	c->out = c->out_inline;
}

void http_server_layout(struct http_server *s)
{
	size_t o = (s->opts.header_bytes_max + 63) & ~(size_t)63;
	s->off_headers = o;
	o += ((size_t)s->opts.headers_max * sizeof(struct http_header) + 63) & ~(size_t)63;
	s->off_out = o;
	o += TW_HTTP_OUT_BYTES;
	s->off_stash = o;
	o += TW_HTTP_STASH_BYTES;
	s->off_body = o;
	o += TW_HTTP_INLINE_BODY_BYTES;
	s->block_bytes = o;
}

/* ---- request accessors ---------------------------------------------------------------------- */

enum http_method http_request_method(const struct http_request *r)
{
	return r->method;
}

struct http_str http_request_path(const struct http_request *r)
{
	return r->path;
}

struct http_str http_request_query(const struct http_request *r)
{
	return r->query;
}

struct http_str http_request_body(const struct http_request *r)
{
	return r->body;
}

bool http_request_header(const struct http_request *r, const char *name, struct http_str *value)
{
	size_t n = strlen(name);
	for (uint32_t i = 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i];
		if (h->name.len == n && strncasecmp(h->name.ptr, name, n) == 0) {
			*value = h->value;
			return true;
		}
	}
	return false;
}

bool http_request_param(const struct http_request *r, const char *name, struct http_str *value)
{
	size_t n = strlen(name);
	for (uint32_t i = 0; i < r->nparams; i++) {
		if (r->params[i].name.len == n && memcmp(r->params[i].name.ptr, name, n) == 0) {
			*value = r->params[i].value;
			return true;
		}
	}
	return false;
}

const char *http_request_route(const struct http_request *r)
{
	return r->route == HTTP_ROUTE_NONE ? NULL : r->conn->hw->srv->router.routes[r->route].tmpl;
}

uint32_t http_request_route_index(const struct http_request *r)
{
	return r->route;
}

struct tw_worker *http_request_worker(const struct http_request *r)
{
	return r->conn->hw->w;
}

bool http_request_aborted(const struct http_request *r)
{
	return r->conn->dead;
}
