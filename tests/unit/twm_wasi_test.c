/*
 * twm_wasi_test.c — the WASI subset's memory streams, state lookup and stubs, driven through
 * real guests built by the build (build/guests/NAME.wasm; tests run from the repository root).
 * The host-fd paths are covered by tests/integration/test_run_cli.py.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/twm.h"
#include "wasm/twm_wasi.h"

struct guest {
	struct twm_module *mod;
	struct twm_linker *linker;
	struct twm_instance *inst;
};

static struct twm_module *load_guest(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "build/guests/%s.wasm", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		cr_skip_test("%s not built (needs the wasm32-wasi toolchain)", path);
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct twm_module *m = NULL;
	struct twm_error err = {0};
	cr_assert_eq(twm_module_load(buf, n, NULL, &m, &err), TW_ERR_OK, "%s: %s", path, err.msg);
	return m;
}

/* Instantiate `name` with WASI state `w` (bound in the linker, or found through the instance's
 * user pointer when by_user) and run _start. Returns the call's result; *exit_code is set on
 * TW_ERR_WASM_EXIT. */
static enum tw_err run_guest(const char *name, struct twm_wasi *w, bool by_user, bool stubs,
			     int32_t *exit_code)
{
	struct guest g = {0};
	struct twm_error err = {0};
	g.mod = load_guest(name);
	cr_assert_eq(twm_linker_new(&g.linker), TW_ERR_OK);
	cr_assert_eq(twm_wasi_link(g.linker, by_user ? NULL : w), TW_ERR_OK);
	if (stubs)
		cr_assert_eq(twm_wasi_link_stubs(g.linker, g.mod), TW_ERR_OK);
	struct twm_instance_config cfg = {.user = by_user ? w : NULL};
	enum tw_err e = twm_instantiate(g.mod, g.linker, &cfg, &g.inst, &err);
	if (e == TW_ERR_OK) {
		struct twm_extern start;
		cr_assert_eq(twm_instance_export(g.inst, "_start", &start), TW_ERR_OK);
		e = twm_invoke(g.inst, start.u.func, NULL, 0, NULL, 0, &err);
		if (e == TW_ERR_WASM_EXIT && exit_code)
			*exit_code = err.exit_code;
		twm_instance_free(g.inst);
	}
	twm_linker_free(g.linker);
	twm_module_unref(g.mod);
	return e;
}

static struct twm_wasi *memory_wasi(const char *in, size_t cap)
{
	static const char *const argv[] = {"guest"};
	struct twm_wasi_config cfg = {.argc = 1, .argv = argv, .stdin_fd = -1, .stdout_fd = -1,
				      .stderr_fd = -1, .stdin_bytes = (const uint8_t *)in,
				      .stdin_len = in ? strlen(in) : 0, .capture_bytes_max = cap};
	struct twm_wasi *w = NULL;
	cr_assert_eq(twm_wasi_new(&cfg, &w), TW_ERR_OK);
	return w;
}

static void expect_output(struct twm_wasi *w, int fd, const char *want, size_t want_dropped)
{
	size_t len, dropped;
	const uint8_t *out = twm_wasi_output(w, fd, &len, &dropped);
	cr_assert_eq(len, strlen(want), "fd %d: got %zu bytes: %.*s", fd, len, (int)len,
		     out ? (const char *)out : "");
	cr_assert(len == 0 || memcmp(out, want, len) == 0, "fd %d: got %.*s", fd, (int)len, out);
	cr_assert_eq(dropped, want_dropped);
}

Test(twm_wasi, stdin_bytes_and_captured_stdout)
{
	struct twm_wasi *w = memory_wasi("a b\nc\n", 0);
	cr_assert_eq(run_guest("stdin_count", w, false, false, NULL), TW_ERR_OK);
	expect_output(w, 1, "> A B\n> C\n2 lines, 3 words, 6 bytes\n", 0);
	expect_output(w, 2, "", 0);
	/* Reset and new input: the next instance starts from a clean state. */
	twm_wasi_reset(w);
	twm_wasi_set_stdin(w, (const uint8_t *)"xyz", 3);
	cr_assert_eq(run_guest("stdin_count", w, false, false, NULL), TW_ERR_OK);
	expect_output(w, 1, "> XYZ\n0 lines, 1 words, 3 bytes\n", 0);
	twm_wasi_free(w);
}

Test(twm_wasi, capture_is_capped_and_counts_the_rest)
{
	struct twm_wasi *w = memory_wasi("a b\nc\n", 10);
	cr_assert_eq(run_guest("stdin_count", w, false, false, NULL), TW_ERR_OK);
	expect_output(w, 1, "> A B\n> C\n", strlen("2 lines, 3 words, 6 bytes\n"));
	twm_wasi_free(w);
}

Test(twm_wasi, state_from_the_instance_user_pointer)
{
	struct twm_wasi *w = memory_wasi("", 0);
	cr_assert_eq(run_guest("stdin_count", w, true, false, NULL), TW_ERR_OK);
	expect_output(w, 1, "0 lines, 0 words, 0 bytes\n", 0);
	twm_wasi_free(w);
}

Test(twm_wasi, args_environ_and_exit_code)
{
	static const char *const argv[] = {"args_exit", "5", "x y"};
	static const char *const env[] = {"TW_GUEST_GREETING=hey", "OTHER=1"};
	struct twm_wasi_config cfg = {.argc = 3, .argv = argv, .envc = 2, .env = env,
				      .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	struct twm_wasi *w = NULL;
	int32_t code = -1;
	cr_assert_eq(twm_wasi_new(&cfg, &w), TW_ERR_OK);
	cr_assert_eq(run_guest("args_exit", w, false, false, &code), TW_ERR_WASM_EXIT);
	cr_assert_eq(code, 5);
	expect_output(w, 1,
		      "argc = 2\nargv[1] = \"5\" (1 bytes)\nargv[2] = \"x y\" (3 bytes)\n"
		      "TW_GUEST_GREETING = hey\n",
		      0);
	twm_wasi_free(w);
}

Test(twm_wasi, unsupported_imports_link_only_with_stubs)
{
	struct twm_wasi *w = memory_wasi(NULL, 0);
	cr_assert_eq(run_guest("wasi_checks", w, false, false, NULL), TW_ERR_WASM_UNLINKABLE);
	cr_assert_eq(run_guest("wasi_checks", w, false, true, NULL), TW_ERR_OK);
	expect_output(w, 1, "ok\n", 0);
	twm_wasi_free(w);
}

Test(twm_wasi, output_of_host_fds_and_bad_fds_is_empty)
{
	struct twm_wasi_config cfg = {.stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2};
	struct twm_wasi *w = NULL;
	size_t len = 99;
	cr_assert_eq(twm_wasi_new(&cfg, &w), TW_ERR_OK);
	cr_assert_null(twm_wasi_output(w, 1, &len, NULL));
	cr_assert_eq(len, 0);
	cr_assert_null(twm_wasi_output(w, 7, &len, NULL));
	twm_wasi_free(w);
}

Test(twm_wasi, rejects_oversized_arguments)
{
	static char big[4096];
	memset(big, 'x', sizeof(big) - 1);
	const char **argv = calloc(1024, sizeof(char *));
	for (int i = 0; i < 1024; i++)
		argv[i] = big;
	struct twm_wasi_config cfg = {.argc = 1024, .argv = argv, .stdin_fd = -1,
				      .stdout_fd = -1, .stderr_fd = -1};
	struct twm_wasi *w = NULL;
	cr_assert_eq(twm_wasi_new(&cfg, &w), TW_ERR_INVALID_ARG);
	free(argv);
}
