/* jit_cli.c — `tensor-wasm jit` subcommands; see jit_cli.h. */
#include "jit/jit_cli.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "jit/jit_analyze.h"
#include "jit/jit_builtin.h"
#include "jit/jit_ir.h"
#include "jit/jit_ptx.h"
#include "jit/jit_selftest.h"
#include "wasm/twm.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: tensor-wasm jit list\n"
		     "       tensor-wasm jit emit NAME [--arch sm_80|sm_90]\n"
		     "       tensor-wasm jit selftest [--quick]\n"
		     "       tensor-wasm jit analyze FILE.wasm\n");
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

static uint64_t leb(const uint8_t *p, size_t end, size_t *pos, bool *bad)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*pos >= end) {
			*bad = true;
			return 0;
		}
		uint8_t b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	*bad = true;
	return 0;
}

/* The debug name of function `idx` from the module's "name" custom section (clang writes one),
 * so reports can say which C function a loop is in. The module was validated already; this
 * only has to stay within the bytes. */
static bool func_name(const uint8_t *p, size_t len, uint32_t idx, const char **name,
		      size_t *nlen)
{
	size_t pos = 8;
	bool bad = false;
	while (pos < len && !bad) {
		uint8_t id = p[pos++];
		uint64_t size = leb(p, len, &pos, &bad);
		if (bad || size > len - pos)
			return false;
		size_t end = pos + (size_t)size, q = pos;
		pos = end;
		if (id != 0)
			continue;
		uint64_t sl = leb(p, end, &q, &bad);
		if (bad || sl != 4 || end - q < 4 || memcmp(p + q, "name", 4) != 0)
			continue;
		q += 4;
		while (q < end && !bad) {
			uint8_t sub = p[q++];
			uint64_t ss = leb(p, end, &q, &bad);
			if (bad || ss > end - q)
				return false;
			size_t send = q + (size_t)ss;
			if (sub == 1) {
				uint64_t cnt = leb(p, send, &q, &bad);
				for (uint64_t i = 0; i < cnt && !bad; i++) {
					uint64_t fi = leb(p, send, &q, &bad);
					uint64_t nl = leb(p, send, &q, &bad);
					if (bad || nl > send - q)
						return false;
					if (fi == idx) {
						*name = (const char *)p + q;
						*nlen = (size_t)nl;
						return true;
					}
					q += (size_t)nl;
				}
			}
			q = send;
		}
	}
	return false;
}

/* Every loop of the module: function, offset, then the blueprint and its key or the reason. */
static int cmd_analyze(int argc, char **argv)
{
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	FILE *f = fopen(argv[2], "rb");
	if (!f) {
		fprintf(stderr, "tensor-wasm jit: cannot read %s\n", argv[2]);
		return 1;
	}
	int ret = 1;
	uint8_t *buf = malloc(TW_WASM_MODULE_BYTES_MAX);
	struct twm_module *m = NULL;
	struct jit_plan *plan = NULL;
	struct twm_error err = {0};
	size_t len = buf ? fread(buf, 1, TW_WASM_MODULE_BYTES_MAX, f) : 0;
	if (!buf || ferror(f))
		goto out_close;
	if (twm_module_load(buf, len, NULL, &m, &err) != TW_ERR_OK) {
		fprintf(stderr, "tensor-wasm jit: %s: %s\n", argv[2], err.msg);
		goto out_close;
	}
	if (jit_analyze_module(m, &plan) != TW_ERR_OK) {
		fprintf(stderr, "tensor-wasm jit: out of memory\n");
		goto out_unref;
	}
	for (size_t i = 0; i < jit_plan_count(plan); i++) {
		const struct jit_loop *l = jit_plan_loop(plan, i);
		const char *name;
		size_t nlen;
		printf("func %u", l->func_index);
		if (func_name(buf, len, l->func_index, &name, &nlen))
			printf(" (%.*s)", (int)nlen, name);
		printf(" loop +%u: ", l->loop_offset);
		if (l->match) {
			const struct jit_blueprint *bp = &l->match->bp;
			printf("matched %s %s inputs=%u params=%u nodes=%u lanes=%u key=%016llx\n",
			       bp->kind == JIT_MAP ? "map" : "reduce",
			       jit_type_str((enum jit_type)bp->out_type), bp->n_inputs, bp->n_params,
			       bp->n_nodes, l->match->lanes, (unsigned long long)l->match->key);
		} else {
			printf("rejected: %s%s%s\n", jit_reject_str(l->reject),
			       l->detail[0] ? ": " : "", l->detail);
		}
	}
	printf("loops: %zu matched: %zu\n", jit_plan_count(plan), jit_plan_matched(plan));
	ret = 0;
	jit_plan_free(plan);
out_unref:
	twm_module_unref(m);
out_close:
	free(buf);
	fclose(f);
	return ret;
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
	if (strcmp(argv[1], "analyze") == 0)
		return cmd_analyze(argc, argv);
	if (strcmp(argv[1], "selftest") == 0) {
		bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
		return jit_selftest_main(quick, stdout);
	}
	fprintf(stderr, "tensor-wasm jit: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
