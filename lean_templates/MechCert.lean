/-!
# MechCert: checking a Max-of-K certificate in Lean 4

This file is static: it is copied verbatim into every certificate. It is the
Lean twin of `MechCert.v` (the Coq library): it implements, over `Nat` and
`Int` of Lean 4 core only (no Mathlib, no Std), the checking algorithm of
docs/certificate-format.md (version 1), strategies "brute-force" (section 5),
"cubic" (section 7) and the three subcubic ones (section 8). The generated
`Certificate.lean` holds the data (exact float32 bit patterns, hints, the
claim, packed into a few large `Nat` literals) and one theorem, proved from
`check_sound` (or `cubic_check_sound`, `subcubic_check_sound`) by evaluating
`check cert` (or `cubic_check cert`, `subcubic_check s gap cert`) once in the
kernel (`decide +kernel`).

**Mirror of the Coq library.** Every `Definition`/`Fixpoint` of `MechCert.v`
has a `def` here under the same name, in the same order, with the same
"Spec:" comment, so the two files can be read side by side. Renamed, because
the Lean type differs: `list_Z_eqb` is `list_nat_eqb` (shapes are `List Nat`
here). Types: SHA-256 words, bytes, bit patterns, shapes and sizes are `Nat`
(they are never negative); every model quantity is `Int` (Coq's `Z`).
Definitions marked "(Lean only)" have no Coq counterpart: they are the integer
primitives the Coq standard library provides (`Z.shiftr`, `Z.div`, `Z.log2`,
`Z.sqrt`, ...), the strictness helpers below, the decoders of the packed data,
and the cubic strategy (section 7), which follows the doc's names. Not
mirrored: Coq's speed helpers of the cubic and subcubic checks
(`slot_weight_mul_up`, `prod_ltb`, `mul_add_ltb0` and the cubic precomputation
records), each proved equal in `MechCert.v` to the plain product it replaces;
this file computes the plain products (the kernel multiplies `Nat` with GMP).
The subcubic part (section 8, part 10 below) mirrors Coq's part 10 definition
by definition; its certificate record is the cubic one (`cubic_certificate`).

**Trusted base.** Lean's kernel. Without `native_decide`, `#print axioms` of
the certificate theorem prints "does not depend on any axioms" (or at most
the standard `propext`, `Classical.choice`, `Quot.sound`). A certificate
rendered with `--lean-native` uses `native_decide` instead, which adds the
axiom `Lean.ofReduceBool` (trusting the compiler); its Makefile says so.

**Kernel evaluation: what this file relies on.**
1. The kernel computes with `Nat` literals through GMP: `Nat.add`, `sub`,
   `mul`, `div`, `mod`, `gcd`, `beq`, `ble`, `pow`, `land`, `lor`, `xor`,
   `shiftLeft`, `shiftRight` (not `Nat.log2` nor `Nat.sqrt`: we define
   `nat_log2` and `nat_sqrt`). `Int` is the inductive `ofNat n | negSucc n`;
   every `Int` operation reduces to these by matching on the constructors.
2. Floor semantics are explicit. We never use `/`, `%` or `>>>` on `Int`
   (their meaning changed between Lean versions: `Int.div` was T-rounding,
   `/` is now `Int.ediv`). Instead `shiftr_nat`, `zdiv` (and from them
   `shift_floor`, `ceil_shift`, `ceil_div`) are defined here by matching on
   the constructors, with a one-line proof sketch of the floor identity each
   relies on: `negSucc n = -(n+1)` and `floor (-(n+1) / m) = -(n / m) - 1`
   for `m > 0`. They agree with Coq's `Z.shiftr` / `Z.div` (floor) and with
   core's `Int.fdiv`.
3. Only structural recursion: every recursive definition carries
   `termination_by structural x`, so a fallback to well-founded recursion
   (which the kernel cannot evaluate) is a build error, not a silent failure.
   Loops that are not structural use an explicit `fuel : Nat`.
4. The kernel reduces lazily (call by name, with a cache of weak head normal
   forms). A loop that threads an accumulator through thousands of steps
   would build a chain of thousands of unevaluated terms and then evaluate it
   by deep recursion ("deep recursion detected"). So every long loop forces
   its accumulator at each step with `strict_nat` / `strict_int` /
   `strict_pair` / `strict_state` (`fold_left_strict`). They are identities:
   `strict_nat n k = k n`; they only make the kernel evaluate `n` first.
5. The data are a few large `Nat` literals, cut into fields by `unpack`
   (shifts and masks): long `List` literals elaborate slowly and overflow.
-/

set_option autoImplicit false
set_option maxRecDepth 10000

namespace MechCert

/-! ## 0. Constants of certificate format version 1 (doc, section 3) -/

def SQRT_BITS : Nat := 64
def HINT_BITS : Nat := 40
def EXP_BITS : Nat := 64
def TAYLOR_N : Nat := 16
def LOGIT_BITS : Nat := 32

/-! ## Evaluation order and integer primitives (Lean only)

Coq gets these from its standard library (`Z.shiftr`, `Z.div`, `Z.leb`,
`Z.log2`, `Z.sqrt`, `fold_left`, `nth`, ...). -/

/-- `strict_nat n k = k n`, but the kernel must evaluate `n` to a literal
first (it cases on `Nat.beq n 0`). -/
def strict_nat {α : Type} (n : Nat) (k : Nat → α) : α :=
  match Nat.beq n 0 with
  | true => k n
  | false => k n

/-- `strict_int z k = k z`, evaluating `z` (constructor and `Nat` field) first. -/
def strict_int {α : Type} (z : Int) (k : Int → α) : α :=
  match z with
  | Int.ofNat n => strict_nat n fun _ => k z
  | Int.negSucc n => strict_nat n fun _ => k z

/-- `strict_pair p k = k p`, evaluating both components of `p` first. -/
def strict_pair {α : Type} (p : Int × Int) (k : Int × Int → α) : α :=
  match p with
  | (a, b) => strict_int a fun _ => strict_int b fun _ => k (a, b)

/-- `fold_left` that forces the accumulator (with `force`) after every step. -/
def fold_left_strict {α β : Type} (force : α → (α → α) → α) (f : α → β → α)
    (acc : α) (l : List β) : α :=
  match l with
  | [] => acc
  | x :: l' => force (f acc x) fun acc' => fold_left_strict force f acc' l'
termination_by structural l

/-- Length as a `Nat`, counted with a forced accumulator. -/
def length_nat {α : Type} (l : List α) : Nat :=
  fold_left_strict strict_nat (fun n _ => n + 1) 0 l

/-- Spec: `pow2 k = 2^k`. -/
def pow2 (k : Nat) : Int := Int.ofNat (Nat.shiftLeft 1 k)

/-- Spec: `shiftl_nat z k = z * 2^k` (Coq `Z.shiftl z k`, `k >= 0`). -/
def shiftl_nat (z : Int) (k : Nat) : Int :=
  match z with
  | Int.ofNat n => Int.ofNat (Nat.shiftLeft n k)
  | Int.negSucc n => - Int.ofNat (Nat.shiftLeft (n + 1) k)

/-- Spec: `shiftr_nat z k = floor (z / 2^k)` (Coq `Z.shiftr z k`, `k >= 0`).
For `z = negSucc n = -(n+1)`: `floor (-(n+1) / 2^k) = -(n / 2^k) - 1 = negSucc (n >>> k)`. -/
def shiftr_nat (z : Int) (k : Nat) : Int :=
  match z with
  | Int.ofNat n => Int.ofNat (Nat.shiftRight n k)
  | Int.negSucc n => Int.negSucc (Nat.shiftRight n k)

/-- Spec: `zdiv a b = floor (a / b)` for `b ≠ 0`, and `zdiv a 0 = 0` (Coq `Z.div`,
Python `//`). Cases, with `m, n : Nat` and `b > 0` written `n`, `b < 0` written `-(n+1)`:
`floor (-(m+1) / n) = -(m / n) - 1`; `floor (m / -(n+1)) = -ceil (m / (n+1))`, which is
`0` for `m = 0` and `-((m-1) / (n+1)) - 1` otherwise; `floor (-(m+1) / -(n+1)) = (m+1) / (n+1)`. -/
def zdiv (a b : Int) : Int :=
  match a, b with
  | _, Int.ofNat 0 => 0
  | Int.ofNat m, Int.ofNat n => Int.ofNat (m / n)
  | Int.negSucc m, Int.ofNat n => Int.negSucc (m / n)
  | Int.ofNat 0, Int.negSucc _ => 0
  | Int.ofNat (m + 1), Int.negSucc n => Int.negSucc (m / (n + 1))
  | Int.negSucc m, Int.negSucc n => Int.ofNat ((m + 1) / (n + 1))

/-- `a ≤ b`, `a < b`, `a = b` on `Int`, as `Bool` (Coq `Z.leb`, `Z.ltb`, `Z.eqb`). -/
def zleb (a b : Int) : Bool :=
  match b - a with
  | Int.ofNat _ => true
  | Int.negSucc _ => false

def zltb (a b : Int) : Bool := zleb (a + 1) b

def zeqb (a b : Int) : Bool :=
  match a, b with
  | Int.ofNat x, Int.ofNat y => Nat.beq x y
  | Int.negSucc x, Int.negSucc y => Nat.beq x y
  | _, _ => false

def zmin (a b : Int) : Int := bif zleb a b then a else b
def zmax (a b : Int) : Int := bif zleb a b then b else a

/-- `nat_log2 n = floor (log2 n)` for `n > 0`, and `0` for `n = 0` (Coq `Z.log2`);
`fuel` bounds the number of halvings (`fuel = n` is always enough). -/
def log2_fuel (fuel n acc : Nat) : Nat :=
  match fuel with
  | 0 => acc
  | fuel' + 1 => bif Nat.ble n 1 then acc else log2_fuel fuel' (Nat.shiftRight n 1) (acc + 1)
termination_by structural fuel

def nat_log2 (n : Nat) : Nat := log2_fuel n n 0

/-- Coq `Z.log2`: `0` for `a <= 0`. -/
def int_log2 (a : Int) : Int :=
  match a with
  | Int.ofNat n => Int.ofNat (nat_log2 n)
  | Int.negSucc _ => 0

/-- `nat_sqrt_from k n r`: the floor square root of `n`, decided bit by bit from bit `k - 1`
down to bit 0, starting from `r` (whose bits below `k` are 0 and `r * r <= n`): each bit is
set when the square stays `<= n`. (Lean core's `Nat.sqrt`, where it exists, is defined by
well-founded recursion, which the kernel cannot evaluate: hence this structural version.) -/
def nat_sqrt_from (k n r : Nat) : Nat :=
  match k with
  | 0 => r
  | k' + 1 =>
      let r' := r + Nat.shiftLeft 1 k'
      bif Nat.ble (r' * r') n then nat_sqrt_from k' n r' else nat_sqrt_from k' n r
termination_by structural k

/-- Spec: `nat_sqrt n = floor (sqrt n)`: the largest `r` with `r * r <= n` (Coq `Z.sqrt`).
Proof sketch: with `L = nat_log2 n`, `n < 2^(L+1)`, so `sqrt n < 2^(L/2 + 1)` and every bit of
the result is among the `L/2 + 1` bits tried; setting the bits greedily from the top gives the
largest `r` with `r * r <= n`. -/
def nat_sqrt (n : Nat) : Nat := nat_sqrt_from (nat_log2 n / 2 + 1) n 0

/-- Coq `Z.sqrt`: `0` for `a < 0`. -/
def int_sqrt (a : Int) : Int :=
  match a with
  | Int.ofNat n => Int.ofNat (nat_sqrt n)
  | Int.negSucc _ => 0

/-- Lists (Coq's `forallb`, `flat_map`, `nth`, `last`, `removelast`). -/
def forallb {α : Type} (p : α → Bool) (l : List α) : Bool :=
  match l with
  | [] => true
  | x :: l' => p x && forallb p l'
termination_by structural l

def flat_map {α β : Type} (f : α → List β) (l : List α) : List β :=
  match l with
  | [] => []
  | x :: l' => f x ++ flat_map f l'
termination_by structural l

def nth {α : Type} (n : Nat) (l : List α) (d : α) : α :=
  match n, l with
  | _, [] => d
  | 0, x :: _ => x
  | n' + 1, _ :: l' => nth n' l' d
termination_by structural l

def last {α : Type} (l : List α) (d : α) : α :=
  match l with
  | [] => d
  | [x] => x
  | _ :: l' => last l' d
termination_by structural l

def removelast {α : Type} (l : List α) : List α :=
  match l with
  | [] => []
  | [_] => []
  | x :: l' => x :: removelast l'
termination_by structural l

/-! ## 1. Integer helpers (doc, preamble and section 4) -/

/-- Spec: `shift_floor z k = floor (z * 2^k)`. -/
def shift_floor (z k : Int) : Int :=
  match k with
  | Int.ofNat k' => shiftl_nat z k'
  | Int.negSucc k' => shiftr_nat z (k' + 1)

/-- Spec: `shift_ceil z k = ceil (z * 2^k)`. -/
def shift_ceil (z k : Int) : Int :=
  match k with
  | Int.ofNat k' => shiftl_nat z k'
  | Int.negSucc k' => - shiftr_nat (- z) (k' + 1)

