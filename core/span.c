/*
 * span.c — per-thread span rings and the OTLP/HTTP JSON exporter; see span.h.
 *
 * Ring protocol (single producer: the recording thread; single consumer: the exporter):
 * the producer writes slot[head % N] then publishes head with a release store; the consumer
 * reads head with acquire, copies slots up to it, then publishes tail with release. The
 * producer checks tail (acquire) for room and drops when full.
 */
#include "core/span.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"

_Static_assert((TW_SPAN_RING_SLOTS & (TW_SPAN_RING_SLOTS - 1)) == 0, "ring: power of two");

struct span_ring {
	_Alignas(64) _Atomic uint64_t head;
	_Alignas(64) _Atomic uint64_t tail;
	struct tw_span slots[TW_SPAN_RING_SLOTS];
};

static _Atomic(struct span_ring *) rings[TW_SPAN_THREADS_MAX];
static _Atomic uint32_t nrings;
static _Thread_local struct span_ring *my_ring;
static _Thread_local bool my_ring_failed;

static _Atomic bool export_on;
static _Atomic uint64_t sample_threshold = UINT64_MAX; /* root sampled when rand <= this */

static _Atomic uint64_t st_recorded, st_exported, st_batches_failed;
/* Drops by reason (tw_span_stats): ring full, export given up, encoding out of memory. */
static _Atomic uint64_t st_drop_ring, st_drop_export, st_drop_oom;
/* The span host code running on this thread should parent its spans on (tw_span_current). */
static _Thread_local const struct tw_span *cur_span;

static struct {
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t flushed;
	bool stop;
	uint64_t flush_req, flush_done;
	char host[256], port[16], path[512];
	char service[128];
} ex = {.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.flushed = PTHREAD_COND_INITIALIZER};

/* ---- recording ------------------------------------------------------------------------- */

void tw_span_begin(struct tw_span *sp, const char *name, enum tw_span_kind kind,
		   const struct tw_trace_ctx *ctx, const struct tw_span *parent)
{
	sp->name = name;
	sp->kind = kind;
	sp->error = false;
	sp->nattrs = 0;
	if (parent) {
		memcpy(sp->trace_id, parent->trace_id, 16);
		memcpy(sp->parent_id, parent->span_id, 8);
		sp->sampled = parent->sampled;
	} else {
		memcpy(sp->trace_id, ctx->trace_id, 16);
		memcpy(sp->parent_id, ctx->parent_id, 8);
		sp->sampled = ctx->flags & TW_TRACE_FLAG_SAMPLED;
	}
	tw_trace_new_span_id(sp->span_id);
	sp->start_unix_ns = tw_wall_ns();
	sp->end_unix_ns = 0;
}

static struct tw_span_attr *next_attr(struct tw_span *sp, const char *key)
{
	if (sp->nattrs >= TW_SPAN_ATTRS_MAX)
		return NULL;
	struct tw_span_attr *a = &sp->attrs[sp->nattrs++];
	a->key = key;
	return a;
}

void tw_span_strn(struct tw_span *sp, const char *key, const char *value, size_t n)
{
	struct tw_span_attr *a = next_attr(sp, key);
	if (!a)
		return;
	a->type = TW_ATTR_STR;
	if (!value) {
		value = "unknown";
		n = 7;
	}
	if (n >= sizeof(a->s))
		n = sizeof(a->s) - 1;
	memcpy(a->s, value, n);
	a->s[n] = '\0';
}

void tw_span_str(struct tw_span *sp, const char *key, const char *value)
{
	tw_span_strn(sp, key, value, value ? strlen(value) : 0);
}

void tw_span_int(struct tw_span *sp, const char *key, int64_t value)
{
	struct tw_span_attr *a = next_attr(sp, key);
	if (!a)
		return;
	a->type = TW_ATTR_INT;
	a->i = value;
}

static struct span_ring *thread_ring(void)
{
	if (my_ring || my_ring_failed)
		return my_ring;
	uint32_t idx = atomic_fetch_add(&nrings, 1);
	struct span_ring *r = idx < TW_SPAN_THREADS_MAX ? calloc(1, sizeof(*r)) : NULL;
	if (!r) {
		my_ring_failed = true;
		TW_WARN(CORE, "span ring unavailable for this thread; its spans are dropped");
		return NULL;
	}
	atomic_store_explicit(&rings[idx], r, memory_order_release);
	my_ring = r;
	return r;
}

void tw_span_end(struct tw_span *sp)
{
	tw_span_end_at(sp, tw_wall_ns());
}

