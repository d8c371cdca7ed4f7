/*
 * spec.h — shared declarations of the WebAssembly spec-suite runner (tests/spec/).
 *
 * spec_main.c finds the .wast files, converts them with wast2json into a cache directory, runs
 * each file in a child process (so that an engine crash or hang costs one file, not the run) and
 * prints the report. spec_exec.c runs the commands of one converted file against the engine.
 * Results travel from the child to the parent in a struct spec_result placed in shared memory.
 */
#ifndef TW_TESTS_SPEC_H
#define TW_TESTS_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Failures of one file whose text is kept for the report (the first few are printed). */
#define SPEC_LOG_BYTES 8192
#define SPEC_FAILURES_SHOWN 5

struct spec_result {
	uint32_t passed;  /* assertions and actions that passed */
	uint32_t failed;  /* assertions, actions and modules that failed */
	uint32_t skipped; /* commands not run, with their reason in skip_reason */
	uint32_t shown;   /* failure lines written into log */
	bool done;        /* the child reached the end of the file */
	char skip_reason[128];
	size_t log_len;
	char log[SPEC_LOG_BYTES];
};

struct spec_opts {
	const char *work_dir;   /* converted .json and .wasm files */
	const char *wat2wasm;   /* to check that text-form malformed modules are rejected */
	bool verbose;           /* print every failure, not only the first few */
};

/* Run every command of `json_path` (a wast2json output inside opts->work_dir), accumulating
 * into `r`. Runs in the child process; never returns early on engine errors. */
void spec_run_file(const char *json_path, const struct spec_opts *opts, struct spec_result *r);

/* Record a failure at wast line `line`: counts it and keeps its text for the report. */
void spec_fail(struct spec_result *r, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
