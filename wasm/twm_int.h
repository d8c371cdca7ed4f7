/*
 * twm_int.h — structures shared inside the wasm engine (decoder/compiler, interpreter,
 * instances). Nothing outside wasm/ includes this file.
 *
 * Internal code ("icode"): each defined function compiles to an array of 32-bit cells. An
 * instruction is an opcode cell followed by its operands. Operands are frame slots: every value
 * the function touches (params, locals, and each operand-stack position, whose height is static
 * after validation) has a fixed 64-bit slot in the frame, so instructions name their inputs and
 * output directly ("i32.add a b -> dst") and the interpreter keeps no stack pointer. Branch
 * targets are signed cell offsets from the branch's opcode cell, resolved at compile time.
 * Numeric opcodes keep their binary-format numbers; engine-specific ones start at TWM_OP_BASE.
 */
#ifndef TW_WASM_TWM_INT_H
#define TW_WASM_TWM_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/limits.h"
#include "wasm/twm.h"

/* Opcodes above the binary format's single-byte range. Operand layouts in comments. */
#define TWM_OP_LIST(X)                                                                            \
	X(UNREACHABLE)   /* */                                                                    \
	X(BR)            /* target */                                                             \
	X(BR_IF)         /* cond target */                                                        \
	X(BR_IF_NOT)     /* cond target */                                                        \
	X(BR_TABLE)      /* idx n target*(n+1) */                                                 \
	X(RETURN)        /* src nresults (src = first result slot) */                             \
	X(CALL)          /* funcidx argbase */                                                    \
	X(CALL_INDIRECT) /* typeidx tableidx idxslot argbase */                                   \
	X(MOVE)          /* src dst */                                                            \
	X(SELECT)        /* cond a b dst */                                                       \
	X(GLOBAL_GET)    /* globalidx dst */                                                      \
	X(GLOBAL_SET)    /* globalidx src */                                                      \
	X(CONST32)       /* dst value */                                                          \
	X(CONST64)       /* dst lo hi */                                                          \
	X(MEMORY_SIZE)   /* dst */                                                                \
	X(MEMORY_GROW)   /* src dst */                                                            \
	X(REF_IS_NULL)   /* src dst */                                                            \
	X(REF_FUNC)      /* funcidx dst */                                                        \
	X(TABLE_GET)     /* tableidx idx dst */                                                   \
	X(TABLE_SET)     /* tableidx idx val */                                                   \
	X(TABLE_SIZE)    /* tableidx dst */                                                       \
	X(TABLE_GROW)    /* tableidx init n dst */                                                \
	X(TABLE_FILL)    /* tableidx i val n */                                                   \
	X(TABLE_COPY)    /* dsttable srctable d s n */                                            \
	X(TABLE_INIT)    /* elemidx tableidx d s n */                                             \
	X(ELEM_DROP)     /* elemidx */                                                            \
	X(MEMORY_INIT)   /* dataidx d s n */                                                      \
	X(DATA_DROP)     /* dataidx */                                                            \
	X(MEMORY_COPY)   /* d s n */                                                              \
	X(MEMORY_FILL)   /* d v n */                                                              \
	X(LOOP)          /* fuel_cost loop_index  -- loop header: fuel charge per iteration */    \
	X(LOOP_HOOK)     /* loop_index exit  -- before a [] -> [] loop: calls the loop hook */     \
	X(TRUNC_SAT)     /* kind(0..7) src dst */                                                 \
	X(ZERO)          /* first n  -- zero declared locals where the function's prologue ends */ \
	/* i32 compare fused with a conditional branch, in binary-format order (eq .. ge_u) */    \
	X(BR_EQ)         /* a b target */                                                         \
	X(BR_NE)                                                                                  \
	X(BR_LT_S)                                                                                \
	X(BR_LT_U)                                                                                \
	X(BR_GT_S)                                                                                \
	X(BR_GT_U)                                                                                \
	X(BR_LE_S)                                                                                \
	X(BR_LE_U)                                                                                \
	X(BR_GE_S)                                                                                \
	X(BR_GE_U)                                                                                \
	/* the same with an immediate second operand: a imm target */                             \
	X(BRI_EQ)                                                                                 \
	X(BRI_NE)                                                                                 \
	X(BRI_LT_S)                                                                               \
	X(BRI_LT_U)                                                                               \
	X(BRI_GT_S)                                                                               \
	X(BRI_GT_U)                                                                               \
	X(BRI_LE_S)                                                                               \
	X(BRI_LE_U)                                                                               \
	X(BRI_GE_S)                                                                               \
	X(BRI_GE_U) \
	/* backedges: like BR, BR_IF, BR_IF_NOT, BR_*, BRI_* but the target is a LOOP header + 3, \
	 * given as a signed cell offset from the branch's opcode cell, and the branch charges the \
	 * loop's fuel (cost read from the header) */                                              \
	X(BRB) X(BRB_IF) X(BRB_IF_NOT) X(BRB_EQ) X(BRB_NE) X(BRB_LT_S) X(BRB_LT_U) X(BRB_GT_S) X(BRB_GT_U) X(BRB_LE_S) X(BRB_LE_U) X(BRB_GE_S) X(BRB_GE_U) \
	X(BRBI_EQ) X(BRBI_NE) X(BRBI_LT_S) X(BRBI_LT_U) X(BRBI_GT_S) X(BRBI_GT_U) X(BRBI_LE_S) X(BRBI_LE_U) X(BRBI_GE_S) X(BRBI_GE_U) \
	/* the four families again for i64 compares (immediates sign-extended from 32 bits) */    \
	X(BR64_EQ) X(BR64_NE) X(BR64_LT_S) X(BR64_LT_U) X(BR64_GT_S) X(BR64_GT_U) X(BR64_LE_S) X(BR64_LE_U) X(BR64_GE_S) X(BR64_GE_U) \
	X(BRI64_EQ) X(BRI64_NE) X(BRI64_LT_S) X(BRI64_LT_U) X(BRI64_GT_S) X(BRI64_GT_U) X(BRI64_LE_S) X(BRI64_LE_U) X(BRI64_GE_S) X(BRI64_GE_U) \
	X(BRB64_EQ) X(BRB64_NE) X(BRB64_LT_S) X(BRB64_LT_U) X(BRB64_GT_S) X(BRB64_GT_U) X(BRB64_LE_S) X(BRB64_LE_U) X(BRB64_GE_S) X(BRB64_GE_U) \
	X(BRBI64_EQ) X(BRBI64_NE) X(BRBI64_LT_S) X(BRBI64_LT_U) X(BRBI64_GT_S) X(BRBI64_GT_U) X(BRBI64_LE_S) X(BRBI64_LE_U) X(BRBI64_GE_S) X(BRBI64_GE_U) \
	/* i32.and with an immediate fused with the branch: taken when (a & imm) != 0 (TEST) or  \
	 * == 0 (TESTZ); operands a imm target, forward and backedge */                           \
	X(BRI_TEST) X(BRI_TESTZ) X(BRBI_TEST) X(BRBI_TESTZ)                                       \
	X(MOVE2)         /* src1 dst1 src2 dst2  -- two MOVEs in order */                        \
	/* CALL of a function the module defines; callee: its code, as a signed cell offset from   \
	 * this opcode cell (the module's code is one block, twm_link_code) */                     \
	X(CALL_LOCAL)    /* callee argbase */                                                     \
	X(RETURN1)       /* src 1  -- RETURN of exactly one value */                          \
	/* never emitted by the compiler: the interpreter's own return targets */                 \
	X(XRET)          /* back from a call into another instance: restore the caller's */      \
	X(DONE)          /* back from the entry function: the run is finished */                 \
	/* ZERO of 1 .. 8 locals, the count in the opcode: first */                               \
	X(ZERO1) X(ZERO2) X(ZERO3) X(ZERO4) X(ZERO5) X(ZERO6) X(ZERO7) X(ZERO8)                  \
	/* CALL_LOCAL after 1 .. 3 MOVEs into its argument slots: callee argbase (src dst)*k */    \
	X(CALL_LOCAL_M1) X(CALL_LOCAL_M2) X(CALL_LOCAL_M3)                                       \
	X(RETURN0)       /* -- RETURN whose results are in place: none, or one already in slot 0 */ \
	/* i32/i64 sub with a constant first operand: a imm dst, dst = imm - a (sign-extended) */ \
	X(RSUBI32) X(RSUBI64)                                                                     \
	/* two instructions run by one dispatch; each keeps its own cells, the second's opcode   \
	 * cell is skipped (so the pair splits again by restoring the first opcode) */            \
	X(ADDI2)         /* a1 k1 d1 _ a2 k2 d2  -- two i32.add immediates in order */            \
	X(CONST2)        /* d1 v1 _ d2 v2  -- two CONST32s in order */                            \
	X(MOVE_CONST)    /* s d _ d2 v  -- MOVE then CONST32 */                                  \
	X(ADDI_CONST)    /* a k d _ d2 v  -- i32.add immediate then CONST32 */                    \
	X(CONST_ADDI)    /* d1 v _ a k d  -- CONST32 then i32.add immediate */                  \
	X(ADDI3)         /* a1 k1 d1 _ a2 k2 d2 _ a3 k3 d3  -- three i32.add immediates */ \
	/* CALL_LOCAL after the i32.add immediate that wrote an argument slot */                 \
	X(CALL_LOCAL_AI) /* callee argbase a imm dst */                                          \
	/* an i32.add whose result is the function's: into slot 0, then RETURN0 */                \
	X(ADD_RET)       /* a b 0 */                                                              \
	X(ADDI_RET)      /* a imm 0 */                                                            \
	X(MOVE_BR)       /* src dst target  -- MOVE, then BR */                                   \
	X(MOVE_BRB)      /* src dst target  -- MOVE, then BRB */                                  \
	X(MOVE3)         /* src1 dst1 src2 dst2 src3 dst3  -- three MOVEs in order */             \
	/* the CALL_LOCAL forms of a callee whose code starts with ZERO1 or ZERO2 (same cells): \
	 * the call zeroes 2 slots from that ZERO's first and enters after it (twm_link_code) */ \
	X(CALL_LOCAL_Z) X(CALL_LOCAL_M1_Z) X(CALL_LOCAL_M2_Z) X(CALL_LOCAL_M3_Z)                  \
	X(CALL_LOCAL_AI_Z)                                                                        \
	/* a load or store (or TWM_OP_IMM_BASE + store opcode) whose offset plus width does not \
	 * fit in 32 bits: op a dst|val|immval offset */                                          \
	X(ACCESS_FAR)

