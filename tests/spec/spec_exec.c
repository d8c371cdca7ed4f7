/*
 * spec_exec.c — run the commands of one wast2json output against the engine.
 *
 * State per file: a linker holding the `spectest` host module and every registered instance, the
 * list of instances made so far (for `$name` references and to free them at the end), and the
 * current (last defined) instance that unnamed actions address.
 *
 * Values from the JSON: integers and floats are their bit patterns written in decimal; floats may
 * instead be "nan:canonical" or "nan:arithmetic"; references are "null", or a number for
 * `ref.extern N`. The engine treats an externref as an opaque word with 0 meaning null, so
 * `ref.extern N` travels as N + 1 (the suite uses ref.extern 0, which must not read as null).
 *
 * Message checks: the engine's message must start with the text the suite expects. The one
 * place where it cannot, for a reason outside the engine, is listed with its file, line and
 * reason in msg_equiv[] below.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "tests/spec/spec.h"
#include "wasm/twm.h"

/* Instances one file may create: the largest file has a few hundred modules. */
#define SPEC_INSTANCES_MAX 2048
#define SPEC_VALUES_MAX 64

/* The reference interpreter's spectest module: memory 1..2 pages, table 10..20 funcref. */
#define SPECTEST_MEM_MIN 1
#define SPECTEST_MEM_MAX 2
#define SPECTEST_TABLE_MIN 10
#define SPECTEST_TABLE_MAX 20

/* Call depth for the suite: deep enough for its recursive tests (fac, even/odd 100-deep), small
 * enough that assert_exhaustion's unbounded recursion ends quickly. */
#define SPEC_CALL_DEPTH_MAX 2000

struct named {
	char *name; /* "$M" or NULL */
	struct twm_instance *inst;
	struct twm_module *mod;
};

struct file_state {
	const struct spec_opts *opts;
	struct spec_result *r;
	char dir[4096];  /* the work dir, where module files live */
	char file[256];  /* the .wast file's name, for msg_equiv[] */
	struct twm_linker *linker;
	struct named insts[SPEC_INSTANCES_MAX];
	size_t ninsts;
	struct twm_instance *current;
	int line;
};

/* ---- the spectest host module ---------------------------------------------------------- */

static enum tw_err spectest_print(struct twm_call_ctx *ctx, const uint64_t *args,
				  uint64_t *results, void *env)
{
	(void)ctx, (void)args, (void)results, (void)env;
	return TW_ERR_OK;
}

static enum tw_err define_print(struct twm_linker *l, const char *name, const char *params)
{
	uint8_t p[4];
	size_t n = strlen(params);
	for (size_t i = 0; i < n; i++)
		p[i] = params[i] == 'i' ? TWM_I32 : params[i] == 'I' ? TWM_I64 :
		       params[i] == 'f' ? TWM_F32 : TWM_F64;
	struct twm_functype ft = {.nparams = (uint32_t)n, .nresults = 0, .params = p,
				  .results = NULL};
	struct twm_host_func h = {.fn = spectest_print, .env = NULL};
	return twm_linker_define_func(l, "spectest", name, &ft, &h);
}

