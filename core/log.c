/* log.c — leveled logging; see log.h. */
#include "core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/limits.h"

_Atomic(uint8_t) tw_log_levels[TW_LOG__SUBSYS_COUNT] = {
#define TW_LOG_SUBSYS_INIT(name, str) [TW_LOG_##name] = TW_LOG_INFO,
	TW_LOG_SUBSYS_LIST(TW_LOG_SUBSYS_INIT)
#undef TW_LOG_SUBSYS_INIT
};

static const char *const subsys_names[] = {
#define TW_LOG_SUBSYS_NAME(name, str) [TW_LOG_##name] = str,
	TW_LOG_SUBSYS_LIST(TW_LOG_SUBSYS_NAME)
#undef TW_LOG_SUBSYS_NAME
};

static const char *const level_names[] = {"off", "error", "warn", "info", "debug", "trace"};
static const char *const level_tags[] = {"OFF  ", "ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};

static _Atomic int log_fd = STDERR_FILENO;

const char *tw_log_level_str(enum tw_log_level level)
{
	return (unsigned)level <= TW_LOG_TRACE ? level_names[level] : "?";
}

const char *tw_log_subsys_str(enum tw_log_subsys sub)
{
	return (unsigned)sub < TW_LOG__SUBSYS_COUNT ? subsys_names[sub] : "?";
}

int tw_log_set_fd(int fd)
{
	return atomic_exchange(&log_fd, fd);
}

static bool parse_level(const char *s, size_t n, enum tw_log_level *out)
{
	for (int i = TW_LOG_OFF; i <= TW_LOG_TRACE; i++) {
		if (strlen(level_names[i]) == n && strncasecmp(s, level_names[i], n) == 0) {
			*out = (enum tw_log_level)i;
			return true;
		}
	}
	return false;
}

static int parse_subsys(const char *s, size_t n)
{
	for (int i = 0; i < TW_LOG__SUBSYS_COUNT; i++)
		if (strlen(subsys_names[i]) == n && strncmp(s, subsys_names[i], n) == 0)
			return i;
	return -1;
}

enum tw_err tw_log_set_filter(const char *spec)
{
	enum tw_log_level dflt = TW_LOG_INFO;
	int8_t over[TW_LOG__SUBSYS_COUNT];
	memset(over, -1, sizeof(over));
	const char *p = spec ? spec : "";
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && (*p == ' '))
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (len) {
			const char *eq = memchr(p, '=', len);
			enum tw_log_level lv;
			if (eq) {
				int sub = parse_subsys(p, (size_t)(eq - p));
				if (sub < 0 || !parse_level(eq + 1, len - (size_t)(eq - p) - 1, &lv))
					return TW_ERR_CONFIG;
				over[sub] = (int8_t)lv;
			} else {
				if (!parse_level(p, len, &lv))
					return TW_ERR_CONFIG;
				dflt = lv;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	for (int i = 0; i < TW_LOG__SUBSYS_COUNT; i++)
		atomic_store_explicit(&tw_log_levels[i], over[i] >= 0 ? (uint8_t)over[i] : dflt,
				      memory_order_relaxed);
	return TW_ERR_OK;
}

void tw_log_init_from_env(void)
{
	const char *spec = getenv("TENSOR_WASM_LOG");
	if (spec && tw_log_set_filter(spec) != TW_ERR_OK) {
		tw_log_set_filter("info");
		TW_WARN(CORE, "TENSOR_WASM_LOG=%s is not a valid filter; using \"info\"", spec);
	}
}

/* Copy `src` into `dst` escaping control bytes. Returns bytes written; stops before `cap`. */
static size_t escape_into(char *dst, size_t cap, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		char esc2 = 0;
		if (c == '\n')
			esc2 = 'n';
		else if (c == '\r')
			esc2 = 'r';
		else if (c == '\t')
			esc2 = 't';
		if (esc2) {
			if (o + 2 > cap)
				break;
			dst[o++] = '\\';
			dst[o++] = esc2;
		} else if (c < 0x20 || c == 0x7f) {
			if (o + 4 > cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			if (o + 1 > cap)
				break;
			dst[o++] = (char)c;
		}
	}
	return o;
}

void tw_log_write(enum tw_log_level level, enum tw_log_subsys sub, const char *fmt, ...)
{
	char msg[TW_LOG_LINE_BYTES_MAX];
	char line[TW_LOG_LINE_BYTES_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t mlen = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	size_t o = tw_rfc3339(tw_wall_ns(), line, sizeof(line));
	o += (size_t)snprintf(line + o, sizeof(line) - o, " %s %s: ",
			      level_tags[level <= TW_LOG_TRACE ? level : 0],
			      tw_log_subsys_str(sub));
	const size_t tail = 16; /* room for the truncation mark and newline */
	o += escape_into(line + o, sizeof(line) - o - tail, msg, mlen);
	if ((size_t)n >= sizeof(msg)) {
		memcpy(line + o, " [truncated]", 12);
		o += 12;
	}
	line[o++] = '\n';
	ssize_t w = write(atomic_load(&log_fd), line, o);
	(void)w; /* nowhere left to report a failing log write */
}
