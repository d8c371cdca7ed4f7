/*
 * twm_interp.c — the interpreter: runs internal code (see twm_int.h) on an instance's own frame
 * and value stacks.
 *
 * Dispatch is direct threading by computed goto through a table indexed by opcode. Instructions
 * name frame slots, so a handler is "load operands from fp[...], compute, store to fp[...], step
 * ip". wasm-to-wasm calls never recurse on the C stack: a call pushes a struct twm_frame onto the
 * instance's frame array and switches ip/fp, a return pops it. That makes a fuel stop a matter of
 * saving three registers (ip, fp, current function) and makes "call stack exhausted" a bounds
 * check instead of a C stack overflow.
 *
 * Fuel is charged at loop headers (the loop body's instruction count) and at calls (one unit).
 * A slice stops when fuel is used up at one of those points, so straight-line code between them
 * runs to the next one; resumption re-executes the charging instruction.
 *
 * Floats: computed with SSE scalar arithmetic (x86-64, no x87 promotion); min/max, copysign, abs,
 * neg and conversions that need exact IEEE behaviour are done on bits or with explicit range
 * checks.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "wasm/twm_int.h"

#if !defined(HAVE_COMPUTED_GOTO) || !HAVE_COMPUTED_GOTO
#error "the interpreter needs computed goto (clang or gcc)"
#endif

static inline float f32_of(uint64_t s)
{
	uint32_t u = (uint32_t)s;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static inline double f64_of(uint64_t s)
{
	double d;
	memcpy(&d, &s, 8);
	return d;
}

static inline uint64_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline uint64_t f64_bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

static inline float f32_min(float a, float b)
{
	if (a != a || b != b)
		return a + b;
	if (a == b) /* equal, possibly zeros of different signs: min prefers -0 */
		return f32_of(f32_bits(a) | f32_bits(b));
	return a < b ? a : b;
}

static inline float f32_max(float a, float b)
{
	if (a != a || b != b)
		return a + b;
	if (a == b)
		return f32_of(f32_bits(a) & f32_bits(b));
	return a > b ? a : b;
}

static inline double f64_min(double a, double b)
{
	if (a != a || b != b)
		return a + b;
	if (a == b)
		return f64_of(f64_bits(a) | f64_bits(b));
	return a < b ? a : b;
}

static inline double f64_max(double a, double b)
{
	if (a != a || b != b)
		return a + b;
	if (a == b)
		return f64_of(f64_bits(a) & f64_bits(b));
	return a > b ? a : b;
}

static inline uint32_t rotl32(uint32_t a, uint32_t b)
{
	b &= 31;
	return b ? (a << b) | (a >> (32 - b)) : a;
}

static inline uint32_t rotr32(uint32_t a, uint32_t b)
{
	b &= 31;
	return b ? (a >> b) | (a << (32 - b)) : a;
}

static inline uint64_t rotl64(uint64_t a, uint64_t b)
{
	b &= 63;
	return b ? (a << b) | (a >> (64 - b)) : a;
}

static inline uint64_t rotr64(uint64_t a, uint64_t b)
{
	b &= 63;
	return b ? (a >> b) | (a << (64 - b)) : a;
}

/* Float-to-int truncation on the value promoted to double (exact for f32). Returns the trap or
 * TWM_TRAP_NONE. kind: 0 i32_s, 1 i32_u, 2 i64_s, 3 i64_u. */
static inline enum twm_trap trunc_chk(double x, int kind, uint64_t *out)
{
	if (x != x)
		return TWM_TRAP_INVALID_CONV;
	switch (kind) {
	case 0:
		if (!(x > -2147483649.0 && x < 2147483648.0))
			return TWM_TRAP_INT_OVERFLOW;
		*out = (uint32_t)(int32_t)x;
		break;
	case 1:
		if (!(x > -1.0 && x < 4294967296.0))
			return TWM_TRAP_INT_OVERFLOW;
		*out = (uint32_t)x;
		break;
	case 2:
		if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
			return TWM_TRAP_INT_OVERFLOW;
		*out = (uint64_t)(int64_t)x;
		break;
	default:
		if (!(x > -1.0 && x < 18446744073709551616.0))
			return TWM_TRAP_INT_OVERFLOW;
		*out = (uint64_t)x;
		break;
	}
	return TWM_TRAP_NONE;
}

static inline uint64_t trunc_sat(double x, int kind)
{
	if (x != x)
		return 0;
	switch (kind) {
	case 0:
		if (x <= -2147483649.0)
			return (uint32_t)INT32_MIN;
		if (x >= 2147483648.0)
			return (uint32_t)INT32_MAX;
		return (uint32_t)(int32_t)x;
	case 1:
		if (x <= -1.0)
			return 0;
		if (x >= 4294967296.0)
			return UINT32_MAX;
		return (uint32_t)x;
	case 2:
		if (x < -9223372036854775808.0)
			return (uint64_t)INT64_MIN;
		if (x >= 9223372036854775808.0)
			return (uint64_t)INT64_MAX;
		return (uint64_t)(int64_t)x;
	default:
		if (x <= -1.0)
			return 0;
		if (x >= 18446744073709551616.0)
			return UINT64_MAX;
		return (uint64_t)x;
	}
}

