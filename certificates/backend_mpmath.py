"""The reference rigorous backend: mpmath interval arithmetic.

Every result is an interval that contains the exact real value: mpmath's
``iv`` context rounds each endpoint outward. Conversions to the certificate's
integers round outward again (floor for lower ends, ceil for upper ends), and
exp hints get extra slack so that the checkers' own, cheaper exp bounds can
verify them (docs/certificate-format.md, section 4).
"""
from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

import mpmath

__all__ = ["MpmathBackend"]


def _raw_frac(t) -> Fraction:
    """A raw libmp number (sign, man, exp, bc), exactly; infinities and NaN refused."""
    sign, man, exp, bc = t
    if man == 0 and (exp != 0 or bc != 0) or bc < 0:
        raise ArithmeticError("interval endpoint is infinite or NaN")
    val = Fraction(int(man)) * (Fraction(2) ** int(exp))
    return -val if sign else val


def _endpoints(x) -> tuple[Fraction, Fraction]:
    """Exact endpoints of an mpmath iv interval (read from the raw pair, never via
    float conversion, which would round)."""
    lo, hi = x._mpi_
    return _raw_frac(lo), _raw_frac(hi)


class MpmathBackend:
    name = "mpmath-iv"

    def __init__(self, prec: int = 320):
        self.iv = mpmath.iv
        self.prec = prec

    def _ctx(self):
        ctx = mpmath.iv
        ctx.prec = self.prec
        return ctx

    def interval(self, value: Fraction | int):
        """An interval containing an exact rational."""
        iv = self._ctx()
        value = Fraction(value)
        return iv.mpf(value.numerator) / iv.mpf(value.denominator)

    @staticmethod
    def endpoints(x) -> tuple[Fraction, Fraction]:
        return _endpoints(x)

    def sqrt_bounds(self, d: int, bits: int) -> tuple[int, int]:
        """[R_lo, R_hi] with R_lo/2^bits <= sqrt(d) <= R_hi/2^bits."""
        iv = self._ctx()
        lo, hi = self.endpoints(iv.sqrt(iv.mpf(d)))
        return floor(lo * 2**bits), ceil(hi * 2**bits)

    def exp_hint(self, a_lo: int, a_hi: int, c: int, s: int, hint_bits: int, rel_slack_bits: int = 24) -> tuple[int, int]:
        """[L, H] with L/2^hint_bits <= exp(a_lo/(c 2^s)) and exp(a_hi/(c 2^s)) <= H/2^hint_bits,
        widened by a relative 2^-rel_slack_bits and two units, so a checker whose own
        exp bounds are tighter than that accepts it."""
        if a_lo == 0 and a_hi == 0:
            return 1 << hint_bits, 1 << hint_bits
        iv = self._ctx()
        den = iv.mpf(c) * iv.mpf(2) ** s
        lo = iv.exp(iv.mpf(a_lo) / den)
        hi = iv.exp(iv.mpf(a_hi) / den)
        l_exact = _endpoints(lo)[0] * 2**hint_bits * (1 - Fraction(1, 2**rel_slack_bits))
        h_exact = _endpoints(hi)[1] * 2**hint_bits * (1 + Fraction(1, 2**rel_slack_bits))
        return max(0, floor(l_exact) - 1), ceil(h_exact) + 1

    def exp(self, x):
        return self._ctx().exp(x)
