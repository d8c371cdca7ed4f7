/*
 * twm_compile.c — validate one function body and compile it to internal code in a single pass.
 *
 * The validator follows the spec's algorithm (operand type stack, control frames, polymorphic
 * stack after unconditional branches). Because every operand's stack height is static, the height
 * names a frame slot: slot(h) = nlocals + h. Each instruction is emitted with the slots of its
 * inputs and output, branch targets are resolved (forward ones through a patch list threaded
 * through the code cells) to cell offsets from the branch instruction's opcode cell, and branch
 * value copies become MOVEs. Code after an unconditional
 * branch is validated but not emitted.
 *
 * Bounds: the type stack, control stack, locals and code size are capped (core/limits.h); a body
 * can never make us allocate more than a small multiple of its own size plus those caps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "wasm/twm_load_int.h"

#define UNKNOWN 0 /* type of a value popped from a polymorphic stack */
#define NO_PATCH UINT32_MAX
/* src[h] with this bit: the value at height h is a constant not yet written (value in cval[h]) */
#define SRC_CONST 0x80000000u

enum ctl_kind { CTL_FUNC, CTL_BLOCK, CTL_LOOP, CTL_IF, CTL_ELSE };

struct ctl {
	uint8_t kind;
	bool unreachable; /* after br/return/unreachable in this frame */
	bool dead;        /* the frame itself sits in unreachable code: emit nothing */
	uint32_t height;  /* type stack height at entry, params excluded */
	uint32_t np, nr;
	const uint8_t *pt, *rt;
	uint32_t patch;      /* head of the forward-branch patch list */
	uint32_t else_patch; /* the BR_IF_NOT of an `if` */
	uint32_t loop_ip;    /* LOOP header cell */
	uint32_t instr_start;
};

struct twm_compiler {
	uint8_t *vt;
	uint32_t nvt, vt_cap;
	/* Where the value at each height lives: its own slot, a local's slot (local.get not yet
	 * copied), or a pending constant. Consumers read operands from there directly, so
	 * "local.get a; local.get b; i32.add; local.set c" compiles to one instruction. */
	uint32_t *src;
	uint64_t *cval;
	uint32_t src_cap, cval_cap;
	uint32_t npending; /* heights whose src is not their own slot */
	uint32_t last_dst; /* dst cell of the previous instruction if it wrote the stack top */
	uint32_t last_op;  /* opcode cell of the previous instruction, for branch fusion */
	/* The last emitted instruction if it is an i32.add into a stack slot and only local.get
	 * and constants (which emit nothing) came after it: a load or store whose address is
	 * that slot absorbs the add. */
	uint32_t add_at;
	/* Declared locals not yet written while the function is still in its straight-line
	 * prologue (bit i: local nparams + i). Locals are zeroed with ZERO instructions only when
	 * the prologue ends, and only those the prologue did not write: compilers initialize most
	 * locals at the top, so most calls zero nothing. */
	uint32_t move_at;  /* the last MOVE (or MOVE2) emitted: MOVE2 (MOVE3) with the next */
	uint32_t const_at; /* the last CONST32 emitted, a candidate to pair into CONST2 */
	uint32_t addi_at;  /* the last i32.add immediate emitted, a candidate for ADDI_CONST */
	/* The last pair formed (TWM_OP_ADDI2, CONST2, MOVE_CONST, ADDI_CONST, CONST_ADDI; ADDI3
	 * counts its third add as the second): its first instruction's cell and its second's. A fusion that rewrites the second (an address add absorbed by a load or a
	 * loop's compare-and-branch) splits the pair first, see unpair_from. */
	uint32_t pair_at, pair_second;
	/* The last three numeric instructions emitted back to back (start cells: num_before2,
	 * num_before, num_at, which ends at num_end), so that "i32.and imm; i32.eqz; br_if"
	 * can become one test-and-branch, and an add can pair with a loop's add-and-backedge. */
	uint32_t num_at, num_before, num_before2, num_end;
	/* The last f32/f64 load emitted (plain or address-immediate form) and the one emitted
	 * right before it, if any: float arithmetic on both becomes one instruction
	 * (TWM_OP_LL_BASE). Kept across local.get, constants and i32.add (an address add that
	 * the next load may absorb); reset by every other instruction. */
	uint32_t fload_at, fload_prev;
	/* A run of load-load float instructions (TWM_OP_LL_BASE, TWM_OP_LLM_BASE, TWM_OP_LLMR_BASE)
	 * emitted back to back, cells [fx_start, fx_end): an add or sub of a product made in the
	 * run moves the multiply next to itself and fuses with it. */
	uint32_t fx_start, fx_end;
	uint32_t chain_at; /* the chain fuse_madd just formed or extended, else NO_PATCH */
	uint32_t cbr_at;   /* the last forward conditional branch emitted (its opcode cell) */
	uint32_t label_at; /* the last cell index a branch target was bound to */
	uint32_t nlabels; /* branch targets bound so far (here()) */
	/* The local the last constant local.set/tee wrote (NO_PATCH: none), its value, and
	 * nlabels then: until a branch target is bound or the local is written again, the local
	 * is known to hold the value, and setting it to that value again emits nothing (clang
	 * re-initializes a loop's accumulator right after the prologue did). */
	uint32_t kc_local, kc_labels;
	uint64_t kc_val;
	bool prologue;
	uint32_t nparams;
	uint64_t unset;
	struct ctl *ctl;
	uint32_t nctl, ctl_cap;
	uint32_t *code;
	uint32_t ncode, code_cap;
	uint8_t *lt;
	uint32_t nl, lt_cap;
	uint32_t *loops;
	uint32_t nloops, loops_cap;
	/* the CALL_LOCAL* instructions emitted in the module so far, for twm_link_code: triples
	 * of (defined function, cell of the opcode, callee's function index) */
	uint32_t *calls;
	uint32_t ncalls, calls_cap;
	/* the code of the module's functions compiled so far, back to back, each after a cell
	 * with its function index (struct twm_code); twm_link_code moves it to the module */
	uint32_t *mcode;
	uint32_t nmcode, mcode_cap;
	uint32_t cur_code; /* the defined function being compiled (index - imports) */
	uint32_t *labels;
	uint32_t labels_cap;
	uint32_t max_height;
	uint32_t ninstr;
	struct twm_rd *r;
	struct twm_module *m;
};

/* Result lists of single-type block types point here: one_type[t] == t. Constant, so loads on
 * several threads share it safely. */
static const uint8_t one_type[256] = {
	[TWM_I32] = TWM_I32,		 [TWM_I64] = TWM_I64,	    [TWM_F32] = TWM_F32,
	[TWM_F64] = TWM_F64,		 [TWM_V128] = TWM_V128,	    [TWM_FUNCREF] = TWM_FUNCREF,
	[TWM_EXTERNREF] = TWM_EXTERNREF,
};

struct twm_compiler *twm_compiler_new(void)
{
	return calloc(1, sizeof(struct twm_compiler));
}

void twm_compiler_free(struct twm_compiler *c)
{
	if (!c)
		return;
	free(c->vt);
	free(c->src);
	free(c->cval);
	free(c->ctl);
	free(c->code);
	free(c->lt);
	free(c->loops);
	free(c->calls);
	free(c->mcode);
	free(c->labels);
	free(c);
}

static bool fail(struct twm_compiler *c, const char *msg)
{
	return twm_rd_fail(c->r, TW_ERR_WASM_INVALID, msg);
}

static bool failf(struct twm_compiler *c, const char *fmt, uint32_t idx)
{
	char msg[96];
	snprintf(msg, sizeof(msg), fmt, idx);
	return twm_rd_fail(c->r, TW_ERR_WASM_INVALID, msg);
}

static bool grow(struct twm_compiler *c, void **buf, uint32_t *cap, uint32_t need, size_t elem,
		 uint32_t max)
{
	if (need <= *cap)
		return true;
	if (need > max)
		return false;
	uint64_t n = *cap ? (uint64_t)*cap * 2 : 64;
	while (n < need)
		n *= 2;
	if (n > max)
		n = max;
	void *p = realloc(*buf, n * elem);
	if (!p)
		return twm_rd_fail(c->r, TW_ERR_NOMEM, "out of memory");
	*buf = p;
	*cap = (uint32_t)n;
	return true;
}

/* ---- emission ------------------------------------------------------------------------------- */

static inline struct ctl *top(struct twm_compiler *c)
{
	return &c->ctl[c->nctl - 1];
}

static inline bool live(struct twm_compiler *c)
{
	struct ctl *f = top(c);
	return !f->unreachable && !f->dead;
}

static bool emit(struct twm_compiler *c, uint32_t v)
{
	if (c->ncode >= c->code_cap &&
	    !grow(c, (void **)&c->code, &c->code_cap, c->ncode + 1, 4, TW_WASM_ICODE_CELLS_MAX)) {
		if (!c->r->failed)
			twm_rd_fail(c->r, TW_ERR_MODULE_TOO_LARGE, "function too large");
		return false;
	}
	c->code[c->ncode++] = v;
	return true;
}

static bool emit2(struct twm_compiler *c, uint32_t a, uint32_t b)
{
	return emit(c, a) && emit(c, b);
}

static bool emit3(struct twm_compiler *c, uint32_t a, uint32_t b, uint32_t d)
{
	return emit(c, a) && emit(c, b) && emit(c, d);
}

static bool emit4(struct twm_compiler *c, uint32_t a, uint32_t b, uint32_t d, uint32_t e)
{
	return emit2(c, a, b) && emit2(c, d, e);
}

/* The current position as a branch target: instructions before it and after it must not be
 * fused into one. */
static uint32_t here(struct twm_compiler *c)
{
	c->label_at = c->ncode;
	c->nlabels++;
	return c->ncode;
}

/* A MOVE; two or three in a row with no label between become one MOVE2 or MOVE3. */
static bool emit_move(struct twm_compiler *c, uint32_t src, uint32_t dst)
{
	uint32_t m = c->move_at;
	c->const_at = NO_PATCH;
	if (m != NO_PATCH && m + 3 == c->ncode && c->label_at <= m && c->code[m] == TWM_OP_MOVE) {
		c->code[m] = TWM_OP_MOVE2;
		return emit2(c, src, dst);
	}
	if (m != NO_PATCH && m + 5 == c->ncode && c->label_at <= m && c->code[m] == TWM_OP_MOVE2) {
		c->code[m] = TWM_OP_MOVE3;
		c->move_at = NO_PATCH;
		return emit2(c, src, dst);
	}
	if (!emit3(c, TWM_OP_MOVE, src, dst))
		return false;
	c->move_at = c->ncode - 3;
	return true;
}

/* The opcode of the first instruction of a pair (any other opcode is returned as it is). */
static uint32_t unpaired_op(uint32_t op)
{
	if (op == TWM_OP_ADDI2 || op == TWM_OP_ADDI3 || op == TWM_OP_ADDI_CONST)
		return TWM_OP_IMM_BASE + 0x6a;
	if (op == TWM_OP_CONST2 || op == TWM_OP_CONST_ADDI)
		return TWM_OP_CONST32;
	if (op == TWM_OP_MOVE_CONST)
		return TWM_OP_MOVE;
	if (op >= TWM_OP_AABR_BASE && op < TWM_OP_AABR_BASE + TWM_OP_AABR_COUNT)
		return (op - TWM_OP_AABR_BASE) >> 5 ? TWM_OP_IMM_BASE + 0x6a : 0x6a;
	if (op >= TWM_OP_LH_BASE && op < TWM_OP_LH_BASE + TWM_OP_LH_COUNT) {
		static const uint32_t branch[4] = {TWM_OP_BR_IF, TWM_OP_BR_IF_NOT, TWM_OP_BRI_TEST,
						   TWM_OP_BRI_TESTZ};
		uint32_t i = op - TWM_OP_LH_BASE;
		return i < 10 ? TWM_OP_BR_EQ + i : i < 20 ? TWM_OP_BRI_EQ + (i - 10) : branch[i - 20];
	}
	return op;
}

/* The instruction at `first` (`len` cells, its opcode already checked by the caller) and the one
 * right after it at `second` (emitted, or about to be) run as one pair `pop` when no branch target
 * lies between them and `first` is not itself the second of a pair. Both keep their cells (the
 * second's opcode cell is skipped), so a later fusion that rewrites the second only has to put
 * the first opcode back. A pair is formed only when the second is emitted: by then nothing looks
 * back at the first any more (fusions look at the last instruction, or at the last two only when
 * the last is the one they absorb). */
static bool pair_with(struct twm_compiler *c, uint32_t first, uint32_t len, uint32_t second,
		      uint32_t pop)
{
	if (first == NO_PATCH || first + len != second || c->label_at > first ||
	    (c->pair_at != NO_PATCH && c->pair_second == first))
		return false;
	c->code[first] = pop;
	c->pair_at = first;
	c->pair_second = second;
	return true;
}

/* The i32.add immediate just emitted at `y`: the third of an ADDI2 right before it, the second
 * of a pair with an add of the same kind or a CONST32 right before it, else a candidate first
 * for a CONST32 after it. */
static __attribute__((noinline)) void pair_addi(struct twm_compiler *c, uint32_t y)
{
	uint32_t prev = c->num_before, k = c->const_at, p = c->pair_at;
	if (p != NO_PATCH && c->code[p] == TWM_OP_ADDI2 && c->pair_second + 4 == y &&
	    c->label_at <= c->pair_second) {
		c->code[p] = TWM_OP_ADDI3;
		c->pair_second = y;
		return;
	}
	if (prev != NO_PATCH && c->code[prev] == TWM_OP_IMM_BASE + 0x6a &&
	    pair_with(c, prev, 4, y, TWM_OP_ADDI2))
		return;
	if (k != NO_PATCH && c->code[k] == TWM_OP_CONST32 && pair_with(c, k, 3, y, TWM_OP_CONST_ADDI))
		return;
	c->addi_at = y;
}

