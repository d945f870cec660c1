#!/usr/bin/env python3
"""Standalone auditor of mechcert certificates (format version 1).

    python3 check.py CERT_DIR [--quiet] [--jobs N]

WHAT YOU MUST TRUST: this one file, the Python 3.11 standard library, and the
interpreter that runs them. Nothing else: not the producer that wrote the
certificate, not numpy, torch or mpmath (none is imported), not floating point
(no float enters any decision: all arithmetic is on Python's exact unbounded
integers), and no number in certificate.json: every hint is verified and every
count recomputed before the claim is compared with it.

WHAT IT CHECKS (docs/certificate-format.md is the specification; functions
carry the doc's names and each docstring states what it guarantees):
  1. certificate.json: format, version, task, strategy, parameters are exactly
     the version-1 values; every field has exactly the expected keys and types.
  2. weights.json: tensors sorted by name, every float32 bit pattern finite and
     canonical; the model hash recomputed from the bits equals both
     weights.json's sha256 and the certificate's model.sha256; configs equal.
  2b. the prover projects coq/ and lean/, if present, are byte for byte the
     files listed (by SHA-256) in certificate.json's "rendered".
  3. the model is the Max-of-K shape (1 layer, 1 head, d_vocab >= 2, zero
     biases, shapes as the config says); the exact integer matrices EQKE EQKP
     EUPU EVOU PVOU.
  4. hints.sqrt_d_head encloses sqrt(d_head).
  5. every exp hint encloses exp of its score difference, by this file's own
     exp_lo/exp_hi (Taylor sums rounded in the safe direction).
  6-7. strategy "brute-force" (doc, section 5): the claim's form, then all
     v^n inputs re-decided, whole boxes of inputs at once where a bound allows,
     with the very counts of deciding them one by one; the claimed counts must
     not exceed the recomputed ones.
  6-8. strategy "cubic" (doc, section 7): n_ctx >= 2 and the claim's form (no
     proven_wrong, no accuracy_upper_bound); the pessimised tables PVpess, W,
     B (G = B + W); the placement tests good(q, m, k, c) and the count, which
     must be >= the claimed proven_correct.
  6-8. strategies "subcubic-gap", "subcubic-rank-one", "subcubic-rank-one-global"
     (doc, section 8): as cubic, with the direct tables by max differences and
     one test per (q, m, c) at the certificate's witness N (every k < N at once);
     the rank-one ones never form EQKE: their token hints are verified against
     score intervals from a rank-one part plus a norm-bounded error.
  The proof cost, the integer operations done, is counted and printed.

WHAT "VERIFIED" MEANS, by the arguments in the docstrings below (the doc's,
restated): for the network whose exact weights are in weights.json (identified
by their SHA-256), read with real-number semantics (exact float32 values, real
sqrt and exp, softmax attention from the last position), at least
proven_correct of the v^n inputs have logit[max] strictly above every other
logit, and (brute force only) on at least proven_wrong inputs some other logit
is >= logit[max].

WHAT IT DOES NOT CHECK: that weights.json came from the model file you have in
mind (compare the SHA-256); the "producer" field; what the coq/ and lean/
projects prove (the provers check that; this checker only checks that they
are the files certified); floating-point inference (PyTorch rounds; the
certificate is about the exact real-valued network). Limits of this checker,
each a REJECTED and never a wrong VERIFIED: exp arguments |x| > 2^16, files over
1 GiB, JSON integers over 4300 digits, tensors of rank over 8.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import struct
import sys
import time
from dataclasses import dataclass, field
from itertools import chain
from math import comb, isqrt
from operator import add, mul

# Constants of format version 1 (doc, section 3), and this checker's own limits.
PARAMETERS = {"sqrt_bits": 64, "hint_bits": 40, "exp_bits": 64, "taylor_n": 16, "logit_bits": 32}
P, TAYLOR_N, HINT_BITS, SQRT_BITS, LOGIT_BITS = 64, 16, 40, 64, 32
MAX_FILE_BYTES, MAX_EXP_ARG_LOG2, MAX_RANK = 1 << 30, 16, 8
HASH_HEADER = b"mechcert-weights-v1\n"
NAME_RE, SHA_RE, HEX_RE = re.compile(r"[A-Za-z0-9_.]+"), re.compile(r"[0-9a-f]{64}"), re.compile(r"[0-9a-f]*")
CONFIG_KEYS = ("d_vocab", "d_vocab_out", "n_ctx", "d_model", "d_head", "n_heads", "n_layers")


class Rejected(Exception):
    """A certificate this checker refuses; the message is the one-line reason."""


# ---------------------------------------------------------------- proof cost (doc, section 8.4)
OPS = [0]  # integer operations done so far by this process: the doc's proof cost


def tally(k):
    """Count k integer operations (+ - * // shifts, comparisons, two-argument max/min), added by
    each function below next to the operations it performs."""
    OPS[0] += k


# ---------------------------------------------------------------- arithmetic (doc, sections 0 and 4)
def shift_floor(z, k):
    """floor(z * 2^k) for any integers z, k."""
    return z << k if k >= 0 else z >> -k


def shift_ceil(z, k):
    """ceil(z * 2^k) for any integers z, k."""
    return z << k if k >= 0 else -((-z) >> -k)


def ceil_shift(z, k):
    """ceil(z / 2^k) for k >= 0."""
    return -((-z) >> k)


def ceil_div(z, c):
    """ceil(z / c) for c > 0."""
    return -((-z) // c)


def exp_pos(a, c, s):
    """For a > 0, c > 0, s >= 0 and x = a / (c 2^s): (lo, hi) with lo/2^64 <= exp(x) <= hi/2^64.

    Proof. a < 2^(log2 a + 1) and c >= 2^(log2 c), so y = x/2^k < 2^(log2 a + 1 - log2 c - s - k)
    <= 1/2. yl = floor(2^P y) and yh = ceil(2^P y) (a floor of a floor of a quotient by c > 0 is
    the floor of the quotient). Lower sum: by induction 0 <= t_j <= 2^P y^j / j!, so lo/2^P is
    below a partial sum of the series of e^y with positive terms. Upper sum: by induction
    t_j >= 2^P y^j / j!; the Lagrange remainder e^xi y^(N+1)/(N+1)! with xi < y <= 1/2 is
    < 2 (y^N/N!) y/(N+1) <= 2 t_N yh / 2^(2P) / (N+1), which the last term bounds. Finally
    exp(x) = (e^y)^(2^k) and squaring with floor (resp. ceil) keeps each bound on its side,
    since both are non-negative. Both results are >= 2^P (every term is >= 0).
    """
    N = TAYLOR_N
    k = max(0, (a.bit_length() - 1) + 2 - (c.bit_length() - 1) - s)
    yl = shift_floor(a, P - s - k) // c
    yh = ceil_div(shift_ceil(a, P - s - k), c)
    t = lo = 1 << P
    for j in range(1, N + 1):
        t = ((t * yl) >> P) // j
        lo += t
    t = hi = 1 << P
    for j in range(1, N + 1):
        t = ceil_div(ceil_shift(t * yh, P), j)
        hi += t
    hi += ceil_div(ceil_shift(2 * t * yh, P), N + 1)
    for _ in range(k):
        lo = (lo * lo) >> P
        hi = ceil_shift(hi * hi, P)
    tally(15 + 8 * N + 4 * k)
    return lo, hi


def exp_lo(a, c, s):
    """An integer with exp_lo / 2^64 <= exp(a / (c 2^s)) (c > 0, s >= 0).
    For a < 0: exp(x) = 1/exp(-x) >= 2^P / hi >= floor(2^(2P) / hi) / 2^P."""
    tally(2)
    if a == 0:
        return 1 << P
    return exp_pos(a, c, s)[0] if a > 0 else (1 << 2 * P) // exp_pos(-a, c, s)[1]


def exp_hi(a, c, s):
    """An integer with exp(a / (c 2^s)) <= exp_hi / 2^64 (c > 0, s >= 0).
    For a < 0: exp(x) = 1/exp(-x) <= 2^P / lo (lo >= 2^P > 0) <= ceil(2^(2P) / lo) / 2^P."""
    tally(2)
    if a == 0:
        return 1 << P
    return exp_pos(a, c, s)[1] if a > 0 else ceil_div(1 << 2 * P, exp_pos(-a, c, s)[0])


# ---------------------------------------------------------------- strict JSON
def show(z):
    """An integer for a message: its digits, or its size when it is long."""
    return str(z) if z.bit_length() < 200 else f"<{z.bit_length()}-bit integer>"


def describe(x):
    """A short, exact description of a JSON value for error messages."""
    if isinstance(x, bool) or x is None:
        return json.dumps(x)
    if isinstance(x, int):
        return f"the integer {show(x)}"
    if isinstance(x, str):
        return f"the string {x[:40]!r}" + ("..." if len(x) > 40 else "")
    return {"float": "a non-integer number", "list": "a list", "dict": "an object"}.get(type(x).__name__, "a value")


def want_int(x, where, lo=None):
    """x itself, if it is a JSON integer (not a boolean, not 1.0) and >= lo."""
    if type(x) is not int:
        raise Rejected(f"{where}: expected an integer, found {describe(x)}")
    if lo is not None and x < lo:
        raise Rejected(f"{where}: expected an integer >= {lo}, found {show(x)}")
    return x


def want_list(x, where, length=None):
    """x itself, if it is a list of exactly `length` entries (any length if None)."""
    if type(x) is not list:
        raise Rejected(f"{where}: expected a list, found {describe(x)}")
    if length is not None and len(x) != length:
        raise Rejected(f"{where}: expected a list of {length} entries, found {len(x)}")
    return x


def want_object(x, where, keys, optional=()):
    """x itself, if it is an object with every key of `keys`, some of `optional`, and no other."""
    if type(x) is not dict:
        raise Rejected(f"{where}: expected an object, found {describe(x)}")
    missing = [k for k in keys if k not in x]
    if missing:
        raise Rejected(f"{where}: missing field {missing[0]!r}")
    extra = sorted(k for k in x if k not in keys and k not in optional)
    if extra:
        raise Rejected(f"{where}: unknown field {extra[0]!r}")
    return x


def want_equal(x, where, expected):
    """Passes iff x equals `expected` with the same JSON type (so true is not 1)."""
    if type(x) is not type(expected) or x != expected:
        raise Rejected(f"{where}: expected {describe(expected)}, found {describe(x)}")


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise Rejected(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r} in an object")
    return dict(pairs)


def _no_constant(name):
    raise Rejected(f"{name} is not allowed (not a JSON number)")


def read_json(cert_dir, name):
    """The parsed contents of CERT_DIR/name: an object, from a regular file of at most
    1 GiB of strict UTF-8 JSON with no NaN/Infinity and no duplicate keys."""
    path = os.path.join(cert_dir, name)
    if not os.path.exists(path):
        raise Rejected(f"{name}: missing from {cert_dir}")
    if not os.path.isfile(path):
        raise Rejected(f"{name}: not a regular file")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise Rejected(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise Rejected(f"{name}: larger than this checker's limit of {MAX_FILE_BYTES} bytes")
    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except Rejected as exc:
        raise Rejected(f"{name}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise Rejected(f"{name}: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise Rejected(f"{name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:  # an integer literal over sys.get_int_max_str_digits() digits
        raise Rejected(f"{name}: not readable ({str(exc).splitlines()[0][:120]})") from None
    except RecursionError:
        raise Rejected(f"{name}: nested too deeply") from None
    if type(doc) is not dict:
        raise Rejected(f"{name}: expected a JSON object, found {describe(doc)}")
    return doc


# ---------------------------------------------------------------- weights (doc, section 1)
def decode_float32(bits):
    """The exact value of a binary32 bit pattern as (m, e), value = m * 2^e, m signed, |m| < 2^24.
    Raises ValueError for exponent field 255 (NaN, Inf) or a pattern outside [0, 2^32)."""
    if not 0 <= bits < 1 << 32:
        raise ValueError(f"{bits} is not a 32-bit pattern")
    sign, ex, man = bits >> 31, (bits >> 23) & 255, bits & 0x7FFFFF
    if ex == 255:
        raise ValueError(f"bit pattern {bits:08x} has exponent field 255 (NaN or Inf)")
    m, e = (man, -149) if ex == 0 else (man + (1 << 23), ex - 150)
    return (-m if sign else m), e


def check_config(cfg, where):
    """cfg itself, if it has exactly the seven config keys, each an integer >= 1."""
    want_object(cfg, where, CONFIG_KEYS)
    for k in CONFIG_KEYS:
        want_int(cfg[k], f"{where}.{k}", 1)
    return cfg


def read_weights(doc):
    """(config, sha256, tensors) of a weights.json document, sha256 being its stated field. tensors
    maps each name (unique, matching [A-Za-z0-9_.]+, in byte order as in the file) to
    (shape, bits, values): len(bits) = product
    of shape (rank <= 8, dims < 2^32), every pattern finite and not negative zero, and
    values[i] = decode_float32(bits[i])."""
    want_object(doc, "weights.json", ("format", "version", "sha256", "config", "tensors"))
    want_equal(doc["format"], "weights.json: format", "mechcert-weights")
    want_equal(doc["version"], "weights.json: version", 1)
    cfg = check_config(doc["config"], "weights.json: config")
    if type(doc["sha256"]) is not str or not SHA_RE.fullmatch(doc["sha256"]):
        raise Rejected(f"weights.json: sha256: expected 64 lowercase hex digits, found {describe(doc['sha256'])}")
    tensors = {}
    for i, t in enumerate(want_list(doc["tensors"], "weights.json: tensors")):
        w = f"weights.json: tensors[{i}]"
        want_object(t, w, ("name", "shape", "float32_hex"))
        name = t["name"]
        if type(name) is not str or not NAME_RE.fullmatch(name):
            raise Rejected(f"{w}.name: expected a name matching [A-Za-z0-9_.]+, found {describe(name)}")
        if name in tensors:
            raise Rejected(f"{w}: duplicate tensor name {name!r}")
        w = f"weights.json: tensor {name}"
        shape = want_list(t["shape"], f"{w}: shape")
        if len(shape) > MAX_RANK:
            raise Rejected(f"{w}: shape has {len(shape)} dimensions (this checker allows at most {MAX_RANK})")
        count = 1
        for j, dim in enumerate(shape):
            count *= want_int(dim, f"{w}: shape[{j}]", 0)
            if dim >= 1 << 32:
                raise Rejected(f"{w}: shape[{j}] = {show(dim)} does not fit in 32 bits")
        hexs = t["float32_hex"]
        if type(hexs) is not str or not HEX_RE.fullmatch(hexs):
            raise Rejected(f"{w}: float32_hex is not a string of lowercase hex digits")
        if len(hexs) != 8 * count:
            raise Rejected(f"{w}: float32_hex has {len(hexs)} hex digits, its shape needs {show(8 * count)}")
        bits = struct.unpack(f">{count}I", bytes.fromhex(hexs))
        values = []
        for j, b in enumerate(bits):
            if b == 0x80000000:
                raise Rejected(f"{w}: value {j} is negative zero 80000000 (must be stored as 00000000)")
            try:
                values.append(decode_float32(b))
            except ValueError as exc:
                raise Rejected(f"{w}: value {j}: {exc}") from None
        tensors[name] = (tuple(shape), bits, values)
    names = [name.encode("ascii") for name in tensors]  # in file order
    for a, b in zip(names, names[1:]):
        if not a < b:
            raise Rejected(f"weights.json: tensors are not sorted by name ({a.decode()} before {b.decode()})")
    return cfg, doc["sha256"], tensors


def model_hash(tensors):
    """SHA-256 (hex) of the doc's canonical byte string: the header, then for each tensor in
    byte order of name: u32be name length, name, u32be rank, u32be dims, u32be bits (-0 as 0).
    The order of `tensors` does not matter."""
    h = hashlib.sha256(HASH_HEADER)
    for name in sorted(tensors, key=lambda s: s.encode("ascii")):
        shape, bits = tensors[name][0], tensors[name][1]
        h.update(struct.pack(">I", len(name)) + name.encode("ascii"))
        h.update(struct.pack(f">{1 + len(shape)}I", len(shape), *shape))
        h.update(struct.pack(f">{len(bits)}I", *(0 if b == 0x80000000 else b for b in bits)))
    return h.hexdigest()


# ---------------------------------------------------------------- the Max-of-K model (doc, section 2)
def max_of_k_shapes(cfg):
    """name -> (shape, required) of every tensor a Max-of-K weights file may hold."""
    v, n, d, h = cfg["d_vocab"], cfg["n_ctx"], cfg["d_model"], cfg["d_head"]
    a = "blocks.0.attn."
    req = {"embed.W_E": [v, d], "pos_embed.W_pos": [n, d], a + "W_Q": [1, d, h], a + "W_K": [1, d, h],
           a + "W_V": [1, d, h], a + "W_O": [1, h, d], "unembed.W_U": [d, v]}
    opt = {a + "b_Q": [1, h], a + "b_K": [1, h], a + "b_V": [1, h], a + "b_O": [d], "unembed.b_U": [v]}
    return {**{k: (s, True) for k, s in req.items()}, **{k: (s, False) for k, s in opt.items()}}


def integer_weights(cfg, tensors):
    """(e0, ints): checks 1 layer, 1 head, d_vocab_out = d_vocab >= 2, every tensor known with the shape
    the config gives, required ones present, biases all zero. e0 = min(0, min e over nonzero
    weights); ints[name] is the row-major list of integers I with weight = I * 2^e0 exactly."""
    for k, want in (("n_layers", 1), ("n_heads", 1), ("d_vocab_out", cfg["d_vocab"])):
        if cfg[k] != want:
            raise Rejected(f"config.{k}: max-of-k needs {want}, found {cfg[k]}")
    if cfg["d_vocab"] < 2:
        raise Rejected(f"config.d_vocab: max-of-k needs at least 2, found {cfg['d_vocab']}")
    shapes = max_of_k_shapes(cfg)
    for name in sorted(tensors):
        if name not in shapes:
            raise Rejected(f"weights.json: tensor {name} is not part of a max-of-k model")
        if list(tensors[name][0]) != shapes[name][0]:
            raise Rejected(f"weights.json: tensor {name} has shape {list(tensors[name][0])}, "
                           f"the config gives {shapes[name][0]}")
        if not shapes[name][1] and any(m != 0 for m, _ in tensors[name][2]):
            j = next(j for j, (m, _) in enumerate(tensors[name][2]) if m != 0)
            raise Rejected(f"weights.json: bias {name} must be all zero; value {j} is not")
    for name, (_, required) in shapes.items():
        if required and name not in tensors:
            raise Rejected(f"weights.json: required tensor {name} is missing")
    e0 = min([0] + [e for t in tensors.values() for m, e in t[2] if m != 0])
    tally(2 * sum(len(t[2]) for t in tensors.values()))
    return e0, {name: [m << (e - e0) if m else 0 for m, e in t[2]] for name, t in tensors.items()}


def _rows(flat, r, c):
    return [flat[i * c:(i + 1) * c] for i in range(r)]


def matmul(A, B):
    """The exact product of integer matrices given as lists of rows."""
    cols = list(zip(*B))
    tally(len(A) * len(cols) * (2 * len(B) - 1))
    return [[sum(map(mul, row, col)) for col in cols] for row in A]


def derived_matrices(cfg, ints, eqke=True):
    """The doc's exact integer matrices: EQKE, EQKP, EVOU, PVOU at scale 2^(4 e0), EUPU at 2^(2 e0).
    With eqke=False (the rank-one strategies, doc section 8.1) EQKE is not formed; instead
    X = Eq Q and Y = E K (scale 2^(2 e0)), so that EQKE = X Y^T and EQKP = X (P K)^T."""
    v, n, d, h = cfg["d_vocab"], cfg["n_ctx"], cfg["d_model"], cfg["d_head"]
    E, Pm = _rows(ints["embed.W_E"], v, d), _rows(ints["pos_embed.W_pos"], n, d)
    Q, K, V = (_rows(ints["blocks.0.attn." + k], d, h) for k in ("W_Q", "W_K", "W_V"))
    O, U = _rows(ints["blocks.0.attn.W_O"], h, d), _rows(ints["unembed.W_U"], d, v)
    Eq = [[e + p for e, p in zip(row, Pm[n - 1])] for row in E]
    tally(v * d)
    VOU = matmul(V, matmul(O, U))
    out = {"EUPU": matmul(Eq, U), "EVOU": matmul(E, VOU), "PVOU": matmul(Pm, VOU)}
    if eqke:
        EqQK = matmul(Eq, matmul(Q, [list(c) for c in zip(*K)]))
        out.update(EQKE=matmul(EqQK, [list(c) for c in zip(*E)]), EQKP=matmul(EqQK, [list(c) for c in zip(*Pm)]))
    else:
        X, Y = matmul(Eq, Q), matmul(E, K)
        out.update(X=X, Y=Y, EQKP=matmul(X, [list(c) for c in zip(*matmul(Pm, K))]))
    return out


# ---------------------------------------------------------------- hints (doc, section 4)
def check_sqrt_hint(x, h):
    """(R_lo, R_hi), if 0 < R_lo <= R_hi and R_lo^2 <= h 2^128 <= R_hi^2, i.e. R_lo/2^64 <= sqrt(h) <=
    R_hi/2^64 (R_lo <= R_hi makes R_hi positive: a negative R_hi has a large square too, and would
    turn the sign of exp_arguments' upper end, so that every exp hint passed)."""
    r_lo, r_hi = (want_int(r, f"hints.sqrt_d_head[{i}]") for i, r in enumerate(want_list(x, "hints.sqrt_d_head", 2)))
    tally(4)
    if not (0 < r_lo <= r_hi and r_lo * r_lo <= h << 2 * SQRT_BITS <= r_hi * r_hi):
        raise Rejected(f"hints.sqrt_d_head: [{show(r_lo)}, {show(r_hi)}] does not enclose sqrt({h}) * 2^64 "
                       "(need 0 < R_lo <= R_hi, R_lo^2 <= h 2^128 <= R_hi^2)")
    return r_lo, r_hi


def exp_arguments(D, r_lo, r_hi):
    """(a_lo, a_hi) with a_lo <= D sqrt(h) 2^64 <= a_hi, so that exp(D 2^(4 e0) / sqrt(h)) lies in
    [exp(a_lo / (h 2^S)), exp(a_hi / (h 2^S))] for S = 64 - 4 e0 (exp is increasing)."""
    return (D * r_lo, D * r_hi) if D >= 0 else (D * r_hi, D * r_lo)


def check_exp_hint(x, where, D, sqrt_hint, h, S):
    """[L, H], if 0 <= L <= H, L 2^24 <= exp_lo(a_lo, h, S) and exp_hi(a_hi, h, S) <= H 2^24;
    then L/2^40 <= exp(D' 2^(4 e0) / sqrt(h)) <= H/2^40 for every D' in D = (D_lo, D_hi), an
    interval of score differences (doc section 8.1: a_lo from D_lo, a_hi from D_hi; exp is
    increasing); D = (D, D) is section 4's hint of one difference."""
    L, H = (want_int(y, f"{where}[{i}]") for i, y in enumerate(want_list(x, where, 2)))
    if not 0 <= L <= H:
        raise Rejected(f"{where}: [{show(L)}, {show(H)}] is not 0 <= L <= H")
    a_lo, a_hi = exp_arguments(D[0], *sqrt_hint)[0], exp_arguments(D[1], *sqrt_hint)[1]
    tally(12)
    D = show(D[0]) if D[0] == D[1] else f"[{show(D[0])}, {show(D[1])}]"
    if max(abs(a_lo), abs(a_hi)) > (h << S) << MAX_EXP_ARG_LOG2:
        raise Rejected(f"{where}: score difference D = {D} puts |x| above 2^{MAX_EXP_ARG_LOG2}, "
                       "beyond this checker's exp")
    shift = P - HINT_BITS
    lo, hi = exp_lo(a_lo, h, S) >> shift, ceil_shift(exp_hi(a_hi, h, S), shift)
    if L > lo:
        raise Rejected(f"{where}: L = {show(L)} is above the verified lower bound "
                       f"floor(exp_lo/2^{shift}) = {show(lo)} (D = {D})")
    if H < hi:
        raise Rejected(f"{where}: H = {show(H)} is below the verified upper bound "
                       f"ceil(exp_hi/2^{shift}) = {show(hi)} (D = {D})")
    return L, H


def check_attention_hints(hints, cfg, M, e0, sqrt_hint, token_D=None):
    """(tok, pos): tok[q][t] = [L, H] encloses exp of (EQKE[q,t] - EQKE[q,q]) 2^(4 e0)/sqrt(h) at
    scale 2^-40, pos[q][p] likewise for EQKP[q,p] - EQKP[q,n-1]; every entry checked. token_D[q][t]
    is an interval (D_lo, D_hi) that holds EQKE[q,t] - EQKE[q,q] (exact_token_D or rank_one_token_D)."""
    v, n, h, S = cfg["d_vocab"], cfg["n_ctx"], cfg["d_head"], SQRT_BITS - 4 * e0
    token_D = token_D or exact_token_D(M, v)
    tok = [[check_exp_hint(x, f"hints.attn_token[{q}][{t}]", token_D[q][t], sqrt_hint, h, S)
            for t, x in enumerate(want_list(row, f"hints.attn_token[{q}]", v))]
           for q, row in enumerate(want_list(hints["attn_token"], "hints.attn_token", v))]
    pos = [[check_exp_hint(x, f"hints.attn_pos[{q}][{p}]", (M["EQKP"][q][p] - M["EQKP"][q][n - 1],) * 2,
                           sqrt_hint, h, S)
            for p, x in enumerate(want_list(row, f"hints.attn_pos[{q}]", n))]
           for q, row in enumerate(want_list(hints["attn_pos"], "hints.attn_pos", v))]
    return tok, pos


def exact_token_D(M, v):
    """token_D of sections 4 and 8.1 (subcubic-gap): the exact EQKE[q,t] - EQKE[q,q], twice."""
    tally(v * v)
    return [[(row[t] - row[q],) * 2 for t in range(v)] for q, row in enumerate(M["EQKE"])]


def ceil_sqrt(x):
    """The least r >= 0 with r * r >= x (x >= 0)."""
    r = isqrt(x)
    tally(3)
    return r if r * r == x else r + 1


def rank_one_token_D(hint, M, cfg, globally):
    """token_D of section 8.1 for the rank-one strategies, from X, Y and hints.rank_one = {centre,
    direction, beta} (lists of h, h and v integers, any values): with R[k] = Y[k] - c - b[k] w,
    EQKE[q,t] - EQKE[q,q] = (b[t] - b[q]) (X[q] . w) + X[q] . (R[t] - R[q]) exactly, and the last
    term is at most |X[q]| (|R[t]| + |R[q]|) in absolute value (Cauchy-Schwarz), which
    e(q, t) = rX[q] (rR[t] + rR[q]) bounds (rX, rR: ceil_sqrt of the squared norms); `globally`
    uses e = 2 max rX max rR instead. The diagonal is exactly 0."""
    v, h = cfg["d_vocab"], cfg["d_head"]
    want_object(hint, "hints.rank_one", ("centre", "direction", "beta"))
    c, w, b = ([want_int(y, f"hints.rank_one.{k}[{i}]") for i, y in enumerate(want_list(hint[k], f"hints.rank_one.{k}", size))]
               for k, size in (("centre", h), ("direction", h), ("beta", v)))
    X, Y = M["X"], M["Y"]
    R = [[y - ci - bk * wi for y, ci, wi in zip(Y[k], c, w)] for k, bk in enumerate(b)]
    rR = [ceil_sqrt(sum(map(mul, r, r))) for r in R]
    rX = [ceil_sqrt(sum(map(mul, x, x))) for x in X]
    a = [sum(map(mul, x, w)) for x in X]
    tally(v * h * 3 + 3 * v * (2 * h - 1))
    if globally:
        e = 2 * max(rX) * max(rR)
        tally(2 * v + 2)
    D = []
    for q in range(v):
        row = []
        for t in range(v):
            if t == q:
                row.append((0, 0))
                continue
            mid = (b[t] - b[q]) * a[q]
            if not globally:
                e = rX[q] * (rR[t] + rR[q])
                tally(2)
            row.append((mid - e, mid + e))
        D.append(row)
    tally(4 * v * (v - 1))
    return D


# ---------------------------------------------------------------- brute force (doc, section 5)
def logit_tables(M, e0):
    """EUl EUh (EUPU, scale 2^(2 e0)), EVl EVh (EVOU), PVl PVh (PVOU, 2^(4 e0)): for an exact
    entry X 2^sc, lo = floor(X 2^(sc+32)) and hi = ceil(X 2^(sc+32)), so lo/2^32 <= X 2^sc <= hi/2^32."""
    out = {}
    for key, name, sc in (("EU", "EUPU", 2 * e0), ("EV", "EVOU", 4 * e0), ("PV", "PVOU", 4 * e0)):
        out[key + "l"] = [[shift_floor(X, sc + LOGIT_BITS) for X in row] for row in M[name]]
        out[key + "h"] = [[shift_ceil(X, sc + LOGIT_BITS) for X in row] for row in M[name]]
        tally(2 * sum(map(len, M[name])))
    return out


@dataclass
class Tables:
    """What the counting reads. WL/WH[q][t][p]: the doc's wl_p, wh_p for query q and token t at
    p. EUl/EUh: the logit tables. Vl/Vh[t][p][y] = EVl[t][y] + PVl[p][y] (resp. EVh + PVh)."""
    v: int
    n: int
    WL: list
    WH: list
    EUl: list
    EUh: list
    Vl: list
    Vh: list


def brute_force_tables(tok, pos, M, e0, v, n):
    """The Tables: wl = (L_tok L_pos) >> 40 <= w 2^40 <= wh = ceil(H_tok H_pos / 2^40), where
    w = exp(score(q; t at p) - score(q; q at n-1)), for every q, t, p; and the logit tables."""
    WL = [[[(tok[q][t][0] * pos[q][p][0]) >> HINT_BITS for p in range(n)] for t in range(v)] for q in range(v)]
    WH = [[[ceil_shift(tok[q][t][1] * pos[q][p][1], HINT_BITS) for p in range(n)] for t in range(v)] for q in range(v)]
    T = logit_tables(M, e0)
    Vl = [[[a + b for a, b in zip(T["EVl"][t], T["PVl"][p])] for p in range(n)] for t in range(v)]
    Vh = [[[a + b for a, b in zip(T["EVh"][t], T["PVh"][p])] for p in range(n)] for t in range(v)]
    tally(4 * v * v * n + 2 * v * n * v)
    return Tables(v, n, WL, WH, T["EUl"], T["EUh"], Vl, Vh)


def query_tables(tb, q):
    """For query token q: (A, B, WL[q], WH[q]) with A[t][p][y] = EUl[q][y] + Vl[t][p][y] and
    B[t][p][y] = EUh[q][y] + Vh[t][p][y]. Then the doc's gl_p(y) = A[t][p][m] - B[t][p][y] and
    gh_p(y) = B[t][p][m] - A[t][p][y] (its six terms regrouped) for the token t at position p."""
    A = [[[a + b for a, b in zip(tb.EUl[q], tb.Vl[t][p])] for p in range(tb.n)] for t in range(tb.v)]
    B = [[[a + b for a, b in zip(tb.EUh[q], tb.Vh[t][p])] for p in range(tb.n)] for t in range(tb.v)]
    tally(2 * tb.v * tb.n * tb.v)
    return A, B, tb.WL[q], tb.WH[q]


def low_row(qt, m, p, t):
    """The doc's term of low_y for token t at position p, for every y: wl*gl if gl >= 0 else wh*gl,
    with gl = gl_p(y) = A[t][p][m] - B[t][p][y] and wl, wh the weight bounds for (q, t, p)."""
    A, B, WL, WH = qt
    wl, wh, a = WL[t][p], WH[t][p], A[t][p][m]
    tally(3 * len(B[t][p]))
    return [wl * gl if (gl := a - b) >= 0 else wh * gl for b in B[t][p]]


def up_row(qt, m, p, t):
    """The doc's term of up_y for token t at position p, for every y: wh*gh if gh >= 0 else wl*gh,
    with gh = gh_p(y) = B[t][p][m] - A[t][p][y]."""
    A, B, WL, WH = qt
    wl, wh, b = WL[t][p], WH[t][p], B[t][p][m]
    tally(3 * len(A[t][p]))
    return [wh * gh if (gh := b - a) >= 0 else wl * gh for a in A[t][p]]


def decide_input(qt, x):
    """(correct, wrong) for the input x (qt = query_tables for q = x[-1]), by the doc's rule:
    correct iff low_y > 0 for every y != m, wrong iff up_y <= 0 for some y != m, where low_y and
    up_y are the sums over positions of the rows above. A correct input is not tested for wrong
    (reported False): that is exact, since 0 <= wl <= wh and gl <= gh make low_y <= up_y term by
    term, and a smaller wrong count would only be the safe direction anyway."""
    m = max(x)
    v = len(qt[0][0][0])
    tally(len(x) + len(x) * v)
    low = map(sum, zip(*(low_row(qt, m, p, t) for p, t in enumerate(x))))
    if all(s > 0 for y, s in enumerate(low) if y != m):
        return True, False
    tally(len(x) * v)
    up = map(sum, zip(*(up_row(qt, m, p, t) for p, t in enumerate(x))))
    return False, any(s <= 0 for y, s in enumerate(up) if y != m)


_WORKER_TABLES = None


def _init_worker(tb):
    global _WORKER_TABLES
    _WORKER_TABLES = tb


def box_row(qt, m, p, r, rows):
    """For position p holding any token t of the range r: the elementwise minimum over t of
    low_row(qt, m, p, t). Memoised in `rows` (one dict per q and m)."""
    key = (p, r.start, r.stop)
    if key not in rows:
        if len(r) == 1:
            rows[key] = low_row(qt, m, p, r.start)
        else:
            rows[key] = list(map(min, *(box_row(qt, m, p, range(t, t + 1), rows) for t in r)))
            tally((len(r) - 1) * len(rows[key]))
    return rows[key]


def count_box(qt, q, m, box, rows):
    """(correct, wrong) summed by decide_input over the inputs box x (q,), every one of max m;
    box is a tuple of token ranges for positions 0..n-2. Every input in the box has low_y >= bound_y
    = the sum of the positions' box_row minima, so if bound_y > 0 for every y != m, all of them
    are proven correct (and not wrong, as decide_input reports). Otherwise the box is split at its
    first position with more than one token, and a single input goes to decide_input. The counts
    are therefore exactly those of decide_input, input by input."""
    n = len(box) + 1
    mins = [box_row(qt, m, p, r, rows) for p, r in enumerate(box)] + [box_row(qt, m, n - 1, range(q, q + 1), rows)]
    tally(n * len(mins[0]))
    if all(b > 0 for y, b in enumerate(map(sum, zip(*mins))) if y != m):
        size = 1
        for r in box:
            size *= len(r)
        return size, 0
    split = next((p for p, r in enumerate(box) if len(r) > 1), None)
    if split is None:
        return decide_input(qt, tuple(r.start for r in box) + (q,))
    correct = wrong = 0
    for t in box[split]:
        c, w = count_box(qt, q, m, box[:split] + (range(t, t + 1),) + box[split + 1:], rows)
        correct, wrong = correct + c, wrong + w
    return correct, wrong


def count_inputs(q, tb=None):
    """(correct, wrong, ops): exactly the sums of decide_input over the v^(n-1) inputs with last
    token q, and the operations done (so that worker processes report theirs). For each max token
    m these inputs are partitioned into boxes: if m = q, every t_i <= m; else one box per j (the
    first position holding m): t_i < m for i < j, t_j = m, t_i <= m after."""
    ops0 = OPS[0]
    tb = tb or _WORKER_TABLES
    qt, n, correct, wrong = query_tables(tb, q), tb.n, 0, 0
    for m in range(q, tb.v):
        rows = {}
        if m == q:
            boxes = [(range(m + 1),) * (n - 1)]
        else:
            boxes = [(range(m),) * j + (range(m, m + 1),) + (range(m + 1),) * (n - 2 - j) for j in range(n - 1)]
        for box in boxes:
            c, w = count_box(qt, q, m, box, rows)
            correct, wrong = correct + c, wrong + w
    return correct, wrong, OPS[0] - ops0


def brute_force_counts(tb, jobs=1):
    """(proven_correct, proven_wrong) over all v^n inputs, each counted once: the inputs are split
    by last token q, over `jobs` processes when jobs > 1."""
    if jobs <= 1:
        results = [count_inputs(q, tb) for q in range(tb.v)]
    else:
        with multiprocessing.Pool(jobs, initializer=_init_worker, initargs=(tb,)) as pool:
            results = pool.map(count_inputs, range(tb.v), chunksize=1)
        tally(sum(r[2] for r in results))  # the workers' operations
    return sum(r[0] for r in results), sum(r[1] for r in results)


def check_claim_brute_force(claim, v, n):
    """(N, C, W), if claim has exactly the brute-force fields, inputs = v^n, C, W >= 0, C + W <= N,
    and the two bounds are exactly C/N and (N - W)/N, unreduced."""
    want_object(claim, "claim", ("inputs", "proven_correct", "proven_wrong",
                                 "accuracy_lower_bound", "accuracy_upper_bound"))
    N = want_int(claim["inputs"], "claim.inputs", 0)
    if N != v ** n:
        raise Rejected(f"claim.inputs: expected d_vocab^n_ctx = {v}^{n} = {v ** n}, found {show(N)}")
    C = want_int(claim["proven_correct"], "claim.proven_correct", 0)
    W = want_int(claim["proven_wrong"], "claim.proven_wrong", 0)
    if C + W > N:
        raise Rejected(f"claim: proven_correct + proven_wrong = {C + W} exceeds inputs = {N}")
    for key, num in (("accuracy_lower_bound", C), ("accuracy_upper_bound", N - W)):
        f = want_object(claim[key], f"claim.{key}", ("numerator", "denominator"))
        got = [want_int(f[k], f"claim.{key}.{k}") for k in ("numerator", "denominator")]
        if got != [num, N]:
            raise Rejected(f"claim.{key}: expected exactly {num}/{N} (not reduced), "
                           f"found {show(got[0])}/{show(got[1])}")
    return N, C, W


def _decimal(num, den, digits=5):
    """num/den (num >= 0) truncated to `digits` decimals, with '...' when inexact (display only)."""
    q, r = divmod(num * 10 ** digits, den)
    s = f"{q // 10 ** digits}.{q % 10 ** digits:0{digits}d}".rstrip("0").rstrip(".")
    return s + ("..." if r else "")


def strategy_brute_force(ctx, step):
    """Steps 6-7: the claim's form, then every input re-decided; the verdict if own counts >= claim."""
    v, n = ctx["cfg"]["d_vocab"], ctx["cfg"]["n_ctx"]
    N, C, W = check_claim_brute_force(ctx["claim"], v, n)
    step(f"claim: {N} = {v}^{n} inputs, proven_correct {C}, proven_wrong {W}; "
         f"bounds exactly {C}/{N} and {N - W}/{N}")
    t0 = time.perf_counter()
    tb = brute_force_tables(ctx["tok"], ctx["pos"], ctx["M"], ctx["e0"], v, n)
    correct, wrong = brute_force_counts(tb, ctx["jobs"])
    ctx["counts"] = {"inputs": N, "proven_correct": correct, "proven_wrong": wrong}
    if correct < C:
        raise Rejected(f"claim.proven_correct = {C}, but only {correct} inputs are proven correct")
    if wrong < W:
        raise Rejected(f"claim.proven_wrong = {W}, but only {wrong} inputs are proven wrong")
    step(f"brute force: {correct} proven correct (claim {C}), {wrong} proven wrong (claim {W}), "
         f"{N - correct - wrong} undecided; {time.perf_counter() - t0:.2f} s, {ctx['jobs']} job(s)")
    return (f"max-of-k brute-force: at least {C} of {N} inputs correct (accuracy >= {C}/{N} = "
            f"{_decimal(C, N)}), at least {W} wrong")


# ---------------------------------------------------------------- the cubic proof (doc, section 7)
def pessimised_tables(T, v, n):
    """(PVpess, W, B) of the doc, integers at scale 2^-32, from the logit tables T:
      PVpess[m][y] = max_{p < n} (PVh[p][y] - PVl[p][m])                    for y != m (None at y = m),
      W[m][t]      = max_{y != m} (EVh[t][y] - EVl[t][m] + PVpess[m][y])    for every t,
      B[m][q]      = max_{y != m} (EUh[q][y] - EUl[q][m])                    for every q.
    (W takes EVl[t][m] out of the max over y, an exact integer identity.) Guarantee: for every
    input with query q, max m, tokens t_p, softmax weights a_p (>= 0, sum 1) and every y != m,
    logit[y] - logit[m] <= (B[m][q] + sum_p a_p W[m][t_p]) / 2^32 = sum_p a_p G[m][q][t_p] / 2^32
    with G[m][q][t] = B[m][q] + W[m][t]. Why: logit[y] - logit[m] = EUPU[q][y] - EUPU[q][m] +
    sum_p a_p (EVOU[t_p][y] - EVOU[t_p][m] + PVOU[p][y] - PVOU[p][m]); each difference is at most
    its hi - lo table difference, the position one at most PVpess[m][y], and then each term at most
    its max over y != m (a_p >= 0). Needs v >= 2 (checked in step 3). O(v^3): W."""
    EVl, EVh, EUl, EUh, PVl, PVh = (T[k] for k in ("EVl", "EVh", "EUl", "EUh", "PVl", "PVh"))
    PVpess = [[max(PVh[p][y] - PVl[p][m] for p in range(n)) if y != m else None for y in range(v)]
              for m in range(v)]
    W, B = [], []
    for m in range(v):
        pv = PVpess[m]
        W.append([max(chain(map(add, ev[:m], pv[:m]), map(add, ev[m + 1:], pv[m + 1:]))) - EVl[t][m]
                  for t, ev in enumerate(EVh)])
        B.append([max(eu[y] for y in range(v) if y != m) - EUl[q][m] for q, eu in enumerate(EUh)])
    tally(2 * v * v * n + 2 * v * v * v + v * v * v)
    return PVpess, W, B


def G_row(W, B, m, q):
    """[G[m][q][t] for t < v], G[m][q][t] = B[m][q] + W[m][t] (the doc's G, one row)."""
    b = B[m][q]
    tally(len(W[m]))
    return [b + w for w in W[m]]


def placements(EQKP, q, n, c):
    """((M, K) of lowM, (M, K) of highM) for query q and c non-max slots (0 <= c <= n-1): the
    non-query positions 0..n-2 sorted by EQKP[q][p] ascending, ties by p ascending; lowM puts the
    max token in the first n-1-c of that order, highM in the last n-1-c; K is the other c."""
    order = sorted(range(n - 1), key=lambda p: (EQKP[q][p], p))
    tally(n * n)
    nm = n - 1 - c
    return (order[:nm], order[nm:]), (order[c:], order[:c])


def slot_weight(tok, pos, q, t, slots):
    """[(L_tok[q][t] * sum L_pos) >> 40, ceil_shift(H_tok[q][t] * sum H_pos, 40)], sums over `slots`:
    the doc's wM (t = m, slots M), wK (t = k, slots K) and wQ (t = q, slots [n-1]). It encloses, at
    scale 2^-40, the true total unnormalised weight sum_{p in slots} exp(score(q; t at p) -
    score(q; q at n-1)): each summand is exp(token difference) * exp(position difference), in
    [L_tok L_pos, H_tok H_pos] / 2^80 by the verified hints (all >= 0); floor/ceil keep the sides.
    [0, 0] for no slots."""
    L, H = tok[q][t]
    sl, sh = sum(pos[q][p][0] for p in slots), sum(pos[q][p][1] for p in slots)
    tally(2 * len(slots) + 4)
    return (L * sl) >> HINT_BITS, ceil_shift(H * sh, HINT_BITS)


def mul_up(w, g):
    """h * g if g >= 0 else l * g, for w = (l, h): an upper bound of x * g for every x in [l, h]."""
    return w[1] * g if g >= 0 else w[0] * g


@dataclass
class CubicQuery:
    """What the tests of one query token q read, computed once per q. wQ: the doc's wQ. place[c]:
    for c = 0..n-1, one (wM, wK) per placement (lowM, highM), where wM[t] = slot_weight(q, t, M)
    and wK[t] = slot_weight(q, t, K) for every token t (the doc's wM at t = m, wK at t = k)."""
    q: int
    wQ: tuple
    place: list


def cubic_query(tok, pos, EQKP, q, v, n):
    """The CubicQuery of q: the placements of every c and the slot weights of every token."""
    place = []
    for c in range(n):
        place.append([([slot_weight(tok, pos, q, t, M) for t in range(v)],
                       [slot_weight(tok, pos, q, t, K) for t in range(v)]) for M, K in placements(EQKP, q, n, c)])
    return CubicQuery(q, slot_weight(tok, pos, q, q, [n - 1]), place)


def good(cq, G, m, c, ks):
    """[good(q, m, k, c) for k in ks], q = cq.q, G = G_row(W, B, m, q). good(q, m, k, c) iff
    F < 0 for both placements, F = mul_up(wM, G[m][q][m]) + mul_up(wK, G[m][q][k]) +
    mul_up(wQ, G[m][q][q]) (the k term is 0 when c = 0: K is empty, wK = [0, 0]).
    Guarantee (the doc's argument): let x be an input with query q, max m, every non-query
    position holding m or a token k' < m, c of them k'-slots, every such k' with good(q, m, k', c).
    By mul_up and the enclosures of slot_weight, F / 2^72 bounds sum_p w_p G[m][q][t_p] / 2^32
    from above for the pure placements lowM and highM (true weights w_p). For a fixed k that sum is
    affine in s = sum_{p in M} exp(position difference of p) (the K slots hold the rest of a fixed
    total), and s for any set of n-1-c max slots lies between lowM's and highM's (exp increases
    with EQKP[q][p]); so it is < 0 for every placement. A mixture of good tokens in the K slots is
    at most the pure placement of its worst token (slot by slot). So sum_p w_p G < 0, hence
    logit[y] < logit[m] for every y != m (pessimised_tables; w_p > 0): x is correct."""
    gm, gq = G[m], G[cq.q]
    result = None
    for wM, wK in cq.place[c]:
        base = mul_up(wM[m], gm) + mul_up(cq.wQ, gq)
        passes = [base + mul_up(wK[k], G[k]) < 0 for k in ks]  # pass(q, m, k, c, placement): F < 0
        tally(5 + 5 * len(passes))
        result = passes if result is None else [a and b for a, b in zip(result, passes)]
    return result


def cubic_count(tok, pos, EQKP, W, B, v, n):
    """(count, tests): the doc's count, with n >= 2, and the number of placement tests done:
      for m < v, q <= m: [good(q, m, m, 0)]  (the input (m, ..., m, q))
        + sum_{c=1..cmax} binomial(n-1, c) * N^c,  N = #{k < m : good(q, m, k, c)},
      cmax = n-1 if q == m else n-2 (q < m needs an m slot). The same terms as the doc, summed
    with q outside (so a CubicQuery is built once per q and a G row once per (q, m)). Every
    counted input is correct (good), and no input is counted twice: an input is determined by
    (m, q, the set of its c non-max positions among 0..n-2, their tokens < m), binomial(n-1, c)
    sets and N^c token choices, all with max m (an m slot remains when q < m)."""
    count = tests = 0
    for q in range(v):
        cq = cubic_query(tok, pos, EQKP, q, v, n)
        for m in range(q, v):
            G = G_row(W, B, m, q)
            count += good(cq, G, m, 0, (m,))[0]
            tests += 2
            for c in range(1, (n - 1 if q == m else n - 2) + 1):
                count += comb(n - 1, c) * sum(good(cq, G, m, c, range(m))) ** c
                tests += 2 * m
                tally(4 + m)
    return count, tests


def check_claim_cubic(claim, v, n):
    """(N, C), if n >= 2, claim has exactly the cubic fields (no proven_wrong, no
    accuracy_upper_bound), inputs = v^n, 0 <= C <= N and the bound is exactly C/N, unreduced."""
    if n < 2:
        raise Rejected(f"model.config.n_ctx = {n}: the cubic strategy requires n_ctx >= 2")
    for key in ("proven_wrong", "accuracy_upper_bound"):
        if type(claim) is dict and key in claim:
            raise Rejected(f"claim.{key}: a cubic certificate has no {key}")
    want_object(claim, "claim", ("inputs", "proven_correct", "accuracy_lower_bound"))
    N = want_int(claim["inputs"], "claim.inputs", 0)
    if N != v ** n:
        raise Rejected(f"claim.inputs: expected d_vocab^n_ctx = {v}^{n} = {v ** n}, found {show(N)}")
    C = want_int(claim["proven_correct"], "claim.proven_correct", 0)
    if C > N:
        raise Rejected(f"claim: proven_correct = {show(C)} exceeds inputs = {N}")
    f = want_object(claim["accuracy_lower_bound"], "claim.accuracy_lower_bound", ("numerator", "denominator"))
    got = [want_int(f[k], f"claim.accuracy_lower_bound.{k}") for k in ("numerator", "denominator")]
    if got != [C, N]:
        raise Rejected(f"claim.accuracy_lower_bound: expected exactly {C}/{N} (not reduced), "
                       f"found {show(got[0])}/{show(got[1])}")
    return N, C


def strategy_cubic(ctx, step):
    """Steps 6-8: n_ctx >= 2 and the claim's form; the pessimised tables; the count of section 7
    recomputed. The verdict if the checker's own count >= claim.proven_correct."""
    v, n = ctx["cfg"]["d_vocab"], ctx["cfg"]["n_ctx"]
    N, C = check_claim_cubic(ctx["claim"], v, n)
    step(f"claim: n_ctx = {n} >= 2, {N} = {v}^{n} inputs, proven_correct {C}; bound exactly {C}/{N}")
    t0 = time.perf_counter()
    PVpess, W, B = pessimised_tables(logit_tables(ctx["M"], ctx["e0"]), v, n)
    step(f"pessimised tables: PVpess, W, B ({v} x {v} each; G = B + W); {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    count, tests = cubic_count(ctx["tok"], ctx["pos"], ctx["M"]["EQKP"], W, B, v, n)
    ctx["counts"] = {"inputs": N, "proven_correct": count}
    if count < C:
        raise Rejected(f"claim.proven_correct = {C}, but the cubic count proves only {count} inputs correct")
    step(f"cubic count: {count} proven correct (claim {C}) from {tests} placement tests; "
         f"{time.perf_counter() - t0:.2f} s")
    return f"max-of-k cubic: at least {C} of {N} inputs correct (accuracy >= {C}/{N} = {_decimal(C, N)})"


# ---------------------------------------------------------------- subcubic proofs (doc, section 8)
def top_except(row):
    """[max_{y != m} row[y] for every m], from the row's two largest entries (len(row) >= 2)."""
    i1 = max(range(len(row)), key=row.__getitem__)
    second = max(row[:i1] + row[i1 + 1:])
    tally(2 * len(row))
    return [second if m == i1 else row[i1] for m in range(len(row))]


def direct_tables(T, v, n):
    """(Wd, B) of section 8.2, integers at scale 2^-32:
      B[m][q]  = top(EUh[q], m) - EUl[q][m]              (= section 7's B),
      PVs[m]   = max_p (top(PVh[p], m) - PVl[p][m]),
      Wd[m][t] = top(EVh[t], m) - EVl[t][m] + PVs[m]     (>= section 7's W, as PVpess[m][y] <= PVs[m]).
    So pessimised_tables' guarantee holds with Wd for W: logit[y] - logit[m] <=
    sum_p a_p (B[m][q] + Wd[m][t_p]) / 2^32 for y != m. O(v^2 + n v)."""
    EUl, EUh, EVl, EVh, PVl, PVh = (T[k] for k in ("EUl", "EUh", "EVl", "EVh", "PVl", "PVh"))
    eu, ev, pv = ([top_except(r) for r in T[k]] for k in ("EUh", "EVh", "PVh"))
    PVs = [max(pv[p][m] - PVl[p][m] for p in range(n)) for m in range(v)]
    B = [[eu[q][m] - EUl[q][m] for q in range(v)] for m in range(v)]
    Wd = [[ev[t][m] - EVl[t][m] + PVs[m] for t in range(v)] for m in range(v)]
    tally(2 * n * v + v * v + 2 * v * v)
    return Wd, B


def prefix(row, f):
    """[None, f(row[:1]), f(row[:2]), ..., f(row)] for f = max or min: index N covers row[:N]."""
    out, cur = [None], None
    for x in row:
        cur = x if cur is None else f(cur, x)
        out.append(cur)
    tally(len(row))
    return out


def gap_pass(tokq, sums, wQ, b, gM, gQ, Wpre_m, Hpre_q, Lpre_q, m, N):
    """sgood(q, m, c, N) of section 8.3: F < 0 for both placements, F = mul_up(wM, gM) +
    mul_up(wQ, gQ) + (N >= 1: mul_up(wK, b + Wpre[m][N]), wK from Lpre[q][N], Hpre[q][N] and the k
    slots' position sums). sums: ((SMl, SMh, SKl, SKh) of lowM, of highM) for this c. Guarantee (the
    doc's argument): every input with query q, max m, its c non-max slots holding any tokens < N
    (the rest m) has sum_p w_p (b + Wd[m][t_p]) < 0, so it is correct (direct_tables)."""
    L, H = tokq[m]
    for SMl, SMh, SKl, SKh in sums:
        F = mul_up(((L * SMl) >> HINT_BITS, ceil_shift(H * SMh, HINT_BITS)), gM) + mul_up(wQ, gQ)
        tally(9)
        if N >= 1:
            F += mul_up(((Lpre_q[N] * SKl) >> HINT_BITS, ceil_shift(Hpre_q[N] * SKh, HINT_BITS)), b + Wpre_m[N])
            tally(8)
        if F >= 0:
            return False
    return True


def check_gap(x, v, n):
    """hints.gap as a v x v x (n-1) array of integers with 0 <= gap[q][m][c-1] <= m, and 0 for the
    non-cases (m < q, or q < m and c = n-1)."""
    out = []
    for q, row in enumerate(want_list(x, "hints.gap", v)):
        out.append([])
        for m, cell in enumerate(want_list(row, f"hints.gap[{q}]", v)):
            cs = [want_int(N, f"hints.gap[{q}][{m}][{c}]", 0) for c, N in enumerate(want_list(cell, f"hints.gap[{q}][{m}]", n - 1))]
            for c, N in enumerate(cs, start=1):
                case = q <= m and (c <= n - 2 or q == m)
                if N > (m if case else 0):
                    raise Rejected(f"hints.gap[{q}][{m}][{c - 1}] = {show(N)}: " + (f"at most m = {m} for a case"
                                   if case else "must be 0 (not a case: m < q, or q < m with c = n-1)"))
            out[-1].append(cs)
    return out


def pos_sums(posq, slots):
    """(sum of L_pos[q][p], sum of H_pos[q][p]) over the positions p in slots (posq = pos[q])."""
    return sum(posq[p][0] for p in slots), sum(posq[p][1] for p in slots)


def subcubic_count(tok, pos, EQKP, Wd, B, gap, v, n):
    """(count, tests): the count of section 8.3, with every case's witness N >= 1 tested
    (Rejected if sgood(q, m, c, N) fails). As in cubic_count, every counted input is correct and
    counted once: (m, q, the set of c non-max positions, their tokens < N)."""
    Wpre = [prefix(Wd[m], max) for m in range(v)]
    count = tests = 0
    for q in range(v):
        tokq, posq = tok[q], pos[q]
        Hpre, Lpre = prefix([x[1] for x in tokq], max), prefix([x[0] for x in tokq], min)
        sums = []
        for c in range(n):
            sums.append([(*pos_sums(posq, M), *pos_sums(posq, K)) for M, K in placements(EQKP, q, n, c)])
            tally(4 * (n - 1))
        wQ = slot_weight(tok, pos, q, q, [n - 1])
        for m in range(q, v):
            b = B[m][q]
            gM, gQ = b + Wd[m][m], b + Wd[m][q]

            def sgood(c, N):
                return gap_pass(tokq, sums[c], wQ, b, gM, gQ, Wpre[m], Hpre, Lpre, m, N)
            count += sgood(0, 0)  # the input (m, ..., m, q)
            tests += 2
            for c in range(1, (n - 1 if q == m else n - 2) + 1):
                N = gap[q][m][c - 1]
                if N >= 1:
                    tests += 2
                    if not sgood(c, N):
                        raise Rejected(f"hints.gap[{q}][{m}][{c - 1}] = {N}: the test of section 8.3 fails "
                                       f"(q = {q}, m = {m}, c = {c}, k < {N})")
                count += comb(n - 1, c) * N ** c
                tally(4)
            tally(2)
    return count, tests


def strategy_subcubic(ctx, step):
    """Steps 6-8: n_ctx >= 2 and the claim's form (as cubic); the direct tables Wd, B; the
    witnesses checked and the count of section 8 recomputed, which must be >= the claim."""
    v, n = ctx["cfg"]["d_vocab"], ctx["cfg"]["n_ctx"]
    N, C = check_claim_cubic(ctx["claim"], v, n)
    step(f"claim: n_ctx = {n} >= 2, {N} = {v}^{n} inputs, proven_correct {C}; bound exactly {C}/{N}")
    t0 = time.perf_counter()
    Wd, B = direct_tables(logit_tables(ctx["M"], ctx["e0"]), v, n)
    step(f"direct tables by max differences: Wd, B ({v} x {v}); {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    gap = check_gap(ctx["hints"]["gap"], v, n)
    count, tests = subcubic_count(ctx["tok"], ctx["pos"], ctx["M"]["EQKP"], Wd, B, gap, v, n)
    ctx["counts"] = {"inputs": N, "proven_correct": count}
    if count < C:
        raise Rejected(f"claim.proven_correct = {C}, but the subcubic count proves only {count} inputs correct")
    step(f"subcubic count: {count} proven correct (claim {C}) from {tests} placement tests, one per "
         f"(q, m, c) and placement; {time.perf_counter() - t0:.2f} s")
    return (f"max-of-k {ctx['strategy']}: at least {C} of {N} inputs correct (accuracy >= {C}/{N} = "
            f"{_decimal(C, N)})")


# strategy name -> (function, number of steps it prints, hint keys it adds to max-of-k's)
STRATEGIES = {"brute-force": (strategy_brute_force, 2, ()), "cubic": (strategy_cubic, 3, ()),
              "subcubic-gap": (strategy_subcubic, 3, ("gap",)),
              "subcubic-rank-one": (strategy_subcubic, 3, ("gap", "rank_one")),
              "subcubic-rank-one-global": (strategy_subcubic, 3, ("gap", "rank_one"))}
RANK_ONE = ("subcubic-rank-one", "subcubic-rank-one-global")
TASK_STEPS, TASK_HINTS = 6, ("sqrt_d_head", "attn_token", "attn_pos")
# The files of the rendered prover projects (doc, section 1), by folder.
PROVER_FILES = {"coq": ("Certificate.v", "Makefile", "MechCert.v", "_CoqProject"),
                "lean": ("Certificate.lean", "Makefile", "MechCert.lean", "lakefile.toml", "lean-toolchain")}


def check_rendered(cert_dir, manifest):
    """The prover projects are the files certified (doc, section 6): for each folder coq/ and lean/
    that exists, certificate.json's "rendered" lists every one of its PROVER_FILES with the SHA-256
    of its bytes, and each file has exactly that hash; a listed file must exist. So a prover file
    edited after certification is rejected here (the prover itself re-checks its own claim; a
    project with a weaker claim would still be a true theorem, but not this certificate)."""
    manifest = {} if manifest is None else manifest
    if type(manifest) is not dict:
        raise Rejected(f"rendered: expected an object, found {describe(manifest)}")
    allowed = {f"{d}/{f}" for d, fs in PROVER_FILES.items() for f in fs}
    for key, digest in manifest.items():
        if key not in allowed:
            raise Rejected(f"rendered: {key!r} is not a file of a prover project")
        if type(digest) is not str or not SHA_RE.fullmatch(digest):
            raise Rejected(f"rendered[{key!r}]: expected 64 lowercase hex digits")
    for d, names in PROVER_FILES.items():
        if os.path.isdir(os.path.join(cert_dir, d)):
            for f in names:
                if f"{d}/{f}" not in manifest:
                    raise Rejected(f"{d}/{f}: the {d}/ project is present but certificate.json does not list "
                                   "this file under rendered")
    for key, digest in sorted(manifest.items()):
        path = os.path.join(cert_dir, *key.split("/"))
        if not os.path.isfile(path):
            raise Rejected(f"{key}: listed under rendered but missing")
        with open(path, "rb") as f:
            got = hashlib.sha256(f.read(MAX_FILE_BYTES + 1)).hexdigest()
        if got != digest:
            raise Rejected(f"{key}: edited after certification (SHA-256 {got[:16]}... is not the listed "
                           f"{digest[:16]}...)")
    return sorted(manifest)


# ---------------------------------------------------------------- the certificate (doc, section 6)
@dataclass
class Result:
    """verified: the verdict; verdict: its line; steps: the step lines that passed;
    counts: the checker's own counts (None if it did not get that far)."""
    verified: bool
    verdict: str
    steps: list = field(default_factory=list)
    counts: dict | None = None
    ops: int = 0


def _check(cert_dir, ctx, log):
    """Steps 1-5 (the max-of-k task, shared by every strategy), then the strategy's steps. Returns
    the verdict text; raises Rejected at the first failure. ctx collects what the strategy needs."""
    cert = read_json(cert_dir, "certificate.json")
    want_object(cert, "certificate.json", ("format", "version", "task", "strategy", "model", "parameters",
                                           "claim", "hints"), optional=("producer", "rendered"))
    want_equal(cert["format"], "format", "mechcert-certificate")
    want_equal(cert["version"], "version", 1)
    want_equal(cert["task"], "task", "max-of-k")
    if type(cert["strategy"]) is not str or cert["strategy"] not in STRATEGIES:
        raise Rejected(f"strategy: expected one of {sorted(STRATEGIES)}, found {describe(cert['strategy'])}")
    strategy, n_steps, extra_hints = STRATEGIES[cert["strategy"]]
    ctx["strategy"] = cert["strategy"]
    total, done = TASK_STEPS + n_steps, []

    def step(text):
        done.append(f"[{len(done) + 1}/{total}] {text}")
        log(done[-1])
    ctx["steps"] = done
    want_object(cert["parameters"], "parameters", tuple(PARAMETERS))
    for k, val in PARAMETERS.items():
        want_equal(cert["parameters"][k], f"parameters.{k}", val)
    model = want_object(cert["model"], "model", ("sha256", "config", "weights_file"))
    want_equal(model["weights_file"], "model.weights_file", "weights.json")
    cfg = check_config(model["config"], "model.config")
    if type(model["sha256"]) is not str or not SHA_RE.fullmatch(model["sha256"]):
        raise Rejected(f"model.sha256: expected 64 lowercase hex digits, found {describe(model['sha256'])}")
    step(f"certificate.json: mechcert-certificate v1, task max-of-k, strategy {cert['strategy']}, "
         "parameters = the version-1 constants")

    wcfg, stated, tensors = read_weights(read_json(cert_dir, "weights.json"))
    digest = model_hash(tensors)
    if stated != digest:
        raise Rejected(f"weights.json: sha256 {stated} does not match the recomputed SHA-256 {digest}")
    if model["sha256"] != digest:
        raise Rejected(f"model.sha256 {model['sha256']} does not match the SHA-256 of weights.json {digest}")
    if wcfg != cfg:
        k = next(k for k in CONFIG_KEYS if wcfg[k] != cfg[k])
        raise Rejected(f"model.config.{k} = {cfg[k]} but weights.json: config.{k} = {wcfg[k]}")
    step(f"weights.json: {len(tensors)} tensors, {sum(len(t[1]) for t in tensors.values())} float32 values, "
         f"SHA-256 {digest[:16]}... matches weights.json and the certificate")
    listed = check_rendered(cert_dir, cert.get("rendered"))
    step(f"prover projects: {len(listed)} files, each with the SHA-256 listed in certificate.json"
         if listed else "prover projects: none rendered (no coq/ or lean/ folder)")

    e0, ints = integer_weights(cfg, tensors)
    rank_one = cert["strategy"] in RANK_ONE
    ctx.update(cfg=cfg, e0=e0, M=derived_matrices(cfg, ints, eqke=not rank_one), claim=cert["claim"])
    step(f"model: d_vocab={cfg['d_vocab']} n_ctx={cfg['n_ctx']} d_model={cfg['d_model']} d_head={cfg['d_head']}, "
         f"biases zero, scale 2^{e0}; " + ("X = Eq Q, Y = E K (EQKE = X Y^T not formed)" if rank_one else "EQKE")
         + " EQKP EUPU EVOU PVOU exact")

    hints = want_object(cert["hints"], "hints", TASK_HINTS + extra_hints)
    sq = check_sqrt_hint(hints["sqrt_d_head"], cfg["d_head"])
    step(f"hints.sqrt_d_head: R_lo^2 <= {cfg['d_head']} * 2^128 <= R_hi^2")
    if rank_one:
        token_D = rank_one_token_D(hints["rank_one"], ctx["M"], cfg, cert["strategy"] == "subcubic-rank-one-global")
    else:
        token_D = None  # exact_token_D
    ctx["tok"], ctx["pos"] = check_attention_hints(hints, cfg, ctx["M"], e0, sq, token_D)
    ctx["hints"] = hints  # for a strategy's own extra hints
    step(f"exp hints: {cfg['d_vocab'] ** 2} attn_token and {cfg['d_vocab'] * cfg['n_ctx']} attn_pos "
         f"enclosures verified (Taylor {TAYLOR_N} terms at 2^-{P})"
         + ("; token score differences bounded by rank one plus a norm-bounded error" if rank_one else ""))
    return strategy(ctx, step)


def check_certificate(cert_dir, jobs=1, log=None):
    """Check CERT_DIR; never raises for a bad certificate. Result.verified is True only if every
    step above passed."""
    ctx = {"jobs": jobs, "steps": []}
    log = log or (lambda line: None)
    OPS[0] = 0
    if not os.path.isdir(cert_dir):
        return Result(False, f"REJECTED: {cert_dir}: not a directory")
    try:
        verdict = _check(cert_dir, ctx, log)
        log(f"proof cost: {OPS[0]} integer operations counted (doc, section 8.4)")
        return Result(True, f"VERIFIED: {verdict}", ctx["steps"], ctx.get("counts"), OPS[0])
    except Rejected as exc:
        return Result(False, f"REJECTED: {exc}", ctx["steps"], ctx.get("counts"))
    except Exception as exc:  # a bug or exhausted memory: still a rejection, never a traceback
        return Result(False, f"REJECTED: internal error of the checker ({type(exc).__name__}: {exc})"[:300],
                      ctx["steps"], ctx.get("counts"))


def main(argv=None):
    """The command line; returns 0 (VERIFIED), 1 (REJECTED) or 2 (usage error)."""
    ap = argparse.ArgumentParser(prog="check.py", description="Standalone exact checker of a mechcert "
                                 "certificate (Python standard library only). Prints the steps as they pass "
                                 "and one verdict line: VERIFIED (exit 0) or REJECTED (exit 1).")
    ap.add_argument("cert_dir", metavar="CERT_DIR", help="directory with certificate.json and weights.json")
    ap.add_argument("--quiet", action="store_true", help="print the verdict line only")
    ap.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="processes for the brute-force input loop (default 1; the cubic check uses one)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    if args.jobs < 1:
        print("check.py: error: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        res = check_certificate(args.cert_dir, args.jobs, None if args.quiet else lambda s: print(s, flush=True))
    except KeyboardInterrupt:
        print("check.py: interrupted, no verdict", file=sys.stderr)
        return 130
    print(res.verdict, flush=True)
    return 0 if res.verified else 1


if __name__ == "__main__":
    sys.exit(main())
