;; api_mem.wat — a pooled module with state: f bumps memory[0] and returns 7 + memory[0]; a
;; reset instance always answers 9.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  (global $g i32 (i32.const 7))
  (func (export "f") (result i32)
    (i32.store8 (i32.const 0) (i32.add (i32.load8_u (i32.const 0)) (i32.const 1)))
    (i32.add (global.get $g) (i32.load8_u (i32.const 0)))))