/* Cells from `at` on are about to be rewritten: the last pair splits again if its second
 * instruction is among them (an ADDI3 whose third add goes stays an ADDI2). */
static void unpair_from(struct twm_compiler *c, uint32_t at)
{
	if (c->pair_at == NO_PATCH || c->pair_second < at)
		return;
	uint32_t op = c->code[c->pair_at];
	c->code[c->pair_at] = op == TWM_OP_ADDI3 && at > c->pair_at + 4 ? TWM_OP_ADDI2
									 : unpaired_op(op);
	c->pair_at = c->pair_second = NO_PATCH;
}

/* A CONST32 of `v` into `dst`, paired with a MOVE, a CONST32 or an i32.add immediate just
 * before it. Inlined: called
 * out of line, its callers' prologues cost more at load time than the pairing check itself. */
static inline __attribute__((always_inline)) bool emit_const32(struct twm_compiler *c,
							       uint32_t dst, uint32_t v)
{
	if (c->move_at != NO_PATCH && c->code[c->move_at] == TWM_OP_MOVE)
		pair_with(c, c->move_at, 3, c->ncode, TWM_OP_MOVE_CONST);
	else if (c->const_at != NO_PATCH && c->code[c->const_at] == TWM_OP_CONST32)
		pair_with(c, c->const_at, 3, c->ncode, TWM_OP_CONST2);
	else if (c->addi_at != NO_PATCH && c->code[c->addi_at] == TWM_OP_IMM_BASE + 0x6a)
		pair_with(c, c->addi_at, 4, c->ncode, TWM_OP_ADDI_CONST);
	c->move_at = NO_PATCH;
	uint32_t at = c->ncode;
	if (!emit3(c, TWM_OP_CONST32, dst, v))
		return false;
	c->const_at = c->pair_second == at ? NO_PATCH : at;
	return true;
}

static inline uint32_t slot(struct twm_compiler *c, uint32_t h)
{
	return c->nl + h;
}

/* A forward target not yet known: its cell holds the next cell of the same patch list (bits
 * 0-23), how far the cell is from its instruction's opcode cell (bits 24-30; the target becomes
 * an offset from that cell) and, in bit 31, that the list ends here. A side table of opcode
 * cells cost more: growing it next to the code made every realloc of the code a copy. */
#define PEND_NEXT 0xffffffu
#define PEND_END 0x80000000u
#define PEND_DIST_MAX 127u
_Static_assert(TW_WASM_ICODE_CELLS_MAX <= PEND_NEXT + 1, "a cell index fits in PEND_NEXT");

/* Make the just-emitted cell `site` a pending target of the instruction at cell `at`, linked to
 * the patch list `next` (NO_PATCH: none). */
static void note_site(struct twm_compiler *c, uint32_t site, uint32_t at, uint32_t next)
{
	c->code[site] = (next == NO_PATCH ? PEND_END : next) | (site - at) << 24;
}

/* Resolve the pending target in cell `site` to `target`; returns the next cell of its list. */
static uint32_t resolve(struct twm_compiler *c, uint32_t site, uint32_t target)
{
	uint32_t v = c->code[site];
	c->code[site] = target - (site - (v >> 24 & PEND_DIST_MAX));
	return v & PEND_END ? NO_PATCH : v & PEND_NEXT;
}

/* The cell that will hold the target of a branch to `f`, the branch instruction starting at
 * cell `at`. */
static bool emit_target(struct twm_compiler *c, struct ctl *f, uint32_t at)
{
	if (f->kind == CTL_LOOP)
		return emit(c, f->loop_ip - at);
	if (!emit(c, 0))
		return false;
	note_site(c, c->ncode - 1, at, f->patch);
	f->patch = c->ncode - 1;
	return true;
}

static uint32_t label_arity(const struct ctl *f)
{
	return f->kind == CTL_LOOP ? f->np : f->nr;
}

static bool needs_copy(struct twm_compiler *c, const struct ctl *f)
{
	uint32_t n = label_arity(f);
	return f == &c->ctl[0] || (n && c->nvt - n != f->height);
}

/* A return of `n` values from slots src...: one value, the common case, has its own opcode,
 * and so do results already where they go (none, or one in slot 0). */
static bool emit_return(struct twm_compiler *c, uint32_t src, uint32_t n)
{
	if (n == 0 || (n == 1 && src == 0))
		return emit(c, TWM_OP_RETURN0);
	return emit3(c, n == 1 ? TWM_OP_RETURN1 : TWM_OP_RETURN, src, n);
}

/* A branch about to be emitted takes along the single MOVE emitted just before it, with no label
 * between them: that MOVE becomes `fused` ("src dst" then the branch's target). Returns the MOVE's
 * cell, or NO_PATCH (nothing changed). */
static uint32_t move_into_branch(struct twm_compiler *c, uint32_t fused)
{
	uint32_t m = c->move_at;
	if (m == NO_PATCH || m + 3 != c->ncode || c->label_at > m || c->code[m] != TWM_OP_MOVE)
		return NO_PATCH;
	c->code[m] = fused;
	c->move_at = NO_PATCH;
	return m;
}

/* A forward BR to `f`: the MOVE just emitted (a label value or a branch's result on its way to
 * its slot) becomes MOVE_BR "src dst target" when no label lies between them. */
static bool emit_br(struct twm_compiler *c, struct ctl *f)
{
	uint32_t m = move_into_branch(c, TWM_OP_MOVE_BR);
	if (m != NO_PATCH)
		return emit_target(c, f, m);
	uint32_t at = c->ncode;
	return emit(c, TWM_OP_BR) && emit_target(c, f, at);
}

/* Unconditional jump to `f` with its label values on top of the stack (height c->nvt). */
static bool emit_jump(struct twm_compiler *c, struct ctl *f)
{
	uint32_t n = label_arity(f);
	uint32_t src = slot(c, c->nvt - n);
	if (f == &c->ctl[0])
		return emit_return(c, src, c->ctl[0].nr);
	uint32_t dst = slot(c, f->height);
	if (src != dst) {
		for (uint32_t k = 0; k < n; k++)
			if (!emit_move(c, src + k, dst + k))
				return false;
	}
	if (f->kind == CTL_LOOP) {
		/* a MOVE just before (a loop variable's copy) runs in the backedge: MOVE_BRB */
		uint32_t m = move_into_branch(c, TWM_OP_MOVE_BRB);
		if (m != NO_PATCH)
			return emit(c, f->loop_ip + 3 - m);
		return emit2(c, TWM_OP_BRB, f->loop_ip + 3 - c->ncode);
	}
	return emit_br(c, f);
}

static void patch_list(struct twm_compiler *c, uint32_t head, uint32_t target)
{
	while (head != NO_PATCH)
		head = resolve(c, head, target);
}

/* ---- type stack ----------------------------------------------------------------------------- */

static bool push(struct twm_compiler *c, uint8_t t)
{
	if (c->nvt >= c->vt_cap &&
	    !grow(c, (void **)&c->vt, &c->vt_cap, c->nvt + 1, 1, TW_WASM_OPERANDS_MAX))
		return c->r->failed ? false : fail(c, "operand stack too deep");
	if (c->nvt >= c->src_cap &&
	    (!grow(c, (void **)&c->src, &c->src_cap, c->nvt + 1, 4, TW_WASM_OPERANDS_MAX) ||
	     !grow(c, (void **)&c->cval, &c->cval_cap, c->nvt + 1, 8, TW_WASM_OPERANDS_MAX)))
		return false;
	c->src[c->nvt] = c->nl + c->nvt;
	c->vt[c->nvt++] = t;
	if (c->nvt > c->max_height)
		c->max_height = c->nvt;
	return true;
}

static bool pop(struct twm_compiler *c, uint8_t want, uint8_t *got)
{
	struct ctl *f = top(c);
	uint8_t t;
	if (c->nvt == f->height) {
		if (!f->unreachable)
			return fail(c, "type mismatch");
		t = UNKNOWN;
	} else {
		t = c->vt[--c->nvt];
		if (c->src[c->nvt] != c->nl + c->nvt)
			c->npending--;
	}
	if (want != UNKNOWN && t != UNKNOWN && t != want)
		return fail(c, "type mismatch");
	if (got)
		*got = t == UNKNOWN ? want : t;
	return true;
}

static bool pop_n(struct twm_compiler *c, uint32_t n, const uint8_t *types)
{
	for (uint32_t i = n; i-- > 0;)
		if (!pop(c, types[i], NULL))
			return false;
	return true;
}

static bool push_n(struct twm_compiler *c, uint32_t n, const uint8_t *types)
{
	for (uint32_t i = 0; i < n; i++)
		if (!push(c, types[i]))
			return false;
	return true;
}

static bool is_ref(uint8_t t)
{
	return t == TWM_FUNCREF || t == TWM_EXTERNREF;
}

