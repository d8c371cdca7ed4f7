;; twm_loop_pend.wat — fixture for tests/unit/twm_loop_pend_test.c: a loop a hook may suspend
;; at (in "fill"), behind a loop that only burns fuel (in $warm), so that fuel stops and the
;; suspension mix within one call.
(module
  (memory (export "memory") 1)
  ;; 2 locals: the hook leaves this loop to the interpreter
  (func $warm (param $n i32) (result i32)
    (local $w i32)
    (loop $l
      (local.set $w (i32.add (local.get $w) (i32.const 3)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
    (local.get $w))
  ;; mem[4*i] = i + 1 and s = sum of i for i < n (n >= 1); returns
  ;; s + 1000 * i_exit + mem[4*(n-1)] + warm(n)
  (func (export "fill") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (local $w i32)
    (local.set $w (call $warm (local.get $n)))
    (loop $l
      (i32.store (i32.shl (local.get $i) (i32.const 2))
                 (i32.add (local.get $i) (i32.const 1)))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.add
      (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const 1000)))
      (i32.add (i32.load (i32.shl (i32.sub (local.get $n) (i32.const 1)) (i32.const 2)))
               (local.get $w)))))
