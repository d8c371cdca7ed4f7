/*
 * twm.h — the public face of TensorWasm's WebAssembly engine.
 *
 * What it is for: load a module (decode + validate + compile to internal code), link its imports
 * against host functions and other instances' exports, instantiate it, and call its exports,
 * either to completion or in fuel slices that suspend and resume.
 *
 * Objects and their lifetimes:
 *   struct twm_module    immutable after twm_module_load(); reference counted; may be shared by
 *                        every thread (only its reference count is ever written, atomically).
 *   struct twm_linker    a table of (module name, field name) -> extern used to resolve imports.
 *                        Owns the host functions, globals, memories and tables defined in it.
 *   struct twm_instance  one instantiation: memories, tables, globals, function instances and the
 *                        frame stack the interpreter runs on. Belongs to one thread at a time.
 *   struct twm_func, twm_table, twm_memory, twm_global
 *                        extern objects; owned by the instance or linker that created them and
 *                        borrowed by anyone who imports them: an instance's imports must outlive it.
 *
 * Errors: every action returns an enum tw_err (core/err.h). When a `struct twm_error *` is passed
 * (it may be NULL), it receives the code, the trap reason and a message. For malformed, invalid,
 * unlinkable modules and for traps the message starts with the wording the WebAssembly spec suite
 * uses ("unexpected end", "type mismatch", "out of bounds memory access", "unknown import", ...).
 *
 * Values cross the API as struct twm_value (a type tag and 64 raw bits: integers as their two's
 * complement bits, floats as their IEEE bit patterns, references as uintptr_t with 0 = null). A
 * funcref is the address of a struct twm_func; an externref is an opaque host word the engine
 * never dereferences. Host functions see arguments and results as raw uint64_t words in the same
 * encoding.
 */
#ifndef TW_WASM_TWM_H
#define TW_WASM_TWM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* ---- types ---------------------------------------------------------------------------------- */

/* Value types, numbered as in the binary format. */
enum twm_valtype {
	TWM_I32 = 0x7f,
	TWM_I64 = 0x7e,
	TWM_F32 = 0x7d,
	TWM_F64 = 0x7c,
	TWM_V128 = 0x7b, /* decoded, but modules that use SIMD are rejected as unsupported for now */
	TWM_FUNCREF = 0x70,
	TWM_EXTERNREF = 0x6f,
};

/* One value. `bits` holds i32/f32 in its low 32 bits (upper bits zero), i64/f64 whole, and
 * references as uintptr_t. `hi` is the upper half of a v128 and zero otherwise. */
struct twm_value {
	enum twm_valtype type;
	uint64_t bits;
	uint64_t hi;
};

/* Kinds of imports and exports, numbered as in the binary format. */
enum twm_extern_kind {
	TWM_EXTERN_FUNC = 0,
	TWM_EXTERN_TABLE = 1,
	TWM_EXTERN_MEMORY = 2,
	TWM_EXTERN_GLOBAL = 3,
};

/* A function type. Arrays hold enum twm_valtype values as bytes; borrowed from whoever returns
 * the type (module or function) and valid as long as it lives. */
struct twm_functype {
	uint32_t nparams;
	uint32_t nresults;
	const uint8_t *params;
	const uint8_t *results;
};

/* Limits of tables (in elements) and memories (in 64 KiB pages). `max` is meaningful only when
 * `has_max`. */
struct twm_tabletype {
	uint8_t elem; /* TWM_FUNCREF or TWM_EXTERNREF */
	bool has_max;
	uint32_t min;
	uint32_t max;
};

struct twm_memtype {
	bool has_max;
	uint32_t min;
	uint32_t max;
};

struct twm_globaltype {
	uint8_t type; /* enum twm_valtype */
	bool mut;
};

/* ---- errors --------------------------------------------------------------------------------- */

