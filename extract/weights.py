"""Exact weights: float32 bit patterns, their exact values, and the model hash.

The hash is SHA-256 over a canonical byte string (docs/certificate-format.md,
section 1): the same model gives the same hash whether it came from a .pt or a
.npz file, and whatever the order of its tensors.
"""
from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .dyadic import Dyadic, decode_bits

__all__ = ["ModelError", "TensorBits", "ExactWeights", "WEIGHTS_FORMAT", "WEIGHTS_VERSION"]

WEIGHTS_FORMAT = "mechcert-weights"
WEIGHTS_VERSION = 1
_HASH_HEADER = b"mechcert-weights-v1\n"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.]+$")


class ModelError(ValueError):
    """A model file or weights file that mechcert refuses; the message is one line."""


@dataclass(frozen=True)
class TensorBits:
    name: str
    shape: tuple[int, ...]
    bits: tuple[int, ...]  # canonical float32 bit patterns, row-major (no -0, no NaN/Inf)

    def dyadics(self) -> list[Dyadic]:
        return [decode_bits(b) for b in self.bits]

    def as_float64(self) -> np.ndarray:
        """The exact values as float64 (every float32 is exactly a float64)."""
        arr = np.array(self.bits, dtype=np.uint32).view(np.float32).astype(np.float64)
        return arr.reshape(self.shape)


@dataclass
class ExactWeights:
    """A model's parameters, exactly. ``config`` holds the inferred architecture."""

    config: dict
    tensors: list[TensorBits]
    source: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self.tensors = sorted(self.tensors, key=lambda t: t.name.encode())
        for t in self.tensors:
            if not _NAME_RE.match(t.name):
                raise ModelError(f"tensor name {t.name!r} is not allowed")
            if len(t.bits) != _prod(t.shape):
                raise ModelError(f"tensor {t.name}: {len(t.bits)} values for shape {t.shape}")

    # -- identity ---------------------------------------------------------
    def canonical_bytes(self) -> bytes:
        parts = [_HASH_HEADER]
        for t in self.tensors:
            name = t.name.encode("ascii")
            parts.append(struct.pack(">I", len(name)) + name)
            parts.append(struct.pack(">I", len(t.shape)) + b"".join(struct.pack(">I", s) for s in t.shape))
            parts.append(np.array(t.bits, dtype=">u4").tobytes())
        return b"".join(parts)

    @property
    def sha256(self) -> str:
        if "sha" not in self._cache:
            self._cache["sha"] = hashlib.sha256(self.canonical_bytes()).hexdigest()
        return self._cache["sha"]

    # -- exact values -----------------------------------------------------
    def tensor(self, name: str) -> TensorBits:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(t.name == name for t in self.tensors)

    @property
    def e0(self) -> int:
        """Global scale: every weight is an integer times 2^e0 (docs, section 1)."""
        if "e0" not in self._cache:
            e = 0
            for t in self.tensors:
                for d in t.dyadics():
                    if d.mantissa != 0:
                        e = min(e, d.exponent)
            self._cache["e0"] = e
        return self._cache["e0"]

    def integers(self, name: str) -> np.ndarray:
        """The tensor as an object array of Python ints I with value = I * 2^e0."""
        key = ("int", name)
        if key not in self._cache:
            t = self.tensor(name)
            e0 = self.e0
            arr = np.empty(len(t.bits), dtype=object)
            arr[:] = [d.scaled(e0) for d in t.dyadics()]
            self._cache[key] = arr.reshape(t.shape)
        return self._cache[key]

    def fraction(self, name: str, index: tuple[int, ...]) -> Fraction:
        t = self.tensor(name)
        flat = int(np.ravel_multi_index(index, t.shape))
        return decode_bits(t.bits[flat]).to_fraction()

    def float64(self, name: str) -> np.ndarray:
        return self.tensor(name).as_float64()

    def is_all_zero(self, name: str) -> bool:
        return all(b == 0 for b in self.tensor(name).bits)

    # -- files ------------------------------------------------------------
    def to_json_dict(self) -> dict:
        return {
            "format": WEIGHTS_FORMAT,
            "version": WEIGHTS_VERSION,
            "sha256": self.sha256,
            "config": dict(self.config),
            "tensors": [
                {"name": t.name, "shape": list(t.shape),
                 "float32_hex": np.array(t.bits, dtype=">u4").tobytes().hex()}
                for t in self.tensors
            ],
        }

    @classmethod
    def from_json_dict(cls, data: dict) -> "ExactWeights":
        from .load import infer_config  # local: load imports this module

        if not isinstance(data, dict) or data.get("format") != WEIGHTS_FORMAT or data.get("version") != WEIGHTS_VERSION:
            raise ModelError("not a mechcert-weights version 1 file")
        tensors = []
        for entry in data.get("tensors", []):
            name, shape, hexs = entry.get("name"), entry.get("shape"), entry.get("float32_hex")
            if not isinstance(name, str) or not isinstance(shape, list) or not isinstance(hexs, str):
                raise ModelError("malformed tensor entry in weights file")
            raw = bytes.fromhex(hexs)
            bits = tuple(int(b) for b in np.frombuffer(raw, dtype=">u4"))
            for i, b in enumerate(bits):
                if (b >> 23) & 0xFF == 0xFF:
                    raise ModelError(f"tensor {name}: NaN or Inf bit pattern at flat index {i}")
                if b == 0x80000000:
                    raise ModelError(f"tensor {name}: non-canonical negative zero at flat index {i}")
            tensors.append(TensorBits(name, tuple(shape), bits))
        arrays = {t.name: np.zeros(t.shape, dtype=np.float32) for t in tensors}
        config = infer_config(arrays)
        w = cls(config=config, tensors=tensors, source="weights.json")
        if data.get("sha256") != w.sha256:
            raise ModelError("weights file: stated sha256 does not match its contents")
        return w

    def write_json(self, path) -> None:
        from mechcert.certificates.io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json_dict(), indent=1) + "\n")


def _prod(shape) -> int:
    out = 1
    for s in shape:
        out *= s
    return out