static bool push_ctl(struct twm_compiler *c, uint8_t kind, uint32_t np, const uint8_t *pt,
		     uint32_t nr, const uint8_t *rt)
{
	bool dead = c->nctl ? !live(c) : false;
	if (c->nctl >= c->ctl_cap &&
	    !grow(c, (void **)&c->ctl, &c->ctl_cap, c->nctl + 1, sizeof(struct ctl),
		  TW_WASM_NESTING_MAX))
		return c->r->failed ? false : fail(c, "blocks nested too deeply");
	struct ctl *f = &c->ctl[c->nctl++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->dead = dead;
	f->height = c->nvt;
	f->np = np;
	f->pt = pt;
	f->nr = nr;
	f->rt = rt;
	f->patch = NO_PATCH;
	f->else_patch = NO_PATCH;
	f->instr_start = c->ninstr;
	return push_n(c, np, pt);
}

/* Check the frame's results are exactly what is on the stack. */
static bool check_end(struct twm_compiler *c, struct ctl *f)
{
	if (!pop_n(c, f->nr, f->rt))
		return false;
	if (c->nvt != f->height)
		return fail(c, "type mismatch");
	return true;
}

static void set_unreachable(struct twm_compiler *c)
{
	struct ctl *f = top(c);
	/* heights below a frame are never pending (materialized at block entry) */
	while (c->nvt > f->height) {
		c->nvt--;
		if (c->src[c->nvt] != c->nl + c->nvt)
			c->npending--;
	}
	f->unreachable = true;
}

/* ---- pending operands ----------------------------------------------------------------------- */

static bool materialize(struct twm_compiler *c, uint32_t h)
{
	uint32_t s = c->src[h], d = c->nl + h;
	bool ok;
	if (s == d)
		return true;
	if (s & SRC_CONST) {
		uint64_t v = c->cval[h];
		ok = (v >> 32) ? emit4(c, TWM_OP_CONST64, d, (uint32_t)v, (uint32_t)(v >> 32))
			       : emit_const32(c, d, (uint32_t)v);
	} else {
		ok = emit_move(c, s, d);
	}
	c->src[h] = d;
	c->npending--;
	return ok;
}

/* Write pending values of heights [from, to) into their slots. */
static bool materialize_range(struct twm_compiler *c, uint32_t from, uint32_t to)
{
	for (uint32_t h = from; c->npending && h < to; h++)
		if (c->src[h] != c->nl + h && !materialize(c, h)) /* no call for slots in place */
			return false;
	return true;
}

static bool pending_ref(struct twm_compiler *c, uint32_t local, uint32_t below)
{
	for (uint32_t h = 0; c->npending && h < below; h++)
		if (c->src[h] == local)
			return true;
	return false;
}

/* Before local `x` is written, copy out the stack values that still read it. */
static bool materialize_local(struct twm_compiler *c, uint32_t x, uint32_t below)
{
	for (uint32_t h = 0; c->npending && h < below; h++)
		if (c->src[h] == x && !materialize(c, h))
			return false;
	return true;
}

/* A source that is a pending constant becomes its slot. */
static bool real_src(struct twm_compiler *c, uint32_t h, uint32_t *out)
{
	if ((c->src[h] & SRC_CONST) && !materialize(c, h))
		return false;
	*out = c->src[h];
	return true;
}

/* A CALL_LOCAL* of function `func` is emitted at cell `at`: remember it for twm_link_code,
 * which puts the callee's place in its second cell. */
static bool note_call(struct twm_compiler *c, uint32_t at, uint32_t func)
{
	if (!grow(c, (void **)&c->calls, &c->calls_cap, 3 * c->ncalls + 3, 4, UINT32_MAX / 8))
		return false;
	c->calls[3 * c->ncalls] = c->cur_code;
	c->calls[3 * c->ncalls + 1] = at;
	c->calls[3 * c->ncalls + 2] = func;
	c->ncalls++;
	return true;
}

/* The callee cell of a CALL_LOCAL* until twm_link_code sets it: a call of itself, which only
 * recurses until the stack is exhausted, should a call ever miss its link. */
#define CALL_UNLINKED 0u

/* A CALL_LOCAL of `func` with arguments at `base` absorbs the MOVEs that just wrote its
 * arguments (the cells from `op_start` on: what the call's materialization emitted), up to
 * three, as CALL_LOCAL_M1 .. M3 "callee argbase (src dst)*k". Constants written there stay
 * in front of it. Sources are locals or slots below `base` and destinations are argument slots,
 * so the moves are independent of each other and of the callee, and running them again after
 * a fuel stop at the call writes the same values. Returns false, having changed nothing,
 * when the cells are anything else; `false` with c->r->failed set is an error. */
static __attribute__((noinline)) bool fuse_call_moves(struct twm_compiler *c, uint32_t op_start,
						      uint32_t func, uint32_t base)
{
	uint32_t mv[6], nmv = 0, keep[16], nkeep = 0;
	for (uint32_t at = op_start; at < c->ncode;) {
		/* pairs split again (the same code, one more dispatch), even if nothing fuses */
		uint32_t op = c->code[at] = unpaired_op(c->code[at]), len;
		if (op == TWM_OP_MOVE || op == TWM_OP_MOVE2 || op == TWM_OP_MOVE3) {
			len = op == TWM_OP_MOVE ? 3 : op == TWM_OP_MOVE2 ? 5 : 7;
			for (uint32_t k = at + 1; k < at + len; k += 2) {
				if (nmv == 6 || c->code[k] >= base || c->code[k + 1] < base)
					return false;
				mv[nmv++] = c->code[k];
				mv[nmv++] = c->code[k + 1];
			}
		} else if (op == TWM_OP_CONST32 || op == TWM_OP_CONST64) {
			len = op == TWM_OP_CONST32 ? 3 : 4;
			if (nkeep + len > 16)
				return false;
			memcpy(keep + nkeep, c->code + at, len * 4);
			nkeep += len;
		} else {
			return false;
		}
		at += len;
	}
	if (!nmv)
		return false;
	unpair_from(c, op_start);
	c->ncode = op_start;
	c->move_at = c->const_at = c->addi_at = c->pair_at = c->pair_second = NO_PATCH;
	for (uint32_t k = 0; k < nkeep; k++)
		if (!emit(c, keep[k]))
			return false;
	if (!note_call(c, c->ncode, func) ||
	    !emit3(c, TWM_OP_CALL_LOCAL_M1 + nmv / 2 - 1, CALL_UNLINKED, base))
		return false;
	for (uint32_t k = 0; k < nmv; k++)
		if (!emit(c, mv[k]))
			return false;
	return true;
}

/* The last instruction was rewritten in place or taken back: none of the instructions that
 * fusions and pairs look back at is there as they recorded it any more. */
static void forget_neighbours(struct twm_compiler *c)
{
	c->move_at = c->const_at = c->addi_at = c->pair_at = c->pair_second = NO_PATCH;
	c->num_at = c->num_before = c->num_before2 = c->num_end = NO_PATCH;
}

/* A CALL_LOCAL of `func` with arguments at `base`, right after the i32.add immediate at `at`
 * that wrote one of them ("f(n - 1)"), the call's materialization having emitted nothing:
 * CALL_LOCAL_AI "callee argbase a imm dst". The add runs after the fuel check, so a fuel stop
 * at the call leaves before it and resumption adds once. Returns false, having changed nothing,
 * when the add is not there. */
static bool fuse_call_addi(struct twm_compiler *c, uint32_t at, uint32_t func, uint32_t base)
{
	if (at == NO_PATCH || at + 4 != c->ncode || c->label_at > at ||
	    c->code[at] != TWM_OP_IMM_BASE + 0x6a || c->code[at + 3] < base)
		return false;
	uint32_t a = c->code[at + 1], k = c->code[at + 2], d = c->code[at + 3];
	unpair_from(c, at);
	c->ncode = at;
	forget_neighbours(c);
	return note_call(c, c->ncode, func) &&
	       emit3(c, TWM_OP_CALL_LOCAL_AI, CALL_UNLINKED, base) && emit3(c, a, k, d);
}

/* The i32.add at `at` (register or immediate form), the last instruction, computed the function's
 * result into slot 0 right before a return: the two become ADD_RET / ADDI_RET. */
static bool fuse_add_return(struct twm_compiler *c, uint32_t at)
{
	if (at == NO_PATCH || at + 4 != c->ncode || c->label_at > at || c->code[at + 3] != 0)
		return false;
	uint32_t op = c->code[at];
	if (op != 0x6a && op != TWM_OP_IMM_BASE + 0x6a)
		return false;
	unpair_from(c, at);
	c->code[at] = op == 0x6a ? TWM_OP_ADD_RET : TWM_OP_ADDI_RET;
	forget_neighbours(c);
	return true;
}

/* Once every function of `m` (`n` of them) is compiled: their code, one block in order, goes to
 * the module (m->code), and each CALL_LOCAL* gets its callee as a signed cell offset from
 * its opcode cell, which fits because the block is one allocation. A call then finds its target
 * with an add to ip instead of two dependent loads through a table.
 *
 * A call whose callee's code starts with ZERO1 or ZERO2 also becomes its _Z form, which zeroes
 * those locals itself (two slots, one 16-byte store) and enters after that ZERO: one dispatch
 * less per call. A ZERO that starts a function is never a branch target (the prologue ends
 * before any label), and nothing has written the slots the call zeroes: the callee's code has
 * not started. Zeroing more slots for the larger ZEROk cost more than the dispatch it saves
 * (fib, 8 slots: +3% time). */
bool twm_link_code(struct twm_compiler *c, struct twm_module *m, uint32_t n, struct twm_rd *r)
{
	static const uint32_t plain[] = {TWM_OP_CALL_LOCAL, TWM_OP_CALL_LOCAL_M1,
					 TWM_OP_CALL_LOCAL_M2, TWM_OP_CALL_LOCAL_M3,
					 TWM_OP_CALL_LOCAL_AI};
	static const uint32_t zeroing[] = {TWM_OP_CALL_LOCAL_Z, TWM_OP_CALL_LOCAL_M1_Z,
					   TWM_OP_CALL_LOCAL_M2_Z, TWM_OP_CALL_LOCAL_M3_Z,
					   TWM_OP_CALL_LOCAL_AI_Z};
	/* the module takes the buffer, trimmed to its length */
	uint32_t *block = c->mcode ? realloc(c->mcode, (size_t)c->nmcode * 4 + 4) : malloc(4);
	if (!block)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	c->mcode = NULL;
	c->nmcode = c->mcode_cap = 0;
	m->code = block;
	for (uint32_t i = 0, at = 0; i < n; i++) {
		m->codes[i].icode = block + at + 1;
		at += m->codes[i].nicode + 1;
	}
	for (uint32_t k = 0; k < c->ncalls; k++) {
		const uint32_t *q = c->calls + 3 * k;
		uint32_t *cell = m->codes[q[0]].icode + q[1];
		const uint32_t *callee = m->codes[q[2] - m->nfunc_imports].icode;
		bool zeroes = callee[0] >= TWM_OP_ZERO1 && callee[0] <= TWM_OP_ZERO2, z = false;
		for (uint32_t f = 0; zeroes && !z && f < sizeof(plain) / sizeof(plain[0]); f++) {
			if (cell[0] == plain[f]) {
				cell[0] = zeroing[f];
				z = true;
			}
		}
		/* a _Z form enters after the two cells of the ZERO */
		cell[1] = (uint32_t)(int32_t)(callee + (z ? 2 : 0) - cell);
	}
	c->ncalls = 0;
	return true;
}

/* ---- immediates ----------------------------------------------------------------------------- */

static bool read_blocktype(struct twm_compiler *c, uint32_t *np, const uint8_t **pt,
			   uint32_t *nr, const uint8_t **rt)
{
	struct twm_rd *r = c->r;
	if (r->p >= r->end)
		return twm_rd_eof(r);
	uint8_t b = *r->p;
	*np = 0;
	*pt = NULL;
	if (b == 0x40) {
		r->p++;
		*nr = 0;
		*rt = NULL;
		return true;
	}
	if (b == TWM_I32 || b == TWM_I64 || b == TWM_F32 || b == TWM_F64 || b == TWM_FUNCREF ||
	    b == TWM_EXTERNREF || b == TWM_V128) {
		uint8_t t;
		if (!twm_rd_valtype(r, &t))
			return false;
		*nr = 1;
		*rt = &one_type[t];
		return true;
	}
	int64_t idx;
	if (!twm_rd_s33(r, &idx))
		return false;
	if (idx < 0)
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed value type");
	if ((uint64_t)idx >= c->m->ntypes)
		return failf(c, "unknown type %u", (uint32_t)idx);
	const struct twm_ftype *t = &c->m->types[idx];
	*np = t->nparams;
	*pt = t->types;
	*nr = t->nresults;
	*rt = t->types + t->nparams;
	return true;
}

static bool read_memarg(struct twm_compiler *c, uint32_t natural_log2, uint32_t *offset)
{
	uint32_t align;
	if (!twm_rd_u32(c->r, &align) || !twm_rd_u32(c->r, offset))
		return false;
	if (align >= 32)
		return twm_rd_fail(c->r, TW_ERR_WASM_MALFORMED, "malformed memop flags");
	if (c->m->nmems == 0)
		return fail(c, "unknown memory 0");
	if (align > natural_log2)
		return fail(c, "alignment must not be larger than natural");
	return true;
}

static bool zero_byte(struct twm_compiler *c)
{
	uint8_t b;
	if (!twm_rd_u8(c->r, &b))
		return false;
	if (b != 0)
		return twm_rd_fail(c->r, TW_ERR_WASM_MALFORMED, "zero byte expected");
	return true;
}

static bool need_memory(struct twm_compiler *c)
{
	return c->m->nmems ? true : fail(c, "unknown memory 0");
}

/* ---- numeric signatures --------------------------------------------------------------------- */

/* For opcodes 0x45..0xc4: operand types (b = 0 for unary) and result type. */
static void num_sig(uint8_t op, uint8_t *a, uint8_t *b, uint8_t *res)
{
	const uint8_t I = TWM_I32, L = TWM_I64, F = TWM_F32, D = TWM_F64;
	*b = 0;
	if (op == 0x45) {
		*a = I, *res = I;
	} else if (op <= 0x4f) {
		*a = *b = I, *res = I;
	} else if (op == 0x50) {
		*a = L, *res = I;
	} else if (op <= 0x5a) {
		*a = *b = L, *res = I;
	} else if (op <= 0x60) {
		*a = *b = F, *res = I;
	} else if (op <= 0x66) {
		*a = *b = D, *res = I;
	} else if (op <= 0x69) {
		*a = I, *res = I;
	} else if (op <= 0x78) {
		*a = *b = I, *res = I;
	} else if (op <= 0x7b) {
		*a = L, *res = L;
	} else if (op <= 0x8a) {
		*a = *b = L, *res = L;
	} else if (op <= 0x91) {
		*a = F, *res = F;
	} else if (op <= 0x98) {
		*a = *b = F, *res = F;
	} else if (op <= 0x9f) {
		*a = D, *res = D;
	} else if (op <= 0xa6) {
		*a = *b = D, *res = D;
	} else {
		static const uint8_t conv[][2] = {
			/* a7 */ {TWM_I64, TWM_I32}, {TWM_F32, TWM_I32}, {TWM_F32, TWM_I32},
			/* aa */ {TWM_F64, TWM_I32}, {TWM_F64, TWM_I32}, {TWM_I32, TWM_I64},
			/* ad */ {TWM_I32, TWM_I64}, {TWM_F32, TWM_I64}, {TWM_F32, TWM_I64},
			/* b0 */ {TWM_F64, TWM_I64}, {TWM_F64, TWM_I64}, {TWM_I32, TWM_F32},
			/* b3 */ {TWM_I32, TWM_F32}, {TWM_I64, TWM_F32}, {TWM_I64, TWM_F32},
			/* b6 */ {TWM_F64, TWM_F32}, {TWM_I32, TWM_F64}, {TWM_I32, TWM_F64},
			/* b9 */ {TWM_I64, TWM_F64}, {TWM_I64, TWM_F64}, {TWM_F32, TWM_F64},
			/* bc */ {TWM_F32, TWM_I32}, {TWM_F64, TWM_I64}, {TWM_I32, TWM_F32},
			/* bf */ {TWM_I64, TWM_F64}, {TWM_I32, TWM_I32}, {TWM_I32, TWM_I32},
			/* c2 */ {TWM_I64, TWM_I64}, {TWM_I64, TWM_I64}, {TWM_I64, TWM_I64},
		};
		*a = conv[op - 0xa7][0];
		*res = conv[op - 0xa7][1];
	}
}

bool twm_op_known(uint8_t op)
{
	if (op <= 0x05 || (op >= 0x0b && op <= 0x11) || op == 0x1a || op == 0x1b || op == 0x1c)
		return true;
	if ((op >= 0x20 && op <= 0x26) || (op >= 0x28 && op <= 0xc4))
		return true;
	return op == 0xd0 || op == 0xd1 || op == 0xd2 || op == 0xfc || op == 0xfd;
}

/* ---- the body ------------------------------------------------------------------------------- */

static bool read_locals(struct twm_compiler *c, const struct twm_ftype *ft)
{
	struct twm_rd *r = c->r;
	uint32_t ngroups;
	uint64_t total = ft->nparams;
	if (!twm_rd_u32(r, &ngroups))
		return false;
	c->nl = 0;
	if (!grow(c, (void **)&c->lt, &c->lt_cap, ft->nparams + 1, 1, TW_WASM_LOCALS_MAX + 1))
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "too many locals");
	memcpy(c->lt, ft->types, ft->nparams);
	c->nl = ft->nparams;
	for (uint32_t g = 0; g < ngroups; g++) {
		uint32_t n;
		uint8_t t;
		if (!twm_rd_u32(r, &n))
			return false;
		total += n;
		if (total > TW_WASM_LOCALS_MAX)
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "too many locals");
		if (!twm_rd_valtype(r, &t))
			return false;
		if (!grow(c, (void **)&c->lt, &c->lt_cap, (uint32_t)total + 1, 1,
			  TW_WASM_LOCALS_MAX + 1))
			return false;
		memset(c->lt + c->nl, t, n);
		c->nl = (uint32_t)total;
	}
	return true;
}

