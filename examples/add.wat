;; add.wat — the example function deployed by `ninja run`: add two i32 values.
;;   curl -s -X POST localhost:8080/functions/<id>/invoke -d '{"export":"add","args":[2,3]}'
(module
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
