/* http_test.c — the router and the protocol engine without sockets. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/http_int.h"

static enum http_handler_ret h_a(struct http_request *r, void *arg)
{
	(void)r, (void)arg;
	return HTTP_DONE;
}

static enum http_handler_ret h_b(struct http_request *r, void *arg)
{
	(void)r, (void)arg;
	return HTTP_DONE;
}

static struct http_str S(const char *s)
{
	return (struct http_str){s, strlen(s)};
}

Test(http_router, templates_params_and_methods)
{
	struct http_router r = {0};
	cr_assert_eq(http_router_add(&r, HTTP_METHOD_POST, "/functions/:id/invoke", h_a, NULL),
		     TW_ERR_OK);
	cr_assert_eq(http_router_add(&r, HTTP_METHOD_GET, "/functions/:id", h_b, NULL), TW_ERR_OK);
	cr_assert_eq(http_router_add(&r, HTTP_METHOD_DELETE, "/functions/:id", h_a, NULL),
		     TW_ERR_OK);
	cr_assert_eq(http_router_add(&r, HTTP_METHOD_GET, "/functions/:id", h_a, NULL),
		     TW_ERR_EXISTS);
	cr_assert_eq(http_router_add(&r, HTTP_METHOD_GET, "functions", h_a, NULL),
		     TW_ERR_INVALID_ARG);
	cr_assert_eq(http_router_add(&r, HTTP_METHOD_GET, "/a//b", h_a, NULL), TW_ERR_INVALID_ARG);
	cr_assert_eq(http_router_add(&r, HTTP_METHOD_GET, "/a/:", h_a, NULL), TW_ERR_INVALID_ARG);
	cr_assert_eq(http_router_add(&r, HTTP_METHOD_OTHER, "/x", h_a, NULL), TW_ERR_INVALID_ARG);

	uint32_t route, np;
	http_handler_fn fn;
	void *arg;
	struct http_param p[TW_HTTP_ROUTE_PARAMS_MAX];
	cr_assert_eq(http_router_match(&r, HTTP_METHOD_POST, S("/functions/f-1/invoke"), &route,
				       &fn, &arg, p, &np),
		     HTTP_MATCH_OK);
	cr_assert_eq(route, 0);
	cr_assert_eq(fn, h_a);
	cr_assert_eq(np, 1);
	cr_assert(p[0].name.len == 2 && memcmp(p[0].name.ptr, "id", 2) == 0);
	cr_assert(p[0].value.len == 3 && memcmp(p[0].value.ptr, "f-1", 3) == 0);
	cr_assert_eq(http_router_match(&r, HTTP_METHOD_GET, S("/functions/x/"), &route, &fn, &arg,
				       p, &np),
		     HTTP_MATCH_OK);
	cr_assert_eq(fn, h_b);
	cr_assert_eq(http_router_match(&r, HTTP_METHOD_HEAD, S("/functions/x"), &route, &fn, &arg,
				       p, &np),
		     HTTP_MATCH_OK, "HEAD is answered by GET");
	cr_assert_eq(http_router_match(&r, HTTP_METHOD_PUT, S("/functions/x"), &route, &fn, &arg,
				       p, &np),
		     HTTP_MATCH_NO_METHOD);
	cr_assert_str_eq(r.routes[route].allow, "GET, HEAD, DELETE");
	const char *misses[] = {"/functions", "/functions//invoke", "/functions/x/invoke/y",
				"/functions/x//", "", "functions/x", "/Functions/x"};
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
		cr_assert_eq(http_router_match(&r, HTTP_METHOD_GET, S(misses[i]), &route, &fn,
					       &arg, p, &np),
			     HTTP_MATCH_NO_ROUTE, "%s", misses[i]);
	http_router_free(&r);
}

Test(http_router, full_table_is_a_normal_return)
{
	struct http_router *r = calloc(1, sizeof(*r));
	char t[32];
	for (int i = 0; i < TW_HTTP_ROUTES_MAX; i++) {
		snprintf(t, sizeof(t), "/r%d", i);
		cr_assert_eq(http_router_add(r, HTTP_METHOD_GET, t, h_a, NULL), TW_ERR_OK);
	}
	cr_assert_eq(http_router_add(r, HTTP_METHOD_GET, "/one-more", h_a, NULL), TW_ERR_FULL);
	http_router_free(r);
	free(r);
}

/* ---- the protocol engine ------------------------------------------------------------------ */

static struct http_request *parked;
static int observed[600];

static enum http_handler_ret park(struct http_request *req, void *arg)
{
	(void)arg;
	parked = req;
	return HTTP_PENDING;
}

