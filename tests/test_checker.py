"""The standalone checker (checker/check.py): its arithmetic, and certificates that lie.

Arithmetic is tested by properties against mpmath interval arithmetic at 200 bits
(rigorous comparisons: an interval comparison is True only when it is certain).
Soundness is tested by rejection: every altered certificate below must be REJECTED,
each test altering one thing.
"""
from __future__ import annotations

import ast
import json
import shutil
import struct
import subprocess
import sys
from contextlib import contextmanager
from fractions import Fraction
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from mpmath import iv

from mechcert.checker import check

from .conftest import random_arrays, tiny_model_file

ROOT = Path(__file__).resolve().parent.parent
CHECKER = Path(check.__file__)
SMALL_MODEL = ROOT / "models" / "max_of_k_v16_n3_seed123.pt"
P = 1 << 64


# ---------------------------------------------------------------------------- exp bounds
@st.composite
def exp_arguments(draw):
    """(a, c, s) with |a / (c 2^s)| <= 2^13: zero, tiny, moderate and large, either sign."""
    c = draw(st.one_of(st.integers(1, 64), st.integers(1, 1 << 90)))
    s = draw(st.integers(0, 300))
    bits = draw(st.integers(0, (c << s).bit_length() + 12))
    return draw(st.integers(-(1 << bits), 1 << bits)), c, s


@contextmanager
def iv_prec(bits=200):
    """mpmath's iv context is global: set its precision for a block, then restore it."""
    old, iv.prec = iv.prec, bits
    try:
        yield
    finally:
        iv.prec = old


def exact_exp(a, c, s):
    return iv.exp(iv.mpf(a) / (iv.mpf(c) * iv.mpf(2) ** s))


def scaled(z):
    return iv.mpf(z) / iv.mpf(P)


@settings(max_examples=400, deadline=None)
@given(exp_arguments())
@example((0, 1, 0))
@example((1, 1, 0))
@example((-1, 1, 0))
@example((1, 1, 300))
@example((-1, 1 << 90, 300))
@example(((1 << 13) - 1, 1, 0))
@example((-(1 << 13), 1, 0))
@example((3 << 200, 7, 190))
def test_exp_lo_is_below_exp(args):
    with iv_prec():
        assert (scaled(check.exp_lo(*args)) <= exact_exp(*args)) is True


@settings(max_examples=400, deadline=None)
@given(exp_arguments())
@example((0, 1, 0))
@example((1, 1, 0))
@example((-1, 1, 0))
@example((1, 1, 300))
@example((-1, 1 << 90, 300))
@example(((1 << 13) - 1, 1, 0))
@example((-(1 << 13), 1, 0))
@example((3 << 200, 7, 190))
def test_exp_hi_is_above_exp(args):
    with iv_prec():
        assert (exact_exp(*args) <= scaled(check.exp_hi(*args))) is True


@settings(max_examples=200, deadline=None)
@given(st.integers(-(64 << 20), 64 << 20), st.integers(1, 1024))
def test_exp_bounds_are_tight_to_2_pow_minus_40_plus_2_units_for_scores_up_to_64(a, c):
    """Tight enough that a hint with the producer's slack (2^-24 relative, 2 units) is accepted."""
    lo, hi = check.exp_lo(a, c, 20), check.exp_hi(a, c, 20)
    assert 0 <= lo <= hi <= lo + (lo >> 40) + 2


def test_exp_of_zero_is_exactly_one():
    assert check.exp_lo(0, 5, 7) == check.exp_hi(0, 5, 7) == P


# ---------------------------------------------------------------------------- float32
def struct_value(bits):
    return Fraction(struct.unpack(">f", struct.pack(">I", bits))[0])


def decoded_value(bits):
    m, e = check.decode_float32(bits)
    return Fraction(m) * Fraction(2) ** e


@given(st.integers(0, (1 << 32) - 1).filter(lambda b: (b >> 23) & 255 != 255))
def test_decode_float32_equals_struct_on_every_finite_pattern(bits):
    assert decoded_value(bits) == struct_value(bits)


@pytest.mark.parametrize("bits,value", [
    (0x00000000, Fraction(0)),                                     # +0
    (0x80000000, Fraction(0)),                                     # -0
    (0x3F800000, Fraction(1)),                                     # normal
    (0xC0200000, Fraction(-5, 2)),                                 # negative normal
    (0x00800000, Fraction(1, 2**126)),                             # smallest normal
    (0x00000001, Fraction(1, 2**149)),                             # smallest subnormal
    (0x807FFFFF, -Fraction(2**23 - 1, 2**149)),                    # largest negative subnormal
    (0x7F7FFFFF, Fraction(2**24 - 1) * 2**104),                    # largest finite
    (0xFF7FFFFF, -Fraction(2**24 - 1) * 2**104),                   # most negative finite
])
def test_decode_float32_of_each_class(bits, value):
    assert decoded_value(bits) == value == struct_value(bits)


@pytest.mark.parametrize("bits", [0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 0xFFFFFFFF, -1, 1 << 32])
def test_decode_float32_refuses_nan_inf_and_out_of_range(bits):
    with pytest.raises(ValueError):
        check.decode_float32(bits)


