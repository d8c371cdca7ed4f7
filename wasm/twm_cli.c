/*
 * twm_cli.c — `tensor-wasm run` (see twm_cli.h for the command line and exit codes).
 *
 * One module, one instance, one call, then exit: no pools, no workers. The call runs in fuel
 * slices like the server's, so the --deadline-ms deadline is checked between slices. WASI is
 * always linked (an --invoke'd export may still write to stdout), with ENOSYS stubs for the
 * preview1 functions that are not supported.
 */
#include "wasm/twm_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/options.h"
#include "wasm/twm.h"
#include "wasm/twm_wasi.h"

#define CLI_PREFIX "tensor-wasm"

static const struct twm_cli_ext *cli_ext;

void twm_cli_set_ext(const struct twm_cli_ext *ext)
{
	cli_ext = ext;
}

struct cli {
	struct tw_config cfg;
	const char *path;
	const char *invoke;    /* export to call, or NULL for _start */
	char **rest;           /* guest ARGS, or --invoke VALUES */
	int nrest;
	const char **env;      /* --env KEY=VALUE, in order */
	uint32_t nenv;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tensor-wasm run [options] FILE.wasm [ARGS...]\n"
		"       tensor-wasm run [options] FILE.wasm --invoke NAME [VALUES...]\n\n"
		"Runs the module's _start with WASI (exit status = the guest's exit code), or calls\n"
		"the export NAME with VALUES parsed by its parameter types and prints each result on\n"
		"its own line. A trap prints 'tensor-wasm: trap: REASON' and exits 134.\n\n"
		"options:\n"
		"  --env KEY=VALUE              add to the guest's environment (repeatable)\n");
	tw_config_print_help(out, TW_CMD_RUN);
}

static bool read_module(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, CLI_PREFIX ": cannot read %s: %s\n", path, strerror(errno));
		return false;
	}
	bool ok = false;
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, CLI_PREFIX ": cannot read %s: not a regular file\n", path);
		goto out_close;
	}
	if ((uint64_t)st.st_size > TW_WASM_MODULE_BYTES_MAX) {
		fprintf(stderr, CLI_PREFIX ": %s: module too large (%lld bytes, limit %u)\n", path,
			(long long)st.st_size, (unsigned)TW_WASM_MODULE_BYTES_MAX);
		goto out_close;
	}
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fprintf(stderr, CLI_PREFIX ": out of memory\n");
		goto out_close;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, CLI_PREFIX ": cannot read %s: %s\n", path, strerror(errno));
		free(buf);
		goto out_close;
	}
	*out = buf;
	*len = (size_t)st.st_size;
	ok = true;
out_close:
	fclose(f);
	return ok;
}

/* Split argv into run options, FILE and the rest. Our own --env is taken out before the shared
 * option table parses the others (every `run` option there but --offload-report takes a value). Returns -1 to go on,
 * or the exit status to end with (help, usage errors). */
static int parse_args(struct cli *c, int argc, char **argv)
{
	char **opts = calloc((size_t)argc + 1, sizeof(char *));
	c->env = calloc((size_t)argc + 1, sizeof(char *));
	int nopts = 0, i = 1, ret = -1;
	if (!opts || !c->env) {
		fprintf(stderr, CLI_PREFIX ": out of memory\n");
		goto out_free;
	}
	opts[nopts++] = argv[0];
	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--env") == 0 || strncmp(a, "--env=", 6) == 0) {
			const char *kv = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
			if (!kv || !strchr(kv, '=')) {
				fprintf(stderr, CLI_PREFIX " run: --env needs KEY=VALUE\n");
				ret = TWM_CLI_EXIT_USAGE;
				goto out_free;
			}
			c->env[c->nenv++] = kv;
			i++;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			ret = 0;
			goto out_free;
		}
		opts[nopts++] = argv[i++];
		/* the one boolean `run` option: it takes no separate value */
		if (strcmp(a, "--offload-report") == 0)
			continue;
		if (!strchr(a, '=') && i < argc)
			opts[nopts++] = argv[i++];
	}
	tw_config_defaults(&c->cfg);
	int first = 0;
	bool help = false;
	char err[256];
	if (tw_config_parse(&c->cfg, TW_CMD_RUN, nopts, opts, 1, &first, &help, err,
			    sizeof(err)) != TW_ERR_OK) {
		fprintf(stderr, CLI_PREFIX " run: %s\n", err);
		ret = TWM_CLI_EXIT_USAGE;
		goto out_free;
	}
	if (help) {
		usage(stdout);
		ret = 0;
		goto out_free;
	}
	if (i >= argc) {
		usage(stderr);
		ret = TWM_CLI_EXIT_USAGE;
		goto out_free;
	}
	c->path = argv[i++];
	if (i < argc && strcmp(argv[i], "--invoke") == 0) {
		if (i + 1 >= argc) {
			fprintf(stderr, CLI_PREFIX " run: --invoke needs an export name\n");
			ret = TWM_CLI_EXIT_USAGE;
			goto out_free;
		}
		c->invoke = argv[i + 1];
		i += 2;
	}
	c->rest = argv + i;
	c->nrest = argc - i;
	free(opts);
	return -1;
