/*
 * ratelimit.h — token buckets keyed by (credential, tenant), shared by every worker.
 *
 * A bucket holds up to `burst` tokens and refills at `per_second`; a request takes one. Buckets
 * live in a fixed open-addressing table allocated at start-up; each bucket's state (tokens in
 * 1/256 units and the last refill time in ms) is one 64-bit word updated with compare-and-swap,
 * so no lock is taken and no memory is allocated on the request path. When the table is full a
 * key falls back to an overflow bucket of its credential, so a client inventing tenant ids
 * cannot escape its limit or grow the table.
 *
 * Time is passed in (monotonic ns), so tests drive the clock.
 */
#ifndef TW_CORE_RATELIMIT_H
#define TW_CORE_RATELIMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#ifndef TW_RATELIMIT_SLOTS
#define TW_RATELIMIT_SLOTS 65536 /* ~1 MiB; far more than tokens x active tenants */
#endif
#define TW_RATELIMIT_BURST_MAX 65535 /* 16 bits of whole tokens in the packed state */

struct tw_ratelimit_slot {
	_Atomic uint64_t key;   /* 0 = empty */
	_Atomic uint64_t state; /* ms since start << 24 | tokens * 256 */
};

struct tw_ratelimit {
	struct tw_ratelimit_slot *slots; /* owned */
	uint32_t nslots;                 /* power of two */
	uint32_t burst;
	double per_second;
	uint64_t start_ns;
};

/* Set up a limiter; `burst` 1..TW_RATELIMIT_BURST_MAX, `per_second` > 0. */
enum tw_err tw_ratelimit_init(struct tw_ratelimit *rl, uint32_t burst, double per_second,
			      uint32_t nslots, uint64_t now_ns);
void tw_ratelimit_destroy(struct tw_ratelimit *rl);

/* Take one token from the bucket of (credential, tenant). Returns true when allowed; when
 * refused, *retry_after_s is the whole seconds (>= 1) until a token will be there. Any thread. */
bool tw_ratelimit_take(struct tw_ratelimit *rl, uint64_t credential, uint64_t tenant,
		       uint64_t now_ns, uint32_t *retry_after_s);

#endif