# ---------------------------------------------------------------------------- hash
def test_model_hash_is_the_documented_byte_string():
    import hashlib

    tensors = {"b.x": ((2,), (0x3F800000, 0x80000000), None), "a": ((1, 1), (0x00000001,), None)}
    data = (b"mechcert-weights-v1\n" + struct.pack(">I", 1) + b"a" + struct.pack(">III", 2, 1, 1)
            + struct.pack(">I", 1) + struct.pack(">I", 3) + b"b.x" + struct.pack(">II", 1, 2)
            + struct.pack(">II", 0x3F800000, 0))
    assert check.model_hash(tensors) == hashlib.sha256(data).hexdigest()


def test_model_hash_is_independent_of_tensor_order():
    a = {"unembed.W_U": ((1,), (5,), None), "embed.W_E": ((1,), (7,), None), "Z": ((0,), (), None)}
    b = dict(reversed(list(a.items())))
    assert list(a) != list(b) and check.model_hash(a) == check.model_hash(b)


# ---------------------------------------------------------------------------- certificates
def certify(model: Path, out: Path, strategy="brute-force") -> Path:
    r = subprocess.run([sys.executable, "-m", "mechcert", "certify", str(model), "--task", "max-of-k",
                        "--strategy", strategy, "--out", str(out), "--emit", ""],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def random_cert(tmp_path_factory) -> Path:
    """A random model (v=5, n=3, d=h=4, weights ~0.5, zero biases) with inputs proven correct and
    proven wrong."""
    tmp = tmp_path_factory.mktemp("random")
    rng = np.random.default_rng(1)
    f = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)  # noqa: E731
    a = "blocks.0.attn."
    arrays = {"embed.W_E": f(5, 4), "pos_embed.W_pos": f(3, 4), a + "W_Q": f(1, 4, 4), a + "W_K": f(1, 4, 4),
              a + "W_V": f(1, 4, 4), a + "W_O": f(1, 4, 4), "unembed.W_U": f(4, 5),
              a + "b_O": np.zeros(4, np.float32), "unembed.b_U": np.zeros(5, np.float32)}
    np.savez(tmp / "random.npz", **arrays)
    out = certify(tmp / "random.npz", tmp / "cert")
    claim = json.loads((out / "certificate.json").read_text())["claim"]
    assert claim["proven_correct"] > 0 and claim["proven_wrong"] > 0
    return out


@pytest.fixture(scope="session")
def small_cert(tmp_path_factory) -> Path:
    if not SMALL_MODEL.exists():
        pytest.skip(f"{SMALL_MODEL} not present")
    return certify(SMALL_MODEL, tmp_path_factory.mktemp("small") / "cert")


def load(d: Path, name="certificate.json"):
    return json.loads((d / name).read_text())


def altered(base: Path, tmp_path: Path, cert=None, weights=None, rehash=False) -> Path:
    """A copy of `base` with cert(dict) / weights(dict) applied; rehash: both sha256 fields set to
    the hash of the altered weights (so the lie is not caught by the hash alone)."""
    out = tmp_path / "cert"
    shutil.copytree(base, out)
    c, w = load(out), load(out, "weights.json")
    if weights:
        weights(w)
    if rehash:
        w["sha256"] = c["model"]["sha256"] = check.model_hash(check.read_weights(w)[2])
    if cert:
        cert(c)
    (out / "certificate.json").write_text(json.dumps(c))
    (out / "weights.json").write_text(json.dumps(w))
    return out


def rejected(d: Path, *words) -> str:
    res = check.check_certificate(str(d))
    assert not res.verified and res.verdict.startswith("REJECTED: "), res.verdict
    for word in words:
        assert word in res.verdict, res.verdict
    return res.verdict


def set_fraction(c, key, num):
    c["claim"][key] = {"numerator": num, "denominator": c["claim"]["inputs"]}


def bump_bits(tensor_name, index=1, delta=1):
    def f(w):
        t = next(t for t in w["tensors"] if t["name"] == tensor_name)
        h = t["float32_hex"]
        t["float32_hex"] = h[:8 * index] + f"{int(h[8 * index:8 * index + 8], 16) + delta:08x}" + h[8 * index + 8:]
    return f


def test_valid_certificate_is_verified(random_cert):
    res = check.check_certificate(str(random_cert))
    assert res.verified and res.verdict.startswith("VERIFIED: max-of-k brute-force: at least ")
    assert len(res.steps) == 8


def test_checker_counts_equal_the_producer_claim(random_cert):
    claim = load(random_cert)["claim"]
    counts = check.check_certificate(str(random_cert)).counts
    assert counts == {k: claim[k] for k in ("inputs", "proven_correct", "proven_wrong")}


def test_trained_model_certificate_is_verified_with_its_counts(small_cert):
    claim = load(small_cert)["claim"]
    res = check.check_certificate(str(small_cert))
    assert res.verified, res.verdict
    assert res.counts == {k: claim[k] for k in ("inputs", "proven_correct", "proven_wrong")}


def test_jobs_give_the_same_counts(random_cert):
    assert check.check_certificate(str(random_cert), jobs=3).counts == check.check_certificate(str(random_cert)).counts


def test_weaker_claim_is_verified(random_cert, tmp_path):
    def weaker(c):
        c["claim"]["proven_correct"] -= 1
        set_fraction(c, "accuracy_lower_bound", c["claim"]["proven_correct"])
    assert check.check_certificate(str(altered(random_cert, tmp_path, cert=weaker))).verified


