/*
 * host_binding_test.c — per-instance host slots (wasm/twm.h) and the wasi_cuda binding
 * (gpu/gpu_bind.h) driven through real guests built by the build (build/guests/NAME.wasm;
 * tests run from the repository root): slots are visible to the start function, stay per
 * instance, are checked at instantiation, and the binding's nine functions link and answer
 * NotAvailable without a GPU; the GPU layer's metric feeds that need no device.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/limits.h"
#include "gpu/gpu_admit.h"
#include "gpu/gpu_bind.h"
#include "gpu/gpu_completion.h"
#include "gpu/gpu_driver.h"
#include "metrics/met_tw.h"
#include "wasm/twm.h"

static struct twm_module *load_guest(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "build/guests/%s.wasm", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		cr_skip_test("%s not built", path);
	static uint8_t buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct twm_module *m = NULL;
	struct twm_error err = {0};
	cr_assert_eq(twm_module_load(buf, n, NULL, &m, &err), TW_ERR_OK, "%s: %s", path, err.msg);
	return m;
}

static const char key_a = 'a', key_b = 'b';

/* slots.get: the int the instance's slot for key_a points at, or -2 when it has none. */
static enum tw_err slots_get(struct twm_call_ctx *ctx, const uint64_t *args, uint64_t *results,
			     void *env)
{
	(void)args;
	const int *v = twm_ctx_host(ctx, env);
	results[0] = (uint32_t)(v ? *v : -2);
	return TW_ERR_OK;
}

static struct twm_linker *slots_linker(void)
{
	static const uint8_t res[1] = {TWM_I32};
	struct twm_functype ft = {.nparams = 0, .nresults = 1, .params = NULL, .results = res};
	struct twm_host_func h = {.fn = slots_get, .env = (void *)&key_a};
	struct twm_linker *l = NULL;
	cr_assert_eq(twm_linker_new(&l), TW_ERR_OK);
	cr_assert_eq(twm_linker_define_func(l, "slots", "get", &ft, &h), TW_ERR_OK);
	return l;
}

static int32_t call_i32(struct twm_instance *inst, const char *name)
{
	struct twm_extern ext;
	struct twm_value r;
	cr_assert_eq(twm_instance_export(inst, name, &ext), TW_ERR_OK);
	cr_assert_eq(twm_invoke(inst, ext.u.func, NULL, 0, &r, 1, NULL), TW_ERR_OK);
	return (int32_t)r.bits;
}

Test(host_slots, seen_by_start_and_per_instance)
{
	struct twm_module *m = load_guest("host_slots");
	struct twm_linker *l = slots_linker();
	int one = 11, two = 22;
	struct twm_host_slot s1[] = {{&key_b, NULL}, {&key_a, &one}};
	struct twm_host_slot s2[] = {{&key_a, &two}};
	struct twm_instance_config c1 = {.host = s1, .nhost = 2};
	struct twm_instance_config c2 = {.host = s2, .nhost = 1};
	struct twm_instance *i1, *i2, *i3;
	cr_assert_eq(twm_instantiate(m, l, &c1, &i1, NULL), TW_ERR_OK);
	cr_assert_eq(twm_instantiate(m, l, &c2, &i2, NULL), TW_ERR_OK);
	cr_assert_eq(twm_instantiate(m, l, NULL, &i3, NULL), TW_ERR_OK);
	cr_assert_eq(call_i32(i1, "at_start"), 11, "the start function sees the slots");
	cr_assert_eq(call_i32(i2, "at_start"), 22);
	cr_assert_eq(call_i32(i3, "at_start"), -2, "no slot: NULL");
	two = 23;
	cr_assert_eq(call_i32(i2, "get"), 23, "values are pointers the engine never copies");
	cr_assert_eq(twm_instance_host(i1, &key_a), &one);
	cr_assert_null(twm_instance_host(i1, &two));
	/* Serial ids: distinct and increasing in creation order. */
	cr_assert(twm_instance_id(i1) >= 1);
	cr_assert_lt(twm_instance_id(i1), twm_instance_id(i2));
	cr_assert_lt(twm_instance_id(i2), twm_instance_id(i3));
	twm_instance_free(i1);
	twm_instance_free(i2);
	twm_instance_free(i3);
	twm_linker_free(l);
	twm_module_unref(m);
}