#define TWM_OP_BASE 0x100
enum twm_op {
	TWM_OP__FIRST = TWM_OP_BASE - 1,
#define TWM_OP_ENUM(n) TWM_OP_##n,
	TWM_OP_LIST(TWM_OP_ENUM)
#undef TWM_OP_ENUM
	TWM_OP__END
};
/* Binary i32/i64 operations whose second operand is an immediate (sign-extended for i64):
 * TWM_OP_IMM_BASE + binary opcode, operands "a imm dst". */
#define TWM_OP_IMM_BASE 0x200
/* Loads and stores: "a dst|val end" (TWM_OP_IMM_BASE + store opcode: "a immval end", a store
 * of an immediate), where end is the memarg's offset plus the access's width, so that
 * (u32)a + end is where the access ends: the one sum the bounds check compares with memory's
 * size and the access reads back from. An access whose end needs 33 bits is an ACCESS_FAR.
 * Fused with the i32.add that computed their address, which is (u32)(a + b) + offset with the
 * add's 32-bit wrap-around kept:
 *   TWM_OP_ARR_BASE + load/store opcode    a b dst|val end   (b a slot)
 *   TWM_OP_ARI_BASE + load/store opcode    a imm dst|val end
 *   TWM_OP_SIRR_BASE + store opcode        a b immval end    (store of an immediate)
 *   TWM_OP_SIRI_BASE + store opcode        a imm immval end */