#define T_I32 uint32_t
#define T_I64 uint64_t
#define T_F32 float
#define T_F64 double
#define GET_I32(x) ((uint32_t)(x))
#define GET_I64(x) ((uint64_t)(x))
#define GET_F32(x) f32_of(x)
#define GET_F64(x) f64_of(x)
#define PUT_I32(v) ((uint64_t)(uint32_t)(v))
#define PUT_I64(v) ((uint64_t)(v))
#define PUT_F32(v) f32_bits(v)
#define PUT_F64(v) f64_bits(v)

#define S32(v) ((int32_t)(v))
#define S64(v) ((int64_t)(v))
#define F32ABS(a) f32_of(f32_bits(a) & 0x7fffffffu)
#define F64ABS(a) f64_of(f64_bits(a) & 0x7fffffffffffffffull)

/* Unary: X(opcode, in, out, expr of a) */
#define NUM1(X)                                                                                   \
	X(0x45, I32, I32, a == 0)                                                                 \
	X(0x50, I64, I32, a == 0)                                                                 \
	X(0x67, I32, I32, a ? __builtin_clz(a) : 32)                                              \
	X(0x68, I32, I32, a ? __builtin_ctz(a) : 32)                                              \
	X(0x69, I32, I32, __builtin_popcount(a))                                                  \
	X(0x79, I64, I64, a ? __builtin_clzll(a) : 64)                                            \
	X(0x7a, I64, I64, a ? __builtin_ctzll(a) : 64)                                            \
	X(0x7b, I64, I64, __builtin_popcountll(a))                                                \
	X(0x8b, F32, F32, F32ABS(a))                                                              \
	X(0x8c, F32, F32, f32_of(f32_bits(a) ^ 0x80000000u))                                      \
	X(0x8d, F32, F32, ceilf(a))                                                               \
	X(0x8e, F32, F32, floorf(a))                                                              \
	X(0x8f, F32, F32, truncf(a))                                                              \
	X(0x90, F32, F32, nearbyintf(a))                                                          \
	X(0x91, F32, F32, sqrtf(a))                                                               \
	X(0x99, F64, F64, F64ABS(a))                                                              \
	X(0x9a, F64, F64, f64_of(f64_bits(a) ^ 0x8000000000000000ull))                            \
	X(0x9b, F64, F64, ceil(a))                                                                \
	X(0x9c, F64, F64, floor(a))                                                               \
	X(0x9d, F64, F64, trunc(a))                                                               \
	X(0x9e, F64, F64, nearbyint(a))                                                           \
	X(0x9f, F64, F64, sqrt(a))                                                                \
	X(0xa7, I64, I32, (uint32_t)a)                                                            \
	X(0xac, I32, I64, (uint64_t)(int64_t)S32(a))                                              \
	X(0xad, I32, I64, (uint64_t)a)                                                            \
	X(0xb2, I32, F32, (float)S32(a))                                                          \
	X(0xb3, I32, F32, (float)a)                                                               \
	X(0xb4, I64, F32, (float)S64(a))                                                          \
	X(0xb5, I64, F32, (float)a)                                                               \
	X(0xb6, F64, F32, (float)a)                                                               \
	X(0xb7, I32, F64, (double)S32(a))                                                         \
	X(0xb8, I32, F64, (double)a)                                                              \
	X(0xb9, I64, F64, (double)S64(a))                                                         \
	X(0xba, I64, F64, (double)a)                                                              \
	X(0xbb, F32, F64, (double)a)                                                              \
	X(0xc0, I32, I32, (int32_t)(int8_t)a)                                                     \
	X(0xc1, I32, I32, (int32_t)(int16_t)a)                                                    \
	X(0xc2, I64, I64, (int64_t)(int8_t)a)                                                     \
	X(0xc3, I64, I64, (int64_t)(int16_t)a)                                                    \
	X(0xc4, I64, I64, (int64_t)(int32_t)a)

