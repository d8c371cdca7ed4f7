;; api_spin.wat — guests for the function API tests: an endless loop (deadline), a trap, a
;; memory-hungry module is in api_bigmem.wat, and an i64 identity.
(module
  (func (export "spin") (loop $l (br $l)))
  (func (export "boom") (unreachable))
  (func (export "id64") (param i64) (result i64) (local.get 0))
  (func (export "fsum") (param f32 f64) (result f64)
    (f64.add (f64.promote_f32 (local.get 0)) (local.get 1)))
  (func $down (export "recurse") (param i32) (result i32)
    (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "main") (result i32) (i32.const 42)))