/* ---- operand-aware emission ----------------------------------------------------------------- */

static void set_const(struct twm_compiler *c, uint64_t v)
{
	c->src[c->nvt - 1] = SRC_CONST;
	c->cval[c->nvt - 1] = v;
	c->npending++;
}

/* A local written in the prologue needs no zeroing. */
static void prologue_wrote(struct twm_compiler *c, uint32_t x)
{
	if (c->prologue && x >= c->nparams && x < c->nl)
		c->unset &= ~(UINT64_C(1) << (x - c->nparams));
}

/* local.set / local.tee of the live stack top. */
static bool set_local(struct twm_compiler *c, uint32_t x, bool tee, uint32_t prev_dst)
{
	uint32_t h = c->nvt - 1, s = c->src[h], d = c->nl + h;
	uint64_t v = c->cval[h];
	bool wrote = true;
	if (s & SRC_CONST) {
		if (x == c->kc_local && v == c->kc_val && c->kc_labels == c->nlabels) {
			/* x holds v already (or, in the prologue, will from the ZERO below): the
			 * write is left out, and whatever reads x on the stack still reads v */
			wrote = false;
		} else if (v == 0 && c->prologue && x >= c->nparams &&
			   (c->unset >> (x - c->nparams) & 1)) {
			/* a declared local not yet written, set to zero in the prologue: it stays
			 * unset, and the ZERO where the prologue ends (before any label) writes it
			 * with its neighbours; nothing reads it before then */
			wrote = false;
		} else {
			if (!materialize_local(c, x, h))
				return false;
			if (!((v >> 32) ? emit4(c, TWM_OP_CONST64, x, (uint32_t)v,
						(uint32_t)(v >> 32))
					: emit_const32(c, x, (uint32_t)v)))
				return false;
		}
		c->kc_local = x;
		c->kc_val = v;
		c->kc_labels = c->nlabels;
	} else if (s == d && prev_dst != NO_PATCH && c->code[prev_dst] == d &&
		   !pending_ref(c, x, h)) {
		/* the previous instruction computed the top: let it write the local */
		c->code[prev_dst] = x;
	} else if (s != x) {
		if (!materialize_local(c, x, h) || !emit_move(c, s, x))
			return false;
	}
	if (!(s & SRC_CONST) && x == c->kc_local)
		c->kc_local = NO_PATCH;
	if (wrote)
		prologue_wrote(c, x);
	if (!pop(c, c->lt[x], NULL))
		return false;
	if (tee) {
		if (!push(c, c->lt[x]))
			return false;
		c->src[h] = (s & SRC_CONST) ? SRC_CONST : x;
		c->cval[h] = v;
		c->npending++;
	}
	return true;
}

static bool imm_ok(uint8_t op, uint64_t v)
{
	if ((op >= 0x46 && op <= 0x4f) || (op >= 0x6a && op <= 0x6c) || (op >= 0x71 && op <= 0x78))
		return true;
	if ((op >= 0x51 && op <= 0x5a) || (op >= 0x7c && op <= 0x7e) || (op >= 0x83 && op <= 0x8a))
		return (int64_t)v == (int64_t)(int32_t)(uint32_t)v;
	return false;
}

/* For a binary operation whose first operand is a constant K and second is not: the operation
 * op' with "K op x == x op' K" (op itself when commutative, the mirrored compare), or 0. sub is
 * returned as itself and emitted as RSUBI32/RSUBI64. */
static uint8_t const_first(uint8_t op)
{
	static const uint8_t mirror[10] = {0x46, 0x47, 0x4a, 0x4b, 0x48, 0x49, 0x4e, 0x4f, 0x4c, 0x4d};
	switch (op) {
	case 0x6a: case 0x6b: case 0x6c: case 0x71: case 0x72: case 0x73:
	case 0x7c: case 0x7d: case 0x7e: case 0x83: case 0x84: case 0x85:
		return op;
	default:
		if (op >= 0x46 && op <= 0x4f)
			return mirror[op - 0x46];
		if (op >= 0x51 && op <= 0x5a)
			return (uint8_t)(mirror[op - 0x51] + 0x0b);
		return 0;
	}
}

/* i64 operations with a TWM_OP_IMM64_BASE form (constants that do not fit 32 bits). */
static bool imm64_ok(uint8_t op)
{
	return (op >= 0x51 && op <= 0x5a) || (op >= 0x7c && op <= 0x7e) ||
	       (op >= 0x83 && op <= 0x8a);
}

/* Cells of the load at `at` if it is a plain or address-immediate load of `lop`, else 0. */
static uint32_t fload_len(const struct twm_compiler *c, uint32_t at, uint32_t lop)
{
	if (at == NO_PATCH)
		return 0;
	if (c->code[at] == lop)
		return 4;
	return c->code[at] == TWM_OP_ARI_BASE + lop ? 5 : 0;
}

/* Float add/sub/mul/div (opcode `op`) whose operands are stack slots `sa` and `sb`, both just
 * written by the loads at `prev` and `at` emitted back to back with no label between: the three
 * instructions become one that reads both memory operands (TWM_OP_LL_BASE). Neither load's
 * slot has another reader (stack values are popped once) and the arithmetic is the same single
 * rounded operation, so only the two slot writes disappear. */
static bool fuse_loads(struct twm_compiler *c, uint8_t op, uint32_t sa, uint32_t sb, uint32_t prev,
		       uint32_t at)
{
	bool f32 = op >= 0x92 && op <= 0x95, f64 = op >= 0xa0 && op <= 0xa3;
	if (!(f32 || f64) || prev == NO_PATCH || c->label_at > prev)
		return false;
	uint32_t lop = f32 ? 0x2a : 0x2b;
	uint32_t n1 = fload_len(c, prev, lop), n2 = fload_len(c, at, lop);
	if (!n1 || !n2 || prev + n1 != at || at + n2 != c->ncode || sa < c->nl || sb != sa + 1 ||
	    c->code[prev + n1 - 2] != sa || c->code[at + n2 - 2] != sb)
		return false;
	uint32_t x[6];
	const uint32_t *l = c->code + prev;
	for (int i = 0; i < 2; i++, l = c->code + at) {
		bool ri = l[0] != lop;
		x[3 * i] = l[1];
		x[3 * i + 1] = ri ? l[2] : 0;
		x[3 * i + 2] = ri ? l[4] : l[3]; /* the end offset, as in the loads */
	}
	/* the two loads took at least the 8 cells written here */
	uint32_t *o = c->code + prev;
	o[0] = TWM_OP_LL_BASE + op;
	memcpy(o + 1, x, sizeof(x));
	o[7] = sa;
	c->ncode = prev + 8;
	/* continue the run of load-load instructions that ends here, or start one */
	if (c->fx_start == NO_PATCH || c->fx_end != prev || c->label_at > c->fx_start)
		c->fx_start = prev;
	c->fx_end = c->ncode;
	return true;
}

/* Cells of the instruction at `at` in a run of load-load float instructions, 0 if it is not one. */
static uint32_t fx_len(const struct twm_compiler *c, uint32_t at)
{
	uint32_t op = c->code[at];
	if (op >= TWM_OP_LL_BASE && op < TWM_OP_LL_BASE + 0x100)
		return 8;
	if (op >= TWM_OP_LLM_BASE && op < TWM_OP_LLMR_BASE + 0x100)
		return 9;
	if (op >= TWM_OP_LLMC_BASE && op < TWM_OP_LLMC_BASE + 0x100)
		return 4 + 6 * c->code[at + 1];
	return 0;
}

static bool is_chain(uint32_t op)
{
	return op >= TWM_OP_LLMC_BASE && op < TWM_OP_LLMC_BASE + 0x100;
}

/* The destination slot of the run instruction at `p` (`len` cells): its last cell. */
static uint32_t fx_dst(const struct twm_compiler *c, uint32_t p, uint32_t len)
{
	return c->code[p + len - 1];
}

/* Whether the run instruction at `p` (`len` cells) reads slot `s`. */
static bool fx_reads(const struct twm_compiler *c, uint32_t p, uint32_t len, uint32_t s)
{
	const uint32_t *q = c->code + p;
	if (!is_chain(q[0]))
		return q[1] == s || q[4] == s || (len == 9 && q[7] == s);
	if (q[2] == s)
		return true;
	for (uint32_t i = 0; i < q[1]; i++)
		if (q[3 + 6 * i] == s || q[6 + 6 * i] == s)
			return true;
	return false;
}

/* The product-first multiply-add just appended at `at` (9 cells) adds to the result of the run
 * instruction at `prev` (`plen` cells), a product-first multiply-add or a chain of them with the
 * same operation: make the two one chain (TWM_OP_LLMC_BASE). That result's slot is read by
 * nothing else (a stack slot, popped once), so only its store and load disappear. */
static void chain_madd(struct twm_compiler *c, uint32_t prev, uint32_t plen, uint32_t at)
{
	uint32_t op = c->code[at] - TWM_OP_LLM_BASE, *q = c->code + prev;
	uint32_t add = c->code[at + 7], dst = c->code[at + 8], x[6], first[6];
	if (prev + plen != at || add < c->nl || fx_dst(c, prev, plen) != add)
		return;
	memcpy(x, c->code + at + 1, sizeof(x));
	uint32_t n, acc;
	if (q[0] == TWM_OP_LLM_BASE + op) {
		n = 1;
		acc = q[7];
		memcpy(first, q + 1, sizeof(first));
		memcpy(q + 3, first, sizeof(first));
	} else if (q[0] == TWM_OP_LLMC_BASE + op) {
		n = q[1];
		acc = q[2];
	} else {
		return;
	}
	q[0] = TWM_OP_LLMC_BASE + op;
	q[1] = n + 1;
	q[2] = acc;
	memcpy(q + 3 + 6 * n, x, sizeof(x));
	q[3 + 6 * (n + 1)] = dst;
	c->ncode = prev + 4 + 6 * (n + 1);
	c->chain_at = prev;
}

/* f32/f64 add or sub (`op`, result into slot `dst`) of slots `sa` and `sb`, one of them the
 * product of a load-load multiply in the current run: the multiply is taken out of the run and
 * the pair emitted as one instruction at its end. Moving it later is invisible: everything
 * after it in the run only loads, computes and writes stack slots above the product's (checked
 * below), none reads the product, and all of them can only trap with the same out-of-bounds
 * trap, so neither memory, the locals the multiply reads nor the trap can tell. A dot product
 * clang unrolled by four ("p1 p2 p3 p4 s + + + +") becomes four fused instructions. */
static bool fuse_madd(struct twm_compiler *c, uint8_t op, uint32_t sa, uint32_t sb, uint32_t dst)
{
	bool f32 = op == 0x92 || op == 0x93, f64 = op == 0xa0 || op == 0xa1;
	if (!(f32 || f64) || c->fx_start == NO_PATCH || c->fx_end != c->ncode ||
	    c->label_at > c->fx_start)
		return false;
	uint32_t mul = TWM_OP_LL_BASE + (f32 ? 0x94u : 0xa2u);
	/* the last writer of sa, else of sb, in the run */
	uint32_t at = NO_PATCH, prod = 0, len;
	for (int pass = 0; pass < 2 && at == NO_PATCH; pass++) {
		uint32_t want = pass ? sb : sa, last = NO_PATCH;
		if (want < c->nl)
			continue;
		for (uint32_t p = c->fx_start; p < c->fx_end; p += len) {
			if (!(len = fx_len(c, p)))
				return false;
			if (fx_dst(c, p, len) == want)
				last = p;
		}
		if (last != NO_PATCH && c->code[last] == mul) {
			at = last;
			prod = want;
		}
	}
	if (at == NO_PATCH)
		return false;
	uint32_t prev = NO_PATCH, plen = 0;
	for (uint32_t p = at + 8; p < c->fx_end; p += len) {
		len = fx_len(c, p);
		if (fx_dst(c, p, len) <= prod || fx_reads(c, p, len, prod))
			return false;
		prev = p;
		plen = len;
	}
	if (at != c->fx_start && prev == NO_PATCH) {
		/* the multiply was the run's last instruction: find the one before it */
		for (uint32_t p = c->fx_start; p < at; p += len) {
			len = fx_len(c, p);
			prev = p;
			plen = len;
		}
	}
	uint32_t x[6];
	memcpy(x, c->code + at + 1, sizeof(x));
	memmove(c->code + at, c->code + at + 8, (size_t)(c->ncode - at - 8) * sizeof(*c->code));
	c->ncode -= 8;
	uint32_t *o = c->code + c->ncode;
	o[0] = (prod == sa ? TWM_OP_LLM_BASE : TWM_OP_LLMR_BASE) + op;
	memcpy(o + 1, x, sizeof(x));
	o[7] = prod == sa ? sb : sa;
	o[8] = dst;
	/* the 8 cells given back cover one of the 9 written; grow for the other */
	c->ncode += 8;
	if (!emit(c, dst))
		return false;
	/* the instruction before the moved multiply is now 8 cells nearer */
	if (prev != NO_PATCH && prev > at)
		prev -= 8;
	if (prev != NO_PATCH && prod == sa)
		chain_madd(c, prev, plen, c->ncode - 9);
	c->fx_end = c->ncode;
	return true;
}

