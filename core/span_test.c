/* span_test.c — span recording and OTLP/HTTP JSON export against a loopback receiver. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/span.h"

/* A minimal OTLP receiver: answers 200 to every POST and keeps the bodies. */
static int listen_fd;
static char *bodies[16];
static int nbodies;
static pthread_mutex_t bodies_lock = PTHREAD_MUTEX_INITIALIZER;

static void *receiver(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(listen_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char *req = malloc(1 << 20);
		size_t got = 0;
		long want = -1;
		for (;;) {
			ssize_t r = recv(c, req + got, (1 << 20) - 1 - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			char *end = strstr(req, "\r\n\r\n");
			char *cl = strcasestr(req, "Content-Length:");
			if (end && cl && want < 0)
				want = (end + 4 - req) + atol(cl + 15);
			if (want >= 0 && (long)got >= want)
				break;
		}
		/* Keep the body before answering: the exporter's flush returns once it has the
		 * answer, and the test reads the bodies right after. */
		char *body = strstr(req, "\r\n\r\n");
		pthread_mutex_lock(&bodies_lock);
		if (body && nbodies < 16 && strstr(req, "POST /base/v1/traces HTTP/1.1"))
			bodies[nbodies++] = strdup(body + 4);
		pthread_mutex_unlock(&bodies_lock);
		const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
		ssize_t w = send(c, ok, sizeof(ok) - 1, MSG_NOSIGNAL);
		(void)w;
		close(c);
		free(req);
	}
}

static int start_receiver(void)
{
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(bind(listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(listen_fd, 16), 0);
	socklen_t len = sizeof(a);
	getsockname(listen_fd, (struct sockaddr *)&a, &len);
	pthread_t t;
	pthread_create(&t, NULL, receiver, NULL);
	pthread_detach(t);
	return ntohs(a.sin_port);
}

static const char *attr(json_t *span, const char *key)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(span, "attributes"), i, a) {
		if (strcmp(json_string_value(json_object_get(a, "key")), key) == 0) {
			json_t *v = json_object_get(a, "value");
			json_t *s = json_object_get(v, "stringValue");
			return s ? json_string_value(s)
				 : json_string_value(json_object_get(v, "intValue"));
		}
	}
	return NULL;
}

Test(span, tree_exported_as_otlp_json)
{
	int port = start_receiver();
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/base/", port);
	cr_assert_eq(tw_spans_start(ep, "svc-test", 1.0), TW_ERR_OK);

	struct tw_trace_ctx ctx = {0};
	const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	cr_assert(tw_traceparent_parse(tp, strlen(tp), &ctx));
	struct tw_span req, run;
	tw_span_begin(&req, "http.request", TW_SPAN_SERVER, &ctx, NULL);
	tw_span_str(&req, "method", "POST");
	tw_span_str(&req, "route", "/functions/:id/invoke");
	tw_span_int(&req, "status", 200);
	tw_span_begin(&run, "invoke.run", TW_SPAN_INTERNAL, &ctx, &req);
	tw_span_str(&run, "tenant", NULL);
	tw_span_str(&run, "export", "quote\"and\\slash\n");
	tw_span_end(&run);
	tw_span_end(&req);
	cr_assert(tw_spans_flush(5000));
	tw_spans_stop();

	pthread_mutex_lock(&bodies_lock);
	int got_bodies = nbodies;
	pthread_mutex_unlock(&bodies_lock);
	cr_assert_eq(got_bodies, 1);
	json_error_t jerr;
	json_t *doc = json_loads(bodies[0], 0, &jerr);
	cr_assert_not_null(doc, "%s: %s", jerr.text, bodies[0]);
	json_t *rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
	json_t *res_attr = json_array_get(
		json_object_get(json_object_get(rs, "resource"), "attributes"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(res_attr, "value"),
							   "stringValue")), "svc-test");
	json_t *spans = json_object_get(
		json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
	cr_assert_eq(json_array_size(spans), 2);
	json_t *s_run = json_array_get(spans, 0), *s_req = json_array_get(spans, 1);
	cr_assert_str_eq(json_string_value(json_object_get(s_req, "name")), "http.request");
	cr_assert_str_eq(json_string_value(json_object_get(s_req, "traceId")),
			 "4bf92f3577b34da6a3ce929d0e0e4736");
	cr_assert_str_eq(json_string_value(json_object_get(s_req, "parentSpanId")),
			 "00f067aa0ba902b7", "the caller's span is the parent");
	cr_assert_str_eq(json_string_value(json_object_get(s_run, "parentSpanId")),
			 json_string_value(json_object_get(s_req, "spanId")));
	cr_assert_str_eq(attr(s_req, "status"), "200");
	cr_assert_str_eq(attr(s_run, "tenant"), "unknown");
	cr_assert_str_eq(attr(s_run, "export"), "quote\"and\\slash\n");
	struct tw_span_stats st;
	tw_spans_stats(&st);
	cr_assert_eq(st.exported, 2);
	cr_assert_eq(st.dropped, 0);
	json_decref(doc);
}

