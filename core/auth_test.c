/* auth_test.c — token syntax, scopes and the constant-time compare. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth.h"

static struct tw_auth *fresh(void)
{
	struct tw_auth *a = calloc(1, sizeof(*a));
	cr_assert_not_null(a);
	return a;
}

Test(auth, syntax_and_scopes)
{
	struct tw_auth *a = fresh();
	char err[256];
	cr_assert_eq(tw_auth_add(a, "admin:tenant=*  ro:tenant=1,2,3;plain, x:tenant=7", err,
				 sizeof(err)), TW_ERR_OK, "%s", err);
	cr_assert_eq(a->ntokens, 4);
	const struct tw_auth_token *t = tw_auth_check(a, "ro", 2);
	cr_assert_not_null(t);
	cr_assert(tw_auth_allows(t, 2));
	cr_assert(!tw_auth_allows(t, 4));
	t = tw_auth_check(a, "admin", 5);
	cr_assert(t && tw_auth_allows(t, 123456789));
	t = tw_auth_check(a, "plain", 5);
	cr_assert(t && tw_auth_allows(t, 0), "a bare token covers all tenants");
	t = tw_auth_check(a, "x", 1);
	cr_assert(t && tw_auth_allows(t, 7) && !tw_auth_allows(t, 1));
	cr_assert_null(tw_auth_check(a, "admi", 4));
	cr_assert_null(tw_auth_check(a, "admin2", 6));
	cr_assert_null(tw_auth_check(a, "", 0));
	free(a);
}

Test(auth, comma_continues_tenant_list_then_new_entry)
{
	struct tw_auth *a = fresh();
	char err[256];
	cr_assert_eq(tw_auth_add(a, "a:tenant=1,2,b:tenant=*", err, sizeof(err)), TW_ERR_OK,
		     "%s", err);
	cr_assert_eq(a->ntokens, 2);
	cr_assert_eq(a->tokens[0].ntenants, 2);
	cr_assert(a->tokens[1].all_tenants);
	free(a);
}

Test(auth, bad_specs_do_not_echo_secrets)
{
	char err[256];
	const char *bad[] = {"s3cr3t:tenants=1", "s3cr3t:tenant=", "s3cr3t:tenant=x", "s3cr3t:tenant=1x",
			     "s3cr3t:tenant=-1", ":tenant=1", "s3cr3t:tenant=99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tw_auth *a = fresh();
		cr_assert_eq(tw_auth_add(a, bad[i], err, sizeof(err)), TW_ERR_CONFIG, "%s", bad[i]);
		cr_assert_null(strstr(err, "s3cr3t"), "secret echoed: %s", err);
		free(a);
	}
	struct tw_auth *a = fresh();
	char long_tok[400];
	memset(long_tok, 'k', sizeof(long_tok) - 1);
	long_tok[sizeof(long_tok) - 1] = '\0';
	cr_assert_eq(tw_auth_add(a, long_tok, err, sizeof(err)), TW_ERR_CONFIG);
	cr_assert_eq(tw_auth_add(a, "", err, sizeof(err)), TW_ERR_OK);
	cr_assert(!tw_auth_enabled(a));
	free(a);
}