/* An i32/i64 add, sub, and, or or xor (`op`, result into `dst`) of slots `sa` and `sb`, one of
 * them written by the shift by an immediate emitted just before: the shift's four cells become
 * the fused instruction's (TWM_OP_SHB_BASE or TWM_OP_SHA_BASE). Nothing ran between the two,
 * and the shift's stack slot had no other reader, so only its write disappears. Covers
 * xorshift steps ("x ^= x << 13"), rotates written as two shifts, and scaled indexes
 * ("(i << 2) + base"). */
static bool fuse_shift(struct twm_compiler *c, uint8_t op, uint32_t sa, uint32_t sb, uint32_t dst)
{
	uint32_t at = c->num_at;
	if (at == NO_PATCH || c->num_end != c->ncode || at + 4 != c->ncode || c->label_at > at ||
	    c->code[at] < TWM_OP_IMM_BASE || c->code[at] >= TWM_OP_IMM_BASE + 0x100)
		return false;
	uint32_t shift = c->code[at] - TWM_OP_IMM_BASE, sdst = c->code[at + 3];
	int k = twm_shift_pair(op, shift);
	bool on_b = sdst == sb && sb >= c->nl, on_a = !on_b && sdst == sa && sa >= c->nl;
	if (k < 0 || !(on_a || on_b))
		return false;
	uint32_t src = c->code[at + 1], n = c->code[at + 2] & (op >= 0x7c ? 63u : 31u);
	c->code[at] = (on_b ? TWM_OP_SHB_BASE : TWM_OP_SHA_BASE) + (uint32_t)k;
	c->code[at + 1] = on_b ? sa : sb;
	c->code[at + 2] = src;
	c->code[at + 3] = n;
	return emit(c, dst);
}

static bool numeric(struct twm_compiler *c, uint8_t op, uint8_t a, uint8_t b, uint8_t res,
		    uint32_t fl_prev, uint32_t fl_at)
{
	uint32_t need = b ? 2 : 1;
	if (!live(c) || c->nvt < top(c)->height + need) {
		if ((b && !pop(c, b, NULL)) || !pop(c, a, NULL))
			return false;
		return push(c, res);
	}
	uint32_t h = c->nvt - need, sa, sb = 0;
	if (op >= 0xbc && op <= 0xbf) {
		/* reinterpretations keep the bits where they are */
		uint32_t s0 = c->src[h];
		uint64_t v0 = c->cval[h];
		if (!pop(c, a, NULL) || !push(c, res))
			return false;
		c->src[h] = s0;
		c->cval[h] = v0;
		if (s0 != c->nl + h)
			c->npending++;
		return true;
	}
	bool imm = false, imm64 = false;
	uint64_t k = 0;
	uint32_t rsub = 0;
	uint8_t swapped = b && (c->src[h] & SRC_CONST) && !(c->src[h + 1] & SRC_CONST) ?
				  const_first(op) : 0;
	if (swapped && imm_ok(swapped, c->cval[h])) {
		/* "K op x" as "x op' K": the constant needs no slot of its own */
		if (!real_src(c, h + 1, &sa) || !pop(c, b, NULL))
			return false;
		imm = true;
		sb = (uint32_t)c->cval[h];
		if (op == 0x6b || op == 0x7d)
			rsub = op == 0x6b ? TWM_OP_RSUBI32 : TWM_OP_RSUBI64;
		op = swapped;
	} else if (!real_src(c, h, &sa)) {
		return false;
	} else if (b) {
		if ((c->src[h + 1] & SRC_CONST) && imm_ok(op, c->cval[h + 1])) {
			imm = true;
			sb = (uint32_t)c->cval[h + 1];
		} else if ((c->src[h + 1] & SRC_CONST) && imm64_ok(op)) {
			imm64 = true;
			k = c->cval[h + 1];
		} else if (!real_src(c, h + 1, &sb)) {
			return false;
		}
		if (!pop(c, b, NULL))
			return false;
	}
	if (!pop(c, a, NULL) || !push(c, res))
		return false;
	c->chain_at = NO_PATCH;
	if (b && !imm && !imm64 &&
	    (fuse_loads(c, op, sa, sb, fl_prev, fl_at) || fuse_madd(c, op, sa, sb, c->nl + h) ||
	     fuse_shift(c, op, sa, sb, c->nl + h))) {
		c->num_at = c->num_before = c->num_before2 = c->num_end = NO_PATCH;
		c->last_dst = c->ncode - 1; /* every form's destination is its last cell */
		return true;
	}
	uint32_t start = c->ncode;
	bool contiguous = c->num_at != NO_PATCH && c->num_end == start;
	c->num_before2 = contiguous ? c->num_before : NO_PATCH;
	c->num_before = contiguous ? c->num_at : NO_PATCH;
	c->num_at = start;
	if (imm64) {
		if (!(emit3(c, TWM_OP_IMM64_BASE + op, sa, (uint32_t)k) &&
		      emit2(c, (uint32_t)(k >> 32), c->nl + h)))
			return false;
		c->last_op = c->ncode - 5;
	} else if (b) {
		if (!emit4(c, rsub ? rsub : imm ? TWM_OP_IMM_BASE + op : op, sa, sb, c->nl + h))
			return false;
		c->last_op = c->ncode - 4;
		if (op == 0x6a) {
			c->add_at = c->ncode - 4;
			c->addi_at = NO_PATCH;
			if (imm)
				pair_addi(c, c->ncode - 4);
		}
	} else {
		if (!emit3(c, op, sa, c->nl + h))
			return false;
		c->last_op = c->ncode - 3;
	}
	c->num_end = c->ncode;
	c->last_dst = c->ncode - 1;
	return true;
}

/* The backedge form of a branch opcode: it jumps past the loop's LOOP header and charges the
 * loop's fuel itself, so an iteration costs one dispatch less. */
static uint32_t back_op(uint32_t op)
{
	if (op == TWM_OP_BR)
		return TWM_OP_BRB;
	if (op == TWM_OP_BR_IF)
		return TWM_OP_BRB_IF;
	if (op == TWM_OP_BR_IF_NOT)
		return TWM_OP_BRB_IF_NOT;
	if (op >= TWM_OP_BR_EQ && op <= TWM_OP_BR_GE_U)
		return TWM_OP_BRB_EQ + (op - TWM_OP_BR_EQ);
	if (op >= TWM_OP_BRI_EQ && op <= TWM_OP_BRI_GE_U)
		return TWM_OP_BRBI_EQ + (op - TWM_OP_BRI_EQ);
	if (op >= TWM_OP_BR64_EQ && op <= TWM_OP_BR64_GE_U)
		return TWM_OP_BRB64_EQ + (op - TWM_OP_BR64_EQ);
	if (op == TWM_OP_BRI_TEST)
		return TWM_OP_BRBI_TEST;
	if (op == TWM_OP_BRI_TESTZ)
		return TWM_OP_BRBI_TESTZ;
	return TWM_OP_BRBI64_EQ + (op - TWM_OP_BRI64_EQ);
}

/* A conditional branch on `cond` (taken when it is non-zero if `when_true`, else when zero) to
 * `target` (a cell value: resolved index or patch link; with `back`, a loop's LOOP header). A
 * compare computed by the previous instruction only for this branch is fused into it. */
/* A backedge compare-and-branch `bop` (forward form, operands a b, loop target `target`) about to
 * be emitted at c->ncode, where the compare fused into it stood: if the instruction before that
 * compare is an add of the same type into one of its operands (a loop's "i += step; i < n"),
 * emit both as one TWM_OP_ABR_BASE instruction. The add still writes its destination. */
static bool fuse_add_backedge(struct twm_compiler *c, uint32_t bop, uint32_t a, uint32_t b,
			      uint32_t target)
{
	static const uint8_t mirror[10] = {0, 1, 4, 5, 2, 3, 8, 9, 6, 7};
	uint32_t t = c->num_before, cmp;
	bool is64, cmp_imm;
	if (bop >= TWM_OP_BR_EQ && bop <= TWM_OP_BR_GE_U)
		is64 = false, cmp_imm = false, cmp = bop - TWM_OP_BR_EQ;
	else if (bop >= TWM_OP_BRI_EQ && bop <= TWM_OP_BRI_GE_U)
		is64 = false, cmp_imm = true, cmp = bop - TWM_OP_BRI_EQ;
	else if (bop >= TWM_OP_BR64_EQ && bop <= TWM_OP_BR64_GE_U)
		is64 = true, cmp_imm = false, cmp = bop - TWM_OP_BR64_EQ;
	else if (bop >= TWM_OP_BRI64_EQ && bop <= TWM_OP_BRI64_GE_U)
		is64 = true, cmp_imm = true, cmp = bop - TWM_OP_BRI64_EQ;
	else
		return false;
	if (t == NO_PATCH || c->num_at != c->ncode || t + 4 != c->ncode || c->label_at > t)
		return false;
	/* the add before this one, if any: an i32 add of it pairs with the instruction */
	uint32_t u = c->num_before2;
	if (u != NO_PATCH && c->pair_at != NO_PATCH &&
	    (c->pair_second == u || (c->pair_second == t && c->pair_at != u)))
		u = NO_PATCH; /* in a pair that stays */
	uint32_t add = is64 ? 0x7c : 0x6a, op = c->code[t], d = c->code[t + 3];
	if (op != add && op != TWM_OP_IMM_BASE + add)
		return false;
	if (d != a) {
		if (cmp_imm || d != b)
			return false;
		b = a; /* d cmp' a, the compare mirrored */
		cmp = mirror[cmp];
	}
	uint32_t x = c->code[t + 1], y = c->code[t + 2];
	unpair_from(c, t);
	c->ncode = t;
	c->num_at = c->num_before = c->num_before2 = c->num_end = NO_PATCH;
	uint32_t at = c->ncode;
	if (!(emit3(c, TWM_ABR_OP(is64, op != add, cmp_imm, cmp), x, y) &&
	      emit3(c, d, b, target + 3 - at)))
		return false;
	/* "s += x; i += step; i < n": both adds and the branch in one dispatch */
	if (u != NO_PATCH && u + 4 == at && !is64 && op != add &&
	    (c->code[u] == 0x6a || c->code[u] == TWM_OP_IMM_BASE + 0x6a))
		pair_with(c, u, 4, at,
			  TWM_OP_AABR_BASE + ((uint32_t)(c->code[u] != 0x6a) << 5 |
					      (uint32_t)cmp_imm << 4 | cmp));
	return true;
}

static bool emit_cond_branch(struct twm_compiler *c, uint32_t cond, bool when_true,
			     uint32_t prev_op, uint32_t prev_dst, uint32_t target, bool back)
{
	static const uint8_t inverse[10] = {0x47, 0x46, 0x4e, 0x4f, 0x4c,
					    0x4d, 0x4a, 0x4b, 0x48, 0x49};
	uint32_t bop = when_true ? TWM_OP_BR_IF : TWM_OP_BR_IF_NOT, a = cond, b = 0;
	bool two = false;
	if (prev_op != NO_PATCH && c->ncode == prev_dst + 1 && c->code[prev_dst] == cond &&
	    cond >= c->nl) {
		uint32_t op = c->code[prev_op];
		if (op >= 0x46 && op <= 0x4f) {
			uint32_t fop = when_true ? op : inverse[op - 0x46];
			a = c->code[prev_op + 1];
			b = c->code[prev_op + 2];
			bop = TWM_OP_BR_EQ + (fop - 0x46);
			two = true;
			c->ncode = prev_op;
		} else if (op >= TWM_OP_IMM_BASE + 0x46 && op <= TWM_OP_IMM_BASE + 0x4f) {
			uint32_t cmp = op - TWM_OP_IMM_BASE;
			uint32_t fop = when_true ? cmp : inverse[cmp - 0x46];
			a = c->code[prev_op + 1];
			b = c->code[prev_op + 2];
			bop = TWM_OP_BRI_EQ + (fop - 0x46);
			two = true;
			c->ncode = prev_op;
		} else if (op >= 0x51 && op <= 0x5a) {
			uint32_t fop = when_true ? op : inverse[op - 0x51] + 0x0b;
			a = c->code[prev_op + 1];
			b = c->code[prev_op + 2];
			bop = TWM_OP_BR64_EQ + (fop - 0x51);
			two = true;
			c->ncode = prev_op;
		} else if (op >= TWM_OP_IMM_BASE + 0x51 && op <= TWM_OP_IMM_BASE + 0x5a) {
			uint32_t cmp = op - TWM_OP_IMM_BASE;
			uint32_t fop = when_true ? cmp : inverse[cmp - 0x51] + 0x0b;
			a = c->code[prev_op + 1];
			b = c->code[prev_op + 2];
			bop = TWM_OP_BRI64_EQ + (fop - 0x51);
			two = true;
			c->ncode = prev_op;
		} else if (op == TWM_OP_IMM_BASE + 0x71) {
			a = c->code[prev_op + 1];
			b = c->code[prev_op + 2];
			bop = when_true ? TWM_OP_BRI_TEST : TWM_OP_BRI_TESTZ;
			two = true;
			c->ncode = prev_op;
		} else if (op == 0x45) {
			uint32_t t = c->num_before;
			a = c->code[prev_op + 1];
			bop = when_true ? TWM_OP_BR_IF_NOT : TWM_OP_BR_IF;
			c->ncode = prev_op;
			/* eqz of an i32.and with an immediate computed just for it */
			if (c->num_at == prev_op && t != NO_PATCH && t + 4 == prev_op &&
			    c->label_at <= t && c->code[t] == TWM_OP_IMM_BASE + 0x71 &&
			    c->code[t + 3] == a && a >= c->nl) {
				a = c->code[t + 1];
				b = c->code[t + 2];
				bop = when_true ? TWM_OP_BRI_TESTZ : TWM_OP_BRI_TEST;
				two = true;
				c->ncode = t;
			}
		} else if (op == 0x50) {
			/* i64.eqz: compare with an immediate 0 */
			a = c->code[prev_op + 1];
			b = 0;
			bop = when_true ? TWM_OP_BRI64_EQ : TWM_OP_BRI64_NE;
			two = true;
			c->ncode = prev_op;
		}
	}
	if (back && two && fuse_add_backedge(c, bop, a, b, target))
		return true;
	uint32_t at = c->ncode;
	if (back) {
		/* backedges are relative to the branch instruction (see twm_int.h) */
		bop = back_op(bop);
		target = target + 3 - at;
	}
	if (!(two ? emit4(c, bop, a, b, target) : emit3(c, bop, a, target)))
		return false;
	/* a forward target (a patch link or NO_PATCH) is resolved later */
	if (!back) {
		note_site(c, c->ncode - 1, at, target);
		c->cbr_at = at;
	}
	return true;
}