Test(span, unsampled_and_unexported_spans_are_not_kept)
{
	struct tw_trace_ctx ctx;
	tw_trace_new_root(&ctx, true);
	struct tw_span sp;
	tw_span_begin(&sp, "http.request", TW_SPAN_SERVER, &ctx, NULL);
	tw_span_end(&sp);
	struct tw_span_stats st;
	tw_spans_stats(&st);
	cr_assert_eq(st.recorded, 0, "no exporter: nothing buffered");
	cr_assert_eq(tw_spans_start(NULL, NULL, 0.0), TW_ERR_OK);
	int sampled = 0;
	for (int i = 0; i < 1000; i++)
		sampled += tw_trace_sample_root();
	cr_assert_eq(sampled, 0, "ratio 0 samples nothing");
	cr_assert_eq(tw_spans_start(NULL, NULL, 2.0), TW_ERR_CONFIG);
	cr_assert_eq(tw_spans_start("https://x", NULL, 1.0), TW_ERR_CONFIG);
}

Test(span, unreachable_collector_drops_and_counts)
{
	/* A port nothing listens on: connections are refused at once. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	char ep[64];
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", ntohs(a.sin_port));
	close(fd);
	cr_assert_eq(tw_spans_start(ep, NULL, 1.0), TW_ERR_OK);
	struct tw_trace_ctx ctx;
	tw_trace_new_root(&ctx, true);
	for (int i = 0; i < 3; i++) {
		struct tw_span sp;
		tw_span_begin(&sp, "http.request", TW_SPAN_SERVER, &ctx, NULL);
		tw_span_end(&sp);
	}
	cr_assert(tw_spans_flush(10000));
	tw_spans_stop();
	struct tw_span_stats st;
	tw_spans_stats(&st);
	cr_assert_eq(st.recorded, 3);
	cr_assert_eq(st.dropped, 3);
	cr_assert_eq(st.dropped_export_failed, 3, "counted under its reason");
	cr_assert_eq(st.dropped_ring_full + st.dropped_out_of_memory, 0);
	cr_assert_eq(st.batches_failed, 1);
}

Test(span, current_span_and_end_at)
{
	struct tw_trace_ctx ctx;
	tw_trace_new_root(&ctx, true);
	struct tw_span a, b;
	tw_span_begin(&a, "outer", TW_SPAN_INTERNAL, &ctx, NULL);
	cr_assert_null(tw_span_current());
	cr_assert_null(tw_span_set_current(&a));
	cr_assert_eq(tw_span_current(), &a);
	cr_assert_eq(tw_span_set_current(&b), &a, "returns the previous one to restore");
	cr_assert_eq(tw_span_set_current(NULL), &b);
	cr_assert_null(tw_span_current());
	tw_span_begin(&b, "inner", TW_SPAN_INTERNAL, NULL, &a);
	b.start_unix_ns = 1000;
	tw_span_end_at(&b, 2000);
	cr_assert_eq(b.end_unix_ns, 2000);
	cr_assert_eq(memcmp(b.parent_id, a.span_id, 8), 0);
	tw_span_end(&a);
}