void tw_span_end_at(struct tw_span *sp, uint64_t end_unix_ns)
{
	sp->end_unix_ns = end_unix_ns;
	if (!sp->sampled || !atomic_load_explicit(&export_on, memory_order_relaxed))
		return;
	struct span_ring *r = thread_ring();
	uint64_t head = r ? atomic_load_explicit(&r->head, memory_order_relaxed) : 0;
	if (!r || head - atomic_load_explicit(&r->tail, memory_order_acquire) >=
			  TW_SPAN_RING_SLOTS) {
		atomic_fetch_add_explicit(&st_drop_ring, 1, memory_order_relaxed);
		return;
	}
	/* Only the attributes in use: most spans carry 3 to 5 of the 8 slots. */
	memcpy(&r->slots[head & (TW_SPAN_RING_SLOTS - 1)], sp,
	       offsetof(struct tw_span, attrs) + sp->nattrs * sizeof(sp->attrs[0]));
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	atomic_fetch_add_explicit(&st_recorded, 1, memory_order_relaxed);
}

const struct tw_span *tw_span_current(void)
{
	return cur_span;
}

const struct tw_span *tw_span_set_current(const struct tw_span *sp)
{
	const struct tw_span *prev = cur_span;
	cur_span = sp;
	return prev;
}

bool tw_trace_sample_root(void)
{
	uint64_t threshold = atomic_load_explicit(&sample_threshold, memory_order_relaxed);
	if (threshold == UINT64_MAX)
		return true;
	uint8_t r[8];
	tw_trace_new_span_id(r);
	uint64_t v;
	memcpy(&v, r, 8);
	return v <= threshold;
}

void tw_spans_stats(struct tw_span_stats *out)
{
	out->recorded = atomic_load(&st_recorded);
	out->dropped_ring_full = atomic_load(&st_drop_ring);
	out->dropped_export_failed = atomic_load(&st_drop_export);
	out->dropped_out_of_memory = atomic_load(&st_drop_oom);
	out->dropped =
		out->dropped_ring_full + out->dropped_export_failed + out->dropped_out_of_memory;
	out->exported = atomic_load(&st_exported);
	out->batches_failed = atomic_load(&st_batches_failed);
}

/* ---- OTLP JSON encoding ---------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

static void buf_json_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	buf_put(b, "\"", 1);
	while (*s) {
		/* Runs of plain bytes go in one copy: the exporter encodes every span of a busy
		 * server, so this loop is its hot path. */
		size_t run = 0;
		while (s[run] && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20)
			run++;
		if (run) {
			buf_put(b, s, run);
			s += run;
			continue;
		}
		unsigned char c = (unsigned char)*s++;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			buf_put(b, e, 2);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_put(b, e, 6);
		}
	}
	buf_put(b, "\"", 1);
}

/* Decimal text of v, without printf: the exporter formats several numbers per span. */
static void buf_u64(struct buf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_put(b, tmp + i, sizeof(tmp) - i);
}

static void buf_i64(struct buf *b, int64_t v)
{
	if (v < 0) {
		buf_put(b, "-", 1);
		buf_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		buf_u64(b, (uint64_t)v);
	}
}

#define BUF_LIT(b, s) buf_put((b), (s), sizeof(s) - 1)

static void encode_span(struct buf *b, const struct tw_span *sp)
{
	char tid[33], sid[17], pid[17];
	static const uint8_t zero[8];
	tw_hex_encode(sp->trace_id, 16, tid);
	tw_hex_encode(sp->span_id, 8, sid);
	BUF_LIT(b, "{\"traceId\":\"");
	buf_put(b, tid, 32);
	BUF_LIT(b, "\",\"spanId\":\"");
	buf_put(b, sid, 16);
	BUF_LIT(b, "\",");
	if (memcmp(sp->parent_id, zero, 8) != 0) {
		tw_hex_encode(sp->parent_id, 8, pid);
		BUF_LIT(b, "\"parentSpanId\":\"");
		buf_put(b, pid, 16);
		BUF_LIT(b, "\",");
	}
	BUF_LIT(b, "\"name\":");
	buf_json_str(b, sp->name);
	BUF_LIT(b, ",\"kind\":");
	buf_u64(b, (uint64_t)sp->kind);
	BUF_LIT(b, ",\"startTimeUnixNano\":\"");
	buf_u64(b, sp->start_unix_ns);
	BUF_LIT(b, "\",\"endTimeUnixNano\":\"");
	buf_u64(b, sp->end_unix_ns);
	BUF_LIT(b, "\",\"attributes\":[");
	for (uint8_t i = 0; i < sp->nattrs; i++) {
		const struct tw_span_attr *a = &sp->attrs[i];
		buf_str(b, i ? ",{\"key\":" : "{\"key\":");
		buf_json_str(b, a->key);
		if (a->type == TW_ATTR_INT) {
			BUF_LIT(b, ",\"value\":{\"intValue\":\"");
			buf_i64(b, a->i);
			BUF_LIT(b, "\"}}");
		} else {
			BUF_LIT(b, ",\"value\":{\"stringValue\":");
			buf_json_str(b, a->s);
			BUF_LIT(b, "}}");
		}
	}
	BUF_LIT(b, "],\"status\":{\"code\":");
	buf_put(b, sp->error ? "2" : "0", 1);
	BUF_LIT(b, "}}");
}

