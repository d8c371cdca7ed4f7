/* clock.c — monotonic and wall clocks, date formatting; see clock.h. */
#include "core/clock.h"

#include <assert.h>
#include <stdio.h>
#include <time.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * TW_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t tw_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t tw_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

size_t tw_http_date(uint64_t wall_ns, char *buf, size_t cap)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	assert(cap >= 30);
	time_t t = (time_t)(wall_ns / TW_NS_PER_S);
	struct tm tm;
	gmtime_r(&t, &tm);
	int n = snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
			 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
	return n < 0 ? 0 : (size_t)n;
}

size_t tw_rfc3339(uint64_t wall_ns, char *buf, size_t cap)
{
	assert(cap >= 28);
	time_t t = (time_t)(wall_ns / TW_NS_PER_S);
	struct tm tm;
	gmtime_r(&t, &tm);
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (unsigned)(wall_ns % TW_NS_PER_S / 1000));
	return n < 0 ? 0 : (size_t)n;
}
