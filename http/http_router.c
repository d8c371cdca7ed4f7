/*
 * http_router.c — route templates and allocation-free matching.
 *
 * A template is split into segments once, at registration. Matching walks the request path
 * segment by segment against each template in registration order: literals compare bytes,
 * parameters capture a non-empty segment by pointer. With a dozen routes of a few segments a
 * linear scan is a few hundred byte compares, cheaper than any index we could build.
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

static const char *const method_names[HTTP_METHOD__COUNT] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"};

const char *http_method_str(enum http_method m)
{
	return (unsigned)m < HTTP_METHOD__COUNT ? method_names[m] : "OTHER";
}

/* Split `tmpl` (owned copy in route) into segments. "/" is the root: zero segments. */
static enum tw_err split_template(struct http_route *rt)
{
	const char *p = rt->tmpl;
	if (*p != '/')
		return TW_ERR_INVALID_ARG;
	rt->nseg = 0;
	while (*p == '/' && p[1] != '\0') {
		p++;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == 0 || rt->nseg == TW_HTTP_ROUTE_SEGMENTS_MAX)
			return TW_ERR_INVALID_ARG;
		struct http_route_seg *s = &rt->seg[rt->nseg++];
		s->param = p[0] == ':';
		s->ptr = s->param ? p + 1 : p;
		s->len = (uint16_t)(s->param ? len - 1 : len);
		if (s->param && s->len == 0)
			return TW_ERR_INVALID_ARG;
		p += len;
	}
	if (*p != '\0' && !(*p == '/' && p[1] == '\0'))
		return TW_ERR_INVALID_ARG;
	uint32_t nparams = 0;
	for (uint32_t i = 0; i < rt->nseg; i++)
		nparams += rt->seg[i].param;
	return nparams <= TW_HTTP_ROUTE_PARAMS_MAX ? TW_ERR_OK : TW_ERR_INVALID_ARG;
}

static void build_allow(struct http_route *rt)
{
	size_t o = 0;
	rt->allow[0] = '\0';
	for (int m = 0; m < HTTP_METHOD_OTHER; m++) {
		bool has = rt->methods & (1u << m);
		if (m == HTTP_METHOD_HEAD && (rt->methods & (1u << HTTP_METHOD_GET)))
			has = true;
		if (!has)
			continue;
		const char *name = method_names[m];
		size_t n = strlen(name);
		if (o + n + 3 > sizeof(rt->allow))
			break;
		if (o) {
			memcpy(rt->allow + o, ", ", 2);
			o += 2;
		}
		memcpy(rt->allow + o, name, n);
		o += n;
		rt->allow[o] = '\0';
	}
}

enum tw_err http_router_add(struct http_router *r, enum http_method method, const char *tmpl,
			    http_handler_fn fn, void *arg)
{
	if (!tmpl || !fn || (unsigned)method >= HTTP_METHOD_OTHER)
		return TW_ERR_INVALID_ARG;
	struct http_route *rt = NULL;
	for (uint32_t i = 0; i < r->n; i++)
		if (strcmp(r->routes[i].tmpl, tmpl) == 0)
			rt = &r->routes[i];
	if (!rt) {
		if (r->n == TW_HTTP_ROUTES_MAX)
			return TW_ERR_FULL;
		rt = &r->routes[r->n];
		memset(rt, 0, sizeof(*rt));
		rt->tmpl = strdup(tmpl);
		if (!rt->tmpl)
			return TW_ERR_NOMEM;
		enum tw_err e = split_template(rt);
		if (e != TW_ERR_OK) {
			free(rt->tmpl);
			rt->tmpl = NULL;
			return e;
		}
		r->n++;
	}
	if (rt->fn[method])
		return TW_ERR_EXISTS;
	rt->fn[method] = fn;
	rt->arg[method] = arg;
	rt->methods |= 1u << method;
	build_allow(rt);
	return TW_ERR_OK;
}

void http_router_free(struct http_router *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		free(r->routes[i].tmpl);
	r->n = 0;
}

/* Does `path` match `rt`? Captures parameters into params on success. */
static bool match_route(const struct http_route *rt, struct http_str path,
			struct http_param *params, uint32_t *nparams)
{
	const char *p = path.ptr, *end = path.ptr + path.len;
	uint32_t np = 0;
	if (p == end || *p != '/')
		return false;
	for (uint32_t i = 0; i < rt->nseg; i++) {
		if (p == end || *p != '/')
			return false;
		p++;
		const char *s = p;
		while (p < end && *p != '/')
			p++;
		size_t len = (size_t)(p - s);
		const struct http_route_seg *seg = &rt->seg[i];
		if (seg->param) {
			if (len == 0)
				return false;
			params[np].name = (struct http_str){seg->ptr, seg->len};
			params[np].value = (struct http_str){s, len};
			np++;
		} else if (len != seg->len || memcmp(s, seg->ptr, len) != 0) {
			return false;
		}
	}
	/* One trailing slash is tolerated ("/healthz/"); anything more is a different path. */
	if (p < end && !(end - p == 1 && *p == '/' && rt->nseg > 0))
		return false;
	*nparams = np;
	return true;
}

enum http_match http_router_match(const struct http_router *r, enum http_method method,
				  struct http_str path, uint32_t *route, http_handler_fn *fn,
				  void **arg, struct http_param *params, uint32_t *nparams)
{
	bool path_matched = false;
	*nparams = 0;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct http_route *rt = &r->routes[i];
		uint32_t np = 0;
		if (!match_route(rt, path, params, &np))
			continue;
		enum http_method m = method;
		if (m == HTTP_METHOD_HEAD && !rt->fn[HTTP_METHOD_HEAD])
			m = HTTP_METHOD_GET;
		if ((unsigned)m < HTTP_METHOD_OTHER && rt->fn[m]) {
			*route = i;
			*fn = rt->fn[m];
			*arg = rt->arg[m];
			*nparams = np;
			return HTTP_MATCH_OK;
		}
		if (!path_matched)
			*route = i;
		path_matched = true;
	}
	*nparams = 0;
	return path_matched ? HTTP_MATCH_NO_METHOD : HTTP_MATCH_NO_ROUTE;
}
