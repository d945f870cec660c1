"""The fast brute-force backend is sound relative to the exact algorithm (docs, section 5).

On random small models (including huge and tiny weight scales, and widened hints):
(a) its decision of every input is never more decided than the exact decision;
(b) its enclosures contain the exact integers low_y and up_y;
(c) they contain the true real margin sum_p w_p g_p(y) (mpmath, via rigorous_logits).
No timing here (benchmarks/bench_brute_force.py does that).
"""
from __future__ import annotations

from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mechcert.certificates.arith import ceil_shift
from mechcert.certificates.backend_fast import FastBackend, _round_down, _round_up, brute_force_counts_fast
from mechcert.certificates.backend_mpmath import MpmathBackend
from mechcert.certificates.brute_force import _Tables, brute_force_counts, decide_input
from mechcert.certificates.max_of_k import PARAMETERS, MaxOfKModel
from mechcert.extract import weights_from_arrays


NAMES = ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.W_K",
         "blocks.0.attn.W_V", "blocks.0.attn.W_O", "unembed.W_U")
# per-tensor scales: tiny (logits round to a few units of 2^-32), ordinary, and huge
# (attention weights beyond 2^900 become +inf, logit tables beyond 2^50 get shifted)
SCALES = [1e-8, 1e-4, 1e-2, 0.3, 1.0, 3.0, 30.0, 1000.0]


