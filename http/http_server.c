/*
 * http_server.c — the server object: options, listen address, routes, observer, built-in
 * routes, and the hooks that put it on a worker group.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/http_int.h"

void http_server_opts_defaults(struct http_server_opts *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->listen, sizeof(o->listen), "127.0.0.1:8080");
	o->max_connections = TW_HTTP_CONNS_PER_CORE;
	o->header_bytes_max = TW_HTTP_HEADER_BYTES_MAX;
	o->headers_max = TW_HTTP_HEADERS_MAX;
	o->body_bytes_max = TW_HTTP_BODY_BYTES_MAX;
	o->header_timeout_ms = TW_HTTP_HEADER_TIMEOUT_MS;
	o->idle_timeout_ms = TW_HTTP_IDLE_TIMEOUT_MS;
	o->write_timeout_ms = TW_HTTP_WRITE_TIMEOUT_MS;
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (all IPv4 interfaces). */
static enum tw_err parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon[1] == '\0')
		return TW_ERR_CONFIG;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || port > 65535)
		return TW_ERR_CONFIG;
	size_t hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host))
		return TW_ERR_CONFIG;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (hlen == 0 || strcmp(host, "localhost") == 0) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		v4->sin_addr.s_addr = htonl(hlen == 0 ? INADDR_ANY : INADDR_LOOPBACK);
		*len = sizeof(*v4);
	} else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
	} else {
		return TW_ERR_CONFIG;
	}
	return TW_ERR_OK;
}

static enum http_handler_ret healthz(struct http_request *req, void *arg)
{
	const struct http_server *s = arg;
	static const char ok[] = "{\"status\":\"ok\"}";
	if (s->health_body)
		http_respond_json(req, 200, s->health_body, s->health_len);
	else
		http_respond_json(req, 200, ok, sizeof(ok) - 1);
	return HTTP_DONE;
}

enum tw_err http_server_set_health_details(struct http_server *s, const char *details_json)
{
	static const char head[] = "{\"status\":\"ok\",\"details\":";
	size_t n = sizeof(head) - 1 + strlen(details_json) + 1;
	char *body = malloc(n + 1);
	if (!body)
		return TW_ERR_NOMEM;
	snprintf(body, n + 1, "%s%s}", head, details_json);
	free(s->health_body);
	s->health_body = body;
	s->health_len = n;
	return TW_ERR_OK;
}

enum tw_err http_server_create(const struct http_server_opts *o, struct http_server **out)
{
	*out = NULL;
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return TW_ERR_NOMEM;
	s->opts = *o;
	enum tw_err err = parse_listen(o->listen, &s->addr, &s->addrlen);
	if (err != TW_ERR_OK) {
		TW_ERROR(HTTP, "invalid listen address \"%s\" (want HOST:PORT)", o->listen);
		goto out_free;
	}
	if (o->max_connections == 0 || o->max_connections > TW_TIMERS_MAX / 2 ||
	    o->headers_max == 0 || o->header_bytes_max < 64 || o->body_bytes_max == 0) {
		TW_ERROR(HTTP, "invalid limits (max connections 1..%u)", TW_TIMERS_MAX / 2);
		err = TW_ERR_CONFIG;
		goto out_free;
	}
	http_server_layout(s);
	http_server_init_hooks(s);
	err = http_route_add(s, HTTP_METHOD_GET, "/healthz", healthz, s);
	if (err != TW_ERR_OK)
		goto out_free;
	*out = s;
	return TW_ERR_OK;

out_free:
	http_router_free(&s->router);
	free(s);
	return err;
}

void http_server_destroy(struct http_server *s)
{
	if (!s)
		return;
	http_router_free(&s->router);
	free(s->health_body);
	free(s);
}

enum tw_err http_route_add(struct http_server *s, enum http_method method, const char *tmpl,
			   http_handler_fn fn, void *arg)
{
	return http_router_add(&s->router, method, tmpl, fn, arg);
}

uint32_t http_server_route_count(const struct http_server *s)
{
	return s->router.n;
}

const char *http_server_route_template(const struct http_server *s, uint32_t index)
{
	return index < s->router.n ? s->router.routes[index].tmpl : NULL;
}

void http_server_set_observer(struct http_server *s, http_observer_fn fn, void *arg)
{
	s->observer = fn;
	s->observer_arg = arg;
}

void http_server_set_dispatch_observer(struct http_server *s, http_dispatch_fn fn, void *arg)
{
	s->on_dispatch = fn;
	s->on_dispatch_arg = arg;
}

uint32_t http_server_route_methods(const struct http_server *s, uint32_t index)
{
	return index < s->router.n ? s->router.routes[index].methods : 0;
}

const struct tw_worker_hooks *http_server_hooks(struct http_server *s)
{
	return &s->hooks;
}
