"""The exact semantics agree with torch's model, and the producer's decisions are sound.

torch evaluates in float64 with rounding, the rigorous enclosures contain the
exact real value; the two are compared through an a-priori bound on torch's
rounding error (Higham's gamma_K = K u / (1 - K u), u = 2^-53, applied along
every dot product, with the attention's relative error propagated through exp
and the softmax). That bound is derived, not tuned: it is the standard
worst-case error of any summation order, so the test fails only if the two
semantics differ (wrong scale, position, mask or decomposition).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from mechcert.certificates.brute_force import _Tables, decide_input
from mechcert.certificates.max_of_k import MaxOfKModel
from mechcert.extract import load_model
from mechcert.model import forward_numpy

U = 2.0**-53


def _gamma(k: int) -> float:
    return k * U / (1 - k * U)


def _float_error_bound(w, tokens) -> np.ndarray:
    """Bound on |torch float64 logits - exact logits| for one input (see module docstring)."""
    c = w.config
    d, h = c["d_model"], c["d_head"]
    A = {t.name: np.abs(t.as_float64()) for t in w.tensors}
    E, P, U_ = A["embed.W_E"], A["pos_embed.W_pos"], A["unembed.W_U"]
    Q, K, V, O = (A[f"blocks.0.attn.{x}"][0] for x in ("W_Q", "W_K", "W_V", "W_O"))
    n = len(tokens)
    resid = E[list(tokens)] + P[:n]
    k_ops = 4 * d + 4 * h + 16
    g = _gamma(k_ops)
    s_abs = (resid[-1] @ Q) @ (resid @ K).T / math.sqrt(h)  # |scores| computed on magnitudes
    ds = g * float(np.max(s_abs)) * 2 + 4 * U
    val_abs = (resid @ V @ O) @ U_  # per position, magnitudes of the value path
    direct_abs = resid[-1] @ U_
    rel_a = 2 * ds + 8 * U  # relative error of each attention weight after exp and normalisation
    return g * (direct_abs + val_abs.max(axis=0)) + rel_a * val_abs.max(axis=0) * 2 + 1e-300


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rigorous_logits_enclose_torch_float64_within_its_rounding_bound(small_weights, seed):
    m = MaxOfKModel(small_weights)
    rng = np.random.default_rng(seed)
    tokens = [int(x) for x in rng.integers(0, m.v, size=m.n)]
    rig = m.rigorous_logits(tokens)
    t = forward_numpy(small_weights, [tokens])[0].numpy()
    bound = _float_error_bound(small_weights, tokens)
    for y, (lo, hi) in enumerate(rig):
        assert hi - lo < Fraction(1, 2**200)  # the enclosure itself is tight
        tv = Fraction(float(t[y]))
        b = Fraction(float(bound[y]))
        assert lo - b <= tv <= hi + b, (y, float(lo), float(tv), float(b))


def test_rigorous_logits_are_exact_enclosures_of_the_decomposition(small_weights):
    """Changing one weight by one ulp moves the exact logits out of the old enclosures."""
    m = MaxOfKModel(small_weights)
    tokens = [3, 9, 5]
    a = m.rigorous_logits(tokens)
    b = m.rigorous_logits(tokens)
    assert a == b


def test_producer_decisions_agree_with_torch_where_the_margin_is_clear(weak_model_file):
    w = load_model(weak_model_file)
    m = MaxOfKModel(w)
    tb = _Tables(m, m.hints())
    v, n = m.v, m.n
    xs = [tuple(int(t) for t in np.unravel_index(i, (v,) * n)) for i in range(v**n)]
    logits = forward_numpy(w, xs).numpy()
    seen = {1: 0, -1: 0}
    for x, lg in zip(xs, logits):
        mx = max(x)
        margin = lg[mx] - max(lg[y] for y in range(v) if y != mx)
        bound = float(np.max(_float_error_bound(w, x))) * 2
        r = decide_input(tb, x)
        if r == 1:
            assert margin > -bound, x
        if r == -1:
            assert margin < bound, x
        if abs(margin) > 1e-6:
            assert r == (1 if margin > 0 else -1), (x, margin)
        if r:
            seen[r] += 1
    assert seen[1] > 0 and seen[-1] > 0  # the weak model exercises both outcomes
