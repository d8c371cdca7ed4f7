/*
 * clock.h — time for the whole program.
 *
 * tw_now_ns() is CLOCK_MONOTONIC in nanoseconds: use it for every duration, deadline and timeout.
 * tw_wall_ns() is CLOCK_REALTIME: use it only for what people read (log stamps, HTTP Date).
 * Both are vDSO calls (~20 ns) and safe from any thread.
 */
#ifndef TW_CORE_CLOCK_H
#define TW_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t tw_now_ns(void);
uint64_t tw_wall_ns(void);

/* Format `wall_ns` as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 bytes + NUL) into
 * `buf` of at least 30 bytes. Returns the length written (29). */
size_t tw_http_date(uint64_t wall_ns, char *buf, size_t cap);

/* Format `wall_ns` as RFC 3339 UTC with microseconds ("2026-11-22T21:14:05.123456Z") into `buf`
 * of at least 28 bytes. Returns the length written. */
size_t tw_rfc3339(uint64_t wall_ns, char *buf, size_t cap);

#define TW_NS_PER_MS 1000000ull
#define TW_NS_PER_S 1000000000ull

#endif