out_free:
	free(opts);
	return ret;
}

/* Parse one --invoke value by its parameter type. */
static bool parse_value(const char *s, uint8_t type, struct twm_value *out)
{
	char *end;
	errno = 0;
	switch (type) {
	case TWM_I32: {
		long long v = strtoll(s, &end, 0);
		if (errno || *end || !*s || v < INT32_MIN || v > (long long)UINT32_MAX)
			return false;
		*out = twm_val_i32((uint32_t)v);
		return true;
	}
	case TWM_I64: {
		uint64_t bits;
		if (s[0] == '-') {
			long long v = strtoll(s, &end, 0);
			bits = (uint64_t)v;
		} else {
			bits = strtoull(s, &end, 0);
		}
		if (errno || *end || !*s)
			return false;
		*out = twm_val_i64(bits);
		return true;
	}
	case TWM_F32: {
		float f = strtof(s, &end);
		if (*end || !*s)
			return false;
		uint32_t b;
		memcpy(&b, &f, 4);
		*out = twm_val_f32_bits(b);
		return true;
	}
	case TWM_F64: {
		double d = strtod(s, &end);
		if (*end || !*s)
			return false;
		uint64_t b;
		memcpy(&b, &d, 8);
		*out = twm_val_f64_bits(b);
		return true;
	}
	case TWM_FUNCREF:
	case TWM_EXTERNREF:
		if (strcmp(s, "null") != 0)
			return false;
		*out = twm_val_ref((enum twm_valtype)type, 0);
		return true;
	default:
		return false;
	}
}

static void print_value(const struct twm_value *v)
{
	switch (v->type) {
	case TWM_I32:
		printf("%" PRId32 "\n", (int32_t)(uint32_t)v->bits);
		break;
	case TWM_I64:
		printf("%" PRId64 "\n", (int64_t)v->bits);
		break;
	case TWM_F32: {
		float f;
		uint32_t b = (uint32_t)v->bits;
		memcpy(&f, &b, 4);
		printf("%.9g\n", (double)f);
		break;
	}
	case TWM_F64: {
		double d;
		memcpy(&d, &v->bits, 8);
		printf("%.17g\n", d);
		break;
	}
	case TWM_FUNCREF:
	case TWM_EXTERNREF:
		if (v->bits == 0)
			printf("null\n");
		else
			printf("%s:0x%" PRIx64 "\n", v->type == TWM_FUNCREF ? "funcref" : "externref",
			       v->bits);
		break;
	default:
		printf("v128:0x%016" PRIx64 "%016" PRIx64 "\n", v->hi, v->bits);
	}
}

static const char *type_str(uint8_t t)
{
	switch (t) {
	case TWM_I32: return "i32";
	case TWM_I64: return "i64";
	case TWM_F32: return "f32";
	case TWM_F64: return "f64";
	case TWM_FUNCREF: return "funcref";
	case TWM_EXTERNREF: return "externref";
	case TWM_V128: return "v128";
	default: return "?";
	}
}

static const char *err_text(enum tw_err e, const struct twm_error *err)
{
	if (err->msg[0])
		return err->msg;
	if (err->trap != TWM_TRAP_NONE)
		return twm_trap_str(err->trap);
	return tw_err_msg(e);
}

/* Turn the end of a call or instantiation into an exit status, with its message. */
static int call_status(const struct cli *c, enum tw_err e, const struct twm_error *err)
{
	switch (e) {
	case TW_ERR_OK:
		return 0;
	case TW_ERR_WASM_EXIT:
		return err->exit_code & 0xff;
	case TW_ERR_WASM_TRAP:
	case TW_ERR_WASM_EXHAUSTED:
		fflush(stdout);
		fprintf(stderr, CLI_PREFIX ": trap: %s\n",
			e == TW_ERR_WASM_EXHAUSTED && !err->msg[0] ? "call stack exhausted"
								    : err_text(e, err));
		return TWM_CLI_EXIT_TRAP;
	case TW_ERR_TIMEOUT:
		fflush(stdout);
		fprintf(stderr, CLI_PREFIX ": deadline of %u ms exceeded\n", c->cfg.deadline_ms);
		return TWM_CLI_EXIT_DEADLINE;
	default:
		fprintf(stderr, CLI_PREFIX ": %s: %s: %s\n", c->path, tw_err_msg(e),
			err_text(e, err));
		return TWM_CLI_EXIT_ERROR;
	}
}

