;; host_slots.wat — fixture for tests/unit/host_binding_test.c: a start function and an export
;; both read per-instance host state through an import, so the test sees the state is there
;; before the start function runs and stays per instance.
(module
  (import "slots" "get" (func $get (result i32)))
  (global $at_start (mut i32) (i32.const -1))
  (func $start (global.set $at_start (call $get)))
  (start $start)
  (func (export "at_start") (result i32) (global.get $at_start))
  (func (export "get") (result i32) (call $get))
)