/* Binary: X(opcode, in, out, expr of a and b) */
#define NUM2(X)                                                                                   \
	X(0x46, I32, I32, a == b)                                                                 \
	X(0x47, I32, I32, a != b)                                                                 \
	X(0x48, I32, I32, S32(a) < S32(b))                                                        \
	X(0x49, I32, I32, a < b)                                                                  \
	X(0x4a, I32, I32, S32(a) > S32(b))                                                        \
	X(0x4b, I32, I32, a > b)                                                                  \
	X(0x4c, I32, I32, S32(a) <= S32(b))                                                       \
	X(0x4d, I32, I32, a <= b)                                                                 \
	X(0x4e, I32, I32, S32(a) >= S32(b))                                                       \
	X(0x4f, I32, I32, a >= b)                                                                 \
	X(0x51, I64, I32, a == b)                                                                 \
	X(0x52, I64, I32, a != b)                                                                 \
	X(0x53, I64, I32, S64(a) < S64(b))                                                        \
	X(0x54, I64, I32, a < b)                                                                  \
	X(0x55, I64, I32, S64(a) > S64(b))                                                        \
	X(0x56, I64, I32, a > b)                                                                  \
	X(0x57, I64, I32, S64(a) <= S64(b))                                                       \
	X(0x58, I64, I32, a <= b)                                                                 \
	X(0x59, I64, I32, S64(a) >= S64(b))                                                       \
	X(0x5a, I64, I32, a >= b)                                                                 \
	X(0x5b, F32, I32, a == b)                                                                 \
	X(0x5c, F32, I32, a != b)                                                                 \
	X(0x5d, F32, I32, a < b)                                                                  \
	X(0x5e, F32, I32, a > b)                                                                  \
	X(0x5f, F32, I32, a <= b)                                                                 \
	X(0x60, F32, I32, a >= b)                                                                 \
	X(0x61, F64, I32, a == b)                                                                 \
	X(0x62, F64, I32, a != b)                                                                 \
	X(0x63, F64, I32, a < b)                                                                  \
	X(0x64, F64, I32, a > b)                                                                  \
	X(0x65, F64, I32, a <= b)                                                                 \
	X(0x66, F64, I32, a >= b)                                                                 \
	X(0x6a, I32, I32, a + b)                                                                  \
	X(0x6b, I32, I32, a - b)                                                                  \
	X(0x6c, I32, I32, a * b)                                                                  \
	X(0x71, I32, I32, a & b)                                                                  \
	X(0x72, I32, I32, a | b)                                                                  \
	X(0x73, I32, I32, a ^ b)                                                                  \
	X(0x74, I32, I32, a << (b & 31))                                                          \
	X(0x75, I32, I32, S32(a) >> (b & 31))                                                     \
	X(0x76, I32, I32, a >> (b & 31))                                                          \
	X(0x77, I32, I32, rotl32(a, b))                                                           \
	X(0x78, I32, I32, rotr32(a, b))                                                           \
	X(0x7c, I64, I64, a + b)                                                                  \
	X(0x7d, I64, I64, a - b)                                                                  \
	X(0x7e, I64, I64, a * b)                                                                  \
	X(0x83, I64, I64, a & b)                                                                  \
	X(0x84, I64, I64, a | b)                                                                  \
	X(0x85, I64, I64, a ^ b)                                                                  \
	X(0x86, I64, I64, a << (b & 63))                                                          \
	X(0x87, I64, I64, S64(a) >> (b & 63))                                                     \
	X(0x88, I64, I64, a >> (b & 63))                                                          \
	X(0x89, I64, I64, rotl64(a, b))                                                           \
	X(0x8a, I64, I64, rotr64(a, b))                                                           \
	X(0x92, F32, F32, a + b)                                                                  \
	X(0x93, F32, F32, a - b)                                                                  \
	X(0x94, F32, F32, a * b)                                                                  \
	X(0x95, F32, F32, a / b)                                                                  \
	X(0x96, F32, F32, f32_min(a, b))                                                          \
	X(0x97, F32, F32, f32_max(a, b))                                                          \
	X(0x98, F32, F32, f32_of((f32_bits(a) & 0x7fffffffu) | (f32_bits(b) & 0x80000000u)))     \
	X(0xa0, F64, F64, a + b)                                                                  \
	X(0xa1, F64, F64, a - b)                                                                  \
	X(0xa2, F64, F64, a * b)                                                                  \
	X(0xa3, F64, F64, a / b)                                                                  \
	X(0xa4, F64, F64, f64_min(a, b))                                                          \
	X(0xa5, F64, F64, f64_max(a, b))                                                          \
	X(0xa6, F64, F64,                                                                         \
	  f64_of((f64_bits(a) & 0x7fffffffffffffffull) | (f64_bits(b) & 0x8000000000000000ull)))

/* The binary operations that have an immediate form (see TWM_OP_IMM_BASE). */
#define NUM2I(X) \
	X(0x46, I32, I32, a == b) \
	X(0x47, I32, I32, a != b) \
	X(0x48, I32, I32, S32(a) < S32(b)) \
	X(0x49, I32, I32, a < b) \
	X(0x4a, I32, I32, S32(a) > S32(b)) \
	X(0x4b, I32, I32, a > b) \
	X(0x4c, I32, I32, S32(a) <= S32(b)) \
	X(0x4d, I32, I32, a <= b) \
	X(0x4e, I32, I32, S32(a) >= S32(b)) \
	X(0x4f, I32, I32, a >= b) \
	X(0x51, I64, I32, a == b) \
	X(0x52, I64, I32, a != b) \
	X(0x53, I64, I32, S64(a) < S64(b)) \
	X(0x54, I64, I32, a < b) \
	X(0x55, I64, I32, S64(a) > S64(b)) \
	X(0x56, I64, I32, a > b) \
	X(0x57, I64, I32, S64(a) <= S64(b)) \
	X(0x58, I64, I32, a <= b) \
	X(0x59, I64, I32, S64(a) >= S64(b)) \
	X(0x5a, I64, I32, a >= b) \
	X(0x6a, I32, I32, a + b) \
	X(0x6b, I32, I32, a - b) \
	X(0x6c, I32, I32, a * b) \
	X(0x71, I32, I32, a & b) \
	X(0x72, I32, I32, a | b) \
	X(0x73, I32, I32, a ^ b) \
	X(0x74, I32, I32, a << (b & 31)) \
	X(0x75, I32, I32, S32(a) >> (b & 31)) \
	X(0x76, I32, I32, a >> (b & 31)) \
	X(0x77, I32, I32, rotl32(a, b)) \
	X(0x78, I32, I32, rotr32(a, b)) \
	X(0x7c, I64, I64, a + b) \
	X(0x7d, I64, I64, a - b) \
	X(0x7e, I64, I64, a * b) \
	X(0x83, I64, I64, a & b) \
	X(0x84, I64, I64, a | b) \
	X(0x85, I64, I64, a ^ b) \
	X(0x86, I64, I64, a << (b & 63)) \
	X(0x87, I64, I64, S64(a) >> (b & 63)) \
	X(0x88, I64, I64, a >> (b & 63)) \
	X(0x89, I64, I64, rotl64(a, b)) \
	X(0x8a, I64, I64, rotr64(a, b))

