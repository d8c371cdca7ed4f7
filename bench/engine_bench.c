/*
 * engine_bench.c — the WebAssembly engine: interpretation and instantiation.
 *
 * interp/fib/20            recursive calls: fib(20), 21,891 calls
 * interp/bytes/4096        a store loop and a load loop over 4 KiB of linear memory
 * cold_start/spawn/kernels instantiate + free the module below (one page of memory)
 *
 * The module is embedded so the benchmarks need no file at run time. Its source:
 *
 * (module
 *   (memory 1)
 *   (func $fib (export "fib") (param i32) (result i32)
 *     local.get 0 i32.const 2 i32.lt_u
 *     if (result i32)
 *       local.get 0
 *     else
 *       local.get 0 i32.const 1 i32.sub call $fib
 *       local.get 0 i32.const 2 i32.sub call $fib
 *       i32.add
 *     end)
 *   (func (export "bytes") (param $n i32) (result i32)
 *     (local $i i32) (local $s i32)
 *     (loop $w
 *       (i32.store8 (local.get $i) (i32.mul (local.get $i) (i32.const 7)))
 *       (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *       (br_if $w (i32.lt_u (local.get $i) (local.get $n))))
 *     (local.set $i (i32.const 0))
 *     (loop $r
 *       (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $i))))
 *       (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *       (br_if $r (i32.lt_u (local.get $i) (local.get $n))))
 *     local.get $s))
 *
 * (bytes: wat2wasm of the text above)
 */
#include <stdint.h>
#include <stdlib.h>

#include "bench/bench.h"
#include "wasm/twm.h"

static const uint8_t kernels_wasm[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60,
  0x01, 0x7f, 0x01, 0x7f, 0x03, 0x03, 0x02, 0x00, 0x00, 0x05, 0x03, 0x01,
  0x00, 0x01, 0x07, 0x0f, 0x02, 0x03, 0x66, 0x69, 0x62, 0x00, 0x00, 0x05,
  0x62, 0x79, 0x74, 0x65, 0x73, 0x00, 0x01, 0x0a, 0x5f, 0x02, 0x1c, 0x00,
  0x20, 0x00, 0x41, 0x02, 0x49, 0x04, 0x7f, 0x20, 0x00, 0x05, 0x20, 0x00,
  0x41, 0x01, 0x6b, 0x10, 0x00, 0x20, 0x00, 0x41, 0x02, 0x6b, 0x10, 0x00,
  0x6a, 0x0b, 0x0b, 0x40, 0x01, 0x02, 0x7f, 0x03, 0x40, 0x20, 0x01, 0x20,
  0x01, 0x41, 0x07, 0x6c, 0x3a, 0x00, 0x00, 0x20, 0x01, 0x41, 0x01, 0x6a,
  0x21, 0x01, 0x20, 0x01, 0x20, 0x00, 0x49, 0x0d, 0x00, 0x0b, 0x41, 0x00,
  0x21, 0x01, 0x03, 0x40, 0x20, 0x02, 0x20, 0x01, 0x2d, 0x00, 0x00, 0x6a,
  0x21, 0x02, 0x20, 0x01, 0x41, 0x01, 0x6a, 0x21, 0x01, 0x20, 0x01, 0x20,
  0x00, 0x49, 0x0d, 0x00, 0x0b, 0x20, 0x02, 0x0b
};

struct engine_ctx {
	struct twm_module *module;
	struct twm_instance *inst;
	struct twm_func *fib, *bytes;
};

static enum tw_err engine_setup(struct bench_state *st)
{
	struct engine_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return TW_ERR_NOMEM;
	struct twm_error err;
	enum tw_err e = twm_module_load(kernels_wasm, sizeof(kernels_wasm), NULL, &c->module, &err);
	if (!e)
		e = twm_instantiate(c->module, NULL, NULL, &c->inst, &err);
	struct twm_extern x;
	if (!e)
		e = twm_instance_export(c->inst, "fib", &x);
	if (!e) {
		c->fib = x.u.func;
		e = twm_instance_export(c->inst, "bytes", &x);
	}
	if (!e)
		c->bytes = x.u.func;
	st->ctx = c;
	return e;
}

static void engine_teardown(struct bench_state *st)
{
	struct engine_ctx *c = st->ctx;
	if (!c)
		return;
	if (c->inst)
		twm_instance_free(c->inst);
	if (c->module)
		twm_module_unref(c->module);
	free(c);
}

static void call1(struct bench_state *st, struct twm_func *f, uint32_t arg)
{
	struct twm_value a = {.type = TWM_I32, .bits = arg}, r;
	for (uint64_t i = 0; i < st->iters; i++) {
		twm_invoke(((struct engine_ctx *)st->ctx)->inst, f, &a, 1, &r, 1, NULL);
		bench_black_box_u64(r.bits);
	}
}

static void bench_fib(struct bench_state *st)
{
	call1(st, ((struct engine_ctx *)st->ctx)->fib, 20);
}

static void bench_bytes(struct bench_state *st)
{
	call1(st, ((struct engine_ctx *)st->ctx)->bytes, 4096);
}

static void bench_spawn(struct bench_state *st)
{
	struct engine_ctx *c = st->ctx;
	for (uint64_t i = 0; i < st->iters; i++) {
		struct twm_instance *inst;
		if (twm_instantiate(c->module, NULL, NULL, &inst, NULL) == TW_ERR_OK)
			twm_instance_free(inst);
	}
}

BENCH("interp/fib/20", bench_fib, .setup = engine_setup, .teardown = engine_teardown,
      .callgrind_iters = 2);
BENCH("interp/bytes/4096", bench_bytes, .setup = engine_setup, .teardown = engine_teardown,
      .bytes_per_iter = 4096, .callgrind_iters = 20);
BENCH("cold_start/spawn/kernels", bench_spawn, .setup = engine_setup,
      .teardown = engine_teardown, .callgrind_iters = 20);