/* Run f(args) in fuel slices until it ends or the deadline passes. */
static enum tw_err run_call(const struct cli *c, struct twm_instance *inst, struct twm_func *f,
			    const struct twm_value *args, uint32_t nargs, struct twm_error *err)
{
	enum tw_err e = twm_call_begin(inst, f, args, nargs, err);
	if (e)
		return e;
	uint64_t deadline = tw_now_ns() + (uint64_t)c->cfg.deadline_ms * 1000000ull;
	/* Bounded by the deadline: every slice ends after about fuel_per_slice units. */
	for (;;) {
		e = twm_call_run(inst, c->cfg.fuel_per_slice, err);
		if (e != TW_ERR_WASM_FUEL)
			return e;
		if (tw_now_ns() >= deadline) {
			twm_call_abort(inst);
			return TW_ERR_TIMEOUT;
		}
	}
}

static int invoke_export(struct cli *c, struct twm_instance *inst)
{
	struct twm_extern ext;
	struct twm_error err = {0};
	if (twm_instance_export(inst, c->invoke, &ext) != TW_ERR_OK ||
	    ext.kind != TWM_EXTERN_FUNC) {
		fprintf(stderr, CLI_PREFIX ": %s: no exported function \"%s\"\n", c->path,
			c->invoke);
		return TWM_CLI_EXIT_ERROR;
	}
	struct twm_functype ft;
	twm_func_type(ext.u.func, &ft);
	if ((uint32_t)c->nrest != ft.nparams) {
		fprintf(stderr, CLI_PREFIX ": %s takes %u arguments, %d given\n", c->invoke,
			ft.nparams, c->nrest);
		return TWM_CLI_EXIT_ERROR;
	}
	if (ft.nparams > TW_INVOKE_ARGS_MAX || ft.nresults > TW_INVOKE_ARGS_MAX) {
		fprintf(stderr, CLI_PREFIX ": %s has too many parameters or results\n", c->invoke);
		return TWM_CLI_EXIT_ERROR;
	}
	struct twm_value args[TW_INVOKE_ARGS_MAX], results[TW_INVOKE_ARGS_MAX];
	for (uint32_t i = 0; i < ft.nparams; i++) {
		if (!parse_value(c->rest[i], ft.params[i], &args[i])) {
			fprintf(stderr, CLI_PREFIX ": argument %u of %s: \"%s\" is not a valid %s\n",
				i + 1, c->invoke, c->rest[i], type_str(ft.params[i]));
			return TWM_CLI_EXIT_ERROR;
		}
	}
	enum tw_err e = run_call(c, inst, ext.u.func, args, ft.nparams, &err);
	if (e != TW_ERR_OK)
		return call_status(c, e, &err);
	uint32_t n = twm_call_results(inst, results, TW_INVOKE_ARGS_MAX);
	for (uint32_t i = 0; i < n && i < TW_INVOKE_ARGS_MAX; i++)
		print_value(&results[i]);
	return 0;
}

static int run_start(struct cli *c, struct twm_instance *inst)
{
	struct twm_extern ext;
	struct twm_error err = {0};
	if (twm_instance_export(inst, "_start", &ext) != TW_ERR_OK ||
	    ext.kind != TWM_EXTERN_FUNC) {
		fprintf(stderr,
			CLI_PREFIX ": %s: no exported function \"_start\" (use --invoke NAME to "
				   "call another export)\n",
			c->path);
		return TWM_CLI_EXIT_ERROR;
	}
	struct twm_functype ft;
	twm_func_type(ext.u.func, &ft);
	if (ft.nparams != 0 || ft.nresults != 0) {
		fprintf(stderr, CLI_PREFIX ": %s: _start must take and return nothing\n", c->path);
		return TWM_CLI_EXIT_ERROR;
	}
	return call_status(c, run_call(c, inst, ext.u.func, NULL, 0, &err), &err);
}

int twm_cli_run(int argc, char **argv)
{
	return twm_cli_run_with(argc, argv, NULL, 0);
}

