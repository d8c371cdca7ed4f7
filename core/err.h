/*
 * err.h — the one error enum of TensorWasm.
 *
 * Every fallible action in the program returns an `enum tw_err`. The list below is the single
 * source of truth: it gives the enum value, a stable snake_case string (used in logs and as the
 * `kind` of the HTTP error envelope), and a one-line default message. Strings never change once
 * published; add new values at the end of their group.
 *
 * -errno values from syscalls and io_uring stay inside core/ and are converted at the boundary
 * with tw_err_from_errno().
 */
#ifndef TW_CORE_ERR_H
#define TW_CORE_ERR_H

#include <stdbool.h>

/* X(NAME, "kind", "default message") */
#define TW_ERR_LIST(X)                                                                    \
	X(OK, "ok", "success")                                                            \
	/* generic */                                                                     \
	X(NOMEM, "out_of_memory", "out of memory")                                        \
	X(INVALID_ARG, "invalid_argument", "invalid argument")                            \
	X(NOT_FOUND, "not_found", "not found")                                            \
	X(EXISTS, "already_exists", "already exists")                                     \
	X(FULL, "full", "capacity exhausted")                                             \
	X(IO, "io_error", "input/output error")                                           \
	X(NO_SPACE, "no_space", "no space left on device")                                \
	X(TIMEOUT, "timeout", "timed out")                                                \
	X(AGAIN, "again", "resource temporarily unavailable")                             \
	X(UNSUPPORTED, "unsupported", "not supported")                                    \
	X(SYSTEM, "system_error", "operating system error")                               \
	X(INTERNAL, "internal", "internal error")                                         \
	X(SHUTDOWN, "shutting_down", "shutting down")                                     \
	/* configuration and command line */                                              \
	X(CONFIG, "invalid_config", "invalid configuration")                              \
	X(USAGE, "usage", "invalid command line")                                         \
	/* WebAssembly modules and execution */                                           \
	X(WASM_MALFORMED, "malformed_wasm", "malformed module")                           \
	X(WASM_INVALID, "invalid_wasm", "invalid module")                                 \
	X(WASM_UNLINKABLE, "unlinkable", "unknown import or incompatible import type")    \
	X(WASM_UNINSTANTIABLE, "uninstantiable", "instantiation failed")                  \
	X(WASM_TRAP, "trap", "guest trapped")                                             \
	X(WASM_EXHAUSTED, "exhausted", "call stack exhausted")                            \
	X(WASM_FUEL, "out_of_fuel", "fuel slice used up")                                 \
	X(WASM_EXIT, "exit", "guest exited")                                              \
	X(MISSING_EXPORT, "missing_export", "no such export")                             \
	X(WASM_PENDING, "pending", "host function result pending")                        \
	/* HTTP and API */                                                                \
	X(HTTP_MALFORMED, "malformed_request", "malformed HTTP request")                   \
	X(HEADERS_TOO_LARGE, "headers_too_large", "request headers too large")            \
	X(BODY_TOO_LARGE, "body_too_large", "request body too large")                     \
	X(INVALID_JSON, "invalid_json", "request body is not valid JSON")                 \
	X(INVALID_NAME, "invalid_name", "invalid name")                                   \
	X(INVALID_BASE64, "invalid_base64", "invalid base64")                             \
	X(INVALID_ARGS, "invalid_args", "invalid arguments")                              \
	X(TOO_MANY_ARGS, "too_many_args", "too many arguments")                           \
	X(MISSING_TENANT, "missing_tenant", "tenant header required")                     \
	X(INVALID_TENANT, "invalid_tenant", "invalid tenant")                             \
	X(DUPLICATE_TENANT_HEADER, "duplicate_tenant_header", "duplicate tenant header")  \
	X(UNAUTHORIZED, "unauthorized", "missing credentials")                            \
	X(INVALID_AUTH, "invalid_auth", "invalid credentials")                            \
	X(TENANT_SCOPE_DENIED, "tenant_scope_denied", "token not valid for this tenant")  \
	X(MODULE_TOO_LARGE, "module_too_large", "module too large")                       \
	X(MODULE_MEMORY_TOO_LARGE, "module_memory_too_large", "module memory too large")  \
	X(RATE_LIMITED, "rate_limited", "rate limited")                                   \
	X(CAPACITY_EXHAUSTED, "capacity_exhausted", "capacity exhausted")                 \
	X(INVOKE_TIMEOUT, "invoke_timeout", "invocation deadline exceeded")               \
	/* GPU */                                                                         \
	X(GPU_UNAVAILABLE, "gpu_unavailable", "no GPU available")                         \
	X(GPU_DRIVER, "gpu_driver_error", "GPU driver error")                             \
	X(GPU_PTX, "malformed_ptx", "PTX rejected by the driver")                         \
	X(GPU_QUOTA, "gpu_quota_exceeded", "GPU memory quota exceeded")

enum tw_err {
#define TW_ERR_ENUM(name, kind, msg) TW_ERR_##name,
	TW_ERR_LIST(TW_ERR_ENUM)
#undef TW_ERR_ENUM
	TW_ERR__COUNT
};

/* Stable snake_case name of `e` ("not_found"); "unknown" for values outside the list. */
const char *tw_err_str(enum tw_err e);

/* One-line human message for `e` ("not found"). */
const char *tw_err_msg(enum tw_err e);

/* Map a positive or negative errno value to the closest tw_err. 0 maps to TW_ERR_OK. */
enum tw_err tw_err_from_errno(int err);

#endif
