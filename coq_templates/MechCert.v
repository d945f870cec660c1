(** * MechCert: checking a Max-of-K brute-force certificate in Coq

    This file is static: it is copied verbatim into every certificate. It
    implements, over the binary integers [Z] only, the checking algorithm of
    docs/certificate-format.md (version 1), strategy "brute-force". The
    generated Certificate.v holds the data (exact float32 bit patterns, hints,
    the claim) and one theorem, proved from [check_sound] below by running
    [check] once in the VM.

    Trusted base: Coq's kernel (and its VM, used through [vm_cast_no_check]).
    No axioms, no primitive integers or floats: [Print Assumptions] of the
    certificate theorem prints "Closed under the global context".

    Layout. Every definition is one step of the doc, under the doc's name.
    Above each one, a comment states the lemma that a soundness proof against
    the real-number model (weights = exact float32 values, real [exp] and
    [sqrt]) would prove about it: "Spec:". The specification-level objects
    are the exact dyadic values of the weights ([float32_value]) and the real
    quantities named in those comments; everything else is the computable
    checker, ending in [check] and the reflection lemma [check_sound].

    Performance rules (measured, see shared/spec/prover_encoding.md): powers
    of two are divided by [Z.shiftr] only; the only true divisions are by
    small numbers (j <= 17, d_head) and the two reciprocals in [exp_lo] and
    [exp_hi]; long lists are walked by pattern matching, never by [nth]
    (except [nth] into one row of length d_vocab). *)

From Coq Require Import ZArith List String Ascii Bool.
Import ListNotations.
Local Open Scope Z_scope.

(** ** 0. Constants of certificate format version 1 (doc, section 3) *)

Definition SQRT_BITS : Z := 64.
Definition HINT_BITS : Z := 40.
Definition EXP_BITS : Z := 64.
Definition TAYLOR_N : nat := 16.
Definition LOGIT_BITS : Z := 32.

(** ** 1. Integer helpers (doc, preamble and section 4) *)

(* Spec: shift_floor z k = floor (z * 2^k). *)
Definition shift_floor (z k : Z) : Z :=
  if 0 <=? k then Z.shiftl z k else Z.shiftr z (- k).

(* Spec: shift_ceil z k = ceil (z * 2^k). *)
Definition shift_ceil (z k : Z) : Z :=
  if 0 <=? k then Z.shiftl z k else - Z.shiftr (- z) (- k).

(* Spec: 0 <= k -> ceil_shift z k = ceil (z / 2^k). *)
Definition ceil_shift (z k : Z) : Z := - Z.shiftr (- z) k.

(* Spec: 0 < c -> ceil_div z c = ceil (z / c). *)
Definition ceil_div (z c : Z) : Z := - Z.div (- z) c.

(* The length of a list and the product of a list, as Z. *)
Definition lengthZ {A} (l : list A) : Z := fold_left (fun n _ => n + 1) l 0.
Definition productZ (l : list Z) : Z := fold_left Z.mul l 1.

(* Pointwise combination of two lists (truncated to the shorter). *)
Fixpoint map2 {A B C} (f : A -> B -> C) (a : list A) (b : list B) : list C :=
  match a, b with
  | x :: a', y :: b' => f x y :: map2 f a' b'
  | _, _ => []
  end.

(* Element-wise sum of two rows. *)
Definition vadd (a b : list Z) : list Z := map2 Z.add a b.

(** ** 2. SHA-256 of the canonical weight bytes (doc, section 1) *)

(* Spec: sha256 bytes = the SHA-256 digest (FIPS 180-4) of the byte string
   [bytes] (each element in 0..255), read as a 256-bit big-endian integer. *)

Definition mask32 : Z := 0xffffffff.
Definition add32 (a b : Z) : Z := Z.land (a + b) mask32.
Definition rotr (x n : Z) : Z :=
  Z.lor (Z.shiftr x n) (Z.land (Z.shiftl x (32 - n)) mask32).
Definition bsig0 (x : Z) : Z := Z.lxor (Z.lxor (rotr x 2) (rotr x 13)) (rotr x 22).
Definition bsig1 (x : Z) : Z := Z.lxor (Z.lxor (rotr x 6) (rotr x 11)) (rotr x 25).
Definition ssig0 (x : Z) : Z := Z.lxor (Z.lxor (rotr x 7) (rotr x 18)) (Z.shiftr x 3).
Definition ssig1 (x : Z) : Z := Z.lxor (Z.lxor (rotr x 17) (rotr x 19)) (Z.shiftr x 10).
Definition sha_ch (e f g : Z) : Z := Z.lxor (Z.land e f) (Z.land (Z.lxor e mask32) g).
Definition sha_maj (a b c : Z) : Z :=
  Z.lxor (Z.lxor (Z.land a b) (Z.land a c)) (Z.land b c).