#define TWM_OP_ARR_BASE 0x300
#define TWM_OP_ARI_BASE 0x400
#define TWM_OP_SIRR_BASE 0x500
#define TWM_OP_SIRI_BASE 0x600
/* i64 binary operations whose second operand is a constant that needs all 64 bits:
 * TWM_OP_IMM64_BASE + binary opcode, operands "a lo hi dst". */
#define TWM_OP_IMM64_BASE 0x700
/* f32/f64 add, sub, mul and div whose two operands are the loads emitted just before it (plain
 * or with an immediate address add), each address (u32)(a + imm) + offset as in the ARI forms:
 *   TWM_OP_LL_BASE + arithmetic opcode    a1 imm1 end1 a2 imm2 end2 dst
 * where end = offset + the access width: (u32)(a + imm) + end is the end of the access, the
 * sum the bounds check compares with memory's size (the LLM and LLMC forms below alike). */
#define TWM_OP_LL_BASE 0x800
/* An f32/f64 add or sub with one operand the product of a TWM_OP_LL_BASE multiply, the multiply
 * moved next to it: two separately rounded operations (never an FMA), "a1 imm1 off1 a2 imm2
 * off2 c dst", opcode = base + the add/sub opcode:
 *   TWM_OP_LLM_BASE     dst = (load1 * load2) op c     (product first)
 *   TWM_OP_LLMR_BASE    dst = c op (load1 * load2)     (product second) */
