/*
 * http_metrics.h — the HTTP server's side of the metrics: GET /metrics and per-request
 * observations.
 *
 * http_metrics_attach() adds the /metrics route, builds the metric families with the router's
 * final table (so it is called after every other route was added), records every response into
 * tensor_wasm_http_requests_total / _request_duration_seconds and brackets routed requests in
 * tensor_wasm_http_requests_in_flight. It returns a worker hook set that binds each worker thread
 * to its metrics shard; give it to the worker group before the HTTP server's hooks.
 *
 * GET /metrics answers Prometheus text 0.0.4, or OpenMetrics 1.0.0 when the Accept header asks
 * for it; with a token configured it requires "Authorization: Bearer <token>" (401 otherwise,
 * compared in constant time). It is exempt from the API's authentication and rate limits.
 */
#ifndef TW_HTTP_HTTP_METRICS_H
#define TW_HTTP_HTTP_METRICS_H

#include <stdint.h>

#include "core/err.h"
#include "core/worker.h"
#include "http/http.h"

/* Main thread, after every route is added and before the workers start. `workers` is the
 * group's size (tw_worker_default_count() when the option is 0). `token` is copied; NULL or ""
 * leaves /metrics open. Returns TW_ERR_FULL (route table or series bound), TW_ERR_NOMEM. */
enum tw_err http_metrics_attach(struct http_server *s, uint32_t workers, const char *token,
				const struct tw_worker_hooks **hooks_out);

/* Free the metric families; after the workers have stopped. */
void http_metrics_detach(void);

#endif
