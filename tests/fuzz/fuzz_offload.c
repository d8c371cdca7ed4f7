/*
 * fuzz_offload.c — libFuzzer target for loop analysis and offload dispatch.
 *
 * Input byte 0 picks the mode:
 *   even: the rest is a wasm module; if it loads, jit_analyze_module must not crash.
 *   odd:  the rest drives a generator of clang-like loops: one function
 *         f(out, a, b, n, ki, kl, kf, kd) whose body is a counted loop over `lanes` unrolled
 *         elements computing a random expression of loads from a[] and b[], the scalar
 *         parameters and constants, stored to out[] (or summed into a local), with now and
 *         then a shape the analysis must refuse or the dispatch must decline (mismatched lanes,
 *         overlapping arrays, an exit the trip count cannot reach, an out-of-bounds tail).
 *         The module runs twice from identical memory: without the hook and with the hook
 *         in host mode. Results, traps and every byte of memory must agree bit for bit, NaN
 *         results included (the dispatch leaves loops with NaN results to the interpreter).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jit_analyze.h"
#include "jit/jit_offload.h"
#include "wasm/twm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_BYTES 65536u
#define BODY_MAX 4096
#define FUZZ_FUEL 4000000 /* per call: far more than any generated loop needs to trap or end */

struct gen {
	const uint8_t *p;
	size_t n, i;
	uint8_t body[BODY_MAX];
	size_t len;
	uint8_t t;   /* element type: 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64 */
	unsigned es; /* element size */
};

static unsigned take(struct gen *g)
{
	return g->i < g->n ? g->p[g->i++] : 0;
}

static void emit(struct gen *g, uint8_t b)
{
	if (g->len < BODY_MAX)
		g->body[g->len++] = b;
}

static void emit_uleb(struct gen *g, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		emit(g, (uint8_t)(b | (v ? 0x80 : 0)));
	} while (v);
}

static void emit_sleb(struct gen *g, int64_t v)
{
	for (;;) {
		uint8_t b = v & 0x7f;
		v >>= 7;
		bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
		emit(g, (uint8_t)(b | (done ? 0 : 0x80)));
		if (done)
			return;
	}
}

static bool is_float(uint8_t t)
{
	return t == 0x7d || t == 0x7c;
}

/* Opcode of an operation on the element type, by i32 opcode. */
static uint8_t op_for(uint8_t t, uint8_t i32op)
{
	if (t == 0x7f)
		return i32op;
	return (uint8_t)(i32op + (0x7c - 0x6a)); /* i64 arithmetic is 18 above i32's */
}

/* address of element (i + lane) of array in local `arr`: arr + (i << log2 es), offset lane*es */
static void emit_addr(struct gen *g, unsigned arr)
{
	emit(g, 0x20), emit_uleb(g, arr);
	emit(g, 0x20), emit_uleb(g, 8);
	emit(g, 0x41), emit_sleb(g, g->es == 8 ? 3 : 2);
	emit(g, 0x74);
	emit(g, 0x6a);
}

static uint8_t load_op(uint8_t t)
{
	return t == 0x7f ? 0x28 : t == 0x7e ? 0x29 : t == 0x7d ? 0x2a : 0x2b;
}

/* One random expression of the element type, replayed identically for every lane from the
 * same script bytes. */
