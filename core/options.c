/* options.c — the option table and its parser; see options.h. */
#include "core/options.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"

enum opt_type { OPT_BOOL, OPT_U32, OPT_U64, OPT_SIZE, OPT_STR };

struct opt {
	const char *name; /* flag without the leading "--" */
	const char *env;  /* environment variable, or NULL */
	enum opt_type type;
	size_t offset;
	size_t size;      /* for OPT_STR: capacity of the char array */
	uint64_t min, max;
	unsigned cmds;
	const char *metavar;
	const char *help;
};

#define F(field) offsetof(struct tw_config, field), sizeof(((struct tw_config *)0)->field)

/* The one table. Keep it sorted by subcommand, then by name. */
static const struct opt opts[] = {
	{"listen", "TENSOR_WASM_LISTEN", OPT_STR, F(listen), 0, 0, TW_CMD_SERVE, "HOST:PORT",
	 "address to listen on"},
	{"workers", "TENSOR_WASM_WORKERS", OPT_U32, F(workers), 0, TW_WORKERS_MAX, TW_CMD_SERVE,
	 "N", "worker threads, one io_uring each (0 = one per online CPU)"},
	{"pin-workers", "TENSOR_WASM_PIN_WORKERS", OPT_BOOL, F(pin_workers), 0, 1, TW_CMD_SERVE,
	 NULL, "pin worker i to CPU i"},
	{"data-dir", "TENSOR_WASM_DATA_DIR", OPT_STR, F(data_dir), 0, 0, TW_CMD_SERVE, "DIR",
	 "where deployed functions and finished jobs are stored"},
	{"max-connections", "TENSOR_WASM_MAX_CONNECTIONS", OPT_U32, F(max_connections), 1,
	 1u << 20, TW_CMD_SERVE, "N", "open connections per worker"},
	{"max-body-bytes", "TENSOR_WASM_MAX_BODY_BYTES", OPT_SIZE, F(max_body_bytes), 1,
	 1ull << 32, TW_CMD_SERVE, "BYTES", "largest request body (413 above)"},
	{"header-timeout-ms", "TENSOR_WASM_HEADER_TIMEOUT_MS", OPT_U32, F(header_timeout_ms), 1,
	 3600000, TW_CMD_SERVE, "MS", "time to receive a request head (408 after)"},
	{"idle-timeout-ms", "TENSOR_WASM_IDLE_TIMEOUT_MS", OPT_U32, F(idle_timeout_ms), 1, 3600000,
	 TW_CMD_SERVE, "MS", "idle keep-alive connections are closed after this"},
	{"write-timeout-ms", "TENSOR_WASM_WRITE_TIMEOUT_MS", OPT_U32, F(write_timeout_ms), 1,
	 3600000, TW_CMD_SERVE, "MS", "clients that stop reading are cut off after this"},
	{"max-header-bytes", "TENSOR_WASM_MAX_HEADER_BYTES", OPT_U32, F(max_header_bytes), 256,
	 1u << 20, TW_CMD_SERVE, "BYTES", "largest request line + headers (431 above)"},
	{"max-headers", "TENSOR_WASM_MAX_HEADERS", OPT_U32, F(max_headers), 1, 1024,
	 TW_CMD_SERVE, "N", "most request headers (431 above)"},
	{"test-routes", "TENSOR_WASM_TEST_ROUTES", OPT_BOOL, F(test_routes), 0, 1, TW_CMD_SERVE,
	 NULL, "add the /_test/ routes used by the integration tests"},
	{"deadline-ms", "TENSOR_WASM_DEADLINE_MS", OPT_U32, F(deadline_ms), 1, 3600000,
	 TW_CMD_SERVE | TW_CMD_RUN, "MS", "default and maximum per-call deadline"},
	{"max-memory-pages", "TENSOR_WASM_MAX_MEMORY_PAGES", OPT_U32, F(max_memory_pages), 1,
	 65536, TW_CMD_SERVE | TW_CMD_RUN, "PAGES", "linear memory cap per instance (64 KiB pages)"},
	{"fuel-per-slice", "TENSOR_WASM_FUEL_PER_SLICE", OPT_U64, F(fuel_per_slice), 1,
	 1ull << 40, TW_CMD_SERVE | TW_CMD_RUN, "UNITS", "fuel a guest runs before it yields"},
	{"offload", "TENSOR_WASM_OFFLOAD", OPT_STR, F(offload), 0, 0, TW_CMD_SERVE | TW_CMD_RUN,
	 "MODE", "loop offload: auto, off, gpu or host"},
	{"offload-min-elements", "TENSOR_WASM_OFFLOAD_MIN_ELEMENTS", OPT_U64,
	 F(offload_min_elements), 0, 1ull << 40, TW_CMD_SERVE | TW_CMD_RUN, "N",
	 "loops with fewer elements stay in the interpreter (0 = the mode's default)"},
	{"offload-report", "TENSOR_WASM_OFFLOAD_REPORT", OPT_BOOL, F(offload_report), 0, 1,
	 TW_CMD_RUN, NULL, "print the offload counters to stderr when the run ends"},
	{"metrics-token", "TENSOR_WASM_API_METRICS_TOKEN", OPT_STR, F(metrics_token), 0, 0,
	 TW_CMD_SERVE, "TOKEN", "bearer token required by GET /metrics (default: none)"},
	{"api-tokens", "TENSOR_WASM_API_TOKENS", OPT_STR, F(api_tokens), 0, 0, TW_CMD_SERVE,
	 "SPEC", "bearer tokens: TOKEN:tenant=*|1,2,3 entries (none = unauthenticated dev mode)"},
	{"token", NULL, OPT_STR, F(serve_tokens), 0, 0, TW_CMD_SERVE, "SPEC",
	 "more bearer tokens, same syntax, added to --api-tokens"},
	{"allow-unauthenticated", "TENSOR_WASM_ALLOW_UNAUTHENTICATED", OPT_BOOL,
	 F(allow_unauthenticated), 0, 1, TW_CMD_SERVE, NULL,
	 "serve without tokens on a non-loopback address (dangerous)"},
	{"require-tenant", "TENSOR_WASM_REQUIRE_TENANT", OPT_BOOL, F(require_tenant), 0, 1,
	 TW_CMD_SERVE, NULL, "make the X-TensorWasm-Tenant header mandatory"},
	{"rate-burst", "TENSOR_WASM_RATE_BURST", OPT_U32, F(rate_burst), 1, 65535, TW_CMD_SERVE,
	 "N", "requests a (token, tenant) may make at once"},
	{"rate-per-second", "TENSOR_WASM_RATE_PER_SECOND", OPT_U32, F(rate_per_second), 1,
	 10000000, TW_CMD_SERVE, "N", "sustained requests per second per (token, tenant)"},
	{"max-instances", "TENSOR_WASM_MAX_INSTANCES", OPT_U32, F(max_instances), 1, 1u << 24,
	 TW_CMD_SERVE, "N", "live guest instances in the whole server (503 above)"},
	{"max-tenant-instances", "TENSOR_WASM_MAX_TENANT_INSTANCES", OPT_U32,
	 F(max_tenant_instances), 1, 1u << 24, TW_CMD_SERVE, "N",
	 "live guest instances per tenant (503 above)"},
	{"max-module-bytes", "TENSOR_WASM_MAX_MODULE_BYTES", OPT_SIZE, F(max_module_bytes), 8,
	 TW_WASM_MODULE_BYTES_MAX, TW_CMD_SERVE, "BYTES", "largest module (413 above)"},
	{"job-ttl-s", "TENSOR_WASM_JOB_TTL_S", OPT_U32, F(job_ttl_s), 1, 365u * 86400,
	 TW_CMD_SERVE, "S", "how long finished async jobs are kept"},
	{"jobs-max", "TENSOR_WASM_JOBS_MAX", OPT_U64, F(jobs_max), 1, 1ull << 32, TW_CMD_SERVE,
	 "N", "most finished async jobs kept"},
	{"preload", "TENSOR_WASM_PRELOAD", OPT_STR, F(preload), 0, 0, TW_CMD_SERVE,
	 "FILE[:NAME],...", "deploy these modules for tenant 0 at start (stable id from the name)"},
	{"url", "TENSOR_WASM_URL", OPT_STR, F(url), 0, 0, TW_CMD_CLIENT, "URL",
	 "server to talk to"},
	{"token", "TENSOR_WASM_TOKEN", OPT_STR, F(token), 0, 0, TW_CMD_CLIENT, "TOKEN",
	 "bearer token"},
	{"tenant", "TENSOR_WASM_TENANT", OPT_U64, F(tenant), 0, UINT64_MAX, TW_CMD_CLIENT, "ID",
	 "tenant id"},
};