def test_model_hash_of_a_weights_file_is_independent_of_its_tensor_order(random_cert):
    doc = load(random_cert, "weights.json")
    tensors = check.read_weights(doc)[2]
    assert check.model_hash(dict(reversed(list(tensors.items())))) == check.model_hash(tensors) == doc["sha256"]


def test_unsorted_tensors_in_weights_file_are_rejected(random_cert, tmp_path):
    """The doc says sorted by name, and the Coq checker requires it: the checkers agree."""
    rejected(altered(random_cert, tmp_path, weights=lambda w: w["tensors"].reverse()), "not sorted by name")


def test_decisions_agree_with_mpmath_interval_logits(random_cert):
    """Proven correct => logit[max] - logit[y] is certainly > 0 for every y; proven wrong => for
    some y it is not certainly > 0 (logits by mpmath iv at 200 bits, straight from the floats)."""
    cert, wdoc = load(random_cert), load(random_cert, "weights.json")
    cfg, _, tensors = check.read_weights(wdoc)
    e0, ints = check.integer_weights(cfg, tensors)
    M = check.derived_matrices(cfg, ints)
    sq = check.check_sqrt_hint(cert["hints"]["sqrt_d_head"], cfg["d_head"])
    tok, pos = check.check_attention_hints(cert["hints"], cfg, M, e0, sq)
    v, n = cfg["d_vocab"], cfg["n_ctx"]
    tb = check.brute_force_tables(tok, pos, M, e0, v, n)
    with iv_prec():
        seen = _compare_with_iv_logits(tb, cfg, tensors)
    assert seen[True] and seen[False]


def _compare_with_iv_logits(tb, cfg, tensors):
    """Checks every input of the model against its iv logits; returns how many were correct or not."""
    v, n = cfg["d_vocab"], cfg["n_ctx"]
    W = {name: np.array([iv.mpf(float(struct_value(b))) for b in t[1]], dtype=object).reshape(t[0])
         for name, t in tensors.items()}
    E, Pm, U = W["embed.W_E"], W["pos_embed.W_pos"], W["unembed.W_U"]
    Q, K, V, O = (W["blocks.0.attn." + k][0] for k in ("W_Q", "W_K", "W_V", "W_O"))  # noqa: E741 (the doc's name)
    seen = {True: 0, False: 0}
    for x in product(range(v), repeat=n):
        resid = [E[t] + Pm[p] for p, t in enumerate(x)]
        query = resid[-1].dot(Q)
        scores = [query.dot(r.dot(K)) / iv.sqrt(cfg["d_head"]) for r in resid]
        ws = [iv.exp(s - scores[-1]) for s in scores]
        total = sum(ws[1:], ws[0])
        out = sum((r.dot(V).dot(O) * (w / total) for w, r in zip(ws, resid)), resid[-1])
        logits, m = out.dot(U), max(x)
        positive = [(logits[m] - logits[y] > 0) is True for y in range(v) if y != m]
        correct, wrong = check.decide_input(check.query_tables(tb, x[-1]), x)
        if correct:
            assert all(positive), x
        if wrong:
            assert not all(positive), x
        seen[correct] += 1
    return seen


@st.composite
def random_tables(draw):
    """Arbitrary integer tables (ties, zeros, negative and huge entries included); lo <= hi."""
    v, n = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    big = draw(st.sampled_from([3, 40, 1 << 70]))

    def pair():
        lo = draw(st.integers(-big, big))
        return lo, lo + draw(st.integers(0, big))

    def pairs(*shape):
        if not shape:
            return pair()
        return [pairs(*shape[1:]) for _ in range(shape[0])]

    def split(x, i):
        return [split(e, i) for e in x] if isinstance(x, list) else x[i]
    W, EU, V = pairs(v, v, n), pairs(v, v), pairs(v, n, v)
    W = [[[(abs(lo), abs(lo) + hi - lo) for lo, hi in row] for row in grid] for grid in W]
    return check.Tables(v, n, split(W, 0), split(W, 1), split(EU, 0), split(EU, 1), split(V, 0), split(V, 1))


@settings(max_examples=300, deadline=None)
@given(random_tables())
def test_box_counts_equal_decide_input_input_by_input(tb):
    expected = [0, 0]
    for x in product(range(tb.v), repeat=tb.n):
        c, w = check.decide_input(check.query_tables(tb, x[-1]), x)
        expected = [expected[0] + c, expected[1] + w]
    got = [sum(check.count_inputs(q, tb)[i] for q in range(tb.v)) for i in (0, 1)]
    assert got == expected


# ---- lies: each must be REJECTED
def test_claim_one_more_correct_is_rejected(random_cert, tmp_path):
    def lie(c):
        c["claim"]["proven_correct"] += 1
        set_fraction(c, "accuracy_lower_bound", c["claim"]["proven_correct"])
    rejected(altered(random_cert, tmp_path, cert=lie), "proven_correct")


def test_claim_above_the_recomputed_count_is_rejected(random_cert, tmp_path):
    def lie(c):  # room made by claiming no wrong inputs, so only the recount can catch it
        c["claim"]["proven_correct"] += 1
        c["claim"]["proven_wrong"] = 0
        set_fraction(c, "accuracy_lower_bound", c["claim"]["proven_correct"])
        set_fraction(c, "accuracy_upper_bound", c["claim"]["inputs"])
    rejected(altered(random_cert, tmp_path, cert=lie), "inputs are proven correct")