static void emit_expr(struct gen *g, const uint8_t *script, size_t *pos, size_t slen,
		      unsigned lane, unsigned depth, bool skew)
{
	unsigned c = *pos < slen ? script[(*pos)++] : 0;
	uint8_t t = g->t;
	if (depth >= 3 || c % 8 < 3) {
		switch (c % 4) {
		case 0:
		case 1: { /* a[i + lane] or b[i + lane] */
			emit_addr(g, c % 4 == 0 ? 1 : 2);
			emit(g, load_op(t));
			emit(g, g->es == 8 ? 3 : 2);
			emit_uleb(g, lane * g->es + (skew && lane == 1 ? g->es : 0));
			return;
		}
		case 2: /* the scalar parameter of this type */
			emit(g, 0x20);
			emit_uleb(g, t == 0x7f ? 4 : t == 0x7e ? 5 : t == 0x7d ? 6 : 7);
			return;
		default: {
			int v = (int)(c >> 2) - 20;
			if (t == 0x7f) {
				emit(g, 0x41), emit_sleb(g, v);
			} else if (t == 0x7e) {
				emit(g, 0x42), emit_sleb(g, v);
			} else if (t == 0x7d) {
				float f = (float)v / 4.0f;
				uint32_t b;
				memcpy(&b, &f, 4);
				emit(g, 0x43);
				for (int k = 0; k < 4; k++)
					emit(g, (uint8_t)(b >> (8 * k)));
			} else {
				double d = (double)v / 4.0;
				uint64_t b;
				memcpy(&b, &d, 8);
				emit(g, 0x44);
				for (int k = 0; k < 8; k++)
					emit(g, (uint8_t)(b >> (8 * k)));
			}
			return;
		}
		}
	}
	unsigned sel = (c >> 3) % 8;
	if (sel == 7) { /* select(x, y, x < y) */
		emit_expr(g, script, pos, slen, lane, depth + 1, skew);
		emit_expr(g, script, pos, slen, lane, depth + 1, skew);
		emit(g, 0x20), emit_uleb(g, 4); /* ki as the condition */
		emit(g, 0x1b);
		return;
	}
	if (sel == 6) { /* unary */
		emit_expr(g, script, pos, slen, lane, depth + 1, skew);
		if (is_float(t))
			emit(g, t == 0x7d ? (c & 1 ? 0x8c : 0x8b) : (c & 1 ? 0x9a : 0x99));
		else /* x == 0 widened back */
			emit(g, t == 0x7f ? 0x45 : 0x50), emit(g, t == 0x7f ? 0x01 : 0xad);
		return;
	}
	emit_expr(g, script, pos, slen, lane, depth + 1, skew);
	emit_expr(g, script, pos, slen, lane, depth + 1, skew);
	if (is_float(t)) {
		static const uint8_t fops[6] = {0, 1, 2, 3, 4, 5}; /* add sub mul div min max */
		emit(g, (uint8_t)((t == 0x7d ? 0x92 : 0xa0) + fops[sel % 6]));
	} else {
		static const uint8_t iops[6] = {0x6a, 0x6b, 0x6c, 0x6d, 0x71, 0x73};
		emit(g, op_for(t, iops[sel % 6]));
	}
}

static size_t put_uleb(uint8_t *o, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		o[n++] = (uint8_t)(b | (v ? 0x80 : 0));
	} while (v);
	return n;
}

static size_t section(uint8_t *o, uint8_t id, const uint8_t *body, size_t len)
{
	size_t n = 0;
	o[n++] = id;
	n += put_uleb(o + n, len);
	memcpy(o + n, body, len);
	return n + len;
}