#define TWM_OP_LLM_BASE 0x900
#define TWM_OP_LLMR_BASE 0xa00
/* An i32/i64 add, sub, and, or or xor with one operand the result of a shift by an immediate
 * (shl, shr_s, shr_u), the shift being the instruction just before it: "a b k dst" with b the
 * shifted slot and k the count (already masked), opcode = base + twm_shift_pair():
 *   TWM_OP_SHB_BASE     dst = a op (b shift k)
 *   TWM_OP_SHA_BASE     dst = (b shift k) op a */
/* A chain of product-first multiply-adds, each adding to the result of the one before (an
 * unrolled reduction "p1 + (p2 + (p3 + (p4 + s)))"), the sum kept in a register between them:
 *   TWM_OP_LLMC_BASE + add/sub opcode    n c (a1 imm1 off1 a2 imm2 off2) * n dst
 * acc = c, then for each product in order acc = (load1 * load2) op acc; dst = acc. The
 * destination comes last, where the handler's walk over the products ends. */
#define TWM_OP_LLMC_BASE 0xbc0
#define TWM_OP_SHB_BASE 0xb00
#define TWM_OP_SHA_BASE 0xb20
/* A loop's increment fused with its backedge: an i32/i64 add whose result the compare-and-branch
 * just after it tests, "x y d b target": d = x + y, then branch back when d cmp b (target as in
 * the BRB forms). Opcode = TWM_OP_ABR_BASE + twm_abr_op(); y and b may be immediates
 * (sign-extended 32-bit for i64). */
#define TWM_OP_ABR_BASE 0xb40
/* A loop's guard: a forward conditional branch and the LOOP_HOOK right after it run as a pair
 * (both keep their cells; the LOOP_HOOK's opcode cell is skipped). Opcode = TWM_OP_LH_BASE +
 * twm_lh_index(branch opcode). */
#define TWM_OP_LH_BASE 0xcc0
#define TWM_OP_LH_COUNT 24
/* An i32 add (register or immediate second operand) and the i32 ABR instruction with an
 * immediate step right after it, run as a pair (both keep their cells): a loop's "s += x;
 * i += step; if (i < n) continue". Opcode = TWM_OP_AABR_BASE + (add_imm << 5 | cmp_imm << 4 |
 * cmp), the ABR's compare kind as in TWM_ABR_OP. */
#define TWM_OP_AABR_BASE 0xce0
#define TWM_OP_AABR_COUNT 64
#define TWM_OP_TABLE_SIZE_ALL 0xd20

/* The index of a forward branch opcode in the TWM_OP_LH_BASE family, or -1: BR_EQ .. BR_GE_U,
 * BRI_EQ .. BRI_GE_U, BR_IF, BR_IF_NOT, BRI_TEST, BRI_TESTZ. */
static inline int twm_lh_index(uint32_t op)
{
	if (op >= TWM_OP_BR_EQ && op <= TWM_OP_BR_GE_U)
		return (int)(op - TWM_OP_BR_EQ);
	if (op >= TWM_OP_BRI_EQ && op <= TWM_OP_BRI_GE_U)
		return 10 + (int)(op - TWM_OP_BRI_EQ);
	if (op == TWM_OP_BR_IF)
		return 20;
	if (op == TWM_OP_BR_IF_NOT)
		return 21;
	if (op == TWM_OP_BRI_TEST)
		return 22;
	if (op == TWM_OP_BRI_TESTZ)
		return 23;
	return -1;
}

