;; twm_nested.wat — fixture for wasm/twm_test.c: a host function that runs calls of other
;; instances on the same thread in the middle of this one (nested runs), some of which trap.
;; Each level keeps a running sum in its own memory, so a run that came back with another
;; level's memory or frames gives a different result.
(module
  (import "env" "inner" (func $inner (param i32 i32) (result i32)))
  (memory 1)
  (func $step (param $lvl i32) (param $i i32) (param $acc i32) (result i32)
    (i32.add (i32.mul (local.get $acc) (i32.const 31))
             (call $inner (local.get $lvl) (local.get $i))))
  (func (export "run") (param $lvl i32) (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (local.set $acc (i32.const 1))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (call $step (local.get $lvl) (local.get $i) (local.get $acc)))
        (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (local.get $acc)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.add (local.get $acc) (i32.load (i32.const 0))))
  (func (export "trap") unreachable)
)
