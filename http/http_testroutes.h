/*
 * http_testroutes.h — routes under /_test/ for the integration tests (serve --test-routes):
 *   POST|PUT /_test/echo          the body back, with X-Body-Bytes
 *   GET /_test/params/:a/:b       the captured parameters and the template as JSON
 *   GET /_test/delay/:ms          a pending handler answered by a worker timer after ms
 *   GET /_test/inbox              a pending handler answered through the worker's inbox
 *   GET /_test/big/:bytes         a response of that many bytes (at most 64 MiB)
 */
#ifndef TW_HTTP_HTTP_TESTROUTES_H
#define TW_HTTP_HTTP_TESTROUTES_H

#include "http/http.h"

/* Register the routes on `s`. Main thread, before the workers start. */
enum tw_err http_server_add_test_routes(struct http_server *s);

#endif
