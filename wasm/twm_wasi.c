/*
 * twm_wasi.c — the WASI preview1 subset (see twm_wasi.h for what and why).
 *
 * Every host function has the same shape: find the state, fetch guest memory, check every
 * (pointer, length) with mem_ok() before touching it, do the work, return a preview1 errno as the
 * single i32 result. Guest memory is little-endian and unaligned, so loads and stores go through
 * memcpy. Only proc_exit does not return an errno: it ends the call through twm_ctx_exit().
 */
#include "wasm/twm_wasi.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "core/limits.h"

#define FILETYPE_UNKNOWN 0
#define FILETYPE_CHARACTER_DEVICE 2
#define FILETYPE_REGULAR_FILE 4
#define FILETYPE_SOCKET_STREAM 6

#define RIGHT_FD_READ (1ull << 1)
#define RIGHT_FD_SEEK (1ull << 2)
#define RIGHT_FD_TELL (1ull << 5)
#define RIGHT_FD_WRITE (1ull << 6)
#define RIGHT_POLL_FD_READWRITE (1ull << 27)

/* iovecs in one fd_read/fd_write: Linux's IOV_MAX; more is EINVAL, as the host would say. */
#define WASI_IOVS_MAX 1024

struct stream {
	int fd;          /* host fd, or -1 for memory */
	bool closed;     /* the guest closed it */
	uint8_t *buf;    /* captured output (stdout/stderr in memory) */
	size_t len;
	size_t cap;
	size_t dropped;
};

struct twm_wasi {
	uint32_t argc, envc;
	char **argv, **env;   /* point into strings */
	char *strings;
	size_t args_bytes, env_bytes; /* sizes including NULs */
	struct stream io[3];
	const uint8_t *in;    /* memory stdin */
	size_t in_len, in_pos;
	size_t capture_max;
};

/* ---- state ------------------------------------------------------------------------------ */

static size_t strings_bytes(uint32_t n, const char *const *v)
{
	size_t total = 0;
	for (uint32_t i = 0; i < n; i++)
		total += strlen(v[i]) + 1;
	return total;
}

enum tw_err twm_wasi_new(const struct twm_wasi_config *cfg, struct twm_wasi **out)
{
	size_t ab = strings_bytes(cfg->argc, cfg->argv);
	size_t eb = strings_bytes(cfg->envc, cfg->env);
	if (ab + eb > TW_WASI_ARGS_BYTES_MAX || cfg->argc > TW_WASI_ARGS_MAX ||
	    cfg->envc > TW_WASI_ARGS_MAX)
		return TW_ERR_INVALID_ARG;
	struct twm_wasi *w = calloc(1, sizeof(*w));
	if (!w)
		return TW_ERR_NOMEM;
	w->strings = malloc(ab + eb + 1);
	w->argv = calloc(cfg->argc + 1, sizeof(char *));
	w->env = calloc(cfg->envc + 1, sizeof(char *));
	if (!w->strings || !w->argv || !w->env) {
		twm_wasi_free(w);
		return TW_ERR_NOMEM;
	}
	char *p = w->strings;
	for (uint32_t i = 0; i < cfg->argc; i++) {
		size_t n = strlen(cfg->argv[i]) + 1;
		memcpy(p, cfg->argv[i], n);
		w->argv[i] = p;
		p += n;
	}
	for (uint32_t i = 0; i < cfg->envc; i++) {
		size_t n = strlen(cfg->env[i]) + 1;
		memcpy(p, cfg->env[i], n);
		w->env[i] = p;
		p += n;
	}
	w->argc = cfg->argc;
	w->envc = cfg->envc;
	w->args_bytes = ab;
	w->env_bytes = eb;
	w->io[0].fd = cfg->stdin_fd;
	w->io[1].fd = cfg->stdout_fd;
	w->io[2].fd = cfg->stderr_fd;
	w->in = cfg->stdin_bytes;
	w->in_len = cfg->stdin_bytes ? cfg->stdin_len : 0;
	w->capture_max = cfg->capture_bytes_max ? cfg->capture_bytes_max
						: TW_WASI_CAPTURE_BYTES_MAX;
	*out = w;
	return TW_ERR_OK;
}