def test_claim_one_more_wrong_is_rejected(random_cert, tmp_path):
    def lie(c):
        c["claim"]["proven_correct"] = 0
        c["claim"]["proven_wrong"] += 1
        set_fraction(c, "accuracy_lower_bound", 0)
        set_fraction(c, "accuracy_upper_bound", c["claim"]["inputs"] - c["claim"]["proven_wrong"])
    rejected(altered(random_cert, tmp_path, cert=lie), "inputs are proven wrong")


def test_swapped_counts_are_rejected(random_cert, tmp_path):
    def lie(c):
        cl = c["claim"]
        cl["proven_correct"], cl["proven_wrong"] = cl["proven_wrong"], cl["proven_correct"]
        set_fraction(c, "accuracy_lower_bound", cl["proven_correct"])
        set_fraction(c, "accuracy_upper_bound", cl["inputs"] - cl["proven_wrong"])
    rejected(altered(random_cert, tmp_path, cert=lie), "claim.proven_")


def test_weight_one_ulp_off_is_rejected(random_cert, tmp_path):
    rejected(altered(random_cert, tmp_path, weights=bump_bits("unembed.W_U")), "sha256")


def test_certificate_hash_changed_is_rejected(random_cert, tmp_path):
    def lie(c):
        s = c["model"]["sha256"]
        c["model"]["sha256"] = ("0" if s[0] != "0" else "1") + s[1:]
    rejected(altered(random_cert, tmp_path, cert=lie), "model.sha256")


def test_weights_file_hash_changed_is_rejected(random_cert, tmp_path):
    def lie(w):
        w["sha256"] = ("0" if w["sha256"][0] != "0" else "1") + w["sha256"][1:]
    rejected(altered(random_cert, tmp_path, weights=lie), "weights.json: sha256")


def test_nonzero_bias_is_rejected(random_cert, tmp_path):
    rejected(altered(random_cert, tmp_path, weights=bump_bits("unembed.b_U", 0), rehash=True), "unembed.b_U")


def first_nontrivial(c, key):
    return next((q, t) for q, row in enumerate(c["hints"][key]) for t, (lo, hi) in enumerate(row) if lo != hi)


def test_narrowed_lower_end_of_a_token_hint_is_rejected(random_cert, tmp_path):
    q, t = first_nontrivial(load(random_cert), "attn_token")

    def lie(c):
        c["hints"]["attn_token"][q][t][0] = c["hints"]["attn_token"][q][t][1]
    rejected(altered(random_cert, tmp_path, cert=lie), f"hints.attn_token[{q}][{t}]", "L = ")


def test_narrowed_upper_end_of_a_position_hint_is_rejected(random_cert, tmp_path):
    q, p = first_nontrivial(load(random_cert), "attn_pos")

    def lie(c):
        c["hints"]["attn_pos"][q][p][1] = c["hints"]["attn_pos"][q][p][0]
    rejected(altered(random_cert, tmp_path, cert=lie), f"hints.attn_pos[{q}][{p}]", "H = ")


def test_narrowed_sqrt_hint_is_rejected(random_cert, tmp_path):
    def lie(c):  # the producer's R_lo is floor(sqrt(h) 2^64); one more is above sqrt(h) 2^64
        c["hints"]["sqrt_d_head"][0] += 1
    rejected(altered(random_cert, tmp_path, cert=lie), "hints.sqrt_d_head")


def test_inverted_hint_is_rejected(random_cert, tmp_path):
    def lie(c):
        c["hints"]["attn_pos"][0][0].reverse()
        c["hints"]["attn_pos"][0][0][1] -= 1
    rejected(altered(random_cert, tmp_path, cert=lie), "hints.attn_pos[0][0]")


@pytest.mark.parametrize("key,value", [("sqrt_bits", 63), ("hint_bits", 41), ("exp_bits", 128),
                                       ("taylor_n", 20), ("logit_bits", 16)])
def test_changed_parameter_is_rejected(random_cert, tmp_path, key, value):
    rejected(altered(random_cert, tmp_path, cert=lambda c: c["parameters"].update({key: value})),
             f"parameters.{key}")


@pytest.mark.parametrize("name", ["certificate.json", "weights.json"])
def test_missing_file_is_rejected(random_cert, tmp_path, name):
    d = altered(random_cert, tmp_path)
    (d / name).unlink()
    rejected(d, name, "missing")


def test_directory_instead_of_weights_file_is_rejected(random_cert, tmp_path):
    d = altered(random_cert, tmp_path)
    (d / "weights.json").unlink()
    (d / "weights.json").mkdir()
    rejected(d, "weights.json: not a regular file")


def test_missing_certificate_directory_is_rejected(tmp_path):
    rejected(tmp_path / "nothing", "not a directory")


def test_malformed_json_is_rejected(random_cert, tmp_path):
    d = altered(random_cert, tmp_path)
    (d / "certificate.json").write_text('{"format": "mechcert-certificate",')
    rejected(d, "certificate.json: not valid JSON")


def test_json_nan_is_rejected(random_cert, tmp_path):
    d = altered(random_cert, tmp_path)
    text = (d / "certificate.json").read_text().replace('"proven_wrong": ', '"proven_wrong": NaN, "x": ', 1)
    (d / "certificate.json").write_text(text)
    rejected(d, "NaN")


