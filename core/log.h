/*
 * log.h — leveled logging with a per-subsystem filter.
 *
 * The filter comes from TENSOR_WASM_LOG: a default level and per-subsystem overrides, e.g.
 * "info", "warn,http=debug", "http=debug,info". Levels: off, error, warn, info, debug, trace.
 *
 * A line is "<RFC 3339 UTC> <LEVEL> <subsystem>: <message>\n", written with one write(2) so lines
 * from different threads never interleave. Every byte of the message below 0x20 (and DEL) is
 * escaped ("\n", "\r", "\t", "\xNN"), so guest- or client-controlled text cannot forge a log line.
 * Checking whether a level is enabled is one load; formatting happens only when it is.
 */
#ifndef TW_CORE_LOG_H
#define TW_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

enum tw_log_level {
	TW_LOG_OFF = 0,
	TW_LOG_ERROR,
	TW_LOG_WARN,
	TW_LOG_INFO,
	TW_LOG_DEBUG,
	TW_LOG_TRACE,
};

/* The subsystems a line can come from; names are what TENSOR_WASM_LOG uses. */
#define TW_LOG_SUBSYS_LIST(X)                                                             \
	X(CORE, "core")                                                                   \
	X(WORKER, "worker")                                                               \
	X(METRICS, "metrics")                                                             \
	X(WASM, "wasm")                                                                   \
	X(WASI, "wasi")                                                                   \
	X(GPU, "gpu")                                                                     \
	X(JIT, "jit")                                                                     \
	X(HTTP, "http")                                                                   \
	X(API, "api")                                                                     \
	X(STORE, "store")                                                                 \
	X(GUEST, "guest")

enum tw_log_subsys {
#define TW_LOG_SUBSYS_ENUM(name, str) TW_LOG_##name,
	TW_LOG_SUBSYS_LIST(TW_LOG_SUBSYS_ENUM)
#undef TW_LOG_SUBSYS_ENUM
	TW_LOG__SUBSYS_COUNT
};

/* Current level per subsystem. Written by tw_log_set_filter (start-up), read by every thread. */
extern _Atomic(uint8_t) tw_log_levels[TW_LOG__SUBSYS_COUNT];

static inline bool tw_log_enabled(enum tw_log_level level, enum tw_log_subsys sub)
{
	return level <= tw_log_levels[sub];
}

/* Parse and apply a filter spec. On TW_ERR_CONFIG nothing is changed. An empty or NULL spec
 * means "info". */
enum tw_err tw_log_set_filter(const char *spec);

/* Apply TENSOR_WASM_LOG if set; a bad value is reported once and "info" is used. */
void tw_log_init_from_env(void);

/* Send lines to `fd` instead of stderr (tests). Returns the previous fd. */
int tw_log_set_fd(int fd);

const char *tw_log_level_str(enum tw_log_level level);
const char *tw_log_subsys_str(enum tw_log_subsys sub);

/* Format and write one line; prefer the TW_LOG macro, which skips formatting when filtered. */
void tw_log_write(enum tw_log_level level, enum tw_log_subsys sub, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TW_LOG(level, sub, ...)                                                           \
	do {                                                                              \
		if (tw_log_enabled(TW_LOG_##level, TW_LOG_##sub))                         \
			tw_log_write(TW_LOG_##level, TW_LOG_##sub, __VA_ARGS__);          \
	} while (0)

#define TW_ERROR(sub, ...) TW_LOG(ERROR, sub, __VA_ARGS__)
#define TW_WARN(sub, ...) TW_LOG(WARN, sub, __VA_ARGS__)
#define TW_INFO(sub, ...) TW_LOG(INFO, sub, __VA_ARGS__)
#define TW_DEBUG(sub, ...) TW_LOG(DEBUG, sub, __VA_ARGS__)
#define TW_TRACE(sub, ...) TW_LOG(TRACE, sub, __VA_ARGS__)

#endif