/* Loads: X(opcode, C type, conversion of v to the slot word) */
#define LOADS(X)                                                                                  \
	X(0x28, uint32_t, (uint64_t)v)                                                            \
	X(0x29, uint64_t, v)                                                                      \
	X(0x2a, uint32_t, (uint64_t)v)                                                            \
	X(0x2b, uint64_t, v)                                                                      \
	X(0x2c, int8_t, (uint32_t)(int32_t)v)                                                     \
	X(0x2d, uint8_t, (uint64_t)v)                                                             \
	X(0x2e, int16_t, (uint32_t)(int32_t)v)                                                    \
	X(0x2f, uint16_t, (uint64_t)v)                                                            \
	X(0x30, int8_t, (uint64_t)(int64_t)v)                                                     \
	X(0x31, uint8_t, (uint64_t)v)                                                             \
	X(0x32, int16_t, (uint64_t)(int64_t)v)                                                    \
	X(0x33, uint16_t, (uint64_t)v)                                                            \
	X(0x34, int32_t, (uint64_t)(int64_t)v)                                                    \
	X(0x35, uint32_t, (uint64_t)v)

#define STORES(X)                                                                                 \
	X(0x36, uint32_t)                                                                         \
	X(0x37, uint64_t)                                                                         \
	X(0x38, uint32_t)                                                                         \
	X(0x39, uint64_t)                                                                         \
	X(0x3a, uint8_t)                                                                          \
	X(0x3b, uint16_t)                                                                         \
	X(0x3c, uint8_t)                                                                          \
	X(0x3d, uint16_t)                                                                         \
	X(0x3e, uint32_t)

/* Stores of an immediate (sign-extended 32-bit) value: TWM_OP_IMM_BASE + opcode. */
#define STORES_IMM(X)                                                                             \
	X(0x36, uint32_t)                                                                         \
	X(0x37, uint64_t)                                                                         \
	X(0x3a, uint8_t)                                                                          \
	X(0x3b, uint16_t)                                                                         \
	X(0x3c, uint8_t)                                                                          \
	X(0x3d, uint16_t)                                                                         \
	X(0x3e, uint32_t)

/* Trapping arithmetic and truncations, with hand-written handlers below. */
#define SPECIAL(X)                                                                                \
	X(0x6d) X(0x6e) X(0x6f) X(0x70) X(0x7f) X(0x80) X(0x81) X(0x82) X(0xa8) X(0xa9) X(0xaa)   \
		X(0xab) X(0xae) X(0xaf) X(0xb0) X(0xb1)

/* no_builtin: zeroing a callee's few locals must stay an inline loop, not a memset call */
__attribute__((no_builtin("memset"))) enum tw_err
twm_interp_run(struct twm_instance *sinst, int64_t fuel, struct twm_error *err)
{
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"
#pragma GCC diagnostic ignored "-Woverride-init"
#define TBL_NUM(op, ...) [op] = &&L_##op,
#define TBL_LS(op, ...) [op] = &&L_##op,
#define TBL_SP(op) [op] = &&L_##op,
#define TBL_OWN(n) [TWM_OP_##n] = &&L_##n,
#define TBL_IMM(op, ...) [TWM_OP_IMM_BASE + op] = &&LI_##op,
#define TBL_SIMM(op, ...) [TWM_OP_IMM_BASE + op] = &&LSI_##op,
	static const void *const table[TWM_OP_TABLE_SIZE_ALL] = {
		[0 ... TWM_OP_TABLE_SIZE_ALL - 1] = &&L_bad,
		NUM1(TBL_NUM) NUM2(TBL_NUM) LOADS(TBL_LS) STORES(TBL_LS) SPECIAL(TBL_SP)
			TWM_OP_LIST(TBL_OWN) NUM2I(TBL_IMM) STORES_IMM(TBL_SIMM)};
#pragma clang diagnostic pop

	const int64_t fuel_start = fuel;
	struct twm_func *cur = sinst->cur;
	struct twm_instance *inst = cur->inst;
	const uint32_t *code = cur->code->icode;
	const uint32_t *ip = sinst->ip;
	uint64_t *fp = sinst->fp;
	uint64_t *const stack_end = sinst->stack + sinst->stack_slots;
	uint8_t *mem = NULL;
	uint64_t msize = 0;
	enum twm_trap trap = TWM_TRAP_NONE;
	uint32_t trap_idx = UINT32_MAX; /* element index named in the trap message */
	enum tw_err rc = TW_ERR_OK;
	struct twm_func *callee;
	uint32_t argbase;
	const uint32_t *ret_ip;

#define RELOAD_MEM()                                                                              \
	do {                                                                                      \
		mem = inst->mem0 ? inst->mem0->data : NULL;                                       \
		msize = inst->mem0 ? inst->mem0->size : 0;                                        \
	} while (0)
#define LOAD_CTX()                                                                                \
	do {                                                                                      \
		inst = cur->inst;                                                                 \
		code = cur->code->icode;                                                          \
		RELOAD_MEM();                                                                     \
	} while (0)
#define NEXT() goto *table[*ip]
#define SL(i) fp[ip[i]]
#define TRAP(t)                                                                                   \
	do {                                                                                      \
		trap = (t);                                                                       \
		goto do_trap;                                                                     \
	} while (0)

	LOAD_CTX();
	NEXT();

#define H1(op, tin, tout, expr)                                                                   \
	L_##op : {                                                                                \
		T_##tin a = GET_##tin(SL(1));                                                     \
		SL(2) = PUT_##tout(expr);                                                         \
		ip += 3;                                                                          \
		NEXT();                                                                           \
	}