def test_duplicate_key_is_rejected(random_cert, tmp_path):
    d = altered(random_cert, tmp_path)
    text = (d / "certificate.json").read_text().replace('"version": 1', '"version": 1, "version": 1', 1)
    (d / "certificate.json").write_text(text)
    rejected(d, "duplicate key 'version'")


def test_integer_too_long_to_parse_is_rejected(random_cert, tmp_path):
    d = altered(random_cert, tmp_path)
    text = (d / "certificate.json").read_text().replace('"version": 1', '"version": 1' + "0" * 5000, 1)
    (d / "certificate.json").write_text(text)
    rejected(d, "certificate.json")


@pytest.mark.parametrize("field,value,words", [
    ("format", "mechcert-cert", "format"),
    ("version", 2, "version"),
    ("version", True, "version"),
    ("version", 1.0, "version"),
    ("task", "sort", "task"),
    ("strategy", "cubic-v0", "strategy"),
    ("strategy", None, "strategy"),
    ("extra", 1, "unknown field 'extra'"),
])
def test_wrong_header_field_is_rejected(random_cert, tmp_path, field, value, words):
    rejected(altered(random_cert, tmp_path, cert=lambda c: c.update({field: value})), words)


def test_boolean_count_is_rejected(random_cert, tmp_path):
    rejected(altered(random_cert, tmp_path, cert=lambda c: c["claim"].update({"proven_wrong": True})),
             "claim.proven_wrong: expected an integer, found true")


def test_float_count_is_rejected(random_cert, tmp_path):
    def lie(c):
        c["claim"]["proven_correct"] = float(c["claim"]["proven_correct"])
    rejected(altered(random_cert, tmp_path, cert=lie), "claim.proven_correct: expected an integer")


def test_scaled_fraction_is_rejected(random_cert, tmp_path):
    def lie(c):
        f = c["claim"]["accuracy_lower_bound"]
        f["numerator"], f["denominator"] = 2 * f["numerator"], 2 * f["denominator"]
    rejected(altered(random_cert, tmp_path, cert=lie), "claim.accuracy_lower_bound: expected exactly")


def test_wrong_input_count_is_rejected(random_cert, tmp_path):
    rejected(altered(random_cert, tmp_path, cert=lambda c: c["claim"].update({"inputs": 124})), "claim.inputs")


def test_short_hint_row_is_rejected(random_cert, tmp_path):
    rejected(altered(random_cert, tmp_path, cert=lambda c: c["hints"]["attn_token"][2].pop()),
             "hints.attn_token[2]: expected a list of 5 entries, found 4")


def test_config_disagreeing_with_weights_is_rejected(random_cert, tmp_path):
    rejected(altered(random_cert, tmp_path, cert=lambda c: c["model"]["config"].update({"d_model": 5})),
             "config.d_model")


def test_config_disagreeing_with_shapes_is_rejected(random_cert, tmp_path):
    def lie(c):
        c["model"]["config"]["d_head"] = 2
    rejected(altered(random_cert, tmp_path, cert=lie, weights=lambda w: w["config"].update({"d_head": 2})),
             "shape")


def test_nan_weight_is_rejected(random_cert, tmp_path):
    def lie(w):
        t = w["tensors"][0]
        t["float32_hex"] = "7fc00000" + t["float32_hex"][8:]
    rejected(altered(random_cert, tmp_path, weights=lie), "NaN or Inf")


def test_negative_zero_weight_is_rejected(random_cert, tmp_path):
    def lie(w):
        t = next(t for t in w["tensors"] if t["name"] == "unembed.b_U")
        t["float32_hex"] = "80000000" + t["float32_hex"][8:]
    rejected(altered(random_cert, tmp_path, weights=lie), "negative zero")


def test_uppercase_hex_is_rejected(random_cert, tmp_path):
    def lie(w):
        w["tensors"][0]["float32_hex"] = w["tensors"][0]["float32_hex"].upper()
    rejected(altered(random_cert, tmp_path, weights=lie), "lowercase hex")


def test_huge_declared_shape_is_rejected(random_cert, tmp_path):
    def lie(w):
        w["tensors"][0]["shape"] = [1 << 31, 1 << 31, 1 << 31]
    rejected(altered(random_cert, tmp_path, weights=lie), "hex digits")


def test_negative_dimension_is_rejected(random_cert, tmp_path):
    def lie(w):
        w["tensors"][0]["shape"][0] = -1
    rejected(altered(random_cert, tmp_path, weights=lie), "shape[0]: expected an integer >= 0")


def test_unknown_tensor_is_rejected(random_cert, tmp_path):
    def lie(w):
        w["tensors"].append({"name": "ln_final.w", "shape": [1], "float32_hex": "3f800000"})
        w["tensors"].sort(key=lambda t: t["name"].encode())
    rejected(altered(random_cert, tmp_path, weights=lie, rehash=True), "ln_final.w")


def test_missing_tensor_is_rejected(random_cert, tmp_path):
    def lie(w):
        w["tensors"] = [t for t in w["tensors"] if t["name"] != "blocks.0.attn.W_V"]
    rejected(altered(random_cert, tmp_path, weights=lie, rehash=True), "blocks.0.attn.W_V is missing")