/* Build the module; returns its length in out. */
static size_t build(struct gen *g, uint8_t *out, unsigned lanes, bool reduce, bool skew,
		    unsigned exit_kind)
{
	const uint8_t *script = g->p + g->i;
	size_t slen = g->n - g->i;
	g->len = 0;
	/* locals: 8 = i (i32), 9 = acc (element type), 10 = count-down (i32, starts at n) */
	emit(g, 3), emit(g, 1), emit(g, 0x7f), emit(g, 1), emit(g, g->t), emit(g, 1), emit(g, 0x7f);
	emit(g, 0x41), emit(g, 0), emit(g, 0x21), emit(g, 8);
	emit(g, 0x20), emit(g, 3), emit(g, 0x21), emit(g, 10);
	emit(g, 0x03), emit(g, 0x40);
	for (unsigned l = 0; l < lanes; l++) {
		size_t pos = 0;
		if (!reduce)
			emit_addr(g, 0);
		emit_expr(g, script, &pos, slen, l, 0, skew);
		if (reduce) {
			emit(g, 0x20), emit(g, 9);
			emit(g, is_float(g->t) ? (g->t == 0x7d ? 0x92 : 0xa0) : op_for(g->t, 0x6a));
			emit(g, 0x21), emit(g, 9);
		} else {
			emit(g, (uint8_t)(load_op(g->t) + 0x0e)); /* the store of the same type */
			emit(g, g->es == 8 ? 3 : 2);
			emit_uleb(g, l * g->es);
		}
	}
	emit(g, 0x20), emit(g, 8);
	emit(g, 0x41), emit_sleb(g, (int64_t)lanes);
	emit(g, 0x6a);
	if (exit_kind < 3) {
		emit(g, 0x22), emit(g, 8);
		emit(g, 0x20), emit(g, 3);
		emit(g, exit_kind == 0 ? 0x49 : exit_kind == 1 ? 0x47 : 0x48); /* lt_u ne lt_s */
	} else {
		/* clang's remainder shape: a second counter runs down to zero */
		emit(g, 0x21), emit(g, 8);
		emit(g, 0x20), emit(g, 10);
		emit(g, 0x41), emit_sleb(g, (int64_t)lanes);
		emit(g, 0x6b);
		emit(g, 0x22), emit(g, 10);
		if (exit_kind == 4) /* > 0, signed, or its mirror 0 < x */
			emit(g, 0x41), emit(g, 0), emit(g, 0x4a);
	}
	emit(g, 0x0d), emit(g, 0);
	emit(g, 0x0b);
	emit(g, 0x20), emit(g, 9); /* the accumulator and the counter are the results */
	emit(g, 0x20), emit(g, 8);
	emit(g, 0x0b);

	uint8_t tmp[BODY_MAX + 64];
	size_t n = 0;
	static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
	memcpy(out, head, 8);
	n = 8;
	uint8_t type[] = {1, 0x60, 8, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7e, 0x7d, 0x7c, 2, g->t, 0x7f};
	n += section(out + n, 1, type, sizeof(type));
	static const uint8_t func[] = {1, 0};
	n += section(out + n, 3, func, sizeof(func));
	static const uint8_t mem[] = {1, 0, 1};
	n += section(out + n, 5, mem, sizeof(mem));
	static const uint8_t exp[] = {2, 1, 'f', 0, 0, 1, 'm', 2, 0};
	n += section(out + n, 7, exp, sizeof(exp));
	size_t k = 0;
	tmp[k++] = 1;
	k += put_uleb(tmp + k, g->len);
	memcpy(tmp + k, g->body, g->len);
	k += g->len;
	n += section(out + n, 10, tmp, k);
	return n;
}

struct outcome {
	enum tw_err e;
	enum twm_trap trap;
	struct twm_value res[2];
	uint8_t mem[MEM_BYTES];
};

static void run_once(struct twm_module *m, const struct twm_value *args, const uint8_t *init,
		     struct jit_offload *off, struct outcome *o)
{
	struct twm_instance *inst;
	struct twm_error err = {0};
	struct twm_extern f, mem;
	memset(o, 0, sizeof(*o));
	o->e = twm_instantiate(m, NULL, NULL, &inst, &err);
	if (o->e != TW_ERR_OK)
		abort(); /* the generator only builds valid modules */
	if (twm_instance_export(inst, "f", &f) || twm_instance_export(inst, "m", &mem))
		abort();
	uint64_t bytes;
	uint8_t *p = twm_memory_data(mem.u.memory, &bytes);
	memcpy(p, init, MEM_BYTES);
	if (off)
		jit_offload_attach(off, inst);
	/* Bounded: a generated exit may never be reached by a loop that touches no memory. */
	o->e = twm_call_begin(inst, f.u.func, args, 8, &err);
	if (o->e == TW_ERR_OK)
		o->e = twm_call_run(inst, FUZZ_FUEL, &err);
	if (o->e == TW_ERR_WASM_FUEL)
		twm_call_abort(inst);
	else if (o->e == TW_ERR_OK)
		twm_call_results(inst, o->res, 2);
	o->trap = err.trap;
	memcpy(o->mem, p, MEM_BYTES);
	twm_instance_free(inst);
}

/* How often generated loops matched and ran; printed at exit with FUZZ_OFFLOAD_STATS=1 to
 * check that the generator reaches the dispatch path, not only the analysis. */
static struct {
	uint64_t generated, matched, success, fallback;
} tally;

static void print_tally(void)
{
	fprintf(stderr, "fuzz_offload: generated=%llu matched=%llu success=%llu fallback=%llu\n",
		(unsigned long long)tally.generated, (unsigned long long)tally.matched,
		(unsigned long long)tally.success, (unsigned long long)tally.fallback);
}