/* A batch is encoded span by span straight from the rings: batch_begin, batch_add for each
 * span (i = its index in the batch), batch_end. */
static void batch_begin(struct buf *b)
{
	b->len = 0;
	buf_str(b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
		   "\"value\":{\"stringValue\":");
	buf_json_str(b, ex.service);
	buf_str(b, "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"tensor-wasm\"},\"spans\":[");
}

static void batch_add(struct buf *b, const struct tw_span *sp, size_t i)
{
	if (i)
		buf_put(b, ",", 1);
	encode_span(b, sp);
}

static void batch_end(struct buf *b)
{
	buf_str(b, "]}]}]}");
}

/* ---- HTTP POST ------------------------------------------------------------------------- */

enum { IO_TIMEOUT_MS = 2000, SEND_TRIES = 3 };

static int wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;
	do
		r = poll(&p, 1, IO_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

/* The collector connection, kept open between batches (exporter thread only): a connection per
 * batch costs a handshake on both sides, which at hundreds of batches a second is most of the
 * exporter's time. -1 when closed. */
static int conn_fd = -1;

static void conn_close(void)
{
	if (conn_fd >= 0)
		close(conn_fd);
	conn_fd = -1;
}

static bool conn_open(void)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	if (getaddrinfo(ex.host, ex.port, &hints, &ai) != 0)
		return false;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto out_free;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    (errno != EINPROGRESS || wait_fd(fd, POLLOUT) < 0))
		goto out_close;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr)
		goto out_close;
	/* Each request is a small head then a large body: without this, the body's last partial
	 * segment waits for the collector's delayed ACK (40 ms) on a kept connection. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn_fd = fd;
	freeaddrinfo(ai);
	return true;
out_close:
	close(fd);
out_free:
	freeaddrinfo(ai);
	return false;
}

/* Read one response head and skip its body. True on 2xx; *keep says whether the connection
 * may carry the next request (a Content-Length body and no "Connection: close"). */
static bool read_response(bool *keep)
{
	char resp[2048];
	size_t got = 0;
	char *end = NULL;
	*keep = false;
	while (!end) {
		if (got == sizeof(resp) - 1 || wait_fd(conn_fd, POLLIN) < 0)
			return false;
		ssize_t r = recv(conn_fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (r <= 0)
			return false;
		got += (size_t)r;
		resp[got] = '\0';
		end = strstr(resp, "\r\n\r\n");
	}
	bool ok = got >= 12 && strncmp(resp, "HTTP/1.", 7) == 0 && resp[9] == '2';
	*end = '\0';
	const char *cl = strcasestr(resp, "\r\ncontent-length:");
	if (!cl || strcasestr(resp, "\r\nconnection: close") || strncmp(resp, "HTTP/1.0", 8) == 0)
		return ok;
	unsigned long long body = strtoull(cl + 17, NULL, 10);
	size_t have = got - (size_t)(end + 4 - resp);
	/* Bounded: a collector's answer to an export is small; a big one is not worth keeping. */
	if (body > (1u << 20))
		return ok;
	while (have < body) {
		char skip[4096];
		if (wait_fd(conn_fd, POLLIN) < 0)
			return ok;
		ssize_t r = recv(conn_fd, skip, sizeof(skip), 0);
		if (r <= 0)
			return ok;
		have += (size_t)r;
	}
	*keep = have == body;
	return ok;
}

/* One POST; true on a 2xx answer. Blocking with timeouts: this runs on the exporter thread.
 * Reuses the kept connection; when the collector closed it meanwhile, reconnects once. */
static bool post_once(const char *body, size_t len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		bool reused = conn_fd >= 0;
		if (!reused && !conn_open())
			return false;
		char head[1024];
		int hn = snprintf(head, sizeof(head),
				  "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
				  "Content-Length: %zu\r\n\r\n",
				  ex.path, ex.host, ex.port, len);
		const char *parts[2] = {head, body};
		size_t sizes[2] = {(size_t)hn, len};
		bool sent = true;
		for (int i = 0; i < 2 && sent; i++) {
			size_t off = 0;
			while (off < sizes[i]) {
				ssize_t w = send(conn_fd, parts[i] + off, sizes[i] - off,
						 MSG_NOSIGNAL);
				if (w < 0 && errno == EAGAIN && wait_fd(conn_fd, POLLOUT) == 0)
					continue;
				if (w <= 0) {
					sent = false;
					break;
				}
				off += (size_t)w;
			}
		}
		bool keep = false;
		bool ok = sent && read_response(&keep);
		if (!keep || !ok)
			conn_close();
		if (ok)
			return true;
		if (!reused)
			return false;
		/* A kept connection the collector had closed: try once on a fresh one. */
	}
	return false;
}