def test_score_difference_beyond_the_exp_limit_is_rejected_quickly(random_cert, tmp_path):
    def huge(w):  # W_Q[0,0,0] = 2^100: the scores become astronomically large
        t = next(t for t in w["tensors"] if t["name"] == "blocks.0.attn.W_Q")
        t["float32_hex"] = "71800000" + t["float32_hex"][8:]
    rejected(altered(random_cert, tmp_path, weights=huge, rehash=True), "beyond this checker's exp")


def test_other_weights_file_name_is_rejected(random_cert, tmp_path):
    rejected(altered(random_cert, tmp_path, cert=lambda c: c["model"].update({"weights_file": "../w.json"})),
             "model.weights_file")


# ---------------------------------------------------------------------------- the cubic strategy (doc, section 7)
@pytest.fixture(scope="session")
def small_cubic_cert(tmp_path_factory) -> Path:
    if not SMALL_MODEL.exists():
        pytest.skip(f"{SMALL_MODEL} not present")
    return certify(SMALL_MODEL, tmp_path_factory.mktemp("small_cubic") / "cert", "cubic")


@pytest.fixture(scope="session")
def weak_cubic_cert(weak_model_file, tmp_path_factory) -> Path:
    """The weak model (v=6, n=3, d=8, 150 steps): the cubic count is well below v^n."""
    out = certify(weak_model_file, tmp_path_factory.mktemp("weak_cubic") / "cert", "cubic")
    claim = load(out)["claim"]
    assert 0 < claim["proven_correct"] < claim["inputs"]
    return out


@pytest.fixture(scope="session", params=[(3, 5, 2, 200), (11, 5, 4, 300)], ids=["v5_n2", "v5_n4"])
def tiny_cubic_cert(request, tmp_path_factory) -> Path:
    """Tiny trained models (d_model 8) at the edges of the count: n_ctx 2 (q < m has no c >= 1) and 4."""
    seed, v, n, steps = request.param
    tmp = tmp_path_factory.mktemp(f"tiny_cubic_{v}_{n}")
    return certify(tiny_model_file(tmp, seed=seed, v=v, n=n, d=8, steps=steps), tmp / "cert", "cubic")


def assert_cubic_verified_with_the_producer_count(cert: Path):
    claim = load(cert)["claim"]
    assert set(claim) == {"inputs", "proven_correct", "accuracy_lower_bound"}
    C, N = claim["proven_correct"], claim["inputs"]
    res = check.check_certificate(str(cert))
    assert res.verified, res.verdict
    assert res.verdict.startswith(f"VERIFIED: max-of-k cubic: at least {C} of {N} inputs correct "
                                  f"(accuracy >= {C}/{N} = ")
    assert len(res.steps) == 9 and res.steps[-1].startswith("[9/9] cubic count: ")
    assert res.counts == {"inputs": N, "proven_correct": C}


@pytest.mark.parametrize("fixture", ["small_cubic_cert", "weak_cubic_cert"])
def test_cubic_certificate_is_verified_with_the_producer_count(request, fixture):
    assert_cubic_verified_with_the_producer_count(request.getfixturevalue(fixture))


def test_tiny_cubic_certificate_is_verified_with_the_producer_count(tiny_cubic_cert):
    assert_cubic_verified_with_the_producer_count(tiny_cubic_cert)


def test_cubic_count_is_at_most_the_brute_force_count(weak_model_file, weak_cubic_cert, tmp_path):
    """Both are sound lower bounds on the same model; the cubic one is the coarser."""
    bf = check.check_certificate(str(certify(weak_model_file, tmp_path / "bf"))).counts["proven_correct"]
    assert check.check_certificate(str(weak_cubic_cert)).counts["proven_correct"] <= bf


def test_cubic_script_verifies_on_a_bare_interpreter(weak_cubic_cert):
    r = run_checker(weak_cubic_cert)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[0].startswith("[1/9] ") and lines[-1].startswith("VERIFIED: max-of-k cubic")


def test_weaker_cubic_claim_is_verified(weak_cubic_cert, tmp_path):
    def weaker(c):
        c["claim"]["proven_correct"] -= 1
        set_fraction(c, "accuracy_lower_bound", c["claim"]["proven_correct"])
    assert check.check_certificate(str(altered(weak_cubic_cert, tmp_path, cert=weaker))).verified


def _cubic_tables(cert: Path):
    """The checker's own (cfg, tok, pos, EQKP, W, B) for a certificate directory, via its functions."""
    c = load(cert)
    cfg, _, tensors = check.read_weights(load(cert, "weights.json"))
    e0, ints = check.integer_weights(cfg, tensors)
    M = check.derived_matrices(cfg, ints)
    sq = check.check_sqrt_hint(c["hints"]["sqrt_d_head"], cfg["d_head"])
    tok, pos = check.check_attention_hints(c["hints"], cfg, M, e0, sq)
    _, W, B = check.pessimised_tables(check.logit_tables(M, e0), cfg["d_vocab"], cfg["n_ctx"])
    return cfg, tok, pos, M["EQKP"], W, B