void twm_wasi_free(struct twm_wasi *w)
{
	if (!w)
		return;
	for (int i = 0; i < 3; i++)
		free(w->io[i].buf);
	free(w->argv);
	free(w->env);
	free(w->strings);
	free(w);
}

const uint8_t *twm_wasi_output(const struct twm_wasi *w, int fd, size_t *len, size_t *dropped)
{
	if (fd < 1 || fd > 2 || w->io[fd].fd >= 0) {
		*len = 0;
		if (dropped)
			*dropped = 0;
		return NULL;
	}
	*len = w->io[fd].len;
	if (dropped)
		*dropped = w->io[fd].dropped;
	return w->io[fd].buf;
}

void twm_wasi_set_stdin(struct twm_wasi *w, const uint8_t *bytes, size_t len)
{
	w->in = bytes;
	w->in_len = bytes ? len : 0;
	w->in_pos = 0;
}

void twm_wasi_reset(struct twm_wasi *w)
{
	for (int i = 0; i < 3; i++) {
		w->io[i].len = 0;
		w->io[i].dropped = 0;
		w->io[i].closed = false;
	}
	w->in_pos = 0;
}

/* ---- guest memory ------------------------------------------------------------------------- */

struct call {
	struct twm_wasi *w;
	uint8_t *mem;
	uint64_t size;
};

static bool begin(struct twm_call_ctx *ctx, void *env, struct call *c)
{
	c->w = env ? env : twm_ctx_user(ctx);
	c->mem = twm_ctx_memory(ctx, &c->size);
	return c->w != NULL;
}

/* [ptr, ptr+len) lies inside guest memory. Pointers are u32, so the sum cannot overflow u64. */
static bool mem_ok(const struct call *c, uint64_t ptr, uint64_t len)
{
	return c->mem && ptr + len <= c->size;
}

static uint32_t ld32(const struct call *c, uint64_t ptr)
{
	uint32_t v;
	memcpy(&v, c->mem + ptr, 4);
	return v;
}

static void st32(const struct call *c, uint64_t ptr, uint32_t v)
{
	memcpy(c->mem + ptr, &v, 4);
}

static void st64(const struct call *c, uint64_t ptr, uint64_t v)
{
	memcpy(c->mem + ptr, &v, 8);
}

static uint32_t arg32(const uint64_t *args, int i)
{
	return (uint32_t)args[i];
}

#define RETURN_ERRNO(results, e)                                                          \
	do {                                                                              \
		(results)[0] = (uint32_t)(e);                                             \
		return TW_ERR_OK;                                                         \
	} while (0)

#define NO_STATE(ctx) twm_ctx_trap((ctx), "WASI function called without WASI state")

/* ---- args and environ ---------------------------------------------------------------------- */

/* Shared by args_get and environ_get: write n pointers at `vec` and the strings at `buf`. */
static uint32_t put_strings(const struct call *c, char **v, uint32_t n, size_t bytes,
			    uint32_t vec, uint32_t buf)
{
	if (!mem_ok(c, vec, (uint64_t)n * 4) || !mem_ok(c, buf, bytes))
		return TWM_WASI_EFAULT;
	uint32_t at = buf;
	for (uint32_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;
		st32(c, vec + (uint64_t)i * 4, at);
		memcpy(c->mem + at, v[i], len);
		at += (uint32_t)len;
	}
	return TWM_WASI_ESUCCESS;
}

static uint32_t put_sizes(const struct call *c, uint32_t n, size_t bytes, uint32_t pn,
			  uint32_t pbytes)
{
	if (!mem_ok(c, pn, 4) || !mem_ok(c, pbytes, 4))
		return TWM_WASI_EFAULT;
	st32(c, pn, n);
	st32(c, pbytes, (uint32_t)bytes);
	return TWM_WASI_ESUCCESS;
}

static enum tw_err wasi_args_get(struct twm_call_ctx *ctx, const uint64_t *args,
				 uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	RETURN_ERRNO(results, put_strings(&c, c.w->argv, c.w->argc, c.w->args_bytes,
					  arg32(args, 0), arg32(args, 1)));
}

static enum tw_err wasi_args_sizes_get(struct twm_call_ctx *ctx, const uint64_t *args,
				       uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	RETURN_ERRNO(results, put_sizes(&c, c.w->argc, c.w->args_bytes, arg32(args, 0),
					arg32(args, 1)));
}