#define H2(op, tin, tout, expr)                                                                   \
	L_##op : {                                                                                \
		T_##tin a = GET_##tin(SL(1));                                                     \
		T_##tin b = GET_##tin(SL(2));                                                     \
		SL(3) = PUT_##tout(expr);                                                         \
		ip += 4;                                                                          \
		NEXT();                                                                           \
	}
#define HL(op, ctype, conv)                                                                       \
	L_##op : {                                                                                \
		uint64_t ea = (uint64_t)(uint32_t)SL(1) + ip[3];                                  \
		if (__builtin_expect(ea + sizeof(ctype) > msize, 0))                              \
			TRAP(TWM_TRAP_MEMORY_OOB);                                                \
		ctype v;                                                                          \
		memcpy(&v, mem + ea, sizeof(v));                                                  \
		SL(2) = conv;                                                                     \
		ip += 4;                                                                          \
		NEXT();                                                                           \
	}
#define HS(op, ctype)                                                                             \
	L_##op : {                                                                                \
		uint64_t ea = (uint64_t)(uint32_t)SL(1) + ip[3];                                  \
		if (__builtin_expect(ea + sizeof(ctype) > msize, 0))                              \
			TRAP(TWM_TRAP_MEMORY_OOB);                                                \
		ctype v = (ctype)SL(2);                                                           \
		memcpy(mem + ea, &v, sizeof(v));                                                  \
		ip += 4;                                                                          \
		NEXT();                                                                           \
	}

#define IMM_I32(x) ((uint32_t)(x))
#define IMM_I64(x) ((uint64_t)(int64_t)(int32_t)(x))
#define H2I(op, tin, tout, expr)                                                                  \
	LI_##op : {                                                                               \
		T_##tin a = GET_##tin(SL(1));                                                     \
		T_##tin b = IMM_##tin(ip[2]);                                                     \
		SL(3) = PUT_##tout(expr);                                                         \
		ip += 4;                                                                          \
		NEXT();                                                                           \
	}
#define HBR(name, cmp)                                                                            \
	L_##name : {                                                                              \
		uint32_t a = (uint32_t)SL(1), b = (uint32_t)SL(2);                                \
		if (cmp)                                                                          \
			ip = code + ip[3];                                                        \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}

#define HSI(op, ctype)                                                                            \
	LSI_##op : {                                                                              \
		uint64_t ea = (uint64_t)(uint32_t)SL(1) + ip[3];                                  \
		if (__builtin_expect(ea + sizeof(ctype) > msize, 0))                              \
			TRAP(TWM_TRAP_MEMORY_OOB);                                                \
		ctype v = (ctype)(int64_t)(int32_t)ip[2];                                         \
		memcpy(mem + ea, &v, sizeof(v));                                                  \
		ip += 4;                                                                          \
		NEXT();                                                                           \
	}
	STORES_IMM(HSI)
	NUM1(H1)
	NUM2(H2)
	NUM2I(H2I)
	HBR(BR_EQ, a == b)
	HBR(BR_NE, a != b)
	HBR(BR_LT_S, S32(a) < S32(b))
	HBR(BR_LT_U, a < b)
	HBR(BR_GT_S, S32(a) > S32(b))
	HBR(BR_GT_U, a > b)
	HBR(BR_LE_S, S32(a) <= S32(b))
	HBR(BR_LE_U, a <= b)
	HBR(BR_GE_S, S32(a) >= S32(b))
	HBR(BR_GE_U, a >= b)
#define HBRI(name, cmp)                                                                           \
	L_##name : {                                                                              \
		uint32_t a = (uint32_t)SL(1), b = ip[2];                                          \
		if (cmp)                                                                          \
			ip = code + ip[3];                                                        \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
	HBRI(BRI_EQ, a == b)
	HBRI(BRI_NE, a != b)
	HBRI(BRI_LT_S, S32(a) < S32(b))
	HBRI(BRI_LT_U, a < b)
	HBRI(BRI_GT_S, S32(a) > S32(b))
	HBRI(BRI_GT_U, a > b)
	HBRI(BRI_LE_S, S32(a) <= S32(b))
	HBRI(BRI_LE_U, a <= b)
	HBRI(BRI_GE_S, S32(a) >= S32(b))
	HBRI(BRI_GE_U, a >= b)
	/* Backedge to the LOOP header at target - 3: charge its fuel here, or stop there so that
	 * resuming runs the header's own check. */