/* cmp: 0..9 for eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u, as in the binary format. */
#define TWM_ABR_OP(is64, add_imm, cmp_imm, cmp)                                                   \
	(TWM_OP_ABR_BASE + ((uint32_t)(is64) << 6 | (uint32_t)(add_imm) << 5 |                    \
			    (uint32_t)(cmp_imm) << 4 | (uint32_t)(cmp)))

/* The index of (binary opcode `op`, immediate shift opcode `shift`) in the TWM_OP_SHB_BASE and
 * TWM_OP_SHA_BASE families, or -1: i32 add sub and or xor, then i64's, each with shl, shr_s,
 * shr_u of its own type (twm_interp.c's SHIFTED list is in this order). */
static inline int twm_shift_pair(uint32_t op, uint32_t shift)
{
	static const uint8_t bins[10] = {0x6a, 0x6b, 0x71, 0x72, 0x73, 0x7c, 0x7d, 0x83, 0x84, 0x85};
	for (int i = 0; i < 10; i++) {
		uint32_t first = i < 5 ? 0x74 : 0x86;
		if (bins[i] == op)
			return shift >= first && shift <= first + 2 ? i * 3 + (int)(shift - first) : -1;
	}
	return -1;
}
_Static_assert(TWM_OP__END <= TWM_OP_IMM_BASE, "engine opcodes overlap the immediate forms");

/* A function type; `types` holds params then results. `hash` speeds up call_indirect checks
 * across modules (equal types have equal hashes; equality is then checked in full). */
struct twm_ftype {
	uint32_t nparams;
	uint32_t nresults;
	uint8_t *types;
	uint64_t hash;
};

/* Constant expressions of globals, element and data segments. */
enum twm_cexpr_op {
	TWM_CX_CONST = 0, /* val */
	TWM_CX_GLOBAL_GET,
	TWM_CX_REF_NULL,
	TWM_CX_REF_FUNC,
};

struct twm_cexpr {
	uint8_t op;
	uint32_t idx;
	uint64_t val;
};

struct twm_import {
	char *module;
	uint32_t module_len;
	char *name;
	uint32_t name_len;
	uint8_t kind;
	union {
		uint32_t type; /* function: type index */
		struct twm_tabletype table;
		struct twm_memtype mem;
		struct twm_globaltype global;
	} u;
};

struct twm_export {
	char *name;
	uint32_t name_len;
	uint8_t kind;
	uint32_t idx;
};

enum twm_seg_mode { TWM_SEG_ACTIVE = 0, TWM_SEG_PASSIVE, TWM_SEG_DECLARATIVE };

struct twm_elem {
	uint8_t mode;
	uint8_t type; /* TWM_FUNCREF / TWM_EXTERNREF */
	uint32_t table;
	struct twm_cexpr offset;
	uint32_t count;
	struct twm_cexpr *items;
};

struct twm_data {
	uint8_t mode;
	uint32_t mem;
	struct twm_cexpr offset;
	const uint8_t *bytes; /* points into the module's copy of its bytes */
	uint32_t len;
};

/* A compiled function. icode[-1] holds the function's index, so the interpreter can tell the
 * running function from an ip inside its code (twm_module.code_starts; slow paths only). */
struct twm_code {
	uint32_t *icode;
	uint32_t nicode;
	uint32_t nparams;
	uint32_t nlocals;     /* params + declared locals */
	uint32_t frame_slots; /* nlocals + the deepest operand stack */
	uint8_t *local_types;
	const uint8_t *body;  /* bytecode after the local declarations, up to the final end */
	uint32_t body_len;
	uint32_t nloops;
	uint32_t *loop_offsets; /* bytecode offset of each `loop`, relative to body */
	uint32_t loop_base;     /* the module's number of this function's first loop */
};