Definition sha_K : list Z :=
  [0x428a2f98; 0x71374491; 0xb5c0fbcf; 0xe9b5dba5; 0x3956c25b; 0x59f111f1; 0x923f82a4; 0xab1c5ed5;
   0xd807aa98; 0x12835b01; 0x243185be; 0x550c7dc3; 0x72be5d74; 0x80deb1fe; 0x9bdc06a7; 0xc19bf174;
   0xe49b69c1; 0xefbe4786; 0x0fc19dc6; 0x240ca1cc; 0x2de92c6f; 0x4a7484aa; 0x5cb0a9dc; 0x76f988da;
   0x983e5152; 0xa831c66d; 0xb00327c8; 0xbf597fc7; 0xc6e00bf3; 0xd5a79147; 0x06ca6351; 0x14292967;
   0x27b70a85; 0x2e1b2138; 0x4d2c6dfc; 0x53380d13; 0x650a7354; 0x766a0abb; 0x81c2c92e; 0x92722c85;
   0xa2bfe8a1; 0xa81a664b; 0xc24b8b70; 0xc76c51a3; 0xd192e819; 0xd6990624; 0xf40e3585; 0x106aa070;
   0x19a4c116; 0x1e376c08; 0x2748774c; 0x34b0bcb5; 0x391c0cb3; 0x4ed8aa4a; 0x5b9cca4f; 0x682e6ff3;
   0x748f82ee; 0x78a5636f; 0x84c87814; 0x8cc70208; 0x90befffa; 0xa4506ceb; 0xbef9a3f7; 0xc67178f2].

Record sha_state := mk_sha_state { sa : Z; sb : Z; sc : Z; sd : Z; se : Z; sf : Z; sg : Z; sh : Z }.

Definition sha_H0 : sha_state :=
  mk_sha_state 0x6a09e667 0xbb67ae85 0x3c6ef372 0xa54ff53a 0x510e527f 0x9b05688c 0x1f83d9ab 0x5be0cd19.

(* One round; [kw] is K_t + W_t. *)
Definition sha_round (st : sha_state) (kw : Z) : sha_state :=
  let '(mk_sha_state a b c d e f g h) := st in
  let t1 := h + bsig1 e + sha_ch e f g + kw in
  let t2 := bsig0 a + sha_maj a b c in
  mk_sha_state (add32 t1 t2) a b c (add32 d t1) e f g.

(* The 48 words W_16..W_63 of the message schedule, from a sliding window of
   the last 16 words. *)
Fixpoint sha_schedule (fuel : nat) (w : list Z) : list Z :=
  match fuel, w with
  | S fuel', [w0; w1; w2; w3; w4; w5; w6; w7; w8; w9; w10; w11; w12; w13; w14; w15] =>
      let x := add32 (add32 (ssig1 w14) w9) (add32 (ssig0 w1) w0) in
      x :: sha_schedule fuel' [w1; w2; w3; w4; w5; w6; w7; w8; w9; w10; w11; w12; w13; w14; w15; x]
  | _, _ => []
  end.

Definition sha_compress (st : sha_state) (block : list Z) : sha_state :=
  let ws := block ++ sha_schedule 48 block in
  let '(mk_sha_state a b c d e f g h) := fold_left sha_round (map2 Z.add sha_K ws) st in
  let '(mk_sha_state a0 b0 c0 d0 e0 f0 g0 h0) := st in
  mk_sha_state (add32 a0 a) (add32 b0 b) (add32 c0 c) (add32 d0 d)
               (add32 e0 e) (add32 f0 f) (add32 g0 g) (add32 h0 h).

(* Big-endian words from bytes (the padded message has a multiple of 4). *)
Fixpoint words_of_bytes (l : list Z) : list Z :=
  match l with
  | b0 :: b1 :: b2 :: b3 :: rest =>
      (Z.shiftl b0 24 + Z.shiftl b1 16 + Z.shiftl b2 8 + b3) :: words_of_bytes rest
  | _ => []
  end.

(* Compress 16 words at a time. *)
Fixpoint sha_blocks (st : sha_state) (ws : list Z) : sha_state :=
  match ws with
  | w0 :: w1 :: w2 :: w3 :: w4 :: w5 :: w6 :: w7 :: w8 :: w9 :: w10 :: w11 :: w12 :: w13 :: w14 :: w15 :: rest =>
      sha_blocks (sha_compress st [w0; w1; w2; w3; w4; w5; w6; w7; w8; w9; w10; w11; w12; w13; w14; w15]) rest
  | _ => st
  end.

Definition u32be (x : Z) : list Z :=
  [Z.land (Z.shiftr x 24) 255; Z.land (Z.shiftr x 16) 255; Z.land (Z.shiftr x 8) 255; Z.land x 255].

Definition sha_padding (len : Z) : list Z :=
  0x80 :: repeat 0 (Z.to_nat ((55 - len) mod 64)) ++ u32be (Z.shiftr (8 * len) 32) ++ u32be (8 * len).

Definition sha256 (bytes : list Z) : Z :=
  let ws := words_of_bytes (bytes ++ sha_padding (lengthZ bytes)) in
  let '(mk_sha_state a b c d e f g h) := sha_blocks sha_H0 ws in
  fold_left (fun acc w => Z.lor (Z.shiftl acc 32) w) [a; b; c; d; e; f; g; h] 0.

(** ** 3. The weights and their hash (doc, section 1) *)

Record tensor := mk_tensor {
  t_name : string;     (* TransformerLens name, [A-Za-z0-9_.]+ *)
  t_shape : list Z;
  t_bits : list Z      (* float32 bit patterns, row-major *)
}.