/-- Spec: `ceil_shift z k = ceil (z / 2^k)` (`k : Nat`, so `k >= 0`). -/
def ceil_shift (z : Int) (k : Nat) : Int := - shiftr_nat (- z) k

/-- Spec: `0 < c -> ceil_div z c = ceil (z / c)`. -/
def ceil_div (z c : Int) : Int := - zdiv (- z) c

/-- Sum of a list, its length as an `Int`, the product of a shape: small utilities. -/
def sumZ (l : List Int) : Int := fold_left_strict strict_int (· + ·) 0 l
def lengthZ {α : Type} (l : List α) : Int := Int.ofNat (length_nat l)
def productZ (l : List Nat) : Int := Int.ofNat (fold_left_strict strict_nat (· * ·) 1 l)

/-- Pointwise combination of two lists (truncated to the shorter). -/
def map2 {α β γ : Type} (f : α → β → γ) (a : List α) (b : List β) : List γ :=
  match a, b with
  | x :: a', y :: b' => f x y :: map2 f a' b'
  | _, _ => []
termination_by structural a

/-- Element-wise sum of two rows. -/
def vadd (a b : List Int) : List Int := map2 (· + ·) a b

/-! ## 2. SHA-256 of the canonical weight bytes (doc, section 1)

Spec: `sha256 bytes` = the SHA-256 digest (FIPS 180-4) of the byte string
`bytes` (each element in 0..255), read as a 256-bit big-endian integer. -/

def mask32 : Nat := 0xffffffff
def add32 (a b : Nat) : Nat := Nat.land (a + b) mask32
def rotr (x n : Nat) : Nat :=
  Nat.lor (Nat.shiftRight x n) (Nat.land (Nat.shiftLeft x (32 - n)) mask32)
def bsig0 (x : Nat) : Nat := Nat.xor (Nat.xor (rotr x 2) (rotr x 13)) (rotr x 22)
def bsig1 (x : Nat) : Nat := Nat.xor (Nat.xor (rotr x 6) (rotr x 11)) (rotr x 25)
def ssig0 (x : Nat) : Nat := Nat.xor (Nat.xor (rotr x 7) (rotr x 18)) (Nat.shiftRight x 3)
def ssig1 (x : Nat) : Nat := Nat.xor (Nat.xor (rotr x 17) (rotr x 19)) (Nat.shiftRight x 10)
def sha_ch (e f g : Nat) : Nat := Nat.xor (Nat.land e f) (Nat.land (Nat.xor e mask32) g)
def sha_maj (a b c : Nat) : Nat :=
  Nat.xor (Nat.xor (Nat.land a b) (Nat.land a c)) (Nat.land b c)

def sha_K : List Nat :=
  [0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
   0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
   0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
   0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
   0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
   0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
   0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
   0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]

structure sha_state where
  sa : Nat
  sb : Nat
  sc : Nat
  sd : Nat
  se : Nat
  sf : Nat
  sg : Nat
  sh : Nat

def sha_H0 : sha_state :=
  ⟨0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19⟩

/-- (Lean only) `strict_state st k = k st`, evaluating the eight words first. -/
def strict_state (st : sha_state) (k : sha_state → sha_state) : sha_state :=
  match st with
  | ⟨a, b, c, d, e, f, g, h⟩ =>
    strict_nat a fun _ => strict_nat b fun _ => strict_nat c fun _ => strict_nat d fun _ =>
    strict_nat e fun _ => strict_nat f fun _ => strict_nat g fun _ => strict_nat h fun _ =>
    k ⟨a, b, c, d, e, f, g, h⟩

/-- One round; `kw` is K_t + W_t. -/
def sha_round (st : sha_state) (kw : Nat) : sha_state :=
  match st with
  | ⟨a, b, c, d, e, f, g, h⟩ =>
    let t1 := h + bsig1 e + sha_ch e f g + kw
    let t2 := bsig0 a + sha_maj a b c
    ⟨add32 t1 t2, a, b, c, add32 d t1, e, f, g⟩

/-- The 48 words W_16..W_63 of the message schedule, from a sliding window of
the last 16 words. -/
def sha_schedule (fuel : Nat) (w : List Nat) : List Nat :=
  match fuel, w with
  | fuel' + 1, [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15] =>
      let x := add32 (add32 (ssig1 w14) w9) (add32 (ssig0 w1) w0)
      x :: sha_schedule fuel' [w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, x]
  | _, _ => []
termination_by structural fuel

def sha_compress (st : sha_state) (block : List Nat) : sha_state :=
  let ws := block ++ sha_schedule 48 block
  match fold_left_strict strict_state sha_round st (map2 Nat.add sha_K ws), st with
  | ⟨a, b, c, d, e, f, g, h⟩, ⟨a0, b0, c0, d0, e0, f0, g0, h0⟩ =>
    ⟨add32 a0 a, add32 b0 b, add32 c0 c, add32 d0 d, add32 e0 e, add32 f0 f, add32 g0 g, add32 h0 h⟩

/-- Big-endian words from bytes (the padded message has a multiple of 4). -/
def words_of_bytes (l : List Nat) : List Nat :=
  match l with
  | b0 :: b1 :: b2 :: b3 :: rest =>
      (Nat.shiftLeft b0 24 + Nat.shiftLeft b1 16 + Nat.shiftLeft b2 8 + b3) :: words_of_bytes rest
  | _ => []
termination_by structural l

/-- Compress 16 words at a time (the state is forced after every block). -/
def sha_blocks (st : sha_state) (ws : List Nat) : sha_state :=
  match ws with
  | w0 :: w1 :: w2 :: w3 :: w4 :: w5 :: w6 :: w7 :: w8 :: w9 :: w10 :: w11 :: w12 :: w13 :: w14 :: w15 :: rest =>
      strict_state (sha_compress st [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15])
        fun st' => sha_blocks st' rest
  | _ => st
termination_by structural ws

def u32be (x : Nat) : List Nat :=
  [Nat.land (Nat.shiftRight x 24) 255, Nat.land (Nat.shiftRight x 16) 255,
   Nat.land (Nat.shiftRight x 8) 255, Nat.land x 255]

/-- `(119 - len % 64) % 64` is Coq's `(55 - len) mod 64` computed in `Nat`
(`55 - L + 64 = 119 - L >= 56` for `L = len % 64 < 64`). -/
def sha_padding (len : Nat) : List Nat :=
  0x80 :: List.replicate ((119 - len % 64) % 64) 0 ++ u32be (Nat.shiftRight (8 * len) 32) ++ u32be (8 * len)

def sha256 (bytes : List Nat) : Nat :=
  let ws := words_of_bytes (bytes ++ sha_padding (length_nat bytes))
  match sha_blocks sha_H0 ws with
  | ⟨a, b, c, d, e, f, g, h⟩ =>
    List.foldl (fun acc w => Nat.lor (Nat.shiftLeft acc 32) w) 0 [a, b, c, d, e, f, g, h]

/-! ## 3. The weights and their hash (doc, section 1) -/

structure tensor where
  t_name : String       -- TransformerLens name, [A-Za-z0-9_.]+
  t_shape : List Nat
  t_bits : List Nat     -- float32 bit patterns, row-major

def string_bytes (s : String) : List Nat := s.toList.map Char.toNat

/-- "mechcert-weights-v1\n" -/
def hash_header : List Nat := string_bytes "mechcert-weights-v1" ++ [10]

def tensor_bytes (t : tensor) : List Nat :=
  let name := string_bytes t.t_name
  u32be (length_nat name) ++ name
  ++ u32be (length_nat t.t_shape) ++ flat_map u32be t.t_shape
  ++ flat_map u32be t.t_bits

/-- Spec: `weights_sha256_of ts` = SHA-256 of the canonical byte string of the
tensors `ts` (doc, "The model hash"), when `ts` is sorted by name. -/
def weights_sha256_of (ts : List tensor) : Nat :=
  sha256 (hash_header ++ flat_map tensor_bytes ts)

/-- Byte order on names; `names_sorted` checks strictly increasing names. -/
def bytes_ltb (a b : List Nat) : Bool :=
  match a, b with
  | [], [] => false
  | [], _ :: _ => true
  | _ :: _, [] => false
  | x :: a', y :: b' => Nat.blt x y || (Nat.beq x y && bytes_ltb a' b')
termination_by structural a

def names_sorted (ts : List tensor) : Bool :=
  match ts with
  | [] => true
  | t1 :: rest =>
      match rest with
      | [] => true
      | t2 :: _ => bytes_ltb (string_bytes t1.t_name) (string_bytes t2.t_name) && names_sorted rest
termination_by structural ts

/-! ## 4. Exact values of float32 weights (doc, section 1) -/

/-- A bit pattern is accepted iff it is 32 bits, not NaN/Inf (exponent field
255) and not the non-canonical negative zero. -/
def float32_ok (b : Nat) : Bool :=
  Nat.blt b (2 ^ 32) && (! Nat.beq (Nat.land (Nat.shiftRight b 23) 255) 255)
  && (! Nat.beq b 0x80000000)

/-- Spec-level: the exact value of bits `b` is `M * 2^e` with `(M, e) = float32_value b`.
Spec: `float32_ok b = true -> M * 2^e` is the IEEE-754 binary32 value of `b`. -/
def float32_value (b : Nat) : Int × Int :=
  let sign := Nat.shiftRight b 31
  let ex := Nat.land (Nat.shiftRight b 23) 255
  let man := Nat.land b 0x7fffff
  let me : Nat × Int := bif Nat.beq ex 0 then (man, -149) else (man + 2 ^ 23, Int.ofNat ex - 150)
  (bif Nat.beq sign 1 then - Int.ofNat me.1 else Int.ofNat me.1, me.2)

/-- Global scale `e0 = min(0, min e over weights with M <> 0)`.
Spec: for every weight, `M = 0` or `e0 <= e`. -/
def global_scale (ts : List tensor) : Int :=
  fold_left_strict strict_int (fun acc (t : tensor) =>
    fold_left_strict strict_int (fun acc b =>
      match float32_value b with
      | (m, e) => bif zeqb m 0 then acc else zmin acc e) acc t.t_bits) 0 ts

