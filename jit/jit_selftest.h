/*
 * jit_selftest.h — the GPU verification program behind `tensor-wasm jit selftest`.
 *
 * On a machine with a GPU it runs every built-in blueprint on random inputs of several sizes
 * (0, 1, odd sizes, a few million) on the device and compares the output bit for bit with the
 * host reference executor; then it measures the launch overhead of a blueprint launch against a
 * raw cuLaunchKernel loop, and the bandwidth an element-wise kernel achieves. Without a GPU it
 * prints "no GPU: skipped" and succeeds.
 */
#ifndef TW_JIT_SELFTEST_H
#define TW_JIT_SELFTEST_H

#include <stdbool.h>
#include <stdio.h>

/* Returns 0 when everything matched (or no GPU), 1 on any mismatch or failure. quick: fewer
 * sizes and no measurements. Main thread. */
int jit_selftest_main(bool quick, FILE *out);

#endif
