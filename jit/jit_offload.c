/*
 * jit_offload.c — the offload dispatch at loop headers; see jit_offload.h and docs/offload.md.
 *
 * Load: one binary search per loop entry (not per iteration) for unmatched loops; a matched
 * loop costs a few affine evaluations and range checks before its run. Arrays are read and
 * written in place in linear memory; the one allocation is a staging buffer for a float output
 * that is also an input (the NaN rule in finish).
 *
 * With a route (jit_offload_attach_routed) a GPU run is asynchronous: the hook launches it,
 * answers TWM_HOOK_PENDING, and applies it when the loop entry runs again after the embedder
 * delivered the completion (jit_offload_resume). Its state is per instance (struct
 * jit_offload_inst), touched only on the instance's thread.
 */
#include "jit/jit_offload.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/options.h"
#include "core/span.h"
#include "gpu/gpu_abi.h"
#include "gpu/gpu_admit.h"
#include "gpu/gpu_completion.h"
#include "gpu/gpu_driver.h"
#include "jit/jit_cache.h"
#include "jit/jit_gpu.h"
#include "jit/jit_host.h"
#include "metrics/met_tw.h"
#include "wasm/twm.h"
#include "wasm/twm_cli.h"

static const char *const fallback_names[JIT_FB__COUNT] = {
#define JIT_FB_STR(name, str) str,
	JIT_FALLBACK_LIST(JIT_FB_STR)
#undef JIT_FB_STR
};

static const enum met_fallback fallback_met[JIT_FB__COUNT] = {
    [JIT_FB_NO_GPU] = MET_FALLBACK_NO_GPU,
    [JIT_FB_BELOW_THRESHOLD] = MET_FALLBACK_BELOW_THRESHOLD,
    [JIT_FB_TRIP_COUNT] = MET_FALLBACK_UNSUPPORTED,
    [JIT_FB_OUT_OF_BOUNDS] = MET_FALLBACK_OUT_OF_BOUNDS,
    [JIT_FB_OVERLAP] = MET_FALLBACK_OVERLAP,
    [JIT_FB_MAY_TRAP] = MET_FALLBACK_MAY_TRAP,
    [JIT_FB_NO_PERMIT] = MET_FALLBACK_NO_PERMIT,
    [JIT_FB_QUOTA] = MET_FALLBACK_QUOTA,
    [JIT_FB_NAN_RESULT] = MET_FALLBACK_NAN_RESULT,
    [JIT_FB_NO_MEMORY] = MET_FALLBACK_OTHER,
    [JIT_FB_LAUNCH_ERROR] = MET_FALLBACK_LAUNCH_ERROR,
};

const char *jit_fallback_str(enum jit_fallback f)
{
	return (unsigned)f < JIT_FB__COUNT ? fallback_names[f] : "?";
}

static const char *const mode_names[] = {"off", "auto", "gpu", "host"};

bool jit_offload_mode_parse(const char *s, enum jit_offload_mode *out)
{
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(s, mode_names[i]) == 0)
			return *out = (enum jit_offload_mode)i, true;
	return false;
}

const char *jit_offload_mode_str(enum jit_offload_mode m)
{
	return (unsigned)m < 4 ? mode_names[m] : "?";
}

struct jit_offload {
	const struct jit_plan *plan;
	enum jit_offload_mode mode; /* effective */
	uint64_t min_elements;
	bool gpu;                   /* a GPU was found */
	uint64_t tenant;            /* GPU memory quota account */
	struct jit_cache *cache;    /* GPU kernels; NULL without a GPU */
	/* counters: one struct may serve instances on every worker (serve), so relaxed atomics */
	_Atomic uint64_t entries, success, elements, fallback[JIT_FB__COUNT];
};

/* Probe the GPU (once per process inside gpu_init); quiet keeps its INFO line off stderr. */
static bool probe_gpu(bool quiet)
{
	uint8_t level = atomic_load(&tw_log_levels[TW_LOG_GPU]);
	if (quiet && level == TW_LOG_INFO)
		atomic_store(&tw_log_levels[TW_LOG_GPU], (uint8_t)TW_LOG_WARN);
	bool ok = gpu_init() == TW_ERR_OK && gpu_available();
	if (quiet && level == TW_LOG_INFO)
		atomic_store(&tw_log_levels[TW_LOG_GPU], level);
	return ok;
}

enum jit_offload_mode jit_offload_mode_resolve(enum jit_offload_mode mode, bool quiet)
{
	if (mode == JIT_OFFLOAD_AUTO && !probe_gpu(quiet))
		return JIT_OFFLOAD_OFF;
	return mode;
}

