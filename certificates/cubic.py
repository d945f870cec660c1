"""The cubic compact proof for Max-of-K (docs/certificate-format.md, section 7).

Cost O(v^3 n^2) instead of the brute force's O(v^n n v). Every quantity is an
exact integer: the logit tables are rounded outward, the attention weights come
from the verified exp hints, and each "< 0" is decided on an upper bound.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from .max_of_k import PARAMETERS, MaxOfKModel

__all__ = ["CubicResult", "cubic_count", "cubic_good", "count_from_good", "pessimised_tables", "placements"]


@dataclass
class CubicResult:
    inputs: int
    proven_correct: int


def _table(rows) -> np.ndarray:
    """int64 when every entry fits with room for sums, else exact Python ints."""
    flat = [int(x) for r in rows for x in r]
    if max((abs(x) for x in flat), default=0) < 2**58:
        return np.array(rows, dtype=np.int64)
    return np.array(rows, dtype=object)


def pessimised_tables(model: MaxOfKModel) -> np.ndarray:
    """G[m, q, t] = B[m][q] + W[m][t] (section 7), integers at scale 2^-32."""
    t = model.logit_tables()
    EUl, EUh = _table(t["EUl"]), _table(t["EUh"])
    EVl, EVh = _table(t["EVl"]), _table(t["EVh"])
    PVl, PVh = _table(t["PVl"]), _table(t["PVh"])
    v = model.v
    m_idx = np.arange(v)
    not_m = m_idx[None, :] != m_idx[:, None]  # [m, y]: y != m
    # PVpess[m, y] = max_p PVh[p, y] - PVl[p, m]
    pvpess = (PVh[:, None, :] - PVl[:, :, None]).max(axis=0)
    # W[m, t] = max_{y != m} EVh[t, y] - EVl[t, m] + PVpess[m, y]
    X = EVh[None, :, :] - EVl.T[:, :, None] + pvpess[:, None, :]
    W = np.where(not_m[:, None, :], X, X.min() - 1).max(axis=2)
    # B[m, q] = max_{y != m} EUh[q, y] - EUl[q, m]
    Y = EUh[None, :, :] - EUl.T[:, :, None]
    B = np.where(not_m[:, None, :], Y, Y.min() - 1).max(axis=2)
    return B[:, :, None] + W[:, None, :]


def placements(model: MaxOfKModel, q: int, c: int) -> list[tuple[list[int], list[int]]]:
    """[(M, K)] for lowM and highM: the max slots and the k slots among positions 0..n-2."""
    order = sorted(range(model.n - 1), key=lambda p: (int(model.EQKP[q, p]), p))
    nm = model.n - 1 - c
    low = (order[:nm], order[nm:])
    high = (order[len(order) - nm:], order[:len(order) - nm])
    return [low, high]


def _mul_up(lo, hi, g):
    return np.where(g >= 0, hi * g, lo * g)


def cubic_good(model: MaxOfKModel, hints: dict, progress=None) -> dict[tuple[int, int], np.ndarray]:
    """good[(q, c)][m, k]: the test of section 7 passes for both placements."""
    v, n = model.v, model.n
    hb = PARAMETERS["hint_bits"]
    G = pessimised_tables(model).astype(object)
    tok = hints["attn_token"]
    pos = hints["attn_pos"]
    Lt = np.array([[int(x[0]) for x in row] for row in tok], dtype=object)
    Ht = np.array([[int(x[1]) for x in row] for row in tok], dtype=object)
    ar = np.arange(v)
    good = {}
    for q in range(v):
        Lq, Hq = Lt[q], Ht[q]  # over tokens
        wQl = (Lq[q] * pos[q][n - 1][0]) >> hb
        wQh = -((-(Hq[q] * pos[q][n - 1][1])) >> hb)
        Gq = G[:, q, :]  # [m, t]
        qterm = _mul_up(wQl, wQh, Gq[:, q])  # G[m][q][q], over m
        gq_m = Gq[ar, ar]  # G[m][q][m], over m
        for c in range(0, n):
            passed = None
            for M, K in placements(model, q, c):
                SMl = sum(pos[q][p][0] for p in M)
                SMh = sum(pos[q][p][1] for p in M)
                SKl = sum(pos[q][p][0] for p in K)
                SKh = sum(pos[q][p][1] for p in K)
                mterm = _mul_up((Lq * SMl) >> hb, -((-(Hq * SMh)) >> hb), gq_m)  # over m
                kterm = _mul_up(((Lq * SKl) >> hb)[None, :], (-((-(Hq * SKh)) >> hb))[None, :], Gq)  # [m, k]
                ok = ((mterm + qterm)[:, None] + kterm) < 0
                passed = ok if passed is None else passed & ok
            good[(q, c)] = passed.astype(bool)
        if progress:
            progress(q + 1, v)
    return good


def count_from_good(v: int, n: int, good) -> int:
    """The counting step of section 7."""
    count = 0
    for m in range(v):
        for q in range(m + 1):
            count += int(good[(q, 0)][m, m])
            for c in range(1, (n - 1 if q == m else n - 2) + 1):
                N = int(np.count_nonzero(good[(q, c)][m, :m]))
                count += comb(n - 1, c) * N**c
    return count


def cubic_count(model: MaxOfKModel, hints: dict, progress=None) -> CubicResult:
    if model.n < 2:
        raise ValueError("the cubic strategy needs n_ctx >= 2 (use --strategy brute-force)")
    good = cubic_good(model, hints, progress)
    return CubicResult(model.v ** model.n, count_from_good(model.v, model.n, good))
