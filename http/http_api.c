/*
 * http_api.c — the function API's routes, access control and guest execution.
 *
 * Every API request goes through api_admit(): bearer token (constant-time compare), tenant
 * header (u64, one only), the token's tenant scope (checked before the function is looked up,
 * so a foreign tenant's id gives 403, not 404), then the (token, tenant) rate limit.
 *
 * Guest calls run in fuel slices on the worker: a call (struct api_call) takes a slot from the
 * worker's free list, a fresh instance of the shared compiled module, and runs one slice at a
 * time; between slices it re-arms a zero-delay timer and the handler returns HTTP_PENDING, so
 * the worker serves other connections. The deadline is checked at every slice boundary.
 * Async jobs use the same machinery without a request; their outcome goes to the store thread.
 *
 * Instances: the engine has no reset of an instance to its post-instantiation state yet, so a
 * call instantiates the shared compiled module afresh (mmap of its memory, globals, tables,
 * data segments) and frees the instance after; docs/API.md gives the measured cost.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "gpu/gpu_bind.h"
#include "http/http_api_int.h"
#include "jit/jit_offload.h"
#include "http/http_int.h"
#include "metrics/met_tw.h"
#include "wasm/twm_wasi.h"

struct api_call {
	struct api_call *next_free;
	struct api_worker *aw;
	struct http_request *req; /* NULL for an async job */
	struct api_fn *fn;        /* a reference */
	struct api_tenant *ten;
	uint64_t tenant;
	struct twm_instance *inst;
	struct twm_wasi *wasi;
	struct tw_timer timer;
	uint64_t deadline_ns;
	bool octet;
	char job_id[TW_STORE_ID_LEN + 1];
	struct tw_span sp_call; /* http.invoke_function, or async_invoke.job */
	struct tw_span sp_run;  /* invoke.run, its child */
	struct tw_span sp_exec; /* executor::call_export_with_args, child of invoke.run */
	bool exec_open;         /* sp_exec was begun and not ended */
	struct twm_host_slot gpu; /* wasi_cuda state when the module imports it; value NULL else */
	/* A wasi_cuda sync suspended the call: the completion thread holds the instance's event
	 * until call_gpu_resume runs here. gpu_result is written there before the post. */
	bool gpu_waiting;
	bool gpu_orphan; /* answered (deadline, abort) while waiting: release on resume */
	enum tw_err gpu_result;
	/* Offloaded loops' asynchronous GPU runs (NULL unless gpu/auto with a GPU): a loop on
	 * the GPU suspends the call like a wasi_cuda sync, through the same route and resume. */
	struct jit_offload_inst *off;
};

/* Executor span names (a public contract, docs/OBSERVABILITY.md). Instances are pooled per
 * core: spawn_instance and terminate are recorded when an instance is really created or
 * destroyed inside a call, so most calls of a pooled function have neither. */
#define SPAN_SPAWN "tensor_wasm_exec::executor::spawn_instance"
#define SPAN_EXEC "tensor_wasm_exec::executor::call_export_with_args"
#define SPAN_TERMINATE "tensor_wasm_exec::executor::terminate"

static void id_str(char *buf, size_t cap, uint64_t id)
{
	snprintf(buf, cap, "%" PRIu64, id);
}

struct api_worker {
	struct http_api *api;
	struct tw_worker *w;
	struct api_call *free;
	struct api_pool *pool;
	uint32_t ncalls; /* allocated, free or busy */
	uint32_t busy;
};

static struct api_worker *api_worker_of(struct http_api *api, struct tw_worker *w);

/* ---- small helpers ------------------------------------------------------------------------- */

static bool str_ieq_prefix(struct http_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len >= n && strncasecmp(s.ptr, lit, n) == 0;
}

static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		uint64_t d = (uint64_t)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Find `key` in a query string and return its raw (percent-decoded) value in buf. */
static bool query_get(struct http_str q, const char *key, char *buf, size_t cap, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = q.ptr, *end = q.ptr + q.len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		if ((size_t)(stop - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t n = 0;
			for (const char *s = p + klen + 1; s < stop; s++) {
				char c = *s;
				if (c == '+') {
					c = ' ';
				} else if (c == '%' && stop - s >= 3 && isxdigit((unsigned char)s[1]) &&
					   isxdigit((unsigned char)s[2])) {
					char hex[3] = {s[1], s[2], 0};
					c = (char)strtol(hex, NULL, 16);
					s += 2;
				}
				if (n + 1 >= cap)
					return false;
				buf[n++] = c;
			}
			buf[n] = '\0';
			*len = n;
			return true;
		}
		p = stop + 1;
	}
	return false;
}

static enum http_handler_ret fail(struct http_request *req, uint16_t status, enum tw_err kind,
				  const char *msg)
{
	http_respond_error(req, status, kind, msg);
	return HTTP_DONE;
}