struct twm_module {
	atomic_uint refs;
	/* the code of all defined functions, back to back (codes[].icode point into it), so that a
	 * call can name its callee by a 32-bit cell offset; malloc'd */
	uint32_t *code;
	uint32_t nloops; /* loops of all its functions, numbered in function order from 0 */
	struct tw_arena arena;
	uint8_t *bytes; /* owned copy of the module's bytes */
	size_t nbytes;
	uint32_t ntypes;
	struct twm_ftype *types;
	uint32_t nimports;
	struct twm_import *imports;
	uint32_t nfuncs, nfunc_imports; /* function index space and how many are imports */
	uint32_t *func_types;           /* type index per function */
	uint32_t ntables, ntable_imports;
	struct twm_tabletype *tables;
	uint32_t nmems, nmem_imports;
	struct twm_memtype *mems;
	uint32_t nglobals, nglobal_imports;
	struct twm_globaltype *globals;
	struct twm_cexpr *global_inits; /* for defined globals, indexed by global index */
	uint32_t nexports;
	struct twm_export *exports;
	bool has_start;
	uint32_t start;
	uint32_t nelems;
	struct twm_elem *elems;
	uint32_t ndatas;
	struct twm_data *datas;
	bool has_datacount; /* memory.init and data.drop need the data count section */
	uint32_t datacount;
	bool data_idx_used;      /* memory.init/data.drop seen without a data count section */
	uint32_t data_idx_first;
	struct twm_code *codes; /* indexed by function index - nfunc_imports */
	/* every codes[].icode, sorted by address: the function an ip is in, by binary search */
	const uint32_t **code_starts;
	struct twm_limits limits;
};

/* ---- run time ------------------------------------------------------------------------------- */

struct twm_func {
	const struct twm_ftype *type;
	struct twm_instance *inst; /* owner; NULL for host functions */
	const struct twm_code *code;
	struct twm_host_func host;
	uint32_t index;
};

struct twm_memory {
	uint8_t *data;
	uint64_t size; /* bytes */
	uint32_t pages;
	uint32_t max_pages; /* declared max capped by the owner's cap */
	size_t reserved;    /* bytes of address space reserved at data */
	struct twm_memtype type;
};

struct twm_table {
	uintptr_t *elems;
	uint32_t size;
	uint32_t cap;
	struct twm_tabletype type;
};

struct twm_global {
	struct twm_globaltype type;
	uint64_t val;
};

/* One saved caller frame: where to go on return. The function is the one whose code is `code`
 * (its index is code[-1]) in the running instance. A call into another instance pushes the
 * caller's frame and above it a marker frame whose ip is an XRET instruction and whose `inst`
 * is the caller's instance, so same-instance returns never test for an instance switch. */
struct twm_frame {
	const uint32_t *ip;
	union {
		uint64_t *fp;
		struct twm_instance *inst; /* marker frame: the caller's instance */
	};
};

struct twm_call_ctx {
	struct twm_instance *inst;
	struct twm_error *err;
	int32_t exit_code;
	uint32_t nresults; /* of the host function called */
	bool suspend;      /* twm_ctx_suspend() was accepted */
};

struct twm_instance {
	struct twm_module *module;
	struct twm_func **funcs;
	struct twm_table **tables;
	struct twm_memory **mems;
	struct twm_global **globals;
	struct twm_memory *mem0; /* mems[0] or NULL: the interpreter's fast path */
	struct twm_func *own_funcs;
	struct twm_table *own_tables;
	struct twm_memory *own_mems;
	struct twm_global *own_globals;
	uintptr_t **elem_refs;  /* resolved items of each element segment */
	uint32_t *elem_lens;    /* 0 once dropped */
	uint32_t *data_lens;    /* 0 once dropped */
	uint32_t memory_pages_max;
	uint32_t call_depth_max;
	void *user;
	uint64_t id;                                          /* twm_instance_id() */
	struct twm_host_slot host[TW_WASM_HOST_SLOTS_MAX]; /* see twm.h; nhost used */
	uint32_t nhost;
	struct twm_loop_hook hook;
	uint64_t fuel_used;

	/* the frame stack and value stack the interpreter runs on */
	uint64_t *stack;
	size_t stack_slots;
	size_t stack_bytes;
	struct twm_frame *frames; /* FRAMES_SKEW bytes into its own mapping (twm_instance.c) */
	size_t frames_bytes;      /* of that mapping */
	uint32_t depth;

	/* state of the current call */
	bool active;    /* a call was begun and has not finished */
	bool suspended; /* stopped at a fuel boundary */
	struct twm_func *entry;
	const uint32_t *ip;
	uint64_t *fp;
	struct twm_func *cur;

