/*
 * twm_interp.c — the interpreter: runs internal code (see twm_int.h) on an instance's own frame
 * and value stacks.
 *
 * Dispatch is tail-call threading: each opcode has its own handler function, and a handler ends
 * with a guaranteed tail call through a table indexed by the next opcode. The table is a read-only
 * copy that lies right after the run state (struct rt) in a per-thread block, so the run-state
 * pointer every handler holds in a register also addresses the table (see struct rt_block).
 * Instructions name frame slots, so a handler is "load operands from fp[...], compute, store to
 * fp[...], step ip". wasm-to-wasm calls never recurse on the C stack: a call pushes a struct twm_frame onto the
 * instance's frame array and switches ip/fp, a return pops it. A frame is two words, the return
 * ip and the caller's fp: branch targets are offsets from the branch, so no code base follows the
 * running function around. That makes a fuel stop a matter of saving ip and fp (the running
 * function is found from ip when needed) and makes "call stack exhausted" a bounds check instead
 * of a C stack overflow.
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
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "wasm/twm_int.h"

#if !defined(HAVE_MUSTTAIL) || !HAVE_MUSTTAIL
#error "the interpreter needs guaranteed tail calls (__attribute__((musttail)), clang >= 13)"
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

/* Float arithmetic with a TWM_OP_LL_BASE form (both operands loaded from memory). */
#define FARITH(X)                                                                                 \
	X(0x92, F32, a + b)                                                                       \
	X(0x93, F32, a - b)                                                                       \
	X(0x94, F32, a * b)                                                                       \
	X(0x95, F32, a / b)                                                                       \
	X(0xa0, F64, a + b)                                                                       \
	X(0xa1, F64, a - b)                                                                       \
	X(0xa2, F64, a * b)                                                                       \
	X(0xa3, F64, a / b)

/* Add and sub with a TWM_OP_LLM_BASE / TWM_OP_LLMR_BASE form: the other operand of the product
 * (f32.mul 0x94, f64.mul 0xa2) comes from a slot. */
#define FMADD(X)                                                                                  \
	X(0x92, F32, +)                                                                           \
	X(0x93, F32, -)                                                                           \
	X(0xa0, F64, +)                                                                           \
	X(0xa1, F64, -)

/* Binary operations with a shifted operand (TWM_OP_SHB_BASE, TWM_OP_SHA_BASE), in the order of
 * twm_shift_pair(): index, type, operator, shift. */
#define SHIFTED(X) \
	X(0, I32, +, SHL) \
	X(1, I32, +, SHRS) \
	X(2, I32, +, SHRU) \
	X(3, I32, -, SHL) \
	X(4, I32, -, SHRS) \
	X(5, I32, -, SHRU) \
	X(6, I32, &, SHL) \
	X(7, I32, &, SHRS) \
	X(8, I32, &, SHRU) \
	X(9, I32, |, SHL) \
	X(10, I32, |, SHRS) \
	X(11, I32, |, SHRU) \
	X(12, I32, ^, SHL) \
	X(13, I32, ^, SHRS) \
	X(14, I32, ^, SHRU) \
	X(15, I64, +, SHL) \
	X(16, I64, +, SHRS) \
	X(17, I64, +, SHRU) \
	X(18, I64, -, SHL) \
	X(19, I64, -, SHRS) \
	X(20, I64, -, SHRU) \
	X(21, I64, &, SHL) \
	X(22, I64, &, SHRS) \
	X(23, I64, &, SHRU) \
	X(24, I64, |, SHL) \
	X(25, I64, |, SHRS) \
	X(26, I64, |, SHRU) \
	X(27, I64, ^, SHL) \
	X(28, I64, ^, SHRS) \
	X(29, I64, ^, SHRU)

/* Trapping arithmetic and truncations, with hand-written handlers below. */
#define SPECIAL(X)                                                                                \
	X(0x6d) X(0x6e) X(0x6f) X(0x70) X(0x7f) X(0x80) X(0x81) X(0x82) X(0xa8) X(0xa9) X(0xaa)   \
		X(0xab) X(0xae) X(0xaf) X(0xb0) X(0xb1)

/* ---- handlers ----------------------------------------------------------------------------- */

/* State that handlers need only on slow paths (calls, branches, traps, exits). The hot state
 * travels in the six argument registers of every handler. */
struct rt {
	struct twm_instance *sinst; /* the instance whose stacks the call runs on */
	struct twm_instance *inst;  /* owner of the current function */
	struct twm_memory *m0; /* the instance's memory 0, or an empty one */
	/* next free entry of sinst->frames while the run is stopped; while it runs, the handlers'
	 * `fr` argument, written back on every way out and before every call out of the
	 * interpreter */
	struct twm_frame *fr;
	struct twm_frame *fr_base, *fr_end; /* fr_base[-1] is the DONE frame of the entry call */
	/* a callee's frame may start at or below this: the largest frame fits above it */
	uint64_t *stack_limit;
	uint64_t msize; /* rt->m0->size, reloaded wherever it may have changed */
	/* &inst->hook when it has a function, else NULL: the test of every loop entry. Reloaded
	 * with msize (a host function may set the hook) and on a switch of instance. */
	const struct twm_loop_hook *hook;
	struct twm_error *err;
	enum tw_err rc;
	enum twm_trap trap;
	uint32_t trap_idx; /* element index named in the trap message */
	/* a call handed to a slow-path handler */
	struct twm_func *callee;
	const uint32_t *ret;
	uint32_t argbase;
	/* where the run stopped */
	const uint32_t *ip;
	uint64_t *fp;
	int64_t fuel;
};

enum run_exit { X_DONE, X_TRAP, X_SUSPEND, X_ERROR };

/* Stands in for memory 0 in instances without one: every access is out of bounds. */
static struct twm_memory no_memory;

/* What rt->hook holds for `inst`: its loop hook, if it has one. */
static inline const struct twm_loop_hook *hook_of(const struct twm_instance *inst)
{
	return inst->hook.fn ? &inst->hook : NULL;
}

/* The six argument registers. Memory 0's size lives in the run state (a bounds check compares
 * with it in memory at no extra instruction), which leaves a register for the frame stack
 * pointer that every call and return moves. */
#define ARGS                                                                                      \
	const uint32_t *ip, uint64_t *fp, uint8_t *mem, struct twm_frame *fr, int64_t fuel,      \
		struct rt *rt
#define PASS ip, fp, mem, fr, fuel, rt
typedef int (*handler_fn)(ARGS);
#define H(name) static int name(ARGS)
/* A slow path: never inlined into the fast handler that tail-calls it (see below). */
#define H_SLOW(name) static __attribute__((noinline)) int name(ARGS)

static const handler_fn table[TWM_OP_TABLE_SIZE_ALL];

/* The run state followed by a copy of the handler table, one per thread (see rt_block_get).
 * Handlers hold the run-state pointer in a register anyway, so the table is at a displacement
 * fixed at compile time from it and a dispatch is `mov (ip),%eax; jmp *DISP(rt,%rax,8)`. The
 * static table is at a fixed distance from the program counter instead, which costs a `lea` of
 * its address per dispatch in position-independent code. The copy's pages are read-only. */
struct rt_block {
	struct rt rt;
	const handler_fn table[TWM_OP_TABLE_SIZE_ALL];
};

/* The thread's block, written as an offset from the static table. The value is `rt` itself (the
 * block begins with it) and clang folds `table + (rt - table)` back to `rt`, but the load of the
 * next handler is then one from constant memory as far as the compiler knows, which it is: the
 * copy never changes during a run. That is what lets clang fold the load into the jump. Through
 * a plain `(const struct rt_block *)rt` the load is ordered after the argument set-up of the tail
 * call and stays a separate `mov` before a `jmp *%rax`: no instruction saved. */
#define RT_BLOCK(rt)                                                                              \
	((const struct rt_block *)((const char *)table + ((intptr_t)(rt) - (intptr_t)table)))

/* Dispatch: a guaranteed tail call, so each handler is its own small function with its own
 * register allocation and the C stack stays flat however long the guest runs. */
#define NEXT() __attribute__((musttail)) return RT_BLOCK(rt)->table[*ip](PASS)
#define SL(i) fp[ip[i]]
#define TRAP(t)                                                                                   \
	do {                                                                                      \
		rt->trap = (t);                                                                   \
		rt->fuel = fuel;                                                                  \
		rt->fr = fr;                                                                      \
		return X_TRAP;                                                                    \
	} while (0)
#define SUSPEND()                                                                                 \
	do {                                                                                      \
		rt->ip = ip;                                                                      \
		rt->fp = fp;                                                                      \
		rt->fuel = fuel;                                                                  \
		rt->fr = fr;                                                                      \
		return X_SUSPEND;                                                                 \
	} while (0)