static bool op_fc(struct twm_compiler *c)
{
	struct twm_module *m = c->m;
	uint32_t sub, x, y;
	uint8_t t;
	if (!twm_rd_u32(c->r, &sub))
		return false;
	if (sub <= 7) {
		static const uint8_t in[8] = {TWM_F32, TWM_F32, TWM_F64, TWM_F64,
					      TWM_F32, TWM_F32, TWM_F64, TWM_F64};
		uint8_t out = sub < 4 ? TWM_I32 : TWM_I64;
		if (!pop(c, in[sub], NULL) || !push(c, out))
			return false;
		return !live(c) || emit4(c, TWM_OP_TRUNC_SAT, sub, slot(c, c->nvt - 1),
					 slot(c, c->nvt - 1));
	}
	switch (sub) {
	case 8: /* memory.init */
		if (!twm_rd_u32(c->r, &x) || !zero_byte(c))
			return false;
		if (!need_memory(c))
			return false;
		if (!c->m->has_datacount) {
			/* decided at the end of the module: malformed if a data section follows,
			 * otherwise the index is unknown */
			if (!c->m->data_idx_used) {
				c->m->data_idx_used = true;
				c->m->data_idx_first = x;
			}
		} else if (x >= c->m->datacount)
			return failf(c, "unknown data segment %u", x);
		if (!pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL))
			return false;
		return !live(c) || (emit(c, TWM_OP_MEMORY_INIT) &&
					   emit4(c, x, slot(c, c->nvt), slot(c, c->nvt + 1),
						 slot(c, c->nvt + 2)));
	case 9: /* data.drop */
		if (!twm_rd_u32(c->r, &x))
			return false;
		if (!c->m->has_datacount) {
			/* decided at the end of the module: malformed if a data section follows,
			 * otherwise the index is unknown */
			if (!c->m->data_idx_used) {
				c->m->data_idx_used = true;
				c->m->data_idx_first = x;
			}
		} else if (x >= c->m->datacount)
			return failf(c, "unknown data segment %u", x);
		return !live(c) || emit2(c, TWM_OP_DATA_DROP, x);
	case 10: /* memory.copy */
		if (!zero_byte(c) || !zero_byte(c) || !need_memory(c))
			return false;
		if (!pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL))
			return false;
		return !live(c) || emit4(c, TWM_OP_MEMORY_COPY, slot(c, c->nvt),
					 slot(c, c->nvt + 1), slot(c, c->nvt + 2));
	case 11: /* memory.fill */
		if (!zero_byte(c) || !need_memory(c))
			return false;
		if (!pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL))
			return false;
		return !live(c) || emit4(c, TWM_OP_MEMORY_FILL, slot(c, c->nvt),
					 slot(c, c->nvt + 1), slot(c, c->nvt + 2));
	case 12: /* table.init elem table */
		if (!twm_rd_u32(c->r, &x) || !twm_rd_u32(c->r, &y))
			return false;
		if (y >= m->ntables)
			return failf(c, "unknown table %u", y);
		if (x >= m->nelems)
			return failf(c, "unknown elem segment %u", x);
		if (m->elems[x].type != m->tables[y].elem)
			return fail(c, "type mismatch");
		if (!pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL))
			return false;
		return !live(c) || (emit3(c, TWM_OP_TABLE_INIT, x, y) &&
					   emit3(c, slot(c, c->nvt), slot(c, c->nvt + 1),
						 slot(c, c->nvt + 2)));
	case 13: /* elem.drop */
		if (!twm_rd_u32(c->r, &x))
			return false;
		if (x >= m->nelems)
			return failf(c, "unknown elem segment %u", x);
		return !live(c) || emit2(c, TWM_OP_ELEM_DROP, x);
	case 14: /* table.copy dst src */
		if (!twm_rd_u32(c->r, &x) || !twm_rd_u32(c->r, &y))
			return false;
		if (x >= m->ntables)
			return failf(c, "unknown table %u", x);
		if (y >= m->ntables)
			return failf(c, "unknown table %u", y);
		if (m->tables[x].elem != m->tables[y].elem)
			return fail(c, "type mismatch");
		if (!pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL) || !pop(c, TWM_I32, NULL))
			return false;
		return !live(c) || (emit3(c, TWM_OP_TABLE_COPY, x, y) &&
					   emit3(c, slot(c, c->nvt), slot(c, c->nvt + 1),
						 slot(c, c->nvt + 2)));
	case 15: /* table.grow */
		if (!twm_rd_u32(c->r, &x))
			return false;
		if (x >= m->ntables)
			return failf(c, "unknown table %u", x);
		if (!pop(c, TWM_I32, NULL) || !pop(c, m->tables[x].elem, NULL) ||
		    !push(c, TWM_I32))
			return false;
		return !live(c) || (emit(c, TWM_OP_TABLE_GROW) &&
					   emit4(c, x, slot(c, c->nvt - 1), slot(c, c->nvt),
						 slot(c, c->nvt - 1)));
	case 16: /* table.size */
		if (!twm_rd_u32(c->r, &x))
			return false;
		if (x >= m->ntables)
			return failf(c, "unknown table %u", x);
		if (!push(c, TWM_I32))
			return false;
		return !live(c) || emit3(c, TWM_OP_TABLE_SIZE, x, slot(c, c->nvt - 1));
	case 17: /* table.fill */
		if (!twm_rd_u32(c->r, &x))
			return false;
		if (x >= m->ntables)
			return failf(c, "unknown table %u", x);
		if (!pop(c, TWM_I32, NULL) || !pop(c, m->tables[x].elem, NULL) ||
		    !pop(c, TWM_I32, NULL))
			return false;
		return !live(c) || (emit(c, TWM_OP_TABLE_FILL) &&
					   emit4(c, x, slot(c, c->nvt), slot(c, c->nvt + 1),
						 slot(c, c->nvt + 2)));
	default:
		(void)t;
		return twm_rd_fail(c->r, TW_ERR_WASM_MALFORMED, "illegal opcode");
	}
}

static bool op_br_table(struct twm_compiler *c)
{
	struct twm_rd *r = c->r;
	uint32_t n;
	if (!twm_rd_u32(r, &n))
		return false;
	if (n > (size_t)(r->end - r->p))
		return twm_rd_eof(r);
	if (!grow(c, (void **)&c->labels, &c->labels_cap, n + 1, 4, UINT32_MAX / 8))
		return false;
	for (uint32_t i = 0; i <= n; i++) {
		if (!twm_rd_u32(r, &c->labels[i]))
			return false;
		if (c->labels[i] >= c->nctl)
			return fail(c, "unknown label");
	}
	if (!pop(c, TWM_I32, NULL))
		return false;
	uint32_t idx_slot = slot(c, c->nvt);
	struct ctl *def = &c->ctl[c->nctl - 1 - c->labels[n]];
	uint32_t arity = label_arity(def);
	struct ctl *f = top(c);
	for (uint32_t i = 0; i <= n; i++) {
		struct ctl *L = &c->ctl[c->nctl - 1 - c->labels[i]];
		const uint8_t *lt = L->kind == CTL_LOOP ? L->pt : L->rt;
		if (label_arity(L) != arity)
			return fail(c, "type mismatch");
		for (uint32_t k = 0; k < arity; k++) {
			uint32_t pos = c->nvt - 1 - k; /* may wrap below height */
			uint8_t want = lt[arity - 1 - k];
			if (c->nvt < k + 1 || pos < f->height) {
				if (!f->unreachable)
					return fail(c, "type mismatch");
				continue;
			}
			if (c->vt[pos] != UNKNOWN && c->vt[pos] != want)
				return fail(c, "type mismatch");
		}
	}
	/* the stack must also be deep enough for the default label's values */
	if (!f->unreachable && c->nvt < f->height + arity)
		return fail(c, "type mismatch");
	if (live(c)) {
		uint32_t at = c->ncode;
		if (!emit3(c, TWM_OP_BR_TABLE, idx_slot, n))
			return false;
		uint32_t cells = c->ncode;
		for (uint32_t i = 0; i <= n; i++)
			if (!emit(c, NO_PATCH))
				return false;
		for (uint32_t i = 0; i <= n; i++) {
			struct ctl *L = &c->ctl[c->nctl - 1 - c->labels[i]];
			/* a pending target too far from the opcode goes through a BR after the table */
			if (!needs_copy(c, L) && (L->kind == CTL_LOOP || 3 + i <= PEND_DIST_MAX)) {
				if (L->kind == CTL_LOOP) {
					c->code[cells + i] = L->loop_ip - at;
				} else {
					note_site(c, cells + i, at, L->patch);
					L->patch = cells + i;
				}
			} else {
				c->code[cells + i] = here(c) - at;
				if (!emit_jump(c, L))
					return false;
			}
		}
	}
	set_unreachable(c);
	return true;
}

static bool op_select(struct twm_compiler *c, bool typed)
{
	uint8_t t1, t2, want = UNKNOWN;
	if (typed) {
		uint32_t n;
		if (!twm_rd_u32(c->r, &n))
			return false;
		if (n != 1)
			return fail(c, "invalid result arity");
		if (!twm_rd_valtype(c->r, &want))
			return false;
	}
	/* operands are read where they live; constants are written to their slots first */
	uint32_t sa = 0, sb = 0, sc = 0;
	bool emit_it = live(c) && c->nvt >= top(c)->height + 3;
	if (emit_it && (!real_src(c, c->nvt - 3, &sa) || !real_src(c, c->nvt - 2, &sb) ||
			!real_src(c, c->nvt - 1, &sc)))
		return false;
	if (!pop(c, TWM_I32, NULL) || !pop(c, want, &t1) || !pop(c, want, &t2))
		return false;
	if (!typed) {
		if (is_ref(t1) || is_ref(t2))
			return fail(c, "type mismatch");
		if (t1 != UNKNOWN && t2 != UNKNOWN && t1 != t2)
			return fail(c, "type mismatch");
		want = t1 != UNKNOWN ? t1 : t2;
	}
	if (!push(c, want))
		return false;
	if (!emit_it)
		return true;
	if (!emit(c, TWM_OP_SELECT) || !emit4(c, sc, sa, sb, slot(c, c->nvt - 1)))
		return false;
	c->last_dst = c->ncode - 1;
	return true;
}

/* Whether the i32.add at cell `add_at` (see add_at in struct twm_compiler) computed the address
 * slot `a` of the load or store being emitted and nothing was emitted after it. Its result then
 * has no other reader (a stack value is popped once), so the access can compute the wrapped
 * 32-bit sum itself and the add disappears. Labels reset add_at, so no branch lands between. */
static bool fuse_address(struct twm_compiler *c, uint32_t add_at, uint32_t a)
{
	return add_at != NO_PATCH && c->ncode == add_at + 4 && c->code[add_at + 3] == a &&
	       a >= c->nl;
}

/* The fused opcode for access `op` (binary load/store opcode, or TWM_OP_IMM_BASE + store opcode
 * for a store of an immediate) whose address is the i32.add `add_op` (register or immediate). */
static uint32_t addr_op(uint32_t add_op, uint32_t op)
{
	bool imm_addr = add_op == TWM_OP_IMM_BASE + 0x6a;
	if (op >= TWM_OP_IMM_BASE)
		return (imm_addr ? TWM_OP_SIRI_BASE : TWM_OP_SIRR_BASE) + (op - TWM_OP_IMM_BASE);
	return (imm_addr ? TWM_OP_ARI_BASE : TWM_OP_ARR_BASE) + op;
}

/* Whether the straight-line prologue goes on through `op` (its immediates at `imm`): no
 * label, branch or trap yet, and no read of a declared local that was not written. */
static bool prologue_continues(struct twm_compiler *c, uint8_t op, const uint8_t *imm)
{
	if (op == 0x20) {
		uint32_t x = 0, shift = 0;
		/* peek the LEB128 index; a malformed one ends the prologue and fails later */
		for (int i = 0; i < 5 && imm < c->r->end; i++, shift += 7) {
			x |= (uint32_t)(*imm & 0x7f) << shift;
			if (!(*imm++ & 0x80))
				return x < c->nparams || x >= c->nl ||
				       !(c->unset >> (x - c->nparams) & 1);
		}
		return false;
	}
	return op == 0x10 || op == 0x1a || op == 0x1b || op == 0x21 || op == 0x22 || op == 0x23 ||
	       op == 0x24 || (op >= 0x28 && op <= 0x3e) || (op >= 0x41 && op <= 0xc4);
}


