/* jit_host_test.c — the host reference executor against hand-computed wasm results. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "jit/jit_builtin.h"
#include "jit/jit_host.h"

static float f32_of(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static uint32_t bits32(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static double f64_of(uint64_t u)
{
	double d;
	memcpy(&d, &u, 8);
	return d;
}

static uint64_t bits64(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

/* Run built-in `name` over n elements of up to two inputs. */
static enum tw_err run(const char *name, const void *a, const void *b, void *out, uint64_t n,
		       const union jit_value *params)
{
	const struct jit_blueprint *bp = jit_builtin_find(name);
	cr_assert_not_null(bp, "no built-in %s", name);
	struct jit_args args;
	memset(&args, 0, sizeof(args));
	args.inputs[0] = a;
	args.inputs[1] = b;
	args.out = out;
	args.n = n;
	if (params)
		memcpy(args.params, params, sizeof(args.params));
	if (bp->kind == JIT_REDUCE)
		args.reduce_init = jit_reduce_identity((enum jit_reduce_op)bp->reduce_op,
						       bp->reduce_flags, (enum jit_type)bp->out_type);
	return jit_host_run(bp, &args);
}

#define CANON32 0x7fc00000u
#define CANON64 0x7ff8000000000000ull

Test(jit_host, saxpy_and_poly)
{
	float x[3] = {1, 2, 3}, y[3] = {10, 20, 30}, out[3];
	union jit_value p[JIT_PARAMS_MAX] = {{.f32 = 2.0f}};
	cr_assert_eq(run("saxpy_f32", x, y, out, 3, p), TW_ERR_OK);
	cr_assert(out[0] == 12 && out[1] == 24 && out[2] == 36);

	/* No fused multiply-add: a*x+y rounds twice. (1+2^-12)^2 - 1 differs when fused. */
	float e = f32_of(0x3f800800u);
	float xs[1] = {e}, ys[1] = {-1.0f};
	p[0].f32 = e;
	cr_assert_eq(run("saxpy_f32", xs, ys, out, 1, p), TW_ERR_OK);
	float prod = e * e; /* separately rounded */
	cr_assert_eq(bits32(out[0]), bits32(prod + -1.0f));
	cr_assert_neq(bits32(out[0]), bits32(fmaf(e, e, -1.0f)), "must not be fused");

	double d[2] = {2.0, -1.0}, dout[2];
	cr_assert_eq(run("poly_f64", d, NULL, dout, 2, NULL), TW_ERR_OK);
	cr_assert(dout[0] == 10.5 && dout[1] == -1.5);
	int32_t i[2] = {3, -2}, iout[2];
	cr_assert_eq(run("poly_i32", i, NULL, iout, 2, NULL), TW_ERR_OK);
	cr_assert(iout[0] == 25 && iout[1] == 5);
}

Test(jit_host, float_min_max_wasm_rules)
{
	float nan_payload = f32_of(0x7fa00001u); /* a signalling NaN with a payload */
	float a[6] = {-0.0f, 0.0f, 1.0f, NAN, nan_payload, -INFINITY};
	float b[6] = {0.0f, -0.0f, NAN, 2.0f, 1.0f, 3.0f};
	float mn[6], mx[6];
	cr_assert_eq(run("min_f32", a, b, mn, 6, NULL), TW_ERR_OK);
	cr_assert_eq(run("max_f32", a, b, mx, 6, NULL), TW_ERR_OK);
	cr_assert_eq(bits32(mn[0]), 0x80000000u, "min(-0, +0) = -0");
	cr_assert_eq(bits32(mn[1]), 0x80000000u, "min(+0, -0) = -0");
	cr_assert_eq(bits32(mx[0]), 0x00000000u, "max(-0, +0) = +0");
	cr_assert_eq(bits32(mx[1]), 0x00000000u, "max(+0, -0) = +0");
	for (int k = 2; k <= 4; k++) {
		cr_assert_eq(bits32(mn[k]), CANON32, "min with NaN (%d) is the canonical NaN", k);
		cr_assert_eq(bits32(mx[k]), CANON32, "max with NaN (%d)", k);
	}
	cr_assert(mn[5] == -INFINITY && mx[5] == 3.0f);

	double da[3] = {-0.0, NAN, 5.0}, db[3] = {0.0, 1.0, -5.0}, dmn[3], dmx[3];
	cr_assert_eq(run("min_f64", da, db, dmn, 3, NULL), TW_ERR_OK);
	cr_assert_eq(run("max_f64", da, db, dmx, 3, NULL), TW_ERR_OK);
	cr_assert_eq(bits64(dmn[0]), 0x8000000000000000ull);
	cr_assert_eq(bits64(dmx[0]), 0);
	cr_assert_eq(bits64(dmn[1]), CANON64);
	cr_assert(dmn[2] == -5.0 && dmx[2] == 5.0);

	/* clamp via min/max keeps the NaN (canonical) and the edges. */
	float c[4] = {-1.0f, 0.5f, 2.0f, NAN}, cout[4];
	union jit_value p[JIT_PARAMS_MAX] = {{.f32 = 0.0f}, {.f32 = 1.0f}};
	cr_assert_eq(run("clamp_f32", c, NULL, cout, 4, p), TW_ERR_OK);
	cr_assert(cout[0] == 0.0f && cout[1] == 0.5f && cout[2] == 1.0f);
	cr_assert_eq(bits32(cout[3]), CANON32);
}

