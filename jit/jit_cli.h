/*
 * jit_cli.h — the `tensor-wasm jit ...` subcommand: inspect built-in blueprints and their PTX,
 * and run the GPU self-test.
 *
 *   tensor-wasm jit list                          built-in blueprint names, one per line
 *   tensor-wasm jit emit NAME [--arch sm_80|sm_90] the PTX of one blueprint
 *   tensor-wasm jit selftest [--quick]            every blueprint on the GPU vs the host
 *                                                 executor, launch overhead and bandwidth
 *   tensor-wasm jit analyze FILE.wasm             every loop: matched blueprint and key, or
 *                                                 why it is not offloaded
 */
#ifndef TW_JIT_CLI_H
#define TW_JIT_CLI_H

/* argv[0] is "jit". Returns the process exit status (0 ok, 1 failure, 2 usage). Main thread. */
int jit_cli_main(int argc, char **argv);

#endif
