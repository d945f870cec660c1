"""Brute force for Max-of-K: every input, decided with exact integer arithmetic.

The decision for one input is docs/certificate-format.md, section 5: with the
verified exp hints and the outward-rounded logit tables, an input is proven
correct when every wrong logit is provably below the max's logit, and proven
wrong when some wrong logit is provably at or above it. The two counts give a
lower and an upper bound on the accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np

from .arith import ceil_shift
from .max_of_k import PARAMETERS, MaxOfKModel

__all__ = ["BACKENDS", "BruteForceResult", "brute_force_counts", "decide_input"]


@dataclass
class BruteForceResult:
    inputs: int
    proven_correct: int
    proven_wrong: int

    @property
    def undecided(self) -> int:
        return self.inputs - self.proven_correct - self.proven_wrong


class _Tables:
    def __init__(self, model: MaxOfKModel, hints: dict):
        t = model.logit_tables()
        obj = lambda rows: [np.array(r, dtype=object) for r in rows]  # noqa: E731
        self.EUl, self.EUh = obj(t["EUl"]), obj(t["EUh"])
        self.EVl, self.EVh = obj(t["EVl"]), obj(t["EVh"])
        self.PVl, self.PVh = obj(t["PVl"]), obj(t["PVh"])
        self.tok = hints["attn_token"]
        self.pos = hints["attn_pos"]
        self.hb = PARAMETERS["hint_bits"]


def decide_input(tb: _Tables, x: tuple[int, ...]) -> int:
    """+1 proven correct, -1 proven wrong, 0 undecided."""
    q, m = x[-1], max(x)
    low = 0
    up = 0
    for p, t in enumerate(x):
        Lt, Ht = tb.tok[q][t]
        Lp, Hp = tb.pos[q][p]
        wl = (Lt * Lp) >> tb.hb
        wh = ceil_shift(Ht * Hp, tb.hb)
        cl = tb.EUl[q][m] + tb.EVl[t][m] + tb.PVl[p][m]
        ch = tb.EUh[q][m] + tb.EVh[t][m] + tb.PVh[p][m]
        gl = cl - (tb.EUh[q] + tb.EVh[t] + tb.PVh[p])
        gh = ch - (tb.EUl[q] + tb.EVl[t] + tb.PVl[p])
        low = low + np.where(gl >= 0, wl * gl, wh * gl)
        up = up + np.where(gh >= 0, wh * gh, wl * gh)
    others = np.arange(len(low)) != m
    if all(low[others] > 0):
        return 1
    if any(up[others] <= 0):
        return -1
    return 0


BACKENDS = ("exact", "fast")


def brute_force_counts(model: MaxOfKModel, hints: dict, progress=None, backend: str | None = None,
                       jobs: int = 1) -> BruteForceResult:
    """Counts of section 5. backend None or "exact": this module's pure-Python integer
    decision (the default). "fast": certificates.backend_fast (vectorised float64 with
    outward error bounds, never more decided than the exact decision; `jobs` processes)."""
    if backend not in (None, "exact"):
        if backend != "fast":
            raise ValueError(f"unknown brute-force backend {backend!r} (known: {', '.join(BACKENDS)})")
        from .backend_fast import brute_force_counts_fast

        return brute_force_counts_fast(model, hints, jobs=jobs, progress=progress)
    tb = _Tables(model, hints)
    v, n = model.v, model.n
    total = v**n
    correct = wrong = 0
    step = max(1, total // 200)
    for i, x in enumerate(product(range(v), repeat=n)):
        r = decide_input(tb, x)
        correct += r == 1
        wrong += r == -1
        if progress and (i + 1) % step == 0:
            progress(i + 1, total)
    if progress:
        progress(total, total)
    return BruteForceResult(total, int(correct), int(wrong))
