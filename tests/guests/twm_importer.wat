;; twm_importer.wat — fixture for wasm/twm_test.c: calls into another instance (twm_engine.wasm
;; registered as "eng") so that calls, returns and fuel stops cross instances.
(module
  (import "eng" "sum" (func $sum (param i32) (result i64)))
  (import "eng" "mem" (memory 1))
  (func (export "twice") (param i32) (result i64)
    (i64.add (call $sum (local.get 0)) (call $sum (local.get 0))))
  (func (export "peek") (result i32) (i32.load (i32.const 0)))
)
