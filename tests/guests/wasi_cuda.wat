;; wasi_cuda.wat — a guest of the wasi_cuda ABI for the integration tests (test_run_cli.py,
;; test_api.py, test_tracing.py). It imports all nine functions and calls each of them.
;;   check() -> i32     0 when every call returned -1 (NotAvailable), as it must without a GPU,
;;                      else 100 * (which call, from 1) - the code it returned (a unique number
;;                      naming the call and its code).
;;   kernel() -> i32    load_ptx + launch (with an argv record) + sync: the traced calls, with
;;                      their codes ORed into one value (-1 when each returned -1).
;;   sync() -> i32      the raw result of sync.
(module
  (import "wasi_cuda" "load_ptx" (func $load_ptx (param i32 i32 i32 i32) (result i64)))
  (import "wasi_cuda" "launch"
    (func $launch (param i64 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_cuda" "sync" (func $sync (result i32)))
  (import "wasi_cuda" "last_error_len" (func $last_error_len (result i32)))
  (import "wasi_cuda" "last_error_copy" (func $last_error_copy (param i32 i32) (result i32)))
  (import "wasi_cuda" "alloc" (func $alloc (param i32 i32) (result i64)))
  (import "wasi_cuda" "free" (func $free (param i64) (result i32)))
  (import "wasi_cuda" "memcpy_h2d" (func $h2d (param i64 i32 i32) (result i32)))
  (import "wasi_cuda" "memcpy_d2h" (func $d2h (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) ".version 7.0\0a.target sm_80\0a.address_size 64\0a")
  (data (i32.const 64) "add_i32")
  (data (i32.const 128) "\01\07\00\00\00\07\00\01\00\00\10\00\00\00")

  ;; 0 when r == -1, else 100 * n - r.
  (func $want (param $n i32) (param $r i64) (result i32)
    (if (result i32) (i64.eq (local.get $r) (i64.const -1))
      (then (i32.const 0))
      (else (i32.sub (i32.mul (local.get $n) (i32.const 100)) (i32.wrap_i64 (local.get $r))))))

  (func (export "check") (result i32)
    (local $e i32)
    (local.set $e (call $want (i32.const 1)
      (call $load_ptx (i32.const 0) (i32.const 45) (i32.const 64) (i32.const 7))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 2) (i64.extend_i32_s
      (call $launch (i64.const 1) (i32.const 4) (i32.const 1) (i32.const 1)
                    (i32.const 256) (i32.const 1) (i32.const 1) (i32.const 0)
                    (i32.const 128) (i32.const 14)))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 3) (i64.extend_i32_s (call $sync))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 4) (i64.extend_i32_s (call $last_error_len))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 5) (i64.extend_i32_s
      (call $last_error_copy (i32.const 1024) (i32.const 64)))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 6) (call $alloc (i32.const 4096) (i32.const 0))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 7) (i64.extend_i32_s (call $free (i64.const 1)))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 8) (i64.extend_i32_s
      (call $h2d (i64.const 1) (i32.const 0) (i32.const 16)))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 9) (i64.extend_i32_s
      (call $d2h (i32.const 0) (i64.const 1) (i32.const 16)))))
    (if (local.get $e) (then (return (local.get $e))))
    ;; Pointers far outside memory: availability is decided first, so still -1.
    (local.set $e (call $want (i32.const 10)
      (call $load_ptx (i32.const -16) (i32.const 100) (i32.const -1) (i32.const 8))))
    (if (local.get $e) (then (return (local.get $e))))
    (local.set $e (call $want (i32.const 11) (i64.extend_i32_s
      (call $d2h (i32.const -4) (i64.const 1) (i32.const 64)))))
    (local.get $e))

  (func (export "kernel") (result i32)
    (local $k i64)
    (local.set $k (call $load_ptx (i32.const 0) (i32.const 45) (i32.const 64) (i32.const 7)))
    (i32.or
      (i32.or (i32.wrap_i64 (local.get $k))
        (call $launch (local.get $k) (i32.const 4) (i32.const 2) (i32.const 1)
                      (i32.const 256) (i32.const 1) (i32.const 1) (i32.const 512)
                      (i32.const 128) (i32.const 14)))
      (call $sync)))

  (func (export "sync") (result i32) (call $sync))
)