@st.composite
def models(draw):
    v = draw(st.integers(3, 6))
    n = draw(st.integers(2, 4))
    d = draw(st.integers(2, 6))
    h = draw(st.integers(2, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    qk_scale = draw(st.sampled_from([1e-3, 0.3, 1.0, 2.0, 4.0]))  # from flat to very peaked attention
    ov_scale = draw(st.sampled_from(SCALES))
    eu_scale = draw(st.sampled_from(SCALES))
    rng = np.random.default_rng(seed)
    shapes = {"embed.W_E": (v, d), "pos_embed.W_pos": (n, d), "blocks.0.attn.W_Q": (1, d, h),
              "blocks.0.attn.W_K": (1, d, h), "blocks.0.attn.W_V": (1, d, h),
              "blocks.0.attn.W_O": (1, h, d), "unembed.W_U": (d, v)}
    scale = {"blocks.0.attn.W_Q": qk_scale, "blocks.0.attn.W_K": qk_scale,
             "blocks.0.attn.W_V": ov_scale, "blocks.0.attn.W_O": ov_scale,
             "unembed.W_U": eu_scale, "embed.W_E": 1.0, "pos_embed.W_pos": 1.0}
    arrays = {k: (rng.standard_normal(shapes[k]) * scale[k]).astype(np.float32) for k in NAMES}
    if draw(st.booleans()):  # a Max-of-K-like bias: copy the max (more correct inputs)
        arrays["embed.W_E"][:, 0] += np.linspace(-1, 1, v).astype(np.float32) * 2
    m = MaxOfKModel(weights_from_arrays(arrays))
    hints = m.hints()
    widen = draw(st.sampled_from([0, 0, 4, 30]))  # widen every hint by a relative 2^-widen
    if widen:
        def wid(pair):
            L, H = pair
            return [L - (L >> widen), H + (H >> widen) + 1]
        hints = dict(hints)
        hints["attn_token"] = [[wid(x) for x in row] for row in hints["attn_token"]]
        hints["attn_pos"] = [[wid(x) for x in row] for row in hints["attn_pos"]]
    chunk = draw(st.sampled_from([1, 3, 7, 50, 1 << 18]))
    return m, hints, chunk


def exact_low_up(m: MaxOfKModel, hints: dict, x) -> tuple[list[int], list[int]]:
    """low_y and up_y of section 5, exactly (an independent transcription of the doc)."""
    tb = m.logit_tables()
    hb = PARAMETERS["hint_bits"]
    q, mx = x[-1], max(x)
    low, up = [0] * m.v, [0] * m.v
    for p, t in enumerate(x):
        Lt, Ht = hints["attn_token"][q][t]
        Lp, Hp = hints["attn_pos"][q][p]
        wl, wh = (Lt * Lp) >> hb, ceil_shift(Ht * Hp, hb)
        for y in range(m.v):
            gl = (tb["EUl"][q][mx] - tb["EUh"][q][y] + tb["EVl"][t][mx] - tb["EVh"][t][y]
                  + tb["PVl"][p][mx] - tb["PVh"][p][y])
            gh = (tb["EUh"][q][mx] - tb["EUl"][q][y] + tb["EVh"][t][mx] - tb["EVl"][t][y]
                  + tb["PVh"][p][mx] - tb["PVl"][p][y])
            low[y] += wl * gl if gl >= 0 else wh * gl
            up[y] += wh * gh if gh >= 0 else wl * gh
    return low, up


def exact_decisions(m: MaxOfKModel, hints: dict) -> np.ndarray:
    tb = _Tables(m, hints)
    return np.array([decide_input(tb, x) for x in product(range(m.v), repeat=m.n)], dtype=np.int8)


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(models())
def test_fast_decisions_are_never_more_decided_than_exact(case):
    m, hints, chunk = case
    fast = FastBackend(m, hints).decide_all(chunk=chunk)
    exact = exact_decisions(m, hints)
    assert np.all((fast == 0) | (fast == exact)), np.nonzero((fast != 0) & (fast != exact))
    res = brute_force_counts_fast(m, hints, chunk=chunk)
    assert res.proven_correct == int(np.count_nonzero(fast == 1))
    assert res.proven_wrong == int(np.count_nonzero(fast == -1))
    assert res.proven_correct <= int(np.count_nonzero(exact == 1))
    assert res.proven_wrong <= int(np.count_nonzero(exact == -1))


@SETTINGS
@given(models(), st.integers(0, 2**32 - 1))
def test_fast_enclosures_contain_the_exact_low_and_up(case, seed):
    m, hints, _ = case
    be = FastBackend(m, hints)
    rng = np.random.default_rng(seed)
    xs = [tuple(int(t) for t in rng.integers(0, m.v, m.n)) for _ in range(8)]
    xs.append((m.v - 1,) * m.n)
    lo, hi, r = be.margin_bounds(xs)
    for i, x in enumerate(xs):
        low, up = exact_low_up(m, hints, x)
        for y in range(m.v):
            if y == max(x):
                continue
            assert low[y] <= up[y]
            if np.isfinite(lo[i, y]):
                assert Fraction(float(lo[i, y])) * 2**r <= low[y], (x, y)
            else:
                assert lo[i, y] == -np.inf
            if np.isfinite(hi[i, y]):
                assert up[y] <= Fraction(float(hi[i, y])) * 2**r, (x, y)
            else:
                assert hi[i, y] == np.inf


def _true_margin_enclosure(m: MaxOfKModel, x, y: int) -> tuple[Fraction, Fraction]:
    """[lo, hi] around the real sum_p w_p g_p(y) with w_p = exp(score_p - score_ref):
    (logit[max] - logit[y]) from rigorous_logits times sum_p w_p, both at 320 bits."""
    be = MpmathBackend()
    logits = m.rigorous_logits(x, be)
    mx = max(x)
    d_lo, d_hi = logits[mx][0] - logits[y][1], logits[mx][1] - logits[y][0]
    iv = be._ctx()
    q = x[-1]
    s4 = Fraction(2) ** (4 * m.e0)
    sq = iv.sqrt(iv.mpf(m.h))
    scores = [be.interval((int(m.EQKE[q, t]) + int(m.EQKP[q, p])) * s4) / sq for p, t in enumerate(x)]
    W = sum((iv.exp(s - scores[-1]) for s in scores[1:]), iv.exp(scores[0] - scores[-1]))
    w_lo, w_hi = be.endpoints(W)
    prods = [d_lo * w_lo, d_lo * w_hi, d_hi * w_lo, d_hi * w_hi]
    return min(prods), max(prods)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models(), st.integers(0, 2**32 - 1))
def test_fast_enclosures_contain_the_true_real_margin(case, seed):
    m, hints, _ = case
    be = FastBackend(m, hints)
    rng = np.random.default_rng(seed)
    xs = [tuple(int(t) for t in rng.integers(0, m.v, m.n)) for _ in range(4)]
    lo, hi, r = be.margin_bounds(xs)
    scale = Fraction(2) ** (r - 72)  # the integers of section 5 are in units of 2^-72
    for i, x in enumerate(xs):
        for y in range(m.v):
            if y == max(x):
                continue
            t_lo, t_hi = _true_margin_enclosure(m, x, y)
            # the mpmath enclosure is ~2^-300 wide: intersecting ours is containment up to that
            if np.isfinite(lo[i, y]):
                assert Fraction(float(lo[i, y])) * scale <= t_hi, (x, y)
            if np.isfinite(hi[i, y]):
                assert t_lo <= Fraction(float(hi[i, y])) * scale, (x, y)
            if lo[i, y] > 0:
                assert t_lo > 0
            if hi[i, y] <= 0:
                assert t_hi <= 0


def test_fast_matches_exact_counts_on_the_small_shipped_model(small_weights):
    m = MaxOfKModel(small_weights)
    hints = m.hints()
    exact = brute_force_counts(m, hints)
    for jobs in (1, 2):
        fast = brute_force_counts(m, hints, backend="fast", jobs=jobs)
        assert fast.inputs == exact.inputs
        assert fast.proven_correct <= exact.proven_correct
        assert fast.proven_wrong <= exact.proven_wrong
        # float64 with 2^-50 relative slack loses nothing on a real model
        assert (fast.proven_correct, fast.proven_wrong) == (exact.proven_correct, exact.proven_wrong)


def test_progress_is_monotone_and_complete(small_weights):
    m = MaxOfKModel(small_weights)
    seen = []
    res = brute_force_counts_fast(m, m.hints(), progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (res.inputs, res.inputs)
    assert all(a[0] < b[0] for a, b in zip(seen, seen[1:]))


def test_invalid_hints_and_unknown_backend_are_refused(small_weights):
    m = MaxOfKModel(small_weights)
    hints = m.hints()
    bad = dict(hints)
    bad["attn_pos"] = [list(row) for row in hints["attn_pos"]]
    L, H = bad["attn_pos"][0][0]
    bad["attn_pos"][0][0] = [H + 1, H]
    with pytest.raises(ValueError):
        FastBackend(m, bad)
    with pytest.raises(ValueError):
        brute_force_counts(m, hints, backend="gpu")


def test_infinite_weights_make_inputs_undecided_not_wrongly_decided():
    """Hints with H far above 2^900 (upper weight +inf): decisions stay sound."""
    rng = np.random.default_rng(5)
    arrays = {k: (rng.standard_normal(s) * 0.5).astype(np.float32) for k, s in
              {"embed.W_E": (4, 3), "pos_embed.W_pos": (3, 3), "blocks.0.attn.W_Q": (1, 3, 3),
               "blocks.0.attn.W_K": (1, 3, 3), "blocks.0.attn.W_V": (1, 3, 3),
               "blocks.0.attn.W_O": (1, 3, 3), "unembed.W_U": (3, 4)}.items()}
    m = MaxOfKModel(weights_from_arrays(arrays))
    hints = m.hints()
    hints = dict(hints)
    hints["attn_token"] = [[[L, H << 1000] if t % 2 else [L, H] for t, (L, H) in enumerate(row)]
                           for row in hints["attn_token"]]
    fast = FastBackend(m, hints).decide_all(chunk=5)
    exact = exact_decisions(m, hints)
    assert np.all((fast == 0) | (fast == exact))
    assert np.any(fast == 0)


# -- the rounding logic on raw integers (cancellation that float64 gets wrong without the bound)

def exact_decisions_raw(v, n, wl, wh, tb) -> np.ndarray:
    """Section 5's decision from raw integers wl/wh[q][t][p] and the six tables."""
    out = []
    for x in product(range(v), repeat=n):
        q, mx = x[-1], max(x)
        low, up = [0] * v, [0] * v
        for p, t in enumerate(x):
            a, b = wl[q][t][p], wh[q][t][p]
            for y in range(v):
                gl = tb["EUl"][q][mx] - tb["EUh"][q][y] + tb["EVl"][t][mx] - tb["EVh"][t][y] + tb["PVl"][p][mx] - tb["PVh"][p][y]
                gh = tb["EUh"][q][mx] - tb["EUl"][q][y] + tb["EVh"][t][mx] - tb["EVl"][t][y] + tb["PVh"][p][mx] - tb["PVl"][p][y]
                low[y] += a * gl if gl >= 0 else b * gl
                up[y] += b * gh if gh >= 0 else a * gh
        ys = [y for y in range(v) if y != mx]
        out.append(1 if all(low[y] > 0 for y in ys) else -1 if any(up[y] <= 0 for y in ys) else 0)
    return np.array(out, dtype=np.int8)


def test_cancellation_that_rounds_positive_is_not_proven_correct():
    """low = (2^52+1)*3 - 2^52*3 - 1*3 = 0 exactly; float64 rounds the first product up and
    sums to 1 > 0. Only the a-posteriori bound keeps the input from being called correct."""
    v, n = 2, 3
    zero = [[0, 0], [0, 0]]
    pv = [[3, 0], [3, 0], [0, 3]]
    tb = {"EUl": zero, "EUh": zero, "EVl": zero, "EVh": zero, "PVl": pv, "PVh": pv}
    w = [[[1, 1, 1] for _ in range(v)] for _ in range(v)]
    w[0][0][2] = 2**52 + 1  # query position, gl = +3
    w[0][1][0] = 2**52      # position 0 holds the max 1, gl = -3
    x_index = (1 * v + 0) * v + 0  # the input (1, 0, 0)
    exact = exact_decisions_raw(v, n, w, w, tb)
    fast = FastBackend.from_integers(v, n, w, w, tb).decide_all(chunk=1)
    assert exact[x_index] == -1 and fast[x_index] == 0
    assert np.all((fast == 0) | (fast == exact))


def test_cancellation_that_rounds_to_zero_is_not_proven_wrong():
    """up = -(2^52+1)*3 + 2^52*3 + 1*4 = 1 > 0 exactly (so the input is proven correct);
    float64 rounds the first product away from zero and sums to 0 <= 0."""
    v, n = 2, 3
    zero = [[0, 0], [0, 0]]
    pv = [[0, 3], [0, 4], [3, 0]]
    tb = {"EUl": zero, "EUh": zero, "EVl": zero, "EVh": zero, "PVl": pv, "PVh": pv}
    w = [[[1, 1, 1] for _ in range(v)] for _ in range(v)]
    w[0][0][2] = 2**52 + 1
    w[0][1][0] = 2**52
    x_index = (1 * v + 0) * v + 0
    exact = exact_decisions_raw(v, n, w, w, tb)
    fast = FastBackend.from_integers(v, n, w, w, tb).decide_all(chunk=1)
    assert exact[x_index] == 1 and fast[x_index] == 0
    assert np.all((fast == 0) | (fast == exact))


@given(st.integers(0, 2**1100) | st.integers(0, 2**70) | st.sampled_from([2**53 + 1, 2**60 - 1, 2**900, 2**900 + 1]))
def test_outward_rounding_of_integers(z):
    lo, hi = _round_down(z), _round_up(z)
    assert Fraction(lo) <= z
    assert hi == np.inf or z <= Fraction(hi)
    if z <= 2**900:
        assert hi != np.inf and Fraction(hi) - Fraction(lo) <= Fraction(z) * 2**-51
        assert lo == z or Fraction(float(np.nextafter(lo, np.inf))) > z


_AWKWARD = [0, 1, 3, 5, 2**52 - 1, 2**60 - 1, 2**52, 2**52 + 1, 2**53 + 2, 3 * 2**51 + 1, 2**60 + 2**8 + 1,
            (2**53 + 1) * 3, 2**70 + 1, 2**901 + 1]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_raw_integer_cancellations_are_never_more_decided(data):
    v = data.draw(st.integers(2, 3))
    n = data.draw(st.integers(1, 4))
    ent = st.integers(-4, 4) | st.sampled_from([2**49 + 1, -(2**49) - 3, 2**60 + 1, -(2**61) - 1])

    def table(rows, cols):
        lo = [[data.draw(ent) for _ in range(cols)] for _ in range(rows)]
        hi = [[x + data.draw(st.sampled_from([0, 0, 0, 1, 5])) for x in row] for row in lo]
        return lo, hi

    tb = {}
    tb["EUl"], tb["EUh"] = table(v, v)
    tb["EVl"], tb["EVh"] = table(v, v)
    tb["PVl"], tb["PVh"] = table(n, v)
    wl = [[[data.draw(st.sampled_from(_AWKWARD)) for _ in range(n)] for _ in range(v)] for _ in range(v)]
    wh = [[[a + data.draw(st.sampled_from([0, 0, 1, 2**20])) for a in r] for r in row] for row in wl]
    fast = FastBackend.from_integers(v, n, wl, wh, tb).decide_all(chunk=data.draw(st.sampled_from([1, 4, 1 << 18])))
    exact = exact_decisions_raw(v, n, wl, wh, tb)
    assert np.all((fast == 0) | (fast == exact)), (fast, exact)
