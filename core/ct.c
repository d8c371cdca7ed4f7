/* ct.c — constant-time comparison; see ct.h. */
#include "core/ct.h"

#include <stdint.h>

bool tw_ct_equal(const void *given, size_t gn, const void *secret, size_t sn)
{
	const unsigned char *g = given, *s = secret;
	/* Walk the client's length, reading the secret cyclically, so the loop's length and its
	 * memory accesses depend only on what the client sent. */
	uint64_t diff = (uint64_t)(gn ^ sn);
	if (sn == 0)
		return gn == 0;
	for (size_t i = 0, j = 0; i < gn; i++) {
		diff |= (uint64_t)(g[i] ^ s[j]);
		j = (j + 1 == sn) ? 0 : j + 1;
	}
	/* Keep the compiler from turning the accumulated difference into an early exit. */
	__asm__ volatile("" : "+r"(diff));
	return diff == 0;
}