#undef F

void tw_config_defaults(struct tw_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	c->workers = 0;
	c->pin_workers = true;
	snprintf(c->data_dir, sizeof(c->data_dir), "./data");
	c->max_connections = TW_HTTP_CONNS_PER_CORE;
	c->max_body_bytes = TW_HTTP_BODY_BYTES_MAX;
	c->header_timeout_ms = TW_HTTP_HEADER_TIMEOUT_MS;
	c->idle_timeout_ms = TW_HTTP_IDLE_TIMEOUT_MS;
	c->write_timeout_ms = TW_HTTP_WRITE_TIMEOUT_MS;
	c->max_header_bytes = TW_HTTP_HEADER_BYTES_MAX;
	c->max_headers = TW_HTTP_HEADERS_MAX;
	c->deadline_ms = TW_INVOKE_DEADLINE_MS;
	c->max_memory_pages = TW_WASM_PAGES_MAX;
	c->fuel_per_slice = TW_WASM_FUEL_PER_SLICE;
	snprintf(c->offload, sizeof(c->offload), "auto");
	snprintf(c->url, sizeof(c->url), "http://127.0.0.1:8080");
	c->rate_burst = TW_API_RATE_BURST;
	c->rate_per_second = TW_API_RATE_PER_SECOND;
	c->max_instances = TW_API_INSTANCES_MAX;
	c->max_tenant_instances = TW_API_TENANT_INSTANCES_MAX;
	c->max_module_bytes = TW_WASM_MODULE_BYTES_MAX;
	c->job_ttl_s = TW_API_JOB_TTL_S;
	c->jobs_max = TW_API_JOBS_KEPT_MAX;
}