#define BACKEDGE(t)                                                                               \
	do {                                                                                      \
		const uint32_t *tgt_ = code + (t);                                                \
		if (__builtin_expect(fuel <= 0, 0)) {                                             \
			ip = tgt_ - 3;                                                            \
			goto suspend;                                                             \
		}                                                                                 \
		fuel -= tgt_[-2];                                                                 \
		ip = tgt_;                                                                        \
	} while (0)
#define HBRB(name, cmp)                                                                           \
	L_##name : {                                                                              \
		uint32_t a = (uint32_t)SL(1), b = (uint32_t)SL(2);                                \
		if (cmp)                                                                          \
			BACKEDGE(ip[3]);                                                          \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define HBRBI(name, cmp)                                                                          \
	L_##name : {                                                                              \
		uint32_t a = (uint32_t)SL(1), b = ip[2];                                          \
		if (cmp)                                                                          \
			BACKEDGE(ip[3]);                                                          \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
	HBRB(BRB_EQ, a == b)
	HBRB(BRB_NE, a != b)
	HBRB(BRB_LT_S, S32(a) < S32(b))
	HBRB(BRB_LT_U, a < b)
	HBRB(BRB_GT_S, S32(a) > S32(b))
	HBRB(BRB_GT_U, a > b)
	HBRB(BRB_LE_S, S32(a) <= S32(b))
	HBRB(BRB_LE_U, a <= b)
	HBRB(BRB_GE_S, S32(a) >= S32(b))
	HBRB(BRB_GE_U, a >= b)
	HBRBI(BRBI_EQ, a == b)
	HBRBI(BRBI_NE, a != b)
	HBRBI(BRBI_LT_S, S32(a) < S32(b))
	HBRBI(BRBI_LT_U, a < b)
	HBRBI(BRBI_GT_S, S32(a) > S32(b))
	HBRBI(BRBI_GT_U, a > b)
	HBRBI(BRBI_LE_S, S32(a) <= S32(b))
	HBRBI(BRBI_LE_U, a <= b)
	HBRBI(BRBI_GE_S, S32(a) >= S32(b))
	HBRBI(BRBI_GE_U, a >= b)
L_BRB:
	BACKEDGE(ip[1]);
	NEXT();
L_BRB_IF:
	if ((uint32_t)SL(1))
		BACKEDGE(ip[2]);
	else
		ip += 3;
	NEXT();
L_BRB_IF_NOT:
	if (!(uint32_t)SL(1))
		BACKEDGE(ip[2]);
	else
		ip += 3;
	NEXT();
	LOADS(HL)
	STORES(HS)

	/* integer division */
