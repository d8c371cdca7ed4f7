;; wasi_checks.wat — WASI error paths seen from a guest: bad pointers get `fault` (21), bad fds
;; `badf` (8), seeking stdout `spipe` (70), an unknown clock `inval` (28), an unsupported import
;; the `nosys` stub (52). The first check that fails exits with its number; all passing, it
;; prints "ok" and returns.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ok\n")
  (func $check (param $got i32) (param $want i32) (param $code i32)
    (if (i32.ne (local.get $got) (local.get $want)) (then (call $exit (local.get $code)))))
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    ;; iovec array past the end of memory
    (call $check (call $fd_write (i32.const 1) (i32.const 65532) (i32.const 1) (i32.const 8))
      (i32.const 21) (i32.const 1))
    ;; an iovec whose buffer runs past the end
    (i32.store (i32.const 32) (i32.const 65530))
    (i32.store (i32.const 36) (i32.const 10))
    (call $check (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 8))
      (i32.const 21) (i32.const 2))
    ;; the result pointer out of bounds
    (call $check (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 65534))
      (i32.const 21) (i32.const 3))
    (call $check (call $fd_write (i32.const 5) (i32.const 0) (i32.const 1) (i32.const 8))
      (i32.const 8) (i32.const 4))
    (call $check (call $fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 8))
      (i32.const 70) (i32.const 5))
    (call $check (call $prestat (i32.const 3) (i32.const 8)) (i32.const 8) (i32.const 6))
    (call $check (call $random (i32.const 65500) (i32.const 100)) (i32.const 21) (i32.const 7))
    (call $check (call $clock (i32.const 99) (i64.const 0) (i32.const 8)) (i32.const 28)
      (i32.const 8))
    (call $check (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0)
      (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 8)) (i32.const 52)
      (i32.const 9))
    ;; a pointer near 2^32: the check must not wrap around
    (call $check (call $args_sizes (i32.const -2) (i32.const 0)) (i32.const 21) (i32.const 10))
    (call $check (call $random (i32.const 8) (i32.const -1)) (i32.const 21) (i32.const 11))
    (call $check (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (i32.const 0) (i32.const 12))
    (call $check (i32.load (i32.const 8)) (i32.const 3) (i32.const 13)))
)
