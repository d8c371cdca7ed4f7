/*
 * fuzz_http.c — raw byte streams through the HTTP protocol engine: llhttp glue, limits, router,
 * pending handlers, pipelining and output back-pressure, with no sockets.
 *
 * The first input byte picks how the rest is cut into chunks and when output is "sent", so one
 * input exercises split heads, stashing while a handler is pending, and resumption.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_server *srv;
static struct http_worker hw;
static char *block;
static struct http_request *pending;

static enum http_handler_ret invoke(struct http_request *req, void *arg)
{
	(void)arg;
	struct http_str id, body = http_request_body(req), h;
	assert(http_request_param(req, "id", &id) && id.len > 0);
	assert(http_request_route(req) && http_request_route_index(req) != HTTP_ROUTE_NONE);
	http_request_header(req, "content-type", &h);
	char out[256];
	size_t n = id.len < 200 ? id.len : 200;
	memcpy(out, id.ptr, n);
	struct http_response r = {.status = 200, .content_type = "text/plain", .body = out,
				  .body_len = n};
	if (body.len)
		assert(body.ptr[0] == body.ptr[0] && body.ptr[body.len - 1] == body.ptr[body.len - 1]);
	http_respond(&*req, &r);
	return HTTP_DONE;
}

static enum http_handler_ret later(struct http_request *req, void *arg)
{
	(void)arg;
	assert(!pending);
	pending = req;
	return HTTP_PENDING;
}

static enum http_handler_ret wrong(struct http_request *req, void *arg)
{
	(void)req, (void)arg;
	return HTTP_DONE; /* forgets to respond: the engine answers 500 */
}

static void observer(const struct http_observation *o, void *arg)
{
	(void)arg;
	assert(o->status >= 100 && o->status <= 599);
}

static void setup(void)
{
	struct http_server_opts o;
	tw_log_set_filter("off");
	http_server_opts_defaults(&o);
	o.header_bytes_max = 1024;
	o.headers_max = 16;
	o.body_bytes_max = 64 * 1024;
	if (http_server_create(&o, &srv) != TW_ERR_OK)
		abort();
	http_route_add(srv, HTTP_METHOD_POST, "/functions/:id/invoke", invoke, NULL);
	http_route_add(srv, HTTP_METHOD_GET, "/functions/:id", invoke, NULL);
	http_route_add(srv, HTTP_METHOD_GET, "/p/:n", later, NULL);
	http_route_add(srv, HTTP_METHOD_DELETE, "/w", wrong, NULL);
	http_server_set_observer(srv, observer, NULL);
	hw.srv = srv;
	block = malloc(srv->block_bytes);
}

/* Answer what is pending and send all output until nothing is left: each answer and each send
 * may resume parsing and park the next pipelined request. */
static void settle(struct http_conn *c, size_t bound)
{
	for (size_t guard = 0; guard <= bound + 1; guard++) {
		if (pending) {
			struct http_request *r = pending;
			pending = NULL;
			http_respond_error(r, 504, TW_ERR_INVOKE_TIMEOUT, "late \"quoted\"\n");
		}
		http_session_sent(c, http_session_unsent(c));
		if (!pending)
			return;
	}
	abort(); /* more answers than the input can hold requests */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv)
		setup();
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++, size--;
	struct http_conn *c = calloc(1, sizeof(*c));
	c->fd = -1;
	http_session_init(c, &hw, block);
	size_t chunk = (size_t)(mode & 15) * 7 + 1;
	size_t off = 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		http_session_feed(c, (const char *)data + off, n);
		off += n;
		assert(c->out_sent <= c->out_len && c->out_len <= c->out_cap);
		assert(c->stash_off <= c->stash_len && c->stash_len <= TW_HTTP_STASH_BYTES);
		if (pending && (mode & 0x10)) {
			struct http_request *r = pending;
			pending = NULL;
			http_respond_json(r, 200, "{}", 2);
		}
		if (!(mode & 0x20) || (off / chunk) % 3 == 0)
			http_session_sent(c, http_session_unsent(c));
	}
	settle(c, size);
	if (mode & 0x40)
		http_session_timeout(c);
	else
		http_session_eof(c);
	settle(c, size);
	http_session_release(c);
	free(c);
	return 0;
}
