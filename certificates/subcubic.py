"""Subcubic compact proofs for Max-of-K (docs/certificate-format.md, section 8).

The cubic proof (section 7) tests every (query q, max m, non-max k, count c):
O(v^3 n) tests, plus an O(v^3) table of direct-path bounds. The subcubic
strategies remove both cubic terms:

* direct path by max differences: the largest wrong logit of each row is found
  from the row's two largest entries (O(v^2 n) instead of O(v^3));
* attention by the smallest gap: for each (q, m, c) one test covers every
  non-max token k < N at once, using prefix maxima over k of the attention and
  logit bounds. The producer finds the largest such N (binary search; the test
  is monotone in N) and writes it as a witness, so a checker does one test per
  (q, m, c, placement): O(v^2 n);
* EQKE as a rank-one part plus an error bounded by norms (strategies
  ``subcubic-rank-one`` and ``subcubic-rank-one-global``): a checker never forms
  the v x v product EQKE. With X = (E + P[n-1]) W_Q and Y = E W_K (v x h),
  EQKE[q, k] = X_q . Y_k and Y_k = centre + beta_k direction + R_k, so
  EQKE[q, t] - EQKE[q, q] = (beta_t - beta_q) (X_q . direction) + X_q . (R_t - R_q)
  with |X_q . (R_t - R_q)| <= |X_q| (|R_t| + |R_q|) (Cauchy-Schwarz); the
  ``-global`` variant uses the largest row norms instead (even fewer operations).

Every quantity is an exact integer; each "< 0" is decided on an upper bound.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb, isqrt

import numpy as np

from .arith import ceil_shift
from .backend_mpmath import MpmathBackend
from .cubic import placements
from .max_of_k import PARAMETERS, MaxOfKModel

__all__ = ["SUBCUBIC_STRATEGIES", "SubcubicResult", "subcubic_certify", "direct_tables", "rank_one_hint",
           "score_intervals", "ceil_isqrt"]

# strategy -> how the token part of attention (EQKE) is bounded
SUBCUBIC_STRATEGIES = {"subcubic-gap": "exact", "subcubic-rank-one": "rank-one",
                       "subcubic-rank-one-global": "rank-one-global"}


@dataclass
class SubcubicResult:
    inputs: int
    proven_correct: int


def ceil_isqrt(x: int) -> int:
    """The least r >= 0 with r^2 >= x, for x >= 0."""
    r = isqrt(x)
    return r if r * r == x else r + 1


def _top2_except(row: list[int]) -> list[int]:
    """[max_{y != m} row[y] for m < len(row)], from the two largest entries (len(row) >= 2)."""
    i1 = max(range(len(row)), key=lambda y: (row[y], -y))
    second = max(row[y] for y in range(len(row)) if y != i1)
    return [second if m == i1 else row[i1] for m in range(len(row))]


def direct_tables(T: dict, v: int, n: int) -> tuple[list[list[int]], list[list[int]]]:
    """(Wd, B) of section 8, integers at scale 2^-32:
    B[m][q]  = max_{y != m} EUh[q][y] - EUl[q][m]
    PVs[m]   = max_p (max_{y != m} PVh[p][y] - PVl[p][m])
    Wd[m][t] = max_{y != m} EVh[t][y] - EVl[t][m] + PVs[m]   (>= the cubic W[m][t])."""
    EUl, EUh, EVl, EVh, PVl, PVh = (T[k] for k in ("EUl", "EUh", "EVl", "EVh", "PVl", "PVh"))
    eu_top = [_top2_except(r) for r in EUh]  # [q][m]
    ev_top = [_top2_except(r) for r in EVh]  # [t][m]
    pv_top = [_top2_except(r) for r in PVh]  # [p][m]
    PVs = [max(pv_top[p][m] - PVl[p][m] for p in range(n)) for m in range(v)]
    B = [[eu_top[q][m] - EUl[q][m] for q in range(v)] for m in range(v)]
    Wd = [[ev_top[t][m] - EVl[t][m] + PVs[m] for t in range(v)] for m in range(v)]
    return Wd, B


def rank_one_hint(model: MaxOfKModel) -> dict:
    """centre, direction, beta (integers) with Y_k ~ centre + beta_k direction, Y = E W_K. Any
    integers are sound (the error term is bounded from the exact residual); these make it small:
    the mean of the rows and the top right singular vector of the centred rows, scaled to 2^40."""
    Y = model.Y
    Yf = np.array([[float(x) for x in row] for row in Y])
    mean = Yf.mean(axis=0)
    _, _, vt = np.linalg.svd(Yf - mean, full_matrices=False)
    w = vt[0]
    w_int = [int(round(x * 2**40)) for x in w]
    centre = [int(round(x)) for x in mean]
    ww = sum(x * x for x in w_int)
    beta = []
    for k in range(model.v):
        dot = sum((int(Y[k][i]) - centre[i]) * w_int[i] for i in range(model.h))
        beta.append((2 * dot + ww) // (2 * ww))  # nearest integer to dot / ww
    return {"centre": centre, "direction": w_int, "beta": beta}


def score_intervals(model: MaxOfKModel, method: str, rank_one: dict | None) -> list[list[tuple[int, int]]]:
    """[q][t] -> (Dlo, Dhi) enclosing D = EQKE[q,t] - EQKE[q,q] (integers at scale 2^(4 e0))."""
    v, h = model.v, model.h
    if method == "exact":
        return [[(int(model.EQKE[q, t] - model.EQKE[q, q]),) * 2 for t in range(v)] for q in range(v)]
    X, Y = model.X, model.Y
    c, w, beta = rank_one["centre"], rank_one["direction"], rank_one["beta"]
    R = [[int(Y[k][i]) - c[i] - beta[k] * w[i] for i in range(h)] for k in range(v)]
    rR = [ceil_isqrt(sum(x * x for x in r)) for r in R]
    rX = [ceil_isqrt(sum(int(x) * int(x) for x in row)) for row in X]
    a = [sum(int(X[q][i]) * w[i] for i in range(h)) for q in range(v)]
    if method == "rank-one-global":
        e = 2 * max(rX) * max(rR)
        err = lambda q, t: e  # noqa: E731
    else:
        err = lambda q, t: rX[q] * (rR[t] + rR[q])  # noqa: E731
    out = []
    for q in range(v):
        row = []
        for t in range(v):
            if t == q:
                row.append((0, 0))
            else:
                mid = (beta[t] - beta[q]) * a[q]
                row.append((mid - err(q, t), mid + err(q, t)))
        out.append(row)
    return out


def subcubic_hints(model: MaxOfKModel, method: str, backend: MpmathBackend, progress=None) -> dict:
    """sqrt, token and position hints, the token hints verified against the score intervals of
    `method` (for "exact" these are the cubic hints); plus rank_one for the rank-one methods."""
    rank_one = rank_one_hint(model) if method != "exact" else None
    hints = model.hints(backend, progress, token_intervals=score_intervals(model, method, rank_one))
    if rank_one is not None:
        hints["rank_one"] = rank_one
    return hints


def _mul_up(l: int, h: int, g: int) -> int:
    return h * g if g >= 0 else l * g


def subcubic_witnesses(model: MaxOfKModel, hints: dict, progress=None) -> tuple[int, list, dict]:
    """(count, gap, good0): good0[(q, m)] = sgood(q, m, 0, 0) (the input (m, ..., m, q) for q <= m);
    gap[q][m][c-1] = the largest N <= m such that the test of (q, m, c) passes
    for both placements with the k slots holding any token < N (0 where none, or where (q, m, c)
    is not a case: m < q, or c > n-2 with q < m). count is the count of section 8."""
    v, n, hb = model.v, model.n, PARAMETERS["hint_bits"]
    Wd, B = direct_tables(model.logit_tables(), v, n)
    tok, pos = hints["attn_token"], hints["attn_pos"]
    # prefix tables over k: index N covers k < N (N >= 1)
    Wpre = []
    for m in range(v):
        row, cur = [None], None
        for k in range(v):
            cur = Wd[m][k] if cur is None else max(cur, Wd[m][k])
            row.append(cur)
        Wpre.append(row)
    count = 0
    gap = [[[0] * (n - 1) for _ in range(v)] for _ in range(v)]
    good0 = {}
    for q in range(v):
        Hpre, Lpre, hcur, lcur = [None], [None], None, None
        for k in range(v):
            hcur = tok[q][k][1] if hcur is None else max(hcur, tok[q][k][1])
            lcur = tok[q][k][0] if lcur is None else min(lcur, tok[q][k][0])
            Hpre.append(hcur)
            Lpre.append(lcur)
        sums = []  # sums[c] = [(SMl, SMh, SKl, SKh) for lowM, highM]
        for c in range(n):
            sums.append([(sum(pos[q][p][0] for p in M), sum(pos[q][p][1] for p in M),
                          sum(pos[q][p][0] for p in K), sum(pos[q][p][1] for p in K))
                         for M, K in placements(model, q, c)])
        wQl = (tok[q][q][0] * pos[q][n - 1][0]) >> hb
        wQh = ceil_shift(tok[q][q][1] * pos[q][n - 1][1], hb)
        for m in range(q, v):
            b = B[m][q]
            gM, gQ = b + Wd[m][m], b + Wd[m][q]
            Lm, Hm = tok[q][m]
            qterm = _mul_up(wQl, wQh, gQ)

            def passes(c: int, N: int) -> bool:
                for SMl, SMh, SKl, SKh in sums[c]:
                    F = _mul_up((Lm * SMl) >> hb, ceil_shift(Hm * SMh, hb), gM) + qterm
                    if N > 0:
                        F += _mul_up((Lpre[N] * SKl) >> hb, ceil_shift(Hpre[N] * SKh, hb), b + Wpre[m][N])
                    if F >= 0:
                        return False
                return True

            good0[(q, m)] = passes(0, 0)
            count += good0[(q, m)]
            for c in range(1, (n - 1 if q == m else n - 2) + 1):
                lo, hi = 0, m  # largest N in [0, m] with passes(c, N); passes is monotone in N
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if passes(c, mid):
                        lo = mid
                    else:
                        hi = mid - 1
                gap[q][m][c - 1] = lo
                count += comb(n - 1, c) * lo**c
        if progress:
            progress(q + 1, v)
    return count, gap, good0


def subcubic_certify(model: MaxOfKModel, strategy: str, backend: MpmathBackend | None = None,
                     progress=None) -> tuple[dict, SubcubicResult]:
    """(hints, result) of a subcubic strategy."""
    if strategy not in SUBCUBIC_STRATEGIES:
        raise ValueError(f"unknown subcubic strategy {strategy!r}")
    if model.n < 2:
        raise ValueError(f"the {strategy} strategy needs n_ctx >= 2 (use --strategy brute-force)")
    backend = backend or MpmathBackend()
    hints = subcubic_hints(model, SUBCUBIC_STRATEGIES[strategy], backend,
                           progress=(lambda i, k: progress("exp hints", i, k)) if progress else None)
    count, gap, _ = subcubic_witnesses(model, hints, progress=(lambda i, k: progress("queries", i, k))
                                    if progress else None)
    hints["gap"] = gap
    return hints, SubcubicResult(model.v ** model.n, count)
