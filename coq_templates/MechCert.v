(** * MechCert: checking a Max-of-K certificate in Coq

    This file is static: it is copied verbatim into every certificate. It
    implements, over the binary integers [Z] only, the checking algorithm of
    docs/certificate-format.md (version 1), strategies "brute-force"
    (sections 1-8, and section 11: the same counts computed by boxes of
    inputs, which is what the certificates use), "cubic" (section 9) and the
    three subcubic ones (section 10). The generated Certificate.v holds the
    data (exact float32 bit patterns, hints, the claim) and one theorem,
    proved from [box_check_sound] (or [cubic_check_sound],
    [subcubic_check_sound]) below by running [box_check] (or [cubic_check],
    [subcubic_check]) once in the VM.

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

From Coq Require Import ZArith List String Ascii Bool Lia.
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

(* Spec: sqrt_hint_ok h r = true -> r_lo / 2^64 <= sqrt h <= r_hi / 2^64.
   r_lo <= r_hi makes r_hi positive: a negative r_hi also has r_hi^2 >= h 2^128, and
   would give exp_arguments the wrong sign (found by review; every hint then passed). *)
Definition sqrt_hint_ok (h : Z) (r : Z * Z) : bool :=
  let '(r_lo, r_hi) := r in
  (0 <? r_lo) && (r_lo <=? r_hi) && (r_lo * r_lo <=? Z.shiftl h 128) && (Z.shiftl h 128 <=? r_hi * r_hi).

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
(* Limit (doc, "Limits"): an exp argument |x| = |a| / (h 2^S) above 2^16 is refused,
   as by the standalone checker: exp of a huge argument would take Coq very long
   (a denial of service, found by the tamper campaign), and no honest model needs it.
   Tested under an [if], before any exp is computed (the VM evaluates [&&]'s
   arguments eagerly). *)
Definition MAX_EXP_ARG_LOG2 : Z := 16.
Definition exp_arg_small (h S a : Z) : bool := Z.abs a <=? Z.shiftl (Z.shiftl h S) MAX_EXP_ARG_LOG2.

Definition hint_ok (h : Z) (r : Z * Z) (S D : Z) (hint : Z * Z) : bool :=
  let '(L, H) := hint in
  let '(a_lo, a_hi) := exp_arguments r D in
  if exp_arg_small h S a_lo && exp_arg_small h S a_hi then
  (0 <=? L) && (L <=? H)
  && (Z.shiftl L (EXP_BITS - HINT_BITS) <=? exp_lo a_lo h S)
  && (exp_hi a_hi h S <=? Z.shiftl H (EXP_BITS - HINT_BITS))
  else false.

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
(* The hash is tested first, under an [if] (the VM evaluates only the branch
   taken): a certificate whose weights were altered is rejected before any
   expensive computation on them. *)
Definition check (c : certificate) : bool :=
  if weights_sha256 c =? claimed_sha256 c then
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
  end
  else false.

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
  destruct (weights_sha256 c =? claimed_sha256 c) eqn:H1; [|discriminate].
  destruct (certified_counts c) as [[pc pw]|]; [|discriminate].
  intro H. repeat rewrite andb_true_iff in H.
  destruct H as [[[[[[[[[_ H2] _] H4] _] H6] _] _] _] _].
  apply Z.eqb_eq in H1. apply Z.eqb_eq in H2. apply Z.leb_le in H4. apply Z.leb_le in H6.
  auto.
Qed.

(** ** 9. The cubic proof (doc, section 7)

    Same weights, hints, constants and logit tables as the brute force
    (sections 1-5). A cubic certificate is a [certificate] whose claim has
    no proven_wrong and no upper bound: its record states the trivial
    claimed_wrong = 0 and claimed_upper_bound = (N, N), and [cubic_check]
    requires exactly these, so the record holds no claim that is not
    checked. The strategy requires n_ctx >= 2 (doc, section 7).

    Cost (v tokens, n positions): the tables are O(v^3) additions. In the
    O(v^3 n) loop over (m, q, c, k) only the k term of the test is
    computed, because whatever does not depend on k is computed before:
    per q the sorted positions, the hint sums of each placement, wQ and the
    wK of every token k ([cubic_query_of]); per (m, q) and placement the max
    and query terms ([count_c]). The loop over k walks its lists by pattern
    matching, and decides "mul_up(wK, gk) + rest < 0" by the signs and the
    sizes (Z.log2) of the factors whenever they settle it, multiplying only
    otherwise ([cubic_pass], proved equal to the doc's test): for the
    shipped 64/4 model this skips about 98% of the multiplications, which
    cost about popcount * size bit steps each (wK has up to ~165 bits). *)

(* Row n of Pascal's triangle: [binomial n 0; ...; binomial n n]. *)
Fixpoint pascal_row (n : nat) : list Z :=
  match n with
  | O => [1]
  | S n' => let r := pascal_row n' in map2 Z.add (0 :: r) (r ++ [0])
  end.

(* Spec: binomial n k = n choose k. *)
Definition binomial (n k : nat) : Z := nth k (pascal_row n) 0.

(* Pointwise maximum of a non-empty list of rows ([] for no rows). *)
Definition rows_max (rows : matrix) : list Z :=
  match rows with
  | [] => []
  | r :: rest => fold_left (map2 Z.max) rest r
  end.

(* The largest entry of [l] at an index y <> m (indices from [y]); None when
   there is none. *)
Fixpoint max_except_from (m y : Z) (l : list Z) (best : option Z) : option Z :=
  match l with
  | [] => best
  | x :: l' =>
      if y =? m then max_except_from m (y + 1) l' best
      else max_except_from m (y + 1) l' (Some (match best with None => x | Some b => Z.max b x end))
  end.

(* max_{y <> m} l[y] (0 when l has no index y <> m: never here, as v >= 2). *)
Definition max_except (m : Z) (l : list Z) : Z :=
  match max_except_from m 0 l None with Some b => b | None => 0 end.

(* PVpess[m][y] = max_{p < n} (PVh[p][y] - PVl[p][m]), for every y.
   Spec: for every p < n and y, PVOU[p,y] 2^(4e0) - PVOU[p,m] 2^(4e0)
   <= pv_pess m PVl PVh [y] / 2^32. *)
Definition pv_pess (m : Z) (pvl pvh : matrix) : list Z :=
  rows_max (map2 (fun l h => let lm := nth (Z.to_nat m) l 0 in map (fun x => x - lm) h) pvl pvh).

(* W[m][t] = max_{y <> m} (EVh[t][y] - EVl[t][m] + PVpess[m][y]), for every
   t, computed as max_{y <> m} (EVh[t][y] + PVpess[m][y]) - EVl[t][m] (the
   same integer). Spec: for every t, p and y <> m,
   (EVOU[t,y] - EVOU[t,m] + PVOU[p,y] - PVOU[p,m]) 2^(4e0) <= pess_W m .. [t] / 2^32. *)
Definition pess_W (m : Z) (evl evh : matrix) (pvpess : list Z) : list Z :=
  map2 (fun l h => max_except m (vadd h pvpess) - nth (Z.to_nat m) l 0) evl evh.

(* B[m][q] = max_{y <> m} (EUh[q][y] - EUl[q][m]), for every q, computed as
   max_{y <> m} EUh[q][y] - EUl[q][m] (the same integer).
   Spec: for every q and y <> m, (EUPU[q,y] - EUPU[q,m]) 2^(2e0) <= pess_B m .. [q] / 2^32.
   With G[m][q][t] = B[m][q] + W[m][t]: for every input with query q, max m,
   tokens t_p and every y <> m, logit[y] - logit[m] <= (B[m][q] + sum_p a_p
   W[m][t_p]) / 2^32 (a_p the attention probabilities, which sum to 1), so
   the input is correct as soon as sum_p w_p G[m][q][t_p] < 0 for the true
   unnormalised weights w_p = exp(score_p - score_ref). *)
Definition pess_B (m : Z) (eul euh : matrix) : list Z :=
  map2 (fun l h => max_except m h - nth (Z.to_nat m) l 0) eul euh.

(* Insert position [p] into [l] (sorted by key, ties by position): before
   the first element whose key is larger. *)
Fixpoint insert_by_key (keys : list Z) (p : nat) (l : list nat) : list nat :=
  match l with
  | [] => [p]
  | x :: l' => if nth p keys 0 <? nth x keys 0 then p :: l else x :: insert_by_key keys p l'
  end.

(* Spec: sort_positions keys n = the non-query positions 0..n-2 sorted by
   keys[p] ascending, ties by p ascending (an insertion sort: inserting 0,
   1, 2, ... in turn puts a position after every earlier one of equal key). *)
Definition sort_positions (keys : list Z) (n : nat) : list nat :=
  fold_left (fun acc p => insert_by_key keys p acc) (seq 0 (n - 1)) [].

(* (sum L_pos[q][p], sum H_pos[q][p]) over the positions [idx].
   Spec: if every [L, H] of [row] encloses exp(pos_p), the sum encloses
   sum_{p in idx} exp(pos_p) (all at scale 2^-40). *)
Definition hint_sum (idx : list nat) (row : list (Z * Z)) : Z * Z :=
  fold_left (fun acc p => let '(l, h) := nth p row (0, 0) in (fst acc + l, snd acc + h)) idx (0, 0).

(* mul_up([l, h], g) = h * g if g >= 0 else l * g.
   Spec: l <= w <= h -> w * g <= mul_up (l, h) g. *)
Definition mul_up (w : Z * Z) (g : Z) : Z := if 0 <=? g then snd w * g else fst w * g.

(* [(L_tok * Sl) >> 40, ceil_shift(H_tok * Sh, 40)] for a token hint
   (L_tok, H_tok) and a sum of position hints (Sl, Sh): wM, wK and wQ of the
   doc. Spec: if the hints enclose their exp values, the result encloses
   the total weight sum_{p in S} exp(score(q; t at p) - score_ref) (scale 2^-40). *)
Definition slot_weight (t S : Z * Z) : Z * Z := (attn_weight_lo t S, attn_weight_hi t S).

(* mul_up (slot_weight t S) g, computing only the bound that is used
   (proved equal below). *)
Definition slot_weight_mul_up (t S : Z * Z) (g : Z) : Z :=
  if 0 <=? g then attn_weight_hi t S * g else attn_weight_lo t S * g.

(* a * b <? c for a, b, c > 0, settled by the sizes alone when they differ
   enough (2^(la+lb) <= a b < 2^(la+lb+2) and 2^lc <= c < 2^(lc+1), with
   la = log2 a, ...): a multiplication of big numbers costs about
   popcount(a) * size(b) steps, a size about size(a) steps. Proved equal
   to a * b <? c below. *)
Definition prod_ltb (a b c : Z) : bool :=
  let s := Z.log2 a + Z.log2 b in
  let lc := Z.log2 c in
  if s + 2 <=? lc then true
  else if lc + 1 <=? s then false
  else a * b <? c.

(* w * g + r <? 0 for any integers, by the signs and [prod_ltb] (proved
   equal below). *)
Definition mul_add_ltb0 (w g r : Z) : bool :=
  if (w =? 0) || (g =? 0) then r <? 0
  else if Bool.eqb (0 <? w) (0 <? g) then      (* w g > 0: w g < -r *)
    if 0 <=? r then false else prod_ltb (Z.abs w) (Z.abs g) (- r)
  else                                          (* w g < 0: r < |w g| *)
    if r <=? 0 then true else negb (prod_ltb (Z.abs w) (Z.abs g) (r + 1)).

(* The test of one placement, F < 0, where the doc's
   F = mul_up(wM, G[m][q][m]) + mul_up(wK, G[m][q][k]) + mul_up(wQ, G[m][q][q]).
   [mq] is the part that does not depend on k, mul_up(wM, gm) + mul_up(wQ, gq).
   cubic_pass mq wK gk = (mul_up wK gk + mq <? 0) (proved below), so
   cubic_pass (mul_up wM gm + mul_up wQ gq) wK gk = (F <? 0). *)
Definition cubic_pass (mq : Z) (wK : Z * Z) (gk : Z) : bool :=
  mul_add_ltb0 (if 0 <=? gk then snd wK else fst wK) gk mq.

(* The three shortcuts above compute exactly what they replace. *)
Lemma slot_weight_mul_up_spec (t S : Z * Z) (g : Z) :
  slot_weight_mul_up t S g = mul_up (slot_weight t S) g.
Proof. unfold slot_weight_mul_up, mul_up, slot_weight. destruct (0 <=? g); reflexivity. Qed.

Lemma prod_ltb_spec (a b c : Z) : 0 < a -> 0 < b -> 0 < c -> prod_ltb a b c = (a * b <? c).
Proof.
  intros Ha Hb Hc. unfold prod_ltb.
  destruct (Z.log2_spec a Ha) as [Ha1 Ha2].
  destruct (Z.log2_spec b Hb) as [Hb1 Hb2].
  destruct (Z.log2_spec c Hc) as [Hc1 Hc2].
  pose proof (Z.log2_nonneg a) as Na. pose proof (Z.log2_nonneg b) as Nb.
  pose proof (Z.log2_nonneg c) as Nc.
  remember (Z.log2 a) as la. remember (Z.log2 b) as lb. remember (Z.log2 c) as lc.
  rewrite Z.pow_succ_r in Ha2, Hb2, Hc2 by assumption.
  destruct (Z.leb_spec (la + lb + 2) lc) as [H|H].
  - symmetry. apply Z.ltb_lt.
    assert (P : 2 ^ (la + lb + 2) <= 2 ^ lc) by (apply Z.pow_le_mono_r; lia).
    rewrite (Z.pow_add_r 2 (la + lb) 2), (Z.pow_add_r 2 la lb) in P by lia.
    change (2 ^ 2) with 4 in P. nia.
  - destruct (Z.leb_spec (lc + 1) (la + lb)) as [H'|H'].
    + symmetry. apply Z.ltb_ge.
      assert (P : 2 ^ (lc + 1) <= 2 ^ (la + lb)) by (apply Z.pow_le_mono_r; lia).
      rewrite (Z.pow_add_r 2 lc 1), (Z.pow_add_r 2 la lb) in P by lia.
      change (2 ^ 1) with 2 in P. nia.
    + reflexivity.
Qed.

Lemma mul_add_ltb0_spec (w g r : Z) : mul_add_ltb0 w g r = (w * g + r <? 0).
Proof.
  unfold mul_add_ltb0.
  destruct (Z.eqb_spec w 0) as [->|Hw]; [reflexivity|].
  destruct (Z.eqb_spec g 0) as [->|Hg]; [rewrite Z.mul_0_r; reflexivity|].
  simpl. destruct (Z.ltb_spec 0 w), (Z.ltb_spec 0 g); simpl.
  - rewrite (Z.abs_eq w), (Z.abs_eq g) by lia.
    destruct (Z.leb_spec 0 r).
    + symmetry. apply Z.ltb_ge. nia.
    + rewrite prod_ltb_spec by lia.
      destruct (Z.ltb_spec (w * g) (- r)), (Z.ltb_spec (w * g + r) 0); lia.
  - rewrite (Z.abs_eq w), (Z.abs_neq g) by lia.
    destruct (Z.leb_spec r 0).
    + symmetry. apply Z.ltb_lt. nia.
    + rewrite prod_ltb_spec by lia.
      destruct (Z.ltb_spec (w * - g) (r + 1)), (Z.ltb_spec (w * g + r) 0); simpl; nia.
  - rewrite (Z.abs_neq w), (Z.abs_eq g) by lia.
    destruct (Z.leb_spec r 0).
    + symmetry. apply Z.ltb_lt. nia.
    + rewrite prod_ltb_spec by lia.
      destruct (Z.ltb_spec (- w * g) (r + 1)), (Z.ltb_spec (w * g + r) 0); simpl; nia.
  - rewrite (Z.abs_neq w), (Z.abs_neq g) by lia.
    destruct (Z.leb_spec 0 r).
    + symmetry. apply Z.ltb_ge. nia.
    + rewrite prod_ltb_spec by lia.
      destruct (Z.ltb_spec (- w * - g) (- r)), (Z.ltb_spec (w * g + r) 0); nia.
Qed.

Lemma cubic_pass_spec (mq : Z) (wK : Z * Z) (gk : Z) :
  cubic_pass mq wK gk = (mul_up wK gk + mq <? 0).
Proof. unfold cubic_pass, mul_up. destruct (0 <=? gk); apply mul_add_ltb0_spec. Qed.

(* good(q, m, k, c): the test passes for placement lowM and for highM (the
   arguments of each as in [cubic_pass]; gk = G[m][q][k]).
   Spec (the doc's "Why two placements suffice"): if the hints are verified,
   c >= 1 and good(q, m, k, c) holds for every k in a set Ks of tokens < m,
   the model is correct on every input with query token q (at position n-1)
   and max m whose non-query positions hold m at n-1-c of them and tokens
   of Ks at the other c; for c = 0, good(q, m, m, 0) means the same for
   the input (m, ..., m, q). *)
Definition cubic_good (mq_low mq_high : Z) (wK_low wK_high : Z * Z) (gk : Z) : bool :=
  if cubic_pass mq_low wK_low gk then cubic_pass mq_high wK_high gk else false.

(* What one count c of k slots needs for a fixed query q. *)
Record cubic_slots := mk_cubic_slots {
  cs_c : Z;                   (* c, the number of k slots *)
  cs_binom : Z;               (* binomial (n-1) c *)
  cs_SM_low : Z * Z;          (* (SMl, SMh) of placement lowM *)
  cs_SM_high : Z * Z;         (* (SMl, SMh) of placement highM *)
  cs_wK_low : list (Z * Z);   (* wK of lowM for every token k = 0..v-1 *)
  cs_wK_high : list (Z * Z)   (* wK of highM for every token k *)
}.

(* The placements of c k slots among the sorted non-query positions
   [order]: lowM puts the max token in the first n-1-c and k in the rest,
   highM puts the max token in the last n-1-c and k in the first c. *)
Definition cubic_slots_of (tokq posq : list (Z * Z)) (order : list nat) (n c : nat) : cubic_slots :=
  let nm := (n - 1 - c)%nat in
  let SK_low := hint_sum (skipn nm order) posq in
  let SK_high := hint_sum (firstn c order) posq in
  mk_cubic_slots (Z.of_nat c) (binomial (n - 1) c)
    (hint_sum (firstn nm order) posq) (hint_sum (skipn c order) posq)
    (map (fun t => slot_weight t SK_low) tokq) (map (fun t => slot_weight t SK_high) tokq).

(* What the count needs for one query token q. *)
Record cubic_query := mk_cubic_query {
  cq_tok : list (Z * Z);       (* attn_token[q] *)
  cq_wQ : Z * Z;               (* wQ *)
  cq_c0 : cubic_slots;         (* c = 0 *)
  cq_cs : list cubic_slots     (* c = 1, 2, ..., n-1 *)
}.

Definition cubic_query_of (n q : nat) (keys : list Z) (tokq posq : list (Z * Z)) : cubic_query :=
  let order := sort_positions keys n in
  mk_cubic_query tokq (slot_weight (nth q tokq (0, 0)) (nth (n - 1) posq (0, 0)))
    (cubic_slots_of tokq posq order n 0) (map (cubic_slots_of tokq posq order n) (seq 1 (n - 1))).

(* For q = 0, 1, ...: the rows EQKP[q], attn_token[q], attn_pos[q]. *)
Fixpoint cubic_queries (n q : nat) (eqkp : matrix) (tok_hints pos_hints : list (list (Z * Z))) : list cubic_query :=
  match eqkp, tok_hints, pos_hints with
  | keys :: eqkp', tokq :: th', posq :: ph' =>
      cubic_query_of n q keys tokq posq :: cubic_queries n (S q) eqkp' th' ph'
  | _, _, _ => []
  end.

(* N = #{k < m : good(q, m, k, c)}: walks k = 0, 1, ..., m-1 ([fuel] = m)
   along the wK of both placements and W[m], with G[m][q][k] = Bmq + W[m][k]. *)
Fixpoint count_good_k (fuel : nat) (Bmq mq_low mq_high : Z) (wkl wkh : list (Z * Z)) (Wm : list Z)
         (acc : Z) : Z :=
  match fuel, wkl, wkh, Wm with
  | S fuel', a :: wkl', b :: wkh', w :: Wm' =>
      count_good_k fuel' Bmq mq_low mq_high wkl' wkh' Wm'
                   (if cubic_good mq_low mq_high a b (Bmq + w) then acc + 1 else acc)
  | _, _, _, _ => acc
  end.

(* binomial(n-1, c) * N^c for one c >= 1, with tm = attn_token[q][m],
   gm = G[m][q][m], mQ = mul_up(wQ, G[m][q][q]), Bmq = B[m][q], Wm = W[m]. *)
Definition count_c (m : nat) (tm : Z * Z) (gm mQ Bmq : Z) (Wm : list Z) (cs : cubic_slots) : Z :=
  let mq_low := slot_weight_mul_up tm (cs_SM_low cs) gm + mQ in
  let mq_high := slot_weight_mul_up tm (cs_SM_high cs) gm + mQ in
  let N := count_good_k m Bmq mq_low mq_high (cs_wK_low cs) (cs_wK_high cs) Wm 0 in
  cs_binom cs * N ^ cs_c cs.

(* The sum of [f] over c = 1..cmax, from the list for c = 1..n-1:
   cmax = n-1 if q = m, else n-2 (the last one is left out). *)
Fixpoint sum_slots (q_is_m : bool) (f : cubic_slots -> Z) (css : list cubic_slots) : Z :=
  match css with
  | [] => 0
  | [cs] => if q_is_m then f cs else 0
  | cs :: css' => f cs + sum_slots q_is_m f css'
  end.

(* The inputs with max m and query q counted by the doc:
   [good(q, m, m, 0)] + sum_{c=1..cmax} binomial(n-1, c) * N^c, with
   Bmq = B[m][q], Wm = W[m] and Wmm = W[m][m]. For c = 0 the k term is 0.
   Spec: for q <= m this is the number of inputs x with x_(n-1) = q and
   max x = m such that, with c the number of non-query positions p where
   x_p <> m, either c = 0 and good(q, m, m, 0), or c >= 1 and good(q, m,
   x_p, c) for every such p (binomial(n-1, c) ways to choose the c
   positions, N choices for each; c <= n-2 when q < m, since m must occur). *)
Definition cubic_count_qm (m q : nat) (cq : cubic_query) (Bmq : Z) (Wm : list Z) (Wmm : Z) : Z :=
  let tm := nth m (cq_tok cq) (0, 0) in
  let gm := Bmq + Wmm in
  let mQ := mul_up (cq_wQ cq) (Bmq + nth q Wm 0) in
  let c0 := cq_c0 cq in
  let first := if cubic_good (slot_weight_mul_up tm (cs_SM_low c0) gm + mQ)
                             (slot_weight_mul_up tm (cs_SM_high c0) gm + mQ) (0, 0) (0, 0) gm
               then 1 else 0 in
  first + sum_slots (Nat.eqb q m) (count_c m tm gm mQ Bmq Wm) (cq_cs cq).

(* For q = 0..m ([fuel] = m + 1), along the per-query data and B[m]. *)
Fixpoint cubic_count_q (fuel m q : nat) (cqs : list cubic_query) (Bm Wm : list Z) (Wmm acc : Z) : Z :=
  match fuel, cqs, Bm with
  | S fuel', cq :: cqs', b :: Bm' =>
      cubic_count_q fuel' m (S q) cqs' Bm' Wm Wmm (acc + cubic_count_qm m q cq b Wm Wmm)
  | _, _, _ => acc
  end.

(* The count of section 7: for m = 0..v-1, for q = 0..m, [cubic_count_qm].
   Spec: if the hints pass attn_token_ok and attn_pos_ok and n >= 2,
   cubic_count .. <= #{x | the model is correct on x}. *)
Definition cubic_count (e0 : Z) (dv : derived) (tok_hints pos_hints : list (list (Z * Z))) (v n : Z) : Z :=
  let sc2 := 2 * e0 in let sc4 := 4 * e0 in
  let eul := table_lo sc2 (EUPU dv) in let euh := table_hi sc2 (EUPU dv) in
  let evl := table_lo sc4 (EVOU dv) in let evh := table_hi sc4 (EVOU dv) in
  let pvl := table_lo sc4 (PVOU dv) in let pvh := table_hi sc4 (PVOU dv) in
  let cqs := cubic_queries (Z.to_nat n) 0 (EQKP dv) tok_hints pos_hints in
  fold_left (fun acc m =>
               let mZ := Z.of_nat m in
               let Wm := pess_W mZ evl evh (pv_pess mZ pvl pvh) in
               cubic_count_q (S m) m 0 cqs (pess_B mZ eul euh) Wm (nth m Wm 0) acc)
            (seq 0 (Z.to_nat v)) 0.

(* The count, when n_ctx >= 2, the model is well formed and every hint is
   verified (the same checks as [certified_counts]); None otherwise. *)
Definition cubic_certified_count (c : certificate) : option Z :=
  let cf := cert_config c in
  let ts := cert_tensors c in
  if (2 <=? n_ctx cf) && parameters_ok (cert_parameters c) && model_ok cf ts then
    let e0 := global_scale ts in
    let dv := derive cf ts e0 in
    let h := d_head cf in
    let r := hint_sqrt_d_head c in
    let S := SQRT_BITS - 4 * e0 in
    if sqrt_hint_ok h r && attn_token_ok h r S 0 (EQKE dv) (hint_attn_token c)
       && attn_pos_ok h r S (EQKP dv) (hint_attn_pos c)
    then Some (cubic_count e0 dv (hint_attn_token c) (hint_attn_pos c) (d_vocab cf) (n_ctx cf))
    else None
  else None.

(* proven_correct of the cubic strategy, or 0 when n_ctx < 2, the model is
   malformed or a hint fails. *)
Definition cubic_proven_correct (c : certificate) : Z :=
  match cubic_certified_count c with Some pc => pc | None => 0 end.

(* The claim of a cubic (or subcubic) certificate against the computed count
   pc: the hash, inputs = v^n, 0 <= C <= pc, the lower-bound fraction C / v^n,
   and the trivial rest of the record (claimed_wrong = 0, upper bound N/N). *)
Definition cubic_claim_ok (c : certificate) (pc : Z) : bool :=
  let N := num_inputs c in
  (weights_sha256 c =? claimed_sha256 c)
  && (claimed_inputs c =? N)
  && (0 <=? claimed_correct c) && (claimed_correct c <=? pc)
  && (fst (claimed_lower_bound c) =? claimed_correct c)
  && (snd (claimed_lower_bound c) =? N)
  && (claimed_wrong c =? 0)
  && (fst (claimed_upper_bound c) =? N)
  && (snd (claimed_upper_bound c) =? N).

Lemma cubic_claim_ok_sound (c : certificate) (pc : Z) :
  cubic_claim_ok c pc = true ->
  weights_sha256 c = claimed_sha256 c /\ num_inputs c = claimed_inputs c /\ claimed_correct c <= pc.
Proof.
  unfold cubic_claim_ok. intro H. repeat rewrite andb_true_iff in H.
  destruct H as [[[[[[[[H1 H2] _] H4] _] _] _] _] _].
  apply Z.eqb_eq in H1. apply Z.eqb_eq in H2. apply Z.leb_le in H4.
  auto.
Qed.

(* The whole check of a cubic certificate: hash, n_ctx >= 2, model, hints,
   count, and the claim ([cubic_claim_ok]). *)
Definition cubic_check (c : certificate) : bool :=
  if weights_sha256 c =? claimed_sha256 c then  (* first: see [check] *)
  match cubic_certified_count c with
  | None => false
  | Some pc => cubic_claim_ok c pc
  end
  else false.

(* The reflection lemma of the cubic strategy. (Soundness, later:
   cubic_proven_correct c is at most the number of inputs on which the
   real-number model of these weights is correct.) *)
Lemma cubic_check_sound (c : certificate) :
  cubic_check c = true ->
  weights_sha256 c = claimed_sha256 c /\ num_inputs c = claimed_inputs c
  /\ claimed_correct c <= cubic_proven_correct c.
Proof.
  unfold cubic_check, cubic_proven_correct.
  destruct (weights_sha256 c =? claimed_sha256 c); [|discriminate].
  destruct (cubic_certified_count c) as [pc|]; [|discriminate].
  apply cubic_claim_ok_sound.
Qed.

(** ** 10. The subcubic proofs (doc, section 8)

    Strategies "subcubic-gap", "subcubic-rank-one" and
    "subcubic-rank-one-global". Same weights, constants, logit tables,
    sqrt_d_head and attn_pos hints as the cubic proof, the same certificate
    record and the same claim ([cubic_claim_ok]); n_ctx >= 2. Two more hints
    are passed beside the record: the witness [gap] (v x v x (n-1)) and, for
    the rank-one strategies, [rank_one_hint] (inside [subcubic_strategy]).

    Cost (v tokens, n positions, d = d_model, h = d_head): the matrices
    O(v^2 d) (subcubic-gap: [derive]; the rank-one strategies never form
    the v x v product EQKE: [subcubic_derive] gives X = Eq Q and Y = E K,
    v x h, instead); the token hints O(v^2) exp bounds; the direct tables
    O(v^2 + n v) ([subcubic_top] finds every max_{y <> m} of a row from its
    two largest entries); one test per (q, m, c, placement), O(v^2 n). *)

(* A list predicate of two lists of the same length. *)
Fixpoint forall2b {A B} (f : A -> B -> bool) (a : list A) (b : list B) : bool :=
  match a, b with
  | [], [] => true
  | x :: a', y :: b' => f x y && forall2b f a' b'
  | _, _ => false
  end.

(* map_with_index f [x0; x1; ...] = [f 0 x0; f 1 x1; ...]. *)
Fixpoint map_with_index_from {A B} (f : nat -> A -> B) (i : nat) (l : list A) : list B :=
  match l with
  | [] => []
  | x :: l' => f i x :: map_with_index_from f (S i) l'
  end.
Definition map_with_index {A B} (f : nat -> A -> B) (l : list A) : list B := map_with_index_from f O l.

(* Spec: 0 <= x -> ceil_sqrt x = the least r >= 0 with r * r >= x
   (so sqrt x <= ceil_sqrt x; see [ceil_sqrt_spec]). *)
Definition ceil_sqrt (x : Z) : Z := let r := Z.sqrt x in if r * r =? x then r else r + 1.

Lemma ceil_sqrt_spec (x : Z) : 0 <= x -> 0 <= ceil_sqrt x /\ x <= ceil_sqrt x * ceil_sqrt x.
Proof.
  intro Hx. unfold ceil_sqrt. destruct (Z.sqrt_spec x Hx) as [H1 H2].
  pose proof (Z.sqrt_nonneg x).
  destruct (Z.eqb_spec (Z.sqrt x * Z.sqrt x) x); split; nia.
Qed.

(* The strategy, with its rank_one hint (doc, 8.1): the lists centre (h
   integers), direction (h) and beta (v). Any integers are sound. *)
Record rank_one_hint := mk_rank_one_hint {
  rank_one_centre : list Z; rank_one_direction : list Z; rank_one_beta : list Z
}.

Inductive subcubic_strategy :=
  | subcubic_gap                                  (* "subcubic-gap" *)
  | subcubic_rank_one (r1 : rank_one_hint)        (* "subcubic-rank-one" *)
  | subcubic_rank_one_global (r1 : rank_one_hint) (* "subcubic-rank-one-global" *).

(* The matrices of the rank-one strategies: [derived] without EQKE, and
   its factors X and Y (EQKE = X Y^T). *)
Record subcubic_derived := mk_subcubic_derived {
  sd_X : matrix;      (* X = Eq Q, v x h, scale 2^(2 e0) *)
  sd_Y : matrix;      (* Y = E K, v x h, scale 2^(2 e0) *)
  sd_EQKP : matrix;   (* v x n, scale 2^(4 e0), as in [derived] *)
  sd_EUPU : matrix;   (* v x v, scale 2^(2 e0) *)
  sd_EVOU : matrix;   (* v x v, scale 2^(4 e0) *)
  sd_PVOU : matrix    (* n x v, scale 2^(4 e0) *)
}.

(* Spec: with the exact weights and Eq = E + P[n-1], sd_X * 2^(2 e0) = Eq Q,
   sd_Y * 2^(2 e0) = E K, and the other four as in [derive]
   (EQKP = X (P K)^T). *)
Definition subcubic_derive (c : config) (ts : list tensor) (e0 : Z) : subcubic_derived :=
  let v := d_vocab c in let n := n_ctx c in let d := d_model c in let h := d_head c in
  let E := weight_matrix ts e0 "embed.W_E" v d in
  let P := weight_matrix ts e0 "pos_embed.W_pos" n d in
  let Q := weight_matrix ts e0 "blocks.0.attn.W_Q" d h in
  let K := weight_matrix ts e0 "blocks.0.attn.W_K" d h in
  let V := weight_matrix ts e0 "blocks.0.attn.W_V" d h in
  let O := weight_matrix ts e0 "blocks.0.attn.W_O" h d in
  let U := weight_matrix ts e0 "unembed.W_U" d v in
  let Eq := map (vadd (last P [])) E in
  let Kt := transpose (Z.to_nat h) K in         (* h x d *)
  let X := mul_t' Eq (transpose (Z.to_nat h) Q) in  (* Eq Q, v x h *)
  let Y := mul_t' E Kt in                       (* E K, v x h *)
  let PK := mul_t' P Kt in                      (* P K, n x h *)
  let Ut := transpose (Z.to_nat v) U in         (* v x d *)
  let VO := mul_t V (transpose (Z.to_nat d) O) in   (* V O, d x d *)
  let VOUt := mul_t Ut VO in                    (* (V O U)^T, v x d *)
  mk_subcubic_derived X Y (mul_t X PK) (mul_t' Eq Ut) (mul_t E VOUt) (mul_t P VOUt).

(** *** Token hints by a score interval (doc, 8.1) *)

(* An exp hint for every score difference in [Dlo, Dhi]: a_lo from Dlo,
   a_hi from Dhi (section 4's exp_arguments at each end).
   Spec: sqrt_hint_ok h r = true -> subcubic_hint_ok h r S (Dlo, Dhi) (L, H) = true ->
   for every D with Dlo <= D <= Dhi, L / 2^40 <= exp (D 2^(4 e0) / sqrt h) <= H / 2^40,
   where S = 64 - 4 e0 (exp is increasing). *)
Definition subcubic_hint_ok (h : Z) (r : Z * Z) (S : Z) (D : Z * Z) (hint : Z * Z) : bool :=
  let '(L, H) := hint in
  let a_lo := fst (exp_arguments r (fst D)) in
  let a_hi := snd (exp_arguments r (snd D)) in
  if exp_arg_small h S a_lo && exp_arg_small h S a_hi then
  (0 <=? L) && (L <=? H)
  && (Z.shiftl L (EXP_BITS - HINT_BITS) <=? exp_lo a_lo h S)
  && (exp_hi a_hi h S <=? Z.shiftl H (EXP_BITS - HINT_BITS))
  else false.

(* With Dlo = Dhi = D it is section 4's test. *)
Lemma subcubic_hint_ok_exact (h : Z) (r : Z * Z) (S D : Z) (hint : Z * Z) :
  subcubic_hint_ok h r S (D, D) hint = hint_ok h r S D hint.
Proof.
  unfold subcubic_hint_ok, hint_ok. destruct hint as [L H]. cbn [fst snd].
  destruct (exp_arguments r D). reflexivity.
Qed.

(* R[k] = Y[k] - centre - beta[k] * direction, for every k. *)
Definition subcubic_rank_one_residuals (Y : matrix) (r1 : rank_one_hint) : matrix :=
  map2 (fun yk bk => map2 Z.sub (map2 Z.sub yk (rank_one_centre r1)) (map (Z.mul bk) (rank_one_direction r1)))
       Y (rank_one_beta r1).

(* The largest entry of a list of non-negative integers (0 if empty). *)
Definition max_nonneg (l : list Z) : Z := fold_left Z.max l 0.

(* [Dlo, Dhi] of the doc for every q, t (rows q): (0, 0) at t = q, else
   (mid - e(q, t), mid + e(q, t)) with mid = (beta[t] - beta[q]) (X[q] . direction),
   e(q, t) = rX[q] (rR[t] + rR[q]), or 2 max rX max rR when [global],
   rX[q] = ceil_sqrt(X[q] . X[q]) and rR[k] = ceil_sqrt(R[k] . R[k]).
   Spec: for any integer hint, Dlo[q][t] <= EQKE[q,t] - EQKE[q,q] <= Dhi[q][t],
   because EQKE[q,t] - EQKE[q,q] = X[q] . (Y[t] - Y[q])
   = (beta[t] - beta[q]) (X[q] . direction) + X[q] . (R[t] - R[q]) and, by
   Cauchy-Schwarz, |X[q] . (R[t] - R[q])| <= |X[q]| (|R[t]| + |R[q]|) <= e(q, t). *)
Definition subcubic_rank_one_intervals (global : bool) (X Y : matrix) (r1 : rank_one_hint) : list (list (Z * Z)) :=
  let beta := rank_one_beta r1 in
  let rR := map (fun x => ceil_sqrt (dot x x)) (subcubic_rank_one_residuals Y r1) in
  let rX := map (fun x => ceil_sqrt (dot x x)) X in
  let e_global := 2 * max_nonneg rX * max_nonneg rR in
  map_with_index
    (fun q xq =>
       let bq := nth q beta 0 in
       let aq := dot xq (rank_one_direction r1) in
       let rXq := nth q rX 0 in
       let rRq := nth q rR 0 in
       map_with_index
         (fun t (bt_rRt : Z * Z) =>
            let '(bt, rRt) := bt_rRt in
            if Nat.eqb t q then (0, 0)
            else let mid := (bt - bq) * aq in
                 let e := if global then e_global else rXq * (rRt + rRq) in
                 (mid - e, mid + e))
         (combine beta rR))
    X.

(* The lists of a rank_one hint have lengths h, h and v. *)
Definition subcubic_rank_one_hint_ok (v h : Z) (r1 : rank_one_hint) : bool :=
  (lengthZ (rank_one_centre r1) =? h) && (lengthZ (rank_one_direction r1) =? h)
  && (lengthZ (rank_one_beta r1) =? v).

(* The token hints of a rank-one strategy ([global] for
   subcubic-rank-one-global): the rank_one hint's shape, and
   [subcubic_hint_ok] against its intervals. (subcubic-gap uses section 4's
   [attn_token_ok] against EQKE.) Spec: the same as [attn_token_ok]: for all
   q, t < v, attn_token[q][t] encloses exp(score(q; t) - score(q; q)) (token parts). *)
Definition subcubic_rank_one_token_ok (global : bool) (r1 : rank_one_hint) (v h : Z) (r : Z * Z) (S : Z)
           (X Y : matrix) (hints : list (list (Z * Z))) : bool :=
  if subcubic_rank_one_hint_ok v h r1
  then forall2b (forall2b (subcubic_hint_ok h r S)) (subcubic_rank_one_intervals global X Y r1) hints
  else false.

(** *** Direct path by max differences (doc, 8.2) *)

(* The index of the largest entry (the first one), the largest entry, and
   the largest entry at any other index, of [b1 at i; b2; l] (b1 >= b2). *)
Fixpoint subcubic_top_two (y i : nat) (b1 b2 : Z) (l : list Z) : nat * Z * Z :=
  match l with
  | [] => (i, b1, b2)
  | x :: l' => if b1 <? x then subcubic_top_two (S y) y x b1 l'
               else subcubic_top_two (S y) i b1 (Z.max b2 x) l'
  end.

(* Spec: for a row of length >= 2, subcubic_top row = [top(row, m) for
   m = 0..len-1] with top(row, m) = max_{y <> m} row[y] (= [max_except m row]). *)
Definition subcubic_top (row : list Z) : list Z :=
  match row with
  | x0 :: x1 :: rest =>
      let '(i, b1, b2) := if x0 <? x1 then subcubic_top_two 2 1 x1 x0 rest
                          else subcubic_top_two 2 0 x0 x1 rest in
      map_with_index (fun m _ => if Nat.eqb m i then b2 else b1) row
  | _ => map (fun _ => 0) row   (* never: v >= 2 *)
  end.

(* Row r, entry m: top(hi[r], m) - lo[r][m].
   Spec: for all r, m and y <> m, hi[r][y] - lo[r][m] <= subcubic_max_differences lo hi [r][m]. *)
Definition subcubic_max_differences (lo hi : matrix) : matrix :=
  map2 (fun l h => map2 Z.sub (subcubic_top h) l) lo hi.

(* Wd[m][t] = top(EVh[t], m) - EVl[t][m] + PVs[m] (rows m), with
   PVs[m] = max_p (top(PVh[p], m) - PVl[p][m]).
   Spec: Wd[m][t] >= section 7's W[m][t]. With B[m][q] = top(EUh[q], m) -
   EUl[q][m] (section 7's B), for every input with query q, max m, tokens t_p
   and every y <> m, logit[y] - logit[m] <= sum_p a_p (B[m][q] + Wd[m][t_p]) / 2^32. *)
Definition subcubic_Wd (v : Z) (evl evh pvl pvh : matrix) : matrix :=
  let PVs := rows_max (subcubic_max_differences pvl pvh) in
  transpose (Z.to_nat v) (map (fun row => vadd row PVs) (subcubic_max_differences evl evh)).

(** *** Attention by the smallest gap, the witness and the count (doc, 8.3) *)

(* [max_{k < N} l[k] for N = 1..len l]: Wpre[m] from Wd[m]. *)
Fixpoint subcubic_prefix_max_from (acc : Z) (l : list Z) : list Z :=
  match l with
  | [] => []
  | x :: l' => let a := Z.max acc x in a :: subcubic_prefix_max_from a l'
  end.
Definition subcubic_prefix_max (l : list Z) : list Z :=
  match l with [] => [] | x :: l' => x :: subcubic_prefix_max_from x l' end.

(* [(Lpre[q][N], Hpre[q][N]) for N = 1..v] = [(min_{k<N} L_tok[q][k], max_{k<N} H_tok[q][k])].
   Spec: if every attn_token[q][k] encloses e_k, then for every k < N,
   Lpre[q][N] <= e_k <= Hpre[q][N]. *)
Fixpoint subcubic_prefix_hints_from (acc : Z * Z) (l : list (Z * Z)) : list (Z * Z) :=
  match l with
  | [] => []
  | x :: l' => let a := (Z.min (fst acc) (fst x), Z.max (snd acc) (snd x)) in
               a :: subcubic_prefix_hints_from a l'
  end.
Definition subcubic_prefix_hints (l : list (Z * Z)) : list (Z * Z) :=
  match l with [] => [] | x :: l' => x :: subcubic_prefix_hints_from x l' end.

(* What one count c of k slots needs for a fixed query q: the hint sums of
   the max slots M and the k slots K of the placements lowM and highM
   (section 7, as in [cubic_slots_of]). *)
Record subcubic_slots := mk_subcubic_slots {
  ss_c : Z;               (* c, the number of k slots *)
  ss_binom : Z;           (* binomial (n-1) c *)
  ss_SM_low : Z * Z;      (* (SMl, SMh) of lowM *)
  ss_SK_low : Z * Z;      (* (SKl, SKh) of lowM *)
  ss_SM_high : Z * Z;     (* (SMl, SMh) of highM *)
  ss_SK_high : Z * Z      (* (SKl, SKh) of highM *)
}.

Definition subcubic_slots_of (posq : list (Z * Z)) (order : list nat) (n c : nat) : subcubic_slots :=
  let nm := (n - 1 - c)%nat in
  mk_subcubic_slots (Z.of_nat c) (binomial (n - 1) c)
    (hint_sum (firstn nm order) posq) (hint_sum (skipn nm order) posq)
    (hint_sum (skipn c order) posq) (hint_sum (firstn c order) posq).

(* What the count needs for one query token q. *)
Record subcubic_query := mk_subcubic_query {
  sq_tok : list (Z * Z);         (* attn_token[q] *)
  sq_pre : list (Z * Z);         (* (Lpre[q][N], Hpre[q][N]) for N = 1..v *)
  sq_wQ : Z * Z;                 (* wQ *)
  sq_c0 : subcubic_slots;        (* c = 0 *)
  sq_cs : list subcubic_slots    (* c = 1, 2, ..., n-1 *)
}.

Definition subcubic_query_of (n q : nat) (keys : list Z) (tokq posq : list (Z * Z)) : subcubic_query :=
  let order := sort_positions keys n in
  mk_subcubic_query tokq (subcubic_prefix_hints tokq)
    (slot_weight (nth q tokq (0, 0)) (nth (n - 1) posq (0, 0)))
    (subcubic_slots_of posq order n 0) (map (subcubic_slots_of posq order n) (seq 1 (n - 1))).

(* sgood(q, m, c, N) of the doc, for the placements of [ss] (c k slots),
   with tm = attn_token[q][m], b = B[m][q], gM = b + Wd[m][m],
   mQ = mul_up(wQ, b + Wd[m][q]), pre = sq_pre of q and Wprem = Wpre[m]:
   F = mul_up(wM, gM) + mQ, plus mul_up(wK, b + Wpre[m][N]) when N >= 1, with
   wK = slot_weight (Lpre[q][N], Hpre[q][N]) SK; pass iff F < 0 for lowM and highM
   ([cubic_good] decides this, see [cubic_pass_spec]).
   Spec (the doc's "Why"): if the hints are verified and
   subcubic_good .. ss N = true, the model is correct on every input with
   query q (at position n-1) and max m whose non-query positions hold m at
   n-1-c of them and tokens < N at the other c (for c = 0, N = 0: the
   input (m, ..., m, q)). *)
Definition subcubic_good (pre : list (Z * Z)) (Wprem : list Z) (tm : Z * Z) (b gM mQ : Z)
           (ss : subcubic_slots) (N : Z) : bool :=
  let mq_low := slot_weight_mul_up tm (ss_SM_low ss) gM + mQ in
  let mq_high := slot_weight_mul_up tm (ss_SM_high ss) gM + mQ in
  if N =? 0 then (mq_low <? 0) && (mq_high <? 0)
  else let i := Z.to_nat (N - 1) in
       let tk := nth i pre (0, 0) in
       cubic_good mq_low mq_high (slot_weight tk (ss_SK_low ss)) (slot_weight tk (ss_SK_high ss))
                  (b + nth i Wprem 0).

(* Over c = 1..n-1 along the witnesses N = gap[q][m][c-1]: [acc] plus
   binomial(n-1, c) * N^c, or None when a witness fails. A case (c <= cmax)
   needs 0 <= N <= m and, if N >= 1, [good] ss N (sgood); a non-case needs
   N = 0. The lists must have the same length (n-1). *)
Fixpoint subcubic_sum_cases (cmax m : Z) (good : subcubic_slots -> Z -> bool)
         (css : list subcubic_slots) (Ns : list Z) (acc : Z) : option Z :=
  match css, Ns with
  | [], [] => Some acc
  | ss :: css', N :: Ns' =>
      let ok := if ss_c ss <=? cmax
                then (if (0 <=? N) && (N <=? m) then (if N =? 0 then true else good ss N) else false)
                else N =? 0 in
      if ok then subcubic_sum_cases cmax m good css' Ns' (acc + ss_binom ss * N ^ ss_c ss) else None
  | _, _ => None
  end.

(* The inputs with max m and query q counted by the doc, given b = B[m][q],
   Wdm = Wd[m], Wprem = Wpre[m] and Ns = gap[q][m]; None when a witness
   fails. For m < q nothing is a case (every witness must be 0); else
   [sgood(q, m, 0, 0)] + sum_{c=1..cmax} binomial(n-1, c) * gap[q][m][c-1]^c
   with cmax = n-1 if q = m, else n-2.
   Spec: for q <= m, if it is Some k, k is at most the number of inputs x
   with x_(n-1) = q and max x = m on which the model is correct. *)
Definition subcubic_count_qm (n : Z) (m q : nat) (sq : subcubic_query) (b : Z) (Wdm Wprem Ns : list Z)
  : option Z :=
  if Nat.ltb m q then subcubic_sum_cases (-1) (Z.of_nat m) (fun _ _ => false) (sq_cs sq) Ns 0
  else
    let tm := nth m (sq_tok sq) (0, 0) in
    let gM := b + nth m Wdm 0 in
    let mQ := mul_up (sq_wQ sq) (b + nth q Wdm 0) in
    let good := subcubic_good (sq_pre sq) Wprem tm b gM mQ in
    let first := if good (sq_c0 sq) 0 then 1 else 0 in
    let cmax := if Nat.eqb q m then n - 1 else n - 2 in
    subcubic_sum_cases cmax (Z.of_nat m) good (sq_cs sq) Ns first.

(* For m = 0, 1, ..., along B[.][q] ([bq]), the rows of Wd and Wpre, and gap[q]. *)
Fixpoint subcubic_count_m (n : Z) (q m : nat) (sq : subcubic_query) (bq : list Z) (Wd Wpre gapq : matrix)
         (acc : Z) : option Z :=
  match bq, Wd, Wpre, gapq with
  | [], [], [], [] => Some acc
  | b :: bq', Wdm :: Wd', Wprem :: Wpre', Ns :: gapq' =>
      match subcubic_count_qm n m q sq b Wdm Wprem Ns with
      | Some k => subcubic_count_m n q (S m) sq bq' Wd' Wpre' gapq' (acc + k)
      | None => None
      end
  | _, _, _, _ => None
  end.

(* For q = 0, 1, ..., along the rows EQKP[q], attn_token[q], attn_pos[q],
   B[.][q] and gap[q]. *)
Fixpoint subcubic_count_q (n : nat) (q : nat) (eqkp : matrix) (tok_hints pos_hints : list (list (Z * Z)))
         (BT Wd Wpre : matrix) (gap : list matrix) (acc : Z) : option Z :=
  match eqkp, tok_hints, pos_hints, BT, gap with
  | [], [], [], [], [] => Some acc
  | keys :: eqkp', tokq :: th', posq :: ph', bq :: BT', gapq :: gap' =>
      match subcubic_count_m (Z.of_nat n) q 0 (subcubic_query_of n q keys tokq posq) bq Wd Wpre gapq acc with
      | Some acc' => subcubic_count_q n (S q) eqkp' th' ph' BT' Wd Wpre gap' acc'
      | None => None
      end
  | _, _, _, _, _ => None
  end.

(* The count of section 8.3 from EQKP, EUPU, EVOU and PVOU, or None when
   the witness [gap] is not valid (shape v x v x (n-1), 0 <= N <= m,
   non-cases 0, sgood for every case with N >= 1). Spec: if the token
   hints are verified (as in [subcubic_certified_count]), the hints pass
   attn_pos_ok and n >= 2, subcubic_count .. = Some k ->
   k <= #{x | the model is correct on x}. *)
Definition subcubic_count (e0 : Z) (eqkp eupu evou pvou : matrix) (tok_hints pos_hints : list (list (Z * Z)))
           (gap : list matrix) (v n : Z) : option Z :=
  let sc2 := 2 * e0 in let sc4 := 4 * e0 in
  let BT := subcubic_max_differences (table_lo sc2 eupu) (table_hi sc2 eupu) in
  let Wd := subcubic_Wd v (table_lo sc4 evou) (table_hi sc4 evou) (table_lo sc4 pvou) (table_hi sc4 pvou) in
  subcubic_count_q (Z.to_nat n) 0 eqkp tok_hints pos_hints BT Wd (map subcubic_prefix_max Wd) gap 0.

(* The count, when n_ctx >= 2, the model is well formed, every hint is
   verified and the witness is valid; None otherwise. The token hints:
   subcubic-gap, section 4's test against EQKE (from [derive]); the
   rank-one strategies, [subcubic_rank_one_token_ok] (from [subcubic_derive],
   which does not form EQKE). *)
Definition subcubic_certified_count (s : subcubic_strategy) (gap : list matrix) (c : certificate) : option Z :=
  let cf := cert_config c in
  let ts := cert_tensors c in
  if (2 <=? n_ctx cf) && parameters_ok (cert_parameters c) && model_ok cf ts then
    let e0 := global_scale ts in
    let v := d_vocab cf in
    let h := d_head cf in
    let r := hint_sqrt_d_head c in
    let S := SQRT_BITS - 4 * e0 in
    let toks := hint_attn_token c in
    let poss := hint_attn_pos c in
    let finish (tokens_ok : bool) (eqkp eupu evou pvou : matrix) :=
      if sqrt_hint_ok h r && tokens_ok && attn_pos_ok h r S eqkp poss
      then subcubic_count e0 eqkp eupu evou pvou toks poss gap v (n_ctx cf)
      else None in
    match s with
    | subcubic_gap =>
        let dv := derive cf ts e0 in
        finish (attn_token_ok h r S 0 (EQKE dv) toks) (EQKP dv) (EUPU dv) (EVOU dv) (PVOU dv)
    | subcubic_rank_one r1 =>
        let sd := subcubic_derive cf ts e0 in
        finish (subcubic_rank_one_token_ok false r1 v h r S (sd_X sd) (sd_Y sd) toks)
               (sd_EQKP sd) (sd_EUPU sd) (sd_EVOU sd) (sd_PVOU sd)
    | subcubic_rank_one_global r1 =>
        let sd := subcubic_derive cf ts e0 in
        finish (subcubic_rank_one_token_ok true r1 v h r S (sd_X sd) (sd_Y sd) toks)
               (sd_EQKP sd) (sd_EUPU sd) (sd_EVOU sd) (sd_PVOU sd)
    end
  else None.

(* proven_correct of a subcubic strategy, or 0 when n_ctx < 2, the model is
   malformed, a hint fails or the witness is not valid. *)
Definition subcubic_proven_correct (s : subcubic_strategy) (gap : list matrix) (c : certificate) : Z :=
  match subcubic_certified_count s gap c with Some pc => pc | None => 0 end.

(* The whole check of a subcubic certificate: the hash first (see [check]),
   then n_ctx >= 2, model, hints, witness, count, and the claim. *)
Definition subcubic_check (s : subcubic_strategy) (gap : list matrix) (c : certificate) : bool :=
  if weights_sha256 c =? claimed_sha256 c then
  match subcubic_certified_count s gap c with
  | None => false
  | Some pc => cubic_claim_ok c pc
  end
  else false.

(* The reflection lemma of the subcubic strategies. (Soundness, later:
   subcubic_proven_correct s gap c is at most the number of inputs on which
   the real-number model of these weights is correct.) *)
Lemma subcubic_check_sound (s : subcubic_strategy) (gap : list matrix) (c : certificate) :
  subcubic_check s gap c = true ->
  weights_sha256 c = claimed_sha256 c /\ num_inputs c = claimed_inputs c
  /\ claimed_correct c <= subcubic_proven_correct s gap c.
Proof.
  unfold subcubic_check, subcubic_proven_correct.
  destruct (weights_sha256 c =? claimed_sha256 c); [|discriminate].
  destruct (subcubic_certified_count s gap c) as [pc|]; [|discriminate].
  apply cubic_claim_ok_sound.
Qed.

(** ** 11. Brute force by boxes (doc, section 5: the same counts, faster)

    [box_counts] computes the counts of [brute_force_counts] (part 7), i.e.
    of deciding every input with [decide_input], without deciding every
    input: as checker/check.py does (box_row, count_box, count_inputs), it
    proves whole boxes of inputs correct at once. Spec (the part's one
    claim): when the hints pass attn_token_ok and attn_pos_ok (so every table
    has the doc's shape), box_counts e0 dv th ph = brute_force_counts e0 dv th ph.
    Why, for each query token q (the last position):
    - Partition. For each maximum m >= q, the inputs with last token q and
      maximum m are split into boxes, products of one token range per
      position 0..n-2: if m = q, one box, t <= m everywhere; if m > q, one
      box per j, the first position holding m: t < m before j, t = m at j,
      t <= m after j. Every input is in exactly one box.
    - Bound. For position p holding token t, [box_low_row] is the term of p
      in low_y, for every y (maximum m), and low_y of an input is the sum of
      its positions' terms. So over a box, low_y >= bound_y = the sum over
      positions of the elementwise minimum of the terms over the position's
      range (the last position is fixed: its own row). If bound_y > 0 for
      every y <> m, every input of the box is Correct (decide_input tests
      exactly low_y > 0 first, so it is not counted Wrong).
    - Split. Otherwise the box is split at its first position into one box
      per token of that position's range. A box of one input has
      bound_y = low_y exactly, so its test is decide_input's; if it fails,
      up_y is tested as in decide_input (one y at a time, up to the first
      y <> m with up_y <= 0: [some_up_nonpos]).
    So every input is counted once, with decide_input's verdict; only the
    order of the additions differs (and the counts are integers).

    Speed. The products that do not depend on m are computed once per
    (q, position, token) ([prepare]): a term costs one comparison and one
    subtraction (two products per row) instead of one product. The minimum
    rows over t < m and t <= m are computed once per (q, m, position), in
    one pass per token ([min_low_row]); the rows of single tokens are
    computed again only where a box is split. (For the shipped 64/4 model,
    checker/check.py tests 17,441 boxes and computes up_y for 4,616 single
    inputs, instead of deciding 16.7 million inputs.) *)

(* Position p holding token t (query q fixed), prepared for every maximum m:
   with B[y] = base_h[y] + ev_h[y], the products wl B[y] and wh B[y]. *)
Record prepared := mk_prepared { pr_pos : position; pr_B : list Z; pr_wlB : list Z; pr_whB : list Z }.

Definition prepare (p : position) : prepared :=
  let B := vadd (base_h p) (ev_h p) in
  mk_prepared p B (map (Z.mul (wl p)) B) (map (Z.mul (wh p)) B).

(* The low term of y from the products: see [box_term_spec]. *)
Definition box_term (wla wha a b wlb whb : Z) : Z := if b <=? a then wla - wlb else wha - whb.

Lemma box_term_spec (w_l w_h a b : Z) :
  box_term (w_l * a) (w_h * a) a b (w_l * b) (w_h * b) = low_term w_l w_h (a - b).
Proof.
  unfold box_term, low_term.
  destruct (Z.leb_spec b a); destruct (Z.leb_spec 0 (a - b)); try ring; lia.
Qed.

Fixpoint box_terms (wla wha a : Z) (B wlB whB : list Z) : list Z :=
  match B, wlB, whB with
  | b :: B', x :: wlB', z :: whB' => box_term wla wha a b x z :: box_terms wla wha a B' wlB' whB'
  | _, _, _ => []
  end.

(* The maximum's entry a = base_l[m] + ev_l[m] of a position. *)
Definition box_a (m : nat) (p : position) : Z := nth m (base_l p) 0 + nth m (ev_l p) 0.

(* Spec: box_low_row m pr = low_row m [pr_pos pr] (by box_term_spec): the term
   of this position in low_y, for every y; so for the positions ps of an
   input, low_row m ps is the sum (vadd) of their box_low_rows. *)
Definition box_low_row (m : nat) (pr : prepared) : list Z :=
  let p := pr_pos pr in
  let a := box_a m p in
  box_terms (wl p * a) (wh p * a) a (pr_B pr) (pr_wlB pr) (pr_whB pr).

(* Elementwise minimum. *)
Definition vmin (a b : list Z) : list Z := map2 Z.min a b.

(* vmin acc (box_terms wla wha a B wlB whB), in one pass. *)
Fixpoint min_terms (wla wha a : Z) (acc B wlB whB : list Z) : list Z :=
  match acc, B, wlB, whB with
  | c :: acc', b :: B', x :: wlB', z :: whB' =>
      Z.min c (box_term wla wha a b x z) :: min_terms wla wha a acc' B' wlB' whB'
  | _, _, _, _ => []
  end.

(* vmin acc (box_low_row m pr). *)
Definition min_low_row (m : nat) (acc : list Z) (pr : prepared) : list Z :=
  let p := pr_pos pr in
  let a := box_a m p in
  min_terms (wl p * a) (wh p * a) a acc (pr_B pr) (pr_wlB pr) (pr_whB pr).

(* For one position 0..n-2 and one maximum m: the position prepared with each
   token t < m, the elementwise minimum of their box_low_rows, the position
   prepared with m and its box_low_row, and the minimum over t <= m. *)
Record box_ranges := mk_box_ranges {
  below : list prepared; below_min : list Z; at_max : prepared; at_max_row : list Z; upto_min : list Z
}.

Definition no_prepared : prepared := mk_prepared (mk_position 0 0 [] [] [] []) [] [] [].

(* [pp]: the position prepared with each token 0, 1, ..., v-1. *)
Definition make_ranges (m : nat) (pp : list prepared) : box_ranges :=
  let bl := firstn m pp in
  let top := nth m pp no_prepared in
  let top_row := box_low_row m top in
  match bl with
  | [] => mk_box_ranges [] [] top top_row top_row
  | t0 :: bl' =>
      let bmin := fold_left (min_low_row m) bl' (box_low_row m t0) in
      mk_box_ranges bl bmin top top_row (vmin bmin top_row)
  end.

(* One position of a box: its range's tokens (prepared), cover = the sum of
   the minimum rows of this and every later position (0..n-2), size = the
   number of inputs of the box restricted to this and the later positions. *)
Record box_slot := mk_box_slot { bs_cands : list prepared; bs_cover : list Z; bs_size : Z }.

(* From (tokens, minimum row, number of tokens) per position. *)
Fixpoint box_slots (ranges : list (list prepared * list Z * Z)) : list box_slot :=
  match ranges with
  | [] => []
  | (cs, mn, k) :: ranges' =>
      let rest := box_slots ranges' in
      match rest with
      | [] => [mk_box_slot cs mn k]
      | s :: _ => mk_box_slot cs (vadd mn (bs_cover s)) (k * bs_size s) :: rest
      end
  end.

(* One position of a single input, for computing up_y one y at a time:
   wl, wh, ch = base_h[m] + ev_h[m], and the rest of base_l and ev_l. *)
Record up_cursor := mk_up_cursor { uc_wl : Z; uc_wh : Z; uc_ch : Z; uc_bl : list Z; uc_el : list Z }.

Definition up_cursor_of (m : nat) (p : position) : up_cursor :=
  mk_up_cursor (wl p) (wh p) (nth m (base_h p) 0 + nth m (ev_h p) 0) (base_l p) (ev_l p).

(* sum + up_y for the cursors' current y, and the cursors moved to y + 1
   (in reverse order); None when a list has ended. *)
Fixpoint up_step (cs : list up_cursor) (sum : Z) (moved : list up_cursor) : option (Z * list up_cursor) :=
  match cs with
  | [] => Some (sum, moved)
  | c :: cs' =>
      match uc_bl c, uc_el c with
      | x :: bl', e :: el' =>
          up_step cs' (sum + up_term (uc_wl c) (uc_wh c) (uc_ch c - (x + e)))
                  (mk_up_cursor (uc_wl c) (uc_wh c) (uc_ch c) bl' el' :: moved)
      | _, _ => None
      end
  end.

(* Whether up_y <= 0 for some y <> m, y = y0, y0 + 1, ...: stops at the first
   such y. Spec: for the positions ps of an input and fuel >= the length of
   the rows, some_up_nonpos fuel m 0 (map (up_cursor_of m) ps)
   = some_nonpos_except m 0 (up_row m ps) (the same sums, one y at a time;
   the order of the cursors does not change a sum). *)
Fixpoint some_up_nonpos (fuel : nat) (m y : Z) (cs : list up_cursor) : bool :=
  match fuel with
  | O => false
  | S fuel' =>
      match up_step cs 0 [] with
      | None => false
      | Some (u, cs') => if negb (y =? m) && (u <=? 0) then true else some_up_nonpos fuel' m (y + 1) cs'
      end
  end.

(* The verdicts of the inputs of a box with maximum m, added to acc: the
   positions before the box's slots hold the tokens [chosen], the last
   position is [pq], and P is the sum of their box_low_rows. Spec: the
   result is acc plus the counts (Correct, Wrong) of decide_input m over
   the inputs of the box (see the part's header): bound = P + cover; for
   one input ([] slots) P = low_row m (chosen ++ [pq]) exactly, and
   some_up_nonpos is some_nonpos_except of up_row, so the verdict is
   decide_input's. *)
Fixpoint count_box (m : nat) (pq : position) (slots : list box_slot) (chosen : list position)
         (P : list Z) (acc : Z * Z) : Z * Z :=
  let mz := Z.of_nat m in
  match slots with
  | [] =>
      count_verdict acc
        (if all_pos_except mz 0 P then Correct
         else if some_up_nonpos (List.length (base_l pq)) mz 0 (map (up_cursor_of m) (chosen ++ [pq]))
         then Wrong
         else Undecided)
  | s :: slots' =>
      if all_pos_except mz 0 (vadd P (bs_cover s)) then (fst acc + bs_size s, snd acc)
      else fold_left (fun acc pr => count_box m pq slots' (chosen ++ [pr_pos pr])
                                              (vadd P (box_low_row m pr)) acc)
                     (bs_cands s) acc
  end.

(* The box of maximum m (m > q) whose first position holding m is j. *)
Definition box_first_max (j : nat) (m : Z) (rs : list box_ranges) : list (list prepared * list Z * Z) :=
  map_with_index (fun p r =>
      if Nat.ltb p j then (below r, below_min r, m)
      else if Nat.eqb p j then ([at_max r], at_max_row r, 1)
      else (below r ++ [at_max r], upto_min r, m + 1)) rs.

(* All inputs with last token q and maximum m, added to acc. [preps]: for
   each position 0..n-2, the position prepared with each token; [pq]: the
   last position prepared with q. *)
Definition count_max (q m : nat) (preps : list (list prepared)) (pq : prepared) (acc : Z * Z) : Z * Z :=
  let rs := map (make_ranges m) preps in
  let mz := Z.of_nat m in
  let count (box : list (list prepared * list Z * Z)) (acc : Z * Z) :=
    count_box m (pr_pos pq) (box_slots box) [] (box_low_row m pq) acc in
  if Nat.eqb m q then count (map (fun r => (below r ++ [at_max r], upto_min r, mz + 1)) rs) acc
  else fold_left (fun acc j => count (box_first_max j mz rs) acc) (seq 0 (List.length rs)) acc.

(* Loop over the query token q, as [count_queries]; for each q, over the
   maximum m = q, ..., v-1. *)
Fixpoint box_queries (q : nat) (eul euh evl evh pvl pvh : matrix)
         (tok_hints pos_hints : list (list (Z * Z))) (acc : Z * Z) : Z * Z :=
  match eul, euh, tok_hints, pos_hints with
  | eulq :: eul', euhq :: euh', thq :: th', phq :: ph' =>
      let toks := make_tokens 0 evl evh thq in
      let slots := make_slots eulq euhq pvl pvh phq in
      let qt := nth q toks (mk_token (Z.of_nat q) [] [] (0, 0)) in
      let preps := map (fun s => map (fun t => prepare (position_of s t)) toks) (removelast slots) in
      let pq := prepare (position_of (last slots (mk_slot [] [] (0, 0))) qt) in
      let acc := fold_left (fun acc m => count_max q m preps pq acc) (seq q (List.length toks - q)) acc in
      box_queries (S q) eul' euh' evl evh pvl pvh th' ph' acc
  | _, _, _, _ => acc
  end.

(* Spec: when the hints pass attn_token_ok and attn_pos_ok (so every table
   has the doc's shape), box_counts e0 dv th ph = brute_force_counts e0 dv th ph
   (the part's header says why; tests/test_coq_boxes.py compares the two). *)
Definition box_counts (e0 : Z) (dv : derived) (tok_hints pos_hints : list (list (Z * Z))) : Z * Z :=
  let sc2 := 2 * e0 in let sc4 := 4 * e0 in
  box_queries 0 (table_lo sc2 (EUPU dv)) (table_hi sc2 (EUPU dv))
              (table_lo sc4 (EVOU dv)) (table_hi sc4 (EVOU dv))
              (table_lo sc4 (PVOU dv)) (table_hi sc4 (PVOU dv))
              tok_hints pos_hints (0, 0).

(* [certified_counts] with box_counts: the counts when the model is well
   formed and every hint is verified; None otherwise. Spec:
   box_certified_counts c = certified_counts c. With n_ctx <= 2 there are
   at most v^2 inputs and a box saves little: the boxes' precomputation
   ([prepare], 2 v products per (q, position, token)) costs about as much as
   deciding every input, so [brute_force_counts] itself is used. *)
Definition box_certified_counts (c : certificate) : option (Z * Z) :=
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
    then Some (if 3 <=? n_ctx cf then box_counts e0 dv (hint_attn_token c) (hint_attn_pos c)
               else brute_force_counts e0 dv (hint_attn_token c) (hint_attn_pos c))
    else None
  else None.

(* proven_correct and proven_wrong of section 5, computed by boxes (0 when
   the model is malformed or a hint fails). Spec:
   proven_correct_by_boxes c = proven_correct c and
   proven_wrong_by_boxes c = proven_wrong c. *)
Definition proven_correct_by_boxes (c : certificate) : Z :=
  match box_certified_counts c with Some (pc, _) => pc | None => 0 end.
Definition proven_wrong_by_boxes (c : certificate) : Z :=
  match box_certified_counts c with Some (_, pw) => pw | None => 0 end.

(* The claim of a brute-force certificate against the counts (pc, pw), as in
   [check]: the hash, inputs = v^n, 0 <= C <= pc, 0 <= W <= pw, and the two
   fractions exactly C / v^n and (v^n - W) / v^n. *)
Definition brute_force_claim_ok (c : certificate) (pc pw : Z) : bool :=
  let N := num_inputs c in
  (weights_sha256 c =? claimed_sha256 c)
  && (claimed_inputs c =? N)
  && (0 <=? claimed_correct c) && (claimed_correct c <=? pc)
  && (0 <=? claimed_wrong c) && (claimed_wrong c <=? pw)
  && (fst (claimed_lower_bound c) =? claimed_correct c)
  && (snd (claimed_lower_bound c) =? N)
  && (fst (claimed_upper_bound c) =? N - claimed_wrong c)
  && (snd (claimed_upper_bound c) =? N).

Lemma brute_force_claim_ok_sound (c : certificate) (pc pw : Z) :
  brute_force_claim_ok c pc pw = true ->
  weights_sha256 c = claimed_sha256 c /\ num_inputs c = claimed_inputs c
  /\ claimed_correct c <= pc /\ claimed_wrong c <= pw.
Proof.
  unfold brute_force_claim_ok. intro H. repeat rewrite andb_true_iff in H.
  destruct H as [[[[[[[[[H1 H2] _] H4] _] H6] _] _] _] _].
  apply Z.eqb_eq in H1. apply Z.eqb_eq in H2. apply Z.leb_le in H4. apply Z.leb_le in H6.
  auto.
Qed.

(* [check] with the counts by boxes: the hash first (see [check]), then
   model, hints, counts, fractions. Spec: box_check c = check c. *)
Definition box_check (c : certificate) : bool :=
  if weights_sha256 c =? claimed_sha256 c then
  match box_certified_counts c with
  | None => false
  | Some (pc, pw) => brute_force_claim_ok c pc pw
  end
  else false.

(* The reflection lemma of the brute force by boxes. *)
Lemma box_check_sound (c : certificate) :
  box_check c = true ->
  weights_sha256 c = claimed_sha256 c /\ num_inputs c = claimed_inputs c
  /\ claimed_correct c <= proven_correct_by_boxes c /\ claimed_wrong c <= proven_wrong_by_boxes c.
Proof.
  unfold box_check, proven_correct_by_boxes, proven_wrong_by_boxes.
  destruct (weights_sha256 c =? claimed_sha256 c); [|discriminate].
  destruct (box_certified_counts c) as [[pc pw]|]; [|discriminate].
  apply brute_force_claim_ok_sound.
Qed.
