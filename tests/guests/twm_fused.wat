;; twm_fused.wat — fixture for the engine's fused instructions (wasm/twm_test.c): loads and
;; stores that absorb the i32.add of their address, i64 compare-and-branch, 64-bit immediates,
;; float arithmetic on two loaded operands.
(module
  (memory 1)
  ;; (a + b) wraps at 32 bits before the offset is added
  (func (export "ld_rr") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add i32.load offset=8)
  (func (export "ld_ri") (param i32) (result i32)
    local.get 0 i32.const -8 i32.add i32.load offset=8)
  (func (export "ld_f64_ri") (param i32) (result f64)
    local.get 0 i32.const 16 i32.add f64.load offset=8)
  (func (export "st_rr") (param i32 i32 i32)
    local.get 0 local.get 1 i32.add local.get 2 i32.store offset=4)
  (func (export "st_imm_ri") (param i32)
    local.get 0 i32.const -4 i32.add i32.const 0x5a i32.store8 offset=4)
  (func (export "st_imm_rr") (param i32 i32)
    local.get 0 local.get 1 i32.add i64.const -2 i64.store)
  ;; the add's value is still needed after a tee: not fused, same answer
  (func (export "ld_tee") (param i32) (result i32)
    (local i32)
    local.get 0 i32.const 4 i32.add local.tee 1 i32.load local.get 1 i32.add)
  ;; i64 compare-and-branch, forward and as a loop backedge
  (func (export "lt_s64") (param i64 i64) (result i32)
    block local.get 0 local.get 1 i64.lt_s br_if 0 i32.const 0 return end i32.const 1)
  (func (export "gt_u64") (param i64 i64) (result i32)
    block local.get 0 local.get 1 i64.gt_u br_if 0 i32.const 0 return end i32.const 1)
  (func (export "le_s64_imm") (param i64) (result i32)
    block local.get 0 i64.const -5 i64.le_s br_if 0 i32.const 0 return end i32.const 1)
  (func (export "eqz64_if") (param i64) (result i32)
    local.get 0 i64.eqz if (result i32) i32.const 7 else i32.const 9 end)
  (func (export "count64") (param i64) (result i64)
    (local i64 i64)
    loop
      local.get 2 local.get 1 i64.add local.set 2
      local.get 1 i64.const 1 i64.add local.tee 1
      local.get 0 i64.ne br_if 0
    end
    local.get 2)
  ;; constants that need 64 bits
  (func (export "mix64") (param i64) (result i64)
    local.get 0 i64.const 0xbf58476d1ce4e5b9 i64.mul i64.const 0x100000000 i64.xor)
  (func (export "big_lt") (param i64) (result i32)
    local.get 0 i64.const 0x100000000 i64.lt_u)
  ;; declared locals read before any write start at zero, whatever the stack held before
  (func (export "locals_zero") (param i32) (result i64)
    (local i32 i64 f64 i32)
    i32.const 7 local.set 1
    local.get 0 local.set 4
    local.get 2
    local.get 1 i64.extend_i32_u i64.add
    local.get 4 i64.extend_i32_u i64.add
    local.get 3 i64.trunc_f64_s i64.add)
  ;; runs of 1..9 declared locals zeroed where the prologue ends (ZERO1 .. ZERO8 and the
  ;; memset form), each run ended by a local the prologue writes
  (func $zero_runs (param i64) (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64)
    local.get 0 local.set 2 local.get 0 local.set 5 local.get 0 local.set 9 local.get 0 local.set 14 local.get 0 local.set 20 local.get 0 local.set 27 local.get 0 local.set 35 local.get 0 local.set 44 local.get 0 local.set 54
    local.get 0
    local.get 1 i64.add local.get 3 i64.add local.get 4 i64.add local.get 6 i64.add local.get 7 i64.add local.get 8 i64.add local.get 10 i64.add local.get 11 i64.add
    local.get 12 i64.add local.get 13 i64.add local.get 15 i64.add local.get 16 i64.add local.get 17 i64.add local.get 18 i64.add local.get 19 i64.add local.get 21 i64.add
    local.get 22 i64.add local.get 23 i64.add local.get 24 i64.add local.get 25 i64.add local.get 26 i64.add local.get 28 i64.add local.get 29 i64.add local.get 30 i64.add
    local.get 31 i64.add local.get 32 i64.add local.get 33 i64.add local.get 34 i64.add local.get 36 i64.add local.get 37 i64.add local.get 38 i64.add local.get 39 i64.add
    local.get 40 i64.add local.get 41 i64.add local.get 42 i64.add local.get 43 i64.add local.get 45 i64.add local.get 46 i64.add local.get 47 i64.add local.get 48 i64.add
    local.get 49 i64.add local.get 50 i64.add local.get 51 i64.add local.get 52 i64.add local.get 53 i64.add local.get 54 i64.add)
  ;; both at the same frame base, so zero_runs starts on the ones dirty_slots left (an entry
  ;; function's locals are zeroed by twm_call_begin instead)
  (func (export "zero_runs") (param i64) (result i64)
    call $dirty_slots drop local.get 0 call $zero_runs)
  ;; leaves ones in the first 58 slots of the frame
  (func $dirty_slots (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    i64.const 1 local.set 0 i64.const 1 local.set 1 i64.const 1 local.set 2 i64.const 1 local.set 3 i64.const 1 local.set 4 i64.const 1 local.set 5
    i64.const 1 local.set 6 i64.const 1 local.set 7 i64.const 1 local.set 8 i64.const 1 local.set 9 i64.const 1 local.set 10 i64.const 1 local.set 11
    i64.const 1 local.set 12 i64.const 1 local.set 13 i64.const 1 local.set 14 i64.const 1 local.set 15 i64.const 1 local.set 16 i64.const 1 local.set 17
    i64.const 1 local.set 18 i64.const 1 local.set 19 i64.const 1 local.set 20 i64.const 1 local.set 21 i64.const 1 local.set 22 i64.const 1 local.set 23
    i64.const 1 local.set 24 i64.const 1 local.set 25 i64.const 1 local.set 26 i64.const 1 local.set 27 i64.const 1 local.set 28 i64.const 1 local.set 29
    i64.const 1 local.set 30 i64.const 1 local.set 31 i64.const 1 local.set 32 i64.const 1 local.set 33 i64.const 1 local.set 34 i64.const 1 local.set 35
    i64.const 1 local.set 36 i64.const 1 local.set 37 i64.const 1 local.set 38 i64.const 1 local.set 39 i64.const 1 local.set 40 i64.const 1 local.set 41
    i64.const 1 local.set 42 i64.const 1 local.set 43 i64.const 1 local.set 44 i64.const 1 local.set 45 i64.const 1 local.set 46 i64.const 1 local.set 47
    i64.const 1 local.set 48 i64.const 1 local.set 49 i64.const 1 local.set 50 i64.const 1 local.set 51 i64.const 1 local.set 52 i64.const 1 local.set 53
    i64.const 1 local.set 54 i64.const 1 local.set 55 i64.const 1 local.set 56 i64.const 1 local.set 57
    local.get 57)
  ;; calls that absorb the MOVEs of their arguments (CALL_LOCAL_M1 .. M3), constants written
  ;; in front of them; four moves stay MOVEs
  (func $one (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $mix3 (param i32 i32 i32) (result i32)
    local.get 0 i32.const 100 i32.mul local.get 1 i32.const 10 i32.mul i32.add
    local.get 2 i32.add)
  (func $mix4 (param i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 call $mix3 i32.const 10 i32.mul local.get 3 i32.add)
  (func (export "call_moves") (param i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 call $mix3
    local.get 2 local.get 1 i32.const 7 call $mix3 i32.add
    i32.const 1 local.get 0 local.get 0 call $mix3 i32.add
    local.get 1 call $one i32.add
    local.get 0 local.get 1 local.get 2 local.get 0 call $mix4 i32.add)
  ;; a loop of fused calls, run in small fuel slices: a stop at a call moves the same
  ;; arguments again when it resumes
  (func (export "moves_loop") (param i32) (result i32)
    (local i32 i32)
    loop
      local.get 1 local.get 0 local.get 2 call $mix3 local.set 2
      local.get 1 call $one local.tee 1
      local.get 0 i32.lt_u br_if 0
    end
    local.get 2)
  ;; unbounded recursion through a fused call with large frames: the value stack runs out
  ;; before the frame array
  (func $deep_moves (export "deep_moves") (param i32 i32) (result i32)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    local.get 1 local.get 0 call $deep_moves)
  ;; a result computed just before the return is written where the return leaves it, slot 0,
  ;; over the param the computation reads (RETURN0); a void return is RETURN0 as well
  (func $sub_in_place (export "sub_in_place") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.sub)
  (func $early_in_place (param i32) (result i32)
    block local.get 0 i32.eqz br_if 0 local.get 0 i32.const 3 i32.mul return end
    i32.const 42)
  (func $noparam_in_place (result i32) memory.size i32.const 10 i32.add)
  (func $void_ret (param i32) local.get 0 drop)
  (func (export "ret_in_place") (param i32 i32) (result i32)
    local.get 0 local.get 1 call $sub_in_place
    local.get 0 call $early_in_place i32.add
    i32.const 0 call $early_in_place i32.add
    call $noparam_in_place i32.add
    i32.const 16 call $void_ret)
  ;; i32.and with an immediate tested by br_if / if, directly or through i32.eqz
  (func (export "bit_set") (param i32) (result i32)
    block local.get 0 i32.const 4 i32.and br_if 0 i32.const 0 return end i32.const 1)
  (func (export "bit_clear") (param i32) (result i32)
    local.get 0 i32.const 6 i32.and i32.eqz if (result i32) i32.const 1 else i32.const 0 end)
  ;; shifts right until bit 0 is set: a test-and-branch backedge
  (func (export "ctz_loop") (param i32) (result i32)
    (local i32)
    loop
      local.get 0 i32.const 1 i32.and i32.eqz
      if
        local.get 0 i32.const 1 i32.shr_u local.set 0
        local.get 1 i32.const 1 i32.add local.set 1
        local.get 0 i32.const 1 i32.and i32.eqz br_if 1
      end
    end
    local.get 1)
  ;; float arithmetic whose operands are both loads (address-immediate and plain forms)
  (func (export "mul_ll") (param i32 i32) (result f64)
    local.get 0 i32.const 8 i32.add f64.load offset=8
    local.get 1 f64.load offset=16
    f64.mul)
  (func (export "sub_ll_f32") (param i32 i32) (result f32)
    local.get 0 f32.load
    local.get 1 i32.const -4 i32.add f32.load offset=4
    f32.sub)
  ;; offsets whose end (offset + 8) needs 33 bits: the pair is not fused, and traps
  (func (export "mul_ll_far") (param i32 i32) (result f64)
    local.get 0 f64.load
    local.get 1 f64.load offset=4294967288
    f64.mul)
  (func (export "div_ll_set") (param i32 i32) (result f64)
    (local f64)
    local.get 0 f64.load local.get 1 f64.load f64.div local.set 2
    local.get 2)
  ;; multiplies of two loads consumed by adds and subs, in the order clang emits an unrolled dot
  ;; product: p1 + (p2 - (p3 + (p4 + s))); each pair is two rounded operations, never an FMA
  (func (export "madd_chain") (param i32 i32 f64) (result f64)
    local.get 0 f64.load local.get 1 f64.load f64.mul
    local.get 0 i32.const 8 i32.add f64.load local.get 1 i32.const 8 i32.add f64.load f64.mul
    local.get 0 i32.const 16 i32.add f64.load local.get 1 i32.const 16 i32.add f64.load f64.mul
    local.get 0 i32.const 24 i32.add f64.load local.get 1 f64.load offset=24 f64.mul
    local.get 2 f64.add
    f64.add
    f64.sub
    f64.add)
  ;; the product as the second operand: s - a*b
  (func (export "madd_rev") (param i32 i32 f64) (result f64)
    local.get 2
    local.get 0 f64.load local.get 1 f64.load f64.mul
    f64.sub)
  (func (export "madd_f32") (param i32 i32 f32) (result f32)
    local.get 0 f32.load local.get 1 f32.load f32.mul
    local.get 2 f32.add)
  ;; a product also kept in a local, and a local written between a product and its add: the
  ;; product must be taken where it was computed
  (func (export "madd_tee") (param i32 i32 f64) (result f64)
    (local f64)
    local.get 0 f64.load local.get 1 f64.load f64.mul
    local.get 0 i32.const 8 i32.add f64.load local.get 1 i32.const 8 i32.add f64.load f64.mul
    local.tee 3
    f64.add
    local.get 2 f64.add
    local.get 3 f64.add)
  ;; binary operations on a shifted operand, the shift on either side; counts are masked
  (func (export "xorshift") (param i64) (result i64)
    local.get 0 local.get 0 i64.const 13 i64.shl i64.xor local.tee 0
    i64.const 7 i64.shr_u local.get 0 i64.xor local.tee 0
    local.get 0 i64.const 81 i64.shl i64.xor)
  (func (export "sh_sub32") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.const 35 i32.shr_s i32.sub
    local.get 1 i32.const 2 i32.shl local.get 0 i32.sub
    i32.xor)
  (func (export "sh_mix64") (param i64 i64) (result i64)
    local.get 1 i64.const 3 i64.shr_s local.get 0 i64.sub
    local.get 0 i64.const 60 i64.shr_u i64.and
    local.get 1 i64.const 4 i64.shl local.get 0 i64.or
    i64.add)
  (func (export "sh_tee") (param i32 i32) (result i32)
    (local i32)
    local.get 0 local.get 1 i32.const 4 i32.shr_u local.tee 2 i32.add
    local.get 2 i32.mul)
  ;; loop increments fused with their backedge: i32 add of a register then lt_u (a sieve's
  ;; "j += i; j < n"), add of an immediate then ne with an immediate, an i64 add whose result is
  ;; the compare's second operand (mirrored: n > i), and a signed compare that wraps
  (func (export "abr_sum") (param i32 i32 i32) (result i64)
    (local i64 i64 i64)
    loop
      local.get 3 local.get 0 i64.extend_i32_u i64.add local.set 3
      local.get 0 local.get 1 i32.add local.tee 0 local.get 2 i32.lt_u br_if 0
    end
    i32.const 0 local.set 0
    loop
      local.get 3 i64.const 3 i64.mul local.set 3
      local.get 0 i32.const 4 i32.add local.tee 0 i32.const 40 i32.ne br_if 0
    end
    i64.const 25 local.set 5
    loop
      local.get 3 local.get 4 i64.xor local.set 3
      local.get 5 local.get 4 i64.const 1 i64.add local.tee 4 i64.gt_s br_if 0
    end
    local.get 3 local.get 0 i64.extend_i32_u i64.add)
  ;; an i32 add right before a loop's add-and-backedge runs with it as one pair: a register add
  ;; with the bound in a register ("s += i; i += 3; i < n"), then an immediate add whose result
  ;; the second add reads back ("k += 5; k -= 1; k < 100")
  (func (export "aabr") (param i32 i32) (result i32)
    (local i32 i32)
    loop
      local.get 2 local.get 0 i32.add local.set 2
      local.get 0 i32.const 3 i32.add local.tee 0 local.get 1 i32.lt_u br_if 0
    end
    loop
      local.get 3 i32.const 5 i32.add local.set 3
      local.get 3 i32.const -1 i32.add local.tee 3 i32.const 100 i32.lt_u br_if 0
    end
    local.get 3 i32.const 1000 i32.mul local.get 2 i32.add)
  (func (export "abr_wrap") (param i32) (result i32)
    (local i32)
    loop
      local.get 1 i32.const 1 i32.add local.set 1
      local.get 0 i32.const 0x40000000 i32.add local.tee 0 i32.const 0 i32.gt_s br_if 0
    end
    local.get 1)
  ;; a constant first operand: sub becomes "imm - a", commutative operations and compares
  ;; (mirrored) take the immediate form; a 64-bit constant too wide for it stays in a slot
  (func (export "kfirst32") (param i32) (result i32)
    i32.const 10 local.get 0 i32.sub
    i32.const 3 local.get 0 i32.mul i32.xor
    i32.const -5 local.get 0 i32.lt_s
    if (result i32) i32.const 1000 else i32.const 2000 end
    i32.add
    i32.const 7 local.get 0 i32.ge_u i32.add)
  (func (export "kfirst64") (param i64) (result i64)
    i64.const -10 local.get 0 i64.sub
    i64.const 0x100000000 local.get 0 i64.sub i64.add
    i64.const 9 local.get 0 i64.gt_s i64.extend_i32_u i64.add)
  ;; chains of product-first multiply-adds with one operation, the sum kept in a register: a
  ;; dot product of four (its result set into a local: the chain's destination is retargeted)
  ;; and three subs in f32
  (func (export "dot4") (param i32 i32 f64) (result f64)
    (local f64)
    local.get 0 f64.load local.get 1 f64.load f64.mul
    local.get 0 f64.load offset=8 local.get 1 f64.load offset=8 f64.mul
    local.get 0 f64.load offset=16 local.get 1 f64.load offset=16 f64.mul
    local.get 0 f64.load offset=24 local.get 1 f64.load offset=24 f64.mul
    local.get 2 f64.add f64.add f64.add f64.add
    local.set 3
    local.get 3 local.get 3 f64.add)
  (func (export "msub3") (param i32 i32 f32) (result f32)
    local.get 0 f32.load local.get 1 f32.load f32.mul
    local.get 0 f32.load offset=4 local.get 1 f32.load offset=4 f32.mul
    local.get 0 f32.load offset=8 local.get 1 f32.load offset=8 f32.mul
    local.get 2 f32.sub f32.sub f32.sub)
  ;; two i32.add immediates in a row run as one ADDI2: the second reads what the first wrote,
  ;; both into stack slots with the second's result set into a local, and three in a row
  (func (export "addi2") (param i32) (result i32)
    (local i32 i32)
    local.get 0 i32.const 3 i32.add local.set 1
    local.get 1 i32.const 5 i32.add local.set 2
    local.get 2 i32.const 1000 i32.mul local.get 1 i32.add local.set 0
    local.get 1 i32.const -1 i32.add local.get 2 i32.const 7 i32.add local.set 1
    i32.const 100000 i32.mul local.get 1 i32.add local.get 0 i32.add
    local.get 0 i32.const 1 i32.add local.set 0
    local.get 0 i32.const 1 i32.add local.tee 0
    i32.const 1 i32.add i32.add)
  ;; copy loops ("s + 1; d + 1; n - 1", then "i + 2; n - 1"): the last add still fuses with the
  ;; loop's branch, splitting a pair in the second loop, and so does a second add that a load
  ;; absorbs
  (func (export "addi2_loop") (param i32 i32 i32) (result i32)
    (local i32)
    loop
      local.get 0 local.get 1 i32.load8_u i32.store8
      local.get 1 i32.const 1 i32.add local.set 1
      local.get 0 i32.const 1 i32.add local.set 0
      local.get 2 i32.const -1 i32.add local.tee 2
      i32.const 0 i32.gt_s br_if 0
    end
    i32.const 5 local.set 2
    loop
      local.get 3 i32.const 2 i32.add local.set 3
      local.get 2 i32.const -1 i32.add local.tee 2
      i32.const 0 i32.gt_s br_if 0
    end
    local.get 0 i32.const 2 i32.add local.set 0
    local.get 3 i32.const 1 i32.add local.set 3
    local.get 1 i32.const 3 i32.add i32.load
    local.get 0 i32.add local.get 3 i32.add)
  ;; CONST2 and MOVE_CONST: a constant into a local right after another, or after a copy, the
  ;; second writing what the first wrote or read, and both materialized at a block entry
  (func (export "const2") (param i32) (result i32)
    (local i32 i32)
    i32.const 5 local.set 1
    i32.const 9 local.set 1
    i32.const 11 local.set 2
    local.get 1 i32.const 100 i32.mul local.get 2 i32.add
    i32.const 1 i32.const 2
    block (param i32 i32) (result i32) i32.const 10 i32.mul i32.add end
    i32.add)
  (func (export "move_const") (param i32 i32) (result i32)
    (local i32)
    local.get 0 local.set 2
    i32.const 7 local.set 0
    local.get 1 local.set 1
    local.get 2 local.set 1
    i32.const 3 local.set 1
    local.get 2 i32.const 100 i32.mul local.get 0 i32.const 10 i32.mul i32.add local.get 1 i32.add
    local.get 2 i32.const 4
    block (param i32 i32) (result i32) i32.sub end
    i32.const 1000 i32.mul i32.add)
  ;; ADDI_CONST and CONST_ADDI: the add reads the constant just written, the constant replaces
  ;; the sum, or the add's operand is then overwritten; pairs split again where the loop's branch
  ;; or a load absorbs the add
  (func (export "const_addi") (param i32 i32) (result i32)
    (local i32 i32 i32 i32)
    i32.const 7 local.set 2
    local.get 2 i32.const 3 i32.add local.set 3
    local.get 3 local.get 3 i32.mul local.set 3
    local.get 0 i32.const 5 i32.add local.set 4
    i32.const 9 local.set 4
    local.get 4 local.get 4 i32.mul local.set 4
    local.get 1 i32.const 1 i32.add local.set 5
    i32.const 20 local.set 1
    loop
      i32.const 1 local.set 0
      local.get 2 i32.const -1 i32.add local.tee 2
      i32.const 0 i32.gt_s br_if 0
    end
    i32.const 4 local.set 0
    local.get 1 i32.const 8 i32.add i32.load
    local.get 3 i32.add local.get 4 i32.const 100 i32.mul i32.add
    local.get 5 i32.const 10000 i32.mul i32.add local.get 1 i32.const 1000000 i32.mul i32.add
    local.get 0 i32.add local.get 2 i32.add)
  ;; recursion as clang writes it, one call per loop iteration: "n - 1" added into the argument
  ;; slot runs in the call (CALL_LOCAL_AI), the final add in the return (ADD_RET), and the
  ;; accumulator's second zeroing is left out (the prologue's still holds)
  (func $fibl (export "fibl") (param i32) (result i32)
    (local i32)
    i32.const 0 local.set 1
    block
      local.get 0 i32.const 2 i32.lt_u br_if 0
      i32.const 0 local.set 1
      loop
        local.get 0 i32.const -1 i32.add call $fibl
        local.get 1 i32.add local.set 1
        local.get 0 i32.const -2 i32.add local.tee 0
        i32.const 1 i32.gt_u br_if 0
      end
    end
    local.get 0 local.get 1 i32.add)
  ;; an argument added in place (the add reads the slot it writes), and returns of adds that
  ;; wrap, from the end and from a return inside a block
  (func $twice (param i32) (result i32) local.get 0 local.get 0 i32.add)
  (func $early_add (param i32 i32) (result i32)
    block local.get 0 i32.eqz br_if 0 local.get 0 local.get 1 i32.add return end
    local.get 1 i32.const 9 i32.add)
  (func (export "call_addi") (param i32) (result i32)
    i32.const -1 call $one
    local.get 0 i32.const 3 i32.mul i32.const 5 i32.add call $twice i32.add
    i32.const 0x80000001 call $twice i32.add
    i32.const 0 i32.const 5 call $early_add i32.const 100 i32.mul i32.add
    i32.const 4 i32.const 5 call $early_add i32.const 10000 i32.mul i32.add
    i32.const -1 i32.const 2 call $early_add i32.const 1000000 i32.mul i32.add)
  ;; a local set to the constant it holds is not written again; a branch target or another
  ;; write in between forgets the value (each wrong omission changes the result from 46)
  (func (export "known_const") (param i32) (result i32)
    (local i32 i32)
    i32.const 7 local.set 1
    i32.const 7 local.set 1
    local.get 1 local.set 2
    loop
      local.get 1 i32.const 1 i32.add local.set 1
      local.get 1 i32.const 10 i32.lt_u br_if 0
    end
    i32.const 7 local.set 1
    local.get 1 local.get 2 i32.add local.set 2
    i32.const 5 local.set 1
    local.get 0 local.set 1
    i32.const 5 local.tee 1
    local.get 2 i32.add local.set 2
    block
      i32.const 100 local.set 1
      local.get 0 br_if 0
      i32.const 9 local.set 1
    end
    i32.const 9 local.set 1
    local.get 1 local.get 2 i32.add local.set 2
    i32.const 9 local.set 1
    loop
      i32.const 9 local.set 1
      local.get 2 local.get 1 i32.add local.set 2
      i32.const 50 local.set 1
      local.get 2 i32.const 40 i32.lt_u br_if 0
    end
    local.get 2)
  ;; a label value's MOVE fused with its BR (MOVE_BR): if/else arms that are locals, and a br
  ;; out of a block carrying a local
  (func (export "move_br") (param i32 i32 i32) (result i32)
    (local i32)
    local.get 0 if (result i32) local.get 1 else local.get 2 end
    local.set 3
    block (result i32)
      local.get 2
      local.get 0 i32.const 5 i32.gt_u br_if 0
      drop
      local.get 1 br 0
    end
    local.get 3 i32.const 100 i32.mul i32.add)
  ;; three moves in a row (MOVE3), and a loop whose last instruction is a lone MOVE before its
  ;; backedge (MOVE_BRB): Fibonacci from (a, b), n steps
  (func (export "move_brb") (param i32 i32 i32) (result i32)
    (local i32 i32 i32)
    local.get 0 local.set 3
    local.get 1 local.set 4
    local.get 2 local.set 5
    block
      loop
        local.get 5 i32.eqz br_if 1
        local.get 3 local.get 4 i32.add local.set 2
        local.get 4 local.set 3
        local.get 5 i32.const -1 i32.add local.set 5
        local.get 2 local.set 4
        br 0
      end
    end
    local.get 4)
  ;; callees whose code starts with ZERO1 or ZERO2 (their prologue ends at once), reached by
  ;; every call form, which zero those locals and enter after the ZERO (the _Z forms); $dirty
  ;; first leaves -1 in the slots the callee's locals take
  (func $dirty (param i32) (result i32)
    (local i64 i64 i64 i64)
    i64.const -1 local.set 1 i64.const -1 local.set 2
    i64.const -1 local.set 3 i64.const -1 local.set 4
    local.get 0)
  (func $z1 (param i32) (result i32)
    (local i32)
    block local.get 0 i32.eqz br_if 0 end
    local.get 1 local.get 0 i32.add)
  (func $z2 (param i32 i32) (result i32)
    (local i64 i32)
    block local.get 0 i32.eqz br_if 0 end
    local.get 2 i32.wrap_i64 local.get 3 i32.add local.get 0 i32.add local.get 1 i32.add)
  (func $z3 (param i32 i32 i32) (result i32)
    (local i32)
    block local.get 0 i32.eqz br_if 0 end
    local.get 3 local.get 0 i32.add local.get 1 i32.add local.get 2 i32.add)
  (func (export "zero_calls") (param i32) (result i32)
    (local i32)
    local.get 0 call $dirty drop
    i32.const 5 call $z1 local.set 1
    local.get 0 call $dirty drop
    local.get 0 call $z1 local.get 1 i32.add local.set 1
    local.get 0 call $dirty drop
    local.get 0 i32.const 7 i32.add call $z1 local.get 1 i32.add local.set 1
    local.get 0 call $dirty drop
    local.get 0 local.get 0 call $z2 local.get 1 i32.add local.set 1
    local.get 0 call $dirty drop
    local.get 0 local.get 0 local.get 0 call $z3 local.get 1 i32.add local.set 1
    local.get 1)
  ;; loops behind their guards: a forward branch right before LOOP_HOOK runs with it as one pair
  ;; (TWM_OP_LH_BASE), for each kind of branch (immediate and register compares, br_if on a
  ;; local and on eqz, bit tests), taken and not
  (func (export "guarded") (param i32 i32) (result i32)
    (local i32 i32)
    local.get 0 local.set 3
    block
      local.get 0 i32.const 2 i32.lt_u br_if 0
      loop
        local.get 2 i32.const 1 i32.add local.set 2
        local.get 3 i32.const -1 i32.add local.tee 3
        i32.const 0 i32.gt_s br_if 0
      end
    end
    local.get 1 local.set 3
    block
      local.get 0 local.get 1 i32.gt_s br_if 0
      loop
        local.get 2 i32.const 10 i32.add local.set 2
        local.get 3 i32.const -1 i32.add local.tee 3
        i32.const 0 i32.gt_s br_if 0
      end
    end
    i32.const 3 local.set 3
    block
      local.get 1 br_if 0
      loop
        local.get 2 i32.const 100 i32.add local.set 2
        local.get 3 i32.const -1 i32.add local.tee 3
        i32.const 0 i32.gt_s br_if 0
      end
    end
    i32.const 2 local.set 3
    block
      local.get 1 i32.eqz br_if 0
      loop
        local.get 2 i32.const 1000 i32.add local.set 2
        local.get 3 i32.const -1 i32.add local.tee 3
        i32.const 0 i32.gt_s br_if 0
      end
    end
    i32.const 1 local.set 3
    block
      local.get 0 i32.const 4 i32.and br_if 0
      loop
        local.get 2 i32.const 10000 i32.add local.set 2
        local.get 3 i32.const -1 i32.add local.tee 3
        i32.const 0 i32.gt_s br_if 0
      end
    end
    i32.const 1 local.set 3
    block
      local.get 0 i32.const 1 i32.and i32.eqz br_if 0
      loop
        local.get 2 i32.const 100000 i32.add local.set 2
        local.get 3 i32.const -1 i32.add local.tee 3
        i32.const 0 i32.gt_s br_if 0
      end
    end
    local.get 2))