static enum http_handler_ret echo_param(struct http_request *req, void *arg)
{
	(void)arg;
	struct http_str v;
	cr_assert(http_request_param(req, "v", &v));
	cr_assert_str_eq(http_request_route(req), "/e/:v");
	http_respond_json(req, 200, v.ptr, v.len);
	return HTTP_DONE;
}

static void observe(const struct http_observation *o, void *arg)
{
	(void)arg;
	observed[o->status]++;
}

struct rig {
	struct http_server *srv;
	struct http_worker hw;
	struct http_conn c;
	char *block;
};

static void rig_init(struct rig *g)
{
	struct http_server_opts o;
	tw_log_set_filter("off");
	http_server_opts_defaults(&o);
	cr_assert_eq(http_server_create(&o, &g->srv), TW_ERR_OK);
	http_route_add(g->srv, HTTP_METHOD_GET, "/park", park, NULL);
	http_route_add(g->srv, HTTP_METHOD_GET, "/e/:v", echo_param, NULL);
	http_server_set_observer(g->srv, observe, NULL);
	memset(&g->hw, 0, sizeof(g->hw));
	g->hw.srv = g->srv;
	g->block = malloc(g->srv->block_bytes);
	memset(&g->c, 0, sizeof(g->c));
	http_session_init(&g->c, &g->hw, g->block);
}

static void rig_free(struct rig *g)
{
	http_session_release(&g->c);
	free(g->block);
	http_server_destroy(g->srv);
}

/* Take all output as one string and mark it sent. */
static char *drain(struct http_conn *c)
{
	size_t n = http_session_unsent(c);
	char *s = malloc(n + 1);
	memcpy(s, c->out + c->out_sent, n);
	s[n] = '\0';
	http_session_sent(c, n);
	return s;
}

Test(http_session, pending_handler_keeps_pipelined_order)
{
	struct rig g;
	rig_init(&g);
	const char *in = "GET /e/1 HTTP/1.1\r\n\r\nGET /park HTTP/1.1\r\n\r\n"
			 "GET /e/3 HTTP/1.1\r\n\r\nGET /e/4 HTTP/1.1\r\n\r\n";
	/* Byte by byte: every split point of the heads. */
	for (const char *p = in; *p; p++)
		http_session_feed(&g.c, p, 1);
	char *out = drain(&g.c);
	cr_assert_not_null(strstr(out, "\r\n\r\n1"));
	cr_assert_null(strstr(out, "\r\n\r\n3"), "nothing after the pending request yet");
	free(out);
	cr_assert_not_null(parked);
	cr_assert_eq(g.c.phase, HTTP_PHASE_HANDLER);
	http_respond_json(parked, 202, "p", 1);
	out = drain(&g.c);
	char *a = strstr(out, "HTTP/1.1 202"), *b = strstr(out, "\r\n\r\n3"),
	     *d = strstr(out, "\r\n\r\n4");
	cr_assert(a && b && d && a < b && b < d, "%s", out);
	cr_assert_null(strstr(out, "Connection: close"));
	free(out);
	cr_assert_eq(g.c.phase, HTTP_PHASE_IDLE);
	rig_free(&g);
}

Test(http_session, errors_close_and_are_observed)
{
	struct rig g;
	rig_init(&g);
	http_session_feed(&g.c, "GET /nope HTTP/1.1\r\n\r\nBAD\r\n\r\nGET /e/x HTTP/1.1\r\n\r\n",
			  46);
	char *out = drain(&g.c);
	cr_assert_not_null(strstr(out, "HTTP/1.1 404 Not Found"));
	cr_assert_not_null(strstr(out, "HTTP/1.1 400 Bad Request"));
	cr_assert_not_null(strstr(out, "{\"error\":{\"kind\":\"malformed_request\""));
	cr_assert_not_null(strstr(out, "Connection: close"));
	cr_assert_null(strstr(out, "\r\n\r\nx"), "nothing is parsed after a malformed request");
	cr_assert(g.c.close_after);
	cr_assert_eq(observed[404], 1);
	cr_assert_eq(observed[400], 1);
	free(out);
	rig_free(&g);
}

Test(http_session, timeout_mid_head_is_408)
{
	struct rig g;
	rig_init(&g);
	http_session_feed(&g.c, "GET /e/1 HTTP/1.1\r\nHost", 23);
	cr_assert_eq(g.c.phase, HTTP_PHASE_HEAD);
	http_session_timeout(&g.c);
	char *out = drain(&g.c);
	cr_assert_not_null(strstr(out, "HTTP/1.1 408 Request Timeout"));
	cr_assert(g.c.close_after);
	free(out);
	rig_free(&g);
}