Definition string_bytes (s : string) : list Z :=
  map (fun a => Z.of_N (N_of_ascii a)) (list_ascii_of_string s).

(* "mechcert-weights-v1\n" *)
Definition hash_header : list Z := string_bytes "mechcert-weights-v1" ++ [10].

Definition tensor_bytes (t : tensor) : list Z :=
  let name := string_bytes (t_name t) in
  u32be (lengthZ name) ++ name
  ++ u32be (lengthZ (t_shape t)) ++ flat_map u32be (t_shape t)
  ++ flat_map u32be (t_bits t).

(* Spec: weights_sha256_of ts = SHA-256 of the canonical byte string of the
   tensors [ts] (doc, "The model hash"), when [ts] is sorted by name. *)
Definition weights_sha256_of (ts : list tensor) : Z :=
  sha256 (hash_header ++ flat_map tensor_bytes ts).

(* Byte order on names; [names_sorted] checks strictly increasing names. *)
Fixpoint bytes_ltb (a b : list Z) : bool :=
  match a, b with
  | [], [] => false
  | [], _ :: _ => true
  | _ :: _, [] => false
  | x :: a', y :: b' => (x <? y) || ((x =? y) && bytes_ltb a' b')
  end.

Fixpoint names_sorted (ts : list tensor) : bool :=
  match ts with
  | t1 :: ((t2 :: _) as rest) =>
      bytes_ltb (string_bytes (t_name t1)) (string_bytes (t_name t2)) && names_sorted rest
  | _ => true
  end.

(** ** 4. Exact values of float32 weights (doc, section 1) *)

(* A bit pattern is accepted iff it is 32 bits, not NaN/Inf (exponent field
   255) and not the non-canonical negative zero. *)
Definition float32_ok (b : Z) : bool :=
  (0 <=? b) && (b <? 2 ^ 32) && negb (Z.land (Z.shiftr b 23) 255 =? 255)
  && negb (b =? 0x80000000).

(* Spec-level: the exact value of bits [b] is M * 2^e with (M, e) = float32_value b.
   Spec: float32_ok b = true -> M * 2^e is the IEEE-754 binary32 value of b. *)
Definition float32_value (b : Z) : Z * Z :=
  let sign := Z.shiftr b 31 in
  let ex := Z.land (Z.shiftr b 23) 255 in
  let man := Z.land b 0x7fffff in
  let '(m, e) := if ex =? 0 then (man, -149) else (man + 2 ^ 23, ex - 150) in
  (if sign =? 1 then - m else m, e).

(* Global scale e0 = min(0, min e over weights with M <> 0).
   Spec: for every weight, M = 0 or e0 <= e. *)
Definition global_scale (ts : list tensor) : Z :=
  fold_left (fun acc t =>
    fold_left (fun acc b => let '(m, e) := float32_value b in
                            if m =? 0 then acc else Z.min acc e) (t_bits t) acc) ts 0.

(* Spec: e0 <= e or M = 0 -> weight_int e0 b * 2^e0 = M * 2^e (the exact value). *)
Definition weight_int (e0 b : Z) : Z :=
  let '(m, e) := float32_value b in
  if m =? 0 then 0 else Z.shiftl m (e - e0).

(** ** 5. The model: shapes and the exact derived matrices (doc, section 2) *)

Record config := mk_config {
  d_vocab : Z; d_vocab_out : Z; n_ctx : Z; d_model : Z; d_head : Z; n_heads : Z; n_layers : Z
}.

(* Names and shapes of the tensors a Max-of-K model may have. *)
Definition required_tensors (c : config) : list (string * list Z) :=
  let v := d_vocab c in let n := n_ctx c in let d := d_model c in let h := d_head c in
  [("blocks.0.attn.W_K", [1; d; h]); ("blocks.0.attn.W_O", [1; h; d]);
   ("blocks.0.attn.W_Q", [1; d; h]); ("blocks.0.attn.W_V", [1; d; h]);
   ("embed.W_E", [v; d]); ("pos_embed.W_pos", [n; d]); ("unembed.W_U", [d; v])]%string.

Definition bias_tensors (c : config) : list (string * list Z) :=
  let v := d_vocab c in let d := d_model c in let h := d_head c in
  [("blocks.0.attn.b_K", [1; h]); ("blocks.0.attn.b_O", [d]); ("blocks.0.attn.b_Q", [1; h]);
   ("blocks.0.attn.b_V", [1; h]); ("unembed.b_U", [v])]%string.

Fixpoint lookup (name : string) (ts : list tensor) : option tensor :=
  match ts with
  | [] => None
  | t :: rest => if String.eqb (t_name t) name then Some t else lookup name rest
  end.

Fixpoint lookup_shape (name : string) (l : list (string * list Z)) : option (list Z) :=
  match l with
  | [] => None
  | (n, s) :: rest => if String.eqb n name then Some s else lookup_shape name rest
  end.

Definition list_Z_eqb (a b : list Z) : bool :=
  (lengthZ a =? lengthZ b) && forallb (fun p => fst p =? snd p) (combine a b).

