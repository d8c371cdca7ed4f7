/*
 * http_metrics.c — /metrics and HTTP observations; see http_metrics.h.
 *
 * The metric families label requests by (route template, method) pairs fixed at start-up; the
 * server reports a template index and the request's method. The pair table below maps one to the
 * other without a search: pair[route][method], built once from the router's table. A HEAD
 * request answered by a GET handler counts under GET, the handler that ran.
 */
#include "http/http_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/log.h"
#include "metrics/met.h"
#include "metrics/met_tw.h"

static struct {
	uint32_t pair[TW_HTTP_ROUTES_MAX][HTTP_METHOD__COUNT]; /* MET_ROUTE_UNKNOWN if none */
	uint32_t nroutes;
	char token[256];
	struct tw_worker_hooks hooks;
} hm;

/* Scrape output, one per worker thread: grown by the first scrapes, then reused. */
static _Thread_local struct met_buf scrape_buf;

static enum met_http_method met_method(enum http_method m)
{
	switch (m) {
	case HTTP_METHOD_GET:
		return MET_HTTP_GET;
	case HTTP_METHOD_HEAD:
		return MET_HTTP_HEAD;
	case HTTP_METHOD_POST:
		return MET_HTTP_POST;
	case HTTP_METHOD_PUT:
		return MET_HTTP_PUT;
	case HTTP_METHOD_DELETE:
		return MET_HTTP_DELETE;
	case HTTP_METHOD_PATCH:
		return MET_HTTP_PATCH;
	case HTTP_METHOD_OPTIONS:
		return MET_HTTP_OPTIONS;
	default:
		return MET_HTTP_OTHER;
	}
}

static uint32_t pair_of(uint32_t route, enum http_method m)
{
	if (route >= hm.nroutes || (unsigned)m >= HTTP_METHOD__COUNT)
		return MET_ROUTE_UNKNOWN;
	return hm.pair[route][m];
}

static enum met_http_method label_method(uint32_t route, enum http_method m)
{
	/* HEAD served by the GET handler is that handler's request. */
	if (m == HTTP_METHOD_HEAD && route < hm.nroutes &&
	    hm.pair[route][HTTP_METHOD_HEAD] == hm.pair[route][HTTP_METHOD_GET] &&
	    hm.pair[route][HTTP_METHOD_GET] != MET_ROUTE_UNKNOWN)
		return MET_HTTP_GET;
	return met_method(m);
}

static void on_dispatch(uint32_t worker, uint32_t route, enum http_method m, void *arg)
{
	(void)worker, (void)arg;
	met_http_in_flight_add(pair_of(route, m), label_method(route, m), 1);
}

static void on_response(const struct http_observation *o, void *arg)
{
	(void)arg;
	uint32_t pair = pair_of(o->route, o->method);
	enum met_http_method m = label_method(o->route, o->method);
	if (o->dispatched)
		met_http_in_flight_add(pair, m, -1);
	met_http_observe(pair, m, o->status, o->duration_ns);
}

static enum http_handler_ret get_metrics(struct http_request *req, void *arg)
{
	(void)arg;
	char auth[512] = "", accept[512] = "";
	struct http_str v;
	bool has_auth = http_request_header(req, "authorization", &v);
	if (has_auth)
		snprintf(auth, sizeof(auth), "%.*s", (int)v.len, v.ptr);
	if (!met_token_ok(hm.token, has_auth ? auth : NULL)) {
		http_respond_error(req, 401, TW_ERR_UNAUTHORIZED, "a bearer token is required");
		return HTTP_DONE;
	}
	bool has_accept = http_request_header(req, "accept", &v);
	if (has_accept)
		snprintf(accept, sizeof(accept), "%.*s", (int)v.len, v.ptr);
	enum met_format fmt = met_format_from_accept(has_accept ? accept : NULL);
	enum tw_err e = met_tw_expose(fmt, &scrape_buf);
	if (e) {
		http_respond_error(req, 503, e, "metrics are not available");
		return HTTP_DONE;
	}
	struct http_response resp = {.status = 200,
				      .content_type = met_content_type(fmt),
				      .body = scrape_buf.data,
				      .body_len = scrape_buf.len};
	http_respond(req, &resp);
	return HTTP_DONE;
}

static enum tw_err bind_shard(struct tw_worker *w, void *arg)
{
	(void)arg;
	return met_shard_bind(tw_worker_index(w));
}

static void unbind_shard(struct tw_worker *w, void *arg)
{
	(void)w, (void)arg;
	met_shard_unbind();
	met_buf_free(&scrape_buf);
}

enum tw_err http_metrics_attach(struct http_server *s, uint32_t workers, const char *token,
				const struct tw_worker_hooks **hooks_out)
{
	enum tw_err e = http_route_add(s, HTTP_METHOD_GET, "/metrics", get_metrics, NULL);
	if (e)
		return e;
	uint32_t nroutes = http_server_route_count(s);
	if (nroutes > TW_HTTP_ROUTES_MAX)
		return TW_ERR_FULL;
	/* One metrics row per (template, method with a handler). */
	static struct met_http_route rows[TW_METRIC_ROUTES_MAX];
	uint32_t nrows = 0;
	for (uint32_t r = 0; r < nroutes; r++) {
		uint32_t methods = http_server_route_methods(s, r);
		for (int m = 0; m < HTTP_METHOD__COUNT; m++)
			hm.pair[r][m] = MET_ROUTE_UNKNOWN;
		for (int m = 0; m < HTTP_METHOD__COUNT; m++) {
			if (!(methods & (1u << m)))
				continue;
			if (nrows == TW_METRIC_ROUTES_MAX) {
				TW_ERROR(METRICS, "more than %d (route, method) pairs to label",
					 TW_METRIC_ROUTES_MAX);
				return TW_ERR_FULL;
			}
			rows[nrows] = (struct met_http_route){
				.method = http_method_str((enum http_method)m),
				.template = http_server_route_template(s, r)};
			hm.pair[r][m] = nrows++;
		}
		if ((methods & (1u << HTTP_METHOD_GET)) && !(methods & (1u << HTTP_METHOD_HEAD)))
			hm.pair[r][HTTP_METHOD_HEAD] = hm.pair[r][HTTP_METHOD_GET];
	}
	hm.nroutes = nroutes;
	snprintf(hm.token, sizeof(hm.token), "%s", token ? token : "");
	struct met_tw_config mc = {.workers = workers, .routes = rows, .nroutes = nrows};
	e = met_tw_init(&mc);
	if (e)
		return e;
	http_server_set_observer(s, on_response, NULL);
	http_server_set_dispatch_observer(s, on_dispatch, NULL);
	hm.hooks = (struct tw_worker_hooks){.name = "metrics", .start = bind_shard,
					    .stop = unbind_shard};
	*hooks_out = &hm.hooks;
	return TW_ERR_OK;
}

void http_metrics_detach(void)
{
	met_tw_fini();
}
