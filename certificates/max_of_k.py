"""Max-of-K: model checks, the exact decomposition, hints and rigorous logits.

Shared by every Max-of-K strategy. Matrices are exact integers (numpy object
arrays of Python ints) at the scales of docs/certificate-format.md, section 2.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from mechcert.extract import ExactWeights, ModelError

from .arith import shift_ceil, shift_floor
from .backend_mpmath import MpmathBackend

__all__ = ["MaxOfKModel", "PARAMETERS", "validate_max_of_k"]

# Constants of certificate format version 1 (docs/certificate-format.md, section 3).
PARAMETERS = {"sqrt_bits": 64, "hint_bits": 40, "exp_bits": 64, "taylor_n": 16, "logit_bits": 32}

_BIASES = ("blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O", "unembed.b_U")


def validate_max_of_k(w: ExactWeights) -> None:
    """Refuse models that the Max-of-K strategies do not cover (clear one-line errors)."""
    c = w.config
    if c["n_layers"] != 1:
        raise ModelError(f"max-of-k needs a 1-layer model; this one has {c['n_layers']} layers")
    if c["n_heads"] != 1:
        raise ModelError(f"max-of-k needs 1 attention head; this model has {c['n_heads']}")
    if c["d_vocab_out"] != c["d_vocab"]:
        raise ModelError(f"max-of-k needs d_vocab_out = d_vocab; got {c['d_vocab_out']} and {c['d_vocab']}")
    if c["n_ctx"] < 1 or c["d_vocab"] < 2:
        raise ModelError("max-of-k needs n_ctx >= 1 and d_vocab >= 2")
    for b in _BIASES:
        if w.has(b) and not w.is_all_zero(b):
            t = w.tensor(b)
            i = next(i for i, x in enumerate(t.bits) if x != 0)
            idx = list(np.unravel_index(i, t.shape))
            raise ModelError(f"tensor {b}: nonzero bias at index {[int(j) for j in idx]} "
                             "(the max-of-k strategies assume zero biases)")


def _idot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact matrix product of object arrays of Python ints."""
    return np.dot(a, b)