/* Why a guest trapped. twm_trap_str() gives the spec suite's wording. */
enum twm_trap {
	TWM_TRAP_NONE = 0,
	TWM_TRAP_UNREACHABLE,       /* "unreachable" */
	TWM_TRAP_MEMORY_OOB,        /* "out of bounds memory access" */
	TWM_TRAP_TABLE_OOB,         /* "out of bounds table access" */
	TWM_TRAP_DIV_ZERO,          /* "integer divide by zero" */
	TWM_TRAP_INT_OVERFLOW,      /* "integer overflow" */
	TWM_TRAP_INVALID_CONV,      /* "invalid conversion to integer" */
	TWM_TRAP_INDIRECT_TYPE,     /* "indirect call type mismatch" */
	TWM_TRAP_UNDEFINED_ELEMENT, /* "undefined element" */
	TWM_TRAP_UNINIT_ELEMENT,    /* "uninitialized element" */
	TWM_TRAP_STACK_EXHAUSTED,   /* "call stack exhausted" */
	TWM_TRAP_HOST,              /* a host function trapped; the message says why */
	TWM_TRAP__COUNT
};

/* What went wrong, filled by any function that takes a `struct twm_error *`. */
struct twm_error {
	enum tw_err code;
	enum twm_trap trap;  /* TWM_TRAP_NONE unless code is TW_ERR_WASM_TRAP/_EXHAUSTED */
	int32_t exit_code;   /* the guest's code when code is TW_ERR_WASM_EXIT */
	uint32_t offset;     /* byte offset in the module for malformed/invalid, else 0 */
	char msg[256];
};

/* Spec-suite wording for `t` ("integer divide by zero"); "unknown trap" outside the enum. */
const char *twm_trap_str(enum twm_trap t);

/* ---- limits --------------------------------------------------------------------------------- */

/* Per-load and per-instance bounds. Zero fields take the defaults from core/limits.h. */
struct twm_limits {
	uint32_t memory_pages_max; /* per instance memory cap; default TW_WASM_PAGES_MAX */
	uint32_t call_depth_max;   /* nested calls; default TW_WASM_CALL_DEPTH_MAX */
};

/* ---- modules -------------------------------------------------------------------------------- */

struct twm_module;

/* Decode, validate and compile `len` bytes (borrowed, only during the call). On success
 * *out holds a module with one reference. Errors: TW_ERR_WASM_MALFORMED, TW_ERR_WASM_INVALID,
 * TW_ERR_UNSUPPORTED (SIMD), TW_ERR_MODULE_TOO_LARGE, TW_ERR_NOMEM. `limits` may be NULL. Any
 * thread. */
enum tw_err twm_module_load(const uint8_t *bytes, size_t len, const struct twm_limits *limits,
			    struct twm_module **out, struct twm_error *err);

/* Take / drop a reference. The last unref frees the module; instances hold their own reference,
 * so a module may be unreferenced while instances of it live. Thread-safe. */
void twm_module_ref(struct twm_module *m);
void twm_module_unref(struct twm_module *m);

/* An import or export as the module declares it. Strings are borrowed from the module,
 * NUL-terminated, and may contain NUL bytes themselves (use the lengths). */
struct twm_import_desc {
	const char *module;
	size_t module_len;
	const char *name;
	size_t name_len;
	enum twm_extern_kind kind;
	union {
		struct twm_functype func;
		struct twm_tabletype table;
		struct twm_memtype memory;
		struct twm_globaltype global;
	} type;
};

struct twm_export_desc {
	const char *name;
	size_t name_len;
	enum twm_extern_kind kind;
	uint32_t index; /* in the module's index space of that kind */
	union {
		struct twm_functype func;
		struct twm_tabletype table;
		struct twm_memtype memory;
		struct twm_globaltype global;
	} type;
};

uint32_t twm_module_import_count(const struct twm_module *m);
uint32_t twm_module_export_count(const struct twm_module *m);

/* Memories in the module's memory index space (imported ones first, then those it defines), and
 * the type of memory `i`. Lets a host refuse a module whose memory it will not give before any
 * instance is made. */
uint32_t twm_module_memory_count(const struct twm_module *m);
bool twm_module_memory(const struct twm_module *m, uint32_t i, struct twm_memtype *out);

/* Describe import / export `i`. Returns false when `i` is out of range. */
bool twm_module_import(const struct twm_module *m, uint32_t i, struct twm_import_desc *out);
bool twm_module_export(const struct twm_module *m, uint32_t i, struct twm_export_desc *out);

/* Find an exported name (`len` bytes). Returns false when there is none. */
bool twm_module_find_export(const struct twm_module *m, const char *name, size_t len,
			    struct twm_export_desc *out);

/* The validated bytecode of function `func_index` (an index in the function index space that
 * is defined, not imported): the body after its local declarations up to and including the final
 * `end`. Offsets of loops reported to the loop hook are relative to `*code`. The JIT analyses
 * loops from this stable format, never from the interpreter's internal code. */