def test_good_table_equals_the_producer_cubic_good(weak_model_file, weak_cubic_cert):
    """good(q, m, k, c) of the checker, for every q, c and every (m, k) (not only those counted),
    equals certificates.cubic.cubic_good on the producer's model and the certificate's hints."""
    from mechcert.certificates.cubic import cubic_good
    from mechcert.certificates.max_of_k import MaxOfKModel
    from mechcert.extract import load_model

    cfg, tok, pos, EQKP, W, B = _cubic_tables(weak_cubic_cert)
    v, n = cfg["d_vocab"], cfg["n_ctx"]
    producer = cubic_good(MaxOfKModel(load_model(weak_model_file)), load(weak_cubic_cert)["hints"])
    assert set(producer) == {(q, c) for q in range(v) for c in range(n)}
    seen = set()
    for q in range(v):
        cq = check.cubic_query(tok, pos, EQKP, q, v, n)
        for c in range(n):
            ours = [check.good(cq, check.G_row(W, B, m, q), m, c, range(v)) for m in range(v)]
            assert ours == producer[(q, c)].tolist(), (q, c)
            seen |= {x for row in ours for x in row}
    assert seen == {True, False}


@st.composite
def random_cubic_inputs(draw):
    """Arbitrary logit tables, hint pairs 0 <= L <= H and EQKP (ties likely), small or huge. With a
    drawn `signal` on the EV diagonal (token t votes for itself, as in a trained model) a fair share
    of the placement tests pass, so counts strictly between 0 and v^n are common."""
    v, n = draw(st.integers(2, 5)), draw(st.integers(2, 4))
    big = draw(st.sampled_from([3, 1 << 20, 1 << 70]))
    signal = big * draw(st.sampled_from([0, 2, 8]))
    ints = lambda r, c, lo=-big: [[draw(st.integers(lo, big)) for _ in range(c)] for _ in range(r)]  # noqa: E731
    T = {}
    for key, rows in (("EU", v), ("EV", v), ("PV", n)):
        lo, d = ints(rows, v), ints(rows, v, 0)
        if key == "EV":
            lo = [[x + signal * (y == t) for y, x in enumerate(r)] for t, r in enumerate(lo)]
        T[key + "l"], T[key + "h"] = lo, [[a + b for a, b in zip(r, s)] for r, s in zip(lo, d)]

    def hints(c):
        lo, d = ints(v, c, 0), ints(v, c, 0)
        return [[[a, a + b] for a, b in zip(r, s)] for r, s in zip(lo, d)]
    EQKP = ints(v, n, -2) if draw(st.booleans()) else ints(v, n)
    return v, n, T, hints(v), hints(n), EQKP


@settings(max_examples=150, deadline=None)
@given(random_cubic_inputs())
def test_cubic_count_equals_the_producer_on_arbitrary_tables(args):
    """The checker's count equals certificates.cubic's (cubic_good then count_from_good) on arbitrary
    integer tables, hints and EQKP (so signs, ties and the placement order are all exercised)."""
    from types import SimpleNamespace

    from mechcert.certificates.cubic import count_from_good, cubic_good

    v, n, T, tok, pos, EQKP = args
    model = SimpleNamespace(v=v, n=n, EQKP=np.array(EQKP, dtype=object), logit_tables=lambda: T)
    expected = count_from_good(v, n, cubic_good(model, {"attn_token": tok, "attn_pos": pos}))
    _, W, B = check.pessimised_tables(T, v, n)
    tok_t = [[tuple(x) for x in row] for row in tok]
    pos_t = [[tuple(x) for x in row] for row in pos]
    assert check.cubic_count(tok_t, pos_t, EQKP, W, B, v, n)[0] == expected


def test_placements_sort_by_eqkp_then_position():
    EQKP = [[5, -1, 5, 0, 9]]  # n = 5: non-query positions 0..3; order 1, 3, 0, 2
    assert check.placements(EQKP, 0, 5, 0) == (([1, 3, 0, 2], []), ([1, 3, 0, 2], []))
    assert check.placements(EQKP, 0, 5, 1) == (([1, 3, 0], [2]), ([3, 0, 2], [1]))
    assert check.placements(EQKP, 0, 5, 3) == (([1], [3, 0, 2]), ([2], [1, 3, 0]))
    assert check.placements(EQKP, 0, 5, 4) == (([], [1, 3, 0, 2]), ([], [1, 3, 0, 2]))


def test_mul_up_is_an_upper_bound():
    for lo, hi, g in product((0, 2, 5), (5, 7), (-3, 0, 4)):
        assert all(x * g <= check.mul_up((lo, hi), g) for x in range(lo, hi + 1))


# ---- cubic lies: each must be REJECTED
def test_cubic_claim_one_more_correct_is_rejected(weak_cubic_cert, tmp_path):
    def lie(c):
        c["claim"]["proven_correct"] += 1
        set_fraction(c, "accuracy_lower_bound", c["claim"]["proven_correct"])
    rejected(altered(weak_cubic_cert, tmp_path, cert=lie), "claim.proven_correct", "cubic count proves only")


def test_cubic_claim_one_more_without_its_fraction_is_rejected(weak_cubic_cert, tmp_path):
    rejected(altered(weak_cubic_cert, tmp_path, cert=lambda c: c["claim"].update(
        proven_correct=c["claim"]["proven_correct"] + 1)), "claim.accuracy_lower_bound: expected exactly")


def test_cubic_claim_above_the_inputs_is_rejected(small_cubic_cert, tmp_path):
    def lie(c):  # the small model's claim is already every input
        c["claim"]["proven_correct"] += 1
        set_fraction(c, "accuracy_lower_bound", c["claim"]["proven_correct"])
    rejected(altered(small_cubic_cert, tmp_path, cert=lie), "exceeds inputs")


