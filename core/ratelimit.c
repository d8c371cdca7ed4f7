/* ratelimit.c — lock-free token buckets; see ratelimit.h. */
#include "core/ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/hash.h"

enum { TOKEN_UNIT = 256, CAS_TRIES_MAX = 64, PROBES_MAX = 32 };

#define STATE(ms, units) (((uint64_t)(ms) << 24) | (uint64_t)(units))
#define STATE_MS(s) ((s) >> 24)
#define STATE_UNITS(s) ((uint32_t)((s) & 0xffffff))

enum tw_err tw_ratelimit_init(struct tw_ratelimit *rl, uint32_t burst, double per_second,
			      uint32_t nslots, uint64_t now_ns)
{
	memset(rl, 0, sizeof(*rl));
	if (burst == 0 || burst > TW_RATELIMIT_BURST_MAX || !(per_second > 0) || nslots < 2 ||
	    (nslots & (nslots - 1)))
		return TW_ERR_INVALID_ARG;
	rl->slots = calloc(nslots, sizeof(*rl->slots));
	if (!rl->slots)
		return TW_ERR_NOMEM;
	rl->nslots = nslots;
	rl->burst = burst;
	rl->per_second = per_second;
	rl->start_ns = now_ns;
	return TW_ERR_OK;
}

void tw_ratelimit_destroy(struct tw_ratelimit *rl)
{
	free(rl->slots);
	memset(rl, 0, sizeof(*rl));
}

static uint64_t key_of(uint64_t credential, uint64_t tenant)
{
	uint64_t pair[2] = {credential, tenant};
	uint64_t k = tw_hash64(pair, sizeof(pair));
	return k ? k : 1;
}

/* Find or claim the slot of `key`; NULL when PROBES_MAX slots in a row belong to others. */
static struct tw_ratelimit_slot *find_slot(struct tw_ratelimit *rl, uint64_t key,
					   uint64_t full_state)
{
	uint32_t mask = rl->nslots - 1;
	for (uint32_t i = 0; i < PROBES_MAX; i++) {
		struct tw_ratelimit_slot *s = &rl->slots[(key + i) & mask];
		uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
		if (k == key)
			return s;
		if (k == 0) {
			/* Publish the full bucket's state before the key, so a reader that finds
			 * the key sees a valid state. */
			uint64_t expected = 0;
			atomic_store_explicit(&s->state, full_state, memory_order_relaxed);
			if (atomic_compare_exchange_strong_explicit(&s->key, &expected, key,
								    memory_order_release,
								    memory_order_acquire))
				return s;
			if (expected == key)
				return s;
		}
	}
	return NULL;
}

bool tw_ratelimit_take(struct tw_ratelimit *rl, uint64_t credential, uint64_t tenant,
		       uint64_t now_ns, uint32_t *retry_after_s)
{
	uint64_t now_ms = (now_ns > rl->start_ns ? now_ns - rl->start_ns : 0) / TW_NS_PER_MS;
	uint64_t cap_units = (uint64_t)rl->burst * TOKEN_UNIT;
	struct tw_ratelimit_slot *s = find_slot(rl, key_of(credential, tenant),
						STATE(now_ms, cap_units));
	if (!s)
		s = find_slot(rl, key_of(credential, UINT64_MAX), STATE(now_ms, cap_units));
	if (!s) {
		/* Table saturated around this credential: refuse rather than run unlimited. */
		*retry_after_s = 1;
		return false;
	}
	uint64_t old = atomic_load_explicit(&s->state, memory_order_relaxed);
	for (int tries = 0; tries < CAS_TRIES_MAX; tries++) {
		uint64_t last = STATE_MS(old);
		uint64_t units = STATE_UNITS(old);
		uint64_t ms = now_ms > last ? now_ms : last;
		double refill = (double)(ms - last) * rl->per_second * TOKEN_UNIT / 1000.0;
		uint64_t have = units + (refill >= (double)cap_units ? cap_units : (uint64_t)refill);
		if (have > cap_units)
			have = cap_units;
		/* Keep the fractional refill: advance the clock only by the time the whole units
		 * we credited took. */
		uint64_t credited = have - units;
		uint64_t used_ms = have == cap_units ? ms - last
				   : (uint64_t)ceil((double)credited * 1000.0 /
						    (rl->per_second * TOKEN_UNIT));
		uint64_t new_ms = last + (used_ms < ms - last ? used_ms : ms - last);
		if (have < TOKEN_UNIT) {
			double wait_s = (double)(TOKEN_UNIT - have) / (rl->per_second * TOKEN_UNIT);
			uint32_t w = (uint32_t)ceil(wait_s);
			*retry_after_s = w ? w : 1;
			return false;
		}
		uint64_t next = STATE(new_ms, have - TOKEN_UNIT);
		if (atomic_compare_exchange_weak_explicit(&s->state, &old, next,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return true;
	}
	*retry_after_s = 1; /* heavy contention on one bucket: shed this request */
	return false;
}
