"""Exact values of IEEE-754 binary32 numbers.

Every finite float32 is a dyadic rational ``(-1)^s * M * 2^e`` with an integer
mantissa ``M < 2^24`` and ``-149 <= e <= 104``. This module converts in both
directions with no rounding, so a weight's exact real value is what the
certificates reason about.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Dyadic", "decode_bits", "encode_bits", "float32_bits", "canonical_bits", "is_finite_bits"]

_SIGN = 0x80000000


@dataclass(frozen=True)
class Dyadic:
    """The exact value ``mantissa * 2**exponent`` (mantissa may be negative or zero)."""

    mantissa: int
    exponent: int

    def to_fraction(self) -> Fraction:
        if self.exponent >= 0:
            return Fraction(self.mantissa << self.exponent)
        return Fraction(self.mantissa, 1 << -self.exponent)

    def scaled(self, e0: int) -> int:
        """The integer I with value = I * 2^e0 (requires exponent >= e0 or mantissa 0)."""
        if self.mantissa == 0:
            return 0
        if self.exponent < e0:
            raise ValueError(f"{self} is not a multiple of 2^{e0}")
        return self.mantissa << (self.exponent - e0)


def is_finite_bits(bits: int) -> bool:
    return ((bits >> 23) & 0xFF) != 0xFF


def decode_bits(bits: int) -> Dyadic:
    """The exact value of a binary32 bit pattern (0 <= bits < 2^32). NaN/Inf raise ValueError."""
    if not 0 <= bits < 1 << 32:
        raise ValueError(f"not a 32-bit pattern: {bits}")
    sign = bits >> 31
    ex = (bits >> 23) & 0xFF
    man = bits & 0x7FFFFF
    if ex == 0xFF:
        raise ValueError("NaN" if man else "infinity")
    if ex == 0:
        m, e = man, -149
    else:
        m, e = man | 0x800000, ex - 150
    return Dyadic(-m if sign else m, e)


def encode_bits(value: Dyadic) -> int:
    """The bit pattern of an exact float32 value (raises ValueError if not representable)."""
    m, e = value.mantissa, value.exponent
    if m == 0:
        return 0
    sign = _SIGN if m < 0 else 0
    m = abs(m)
    while m % 2 == 0:  # normalise: odd mantissa
        m //= 2
        e += 1
    top = m.bit_length() - 1 + e  # exponent of the leading bit
    if top > 127:
        raise ValueError("too large for float32")
    if top >= -126:  # normal
        shift = 23 - (m.bit_length() - 1)
        if shift < 0:
            raise ValueError("more than 24 significant bits")
        return sign | ((top + 127) << 23) | ((m << shift) & 0x7FFFFF)
    # subnormal: value = man * 2^-149
    if e < -149:
        raise ValueError("below the float32 subnormal grid")
    return sign | (m << (e + 149))


def float32_bits(x: float) -> int:
    """Bit pattern of the float32 nearest to x (x itself if it is a float32)."""
    return struct.unpack(">I", struct.pack(">f", x))[0]


def canonical_bits(bits: int) -> int:
    """Negative zero is stored as +0: the exact value is the same."""
    return 0 if bits == _SIGN else bits
