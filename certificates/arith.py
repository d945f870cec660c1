"""Exact integer helpers with explicit rounding direction (docs/certificate-format.md)."""
from __future__ import annotations

__all__ = ["shift_floor", "shift_ceil", "ceil_div", "ceil_shift"]


def shift_floor(z: int, k: int) -> int:
    """floor(z * 2^k)."""
    return z << k if k >= 0 else z >> -k


def shift_ceil(z: int, k: int) -> int:
    """ceil(z * 2^k)."""
    return z << k if k >= 0 else -((-z) >> -k)


def ceil_shift(z: int, k: int) -> int:
    """ceil(z / 2^k) for k >= 0."""
    return -((-z) >> k)


def ceil_div(z: int, c: int) -> int:
    """ceil(z / c) for c > 0."""
    return -((-z) // c)