enum tw_err jit_offload_new(const struct jit_plan *plan, const struct jit_offload_config *cfg,
			    struct jit_offload **out)
{
	struct jit_offload *o = calloc(1, sizeof(*o));
	if (!o)
		return TW_ERR_NOMEM;
	o->plan = plan;
	o->mode = cfg->mode;
	o->min_elements = cfg->min_elements;
	o->tenant = cfg->tenant;
	if (o->mode == JIT_OFFLOAD_AUTO || o->mode == JIT_OFFLOAD_GPU) {
		o->gpu = probe_gpu(cfg->quiet_probe);
		if (o->gpu && jit_cache_create(&o->cache, 0) != TW_ERR_OK)
			o->gpu = false;
		if (!o->gpu && o->mode == JIT_OFFLOAD_AUTO)
			o->mode = JIT_OFFLOAD_OFF;
	}
	if (o->mode == JIT_OFFLOAD_HOST && !o->min_elements)
		o->min_elements = TW_OFFLOAD_HOST_MIN_ELEMENTS;
	*out = o;
	return TW_ERR_OK;
}

void jit_offload_free(struct jit_offload *o)
{
	if (!o)
		return;
	if (o->cache)
		jit_cache_destroy(o->cache);
	free(o);
}

enum jit_offload_mode jit_offload_effective_mode(const struct jit_offload *o)
{
	return o->mode;
}