(* Shapes: one layer, one head, d_vocab_out = d_vocab, positive sizes; every
   tensor known, with its shape and the right number of values; names sorted;
   every bit pattern finite and canonical; every bias (if present) all zero. *)
Definition config_ok (c : config) : bool :=
  (2 <=? d_vocab c) && (d_vocab_out c =? d_vocab c) && (1 <=? n_ctx c)
  && (1 <=? d_model c) && (1 <=? d_head c) && (n_heads c =? 1) && (n_layers c =? 1).

Definition tensor_ok (c : config) (t : tensor) : bool :=
  match lookup_shape (t_name t) (required_tensors c ++ bias_tensors c) with
  | None => false
  | Some s =>
      list_Z_eqb (t_shape t) s && (lengthZ (t_bits t) =? productZ s)
      && forallb float32_ok (t_bits t)
      && (match lookup_shape (t_name t) (bias_tensors c) with
          | Some _ => forallb (fun b => b =? 0) (t_bits t)
          | None => true
          end)
  end.

Definition model_ok (c : config) (ts : list tensor) : bool :=
  config_ok c && names_sorted ts && forallb (tensor_ok c) ts
  && forallb (fun ns => match lookup (fst ns) ts with Some _ => true | None => false end)
             (required_tensors c).

(* Matrices are lists of rows. [rows_of r w l] cuts [l] into [r] rows of [w]. *)
Definition matrix := list (list Z).

Fixpoint rows_of (r w : nat) (l : list Z) : matrix :=
  match r with
  | O => []
  | S r' => firstn w l :: rows_of r' w (skipn w l)
  end.

Fixpoint dot_acc (a b : list Z) (acc : Z) : Z :=
  match a, b with
  | x :: a', y :: b' => dot_acc a' b' (acc + x * y)
  | _, _ => acc
  end.
Definition dot (a b : list Z) : Z := dot_acc a b 0.

(* mul_t A B = A B^T (B given by its rows). Spec: exact integer product. *)
Definition mul_t (a b : matrix) : matrix := map (fun r => map (dot r) b) a.

(* The same product (by Z.mul_comm) with B's entries as the first factor of
   each multiplication: [Pos.mul x y] costs about popcount(x) * size(y)
   steps, so the raw weights (at most 24 one-bits) go first. *)
Definition mul_t' (a b : matrix) : matrix := map (fun r => map (fun c => dot c r) b) a.

Definition transpose (ncols : nat) (m : matrix) : matrix :=
  fold_right (fun r acc => map2 cons r acc) (repeat [] ncols) m.

(* The tensor [name] as integers at scale 2^e0, cut into rows of [w]. *)
Definition weight_matrix (ts : list tensor) (e0 : Z) (name : string) (r w : Z) : matrix :=
  match lookup name ts with
  | Some t => rows_of (Z.to_nat r) (Z.to_nat w) (map (weight_int e0) (t_bits t))
  | None => []
  end.

Record derived := mk_derived {
  EQKE : matrix;   (* v x v, scale 2^(4 e0) *)
  EQKP : matrix;   (* v x n, scale 2^(4 e0) *)
  EUPU : matrix;   (* v x v, scale 2^(2 e0) *)
  EVOU : matrix;   (* v x v, scale 2^(4 e0) *)
  PVOU : matrix    (* n x v, scale 2^(4 e0) *)
}.

(* Spec: with E, P, Q, K, V, O, U the exact weights and Eq = E + P[n-1],
   EQKE * 2^(4 e0) = Eq Q K^T E^T, EQKP * 2^(4 e0) = Eq Q K^T P^T,
   EUPU * 2^(2 e0) = Eq U, EVOU * 2^(4 e0) = E V O U, PVOU * 2^(4 e0) = P V O U. *)