/* Memory 0's base never moves (its whole reach is reserved), but its size changes with
 * memory.grow, here or in a host function or callee that shares it. */
#define RELOAD_MEM()                                                                              \
	do {                                                                                      \
		rt->msize = rt->m0->size;                                                         \
		rt->hook = hook_of(rt->inst);                                                     \
	} while (0)
/* After a switch to another instance (rt->inst). */
#define LOAD_MEM0()                                                                               \
	do {                                                                                      \
		rt->m0 = rt->inst->mem0 ? rt->inst->mem0 : &no_memory;                            \
		mem = rt->m0->data;                                                               \
		rt->msize = rt->m0->size;                                                         \
		rt->hook = hook_of(rt->inst);                                                     \
	} while (0)

/* The running function, the one of rt->inst whose code holds `ip`: the last code that starts at or
 * before it, by binary search (slow paths only: a fuel stop, a pending host call, the loop hook).
 * Keeping the current code in the run state instead cost every call and return a store and a
 * load. */
static struct twm_func *cur_func(const struct rt *rt, const uint32_t *ip)
{
	const struct twm_module *m = rt->inst->module;
	const uint32_t *const *cs = m->code_starts;
	uint32_t lo = 0, hi = m->nfuncs - m->nfunc_imports; /* cs[lo - 1] <= ip < cs[hi] */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)cs[mid] <= (uintptr_t)ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return rt->inst->funcs[cs[lo - 1][-1]];
}

