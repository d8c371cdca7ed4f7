/* log_test.c — filter parsing and line sanitising. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static void capture_begin(int fds[2])
{
	cr_assert_eq(pipe(fds), 0);
	tw_log_set_fd(fds[1]);
}

static void capture_end(int fds[2], char *out, size_t cap)
{
	tw_log_set_fd(2);
	close(fds[1]);
	ssize_t n = read(fds[0], out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
}

Test(log, filter_default_and_overrides)
{
	cr_assert_eq(tw_log_set_filter("warn,http=debug"), TW_ERR_OK);
	cr_assert(tw_log_enabled(TW_LOG_WARN, TW_LOG_WASM));
	cr_assert(!tw_log_enabled(TW_LOG_INFO, TW_LOG_WASM));
	cr_assert(tw_log_enabled(TW_LOG_DEBUG, TW_LOG_HTTP));
	cr_assert(!tw_log_enabled(TW_LOG_TRACE, TW_LOG_HTTP));
	cr_assert_eq(tw_log_set_filter("http=debug,info"), TW_ERR_OK, "order does not matter");
	cr_assert(tw_log_enabled(TW_LOG_INFO, TW_LOG_CORE));
	cr_assert(tw_log_enabled(TW_LOG_DEBUG, TW_LOG_HTTP));
	cr_assert_eq(tw_log_set_filter(" off , gpu = trace "), TW_ERR_CONFIG,
		     "spaces around '=' are not part of the grammar");
	cr_assert_eq(tw_log_set_filter("off,gpu=trace"), TW_ERR_OK);
	cr_assert(!tw_log_enabled(TW_LOG_ERROR, TW_LOG_CORE));
	cr_assert(tw_log_enabled(TW_LOG_TRACE, TW_LOG_GPU));
	cr_assert_eq(tw_log_set_filter(""), TW_ERR_OK);
	cr_assert(tw_log_enabled(TW_LOG_INFO, TW_LOG_CORE));
	cr_assert(!tw_log_enabled(TW_LOG_DEBUG, TW_LOG_CORE));
}

Test(log, bad_filters_change_nothing)
{
	cr_assert_eq(tw_log_set_filter("debug"), TW_ERR_OK);
	cr_assert_eq(tw_log_set_filter("loud"), TW_ERR_CONFIG);
	cr_assert_eq(tw_log_set_filter("nosuch=debug"), TW_ERR_CONFIG);
	cr_assert_eq(tw_log_set_filter("http=verbose"), TW_ERR_CONFIG);
	cr_assert(tw_log_enabled(TW_LOG_DEBUG, TW_LOG_HTTP), "filter left as it was");
	tw_log_set_filter("info");
}

Test(log, crlf_injection_is_escaped)
{
	int fds[2];
	char out[4096];
	tw_log_set_filter("info");
	capture_begin(fds);
	TW_INFO(HTTP, "path=%s", "/x\r\n2026-01-01T00:00:00Z ERROR forged\x01\x7f");
	TW_DEBUG(HTTP, "filtered out %d", 1);
	capture_end(fds, out, sizeof(out));
	cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "exactly one line: %s", out);
	cr_assert_null(strchr(out, '\r'));
	cr_assert(strstr(out, " INFO  http: path=/x\\r\\n2026"), "%s", out);
	cr_assert(strstr(out, "forged\\x01\\x7f"), "%s", out);
	cr_assert_null(strstr(out, "filtered out"));
}

Test(log, long_lines_are_cut_and_marked)
{
	int fds[2];
	static char big[8192], out[8192];
	memset(big, 'z', sizeof(big) - 1);
	capture_begin(fds);
	TW_WARN(CORE, "%s", big);
	capture_end(fds, out, sizeof(out));
	cr_assert(strstr(out, "[truncated]\n"), "%.80s", out + strlen(out) - 40);
	cr_assert_lt(strlen(out), 2200);
}
