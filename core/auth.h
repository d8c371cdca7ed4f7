/*
 * auth.h — bearer tokens and their tenant scopes.
 *
 * Tokens come from TENSOR_WASM_API_TOKENS and/or --token, in one syntax:
 *     TOKEN:tenant=*            the token may act for every tenant
 *     TOKEN:tenant=1,2,3        only for these tenants
 *     TOKEN                     same as TOKEN:tenant=*
 * Entries are separated by whitespace, ';' or ','; a ',' followed by a number continues the
 * tenant list of the entry before it ("a:tenant=1,2,b:tenant=*" is two entries). Tokens are
 * 1..TW_AUTH_TOKEN_BYTES_MAX printable characters without ':', ',', ';' or whitespace.
 *
 * Checking a presented token compares it against every configured token (core/ct.h) in time
 * that depends only on the number of tokens and the presented length, never on their contents or
 * on where a mismatch is.
 *
 * The table is built once at start-up and read-only afterwards (shared by all workers).
 */
#ifndef TW_CORE_AUTH_H
#define TW_CORE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#ifndef TW_AUTH_TOKEN_BYTES_MAX
#define TW_AUTH_TOKEN_BYTES_MAX 256 /* longer than any generated secret; bounds compare time */
#endif
#ifndef TW_AUTH_TOKENS_MAX
#define TW_AUTH_TOKENS_MAX 256 /* the compare touches every token: keep the table small */
#endif
#ifndef TW_AUTH_TENANTS_PER_TOKEN_MAX
#define TW_AUTH_TENANTS_PER_TOKEN_MAX 64
#endif

struct tw_auth_token {
	unsigned char secret[TW_AUTH_TOKEN_BYTES_MAX]; /* zero-padded */
	uint32_t len;
	bool all_tenants;
	uint32_t ntenants;
	uint64_t tenants[TW_AUTH_TENANTS_PER_TOKEN_MAX];
};

struct tw_auth {
	uint32_t ntokens;
	struct tw_auth_token tokens[TW_AUTH_TOKENS_MAX];
};

/* Add the entries of `spec` to `a` (which starts zeroed). On TW_ERR_CONFIG `err` says which
 * entry is wrong, without echoing the secret. */
enum tw_err tw_auth_add(struct tw_auth *a, const char *spec, char *err, size_t cap);

static inline bool tw_auth_enabled(const struct tw_auth *a)
{
	return a->ntokens > 0;
}

/* The token matching `presented` (n bytes), or NULL. Constant time in the token contents. */
const struct tw_auth_token *tw_auth_check(const struct tw_auth *a, const char *presented,
					  size_t n);

/* May this token act for `tenant`? */
bool tw_auth_allows(const struct tw_auth_token *t, uint64_t tenant);

#endif