static enum tw_err define_spectest(struct twm_linker *l)
{
	static const struct {
		const char *name, *params;
	} prints[] = {
		{"print", ""},           {"print_i32", "i"},      {"print_i64", "I"},
		{"print_f32", "f"},      {"print_f64", "F"},      {"print_i32_f32", "if"},
		{"print_f64_f64", "FF"},
	};
	enum tw_err e = TW_ERR_OK;
	for (size_t i = 0; i < sizeof(prints) / sizeof(prints[0]) && !e; i++)
		e = define_print(l, prints[i].name, prints[i].params);
	float f32 = 666.6f;
	double f64 = 666.6;
	uint32_t f32_bits;
	uint64_t f64_bits;
	memcpy(&f32_bits, &f32, 4);
	memcpy(&f64_bits, &f64, 8);
	if (!e)
		e = twm_linker_define_global(l, "spectest", "global_i32",
					     (struct twm_globaltype){TWM_I32, false},
					     twm_val_i32(666));
	if (!e)
		e = twm_linker_define_global(l, "spectest", "global_i64",
					     (struct twm_globaltype){TWM_I64, false},
					     twm_val_i64(666));
	if (!e)
		e = twm_linker_define_global(l, "spectest", "global_f32",
					     (struct twm_globaltype){TWM_F32, false},
					     twm_val_f32_bits(f32_bits));
	if (!e)
		e = twm_linker_define_global(l, "spectest", "global_f64",
					     (struct twm_globaltype){TWM_F64, false},
					     twm_val_f64_bits(f64_bits));
	if (!e)
		e = twm_linker_define_table(l, "spectest", "table",
					    (struct twm_tabletype){TWM_FUNCREF, true,
								   SPECTEST_TABLE_MIN,
								   SPECTEST_TABLE_MAX},
					    0);
	if (!e)
		e = twm_linker_define_memory(l, "spectest", "memory",
					     (struct twm_memtype){true, SPECTEST_MEM_MIN,
								  SPECTEST_MEM_MAX});
	return e;
}

/* ---- message checks -------------------------------------------------------------------- */

/*
 * Places where the suite's expected text cannot be what the engine says, each for a reason
 * outside the engine, identified by file and line so that nothing else is excused:
 *  - select.wast:324 tests `(select (result) ...)`, an empty result list, for "invalid result
 *    arity". wast2json 1.0.32 writes it as the untyped `select` opcode (0x1b) instead of 0x1c
 *    with zero types, so the binary we get is invalid for another reason: its operands do not
 *    match (only an i32 is on the stack), which the reference interpreter also reports as
 *    "type mismatch" for that binary.
 */
static const struct {
	const char *file;
	int line;
	const char *expected;
	const char *accepted;
} msg_equiv[] = {
	{"select.wast", 324, "invalid result arity", "type mismatch"},
};

static bool msg_matches(const struct file_state *fs, const char *got, const char *expected)
{
	if (strncmp(got, expected, strlen(expected)) == 0)
		return true;
	for (size_t i = 0; i < sizeof(msg_equiv) / sizeof(msg_equiv[0]); i++)
		if (strcmp(fs->file, msg_equiv[i].file) == 0 && fs->line == msg_equiv[i].line &&
		    strcmp(expected, msg_equiv[i].expected) == 0 &&
		    strncmp(got, msg_equiv[i].accepted, strlen(msg_equiv[i].accepted)) == 0)
			return true;
	return false;
}

/* ---- values ------------------------------------------------------------------------------ */

enum nan_kind { NAN_NONE, NAN_CANONICAL, NAN_ARITHMETIC };

struct expect {
	uint8_t type;
	enum nan_kind nan;
	bool any_ref; /* a non-null funcref of unknown identity */
	uint64_t bits;
	/* v128, compared lane by lane */
	uint8_t lane_type;
	uint32_t nlanes;
	enum nan_kind lane_nan[16];
	uint64_t lane_bits[16];
};

