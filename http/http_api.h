/*
 * http_api.h — the function API: deploy, list, get, delete, invoke (JSON and WASI byte mode),
 * async jobs, with bearer auth, tenants, rate limits, instance caps and durable storage.
 *
 * Composition (main thread): http_api_create() opens the store under cfg->data_dir, collects
 * orphans, rebuilds the function registry by compiling every stored module, deploys the
 * --preload modules and adds the routes to the server. Its worker hooks (http_api_hooks) give
 * each worker its call slots and WASI linker; put them in the worker group after the server's.
 * After the group has stopped, http_api_destroy() stops the store thread and frees the rest.
 *
 * Threads: handlers run on the worker that owns the connection. Guests run there too, in fuel
 * slices; between slices the handler returns HTTP_PENDING and a zero-delay timer resumes it, so
 * the worker keeps serving others. Everything that touches the disk runs on one store thread;
 * a worker posts it a request and the answer comes back with tw_worker_post, so 201 is sent
 * only once a function is durable.
 *
 * The registry of deployed functions is read by every worker without a lock (see
 * http_api_int.h for the scheme); per-tenant counters are kept in a fixed table of atomics
 * readable through http_api_tenant_stats().
 */
#ifndef TW_HTTP_HTTP_API_H
#define TW_HTTP_HTTP_API_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/options.h"
#include "core/worker.h"
#include "http/http.h"

struct http_api; /* opaque */

/* Build the API from `cfg` (borrowed; must outlive the API) and route it on `srv`. On failure
 * a reason is logged and *out stays NULL. Errors: TW_ERR_CONFIG (tokens, unauthenticated
 * non-loopback listener, bad --preload), TW_ERR_IO (store), TW_ERR_NOMEM. Main thread. */
enum tw_err http_api_create(const struct tw_config *cfg, struct http_server *srv,
			    struct http_api **out);

/* Worker hooks (call slots, linker); add them to the group after http_server_hooks(). */
const struct tw_worker_hooks *http_api_hooks(struct http_api *api);

/* Stop the store thread and free everything. After the worker group has stopped. NULL ok. */
void http_api_destroy(struct http_api *api);

/* Counters of one tenant, for metric families. Any thread; values are snapshots. */
struct http_api_tenant_stats {
	uint64_t spawns;           /* instances created */
	uint64_t terminations;     /* instances freed */
	uint64_t instances_active; /* live now */
	uint64_t jobs_active;      /* async jobs accepted and not yet finished */
};

/* Stats of `tenant`; false when the tenant was never seen (all zero then). Tenants beyond
 * TW_API_TENANTS_TRACKED share one overflow entry, reported for each of them. */
bool http_api_tenant_stats(const struct http_api *api, uint64_t tenant,
			   struct http_api_tenant_stats *out);

/* Call fn for each tracked tenant (overflow included, tenant UINT64_MAX). Any thread. */
void http_api_each_tenant(const struct http_api *api,
			  void (*fn)(uint64_t tenant, const struct http_api_tenant_stats *s,
				     void *arg),
			  void *arg);

/* The stable id a function preloaded under `name` for tenant 0 gets (32 hex + NUL). */
void http_api_preload_id(const char *name, char out[33]);

/* Client subcommands: `deploy FILE.wasm --name N`, `invoke ID [--export E] [ARGS..]`,
 * `jobs ID`. argv[0] is the subcommand. Return the process exit status (0 on a 2xx reply). */
int http_api_cli_deploy(int argc, char **argv);
int http_api_cli_invoke(int argc, char **argv);
int http_api_cli_jobs(int argc, char **argv);

#endif
