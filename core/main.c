/*
 * main.c — the composition root of tensor-wasm.
 *
 * Parses the command line, builds every subsystem and starts the workers. This is the one file
 * allowed to include from every floor. Subcommands are a table: each names its handler and a
 * one-line summary that `tensor-wasm --help` prints.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "version.h"

#include "core/build.h"
#include "core/err.h"
#include "core/log.h"
#include "core/options.h"
#include "core/span.h"
#include "core/worker.h"
#include "gpu/gpu_bind.h"
#include "gpu/gpu_driver.h"
#include "http/http.h"
#include "http/http_api.h"
#include "http/http_metrics.h"
#include "http/http_testroutes.h"
#include "jit/jit_cli.h"
#include "jit/jit_offload.h"
#include "wasm/twm_cli.h"

struct subcommand {
	const char *name;
	const char *args;
	const char *summary;
	int (*main)(int argc, char **argv); /* argv[0] is the subcommand */
};

static int cmd_version(int argc, char **argv);
static int cmd_run(int argc, char **argv);
static int cmd_serve(int argc, char **argv);

static const struct subcommand commands[] = {
	{"serve", "[options]", "serve functions over HTTP until SIGINT/SIGTERM", cmd_serve},
	{"run", "FILE.wasm [ARGS...]", "run a module's _start with WASI, or --invoke an export",
	 cmd_run},
	{"deploy", "FILE.wasm --name N", "deploy a module to a server", http_api_cli_deploy},
	{"invoke", "ID [--export E] [ARGS..]", "invoke a deployed function", http_api_cli_invoke},
	{"jobs", "ID", "show an async job", http_api_cli_jobs},
	{"jit", "list|emit|selftest|analyze",
	 "inspect blueprints and loops, print their PTX, verify the GPU",
	 jit_cli_main},
	{"version", "", "print version and build information", cmd_version},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_version(int argc, char **argv)
{
	(void)argc, (void)argv;
	printf("tensor-wasm %s (git %s)\n", TW_VERSION, TW_GIT_SHA);
	printf("compiler: %s\n", tw_build_compiler());
	printf("build mode: %s\n", TW_BUILD_MODE);
	printf("gpu: %s\n", gpu_status_line());
	return 0;
}

/* run: the engine's CLI, with the guest ABIs of the floors above it. */
static int cmd_run(int argc, char **argv)
{
	static const struct twm_host_binding *const bindings[] = {&gpu_wasi_cuda_binding};
	twm_cli_set_ext(jit_offload_cli_ext());
	return twm_cli_run_with(argc, argv, bindings, 1);
}

/* serve: the HTTP server on a worker group; runs until SIGINT or SIGTERM, then drains. */
static int cmd_serve(int argc, char **argv)
{
	struct tw_config cfg;
	char err[256];
	int first = 0;
	bool help = false;
	tw_config_defaults(&cfg);
	if (tw_config_parse(&cfg, TW_CMD_SERVE, argc, argv, 1, &first, &help, err,
			    sizeof(err)) != TW_ERR_OK) {
		fprintf(stderr, "tensor-wasm serve: %s\n", err);
		return 2;
	}
	if (help) {
		printf("usage: tensor-wasm serve [options]\n\noptions:\n");
		tw_config_print_help(stdout, TW_CMD_SERVE);
		return 0;
	}
	if (first < argc) {
		fprintf(stderr, "tensor-wasm serve: unexpected argument '%s'\n", argv[first]);
		return 2;
	}
	struct http_server_opts ho;
	http_server_opts_defaults(&ho);
	snprintf(ho.listen, sizeof(ho.listen), "%s", cfg.listen);
	ho.max_connections = cfg.max_connections;
	ho.header_bytes_max = cfg.max_header_bytes;
	ho.headers_max = cfg.max_headers;
	ho.body_bytes_max = cfg.max_body_bytes;
	ho.header_timeout_ms = cfg.header_timeout_ms;
	ho.idle_timeout_ms = cfg.idle_timeout_ms;
	ho.write_timeout_ms = cfg.write_timeout_ms;
	struct http_server *srv;
	if (http_server_create(&ho, &srv) != TW_ERR_OK)
		return 1;
	if (cfg.test_routes && http_server_add_test_routes(srv) != TW_ERR_OK) {
		http_server_destroy(srv);
		return 1;
	}
	char gpu_json[512], details[600];
	gpu_health_json(gpu_json, sizeof(gpu_json));
	snprintf(details, sizeof(details), "{\"gpu\":%s}", gpu_json);
	if (http_server_set_health_details(srv, details) != TW_ERR_OK) {
		http_server_destroy(srv);
		return 1;
	}
	struct http_api *api;
	if (http_api_create(&cfg, srv, &api) != TW_ERR_OK) {
		http_server_destroy(srv);
		return 1;
	}

	if (tw_spans_start_from_env() != TW_ERR_OK) {
		http_api_destroy(api);
		http_server_destroy(srv);
		return 2;
	}

	/* Last: the metric families are labelled with the router's final table. */
	uint32_t nworkers = cfg.workers ? cfg.workers : tw_worker_default_count();
	const struct tw_worker_hooks *metrics_hooks;
	if (http_metrics_attach(srv, nworkers, cfg.metrics_token, &metrics_hooks) != TW_ERR_OK) {
		fprintf(stderr, "tensor-wasm serve: cannot set up metrics\n");
		tw_spans_stop();
		http_api_destroy(api);
		http_server_destroy(srv);
		return 1;
	}
	gpu_metrics_attach();

	/* Signals are blocked before any worker exists, so only sigwait below sees them. Hooks
	 * start in this order and stop in reverse: shards are bound before anything records. */
	tw_signals_block();
	struct tw_worker_group_opts wo = {
		.workers = nworkers,
		.pin = cfg.pin_workers,
		.nhooks = 3,
		.hooks = {metrics_hooks, http_server_hooks(srv), http_api_hooks(api)}};
	struct tw_worker_group *g;
	enum tw_err e = tw_worker_group_start(&wo, &g);
	if (e != TW_ERR_OK) {
		fprintf(stderr, "tensor-wasm serve: cannot start: %s\n", tw_err_msg(e));
		http_metrics_detach();
		http_api_destroy(api);
		http_server_destroy(srv);
		return 1;
	}
	int sig = tw_signals_wait();
	TW_INFO(CORE, "%s received; draining", sig == SIGINT ? "SIGINT" : "SIGTERM");
	tw_worker_group_stop(g);
	tw_spans_stop();
	http_metrics_detach();
	http_api_destroy(api);
	http_server_destroy(srv);
	TW_INFO(CORE, "stopped");
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: tensor-wasm [--help | --version] <command> [options] [args]\n\n"
		     "TensorWasm serves WebAssembly functions over HTTP.\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		char head[64];
		snprintf(head, sizeof(head), "%s %s", commands[i].name, commands[i].args);
		fprintf(out, "  %-34s %s\n", head, commands[i].summary);
	}
	fprintf(out, "\nRun 'tensor-wasm <command> --help' for a command's options.\n"
		     "Logging: TENSOR_WASM_LOG=level[,subsystem=level...] "
		     "(levels: off error warn info debug trace).\n");
}

int main(int argc, char **argv)
{
	tw_log_init_from_env();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "tensor-wasm: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