/* Names are 1..256 bytes of UTF-8 without control characters (they go back out in JSON). */
static bool valid_name(const char *s, size_t n)
{
	if (n < 1 || n > TW_STORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
			   : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || i + len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			unsigned char cc = (unsigned char)s[i + k];
			if ((cc & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (cc & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += len;
	}
	return true;
}

/* ---- metrics ------------------------------------------------------------------------------- */

static uint32_t tenant_slot(const struct api_tenant *t)
{
	return met_tenant_slot(atomic_load_explicit(&t->key, memory_order_relaxed) - 1);
}

/* A denied request: the error response and tensor_wasm_auth_denials_total{reason}. */
static bool deny(struct http_request *req, uint16_t status, enum tw_err kind, const char *msg)
{
	met_auth_denied(kind);
	fail(req, status, kind, msg);
	return false;
}

static enum met_trap met_trap_of(const struct twm_error *err)
{
	switch (err->trap) {
	case TWM_TRAP_UNREACHABLE:
		return MET_TRAP_UNREACHABLE;
	case TWM_TRAP_MEMORY_OOB:
	case TWM_TRAP_TABLE_OOB:
		return MET_TRAP_MEMORY_OUT_OF_BOUNDS;
	case TWM_TRAP_DIV_ZERO:
		return MET_TRAP_DIVIDE_BY_ZERO;
	case TWM_TRAP_INT_OVERFLOW:
		return MET_TRAP_INTEGER_OVERFLOW;
	case TWM_TRAP_INVALID_CONV:
		return MET_TRAP_INVALID_CONVERSION;
	case TWM_TRAP_INDIRECT_TYPE:
		return MET_TRAP_INDIRECT_CALL_MISMATCH;
	case TWM_TRAP_UNDEFINED_ELEMENT:
		return MET_TRAP_UNDEFINED_ELEMENT;
	case TWM_TRAP_UNINIT_ELEMENT:
		return MET_TRAP_UNINITIALIZED_ELEMENT;
	case TWM_TRAP_STACK_EXHAUSTED:
		return MET_TRAP_STACK_EXHAUSTED;
	case TWM_TRAP_HOST:
		return MET_TRAP_HOST;
	default:
		return err->code == TW_ERR_WASM_EXHAUSTED ? MET_TRAP_STACK_EXHAUSTED : MET_TRAP_OTHER;
	}
}

/* ---- access control ------------------------------------------------------------------------ */

struct api_ctx {
	uint64_t tenant;
	uint64_t credential;
};

/* Authenticate and scope the request; false when an error response has been sent. */
static bool api_admit(struct http_api *api, struct http_request *req, struct api_ctx *ctx)
{
	const struct tw_auth_token *tok = NULL;
	struct http_str v;
	ctx->credential = 0;
	if (tw_auth_enabled(&api->auth)) {
		if (!http_request_header(req, "Authorization", &v)) {
			return deny(req, 401, TW_ERR_UNAUTHORIZED, "missing bearer token");
		}
		if (!str_ieq_prefix(v, "Bearer ")) {
			return deny(req, 401, TW_ERR_INVALID_AUTH, "expected a bearer token");
		}
		const char *t = v.ptr + 7;
		size_t n = v.len - 7;
		while (n && *t == ' ')
			t++, n--;
		tok = tw_auth_check(&api->auth, t, n);
		if (!tok) {
			return deny(req, 401, TW_ERR_INVALID_AUTH, "invalid bearer token");
		}
		ctx->credential = (uint64_t)(tok - api->auth.tokens) + 1;
	}
	uint32_t ntenant = 0;
	struct http_str tv = {0};
	for (uint32_t i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		if (h->name.len == 19 && strncasecmp(h->name.ptr, "X-TensorWasm-Tenant", 19) == 0)
			tv = h->value, ntenant++;
	}
	if (ntenant > 1) {
		return deny(req, 400, TW_ERR_DUPLICATE_TENANT_HEADER, "X-TensorWasm-Tenant given twice");
	}
	ctx->tenant = 0;
	if (ntenant == 0 && api->cfg->require_tenant) {
		return deny(req, 400, TW_ERR_MISSING_TENANT, "X-TensorWasm-Tenant header required");
	}
	if (ntenant == 1 && !parse_u64(tv.ptr, tv.len, &ctx->tenant)) {
		return deny(req, 400, TW_ERR_INVALID_TENANT, "tenant must be an unsigned 64-bit integer");
	}
	if (tok && !tw_auth_allows(tok, ctx->tenant)) {
		return deny(req, 403, TW_ERR_TENANT_SCOPE_DENIED, "token not valid for this tenant");
	}
	uint32_t retry_s = 1;
	if (!tw_ratelimit_take(&api->rl, ctx->credential, ctx->tenant, tw_now_ns(), &retry_s)) {
		char val[16], body[160];
		int vn = snprintf(val, sizeof(val), "%u", retry_s);
		int bn = snprintf(body, sizeof(body),
				  "{\"error\":{\"kind\":\"rate_limited\",\"message\":\"rate "
				  "limit exceeded; retry in %u s\"}}",
				  retry_s);
		met_rate_limited(tenant_slot(api_tenant(api, ctx->tenant, true)));
		struct http_header h = {{"Retry-After", 11}, {val, (size_t)vn}};
		struct http_response r = {.status = 429, .content_type = "application/json",
					  .headers = &h, .nheaders = 1, .body = body,
					  .body_len = (size_t)bn};
		http_respond(req, &r);
		return false;
	}
	return true;
}

/* The function named by :id, visible to the request's tenant; NULL after a 404. The pointer is
 * borrowed until the handler returns (see the registry scheme). */
static struct api_fn *lookup_fn(struct http_api *api, struct http_request *req, uint64_t tenant)
{
	struct http_str id;
	struct api_fn *f = NULL;
	if (http_request_param(req, "id", &id))
		f = api_reg_get(api, id.ptr, id.len);
	if (!f || f->rec.tenant != tenant) {
		fail(req, 404, TW_ERR_NOT_FOUND, "no such function");
		return NULL;
	}
	return f;
}

/* ---- documents ------------------------------------------------------------------------------ */

static char *fn_json(const struct api_fn *f, size_t *len)
{
	json_t *name = json_stringn(f->rec.name, strlen(f->rec.name));
	char *nm = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
	json_decref(name);
	if (!nm)
		return NULL;
	size_t cap = strlen(nm) + strlen(f->exports_json) + 512;
	char *out = malloc(cap);
	if (out) {
		int n = snprintf(out, cap,
				 "{\"id\":\"%s\",\"name\":%s,\"tenant\":%" PRIu64
				 ",\"xxh3\":\"%s\",\"size_bytes\":%" PRIu64
				 ",\"created_ms\":%" PRIu64 ",\"exports\":%s}",
				 f->rec.id, nm, f->rec.tenant, f->rec.module_hash,
				 f->rec.module_bytes, f->rec.created_ms, f->exports_json);
		*len = (size_t)n;
	}
	free(nm);
	return out;
}

static void respond_fn(struct http_request *req, uint16_t status, const struct api_fn *f)
{
	size_t n;
	char *doc = fn_json(f, &n);
	if (!doc) {
		http_respond_error(req, 503, TW_ERR_NOMEM, "out of memory");
		return;
	}
	http_respond_json(req, status, doc, n);
	free(doc);
}

/* ---- base64 --------------------------------------------------------------------------------- */

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decode standard or URL-safe base64 (padding optional); false on any other byte. */
static bool b64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	while (n && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return false;
	uint8_t *buf = malloc(n / 4 * 3 + 3);
	if (!buf)
		return false;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val((unsigned char)s[i]);
		if (v < 0) {
			free(buf);
			return false;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = o;
	return true;
}

/* ---- deploy --------------------------------------------------------------------------------- */

static void deploy_done(struct tw_worker *w, void *arg)
{
	(void)w;
	struct api_store_req *r = arg;
	switch (r->result) {
	case TW_ERR_OK:
		respond_fn(r->req, 201, r->fn);
		break;
	case TW_ERR_NO_SPACE:
		http_respond_error(r->req, 507, TW_ERR_INTERNAL, "no space left to store the module");
		break;
	case TW_ERR_CAPACITY_EXHAUSTED:
		http_respond_error(r->req, 503, TW_ERR_CAPACITY_EXHAUSTED,
				   "the function registry is full");
		break;
	default:
		http_respond_error(r->req, 500, TW_ERR_INTERNAL, "cannot store the module");
		break;
	}
	api_store_req_free(r);
}

static enum http_handler_ret h_deploy(struct http_request *req, void *arg)
{
	struct http_api *api = arg;
	struct api_ctx ctx;
	if (!api_admit(api, req, &ctx))
		return HTTP_DONE;
	struct http_str body = http_request_body(req), ct = {0};
	http_request_header(req, "Content-Type", &ct);
	char name[TW_STORE_NAME_MAX + 2];
	size_t name_len = 0;
	uint8_t *bytes = NULL;
	size_t nbytes = 0;
	bool have_name;
	char offload[16] = "";
	size_t offload_len = 0;
	if (str_ieq_prefix(ct, "application/wasm")) {
		query_get(http_request_query(req), "offload", offload, sizeof(offload),
			  &offload_len);
		have_name = query_get(http_request_query(req), "name", name, sizeof(name), &name_len);
		if (!have_name || !valid_name(name, name_len))
			return fail(req, 400, TW_ERR_INVALID_NAME,
				    "name must be 1-256 bytes without control characters");
		if (body.len > api->cfg->max_module_bytes)
			return fail(req, 413, TW_ERR_MODULE_TOO_LARGE, "module too large");
		bytes = malloc(body.len ? body.len : 1);
		if (!bytes)
			return fail(req, 503, TW_ERR_NOMEM, "out of memory");
		memcpy(bytes, body.ptr, body.len);
		nbytes = body.len;
	} else {
		json_error_t jerr;
		json_t *doc = json_loadb(body.ptr, body.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!doc || !json_is_object(doc)) {
			json_decref(doc);
			return fail(req, 400, TW_ERR_INVALID_JSON,
				    "expected {\"name\": ..., \"wasm_b64\": ...}");
		}
		json_t *jn = json_object_get(doc, "name"), *jb = json_object_get(doc, "wasm_b64");
		json_t *jo = json_object_get(doc, "offload");
		if (json_is_string(jo) && json_string_length(jo) < sizeof(offload))
			snprintf(offload, sizeof(offload), "%s", json_string_value(jo));
		else if (jo)
			snprintf(offload, sizeof(offload), "?");
		if (!json_is_string(jn) || !valid_name(json_string_value(jn), json_string_length(jn))) {
			json_decref(doc);
			return fail(req, 400, TW_ERR_INVALID_NAME,
				    "name must be 1-256 bytes without control characters");
		}
		name_len = json_string_length(jn);
		memcpy(name, json_string_value(jn), name_len);
		name[name_len] = '\0';
		if (!json_is_string(jb) ||
		    !b64_decode(json_string_value(jb), json_string_length(jb), &bytes, &nbytes)) {
			json_decref(doc);
			return fail(req, 400, TW_ERR_INVALID_BASE64, "wasm_b64 is not valid base64");
		}
		json_decref(doc);
	}
	char msg[300];
	uint16_t status = 400;
	struct api_fn *f = NULL;
	enum tw_err e = api_fn_build(api, bytes, nbytes, &f, &status, msg, sizeof(msg));
	if (e != TW_ERR_OK) {
		free(bytes);
		met_module_rejected(e);
		return fail(req, status, e == TW_ERR_NOMEM ? TW_ERR_CAPACITY_EXHAUSTED : e, msg);
	}
	f->rec.tenant = ctx.tenant;
	/* A per-function loop offload mode overrides --offload for this deployment and is stored
	 * with it; either way the dispatch is rebound now that the tenant (whose GPU quota a
	 * kernel is charged to) is known. */
	e = api_fn_offload(api, f, offload[0] ? offload : api->cfg->offload);
	if (e != TW_ERR_OK) {
		free(bytes);
		api_fn_unref(f);
		if (e == TW_ERR_NOMEM)
			return fail(req, 503, TW_ERR_CAPACITY_EXHAUSTED, "out of memory");
		return fail(req, 400, TW_ERR_INVALID_ARG, "offload must be off, auto, gpu or host");
	}
	snprintf(f->rec.offload, sizeof(f->rec.offload), "%s", offload);
	if (tw_random_id(f->rec.id) != TW_ERR_OK) {
		free(bytes);
		api_fn_unref(f);
		return fail(req, 500, TW_ERR_INTERNAL, "no randomness for an id");
	}
	memcpy(f->rec.name, name, name_len + 1);
	f->rec.created_ms = tw_wall_ns() / TW_NS_PER_MS;
	struct api_store_req *r = calloc(1, sizeof(*r));
	if (!r) {
		free(bytes);
		api_fn_unref(f);
		return fail(req, 503, TW_ERR_NOMEM, "out of memory");
	}
	*r = (struct api_store_req){.op = API_STORE_DEPLOY, .api = api,
				    .worker = http_request_worker(req), .req = req,
				    .done = deploy_done, .fn = f, .bytes = bytes, .nbytes = nbytes};
	if (api_store_submit(api, r) != TW_ERR_OK) {
		api_store_req_free(r);
		return fail(req, 503, TW_ERR_CAPACITY_EXHAUSTED, "the store is busy");
	}
	return HTTP_PENDING;
}

/* ---- list, get, delete ---------------------------------------------------------------------- */

static enum http_handler_ret h_list(struct http_request *req, void *arg)
{
	struct http_api *api = arg;
	struct api_ctx ctx;
	if (!api_admit(api, req, &ctx))
		return HTTP_DONE;
	char buf[64], after[TW_STORE_ID_LEN + 1] = "";
	size_t n;
	uint64_t limit = 100;
	struct http_str q = http_request_query(req);
	if (query_get(q, "limit", buf, sizeof(buf), &n) &&
	    (!parse_u64(buf, n, &limit) || limit < 1 || limit > TW_API_LIST_LIMIT_MAX))
		return fail(req, 400, TW_ERR_INVALID_ARG, "limit must be 1-1000");
	if (query_get(q, "after", buf, sizeof(buf), &n)) {
		if (n > TW_STORE_ID_LEN)
			return fail(req, 400, TW_ERR_INVALID_ARG, "after must be a function id");
		memcpy(after, buf, n + 1);
	}
	/* The page is the `limit` smallest ids above `after`: one pass over the table keeping a
	 * sorted window, so pagination is stable while functions come and go. */
	struct api_fn **page = calloc(limit + 1, sizeof(*page));
	if (!page)
		return fail(req, 503, TW_ERR_NOMEM, "out of memory");
	uint32_t np = 0;
	bool more = false;
	for (uint32_t i = 0; i < API_REG_SLOTS; i++) {
		struct api_fn *f = atomic_load_explicit(&api->reg[i], memory_order_acquire);
		if (!f || f == &api_tombstone || f->rec.tenant != ctx.tenant ||
		    strcmp(f->rec.id, after) <= 0)
			continue;
		uint32_t j = np;
		while (j > 0 && strcmp(page[j - 1]->rec.id, f->rec.id) > 0)
			j--;
		if (j >= limit) {
			more = true;
			continue;
		}
		memmove(&page[j + 1], &page[j], (np - j) * sizeof(*page));
		page[j] = f;
		if (np < limit)
			np++;
		else
			more = true;
	}
	struct sbuf_s {
		char *p;
		size_t len, cap;
	} b = {0};
	b.cap = 64 + (size_t)np * 1024;
	b.p = malloc(b.cap);
	if (!b.p) {
		free(page);
		return fail(req, 503, TW_ERR_NOMEM, "out of memory");
	}
	b.len = (size_t)snprintf(b.p, b.cap, "{\"functions\":[");
	for (uint32_t i = 0; i < np; i++) {
		size_t dn;
		char *doc = fn_json(page[i], &dn);
		if (!doc)
			continue;
		if (b.len + dn + 64 > b.cap) {
			size_t cap = (b.len + dn + 64) * 2;
			char *p = realloc(b.p, cap);
			if (!p) {
				free(doc);
				break;
			}
			b.p = p, b.cap = cap;
		}
		if (i)
			b.p[b.len++] = ',';
		memcpy(b.p + b.len, doc, dn);
		b.len += dn;
		free(doc);
	}
	if (more && np)
		b.len += (size_t)snprintf(b.p + b.len, b.cap - b.len, "],\"next_after\":\"%s\"}",
					  page[np - 1]->rec.id);
	else
		b.len += (size_t)snprintf(b.p + b.len, b.cap - b.len, "],\"next_after\":null}");
	http_respond_json(req, 200, b.p, b.len);
	free(b.p);
	free(page);
	return HTTP_DONE;
}

static enum http_handler_ret h_get(struct http_request *req, void *arg)
{
	struct http_api *api = arg;
	struct api_ctx ctx;
	if (!api_admit(api, req, &ctx))
		return HTTP_DONE;
	struct api_fn *f = lookup_fn(api, req, ctx.tenant);
	if (f)
		respond_fn(req, 200, f);
	return HTTP_DONE;
}

static void delete_done(struct tw_worker *w, void *arg)
{
	(void)w;
	struct api_store_req *r = arg;
	if (r->result == TW_ERR_OK)
		http_respond(r->req, &(struct http_response){.status = 204});
	else if (r->result == TW_ERR_NOT_FOUND)
		http_respond_error(r->req, 404, TW_ERR_NOT_FOUND, "no such function");
	else
		http_respond_error(r->req, 500, TW_ERR_INTERNAL, "cannot delete the function");
	api_store_req_free(r);
}

static enum http_handler_ret h_delete(struct http_request *req, void *arg)
{
	struct http_api *api = arg;
	struct api_ctx ctx;
	if (!api_admit(api, req, &ctx))
		return HTTP_DONE;
	struct api_fn *f = lookup_fn(api, req, ctx.tenant);
	if (!f)
		return HTTP_DONE;
	struct api_store_req *r = calloc(1, sizeof(*r));
	if (!r)
		return fail(req, 503, TW_ERR_NOMEM, "out of memory");
	*r = (struct api_store_req){.op = API_STORE_DELETE, .api = api,
				    .worker = http_request_worker(req), .req = req,
				    .done = delete_done, .tenant = ctx.tenant};
	memcpy(r->id, f->rec.id, sizeof(r->id));
	if (api_store_submit(api, r) != TW_ERR_OK) {
		api_store_req_free(r);
		return fail(req, 503, TW_ERR_CAPACITY_EXHAUSTED, "the store is busy");
	}
	return HTTP_PENDING;
}

/* ---- calls ---------------------------------------------------------------------------------- */

static bool setup_fail(struct api_call_setup *s, uint16_t status, enum tw_err kind, const char *fmt,
		       const char *arg)
{
	s->status = status;
	s->kind = kind;
	snprintf(s->msg, sizeof(s->msg), fmt, arg);
	return false;
}

static bool find_export(const struct api_fn *f, const char *name, size_t n, struct api_call_setup *s)
{
	if (name) {
		if (twm_module_find_export(f->module, name, n, &s->exp) &&
		    s->exp.kind == TWM_EXTERN_FUNC)
			return true;
		char quoted[80];
		snprintf(quoted, sizeof(quoted), "%.*s", (int)(n > 64 ? 64 : n), name);
		for (char *q = quoted; *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = '?';
		return setup_fail(s, 404, TW_ERR_MISSING_EXPORT, "no exported function named '%s'",
				  quoted);
	}
	if (twm_module_find_export(f->module, "_start", 6, &s->exp) &&
	    s->exp.kind == TWM_EXTERN_FUNC)
		return true;
	if (twm_module_find_export(f->module, "main", 4, &s->exp) &&
	    s->exp.kind == TWM_EXTERN_FUNC)
		return true;
	return setup_fail(s, 404, TW_ERR_MISSING_EXPORT, "%s",
			  "no export given and neither _start nor main is exported");
}

static bool arg_value(json_t *a, uint8_t type, struct twm_value *out)
{
	switch (type) {
	case TWM_I32: {
		if (!json_is_integer(a))
			return false;
		json_int_t v = json_integer_value(a);
		if (v < INT32_MIN || v > (json_int_t)UINT32_MAX)
			return false;
		*out = twm_val_i32((uint32_t)v);
		return true;
	}
	case TWM_I64: {
		if (json_is_integer(a)) {
			*out = twm_val_i64((uint64_t)json_integer_value(a));
			return true;
		}
		if (!json_is_string(a))
			return false;
		const char *s = json_string_value(a);
		size_t n = json_string_length(a);
		bool neg = n && s[0] == '-';
		uint64_t v;
		if (!parse_u64(s + neg, n - neg, &v))
			return false;
		if (neg) {
			if (v > (uint64_t)INT64_MAX + 1)
				return false;
			v = (uint64_t)0 - v;
		}
		*out = twm_val_i64(v);
		return true;
	}
	case TWM_F32: {
		if (!json_is_number(a))
			return false;
		float f = (float)json_number_value(a);
		uint32_t bits;
		memcpy(&bits, &f, 4);
		*out = twm_val_f32_bits(bits);
		return true;
	}
	case TWM_F64: {
		if (!json_is_number(a))
			return false;
		double d = json_number_value(a);
		uint64_t bits;
		memcpy(&bits, &d, 8);
		*out = twm_val_f64_bits(bits);
		return true;
	}
	default:
		return false;
	}
}

bool api_parse_invoke_json(const struct api_fn *f, const char *body, size_t len,
			   struct api_call_setup *s)
{
	json_t *doc = NULL;
	if (len) {
		json_error_t jerr;
		doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!doc || !json_is_object(doc)) {
			json_decref(doc);
			return setup_fail(s, 400, TW_ERR_INVALID_JSON, "%s",
					  "expected {\"export\": ..., \"args\": [...]}");
		}
	}
	json_t *je = doc ? json_object_get(doc, "export") : NULL;
	json_t *ja = doc ? json_object_get(doc, "args") : NULL;
	bool ok = false;
	if (je && !json_is_string(je)) {
		setup_fail(s, 400, TW_ERR_INVALID_ARGS, "%s", "export must be a string");
		goto out;
	}
	if (ja && !json_is_array(ja)) {
		setup_fail(s, 400, TW_ERR_INVALID_ARGS, "%s", "args must be an array");
		goto out;
	}
	if (!find_export(f, je ? json_string_value(je) : NULL, je ? json_string_length(je) : 0, s))
		goto out;
	size_t na = ja ? json_array_size(ja) : 0;
	if (na > TW_INVOKE_ARGS_MAX) {
		setup_fail(s, 400, TW_ERR_TOO_MANY_ARGS, "%s", "more than 64 arguments");
		goto out;
	}
	const struct twm_functype *ft = &s->exp.type.func;
	if (ft->nparams > TW_INVOKE_ARGS_MAX) {
		setup_fail(s, 400, TW_ERR_TOO_MANY_ARGS, "%s",
			   "the export takes more than 64 parameters");
		goto out;
	}
	if (na != ft->nparams) {
		s->status = 400;
		s->kind = TW_ERR_INVALID_ARGS;
		snprintf(s->msg, sizeof(s->msg), "the export takes %u arguments, %zu given",
			 ft->nparams, na);
		goto out;
	}
	for (uint32_t i = 0; i < ft->nparams; i++) {
		if (!arg_value(json_array_get(ja, i), ft->params[i], &s->args[i])) {
			s->status = 400;
			s->kind = TW_ERR_INVALID_ARGS;
			snprintf(s->msg, sizeof(s->msg), "argument %u is not a valid %s", i,
				 ft->params[i] == TWM_I32   ? "i32"
				 : ft->params[i] == TWM_I64 ? "i64 (number or decimal string)"
				 : ft->params[i] == TWM_F32 ? "f32"
				 : ft->params[i] == TWM_F64 ? "f64"
							    : "value of an unsupported type");
			goto out;
		}
	}
	s->nargs = ft->nparams;
	ok = true;
out:
	json_decref(doc);
	return ok;
}

/* Parse what an invoke request asks for; false with s->status/kind/msg set. */
static bool call_parse(struct http_api *api, struct http_request *req, const struct api_fn *f,
		       struct api_call_setup *s)
{
	struct http_str ct = {0}, body = http_request_body(req), dl;
	http_request_header(req, "Content-Type", &ct);
	s->deadline_ms = api->cfg->deadline_ms;
	if (http_request_header(req, "X-TensorWasm-Deadline-Ms", &dl)) {
		uint64_t v;
		if (!parse_u64(dl.ptr, dl.len, &v) || v == 0)
			return setup_fail(s, 400, TW_ERR_INVALID_ARG, "%s",
					  "X-TensorWasm-Deadline-Ms must be a positive integer");
		if (v < s->deadline_ms)
			s->deadline_ms = v;
	}
	s->octet = str_ieq_prefix(ct, "application/octet-stream");
	if (s->octet) {
		char name[256];
		size_t n;
		bool have = query_get(http_request_query(req), "export", name, sizeof(name), &n);
		if (!find_export(f, have ? name : NULL, n, s))
			return false;
		if (s->exp.type.func.nparams != 0)
			return setup_fail(s, 400, TW_ERR_INVALID_ARGS, "%s",
					  "the byte mode runs an export without parameters");
		return true;
	}
	return api_parse_invoke_json(f, body.ptr, body.len, s);
}

static struct api_call *call_alloc(struct api_worker *aw)
{
	struct api_call *c = aw->free;
	if (c) {
		aw->free = c->next_free;
	} else {
		if (aw->ncalls >= TW_API_CALLS_PER_CORE)
			return NULL;
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		aw->ncalls++;
	}
	memset(c, 0, sizeof(*c));
	c->aw = aw;
	aw->busy++;
	return c;
}

static void call_release(struct api_call *c)
{
	struct api_worker *aw = c->aw;
	struct http_api *api = aw->api;
	tw_timer_cancel(aw->w, &c->timer);
	if (c->gpu_waiting) {
		/* The completion thread still borrows the instance's event: keep the instance,
		 * its GPU state and this slot until call_gpu_resume brings the result back. */
		c->gpu_orphan = true;
		return;
	}
	if (c->exec_open)
		tw_span_end(&c->sp_exec);
	if (c->inst) {
		if (twm_call_suspended(c->inst))
			twm_call_abort(c->inst);
		if (c->off) /* the hook's state goes with this call; a pooled instance keeps none */
			jit_offload_attach(c->fn->offload, c->inst);
		atomic_fetch_sub(&api->instances_active, 1);
		atomic_fetch_sub(&c->ten->instances_active, 1);
		met_instances_active_add(tenant_slot(c->ten), -1);
		/* An instance with host state is never pooled: its state is per call. */
		if (c->gpu.value || !api_pool_put(aw->pool, c->fn, c->inst)) {
			struct tw_span sp;
			char id[24];
			id_str(id, sizeof(id), twm_instance_id(c->inst));
			tw_span_begin(&sp, SPAN_TERMINATE, TW_SPAN_INTERNAL, NULL, &c->sp_run);
			tw_span_str(&sp, "instance", id);
			twm_instance_free(c->inst);
			atomic_fetch_add(&c->ten->terminations, 1);
			met_instance_terminated();
			tw_span_end(&sp);
		}
	}
	if (c->gpu.value) /* after the instance: the host-slot contract (twm.h) */
		gpu_wasi_cuda_binding.detach(&c->gpu);
	jit_offload_inst_free(c->off);
	c->off = NULL;
	tw_span_end(&c->sp_run);
	tw_span_end(&c->sp_call);
	twm_wasi_free(c->wasi);
	api_fn_unref(c->fn);
	c->next_free = aw->free;
	aw->free = c;
	aw->busy--;
}

/* JSON for the results of a finished call. */
static char *results_json(struct api_call *c, size_t *len)
{
	struct twm_value res[TW_INVOKE_ARGS_MAX];
	uint32_t n = twm_call_results(c->inst, res, TW_INVOKE_ARGS_MAX);
	if (n > TW_INVOKE_ARGS_MAX)
		n = TW_INVOKE_ARGS_MAX;
	size_t cap = 96 + (size_t)n * 40;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t o = (size_t)snprintf(out, cap, "{\"function_id\":\"%s\",\"result\":[", c->fn->rec.id);
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			out[o++] = ',';
		switch (res[i].type) {
		case TWM_I32:
			o += (size_t)snprintf(out + o, cap - o, "%" PRId32, (int32_t)res[i].bits);
			break;
		case TWM_I64:
			o += (size_t)snprintf(out + o, cap - o, "%" PRId64, (int64_t)res[i].bits);
			break;
		case TWM_F32: {
			float f;
			uint32_t b = (uint32_t)res[i].bits;
			memcpy(&f, &b, 4);
			if (f != f || f - f != 0)
				o += (size_t)snprintf(out + o, cap - o, "\"%g\"", (double)f);
			else
				o += (size_t)snprintf(out + o, cap - o, "%.9g", (double)f);
			break;
		}
		case TWM_F64: {
			double d;
			memcpy(&d, &res[i].bits, 8);
			if (d != d || d - d != 0)
				o += (size_t)snprintf(out + o, cap - o, "\"%g\"", d);
			else
				o += (size_t)snprintf(out + o, cap - o, "%.17g", d);
			break;
		}
		default:
			o += (size_t)snprintf(out + o, cap - o, "null");
			break;
		}
	}
	o += (size_t)snprintf(out + o, cap - o, "]}");
	*len = o;
	return out;
}

static char *error_json(enum tw_err kind, const char *msg)
{
	json_t *doc = json_pack("{s:{s:s,s:s}}", "error", "kind", tw_err_str(kind), "message",
				msg ? msg : tw_err_msg(kind));
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return s;
}

static void job_finish(struct api_call *c, const char *result, size_t rlen, enum tw_err kind,
		       const char *msg)
{
	struct http_api *api = c->aw->api;
	struct api_store_req *r = calloc(1, sizeof(*r));
	atomic_fetch_sub(&api->jobs_active, 1);
	atomic_fetch_sub(&c->ten->jobs_active, 1);
	met_jobs_active_add(-1);
	if (!r) {
		TW_ERROR(API, "job %s: out of memory storing its outcome", c->job_id);
		return;
	}
	r->op = API_STORE_JOB_DONE;
	r->api = api;
	memcpy(r->job.id, c->job_id, sizeof(r->job.id));
	memcpy(r->job.function_id, c->fn->rec.id, sizeof(r->job.function_id));
	r->job.tenant = c->tenant;
	r->job.finished_ms = tw_wall_ns() / TW_NS_PER_MS;
	if (result) {
		r->job.status = TW_JOB_COMPLETED;
		r->job.result_json = strndup(result, rlen);
	} else {
		r->job.status = TW_JOB_FAILED;
		r->job.error_json = error_json(kind, msg);
	}
	if (api_store_submit(api, r) != TW_ERR_OK) {
		TW_ERROR(API, "job %s: the store queue is full; outcome lost", c->job_id);
		api_store_req_free(r);
	}
}

/* End a call with an error: to the client, or into the job's record. */
static void call_fail(struct api_call *c, uint16_t status, enum tw_err kind, const char *msg)
{
	c->sp_exec.error = c->exec_open;
	if (c->req)
		http_respond_error(c->req, status, kind, msg);
	else
		job_finish(c, NULL, 0, kind, msg);
	call_release(c);
}

static void call_fail_wasm(struct api_call *c, enum tw_err e, const struct twm_error *err)
{
	char msg[300];
	switch (e) {
	case TW_ERR_WASM_TRAP:
	case TW_ERR_WASM_EXHAUSTED:
		met_guest_trap(met_trap_of(err));
		snprintf(msg, sizeof(msg), "%s",
			 err->msg[0] ? err->msg : twm_trap_str(err->trap));
		call_fail(c, 422, TW_ERR_WASM_TRAP, msg);
		return;
	case TW_ERR_WASM_EXIT:
		snprintf(msg, sizeof(msg), "the guest exited with code %d", err->exit_code);
		call_fail(c, 422, TW_ERR_WASM_TRAP, msg);
		return;
	default:
		call_fail(c, 500, TW_ERR_INTERNAL, "the call failed");
		return;
	}
}

static void call_success(struct api_call *c, int32_t exit_code)
{
	if (c->octet && c->req) {
		size_t out_len = 0, err_len = 0, dropped = 0;
		const uint8_t *out = c->wasi ? twm_wasi_output(c->wasi, 1, &out_len, &dropped) : NULL;
		const uint8_t *err = c->wasi ? twm_wasi_output(c->wasi, 2, &err_len, NULL) : NULL;
		if (err_len)
			TW_INFO(GUEST, "function %s stderr: %.*s", c->fn->rec.id,
				(int)(err_len > 4096 ? 4096 : err_len), (const char *)err);
		char code[16];
		int cn = snprintf(code, sizeof(code), "%d", exit_code);
		struct http_header h = {{"X-TensorWasm-Exit-Code", 22}, {code, (size_t)cn}};
		struct http_response r = {.status = 200, .content_type = "application/octet-stream",
					  .headers = &h, .nheaders = 1, .body = out,
					  .body_len = out_len};
		http_respond(c->req, &r);
		call_release(c);
		return;
	}
	size_t n;
	char *doc = results_json(c, &n);
	if (!doc) {
		call_fail(c, 503, TW_ERR_NOMEM, "out of memory");
		return;
	}
	if (c->req)
		http_respond_json(c->req, 200, doc, n);
	else
		job_finish(c, doc, n, TW_ERR_OK, NULL);
	free(doc);
	call_release(c);
}

/* Run one fuel slice; true when the call is still going (a timer is armed for the next). */
static bool call_step(struct api_call *c)
{
	struct http_api *api = c->aw->api;
	struct twm_error err = {0};
	if (c->req && http_request_aborted(c->req)) {
		call_fail(c, 499, TW_ERR_INTERNAL, "client went away");
		return false;
	}
	if (tw_now_ns() >= c->deadline_ns) {
		met_guest_trap(MET_TRAP_DEADLINE);
		call_fail(c, 504, TW_ERR_INVOKE_TIMEOUT, "the call ran past its deadline");
		return false;
	}
	if (c->gpu_waiting) /* the deadline timer fired early: wait on */
		return tw_timer_arm(c->aw->w, &c->timer, c->deadline_ns) == TW_ERR_OK;
	/* Host functions the guest calls (wasi_cuda) parent their spans on the call's span. */
	const struct tw_span *prev = tw_span_set_current(&c->sp_exec);
	enum tw_err e = twm_call_run(c->inst, api->cfg->fuel_per_slice, &err);
	tw_span_set_current(prev);
	if (e == TW_ERR_WASM_PENDING) {
		/* A wasi_cuda sync or an offloaded loop suspended the call: the worker serves
		 * others until the GPU completes (call_gpu_resume); the timer only enforces the
		 * deadline meanwhile. */
		c->gpu_waiting = true;
		if (tw_timer_arm(c->aw->w, &c->timer, c->deadline_ns) != TW_ERR_OK) {
			call_fail(c, 503, TW_ERR_CAPACITY_EXHAUSTED, "no timer for the call");
			return false;
		}
		return true;
	}
	if (e == TW_ERR_WASM_FUEL) {
		if (tw_now_ns() >= c->deadline_ns) {
			met_guest_trap(MET_TRAP_DEADLINE);
			call_fail(c, 504, TW_ERR_INVOKE_TIMEOUT, "the call ran past its deadline");
			return false;
		}
		/* Yield: the worker runs due completions before a timer armed for "now". */
		if (tw_timer_arm(c->aw->w, &c->timer, tw_now_ns()) != TW_ERR_OK) {
			call_fail(c, 503, TW_ERR_CAPACITY_EXHAUSTED, "no timer for the call");
			return false;
		}
		return true;
	}
	if (e == TW_ERR_OK)
		call_success(c, 0);
	else if (e == TW_ERR_WASM_EXIT && (c->octet || err.exit_code == 0))
		call_success(c, err.exit_code);
	else
		call_fail_wasm(c, e, &err);
	return false;
}

/* On the worker: a suspended call's GPU wait is over. */
static void call_gpu_resume(struct tw_worker *w, void *arg)
{
	struct api_call *c = arg;
	c->gpu_waiting = false;
	if (c->gpu_orphan) {
		call_release(c);
		return;
	}
	tw_timer_cancel(w, &c->timer);
	const struct tw_span *prev = tw_span_set_current(&c->sp_exec);
	enum tw_err e = jit_offload_waiting(c->off)
				? jit_offload_resume(c->off, c->inst, c->gpu_result)
				: gpu_wasi_cuda_resume(&c->gpu, c->inst, c->gpu_result);
	tw_span_set_current(prev);
	if (e != TW_ERR_OK) {
		call_fail(c, 500, TW_ERR_INTERNAL, "the GPU result could not be delivered");
		return;
	}
	call_step(c);
}

/* On the completion thread: hand the GPU wait's result to the call's worker (its inbox; the
 * post wakes the worker through its eventfd). The message must arrive or the call's slot is
 * never freed, so a full inbox is retried for a bounded time. */
static void call_gpu_done(void *arg, enum tw_err result)
{
	struct api_call *c = arg;
	c->gpu_result = result;
	for (uint32_t i = 0; i < TW_API_GPU_POST_TRIES; i++) {
		enum tw_err e = tw_worker_post(c->aw->w, call_gpu_resume, c);
		if (e == TW_ERR_OK)
			return;
		if (e == TW_ERR_SHUTDOWN)
			break;
		usleep(100);
	}
	TW_ERROR(API, "a GPU completion could not reach its worker; the call's slot is lost");
}

static void call_timer(struct tw_worker *w, struct tw_timer *t)
{
	(void)w;
	struct api_call *c = (struct api_call *)((char *)t - offsetof(struct api_call, timer));
	call_step(c);
}

/*
 * Start a call of `s` on function `f` (borrowed; a reference is taken). With `req`, the call
 * answers it; without, it is the async job `job_id`. Returns HTTP_DONE when the call ended (or
 * failed to start: the error has been delivered), HTTP_PENDING when slices remain.
 */
/* Begin the call's spans under `parent`: the outer one (`name`) and invoke.run. */
static void call_trace_begin(struct api_call *c, const char *name, const struct tw_span *parent,
			     const struct api_call_setup *s)
{
	char tenant[24];
	snprintf(tenant, sizeof(tenant), "%" PRIu64, c->tenant);
	tw_span_begin(&c->sp_call, name, TW_SPAN_INTERNAL, NULL, parent);
	tw_span_str(&c->sp_call, "tenant", tenant);
	tw_span_str(&c->sp_call, "function_id", c->fn->rec.id);
	if (c->job_id[0])
		tw_span_str(&c->sp_call, "job_id", c->job_id);
	tw_span_begin(&c->sp_run, "invoke.run", TW_SPAN_INTERNAL, NULL, &c->sp_call);
	tw_span_str(&c->sp_run, "tenant", tenant);
	tw_span_str(&c->sp_run, "function_id", c->fn->rec.id);
	tw_span_int(&c->sp_run, "wasm_bytes_len", (int64_t)c->fn->rec.module_bytes);
	tw_span_strn(&c->sp_run, "export", s->octet ? "_start" : s->exp.name,
		     s->octet ? 6 : s->exp.name_len);
}

static enum http_handler_ret call_start(struct api_worker *aw, struct http_request *req,
					struct api_fn *f, uint64_t tenant, struct api_call_setup *s,
					const char *job_id, struct http_str stdin_bytes,
					const struct tw_span *parent)
{
	struct http_api *api = aw->api;
	struct api_call *c = call_alloc(aw);
	if (!c) {
		if (req)
			return fail(req, 503, TW_ERR_CAPACITY_EXHAUSTED, "too many calls on this core");
		/* An accepted job must still end with a stored outcome. */
		struct api_call tmp = {.aw = aw, .fn = f, .tenant = tenant,
				       .ten = api_tenant(api, tenant, true)};
		memcpy(tmp.job_id, job_id, sizeof(tmp.job_id));
		job_finish(&tmp, NULL, 0, TW_ERR_CAPACITY_EXHAUSTED, "no call slot for the job");
		return HTTP_DONE;
	}
	api_fn_ref(f);
	c->fn = f;
	c->req = req;
	c->tenant = tenant;
	c->ten = api_tenant(api, tenant, true);
	c->job_id[0] = '\0';
	if (job_id)
		memcpy(c->job_id, job_id, sizeof(c->job_id));
	call_trace_begin(c, req ? "http.invoke_function" : "async_invoke.job", parent, s);
	c->octet = s->octet;
	c->timer.fire = call_timer;
	c->deadline_ns = tw_now_ns() + s->deadline_ms * TW_NS_PER_MS;
	if (job_id)
		memcpy(c->job_id, job_id, sizeof(c->job_id));
	/* Reserve the instance under both caps before creating it. */
	if (atomic_fetch_add(&api->instances_active, 1) >= (int64_t)api->cfg->max_instances) {
		atomic_fetch_sub(&api->instances_active, 1);
		call_fail(c, 503, TW_ERR_CAPACITY_EXHAUSTED, "the server's instance cap is reached");
		return HTTP_DONE;
	}
	if (atomic_fetch_add(&c->ten->instances_active, 1) >=
	    (int64_t)api->cfg->max_tenant_instances) {
		atomic_fetch_sub(&c->ten->instances_active, 1);
		atomic_fetch_sub(&api->instances_active, 1);
		call_fail(c, 503, TW_ERR_CAPACITY_EXHAUSTED, "the tenant's instance cap is reached");
		return HTTP_DONE;
	}
	if (f->wasi || s->octet) {
		static const char *const argv0[] = {"function"};
		struct twm_wasi_config wc = {.argc = 1, .argv = argv0, .stdin_fd = -1,
					     .stdout_fd = -1, .stderr_fd = -1,
					     .stdin_bytes = (const uint8_t *)stdin_bytes.ptr,
					     .stdin_len = stdin_bytes.len};
		if (twm_wasi_new(&wc, &c->wasi) != TW_ERR_OK) {
			atomic_fetch_sub(&c->ten->instances_active, 1);
			atomic_fetch_sub(&api->instances_active, 1);
			call_fail(c, 503, TW_ERR_CAPACITY_EXHAUSTED, "out of memory");
			return HTTP_DONE;
		}
	}
	/* A start function runs inside instantiation, without slices: bound it so a hostile one
	 * holds the worker for at most a few slices' worth of fuel. */
	struct twm_instance_config icfg = {.memory_pages_max = api->cfg->max_memory_pages,
					   .user = c->wasi,
					   .start_fuel = api->cfg->fuel_per_slice * 8};
	struct twm_error err = {0};
	enum tw_err e = TW_ERR_OK;
	c->inst = s->octet ? NULL : api_pool_take(aw->pool, f);
	if (!c->inst) {
		/* Modules with imports are never pooled, so this check runs only here. */
		if (twm_module_imports_from(f->module, GPU_WASI_CUDA_MODULE)) {
			if (gpu_wasi_cuda_binding.attach(tenant, &c->gpu) != TW_ERR_OK) {
				atomic_fetch_sub(&c->ten->instances_active, 1);
				atomic_fetch_sub(&api->instances_active, 1);
				call_fail(c, 503, TW_ERR_CAPACITY_EXHAUSTED, "out of memory");
				return HTTP_DONE;
			}
			icfg.host = &c->gpu;
			icfg.nhost = 1;
			struct gpu_completion *gc = gpu_wasi_cuda_completion();
			if (gc) {
				struct gpu_route rt = {gc, call_gpu_done, c};
				gpu_wasi_cuda_set_route(&c->gpu, &rt);
			}
		}
		struct tw_span sp;
		char id[24] = "unknown", ten[24];
		id_str(ten, sizeof(ten), tenant);
		tw_span_begin(&sp, SPAN_SPAWN, TW_SPAN_INTERNAL, NULL, &c->sp_run);
		tw_span_str(&sp, "tenant", ten);
		const struct tw_span *prev = tw_span_set_current(&sp); /* a start function's calls */
		e = twm_instantiate(f->module, api->linker, &icfg, &c->inst, &err);
		tw_span_set_current(prev);
		if (e == TW_ERR_OK) {
			atomic_fetch_add(&c->ten->spawns, 1);
			met_instance_spawned();
			id_str(id, sizeof(id), twm_instance_id(c->inst));
		} else {
			sp.error = true;
			tw_span_str(&sp, "error", tw_err_str(e));
		}
		tw_span_str(&sp, "instance_id", id);
		tw_span_end(&sp);
	}
	if (e == TW_ERR_OK) {
		met_instances_active_add(tenant_slot(c->ten), 1);
		if (f->offload) {
			/* Loops on the GPU suspend the call when a completion thread exists. */
			enum jit_offload_mode om = jit_offload_effective_mode(f->offload);
			struct gpu_route rt = {NULL, call_gpu_done, c};
			if (om == JIT_OFFLOAD_GPU || om == JIT_OFFLOAD_AUTO)
				rt.completion = gpu_wasi_cuda_completion();
			if (jit_offload_attach_routed(f->offload, c->inst, &rt, &c->off) !=
			    TW_ERR_OK)
				jit_offload_attach(f->offload, c->inst); /* synchronous runs */
		}
	}
	if (e == TW_ERR_WASM_FUEL)
		met_guest_trap(MET_TRAP_FUEL_EXHAUSTED);
	if (e != TW_ERR_OK) {
		c->inst = NULL;
		atomic_fetch_sub(&c->ten->instances_active, 1);
		atomic_fetch_sub(&api->instances_active, 1);
		if (e == TW_ERR_FULL)
			call_fail(c, 413, TW_ERR_MODULE_MEMORY_TOO_LARGE,
				  "the module needs more memory than an instance may have");
		else if (e == TW_ERR_NOMEM)
			call_fail(c, 503, TW_ERR_CAPACITY_EXHAUSTED, "out of memory");
		else if (e == TW_ERR_WASM_FUEL)
			call_fail(c, 504, TW_ERR_INVOKE_TIMEOUT,
				  "the start function ran out of fuel");
		else if (e == TW_ERR_WASM_UNLINKABLE)
			call_fail(c, 422, TW_ERR_WASM_INVALID, err.msg);
		else
			call_fail_wasm(c, e, &err);
		return HTTP_DONE;
	}
	char id[24];
	id_str(id, sizeof(id), twm_instance_id(c->inst));
	tw_span_begin(&c->sp_exec, SPAN_EXEC, TW_SPAN_INTERNAL, NULL, &c->sp_run);
	tw_span_str(&c->sp_exec, "instance", id);
	tw_span_strn(&c->sp_exec, "export", s->octet ? "_start" : s->exp.name,
		     s->octet ? 6 : s->exp.name_len);
	tw_span_int(&c->sp_exec, "args_len", s->octet ? 0 : (int64_t)s->nargs);
	c->exec_open = true;
	struct twm_extern ext;
	e = twm_instance_export_n(c->inst, s->exp.name, s->exp.name_len, &ext);
	if (e == TW_ERR_OK)
		e = twm_call_begin(c->inst, ext.u.func, s->args, s->nargs, &err);
	if (e != TW_ERR_OK) {
		call_fail(c, 400, TW_ERR_INVALID_ARGS, err.msg[0] ? err.msg : "cannot call");
		return HTTP_DONE;
	}
	return call_step(c) ? HTTP_PENDING : HTTP_DONE;
}

static enum http_handler_ret h_invoke(struct http_request *req, void *arg)
{
	struct http_api *api = arg;
	struct api_ctx ctx;
	if (!api_admit(api, req, &ctx))
		return HTTP_DONE;
	struct api_fn *f = lookup_fn(api, req, ctx.tenant);
	if (!f)
		return HTTP_DONE;
	struct api_call_setup s;
	s.nargs = 0;
	if (!call_parse(api, req, f, &s))
		return fail(req, s.status, s.kind, s.msg);
	struct api_worker *aw = api_worker_of(api, http_request_worker(req));
	struct http_str in = s.octet ? http_request_body(req) : (struct http_str){0};
	return call_start(aw, req, f, ctx.tenant, &s, NULL, in, http_request_span(req));
}

/* ---- async jobs ----------------------------------------------------------------------------- */

struct job_start {
	struct api_worker *aw;
	struct api_fn *fn; /* a reference */
	uint64_t tenant;
	char job_id[TW_STORE_ID_LEN + 1];
	struct api_call_setup s;
	struct tw_timer timer;
	struct tw_span sp_async; /* http.invoke_function_async: the job's parent */
};

/* Runs the job once the handler has answered 202, from the loop. */
static void job_start_fire(struct tw_worker *w, struct tw_timer *t)
{
	(void)w;
	struct job_start *js = (struct job_start *)((char *)t - offsetof(struct job_start, timer));
	struct api_worker *aw = js->aw;
	if (aw->busy >= TW_API_CALLS_PER_CORE) {
		/* Every slot is taken: try again shortly rather than fail a job already accepted. */
		if (tw_timer_arm(w, t, tw_now_ns() + TW_NS_PER_MS) == TW_ERR_OK)
			return;
	}
	js->s.deadline_ms = aw->api->cfg->deadline_ms;
	call_start(aw, NULL, js->fn, js->tenant, &js->s, js->job_id, (struct http_str){0},
		   &js->sp_async);
	api_fn_unref(js->fn);
	free(js);
}

static enum http_handler_ret h_invoke_async(struct http_request *req, void *arg)
{
	struct http_api *api = arg;
	struct api_ctx ctx;
	if (!api_admit(api, req, &ctx))
		return HTTP_DONE;
	struct api_fn *f = lookup_fn(api, req, ctx.tenant);
	if (!f)
		return HTTP_DONE;
	struct job_start *js = calloc(1, sizeof(*js));
	if (!js)
		return fail(req, 503, TW_ERR_NOMEM, "out of memory");
	if (!call_parse(api, req, f, &js->s)) {
		enum http_handler_ret r = fail(req, js->s.status, js->s.kind, js->s.msg);
		free(js);
		return r;
	}
	if (js->s.octet) {
		free(js);
		return fail(req, 400, TW_ERR_INVALID_ARGS, "async calls take JSON arguments");
	}
	if (atomic_fetch_add(&api->jobs_active, 1) >= TW_API_JOBS_ACTIVE_MAX) {
		atomic_fetch_sub(&api->jobs_active, 1);
		free(js);
		return fail(req, 503, TW_ERR_CAPACITY_EXHAUSTED, "too many jobs in flight");
	}
	struct api_store_req *r = calloc(1, sizeof(*r));
	if (!r || tw_random_id(js->job_id) != TW_ERR_OK) {
		atomic_fetch_sub(&api->jobs_active, 1);
		free(r);
		free(js);
		return fail(req, 503, TW_ERR_NOMEM, "out of memory");
	}
	r->op = API_STORE_JOB_NEW;
	r->api = api;
	r->tenant = ctx.tenant;
	memcpy(r->id, js->job_id, sizeof(r->id));
	memcpy(r->function_id, f->rec.id, sizeof(r->function_id));
	/* The store thread takes requests in order, so the job is known as pending before any
	 * GET /jobs/:id the client can send after this 202. */
	if (api_store_submit(api, r) != TW_ERR_OK) {
		atomic_fetch_sub(&api->jobs_active, 1);
		api_store_req_free(r);
		free(js);
		return fail(req, 503, TW_ERR_CAPACITY_EXHAUSTED, "the store is busy");
	}
	struct api_tenant *ten = api_tenant(api, ctx.tenant, true);
	atomic_fetch_add(&ten->jobs_active, 1);
	met_jobs_active_add(1);
	api_fn_ref(f);
	js->fn = f;
	js->aw = api_worker_of(api, http_request_worker(req));
	js->tenant = ctx.tenant;
	js->timer.fire = job_start_fire;
	char body[80];
	int n = snprintf(body, sizeof(body), "{\"job_id\":\"%s\",\"status\":\"pending\"}",
			 js->job_id);
	/* The handler's span ends with the 202; the job (later, on this worker) is its child,
	 * which keeps the caller's trace across the hand-off. */
	char tenant[24];
	snprintf(tenant, sizeof(tenant), "%" PRIu64, ctx.tenant);
	tw_span_begin(&js->sp_async, "http.invoke_function_async", TW_SPAN_INTERNAL, NULL,
		      http_request_span(req));
	tw_span_str(&js->sp_async, "tenant", tenant);
	tw_span_str(&js->sp_async, "function_id", f->rec.id);
	tw_span_str(&js->sp_async, "job_id", js->job_id);
	tw_span_end(&js->sp_async);
	http_respond_json(req, 202, body, (size_t)n);
	if (tw_timer_arm(js->aw->w, &js->timer, tw_now_ns()) != TW_ERR_OK)
		job_start_fire(js->aw->w, &js->timer);
	return HTTP_DONE;
}

static void job_get_done(struct tw_worker *w, void *arg)
{
	(void)w;
	struct api_store_req *r = arg;
	if (r->result == TW_ERR_NOT_FOUND) {
		http_respond_error(r->req, 404, TW_ERR_NOT_FOUND, "no such job");
		goto out;
	}
	if (r->result != TW_ERR_OK) {
		http_respond_error(r->req, 500, TW_ERR_INTERNAL, "cannot read the job");
		goto out;
	}
	const char *status = r->job_pending ? "pending"
			     : r->job.status == TW_JOB_COMPLETED ? "completed"
			     : r->job.status == TW_JOB_FAILED    ? "failed"
								 : "pending";
	const char *fid = r->job_pending ? r->function_id : r->job.function_id;
	const char *extra_key = NULL, *extra = NULL;
	size_t extra_len = 0;
	if (!r->job_pending && r->job.status == TW_JOB_COMPLETED && r->job.result_json) {
		json_error_t jerr;
		json_t *doc = json_loads(r->job.result_json, 0, &jerr);
		json_t *res = doc ? json_object_get(doc, "result") : NULL;
		char *s = res ? json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		json_decref(doc);
		if (s) {
			char *buf = malloc(strlen(s) + 256);
			if (buf) {
				int n = snprintf(buf, strlen(s) + 256,
						 "{\"job_id\":\"%s\",\"function_id\":\"%s\","
						 "\"status\":\"completed\",\"result\":%s,"
						 "\"finished_ms\":%" PRIu64 "}",
						 r->id, fid, s, r->job.finished_ms);
				http_respond_json(r->req, 200, buf, (size_t)n);
				free(buf);
				free(s);
				goto out;
			}
			free(s);
		}
		http_respond_error(r->req, 500, TW_ERR_INTERNAL, "cannot read the job");
		goto out;
	}
	if (!r->job_pending && r->job.status == TW_JOB_FAILED && r->job.error_json) {
		json_error_t jerr;
		json_t *doc = json_loads(r->job.error_json, 0, &jerr);
		json_t *e = doc ? json_object_get(doc, "error") : NULL;
		char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;
		json_decref(doc);
		extra_key = "error";
		extra = s;
		extra_len = s ? strlen(s) : 0;
	}
	char *buf = malloc(extra_len + 256);
	if (!buf) {
		free((char *)extra);
		http_respond_error(r->req, 503, TW_ERR_NOMEM, "out of memory");
		goto out;
	}
	int n;
	if (extra)
		n = snprintf(buf, extra_len + 256,
			     "{\"job_id\":\"%s\",\"function_id\":\"%s\",\"status\":\"%s\",\"%s\":%s}",
			     r->id, fid, status, extra_key, extra);
	else
		n = snprintf(buf, extra_len + 256,
			     "{\"job_id\":\"%s\",\"function_id\":\"%s\",\"status\":\"%s\"}", r->id,
			     fid, status);
	http_respond_json(r->req, 200, buf, (size_t)n);
	free(buf);
	free((char *)extra);
out:
	api_store_req_free(r);
}

static enum http_handler_ret h_job_get(struct http_request *req, void *arg)
{
	struct http_api *api = arg;
	struct api_ctx ctx;
	if (!api_admit(api, req, &ctx))
		return HTTP_DONE;
	struct http_str id;
	if (!http_request_param(req, "id", &id) || id.len != TW_STORE_ID_LEN)
		return fail(req, 404, TW_ERR_NOT_FOUND, "no such job");
	for (size_t i = 0; i < id.len; i++)
		if (!isxdigit((unsigned char)id.ptr[i]))
			return fail(req, 404, TW_ERR_NOT_FOUND, "no such job");
	struct api_store_req *r = calloc(1, sizeof(*r));
	if (!r)
		return fail(req, 503, TW_ERR_NOMEM, "out of memory");
	*r = (struct api_store_req){.op = API_STORE_JOB_GET, .api = api,
				    .worker = http_request_worker(req), .req = req,
				    .done = job_get_done, .tenant = ctx.tenant};
	memcpy(r->id, id.ptr, id.len);
	if (api_store_submit(api, r) != TW_ERR_OK) {
		api_store_req_free(r);
		return fail(req, 503, TW_ERR_CAPACITY_EXHAUSTED, "the store is busy");
	}
	return HTTP_PENDING;
}

/* ---- workers -------------------------------------------------------------------------------- */

static struct api_worker *api_worker_of(struct http_api *api, struct tw_worker *w)
{
	return api->aws[tw_worker_index(w)];
}

static enum tw_err hook_start(struct tw_worker *w, void *arg)
{
	struct http_api *api = arg;
	struct api_worker *aw = calloc(1, sizeof(*aw));
	if (!aw)
		return TW_ERR_NOMEM;
	aw->api = api;
	aw->w = w;
	aw->pool = api_pool_new();
	if (!aw->pool) {
		free(aw);
		return TW_ERR_NOMEM;
	}
	api->aws[tw_worker_index(w)] = aw;
	atomic_store(&api->workers[tw_worker_index(w)], w);
	return TW_ERR_OK;
}

static bool hook_idle(struct tw_worker *w, void *arg)
{
	struct api_worker *aw = api_worker_of(arg, w);
	return !aw || aw->busy == 0;
}

static void hook_stop(struct tw_worker *w, void *arg)
{
	struct http_api *api = arg;
	struct api_worker *aw = api_worker_of(api, w);
	if (!aw)
		return;
	atomic_store(&api->workers[tw_worker_index(w)], NULL);
	api->aws[tw_worker_index(w)] = NULL;
	/* Calls still running when the grace period ended are dropped with their instances. */
	struct api_call *c = aw->free;
	while (c) {
		struct api_call *next = c->next_free;
		free(c);
		c = next;
	}
	api_pool_free(aw->pool);
	free(aw);
}

const struct tw_worker_hooks *http_api_hooks(struct http_api *api)
{
	return &api->hooks;
}

/* ---- start-up ------------------------------------------------------------------------------- */

void http_api_preload_id(const char *name, char out[33])
{
	char buf[TW_STORE_NAME_MAX + 16];
	int n = snprintf(buf, sizeof(buf), "preload:%s", name);
	tw_hash128_hex(tw_hash128(buf, (size_t)n), out);
}

struct rebuild_ctx {
	struct http_api *api;
	uint64_t loaded, failed;
};

static enum tw_err rebuild_one(const struct tw_function_rec *rec, void *arg)
{
	struct rebuild_ctx *rc = arg;
	uint8_t *bytes = NULL;
	size_t n = 0;
	enum tw_err e = tw_store_load_module(rc->api->store, rec->module_hash, &bytes, &n);
	if (e != TW_ERR_OK) {
		TW_ERROR(API, "function %s: cannot read module %s: %s", rec->id, rec->module_hash,
			 tw_err_msg(e));
		rc->failed++;
		return TW_ERR_OK;
	}
	struct api_fn *f;
	char msg[300];
	uint16_t status;
	e = api_fn_build(rc->api, bytes, n, &f, &status, msg, sizeof(msg));
	free(bytes);
	if (e != TW_ERR_OK) {
		TW_ERROR(API, "function %s: stored module no longer loads: %s", rec->id, msg);
		rc->failed++;
		return TW_ERR_OK;
	}
	f->rec = *rec;
	/* the mode stored at deploy (or the server's), bound to the function's tenant */
	const char *mode = rec->offload[0] ? rec->offload : rc->api->cfg->offload;
	if (api_fn_offload(rc->api, f, mode) != TW_ERR_OK)
		TW_WARN(API, "function %s: offload mode '%s' not usable; loops run in the interpreter",
			rec->id, mode);
	if (api_reg_insert(rc->api, f) != TW_ERR_OK) {
		api_fn_unref(f);
		rc->failed++;
		return TW_ERR_OK;
	}
	rc->loaded++;
	return TW_ERR_OK;
}

static enum tw_err preload_one(struct http_api *api, const char *spec)
{
	char path[1024], name[TW_STORE_NAME_MAX + 1];
	const char *colon = strrchr(spec, ':');
	size_t plen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (plen >= sizeof(path))
		return TW_ERR_CONFIG;
	memcpy(path, spec, plen);
	path[plen] = '\0';
	if (colon) {
		snprintf(name, sizeof(name), "%s", colon + 1);
	} else {
		const char *base = strrchr(path, '/');
		snprintf(name, sizeof(name), "%s", base ? base + 1 : path);
		char *dot = strrchr(name, '.');
		if (dot)
			*dot = '\0';
	}
	if (!valid_name(name, strlen(name))) {
		TW_ERROR(API, "--preload %s: invalid name", spec);
		return TW_ERR_CONFIG;
	}
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		TW_ERROR(API, "--preload: cannot open %s", path);
		return TW_ERR_CONFIG;
	}
	uint8_t *bytes = NULL;
	size_t n = 0, cap = 0;
	enum tw_err e = TW_ERR_OK;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *p = cap <= TW_WASM_MODULE_BYTES_MAX * 2ull ? realloc(bytes, cap) : NULL;
			if (!p) {
				e = TW_ERR_NOMEM;
				break;
			}
			bytes = p;
		}
		size_t got = fread(bytes + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	fclose(fp);
	if (e != TW_ERR_OK) {
		free(bytes);
		return e;
	}
	char id[33];
	http_api_preload_id(name, id);
	struct api_fn *f;
	char msg[300];
	uint16_t status;
	e = api_fn_build(api, bytes, n, &f, &status, msg, sizeof(msg));
	if (e != TW_ERR_OK) {
		TW_ERROR(API, "--preload %s: %s", path, msg);
		free(bytes);
		return TW_ERR_CONFIG;
	}
	struct api_fn *old = api_reg_get(api, id, TW_STORE_ID_LEN);
	if (old && strcmp(old->rec.module_hash, "") != 0) {
		/* Same name deployed by an earlier run: replace it if the bytes changed. */
		struct tw_hash128 h = tw_hash128(bytes, n);
		char hex[33];
		tw_hash128_hex(h, hex);
		if (strcmp(hex, old->rec.module_hash) == 0) {
			api_fn_unref(f);
			free(bytes);
			printf("preloaded %s as %s\n", name, id);
			fflush(stdout);
			return TW_ERR_OK;
		}
		tw_store_delete_function(api->store, 0, id);
		api_reg_remove(api, old);
	}
	memcpy(f->rec.id, id, sizeof(f->rec.id));
	snprintf(f->rec.name, sizeof(f->rec.name), "%s", name);
	f->rec.tenant = 0;
	f->rec.created_ms = tw_wall_ns() / TW_NS_PER_MS;
	e = tw_store_deploy(api->store, &f->rec, bytes, n);
	free(bytes);
	if (e == TW_ERR_OK)
		e = api_reg_insert(api, f);
	if (e != TW_ERR_OK) {
		TW_ERROR(API, "--preload %s: %s", path, tw_err_msg(e));
		api_fn_unref(f);
		return e;
	}
	printf("preloaded %s as %s\n", name, id);
	fflush(stdout);
	TW_INFO(API, "preloaded %s as %s", name, id);
	return TW_ERR_OK;
}

static bool listen_is_loopback(const char *listen)
{
	char host[128];
	snprintf(host, sizeof(host), "%s", listen);
	char *colon = strrchr(host, ':');
	if (colon)
		*colon = '\0';
	char *h = host;
	if (*h == '[') {
		h++;
		char *rb = strchr(h, ']');
		if (rb)
			*rb = '\0';
	}
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return strcmp(h, "localhost") == 0;
}

static const struct {
	enum http_method method;
	const char *tmpl;
	http_handler_fn fn;
} routes[] = {
	{HTTP_METHOD_POST, "/functions", h_deploy},
	{HTTP_METHOD_GET, "/functions", h_list},
	{HTTP_METHOD_GET, "/functions/:id", h_get},
	{HTTP_METHOD_DELETE, "/functions/:id", h_delete},
	{HTTP_METHOD_POST, "/functions/:id/invoke", h_invoke},
	{HTTP_METHOD_POST, "/functions/:id/invoke-async", h_invoke_async},
	{HTTP_METHOD_GET, "/jobs/:id", h_job_get},
};

enum tw_err http_api_create(const struct tw_config *cfg, struct http_server *srv,
			    struct http_api **out)
{
	char err[256];
	enum tw_err e;
	*out = NULL;
	struct http_api *api = calloc(1, sizeof(*api));
	if (!api)
		return TW_ERR_NOMEM;
	api->cfg = cfg;
	api->srv = srv;
	enum jit_offload_mode om;
	if (!jit_offload_mode_parse(cfg->offload, &om)) {
		TW_ERROR(API, "--offload must be off, auto, gpu or host, not '%s'", cfg->offload);
		free(api);
		return TW_ERR_CONFIG;
	}
	pthread_mutex_init(&api->q_lock, NULL);
	pthread_cond_init(&api->q_cond, NULL);
	api->nworkers = TW_WORKERS_MAX;
	api->hooks = (struct tw_worker_hooks){.name = "api", .arg = api, .start = hook_start,
					      .idle = hook_idle, .stop = hook_stop};
	e = TW_ERR_OK;
	if (cfg->api_tokens[0])
		e = tw_auth_add(&api->auth, cfg->api_tokens, err, sizeof(err));
	if (e == TW_ERR_OK && cfg->serve_tokens[0])
		e = tw_auth_add(&api->auth, cfg->serve_tokens, err, sizeof(err));
	if (e != TW_ERR_OK) {
		TW_ERROR(API, "tokens: %s", err);
		goto out_free;
	}
	if (!tw_auth_enabled(&api->auth)) {
		if (!listen_is_loopback(cfg->listen) && !cfg->allow_unauthenticated) {
			TW_ERROR(API, "no API tokens configured and %s is not a loopback address; "
				      "set TENSOR_WASM_API_TOKENS / --token, or pass "
				      "--allow-unauthenticated",
				 cfg->listen);
			e = TW_ERR_CONFIG;
			goto out_free;
		}
		TW_WARN(API, "*** no API tokens configured: every client may deploy and run code "
			     "(dev mode%s) ***",
			cfg->allow_unauthenticated ? ", --allow-unauthenticated" : ", loopback only");
	}
	e = tw_ratelimit_init(&api->rl, cfg->rate_burst, (double)cfg->rate_per_second,
			      TW_RATELIMIT_SLOTS, tw_now_ns());
	if (e != TW_ERR_OK)
		goto out_free;
	api->reg = calloc(API_REG_SLOTS, sizeof(*api->reg));
	api->tenants = calloc(TW_API_TENANTS_TRACKED + 1, sizeof(*api->tenants));
	if (!api->reg || !api->tenants) {
		e = TW_ERR_NOMEM;
		goto out_rl;
	}
	e = twm_linker_new(&api->linker);
	if (e == TW_ERR_OK)
		e = twm_wasi_link(api->linker, NULL);
	if (e == TW_ERR_OK)
		e = gpu_wasi_cuda_binding.link(api->linker);
	if (e != TW_ERR_OK)
		goto out_rl;
	e = tw_store_open(cfg->data_dir, &api->store, err, sizeof(err));
	if (e != TW_ERR_OK) {
		TW_ERROR(API, "store %s: %s", cfg->data_dir, err);
		goto out_rl;
	}
	uint64_t removed = 0;
	e = tw_store_collect(api->store, &removed);
	if (e != TW_ERR_OK)
		goto out_store;
	struct rebuild_ctx rc = {.api = api};
	e = tw_store_each_function(api->store, rebuild_one, &rc);
	if (e != TW_ERR_OK)
		goto out_store;
	TW_INFO(API, "registry rebuilt: %llu functions (%llu unloadable), %llu orphan files removed",
		(unsigned long long)rc.loaded, (unsigned long long)rc.failed,
		(unsigned long long)removed);
	if (cfg->preload[0]) {
		char list[sizeof(cfg->preload)];
		snprintf(list, sizeof(list), "%s", cfg->preload);
		char *save = NULL;
		for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			e = preload_one(api, tok);
			if (e != TW_ERR_OK)
				goto out_store;
		}
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		e = http_route_add(srv, routes[i].method, routes[i].tmpl, routes[i].fn, api);
		if (e != TW_ERR_OK)
			goto out_store;
	}
	e = api_store_start(api);
	if (e != TW_ERR_OK)
		goto out_store;
	*out = api;
	return TW_ERR_OK;
out_store:
	tw_store_close(api->store);
out_rl:
	twm_linker_free(api->linker);
	tw_ratelimit_destroy(&api->rl);
out_free:
	free(api->reg);
	free(api->tenants);
	free(api);
	return e;
}

void http_api_destroy(struct http_api *api)
{
	if (!api)
		return;
	api_store_stop(api);
	for (uint32_t i = 0; i < API_REG_SLOTS; i++) {
		struct api_fn *f = atomic_load(&api->reg[i]);
		if (f && f != &api_tombstone)
			api_fn_unref(f);
	}
	free(api->reg);
	free(api->tenants);
	tw_store_close(api->store);
	tw_ratelimit_destroy(&api->rl);
	pthread_mutex_destroy(&api->q_lock);
	pthread_cond_destroy(&api->q_cond);
	twm_linker_free(api->linker);
	free(api);
}