bool twm_module_func_code(const struct twm_module *m, uint32_t func_index, const uint8_t **code,
			  size_t *len);

/* Functions in the index space (imported ones first); *nimported (may be NULL) receives how many
 * are imports. With twm_module_func_locals() this lets the JIT walk every defined function. */
uint32_t twm_module_func_count(const struct twm_module *m, uint32_t *nimported);

/* Loops of the module's defined functions: twm_module_loop_count() of them, numbered from 0 in
 * function order and, within a function, in order of their `loop` instructions.
 * twm_module_loop_number() gives the number of the loop at `loop_offset` (as reported to the loop
 * hook) in function `func_index`; false when there is none. */
uint32_t twm_module_loop_count(const struct twm_module *m);
bool twm_module_loop_number(const struct twm_module *m, uint32_t func_index, uint32_t loop_offset,
			    uint32_t *number);

/* The value types (enum twm_valtype bytes) of every local of defined function `func_index`,
 * parameters first, then the declared locals; borrowed from the module. Returns false for an
 * imported or out-of-range index. */
bool twm_module_func_locals(const struct twm_module *m, uint32_t func_index, const uint8_t **types,
			    uint32_t *nlocals);

/* ---- extern objects ------------------------------------------------------------------------- */

struct twm_instance;
struct twm_func;
struct twm_table;
struct twm_memory;
struct twm_global;

struct twm_extern {
	enum twm_extern_kind kind;
	union {
		struct twm_func *func;
		struct twm_table *table;
		struct twm_memory *memory;
		struct twm_global *global;
	} u;
};

/* The type of a function (borrowed from it). */
void twm_func_type(const struct twm_func *f, struct twm_functype *out);

/* Memory: current data pointer and size in bytes. Both change when the memory grows (by the guest
 * or by twm_memory_grow), so re-read them after anything that can run guest code. */
uint8_t *twm_memory_data(struct twm_memory *mem, uint64_t *size_bytes);
uint32_t twm_memory_pages(const struct twm_memory *mem);
void twm_memory_type(const struct twm_memory *mem, struct twm_memtype *out);
/* Grow by `delta` pages; *old_pages receives the previous size. TW_ERR_FULL when the declared max
 * or the instance's cap would be passed (the memory is unchanged). */
enum tw_err twm_memory_grow(struct twm_memory *mem, uint32_t delta, uint32_t *old_pages);

struct twm_value twm_global_get(const struct twm_global *g);
/* Errors: TW_ERR_INVALID_ARG when the global is immutable or the value's type differs. */
enum tw_err twm_global_set(struct twm_global *g, struct twm_value v);
void twm_global_type(const struct twm_global *g, struct twm_globaltype *out);

uint32_t twm_table_size(const struct twm_table *t);
void twm_table_type(const struct twm_table *t, struct twm_tabletype *out);
/* TW_ERR_INVALID_ARG when `i` is out of bounds. */
enum tw_err twm_table_get(const struct twm_table *t, uint32_t i, uintptr_t *ref);
enum tw_err twm_table_set(struct twm_table *t, uint32_t i, uintptr_t ref);

/* ---- host functions ------------------------------------------------------------------------- */

/* What a host function sees of the call that reached it. Valid only during the callback. */
struct twm_call_ctx;

/* A host function. `args` holds the parameters, `results` room for the results, both as raw
 * words (see the top of this file). Return TW_ERR_OK, or the result of twm_ctx_trap() or
 * twm_ctx_exit(). Any other error traps the guest with that error's message. */
struct twm_host_func {
	enum tw_err (*fn)(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			  void *env);
	void *env; /* borrowed; passed to every call */
};

/* The instance whose code made the call (for a call from twm_invoke, the invoking instance). */
struct twm_instance *twm_ctx_instance(struct twm_call_ctx *ctx);

/* Memory 0 of the calling instance: base pointer and size in bytes, NULL/0 when it has none.
 * Re-read after anything that can grow memory. */
uint8_t *twm_ctx_memory(struct twm_call_ctx *ctx, uint64_t *size_bytes);

/* The user pointer set on the calling instance with twm_instance_set_user(). */
void *twm_ctx_user(struct twm_call_ctx *ctx);