L_0x6d : {
	int32_t a = (int32_t)SL(1), b = (int32_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	if (a == INT32_MIN && b == -1)
		TRAP(TWM_TRAP_INT_OVERFLOW);
	SL(3) = (uint32_t)(a / b);
	ip += 4;
	NEXT();
}
L_0x6e : {
	uint32_t a = (uint32_t)SL(1), b = (uint32_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = a / b;
	ip += 4;
	NEXT();
}
L_0x6f : {
	int32_t a = (int32_t)SL(1), b = (int32_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = (b == -1) ? 0 : (uint32_t)(a % b);
	ip += 4;
	NEXT();
}
L_0x70 : {
	uint32_t a = (uint32_t)SL(1), b = (uint32_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = a % b;
	ip += 4;
	NEXT();
}
L_0x7f : {
	int64_t a = (int64_t)SL(1), b = (int64_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	if (a == INT64_MIN && b == -1)
		TRAP(TWM_TRAP_INT_OVERFLOW);
	SL(3) = (uint64_t)(a / b);
	ip += 4;
	NEXT();
}
L_0x80 : {
	uint64_t a = SL(1), b = SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = a / b;
	ip += 4;
	NEXT();
}
L_0x81 : {
	int64_t a = (int64_t)SL(1), b = (int64_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = (b == -1) ? 0 : (uint64_t)(a % b);
	ip += 4;
	NEXT();
}
L_0x82 : {
	uint64_t a = SL(1), b = SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = a % b;
	ip += 4;
	NEXT();
}

#define HTRUNC(op, getter, kind)                                                                  \
	L_##op : {                                                                                \
		uint64_t v = 0;                                                                   \
		enum twm_trap t = trunc_chk((double)getter(SL(1)), kind, &v);                     \
		if (t != TWM_TRAP_NONE)                                                           \
			TRAP(t);                                                                  \
		SL(2) = v;                                                                        \
		ip += 3;                                                                          \
		NEXT();                                                                           \
	}
	HTRUNC(0xa8, f32_of, 0)
	HTRUNC(0xa9, f32_of, 1)
	HTRUNC(0xaa, f64_of, 0)
	HTRUNC(0xab, f64_of, 1)
	HTRUNC(0xae, f32_of, 2)
	HTRUNC(0xaf, f32_of, 3)
	HTRUNC(0xb0, f64_of, 2)
	HTRUNC(0xb1, f64_of, 3)

L_TRUNC_SAT : {
	uint32_t k = ip[1];
	double x = (k & 2) ? f64_of(SL(2)) : (double)f32_of(SL(2));
	static const int kinds[8] = {0, 1, 0, 1, 2, 3, 2, 3};
	SL(3) = trunc_sat(x, kinds[k]);
	ip += 4;
	NEXT();
}

	/* ---- control ---- */
L_UNREACHABLE:
	TRAP(TWM_TRAP_UNREACHABLE);
L_BR:
	ip = code + ip[1];
	NEXT();
L_BR_IF:
	if ((uint32_t)SL(1))
		ip = code + ip[2];
	else
		ip += 3;
	NEXT();
L_BR_IF_NOT:
	if (!(uint32_t)SL(1))
		ip = code + ip[2];
	else
		ip += 3;
	NEXT();
L_BR_TABLE : {
	uint32_t i = (uint32_t)SL(1), n = ip[2];
	if (i > n)
		i = n;
	ip = code + ip[3 + i];
	NEXT();
}
L_LOOP_HOOK:
	/* Entry of a loop without params or results: the JIT may run the whole loop. */
	if (__builtin_expect(inst->hook.fn != NULL, 0)) {
		struct twm_loop_site site = {
			.module = inst->module,
			.func_index = cur->index,
			.loop_offset = cur->code->loop_offsets[ip[1]],
			.locals = fp,
			.nlocals = cur->code->nlocals,
			.mem = mem,
			.mem_bytes = msize,
		};
		enum twm_hook_action act = inst->hook.fn(&site, inst->hook.env);
		RELOAD_MEM();
		if (act == TWM_HOOK_LOOP_DONE) {
			ip = code + ip[2];
			NEXT();
		}
	}
	ip += 3;
	NEXT();
L_LOOP:
	/* Loop header, the target of every backedge: fuel is charged once per iteration. */
	if (__builtin_expect(fuel <= 0, 0))
		goto suspend;
	fuel -= ip[1];
	ip += 3;
	NEXT();
L_RETURN : {
	uint32_t src = ip[1];
	uint32_t n = ip[2];
	for (uint32_t k = 0; k < n; k++)
		fp[k] = fp[src + k];
	if (sinst->depth == 0)
		goto done;
	struct twm_frame *fr = &sinst->frames[--sinst->depth];
	ip = fr->ip;
	fp = fr->fp;
	cur = fr->func;
	if (__builtin_expect(cur->inst != inst, 0)) {
		LOAD_CTX();
	} else {
		code = cur->code->icode;
		RELOAD_MEM(); /* the callee may have grown the memory */
	}
	NEXT();
}
L_CALL:
	callee = inst->funcs[ip[1]];
	argbase = ip[2];
	ret_ip = ip + 3;
	goto do_call;
L_CALL_INDIRECT : {
	struct twm_table *t = inst->tables[ip[2]];
	uint32_t i = (uint32_t)SL(3);
	trap_idx = i;
	if (i >= t->size)
		TRAP(TWM_TRAP_UNDEFINED_ELEMENT);
	callee = (struct twm_func *)t->elems[i];
	if (!callee)
		TRAP(TWM_TRAP_UNINIT_ELEMENT);
	if (!twm_ftype_eq(callee->type, &inst->module->types[ip[1]]))
		TRAP(TWM_TRAP_INDIRECT_TYPE);
	argbase = ip[4];
	ret_ip = ip + 5;
	goto do_call;
}
do_call:
	if (__builtin_expect(fuel <= 0, 0))
		goto suspend;
	fuel--;
	if (!callee->code) {
		rc = twm_host_call(inst, callee, fp + argbase, err);
		if (rc != TW_ERR_OK)
			goto out;
		RELOAD_MEM();
		ip = ret_ip;
		NEXT();
	}
	{
		const struct twm_code *cc = callee->code;
		uint64_t *nfp = fp + argbase;
		if (sinst->depth >= sinst->call_depth_max ||
		    (size_t)(stack_end - nfp) < cc->frame_slots)
			TRAP(TWM_TRAP_STACK_EXHAUSTED);
		struct twm_frame *fr = &sinst->frames[sinst->depth++];
		fr->ip = ret_ip;
		fr->fp = fp;
		fr->func = cur;
		fp = nfp;
		/* few locals is the common case: a loop beats a memset call */
		for (uint32_t k = callee->type->nparams; k < cc->nlocals; k++)
			fp[k] = 0;
		cur = callee;
		if (callee->inst != inst) {
			LOAD_CTX();
		} else {
			code = cc->icode;
		}
		ip = code;
		NEXT();
	}

	/* ---- variables ---- */
L_MOVE:
	SL(2) = SL(1);
	ip += 3;
	NEXT();
L_SELECT:
	SL(4) = (uint32_t)SL(1) ? SL(2) : SL(3);
	ip += 5;
	NEXT();
L_GLOBAL_GET:
	SL(2) = inst->globals[ip[1]]->val;
	ip += 3;
	NEXT();
L_GLOBAL_SET:
	inst->globals[ip[1]]->val = SL(2);
	ip += 3;
	NEXT();
L_CONST32:
	SL(1) = ip[2];
	ip += 3;
	NEXT();
L_CONST64:
	SL(1) = (uint64_t)ip[2] | ((uint64_t)ip[3] << 32);
	ip += 4;
	NEXT();

	/* ---- memory ---- */
L_MEMORY_SIZE:
	SL(1) = inst->mem0->pages;
	ip += 2;
	NEXT();
L_MEMORY_GROW : {
	uint32_t old;
	if (twm_mem_grow(inst->mem0, (uint32_t)SL(1), &old) == TW_ERR_OK)
		SL(2) = old;
	else
		SL(2) = (uint32_t)-1;
	RELOAD_MEM();
	ip += 3;
	NEXT();
}
L_MEMORY_INIT : {
	uint32_t seg = ip[1];
	uint64_t d = (uint32_t)SL(2), s = (uint32_t)SL(3), n = (uint32_t)SL(4);
	if (s + n > inst->data_lens[seg] || d + n > msize)
		TRAP(TWM_TRAP_MEMORY_OOB);
	if (n)
		memcpy(mem + d, inst->module->datas[seg].bytes + s, n);
	ip += 5;
	NEXT();
}
L_DATA_DROP:
	inst->data_lens[ip[1]] = 0;
	ip += 2;
	NEXT();
L_MEMORY_COPY : {
	uint64_t d = (uint32_t)SL(1), s = (uint32_t)SL(2), n = (uint32_t)SL(3);
	if (s + n > msize || d + n > msize)
		TRAP(TWM_TRAP_MEMORY_OOB);
	if (n)
		memmove(mem + d, mem + s, n);
	ip += 4;
	NEXT();
}
L_MEMORY_FILL : {
	uint64_t d = (uint32_t)SL(1), n = (uint32_t)SL(3);
	if (d + n > msize)
		TRAP(TWM_TRAP_MEMORY_OOB);
	if (n)
		memset(mem + d, (int)(uint8_t)SL(2), n);
	ip += 4;
	NEXT();
}

	/* ---- references and tables ---- */
L_REF_IS_NULL:
	SL(2) = SL(1) == 0;
	ip += 3;
	NEXT();
L_REF_FUNC:
	SL(2) = (uintptr_t)inst->funcs[ip[1]];
	ip += 3;
	NEXT();
L_TABLE_GET : {
	struct twm_table *t = inst->tables[ip[1]];
	uint32_t i = (uint32_t)SL(2);
	if (i >= t->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	SL(3) = t->elems[i];
	ip += 4;
	NEXT();
}
L_TABLE_SET : {
	struct twm_table *t = inst->tables[ip[1]];
	uint32_t i = (uint32_t)SL(2);
	if (i >= t->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	t->elems[i] = (uintptr_t)SL(3);
	ip += 4;
	NEXT();
}
L_TABLE_SIZE:
	SL(2) = inst->tables[ip[1]]->size;
	ip += 3;
	NEXT();
L_TABLE_GROW : {
	uint32_t old;
	if (twm_tab_grow(inst->tables[ip[1]], (uint32_t)SL(3), (uintptr_t)SL(2), &old) ==
	    TW_ERR_OK)
		SL(4) = old;
	else
		SL(4) = (uint32_t)-1;
	ip += 5;
	NEXT();
}
L_TABLE_FILL : {
	struct twm_table *t = inst->tables[ip[1]];
	uint64_t i = (uint32_t)SL(2), n = (uint32_t)SL(4);
	uintptr_t v = (uintptr_t)SL(3);
	if (i + n > t->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	for (uint64_t k = 0; k < n; k++)
		t->elems[i + k] = v;
	ip += 5;
	NEXT();
}
L_TABLE_COPY : {
	struct twm_table *td = inst->tables[ip[1]], *ts = inst->tables[ip[2]];
	uint64_t d = (uint32_t)SL(3), s = (uint32_t)SL(4), n = (uint32_t)SL(5);
	if (s + n > ts->size || d + n > td->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	if (n)
		memmove(td->elems + d, ts->elems + s, n * sizeof(uintptr_t));
	ip += 6;
	NEXT();
}
L_TABLE_INIT : {
	uint32_t seg = ip[1];
	struct twm_table *t = inst->tables[ip[2]];
	uint64_t d = (uint32_t)SL(3), s = (uint32_t)SL(4), n = (uint32_t)SL(5);
	if (s + n > inst->elem_lens[seg] || d + n > t->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	if (n)
		memcpy(t->elems + d, inst->elem_refs[seg] + s, n * sizeof(uintptr_t));
	ip += 6;
	NEXT();
}
L_ELEM_DROP:
	inst->elem_lens[ip[1]] = 0;
	ip += 2;
	NEXT();

L_bad:
	twm_err_set(err, TW_ERR_INTERNAL, "bad internal opcode %u", *ip);
	rc = TW_ERR_INTERNAL;
	goto out;

suspend:
	sinst->ip = ip;
	sinst->fp = fp;
	sinst->cur = cur;
	sinst->suspended = true;
	sinst->fuel_used += (uint64_t)(fuel_start - fuel);
	return TW_ERR_WASM_FUEL;

do_trap:
	twm_err_trap(err, trap);
	if (trap_idx != UINT32_MAX &&
	    (trap == TWM_TRAP_UNDEFINED_ELEMENT || trap == TWM_TRAP_UNINIT_ELEMENT))
		snprintf(err->msg, sizeof(err->msg), "%s %u", twm_trap_str(trap), trap_idx);
	rc = err->code;
	goto out;

done:
	rc = TW_ERR_OK;
out:
	/* Kept for a host function that suspended the call (TW_ERR_WASM_PENDING): twm_call_run
	 * resumes from here, re-running the call, which then takes the supplied result. */
	sinst->ip = ip;
	sinst->fp = fp;
	sinst->cur = cur;
	sinst->fuel_used += (uint64_t)(fuel_start - fuel);
	sinst->depth = 0;
	sinst->suspended = false;
	return rc;
}
