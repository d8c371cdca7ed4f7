/* ct_test.c — tw_ct_equal. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/ct.h"

Test(ct, equal_and_not)
{
	const char *s = "s3cret-token";
	cr_assert(tw_ct_equal(s, strlen(s), "s3cret-token", 12));
	cr_assert(!tw_ct_equal("s3cret-tokeN", 12, s, strlen(s)));
	cr_assert(!tw_ct_equal("s3cret-token-and-more", 21, s, strlen(s)));
	cr_assert(!tw_ct_equal("s3cret", 6, s, strlen(s)));
	cr_assert(!tw_ct_equal("s3cret-tokens3cret-token", 24, s, strlen(s)),
		  "a repetition of the secret is not the secret");
	cr_assert(!tw_ct_equal("", 0, s, strlen(s)));
	cr_assert(tw_ct_equal("", 0, "", 0));
	cr_assert(!tw_ct_equal("x", 1, "", 0));
}