static bool parse_type(const char *s, uint8_t *t)
{
	static const struct {
		const char *name;
		uint8_t type;
	} types[] = {
		{"i32", TWM_I32},         {"i64", TWM_I64},         {"f32", TWM_F32},
		{"f64", TWM_F64},         {"v128", TWM_V128},       {"funcref", TWM_FUNCREF},
		{"externref", TWM_EXTERNREF},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(s, types[i].name) == 0) {
			*t = types[i].type;
			return true;
		}
	return false;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static enum nan_kind nan_kind_of(const char *s)
{
	if (strcmp(s, "nan:canonical") == 0)
		return NAN_CANONICAL;
	if (strcmp(s, "nan:arithmetic") == 0)
		return NAN_ARITHMETIC;
	return NAN_NONE;
}

static uint8_t lane_count(uint8_t lane)
{
	return lane == 8 ? 16 : lane == 16 ? 8 : lane == 32 ? 4 : 2;
}

static int lane_bits_of(const char *lane_type)
{
	if (strcmp(lane_type, "i8") == 0)
		return 8;
	if (strcmp(lane_type, "i16") == 0)
		return 16;
	if (strcmp(lane_type, "i32") == 0 || strcmp(lane_type, "f32") == 0)
		return 32;
	if (strcmp(lane_type, "i64") == 0 || strcmp(lane_type, "f64") == 0)
		return 64;
	return 0;
}

/* Parse one {"type":..., "value":...}. For an argument (nan not allowed) fills v; for an
 * expectation fills x. Returns false with a reason in why. */
static bool parse_value(json_t *j, struct expect *x, char *why, size_t cap)
{
	memset(x, 0, sizeof(*x));
	const char *ts = json_string_value(json_object_get(j, "type"));
	json_t *jv = json_object_get(j, "value");
	if (!ts || !parse_type(ts, &x->type)) {
		snprintf(why, cap, "unknown value type %s", ts ? ts : "(none)");
		return false;
	}
	if (x->type == TWM_V128) {
		const char *lt = json_string_value(json_object_get(j, "lane_type"));
		int lb = lt ? lane_bits_of(lt) : 0;
		if (!lb || !json_is_array(jv) || json_array_size(jv) != lane_count((uint8_t)lb)) {
			snprintf(why, cap, "malformed v128 value");
			return false;
		}
		x->lane_type = (uint8_t)lb;
		x->nlanes = lane_count((uint8_t)lb);
		for (uint32_t i = 0; i < x->nlanes; i++) {
			const char *s = json_string_value(json_array_get(jv, i));
			if (!s) {
				snprintf(why, cap, "malformed v128 lane");
				return false;
			}
			x->lane_nan[i] = nan_kind_of(s);
			if (!x->lane_nan[i] && !parse_u64(s, &x->lane_bits[i])) {
				snprintf(why, cap, "malformed v128 lane %s", s);
				return false;
			}
		}
		return true;
	}
	const char *s = json_string_value(jv);
	if (x->type == TWM_FUNCREF || x->type == TWM_EXTERNREF) {
		if (!s) {
			x->any_ref = true; /* (ref.func) with no index given */
			return true;
		}
		if (strcmp(s, "null") == 0) {
			x->bits = 0;
			return true;
		}
		if (x->type == TWM_EXTERNREF && parse_u64(s, &x->bits)) {
			x->bits += 1;
			return true;
		}
		x->any_ref = true;
		return true;
	}
	if (!s) {
		snprintf(why, cap, "missing value");
		return false;
	}
	x->nan = nan_kind_of(s);
	if (x->nan)
		return true;
	if (!parse_u64(s, &x->bits)) {
		snprintf(why, cap, "malformed number %s", s);
		return false;
	}
	return true;
}

static bool nan_ok(enum nan_kind k, uint64_t bits, int width)
{
	if (width == 32) {
		uint32_t b = (uint32_t)bits;
		if (k == NAN_CANONICAL)
			return (b & 0x7fffffffu) == 0x7fc00000u;
		return (b & 0x7fc00000u) == 0x7fc00000u;
	}
	if (k == NAN_CANONICAL)
		return (bits & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
	return (bits & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
}

static const char *type_name(uint8_t t)
{
	switch (t) {
	case TWM_I32: return "i32";
	case TWM_I64: return "i64";
	case TWM_F32: return "f32";
	case TWM_F64: return "f64";
	case TWM_V128: return "v128";
	case TWM_FUNCREF: return "funcref";
	case TWM_EXTERNREF: return "externref";
	default: return "?";
	}
}

static void format_value(char *buf, size_t cap, const struct twm_value *v)
{
	switch (v->type) {
	case TWM_I32:
		snprintf(buf, cap, "i32:%" PRIu32, (uint32_t)v->bits);
		break;
	case TWM_F32: {
		float f;
		uint32_t b = (uint32_t)v->bits;
		memcpy(&f, &b, 4);
		snprintf(buf, cap, "f32:0x%08" PRIx32 "(%g)", b, (double)f);
		break;
	}
	case TWM_F64: {
		double f;
		memcpy(&f, &v->bits, 8);
		snprintf(buf, cap, "f64:0x%016" PRIx64 "(%g)", v->bits, f);
		break;
	}
	case TWM_V128:
		snprintf(buf, cap, "v128:0x%016" PRIx64 "%016" PRIx64, v->hi, v->bits);
		break;
	default:
		snprintf(buf, cap, "%s:%" PRIu64, type_name((uint8_t)v->type), v->bits);
	}
}

static void format_expect(char *buf, size_t cap, const struct expect *x)
{
	if (x->nan) {
		snprintf(buf, cap, "%s:nan:%s", type_name(x->type),
			 x->nan == NAN_CANONICAL ? "canonical" : "arithmetic");
	} else if (x->any_ref) {
		snprintf(buf, cap, "%s:non-null", type_name(x->type));
	} else if (x->type == TWM_V128) {
		snprintf(buf, cap, "v128 of %u lanes", x->nlanes);
	} else {
		struct twm_value v = {.type = x->type, .bits = x->bits};
		format_value(buf, cap, &v);
	}
}

static bool value_matches(const struct twm_value *v, const struct expect *x)
{
	if ((uint8_t)v->type != x->type)
		return false;
	switch (x->type) {
	case TWM_I32:
		return (uint32_t)v->bits == (uint32_t)x->bits;
	case TWM_F32:
		return x->nan ? nan_ok(x->nan, v->bits, 32) : (uint32_t)v->bits == (uint32_t)x->bits;
	case TWM_F64:
		return x->nan ? nan_ok(x->nan, v->bits, 64) : v->bits == x->bits;
	case TWM_FUNCREF:
	case TWM_EXTERNREF:
		return x->any_ref ? v->bits != 0 : v->bits == x->bits;
	case TWM_V128: {
		uint8_t bytes[16];
		memcpy(bytes, &v->bits, 8);
		memcpy(bytes + 8, &v->hi, 8);
		uint32_t w = x->lane_type / 8;
		for (uint32_t i = 0; i < x->nlanes; i++) {
			uint64_t lane = 0;
			memcpy(&lane, bytes + i * w, w);
			if (x->lane_nan[i] ? !nan_ok(x->lane_nan[i], lane, (int)x->lane_type)
					   : lane != x->lane_bits[i])
				return false;
		}
		return true;
	}
	default:
		return v->bits == x->bits;
	}
}

/* ---- modules and actions ----------------------------------------------------------------- */

static bool read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	bool ok = false;
	struct stat st;
	if (fstat(fileno(f), &st) != 0)
		goto out_close;
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out_close;
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		goto out_close;
	}
	*out = buf;
	*len = (size_t)st.st_size;
	ok = true;
out_close:
	fclose(f);
	return ok;
}

/* Load the module file of command `c`. On TW_ERR_OK *mod holds a reference. */
static enum tw_err load(struct file_state *fs, json_t *c, struct twm_module **mod,
			struct twm_error *err)
{
	const char *fn = json_string_value(json_object_get(c, "filename"));
	char path[4200];
	memset(err, 0, sizeof(*err));
	if (!fn) {
		snprintf(err->msg, sizeof(err->msg), "command has no filename");
		return TW_ERR_INVALID_ARG;
	}
	snprintf(path, sizeof(path), "%s/%s", fs->dir, fn);
	uint8_t *bytes;
	size_t len;
	if (!read_file(path, &bytes, &len)) {
		snprintf(err->msg, sizeof(err->msg), "cannot read %s", path);
		return TW_ERR_IO;
	}
	struct twm_limits lim = {.call_depth_max = SPEC_CALL_DEPTH_MAX};
	enum tw_err e = twm_module_load(bytes, len, &lim, mod, err);
	free(bytes);
	return e;
}

static enum tw_err instantiate(struct file_state *fs, struct twm_module *mod,
			       struct twm_instance **inst, struct twm_error *err)
{
	struct twm_instance_config cfg = {.call_depth_max = SPEC_CALL_DEPTH_MAX};
	memset(err, 0, sizeof(*err));
	return twm_instantiate(mod, fs->linker, &cfg, inst, err);
}

static void keep(struct file_state *fs, const char *name, struct twm_instance *inst,
		 struct twm_module *mod)
{
	if (fs->ninsts == SPEC_INSTANCES_MAX) {
		/* Out of slots: leak rather than free something actions may still address. */
		return;
	}
	struct named *n = &fs->insts[fs->ninsts++];
	n->name = name ? strdup(name) : NULL;
	n->inst = inst;
	n->mod = mod;
}

static struct twm_instance *find_instance(struct file_state *fs, const char *name)
{
	if (!name)
		return fs->current;
	for (size_t i = fs->ninsts; i-- > 0;)
		if (fs->insts[i].name && strcmp(fs->insts[i].name, name) == 0)
			return fs->insts[i].inst;
	return NULL;
}

static const char *err_text(enum tw_err e, const struct twm_error *err)
{
	return err->msg[0] ? err->msg : tw_err_msg(e);
}

struct action_out {
	enum tw_err e;
	struct twm_error err;
	struct twm_value results[SPEC_VALUES_MAX];
	uint32_t nresults;
};

/* Perform an action (invoke or get). Returns false when the action itself could not be set up
 * (missing module or export, bad arguments): that is reported as a failure here. */
static bool do_action(struct file_state *fs, json_t *a, struct action_out *o)
{
	memset(o, 0, sizeof(*o));
	const char *type = json_string_value(json_object_get(a, "type"));
	const char *modname = json_string_value(json_object_get(a, "module"));
	json_t *jfield = json_object_get(a, "field");
	const char *field = json_string_value(jfield);
	size_t field_len = json_string_length(jfield);
	struct twm_instance *inst = find_instance(fs, modname);
	if (!type || !field) {
		spec_fail(fs->r, fs->line, "malformed action");
		return false;
	}
	if (!inst) {
		spec_fail(fs->r, fs->line, "no module %s to run %s on",
			  modname ? modname : "(current)", field);
		return false;
	}
	struct twm_extern ext;
	enum tw_err e = twm_instance_export_n(inst, field, field_len, &ext);
	if (e) {
		spec_fail(fs->r, fs->line, "no export \"%s\": %s", field, tw_err_msg(e));
		return false;
	}
	if (strcmp(type, "get") == 0) {
		if (ext.kind != TWM_EXTERN_GLOBAL) {
			spec_fail(fs->r, fs->line, "export \"%s\" is not a global", field);
			return false;
		}
		o->results[0] = twm_global_get(ext.u.global);
		o->nresults = 1;
		o->e = TW_ERR_OK;
		return true;
	}
	if (strcmp(type, "invoke") != 0 || ext.kind != TWM_EXTERN_FUNC) {
		spec_fail(fs->r, fs->line, "cannot %s export \"%s\"", type, field);
		return false;
	}
	json_t *jargs = json_object_get(a, "args");
	size_t nargs = json_array_size(jargs);
	struct twm_value args[SPEC_VALUES_MAX];
	if (nargs > SPEC_VALUES_MAX) {
		spec_fail(fs->r, fs->line, "too many arguments");
		return false;
	}
	for (size_t i = 0; i < nargs; i++) {
		struct expect x;
		char why[128];
		if (!parse_value(json_array_get(jargs, i), &x, why, sizeof(why)) || x.nan ||
		    x.any_ref) {
			spec_fail(fs->r, fs->line, "argument %zu: %s", i,
				  x.nan || x.any_ref ? "not a concrete value" : why);
			return false;
		}
		args[i] = (struct twm_value){.type = x.type, .bits = x.bits};
		if (x.type == TWM_V128) {
			uint8_t bytes[16];
			uint32_t w = x.lane_type / 8;
			for (uint32_t k = 0; k < x.nlanes; k++)
				memcpy(bytes + k * w, &x.lane_bits[k], w);
			memcpy(&args[i].bits, bytes, 8);
			memcpy(&args[i].hi, bytes + 8, 8);
		}
	}
	struct twm_functype ft;
	twm_func_type(ext.u.func, &ft);
	o->e = twm_invoke(inst, ext.u.func, args, (uint32_t)nargs, o->results, SPEC_VALUES_MAX,
			  &o->err);
	o->nresults = o->e == TW_ERR_OK ? ft.nresults : 0;
	return true;
}

/* ---- commands ----------------------------------------------------------------------------- */

static void cmd_module(struct file_state *fs, json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	struct twm_module *mod;
	struct twm_instance *inst;
	struct twm_error err;
	enum tw_err e = load(fs, c, &mod, &err);
	if (e) {
		spec_fail(fs->r, fs->line, "module did not load: %s: %s", tw_err_str(e),
			  err_text(e, &err));
		fs->current = NULL;
		return;
	}
	e = instantiate(fs, mod, &inst, &err);
	if (e) {
		spec_fail(fs->r, fs->line, "module did not instantiate: %s: %s", tw_err_str(e),
			  err_text(e, &err));
		twm_module_unref(mod);
		fs->current = NULL;
		return;
	}
	keep(fs, name, inst, mod);
	fs->current = inst;
}

static void cmd_register(struct file_state *fs, json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *as = json_string_value(json_object_get(c, "as"));
	struct twm_instance *inst = find_instance(fs, name);
	if (!inst || !as) {
		spec_fail(fs->r, fs->line, "register: no module %s", name ? name : "(current)");
		return;
	}
	enum tw_err e = twm_linker_register(fs->linker, as, inst);
	if (e)
		spec_fail(fs->r, fs->line, "register as \"%s\" failed: %s", as, tw_err_msg(e));
}

static void cmd_action(struct file_state *fs, json_t *c)
{
	struct action_out o;
	if (!do_action(fs, json_object_get(c, "action"), &o))
		return;
	if (o.e) {
		spec_fail(fs->r, fs->line, "action failed: %s: %s", tw_err_str(o.e),
			  err_text(o.e, &o.err));
		return;
	}
	fs->r->passed++;
}

static void cmd_assert_return(struct file_state *fs, json_t *c)
{
	struct action_out o;
	if (!do_action(fs, json_object_get(c, "action"), &o))
		return;
	const char *field = json_string_value(json_object_get(json_object_get(c, "action"),
							      "field"));
	if (o.e) {
		spec_fail(fs->r, fs->line, "%s: expected a return, got %s: %s", field,
			  tw_err_str(o.e), err_text(o.e, &o.err));
		return;
	}
	json_t *jexp = json_object_get(c, "expected");
	size_t nexp = json_array_size(jexp);
	if (nexp != o.nresults) {
		spec_fail(fs->r, fs->line, "%s: expected %zu results, got %u", field, nexp,
			  o.nresults);
		return;
	}
	for (size_t i = 0; i < nexp; i++) {
		struct expect x;
		char why[128], got[96], want[96];
		if (!parse_value(json_array_get(jexp, i), &x, why, sizeof(why))) {
			spec_fail(fs->r, fs->line, "%s: expected value %zu: %s", field, i, why);
			return;
		}
		if (!value_matches(&o.results[i], &x)) {
			format_value(got, sizeof(got), &o.results[i]);
			format_expect(want, sizeof(want), &x);
			spec_fail(fs->r, fs->line, "%s: result %zu: got %s, expected %s", field, i,
				  got, want);
			return;
		}
	}
	fs->r->passed++;
}

/* assert_trap and assert_exhaustion on an action. */
static void cmd_assert_trap(struct file_state *fs, json_t *c, bool exhaustion)
{
	struct action_out o;
	const char *text = json_string_value(json_object_get(c, "text"));
	if (!do_action(fs, json_object_get(c, "action"), &o))
		return;
	bool code_ok = exhaustion ? o.e == TW_ERR_WASM_EXHAUSTED ||
					    (o.e == TW_ERR_WASM_TRAP &&
					     o.err.trap == TWM_TRAP_STACK_EXHAUSTED)
				  : o.e == TW_ERR_WASM_TRAP;
	if (!code_ok) {
		spec_fail(fs->r, fs->line, "expected %s \"%s\", got %s%s%s",
			  exhaustion ? "exhaustion" : "trap", text ? text : "",
			  o.e ? tw_err_str(o.e) : "a return", o.e ? ": " : "",
			  o.e ? err_text(o.e, &o.err) : "");
		return;
	}
	if (text && !msg_matches(fs, o.err.msg, text)) {
		spec_fail(fs->r, fs->line, "expected \"%s\", got \"%s\"", text, o.err.msg);
		return;
	}
	fs->r->passed++;
}

/* assert_invalid, assert_malformed (binary), assert_unlinkable, assert_uninstantiable. */
static void cmd_assert_module(struct file_state *fs, json_t *c, const char *kind)
{
	const char *text = json_string_value(json_object_get(c, "text"));
	struct twm_module *mod = NULL;
	struct twm_instance *inst = NULL;
	struct twm_error err;
	enum tw_err want = strcmp(kind, "invalid") == 0      ? TW_ERR_WASM_INVALID :
			   strcmp(kind, "malformed") == 0    ? TW_ERR_WASM_MALFORMED :
			   strcmp(kind, "unlinkable") == 0   ? TW_ERR_WASM_UNLINKABLE :
							       TW_ERR_WASM_UNINSTANTIABLE;
	bool at_load = want == TW_ERR_WASM_INVALID || want == TW_ERR_WASM_MALFORMED;
	enum tw_err e = load(fs, c, &mod, &err);
	if (e == TW_ERR_OK && !at_load) {
		e = instantiate(fs, mod, &inst, &err);
		/* A trap in the start function is how the suite's uninstantiable modules fail. */
		if (want == TW_ERR_WASM_UNINSTANTIABLE && e == TW_ERR_WASM_TRAP)
			e = TW_ERR_WASM_UNINSTANTIABLE;
	}
	if (e == TW_ERR_OK) {
		spec_fail(fs->r, fs->line, "expected %s module (\"%s\"), but it %s", kind,
			  text ? text : "", at_load ? "loaded" : "instantiated");
		goto out;
	}
	if (e != want) {
		spec_fail(fs->r, fs->line, "expected %s module (\"%s\"), got %s: %s", kind,
			  text ? text : "", tw_err_str(e), err_text(e, &err));
		goto out;
	}
	if (text && !msg_matches(fs, err.msg, text)) {
		spec_fail(fs->r, fs->line, "%s module: expected \"%s\", got \"%s\"", kind, text,
			  err.msg);
		goto out;
	}
	fs->r->passed++;
out:
	/* An instance that must not exist was made anyway: keep it alive (it may be linked). */
	if (inst)
		keep(fs, NULL, inst, mod);
	else if (mod)
		twm_module_unref(mod);
}

/* Text-form assert_malformed: the converter's job. It passes when wabt's text parser, which
 * produced every module of this file, rejects the text too. */
static void cmd_malformed_text(struct file_state *fs, json_t *c)
{
	const char *fn = json_string_value(json_object_get(c, "filename"));
	char path[4200];
	if (!fn) {
		spec_fail(fs->r, fs->line, "command has no filename");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", fs->dir, fn);
	/* wat2wasm costs a few ms per module: remember a rejection in a marker file beside the
	 * .wat, valid while it is newer than the .wat (wast2json rewrites both). */
	char mark[4300];
	struct stat sw, sm;
	snprintf(mark, sizeof(mark), "%s.rejected", path);
	if (stat(path, &sw) == 0 && stat(mark, &sm) == 0 &&
	    (sm.st_mtim.tv_sec > sw.st_mtim.tv_sec ||
	     (sm.st_mtim.tv_sec == sw.st_mtim.tv_sec && sm.st_mtim.tv_nsec > sw.st_mtim.tv_nsec))) {
		fs->r->passed++;
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(fs->opts->wat2wasm, fs->opts->wat2wasm, path, "-o", "/dev/null",
		       (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		spec_fail(fs->r, fs->line, "cannot run %s", fs->opts->wat2wasm);
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		fs->r->skipped++;
		snprintf(fs->r->skip_reason, sizeof(fs->r->skip_reason),
			 "text-form malformed modules need wat2wasm");
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		spec_fail(fs->r, fs->line, "malformed text module %s accepted by wat2wasm", fn);
		return;
	}
	int fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	fs->r->passed++;
}

void spec_run_file(const char *json_path, const struct spec_opts *opts, struct spec_result *r)
{
	static struct file_state fs;
	memset(&fs, 0, sizeof(fs));
	fs.opts = opts;
	fs.r = r;
	snprintf(fs.dir, sizeof(fs.dir), "%s", opts->work_dir);
	json_error_t jerr;
	json_t *root = json_load_file(json_path, JSON_ALLOW_NUL, &jerr);
	if (!root) {
		spec_fail(r, jerr.line, "cannot read %s: %s", json_path, jerr.text);
		return;
	}
	if (twm_linker_new(&fs.linker) != TW_ERR_OK || define_spectest(fs.linker) != TW_ERR_OK) {
		spec_fail(r, 0, "cannot set up the spectest module");
		goto out_free_root;
	}
	const char *src = json_string_value(json_object_get(root, "source_filename"));
	const char *base = src ? strrchr(src, '/') : NULL;
	snprintf(fs.file, sizeof(fs.file), "%s", base ? base + 1 : src ? src : "");
	json_t *cmds = json_object_get(root, "commands");
	size_t i;
	json_t *c;
	json_array_foreach(cmds, i, c)
	{
		const char *type = json_string_value(json_object_get(c, "type"));
		fs.line = (int)json_integer_value(json_object_get(c, "line"));
		if (!type) {
			spec_fail(r, fs.line, "command without a type");
		} else if (strcmp(type, "module") == 0) {
			cmd_module(&fs, c);
		} else if (strcmp(type, "register") == 0) {
			cmd_register(&fs, c);
		} else if (strcmp(type, "action") == 0) {
			cmd_action(&fs, c);
		} else if (strcmp(type, "assert_return") == 0) {
			cmd_assert_return(&fs, c);
		} else if (strcmp(type, "assert_trap") == 0) {
			cmd_assert_trap(&fs, c, false);
		} else if (strcmp(type, "assert_exhaustion") == 0) {
			cmd_assert_trap(&fs, c, true);
		} else if (strncmp(type, "assert_", 7) == 0 &&
			   (strcmp(type + 7, "invalid") == 0 || strcmp(type + 7, "malformed") == 0 ||
			    strcmp(type + 7, "unlinkable") == 0 ||
			    strcmp(type + 7, "uninstantiable") == 0)) {
			const char *mt = json_string_value(json_object_get(c, "module_type"));
			if (mt && strcmp(mt, "text") == 0) {
				if (strcmp(type + 7, "malformed") == 0)
					cmd_malformed_text(&fs, c);
				else
					spec_fail(r, fs.line, "%s on a text module", type);
			} else {
				cmd_assert_module(&fs, c, type + 7);
			}
		} else {
			spec_fail(r, fs.line, "unknown command %s", type);
		}
	}
	/* Instances import from each other and from the linker's spectest objects: free them only
	 * after the last command, newest first, then the linker (which merely borrows them). */
	for (size_t k = fs.ninsts; k-- > 0;) {
		twm_instance_free(fs.insts[k].inst);
		twm_module_unref(fs.insts[k].mod);
		free(fs.insts[k].name);
	}
	twm_linker_free(fs.linker);
out_free_root:
	json_decref(root);
}
