/* auth.c — token table and constant-time checks; see auth.h. */
#include "core/auth.h"

#include "core/ct.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_sep(char c)
{
	return c == ',' || c == ';' || isspace((unsigned char)c);
}

static bool token_char_ok(char c)
{
	return c > 0x20 && c < 0x7f && c != ':' && !is_sep(c);
}

/* Parse one tenant number at *p (advancing it). */
static bool parse_tenant(const char **p, uint64_t *out)
{
	if (!isdigit((unsigned char)**p))
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(*p, &end, 10);
	if (errno || (*end && !is_sep(*end)))
		return false;
	*out = v;
	*p = end;
	return true;
}

enum tw_err tw_auth_add(struct tw_auth *a, const char *spec, char *err, size_t cap)
{
	const char *p = spec ? spec : "";
	uint32_t entry = 0;
	while (*p) {
		while (is_sep(*p))
			p++;
		if (!*p)
			break;
		entry++;
		if (a->ntokens >= TW_AUTH_TOKENS_MAX) {
			snprintf(err, cap, "more than %d tokens", TW_AUTH_TOKENS_MAX);
			return TW_ERR_CONFIG;
		}
		struct tw_auth_token *t = &a->tokens[a->ntokens];
		memset(t, 0, sizeof(*t));
		const char *start = p;
		while (token_char_ok(*p))
			p++;
		size_t len = (size_t)(p - start);
		if (len == 0 || len > TW_AUTH_TOKEN_BYTES_MAX || (*p && *p != ':' && !is_sep(*p))) {
			snprintf(err, cap, "token entry %u: a token is 1..%d printable characters "
				 "without ':', ',', ';' or spaces", entry, TW_AUTH_TOKEN_BYTES_MAX);
			return TW_ERR_CONFIG;
		}
		memcpy(t->secret, start, len);
		t->len = (uint32_t)len;
		if (*p != ':') {
			t->all_tenants = true;
			a->ntokens++;
			continue;
		}
		p++;
		if (strncmp(p, "tenant=", 7) != 0) {
			snprintf(err, cap, "token entry %u: expected 'tenant=' after ':'", entry);
			return TW_ERR_CONFIG;
		}
		p += 7;
		if (*p == '*' && (!p[1] || is_sep(p[1]))) {
			t->all_tenants = true;
			p++;
		} else {
			for (;;) {
				uint64_t v;
				if (t->ntenants >= TW_AUTH_TENANTS_PER_TOKEN_MAX ||
				    !parse_tenant(&p, &v)) {
					snprintf(err, cap, "token entry %u: tenants are '*' or up to "
						 "%d decimal ids", entry, TW_AUTH_TENANTS_PER_TOKEN_MAX);
					return TW_ERR_CONFIG;
				}
				t->tenants[t->ntenants++] = v;
				if (*p != ',' || !isdigit((unsigned char)p[1]))
					break;
				p++;
			}
		}
		if (*p && !is_sep(*p)) {
			snprintf(err, cap, "token entry %u: unexpected text after the tenants", entry);
			return TW_ERR_CONFIG;
		}
		a->ntokens++;
	}
	return TW_ERR_OK;
}

const struct tw_auth_token *tw_auth_check(const struct tw_auth *a, const char *presented, size_t n)
{
	const struct tw_auth_token *found = NULL;
	for (uint32_t i = 0; i < a->ntokens; i++) {
		const struct tw_auth_token *t = &a->tokens[i];
		bool eq = tw_ct_equal(presented, n, t->secret, t->len);
		/* No early exit: every token is compared whatever matched. */
		found = eq && !found ? t : found;
	}
	return found;
}

bool tw_auth_allows(const struct tw_auth_token *t, uint64_t tenant)
{
	if (t->all_tenants)
		return true;
	for (uint32_t i = 0; i < t->ntenants; i++)
		if (t->tenants[i] == tenant)
			return true;
	return false;
}