/* The value the calling instance holds for `key` in its host slots (see "per-instance host
 * state" below); NULL when it holds none. */
void *twm_ctx_host(struct twm_call_ctx *ctx, const void *key);

/* Trap the guest with a message (printf format). Returns TW_ERR_WASM_TRAP for the host to
 * return. */
enum tw_err twm_ctx_trap(struct twm_call_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Ask the engine to stop the whole call with an exit code (WASI proc_exit). Returns
 * TW_ERR_WASM_EXIT for the host to return; the caller of twm_invoke / twm_call_run receives
 * TW_ERR_WASM_EXIT with err->exit_code = code. */
enum tw_err twm_ctx_exit(struct twm_call_ctx *ctx, int32_t code);

/*
 * Suspend the call with this host function's result pending: for work that finishes elsewhere
 * (a GPU, another thread) while the thread that runs the instance goes on with other work.
 * Contract:
 *   - Call it from the host function, then return TW_ERR_OK; what the function wrote to
 *     `results` is ignored. Returns TW_ERR_OK when the suspension is accepted, and
 *     TW_ERR_UNSUPPORTED when this call cannot be resumed (it runs under twm_invoke or as a
 *     start function, or another result is already pending): the host function must then
 *     finish synchronously, as if it had not asked.
 *   - twm_call_run() returns TW_ERR_WASM_PENDING; the call stays suspended (twm_call_suspended
 *     and twm_call_pending are true) and no guest code runs until the embedder supplies the
 *     result with twm_call_complete_host() or a trap with twm_call_trap_host() and calls
 *     twm_call_run() again, which continues right after the call instruction (or ends the call
 *     with TW_ERR_WASM_TRAP). twm_call_run() before that returns TW_ERR_WASM_PENDING again.
 *   - The host function keeps whatever it needs (the instance, memory offsets) itself; the
 *     context is gone once it returns. Memory 0 does not change while the call is pending,
 *     so offsets the guest passed stay valid, and the embedder may write results into memory
 *     before twm_call_complete_host().
 *   - twm_call_abort() drops a pending call like any other suspended call; the embedder must
 *     then make sure that whatever completes the work later no longer touches the instance.
 * Works from nested wasm calls (the call that suspends is the one twm_call_run is running, on
 * whichever instance the host function was called from) and when the entry function itself is
 * the host function.
 */
enum tw_err twm_ctx_suspend(struct twm_call_ctx *ctx);

/* True when twm_ctx_suspend(ctx) would be accepted now: lets a host function check before it
 * hands work to another thread whose completion will resume the call. */
bool twm_ctx_can_suspend(const struct twm_call_ctx *ctx);

/* ---- per-instance host state ---------------------------------------------------------------- */

/*
 * Host functions that keep state per instance find it in the instance's host slots: a small
 * table of (key, value) pairs beside the user pointer (which WASI uses). The contract:
 *   - A key is the address of an object owned by the binding that defines the functions (a
 *     static in its module). Keys are thus unique without a registry, across floors. The
 *     binding passes its key as each function's `env` and reads its state with
 *     twm_ctx_host(ctx, env).
 *   - Whoever instantiates gives the values in twm_instance_config.host; they are copied at
 *     instantiation, before the start function runs, so a start function already sees them.
 *     The engine never dereferences a value. The instantiator owns the values and frees them
 *     after twm_instance_free() (or after a failed twm_instantiate), never before.
 *   - At most TW_WASM_HOST_SLOTS_MAX slots, keys distinct and non-NULL (else instantiation
 *     fails with TW_ERR_INVALID_ARG).
 */
struct twm_linker;

struct twm_host_slot {
	const void *key;
	void *value;
};

/* The value for `key` on `inst`, NULL when none. */
void *twm_instance_host(const struct twm_instance *inst, const void *key);

/*
 * A host binding: the functions of one import module whose state is per instance, described so
 * that code on this floor (the CLI) or above (the HTTP API) can offer a subsystem of a higher
 * floor to guests without including it; the composition root hands the binding over.
 * Use: link() once per linker; for each instance of a module that imports `module`, attach()
 * before twm_instantiate (pass the slot in the config), detach() after the instance is freed.
 */
struct twm_host_binding {
	const char *module; /* the import module defined, e.g. "wasi_cuda" */
	/* Define every function in `l`. Errors of the linker (TW_ERR_EXISTS, TW_ERR_NOMEM). */
	enum tw_err (*link)(struct twm_linker *l);
	/* Make one instance's state, charged to `tenant`, into *slot. TW_ERR_NOMEM. */
	enum tw_err (*attach)(uint64_t tenant, struct twm_host_slot *slot);
	/* Free what attach made (slot->value may be NULL). */
	void (*detach)(struct twm_host_slot *slot);
};

/* True when `m` imports at least one item from the module named `module`. */
bool twm_module_imports_from(const struct twm_module *m, const char *module);

/* ---- linker --------------------------------------------------------------------------------- */

struct twm_linker;

enum tw_err twm_linker_new(struct twm_linker **out);
/* Frees the linker and every object defined in it (not registered instances). */
void twm_linker_free(struct twm_linker *l);

/* Define (module, name) as a new host function of type `type` (copied). TW_ERR_EXISTS when the
 * pair is already defined. Strings are NUL-terminated and copied. */
enum tw_err twm_linker_define_func(struct twm_linker *l, const char *module, const char *name,
				   const struct twm_functype *type, const struct twm_host_func *host);

/* Define a new global / memory / table owned by the linker. The memory is capped by
 * TW_WASM_PAGES_MAX; a table's elements start as `init` (0 = null). */
enum tw_err twm_linker_define_global(struct twm_linker *l, const char *module, const char *name,
				     struct twm_globaltype type, struct twm_value init);
enum tw_err twm_linker_define_memory(struct twm_linker *l, const char *module, const char *name,
				     struct twm_memtype type);
enum tw_err twm_linker_define_table(struct twm_linker *l, const char *module, const char *name,
				    struct twm_tabletype type, uintptr_t init);

/* Define (module, name) as an existing extern (borrowed; must outlive users of the linker). */
enum tw_err twm_linker_define(struct twm_linker *l, const char *module, const char *name,
			      const struct twm_extern *ext);

/* Make every export of `inst` (borrowed; must outlive the linker's users) importable under
 * `module` (the spec's `register`). Names already defined under `module` are replaced. */
enum tw_err twm_linker_register(struct twm_linker *l, const char *module,
				struct twm_instance *inst);

/* Look a pair up (`name_len` bytes of `name`). Returns false when undefined. */
bool twm_linker_lookup(const struct twm_linker *l, const char *module, size_t module_len,
		       const char *name, size_t name_len, struct twm_extern *out);

/* ---- instances ------------------------------------------------------------------------------ */

struct twm_instance_config {
	uint32_t memory_pages_max; /* cap on every memory this instance defines; 0 = module limits */
	uint32_t call_depth_max;   /* 0 = module limits */
	void *user;                /* returned by twm_ctx_user(); borrowed */
	uint64_t start_fuel;       /* fuel for the start function; 0 = unlimited. When it runs
				    * out, instantiation fails with TW_ERR_WASM_FUEL */
	const struct twm_host_slot *host; /* copied; see "per-instance host state" */
	uint32_t nhost;
};

/* Instantiate `m` (a reference is taken) resolving imports through `l` (may be NULL when the
 * module imports nothing). Runs the start function to completion. Errors:
 * TW_ERR_WASM_UNLINKABLE ("unknown import", "incompatible import type"), TW_ERR_WASM_FUEL
 * (cfg->start_fuel used up),
 * TW_ERR_WASM_UNINSTANTIABLE / TW_ERR_WASM_TRAP (a segment out of bounds or the start function
 * trapped: the message says which; writes made before the failure to imported memories and
 * tables stay, as the spec requires), TW_ERR_WASM_EXHAUSTED, TW_ERR_WASM_EXIT, TW_ERR_NOMEM.
 * `cfg` may be NULL. */
enum tw_err twm_instantiate(struct twm_module *m, const struct twm_linker *l,
			    const struct twm_instance_config *cfg, struct twm_instance **out,
			    struct twm_error *err);

void twm_instance_free(struct twm_instance *inst);

const struct twm_module *twm_instance_module(const struct twm_instance *inst);
void twm_instance_set_user(struct twm_instance *inst, void *user);
void *twm_instance_user(const struct twm_instance *inst);

/* A process-wide serial number given at instantiation (1, 2, ...), never reused: names the
 * instance in traces and logs. */
uint64_t twm_instance_id(const struct twm_instance *inst);

/* Export `name` (NUL-terminated, or `len` bytes for the _n form). TW_ERR_MISSING_EXPORT when
 * there is none. The extern is borrowed from the instance. */
enum tw_err twm_instance_export(struct twm_instance *inst, const char *name,
				struct twm_extern *out);
enum tw_err twm_instance_export_n(struct twm_instance *inst, const char *name, size_t len,
				  struct twm_extern *out);

/* Memory `i` of the instance (defined or imported), NULL when it has none. */
struct twm_memory *twm_instance_memory(struct twm_instance *inst, uint32_t i);

/* ---- calls ---------------------------------------------------------------------------------- */

/* Call `f` to completion on `inst`'s frame stack (`f` may belong to another instance or be a
 * host function). Arguments are checked against the function type (TW_ERR_INVALID_ARG). Results
 * are written to `results` (room for `cap`; TW_ERR_INVALID_ARG when too small). Returns TW_ERR_OK,
 * TW_ERR_WASM_TRAP, TW_ERR_WASM_EXHAUSTED (call stack exhausted), TW_ERR_WASM_EXIT. TW_ERR_AGAIN
 * when `inst` has a suspended call (finish or abort it first). Host functions cannot suspend
 * this call (twm_ctx_suspend refuses): it always runs to completion. */
enum tw_err twm_invoke(struct twm_instance *inst, struct twm_func *f, const struct twm_value *args,
		       uint32_t nargs, struct twm_value *results, uint32_t cap,
		       struct twm_error *err);

/* Suspendable calls. twm_call_begin() sets up a call of `f` without running it; twm_call_run()
 * runs it for at most about `fuel` units (1 unit ~ one simple instruction; charged per loop
 * iteration and per call, so a slice may overrun by one basic block) and returns:
 *   TW_ERR_OK          the call finished; read results with twm_call_results()
 *   TW_ERR_WASM_FUEL   the slice is used up; state kept; call twm_call_run() again to resume
 *   TW_ERR_WASM_PENDING  a host function suspended the call (twm_ctx_suspend); state kept
 *   TW_ERR_WASM_TRAP / _EXHAUSTED / _EXIT   the call ended that way (err says how)
 * fuel 0 means unlimited. After anything but TW_ERR_WASM_FUEL / _PENDING the call is over and
 * the instance is free for the next one. twm_call_abort() drops a suspended call. One call at a time per
 * instance; the instance's thread only. */
enum tw_err twm_call_begin(struct twm_instance *inst, struct twm_func *f,
			   const struct twm_value *args, uint32_t nargs, struct twm_error *err);
enum tw_err twm_call_run(struct twm_instance *inst, uint64_t fuel, struct twm_error *err);
/* Copy the finished call's results (at most `cap`); returns how many the function has. */
uint32_t twm_call_results(struct twm_instance *inst, struct twm_value *results, uint32_t cap);
void twm_call_abort(struct twm_instance *inst);
/* True while a call begun on `inst` is suspended. */
bool twm_call_suspended(const struct twm_instance *inst);

/* Host suspension (see twm_ctx_suspend). twm_call_run() also returns
 *   TW_ERR_WASM_PENDING   a host function suspended the call; supply its result, then run again
 * twm_call_pending: true while a host function's result is awaited.
 * twm_call_complete_host: supply the `n` results (raw words, as a host function writes them;
 * n must equal the function's result count, else TW_ERR_INVALID_ARG, also when nothing is
 * pending). twm_call_trap_host: end the call with a host trap instead (printf message); the
 * next twm_call_run returns TW_ERR_WASM_TRAP. The instance's thread only. twm_call_pending is
 * also true while a loop hook's work is awaited (TWM_HOOK_PENDING, see
 * twm_instance_set_loop_hook); twm_call_trap_host then refuses (TW_ERR_INVALID_ARG). */
bool twm_call_pending(const struct twm_instance *inst);
enum tw_err twm_call_complete_host(struct twm_instance *inst, const uint64_t *results,
				   uint32_t n);
enum tw_err twm_call_trap_host(struct twm_instance *inst, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Fuel used by the instance's calls since it was created (for metrics). */
uint64_t twm_instance_fuel_used(const struct twm_instance *inst);

/* ---- loop hook (for the JIT) ---------------------------------------------------------------- */

/* What a loop hook sees at a loop header: which loop (function index and the `loop` opcode's
 * offset in twm_module_func_code()), the frame's locals (params first, raw words, writable) and
 * memory 0. */
struct twm_loop_site {
	const struct twm_module *module;
	uint32_t func_index;
	uint32_t loop_offset;
	uint64_t *locals;
	uint32_t nlocals;
	uint8_t *mem;
	uint64_t mem_bytes;
	/* The hook may answer TWM_HOOK_PENDING here: the call is one twm_call_run drives, on
	 * this instance, and nothing else is pending. False inside twm_invoke. */
	bool can_suspend;
};

enum twm_hook_action {
	TWM_HOOK_RUN_LOOP = 0, /* the interpreter runs the loop itself */
	TWM_HOOK_LOOP_DONE,    /* the hook ran the loop to its exit; continue after its `end` */
	TWM_HOOK_PENDING,      /* the loop's work finishes elsewhere: suspend the call here (only
				* when site->can_suspend; otherwise taken as TWM_HOOK_RUN_LOOP) */
};

struct twm_loop_hook {
	enum twm_hook_action (*fn)(const struct twm_loop_site *site, void *env);
	void *env;
	/* Optional: the loops the hook wants to see, a flag per loop of the instance's module by
	 * the loop's number (twm_module_loop_number); the interpreter enters the others without
	 * calling fn, at no more cost than with no hook. NULL: every loop. Borrowed: it must stay
	 * valid while the hook is installed. */
	const uint8_t *wants;
};

/* Install (or clear, with NULL) the instance's loop hook. The interpreter calls it each time it
 * enters a loop that takes no parameters and returns no results (once per entry, not per
 * iteration), with the frame's locals and memory 0. TWM_HOOK_LOOP_DONE continues after the
 * loop's `end`; the hook must then have left locals and memory as the loop would have. Runs on
 * the instance's thread, inside twm_invoke / twm_call_run.
 *
 * Suspending at a loop (for work that runs elsewhere, a GPU kernel): when site->can_suspend,
 * the hook may start the work, keep what it needs to finish it, leave locals and memory
 * untouched and answer TWM_HOOK_PENDING. Then:
 *   - twm_call_run() returns TW_ERR_WASM_PENDING with the call suspended at the loop's entry
 *     (twm_call_suspended and twm_call_pending true); it returns TW_ERR_WASM_PENDING again
 *     until the embedder calls twm_call_wake() (on the instance's thread, typically once the
 *     work completed).
 *   - The next twm_call_run() enters the loop again: the hook is called again at the same site
 *     with the same frame, and now finishes: it writes memory and locals and answers
 *     TWM_HOOK_LOOP_DONE, or answers TWM_HOOK_RUN_LOOP and the interpreter runs the loop (the
 *     work failed; memory and locals must then be as they were). It may also answer
 *     TWM_HOOK_PENDING again.
 *   - Nothing else runs on the instance meanwhile, so memory 0 changes only by the hook.
 *   - twm_call_abort() drops the call like any other suspended one; the hook learns of it only
 *     when it is next called at another site or for another call, so its pending work must
 *     stay valid (buffers alive) until that work completes, whoever aborted. */
void twm_instance_set_loop_hook(struct twm_instance *inst, const struct twm_loop_hook *hook);

/* Wake a call suspended by a loop hook (TWM_HOOK_PENDING) so that the next twm_call_run()
 * re-enters the loop. TW_ERR_INVALID_ARG when the instance's call is not waiting on a loop
 * hook. twm_call_complete_host() with no results does the same for such a call. The
 * instance's thread only. */
enum tw_err twm_call_wake(struct twm_instance *inst);

/* ---- value helpers -------------------------------------------------------------------------- */

static inline struct twm_value twm_val_i32(uint32_t v)
{
	return (struct twm_value){.type = TWM_I32, .bits = v};
}

static inline struct twm_value twm_val_i64(uint64_t v)
{
	return (struct twm_value){.type = TWM_I64, .bits = v};
}

static inline struct twm_value twm_val_f32_bits(uint32_t v)
{
	return (struct twm_value){.type = TWM_F32, .bits = v};
}

static inline struct twm_value twm_val_f64_bits(uint64_t v)
{
	return (struct twm_value){.type = TWM_F64, .bits = v};
}

static inline struct twm_value twm_val_ref(enum twm_valtype t, uintptr_t r)
{
	return (struct twm_value){.type = t, .bits = r};
}

#endif