/-- Spec: `e0 <= e` or `M = 0` -> `weight_int e0 b * 2^e0 = M * 2^e` (the exact value).
(`shift_floor` is Coq's `Z.shiftl` for every sign of the shift.) -/
def weight_int (e0 : Int) (b : Nat) : Int :=
  match float32_value b with
  | (m, e) => bif zeqb m 0 then 0 else shift_floor m (e - e0)

/-! ## 5. The model: shapes and the exact derived matrices (doc, section 2) -/

structure config where
  d_vocab : Nat
  d_vocab_out : Nat
  n_ctx : Nat
  d_model : Nat
  d_head : Nat
  n_heads : Nat
  n_layers : Nat

/-- Names and shapes of the tensors a Max-of-K model may have. -/
def required_tensors (c : config) : List (String × List Nat) :=
  let v := c.d_vocab
  let n := c.n_ctx
  let d := c.d_model
  let h := c.d_head
  [("blocks.0.attn.W_K", [1, d, h]), ("blocks.0.attn.W_O", [1, h, d]),
   ("blocks.0.attn.W_Q", [1, d, h]), ("blocks.0.attn.W_V", [1, d, h]),
   ("embed.W_E", [v, d]), ("pos_embed.W_pos", [n, d]), ("unembed.W_U", [d, v])]

def bias_tensors (c : config) : List (String × List Nat) :=
  let v := c.d_vocab
  let d := c.d_model
  let h := c.d_head
  [("blocks.0.attn.b_K", [1, h]), ("blocks.0.attn.b_O", [d]), ("blocks.0.attn.b_Q", [1, h]),
   ("blocks.0.attn.b_V", [1, h]), ("unembed.b_U", [v])]

/-- Coq `list_Z_eqb` (renamed: shapes are `List Nat` here). -/
def list_nat_eqb (a b : List Nat) : Bool :=
  match a, b with
  | [], [] => true
  | x :: a', y :: b' => Nat.beq x y && list_nat_eqb a' b'
  | _, _ => false
termination_by structural a

/-- Names are compared as byte strings (Coq: `String.eqb`). -/
def lookup (name : String) (ts : List tensor) : Option tensor :=
  match ts with
  | [] => none
  | t :: rest => bif list_nat_eqb (string_bytes t.t_name) (string_bytes name) then some t else lookup name rest
termination_by structural ts

def lookup_shape (name : String) (l : List (String × List Nat)) : Option (List Nat) :=
  match l with
  | [] => none
  | (n, s) :: rest => bif list_nat_eqb (string_bytes n) (string_bytes name) then some s else lookup_shape name rest
termination_by structural l

/-- Shapes: one layer, one head, `d_vocab_out = d_vocab`, positive sizes; every
tensor known, with its shape and the right number of values; names sorted;
every bit pattern finite and canonical; every bias (if present) all zero. -/
def config_ok (c : config) : Bool :=
  Nat.ble 2 c.d_vocab && Nat.beq c.d_vocab_out c.d_vocab && Nat.ble 1 c.n_ctx
  && Nat.ble 1 c.d_model && Nat.ble 1 c.d_head && Nat.beq c.n_heads 1 && Nat.beq c.n_layers 1

def tensor_ok (c : config) (t : tensor) : Bool :=
  match lookup_shape t.t_name (required_tensors c ++ bias_tensors c) with
  | none => false
  | some s =>
      list_nat_eqb t.t_shape s && zeqb (lengthZ t.t_bits) (productZ s)
      && forallb float32_ok t.t_bits
      && (match lookup_shape t.t_name (bias_tensors c) with
          | some _ => forallb (fun b => Nat.beq b 0) t.t_bits
          | none => true)

def model_ok (c : config) (ts : List tensor) : Bool :=
  config_ok c && names_sorted ts && forallb (tensor_ok c) ts
  && forallb (fun (ns : String × List Nat) => (lookup ns.1 ts).isSome) (required_tensors c)

/-- Matrices are lists of rows. `rows_of r w l` cuts `l` into `r` rows of `w`. -/
abbrev matrix : Type := List (List Int)

def rows_of (r w : Nat) (l : List Int) : matrix :=
  match r with
  | 0 => []
  | r' + 1 => l.take w :: rows_of r' w (l.drop w)
termination_by structural r

def dot_acc (a b : List Int) (acc : Int) : Int :=
  match a, b with
  | x :: a', y :: b' => strict_int (acc + x * y) fun acc' => dot_acc a' b' acc'
  | _, _ => acc
termination_by structural a

def dot (a b : List Int) : Int := dot_acc a b 0

/-- `mul_t A B = A B^T` (B given by its rows). Spec: exact integer product. -/
def mul_t (a b : matrix) : matrix := List.map (fun r => List.map (dot r) b) a

/-- The same product with B's entries as the first factor of each
multiplication (kept to mirror the Coq library, where the order matters for
speed; GMP does not care). -/
def mul_t' (a b : matrix) : matrix := List.map (fun r => List.map (fun c => dot c r) b) a

def transpose (ncols : Nat) (m : matrix) : matrix :=
  List.foldr (fun r acc => map2 List.cons r acc) (List.replicate ncols []) m

/-- The tensor `name` as integers at scale `2^e0`, cut into rows of `w`. -/
def weight_matrix (ts : List tensor) (e0 : Int) (name : String) (r w : Nat) : matrix :=
  match lookup name ts with
  | some t => rows_of r w (t.t_bits.map (weight_int e0))
  | none => []

structure derived where
  EQKE : matrix   -- v x v, scale 2^(4 e0)
  EQKP : matrix   -- v x n, scale 2^(4 e0)
  EUPU : matrix   -- v x v, scale 2^(2 e0)
  EVOU : matrix   -- v x v, scale 2^(4 e0)
  PVOU : matrix   -- n x v, scale 2^(4 e0)

/-- Spec: with E, P, Q, K, V, O, U the exact weights and Eq = E + P[n-1],
`EQKE * 2^(4 e0) = Eq Q K^T E^T`, `EQKP * 2^(4 e0) = Eq Q K^T P^T`,
`EUPU * 2^(2 e0) = Eq U`, `EVOU * 2^(4 e0) = E V O U`, `PVOU * 2^(4 e0) = P V O U`. -/
def derive (c : config) (ts : List tensor) (e0 : Int) : derived :=
  let v := c.d_vocab
  let n := c.n_ctx
  let d := c.d_model
  let h := c.d_head
  let E := weight_matrix ts e0 "embed.W_E" v d
  let P := weight_matrix ts e0 "pos_embed.W_pos" n d
  let Q := weight_matrix ts e0 "blocks.0.attn.W_Q" d h
  let K := weight_matrix ts e0 "blocks.0.attn.W_K" d h
  let V := weight_matrix ts e0 "blocks.0.attn.W_V" d h
  let O := weight_matrix ts e0 "blocks.0.attn.W_O" h d
  let U := weight_matrix ts e0 "unembed.W_U" d v
  let Plast := last P []
  let Eq' := List.map (vadd Plast) E          -- Eq = E + P[n-1]
  let KQt := mul_t K Q                         -- (Q K^T)^T, d x d
  let EqQK := mul_t Eq' KQt                    -- Eq Q K^T, v x d
  let Ut := transpose v U                      -- v x d
  let VO := mul_t V (transpose d O)            -- V O, d x d
  let VOUt := mul_t Ut VO                      -- (V O U)^T = U^T (V O)^T, v x d
  ⟨mul_t' EqQK E, mul_t' EqQK P, mul_t' Eq' Ut, mul_t E VOUt, mul_t P VOUt⟩

/-! ## 6. Hints and their verification (doc, section 4) -/

/-- Spec: `sqrt_hint_ok h r = true -> r_lo / 2^64 <= sqrt h <= r_hi / 2^64`. `r_lo <= r_hi` makes
`r_hi` positive (a negative `r_hi` also has a large square). -/
def sqrt_hint_ok (h : Int) (r : Int × Int) : Bool :=
  match r with
  | (r_lo, r_hi) =>
    zltb 0 r_lo && zleb r_lo r_hi && zleb (r_lo * r_lo) (shiftl_nat h 128)
    && zleb (shiftl_nat h 128) (r_hi * r_hi)

/-- `k = max(0, log2 a + 2 - log2 c - s)`, so that `y = x / 2^k <= 1/2`. -/
def exp_pos_k (a c s : Int) : Int := zmax 0 (int_log2 a + 2 - int_log2 c - s)

/-- Lower Taylor sum, every term rounded down. -/
def taylor_lo (fuel : Nat) (j y t acc : Int) : Int :=
  match fuel with
  | 0 => acc
  | fuel' + 1 =>
      let t' := zdiv (shiftr_nat (t * y) EXP_BITS) j
      taylor_lo fuel' (j + 1) y t' (acc + t')
termination_by structural fuel

/-- Upper Taylor sum, every term rounded up; returns (sum, last term). -/
def taylor_hi (fuel : Nat) (j y t acc : Int) : Int × Int :=
  match fuel with
  | 0 => (acc, t)
  | fuel' + 1 =>
      let t' := ceil_div (ceil_shift (t * y) EXP_BITS) j
      taylor_hi fuel' (j + 1) y t' (acc + t')
termination_by structural fuel

def square_lo (k : Nat) (z : Int) : Int :=
  match k with
  | 0 => z
  | k' + 1 => square_lo k' (shiftr_nat (z * z) EXP_BITS)
termination_by structural k

def square_hi (k : Nat) (z : Int) : Int :=
  match k with
  | 0 => z
  | k' + 1 => square_hi k' (ceil_shift (z * z) EXP_BITS)
termination_by structural k

/-- The two halves of the doc's `exp_pos`, computed separately (each caller
needs only one). Spec, for `a > 0`, `c > 0`, `s >= 0` and `x = a / (c 2^s)`:
`exp_pos_lo a c s / 2^64 <= exp x <= exp_pos_hi a c s / 2^64`. -/
def exp_pos_lo (a c s : Int) : Int :=
  let k := exp_pos_k a c s
  let yl := zdiv (shift_floor a (Int.ofNat EXP_BITS - s - k)) c
  square_lo k.toNat (taylor_lo TAYLOR_N 1 yl (pow2 EXP_BITS) (pow2 EXP_BITS))

def exp_pos_hi (a c s : Int) : Int :=
  let k := exp_pos_k a c s
  let yh := ceil_div (shift_ceil a (Int.ofNat EXP_BITS - s - k)) c
  match taylor_hi TAYLOR_N 1 yh (pow2 EXP_BITS) (pow2 EXP_BITS) with
  | (sum, t) =>
    let hi := sum + ceil_div (ceil_shift (2 * t * yh) EXP_BITS) (Int.ofNat TAYLOR_N + 1)
    square_hi k.toNat hi

def exp_pos (a c s : Int) : Int × Int := (exp_pos_lo a c s, exp_pos_hi a c s)

/-- Spec: `0 < c -> 0 <= s -> exp_lo a c s / 2^64 <= exp (a / (c 2^s))`. -/
def exp_lo (a c s : Int) : Int :=
  bif zeqb a 0 then pow2 EXP_BITS
  else bif zltb 0 a then exp_pos_lo a c s
  else zdiv (pow2 (2 * EXP_BITS)) (exp_pos_hi (- a) c s)

/-- Spec: `0 < c -> 0 <= s -> exp (a / (c 2^s)) <= exp_hi a c s / 2^64`. -/
def exp_hi (a c s : Int) : Int :=
  bif zeqb a 0 then pow2 EXP_BITS
  else bif zltb 0 a then exp_pos_hi a c s
  else ceil_div (pow2 (2 * EXP_BITS)) (exp_pos_lo (- a) c s)

/-- The exponent argument of a score difference `D * 2^(4 e0)`: `(a_lo, a_hi)`.
Spec: `sqrt_hint_ok h r = true -> a_lo / (h 2^S) <= D 2^(4 e0) / sqrt h <= a_hi / (h 2^S)`
with `S = 64 - 4 e0`. -/
def exp_arguments (r : Int × Int) (D : Int) : Int × Int :=
  match r with
  | (r_lo, r_hi) => bif zleb 0 D then (D * r_lo, D * r_hi) else (D * r_hi, D * r_lo)

/-- Limit (doc, "Limits"): an exp argument `|x| = |a| / (h 2^S)` above `2^16` is refused, as by
the standalone checker and Coq (exp of a huge argument would take very long). `S >= 0`. -/
def MAX_EXP_ARG_LOG2 : Nat := 16
def exp_arg_small (h S a : Int) : Bool :=
  zleb (Int.ofNat a.natAbs) (shiftl_nat (shiftl_nat h S.toNat) MAX_EXP_ARG_LOG2)

/-- Spec: `sqrt_hint_ok h r = true -> hint_ok h r S D (L, H) = true ->
L / 2^40 <= exp (D 2^(4 e0) / sqrt h) <= H / 2^40`, where `S = 64 - 4 e0`. -/
def hint_ok (h : Int) (r : Int × Int) (S D : Int) (hint : Int × Int) : Bool :=
  match hint, exp_arguments r D with
  | (L, H), (a_lo, a_hi) =>
    if exp_arg_small h S a_lo && exp_arg_small h S a_hi then
      zleb 0 L && zleb L H
      && zleb (shiftl_nat L (EXP_BITS - HINT_BITS)) (exp_lo a_lo h S)
      && zleb (exp_hi a_hi h S) (shiftl_nat H (EXP_BITS - HINT_BITS))
    else false

/-- One row of hints: `D = row[i] - ref` for each `i`; lengths must agree. -/
def hint_row_ok (h : Int) (r : Int × Int) (S ref : Int) (row : List Int) (hints : List (Int × Int)) : Bool :=
  match row, hints with
  | [], [] => true
  | x :: row', hint :: hints' => hint_ok h r S (x - ref) hint && hint_row_ok h r S ref row' hints'
  | _, _ => false
termination_by structural row

/-- `attn_token[q][t]` for `D = EQKE[q,t] - EQKE[q,q]`. Spec: for all `q, t < v`,
`attn_token[q][t]` encloses `exp(score(q; t) - score(q; q))` (token parts). -/
def attn_token_ok (h : Int) (r : Int × Int) (S : Int) (q : Nat) (eqke : matrix)
    (hints : List (List (Int × Int))) : Bool :=
  match eqke, hints with
  | [], [] => true
  | row :: eqke', hrow :: hints' =>
      hint_row_ok h r S (nth q row 0) row hrow && attn_token_ok h r S (q + 1) eqke' hints'
  | _, _ => false
termination_by structural eqke

/-- `attn_pos[q][p]` for `D = EQKP[q,p] - EQKP[q,n-1]`. -/
def attn_pos_ok (h : Int) (r : Int × Int) (S : Int) (eqkp : matrix)
    (hints : List (List (Int × Int))) : Bool :=
  match eqkp, hints with
  | [], [] => true
  | row :: eqkp', hrow :: hints' =>
      hint_row_ok h r S (last row 0) row hrow && attn_pos_ok h r S eqkp' hints'
  | _, _ => false
termination_by structural eqkp

/-! ## 7. Brute force (doc, section 5) -/

/-- Logit tables. Spec: `logit_lo sc X / 2^32 <= X 2^sc <= logit_hi sc X / 2^32`. -/
def logit_lo (sc X : Int) : Int := shift_floor X (sc + Int.ofNat LOGIT_BITS)
def logit_hi (sc X : Int) : Int := shift_ceil X (sc + Int.ofNat LOGIT_BITS)

def table_lo (sc : Int) (m : matrix) : matrix := List.map (List.map (logit_lo sc)) m
def table_hi (sc : Int) (m : matrix) : matrix := List.map (List.map (logit_hi sc)) m

/-- One position p of an input, holding token t, for the query token q: its
attention weight bounds (wl, wh) and the rows it adds up, kept apart so
that only what is needed is added:
  `Gl[y] = base_l[y] + ev_l[y]` with `base_l = EUl[q] + PVl[p]`, `ev_l = EVl[t]`,
  `Gh[y] = base_h[y] + ev_h[y]` with `base_h = EUh[q] + PVh[p]`, `ev_h = EVh[t]`,
so that `gl_p(y) = Gl[m] - Gh[y]` and `gh_p(y) = Gh[m] - Gl[y]`.
Spec: `wl / 2^40 <= exp(score_p - score_ref) <= wh / 2^40`, and
`Gl[y] / 2^32 <= EUPU[q,y] 2^(2e0) + (EVOU[t,y] + PVOU[p,y]) 2^(4e0) <= Gh[y] / 2^32`. -/
structure position where
  wl : Int
  wh : Int
  base_l : List Int
  base_h : List Int
  ev_l : List Int
  ev_h : List Int

/-- `wl_p = (L_tok L_pos) >> 40`, `wh_p = ceil_shift(H_tok H_pos, 40)`. -/
def attn_weight_lo (tok pos : Int × Int) : Int := shiftr_nat (tok.1 * pos.1) HINT_BITS
def attn_weight_hi (tok pos : Int × Int) : Int := ceil_shift (tok.2 * pos.2) HINT_BITS

/-- The terms of `low_y` and `up_y`. -/
def low_term (wl wh g : Int) : Int := bif zleb 0 g then wl * g else wh * g
def up_term (wl wh g : Int) : Int := bif zleb 0 g then wh * g else wl * g

/-- `acc[y] + low_term wl wh (cl - (bh[y] + eh[y]))` for every y. -/
def add_low_terms (wl wh cl : Int) (acc bh eh : List Int) : List Int :=
  match acc, bh, eh with
  | a :: acc', x :: bh', e :: eh' =>
      (a + low_term wl wh (cl - (x + e))) :: add_low_terms wl wh cl acc' bh' eh'
  | _, _, _ => []
termination_by structural acc

/-- `acc[y] + up_term wl wh (ch - (bl[y] + el[y]))` for every y. -/
def add_up_terms (wl wh ch : Int) (acc bl el : List Int) : List Int :=
  match acc, bl, el with
  | a :: acc', x :: bl', e :: el' =>
      (a + up_term wl wh (ch - (x + e))) :: add_up_terms wl wh ch acc' bl' el'
  | _, _, _ => []
termination_by structural acc

def zero_row (ps : List position) : List Int :=
  match ps with
  | [] => []
  | p :: _ => p.base_l.map fun _ => 0

/-- `low_y` (resp. `up_y`) for all y at once, as a row. Spec: for every y,
`low_y / 2^72 <= sum_p w_p (logit_p[m] - logit_p[y]) <= up_y / 2^72` with
the true weights `w_p = exp(score_p - score_ref)` (unnormalised), where
`logit_p[y] = EUPU[q,y] 2^(2e0) + (EVOU[t_p,y] + PVOU[p,y]) 2^(4e0)`. -/
def low_row (m : Nat) (ps : List position) : List Int :=
  ps.foldl (fun acc (p : position) => add_low_terms p.wl p.wh (nth m p.base_l 0 + nth m p.ev_l 0) acc p.base_h p.ev_h)
    (zero_row ps)

def up_row (m : Nat) (ps : List position) : List Int :=
  ps.foldl (fun acc (p : position) => add_up_terms p.wl p.wh (nth m p.base_h 0 + nth m p.ev_h 0) acc p.base_l p.ev_l)
    (zero_row ps)

inductive verdict where
  | Correct
  | Wrong
  | Undecided

/-- Over y = 0, 1, ...: every y <> m has low_y > 0 (`all_pos_except`), some
y <> m has up_y <= 0 (`some_nonpos_except`). -/
def all_pos_except (m y : Int) (l : List Int) : Bool :=
  match l with
  | [] => true
  | x :: l' => (zeqb y m || zltb 0 x) && all_pos_except m (y + 1) l'
termination_by structural l

def some_nonpos_except (m y : Int) (l : List Int) : Bool :=
  match l with
  | [] => false
  | x :: l' => ((! zeqb y m) && zleb x 0) || some_nonpos_except m (y + 1) l'
termination_by structural l

/-- Spec: `decide_input` returns `Correct` only if the model is correct on the
input (logit[m] > logit[y] for all y <> m), `Wrong` only if it is not. -/
def decide_input (m : Int) (ps : List position) : verdict :=
  bif all_pos_except m 0 (low_row m.toNat ps) then verdict.Correct
  else bif some_nonpos_except m 0 (up_row m.toNat ps) then verdict.Wrong
  else verdict.Undecided

/-- A token's data for a fixed query q: (t, EVl[t], EVh[t], attn_token[q][t]). -/
structure token where
  tok : Int
  EVl_t : List Int
  EVh_t : List Int
  hint_tok : Int × Int

/-- A position's data for a fixed query q: (EUl[q] + PVl[p], EUh[q] + PVh[p], attn_pos[q][p]). -/
structure slot where
  slot_l : List Int
  slot_h : List Int
  hint_pos : Int × Int

def position_of (s : slot) (t : token) : position :=
  ⟨attn_weight_lo t.hint_tok s.hint_pos, attn_weight_hi t.hint_tok s.hint_pos,
   s.slot_l, s.slot_h, t.EVl_t, t.EVh_t⟩

def count_verdict (acc : Int × Int) (r : verdict) : Int × Int :=
  match r with
  | verdict.Correct => (acc.1 + 1, acc.2)
  | verdict.Wrong => (acc.1, acc.2 + 1)
  | verdict.Undecided => acc

/-- All inputs with query token `qt` in the last slot: the tokens of slots
0..n-2 range over `toks` (every combination exactly once). `chosen` holds
the slots filled so far, in order, and `mx` their largest token. (The count
is forced after every input: `fold_left_strict strict_pair`.) -/
def count_inputs (toks : List token) (qt : token) (last_slot : slot)
    (slots : List slot) (chosen : List position) (mx : Int) (acc : Int × Int) : Int × Int :=
  match slots with
  | [] => count_verdict acc (decide_input (zmax mx qt.tok) (chosen ++ [position_of last_slot qt]))
  | s :: slots' =>
      fold_left_strict strict_pair (fun acc (t : token) =>
        count_inputs toks qt last_slot slots' (chosen ++ [position_of s t]) (zmax mx t.tok) acc) acc toks
termination_by structural slots

def make_tokens (t : Int) (evl evh : matrix) (hints : List (Int × Int)) : List token :=
  match evl, evh, hints with
  | l :: evl', h :: evh', x :: hints' => ⟨t, l, h, x⟩ :: make_tokens (t + 1) evl' evh' hints'
  | _, _, _ => []
termination_by structural evl

def make_slots (eul euh : List Int) (pvl pvh : matrix) (hints : List (Int × Int)) : List slot :=
  match pvl, pvh, hints with
  | l :: pvl', h :: pvh', x :: hints' => ⟨vadd eul l, vadd euh h, x⟩ :: make_slots eul euh pvl' pvh' hints'
  | _, _, _ => []
termination_by structural pvl

/-- Loop over the query token q (the rows of EUl, EUh, attn_token, attn_pos). -/
def count_queries (q : Int) (eul euh evl evh pvl pvh : matrix)
    (tok_hints pos_hints : List (List (Int × Int))) (acc : Int × Int) : Int × Int :=
  match eul, euh, tok_hints, pos_hints with
  | eulq :: eul', euhq :: euh', thq :: th', phq :: ph' =>
      let toks := make_tokens 0 evl evh thq
      let slots := make_slots eulq euhq pvl pvh phq
      let qt := nth q.toNat toks (token.mk q [] [] (0, 0))
      strict_pair (count_inputs toks qt (last slots (slot.mk [] [] (0, 0))) (removelast slots) [] q acc)
        fun acc' => count_queries (q + 1) eul' euh' evl evh pvl pvh th' ph' acc'
  | _, _, _, _ => acc
termination_by structural eul

/-- (proven_correct, proven_wrong) over all v^n inputs, given verified hints.
Spec: with sound hints, `proven_correct_count <= #{x | model correct on x}`
and `proven_wrong_count <= #{x | model wrong on x}`. -/
def brute_force_counts (e0 : Int) (dv : derived) (tok_hints pos_hints : List (List (Int × Int))) : Int × Int :=
  let sc2 := 2 * e0
  let sc4 := 4 * e0
  count_queries 0 (table_lo sc2 dv.EUPU) (table_hi sc2 dv.EUPU)
    (table_lo sc4 dv.EVOU) (table_hi sc4 dv.EVOU)
    (table_lo sc4 dv.PVOU) (table_hi sc4 dv.PVOU)
    tok_hints pos_hints (0, 0)

/-! ## 8. The certificate and its check -/

structure parameters where
  sqrt_bits : Nat
  hint_bits : Nat
  exp_bits : Nat
  taylor_n : Nat
  logit_bits : Nat

def parameters_ok (p : parameters) : Bool :=
  Nat.beq p.sqrt_bits SQRT_BITS && Nat.beq p.hint_bits HINT_BITS && Nat.beq p.exp_bits EXP_BITS
  && Nat.beq p.taylor_n TAYLOR_N && Nat.beq p.logit_bits LOGIT_BITS

structure certificate where
  cert_config : config
  cert_tensors : List tensor                   -- sorted by name
  cert_parameters : parameters
  hint_sqrt_d_head : Int × Int                 -- [R_lo, R_hi]
  hint_attn_token : List (List (Int × Int))    -- v x v of [L, H]
  hint_attn_pos : List (List (Int × Int))      -- v x n of [L, H]
  claimed_sha256 : Nat
  claimed_inputs : Int
  claimed_correct : Int
  claimed_wrong : Int
  claimed_lower_bound : Int × Int              -- numerator, denominator
  claimed_upper_bound : Int × Int

/-- The SHA-256 of the certificate's weights. -/
def weights_sha256 (c : certificate) : Nat := weights_sha256_of c.cert_tensors

/-- v^n. -/
def num_inputs (c : certificate) : Int := Int.ofNat (c.cert_config.d_vocab ^ c.cert_config.n_ctx)

/-- The counts, when the model is a well-formed Max-of-K model and every
hint is verified; `none` otherwise. -/
def certified_counts (c : certificate) : Option (Int × Int) :=
  let cf := c.cert_config
  let ts := c.cert_tensors
  bif parameters_ok c.cert_parameters && model_ok cf ts then
    let e0 := global_scale ts
    let dv := derive cf ts e0
    let h := Int.ofNat cf.d_head
    let r := c.hint_sqrt_d_head
    let S := Int.ofNat SQRT_BITS - 4 * e0
    bif sqrt_hint_ok h r && attn_token_ok h r S 0 dv.EQKE c.hint_attn_token
        && attn_pos_ok h r S dv.EQKP c.hint_attn_pos
    then some (brute_force_counts e0 dv c.hint_attn_token c.hint_attn_pos)
    else none
  else none

/-- proven_correct / proven_wrong: the counts of section 5, or 0 when the
model is malformed or a hint fails. -/
def proven_correct (c : certificate) : Int :=
  match certified_counts c with
  | some (pc, _) => pc
  | none => 0

def proven_wrong (c : certificate) : Int :=
  match certified_counts c with
  | some (_, pw) => pw
  | none => 0

/-- (Lean only) What `check` tests, as a proposition: the counts exist (model
and hints verified), the hash, the claimed counts and the fractions. The
first four conjuncts after the first are the conclusion of `check_sound`. -/
-- The hash comes first: deciding `∧` stops at the first false conjunct, so altered
-- weights are rejected before any expensive computation (as in the Coq `check`).
abbrev claim_holds (c : certificate) : Prop :=
  weights_sha256 c = c.claimed_sha256
  ∧ (certified_counts c).isSome = true
  ∧ num_inputs c = c.claimed_inputs
  ∧ c.claimed_correct ≤ proven_correct c
  ∧ c.claimed_wrong ≤ proven_wrong c
  ∧ 0 ≤ c.claimed_correct
  ∧ 0 ≤ c.claimed_wrong
  ∧ c.claimed_lower_bound = (c.claimed_correct, num_inputs c)
  ∧ c.claimed_upper_bound = (num_inputs c - c.claimed_wrong, num_inputs c)

/-- The whole check of the doc: hash, model, hints, counts, fractions. -/
def check (c : certificate) : Bool := decide (claim_holds c)

/-- The reflection lemma: a certificate that passes `check` states true facts
about its own weights. (Soundness, later: `proven_correct c` is at most the
number of inputs on which the real-number model of these weights is
correct, and `proven_wrong c` at most the number where it is wrong.) -/
theorem check_sound (c : certificate) (h : check c = true) :
    weights_sha256 c = c.claimed_sha256 ∧ num_inputs c = c.claimed_inputs
    ∧ c.claimed_correct ≤ proven_correct c ∧ c.claimed_wrong ≤ proven_wrong c :=
  have hc : claim_holds c := of_decide_eq_true h
  ⟨hc.1, hc.2.2.1, hc.2.2.2.1, hc.2.2.2.2.1⟩

/-! ## 9. The cubic proof (doc, section 7) (Lean only: same hints, tables and
constants as sections 1-5; names follow the doc) -/

/-- `[start, start+1, ..., start+count-1]`. -/
def range_from (start count : Nat) : List Nat :=
  match count with
  | 0 => []
  | count' + 1 => start :: range_from (start + 1) count'
termination_by structural count

/-- Sum of naturals, forced at every step. -/
def sum_nat (l : List Nat) : Nat := fold_left_strict strict_nat (· + ·) 0 l

/-- `binomial n k` = n choose k (Pascal's rule). -/
def binomial (n k : Nat) : Nat :=
  match n, k with
  | _, 0 => 1
  | 0, _ + 1 => 0
  | n' + 1, k' + 1 => binomial n' k' + binomial n' (k' + 1)
termination_by structural n

/-- Pointwise maximum of a non-empty list of rows (`[]` for no rows). -/
def rows_max (rows : matrix) : List Int :=
  match rows with
  | [] => []
  | r :: rest => List.foldl (fun acc x => map2 zmax acc x) r rest

/-- The largest entry of `l` at an index `y <> m` (scanning from index `y`);
`none` when there is none. -/
def max_except_from (m y : Nat) (l : List Int) (best : Option Int) : Option Int :=
  match l with
  | [] => best
  | x :: l' =>
      bif Nat.beq y m then max_except_from m (y + 1) l' best
      else match best with
        | none => max_except_from m (y + 1) l' (some x)
        | some b => strict_int (zmax b x) fun b' => max_except_from m (y + 1) l' (some b')
termination_by structural l

/-- `max_{y <> m} l[y]` (0 if `l` has no such index: never, as `v >= 2`). -/
def max_except (m : Nat) (l : List Int) : Int := (max_except_from m 0 l none).getD 0

/-- `PVpess[m][y] = max_{p < n} (PVh[p][y] - PVl[p][m])`, for every y. -/
def pv_pess (m : Nat) (pvl pvh : matrix) : List Int :=
  rows_max (map2 (fun (l h : List Int) => h.map fun x => x - nth m l 0) pvl pvh)

/-- `W[m][t] = max_{y <> m} (EVh[t][y] - EVl[t][m] + PVpess[m][y])`, for every t. -/
def pess_W (m : Nat) (evl evh : matrix) (pvpess : List Int) : List Int :=
  map2 (fun (l h : List Int) => max_except m (map2 (fun x p => x - nth m l 0 + p) h pvpess)) evl evh

/-- `B[m][q] = max_{y <> m} (EUh[q][y] - EUl[q][m])`, for every q.
(`G[m][q][t] = B[m][q] + W[m][t]`.) -/
def pess_B (m : Nat) (eul euh : matrix) : List Int :=
  map2 (fun (l h : List Int) => max_except m (h.map fun x => x - nth m l 0)) eul euh

/-- Insert position `p` into `l` (sorted by key, ties by position): before
the first element whose key is larger. Inserting 0, 1, 2, ... in turn gives
the order of the doc (key ascending, ties by p ascending). -/
def insert_by_key (keys : List Int) (p : Nat) (l : List Nat) : List Nat :=
  match l with
  | [] => [p]
  | x :: l' => bif zltb (nth p keys 0) (nth x keys 0) then p :: x :: l' else x :: insert_by_key keys p l'
termination_by structural l

/-- The non-query positions `0..n-2` sorted by `EQKP[q][p]` ascending, ties by p. -/
def sort_positions (keys : List Int) (n : Nat) : List Nat :=
  (range_from 0 (n - 1)).foldl (fun acc p => insert_by_key keys p acc) []

/-- `(sum L_pos[q][p], sum H_pos[q][p])` over the positions `idx`. -/
def hint_sum (idx : List Nat) (row : List (Int × Int)) : Int × Int :=
  List.foldl (fun (acc : Int × Int) p => (acc.1 + (nth p row (0, 0)).1, acc.2 + (nth p row (0, 0)).2)) (0, 0) idx

/-- `mul_up([l, h], g) = h * g if g >= 0 else l * g`. -/
def mul_up (w : Int × Int) (g : Int) : Int := bif zleb 0 g then w.2 * g else w.1 * g

/-- `[(L_tok * Sl) >> 40, ceil_shift(H_tok * Sh, 40)]` for a token hint `(L_tok, H_tok)` and a
sum of position hints `(Sl, Sh)`: wM, wK and wQ of the doc. Spec: if the hints enclose their
exp values, the result encloses the total weight `sum_{p in S} exp(score(q; t at p) - score_ref)`
(scale 2^-40). (Used by section 8; `cubic_pass` computes the same pairs inline.) -/
def slot_weight (t S : Int × Int) : Int × Int := (attn_weight_lo t S, attn_weight_hi t S)

/-- The test of one placement: `F < 0`, with `tm, tk, tq` the token hints of
m, k, q, `SM, SK` the position-hint sums of the max and k slots, `SQ` the
hint of the query position, and `gm, gk, gq` = `G[m][q][m], G[m][q][k], G[m][q][q]`. -/
def cubic_pass (tm tk tq SM SK SQ : Int × Int) (gm gk gq : Int) : Bool :=
  let wM := (attn_weight_lo tm SM, attn_weight_hi tm SM)
  let wK := (attn_weight_lo tk SK, attn_weight_hi tk SK)
  let wQ := (attn_weight_lo tq SQ, attn_weight_hi tq SQ)
  zltb (mul_up wM gm + mul_up wK gk + mul_up wQ gq) 0

/-- `good(q, m, k, c)`: the test passes for placements lowM and highM.
`tokq = attn_token[q]`, `posq = attn_pos[q]`, `order` the sorted non-query
positions, `Bmq = B[m][q]`, `Wm = W[m]`. -/
def cubic_good (n m q k c : Nat) (tokq posq : List (Int × Int)) (order : List Nat)
    (Bmq : Int) (Wm : List Int) : Bool :=
  let nm := n - 1 - c
  let tm := nth m tokq (0, 0)
  let tk := nth k tokq (0, 0)
  let tq := nth q tokq (0, 0)
  let SQ := nth (n - 1) posq (0, 0)
  let gm := Bmq + nth m Wm 0
  let gk := Bmq + nth k Wm 0
  let gq := Bmq + nth q Wm 0
  cubic_pass tm tk tq (hint_sum (order.take nm) posq) (hint_sum (order.drop nm) posq) SQ gm gk gq
  && cubic_pass tm tk tq (hint_sum (order.drop c) posq) (hint_sum (order.take c) posq) SQ gm gk gq

/-- The inputs with max m and query q counted by the doc:
`[good(q,m,m,0)] + sum_{c=1..cmax} binomial(n-1, c) * N^c`,
`N = #{k < m : good(q,m,k,c)}`, `cmax = n-1` if `q = m` else `n-2`. -/
def cubic_count_qm (n m q : Nat) (tokq posq : List (Int × Int)) (keys : List Int)
    (Bm Wm : List Int) : Nat :=
  let order := sort_positions keys n
  let Bmq := nth q Bm 0
  let first := bif cubic_good n m q m 0 tokq posq order Bmq Wm then 1 else 0
  let cmax := bif Nat.beq q m then n - 1 else n - 2
  first + sum_nat ((range_from 1 cmax).map fun c =>
    let N := length_nat ((range_from 0 m).filter fun k => cubic_good n m q k c tokq posq order Bmq Wm)
    binomial (n - 1) c * N ^ c)

/-- The count of section 7. Spec: with sound hints, `cubic_count <= #{x | model correct on x}`. -/
def cubic_count (e0 : Int) (dv : derived) (tok_hints pos_hints : List (List (Int × Int))) (v n : Nat) : Nat :=
  let sc2 := 2 * e0
  let sc4 := 4 * e0
  let eul := table_lo sc2 dv.EUPU
  let euh := table_hi sc2 dv.EUPU
  let evl := table_lo sc4 dv.EVOU
  let evh := table_hi sc4 dv.EVOU
  let pvl := table_lo sc4 dv.PVOU
  let pvh := table_hi sc4 dv.PVOU
  sum_nat ((range_from 0 v).map fun m =>
    let Wm := pess_W m evl evh (pv_pess m pvl pvh)
    let Bm := pess_B m eul euh
    sum_nat ((range_from 0 (m + 1)).map fun q =>
      cubic_count_qm n m q (nth q tok_hints []) (nth q pos_hints []) (nth q dv.EQKP []) Bm Wm))

/-- A cubic certificate: no proven_wrong, no upper bound (doc, section 7). -/
structure cubic_certificate where
  cert_config : config
  cert_tensors : List tensor
  cert_parameters : parameters
  hint_sqrt_d_head : Int × Int
  hint_attn_token : List (List (Int × Int))
  hint_attn_pos : List (List (Int × Int))
  claimed_sha256 : Nat
  claimed_inputs : Int
  claimed_correct : Int
  claimed_lower_bound : Int × Int

def cubic_weights_sha256 (c : cubic_certificate) : Nat := weights_sha256_of c.cert_tensors

def cubic_num_inputs (c : cubic_certificate) : Int :=
  Int.ofNat (c.cert_config.d_vocab ^ c.cert_config.n_ctx)

/-- The count, when the model is well formed and every hint verified (the
same checks as `certified_counts`); `none` otherwise. -/
def cubic_certified_count (c : cubic_certificate) : Option Int :=
  let cf := c.cert_config
  let ts := c.cert_tensors
  -- The cubic strategy needs n_ctx >= 2 (doc, section 7): with one position the count
  -- would include inputs (m, ..., m, q) with q < m, which do not exist.
  bif Nat.ble 2 cf.n_ctx && parameters_ok c.cert_parameters && model_ok cf ts then
    let e0 := global_scale ts
    let dv := derive cf ts e0
    let h := Int.ofNat cf.d_head
    let r := c.hint_sqrt_d_head
    let S := Int.ofNat SQRT_BITS - 4 * e0
    bif sqrt_hint_ok h r && attn_token_ok h r S 0 dv.EQKE c.hint_attn_token
        && attn_pos_ok h r S dv.EQKP c.hint_attn_pos
    then some (Int.ofNat (cubic_count e0 dv c.hint_attn_token c.hint_attn_pos cf.d_vocab cf.n_ctx))
    else none
  else none

def cubic_proven_correct (c : cubic_certificate) : Int := (cubic_certified_count c).getD 0

abbrev cubic_claim_holds (c : cubic_certificate) : Prop :=
  cubic_weights_sha256 c = c.claimed_sha256  -- first: see claim_holds
  ∧ (cubic_certified_count c).isSome = true
  ∧ cubic_num_inputs c = c.claimed_inputs
  ∧ c.claimed_correct ≤ cubic_proven_correct c
  ∧ 0 ≤ c.claimed_correct
  ∧ c.claimed_lower_bound = (c.claimed_correct, cubic_num_inputs c)

def cubic_check (c : cubic_certificate) : Bool := decide (cubic_claim_holds c)

theorem cubic_check_sound (c : cubic_certificate) (h : cubic_check c = true) :
    cubic_weights_sha256 c = c.claimed_sha256 ∧ cubic_num_inputs c = c.claimed_inputs
    ∧ c.claimed_correct ≤ cubic_proven_correct c :=
  have hc : cubic_claim_holds c := of_decide_eq_true h
  ⟨hc.1, hc.2.2.1, hc.2.2.2.1⟩

/-! ## 10. The subcubic proofs (doc, section 8)

Strategies "subcubic-gap", "subcubic-rank-one" and "subcubic-rank-one-global".
Same weights, constants, logit tables, sqrt_d_head and attn_pos hints as the
cubic proof, the same certificate record (`cubic_certificate`) and the same
form of claim; n_ctx >= 2. Two more hints are passed beside the record: the
witness `gap` (v x v x (n-1)) and, for the rank-one strategies, `rank_one_hint`
(inside `subcubic_strategy`).

Mirror of part 10 of `MechCert.v`, definition by definition. Where the Coq
library calls its speed helpers (`slot_weight_mul_up`, `cubic_good` over
`cubic_pass` / `mul_add_ltb0` / `prod_ltb`, which decide a sign from sizes),
this file computes the plain products they are proved equal to: the kernel
multiplies `Nat` with GMP. The claim test is the Lean-only `subcubic_claim_holds`
(the conditions of `cubic_claim_holds`, with the subcubic count), as the cubic
check states its claim inline.

Cost (v tokens, n positions, d = d_model, h = d_head): the matrices O(v^2 d)
(subcubic-gap: `derive`; the rank-one strategies never form the v x v product
EQKE: `subcubic_derive` gives X = Eq Q and Y = E K, v x h, instead); the token
hints O(v^2) exp bounds; the direct tables O(v^2 + n v) (`subcubic_top` finds
every max_{y <> m} of a row from its two largest entries); one test per
(q, m, c, placement), O(v^2 n). -/

/-- A list predicate of two lists of the same length. -/
def forall2b {α β : Type} (f : α → β → Bool) (a : List α) (b : List β) : Bool :=
  match a, b with
  | [], [] => true
  | x :: a', y :: b' => f x y && forall2b f a' b'
  | _, _ => false
termination_by structural a

/-- `map_with_index f [x0, x1, ...] = [f 0 x0, f 1 x1, ...]`. -/
def map_with_index_from {α β : Type} (f : Nat → α → β) (i : Nat) (l : List α) : List β :=
  match l with
  | [] => []
  | x :: l' => f i x :: map_with_index_from f (i + 1) l'
termination_by structural l

def map_with_index {α β : Type} (f : Nat → α → β) (l : List α) : List β := map_with_index_from f 0 l

/-- Spec: `0 <= x -> ceil_sqrt x` = the least `r >= 0` with `r * r >= x`
(so `sqrt x <= ceil_sqrt x`). (`int_sqrt` is Coq's `Z.sqrt`, the floor square root.) -/
def ceil_sqrt (x : Int) : Int :=
  let r := int_sqrt x
  bif zeqb (r * r) x then r else r + 1

/-- The strategy, with its rank_one hint (doc, 8.1): the lists centre (h
integers), direction (h) and beta (v). Any integers are sound. -/
structure rank_one_hint where
  rank_one_centre : List Int
  rank_one_direction : List Int
  rank_one_beta : List Int

inductive subcubic_strategy where
  | subcubic_gap                                   -- "subcubic-gap"
  | subcubic_rank_one (r1 : rank_one_hint)         -- "subcubic-rank-one"
  | subcubic_rank_one_global (r1 : rank_one_hint)  -- "subcubic-rank-one-global"

/-- The matrices of the rank-one strategies: `derived` without EQKE, and
its factors X and Y (EQKE = X Y^T). -/
structure subcubic_derived where
  sd_X : matrix      -- X = Eq Q, v x h, scale 2^(2 e0)
  sd_Y : matrix      -- Y = E K, v x h, scale 2^(2 e0)
  sd_EQKP : matrix   -- v x n, scale 2^(4 e0), as in `derived`
  sd_EUPU : matrix   -- v x v, scale 2^(2 e0)
  sd_EVOU : matrix   -- v x v, scale 2^(4 e0)
  sd_PVOU : matrix   -- n x v, scale 2^(4 e0)

/-- Spec: with the exact weights and Eq = E + P[n-1], `sd_X * 2^(2 e0) = Eq Q`,
`sd_Y * 2^(2 e0) = E K`, and the other four as in `derive` (EQKP = X (P K)^T). -/
def subcubic_derive (c : config) (ts : List tensor) (e0 : Int) : subcubic_derived :=
  let v := c.d_vocab
  let n := c.n_ctx
  let d := c.d_model
  let h := c.d_head
  let E := weight_matrix ts e0 "embed.W_E" v d
  let P := weight_matrix ts e0 "pos_embed.W_pos" n d
  let Q := weight_matrix ts e0 "blocks.0.attn.W_Q" d h
  let K := weight_matrix ts e0 "blocks.0.attn.W_K" d h
  let V := weight_matrix ts e0 "blocks.0.attn.W_V" d h
  let O := weight_matrix ts e0 "blocks.0.attn.W_O" h d
  let U := weight_matrix ts e0 "unembed.W_U" d v
  let Eq' := List.map (vadd (last P [])) E      -- Eq = E + P[n-1]
  let Kt := transpose h K                        -- h x d
  let X := mul_t' Eq' (transpose h Q)            -- Eq Q, v x h
  let Y := mul_t' E Kt                           -- E K, v x h
  let PK := mul_t' P Kt                          -- P K, n x h
  let Ut := transpose v U                        -- v x d
  let VO := mul_t V (transpose d O)              -- V O, d x d
  let VOUt := mul_t Ut VO                        -- (V O U)^T, v x d
  { sd_X := X, sd_Y := Y, sd_EQKP := mul_t X PK, sd_EUPU := mul_t' Eq' Ut,
    sd_EVOU := mul_t E VOUt, sd_PVOU := mul_t P VOUt }

/-! ### Token hints by a score interval (doc, 8.1) -/

/-- An exp hint for every score difference in `[Dlo, Dhi]`: `a_lo` from `Dlo`,
`a_hi` from `Dhi` (section 4's `exp_arguments` at each end).
Spec: `sqrt_hint_ok h r = true -> subcubic_hint_ok h r S (Dlo, Dhi) (L, H) = true ->`
for every `D` with `Dlo <= D <= Dhi`, `L / 2^40 <= exp (D 2^(4 e0) / sqrt h) <= H / 2^40`,
where `S = 64 - 4 e0` (exp is increasing). With `Dlo = Dhi = D` it is `hint_ok`. -/
def subcubic_hint_ok (h : Int) (r : Int × Int) (S : Int) (D : Int × Int) (hint : Int × Int) : Bool :=
  match hint with
  | (L, H) =>
    let a_lo := (exp_arguments r D.1).1
    let a_hi := (exp_arguments r D.2).2
    if exp_arg_small h S a_lo && exp_arg_small h S a_hi then
      zleb 0 L && zleb L H
      && zleb (shiftl_nat L (EXP_BITS - HINT_BITS)) (exp_lo a_lo h S)
      && zleb (exp_hi a_hi h S) (shiftl_nat H (EXP_BITS - HINT_BITS))
    else false

/-- `R[k] = Y[k] - centre - beta[k] * direction`, for every k. -/
def subcubic_rank_one_residuals (Y : matrix) (r1 : rank_one_hint) : matrix :=
  map2 (fun (yk : List Int) (bk : Int) =>
      map2 (· - ·) (map2 (· - ·) yk r1.rank_one_centre) (r1.rank_one_direction.map fun (x : Int) => bk * x))
    Y r1.rank_one_beta

/-- The largest entry of a list of non-negative integers (0 if empty). -/
def max_nonneg (l : List Int) : Int := fold_left_strict strict_int zmax 0 l

/-- `[Dlo, Dhi]` of the doc for every q, t (rows q): `(0, 0)` at `t = q`, else
`(mid - e(q, t), mid + e(q, t))` with `mid = (beta[t] - beta[q]) (X[q] . direction)`,
`e(q, t) = rX[q] (rR[t] + rR[q])`, or `2 max rX max rR` when `use_global`,
`rX[q] = ceil_sqrt(X[q] . X[q])` and `rR[k] = ceil_sqrt(R[k] . R[k])`.
Spec: for any integer hint, `Dlo[q][t] <= EQKE[q,t] - EQKE[q,q] <= Dhi[q][t]`,
because `EQKE[q,t] - EQKE[q,q] = X[q] . (Y[t] - Y[q])
= (beta[t] - beta[q]) (X[q] . direction) + X[q] . (R[t] - R[q])` and, by
Cauchy-Schwarz, `|X[q] . (R[t] - R[q])| <= |X[q]| (|R[t]| + |R[q]|) <= e(q, t)`. -/
def subcubic_rank_one_intervals (use_global : Bool) (X Y : matrix) (r1 : rank_one_hint) :
    List (List (Int × Int)) :=
  let beta := r1.rank_one_beta
  let rR := (subcubic_rank_one_residuals Y r1).map fun (x : List Int) => ceil_sqrt (dot x x)
  let rX := X.map fun (x : List Int) => ceil_sqrt (dot x x)
  let e_global := 2 * max_nonneg rX * max_nonneg rR
  map_with_index
    (fun (q : Nat) (xq : List Int) =>
      let bq := nth q beta 0
      let aq := dot xq r1.rank_one_direction
      let rXq := nth q rX 0
      let rRq := nth q rR 0
      map_with_index
        (fun (t : Nat) (bt_rRt : Int × Int) =>
          match bt_rRt with
          | (bt, rRt) =>
            bif Nat.beq t q then ((0 : Int), (0 : Int))
            else
              let mid := (bt - bq) * aq
              let e := bif use_global then e_global else rXq * (rRt + rRq)
              (mid - e, mid + e))
        (List.zip beta rR))
    X

/-- The lists of a rank_one hint have lengths h, h and v. -/
def subcubic_rank_one_hint_ok (v h : Nat) (r1 : rank_one_hint) : Bool :=
  Nat.beq (length_nat r1.rank_one_centre) h && Nat.beq (length_nat r1.rank_one_direction) h
  && Nat.beq (length_nat r1.rank_one_beta) v

/-- The token hints of a rank-one strategy (`use_global` for
subcubic-rank-one-global): the rank_one hint's shape, and `subcubic_hint_ok`
against its intervals. (subcubic-gap uses section 4's `attn_token_ok` against
EQKE.) Spec: the same as `attn_token_ok`: for all q, t < v, `attn_token[q][t]`
encloses `exp(score(q; t) - score(q; q))` (token parts). -/
def subcubic_rank_one_token_ok (use_global : Bool) (r1 : rank_one_hint) (v h : Nat) (r : Int × Int) (S : Int)
    (X Y : matrix) (hints : List (List (Int × Int))) : Bool :=
  bif subcubic_rank_one_hint_ok v h r1
  then forall2b (forall2b (subcubic_hint_ok (Int.ofNat h) r S)) (subcubic_rank_one_intervals use_global X Y r1) hints
  else false

/-! ### Direct path by max differences (doc, 8.2) -/

/-- The index of the largest entry (the first one), the largest entry, and
the largest entry at any other index, of `[b1 at i, b2, l]` (`b1 >= b2`; `l`
starts at index `y`). -/
def subcubic_top_two (y i : Nat) (b1 b2 : Int) (l : List Int) : Nat × Int × Int :=
  match l with
  | [] => (i, b1, b2)
  | x :: l' =>
      bif zltb b1 x then subcubic_top_two (y + 1) y x b1 l'
      else strict_int (zmax b2 x) fun b2' => subcubic_top_two (y + 1) i b1 b2' l'
termination_by structural l

/-- Spec: for a row of length >= 2, `subcubic_top row = [top(row, m) for
m = 0..len-1]` with `top(row, m) = max_{y <> m} row[y]` (= `max_except m row`). -/
def subcubic_top (row : List Int) : List Int :=
  match row with
  | x0 :: x1 :: rest =>
      match (bif zltb x0 x1 then subcubic_top_two 2 1 x1 x0 rest else subcubic_top_two 2 0 x0 x1 rest) with
      | (i, b1, b2) => map_with_index (fun (m : Nat) (_ : Int) => bif Nat.beq m i then b2 else b1) row
  | _ => row.map fun (_ : Int) => (0 : Int)   -- never: v >= 2

/-- Row r, entry m: `top(hi[r], m) - lo[r][m]`.
Spec: for all r, m and y <> m, `hi[r][y] - lo[r][m] <= subcubic_max_differences lo hi [r][m]`. -/
def subcubic_max_differences (lo hi : matrix) : matrix :=
  map2 (fun (l h : List Int) => map2 (· - ·) (subcubic_top h) l) lo hi

/-- `Wd[m][t] = top(EVh[t], m) - EVl[t][m] + PVs[m]` (rows m), with
`PVs[m] = max_p (top(PVh[p], m) - PVl[p][m])`.
Spec: `Wd[m][t] >= ` section 7's `W[m][t]`. With `B[m][q] = top(EUh[q], m) -
EUl[q][m]` (section 7's B), for every input with query q, max m, tokens t_p
and every y <> m, `logit[y] - logit[m] <= sum_p a_p (B[m][q] + Wd[m][t_p]) / 2^32`. -/
def subcubic_Wd (v : Nat) (evl evh pvl pvh : matrix) : matrix :=
  let PVs := rows_max (subcubic_max_differences pvl pvh)
  transpose v ((subcubic_max_differences evl evh).map fun (row : List Int) => vadd row PVs)

/-! ### Attention by the smallest gap, the witness and the count (doc, 8.3) -/

/-- `[max_{k < N} l[k] for N = 1..len l]`: `Wpre[m]` from `Wd[m]`. -/
def subcubic_prefix_max_from (acc : Int) (l : List Int) : List Int :=
  match l with
  | [] => []
  | x :: l' =>
      let a := zmax acc x
      a :: subcubic_prefix_max_from a l'
termination_by structural l

def subcubic_prefix_max (l : List Int) : List Int :=
  match l with
  | [] => []
  | x :: l' => x :: subcubic_prefix_max_from x l'

/-- `[(Lpre[q][N], Hpre[q][N]) for N = 1..v] = [(min_{k<N} L_tok[q][k], max_{k<N} H_tok[q][k])]`.
Spec: if every `attn_token[q][k]` encloses `e_k`, then for every `k < N`,
`Lpre[q][N] <= e_k <= Hpre[q][N]`. -/
def subcubic_prefix_hints_from (acc : Int × Int) (l : List (Int × Int)) : List (Int × Int) :=
  match l with
  | [] => []
  | x :: l' =>
      let a := (zmin acc.1 x.1, zmax acc.2 x.2)
      a :: subcubic_prefix_hints_from a l'
termination_by structural l

def subcubic_prefix_hints (l : List (Int × Int)) : List (Int × Int) :=
  match l with
  | [] => []
  | x :: l' => x :: subcubic_prefix_hints_from x l'

/-- What one count c of k slots needs for a fixed query q: the hint sums of
the max slots M and the k slots K of the placements lowM and highM
(section 7). -/
structure subcubic_slots where
  ss_c : Int               -- c, the number of k slots
  ss_binom : Int           -- binomial (n-1) c
  ss_SM_low : Int × Int    -- (SMl, SMh) of lowM
  ss_SK_low : Int × Int    -- (SKl, SKh) of lowM
  ss_SM_high : Int × Int   -- (SMl, SMh) of highM
  ss_SK_high : Int × Int   -- (SKl, SKh) of highM

def subcubic_slots_of (posq : List (Int × Int)) (order : List Nat) (n c : Nat) : subcubic_slots :=
  let nm := n - 1 - c
  { ss_c := Int.ofNat c, ss_binom := Int.ofNat (binomial (n - 1) c),
    ss_SM_low := hint_sum (order.take nm) posq, ss_SK_low := hint_sum (order.drop nm) posq,
    ss_SM_high := hint_sum (order.drop c) posq, ss_SK_high := hint_sum (order.take c) posq }

/-- What the count needs for one query token q. -/
structure subcubic_query where
  sq_tok : List (Int × Int)        -- attn_token[q]
  sq_pre : List (Int × Int)        -- (Lpre[q][N], Hpre[q][N]) for N = 1..v
  sq_wQ : Int × Int                -- wQ
  sq_c0 : subcubic_slots           -- c = 0
  sq_cs : List subcubic_slots      -- c = 1, 2, ..., n-1

def subcubic_query_of (n q : Nat) (keys : List Int) (tokq posq : List (Int × Int)) : subcubic_query :=
  let order := sort_positions keys n
  { sq_tok := tokq, sq_pre := subcubic_prefix_hints tokq,
    sq_wQ := slot_weight (nth q tokq (0, 0)) (nth (n - 1) posq (0, 0)),
    sq_c0 := subcubic_slots_of posq order n 0,
    sq_cs := (range_from 1 (n - 1)).map (subcubic_slots_of posq order n) }

/-- `sgood(q, m, c, N)` of the doc, for the placements of `ss` (c k slots),
with `tm = attn_token[q][m]`, `b = B[m][q]`, `gM = b + Wd[m][m]`,
`mQ = mul_up(wQ, b + Wd[m][q])`, `pre = sq_pre` of q and `Wprem = Wpre[m]`:
`F = mul_up(wM, gM) + mQ`, plus `mul_up(wK, b + Wpre[m][N])` when `N >= 1`, with
`wK = slot_weight (Lpre[q][N], Hpre[q][N]) SK`; pass iff `F < 0` for lowM and highM.
(Coq decides the N >= 1 case with its `cubic_good`, proved equal to these two tests.)
Spec (the doc's "Why"): if the hints are verified and `subcubic_good .. ss N = true`,
the model is correct on every input with query q (at position n-1) and max m
whose non-query positions hold m at n-1-c of them and tokens < N at the
other c (for c = 0, N = 0: the input (m, ..., m, q)). -/
def subcubic_good (pre : List (Int × Int)) (Wprem : List Int) (tm : Int × Int) (b gM mQ : Int)
    (ss : subcubic_slots) (N : Int) : Bool :=
  let mq_low := mul_up (slot_weight tm ss.ss_SM_low) gM + mQ
  let mq_high := mul_up (slot_weight tm ss.ss_SM_high) gM + mQ
  bif zeqb N 0 then zltb mq_low 0 && zltb mq_high 0
  else
    let i := (N - 1).toNat
    let tk := nth i pre (0, 0)
    let gK := b + nth i Wprem 0
    zltb (mul_up (slot_weight tk ss.ss_SK_low) gK + mq_low) 0
    && zltb (mul_up (slot_weight tk ss.ss_SK_high) gK + mq_high) 0

/-- Over c = 1..n-1 along the witnesses `N = gap[q][m][c-1]`: `acc` plus
`binomial(n-1, c) * N^c`, or `none` when a witness fails. A case (`c <= cmax`)
needs `0 <= N <= m` and, if `N >= 1`, `good ss N` (sgood); a non-case needs
`N = 0`. The lists must have the same length (n-1). (The sum is forced at
every step.) -/
def subcubic_sum_cases (cmax m : Int) (good : subcubic_slots → Int → Bool)
    (css : List subcubic_slots) (Ns : List Int) (acc : Int) : Option Int :=
  match css, Ns with
  | [], [] => some acc
  | ss :: css', N :: Ns' =>
      let ok := bif zleb ss.ss_c cmax
                then (bif zleb 0 N && zleb N m then (bif zeqb N 0 then true else good ss N) else false)
                else zeqb N 0
      bif ok then strict_int (acc + ss.ss_binom * N ^ ss.ss_c.toNat) fun acc' =>
        subcubic_sum_cases cmax m good css' Ns' acc'
      else none
  | _, _ => none
termination_by structural css

/-- The inputs with max m and query q counted by the doc, given `b = B[m][q]`,
`Wdm = Wd[m]`, `Wprem = Wpre[m]` and `Ns = gap[q][m]`; `none` when a witness
fails. For m < q nothing is a case (every witness must be 0); else
`[sgood(q, m, 0, 0)] + sum_{c=1..cmax} binomial(n-1, c) * gap[q][m][c-1]^c`
with `cmax = n-1` if `q = m`, else `n-2`.
Spec: for q <= m, if it is `some k`, k is at most the number of inputs x
with `x_(n-1) = q` and `max x = m` on which the model is correct. -/
def subcubic_count_qm (n : Int) (m q : Nat) (sq : subcubic_query) (b : Int) (Wdm Wprem Ns : List Int) :
    Option Int :=
  bif Nat.blt m q then subcubic_sum_cases (-1) (Int.ofNat m) (fun _ _ => false) sq.sq_cs Ns 0
  else
    let tm := nth m sq.sq_tok (0, 0)
    let gM := b + nth m Wdm 0
    let mQ := mul_up sq.sq_wQ (b + nth q Wdm 0)
    let good := subcubic_good sq.sq_pre Wprem tm b gM mQ
    let first : Int := bif good sq.sq_c0 0 then 1 else 0
    let cmax : Int := bif Nat.beq q m then n - 1 else n - 2
    subcubic_sum_cases cmax (Int.ofNat m) good sq.sq_cs Ns first

/-- For m = 0, 1, ..., along `B[.][q]` (`bq`), the rows of Wd and Wpre, and `gap[q]`. -/
def subcubic_count_m (n : Int) (q m : Nat) (sq : subcubic_query) (bq : List Int) (Wd Wpre gapq : matrix)
    (acc : Int) : Option Int :=
  match bq, Wd, Wpre, gapq with
  | [], [], [], [] => some acc
  | b :: bq', Wdm :: Wd', Wprem :: Wpre', Ns :: gapq' =>
      match subcubic_count_qm n m q sq b Wdm Wprem Ns with
      | some k => strict_int (acc + k) fun acc' => subcubic_count_m n q (m + 1) sq bq' Wd' Wpre' gapq' acc'
      | none => none
  | _, _, _, _ => none
termination_by structural bq

/-- For q = 0, 1, ..., along the rows `EQKP[q]`, `attn_token[q]`, `attn_pos[q]`,
`B[.][q]` and `gap[q]`. -/
def subcubic_count_q (n q : Nat) (eqkp : matrix) (tok_hints pos_hints : List (List (Int × Int)))
    (BT Wd Wpre : matrix) (gap : List matrix) (acc : Int) : Option Int :=
  match eqkp, tok_hints, pos_hints, BT, gap with
  | [], [], [], [], [] => some acc
  | keys :: eqkp', tokq :: th', posq :: ph', bq :: BT', gapq :: gap' =>
      match subcubic_count_m (Int.ofNat n) q 0 (subcubic_query_of n q keys tokq posq) bq Wd Wpre gapq acc with
      | some acc' => strict_int acc' fun acc'' => subcubic_count_q n (q + 1) eqkp' th' ph' BT' Wd Wpre gap' acc''
      | none => none
  | _, _, _, _, _ => none
termination_by structural eqkp

/-- The count of section 8.3 from EQKP, EUPU, EVOU and PVOU, or `none` when
the witness `gap` is not valid (shape v x v x (n-1), `0 <= N <= m`,
non-cases 0, sgood for every case with `N >= 1`). Spec: if the token
hints are verified (as in `subcubic_certified_count`), the hints pass
`attn_pos_ok` and `n >= 2`, `subcubic_count .. = some k ->
k <= #{x | the model is correct on x}`. -/
def subcubic_count (e0 : Int) (eqkp eupu evou pvou : matrix) (tok_hints pos_hints : List (List (Int × Int)))
    (gap : List matrix) (v n : Nat) : Option Int :=
  let sc2 := 2 * e0
  let sc4 := 4 * e0
  let BT := subcubic_max_differences (table_lo sc2 eupu) (table_hi sc2 eupu)
  let Wd := subcubic_Wd v (table_lo sc4 evou) (table_hi sc4 evou) (table_lo sc4 pvou) (table_hi sc4 pvou)
  subcubic_count_q n 0 eqkp tok_hints pos_hints BT Wd (Wd.map subcubic_prefix_max) gap 0

/-- The count, when n_ctx >= 2, the model is well formed, every hint is
verified and the witness is valid; `none` otherwise. The token hints:
subcubic-gap, section 4's test against EQKE (from `derive`); the rank-one
strategies, `subcubic_rank_one_token_ok` (from `subcubic_derive`, which does
not form EQKE). -/
def subcubic_certified_count (s : subcubic_strategy) (gap : List matrix) (c : cubic_certificate) : Option Int :=
  let cf := c.cert_config
  let ts := c.cert_tensors
  bif Nat.ble 2 cf.n_ctx && parameters_ok c.cert_parameters && model_ok cf ts then
    let e0 := global_scale ts
    let v := cf.d_vocab
    let h := Int.ofNat cf.d_head
    let r := c.hint_sqrt_d_head
    let S := Int.ofNat SQRT_BITS - 4 * e0
    let toks := c.hint_attn_token
    let poss := c.hint_attn_pos
    let finish (tokens_ok : Bool) (eqkp eupu evou pvou : matrix) : Option Int :=
      bif sqrt_hint_ok h r && tokens_ok && attn_pos_ok h r S eqkp poss
      then subcubic_count e0 eqkp eupu evou pvou toks poss gap v cf.n_ctx
      else none
    match s with
    | subcubic_strategy.subcubic_gap =>
        let dv := derive cf ts e0
        finish (attn_token_ok h r S 0 dv.EQKE toks) dv.EQKP dv.EUPU dv.EVOU dv.PVOU
    | subcubic_strategy.subcubic_rank_one r1 =>
        let sd := subcubic_derive cf ts e0
        finish (subcubic_rank_one_token_ok false r1 v cf.d_head r S sd.sd_X sd.sd_Y toks)
          sd.sd_EQKP sd.sd_EUPU sd.sd_EVOU sd.sd_PVOU
    | subcubic_strategy.subcubic_rank_one_global r1 =>
        let sd := subcubic_derive cf ts e0
        finish (subcubic_rank_one_token_ok true r1 v cf.d_head r S sd.sd_X sd.sd_Y toks)
          sd.sd_EQKP sd.sd_EUPU sd.sd_EVOU sd.sd_PVOU
  else none

/-- proven_correct of a subcubic strategy, or 0 when n_ctx < 2, the model is
malformed, a hint fails or the witness is not valid. -/
def subcubic_proven_correct (s : subcubic_strategy) (gap : List matrix) (c : cubic_certificate) : Int :=
  (subcubic_certified_count s gap c).getD 0

/-- (Lean only) What `subcubic_check` tests, as a proposition: the conditions of
`cubic_claim_holds` (Coq's `cubic_claim_ok`), with the subcubic count. -/
abbrev subcubic_claim_holds (s : subcubic_strategy) (gap : List matrix) (c : cubic_certificate) : Prop :=
  cubic_weights_sha256 c = c.claimed_sha256  -- first: see claim_holds
  ∧ (subcubic_certified_count s gap c).isSome = true
  ∧ cubic_num_inputs c = c.claimed_inputs
  ∧ c.claimed_correct ≤ subcubic_proven_correct s gap c
  ∧ 0 ≤ c.claimed_correct
  ∧ c.claimed_lower_bound = (c.claimed_correct, cubic_num_inputs c)

/-- The whole check of a subcubic certificate: the hash first (see `claim_holds`),
then n_ctx >= 2, model, hints, witness, count, and the claim. -/
def subcubic_check (s : subcubic_strategy) (gap : List matrix) (c : cubic_certificate) : Bool :=
  decide (subcubic_claim_holds s gap c)

/-- The reflection lemma of the subcubic strategies. (Soundness, later:
`subcubic_proven_correct s gap c` is at most the number of inputs on which
the real-number model of these weights is correct.) -/
theorem subcubic_check_sound (s : subcubic_strategy) (gap : List matrix) (c : cubic_certificate)
    (h : subcubic_check s gap c = true) :
    cubic_weights_sha256 c = c.claimed_sha256 ∧ cubic_num_inputs c = c.claimed_inputs
    ∧ c.claimed_correct ≤ subcubic_proven_correct s gap c :=
  have hc : subcubic_claim_holds s gap c := of_decide_eq_true h
  ⟨hc.1, hc.2.2.1, hc.2.2.2.1⟩

/-! ## 11. Decoding the generated data (Lean only)

`Certificate.lean` stores lists of numbers as large `Nat` literals: `n`
fields of `w` bits, the first field in the most significant position (so a
literal of float32 bit patterns reads like `float32_hex` in weights.json).
Signed numbers are stored as `2|z| + (1 if z < 0)`. -/

/-- `2^w - 1`. -/
def field_mask (w : Nat) : Nat := Nat.shiftLeft 1 w - 1

/-- The `n` fields of `w` bits of `x`, most significant first. -/
def unpack (w n x : Nat) : List Nat :=
  match n with
  | 0 => []
  | k + 1 => Nat.land (Nat.shiftRight x (w * k)) (field_mask w) :: unpack w k x
termination_by structural n

/-- Sign-magnitude: `2|z| + (1 if z < 0)`. -/
def decode_int (f : Nat) : Int :=
  bif Nat.beq (Nat.land f 1) 0 then Int.ofNat (Nat.shiftRight f 1) else - Int.ofNat (Nat.shiftRight f 1)

/-- Consecutive pairs `[a, b, c, d] -> [(a, b), (c, d)]`. -/
def pairs_of (l : List Int) : List (Int × Int) :=
  match l with
  | a :: b :: rest => (a, b) :: pairs_of rest
  | _ => []
termination_by structural l

/-- Unsigned fields of `w` bits from chunks `(count, literal)`, in order. -/
def unpack_chunks (w : Nat) (chunks : List (Nat × Nat)) : List Nat :=
  flat_map (fun (ch : Nat × Nat) => unpack w ch.1 ch.2) chunks

/-- A row of hint pairs: `2 n` signed fields of `w` bits. -/
def decode_hint_row (w n x : Nat) : List (Int × Int) :=
  pairs_of ((unpack w (2 * n) x).map decode_int)

/-- A table of hint pairs, one `(pairs in the row, literal)` per row. -/
def decode_hint_rows (w : Nat) (rows : List (Nat × Nat)) : List (List (Int × Int)) :=
  rows.map fun r => decode_hint_row w r.1 r.2

/-- Signed fields of `w` bits from chunks `(count, literal)`, in order (the lists of the
rank_one hint). -/
def decode_int_list (w : Nat) (chunks : List (Nat × Nat)) : List Int :=
  (unpack_chunks w chunks).map decode_int

/-- `rows` rows, each stored as its length followed by its entries. (Stops early if the
list runs out: never for data written by mechcert.) -/
def split_rows (rows : Nat) (l : List Int) : List (List Int) :=
  match rows with
  | 0 => []
  | k + 1 =>
      match l with
      | [] => []
      | len :: rest => rest.take len.toNat :: split_rows k (rest.drop len.toNat)
termination_by structural rows

/-- A list of integer matrices (the witness `gap`, one matrix `gap[q]` per block): each
block `(rows, fields, literal)` holds `fields` signed fields of `w` bits, cut into `rows`
rows by `split_rows`. -/
def decode_int_table (w : Nat) (blocks : List (Nat × Nat × Nat)) : List matrix :=
  blocks.map fun (b : Nat × Nat × Nat) => split_rows b.1 ((unpack w b.2.1 b.2.2).map decode_int)

end MechCert
