/*
 * ct.h — comparisons whose time does not depend on secret bytes.
 *
 * For bearer tokens (the API's and /metrics'): an attacker who can time many requests must not
 * learn how many leading bytes of a guess were right.
 */
#ifndef TW_CORE_CT_H
#define TW_CORE_CT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether `given` (gn bytes, from the client) equals `secret` (sn bytes). The time taken depends
 * only on gn, never on the content of either side nor on where they first differ; sn is not
 * revealed beyond whether it equals gn. An empty secret matches only an empty input.
 */
bool tw_ct_equal(const void *given, size_t gn, const void *secret, size_t sn);

#endif