/* Zero locals first .. first + n - 1: up to 8 by the opcode for that count. */
static bool emit_zero(struct twm_compiler *c, uint32_t first, uint32_t n)
{
	if (n <= 8)
		return emit2(c, TWM_OP_ZERO1 + n - 1, first);
	return emit3(c, TWM_OP_ZERO, first, n);
}

/* The prologue ends here: zero the declared locals it did not write, one ZERO per run. */
static bool end_prologue(struct twm_compiler *c)
{
	uint64_t m = c->unset;
	c->prologue = false;
	for (uint32_t i = 0; i < 64;) {
		if (!(m >> i & 1)) {
			i++;
			continue;
		}
		uint32_t j = i;
		while (j < 64 && (m >> j & 1))
			j++;
		if (!emit_zero(c, c->nparams + i, j - i))
			return false;
		i = j;
	}
	return true;
}

static bool body(struct twm_compiler *c, uint32_t func_index, const uint8_t *declared,
		 const uint8_t *body_start)
{
	struct twm_module *m = c->m;
	struct twm_rd *r = c->r;
	const struct twm_ftype *ft = &m->types[m->func_types[func_index]];

	if (!push_ctl(c, CTL_FUNC, 0, NULL, ft->nresults, ft->types + ft->nparams))
		return false;
	c->nparams = ft->nparams;
	c->prologue = false;
	if (c->nl - ft->nparams > 64) {
		if (!emit3(c, TWM_OP_ZERO, ft->nparams, c->nl - ft->nparams))
			return false;
	} else if (c->nl > ft->nparams) {
		c->prologue = true;
		c->unset = c->nl - ft->nparams == 64 ? UINT64_MAX
						     : (UINT64_C(1) << (c->nl - ft->nparams)) - 1;
	}
	while (c->nctl > 0) {
		const uint8_t *op_at = r->p;
		uint8_t op;
		uint32_t x;
		if (!twm_rd_u8(r, &op))
			return false;
		c->ninstr++;
		if (c->prologue && !prologue_continues(c, op, r->p) && !end_prologue(c))
			return false;
		uint32_t prev_dst = c->last_dst, prev_op = c->last_op, add_at = c->add_at;
		uint32_t fl_at = c->fload_at, fl_prev = c->fload_prev;
		c->last_dst = c->last_op = NO_PATCH;
		if (op != 0x20 && (op < 0x41 || op > 0x44))
			c->add_at = NO_PATCH;
		if (op != 0x20 && op != 0x6a && (op < 0x41 || op > 0x44))
			c->fload_at = c->fload_prev = NO_PATCH;
		/* instructions that read their operands where they are; every other one needs
		 * the whole stack in its slots (blocks, branches, merges; a call does that
		 * itself) */
		bool keeps = op == 0x01 || op == 0x04 || op == 0x0d || op == 0x10 || op == 0x1a ||
			     op == 0x1b || op == 0x1c ||
			     (op >= 0x20 && op <= 0x22) || op == 0x24 || (op >= 0x28 && op <= 0x3e) ||
			     (op >= 0x41 && op <= 0xc4);
		/* a return of at most one value reads it where it is: the frame goes away */
		bool ret_direct = (op == 0x0f || (op == 0x0b && c->nctl == 1)) && c->ctl[0].nr <= 1;
		uint32_t ret_src = 0;
		bool ret_fused = false; /* the instruction before returns itself */
		if (ret_direct && live(c) && c->ctl[0].nr == 1 && c->nvt > top(c)->height) {
			uint32_t h = c->nvt - 1;
			if (c->src[h] == slot(c, h) && prev_dst != NO_PATCH &&
			    c->code[prev_dst] == c->src[h]) {
				/* the instruction that computed the result writes it where the
				 * return leaves it (RETURN0): the frame ends here, so slot 0's
				 * old value is dead, and no label lies between the two */
				c->code[prev_dst] = 0;
				ret_fused = fuse_add_return(c, prev_op);
			} else if (!real_src(c, h, &ret_src)) {
				return false;
			}
		}
		if (!keeps && !ret_direct && live(c) && !materialize_range(c, 0, c->nvt))
			return false;
		switch (op) {
		case 0x00: /* unreachable */
			if (live(c) && !emit(c, TWM_OP_UNREACHABLE))
				return false;
			set_unreachable(c);
			break;
		case 0x01:
			break;
		case 0x02:
		case 0x03:
		case 0x04: {
			uint32_t np, nr;
			const uint8_t *pt, *rt;
			if (!read_blocktype(c, &np, &pt, &nr, &rt))
				return false;
			uint32_t cond = 0;
			if (op == 0x04) {
				if (live(c) && c->nvt > top(c)->height) {
					if (!materialize_range(c, 0, c->nvt - 1) ||
					    !real_src(c, c->nvt - 1, &cond))
						return false;
				}
				if (!pop(c, TWM_I32, NULL))
					return false;
			}
			if (!pop_n(c, np, pt))
				return false;
			bool was_live = live(c);
			if (!push_ctl(c, op == 0x02 ? CTL_BLOCK : op == 0x03 ? CTL_LOOP : CTL_IF, np,
				      pt, nr, rt))
				return false;
			struct ctl *f = top(c);
			if (op == 0x03) {
				if (!grow(c, (void **)&c->loops, &c->loops_cap, c->nloops + 1, 4,
					  UINT32_MAX / 8))
					return false;
				c->loops[c->nloops] = (uint32_t)(op_at - body_start);
				/* the JIT's hook site, run once per entry (backedges go to the LOOP
				 * header after it); its exit target is the loop's end */
				if (was_live && np == 0 && nr == 0) {
					uint32_t lh = c->ncode, g = c->cbr_at;
					if (!emit3(c, TWM_OP_LOOP_HOOK, m->nloops + c->nloops,
						   NO_PATCH))
						return false;
					/* the loop's guard, a forward branch right before: one
					 * dispatch for both (TWM_OP_LH_BASE) */
					int k = g != NO_PATCH && g < lh ? twm_lh_index(c->code[g]) : -1;
					uint32_t glen = k == 20 || k == 21 ? 3 : 4; /* BR_IF(_NOT) */
					if (k >= 0 && g + glen == lh)
						pair_with(c, g, glen, lh, TWM_OP_LH_BASE + (uint32_t)k);
					note_site(c, c->ncode - 1, c->ncode - 3, NO_PATCH);
					f->else_patch = c->ncode - 1;
				}
				f->loop_ip = here(c);
				if (was_live && !emit3(c, TWM_OP_LOOP, 1, c->nloops))
					return false;
				c->nloops++;
			} else if (op == 0x04 && was_live) {
				if (!emit_cond_branch(c, cond, false, prev_op, prev_dst, NO_PATCH,
						      false))
					return false;
				f->else_patch = c->ncode - 1;
			}
			break;
		}
		case 0x05: { /* else */
			struct ctl *f = top(c);
			if (f->kind != CTL_IF)
				return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "else without if");
			if (!check_end(c, f))
				return false;
			if (live(c) && !emit_br(c, f))
				return false;
			if (f->else_patch != NO_PATCH) {
				resolve(c, f->else_patch, here(c));
				f->else_patch = NO_PATCH;
			}
			f->kind = CTL_ELSE;
			f->unreachable = false;
			if (!push_n(c, f->np, f->pt))
				return false;
			break;
		}
		case 0x0b: { /* end */
			struct ctl *f = top(c);
			if (!check_end(c, f))
				return false;
			if (f->kind == CTL_IF) {
				/* no else: the false branch passes the params through */
				if (f->np != f->nr || (f->np && memcmp(f->pt, f->rt, f->np) != 0))
					return fail(c, "type mismatch");
			}
			if (f->kind == CTL_FUNC) {
				uint32_t src = f->nr == 1 ? ret_src : slot(c, 0);
				if (live(c) && !ret_fused && !emit_return(c, src, f->nr))
					return false;
				patch_list(c, f->patch, here(c));
				c->nctl--;
				break;
			}
			if (f->else_patch != NO_PATCH)
				resolve(c, f->else_patch, here(c));
			if (f->kind == CTL_LOOP && !f->dead) {
				uint32_t cost = c->ninstr - f->instr_start;
				c->code[f->loop_ip + 1] = cost ? cost : 1;
			}
			patch_list(c, f->patch, here(c));
			uint32_t nr = f->nr;
			const uint8_t *rt = f->rt;
			c->nctl--;
			if (!push_n(c, nr, rt))
				return false;
			break;
		}
		case 0x0c: /* br */
			if (!twm_rd_u32(r, &x))
				return false;
			if (x >= c->nctl)
				return fail(c, "unknown label");
			{
				struct ctl *L = &c->ctl[c->nctl - 1 - x];
				uint32_t n = label_arity(L);
				const uint8_t *lt = L->kind == CTL_LOOP ? L->pt : L->rt;
				bool was_live = live(c);
				if (!pop_n(c, n, lt))
					return false;
				if (was_live) {
					/* the values stay in place for the jump's copy; they were
					 * materialized before this instruction */
					c->nvt += n;
					if (!emit_jump(c, L))
						return false;
				}
				set_unreachable(c);
			}
			break;
		case 0x0d: /* br_if */
			if (!twm_rd_u32(r, &x))
				return false;
			if (x >= c->nctl)
				return fail(c, "unknown label");
			{
				uint32_t cond = 0;
				if (live(c) && c->nvt > top(c)->height) {
					if (!materialize_range(c, 0, c->nvt - 1) ||
					    !real_src(c, c->nvt - 1, &cond))
						return false;
				}
				if (!pop(c, TWM_I32, NULL))
					return false;
				struct ctl *L = &c->ctl[c->nctl - 1 - x];
				uint32_t n = label_arity(L);
				const uint8_t *lt = L->kind == CTL_LOOP ? L->pt : L->rt;
				if (!pop_n(c, n, lt) || !push_n(c, n, lt))
					return false;
				if (live(c)) {
					if (needs_copy(c, L)) {
						if (!emit_cond_branch(c, cond, false, prev_op, prev_dst,
								      NO_PATCH, false))
							return false;
						uint32_t skip = c->ncode - 1;
						if (!emit_jump(c, L))
							return false;
						resolve(c, skip, here(c));
					} else {
						uint32_t t = L->kind == CTL_LOOP ? L->loop_ip : L->patch;
						if (!emit_cond_branch(c, cond, true, prev_op, prev_dst, t,
								      L->kind == CTL_LOOP))
							return false;
						if (L->kind != CTL_LOOP)
							L->patch = c->ncode - 1;
					}
				}
			}
			break;
		case 0x0e:
			if (!op_br_table(c))
				return false;
			break;
		case 0x0f: { /* return */
			struct ctl *L = &c->ctl[0];
			bool was_live = live(c);
			if (!pop_n(c, L->nr, L->rt))
				return false;
			if (was_live && L->nr == 1) {
				if (!ret_fused && !emit_return(c, ret_src, 1))
					return false;
			} else if (was_live) {
				c->nvt += L->nr;
				if (!emit_jump(c, L))
					return false;
			}
			set_unreachable(c);
			break;
		}
		case 0x10: { /* call */
			if (!twm_rd_u32(r, &x))
				return false;
			if (x >= m->nfuncs)
				return failf(c, "unknown function %u", x);
			const struct twm_ftype *t = &m->types[m->func_types[x]];
			/* the whole stack to its slots, as before any call; what that emits for the
			 * arguments fuse_call_moves may absorb (no MOVE2 pairs across op_start) */
			uint32_t op_start = c->ncode;
			c->move_at = c->const_at = c->addi_at = NO_PATCH;
			if (live(c) && !materialize_range(c, 0, c->nvt))
				return false;
			if (!pop_n(c, t->nparams, t->types))
				return false;
			uint32_t base = slot(c, c->nvt);
			if (!push_n(c, t->nresults, t->types + t->nparams))
				return false;
			/* a defined function has code and belongs to the caller's instance */
			if (!live(c))
				break;
			if (x < m->nfunc_imports) {
				if (!emit3(c, TWM_OP_CALL, x, base))
					return false;
			} else if (!fuse_call_moves(c, op_start, x, base)) {
				if (c->r->failed)
					return false;
				bool fused = op_start == c->ncode &&
					     fuse_call_addi(c, prev_op, x, base);
				if (c->r->failed ||
				    (!fused && !(note_call(c, c->ncode, x) &&
						 emit3(c, TWM_OP_CALL_LOCAL, CALL_UNLINKED, base))))
					return false;
			}
			break;
		}
		case 0x11: { /* call_indirect */
			uint32_t tab;
			if (!twm_rd_u32(r, &x) || !twm_rd_u32(r, &tab))
				return false;
			if (tab >= m->ntables)
				return failf(c, "unknown table %u", tab);
			if (x >= m->ntypes)
				return failf(c, "unknown type %u", x);
			if (m->tables[tab].elem != TWM_FUNCREF)
				return fail(c, "type mismatch");
			const struct twm_ftype *t = &m->types[x];
			if (!pop(c, TWM_I32, NULL))
				return false;
			uint32_t idx = slot(c, c->nvt);
			if (!pop_n(c, t->nparams, t->types))
				return false;
			uint32_t base = slot(c, c->nvt);
			if (!push_n(c, t->nresults, t->types + t->nparams))
				return false;
			if (live(c) && !(emit3(c, TWM_OP_CALL_INDIRECT, x, tab) && emit2(c, idx, base)))
				return false;
			break;
		}
		case 0x1a:
			if (!pop(c, UNKNOWN, NULL))
				return false;
			break;
		case 0x1b:
		case 0x1c:
			if (!op_select(c, op == 0x1c))
				return false;
			break;
		case 0x20:
		case 0x21:
		case 0x22:
			if (!twm_rd_u32(r, &x))
				return false;
			if (x >= c->nl)
				return failf(c, "unknown local %u", x);
			if (op == 0x20) {
				if (!push(c, c->lt[x]))
					return false;
				if (live(c)) {
					c->src[c->nvt - 1] = x;
					c->npending++;
				}
			} else if (!live(c) || c->nvt <= top(c)->height) {
				if (!pop(c, c->lt[x], NULL))
					return false;
				if (op == 0x22 && !push(c, c->lt[x]))
					return false;
			} else {
				if (!set_local(c, x, op == 0x22, prev_dst))
					return false;
			}
			break;
		case 0x23:
		case 0x24:
			if (!twm_rd_u32(r, &x))
				return false;
			if (x >= m->nglobals)
				return failf(c, "unknown global %u", x);
			if (op == 0x23) {
				if (!push(c, m->globals[x].type))
					return false;
				if (live(c) && !emit3(c, TWM_OP_GLOBAL_GET, x, slot(c, c->nvt - 1)))
					return false;
			} else {
				if (!m->globals[x].mut)
					return fail(c, "global is immutable");
				uint32_t s = 0;
				if (live(c) && c->nvt > top(c)->height &&
				    !real_src(c, c->nvt - 1, &s))
					return false;
				if (!pop(c, m->globals[x].type, NULL))
					return false;
				if (live(c) && !emit3(c, TWM_OP_GLOBAL_SET, x, s))
					return false;
			}
			break;
		case 0x25:
		case 0x26:
			if (!twm_rd_u32(r, &x))
				return false;
			if (x >= m->ntables)
				return failf(c, "unknown table %u", x);
			if (op == 0x25) {
				if (!pop(c, TWM_I32, NULL) || !push(c, m->tables[x].elem))
					return false;
				if (live(c) && !emit4(c, TWM_OP_TABLE_GET, x, slot(c, c->nvt - 1),
						      slot(c, c->nvt - 1)))
					return false;
			} else {
				if (!pop(c, m->tables[x].elem, NULL) || !pop(c, TWM_I32, NULL))
					return false;
				if (live(c) && !emit4(c, TWM_OP_TABLE_SET, x, slot(c, c->nvt),
						      slot(c, c->nvt + 1)))
					return false;
			}
			break;
		case 0x28 ... 0x35: { /* loads */
			static const uint8_t nat[] = {2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2};
			static const uint8_t res[] = {TWM_I32, TWM_I64, TWM_F32, TWM_F64,
						      TWM_I32, TWM_I32, TWM_I32, TWM_I32,
						      TWM_I64, TWM_I64, TWM_I64, TWM_I64,
						      TWM_I64, TWM_I64};
			uint32_t off, a = 0;
			if (!read_memarg(c, nat[op - 0x28], &off))
				return false;
			if (live(c) && c->nvt > top(c)->height && !real_src(c, c->nvt - 1, &a))
				return false;
			if (!pop(c, TWM_I32, NULL) || !push(c, res[op - 0x28]))
				return false;
			uint32_t s = slot(c, c->nvt - 1), w = 1u << nat[op - 0x28];
			if (live(c) && off > UINT32_MAX - w) {
				if (!(emit3(c, TWM_OP_ACCESS_FAR, op, a) && emit2(c, s, off)))
					return false;
				c->last_dst = c->ncode - 2;
			} else if (live(c)) {
				off += w; /* the end offset (twm_int.h) */
				uint32_t start = fuse_address(c, add_at, a) ? add_at : c->ncode;
				uint32_t lop = op == 0x2a || op == 0x2b ? op : 0;
				if (lop && fload_len(c, fl_at, lop) && fl_at + fload_len(c, fl_at, lop) == start)
					c->fload_prev = fl_at;
				if (fuse_address(c, add_at, a)) {
					uint32_t ao = c->code[add_at], xa = c->code[add_at + 1],
						 xb = c->code[add_at + 2];
					unpair_from(c, add_at);
					c->ncode = add_at;
					if (!(emit3(c, addr_op(ao, op), xa, xb) && emit2(c, s, off)))
						return false;
					c->last_dst = c->ncode - 2;
				} else {
					if (!emit4(c, op, a, s, off))
						return false;
					c->last_dst = c->ncode - 2;
				}
				if (lop && fload_len(c, start, lop))
					c->fload_at = start;
				else
					c->fload_prev = NO_PATCH;
			}
			break;
		}
		case 0x36 ... 0x3e: { /* stores */
			static const uint8_t nat[] = {2, 3, 2, 3, 0, 1, 0, 1, 2};
			static const uint8_t ty[] = {TWM_I32, TWM_I64, TWM_F32, TWM_F64, TWM_I32,
						     TWM_I32, TWM_I64, TWM_I64, TWM_I64};
			uint32_t off, a = 0, v = 0, sop = op;
			if (!read_memarg(c, nat[op - 0x36], &off))
				return false;
			if (live(c) && c->nvt >= top(c)->height + 2) {
				uint32_t h = c->nvt - 1;
				/* a constant value that fits 32 bits (sign-extended for i64) is
				 * stored from an immediate */
				if ((c->src[h] & SRC_CONST) && op != 0x38 && op != 0x39 &&
				    (int64_t)c->cval[h] == (int64_t)(int32_t)(uint32_t)c->cval[h]) {
					sop = TWM_OP_IMM_BASE + op;
					v = (uint32_t)c->cval[h];
				} else if (!real_src(c, h, &v)) {
					return false;
				}
				if (!real_src(c, h - 1, &a))
					return false;
			}
			if (!pop(c, ty[op - 0x36], NULL) || !pop(c, TWM_I32, NULL))
				return false;
			uint32_t w = 1u << nat[op - 0x36];
			if (live(c) && off > UINT32_MAX - w) {
				if (!(emit3(c, TWM_OP_ACCESS_FAR, sop, a) && emit2(c, v, off)))
					return false;
				break;
			}
			off += w; /* the end offset (twm_int.h) */
			if (live(c) && fuse_address(c, add_at, a)) {
				uint32_t ao = c->code[add_at], xa = c->code[add_at + 1],
					 xb = c->code[add_at + 2];
				unpair_from(c, add_at);
				c->ncode = add_at;
				if (!(emit3(c, addr_op(ao, sop), xa, xb) && emit2(c, v, off)))
					return false;
			} else if (live(c) && !emit4(c, sop, a, v, off)) {
				return false;
			}
			break;
		}
		case 0x3f:
			if (!zero_byte(c) || !need_memory(c) || !push(c, TWM_I32))
				return false;
			if (live(c) && !emit2(c, TWM_OP_MEMORY_SIZE, slot(c, c->nvt - 1)))
				return false;
			break;
		case 0x40:
			if (!zero_byte(c) || !need_memory(c) || !pop(c, TWM_I32, NULL) ||
			    !push(c, TWM_I32))
				return false;
			if (live(c) && !emit3(c, TWM_OP_MEMORY_GROW, slot(c, c->nvt - 1),
					      slot(c, c->nvt - 1)))
				return false;
			break;
		case 0x41: {
			int32_t v;
			if (!twm_rd_s32(r, &v) || !push(c, TWM_I32))
				return false;
			if (live(c))
				set_const(c, (uint32_t)v);
			break;
		}
		case 0x42:
		case 0x44: {
			uint64_t v;
			if (op == 0x42) {
				int64_t s;
				if (!twm_rd_s64(r, &s))
					return false;
				v = (uint64_t)s;
			} else if (!twm_rd_fixed(r, 8, &v)) {
				return false;
			}
			if (!push(c, op == 0x42 ? TWM_I64 : TWM_F64))
				return false;
			if (live(c))
				set_const(c, v);
			break;
		}
		case 0x43: {
			uint64_t v;
			if (!twm_rd_fixed(r, 4, &v) || !push(c, TWM_F32))
				return false;
			if (live(c))
				set_const(c, v);
			break;
		}
		case 0x45 ... 0xc4: {
			uint8_t a, b, res;
			num_sig(op, &a, &b, &res);
			if (!numeric(c, op, a, b, res, fl_prev, fl_at))
				return false;
			break;
		}
		case 0xd0: {
			uint8_t t;
			if (!twm_rd_u8(r, &t))
				return false;
			if (t != TWM_FUNCREF && t != TWM_EXTERNREF)
				return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "malformed reference type");
			if (!push(c, t))
				return false;
			if (live(c) && !emit3(c, TWM_OP_CONST32, slot(c, c->nvt - 1), 0))
				return false;
			break;
		}
		case 0xd1: {
			uint8_t t;
			if (!pop(c, UNKNOWN, &t))
				return false;
			if (t != UNKNOWN && !is_ref(t))
				return fail(c, "type mismatch");
			if (!push(c, TWM_I32))
				return false;
			if (live(c) && !emit3(c, TWM_OP_REF_IS_NULL, slot(c, c->nvt - 1),
					      slot(c, c->nvt - 1)))
				return false;
			break;
		}
		case 0xd2:
			if (!twm_rd_u32(r, &x))
				return false;
			if (x >= m->nfuncs)
				return failf(c, "unknown function %u", x);
			if (!declared[x])
				return fail(c, "undeclared function reference");
			if (!push(c, TWM_FUNCREF))
				return false;
			if (live(c) && !emit3(c, TWM_OP_REF_FUNC, x, slot(c, c->nvt - 1)))
				return false;
			break;
		case 0xfc:
			if (!op_fc(c))
				return false;
			break;
		case 0xfd:
			return twm_rd_fail(r, TW_ERR_UNSUPPORTED,
					   "unsupported: SIMD instructions are not supported");
		default:
			return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "illegal opcode");
		}
	}
	if (r->p != r->end)
		return twm_rd_fail(r, TW_ERR_WASM_MALFORMED, "section size mismatch");
	return true;
}

