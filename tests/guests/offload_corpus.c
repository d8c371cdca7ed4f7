/* offload_corpus.c — data-parallel loops as clang -O2 emits them for wasm32, and loops that must
 * not be offloaded. main() runs every kernel over several lengths (zero and odd ones included)
 * and prints a checksum of each output, then a hash of the whole linear memory, so runs with
 * --offload=off and --offload=host can be compared byte for byte. Exported names let
 * `tensor-wasm jit analyze` verdicts be checked per kernel (see tests/integration). */
#include <stdint.h>
#include <stdio.h>

#define KERNEL(name) __attribute__((export_name(name), noinline))
#define N 4099

static float fa[N + 8], fb[N + 8], fc[N + 8];
static double da[N + 8], db[N + 8];
static int32_t ia[N + 8], ib[N + 8], ic[N + 8];
static int64_t la[N + 8], lb[N + 8];

/* ---- loops that become blueprints -------------------------------------------------------- */

KERNEL("vadd_f32") void vadd_f32(float *out, const float *a, const float *b, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

KERNEL("saxpy") void saxpy(float *restrict out, const float *x, const float *y, float a, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a * x[i] + y[i];
}

KERNEL("vmul_f64") void vmul_f64(double *out, const double *a, const double *b, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a[i] * b[i] - 0.25;
}

KERNEL("iarith") void iarith(int32_t *out, const int32_t *a, const int32_t *b, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (a[i] * 3 + b[i]) ^ (a[i] >> 2);
}

KERNEL("clamp_f32") void clamp_f32(float *out, const float *x, int n, float lo, float hi)
{
	for (int i = 0; i < n; i++) {
		float v = x[i];
		out[i] = v < lo ? lo : (v > hi ? hi : v);
	}
}

KERNEL("clamp_i32") void clamp_i32(int32_t *out, const int32_t *x, int n, int32_t lo, int32_t hi)
{
	for (int i = 0; i < n; i++) {
		int32_t v = x[i];
		out[i] = v < lo ? lo : (v > hi ? hi : v);
	}
}

KERNEL("cvt_i2d") void cvt_i2d(double *out, const int32_t *x, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (double)x[i] * 0.5;
}

KERNEL("cvt_f2d") void cvt_f2d(double *out, const float *x, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (double)x[i] + 1.0;
}

KERNEL("div_i32") void div_i32(int32_t *out, const int32_t *a, int n, int32_t d)
{
	for (int i = 0; i < n; i++)
		out[i] = a[i] / d + a[i] % 7;
}

KERNEL("lin_i64") void lin_i64(int64_t *out, const int64_t *a, const int64_t *b, int64_t k, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a[i] * k + b[i];
}

KERNEL("scale_inplace") void scale_inplace(float *a, float k, int n)
{
	for (int i = 0; i < n; i++)
		a[i] = a[i] * k;
}

KERNEL("sum_i32") int32_t sum_i32(const int32_t *x, int n)
{
	int32_t s = 0;
	for (int i = 0; i < n; i++)
		s += x[i];
	return s;
}

KERNEL("xor_i64") int64_t xor_i64(const int64_t *x, int n)
{
	int64_t s = 0x5555;
	for (int i = 0; i < n; i++)
		s ^= x[i] * 3;
	return s;
}

KERNEL("dot_i32") int32_t dot_i32(const int32_t *x, const int32_t *y, int n)
{
	int32_t s = 0;
	for (int i = 0; i < n; i++)
		s += x[i] * y[i];
	return s;
}

KERNEL("iota_i32") void iota_i32(int32_t *out, int32_t b, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = 3 * i + b;
}

/* The caller passes overlapping arrays: matched, but dispatch must refuse the overlap. */
KERNEL("shift_add") void shift_add(int32_t *out, const int32_t *a, const int32_t *b, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

/* ---- loops that must stay in the interpreter -------------------------------------------- */

KERNEL("prefix_sum") void prefix_sum(int32_t *a, int n)
{
	for (int i = 1; i < n; i++)
		a[i] += a[i - 1];
}

__attribute__((noinline)) static int32_t opaque(int32_t v)
{
	__asm__ volatile("" : "+r"(v));
	return v * 5 + 1;
}

KERNEL("with_call") void with_call(int32_t *out, const int32_t *a, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = opaque(a[i]);
}

KERNEL("find_first") int find_first(const int32_t *a, int n, int32_t key)
{
	int i = 0;
	while (i < n && a[i] != key)
		i++;
	return i;
}

KERNEL("strided") void strided(int32_t *out, const int32_t *a, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a[2 * i] + 1;
}

KERNEL("bytes_inc") void bytes_inc(uint8_t *out, const uint8_t *a, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (uint8_t)(a[i] + 1);
}

KERNEL("fsum") float fsum(const float *x, int n)
{
	float s = 0;
	for (int i = 0; i < n; i++)
		s += x[i];
	return s;
}

/* ---- driver ----------------------------------------------------------------------------- */

static uint32_t seed = 12345;

static uint32_t rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

static uint64_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

static void fill(void)
{
	for (int i = 0; i < N + 8; i++) {
		fa[i] = (float)(int32_t)(rnd() % 2001 - 1000) / 16.0f;
		fb[i] = (float)(int32_t)(rnd() % 2001 - 1000) / 8.0f;
		fc[i] = 0;
		da[i] = (double)(int32_t)(rnd() % 20001 - 10000) / 64.0;
		db[i] = (double)(int32_t)(rnd() % 20001 - 10000) / 32.0;
		ia[i] = (int32_t)rnd() - (1 << 23);
		ib[i] = (int32_t)(rnd() % 100000);
		ic[i] = 0;
		la[i] = ((int64_t)rnd() << 20) ^ rnd();
		lb[i] = (int64_t)rnd() - 5000000;
	}
}

/* Inputs whose results are NaN: inf + -inf, and a signalling NaN with a payload. Wasm leaves a
 * NaN result's bits to the implementation; an offloaded loop must give the interpreter's. */
static void fill_nans(void)
{
	union {
		uint32_t u;
		float f;
	} snan = {0x7fa00001u};
	for (int i = 0; i < N + 8; i++) {
		if (i % 5 == 0) {
			fa[i] = __builtin_inff();
			fb[i] = -__builtin_inff();
		}
		if (i % 7 == 3)
			fa[i] = snan.f;
	}
}

#define SUM_N(name, p, bytes, n) printf("%-14s n=%-5d %016llx\n", name, n, (unsigned long long)fnv(p, bytes))
#define SUM(name, p, bytes) SUM_N(name, p, bytes, n)

int main(void)
{
	static const int sizes[] = {0, 1, 3, 7, 64, 1000, 4099};
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int n = sizes[k];
		fill();
		vadd_f32(fc, fa, fb, n);
		SUM("vadd_f32", fc, sizeof(fc));
		saxpy(fc, fa, fb, 2.5f, n);
		SUM("saxpy", fc, sizeof(fc));
		vmul_f64(db, da, db, n);
		SUM("vmul_f64", db, sizeof(db));
		iarith(ic, ia, ib, n);
		SUM("iarith", ic, sizeof(ic));
		clamp_f32(fc, fa, n, -20.0f, 30.5f);
		SUM("clamp_f32", fc, sizeof(fc));
		clamp_i32(ic, ia, n, -100000, 2000000);
		SUM("clamp_i32", ic, sizeof(ic));
		cvt_i2d(da, ia, n);
		SUM("cvt_i2d", da, sizeof(da));
		cvt_f2d(db, fb, n);
		SUM("cvt_f2d", db, sizeof(db));
		div_i32(ic, ia, n, -13);
		SUM("div_i32", ic, sizeof(ic));
		lin_i64(la, la, lb, -7, n);
		SUM("lin_i64", la, sizeof(la));
		iota_i32(ic, -1000, n);
		SUM("iota_i32", ic, sizeof(ic));
		scale_inplace(fa, 0.75f, n);
		SUM("scale_inplace", fa, sizeof(fa));
		printf("sum_i32        n=%-5d %d\n", n, sum_i32(ia, n));
		printf("xor_i64        n=%-5d %lld\n", n, (long long)xor_i64(la, n));
		printf("dot_i32        n=%-5d %d\n", n, dot_i32(ia, ib, n));
		shift_add(ib, ib + 1, ia, n);
		SUM("shift_add", ib, sizeof(ib));
		prefix_sum(ic, n);
		SUM("prefix_sum", ic, sizeof(ic));
		with_call(ic, ia, n);
		SUM("with_call", ic, sizeof(ic));
		printf("find_first     n=%-5d %d\n", n, find_first(ib, n, ib[n / 2]));
		strided(ic, ia, n / 2);
		SUM("strided", ic, sizeof(ic));
		bytes_inc((uint8_t *)ic, (const uint8_t *)ia, n);
		SUM("bytes_inc", ic, sizeof(ic));
		printf("fsum           n=%-5d %.9g\n", n, (double)fsum(fa, n));
	}
	fill();
	fill_nans();
	vadd_f32(fc, fa, fb, 1000);
	SUM_N("vadd_nan", fc, sizeof(fc), 1000);
	scale_inplace(fa, 0.75f, 1000);
	SUM_N("scale_nan", fa, sizeof(fa), 1000);
	/* everything the program left in linear memory */
	size_t bytes = __builtin_wasm_memory_size(0) * 65536;
	const uint8_t *volatile base = 0; /* address 0 is ordinary memory in wasm32 */
	printf("memory %zu bytes %016llx\n", bytes, (unsigned long long)fnv(base, bytes));
	return 0;
}
