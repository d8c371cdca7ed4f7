;; api_bigmem_private.wat — like api_bigmem.wat, but the memory is neither exported nor imported:
;; the cap must still be applied at deploy (413), not at the first call.
(module
  (memory 20000)
  (func (export "size") (result i32) memory.size))