Test(jit_host, float_bits_and_nan)
{
	float a[3] = {f32_of(0x7fa00001u), f32_of(0xffc00123u), -0.0f}, out[3];
	cr_assert_eq(run("neg_f32", a, NULL, out, 3, NULL), TW_ERR_OK);
	cr_assert_eq(bits32(out[0]), 0xffa00001u, "neg flips the sign bit of a NaN, payload kept");
	cr_assert_eq(bits32(out[1]), 0x7fc00123u);
	cr_assert_eq(bits32(out[2]), 0x00000000u);
	cr_assert_eq(run("abs_f32", a, NULL, out, 3, NULL), TW_ERR_OK);
	cr_assert_eq(bits32(out[1]), 0x7fc00123u);
	cr_assert_eq(bits32(out[2]), 0x00000000u);

	float s[3] = {-1.0f, 2.0f, INFINITY};
	cr_assert_eq(run("sqrt_f32", s, NULL, out, 3, NULL), TW_ERR_OK);
	cr_assert_eq(bits32(out[0]), CANON32, "sqrt(-1) is the canonical NaN");
	cr_assert_eq(bits32(out[1]), bits32(sqrtf(2.0f)));
	cr_assert(out[2] == INFINITY);

	float i1[2] = {INFINITY, f32_of(0x7f800001u)}, i2[2] = {-INFINITY, 1.0f};
	cr_assert_eq(run("add_f32", i1, i2, out, 2, NULL), TW_ERR_OK);
	cr_assert_eq(bits32(out[0]), CANON32, "inf + -inf");
	cr_assert_eq(bits32(out[1]), CANON32, "NaN payloads are not propagated");

	/* Subnormals are kept (no flush to zero). */
	float sub[1] = {f32_of(0x00000001u)}, two[1] = {2.0f};
	cr_assert_eq(run("mul_f32", sub, two, out, 1, NULL), TW_ERR_OK);
	cr_assert_eq(bits32(out[0]), 0x00000002u);
}

Test(jit_host, shifts_masked_like_wasm)
{
	int32_t x[5] = {1, 1, -8, INT32_MIN, 3}, c[5] = {33, 32, 33, 63, -1};
	int32_t out[5];
	cr_assert_eq(run("shl_i32", x, c, out, 5, NULL), TW_ERR_OK);
	cr_assert(out[0] == 2 && out[1] == 1);
	cr_assert_eq(out[4], INT32_MIN, "3 << 31 (count -1 & 31)");
	cr_assert_eq(run("shr_i32", x, c, out, 5, NULL), TW_ERR_OK);
	cr_assert_eq(out[2], -4, "-8 >> (33 & 31) arithmetic");
	cr_assert_eq(out[3], -1);
	cr_assert_eq(run("shru_i32", x, c, out, 5, NULL), TW_ERR_OK);
	cr_assert_eq(out[3], 1, "0x80000000 >>> 31");
	cr_assert_eq((uint32_t)out[2], 0xfffffff8u >> 1);

	int64_t y[3] = {1, 1, INT64_MIN}, d[3] = {64, 65, 127}, o64[3];
	cr_assert_eq(run("shl_i64", y, d, o64, 3, NULL), TW_ERR_OK);
	cr_assert(o64[0] == 1 && o64[1] == 2);
	cr_assert_eq(run("shr_i64", y, d, o64, 3, NULL), TW_ERR_OK);
	cr_assert_eq(o64[2], -1);
	cr_assert_eq(run("shru_i64", y, d, o64, 3, NULL), TW_ERR_OK);
	cr_assert_eq(o64[2], 1);
}