/* Send the encoded batch of n spans in b, with retries; count the outcome. */
static void send_batch(struct buf *b, size_t n)
{
	batch_end(b);
	if (b->oom) {
		b->oom = false;
		atomic_fetch_add(&st_drop_oom, n);
		atomic_fetch_add(&st_batches_failed, 1);
		return;
	}
	uint32_t backoff_ms = 100;
	for (int t = 0; t < SEND_TRIES; t++) {
		if (post_once(b->p, b->len)) {
			atomic_fetch_add(&st_exported, n);
			return;
		}
		if (t + 1 < SEND_TRIES) {
			usleep(backoff_ms * 1000);
			backoff_ms *= 4;
		}
	}
	TW_WARN(CORE, "trace export to %s:%s%s failed; dropped %zu spans", ex.host, ex.port,
		ex.path, n);
	atomic_fetch_add(&st_drop_export, n);
	atomic_fetch_add(&st_batches_failed, 1);
}

/* Move everything the rings hold into batches and send them. Returns how many spans moved.
 * Each span is encoded from its ring slot before the slot is released (tail published): the
 * producer cannot reuse a slot the consumer has not released, so no copy is needed. */
static size_t drain_all(struct buf *b)
{
	size_t moved = 0;
	size_t n = 0;
	uint32_t count = atomic_load(&nrings);
	if (count > TW_SPAN_THREADS_MAX)
		count = TW_SPAN_THREADS_MAX;
	for (uint32_t i = 0; i < count; i++) {
		struct span_ring *r = atomic_load_explicit(&rings[i], memory_order_acquire);
		if (!r)
			continue;
		uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
		while (tail != head) {
			if (n == 0)
				batch_begin(b);
			batch_add(b, &r->slots[tail & (TW_SPAN_RING_SLOTS - 1)], n++);
			tail++;
			atomic_store_explicit(&r->tail, tail, memory_order_release);
			if (n == TW_SPAN_BATCH_MAX) {
				send_batch(b, n);
				moved += n;
				n = 0;
			}
		}
	}
	if (n)
		send_batch(b, n);
	return moved + n;
}

enum { SPAN_BUSY_SPANS = 64 };
#define SPAN_TICK_BUSY_NS (2 * 1000 * 1000L)
#define SPAN_TICK_IDLE_NS (200 * 1000 * 1000L)

static void *exporter_main(void *arg)
{
	(void)arg;
	struct buf b = {0};
	pthread_mutex_lock(&ex.lock);
	for (;;) {
		uint64_t req = ex.flush_req;
		bool stop = ex.stop;
		pthread_mutex_unlock(&ex.lock);
		/* The tick adapts to the load: a ring holds 4096 spans, about 40 ms of a busy
		 * worker, so while drains find work they come every few ms; an idle server is
		 * drained every 200 ms, which batches its few spans. */
		size_t moved = drain_all(&b);
		long tick_ns = moved >= SPAN_BUSY_SPANS ? SPAN_TICK_BUSY_NS : SPAN_TICK_IDLE_NS;
		pthread_mutex_lock(&ex.lock);
		ex.flush_done = req;
		pthread_cond_broadcast(&ex.flushed);
		if (stop)
			break;
		if (ex.flush_req == req && !ex.stop) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += tick_ns;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&ex.wake, &ex.lock, &ts);
		}
	}
	pthread_mutex_unlock(&ex.lock);
	conn_close();
	free(b.p);
	return NULL;
}

