/*
 * main.c — the composition root of tensor-wasm.
 *
 * Parses the command line, builds every subsystem and starts the workers. This is the one file
 * allowed to include from every floor. Subcommands are a table: each names its handler and a
 * one-line summary that `tensor-wasm --help` prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "version.h"

#include "core/options.h"
#include "core/err.h"
#include "core/log.h"
#include "wasm/twm_cli.h"

struct subcommand {
	const char *name;
	const char *args;
	const char *summary;
	int (*main)(int argc, char **argv); /* argv[0] is the subcommand */
};

static int cmd_version(int argc, char **argv);

static const struct subcommand commands[] = {
	{"version", "", "print version and build information", cmd_version},
	{"run", "FILE.wasm [ARGS...]", "run a module's _start with WASI, or --invoke an export",
	 twm_cli_run},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char *compiler_str(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}

static int cmd_version(int argc, char **argv)
{
	(void)argc, (void)argv;
	printf("tensor-wasm %s (git %s)\n", TW_VERSION, TW_GIT_SHA);
	printf("compiler: %s\n", compiler_str());
	printf("build mode: %s\n", TW_BUILD_MODE);
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
