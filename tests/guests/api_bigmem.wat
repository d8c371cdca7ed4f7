;; api_bigmem.wat — a module that declares more linear memory than the API allows (413).
(module (memory (export "memory") 20000))