static bool parse_endpoint(const char *url)
{
	if (strncmp(url, "http://", 7) != 0)
		return false;
	const char *h = url + 7;
	const char *slash = strchr(h, '/');
	size_t hostport = slash ? (size_t)(slash - h) : strlen(h);
	const char *colon = memchr(h, ':', hostport);
	size_t hostlen = colon ? (size_t)(colon - h) : hostport;
	if (hostlen == 0 || hostlen >= sizeof(ex.host))
		return false;
	memcpy(ex.host, h, hostlen);
	ex.host[hostlen] = '\0';
	size_t portlen = colon ? hostport - hostlen - 1 : 0;
	if (colon && (portlen == 0 || portlen >= sizeof(ex.port)))
		return false;
	snprintf(ex.port, sizeof(ex.port), "%.*s", (int)(colon ? portlen : 2),
		 colon ? colon + 1 : "80");
	const char *base = slash ? slash : "";
	size_t blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;
	return snprintf(ex.path, sizeof(ex.path), "%.*s/v1/traces", (int)blen, base) <
	       (int)sizeof(ex.path);
}

enum tw_err tw_spans_start(const char *endpoint, const char *service_name, double sample_ratio)
{
	if (sample_ratio < 0 || sample_ratio > 1)
		return TW_ERR_CONFIG;
	atomic_store(&sample_threshold, sample_ratio >= 1.0 ? UINT64_MAX
				       : (uint64_t)(sample_ratio * 18446744073709551615.0));
	if (!endpoint || !*endpoint)
		return TW_ERR_OK;
	if (ex.running)
		return TW_ERR_EXISTS;
	if (!parse_endpoint(endpoint)) {
		TW_ERROR(CORE, "trace endpoint %s is not http://host[:port][/path]", endpoint);
		return TW_ERR_CONFIG;
	}
	snprintf(ex.service, sizeof(ex.service), "%s", service_name && *service_name ?
							   service_name : "tensor-wasm");
	ex.stop = false;
	if (pthread_create(&ex.thread, NULL, exporter_main, NULL) != 0)
		return TW_ERR_SYSTEM;
	pthread_setname_np(ex.thread, "tw-span-export"); /* for top -H and the overhead bench */
	ex.running = true;
	atomic_store(&export_on, true);
	return TW_ERR_OK;
}

enum tw_err tw_spans_start_from_env(void)
{
	const char *ep = getenv("TENSOR_WASM_OTLP_ENDPOINT");
	if (!ep || !*ep)
		ep = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	const char *svc = getenv("OTEL_SERVICE_NAME");
	const char *ratio_s = getenv("TENSOR_WASM_TRACE_SAMPLE_RATIO");
	double ratio = 1.0;
	if (ratio_s && *ratio_s) {
		char *end;
		ratio = strtod(ratio_s, &end);
		if (*end || !(ratio >= 0 && ratio <= 1)) {
			TW_ERROR(CORE, "TENSOR_WASM_TRACE_SAMPLE_RATIO=%s is not in 0..1", ratio_s);
			return TW_ERR_CONFIG;
		}
	}
	enum tw_err e = tw_spans_start(ep, svc, ratio);
	if (!e && ep && *ep)
		TW_INFO(CORE, "exporting traces to %s (sample ratio %.3g)", ep, ratio);
	return e;
}

bool tw_spans_flush(uint32_t timeout_ms)
{
	if (!ex.running)
		return true;
	pthread_mutex_lock(&ex.lock);
	uint64_t want = ++ex.flush_req;
	pthread_cond_signal(&ex.wake);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)timeout_ms * TW_NS_PER_MS;
	ts.tv_sec += (time_t)(ns / TW_NS_PER_S);
	ts.tv_nsec = (long)(ns % TW_NS_PER_S);
	int rc = 0;
	while (ex.flush_done < want && rc == 0)
		rc = pthread_cond_timedwait(&ex.flushed, &ex.lock, &ts);
	bool done = ex.flush_done >= want;
	pthread_mutex_unlock(&ex.lock);
	return done;
}

void tw_spans_stop(void)
{
	if (!ex.running)
		return;
	atomic_store(&export_on, false);
	pthread_mutex_lock(&ex.lock);
	ex.stop = true;
	pthread_cond_signal(&ex.wake);
	pthread_mutex_unlock(&ex.lock);
	pthread_join(ex.thread, NULL);
	ex.running = false;
}