bool twm_compile_func(struct twm_compiler *c, struct twm_module *m, uint32_t func_index,
		      struct twm_rd *r, const uint8_t *declared, bool has_datacount,
		      struct twm_code *out)
{
	const struct twm_ftype *ft = &m->types[m->func_types[func_index]];
	c->r = r;
	c->m = m;
	c->nvt = c->nctl = c->ncode = c->nloops = 0;
	c->cur_code = func_index - m->nfunc_imports;
	c->npending = 0;
	c->last_dst = c->last_op = c->add_at = c->move_at = c->const_at = c->addi_at = NO_PATCH;
	c->pair_at = c->pair_second = NO_PATCH;
	c->num_at = c->num_before = c->num_before2 = c->num_end = NO_PATCH;
	c->fload_at = c->fload_prev = NO_PATCH;
	c->fx_start = c->fx_end = c->chain_at = c->cbr_at = NO_PATCH;
	c->label_at = 0;
	c->nlabels = 0;
	c->kc_local = NO_PATCH;
	c->max_height = 0;
	c->ninstr = 0;
	(void)has_datacount;
	if (!read_locals(c, ft))
		return false;
	const uint8_t *start = r->p;
	if (!body(c, func_index, declared, start))
		return false;
	memset(out, 0, sizeof(*out));
	out->nparams = ft->nparams;
	out->nlocals = c->nl;
	out->frame_slots = c->nl + c->max_height + 1;
	/* appended to the module's code, after a cell with the function index (twm_int.h, struct
	 * twm_code); twm_link_code sets out->icode */
	uint64_t need = (uint64_t)c->nmcode + c->ncode + 1;
	if (need > TW_WASM_MODULE_ICODE_CELLS_MAX)
		return twm_rd_fail(r, TW_ERR_MODULE_TOO_LARGE, "module code too large");
	/* at least 256 KiB: a block that size is mapped on its own, so growing it moves pages
	 * rather than copying them, and twm_link_code trims what is left over */
	if (!grow(c, (void **)&c->mcode, &c->mcode_cap, need < 65536 ? 65536 : (uint32_t)need, 4,
		  TW_WASM_MODULE_ICODE_CELLS_MAX))
		return false;
	out->local_types = tw_arena_alloc(&m->arena, c->nl + 1, 1);
	out->loop_offsets = tw_arena_alloc(&m->arena, (size_t)c->nloops * 4 + 4, 4);
	if (!out->local_types || !out->loop_offsets)
		return twm_rd_fail(r, TW_ERR_NOMEM, "out of memory");
	c->mcode[c->nmcode] = func_index;
	if (c->ncode)
		memcpy(c->mcode + c->nmcode + 1, c->code, (size_t)c->ncode * 4);
	c->nmcode += c->ncode + 1;
	if (c->nl)
		memcpy(out->local_types, c->lt, c->nl);
	if (c->nloops)
		memcpy(out->loop_offsets, c->loops, (size_t)c->nloops * 4);
	out->nicode = c->ncode;
	out->nloops = c->nloops;
	out->loop_base = m->nloops;
	m->nloops += c->nloops;
	out->body = start;
	out->body_len = (uint32_t)(r->end - start);
	return true;
}
