"""A fast, rigorous brute-force backend for Max-of-K: numpy float64 with outward error bounds.

It decides every input like docs/certificate-format.md, section 5 (proven
correct / proven wrong / undecided), from the SAME hints and the SAME
outward-rounded logit tables, but in vectorised float64 instead of unbounded
integers. It is never more decided than the exact algorithm: an input it calls
proven correct has ``low_y > 0`` for every ``y != m`` in the exact algorithm,
and one it calls proven wrong has ``up_y <= 0`` for some ``y != m`` (and, the
hints being valid, is then not proven correct by the exact algorithm). So its
counts are a claim that the exact checker (which accepts when its own counts
are ``>=`` the claimed ones) accepts. Being less decided only costs tightness.

Why each operation is sound
===========================
Notation: ``u = 2^-53`` (float64, round to nearest even, the IEEE default; numpy's
elementwise ``+ - *`` and comparisons are correctly rounded IEEE operations, one per
element, no fused multiply-add; nothing here or in numpy/torch changes the rounding
mode), ``RN(x)`` the float nearest to x. No value below is ever subnormal (every
nonzero term has magnitude >= 1, every nonzero difference of such floats is
>= 2^-52, every threshold is 0 or >= 2^-50), so flush-to-zero modes would not
matter either.
Facts used (Higham, *Accuracy and Stability of Numerical Algorithms*, 2.2, 4.2):
(F1) without underflow or overflow, ``RN(x) = x (1 + d)`` with ``|d| <= u``;
(F2) a float sum of k terms in ANY order (any summation tree) is within
``gamma_{k-1} * sum |terms|`` of the exact sum of the terms, ``gamma_j = j u/(1-j u)``
(addition never underflows harmfully: a subnormal sum is exact); (F3) ``min``,
``max``, ``abs``, comparisons, negation and multiplication by a power of two
(without under/overflow) are exact; (F4) Python's ``float(int)`` and int/float
comparisons are exact up to the rounding of float(), which we correct.

0. **Hints are validated** first: every ``[L, H]`` has ``0 <= L <= H``
   (the checker rejects anything else). Hence ``0 <= wl_p <= wh_p`` for the exact
   ``wl_p = (L_tok L_pos) >> 40``, ``wh_p = ceil((H_tok H_pos) / 2^40)``, and
   the exact low/up terms of section 5 are
   ``lt(g) = min(wl g, wh g)`` and ``ut(g) = max(wl g, wh g)``; both are
   nondecreasing in ``g`` (because ``w >= 0``) and, for fixed ``g``, shrink
   (resp. grow) when ``[wl, wh]`` is widened.  Also ``low_y <= up_y``.
1. **Attention weights** ``wl_p, wh_p`` are computed exactly (Python ints) for
   every (q, t, p) and rounded *outward* to floats: ``wlf <= wl`` (rounded down,
   and capped at ``2^900``, a smaller value, so nothing overflows) and
   ``whf >= wh`` (rounded up; ``+inf`` above ``2^900``). Both are integers or 0, so
   ``0 <= wlf <= wl <= wh <= whf``: by (0) the terms built from them are outward.
2. **Logit tables.** If some table entry has ``|x| >= 2^50`` all six tables are
   shifted right by ``r`` bits, lower tables rounded down, upper tables rounded up
   (``r = 0`` for every realistic model). Then ``gl' <= gl / 2^r``,
   ``gh' >= gh / 2^r`` and ``|gl'|, |gh'| <= 6 * 2^50 < 2^53``: the tables and every
   partial sum of ``gl'``, ``gh'`` are integers below 2^53, exact in float64. By monotonicity (0), ``lt(gl) >= 2^r lt(gl')``,
   ``ut(gh) <= 2^r ut(gh')``; a positive factor ``2^r`` changes no sign, so below we
   simply work in units of ``2^r * 2^-72`` (the exact ``low_y`` is an integer in
   units of ``2^-72``).
3. **Terms.** ``TL = RN(gl' * (wlf if gl' >= 0 else whf))`` and
   ``TU = RN(gh' * (whf if gh' >= 0 else wlf))``: the product of the chosen floats
   is ``tau <= lt(gl')`` resp. ``sigma >= ut(gh')`` (0, 1). Every factor is an
   integer or 0, so ``|tau| >= 1`` or ``tau = 0``: no underflow; ``|tau| < 2^953``
   unless a factor is ``+inf``, so no overflow either, and (F1) gives
   ``|TL - tau| <= u |TL|``. The only non-finite values are ``TL = -inf`` (then
   ``tau = -inf`` is a valid lower bound) and ``TU = +inf`` (valid upper bound);
   ``TL`` is never ``+inf`` or NaN, ``TU`` never ``-inf`` or NaN, so no sum
   below is NaN and every comparison means what it says. The column ``y = m`` is
   excluded by overwriting it, in every term table and row, with a copy of one
   column ``ym != m``: then every sum in column m equals the one in column ym
   (same floats, same order), so a minimum or maximum over all y is exactly the
   one over ``y != m``.
4. **Sums and the a-posteriori bound.** For an input and ``y != m``,
   ``S_y = fl(sum_p TL_p(y))`` and ``A = fl(sum_p MA_p)`` with
   ``MA_p = max_{y != m} |TL_p(y)|``. By (F2) and (3),
   ``sum_p tau_p >= S_y - (gamma_{n-1} + u) sum_p |TL_p| >= S_y - c A``, where
   ``c = 2^(k-53)`` with ``2^k >= n + 1`` (``c = 2^-50`` for ``n <= 7``): indeed
   ``A >= (1 - gamma_{n-1}) sum_p MA_p`` (F2 for non-negative terms) and
   ``(gamma_{n-1} + u) / (1 - gamma_{n-1}) < (n + 1) u <= c``. ``c A`` is computed as
   the float sum of the ``c MA_p``, which is exactly ``c`` times the float sum of the
   ``MA_p`` (F3: scaling by a power of two commutes with rounding; ``MA_p`` is 0 or
   ``>= 1``, so nothing underflows). Hence ``S_y > c A`` for all
   ``y != m`` implies ``low_y > 0`` for all of them: **proven correct**. Likewise
   ``SU_y <= -c AU`` for some ``y != m`` implies ``up_y <= 0``: **proven wrong**.
   When an infinity is involved the tests are false (``A = inf``) or the
   conclusion still holds (a ``-inf`` lower or ``+inf`` upper bound decides
   nothing), so infinities only make inputs undecided.
5. **The cheap test** (decides almost every input with O(n) work instead of
   O(n v)): with ``Z_p = min_{y != m} TL_p(y)`` (exact, F3),
   ``sum_p Z_p <= sum_p TL_p(y)`` for every y and ``|Z_p| <= MA_p``, so
   ``fl(sum_p Z_p) > c A`` implies, by the same computation as (4),
   ``sum_p tau_p(y) > 0`` for every ``y != m``: proven correct. Inputs failing it
   get the full O(n v) evaluation of (4).
6. **Counting.** Inputs are enumerated exactly once each: for every max token m
   and query q <= m, the tokens ``t_0..t_{n-2}`` lie in ``[0, m]^{n-1}``, split by
   the first position j holding m (positions before j are ``< m``); when ``q = m``
   also the box with every ``t_i < m``. These boxes partition the inputs with
   maximum m and query q, and their sizes sum to ``v^n`` (checked at the end).
   Counts are exact integers.

Structure and cost: for each max token m the table ``TL[q, p, t, y]`` (q, t <= m)
and its per-row ``Z`` and ``c MA`` are built once (O(m^2 n v)); the cheap test is a
broadcast sum over each box (O(n) per input, no gathers, no per-input Python);
the rare inputs it leaves (0.2% on the shipped 64/4 model) gather n rows of
``TL`` and build their n rows of ``TU`` (O(n v) each).
``jobs > 1`` forks worker processes that take whole (m, query-block) work units,
largest first, and add up their counts.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from itertools import product as iproduct

import numpy as np

from .arith import ceil_shift
from .brute_force import BruteForceResult
from .max_of_k import PARAMETERS, MaxOfKModel

__all__ = ["FastBackend", "brute_force_counts_fast", "DEFAULT_CHUNK"]

DEFAULT_CHUNK = 1 << 18  # inputs per vectorised box (bounds the temporaries: ~2 MB per array)
_CAP = 2**900  # weights above this are capped (lower bounds) or +inf (upper bounds)
_CAP_F = float(_CAP)
_TABLE_BITS = 50  # table entries are shifted (outward) below 2^50
_TABLE_ENTRIES = 1 << 22  # max q * n * v * v entries of one per-(m, q-block) table


def _round_down(z: int) -> float:
    """The largest float <= z (z >= 0), capped at 2^900."""
    if z >= _CAP:
        return _CAP_F
    f = float(z)
    if f > z:
        f = math.nextafter(f, -math.inf)
    return f


def _round_up(z: int) -> float:
    """The smallest float >= z (z >= 0), or +inf above 2^900."""
    if z > _CAP:
        return math.inf
    f = float(z)
    if f < z:
        f = math.nextafter(f, math.inf)
    return f


def _floor_shift(x: int, r: int) -> int:
    return x >> r


def _ceil_shift(x: int, r: int) -> int:
    return -((-x) >> r)


@dataclass
class _MaxTables:
    """Per max token m and query block [q0, q1) (q <= m), tokens t <= m."""
    m: int
    q0: int
    q1: int
    TL: np.ndarray   # [q, p, t, y] lower terms; column m is a copy of column ym
    ZL: np.ndarray   # [q, p, t] min over y != m of TL
    cAL: np.ndarray  # [q, p, t] c * max over y != m of |TL| (exact: c is a power of two)
    Ah: np.ndarray   # [q, y] EUh[q][m] - EUl[q][y]      (the three parts of gh, exact floats)
    Bh: np.ndarray   # [t, y] EVh[t][m] - EVl[t][y]
    Ch: np.ndarray   # [p, y] PVh[p][m] - PVl[p][y]
    ym: int          # a column y != m


class FastBackend:
    """Vectorised rigorous decisions for Max-of-K brute force (see the module docstring)."""

    name = "numpy-float64-outward"

    def __init__(self, model: MaxOfKModel, hints: dict):
        self.v, self.n = v, n = model.v, model.n
        hb = PARAMETERS["hint_bits"]
        tok, pos = hints["attn_token"], hints["attn_pos"]
        if len(tok) != v or any(len(r) != v for r in tok) or len(pos) != v or any(len(r) != n for r in pos):
            raise ValueError("hints have the wrong shape for this model")
        for row in list(tok) + list(pos):
            for L, H in row:
                if not (isinstance(L, (int, np.integer)) and isinstance(H, (int, np.integer)) and 0 <= L <= H):
                    raise ValueError(f"invalid exp hint [{L}, {H}] (need integers 0 <= L <= H)")
        tok = [[(int(L), int(H)) for L, H in row] for row in tok]
        pos = [[(int(L), int(H)) for L, H in row] for row in pos]
        wl = [[[(tok[q][t][0] * pos[q][p][0]) >> hb for p in range(n)] for t in range(v)] for q in range(v)]
        wh = [[[ceil_shift(tok[q][t][1] * pos[q][p][1], hb) for p in range(n)] for t in range(v)] for q in range(v)]
        self._setup(v, n, wl, wh, model.logit_tables())

    @classmethod
    def from_integers(cls, v: int, n: int, wl, wh, tables: dict) -> "FastBackend":
        """A backend on given exact integers: wl[q][t][p] <= wh[q][t][p] (attention weights at
        scale 2^-40) and the six logit tables of section 5 (for tests of the rounding logic)."""
        self = cls.__new__(cls)
        self.v, self.n = v, n
        self._setup(v, n, wl, wh, tables)
        return self

    def _setup(self, v: int, n: int, wl, wh, tb: dict) -> None:
        # (1) exact attention weights, rounded outward: wlf <= wl, whf >= wh; index [q, t, p]
        self.wl = np.empty((v, v, n), dtype=np.float64)
        self.wh = np.empty((v, v, n), dtype=np.float64)
        for q in range(v):
            for t in range(v):
                for p in range(n):
                    lo, hi = int(wl[q][t][p]), int(wh[q][t][p])
                    if not 0 <= lo <= hi:
                        raise ValueError(f"attention weight bounds [{lo}, {hi}] (need 0 <= lo <= hi)")
                    self.wl[q, t, p] = _round_down(lo)
                    self.wh[q, t, p] = _round_up(hi)
        # (2) logit tables, shifted outward below 2^50 if needed; exact in float64
        big = max(abs(int(x)) for k in ("EUl", "EUh", "EVl", "EVh", "PVl", "PVh") for row in tb[k] for x in row)
        self.shift = r = max(0, big.bit_length() - _TABLE_BITS)

        def lo(name):
            a = np.array([[_floor_shift(int(x), r) for x in row] for row in tb[name]], dtype=np.int64)
            return a.astype(np.float64)

        def hi(name):
            a = np.array([[_ceil_shift(int(x), r) for x in row] for row in tb[name]], dtype=np.int64)
            return a.astype(np.float64)

        self.EUl, self.EUh = lo("EUl"), hi("EUh")
        self.EVl, self.EVh = lo("EVl"), hi("EVh")
        self.PVl, self.PVh = lo("PVl"), hi("PVh")
        if not (np.all(self.EUl <= self.EUh) and np.all(self.EVl <= self.EVh) and np.all(self.PVl <= self.PVh)):
            raise ValueError("logit tables: a lower entry exceeds its upper entry")
        # (4) the a-posteriori factor c = 2^(k-53) with 2^k >= n + 1
        k = max(1, n.bit_length())
        assert 2**k >= n + 1
        self.c = 2.0 ** (k - 53)

    # ------------------------------------------------------------------ tables
    def q_block(self) -> int:
        """Queries per table block so that one table has at most _TABLE_ENTRIES entries."""
        return max(1, min(self.v, _TABLE_ENTRIES // (self.n * self.v * self.v)))

    def tables(self, m: int, q0: int, q1: int) -> _MaxTables:
        """The lower terms TL over q in [q0, q1) (q <= m), every p, t <= m, every y
        (section (3)); the upper terms are only needed for the few inputs that the cheap
        test leaves, and are built row by row in _upper_rows."""
        q1 = min(q1, m + 1)
        T = m + 1
        ym = (m + 1) % self.v
        # g = A[q, y] + C[p, y] + B[t, y]: integers below 2^53, so every float sum is exact
        Al = (self.EUl[q0:q1, m][:, None] - self.EUh[q0:q1, :])[:, None, None, :]
        Bl = (self.EVl[:T, m][:, None] - self.EVh[:T, :])[None, None, :, :]
        Cl = (self.PVl[:, m][:, None] - self.PVh[:, :])[None, :, None, :]
        wl = np.ascontiguousarray(self.wl[q0:q1, :T, :].transpose(0, 2, 1))[..., None]  # [q, p, t, 1]
        wh = np.ascontiguousarray(self.wh[q0:q1, :T, :].transpose(0, 2, 1))[..., None]
        TL = (Al + Cl) + Bl
        with np.errstate(over="ignore", invalid="ignore"):
            TL *= np.where(TL >= 0, wl, wh)  # RN(g * chosen weight); never NaN (see (3))
        TL[..., m] = TL[..., ym]  # column m duplicates a column y != m: min/max are over y != m
        ZL = TL.min(axis=-1)
        cAL = np.maximum(TL.max(axis=-1), -ZL) * self.c
        Ah = self.EUh[q0:q1, m][:, None] - self.EUl[q0:q1, :]
        Bh = self.EVh[:T, m][:, None] - self.EVl[:T, :]
        Ch = self.PVh[:, m][:, None] - self.PVl[:, :]
        return _MaxTables(m, q0, q1, TL, ZL, cAL, Ah, Bh, Ch, ym)

    # ------------------------------------------------------------------ boxes
    def boxes(self, m: int, q0: int, q1: int):
        """Boxes (q range, [t_0 range, ..., t_{n-2} range]) partitioning the inputs with
        maximum m and query q in [q0, min(q1, m+1)) (section (6))."""
        q1 = min(q1, m + 1)
        if q0 >= q1:
            return
        n1 = self.n - 1
        for j in range(n1):
            ranges = [(0, m)] * j + [(m, m + 1)] + [(0, m + 1)] * (n1 - j - 1)
            yield (q0, q1), ranges
        if q0 <= m < q1 and (n1 == 0 or m > 0):
            yield (m, m + 1), [(0, m)] * n1

    def _split(self, qr, ranges, chunk: int):
        """Split a box into sub-boxes of at most `chunk` inputs (or single rows)."""
        axes = [qr] + list(ranges)
        lens = [b - a for a, b in axes]
        if any(x <= 0 for x in lens):
            return
        # the first axis k such that the product of axes k+1.. fits; split axis k
        k = len(axes) - 1
        tail = 1
        while k > 0 and tail * lens[k] <= chunk:
            tail *= lens[k]
            k -= 1
        if tail * lens[k] <= chunk:
            yield axes
            return
        step = max(1, chunk // tail)
        for head in iproduct(*[range(a, b) for a, b in axes[:k]]):
            for s in range(axes[k][0], axes[k][1], step):
                yield [(h, h + 1) for h in head] + [(s, min(axes[k][1], s + step))] + axes[k + 1:]

    # ------------------------------------------------------------------ deciding
    def _decide_box(self, tb: _MaxTables, axes, record: bool = False):
        """Decide every input of one box. Returns (inputs, correct, wrong[, index, decision])."""
        n = self.n
        (qa, qb), tr = axes[0], axes[1:]
        shape = [qb - qa] + [b - a for a, b in tr]
        nd = len(shape)
        qi = np.arange(qa, qb) - tb.q0
        qv = np.arange(qa, qb)

        def bshape(axis, arr):
            s = [1] * nd
            s[axis] = arr.shape[0]
            return arr.reshape(s)

        # cheap test (5): S = Z_{n-1}(q) + sum_i Z_i(t_i), and the threshold c A = sum of the
        # c MA_p (c A is exact, and so is the float sum of the c MA_p: scaling by a power of two
        # commutes with rounding), broadcast over the box; the arrays grow axis by axis
        S = bshape(0, tb.ZL[qi, n - 1, qv])
        cA = bshape(0, tb.cAL[qi, n - 1, qv])
        for i, (a, b) in enumerate(tr):
            s = [shape[0]] + [1] * i + [b - a] + [1] * (nd - 2 - i)
            S = S + tb.ZL[qi, i, a:b].reshape(s)
            cA = cA + tb.cAL[qi, i, a:b].reshape(s)
        cheap = np.broadcast_to(S > cA, shape)
        total = int(np.prod(shape))
        correct = int(np.count_nonzero(cheap))
        wrong = 0
        dec = cheap.astype(np.int8) if record else None
        rest = np.nonzero(~cheap) if correct < total else ()
        if correct < total:
            qq = rest[0]
            toks = [rest[i + 1] + tr[i][0] for i in range(nd - 1)]
            d = self._decide_rows(tb, qq + (qa - tb.q0), qq + qa, toks)
            correct += int(np.count_nonzero(d == 1))
            wrong += int(np.count_nonzero(d == -1))
            if record:
                dec[rest] = d
        if not record:
            return total, correct, wrong
        grids = np.meshgrid(*[np.arange(a, b) for a, b in axes], indexing="ij")
        idx = np.zeros(shape, dtype=np.int64)
        for t in grids[1:]:
            idx = idx * self.v + t
        idx = idx * self.v + grids[0]
        return total, correct, wrong, idx.reshape(-1), dec.reshape(-1)

    def _upper_rows(self, tb: _MaxTables, qrow, q, p: int, t):
        """TU rows (R, v) for position p holding tokens t (section (3)), column m = column ym."""
        gh = (tb.Ah[qrow] + tb.Ch[p]) + tb.Bh[t]
        w = np.where(gh >= 0, self.wh[q, t, p][:, None], self.wl[q, t, p][:, None])
        with np.errstate(over="ignore", invalid="ignore"):
            TU = gh * w  # never NaN: +inf only with gh > 0 (see (3))
        TU[:, tb.m] = TU[:, tb.ym]
        return TU

    def _row_sums(self, tb: _MaxTables, qrow, q, toks):
        """Full evaluation (4) of inputs (toks..., q): S (R, v), thrL (R,), SU (R, v), thrU (R,).
        Column m of S and SU repeats column ym."""
        n = self.n
        S = tb.TL[qrow, n - 1, q]
        cA = tb.cAL[qrow, n - 1, q]
        SU = self._upper_rows(tb, qrow, q, n - 1, q)
        AU = np.maximum(SU.max(axis=1), -SU.min(axis=1))
        for i, t in enumerate(toks):
            S = S + tb.TL[qrow, i, t]
            cA = cA + tb.cAL[qrow, i, t]
            TU = self._upper_rows(tb, qrow, q, i, t)
            SU = SU + TU
            AU = AU + np.maximum(TU.max(axis=1), -TU.min(axis=1))
        return S, cA, SU, self.c * AU

    def _decide_rows(self, tb: _MaxTables, qrow, q, toks) -> np.ndarray:
        S, thr, SU, thrU = self._row_sums(tb, qrow, q, toks)
        ok = S.min(axis=1) > thr
        bad = SU.min(axis=1) <= -thrU
        return np.where(ok, 1, np.where(bad, -1, 0)).astype(np.int8)

    def run_unit(self, m: int, q0: int, q1: int, chunk: int = DEFAULT_CHUNK, record: bool = False):
        """Decide every input with maximum m and query in [q0, q1)."""
        tb = self.tables(m, q0, q1)
        tot = cor = wr = 0
        recs = []
        for qr, ranges in self.boxes(m, q0, q1):
            for axes in self._split(qr, ranges, chunk):
                r = self._decide_box(tb, axes, record)
                tot += r[0]
                cor += r[1]
                wr += r[2]
                if record:
                    recs.append((r[3], r[4]))
        return (tot, cor, wr, recs) if record else (tot, cor, wr)

    def units(self):
        """Work units (m, q0, q1), largest first (for load balancing)."""
        qb = self.q_block()
        out = [(m, q0, min(q0 + qb, m + 1)) for m in range(self.v) for q0 in range(0, m + 1, qb)]
        out.sort(key=lambda u: -self.unit_size(*u))
        return out

    def unit_size(self, m, q0, q1) -> int:
        q1 = min(q1, m + 1)
        n1 = self.n - 1
        size = (q1 - q0) * ((m + 1) ** n1 - m**n1)
        if q0 <= m < q1:
            size += m**n1
        return size

    # ------------------------------------------------------------------ public helpers
    def decide_all(self, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
        """Decision (+1 proven correct, -1 proven wrong, 0 undecided) of every input, in
        lexicographic order (index = sum_i t_i v^(n-1-i)); for tests on small models."""
        out = np.full(self.v**self.n, 2, dtype=np.int8)
        for u in self.units():
            for idx, dec in self.run_unit(*u, chunk=chunk, record=True)[3]:
                if np.any(out[idx] != 2):
                    raise AssertionError("an input was enumerated twice")
                out[idx] = dec
        if np.any(out == 2):
            raise AssertionError("an input was not enumerated")
        return out

    def margin_bounds(self, inputs) -> tuple[np.ndarray, np.ndarray, int]:
        """For inputs (N, n): (lo, hi, r) with float arrays (N, v) such that, for every
        y != max, ``lo[y] * 2^r <= low_y`` and ``up_y <= hi[y] * 2^r`` (the exact integers of
        section 5, in units of 2^-72); the column y = max is NaN. The full evaluation (4)."""
        x = np.asarray(inputs, dtype=np.int64).reshape(-1, self.n)
        lo = np.full((len(x), self.v), np.nan)
        hi = np.full((len(x), self.v), np.nan)
        mx = x.max(axis=1)
        for m in np.unique(mx):
            rows = np.nonzero(mx == m)[0]
            tb = self.tables(int(m), 0, int(m) + 1)
            q = x[rows, -1]
            S, thr, SU, thrU = self._row_sums(tb, q, q, [x[rows, i] for i in range(self.n - 1)])
            with np.errstate(invalid="ignore"):
                # S - thr rounded, then one step down: <= the exact S - thr (likewise up)
                lo[rows] = np.nextafter(S - thr[:, None], -np.inf)
                hi[rows] = np.nextafter(SU + thrU[:, None], np.inf)
            lo[rows, m] = np.nan
            hi[rows, m] = np.nan
        return lo, hi, self.shift


# ---------------------------------------------------------------------- driver
_WORKER: dict = {}


def _worker_run(u):
    be = _WORKER["backend"]
    return be.run_unit(*u, chunk=_WORKER["chunk"])


def brute_force_counts_fast(model: MaxOfKModel, hints: dict, chunk: int = DEFAULT_CHUNK, jobs: int = 1,
                            progress=None, backend: FastBackend | None = None) -> BruteForceResult:
    """Rigorous brute-force counts (proven correct / proven wrong) over all v^n inputs.

    Never claims more than the exact algorithm of docs/certificate-format.md, section 5
    with the same hints. `chunk` bounds the inputs per vectorised box, `jobs > 1` forks
    worker processes over (max token, query block) units; progress(done, total)."""
    be = backend or FastBackend(model, hints)
    total = be.v**be.n
    units = be.units()
    done = correct = wrong = 0
    if jobs is None or jobs < 1:
        jobs = os.cpu_count() or 1
    if jobs == 1 or len(units) == 1:
        results = (be.run_unit(*u, chunk=chunk) for u in units)
        pool = None
    else:
        import multiprocessing as mp
        _WORKER["backend"], _WORKER["chunk"] = be, chunk
        pool = mp.get_context("fork").Pool(min(jobs, len(units)))
        results = pool.imap_unordered(_worker_run, units)
    try:
        for tot, cor, wr in results:
            done += tot
            correct += cor
            wrong += wr
            if progress:
                progress(done, total)
    except BaseException:
        if pool is not None:
            pool.terminate()
        raise
    finally:
        if pool is not None:
            pool.close()
            pool.join()
            _WORKER.clear()
    if done != total:
        raise AssertionError(f"enumerated {done} inputs, expected {total}")
    return BruteForceResult(total, correct, wrong)