bool tw_parse_size(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	unsigned shift = 0;
	switch (*end) {
	case 'K': case 'k':
		shift = 10, end++;
		break;
	case 'M': case 'm':
		shift = 20, end++;
		break;
	case 'G': case 'g':
		shift = 30, end++;
		break;
	default:
		break;
	}
	if (*end != '\0')
		return false;
	if (shift && v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static bool parse_uint(const char *s, uint64_t *out)
{
	return tw_parse_size(s, out) && isdigit((unsigned char)s[strlen(s) - 1]);
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, true;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, true;
	}
	return false;
}

static enum tw_err set_value(struct tw_config *c, const struct opt *o, const char *val,
			     const char *source, char *err, size_t cap)
{
	char *field = (char *)c + o->offset;
	uint64_t v = 0;
	switch (o->type) {
	case OPT_BOOL: {
		bool b;
		if (!parse_bool(val, &b))
			goto bad;
		*(bool *)field = b;
		return TW_ERR_OK;
	}
	case OPT_STR:
		if (strlen(val) >= o->size) {
			snprintf(err, cap, "%s: value longer than %zu bytes", source, o->size - 1);
			return TW_ERR_USAGE;
		}
		memcpy(field, val, strlen(val) + 1);
		return TW_ERR_OK;
	case OPT_U32:
	case OPT_U64:
	case OPT_SIZE:
		if (!(o->type == OPT_SIZE ? tw_parse_size(val, &v) : parse_uint(val, &v)))
			goto bad;
		if (v < o->min || v > o->max) {
			snprintf(err, cap, "%s: %s is outside %llu..%llu", source, val,
				 (unsigned long long)o->min, (unsigned long long)o->max);
			return TW_ERR_USAGE;
		}
		if (o->type == OPT_U32)
			*(uint32_t *)field = (uint32_t)v;
		else
			*(uint64_t *)field = v;
		return TW_ERR_OK;
	}
bad:
	snprintf(err, cap, "%s: invalid value \"%s\"", source, val);
	return TW_ERR_USAGE;
}

static const struct opt *find_opt(const char *name, size_t len, enum tw_cmd cmd)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if ((opts[i].cmds & cmd) && strlen(opts[i].name) == len &&
		    strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

enum tw_err tw_config_parse(struct tw_config *c, enum tw_cmd cmd, int argc, char **argv,
			    int start, int *first_arg, bool *help_requested, char *err, size_t cap)
{
	*help_requested = false;
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		const char *val = o->env && (o->cmds & cmd) ? getenv(o->env) : NULL;
		if (val) {
			enum tw_err e = set_value(c, o, val, o->env, err, cap);
			if (e)
				return e;
		}
	}
	int i = start;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			break;
		if (strcmp(a, "--help") == 0) {
			*help_requested = true;
			continue;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct opt *o = find_opt(name, len, cmd);
		if (!o) {
			snprintf(err, cap, "unknown option --%.*s", (int)len, name);
			return TW_ERR_USAGE;
		}
		const char *val = eq ? eq + 1 : NULL;
		if (!val && o->type == OPT_BOOL)
			val = "true";
		if (!val) {
			if (i + 1 >= argc) {
				snprintf(err, cap, "option --%s needs a value", o->name);
				return TW_ERR_USAGE;
			}
			val = argv[++i];
		}
		char source[64];
		snprintf(source, sizeof(source), "--%s", o->name);
		enum tw_err e = set_value(c, o, val, source, err, cap);
		if (e)
			return e;
	}
	*first_arg = i;
	return TW_ERR_OK;
}

static void default_str(const struct opt *o, char *buf, size_t cap)
{
	struct tw_config d;
	tw_config_defaults(&d);
	const char *field = (const char *)&d + o->offset;
	switch (o->type) {
	case OPT_BOOL:
		snprintf(buf, cap, "%s", *(const bool *)field ? "true" : "false");
		break;
	case OPT_U32:
		snprintf(buf, cap, "%u", *(const uint32_t *)field);
		break;
	case OPT_U64:
	case OPT_SIZE:
		snprintf(buf, cap, "%llu", (unsigned long long)*(const uint64_t *)field);
		break;
	case OPT_STR:
		snprintf(buf, cap, "%s", field[0] ? field : "\"\"");
		break;
	}
}

void tw_config_print_help(FILE *out, enum tw_cmd cmd)
{
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		if (!(o->cmds & cmd))
			continue;
		char flag[64], dflt[128];
		snprintf(flag, sizeof(flag), "--%s%s%s", o->name, o->metavar ? " " : "",
			 o->metavar ? o->metavar : "");
		default_str(o, dflt, sizeof(dflt));
		fprintf(out, "  %-28s %s\n  %-28s [default %s%s%s]\n", flag, o->help, "", dflt,
			o->env ? "; env " : "", o->env ? o->env : "");
	}
}
