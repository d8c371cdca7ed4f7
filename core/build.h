/*
 * build.h — what this binary is: version, commit, compiler, build mode. One source for
 * `tensor-wasm --version` and the tensor_wasm_build_info metric, so they never disagree.
 */
#ifndef TW_CORE_BUILD_H
#define TW_CORE_BUILD_H

/* "clang 14.0.6 " / "gcc 12.2.0": the compiler that built this file's object, which is the
 * compiler of the whole binary (one toolchain per build). Static storage. */
const char *tw_build_compiler(void);

#endif
