/*
 * http_testroutes.c — routes under /_test/ that the integration tests use to reach paths the
 * product routes do not exercise yet: bodies, parameters, handlers that complete later (after a
 * timer or a message through the worker's inbox) and large responses. Registered only with
 * `serve --test-routes`; never on by default. Not on any hot path, so plain malloc is fine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "http/http_testroutes.h"

static enum http_handler_ret echo(struct http_request *req, void *arg)
{
	(void)arg;
	struct http_str body = http_request_body(req);
	struct http_str ct;
	char n[24];
	snprintf(n, sizeof(n), "%zu", body.len);
	struct http_header h = {{"X-Body-Bytes", 12}, {n, strlen(n)}};
	struct http_response r = {.status = 200, .content_type = "application/octet-stream",
				  .headers = &h, .nheaders = 1, .body = body.ptr,
				  .body_len = body.len};
	if (http_request_header(req, "content-type", &ct) && ct.len == 16 &&
	    memcmp(ct.ptr, "application/json", 16) == 0)
		r.content_type = "application/json";
	http_respond(req, &r);
	return HTTP_DONE;
}

static enum http_handler_ret params(struct http_request *req, void *arg)
{
	(void)arg;
	struct http_str a = {"", 0}, b = {"", 0};
	http_request_param(req, "a", &a);
	http_request_param(req, "b", &b);
	char out[1024];
	int n = snprintf(out, sizeof(out), "{\"route\":\"%s\",\"a\":\"%.*s\",\"b\":\"%.*s\"}",
			 http_request_route(req), (int)a.len, a.ptr, (int)b.len, b.ptr);
	http_respond_json(req, 200, out, n < 0 ? 0 : (size_t)n >= sizeof(out) ? 0 : (size_t)n);
	return HTTP_DONE;
}

static uint64_t param_u64(struct http_request *req, const char *name)
{
	struct http_str s;
	uint64_t v = 0;
	if (!http_request_param(req, name, &s))
		return 0;
	for (size_t i = 0; i < s.len && i < 19; i++) {
		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s.ptr[i] - '0');
	}
	return v;
}

struct delayed {
	struct tw_timer t;
	struct http_request *req;
	uint64_t ms;
};

static void delay_fire(struct tw_worker *w, struct tw_timer *t)
{
	(void)w;
	struct delayed *d = (struct delayed *)t;
	char out[64];
	int n = snprintf(out, sizeof(out), "{\"delayed_ms\":%llu}", (unsigned long long)d->ms);
	http_respond_json(d->req, 200, out, (size_t)n);
	free(d);
}

static enum http_handler_ret delay(struct http_request *req, void *arg)
{
	(void)arg;
	struct delayed *d = calloc(1, sizeof(*d));
	if (!d) {
		http_respond_error(req, 503, TW_ERR_NOMEM, NULL);
		return HTTP_DONE;
	}
	d->req = req;
	d->ms = param_u64(req, "ms");
	d->t.fire = delay_fire;
	if (tw_timer_arm(http_request_worker(req), &d->t,
			 tw_now_ns() + d->ms * TW_NS_PER_MS) != TW_ERR_OK) {
		free(d);
		http_respond_error(req, 503, TW_ERR_FULL, NULL);
		return HTTP_DONE;
	}
	return HTTP_PENDING;
}

static void posted(struct tw_worker *w, void *arg)
{
	(void)w;
	static const char ok[] = "{\"via\":\"inbox\"}";
	http_respond_json(arg, 200, ok, sizeof(ok) - 1);
}

static enum http_handler_ret post_self(struct http_request *req, void *arg)
{
	(void)arg;
	if (tw_worker_post(http_request_worker(req), posted, req) != TW_ERR_OK) {
		http_respond_error(req, 503, TW_ERR_FULL, NULL);
		return HTTP_DONE;
	}
	return HTTP_PENDING;
}

static enum http_handler_ret big(struct http_request *req, void *arg)
{
	(void)arg;
	uint64_t n = param_u64(req, "bytes");
	if (n > 64u * 1024 * 1024) {
		http_respond_error(req, 400, TW_ERR_INVALID_ARG, "at most 64 MiB");
		return HTTP_DONE;
	}
	char *b = malloc(n ? n : 1);
	if (!b) {
		http_respond_error(req, 503, TW_ERR_NOMEM, NULL);
		return HTTP_DONE;
	}
	memset(b, 'x', n);
	struct http_response r = {.status = 200, .content_type = "text/plain", .body = b,
				  .body_len = n};
	http_respond(req, &r);
	free(b);
	return HTTP_DONE;
}

enum tw_err http_server_add_test_routes(struct http_server *s)
{
	enum tw_err e = TW_ERR_OK;
	if (!e)
		e = http_route_add(s, HTTP_METHOD_POST, "/_test/echo", echo, NULL);
	if (!e)
		e = http_route_add(s, HTTP_METHOD_PUT, "/_test/echo", echo, NULL);
	if (!e)
		e = http_route_add(s, HTTP_METHOD_GET, "/_test/params/:a/:b", params, NULL);
	if (!e)
		e = http_route_add(s, HTTP_METHOD_GET, "/_test/delay/:ms", delay, NULL);
	if (!e)
		e = http_route_add(s, HTTP_METHOD_GET, "/_test/inbox", post_self, NULL);
	if (!e)
		e = http_route_add(s, HTTP_METHOD_GET, "/_test/big/:bytes", big, NULL);
	return e;
}