	/* a host function's result pending (twm_ctx_suspend; twm_host_pend.c) */
	bool no_suspend;            /* twm_invoke / start function: host calls cannot suspend */
	bool pend_waiting;          /* the result is awaited */
	bool pend_ready;            /* supplied: the re-run call instruction takes it */
	bool pend_trap;             /* ... as a trap (pend_err) instead of results */
	bool pend_loop;             /* awaited by a loop hook (TWM_HOOK_PENDING), not a host call */
	struct twm_func *pend_func; /* the host function */
	uint64_t *pend_slots;       /* its frame slots (identify the call on re-run) */
	uint32_t pend_depth;        /* frames in use when it suspended */
	uint64_t pend_results[TW_WASM_HOST_PEND_RESULTS_MAX];
	struct twm_error pend_err;
};

/* Run the instance's current call from its saved state until it returns, traps, exits or runs
 * out of `fuel` (INT64_MAX = unlimited). Returns TW_ERR_OK with the results in stack[0..];
 * TW_ERR_NOMEM when the calling thread's run state (mapped on its first run, unmapped at thread
 * exit) cannot be set up. Any thread; runs nest (a host function may run another call on the
 * same thread) and keep nothing between calls beyond what is saved in the instance. */
enum tw_err twm_interp_run(struct twm_instance *inst, int64_t fuel, struct twm_error *err);

/* Call a host function with a context for `inst`.
 * Host suspension, the interpreter's side: when the host function suspends the call
 * (twm_ctx_suspend) this returns TW_ERR_WASM_PENDING after recording `f`, `slots` and the
 * frame depth on the running call's instance (twm_host_running). The interpreter leaves as for
 * any error, but its exit stores ip (still at the call instruction), fp and the current
 * function into the instance, so twm_call_run can restore the frame depth and resume there:
 * the call instruction runs again, and this function then writes the supplied results into
 * `slots` (or traps) without calling the host. Results are written only then, so operands the
 * call instruction reads (call_indirect's index) are intact when it runs again. */
enum tw_err twm_host_call(struct twm_instance *inst, struct twm_func *f, uint64_t *slots,
			  struct twm_error *err);

/* The instance whose call twm_call_run is running on this thread (the one whose stack the
 * interpreter uses), NULL outside twm_call_run. Set and restored by twm_call_run, so nested
 * runs (a host function running another instance) see their own. */
struct twm_instance *twm_host_running(void);
void twm_host_set_running(struct twm_instance *inst);

/* Loop hook suspension, the interpreter's side. twm_host_pend_loop_ok: may the loop hook of
 * `inst`, running inside the call of `sinst` (the instance whose stack it runs on), suspend it
 * now (site.can_suspend)? twm_host_pend_loop: after the hook answered TWM_HOOK_PENDING, record
 * the wait and return TWM_HOOK_PENDING, or TWM_HOOK_RUN_LOOP when `can_suspend` was false. The
 * interpreter then leaves as for a pending host call, ip at the LOOP_HOOK instruction. */
bool twm_host_pend_loop_ok(const struct twm_instance *sinst, const struct twm_instance *inst);
enum twm_hook_action twm_host_pend_loop(struct twm_instance *sinst, bool can_suspend);

/* Forget any pending host result (a call begins, ends or is aborted). */
void twm_host_pend_clear(struct twm_instance *inst);

/* After the interpreter (or an entry host function) returned TW_ERR_WASM_PENDING: make the
 * call a suspended one again (frame depth, suspended flag). */
void twm_host_pend_suspended(struct twm_instance *inst);

/* In twm_host_call: when `f` at `slots` is the call whose result was supplied, deliver it
 * (results into `slots`, or the trap into `err`), set *rc and return true. */
bool twm_host_pend_take(struct twm_instance *run, struct twm_func *f, uint64_t *slots,
			struct twm_error *err, enum tw_err *rc);

/* Function types equal in shape. */
bool twm_ftype_eq(const struct twm_ftype *a, const struct twm_ftype *b);

/* Memory and table helpers shared by the interpreter and instantiation. */
enum tw_err twm_mem_grow(struct twm_memory *mem, uint32_t delta, uint32_t *old);
enum tw_err twm_tab_grow(struct twm_table *t, uint32_t delta, uintptr_t init, uint32_t *old);

void twm_err_set(struct twm_error *err, enum tw_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void twm_err_trap(struct twm_error *err, enum twm_trap trap);

#endif
