/*
 * twm_wasi.h — a WASI preview1 subset for guests built with clang + wasi-libc.
 *
 * What it is for: give a C program's `_start` what wasi-libc's start-up and stdio need (arguments,
 * environment, clocks, randomness, reads and writes on the three standard streams, exit) and
 * nothing more: there are no preopened directories, so no file system and no sockets. Every
 * function is bound under the import module "wasi_snapshot_preview1" through the engine's
 * host-function API (twm.h); other preview1 names a module imports can be bound to a stub that
 * returns ENOSYS, so such modules still link.
 *
 * Standard streams: each of fds 0, 1 and 2 is either a host fd (borrowed, never closed here) or a
 * memory buffer: stdin reads from caller-provided bytes, stdout and stderr are captured into
 * growable buffers up to a cap (bytes past it are dropped and counted, and the guest is told
 * they were written, so a chatty guest cannot exhaust the host). The HTTP server uses the
 * buffers: the request body as stdin, the captured stdout as the response.
 *
 * Safety: every pointer and length a guest passes is checked against its linear memory before
 * use; a bad one gets errno `fault` (21), never a host fault. Guest memory is re-read on every
 * call, since it may have grown in between.
 *
 * Threads: a struct twm_wasi belongs to the thread that runs the instance using it.
 */
#ifndef TW_WASM_TWM_WASI_H
#define TW_WASM_TWM_WASI_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "wasm/twm.h"

/* preview1 errno values used here (numbering from the preview1 witx). */
#define TWM_WASI_ESUCCESS 0
#define TWM_WASI_EBADF 8
#define TWM_WASI_EFAULT 21
#define TWM_WASI_EINVAL 28
#define TWM_WASI_EIO 29
#define TWM_WASI_ENOSYS 52
#define TWM_WASI_ESPIPE 70

/* The import module name of preview1. */
#define TWM_WASI_MODULE "wasi_snapshot_preview1"

struct twm_wasi;

struct twm_wasi_config {
	/* argv[0..argc) and "KEY=VALUE" strings env[0..envc); copied by twm_wasi_new. */
	uint32_t argc;
	const char *const *argv;
	uint32_t envc;
	const char *const *env;
	/* Host fds for 0, 1, 2 (borrowed, never closed), or -1 for a memory stream. */
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
	/* stdin bytes when stdin_fd < 0 (borrowed; must outlive the struct twm_wasi or the next
	 * twm_wasi_set_stdin). NULL/0 reads as end of file. */
	const uint8_t *stdin_bytes;
	size_t stdin_len;
	/* Cap on each captured stream (stdout/stderr with fd < 0); 0 = TW_WASI_CAPTURE_BYTES_MAX. */
	size_t capture_bytes_max;
};

/* Make WASI state from `cfg` (strings copied). Errors: TW_ERR_NOMEM, TW_ERR_INVALID_ARG (more
 * arguments or environment bytes than the limits allow). */
enum tw_err twm_wasi_new(const struct twm_wasi_config *cfg, struct twm_wasi **out);

void twm_wasi_free(struct twm_wasi *w);

/*
 * Define every supported preview1 function in `l` under TWM_WASI_MODULE. `w` is the state the
 * functions act on (borrowed; must outlive instances linked through `l`). With w == NULL each
 * call finds its state with twm_ctx_user(): the instance's user pointer must then be a struct
 * twm_wasi * (this lets many instances share one linker). Errors: those of the linker
 * (TW_ERR_EXISTS when already defined, TW_ERR_NOMEM).
 */
enum tw_err twm_wasi_link(struct twm_linker *l, struct twm_wasi *w);

/* For each TWM_WASI_MODULE function import of `m` that `l` does not define, define a stub of the
 * imported type that returns ENOSYS (when its result is one i32) or traps with "unsupported WASI
 * function NAME" (any other type). Call after twm_wasi_link. Errors: those of the linker. */
enum tw_err twm_wasi_link_stubs(struct twm_linker *l, const struct twm_module *m);

/* Bytes captured so far from fd 1 or 2 (a memory stream), NULL/0 for a host fd or any other fd.
 * Borrowed; valid until the next guest call or twm_wasi_reset. *dropped (may be NULL) receives
 * the bytes that did not fit under the cap. */
const uint8_t *twm_wasi_output(const struct twm_wasi *w, int fd, size_t *len, size_t *dropped);

/* Replace the stdin bytes (stdin must be a memory stream) and rewind them. Borrowed. */
void twm_wasi_set_stdin(struct twm_wasi *w, const uint8_t *bytes, size_t len);

/* Forget captured output, rewind stdin, reopen closed stdio fds: ready for the next call. */
void twm_wasi_reset(struct twm_wasi *w);

#endif
