/*
 * twm_trap.c — trap reasons and their spec-suite wording.
 *
 * The spec suite's runner compares the start of our messages with its expected text, so these
 * strings are part of the engine's contract and never change.
 */
#include "wasm/twm.h"

static const char *const trap_str[TWM_TRAP__COUNT] = {
	[TWM_TRAP_NONE] = "no trap",
	[TWM_TRAP_UNREACHABLE] = "unreachable",
	[TWM_TRAP_MEMORY_OOB] = "out of bounds memory access",
	[TWM_TRAP_TABLE_OOB] = "out of bounds table access",
	[TWM_TRAP_DIV_ZERO] = "integer divide by zero",
	[TWM_TRAP_INT_OVERFLOW] = "integer overflow",
	[TWM_TRAP_INVALID_CONV] = "invalid conversion to integer",
	[TWM_TRAP_INDIRECT_TYPE] = "indirect call type mismatch",
	[TWM_TRAP_UNDEFINED_ELEMENT] = "undefined element",
	[TWM_TRAP_UNINIT_ELEMENT] = "uninitialized element",
	[TWM_TRAP_STACK_EXHAUSTED] = "call stack exhausted",
	[TWM_TRAP_HOST] = "host function trapped",
};

const char *twm_trap_str(enum twm_trap t)
{
	if ((unsigned)t >= TWM_TRAP__COUNT)
		return "unknown trap";
	return trap_str[t];
}