static enum tw_err wasi_environ_get(struct twm_call_ctx *ctx, const uint64_t *args,
				    uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	RETURN_ERRNO(results, put_strings(&c, c.w->env, c.w->envc, c.w->env_bytes,
					  arg32(args, 0), arg32(args, 1)));
}

static enum tw_err wasi_environ_sizes_get(struct twm_call_ctx *ctx, const uint64_t *args,
					  uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	RETURN_ERRNO(results, put_sizes(&c, c.w->envc, c.w->env_bytes, arg32(args, 0),
					arg32(args, 1)));
}

/* ---- clocks and randomness ---------------------------------------------------------------- */

static bool clock_of(uint32_t id, clockid_t *out)
{
	static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID,
					CLOCK_THREAD_CPUTIME_ID};
	if (id >= sizeof(ids) / sizeof(ids[0]))
		return false;
	*out = ids[id];
	return true;
}

static enum tw_err wasi_clock_res_get(struct twm_call_ctx *ctx, const uint64_t *args,
				      uint64_t *results, void *env)
{
	struct call c;
	clockid_t id;
	struct timespec ts;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	if (!clock_of(arg32(args, 0), &id) || clock_getres(id, &ts) != 0)
		RETURN_ERRNO(results, TWM_WASI_EINVAL);
	if (!mem_ok(&c, arg32(args, 1), 8))
		RETURN_ERRNO(results, TWM_WASI_EFAULT);
	st64(&c, arg32(args, 1), (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

/* (id: i32, precision: i64, time: ptr) */
static enum tw_err wasi_clock_time_get(struct twm_call_ctx *ctx, const uint64_t *args,
				       uint64_t *results, void *env)
{
	struct call c;
	clockid_t id;
	struct timespec ts;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	if (!clock_of(arg32(args, 0), &id) || clock_gettime(id, &ts) != 0)
		RETURN_ERRNO(results, TWM_WASI_EINVAL);
	if (!mem_ok(&c, arg32(args, 2), 8))
		RETURN_ERRNO(results, TWM_WASI_EFAULT);
	st64(&c, arg32(args, 2), (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

static enum tw_err wasi_random_get(struct twm_call_ctx *ctx, const uint64_t *args,
				   uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	uint32_t ptr = arg32(args, 0), len = arg32(args, 1);
	if (!mem_ok(&c, ptr, len))
		RETURN_ERRNO(results, TWM_WASI_EFAULT);
	/* getrandom returns at most 32 MiB per call and may be interrupted: loop, bounded by len. */
	for (uint32_t done = 0; done < len;) {
		ssize_t n = getrandom(c.mem + ptr + done, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			RETURN_ERRNO(results, TWM_WASI_EIO);
		done += (uint32_t)n;
	}
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

/* ---- standard streams ------------------------------------------------------------------------ */

static struct stream *stream_of(struct twm_wasi *w, uint32_t fd)
{
	if (fd > 2 || w->io[fd].closed)
		return NULL;
	return &w->io[fd];
}

/* Check and gather guest iovecs {buf: u32, len: u32} into host ones. */
static uint32_t gather(const struct call *c, uint32_t iovs, uint32_t n, struct iovec *out,
		       uint64_t *total)
{
	if (n > WASI_IOVS_MAX)
		return TWM_WASI_EINVAL;
	if (!mem_ok(c, iovs, (uint64_t)n * 8))
		return TWM_WASI_EFAULT;
	*total = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = ld32(c, iovs + (uint64_t)i * 8);
		uint32_t l = ld32(c, iovs + (uint64_t)i * 8 + 4);
		if (!mem_ok(c, p, l))
			return TWM_WASI_EFAULT;
		out[i].iov_base = c->mem + p;
		out[i].iov_len = l;
		*total += l;
	}
	return TWM_WASI_ESUCCESS;
}

static void capture(struct twm_wasi *w, struct stream *s, const struct iovec *iov, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		size_t len = iov[i].iov_len;
		size_t room = w->capture_max - s->len;
		size_t take = len < room ? len : room;
		if (s->len + take > s->cap) {
			size_t cap = s->cap ? s->cap : 4096;
			while (cap < s->len + take)
				cap *= 2;
			if (cap > w->capture_max)
				cap = w->capture_max;
			uint8_t *nb = realloc(s->buf, cap);
			if (!nb) {
				take = 0;
			} else {
				s->buf = nb;
				s->cap = cap;
			}
		}
		if (take)
			memcpy(s->buf + s->len, iov[i].iov_base, take);
		s->len += take;
		s->dropped += len - take;
	}
}

/* (fd, iovs, iovs_len, nwritten: ptr) */
static enum tw_err wasi_fd_write(struct twm_call_ctx *ctx, const uint64_t *args,
				 uint64_t *results, void *env)
{
	struct call c;
	struct iovec iov[WASI_IOVS_MAX];
	uint64_t total;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	uint32_t fd = arg32(args, 0), nw = arg32(args, 3);
	struct stream *s = stream_of(c.w, fd);
	if (!s || fd == 0)
		RETURN_ERRNO(results, TWM_WASI_EBADF);
	uint32_t e = gather(&c, arg32(args, 1), arg32(args, 2), iov, &total);
	if (e)
		RETURN_ERRNO(results, e);
	if (!mem_ok(&c, nw, 4))
		RETURN_ERRNO(results, TWM_WASI_EFAULT);
	if (s->fd < 0) {
		capture(c.w, s, iov, arg32(args, 2));
		st32(&c, nw, (uint32_t)total);
		RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
	}
	ssize_t n;
	do
		n = writev(s->fd, iov, (int)arg32(args, 2));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		RETURN_ERRNO(results, TWM_WASI_EIO);
	st32(&c, nw, (uint32_t)n);
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

/* (fd, iovs, iovs_len, nread: ptr) */
static enum tw_err wasi_fd_read(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
				void *env)
{
	struct call c;
	struct iovec iov[WASI_IOVS_MAX];
	uint64_t total;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	uint32_t fd = arg32(args, 0), nr = arg32(args, 3), niov = arg32(args, 2);
	struct stream *s = stream_of(c.w, fd);
	if (!s || fd != 0)
		RETURN_ERRNO(results, TWM_WASI_EBADF);
	uint32_t e = gather(&c, arg32(args, 1), niov, iov, &total);
	if (e)
		RETURN_ERRNO(results, e);
	if (!mem_ok(&c, nr, 4))
		RETURN_ERRNO(results, TWM_WASI_EFAULT);
	if (s->fd < 0) {
		size_t got = 0;
		for (uint32_t i = 0; i < niov && c.w->in_pos < c.w->in_len; i++) {
			size_t left = c.w->in_len - c.w->in_pos;
			size_t take = iov[i].iov_len < left ? iov[i].iov_len : left;
			memcpy(iov[i].iov_base, c.w->in + c.w->in_pos, take);
			c.w->in_pos += take;
			got += take;
		}
		st32(&c, nr, (uint32_t)got);
		RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
	}
	ssize_t n;
	do
		n = readv(s->fd, iov, (int)niov);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		RETURN_ERRNO(results, TWM_WASI_EIO);
	st32(&c, nr, (uint32_t)n);
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

static enum tw_err wasi_fd_close(struct twm_call_ctx *ctx, const uint64_t *args,
				 uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	struct stream *s = stream_of(c.w, arg32(args, 0));
	if (!s)
		RETURN_ERRNO(results, TWM_WASI_EBADF);
	/* The host fd is borrowed: only the guest's view of it closes. */
	s->closed = true;
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

/* (fd, offset: i64, whence: u8, newoffset: ptr): the standard streams are not seekable. */
static enum tw_err wasi_fd_seek(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
				void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	if (!stream_of(c.w, arg32(args, 0)))
		RETURN_ERRNO(results, TWM_WASI_EBADF);
	RETURN_ERRNO(results, TWM_WASI_ESPIPE);
}

/* (fd, stat: ptr) -> fdstat {filetype u8 @0, flags u16 @2, rights_base u64 @8,
 * rights_inheriting u64 @16}, 24 bytes. A terminal reads as a character device without seek
 * rights, which is what wasi-libc's isatty() looks for (it line-buffers stdout then). */
static enum tw_err wasi_fd_fdstat_get(struct twm_call_ctx *ctx, const uint64_t *args,
				      uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	uint32_t fd = arg32(args, 0), p = arg32(args, 1);
	struct stream *s = stream_of(c.w, fd);
	if (!s)
		RETURN_ERRNO(results, TWM_WASI_EBADF);
	if (!mem_ok(&c, p, 24))
		RETURN_ERRNO(results, TWM_WASI_EFAULT);
	uint8_t type = FILETYPE_UNKNOWN;
	struct stat st;
	if (s->fd >= 0 && fstat(s->fd, &st) == 0) {
		if (S_ISCHR(st.st_mode))
			type = FILETYPE_CHARACTER_DEVICE;
		else if (S_ISREG(st.st_mode))
			type = FILETYPE_REGULAR_FILE;
		else if (S_ISSOCK(st.st_mode))
			type = FILETYPE_SOCKET_STREAM;
	}
	uint64_t rights = (fd == 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE) | RIGHT_POLL_FD_READWRITE;
	memset(c.mem + p, 0, 24);
	c.mem[p] = type;
	st64(&c, p + 8, rights);
	st64(&c, p + 16, 0);
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

static enum tw_err wasi_fd_fdstat_set_flags(struct twm_call_ctx *ctx, const uint64_t *args,
					    uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	if (!stream_of(c.w, arg32(args, 0)))
		RETURN_ERRNO(results, TWM_WASI_EBADF);
	RETURN_ERRNO(results, arg32(args, 1) == 0 ? TWM_WASI_ESUCCESS : TWM_WASI_ENOSYS);
}

/* No preopened directories: wasi-libc's start-up walks fds from 3 until EBADF. */
static enum tw_err wasi_fd_prestat_get(struct twm_call_ctx *ctx, const uint64_t *args,
				       uint64_t *results, void *env)
{
	(void)ctx, (void)args, (void)env;
	RETURN_ERRNO(results, TWM_WASI_EBADF);
}

static enum tw_err wasi_fd_prestat_dir_name(struct twm_call_ctx *ctx, const uint64_t *args,
					    uint64_t *results, void *env)
{
	(void)ctx, (void)args, (void)env;
	RETURN_ERRNO(results, TWM_WASI_EBADF);
}

/* ---- process ----------------------------------------------------------------------------------- */

static enum tw_err wasi_proc_exit(struct twm_call_ctx *ctx, const uint64_t *args,
				  uint64_t *results, void *env)
{
	(void)results, (void)env;
	return twm_ctx_exit(ctx, (int32_t)arg32(args, 0));
}

static enum tw_err wasi_sched_yield(struct twm_call_ctx *ctx, const uint64_t *args,
				    uint64_t *results, void *env)
{
	(void)ctx, (void)args, (void)env;
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

/*
 * (in: ptr, out: ptr, nsubscriptions, nevents: ptr). Minimal and non-blocking: the engine runs on
 * a server core, so a guest may not sleep on it. Every subscription is reported as ready at once:
 * clocks as expired, fd reads and writes as ready with 0 bytes known. subscription: userdata u64
 * @0, tag u8 @8, 48 bytes; event: userdata u64 @0, error u16 @8, type u8 @10, 32 bytes.
 */
static enum tw_err wasi_poll_oneoff(struct twm_call_ctx *ctx, const uint64_t *args,
				    uint64_t *results, void *env)
{
	struct call c;
	if (!begin(ctx, env, &c))
		return NO_STATE(ctx);
	uint32_t in = arg32(args, 0), out = arg32(args, 1), n = arg32(args, 2);
	uint32_t pn = arg32(args, 3);
	if (n == 0)
		RETURN_ERRNO(results, TWM_WASI_EINVAL);
	if (!mem_ok(&c, in, (uint64_t)n * 48) || !mem_ok(&c, out, (uint64_t)n * 32) ||
	    !mem_ok(&c, pn, 4))
		RETURN_ERRNO(results, TWM_WASI_EFAULT);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *sub = c.mem + in + (uint64_t)i * 48;
		uint8_t *ev = c.mem + out + (uint64_t)i * 32;
		uint8_t tag = sub[8];
		memmove(ev, sub, 8);
		memset(ev + 8, 0, 24);
		ev[10] = tag <= 2 ? tag : 0;
		if (tag > 2)
			ev[8] = TWM_WASI_EINVAL;
	}
	st32(&c, pn, n);
	RETURN_ERRNO(results, TWM_WASI_ESUCCESS);
}

/* ---- binding ------------------------------------------------------------------------------------ */

struct wasi_fn {
	const char *name;
	const char *params; /* 'i' i32, 'I' i64 */
	bool returns_errno;
	enum tw_err (*fn)(struct twm_call_ctx *, const uint64_t *, uint64_t *, void *);
};

static const struct wasi_fn wasi_fns[] = {
	{"args_get", "ii", true, wasi_args_get},
	{"args_sizes_get", "ii", true, wasi_args_sizes_get},
	{"environ_get", "ii", true, wasi_environ_get},
	{"environ_sizes_get", "ii", true, wasi_environ_sizes_get},
	{"clock_res_get", "ii", true, wasi_clock_res_get},
	{"clock_time_get", "iIi", true, wasi_clock_time_get},
	{"random_get", "ii", true, wasi_random_get},
	{"fd_write", "iiii", true, wasi_fd_write},
	{"fd_read", "iiii", true, wasi_fd_read},
	{"fd_close", "i", true, wasi_fd_close},
	{"fd_seek", "iIii", true, wasi_fd_seek},
	{"fd_fdstat_get", "ii", true, wasi_fd_fdstat_get},
	{"fd_fdstat_set_flags", "ii", true, wasi_fd_fdstat_set_flags},
	{"fd_prestat_get", "ii", true, wasi_fd_prestat_get},
	{"fd_prestat_dir_name", "iii", true, wasi_fd_prestat_dir_name},
	{"proc_exit", "i", false, wasi_proc_exit},
	{"sched_yield", "", true, wasi_sched_yield},
	{"poll_oneoff", "iiii", true, wasi_poll_oneoff},
};

enum tw_err twm_wasi_link(struct twm_linker *l, struct twm_wasi *w)
{
	static const uint8_t result_i32[1] = {TWM_I32};
	for (size_t i = 0; i < sizeof(wasi_fns) / sizeof(wasi_fns[0]); i++) {
		const struct wasi_fn *f = &wasi_fns[i];
		uint8_t params[8];
		size_t n = strlen(f->params);
		for (size_t k = 0; k < n; k++)
			params[k] = f->params[k] == 'I' ? TWM_I64 : TWM_I32;
		struct twm_functype ft = {.nparams = (uint32_t)n,
					  .nresults = f->returns_errno ? 1 : 0,
					  .params = params,
					  .results = f->returns_errno ? result_i32 : NULL};
		struct twm_host_func h = {.fn = f->fn, .env = w};
		enum tw_err e = twm_linker_define_func(l, TWM_WASI_MODULE, f->name, &ft, &h);
		if (e)
			return e;
	}
	return TW_ERR_OK;
}

static enum tw_err wasi_enosys(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			       void *env)
{
	(void)ctx, (void)args, (void)env;
	RETURN_ERRNO(results, TWM_WASI_ENOSYS);
}

static enum tw_err wasi_unsupported(struct twm_call_ctx *ctx, const uint64_t *args,
				    uint64_t *results, void *env)
{
	(void)args, (void)results, (void)env;
	return twm_ctx_trap(ctx, "unsupported WASI function");
}

enum tw_err twm_wasi_link_stubs(struct twm_linker *l, const struct twm_module *m)
{
	size_t modlen = strlen(TWM_WASI_MODULE);
	uint32_t n = twm_module_import_count(m);
	for (uint32_t i = 0; i < n; i++) {
		struct twm_import_desc d;
		struct twm_extern ext;
		if (!twm_module_import(m, i, &d) || d.kind != TWM_EXTERN_FUNC)
			continue;
		if (d.module_len != modlen || memcmp(d.module, TWM_WASI_MODULE, modlen) != 0)
			continue;
		/* Names with NUL bytes cannot be defined by name; leave them unlinkable. */
		if (strlen(d.name) != d.name_len)
			continue;
		if (twm_linker_lookup(l, d.module, d.module_len, d.name, d.name_len, &ext))
			continue;
		bool errno_shaped = d.type.func.nresults == 1 && d.type.func.results[0] == TWM_I32;
		struct twm_host_func h = {.fn = errno_shaped ? wasi_enosys : wasi_unsupported,
					  .env = NULL};
		enum tw_err e = twm_linker_define_func(l, TWM_WASI_MODULE, d.name, &d.type.func, &h);
		if (e)
			return e;
	}
	return TW_ERR_OK;
}