static void generated(const uint8_t *data, size_t size)
{
	static bool hooked;
	if (!hooked && getenv("FUZZ_OFFLOAD_STATS")) {
		atexit(print_tally);
		hooked = true;
	}
	static struct gen g;
	static uint8_t wasm[BODY_MAX + 256];
	static uint8_t init[MEM_BYTES];
	static struct outcome a, b;
	memset(&g, 0, sizeof(g));
	g.p = data, g.n = size;
	unsigned h0 = take(&g), h1 = take(&g), h2 = take(&g), h3 = take(&g), h4 = take(&g);
	static const uint8_t types[4] = {0x7f, 0x7e, 0x7d, 0x7c};
	g.t = types[h0 % 4];
	g.es = g.t == 0x7f || g.t == 0x7d ? 4 : 8;
	unsigned lanes = 1u << ((h0 >> 2) % 3);
	bool reduce = (h0 >> 4) % 4 == 0;
	bool skew = (h0 >> 6) == 3;
	unsigned exit_kind = h1 % 5;
	size_t len = build(&g, wasm, lanes, reduce, skew, exit_kind);

	struct twm_module *m;
	struct twm_error err;
	if (twm_module_load(wasm, len, NULL, &m, &err) != TW_ERR_OK)
		abort();
	struct jit_plan *plan;
	struct jit_offload *off;
	struct jit_offload_config cfg = {.mode = JIT_OFFLOAD_HOST, .min_elements = 1};
	if (jit_analyze_module(m, &plan) != TW_ERR_OK)
		goto out_unref;
	if (jit_offload_new(plan, &cfg, &off) != TW_ERR_OK)
		goto out_plan;

	/* memory: a pattern from the input bytes; arrays at offsets chosen by the input, some
	 * overlapping, some running off the end */
	uint32_t st = 0x9e3779b9u ^ h2 ^ (h3 << 8);
	for (uint32_t i = 0; i < MEM_BYTES; i++) {
		st = st * 1664525u + 1013904223u;
		init[i] = (uint8_t)(st >> 24);
	}
	uint32_t n = (uint32_t)(h2 % 64) * lanes + (h3 % 4 == 0 ? h3 % 3 : 0) + lanes;
	uint32_t out_at = (h4 % 4 == 0) ? 8192 + (h1 >> 2) * 4 : 1024;
	if (h4 % 16 == 1)
		out_at = MEM_BYTES - (n * g.es) / 2; /* the tail is out of bounds */
	uint32_t a_at = h4 % 8 == 2 ? out_at + g.es : 8192, b_at = 16384 + (h4 >> 4) * 8;
	struct twm_value args[8] = {
	    twm_val_i32(out_at),	 twm_val_i32(a_at),	    twm_val_i32(b_at),
	    twm_val_i32(n),		 twm_val_i32(h3 % 2 ? 7u : 0u), twm_val_i64(h2 + 3),
	    twm_val_f32_bits(0x3fc00000), twm_val_f64_bits(0xc004000000000000ull)};
	if (h3 % 8 == 5)
		args[4] = twm_val_i32(0); /* a zero divisor where the expression divides by ki */

	run_once(m, args, init, NULL, &a);
	run_once(m, args, init, off, &b);
	/* an offloaded loop burns no fuel: only runs that both finished can be compared */
	if (a.e == TW_ERR_WASM_FUEL || b.e == TW_ERR_WASM_FUEL)
		goto out_off;
	if (a.e != b.e || a.trap != b.trap)
		abort();
	if (a.e == TW_ERR_OK && (a.res[0].bits != b.res[0].bits || a.res[1].bits != b.res[1].bits))
		abort();
	if (memcmp(a.mem, b.mem, MEM_BYTES) != 0)
		abort();
out_off:;
	struct jit_offload_stats os;
	jit_offload_get_stats(off, &os);
	tally.generated++;
	tally.matched += jit_plan_matched(plan) > 0;
	tally.success += os.success;
	tally.fallback += os.entries - os.success;
	jit_offload_free(off);
out_plan:
	jit_plan_free(plan);
out_unref:
	twm_module_unref(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		generated(data + 1, size - 1);
		return 0;
	}
	struct twm_module *m;
	struct twm_error err;
	if (twm_module_load(data + 1, size - 1, NULL, &m, &err) != TW_ERR_OK)
		return 0;
	struct jit_plan *plan;
	if (jit_analyze_module(m, &plan) == TW_ERR_OK)
		jit_plan_free(plan);
	twm_module_unref(m);
	return 0;
}