@dataclass
class MaxOfKModel:
    """The exact quantities every Max-of-K proof uses."""

    weights: ExactWeights

    def __post_init__(self):
        validate_max_of_k(self.weights)
        w = self.weights
        c = w.config
        self.v, self.n, self.d, self.h = c["d_vocab"], c["n_ctx"], c["d_model"], c["d_head"]
        self.e0 = w.e0
        E = w.integers("embed.W_E")
        P = w.integers("pos_embed.W_pos")
        Q = w.integers("blocks.0.attn.W_Q")[0]
        K = w.integers("blocks.0.attn.W_K")[0]
        V = w.integers("blocks.0.attn.W_V")[0]
        O = w.integers("blocks.0.attn.W_O")[0]
        U = w.integers("unembed.W_U")
        Eq = E + P[self.n - 1]
        QK = _idot(Q, K.T)
        OU = _idot(O, U)
        VOU = _idot(V, OU)
        self.X = _idot(Eq, Q)  # scale 2^(2 e0): EQKE = X Y^T (the rank-one strategies use X, Y)
        self.Y = _idot(E, K)  # scale 2^(2 e0)
        self.EQKE = _idot(_idot(Eq, QK), E.T)  # scale 2^(4 e0)
        self.EQKP = _idot(_idot(Eq, QK), P.T)  # scale 2^(4 e0)
        self.EUPU = _idot(Eq, U)  # scale 2^(2 e0)
        self.EVOU = _idot(E, VOU)  # scale 2^(4 e0)
        self.PVOU = _idot(P, VOU)  # scale 2^(4 e0)

    # -- hints ------------------------------------------------------------
    def exp_arguments(self, D: int, sqrt_bounds: tuple[int, int]) -> tuple[int, int, int, int]:
        """(a_lo, a_hi, c, S): the exponent of a score difference D*2^(4 e0) lies in
        [a_lo, a_hi] / (c 2^S) (docs, section 4)."""
        r_lo, r_hi = sqrt_bounds
        S = PARAMETERS["sqrt_bits"] - 4 * self.e0
        if D >= 0:
            return D * r_lo, D * r_hi, self.h, S
        return D * r_hi, D * r_lo, self.h, S

    def hints(self, backend: MpmathBackend | None = None, progress=None, token_intervals=None) -> dict:
        """sqrt, token and position hints. token_intervals[q][t] = (D_lo, D_hi) encloses
        EQKE[q,t] - EQKE[q,q] (section 8.1); by default the exact difference, twice (section 4)."""
        backend = backend or MpmathBackend()
        bits = PARAMETERS["hint_bits"]
        sq = backend.sqrt_bounds(self.h, PARAMETERS["sqrt_bits"])

        def hint(D_lo, D_hi=None):  # a_lo from D_lo, a_hi from D_hi (exp is increasing)
            a_lo = self.exp_arguments(int(D_lo), sq)[0]
            _, a_hi, c, s = self.exp_arguments(int(D_lo if D_hi is None else D_hi), sq)
            return list(backend.exp_hint(a_lo, a_hi, c, s, bits))

        tok = []
        for q in range(self.v):
            if token_intervals is None:
                tok.append([hint(self.EQKE[q, t] - self.EQKE[q, q]) for t in range(self.v)])
            else:
                tok.append([hint(*token_intervals[q][t]) for t in range(self.v)])
            if progress:
                progress(q + 1, self.v)
        pos = [[hint(self.EQKP[q, p] - self.EQKP[q, self.n - 1]) for p in range(self.n)] for q in range(self.v)]
        return {"sqrt_d_head": list(sq), "attn_token": tok, "attn_pos": pos}

    # -- logit tables -----------------------------------------------------
    def logit_tables(self) -> dict[str, list[list[int]]]:
        """Outward-rounded tables at scale 2^-32 (docs, section 5)."""
        g = PARAMETERS["logit_bits"]

        def rnd(M, sc):
            lo = [[shift_floor(int(x), sc + g) for x in row] for row in M]
            hi = [[shift_ceil(int(x), sc + g) for x in row] for row in M]
            return lo, hi

        out = {}
        out["EUl"], out["EUh"] = rnd(self.EUPU, 2 * self.e0)
        out["EVl"], out["EVh"] = rnd(self.EVOU, 4 * self.e0)
        out["PVl"], out["PVh"] = rnd(self.PVOU, 4 * self.e0)
        return out

    # -- rigorous evaluation of one input (reference semantics) ----------
    def rigorous_logits(self, tokens, backend: MpmathBackend | None = None) -> list[tuple[Fraction, Fraction]]:
        """Enclosures [lo, hi] of the exact real logits at the last position."""
        backend = backend or MpmathBackend()
        iv = backend._ctx()
        n = self.n
        q = int(tokens[-1])
        s4 = Fraction(2) ** (4 * self.e0)
        s2 = Fraction(2) ** (2 * self.e0)
        sqrt_h = iv.sqrt(iv.mpf(self.h))
        scores = [backend.interval((int(self.EQKE[q, int(t)]) + int(self.EQKP[q, p])) * s4) / sqrt_h
                  for p, t in enumerate(tokens)]
        ref = scores[-1]
        ws = [iv.exp(s - ref) for s in scores]
        total = sum(ws[1:], ws[0])
        out = []
        for y in range(self.v):
            acc = backend.interval(int(self.EUPU[q, y]) * s2)
            for p, t in enumerate(tokens):
                val = backend.interval((int(self.EVOU[int(t), y]) + int(self.PVOU[p, y])) * s4)
                acc = acc + (ws[p] / total) * val
            out.append(backend.endpoints(acc))
        return out