Test(jit_host, integer_division)
{
	int32_t x[3] = {INT32_MIN, -7, 7}, y[3] = {-1, 2, -2}, out[3] = {11, 22, 33};
	cr_assert_eq(run("div_i32", x, y, out, 3, NULL), TW_ERR_WASM_TRAP,
		     "INT_MIN / -1 is rejected before the run");
	cr_assert(out[0] == 11 && out[1] == 22 && out[2] == 33, "nothing written");
	cr_assert_eq(run("rem_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 0 && out[1] == -1 && out[2] == 1, "%d %d %d", out[0], out[1], out[2]);
	cr_assert_eq(run("divu_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 0 && (uint32_t)out[1] == 0xfffffff9u / 2 && out[2] == 0);
	cr_assert_eq(run("remu_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert((uint32_t)out[0] == 0x80000000u && out[2] == 7);
	y[0] = 3;
	cr_assert_eq(run("div_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == INT32_MIN / 3 && out[1] == -3 && out[2] == -3, "truncating division");

	union jit_value p[JIT_PARAMS_MAX] = {{.i32 = 0}};
	cr_assert_eq(run("divp_i32", x, NULL, out, 3, p), TW_ERR_WASM_TRAP);
	p[0].i32 = -1;
	cr_assert_eq(run("divp_i32", x, NULL, out, 3, p), TW_ERR_WASM_TRAP);
	int64_t a[1] = {INT64_MIN}, b[1] = {-1}, o[1];
	cr_assert_eq(run("rem_i64", a, b, o, 1, NULL), TW_ERR_OK);
	cr_assert_eq(o[0], 0);
	cr_assert_eq(run("div_i64", a, b, o, 1, NULL), TW_ERR_WASM_TRAP);
}

Test(jit_host, integer_unary_min_max_compare)
{
	int32_t x[3] = {INT32_MIN, -5, 7}, y[3] = {1, 5, -1}, out[3];
	cr_assert_eq(run("abs_i32", x, NULL, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == INT32_MIN && out[1] == 5 && out[2] == 7);
	cr_assert_eq(run("neg_i32", x, NULL, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == INT32_MIN && out[1] == 5);
	cr_assert_eq(run("min_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == INT32_MIN && out[1] == -5 && out[2] == -1);
	cr_assert_eq(run("minu_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 1 && out[1] == 5 && out[2] == 7);
	cr_assert_eq(run("maxu_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == INT32_MIN && out[1] == -5 && out[2] == -1);
	cr_assert_eq(run("lt_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 1 && out[1] == 1 && out[2] == 0);
	cr_assert_eq(run("ltu_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 0 && out[1] == 0 && out[2] == 1);
	cr_assert_eq(run("select_i32", x, y, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 1 && out[1] == 5 && out[2] == 7);
	cr_assert_eq(run("iota_i32", y, NULL, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 1 && out[1] == 6 && out[2] == 1);
	int32_t w[2] = {INT32_MAX, 2}, v[2] = {1, INT32_MAX}, s[2];
	cr_assert_eq(run("add_i32", w, v, s, 2, NULL), TW_ERR_OK);
	cr_assert(s[0] == INT32_MIN && s[1] == INT32_MIN + 1, "wrapping");
	cr_assert_eq(run("mul_i32", w, v, s, 2, NULL), TW_ERR_OK);
	cr_assert(s[0] == INT32_MAX && s[1] == -2);
}

Test(jit_host, float_compare)
{
	float a[3] = {NAN, 1.0f, -0.0f}, b[3] = {NAN, 2.0f, 0.0f};
	int32_t out[3];
	cr_assert_eq(run("eq_f32", a, b, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 0 && out[1] == 0 && out[2] == 1, "-0 == +0");
	cr_assert_eq(run("ne_f32", a, b, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 1 && out[1] == 1 && out[2] == 0, "NaN != NaN");
	cr_assert_eq(run("lt_f32", a, b, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 0 && out[1] == 1 && out[2] == 0);
	cr_assert_eq(run("ge_f32", a, b, out, 3, NULL), TW_ERR_OK);
	cr_assert(out[0] == 0 && out[1] == 0 && out[2] == 1);
	float s[3];
	cr_assert_eq(run("select_f32", a, b, s, 3, NULL), TW_ERR_OK);
	cr_assert(isnan(s[0]) && s[1] == 2.0f && bits32(s[2]) == 0x80000000u,
		  "select keeps x when not x < y");
}

Test(jit_host, conversions)
{
	float f[6] = {NAN, 3e9f, -3e9f, -1.5f, 2147483520.0f, -2147483648.0f};
	int32_t o[6];
	cr_assert_eq(run("cvt_f32_i32", f, NULL, o, 6, NULL), TW_ERR_OK);
	cr_assert(o[0] == 0 && o[1] == INT32_MAX && o[2] == INT32_MIN && o[3] == -1 &&
		  o[4] == 2147483520 && o[5] == INT32_MIN);
	cr_assert_eq(run("cvt_f32_i32u", f, NULL, o, 6, NULL), TW_ERR_OK);
	cr_assert(o[0] == 0 && (uint32_t)o[1] == 3000000000u && o[2] == 0 && o[3] == 0);
	float big[1] = {5e9f};
	cr_assert_eq(run("cvt_f32_i32u", big, NULL, o, 1, NULL), TW_ERR_OK);
	cr_assert_eq((uint32_t)o[0], UINT32_MAX);

	double d[4] = {9.3e18, -9.3e18, -9223372036854775808.0, 1e19};
	int64_t o64[4];
	cr_assert_eq(run("cvt_f64_i64", d, NULL, o64, 4, NULL), TW_ERR_OK);
	cr_assert(o64[0] == INT64_MAX && o64[1] == INT64_MIN && o64[2] == INT64_MIN &&
		  o64[3] == INT64_MAX);
	cr_assert_eq(run("cvt_f64_i64u", d, NULL, o64, 4, NULL), TW_ERR_OK);
	cr_assert((uint64_t)o64[0] == 9300000000000000000ull && o64[1] == 0 &&
		  (uint64_t)o64[3] == 10000000000000000000ull);

	int64_t w[2] = {0x123456789abcdefll, -1}, ww[2];
	int32_t wo[2];
	cr_assert_eq(run("cvt_i64_i32", w, NULL, wo, 2, NULL), TW_ERR_OK);
	cr_assert((uint32_t)wo[0] == 0x89abcdefu && wo[1] == -1, "wrap");
	int32_t m[1] = {-1};
	cr_assert_eq(run("cvt_i32_i64u", m, NULL, ww, 1, NULL), TW_ERR_OK);
	cr_assert_eq(ww[0], 0xffffffffll);
	cr_assert_eq(run("cvt_i32_i64", m, NULL, ww, 1, NULL), TW_ERR_OK);
	cr_assert_eq(ww[0], -1);

	uint64_t umax[1] = {UINT64_MAX};
	float fo[1];
	cr_assert_eq(run("cvt_i64_f32u", umax, NULL, fo, 1, NULL), TW_ERR_OK);
	cr_assert_eq(fo[0], 18446744073709551616.0f);
	int64_t odd[1] = {(1ll << 53) + 1}; /* rounds to nearest even in f64 */
	double dof[1];
	cr_assert_eq(run("cvt_i64_f64", odd, NULL, dof, 1, NULL), TW_ERR_OK);
	cr_assert_eq(dof[0], 9007199254740992.0);
	int32_t u32max[1] = {-1};
	cr_assert_eq(run("cvt_i32_f64u", u32max, NULL, dof, 1, NULL), TW_ERR_OK);
	cr_assert_eq(dof[0], 4294967295.0);

	double dn[2] = {f64_of(0x7ff0000000000001ull), 1e300};
	cr_assert_eq(run("cvt_f64_f32", dn, NULL, fo, 1, NULL), TW_ERR_OK);
	cr_assert_eq(bits32(fo[0]), CANON32, "demoted NaN is canonical");
	float pf[1] = {f32_of(0xff800001u)};
	cr_assert_eq(run("cvt_f32_f64", pf, NULL, dof, 1, NULL), TW_ERR_OK);
	cr_assert_eq(bits64(dof[0]), CANON64);
	float inf[1];
	cr_assert_eq(run("cvt_f64_f32", dn + 1, NULL, inf, 1, NULL), TW_ERR_OK);
	cr_assert(inf[0] == INFINITY);
}

Test(jit_host, reductions)
{
	int32_t x[4] = {INT32_MAX, 1, -3, 8};
	int32_t r;
	cr_assert_eq(run("sum_i32", x, NULL, &r, 4, NULL), TW_ERR_OK);
	cr_assert_eq(r, INT32_MIN + 5, "wrapping sum");
	cr_assert_eq(run("rmin_i32", x, NULL, &r, 4, NULL), TW_ERR_OK);
	cr_assert_eq(r, -3);
	cr_assert_eq(run("rminu_i32", x, NULL, &r, 4, NULL), TW_ERR_OK);
	cr_assert_eq(r, 1);
	cr_assert_eq(run("rmaxu_i32", x, NULL, &r, 4, NULL), TW_ERR_OK);
	cr_assert_eq(r, -3);
	cr_assert_eq(run("rmax_i32", x, NULL, &r, 4, NULL), TW_ERR_OK);
	cr_assert_eq(r, INT32_MAX);
	cr_assert_eq(run("rxor_i32", x, NULL, &r, 4, NULL), TW_ERR_OK);
	cr_assert_eq(r, INT32_MAX ^ 1 ^ -3 ^ 8);
	cr_assert_eq(run("rand_i32", x, NULL, &r, 0, NULL), TW_ERR_OK);
	cr_assert_eq(r, -1, "empty and-reduction is the identity");
	cr_assert_eq(run("ror_i32", x, NULL, &r, 2, NULL), TW_ERR_OK);
	cr_assert_eq(r, INT32_MAX);

	int64_t a[3] = {3, -4, 5}, b[3] = {7, 2, -1}, s;
	cr_assert_eq(run("dot_i64", a, b, &s, 3, NULL), TW_ERR_OK);
	cr_assert_eq(s, 21 - 8 - 5);

	/* A reduction starts from the caller's seed (the loop's accumulator). */
	const struct jit_blueprint *bp = jit_builtin_find("sum_i64");
	struct jit_args args;
	memset(&args, 0, sizeof(args));
	args.inputs[0] = a;
	args.out = &s;
	args.n = 3;
	args.reduce_init.i64 = 100;
	cr_assert_eq(jit_host_run(bp, &args), TW_ERR_OK);
	cr_assert_eq(s, 104);
}

Test(jit_host, empty_map_writes_nothing)
{
	float x[1] = {1}, out[1] = {42};
	union jit_value p[JIT_PARAMS_MAX] = {{.f32 = 2}};
	cr_assert_eq(run("saxpy_f32", x, x, out, 0, p), TW_ERR_OK);
	cr_assert_eq(out[0], 42);
}

Test(jit_host, unaligned_arrays)
{
	/* Arrays can point anywhere into wasm linear memory. */
	uint8_t buf[64];
	memset(buf, 0, sizeof(buf));
	int64_t v[2] = {5, 6};
	memcpy(buf + 1, v, sizeof(v));
	int64_t out[2];
	cr_assert_eq(run("add_i64", buf + 1, buf + 1, out, 2, NULL), TW_ERR_OK);
	cr_assert(out[0] == 10 && out[1] == 12);
}

/* The block executor agrees with the reference bit for bit on every built-in blueprint, over
 * lengths around the block size and data with NaNs, zeros and extremes. */
Test(jit_host, blocks_equal_reference)
{
	static uint8_t in[4][1100 * 8], out_a[1100 * 8], out_b[1100 * 8];
	uint32_t s = 99;
	for (size_t i = 0; i < jit_builtin_count(); i++) {
		const struct jit_blueprint *bp = jit_builtin_get(i);
		static const uint64_t lens[] = {0, 1, 255, 256, 257, 1100};
		for (size_t L = 0; L < sizeof(lens) / sizeof(lens[0]); L++) {
			struct jit_args a;
			memset(&a, 0, sizeof(a));
			for (unsigned k = 0; k < 4; k++) {
				for (size_t j = 0; j < sizeof(in[k]); j++) {
					s = s * 1103515245u + 12345u;
					in[k][j] = (uint8_t)(s >> 16);
				}
				/* small values too, so divisions and comparisons see ordinary data */
				for (size_t j = 0; j < sizeof(in[k]); j += 16)
					memset(in[k] + j, 0, 3);
				a.inputs[k] = in[k];
			}
			for (unsigned k = 0; k < JIT_PARAMS_MAX; k++)
				a.params[k].u64 = 3 + k;
			a.n = lens[L];
			a.reduce_init.u64 = 5;
			memset(out_a, 0xaa, sizeof(out_a));
			memset(out_b, 0xaa, sizeof(out_b));
			a.out = out_a;
			enum tw_err ea = jit_host_run(bp, &a);
			a.out = out_b;
			enum tw_err eb = jit_host_run_blocks(bp, &a);
			cr_assert_eq(ea, eb, "%s", bp->name);
			cr_assert(memcmp(out_a, out_b, sizeof(out_a)) == 0, "%s n=%llu", bp->name,
				  (unsigned long long)a.n);
		}
	}
}