Definition derive (c : config) (ts : list tensor) (e0 : Z) : derived :=
  let v := d_vocab c in let n := n_ctx c in let d := d_model c in let h := d_head c in
  let E := weight_matrix ts e0 "embed.W_E" v d in
  let P := weight_matrix ts e0 "pos_embed.W_pos" n d in
  let Q := weight_matrix ts e0 "blocks.0.attn.W_Q" d h in
  let K := weight_matrix ts e0 "blocks.0.attn.W_K" d h in
  let V := weight_matrix ts e0 "blocks.0.attn.W_V" d h in
  let O := weight_matrix ts e0 "blocks.0.attn.W_O" h d in
  let U := weight_matrix ts e0 "unembed.W_U" d v in
  let Plast := last P [] in
  let Eq := map (vadd Plast) E in
  let KQt := mul_t K Q in                (* (Q K^T)^T, d x d *)
  let EqQK := mul_t Eq KQt in            (* Eq Q K^T, v x d *)
  let Ut := transpose (Z.to_nat v) U in  (* v x d *)
  let VO := mul_t V (transpose (Z.to_nat d) O) in   (* V O, d x d *)
  let VOUt := mul_t Ut VO in             (* (V O U)^T = U^T (V O)^T, v x d *)
  mk_derived (mul_t' EqQK E) (mul_t' EqQK P) (mul_t' Eq Ut) (mul_t E VOUt) (mul_t P VOUt).

(** ** 6. Hints and their verification (doc, section 4) *)

(* Spec: sqrt_hint_ok h r = true -> r_lo / 2^64 <= sqrt h <= r_hi / 2^64. *)
Definition sqrt_hint_ok (h : Z) (r : Z * Z) : bool :=
  let '(r_lo, r_hi) := r in
  (0 <? r_lo) && (r_lo * r_lo <=? Z.shiftl h 128) && (Z.shiftl h 128 <=? r_hi * r_hi).

(* k = max(0, log2 a + 2 - log2 c - s), so that y = x / 2^k <= 1/2. *)
Definition exp_pos_k (a c s : Z) : Z := Z.max 0 (Z.log2 a + 2 - Z.log2 c - s).

(* Lower Taylor sum, every term rounded down. *)
Fixpoint taylor_lo (fuel : nat) (j y t acc : Z) : Z :=
  match fuel with
  | O => acc
  | S fuel' => let t' := Z.div (Z.shiftr (t * y) EXP_BITS) j in
               taylor_lo fuel' (j + 1) y t' (acc + t')
  end.

(* Upper Taylor sum, every term rounded up; returns (sum, last term). *)
Fixpoint taylor_hi (fuel : nat) (j y t acc : Z) : Z * Z :=
  match fuel with
  | O => (acc, t)
  | S fuel' => let t' := ceil_div (ceil_shift (t * y) EXP_BITS) j in
               taylor_hi fuel' (j + 1) y t' (acc + t')
  end.

Fixpoint square_lo (k : nat) (z : Z) : Z :=
  match k with O => z | S k' => square_lo k' (Z.shiftr (z * z) EXP_BITS) end.
Fixpoint square_hi (k : nat) (z : Z) : Z :=
  match k with O => z | S k' => square_hi k' (ceil_shift (z * z) EXP_BITS) end.

(* The two halves of the doc's exp_pos, computed separately (each caller
   needs only one). Spec, for a > 0, c > 0, s >= 0 and x = a / (c 2^s):
   exp_pos_lo a c s / 2^64 <= exp x <= exp_pos_hi a c s / 2^64. *)
Definition exp_pos_lo (a c s : Z) : Z :=
  let k := exp_pos_k a c s in
  let yl := Z.div (shift_floor a (EXP_BITS - s - k)) c in
  square_lo (Z.to_nat k) (taylor_lo TAYLOR_N 1 yl (2 ^ EXP_BITS) (2 ^ EXP_BITS)).

Definition exp_pos_hi (a c s : Z) : Z :=
  let k := exp_pos_k a c s in
  let yh := ceil_div (shift_ceil a (EXP_BITS - s - k)) c in
  let '(sum, t) := taylor_hi TAYLOR_N 1 yh (2 ^ EXP_BITS) (2 ^ EXP_BITS) in
  let hi := sum + ceil_div (ceil_shift (2 * t * yh) EXP_BITS) (Z.of_nat TAYLOR_N + 1) in
  square_hi (Z.to_nat k) hi.

Definition exp_pos (a c s : Z) : Z * Z := (exp_pos_lo a c s, exp_pos_hi a c s).

(* Spec: 0 < c -> 0 <= s -> exp_lo a c s / 2^64 <= exp (a / (c 2^s)). *)
Definition exp_lo (a c s : Z) : Z :=
  if a =? 0 then 2 ^ EXP_BITS
  else if 0 <? a then exp_pos_lo a c s
  else Z.div (2 ^ (2 * EXP_BITS)) (exp_pos_hi (- a) c s).

(* Spec: 0 < c -> 0 <= s -> exp (a / (c 2^s)) <= exp_hi a c s / 2^64. *)
Definition exp_hi (a c s : Z) : Z :=
  if a =? 0 then 2 ^ EXP_BITS
  else if 0 <? a then exp_pos_hi a c s
  else ceil_div (2 ^ (2 * EXP_BITS)) (exp_pos_lo (- a) c s).

(* The exponent argument of a score difference D * 2^(4 e0): (a_lo, a_hi).
   Spec: sqrt_hint_ok h r = true -> a_lo / (h 2^S) <= D 2^(4 e0) / sqrt h <= a_hi / (h 2^S)
   with S = 64 - 4 e0. *)
Definition exp_arguments (r : Z * Z) (D : Z) : Z * Z :=
  let '(r_lo, r_hi) := r in
  if 0 <=? D then (D * r_lo, D * r_hi) else (D * r_hi, D * r_lo).

(* Spec: sqrt_hint_ok h r = true -> hint_ok h r S D (L, H) = true ->
   L / 2^40 <= exp (D 2^(4 e0) / sqrt h) <= H / 2^40, where S = 64 - 4 e0. *)
Definition hint_ok (h : Z) (r : Z * Z) (S D : Z) (hint : Z * Z) : bool :=
  let '(L, H) := hint in
  let '(a_lo, a_hi) := exp_arguments r D in
  (0 <=? L) && (L <=? H)
  && (Z.shiftl L (EXP_BITS - HINT_BITS) <=? exp_lo a_lo h S)
  && (exp_hi a_hi h S <=? Z.shiftl H (EXP_BITS - HINT_BITS)).

(* One row of hints: D = row[i] - ref for each i; lengths must agree. *)
Fixpoint hint_row_ok (h : Z) (r : Z * Z) (S ref : Z) (row : list Z) (hints : list (Z * Z)) : bool :=
  match row, hints with
  | [], [] => true
  | x :: row', hint :: hints' => hint_ok h r S (x - ref) hint && hint_row_ok h r S ref row' hints'
  | _, _ => false
  end.

(* attn_token[q][t] for D = EQKE[q,t] - EQKE[q,q]. Spec: for all q, t < v,
   attn_token[q][t] encloses exp(score(q; t) - score(q; q)) (token parts). *)
Fixpoint attn_token_ok (h : Z) (r : Z * Z) (S q : Z) (eqke : matrix) (hints : list (list (Z * Z))) : bool :=
  match eqke, hints with
  | [], [] => true
  | row :: eqke', hrow :: hints' =>
      hint_row_ok h r S (nth (Z.to_nat q) row 0) row hrow
      && attn_token_ok h r S (q + 1) eqke' hints'
  | _, _ => false
  end.

(* attn_pos[q][p] for D = EQKP[q,p] - EQKP[q,n-1]. *)
Fixpoint attn_pos_ok (h : Z) (r : Z * Z) (S : Z) (eqkp : matrix) (hints : list (list (Z * Z))) : bool :=
  match eqkp, hints with
  | [], [] => true
  | row :: eqkp', hrow :: hints' =>
      hint_row_ok h r S (last row 0) row hrow && attn_pos_ok h r S eqkp' hints'
  | _, _ => false
  end.

(** ** 7. Brute force (doc, section 5) *)

(* Logit tables. Spec: logit_lo sc X / 2^32 <= X 2^sc <= logit_hi sc X / 2^32. *)
Definition logit_lo (sc X : Z) : Z := shift_floor X (sc + LOGIT_BITS).
Definition logit_hi (sc X : Z) : Z := shift_ceil X (sc + LOGIT_BITS).

Definition table_lo (sc : Z) (m : matrix) : matrix := map (map (logit_lo sc)) m.
Definition table_hi (sc : Z) (m : matrix) : matrix := map (map (logit_hi sc)) m.

(* One position p of an input, holding token t, for the query token q: its
   attention weight bounds (wl, wh) and the rows it adds up, kept apart so
   that only what is needed is added:
     Gl[y] = base_l[y] + ev_l[y]   with base_l = EUl[q] + PVl[p], ev_l = EVl[t],
     Gh[y] = base_h[y] + ev_h[y]   with base_h = EUh[q] + PVh[p], ev_h = EVh[t],
   so that gl_p(y) = Gl[m] - Gh[y] and gh_p(y) = Gh[m] - Gl[y].
   Spec: wl / 2^40 <= exp(score_p - score_ref) <= wh / 2^40, and
   Gl[y] / 2^32 <= EUPU[q,y] 2^(2e0) + (EVOU[t,y] + PVOU[p,y]) 2^(4e0) <= Gh[y] / 2^32. *)
Record position := mk_position {
  wl : Z; wh : Z; base_l : list Z; base_h : list Z; ev_l : list Z; ev_h : list Z
}.

(* wl_p = (L_tok L_pos) >> 40, wh_p = ceil_shift(H_tok H_pos, 40). *)
Definition attn_weight_lo (tok pos : Z * Z) : Z := Z.shiftr (fst tok * fst pos) HINT_BITS.
Definition attn_weight_hi (tok pos : Z * Z) : Z := ceil_shift (snd tok * snd pos) HINT_BITS.

(* The terms of low_y and up_y. *)
Definition low_term (wl wh g : Z) : Z := if 0 <=? g then wl * g else wh * g.
Definition up_term (wl wh g : Z) : Z := if 0 <=? g then wh * g else wl * g.

(* acc[y] + low_term wl wh (cl - (bh[y] + eh[y])) for every y. *)
Fixpoint add_low_terms (wl wh cl : Z) (acc bh eh : list Z) : list Z :=
  match acc, bh, eh with
  | a :: acc', x :: bh', e :: eh' =>
      (a + low_term wl wh (cl - (x + e))) :: add_low_terms wl wh cl acc' bh' eh'
  | _, _, _ => []
  end.

(* acc[y] + up_term wl wh (ch - (bl[y] + el[y])) for every y. *)
Fixpoint add_up_terms (wl wh ch : Z) (acc bl el : list Z) : list Z :=
  match acc, bl, el with
  | a :: acc', x :: bl', e :: el' =>
      (a + up_term wl wh (ch - (x + e))) :: add_up_terms wl wh ch acc' bl' el'
  | _, _, _ => []
  end.

Definition zero_row (ps : list position) : list Z :=
  match ps with [] => [] | p :: _ => map (fun _ => 0) (base_l p) end.

(* low_y (resp. up_y) for all y at once, as a row. Spec: for every y,
   low_y / 2^72 <= sum_p w_p (logit_p[m] - logit_p[y]) <= up_y / 2^72 with
   the true weights w_p = exp(score_p - score_ref) (unnormalised), where
   logit_p[y] = EUPU[q,y] 2^(2e0) + (EVOU[t_p,y] + PVOU[p,y]) 2^(4e0). *)
Definition low_row (m : nat) (ps : list position) : list Z :=
  fold_left (fun acc p => add_low_terms (wl p) (wh p) (nth m (base_l p) 0 + nth m (ev_l p) 0)
                                        acc (base_h p) (ev_h p))
            ps (zero_row ps).
Definition up_row (m : nat) (ps : list position) : list Z :=
  fold_left (fun acc p => add_up_terms (wl p) (wh p) (nth m (base_h p) 0 + nth m (ev_h p) 0)
                                       acc (base_l p) (ev_l p))
            ps (zero_row ps).

Inductive verdict := Correct | Wrong | Undecided.

(* Over y = 0, 1, ...: every y <> m has low_y > 0 (all_pos_except), some
   y <> m has up_y <= 0 (some_nonpos_except). *)
Fixpoint all_pos_except (m y : Z) (l : list Z) : bool :=
  match l with
  | [] => true
  | x :: l' => ((y =? m) || (0 <? x)) && all_pos_except m (y + 1) l'
  end.
Fixpoint some_nonpos_except (m y : Z) (l : list Z) : bool :=
  match l with
  | [] => false
  | x :: l' => ((negb (y =? m)) && (x <=? 0)) || some_nonpos_except m (y + 1) l'
  end.

(* Spec: if the positions [ps] of an input with maximum m satisfy the spec
   of [position] (which holds when they are built from verified hints),
   decide_input returns Correct only if the model is correct on the input
   (logit[m] > logit[y] for all y <> m), and Wrong only if it is not. *)
Definition decide_input (m : Z) (ps : list position) : verdict :=
  if all_pos_except m 0 (low_row (Z.to_nat m) ps) then Correct
  else if some_nonpos_except m 0 (up_row (Z.to_nat m) ps) then Wrong
  else Undecided.

(* A token's data for a fixed query q: (t, EVl[t], EVh[t], attn_token[q][t]). *)
Record token := mk_token { tok : Z; EVl_t : list Z; EVh_t : list Z; hint_tok : Z * Z }.
(* A position's data for a fixed query q: (EUl[q] + PVl[p], EUh[q] + PVh[p], attn_pos[q][p]). *)
Record slot := mk_slot { slot_l : list Z; slot_h : list Z; hint_pos : Z * Z }.

Definition position_of (s : slot) (t : token) : position :=
  mk_position (attn_weight_lo (hint_tok t) (hint_pos s)) (attn_weight_hi (hint_tok t) (hint_pos s))
              (slot_l s) (slot_h s) (EVl_t t) (EVh_t t).

Definition count_verdict (acc : Z * Z) (r : verdict) : Z * Z :=
  match r with
  | Correct => (fst acc + 1, snd acc)
  | Wrong => (fst acc, snd acc + 1)
  | Undecided => acc
  end.

(* All inputs with query token [qt] in the last slot: the tokens of slots
   0..n-2 range over [toks] (every combination exactly once). [chosen] holds
   the slots filled so far, in order, and [mx] their largest token. *)
Fixpoint count_inputs (toks : list token) (qt : token) (last_slot : slot)
         (slots : list slot) (chosen : list position) (mx : Z) (acc : Z * Z) : Z * Z :=
  match slots with
  | [] => count_verdict acc (decide_input (Z.max mx (tok qt))
                                          (chosen ++ [position_of last_slot qt]))
  | s :: slots' =>
      fold_left (fun acc t => count_inputs toks qt last_slot slots' (chosen ++ [position_of s t])
                                          (Z.max mx (tok t)) acc) toks acc
  end.

Fixpoint make_tokens (t : Z) (evl evh : matrix) (hints : list (Z * Z)) : list token :=
  match evl, evh, hints with
  | l :: evl', h :: evh', x :: hints' => mk_token t l h x :: make_tokens (t + 1) evl' evh' hints'
  | _, _, _ => []
  end.

Fixpoint make_slots (eul euh : list Z) (pvl pvh : matrix) (hints : list (Z * Z)) : list slot :=
  match pvl, pvh, hints with
  | l :: pvl', h :: pvh', x :: hints' =>
      mk_slot (vadd eul l) (vadd euh h) x :: make_slots eul euh pvl' pvh' hints'
  | _, _, _ => []
  end.

(* Loop over the query token q (the rows of EUl, EUh, attn_token, attn_pos). *)
Fixpoint count_queries (q : Z) (eul euh evl evh pvl pvh : matrix)
         (tok_hints pos_hints : list (list (Z * Z))) (acc : Z * Z) : Z * Z :=
  match eul, euh, tok_hints, pos_hints with
  | eulq :: eul', euhq :: euh', thq :: th', phq :: ph' =>
      let toks := make_tokens 0 evl evh thq in
      let slots := make_slots eulq euhq pvl pvh phq in
      let qt := nth (Z.to_nat q) toks (mk_token q [] [] (0, 0)) in
      let acc := count_inputs toks qt (last slots (mk_slot [] [] (0, 0))) (removelast slots) [] q acc in
      count_queries (q + 1) eul' euh' evl evh pvl pvh th' ph' acc
  | _, _, _, _ => acc
  end.

(* (proven_correct, proven_wrong) of the doc: the numbers of inputs, over
   all v^n, that decide_input finds Correct and Wrong. Spec: if the hints
   pass attn_token_ok and attn_pos_ok, then
   fst (brute_force_counts ..) <= #{x | the model is correct on x} and
   snd (brute_force_counts ..) <= #{x | the model is wrong on x}. *)
Definition brute_force_counts (e0 : Z) (dv : derived) (tok_hints pos_hints : list (list (Z * Z))) : Z * Z :=
  let sc2 := 2 * e0 in let sc4 := 4 * e0 in
  count_queries 0 (table_lo sc2 (EUPU dv)) (table_hi sc2 (EUPU dv))
                (table_lo sc4 (EVOU dv)) (table_hi sc4 (EVOU dv))
                (table_lo sc4 (PVOU dv)) (table_hi sc4 (PVOU dv))
                tok_hints pos_hints (0, 0).

(** ** 8. The certificate and its check *)

Record parameters := mk_parameters {
  sqrt_bits : Z; hint_bits : Z; exp_bits : Z; taylor_n : Z; logit_bits : Z
}.

Definition parameters_ok (p : parameters) : bool :=
  (sqrt_bits p =? SQRT_BITS) && (hint_bits p =? HINT_BITS) && (exp_bits p =? EXP_BITS)
  && (taylor_n p =? Z.of_nat TAYLOR_N) && (logit_bits p =? LOGIT_BITS).

Record certificate := mk_certificate {
  cert_config : config;
  cert_tensors : list tensor;              (* sorted by name *)
  cert_parameters : parameters;
  hint_sqrt_d_head : Z * Z;                (* [R_lo, R_hi] *)
  hint_attn_token : list (list (Z * Z));   (* v x v of [L, H] *)
  hint_attn_pos : list (list (Z * Z));     (* v x n of [L, H] *)
  claimed_sha256 : Z;
  claimed_inputs : Z;
  claimed_correct : Z;
  claimed_wrong : Z;
  claimed_lower_bound : Z * Z;             (* numerator, denominator *)
  claimed_upper_bound : Z * Z
}.

(* The SHA-256 of the certificate's weights. *)
Definition weights_sha256 (c : certificate) : Z := weights_sha256_of (cert_tensors c).

(* v^n. *)
Definition num_inputs (c : certificate) : Z := d_vocab (cert_config c) ^ n_ctx (cert_config c).

(* The counts, when the model is a well-formed Max-of-K model and every
   hint is verified; None otherwise. *)
Definition certified_counts (c : certificate) : option (Z * Z) :=
  let cf := cert_config c in
  let ts := cert_tensors c in
  if parameters_ok (cert_parameters c) && model_ok cf ts then
    let e0 := global_scale ts in
    let dv := derive cf ts e0 in
    let h := d_head cf in
    let r := hint_sqrt_d_head c in
    let S := SQRT_BITS - 4 * e0 in
    if sqrt_hint_ok h r && attn_token_ok h r S 0 (EQKE dv) (hint_attn_token c)
       && attn_pos_ok h r S (EQKP dv) (hint_attn_pos c)
    then Some (brute_force_counts e0 dv (hint_attn_token c) (hint_attn_pos c))
    else None
  else None.

(* proven_correct / proven_wrong: the counts of section 5, or 0 when the
   model is malformed or a hint fails. *)
Definition proven_correct (c : certificate) : Z :=
  match certified_counts c with Some (pc, _) => pc | None => 0 end.
Definition proven_wrong (c : certificate) : Z :=
  match certified_counts c with Some (_, pw) => pw | None => 0 end.

(* The whole check of the doc: hash, model, hints, counts, fractions. *)
Definition check (c : certificate) : bool :=
  match certified_counts c with
  | None => false
  | Some (pc, pw) =>
      let N := num_inputs c in
      (weights_sha256 c =? claimed_sha256 c)
      && (claimed_inputs c =? N)
      && (0 <=? claimed_correct c) && (claimed_correct c <=? pc)
      && (0 <=? claimed_wrong c) && (claimed_wrong c <=? pw)
      && (fst (claimed_lower_bound c) =? claimed_correct c)
      && (snd (claimed_lower_bound c) =? N)
      && (fst (claimed_upper_bound c) =? N - claimed_wrong c)
      && (snd (claimed_upper_bound c) =? N)
  end.

(* The reflection lemma: a certificate that passes [check] states true facts
   about its own weights. (Soundness, later: proven_correct c is at most the
   number of inputs on which the real-number model of these weights is
   correct, and proven_wrong c at most the number where it is wrong.) *)
Lemma check_sound (c : certificate) :
  check c = true ->
  weights_sha256 c = claimed_sha256 c /\ num_inputs c = claimed_inputs c
  /\ claimed_correct c <= proven_correct c /\ claimed_wrong c <= proven_wrong c.
Proof.
  unfold check, proven_correct, proven_wrong.
  destruct (certified_counts c) as [[pc pw]|]; [|discriminate].
  intro H. repeat rewrite andb_true_iff in H.
  destruct H as [[[[[[[[[H1 H2] _] H4] _] H6] _] _] _] _].
  apply Z.eqb_eq in H1. apply Z.eqb_eq in H2. apply Z.leb_le in H4. apply Z.leb_le in H6.
  auto.
Qed.
