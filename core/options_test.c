/* options_test.c — the option table: defaults, environment, flags, errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "core/options.h"

static enum tw_err parse(struct tw_config *c, enum tw_cmd cmd, int argc, char **argv, int *first,
			 char *err)
{
	bool help;
	tw_config_defaults(c);
	return tw_config_parse(c, cmd, argc, argv, 0, first, &help, err, 256);
}

Test(options, defaults_come_from_limits)
{
	struct tw_config c;
	tw_config_defaults(&c);
	cr_assert_str_eq(c.listen, "127.0.0.1:8080");
	cr_assert_eq(c.max_body_bytes, TW_HTTP_BODY_BYTES_MAX);
	cr_assert_eq(c.deadline_ms, TW_INVOKE_DEADLINE_MS);
	cr_assert_str_eq(c.offload, "auto");
}

Test(options, flags_both_forms_and_first_positional)
{
	struct tw_config c;
	char err[256];
	int first;
	char *argv[] = {"--workers", "3", "--listen=0.0.0.0:9000", "--max-body-bytes=2M",
			"--pin-workers=false", "file.wasm", "--workers", "9"};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 8, argv, &first, err), TW_ERR_OK, "%s", err);
	cr_assert_eq(c.workers, 3);
	cr_assert_str_eq(c.listen, "0.0.0.0:9000");
	cr_assert_eq(c.max_body_bytes, 2u << 20);
	cr_assert_eq(c.pin_workers, false);
	cr_assert_eq(first, 5, "parsing stops at the first non-option");
}

Test(options, double_dash_ends_options)
{
	struct tw_config c;
	char err[256];
	int first;
	char *argv[] = {"--deadline-ms", "5", "--", "--not-an-option"};
	cr_assert_eq(parse(&c, TW_CMD_RUN, 4, argv, &first, err), TW_ERR_OK, "%s", err);
	cr_assert_eq(first, 3);
	cr_assert_eq(c.deadline_ms, 5);
}

Test(options, errors_are_reported)
{
	struct tw_config c;
	char err[256];
	int first;
	char *unknown[] = {"--no-such-flag"};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 1, unknown, &first, err), TW_ERR_USAGE);
	cr_assert(strstr(err, "no-such-flag"));
	char *range[] = {"--workers", "100000"};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 2, range, &first, err), TW_ERR_USAGE);
	cr_assert(strstr(err, "outside"), "%s", err);
	char *junk[] = {"--workers=3x"};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 1, junk, &first, err), TW_ERR_USAGE);
	char *suffix_on_int[] = {"--workers=3K"};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 1, suffix_on_int, &first, err), TW_ERR_USAGE);
	char *missing[] = {"--listen"};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 1, missing, &first, err), TW_ERR_USAGE);
	cr_assert(strstr(err, "needs a value"), "%s", err);
	char *wrong_cmd[] = {"--listen", "x"};
	cr_assert_eq(parse(&c, TW_CMD_RUN, 2, wrong_cmd, &first, err), TW_ERR_USAGE,
		     "serve-only options are refused by run");
	char long_val[300];
	memset(long_val, 'a', sizeof(long_val) - 1);
	long_val[sizeof(long_val) - 1] = '\0';
	char *too_long[] = {"--listen", long_val};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 2, too_long, &first, err), TW_ERR_USAGE);
}

Test(options, environment_then_flags)
{
	struct tw_config c;
	char err[256];
	int first;
	setenv("TENSOR_WASM_WORKERS", "2", 1);
	setenv("TENSOR_WASM_PIN_WORKERS", "off", 1);
	char *none[] = {"x"};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 1, none, &first, err), TW_ERR_OK, "%s", err);
	cr_assert_eq(c.workers, 2);
	cr_assert_eq(c.pin_workers, false);
	char *flag[] = {"--workers=4"};
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 1, flag, &first, err), TW_ERR_OK, "%s", err);
	cr_assert_eq(c.workers, 4, "a flag overrides the environment");
	setenv("TENSOR_WASM_WORKERS", "many", 1);
	cr_assert_eq(parse(&c, TW_CMD_SERVE, 1, none, &first, err), TW_ERR_USAGE);
	cr_assert(strstr(err, "TENSOR_WASM_WORKERS"), "%s", err);
	unsetenv("TENSOR_WASM_WORKERS");
	unsetenv("TENSOR_WASM_PIN_WORKERS");
}

Test(options, sizes)
{
	uint64_t v;
	cr_assert(tw_parse_size("0", &v) && v == 0);
	cr_assert(tw_parse_size("64M", &v) && v == 64ull << 20);
	cr_assert(tw_parse_size("1g", &v) && v == 1ull << 30);
	cr_assert(!tw_parse_size("", &v));
	cr_assert(!tw_parse_size("-1", &v));
	cr_assert(!tw_parse_size("1T", &v));
	cr_assert(!tw_parse_size("99999999999999999999", &v));
	cr_assert(!tw_parse_size("17179869184G", &v), "overflow after the shift");
}

Test(options, help_lists_env_and_defaults)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	tw_config_print_help(f, TW_CMD_SERVE);
	fclose(f);
	cr_assert(strstr(buf, "--workers N"));
	cr_assert(strstr(buf, "TENSOR_WASM_WORKERS"));
	cr_assert(strstr(buf, "[default 127.0.0.1:8080"));
	cr_assert_null(strstr(buf, "--url"), "client options are not serve's");
	free(buf);
}