void jit_offload_get_stats(const struct jit_offload *o, struct jit_offload_stats *out)
{
	out->entries = atomic_load_explicit(&o->entries, memory_order_relaxed);
	out->success = atomic_load_explicit(&o->success, memory_order_relaxed);
	out->elements = atomic_load_explicit(&o->elements, memory_order_relaxed);
	for (unsigned i = 0; i < JIT_FB__COUNT; i++)
		out->fallback[i] = atomic_load_explicit(&o->fallback[i], memory_order_relaxed);
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t wmask(unsigned width)
{
	return width >= 64 ? UINT64_MAX : (1ull << width) - 1;
}

static __int128 sext(uint64_t v, unsigned width)
{
	if (width >= 64)
		return (int64_t)v;
	return (int32_t)(uint32_t)v;
}

/* Iterations of the loop (>= 1: a wasm loop body runs before its br_if), or false when the
 * exit cannot be computed without running (the interpreter then runs it). */
static bool trip_count(const struct jit_loop_match *m, const uint64_t *locals, uint64_t *trips)
{
	unsigned w = m->exit_x.width;
	uint64_t mask = wmask(w);
	uint64_t x0 = jit_aff_eval(&m->exit_x, locals), b = jit_aff_eval(&m->exit_bound, locals);
	__int128 d = sext(m->exit_delta & mask, w);
	if (m->exit_cmp == JIT_EXIT_NE) {
		uint64_t dist = d > 0 ? (b - x0) & mask : (x0 - b) & mask;
		uint64_t ad = d > 0 ? (uint64_t)d : (uint64_t)-d;
		if (ad == 0 || dist % ad)
			return false;
		*trips = dist / ad + 1;
		return *trips != 0;
	}
	__int128 x = m->exit_unsigned ? (__int128)x0 : sext(x0, w);
	__int128 bound = m->exit_unsigned ? (__int128)b : sext(b, w);
	__int128 lo = m->exit_unsigned ? 0 : -((__int128)1 << (w - 1));
	__int128 hi = m->exit_unsigned ? (((__int128)1 << w) - 1) : (((__int128)1 << (w - 1)) - 1);
	int cmp = m->exit_cmp;
	bool mirrored = false;
	if (cmp == JIT_EXIT_GT || cmp == JIT_EXIT_GE) {
		x = -x, bound = -bound, d = -d, mirrored = true;
		cmp = cmp == JIT_EXIT_GT ? JIT_EXIT_LT : JIT_EXIT_LE;
	}
	if (cmp == JIT_EXIT_LE)
		bound += 1;
	if (!(x < bound)) {
		*trips = 1;
		return true;
	}
	if (d <= 0)
		return false;
	__int128 t = (bound - x + d - 1) / d;
	__int128 last = x + d * t;
	if (mirrored)
		last = -last;
	if (last < lo || last > hi || t >= ((__int128)1 << 40))
		return false;
	*trips = (uint64_t)t + 1;
	return true;
}

/* Value of local l at the start of iteration t. */
static uint64_t local_at(const struct jit_loop_match *m, const uint64_t *locals, uint32_t l,
			 uint64_t t)
{
	for (unsigned k = 0; k < m->nind; k++)
		if (m->ind[k].local == l)
			return (locals[l] + m->ind[k].step * t) & wmask(m->ind[k].width);
	return locals[l];
}

static uint64_t aff_at(const struct jit_loop_match *m, const struct jit_aff *a,
		       const uint64_t *locals, uint64_t t)
{
	uint64_t v = a->c;
	for (unsigned k = 0; k < a->nterms; k++)
		v += a->coef[k] * local_at(m, locals, a->local[k], t);
	return v & wmask(a->width);
}

/* The linear-memory byte range of an access over n elements, or false when any part of it is
 * outside memory or its 32-bit address part would wrap. */
static bool access_range(const struct jit_access *a, const uint64_t *locals, uint64_t n,
			 uint64_t mem_bytes, uint64_t *start, uint64_t *bytes)
{
	uint64_t base = jit_aff_eval(&a->addr, locals) & 0xffffffffu;
	uint64_t span = n * a->esize;
	if (base + span > (1ull << 32) || base + a->offset + span > mem_bytes)
		return false;
	*start = base + a->offset;
	*bytes = span;
	return true;
}

static uint64_t type_mask(uint8_t t)
{
	return jit_type_size((enum jit_type)t) == 4 ? 0xffffffffu : UINT64_MAX;
}

/* True when the value (low bits for f32) of float type t is a NaN. */
static bool is_nan_bits(uint64_t v, enum jit_type t)
{
	if (t == JIT_F32)
		return (v & 0x7fffffffu) > 0x7f800000u;
	return t == JIT_F64 && (v & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}

/* True when some of the n elements of type t at p is a NaN (floats only). */
static bool any_nan(const uint8_t *p, uint64_t n, enum jit_type t)
{
	unsigned es = jit_type_size(t);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = 0;
		memcpy(&v, p + i * es, es);
		if (is_nan_bits(v, t))
			return true;
	}
	return false;
}

/* Admission of a GPU run: a launch permit, then its device memory (traffic bytes) charged to
 * the tenant's quota. False with *why when it was not admitted (nothing held). */
static bool gpu_admit(const struct jit_offload *o, uint64_t traffic, enum jit_fallback *why)
{
	if (gpu_permit_try_acquire(tw_now_ns(), 0) != TW_ERR_OK) {
		*why = JIT_FB_NO_PERMIT;
		return false;
	}
	if (gpu_quota_charge(o->tenant, traffic) != TW_ERR_OK) {
		gpu_permit_release(0, false);
		*why = JIT_FB_QUOTA;
		return false;
	}
	return true;
}

/* The end of an admitted run that took dt ns: quota and permit given back, a success counted
 * as a kernel dispatch. */
static void gpu_settle(const struct jit_offload *o, uint64_t traffic, uint64_t dt, bool failed)
{
	gpu_quota_release(o->tenant, traffic);
	gpu_permit_release(dt, failed);
	if (!failed) {
		met_kernel_dispatched(met_tenant_other());
		met_kernel_latency(dt);
	}
}

/* The fallback reason for a run that failed with e. */
static enum jit_fallback run_failure(enum tw_err e)
{
	return e == TW_ERR_WASM_TRAP	      ? JIT_FB_MAY_TRAP
	       : e == TW_ERR_GPU_UNAVAILABLE ? JIT_FB_NO_GPU
					      : JIT_FB_LAUNCH_ERROR;
}

/* A matched loop's run, from its checks to its results. */
struct prep {
	struct jit_args args;
	uint64_t trips, n, ostart, obytes, traffic;
	bool aliased;   /* an input is the output itself (same elements) */
	bool float_out; /* a map with a float output: the NaN rule applies */
	bool use_gpu;
	uint64_t tvals[JIT_LOOP_TEMPS_MAX]; /* exit values of temporaries */
};

/* Everything before the run: trip count, bounds, overlap, traps, cost model, and the exit
 * values of temporaries. False with *why when the loop is left to the interpreter. */
static bool prepare(struct jit_offload *o, const struct jit_loop_match *m,
		    const struct twm_loop_site *site, struct prep *p, enum jit_fallback *why)
{
	uint64_t *locals = site->locals;
	memset(p, 0, sizeof(*p));
	if (!trip_count(m, locals, &p->trips) || p->trips > (1ull << 32) / m->lanes) {
		*why = JIT_FB_TRIP_COUNT;
		return false;
	}
	const struct jit_blueprint *bp = &m->bp;
	uint64_t n = p->n = p->trips * m->lanes;
	if (n < o->min_elements) {
		*why = JIT_FB_BELOW_THRESHOLD;
		return false;
	}
	struct jit_args *args = &p->args;
	args->n = n;
	if (bp->kind == JIT_MAP) {
		if (!access_range(&m->out, locals, n, site->mem_bytes, &p->ostart, &p->obytes)) {
			*why = JIT_FB_OUT_OF_BOUNDS;
			return false;
		}
		args->out = site->mem + p->ostart;
		p->traffic += p->obytes;
	}
	for (unsigned k = 0; k < bp->n_inputs; k++) {
		uint64_t s, b;
		if (!access_range(&m->in[k], locals, n, site->mem_bytes, &s, &b)) {
			*why = JIT_FB_OUT_OF_BOUNDS;
			return false;
		}
		/* the same elements read and written is a pure map; any other overlap could read
		 * a value an earlier iteration wrote */
		if (bp->kind == JIT_MAP && s < p->ostart + p->obytes && p->ostart < s + b &&
		    !(s == p->ostart && m->in[k].esize == m->out.esize)) {
			*why = JIT_FB_OVERLAP;
			return false;
		}
		p->aliased |= bp->kind == JIT_MAP && s == p->ostart && b != 0;
		args->inputs[k] = site->mem + s;
		p->traffic += b;
	}
	for (unsigned k = 0; k < bp->n_params; k++)
		args->params[k].u64 = locals[m->param_local[k]] & type_mask(bp->param_type[k]);
	if (jit_blueprint_check_launch(bp, args->inputs, args->params, n, NULL, 0) != TW_ERR_OK) {
		*why = JIT_FB_MAY_TRAP;
		return false;
	}
	p->use_gpu = o->mode == JIT_OFFLOAD_GPU || o->mode == JIT_OFFLOAD_AUTO;
	if (p->use_gpu && !o->gpu) {
		*why = JIT_FB_NO_GPU;
		return false;
	}
	if (o->mode == JIT_OFFLOAD_AUTO && !o->min_elements) {
		/* interpreter time vs launch + transfers, in picoseconds */
		unsigned __int128 interp = (unsigned __int128)p->trips * m->body_ops *
					   TW_OFFLOAD_INTERP_PS_PER_OP;
		unsigned __int128 gpu = (unsigned __int128)TW_OFFLOAD_GPU_LAUNCH_NS * 1000 +
					(unsigned __int128)p->traffic * TW_OFFLOAD_GPU_PS_PER_BYTE;
		if (interp < gpu) {
			*why = JIT_FB_BELOW_THRESHOLD;
			return false;
		}
	}

	/* Exit values of temporaries, from the last iteration, before memory changes: the
	 * loads they repeat read what that iteration read. */
	uint64_t last = p->trips - 1;
	for (unsigned i = 0; i < m->ntemps; i++) {
		const struct jit_loop_temp *t = &m->temps[i];
		struct jit_args ta;
		uint64_t scratch = 0, res = 0;
		memset(&ta, 0, sizeof(ta));
		ta.n = 1;
		ta.out = &res;
		for (unsigned k = 0; k < t->bp.n_inputs; k++) {
			if (t->in[k].esize == 0) {
				ta.inputs[k] = &scratch;
				continue;
			}
			uint64_t a = (aff_at(m, &t->in[k].addr, locals, last) & 0xffffffffu) +
				     t->in[k].offset;
			if (a + t->in[k].esize > site->mem_bytes) {
				*why = JIT_FB_OUT_OF_BOUNDS;
				return false;
			}
			ta.inputs[k] = site->mem + a;
		}
		for (unsigned k = 0; k < t->bp.n_params; k++)
			ta.params[k].u64 = local_at(m, locals, t->param_local[k], last) &
					   type_mask(t->bp.param_type[k]);
		if (jit_host_run(&t->bp, &ta) != TW_ERR_OK) {
			*why = JIT_FB_MAY_TRAP;
			return false;
		}
		p->tvals[i] = res & type_mask(t->bp.out_type);
		if (is_nan_bits(p->tvals[i], (enum jit_type)t->bp.out_type)) {
			*why = JIT_FB_NAN_RESULT; /* see the NaN rule in finish() */
			return false;
		}
	}
	if (m->bp.kind == JIT_REDUCE)
		p->args.reduce_init.u64 = locals[m->reduce_local] & type_mask(bp->out_type);
	p->float_out = bp->kind == JIT_MAP && jit_type_is_float((enum jit_type)bp->out_type);
	return true;
}

/*
 * After the run, whose map output is at `out` (memory itself or a staging buffer) and whose
 * reduction is `acc`: apply the results. False with *why when nothing may be written.
 *
 * NaN rule: wasm leaves a NaN result's bits to the implementation; the blueprint executors
 * give the canonical NaN, the interpreter the hardware's. A guest must get the same bytes
 * whichever ran its loop, so a run whose float output holds a NaN is discarded and the
 * interpreter runs the loop. That is possible because the inputs are still intact: the output
 * is disjoint from every input (the interpreter then rewrites each element), or, when it is an
 * input itself (or the run was asynchronous), the results are staged and copied in only once
 * they are known to be NaN-free.
 */
static bool finish(struct jit_offload *o, const struct jit_loop_match *m,
		   const struct twm_loop_site *site, const struct prep *p, const uint8_t *out,
		   uint64_t acc, enum jit_fallback *why)
{
	const struct jit_blueprint *bp = &m->bp;
	uint64_t *locals = site->locals;
	if (p->float_out && any_nan(out, p->n, (enum jit_type)bp->out_type)) {
		*why = JIT_FB_NAN_RESULT;
		return false;
	}
	if (bp->kind == JIT_MAP && out != site->mem + p->ostart)
		memcpy(site->mem + p->ostart, out, p->obytes);
	for (unsigned k = 0; k < m->nind; k++)
		locals[m->ind[k].local] = local_at(m, locals, m->ind[k].local, p->trips);
	if (bp->kind == JIT_REDUCE)
		locals[m->reduce_local] = acc & type_mask(bp->out_type);
	for (unsigned i = 0; i < m->ntemps; i++)
		locals[m->temps[i].local] = p->tvals[i];
	count(&o->elements, p->n);
	return true;
}

/* Run the loop as its blueprint, on this thread. Returns true when memory and locals now
 * hold the loop's results; false with *why otherwise (nothing written). */
static bool run_match(struct jit_offload *o, const struct jit_loop_match *m,
		      const struct twm_loop_site *site, struct prep *p, enum jit_fallback *why)
{
	const struct jit_blueprint *bp = &m->bp;
	uint8_t *stage = NULL;
	if (p->float_out && p->aliased) {
		stage = malloc(p->obytes);
		if (!stage) {
			*why = JIT_FB_NO_MEMORY;
			return false;
		}
		p->args.out = stage;
	}
	uint64_t acc = 0;
	if (bp->kind == JIT_REDUCE)
		p->args.out = &acc;
	bool ok;
	if (p->use_gpu) {
		ok = gpu_admit(o, p->traffic, why);
		if (ok) {
			uint64_t t0 = tw_now_ns();
			enum tw_err e = jit_gpu_run(o->cache, bp, &p->args);
			ok = e == TW_ERR_OK;
			gpu_settle(o, p->traffic, tw_now_ns() - t0, !ok);
			if (!ok)
				*why = run_failure(e);
		}
	} else {
		enum tw_err e = jit_host_run_blocks(bp, &p->args);
		ok = e == TW_ERR_OK;
		if (!ok)
			*why = run_failure(e);
	}
	if (ok)
		ok = finish(o, m, site, p, p->args.out, acc, why);
	free(stage);
	return ok;
}

/* ---- asynchronous GPU runs (an instance with a route) ---------------------------------- */

enum async_state {
	ASYNC_IDLE = 0,
	ASYNC_BUSY,  /* queued on the GPU; the route's done has not been handed back */
	ASYNC_READY, /* jit_offload_resume ran: `waited` says how the run went */
};

struct jit_offload_inst {
	struct jit_offload *o;
	struct gpu_route route;
	struct gpu_stream *stream; /* created on the first launch */
	struct gpu_event *event;
	enum async_state state;
	enum tw_err waited;
	/* the run in flight: which loop entry, and what finishing it needs */
	const struct jit_loop_match *m;
	uint32_t func_index, loop_offset;
	const uint64_t *locals;
	struct prep p;
	uint8_t *stage; /* page-locked: the map's output (copied into memory once NaN-free) or
			 * the reduction's result */
	struct jit_gpu_async mem;
	uint64_t t0; /* launch time, for the permit's launch estimate */
};

/* Give back what a launch held (permit, quota, device arrays): its event completed. */
static void async_release(struct jit_offload_inst *pi, bool failed)
{
	jit_gpu_async_free(&pi->mem);
	gpu_settle(pi->o, pi->p.traffic, tw_now_ns() - pi->t0, failed);
}

/* Forget a finished run (its results applied, refused, or its call gone). */
static void async_clear(struct jit_offload_inst *pi)
{
	gpu_host_free(pi->stage);
	pi->stage = NULL;
	pi->m = NULL;
	pi->locals = NULL;
	pi->state = ASYNC_IDLE;
}

/* Start the run on the GPU and submit its event. True when the call may suspend; false with
 * *why when the loop must be run otherwise (nothing queued, nothing held). */
static bool async_start(struct jit_offload_inst *pi, const struct jit_loop_match *m,
			const struct twm_loop_site *site, struct prep *p, enum jit_fallback *why)
{
	struct jit_offload *o = pi->o;
	const struct jit_blueprint *bp = &m->bp;
	if ((!pi->stream && gpu_stream_create(&pi->stream) != TW_ERR_OK) ||
	    (!pi->event && gpu_event_create(&pi->event, false) != TW_ERR_OK)) {
		*why = JIT_FB_LAUNCH_ERROR;
		return false;
	}
	pi->p = *p;
	/* Always staged, in page-locked memory (a copy into ordinary memory would wait for the
	 * kernel): memory is written only when the call resumes. */
	size_t sbytes = bp->kind == JIT_MAP ? p->obytes : sizeof(uint64_t);
	if (gpu_host_alloc(sbytes, (void **)&pi->stage) != TW_ERR_OK) {
		*why = JIT_FB_NO_MEMORY;
		return false;
	}
	memset(pi->stage, 0, sizeof(uint64_t) < sbytes ? sizeof(uint64_t) : sbytes);
	pi->p.args.out = pi->stage;
	if (!gpu_admit(o, p->traffic, why))
		goto fail;
	pi->t0 = tw_now_ns();
	enum tw_err e = jit_gpu_run_async(o->cache, bp, &pi->p.args, pi->stream, pi->event,
					  &pi->mem);
	if (e == TW_ERR_OK)
		e = gpu_completion_submit_event(pi->route.completion, pi->event, pi->route.done,
						pi->route.done_arg);
	if (e != TW_ERR_OK) {
		if (pi->mem.out_d) /* queued, but the completion thread refused it */
			gpu_event_sync(pi->event);
		async_release(pi, true);
		*why = run_failure(e);
		goto fail;
	}
	pi->m = m;
	pi->func_index = site->func_index;
	pi->loop_offset = site->loop_offset;
	pi->locals = site->locals;
	pi->state = ASYNC_BUSY;
	return true;
fail:
	async_clear(pi);
	return false;
}

static enum twm_hook_action fallback(struct jit_offload *o, enum jit_fallback why)
{
	count(&o->fallback[why], 1);
	met_offload_fallback(fallback_met[why]);
	return TWM_HOOK_RUN_LOOP;
}

/* One matched loop entry: run it, suspend for the GPU, or leave it to the interpreter.
 * *result names the outcome for the span: "ok", "pending" or the fallback reason. */
static enum twm_hook_action run_entry(struct jit_offload *o, struct jit_offload_inst *pi,
				      const struct jit_loop_match *m,
				      const struct twm_loop_site *site, const char **result)
{
	enum jit_fallback why = JIT_FB_LAUNCH_ERROR;
	struct prep p;
	if (!site->mem)
		why = JIT_FB_OUT_OF_BOUNDS;
	else if (prepare(o, m, site, &p, &why)) {
		if (pi && p.use_gpu && site->can_suspend && pi->state == ASYNC_IDLE) {
			if (async_start(pi, m, site, &p, &why)) {
				*result = "pending";
				return TWM_HOOK_PENDING;
			}
		} else if (run_match(o, m, site, &p, &why)) {
			count(&o->success, 1);
			met_offload_success();
			*result = "ok";
			return TWM_HOOK_LOOP_DONE;
		}
	}
	*result = jit_fallback_str(why);
	return fallback(o, why);
}

/* A jit.offload span for a matched loop entry, under the thread's current span (a served
 * call's call_export_with_args); none outside a traced call. */
static bool span_start(struct tw_span *sp, const struct jit_offload *o,
		       const struct jit_loop_match *m, const struct twm_loop_site *site, bool resumed)
{
	const struct tw_span *parent = tw_span_current();
	if (!parent)
		return false;
	tw_span_begin(sp, "jit.offload", TW_SPAN_INTERNAL, NULL, parent);
	char key[17];
	snprintf(key, sizeof(key), "%016llx", (unsigned long long)m->key);
	tw_span_str(sp, "blueprint", key);
	tw_span_int(sp, "function", site->func_index);
	tw_span_int(sp, "loop_offset", site->loop_offset);
	tw_span_str(sp, "mode", jit_offload_mode_str(o->mode));
	tw_span_str(sp, "phase", resumed ? "resume" : "entry");
	return true;
}

static void span_finish(struct tw_span *sp, const char *result)
{
	tw_span_str(sp, "result", result);
	if (strcmp(result, "ok") != 0 && strcmp(result, "pending") != 0)
		sp->error = true;
	tw_span_end(sp);
}

static enum twm_hook_action dispatch(struct jit_offload *o, struct jit_offload_inst *pi,
				     const struct twm_loop_site *site)
{
	if (site->module != jit_plan_module(o->plan))
		return TWM_HOOK_RUN_LOOP;
	const struct jit_loop_match *m = jit_plan_find(o->plan, site->func_index, site->loop_offset);
	if (!m)
		return TWM_HOOK_RUN_LOOP;
	count(&o->entries, 1);
	struct tw_span sp;
	bool traced = span_start(&sp, o, m, site, false);
	const char *result = "unknown";
	enum twm_hook_action act = run_entry(o, pi, m, site, &result);
	if (traced)
		span_finish(&sp, result);
	return act;
}

/* The loops the hook needs to see in `inst`: the plan's matched ones when the instance runs the
 * plan's module. The other loops would only reach dispatch to be sent back to the interpreter:
 * filtered, their entries cost what they cost without a hook (a call-heavy guest with a loop in
 * every call, fib, ran at half speed with the hook seeing every entry). */
static const uint8_t *plan_wants(const struct jit_offload *o, const struct twm_instance *inst)
{
	return twm_instance_module(inst) == jit_plan_module(o->plan) ? jit_plan_wants(o->plan) : NULL;
}

static enum twm_hook_action hook(const struct twm_loop_site *site, void *env)
{
	return dispatch(env, NULL, site);
}

/* The hook of an instance with a route: its loops that go to the GPU suspend the call. */
static enum twm_hook_action hook_routed(const struct twm_loop_site *site, void *env)
{
	struct jit_offload_inst *pi = env;
	struct jit_offload *o = pi->o;
	if (pi->state == ASYNC_READY) {
		bool same = pi->func_index == site->func_index &&
			    pi->loop_offset == site->loop_offset && pi->locals == site->locals &&
			    site->module == jit_plan_module(o->plan);
		if (same) {
			/* The entry that suspended, resumed: apply the run or interpret. */
			enum jit_fallback why = JIT_FB_LAUNCH_ERROR;
			uint64_t acc = 0;
			struct tw_span sp;
			bool traced = span_start(&sp, o, pi->m, site, true);
			if (pi->m->bp.kind == JIT_REDUCE)
				memcpy(&acc, pi->stage, sizeof(acc));
			bool ok = pi->waited == TW_ERR_OK &&
				  finish(o, pi->m, site, &pi->p, pi->stage, acc, &why);
			async_clear(pi);
			if (traced)
				span_finish(&sp, ok ? "ok" : jit_fallback_str(why));
			if (!ok)
				return fallback(o, why);
			count(&o->success, 1);
			met_offload_success();
			return TWM_HOOK_LOOP_DONE;
		}
		async_clear(pi); /* its call was aborted */
	}
	return dispatch(o, pi, site);
}

enum tw_err jit_offload_attach_routed(struct jit_offload *o, struct twm_instance *inst,
				      const struct gpu_route *route,
				      struct jit_offload_inst **out)
{
	*out = NULL;
	bool gpu_mode = o->mode == JIT_OFFLOAD_GPU || o->mode == JIT_OFFLOAD_AUTO;
	if (!route || !route->completion || !o->gpu || !gpu_mode ||
	    jit_plan_matched(o->plan) == 0) {
		jit_offload_attach(o, inst);
		return TW_ERR_OK;
	}
	struct jit_offload_inst *pi = calloc(1, sizeof(*pi));
	if (!pi)
		return TW_ERR_NOMEM;
	pi->o = o;
	pi->route = *route;
	struct twm_loop_hook h = {hook_routed, pi, plan_wants(o, inst)};
	twm_instance_set_loop_hook(inst, &h);
	*out = pi;
	return TW_ERR_OK;
}

bool jit_offload_waiting(const struct jit_offload_inst *pi)
{
	return pi && pi->state == ASYNC_BUSY;
}

enum tw_err jit_offload_resume(struct jit_offload_inst *pi, struct twm_instance *inst,
			       enum tw_err waited)
{
	if (!jit_offload_waiting(pi))
		return TW_ERR_INVALID_ARG;
	async_release(pi, waited != TW_ERR_OK);
	pi->waited = waited;
	pi->state = ASYNC_READY;
	enum tw_err e = twm_call_wake(inst);
	if (e != TW_ERR_OK)
		async_clear(pi); /* the call that waited was aborted: never apply it to another */
	return e;
}

void jit_offload_inst_free(struct jit_offload_inst *pi)
{
	if (!pi)
		return;
	if (pi->state == ASYNC_BUSY) {
		/* the done callback ran but its result was not delivered (the call was
		 * abandoned): the event completed, so the arrays are free to go */
		async_release(pi, true);
	}
	async_clear(pi);
	if (pi->event)
		gpu_event_destroy(pi->event);
	if (pi->stream)
		gpu_stream_destroy(pi->stream);
	free(pi);
}

void jit_offload_attach(struct jit_offload *o, struct twm_instance *inst)
{
	if (o->mode == JIT_OFFLOAD_OFF || jit_plan_matched(o->plan) == 0) {
		twm_instance_set_loop_hook(inst, NULL);
		return;
	}
	struct twm_loop_hook h = {hook, o, plan_wants(o, inst)};
	twm_instance_set_loop_hook(inst, &h);
}

void jit_offload_print_stats(const struct jit_offload *o, FILE *out)
{
	struct jit_offload_stats st, *s = &st;
	jit_offload_get_stats(o, &st);
	fprintf(out,
		"offload: mode=%s loops=%zu matched=%zu entries=%llu success=%llu elements=%llu",
		jit_offload_mode_str(o->mode), jit_plan_count(o->plan), jit_plan_matched(o->plan),
		(unsigned long long)s->entries, (unsigned long long)s->success,
		(unsigned long long)s->elements);
	for (unsigned i = 0; i < JIT_FB__COUNT; i++)
		if (s->fallback[i])
			fprintf(out, " fallback_%s=%llu", fallback_names[i],
				(unsigned long long)s->fallback[i]);
	fputc('\n', out);
}

/* ---- `tensor-wasm run` ------------------------------------------------------------------ */

struct cli_state {
	struct jit_plan *plan;
	struct jit_offload *off;
	bool report;
};

static enum tw_err cli_loaded(const struct twm_module *m, const struct tw_config *cfg,
			      void **state)
{
	enum jit_offload_mode mode;
	if (!jit_offload_mode_parse(cfg->offload, &mode)) {
		fprintf(stderr, "tensor-wasm run: --offload must be off, auto, gpu or host\n");
		return TW_ERR_USAGE;
	}
	/* auto without a GPU is off: no analysis unless a report was asked for */
	if (jit_offload_mode_resolve(mode, true) == JIT_OFFLOAD_OFF && !cfg->offload_report)
		return TW_ERR_OK;
	struct cli_state *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return TW_ERR_NOMEM;
	cs->report = cfg->offload_report;
	struct jit_offload_config oc = {
	    .mode = mode, .min_elements = cfg->offload_min_elements, .quiet_probe = true};
	enum tw_err e = jit_analyze_module(m, &cs->plan);
	if (e == TW_ERR_OK)
		e = jit_offload_new(cs->plan, &oc, &cs->off);
	if (e != TW_ERR_OK) {
		jit_plan_free(cs->plan);
		free(cs);
		return e;
	}
	*state = cs;
	return TW_ERR_OK;
}

static void cli_instance(void *state, struct twm_instance *inst)
{
	struct cli_state *cs = state;
	if (cs)
		jit_offload_attach(cs->off, inst);
}

static void cli_finish(void *state)
{
	struct cli_state *cs = state;
	if (!cs)
		return;
	if (cs->report)
		jit_offload_print_stats(cs->off, stderr);
	jit_offload_free(cs->off);
	jit_plan_free(cs->plan);
	free(cs);
}

static const struct twm_cli_ext cli_ext = {cli_loaded, cli_instance, cli_finish};

const struct twm_cli_ext *jit_offload_cli_ext(void)
{
	return &cli_ext;
}
