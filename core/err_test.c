/* err_test.c — error strings and errno mapping. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "core/err.h"

Test(err, every_value_has_distinct_kind_and_message)
{
	for (int i = 0; i < TW_ERR__COUNT; i++) {
		const char *k = tw_err_str((enum tw_err)i);
		cr_assert(k && *k && strcmp(k, "unknown") != 0, "value %d", i);
		cr_assert(tw_err_msg((enum tw_err)i)[0]);
		for (const char *c = k; *c; c++)
			cr_assert((*c >= 'a' && *c <= 'z') || *c == '_' || (*c >= '0' && *c <= '9'),
				  "kind %s must be snake_case", k);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(k, tw_err_str((enum tw_err)j));
	}
}

Test(err, stable_names)
{
	cr_assert_str_eq(tw_err_str(TW_ERR_OK), "ok");
	cr_assert_str_eq(tw_err_str(TW_ERR_NOT_FOUND), "not_found");
	cr_assert_str_eq(tw_err_str(TW_ERR_INVALID_JSON), "invalid_json");
	cr_assert_str_eq(tw_err_str(TW_ERR_RATE_LIMITED), "rate_limited");
	cr_assert_str_eq(tw_err_str((enum tw_err)TW_ERR__COUNT), "unknown");
	cr_assert_str_eq(tw_err_str((enum tw_err)-1), "unknown");
}

Test(err, errno_mapping)
{
	cr_assert_eq(tw_err_from_errno(0), TW_ERR_OK);
	cr_assert_eq(tw_err_from_errno(-ENOMEM), TW_ERR_NOMEM);
	cr_assert_eq(tw_err_from_errno(ENOSPC), TW_ERR_NO_SPACE);
	cr_assert_eq(tw_err_from_errno(-EAGAIN), TW_ERR_AGAIN);
	cr_assert_eq(tw_err_from_errno(-EPERM), TW_ERR_SYSTEM);
}
