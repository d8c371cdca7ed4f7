/* jit_cli.c — `tensor-wasm jit` subcommands; see jit_cli.h. */
#include "jit/jit_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jit_builtin.h"
#include "jit/jit_ir.h"
#include "jit/jit_ptx.h"
#include "jit/jit_selftest.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: tensor-wasm jit list\n"
		     "       tensor-wasm jit emit NAME [--arch sm_80|sm_90]\n"
		     "       tensor-wasm jit selftest [--quick]\n");
}

static int cmd_list(void)
{
	for (size_t i = 0; i < jit_builtin_count(); i++) {
		const struct jit_blueprint *bp = jit_builtin_get(i);
		printf("%-20s %s %s\n", bp->name, bp->kind == JIT_MAP ? "map   " : "reduce",
		       jit_type_str((enum jit_type)bp->out_type));
	}
	return 0;
}

static int cmd_emit(int argc, char **argv)
{
	const char *name = NULL, *arch_name = "sm_80";
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--arch") == 0 && i + 1 < argc) {
			arch_name = argv[++i];
		} else if (strncmp(argv[i], "--arch=", 7) == 0) {
			arch_name = argv[i] + 7;
		} else if (argv[i][0] == '-' || name) {
			usage(stderr);
			return 2;
		} else {
			name = argv[i];
		}
	}
	if (!name) {
		usage(stderr);
		return 2;
	}
	const struct jit_arch *arch = jit_arch_find(arch_name);
	if (!arch) {
		fprintf(stderr, "tensor-wasm jit: unknown arch '%s' (sm_80, sm_90, ...)\n", arch_name);
		return 2;
	}
	const struct jit_blueprint *bp = jit_builtin_find(name);
	if (!bp) {
		fprintf(stderr, "tensor-wasm jit: no built-in blueprint '%s' (see 'jit list')\n",
			name);
		return 1;
	}
	char *ptx;
	size_t len;
	enum tw_err err = jit_ptx_emit(&bp, 1, arch, &ptx, &len);
	if (err != TW_ERR_OK) {
		fprintf(stderr, "tensor-wasm jit: cannot emit %s: %s\n", name, tw_err_msg(err));
		return 1;
	}
	fwrite(ptx, 1, len, stdout);
	free(ptx);
	return 0;
}

int jit_cli_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "list") == 0)
		return cmd_list();
	if (strcmp(argv[1], "emit") == 0)
		return cmd_emit(argc, argv);
	if (strcmp(argv[1], "selftest") == 0) {
		bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
		return jit_selftest_main(quick, stdout);
	}
	fprintf(stderr, "tensor-wasm jit: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
