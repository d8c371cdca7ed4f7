/*
 * options.h — run-time settings: one table of options read from the environment and the command
 * line, which also prints --help.
 *
 * Precedence: built-in default < environment variable < command-line flag. Each option names the
 * subcommands that accept it. Flags take "--name value" or "--name=value"; booleans take "--name"
 * (true) or "--name=false". Environment booleans accept 1/0, true/false, yes/no, on/off. Sizes
 * accept K, M and G suffixes (powers of 1024).
 *
 * Parsing happens once on the main thread before workers start; afterwards the struct is read-only
 * and shared by every thread.
 */
#ifndef TW_CORE_OPTIONS_H
#define TW_CORE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"

/* Subcommands, as a bit set for "which commands accept this option". */
enum tw_cmd {
	TW_CMD_SERVE = 1u << 0,
	TW_CMD_RUN = 1u << 1,
	TW_CMD_CLIENT = 1u << 2, /* deploy, invoke, jobs */
	TW_CMD_JIT = 1u << 3,
	TW_CMD_ALL = 0xffffu,
};

struct tw_config {
	/* serve */
	char listen[128];           /* "127.0.0.1:8080" */
	uint32_t workers;           /* 0 = one per online CPU */
	bool pin_workers;           /* pin worker i to CPU i % ncpu */
	char data_dir[512];
	uint32_t max_connections;   /* per worker */
	uint64_t max_body_bytes;
	uint32_t header_timeout_ms;
	uint32_t idle_timeout_ms;
	uint32_t write_timeout_ms;
	uint32_t max_header_bytes;  /* request line + headers (431 above) */
	uint32_t max_headers;       /* header count (431 above) */
	bool test_routes;           /* register the /_test/ routes (integration tests) */
	uint32_t deadline_ms;       /* default and maximum per-call deadline */
	uint32_t max_memory_pages;  /* per instance */
	uint64_t fuel_per_slice;
	char offload[16];           /* auto | off | gpu | host */
	uint64_t offload_min_elements; /* 0 = the mode's default threshold */
	bool offload_report;        /* run: print offload counters to stderr at exit */
	/* client subcommands */
	char url[256];
	char token[256];
	uint64_t tenant;
	/* function API (serve) */
	char api_tokens[4096];      /* TOKEN:tenant=*|1,2,3 entries, from the environment */
	char metrics_token[256];    /* bearer token for GET /metrics; "" = open */
	char serve_tokens[4096];    /* the same syntax, from --token */
	bool allow_unauthenticated; /* no tokens on a non-loopback address */
	bool require_tenant;        /* X-TensorWasm-Tenant is mandatory */
	uint32_t rate_burst;
	uint32_t rate_per_second;
	uint32_t max_instances;        /* engine-wide live instances */
	uint32_t max_tenant_instances; /* live instances per tenant */
	uint64_t max_module_bytes;
	uint32_t job_ttl_s;
	uint64_t jobs_max;             /* finished jobs kept */
	char preload[1024];            /* FILE.wasm[:name][,FILE.wasm[:name]...] */
};

/* Fill `c` with built-in defaults (from core/limits.h). */
void tw_config_defaults(struct tw_config *c);

/*
 * Apply the environment, then the options in argv[start..argc) that `cmd` accepts. Parsing stops
 * at the first argument that is not an option (or after "--"); its index is stored in
 * *first_arg (argc when none). On a bad option or value, returns TW_ERR_USAGE and writes a
 * one-line reason into err (cap bytes). "--help" returns TW_ERR_OK with *help_requested set.
 */
enum tw_err tw_config_parse(struct tw_config *c, enum tw_cmd cmd, int argc, char **argv,
			    int start, int *first_arg, bool *help_requested, char *err, size_t cap);

/* Print the options that `cmd` accepts, with their environment variables and defaults. */
void tw_config_print_help(FILE *out, enum tw_cmd cmd);

/* Parse a size ("64M", "4096") or a plain unsigned integer. Returns false on junk or overflow. */
bool tw_parse_size(const char *s, uint64_t *out);

#endif
