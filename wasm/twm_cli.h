/*
 * twm_cli.h — `tensor-wasm run`: run a module from the command line.
 *
 *   tensor-wasm run [options] FILE.wasm [ARGS...]            run _start with WASI
 *   tensor-wasm run [options] FILE.wasm --invoke NAME [VALUES...]   call one export
 *
 * Exit status (documented in docs/wasi-and-cli.md):
 *   the guest's exit code (proc_exit, modulo 256), 0 when _start returns;
 *   1   the module could not be read, decoded, validated, linked or instantiated, or an
 *       --invoke name or value was wrong;
 *   2   usage error;
 *   124 the --deadline-ms deadline passed;
 *   134 the guest trapped (including call stack exhaustion); stderr says
 *       "tensor-wasm: trap: <reason>".
 */
#ifndef TW_WASM_TWM_CLI_H
#define TW_WASM_TWM_CLI_H

#include "core/err.h"

#define TWM_CLI_EXIT_ERROR 1
#define TWM_CLI_EXIT_USAGE 2
#define TWM_CLI_EXIT_DEADLINE 124
#define TWM_CLI_EXIT_TRAP 134

struct tw_config;
struct twm_module;
struct twm_instance;

/* What a higher floor (the JIT's loop offload) plugs into `run` without wasm/ depending on it:
 * `loaded` sees the module and the parsed options and may keep state (a non-OK return ends the
 * run with status 1); `instance` sees the instance before the call; `finish` runs at the end
 * (reports, frees the state). Every member may be NULL. */
struct twm_cli_ext {
	enum tw_err (*loaded)(const struct twm_module *m, const struct tw_config *cfg,
			      void **state);
	void (*instance)(void *state, struct twm_instance *inst);
	void (*finish)(void *state);
};

/* Set before twm_cli_run (main thread; the pointer is borrowed and must outlive the run). */
void twm_cli_set_ext(const struct twm_cli_ext *ext);

/* The `run` subcommand; argv[0] is "run". Returns the process exit status. Main thread only;
 * writes to stdout and stderr. */
int twm_cli_run(int argc, char **argv);

/* The same, also offering the guest the host bindings bindings[0..n) (borrowed; see
 * struct twm_host_binding in twm.h), e.g. wasi_cuda given by the composition root. Each is
 * linked; a binding's per-instance state is attached (tenant 0) only when the module imports
 * from its module, and detached after the instance is freed. n <= TW_WASM_HOST_SLOTS_MAX. */
struct twm_host_binding;
int twm_cli_run_with(int argc, char **argv, const struct twm_host_binding *const *bindings,
		     unsigned n);

#endif
