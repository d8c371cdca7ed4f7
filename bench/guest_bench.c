/*
 * guest_bench.c — the interpreter on whole C programs: the CPU-bound guests of
 * `ninja bench-interp` (the C files in bench/guests, which ninja builds as
 * build/guests/bench_NAME.wasm with clang --target=wasm32-wasi -O2), each run at a small size so
 * that the instruction gate stays quick under callgrind.
 *
 * interp/guest/fib/20            recursive calls: fib(20), 21,891 calls
 * interp/guest/hash/20000        20,000 xorshift-multiply rounds on i64
 * interp/guest/matmul/40         f64 matrix product, 40 x 40, once
 * interp/guest/sieve/100000      byte-array sieve below 100,000, once
 * interp/guest/strings/3         snprintf, strstr, strchr, memcmp: 3 rounds
 * interp/guest/mix/5             list sort, integer matrix, state machine, CRC: 5 iterations
 *
 * One iteration is what `tensor-wasm run` does after loading: instantiate the module with WASI
 * (arguments as above, stdout captured in memory), run _start, free the instance. The module
 * is loaded and validated once in setup, which also checks that a first run succeeds. The
 * .wasm files are read from build/guests relative to the working directory (the repository
 * root, where ninja and the tests run the gate).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "wasm/twm.h"
#include "wasm/twm_wasi.h"

struct guest_ctx {
	struct twm_module *module;
	struct twm_wasi *wasi;
	struct twm_linker *linker;
};

static enum tw_err run_once(struct guest_ctx *c)
{
	struct twm_instance *inst;
	struct twm_extern start;
	struct twm_error err;
	struct twm_instance_config cfg = {.user = c->wasi};
	enum tw_err e = twm_instantiate(c->module, c->linker, &cfg, &inst, &err);
	if (e != TW_ERR_OK)
		return e;
	e = twm_instance_export(inst, "_start", &start);
	if (e == TW_ERR_OK)
		e = twm_invoke(inst, start.u.func, NULL, 0, NULL, 0, &err);
	if (e == TW_ERR_WASM_EXIT && err.exit_code == 0)
		e = TW_ERR_OK;
	twm_instance_free(inst);
	return e;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out_close;
	buf = malloc((size_t)n);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	*len = (size_t)n;
out_close:
	fclose(f);
	return buf;
}

static void guest_teardown(struct bench_state *st)
{
	struct guest_ctx *c = st->ctx;
	if (!c)
		return;
	if (c->linker)
		twm_linker_free(c->linker);
	if (c->wasi)
		twm_wasi_free(c->wasi);
	if (c->module)
		twm_module_unref(c->module);
	free(c);
	st->ctx = NULL;
}

/* Load build/guests/bench_NAME.wasm and prepare WASI with argv = {NAME, arg1[, arg2]}. */
static enum tw_err guest_setup(struct bench_state *st, const char *name, const char *arg1,
			       const char *arg2)
{
	char path[256];
	size_t len = 0;
	struct twm_error err;
	const char *argv[3] = {name, arg1, arg2};
	struct guest_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return TW_ERR_NOMEM;
	st->ctx = c;
	snprintf(path, sizeof(path), "build/guests/bench_%s.wasm", name);
	uint8_t *bytes = read_all(path, &len);
	if (!bytes) {
		fprintf(stderr, "bench: cannot read %s (ninja builds it)\n", path);
		return TW_ERR_NOT_FOUND;
	}
	enum tw_err e = twm_module_load(bytes, len, NULL, &c->module, &err);
	free(bytes);
	struct twm_wasi_config wc = {
		.argc = arg2 ? 3 : 2,
		.argv = argv,
		.stdin_fd = -1,
		.stdout_fd = -1,
		.stderr_fd = -1,
	};
	if (e == TW_ERR_OK)
		e = twm_wasi_new(&wc, &c->wasi);
	if (e == TW_ERR_OK)
		e = twm_linker_new(&c->linker);
	if (e == TW_ERR_OK)
		e = twm_wasi_link(c->linker, NULL);
	if (e == TW_ERR_OK)
		e = twm_wasi_link_stubs(c->linker, c->module);
	if (e == TW_ERR_OK)
		e = run_once(c);
	return e;
}

static void guest_run(struct bench_state *st)
{
	for (uint64_t i = 0; i < st->iters; i++)
		bench_black_box_u64(run_once(st->ctx));
}

#define GUEST(name, arg1, arg2)                                                                   \
	static enum tw_err setup_##name(struct bench_state *st)                                   \
	{                                                                                         \
		return guest_setup(st, #name, arg1, arg2);                                        \
	}

GUEST(fib, "20", NULL)
GUEST(hash, "20000", NULL)
GUEST(matmul, "40", "1")
GUEST(sieve, "100000", "1")
GUEST(strings, "3", NULL)
GUEST(mix, "5", NULL)

BENCH("interp/guest/fib/20", guest_run, .setup = setup_fib, .teardown = guest_teardown,
      .callgrind_iters = 2);
BENCH("interp/guest/hash/20000", guest_run, .setup = setup_hash, .teardown = guest_teardown,
      .callgrind_iters = 2);
BENCH("interp/guest/matmul/40", guest_run, .setup = setup_matmul, .teardown = guest_teardown,
      .callgrind_iters = 2);
BENCH("interp/guest/sieve/100000", guest_run, .setup = setup_sieve, .teardown = guest_teardown,
      .callgrind_iters = 2);
BENCH("interp/guest/strings/3", guest_run, .setup = setup_strings, .teardown = guest_teardown,
      .callgrind_iters = 2);
BENCH("interp/guest/mix/5", guest_run, .setup = setup_mix, .teardown = guest_teardown,
      .callgrind_iters = 2);
