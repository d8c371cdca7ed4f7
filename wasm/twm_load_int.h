/*
 * twm_load_int.h — the byte reader and the function-body compiler, shared by the module decoder
 * (twm_load.c) and the compiler (twm_compile.c). Private to wasm/.
 */
#ifndef TW_WASM_TWM_LOAD_INT_H
#define TW_WASM_TWM_LOAD_INT_H

#include "wasm/twm_int.h"

/* A bounded cursor over module bytes. The first failure records its message in `err`. */
struct twm_rd {
	const uint8_t *base; /* start of the module, for error offsets */
	const uint8_t *p;
	const uint8_t *end;
	const uint8_t *mend; /* end of the whole module */
	struct twm_error *err;
	const char *eof_msg; /* message for reading past `end`; NULL = the usual one */
	bool failed;
};

bool twm_rd_fail(struct twm_rd *r, enum tw_err code, const char *msg);
/* Fail with a message that names an index ("unknown table %u"). */
bool twm_rd_failf(struct twm_rd *r, enum tw_err code, const char *fmt, uint32_t idx);
bool twm_rd_eof(struct twm_rd *r);
bool twm_rd_u8(struct twm_rd *r, uint8_t *out);
bool twm_rd_u32(struct twm_rd *r, uint32_t *out);
bool twm_rd_s32(struct twm_rd *r, int32_t *out);
bool twm_rd_s33(struct twm_rd *r, int64_t *out);
bool twm_rd_s64(struct twm_rd *r, int64_t *out);
bool twm_rd_fixed(struct twm_rd *r, unsigned n, uint64_t *out);
bool twm_rd_valtype(struct twm_rd *r, uint8_t *t);

/* True when `op` is a single-byte opcode of Wasm 2.0 (or a prefix byte). */
bool twm_op_known(uint8_t op);

struct twm_compiler;

/* Scratch buffers reused across the bodies of one module. */
struct twm_compiler *twm_compiler_new(void);
void twm_compiler_free(struct twm_compiler *c);

/* Validate and compile the body of function `func_index` read from `body` (positioned after the
 * body size, bounded to the body). `declared` flags functions that ref.func may name. The code
 * stays with `c` until twm_link_code. */
bool twm_compile_func(struct twm_compiler *c, struct twm_module *m, uint32_t func_index,
		      struct twm_rd *body, const uint8_t *declared, bool has_datacount,
		      struct twm_code *out);
/* After all `n` defined functions of `m` are compiled by `c`: hands their code to the module
 * (m->code), sets m->codes[].icode and links the calls between them (twm_compile.c). False, with
 * the error in `r`, when out of memory. */
bool twm_link_code(struct twm_compiler *c, struct twm_module *m, uint32_t n, struct twm_rd *r);

#endif