@pytest.mark.parametrize("key,value", [("proven_wrong", 0), ("accuracy_upper_bound", None)])
def test_cubic_claim_with_a_brute_force_field_is_rejected(weak_cubic_cert, tmp_path, key, value):
    def lie(c):
        cl = c["claim"]
        cl[key] = value if value is not None else {"numerator": cl["inputs"], "denominator": cl["inputs"]}
    rejected(altered(weak_cubic_cert, tmp_path, cert=lie), f"claim.{key}: a cubic certificate has no {key}")


def test_brute_force_certificate_relabelled_cubic_is_rejected(random_cert, tmp_path):
    rejected(altered(random_cert, tmp_path, cert=lambda c: c.update(strategy="cubic")), "proven_wrong")


def test_cubic_certificate_relabelled_brute_force_is_rejected(weak_cubic_cert, tmp_path):
    rejected(altered(weak_cubic_cert, tmp_path, cert=lambda c: c.update(strategy="brute-force")),
             "missing field 'proven_wrong'")


def test_cubic_certificate_of_an_n_ctx_1_model_is_rejected(tmp_path):
    """A brute-force certificate of an n_ctx = 1 model (valid hints, a true count) relabelled cubic:
    section 7 requires n_ctx >= 2, whatever the claim."""
    np.savez(tmp_path / "n1.npz", **random_arrays(np.random.default_rng(3), v=5, n=1))
    bf = certify(tmp_path / "n1.npz", tmp_path / "bf")
    assert check.check_certificate(str(bf)).verified

    def relabel(c):
        c["strategy"] = "cubic"
        C = c["claim"]["proven_correct"]
        c["claim"] = {"inputs": 5, "proven_correct": C, "accuracy_lower_bound": {"numerator": C, "denominator": 5}}
    rejected(altered(bf, tmp_path, cert=relabel), "n_ctx = 1", "requires n_ctx >= 2")


def test_cubic_narrowed_token_hint_is_rejected(weak_cubic_cert, tmp_path):
    q, t = first_nontrivial(load(weak_cubic_cert), "attn_token")

    def lie(c):
        c["hints"]["attn_token"][q][t][1] = c["hints"]["attn_token"][q][t][0]
    rejected(altered(weak_cubic_cert, tmp_path, cert=lie), f"hints.attn_token[{q}][{t}]", "H = ")


def test_cubic_narrowed_position_hint_is_rejected(weak_cubic_cert, tmp_path):
    q, p = first_nontrivial(load(weak_cubic_cert), "attn_pos")

    def lie(c):
        c["hints"]["attn_pos"][q][p][0] = c["hints"]["attn_pos"][q][p][1]
    rejected(altered(weak_cubic_cert, tmp_path, cert=lie), f"hints.attn_pos[{q}][{p}]", "L = ")


def test_cubic_weight_one_ulp_off_is_rejected(weak_cubic_cert, tmp_path):
    rejected(altered(weak_cubic_cert, tmp_path, weights=bump_bits("embed.W_E")), "sha256")


def test_cubic_certificate_hash_changed_is_rejected(weak_cubic_cert, tmp_path):
    def lie(c):
        s = c["model"]["sha256"]
        c["model"]["sha256"] = ("0" if s[0] != "0" else "1") + s[1:]
    rejected(altered(weak_cubic_cert, tmp_path, cert=lie), "model.sha256")


# ---------------------------------------------------------------------------- the command line
def run_checker(*args):
    """check.py on a bare interpreter: -I -S (no site-packages: numpy, mpmath, mechcert unavailable)."""
    return subprocess.run([sys.executable, "-I", "-S", str(CHECKER), *map(str, args)], capture_output=True, text=True)


def test_script_verifies_on_a_bare_interpreter(random_cert):
    r = run_checker(random_cert)
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and lines[-1].startswith("VERIFIED: ") and lines[0].startswith("[1/8] ")


def test_script_quiet_prints_only_the_verdict(random_cert):
    r = run_checker(random_cert, "--quiet", "--jobs", "2")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1 and r.stdout.startswith("VERIFIED: ")


def test_script_rejects_with_exit_1_and_no_traceback(random_cert, tmp_path):
    d = altered(random_cert, tmp_path)
    (d / "weights.json").write_bytes(b"\xff\xfe not json")
    r = run_checker(d)
    assert r.returncode == 1 and r.stdout.splitlines()[-1].startswith("REJECTED: weights.json")
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.parametrize("args", [[], ["--jobs", "0"], ["--jobs", "x", "."], ["--frobnicate", "."]])
def test_script_usage_error_exits_2(args):
    assert run_checker(*args).returncode == 2


def test_main_help_exits_0(capsys):
    assert check.main(["--help"]) == 0 and "CERT_DIR" in capsys.readouterr().out


# ---------------------------------------------------------------------------- the source itself
def test_checker_imports_only_the_standard_library():
    tree = ast.parse(CHECKER.read_text())
    mods = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    mods |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert mods <= set(sys.stdlib_module_names) | {"__future__"}, mods


def test_checker_has_no_true_division_and_no_float_literal():
    tree = ast.parse(CHECKER.read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Div,))]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, float)]
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "float"]