Test(host_slots, contract_checked)
{
	struct twm_module *m = load_guest("host_slots");
	struct twm_linker *l = slots_linker();
	int v = 1;
	struct twm_host_slot dup[] = {{&key_a, &v}, {&key_a, &v}};
	struct twm_host_slot null_key[] = {{NULL, &v}};
	struct twm_host_slot many[TW_WASM_HOST_SLOTS_MAX + 1];
	static char keys[TW_WASM_HOST_SLOTS_MAX + 1];
	for (int i = 0; i <= TW_WASM_HOST_SLOTS_MAX; i++)
		many[i] = (struct twm_host_slot){&keys[i], &v};
	struct twm_instance_config bad[] = {
	    {.host = dup, .nhost = 2},
	    {.host = null_key, .nhost = 1},
	    {.host = many, .nhost = TW_WASM_HOST_SLOTS_MAX + 1},
	    {.host = NULL, .nhost = 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct twm_instance *inst = (void *)1;
		struct twm_error err = {0};
		cr_assert_eq(twm_instantiate(m, l, &bad[i], &inst, &err), TW_ERR_INVALID_ARG,
			     "case %zu", i);
		cr_assert_null(inst);
	}
	struct twm_instance_config ok = {.host = many, .nhost = TW_WASM_HOST_SLOTS_MAX};
	struct twm_instance *inst;
	cr_assert_eq(twm_instantiate(m, l, &ok, &inst, NULL), TW_ERR_OK);
	twm_instance_free(inst);
	twm_linker_free(l);
	twm_module_unref(m);
}

Test(wasi_cuda_binding, links_and_answers_not_available)
{
	struct twm_module *m = load_guest("wasi_cuda");
	cr_assert(twm_module_imports_from(m, GPU_WASI_CUDA_MODULE));
	cr_assert_not(twm_module_imports_from(m, "wasi_cud"));
	cr_assert_not(twm_module_imports_from(m, "wasi_snapshot_preview1"));
	struct twm_linker *l = NULL;
	cr_assert_eq(twm_linker_new(&l), TW_ERR_OK);
	cr_assert_eq(gpu_wasi_cuda_binding.link(l), TW_ERR_OK);
	cr_assert_eq(gpu_wasi_cuda_binding.link(l), TW_ERR_EXISTS, "once per linker");
	struct twm_host_slot slot;
	cr_assert_eq(gpu_wasi_cuda_binding.attach(42, &slot), TW_ERR_OK);
	cr_assert_not_null(slot.value);
	struct twm_instance_config cfg = {.host = &slot, .nhost = 1};
	struct twm_instance *inst;
	cr_assert_eq(twm_instantiate(m, l, &cfg, &inst, NULL), TW_ERR_OK);
	if (!gpu_available()) {
		cr_assert_eq(call_i32(inst, "check"), 0, "every call -1 without a GPU");
		cr_assert_eq(call_i32(inst, "sync"), -1);
	}
	twm_instance_free(inst);
	gpu_wasi_cuda_binding.detach(&slot);
	cr_assert_null(slot.value);

	/* Linked but no state attached: NotAvailable, never a crash. */
	cr_assert_eq(twm_instantiate(m, l, NULL, &inst, NULL), TW_ERR_OK);
	cr_assert_eq(call_i32(inst, "check"), 0);
	twm_instance_free(inst);
	twm_linker_free(l);
	twm_module_unref(m);
}

static void never_done(void *arg, enum tw_err result)
{
	(void)arg, (void)result;
	cr_assert_fail("no GPU: sync must not have been submitted");
}

/* With a route (what the HTTP API sets) but no GPU, sync answers -1 at once and never
 * suspends, even in a call that could suspend; with a GPU it suspends (docs/gpu.md). */
Test(wasi_cuda_binding, sync_with_route_does_not_suspend_without_gpu)
{
	if (gpu_available())
		cr_skip_test("a GPU is present: sync would suspend (covered by the HTTP tests)");
	cr_assert_null(gpu_wasi_cuda_completion(), "no completion thread without a GPU");
	struct twm_module *m = load_guest("wasi_cuda");
	struct twm_linker *l = NULL;
	cr_assert_eq(twm_linker_new(&l), TW_ERR_OK);
	cr_assert_eq(gpu_wasi_cuda_binding.link(l), TW_ERR_OK);
	struct twm_host_slot slot;
	cr_assert_eq(gpu_wasi_cuda_binding.attach(7, &slot), TW_ERR_OK);
	struct gpu_completion *gc;
	cr_assert_eq(gpu_completion_start(&gc, 1), TW_ERR_OK);
	struct gpu_route rt = {gc, never_done, NULL};
	gpu_wasi_cuda_set_route(&slot, &rt);
	struct twm_instance_config cfg = {.host = &slot, .nhost = 1};
	struct twm_instance *inst;
	cr_assert_eq(twm_instantiate(m, l, &cfg, &inst, NULL), TW_ERR_OK);
	struct twm_extern ext;
	cr_assert_eq(twm_instance_export(inst, "sync", &ext), TW_ERR_OK);
	cr_assert_eq(twm_call_begin(inst, ext.u.func, NULL, 0, NULL), TW_ERR_OK);
	cr_assert_eq(twm_call_run(inst, 1000, NULL), TW_ERR_OK);
	struct twm_value r;
	cr_assert_eq(twm_call_results(inst, &r, 1), 1);
	cr_assert_eq((int32_t)r.bits, -1);
	cr_assert_eq(gpu_wasi_cuda_resume(&slot, inst, TW_ERR_OK), TW_ERR_INVALID_ARG,
		     "nothing pending");
	twm_instance_free(inst);
	gpu_wasi_cuda_binding.detach(&slot);
	gpu_completion_stop(gc);
	twm_linker_free(l);
	twm_module_unref(m);
}

Test(wasi_cuda_binding, health_json)
{
	char buf[512];
	size_t n = gpu_health_json(buf, sizeof(buf));
	cr_assert_eq(n, strlen(buf));
	cr_assert(strstr(buf, "\"status\":\""));
	static const char absent[] = "{\"present\":false,\"status\":\"none (";
	if (!gpu_available())
		cr_assert(strncmp(buf, absent, sizeof(absent) - 1) == 0, "%s", buf);
	char tiny[8];
	cr_assert_eq(gpu_health_json(tiny, sizeof(tiny)), 2, "cut: an empty object");
	cr_assert_str_eq(tiny, "{}");
}

/* The GPU layer's metric feeds that work without a device: quota charges move the per-tenant
 * gauge, and the collector gpu_metrics_attach registers refreshes the permit and memory gauges
 * at every scrape. */
static double scrape_value(const char *series)
{
	struct met_buf b = {0};
	cr_assert_eq(met_tw_expose(MET_FORMAT_TEXT, &b), TW_ERR_OK);
	char want[256];
	snprintf(want, sizeof(want), "\n%s ", series);
	const char *p = strstr(b.data, want);
	cr_assert(p, "no %s", series);
	double v = strtod(p + strlen(want), NULL);
	met_buf_free(&b);
	return v;
}

Test(gpu_metrics, quota_and_collector_feed_the_families)
{
	static const struct met_http_route routes[] = {{"GET", "/healthz"}};
	struct met_tw_config mc = {.workers = 1, .routes = routes, .nroutes = 1};
	cr_assert_eq(met_tw_init(&mc), TW_ERR_OK);
	gpu_admit_init(8, 1 << 20);
	gpu_metrics_attach();
	cr_assert_eq(scrape_value("tensor_wasm_backpressure_permits_available"), 8);
	cr_assert_eq(scrape_value("tensor_wasm_backpressure_permits_used"), 0);
	cr_assert_eq(gpu_permit_try_acquire(0, 0), TW_ERR_OK);
	cr_assert_eq(scrape_value("tensor_wasm_backpressure_permits_used"), 1);
	cr_assert_eq(scrape_value("tensor_wasm_backpressure_permits_available"), 7);
	gpu_permit_release(0, false);

	cr_assert_eq(gpu_quota_charge(5, 4096), TW_ERR_OK);
	cr_assert_eq(scrape_value("tensor_wasm_gpu_memory_bytes_per_tenant{tenant_id=\"5\"}"), 4096);
	cr_assert_eq(scrape_value("tensor_wasm_gpu_memory_used_bytes"), 4096);
	cr_assert_eq(gpu_quota_charge(5, 1 << 20), TW_ERR_GPU_QUOTA, "over the tenant's cap");
	cr_assert_eq(scrape_value("tensor_wasm_gpu_memory_bytes_per_tenant{tenant_id=\"5\"}"), 4096,
		     "a refused charge moves nothing");
	gpu_quota_release(5, 4096);
	cr_assert_eq(scrape_value("tensor_wasm_gpu_memory_bytes_per_tenant{tenant_id=\"5\"}"), 0);
	cr_assert_eq(scrape_value("tensor_wasm_gpu_memory_used_bytes"), 0);
	if (!gpu_available())
		cr_assert_eq(scrape_value("tensor_wasm_gpu_devices"), 0);
	met_tw_fini();
	gpu_admit_init(TW_GPU_PERMITS, TW_GPU_TENANT_MEM_BYTES);
}