#define H1(op, tin, tout, expr)                                                                   \
	H(h_##op)                                                                                 \
	{                                                                                         \
		T_##tin a = GET_##tin(SL(1));                                                     \
		SL(2) = PUT_##tout(expr);                                                         \
		ip += 3;                                                                          \
		NEXT();                                                                           \
	}
#define H2(op, tin, tout, expr)                                                                   \
	H(h_##op)                                                                                 \
	{                                                                                         \
		T_##tin a = GET_##tin(SL(1));                                                     \
		T_##tin b = GET_##tin(SL(2));                                                     \
		SL(3) = PUT_##tout(expr);                                                         \
		ip += 4;                                                                          \
		NEXT();                                                                           \
	}
#define IMM_I32(x) ((uint32_t)(x))
#define IMM_I64(x) ((uint64_t)(int64_t)(int32_t)(x))
#define H2I(op, tin, tout, expr)                                                                  \
	H(hi_##op)                                                                                \
	{                                                                                         \
		T_##tin a = GET_##tin(SL(1));                                                     \
		T_##tin b = IMM_##tin(ip[2]);                                                     \
		SL(3) = PUT_##tout(expr);                                                         \
		ip += 4;                                                                          \
		NEXT();                                                                           \
	}
/* i64 operations with a full 64-bit immediate: "a lo hi dst" */
#define H2L_I32(op, tout, expr)
#define H2L_I64(op, tout, expr)                                                                   \
	H(hl_##op)                                                                                \
	{                                                                                         \
		uint64_t a = SL(1);                                                               \
		uint64_t b = (uint64_t)ip[2] | ((uint64_t)ip[3] << 32);                           \
		SL(4) = PUT_##tout(expr);                                                         \
		ip += 5;                                                                          \
		NEXT();                                                                           \
	}
#define H2L(op, tin, tout, expr) H2L_##tin(op, tout, expr)
NUM1(H1)
NUM2(H2)
NUM2I(H2I)
NUM2I(H2L)

/* A binary operation on a shifted operand: "a b k dst", k already masked to the type's width. */
#define SH_SHL(t, v, k) ((v) << (k))
#define SH_SHRU(t, v, k) ((v) >> (k))
#define SH_SHRS(t, v, k) ((T_##t)(S_##t(v) >> (k)))
#define S_I32(v) S32(v)
#define S_I64(v) S64(v)
#define HSH(i, t, sym, sh)                                                                        \
	H(hshb_##i)                                                                               \
	{                                                                                         \
		T_##t a = GET_##t(SL(1)), s = SH_##sh(t, GET_##t(SL(2)), ip[3]);                  \
		SL(4) = PUT_##t(a sym s);                                                         \
		ip += 5;                                                                          \
		NEXT();                                                                           \
	}                                                                                         \
	H(hsha_##i)                                                                               \
	{                                                                                         \
		T_##t a = GET_##t(SL(1)), s = SH_##sh(t, GET_##t(SL(2)), ip[3]);                  \
		SL(4) = PUT_##t(s sym a);                                                         \
		ip += 5;                                                                          \
		NEXT();                                                                           \
	}
SHIFTED(HSH)

/* Loads and stores. EA is where the access ends: its address plus the end offset cell, which
 * holds the offset plus the width (twm_int.h), at most 2^32 - 1 + 2^32 - 1, so the 64-bit sum
 * cannot wrap. */
#define ACCESS(name, EA, width, body, len)                                                        \
	H(name)                                                                                   \
	{                                                                                         \
		uint64_t end = (EA);                                                              \
		/* keeps clang from recomputing the address beside end: one sum serves the check \
		 * and the access (through a displacement); single bytes get that unasked */     \
		if ((width) > 1)                                                                  \
			__asm__("" : "+r"(end));                                                  \
		if (__builtin_expect(end > rt->msize, 0))                                         \
			TRAP(TWM_TRAP_MEMORY_OOB);                                                \
		uint8_t *at = mem + end - (width);                                                \
		body;                                                                             \
		ip += (len);                                                                      \
		NEXT();                                                                           \
	}
#define EA_PLAIN() ((uint64_t)(uint32_t)SL(1) + ip[3])
/* Accesses fused with the i32.add of their address: ea = (u32)(a + b) + offset. */
#define EA_RR() ((uint64_t)(uint32_t)((uint32_t)SL(1) + (uint32_t)SL(2)) + ip[4])
#define EA_RI() ((uint64_t)(uint32_t)((uint32_t)SL(1) + ip[2]) + ip[4])
#define LOAD_INTO(ctype, conv, d)                                                                 \
	do {                                                                                      \
		ctype v;                                                                          \
		memcpy(&v, at, sizeof(v));                                                        \
		SL(d) = conv;                                                                     \
	} while (0)
#define STORE_FROM(ctype, val)                                                                    \
	do {                                                                                      \
		ctype v = (ctype)(val);                                                           \
		memcpy(at, &v, sizeof(v));                                                        \
	} while (0)
#define HL(op, ctype, conv)                                                                       \
	ACCESS(h_##op, EA_PLAIN(), sizeof(ctype), LOAD_INTO(ctype, conv, 2), 4)                   \
	ACCESS(hrr_##op, EA_RR(), sizeof(ctype), LOAD_INTO(ctype, conv, 3), 5)                    \
	ACCESS(hri_##op, EA_RI(), sizeof(ctype), LOAD_INTO(ctype, conv, 3), 5)
#define HS(op, ctype)                                                                             \
	ACCESS(h_##op, EA_PLAIN(), sizeof(ctype), STORE_FROM(ctype, SL(2)), 4)                    \
	ACCESS(hrr_##op, EA_RR(), sizeof(ctype), STORE_FROM(ctype, SL(3)), 5)                     \
	ACCESS(hri_##op, EA_RI(), sizeof(ctype), STORE_FROM(ctype, SL(3)), 5)
#define SIMM(x) ((int64_t)(int32_t)(x))
#define HSI(op, ctype)                                                                            \
	ACCESS(hsi_##op, EA_PLAIN(), sizeof(ctype), STORE_FROM(ctype, SIMM(ip[2])), 4)            \
	ACCESS(hsirr_##op, EA_RR(), sizeof(ctype), STORE_FROM(ctype, SIMM(ip[3])), 5)             \
	ACCESS(hsiri_##op, EA_RI(), sizeof(ctype), STORE_FROM(ctype, SIMM(ip[3])), 5)
LOADS(HL)
STORES(HS)
STORES_IMM(HSI)

/* An access whose offset plus width needs 33 bits (TWM_OP_ACCESS_FAR): "op a dst|val|immval
 * offset", summed in 64 bits. It is in bounds only in a memory of the whole 4 GiB. */
H_SLOW(h_ACCESS_FAR)
{
	uint64_t ea = (uint64_t)(uint32_t)SL(2) + ip[4];
	switch (ip[1]) {
#define FAR_ACCESS(o, ctype, body)                                                                \
	case o: {                                                                                 \
		if (ea + sizeof(ctype) > rt->msize)                                               \
			TRAP(TWM_TRAP_MEMORY_OOB);                                                \
		uint8_t *at = mem + ea;                                                           \
		body;                                                                             \
		break;                                                                            \
	}
#define FAR_LOAD(o, ctype, conv) FAR_ACCESS(o, ctype, LOAD_INTO(ctype, conv, 3))
#define FAR_STORE(o, ctype) FAR_ACCESS(o, ctype, STORE_FROM(ctype, SL(3)))
#define FAR_STORE_IMM(o, ctype)                                                                   \
	FAR_ACCESS(TWM_OP_IMM_BASE + o, ctype, STORE_FROM(ctype, SIMM(ip[3])))
		LOADS(FAR_LOAD)
		STORES(FAR_STORE)
		STORES_IMM(FAR_STORE_IMM)
	default:
		TRAP(TWM_TRAP_MEMORY_OOB); /* not compiled */
	}
	ip += 5;
	NEXT();
}

/* Load `v` from the three cells "a imm end" at `q`, end being the access's offset plus its width
 * (twm_int.h, TWM_OP_LL_BASE): the access ends at (u32)(fp[a] + imm) + end, or traps if that is
 * beyond `msize`, memory 0's size. */
#define LOAD_CHECKED(v, q, msize)                                                                 \
	do {                                                                                      \
		uint64_t e_ = (uint64_t)(uint32_t)((uint32_t)fp[(q)[0]] + (q)[1]) + (q)[2];       \
		__asm__("" : "+r"(e_)); /* one sum for the check and the access, as in ACCESS */  \
		if (__builtin_expect(e_ > (msize), 0))                                            \
			TRAP(TWM_TRAP_MEMORY_OOB);                                                \
		memcpy(&(v), mem + e_ - sizeof(v), sizeof(v));                                    \
	} while (0)

/* Float arithmetic on two loaded operands (TWM_OP_LL_BASE): "a1 imm1 off1 a2 imm2 off2 dst".
 * The first load is checked and done before the second address is computed (fewer registers
 * live, no callee-saved ones to push); when either is out of bounds the wasm code traps with the
 * same trap and nothing written, so the order does not show. The barrier keeps clang from
 * sinking the first load below the second check. The operation is the
 * one rounded IEEE operation of the plain handler. */
#define HLL(op, t, expr)                                                                          \
	H(hll_##op)                                                                               \
	{                                                                                         \
		T_##t a, b;                                                                       \
		LOAD_CHECKED(a, ip + 1, rt->msize);                                                \
		__asm__("" : "+x"(a));                                                            \
		LOAD_CHECKED(b, ip + 4, rt->msize);                                                \
		SL(7) = PUT_##t(expr);                                                            \
		ip += 8;                                                                          \
		NEXT();                                                                           \
	}
FARITH(HLL)

/* A multiply of two loaded operands and the add or sub that consumes it (TWM_OP_LLM_BASE,
 * TWM_OP_LLMR_BASE): "a1 imm1 off1 a2 imm2 off2 c dst". The product is rounded on its own and
 * then added, as the two wasm instructions do; the barrier keeps clang from contracting the
 * pair into an FMA on targets that have one. */
#define HLLM_ONE(name, t, expr)                                                                   \
	H(name)                                                                                   \
	{                                                                                         \
		T_##t a, b;                                                                       \
		LOAD_CHECKED(a, ip + 1, rt->msize);                                                \
		__asm__("" : "+x"(a));                                                            \
		LOAD_CHECKED(b, ip + 4, rt->msize);                                                \
		T_##t p = a * b, c = GET_##t(SL(7));                                              \
		__asm__("" : "+x"(p));                                                            \
		SL(8) = PUT_##t(expr);                                                            \
		ip += 9;                                                                          \
		NEXT();                                                                           \
	}
#define HLLM(op, t, sym) HLLM_ONE(hllm_##op, t, p sym c) HLLM_ONE(hllmr_##op, t, c sym p)
FMADD(HLLM)

/* A chain of multiply-adds (TWM_OP_LLMC_BASE): "n c", n products "a1 imm1 off1 a2 imm2 off2",
 * "dst". The running sum stays in a register: the separate instructions each stored it and the
 * next loaded it back, a store-to-load forward on the sum's dependency chain per product. Every
 * product and every add is rounded on its own, in the order of the wasm code. ip itself walks
 * the products to the destination cell, so nothing else of the instruction stays live. */
#define LLMC_PRODUCT(t, sym, q)                                                                   \
	do {                                                                                      \
		T_##t a, b;                                                                       \
		LOAD_CHECKED(a, q, msize);                                                        \
		__asm__("" : "+x"(a));                                                            \
		LOAD_CHECKED(b, (q) + 3, msize);                                                  \
		T_##t p = a * b;                                                                  \
		__asm__("" : "+x"(p));                                                            \
		acc = p sym acc;                                                                  \
	} while (0)
#define HLLMC(op, t, sym)                                                                         \
	H(hllmc_##op)                                                                             \
	{                                                                                         \
		const uint32_t *end = ip + 3 + 6 * ip[1];                                         \
		const uint64_t msize = rt->msize; /* nothing in the loop changes it */            \
		T_##t acc = GET_##t(SL(2));                                                       \
		/* two products a round (one first for an odd count): half the loop's own work */ \
		if (ip[1] & 1) {                                                                  \
			LLMC_PRODUCT(t, sym, ip + 3);                                             \
			ip += 6;                                                                  \
		}                                                                                 \
		for (ip += 3; ip != end; ip += 12) {                                              \
			LLMC_PRODUCT(t, sym, ip);                                                 \
			LLMC_PRODUCT(t, sym, ip + 6);                                             \
		}                                                                                 \
		fp[ip[0]] = PUT_##t(acc);                                                         \
		ip += 1;                                                                          \
		NEXT();                                                                           \
	}
FMADD(HLLMC)

/* integer division */
H(h_0x6d)
{
	int32_t a = (int32_t)SL(1), b = (int32_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	if (a == INT32_MIN && b == -1)
		TRAP(TWM_TRAP_INT_OVERFLOW);
	SL(3) = (uint32_t)(a / b);
	ip += 4;
	NEXT();
}
H(h_0x6e)
{
	uint32_t a = (uint32_t)SL(1), b = (uint32_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = a / b;
	ip += 4;
	NEXT();
}
H(h_0x6f)
{
	int32_t a = (int32_t)SL(1), b = (int32_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = (b == -1) ? 0 : (uint32_t)(a % b);
	ip += 4;
	NEXT();
}
H(h_0x70)
{
	uint32_t a = (uint32_t)SL(1), b = (uint32_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = a % b;
	ip += 4;
	NEXT();
}
H(h_0x7f)
{
	int64_t a = (int64_t)SL(1), b = (int64_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	if (a == INT64_MIN && b == -1)
		TRAP(TWM_TRAP_INT_OVERFLOW);
	SL(3) = (uint64_t)(a / b);
	ip += 4;
	NEXT();
}
H(h_0x80)
{
	uint64_t a = SL(1), b = SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = a / b;
	ip += 4;
	NEXT();
}
H(h_0x81)
{
	int64_t a = (int64_t)SL(1), b = (int64_t)SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = (b == -1) ? 0 : (uint64_t)(a % b);
	ip += 4;
	NEXT();
}
H(h_0x82)
{
	uint64_t a = SL(1), b = SL(2);
	if (b == 0)
		TRAP(TWM_TRAP_DIV_ZERO);
	SL(3) = a % b;
	ip += 4;
	NEXT();
}

#define HTRUNC(op, getter, kind)                                                                  \
	H(h_##op)                                                                                 \
	{                                                                                         \
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

H(h_TRUNC_SAT)
{
	uint32_t k = ip[1];
	double x = (k & 2) ? f64_of(SL(2)) : (double)f32_of(SL(2));
	static const int kinds[8] = {0, 1, 0, 1, 2, 3, 2, 3};
	SL(3) = trunc_sat(x, kinds[k]);
	ip += 4;
	NEXT();
}

/* ---- control ---- */

/* Forward branch: the target counted in cells from the branch instruction's opcode cell, like
 * backedges, so no code base is needed. The empty asm keeps clang from merging it with the
 * fall-through path's `ip += len` into one select-and-add, which costs the fall-through (a
 * conditional branch's usual path) three instructions more. */
#define JUMP(t)                                                                                   \
	do {                                                                                      \
		ip += (int32_t)(t);                                                               \
		__asm__("" : "+r"(ip));                                                           \
	} while (0)
/* Backedge to the LOOP header at target - 3, the target counted in cells from the branch
 * instruction (so no code base is needed): charge its fuel here, or stop there so that
 * resuming runs the header's own check. */
#define BACKEDGE(t)                                                                               \
	do {                                                                                      \
		const uint32_t *tgt_ = ip + (int32_t)(t);                                         \
		if (__builtin_expect(fuel <= 0, 0)) {                                             \
			ip = tgt_ - 3;                                                            \
			SUSPEND();                                                                \
		}                                                                                 \
		fuel -= tgt_[-2];                                                                 \
		ip = tgt_;                                                                        \
	} while (0)

/* Compare-and-branch: X(name, operand b, cmp), forward (BR*) and backedge (BRB*) forms. */
#define HBR2(name, cmp)                                                                           \
	H(h_##name)                                                                               \
	{                                                                                         \
		uint32_t a = (uint32_t)SL(1), b = (uint32_t)SL(2);                                \
		if (cmp)                                                                          \
			JUMP(ip[3]);                                                              \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define HBRI2(name, cmp)                                                                          \
	H(h_##name)                                                                               \
	{                                                                                         \
		uint32_t a = (uint32_t)SL(1), b = ip[2];                                          \
		if (cmp)                                                                          \
			JUMP(ip[3]);                                                              \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define HBRB2(name, cmp)                                                                          \
	H(h_##name)                                                                               \
	{                                                                                         \
		uint32_t a = (uint32_t)SL(1), b = (uint32_t)SL(2);                                \
		if (cmp)                                                                          \
			BACKEDGE(ip[3]);                                                          \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define HBRBI2(name, cmp)                                                                         \
	H(h_##name)                                                                               \
	{                                                                                         \
		uint32_t a = (uint32_t)SL(1), b = ip[2];                                          \
		if (cmp)                                                                          \
			BACKEDGE(ip[3]);                                                          \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define CMPS(X, P)                                                                                \
	X(P##EQ, a == b)                                                                          \
	X(P##NE, a != b)                                                                          \
	X(P##LT_S, S32(a) < S32(b))                                                               \
	X(P##LT_U, a < b)                                                                         \
	X(P##GT_S, S32(a) > S32(b))                                                               \
	X(P##GT_U, a > b)                                                                         \
	X(P##LE_S, S32(a) <= S32(b))                                                              \
	X(P##LE_U, a <= b)                                                                        \
	X(P##GE_S, S32(a) >= S32(b))                                                              \
	X(P##GE_U, a >= b)
CMPS(HBR2, BR_)
CMPS(HBRI2, BRI_)
CMPS(HBRB2, BRB_)
CMPS(HBRBI2, BRBI_)

#define HBR64(name, cmp)                                                                          \
	H(h_##name)                                                                               \
	{                                                                                         \
		uint64_t a = SL(1), b = SL(2);                                                    \
		if (cmp)                                                                          \
			JUMP(ip[3]);                                                              \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define HBRI64(name, cmp)                                                                         \
	H(h_##name)                                                                               \
	{                                                                                         \
		uint64_t a = SL(1), b = IMM_I64(ip[2]);                                           \
		if (cmp)                                                                          \
			JUMP(ip[3]);                                                              \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define HBRB64(name, cmp)                                                                         \
	H(h_##name)                                                                               \
	{                                                                                         \
		uint64_t a = SL(1), b = SL(2);                                                    \
		if (cmp)                                                                          \
			BACKEDGE(ip[3]);                                                          \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define HBRBI64(name, cmp)                                                                        \
	H(h_##name)                                                                               \
	{                                                                                         \
		uint64_t a = SL(1), b = IMM_I64(ip[2]);                                           \
		if (cmp)                                                                          \
			BACKEDGE(ip[3]);                                                          \
		else                                                                              \
			ip += 4;                                                                  \
		NEXT();                                                                           \
	}
#define CMPS64(X, P)                                                                              \
	X(P##EQ, a == b)                                                                          \
	X(P##NE, a != b)                                                                          \
	X(P##LT_S, S64(a) < S64(b))                                                               \
	X(P##LT_U, a < b)                                                                         \
	X(P##GT_S, S64(a) > S64(b))                                                               \
	X(P##GT_U, a > b)                                                                         \
	X(P##LE_S, S64(a) <= S64(b))                                                              \
	X(P##LE_U, a <= b)                                                                        \
	X(P##GE_S, S64(a) >= S64(b))                                                              \
	X(P##GE_U, a >= b)
HBRI2(BRI_TEST, (a & b) != 0)
HBRI2(BRI_TESTZ, (a & b) == 0)
HBRBI2(BRBI_TEST, (a & b) != 0)
HBRBI2(BRBI_TESTZ, (a & b) == 0)

CMPS64(HBR64, BR64_)
CMPS64(HBRI64, BRI64_)
CMPS64(HBRB64, BRB64_)
CMPS64(HBRBI64, BRBI64_)

/* An add fused with the backedge that tests its result (TWM_OP_ABR_BASE): "x y d b target".
 * The sum is written before the compare reads its operands, as the two instructions do. */
#define ABR_Y_REG(t) GET_##t(SL(2))
#define ABR_Y_IMM(t) IMM_##t(ip[2])
#define ABR_B_REG(t) GET_##t(SL(4))
#define ABR_B_IMM(t) IMM_##t(ip[4])
#define ABR_BODY(t, yk, bk, cmp)                                                                  \
	do {                                                                                      \
		T_##t a = GET_##t(SL(1)) + ABR_Y_##yk(t);                                         \
		SL(3) = PUT_##t(a);                                                               \
		T_##t b = ABR_B_##bk(t);                                                          \
		if (cmp)                                                                          \
			BACKEDGE(ip[5]);                                                          \
		else                                                                              \
			ip += 6;                                                                  \
		NEXT();                                                                           \
	} while (0)
#define HABR_ONE(t, k, yk, bk, cmp)                                                               \
	H(habr_##t##_##k##_##yk##bk)                                                              \
	{                                                                                         \
		ABR_BODY(t, yk, bk, cmp);                                                         \
	}
#define HABR(t, k, cmp)                                                                           \
	HABR_ONE(t, k, REG, REG, cmp)                                                             \
	HABR_ONE(t, k, REG, IMM, cmp) HABR_ONE(t, k, IMM, REG, cmp) HABR_ONE(t, k, IMM, IMM, cmp)
#define ABR_CMPS(X, t)                                                                            \
	X(t, 0, a == b)                                                                           \
	X(t, 1, a != b)                                                                           \
	X(t, 2, S_##t(a) < S_##t(b))                                                              \
	X(t, 3, a < b)                                                                            \
	X(t, 4, S_##t(a) > S_##t(b))                                                              \
	X(t, 5, a > b)                                                                            \
	X(t, 6, S_##t(a) <= S_##t(b))                                                             \
	X(t, 7, a <= b)                                                                           \
	X(t, 8, S_##t(a) >= S_##t(b))                                                             \
	X(t, 9, a >= b)
ABR_CMPS(HABR, I32)
ABR_CMPS(HABR, I64)

/* An i32 add and the i32 ABR with an immediate step after it (TWM_OP_AABR_BASE): "a b|imm d",
 * the ABR's opcode cell, then its "x step e n|imm target". */
#define AABR_F_REG (uint32_t)SL(2)
#define AABR_F_IMM ip[2]
#define HAABR_ONE(fk, bk, k, cmp)                                                                 \
	H(haabr_##fk##_##bk##_##k)                                                                \
	{                                                                                         \
		SL(3) = (uint32_t)((uint32_t)SL(1) + AABR_F_##fk);                                \
		ip += 4;                                                                          \
		ABR_BODY(I32, IMM, bk, cmp);                                                      \
	}
#define HAABR(t, k, cmp)                                                                          \
	HAABR_ONE(REG, REG, k, cmp)                                                               \
	HAABR_ONE(REG, IMM, k, cmp) HAABR_ONE(IMM, REG, k, cmp) HAABR_ONE(IMM, IMM, k, cmp)
ABR_CMPS(HAABR, I32)

H(h_BRB)
{
	BACKEDGE(ip[1]);
	NEXT();
}
/* A loop variable's MOVE and the backedge after it: "src dst target" (a fuel stop leaves at the
 * header with the move done, as the plain pair would). */
H(h_MOVE_BRB)
{
	SL(2) = SL(1);
	BACKEDGE(ip[3]);
	NEXT();
}
H(h_BRB_IF)
{
	if ((uint32_t)SL(1))
		BACKEDGE(ip[2]);
	else
		ip += 3;
	NEXT();
}
H(h_BRB_IF_NOT)
{
	if (!(uint32_t)SL(1))
		BACKEDGE(ip[2]);
	else
		ip += 3;
	NEXT();
}
H(h_UNREACHABLE)
{
	TRAP(TWM_TRAP_UNREACHABLE);
}
H(h_BR)
{
	JUMP(ip[1]);
	NEXT();
}
/* A label value's MOVE and the BR that carries it: "src dst target". */
H(h_MOVE_BR)
{
	SL(2) = SL(1);
	JUMP(ip[3]);
	NEXT();
}
H(h_BR_IF)
{
	if ((uint32_t)SL(1))
		JUMP(ip[2]);
	else
		ip += 3;
	NEXT();
}
H(h_BR_IF_NOT)
{
	if (!(uint32_t)SL(1))
		JUMP(ip[2]);
	else
		ip += 3;
	NEXT();
}
H(h_BR_TABLE)
{
	uint32_t i = (uint32_t)SL(1), n = ip[2];
	if (i > n)
		i = n;
	JUMP(ip[3 + i]);
	NEXT();
}

/* Slow paths live in their own handlers, reached by tail call: a handler that makes an
 * ordinary call saves and restores registers on every path, the fast one included. */

/* Out of line so that the site's address never lives in a handler's frame. */
static __attribute__((noinline)) enum twm_hook_action
run_loop_hook(struct rt *rt, const uint32_t *ip, uint64_t *fp, uint8_t *mem)
{
	struct twm_instance *inst = rt->inst;
	const struct twm_func *cur = cur_func(rt, ip);
	uint32_t loop_index = ip[1] - cur->code->loop_base; /* ip[1]: the module's loop number */
	struct twm_loop_site site = {
		.module = inst->module,
		.func_index = cur->index,
		.loop_offset = cur->code->loop_offsets[loop_index],
		.locals = fp,
		.nlocals = cur->code->nlocals,
		.mem = mem,
		.mem_bytes = rt->msize,
		.can_suspend = twm_host_pend_loop_ok(rt->sinst, inst),
	};
	enum twm_hook_action act = inst->hook.fn(&site, inst->hook.env);
	if (act == TWM_HOOK_PENDING)
		act = twm_host_pend_loop(rt->sinst, site.can_suspend);
	return act;
}

H(h_LOOP);

H_SLOW(h_loop_hook_call)
{
	rt->fr = fr;
	enum twm_hook_action act = run_loop_hook(rt, ip, fp, mem);
	RELOAD_MEM();
	if (act == TWM_HOOK_LOOP_DONE) {
		JUMP(ip[2]);
		NEXT();
	}
	if (act == TWM_HOOK_PENDING) {
		/* Left like a pending host call; resuming runs this LOOP_HOOK again. */
		rt->ip = ip;
		rt->fp = fp;
		rt->rc = TW_ERR_WASM_PENDING;
		rt->fuel = fuel;
		rt->fr = fr;
		return X_ERROR;
	}
	ip += 3;
	__attribute__((musttail)) return h_LOOP(PASS);
}

/* Entry of a loop without params or results: the JIT may run the whole loop. Without a hook
 * (or one that does not want this loop) this also does the work of the LOOP header that always
 * follows, saving a dispatch. ip is at the LOOP_HOOK. The fast path tests only that the
 * instance has no hook; whether a hook wants this loop is asked on the slow path. */
/* The LOOP header's work, ip at the header: fuel is charged once per iteration (a stop stays at
 * the header, which checks again on resumption). */
#define LOOP_HEADER()                                                                             \
	do {                                                                                      \
		if (__builtin_expect(fuel <= 0, 0))                                               \
			SUSPEND();                                                                \
		fuel -= ip[1];                                                                    \
		ip += 3;                                                                          \
		NEXT();                                                                           \
	} while (0)
#define LOOP_ENTER_HEADER()                                                                       \
	do {                                                                                      \
		ip += 3;                                                                          \
		LOOP_HEADER();                                                                    \
	} while (0)
H_SLOW(h_loop_hooked)
{
	const struct twm_loop_hook *hk = rt->hook;
	if (!hk->wants || hk->wants[ip[1]])
		__attribute__((musttail)) return h_loop_hook_call(PASS);
	LOOP_ENTER_HEADER();
}
#define LOOP_ENTRY()                                                                              \
	do {                                                                                      \
		if (__builtin_expect(rt->hook != NULL, 0))                                        \
			__attribute__((musttail)) return h_loop_hooked(PASS);                     \
		LOOP_ENTER_HEADER();                                                              \
	} while (0)
H(h_LOOP_HOOK)
{
	LOOP_ENTRY();
}

/* A loop's guard and its entry (TWM_OP_LH_BASE): the forward branch that skips the loop, then,
 * when it falls through, the LOOP_HOOK after it (whose opcode cell stays: a hook that suspends
 * the call resumes at it, as a plain LOOP_HOOK). */
#define HLH(name, len, bexpr, taken)                                                              \
	H(hlh_##name)                                                                             \
	{                                                                                         \
		uint32_t a = (uint32_t)SL(1), b = (bexpr);                                        \
		(void)b;                                                                          \
		if (taken) {                                                                      \
			JUMP(ip[(len) - 1]);                                                      \
			NEXT();                                                                   \
		}                                                                                 \
		ip += (len);                                                                      \
		LOOP_ENTRY();                                                                     \
	}
#define HLH2(name, cmp) HLH(name, 4, (uint32_t)SL(2), cmp)
#define HLHI2(name, cmp) HLH(name, 4, ip[2], cmp)
CMPS(HLH2, BR_)
CMPS(HLHI2, BRI_)
HLH(BR_IF, 3, 0, a != 0)
HLH(BR_IF_NOT, 3, 0, a == 0)
HLH(BRI_TEST, 4, ip[2], (a & b) != 0)
HLH(BRI_TESTZ, 4, ip[2], (a & b) == 0)
/* Loop header, the target of every backedge: fuel is charged once per iteration. */
H(h_LOOP)
{
	LOOP_HEADER();
}

/* Back in the caller: pop its frame. There is always one: the entry function returns to the
 * DONE frame below the stack's first entry, and a callee in another instance to the XRET marker
 * frame that its caller pushed, so this is two loads and no test. The caller runs in the same
 * instance, so mem and rt->msize are still right: whatever grew the memory since (memory.grow,
 * a host call, a callee in another instance sharing it) reloaded rt->msize at that point. */
#define RETURN_TO_CALLER()                                                                        \
	do {                                                                                      \
		fr--;                                                                             \
		__asm__("" : "+r"(fr));                                                           \
		ip = fr->ip;                                                                      \
		fp = fr->fp;                                                                      \
		NEXT();                                                                           \
	} while (0)

/* Return targets that are not in any function's code (cur_func is never asked about them). */
static const uint32_t xret_code[] = {TWM_OP_XRET};
static const uint32_t done_code[] = {TWM_OP_DONE};

/* A callee in another instance returned through its caller's marker frame (fr, just popped;
 * the fp it loaded was the instance): pop the caller's own frame and switch back to its instance
 * and memory. */
H(h_XRET)
{
	rt->inst = fr->inst;
	--fr;
	ip = fr->ip;
	fp = fr->fp;
	LOAD_MEM0();
	NEXT();
}

/* The entry function returned (its results are at the bottom of the stack). */
H(h_DONE)
{
	(void)ip;
	(void)fp;
	(void)mem;
	rt->fr = fr + 1; /* the DONE frame is not part of the call's depth */
	rt->fuel = fuel;
	return X_DONE;
}

H_SLOW(h_return_many)
{
	uint32_t src = ip[1], n = ip[2];
	for (uint32_t k = 0; k < n; k++)
		fp[k] = fp[src + k];
	RETURN_TO_CALLER();
}

H(h_RETURN)
{
	uint32_t n = ip[2];
	if (__builtin_expect(n > 1, 0))
		__attribute__((musttail)) return h_return_many(PASS);
	if (n)
		fp[0] = fp[ip[1]];
	RETURN_TO_CALLER();
}

/* Results already in place (TWM_OP_RETURN0). */
H(h_RETURN0)
{
	RETURN_TO_CALLER();
}

H(h_RETURN1)
{
	fp[0] = fp[ip[1]];
	RETURN_TO_CALLER();
}

/* An i32.add computing the function's result, then RETURN0: "a b 0" and "a imm 0". */
H(h_ADD_RET)
{
	fp[0] = (uint32_t)((uint32_t)SL(1) + (uint32_t)SL(2));
	RETURN_TO_CALLER();
}
H(h_ADDI_RET)
{
	fp[0] = (uint32_t)((uint32_t)SL(1) + ip[2]);
	RETURN_TO_CALLER();
}

/* A function's declared locals start at zero. Its code does that itself, where its prologue
 * ends, so that calls need not look at the callee's local counts. */
H(h_ZERO)
{
	memset(fp + ip[1], 0, (size_t)ip[2] * sizeof(*fp));
	ip += 3;
	NEXT();
}
/* Up to 8 locals, the count in the opcode: a few fixed-size stores and no switch (a switch on
 * a count operand cost ~9 instructions more: its range check, the jump table and a saved
 * register). */
#define H_ZERO_K(k)                                                                               \
	H(h_ZERO##k)                                                                              \
	{                                                                                         \
		memset(fp + ip[1], 0, (k) * sizeof(*fp));                                         \
		ip += 2;                                                                          \
		NEXT();                                                                           \
	}
H_ZERO_K(1) H_ZERO_K(2) H_ZERO_K(3) H_ZERO_K(4) H_ZERO_K(5) H_ZERO_K(6) H_ZERO_K(7) H_ZERO_K(8)
#undef H_ZERO_K

/* Push the caller's frame and enter the code `icode_` with the frame at `nfp`: the callee's
 * frame starts at its first argument, so arguments are never copied. The value stack check
 * needs no frame size: stack_limit leaves room for the largest frame a function can have. */
#define ENTER(icode_, nfp, ret_expr)                                                              \
	do {                                                                                      \
		uint64_t *nfp_ = (nfp);                                                           \
		if (fr == rt->fr_end || nfp_ > rt->stack_limit)                                   \
			TRAP(TWM_TRAP_STACK_EXHAUSTED);                                           \
		fr->ip = (ret_expr);                                                              \
		fr->fp = fp;                                                                      \
		fr++;                                                                             \
		fp = nfp_;                                                                        \
		ip = (icode_);                                                                    \
	} while (0)

/* A call to a host function or into another instance: the callee, its arguments at
 * fp[rt->argbase...] and the return address rt->ret were stashed by the fast path, which also
 * checked the fuel. */
H_SLOW(h_call_slow)
{
	struct twm_func *f = rt->callee;
	fuel--;
	if (!f->code) {
		rt->fr = fr; /* the host function may run calls of its own on this thread */
		enum tw_err rc = twm_host_call(rt->inst, f, fp + rt->argbase, rt->err);
		if (rc != TW_ERR_OK) {
			/* Kept for TW_ERR_WASM_PENDING (the host suspended the call): resuming runs
			 * this call instruction again, which then takes the supplied result. */
			rt->ip = ip;
			rt->fp = fp;
			rt->rc = rc;
			rt->fuel = fuel;
			rt->fr = fr;
			return X_ERROR;
		}
		RELOAD_MEM();
		ip = rt->ret;
		NEXT();
	}
	/* the caller's frame, then the marker frame the callee returns to (struct twm_frame) */
	if (fr + 1 == rt->fr_end)
		TRAP(TWM_TRAP_STACK_EXHAUSTED);
	struct twm_instance *caller = rt->inst;
	uint64_t *nfp = fp + rt->argbase;
	ENTER(xret_code, nfp, rt->ret);
	struct twm_frame *mk = fr;
	ENTER(f->code->icode, nfp, xret_code);
	mk->inst = caller;
	rt->inst = f->inst;
	LOAD_MEM0();
	NEXT();
}

/* A call to `callee` with its arguments at fp[argbase...], returning to `ret`. Fuel: one unit. */
#define DO_CALL(callee_expr, base_expr, ret_expr)                                                 \
	do {                                                                                      \
		struct twm_func *callee_ = (callee_expr);                                         \
		if (__builtin_expect(fuel <= 0, 0))                                               \
			SUSPEND();                                                                \
		const struct twm_code *cc_ = callee_->code;                                       \
		if (__builtin_expect(!cc_ || callee_->inst != rt->inst, 0)) {                     \
			rt->callee = callee_;                                                     \
			rt->argbase = (base_expr);                                                \
			rt->ret = (ret_expr);                                                     \
			__attribute__((musttail)) return h_call_slow(PASS);                       \
		}                                                                                 \
		fuel--;                                                                           \
		ENTER(cc_->icode, fp + (base_expr), (ret_expr));                                  \
		NEXT();                                                                           \
	} while (0)

H(h_CALL)
{
	DO_CALL(rt->inst->funcs[ip[1]], ip[2], ip + 3);
}

/* A call the compiler knows stays in the instance: the callee is one of the module's own
 * functions, so it has code and shares the caller's instance and memory, and its code is at a
 * cell offset from the call's own opcode cell (twm_link_code). It is ENTER written so that the
 * caller's ip and fp are saved first and their registers reused: with fewer values live at
 * once, the handler needs no callee-saved registers. */
#define CALL_LOCAL(len, z)                                                                        \
	do {                                                                                      \
		fuel--;                                                                           \
		if (__builtin_expect(fr == rt->fr_end, 0))                                        \
			TRAP(TWM_TRAP_STACK_EXHAUSTED);                                           \
		fr->ip = ip + (len);                                                              \
		fr->fp = fp;                                                                      \
		fp += ip[2];                                                                      \
		/* a trap here leaves the written entry unused: fr has not moved */               \
		if (__builtin_expect(fp > rt->stack_limit, 0))                                    \
			TRAP(TWM_TRAP_STACK_EXHAUSTED);                                           \
		fr++;                                                                             \
		ip += (int32_t)ip[1];                                                             \
		__asm__("" : "+r"(ip)); /* computed in place: no copy into the argument after */  \
		if (z) {                                                                          \
			/* the callee starts with ZERO1 or ZERO2 and ip is after it (the link     \
			 * counted it in): do its work, as one 16-byte store of two slots (for    \
			 * ZERO1 the next is a local a later ZERO zeroes or an operand slot       \
			 * nothing has written yet) */                                            \
			memset(fp + ip[-1], 0, 2 * sizeof(*fp));                                  \
		}                                                                                 \
		NEXT();                                                                           \
	} while (0)

/* Each call form twice: as compiled, and as twm_link_code rewrites it when the callee's code
 * starts with ZERO1 or ZERO2 (the _Z forms, same cells). `pre` is the work fused in front of the
 * call, done after the fuel check: a fuel stop leaves before it and resumption does it once. */
#define H_CALL_LOCAL_FORMS(name, len, pre)                                                        \
	H(h_##name)                                                                               \
	{                                                                                         \
		if (__builtin_expect(fuel <= 0, 0))                                               \
			SUSPEND();                                                                \
		pre;                                                                              \
		CALL_LOCAL(len, 0);                                                               \
	}                                                                                         \
	H(h_##name##_Z)                                                                           \
	{                                                                                         \
		if (__builtin_expect(fuel <= 0, 0))                                               \
			SUSPEND();                                                                \
		pre;                                                                              \
		CALL_LOCAL(len, 1);                                                               \
	}

H_CALL_LOCAL_FORMS(CALL_LOCAL, 3, (void)0)
/* CALL_LOCAL with the MOVEs of 1 .. 3 arguments (twm_compile.c, fuse_call_moves): "callee
 * argbase (src dst)*k" */
H_CALL_LOCAL_FORMS(CALL_LOCAL_M1, 5, SL(4) = SL(3))
H_CALL_LOCAL_FORMS(CALL_LOCAL_M2, 7, (SL(4) = SL(3), SL(6) = SL(5)))
H_CALL_LOCAL_FORMS(CALL_LOCAL_M3, 9, (SL(4) = SL(3), SL(6) = SL(5), SL(8) = SL(7)))
/* CALL_LOCAL after the i32.add immediate that wrote an argument: "callee argbase a imm dst"
 * (the add may read the slot it writes) */
H_CALL_LOCAL_FORMS(CALL_LOCAL_AI, 6, SL(5) = (uint32_t)((uint32_t)SL(3) + ip[4]))

/* The callee's type differs from the expected one as a pointer: compare in full. */
H_SLOW(h_call_indirect_check)
{
	if (!twm_ftype_eq(rt->callee->type, &rt->inst->module->types[ip[1]]))
		TRAP(TWM_TRAP_INDIRECT_TYPE);
	DO_CALL(rt->callee, ip[4], ip + 5);
}

H(h_CALL_INDIRECT)
{
	struct twm_instance *inst = rt->inst;
	struct twm_table *t = inst->tables[ip[2]];
	uint32_t i = (uint32_t)SL(3);
	rt->trap_idx = i;
	if (i >= t->size)
		TRAP(TWM_TRAP_UNDEFINED_ELEMENT);
	struct twm_func *callee = (struct twm_func *)t->elems[i];
	if (!callee)
		TRAP(TWM_TRAP_UNINIT_ELEMENT);
	if (__builtin_expect(callee->type != &inst->module->types[ip[1]], 0)) {
		rt->callee = callee;
		__attribute__((musttail)) return h_call_indirect_check(PASS);
	}
	DO_CALL(callee, ip[4], ip + 5);
}

/* sub with a constant first operand */
H(h_RSUBI32)
{
	SL(3) = (uint32_t)(ip[2] - (uint32_t)SL(1));
	ip += 4;
	NEXT();
}
H(h_RSUBI64)
{
	SL(3) = IMM_I64(ip[2]) - SL(1);
	ip += 4;
	NEXT();
}

/* ---- variables ---- */
H(h_MOVE)
{
	SL(2) = SL(1);
	ip += 3;
	NEXT();
}
H(h_MOVE2)
{
	SL(2) = SL(1);
	SL(4) = SL(3);
	ip += 5;
	NEXT();
}
H(h_MOVE3)
{
	SL(2) = SL(1);
	SL(4) = SL(3);
	SL(6) = SL(5);
	ip += 7;
	NEXT();
}
H(h_SELECT)
{
	SL(4) = (uint32_t)SL(1) ? SL(2) : SL(3);
	ip += 5;
	NEXT();
}
H(h_GLOBAL_GET)
{
	SL(2) = rt->inst->globals[ip[1]]->val;
	ip += 3;
	NEXT();
}
H(h_GLOBAL_SET)
{
	rt->inst->globals[ip[1]]->val = SL(2);
	ip += 3;
	NEXT();
}
H(h_CONST32)
{
	SL(1) = ip[2];
	ip += 3;
	NEXT();
}
H(h_CONST2)
{
	SL(1) = ip[2];
	SL(4) = ip[5];
	ip += 6;
	NEXT();
}
H(h_MOVE_CONST)
{
	SL(2) = SL(1);
	SL(4) = ip[5];
	ip += 6;
	NEXT();
}
/* The first sum is stored before the second add reads its operand, which may be that slot. */
H(h_ADDI2)
{
	SL(3) = (uint32_t)((uint32_t)SL(1) + ip[2]);
	SL(7) = (uint32_t)((uint32_t)SL(5) + ip[6]);
	ip += 8;
	NEXT();
}
H(h_ADDI3)
{
	SL(3) = (uint32_t)((uint32_t)SL(1) + ip[2]);
	SL(7) = (uint32_t)((uint32_t)SL(5) + ip[6]);
	SL(11) = (uint32_t)((uint32_t)SL(9) + ip[10]);
	ip += 12;
	NEXT();
}
H(h_ADDI_CONST)
{
	SL(3) = (uint32_t)((uint32_t)SL(1) + ip[2]);
	SL(5) = ip[6];
	ip += 7;
	NEXT();
}
H(h_CONST_ADDI)
{
	SL(1) = ip[2];
	SL(6) = (uint32_t)((uint32_t)SL(4) + ip[5]);
	ip += 7;
	NEXT();
}
H(h_CONST64)
{
	SL(1) = (uint64_t)ip[2] | ((uint64_t)ip[3] << 32);
	ip += 4;
	NEXT();
}

/* ---- memory ---- */
H(h_MEMORY_SIZE)
{
	SL(1) = rt->inst->mem0->pages;
	ip += 2;
	NEXT();
}
H(h_MEMORY_GROW)
{
	uint32_t old;
	if (twm_mem_grow(rt->inst->mem0, (uint32_t)SL(1), &old) == TW_ERR_OK)
		SL(2) = old;
	else
		SL(2) = (uint32_t)-1;
	RELOAD_MEM();
	ip += 3;
	NEXT();
}
H(h_MEMORY_INIT)
{
	struct twm_instance *inst = rt->inst;
	uint32_t seg = ip[1];
	uint64_t d = (uint32_t)SL(2), s = (uint32_t)SL(3), n = (uint32_t)SL(4);
	if (s + n > inst->data_lens[seg] || d + n > rt->msize)
		TRAP(TWM_TRAP_MEMORY_OOB);
	if (n)
		memcpy(mem + d, inst->module->datas[seg].bytes + s, n);
	ip += 5;
	NEXT();
}
H(h_DATA_DROP)
{
	rt->inst->data_lens[ip[1]] = 0;
	ip += 2;
	NEXT();
}
H(h_MEMORY_COPY)
{
	uint64_t d = (uint32_t)SL(1), s = (uint32_t)SL(2), n = (uint32_t)SL(3);
	if (s + n > rt->msize || d + n > rt->msize)
		TRAP(TWM_TRAP_MEMORY_OOB);
	if (n)
		memmove(mem + d, mem + s, n);
	ip += 4;
	NEXT();
}
H(h_MEMORY_FILL)
{
	uint64_t d = (uint32_t)SL(1), n = (uint32_t)SL(3);
	if (d + n > rt->msize)
		TRAP(TWM_TRAP_MEMORY_OOB);
	if (n)
		memset(mem + d, (int)(uint8_t)SL(2), n);
	ip += 4;
	NEXT();
}

/* ---- references and tables ---- */
H(h_REF_IS_NULL)
{
	SL(2) = SL(1) == 0;
	ip += 3;
	NEXT();
}
H(h_REF_FUNC)
{
	SL(2) = (uintptr_t)rt->inst->funcs[ip[1]];
	ip += 3;
	NEXT();
}
H(h_TABLE_GET)
{
	struct twm_table *t = rt->inst->tables[ip[1]];
	uint32_t i = (uint32_t)SL(2);
	if (i >= t->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	SL(3) = t->elems[i];
	ip += 4;
	NEXT();
}
H(h_TABLE_SET)
{
	struct twm_table *t = rt->inst->tables[ip[1]];
	uint32_t i = (uint32_t)SL(2);
	if (i >= t->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	t->elems[i] = (uintptr_t)SL(3);
	ip += 4;
	NEXT();
}
H(h_TABLE_SIZE)
{
	SL(2) = rt->inst->tables[ip[1]]->size;
	ip += 3;
	NEXT();
}
H(h_TABLE_GROW)
{
	uint32_t old;
	if (twm_tab_grow(rt->inst->tables[ip[1]], (uint32_t)SL(3), (uintptr_t)SL(2), &old) ==
	    TW_ERR_OK)
		SL(4) = old;
	else
		SL(4) = (uint32_t)-1;
	ip += 5;
	NEXT();
}
H(h_TABLE_FILL)
{
	struct twm_table *t = rt->inst->tables[ip[1]];
	uint64_t i = (uint32_t)SL(2), n = (uint32_t)SL(4);
	uintptr_t v = (uintptr_t)SL(3);
	if (i + n > t->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	for (uint64_t k = 0; k < n; k++)
		t->elems[i + k] = v;
	ip += 5;
	NEXT();
}
H(h_TABLE_COPY)
{
	struct twm_table *td = rt->inst->tables[ip[1]], *ts = rt->inst->tables[ip[2]];
	uint64_t d = (uint32_t)SL(3), s = (uint32_t)SL(4), n = (uint32_t)SL(5);
	if (s + n > ts->size || d + n > td->size)
		TRAP(TWM_TRAP_TABLE_OOB);
	if (n)
		memmove(td->elems + d, ts->elems + s, n * sizeof(uintptr_t));
	ip += 6;
	NEXT();
}
H(h_TABLE_INIT)
{
	struct twm_instance *inst = rt->inst;
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
H(h_ELEM_DROP)
{
	rt->inst->elem_lens[ip[1]] = 0;
	ip += 2;
	NEXT();
}

H(h_bad)
{
	twm_err_set(rt->err, TW_ERR_INTERNAL, "bad internal opcode %u", *ip);
	rt->rc = TW_ERR_INTERNAL;
	rt->fuel = fuel;
	rt->fr = fr;
	return X_ERROR;
}

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"
#pragma GCC diagnostic ignored "-Woverride-init"
#define TBL_NUM(op, ...) [op] = h_##op,
#define TBL_SP(op) [op] = h_##op,
#define TBL_OWN(n) [TWM_OP_##n] = h_##n,
#define TBL_IMM(op, ...) [TWM_OP_IMM_BASE + op] = hi_##op,
#define TBL_L_I32(op)
#define TBL_L_I64(op) [TWM_OP_IMM64_BASE + op] = hl_##op,
#define TBL_L(op, tin, ...) TBL_L_##tin(op)
#define TBL_ACC(op, ...) [op] = h_##op, [TWM_OP_ARR_BASE + op] = hrr_##op,                      \
			 [TWM_OP_ARI_BASE + op] = hri_##op,
#define TBL_LL(op, ...) [TWM_OP_LL_BASE + op] = hll_##op,
#define TBL_SH(i, ...) [TWM_OP_SHB_BASE + i] = hshb_##i, [TWM_OP_SHA_BASE + i] = hsha_##i,
#define ABR_W_I32 false
#define ABR_W_I64 true
#define ABR_K_REG false
#define ABR_K_IMM true
#define TBL_ABR_ONE(t, k, yk, bk)                                                                 \
	[TWM_ABR_OP(ABR_W_##t, ABR_K_##yk, ABR_K_##bk, k)] = habr_##t##_##k##_##yk##bk,
#define TBL_ABR(t, k, ...)                                                                        \
	TBL_ABR_ONE(t, k, REG, REG) TBL_ABR_ONE(t, k, REG, IMM) TBL_ABR_ONE(t, k, IMM, REG)      \
		TBL_ABR_ONE(t, k, IMM, IMM)
#define TBL_AABR_ONE(fk, bk, k)                                                                   \
	[TWM_OP_AABR_BASE + ((uint32_t)ABR_K_##fk << 5 | (uint32_t)ABR_K_##bk << 4 | (k))] =      \
		haabr_##fk##_##bk##_##k,
#define TBL_AABR(t, k, ...)                                                                       \
	TBL_AABR_ONE(REG, REG, k) TBL_AABR_ONE(REG, IMM, k) TBL_AABR_ONE(IMM, REG, k)            \
		TBL_AABR_ONE(IMM, IMM, k)
#define TBL_LLM(op, ...) [TWM_OP_LLM_BASE + op] = hllm_##op, [TWM_OP_LLMR_BASE + op] = hllmr_##op, \
			 [TWM_OP_LLMC_BASE + op] = hllmc_##op,
#define TBL_SIMM(op, ...) [TWM_OP_IMM_BASE + op] = hsi_##op, [TWM_OP_SIRR_BASE + op] = hsirr_##op, \
			  [TWM_OP_SIRI_BASE + op] = hsiri_##op,
/* the order of twm_lh_index() */
#define TBL_LH_BR(name, ...) [TWM_OP_LH_BASE + (TWM_OP_##name - TWM_OP_BR_EQ)] = hlh_##name,
#define TBL_LH_BRI(name, ...) [TWM_OP_LH_BASE + 10 + (TWM_OP_##name - TWM_OP_BRI_EQ)] = hlh_##name,
static const handler_fn table[TWM_OP_TABLE_SIZE_ALL] = {
	[0 ... TWM_OP_TABLE_SIZE_ALL - 1] = h_bad,
	NUM1(TBL_NUM) NUM2(TBL_NUM) LOADS(TBL_ACC) STORES(TBL_ACC) SPECIAL(TBL_SP)
		TWM_OP_LIST(TBL_OWN) NUM2I(TBL_IMM) NUM2I(TBL_L) STORES_IMM(TBL_SIMM) FARITH(TBL_LL)
		FMADD(TBL_LLM) SHIFTED(TBL_SH) ABR_CMPS(TBL_ABR, I32) ABR_CMPS(TBL_ABR, I64)
			ABR_CMPS(TBL_AABR, I32)
			CMPS(TBL_LH_BR, BR_) CMPS(TBL_LH_BRI, BRI_)[TWM_OP_LH_BASE + 20] = hlh_BR_IF,
	[TWM_OP_LH_BASE + 21] = hlh_BR_IF_NOT, [TWM_OP_LH_BASE + 22] = hlh_BRI_TEST,
	[TWM_OP_LH_BASE + 23] = hlh_BRI_TESTZ};
#pragma clang diagnostic pop

/* ---- the per-thread run block ----------------------------------------------------------- */

static pthread_once_t blk_once = PTHREAD_ONCE_INIT;
static pthread_key_t blk_key; /* its destructor unmaps the thread's block at thread exit */
static bool blk_key_made;
static _Thread_local struct rt_block *my_blk;

/* The mapping: whole pages of run state ending where the table's first page begins, then the
 * table's pages. `head` is the writable part, `len` the whole mapping. */
static void blk_layout(size_t *head, size_t *len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t off = offsetof(struct rt_block, table);
	*head = (off + page - 1) / page * page;
	*len = *head + (sizeof(table) + page - 1) / page * page;
}

static void blk_free(void *p)
{
	size_t head, len;
	blk_layout(&head, &len);
	munmap((char *)p + offsetof(struct rt_block, table) - head, len);
	/* Another key's destructor that runs wasm on this thread gets a fresh block. */
	my_blk = NULL;
}

static void blk_key_make(void)
{
	blk_key_made = pthread_key_create(&blk_key, blk_free) == 0;
}

/* The calling thread's block, mapped on its first run. NULL with `err` set when the mapping, the
 * protection or the thread-exit registration fails. */
static struct rt_block *rt_block_get(struct twm_error *err)
{
	size_t head, len;
	char *base;
	struct rt_block *blk;
	if (my_blk)
		return my_blk;
	pthread_once(&blk_once, blk_key_make);
	if (!blk_key_made)
		goto out_err;
	blk_layout(&head, &len);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		goto out_err;
	blk = (struct rt_block *)(base + head - offsetof(struct rt_block, table));
	memcpy((void *)blk->table, table, sizeof(table));
	if (mprotect(base + head, len - head, PROT_READ) != 0)
		goto out_unmap;
	if (pthread_setspecific(blk_key, blk) != 0)
		goto out_unmap;
	my_blk = blk;
	return blk;
out_unmap:
	munmap(base, len);
out_err:
	twm_err_set(err, TW_ERR_NOMEM, "out of memory for the interpreter's run state");
	return NULL;
}

/* The most slots one function's frame can have (twm_compile.c: locals, the deepest operand
 * stack and one spare slot). */
#define FRAME_SLOTS_MAX ((size_t)TW_WASM_LOCALS_MAX + TW_WASM_OPERANDS_MAX + 1)
_Static_assert(FRAME_SLOTS_MAX <= TW_WASM_STACK_SLOTS, "the largest frame fits on the stack");

enum tw_err twm_interp_run(struct twm_instance *sinst, int64_t fuel, struct twm_error *err)
{
	struct rt_block *blk = rt_block_get(err);
	if (!blk)
		return TW_ERR_NOMEM;
	struct rt *rt = &blk->rt;
	/* A host function can run another call on this thread in the middle of this run (nested
	 * runs share the thread's block): keep the enclosing run's state and put it back on the way
	 * out. Nothing in the block outlives a run; what a resumed call needs is in the instance. */
	struct rt outer = *rt;
	struct twm_func *cur = sinst->cur;
	/* frames[0] is the DONE frame the entry function returns to; the call's own frames
	 * follow (the instance allocates call_depth_max + 1) */
	sinst->frames[0] = (struct twm_frame){.ip = done_code, .fp = sinst->stack};
	*rt = (struct rt){
		.sinst = sinst,
		.inst = cur->inst,
		.m0 = cur->inst->mem0 ? cur->inst->mem0 : &no_memory,
		.fr = sinst->frames + 1 + sinst->depth,
		.fr_base = sinst->frames + 1,
		.fr_end = sinst->frames + 1 + sinst->call_depth_max,
		.stack_limit = sinst->stack + sinst->stack_slots - FRAME_SLOTS_MAX,
		.msize = cur->inst->mem0 ? cur->inst->mem0->size : 0,
		.hook = hook_of(cur->inst),
		.err = err,
		.rc = TW_ERR_OK,
		.trap = TWM_TRAP_NONE,
		.trap_idx = UINT32_MAX,
		.fuel = fuel,
	};
	const uint32_t *ip = sinst->ip;
	enum tw_err rc;
	int x = blk->table[*ip](ip, sinst->fp, rt->m0->data, rt->fr, fuel, rt);
	sinst->fuel_used += (uint64_t)(fuel - rt->fuel);
	switch (x) {
	case X_SUSPEND:
		sinst->ip = rt->ip;
		sinst->fp = rt->fp;
		sinst->cur = cur_func(rt, rt->ip);
		sinst->depth = (uint32_t)(rt->fr - rt->fr_base);
		sinst->suspended = true;
		rc = TW_ERR_WASM_FUEL;
		goto out_restore;
	case X_DONE:
		rc = TW_ERR_OK;
		break;
	case X_TRAP:
		twm_err_trap(err, rt->trap);
		if (rt->trap_idx != UINT32_MAX && (rt->trap == TWM_TRAP_UNDEFINED_ELEMENT ||
						   rt->trap == TWM_TRAP_UNINIT_ELEMENT))
			snprintf(err->msg, sizeof(err->msg), "%s %u", twm_trap_str(rt->trap),
				 rt->trap_idx);
		rc = err->code;
		break;
	default:
		rc = rt->rc;
		if (rc == TW_ERR_WASM_PENDING) {
			/* twm_call_run marks the call suspended at this depth (twm_host_pend.c) */
			sinst->ip = rt->ip;
			sinst->fp = rt->fp;
			sinst->cur = cur_func(rt, rt->ip);
			sinst->pend_depth = (uint32_t)(rt->fr - rt->fr_base);
		}
		break;
	}
	sinst->depth = 0;
	sinst->suspended = false;
out_restore:
	*rt = outer;
	return rc;
}