int twm_cli_run_with(int argc, char **argv, const struct twm_host_binding *const *bindings,
		     unsigned n)
{
	struct cli c = {0};
	int ret = parse_args(&c, argc, argv);
	uint8_t *bytes = NULL;
	size_t len = 0;
	struct twm_module *mod = NULL;
	struct twm_linker *linker = NULL;
	struct twm_wasi *wasi = NULL;
	struct twm_instance *inst = NULL;
	struct twm_error err = {0};
	enum tw_err e;
	const char **gargv = NULL;
	struct twm_host_slot slots[TW_WASM_HOST_SLOTS_MAX];
	const struct twm_host_binding *attached[TW_WASM_HOST_SLOTS_MAX];
	uint32_t nslots = 0;
	void *ext_state = NULL;

	if (ret >= 0)
		goto out;
	ret = TWM_CLI_EXIT_ERROR;
	if (!read_module(c.path, &bytes, &len))
		goto out;
	struct twm_limits lim = {.memory_pages_max = c.cfg.max_memory_pages};
	e = twm_module_load(bytes, len, &lim, &mod, &err);
	if (e) {
		if (err.offset)
			fprintf(stderr, CLI_PREFIX ": %s: %s: %s (at byte %u)\n", c.path,
				tw_err_msg(e), err_text(e, &err), err.offset);
		else
			fprintf(stderr, CLI_PREFIX ": %s: %s: %s\n", c.path, tw_err_msg(e),
				err_text(e, &err));
		goto out_free_bytes;
	}
	if (cli_ext && cli_ext->loaded) {
		e = cli_ext->loaded(mod, &c.cfg, &ext_state);
		if (e) {
			fprintf(stderr, CLI_PREFIX ": %s: %s\n", c.path, tw_err_msg(e));
			goto out_unref;
		}
	}
	gargv = calloc((size_t)c.nrest + 2, sizeof(char *));
	if (!gargv)
		goto out_unref;
	gargv[0] = c.path;
	for (int i = 0; !c.invoke && i < c.nrest; i++)
		gargv[i + 1] = c.rest[i];
	struct twm_wasi_config wc = {
		.argc = c.invoke ? 1 : (uint32_t)c.nrest + 1,
		.argv = gargv,
		.envc = c.nenv,
		.env = c.env,
		.stdin_fd = 0,
		.stdout_fd = 1,
		.stderr_fd = 2,
	};
	e = twm_wasi_new(&wc, &wasi);
	if (e) {
		fprintf(stderr, CLI_PREFIX ": arguments: %s\n", tw_err_msg(e));
		goto out_unref;
	}
	e = twm_linker_new(&linker);
	if (!e)
		e = twm_wasi_link(linker, wasi);
	if (!e)
		e = twm_wasi_link_stubs(linker, mod);
	if (e) {
		fprintf(stderr, CLI_PREFIX ": cannot set up WASI: %s\n", tw_err_msg(e));
		goto out_free_wasi;
	}
	for (unsigned i = 0; i < n && i < TW_WASM_HOST_SLOTS_MAX; i++) {
		e = bindings[i]->link(linker);
		if (!e && twm_module_imports_from(mod, bindings[i]->module)) {
			e = bindings[i]->attach(0, &slots[nslots]);
			attached[nslots++] = bindings[i];
		}
		if (e) {
			fprintf(stderr, CLI_PREFIX ": cannot set up %s: %s\n", bindings[i]->module,
				tw_err_msg(e));
			goto out_free_linker;
		}
	}
	struct twm_instance_config icfg = {.memory_pages_max = c.cfg.max_memory_pages,
					   .user = wasi, .host = slots, .nhost = nslots};
	e = twm_instantiate(mod, linker, &icfg, &inst, &err);
	if (e) {
		ret = call_status(&c, e, &err);
		goto out_free_linker;
	}
	if (cli_ext && cli_ext->instance)
		cli_ext->instance(ext_state, inst);
	ret = c.invoke ? invoke_export(&c, inst) : run_start(&c, inst);
	fflush(stdout);
	twm_instance_free(inst);
out_free_linker:
	/* After the instance: the contract of host slots (twm.h). */
	while (nslots > 0) {
		nslots--;
		attached[nslots]->detach(&slots[nslots]);
	}
	twm_linker_free(linker);
out_free_wasi:
	twm_wasi_free(wasi);
out_unref:
	if (cli_ext && cli_ext->finish)
		cli_ext->finish(ext_state);
	free(gargv);
	twm_module_unref(mod);
out_free_bytes:
	free(bytes);
out:
	free(c.env);
	return ret;
}
