"""The cubic proof in plain float64: NOT rigorous, outside the trusted path.

The same algorithm as :mod:`.cubic` with float64 numbers, no hints, no
outward rounding. It is used only to report how much bound the rigour costs.
"""
from __future__ import annotations

from math import comb

import numpy as np

from mechcert.extract import ExactWeights

__all__ = ["cubic_count_float64"]


def cubic_count_float64(w: ExactWeights) -> int:
    c = w.config
    v, n, h = c["d_vocab"], c["n_ctx"], c["d_head"]
    E, P, U = w.float64("embed.W_E"), w.float64("pos_embed.W_pos"), w.float64("unembed.W_U")
    Q, K, V, O = (w.float64(f"blocks.0.attn.{x}")[0] for x in ("W_Q", "W_K", "W_V", "W_O"))
    Eq = E + P[n - 1]
    QK = Q @ K.T
    EQKE, EQKP = Eq @ QK @ E.T, Eq @ QK @ P.T
    EUPU, EVOU, PVOU = Eq @ U, E @ V @ O @ U, P @ V @ O @ U
    not_m = ~np.eye(v, dtype=bool)
    pvpess = (PVOU[:, None, :] - PVOU[:, :, None]).max(axis=0)  # [m, y]
    X = EVOU[None, :, :] - EVOU.T[:, :, None] + pvpess[:, None, :]
    W = np.where(not_m[:, None, :], X, -np.inf).max(axis=2)
    Y = EUPU[None, :, :] - EUPU.T[:, :, None]
    B = np.where(not_m[:, None, :], Y, -np.inf).max(axis=2)
    G = B[:, :, None] + W[:, None, :]
    sq = np.sqrt(h)
    count = 0
    ar = np.arange(v)
    for q in range(v):
        et = np.exp((EQKE[q] - EQKE[q, q]) / sq)
        ep = np.exp((EQKP[q] - EQKP[q, n - 1]) / sq)
        order = sorted(range(n - 1), key=lambda p: (EQKP[q, p], p))
        Gq = G[:, q, :]
        qterm = et[q] * ep[n - 1] * Gq[:, q]
        for cc in range(n):
            nm = n - 1 - cc
            passed = None
            for M, Ks in ((order[:nm], order[nm:]), (order[len(order) - nm:], order[:len(order) - nm])):
                sM, sK = ep[M].sum(), ep[Ks].sum()
                F = (et * sM * Gq[ar, ar] + qterm)[:, None] + (et * sK)[None, :] * Gq
                passed = (F < 0) if passed is None else passed & (F < 0)
            for m in range(q, v):
                if cc == 0:
                    count += int(passed[m, m])
                    continue
                if cc > (n - 1 if q == m else n - 2):
                    continue
                count += comb(n - 1, cc) * int(np.count_nonzero(passed[m, :m])) ** cc
    return count
