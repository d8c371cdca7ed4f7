;; twm_suspend.wat — a guest for host suspension tests (tests/unit/twm_suspend_test.c): each
;; call of env.later suspends the call until the test supplies its result.
(module
  (import "env" "later" (func $later (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; two suspensions in one call
  (func (export "twice") (param i32 i32) (result i32)
    (i32.add (call $later (local.get 0)) (call $later (local.get 1))))
  ;; a suspension n wasm frames deep
  (func $nest (export "nest") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (call $later (i32.const 100)))
      (else (i32.add (i32.const 1)
                     (call $nest (i32.sub (local.get 0) (i32.const 1)))))))
  ;; suspensions between loops that use fuel
  (func (export "loop") (param $n i32) (result i32) (local $i i32) (local $acc i32) (local $j i32)
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $later (local.get $i))))
        (local.set $j (i32.const 0))
        (block $b
          (loop $spin
            (br_if $b (i32.ge_u (local.get $j) (i32.const 50)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $spin)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $acc))
  ;; through call_indirect: the re-run call finds the same element
  (table 1 funcref)
  (elem (i32.const 0) $later)
  (func (export "indirect") (param i32) (result i32)
    (i32.add (i32.const 1)
             (call_indirect (param i32) (result i32) (local.get 0) (i32.const 0))))
  ;; the host function itself as the entry
  (export "later_direct" (func $later)))
