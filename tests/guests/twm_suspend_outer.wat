;; twm_suspend_outer.wat — calls into another instance (twm_suspend.wat's nest) whose host call
;; suspends: the suspension crosses instances (tests/unit/twm_suspend_test.c).
(module
  (import "s" "nest" (func $nest (param i32) (result i32)))
  (func (export "outer") (param i32) (result i32)
    (i32.mul (call $nest (local.get 0)) (i32.const 2))))
