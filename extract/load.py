"""Load a trained model file and turn it into :class:`ExactWeights`.

Supported files:
- ``.pt`` / ``.pth``: a ``state_dict``, or a dict holding one under ``"model"``
  (TransformerLens checkpoints), loaded with ``torch.load(weights_only=True)``
  so that no pickled code runs.
- ``.npz``: one array per TransformerLens parameter name.

Every problem is a :class:`ModelError` whose message names the tensor (and
index) at fault; callers print it as one line.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from .weights import ExactWeights, ModelError, TensorBits

__all__ = ["load_model", "weights_from_arrays", "ModelError"]

NAME_RE = re.compile(r"^[A-Za-z0-9_.]+$")
# Buffers that TransformerLens stores in state_dicts; they are not parameters.
_BUFFER_RE = re.compile(r"^blocks\.\d+\.attn\.(IGNORE|mask)$|^hook_|\.hook_")
_ATTN_RE = re.compile(r"^blocks\.(\d+)\.attn\.(W_Q|W_K|W_V|W_O|b_Q|b_K|b_V|b_O)$")
_KNOWN_TOP = {"embed.W_E", "pos_embed.W_pos", "unembed.W_U", "unembed.b_U"}
# Size limit for one tensor, so a file that declares a huge shape is refused early.
MAX_ELEMENTS = 50_000_000


def load_model(path: str | Path) -> ExactWeights:
    """Read a model file; return its exact weights (architecture inferred and validated)."""
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: no such file")
    if p.is_dir():
        raise ModelError(f"{p}: is a directory, not a model file")
    if p.stat().st_size == 0:
        raise ModelError(f"{p}: empty file")
    suffix = p.suffix.lower()
    if suffix in (".pt", ".pth", ".bin", ".ckpt"):
        arrays = _load_torch(p)
    elif suffix == ".npz":
        arrays = _load_npz(p)
    else:
        raise ModelError(f"{p}: unknown model file type {suffix!r} (expected .pt, .pth or .npz)")
    return weights_from_arrays(arrays, source=p.name)


def _load_torch(p: Path) -> dict[str, np.ndarray]:
    import pickle

    import torch

    if not zipfile.is_zipfile(p):
        raise ModelError(f"{p}: not a readable torch file (not a zip archive: truncated, corrupt, "
                         "or the legacy pre-1.6 format)")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # Not plain tensors (e.g. a TransformerLens checkpoint with a pickled config):
        # read it again with classes replaced by inert stubs, so no pickled code runs.
        from .safe_unpickle import load_restricted

        try:
            obj = load_restricted(p)
        except Exception as exc:  # noqa: BLE001 - any failure of a hostile file is a refusal
            raise ModelError(f"{p}: refused: not loadable without running pickled code "
                             f"({type(exc).__name__})") from None
    except MemoryError:
        raise ModelError(f"{p}: refused: loading it would exhaust memory") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file fails in torch's reader in many ways
        # (RuntimeError, EOFError, IndexError, struct.error, ... found by fuzzing): all a refusal
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{p}: not a readable torch file ({type(exc).__name__}: {msg[:200]})") from None
    if isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    elif isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    from .safe_unpickle import Stub

    if isinstance(obj, Stub):
        raise ModelError(f"{p}: refused: holds a pickled {obj.qualname} object, which would need its code "
                         "to load; save model.state_dict() instead")
    if not isinstance(obj, Mapping):
        raise ModelError(f"{p}: holds a {type(obj).__name__}, not a state_dict")
    out: dict[str, np.ndarray] = {}
    for name, t in obj.items():
        if not isinstance(name, str):
            raise ModelError(f"{p}: state_dict key {name!r} is not a string")
        if isinstance(t, Stub):
            raise ModelError(f"{p}: refused: entry {name!r} is a pickled {t.qualname}, which would need "
                             "code execution to load")
        if not isinstance(t, torch.Tensor):
            raise ModelError(f"{p}: entry {name!r} is a {type(t).__name__}, not a tensor")
        if t.is_floating_point() and t.dtype not in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
            raise ModelError(f"tensor {name}: unsupported dtype {t.dtype}")
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.to(torch.float32)  # exact: every half/bfloat16 value is a float32
        out[name] = t.detach().cpu().numpy()
    return out


def _declared_elements(p: Path) -> dict[str, int]:
    """Element counts that each array of an .npz declares in its header, read before any
    data is allocated (a hostile header may declare terabytes)."""
    out = {}
    with zipfile.ZipFile(p) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, _ = read(f)
            count = 1
            for s in shape:
                count *= int(s)
            out[info.filename[:-4]] = count
    return out


def _load_npz(p: Path) -> dict[str, np.ndarray]:
    try:
        for name, count in _declared_elements(p).items():
            if count > MAX_ELEMENTS:
                raise ModelError(f"tensor {name}: declares {count} elements, over the limit of {MAX_ELEMENTS}")
        with np.load(p, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except MemoryError:
        raise ModelError(f"{p}: refused: a tensor is too large to load") from None
    except ValueError as exc:
        raise ModelError(f"{p}: refused: {str(exc).splitlines()[0][:200]}") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{p}: not a readable .npz file ({msg[:200]})") from None


def _to_float32_bits(name: str, a: np.ndarray) -> np.ndarray:
    """uint32 bit patterns of a float array; refuses values that are not exact float32."""
    if a.dtype.kind != "f":
        raise ModelError(f"tensor {name}: dtype {a.dtype} is not a floating-point type")
    if a.size > MAX_ELEMENTS:
        raise ModelError(f"tensor {name}: {a.size} elements exceeds the limit of {MAX_ELEMENTS}")
    bad = ~np.isfinite(a)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ModelError(f"tensor {name}: non-finite value {a[idx]} at index {list(idx)}")
    if a.dtype == np.float32:
        f32 = a
    else:
        f32 = a.astype(np.float32)
        if a.dtype.itemsize > 4:
            lossy = f32.astype(a.dtype) != a
            if lossy.any():
                idx = tuple(int(i) for i in np.argwhere(lossy)[0])
                raise ModelError(
                    f"tensor {name}: value {a[idx]!r} at index {list(idx)} is not exactly a float32 "
                    "(mechcert certifies float32 models)"
                )
        bad = ~np.isfinite(f32)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ModelError(f"tensor {name}: value {a[idx]!r} at index {list(idx)} overflows float32")
    bits = np.ascontiguousarray(f32, dtype=np.float32).view(np.uint32).copy()
    bits[bits == 0x80000000] = 0  # -0.0 has the exact value 0
    return bits


def weights_from_arrays(arrays: Mapping[str, np.ndarray], source: str = "<arrays>") -> ExactWeights:
    """Validate names and shapes, infer the architecture, convert to exact weights."""
    tensors: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise ModelError(f"{source}: tensor name {name!r} is not a TransformerLens parameter name")
        if _BUFFER_RE.search(name):
            continue
        if not (name in _KNOWN_TOP or _ATTN_RE.match(name)):
            what = "LayerNorm" if ".ln" in name or name.startswith("ln_") else (
                "MLP" if ".mlp." in name else "unknown")
            raise ModelError(f"tensor {name}: unsupported {what} parameter (mechcert supports "
                             "attention-only transformers without LayerNorm)")
        tensors[name] = np.asarray(a)
    config = infer_config(tensors)
    out = [TensorBits(name, tuple(int(s) for s in tensors[name].shape),
                      tuple(int(b) for b in _to_float32_bits(name, tensors[name]).reshape(-1)))
           for name in sorted(tensors)]
    return ExactWeights(config=config, tensors=out, source=source)


def _shape(tensors, name, expected, what):
    if name not in tensors:
        raise ModelError(f"missing tensor {name} ({what})")
    got = tuple(tensors[name].shape)
    if len(got) != len(expected) or any(e is not None and g != e for g, e in zip(got, expected)):
        exp = "(" + ", ".join("?" if e is None else str(e) for e in expected) + ")"
        raise ModelError(f"tensor {name}: shape {got}, expected {exp} ({what})")
    return got


def infer_config(tensors: Mapping[str, np.ndarray]) -> dict:
    """d_vocab, n_ctx, d_model, d_head, n_heads, n_layers from the shapes; checks consistency."""
    v, d = _shape(tensors, "embed.W_E", (None, None), "d_vocab x d_model")
    n, _ = _shape(tensors, "pos_embed.W_pos", (None, d), "n_ctx x d_model")
    _, v_out = _shape(tensors, "unembed.W_U", (d, None), "d_model x d_vocab_out")
    layers = sorted({int(m.group(1)) for k in tensors if (m := _ATTN_RE.match(k))})
    if layers != list(range(len(layers))):
        raise ModelError(f"attention blocks {layers} are not numbered 0..{len(layers) - 1}")
    if not layers:
        raise ModelError("no attention block (blocks.0.attn.W_Q missing)")
    h = heads = None
    for layer in layers:
        pre = f"blocks.{layer}.attn."
        heads, _, h = _shape(tensors, pre + "W_Q", (None, d, None), "n_heads x d_model x d_head")
        _shape(tensors, pre + "W_K", (heads, d, h), "n_heads x d_model x d_head")
        _shape(tensors, pre + "W_V", (heads, d, h), "n_heads x d_model x d_head")
        _shape(tensors, pre + "W_O", (heads, h, d), "n_heads x d_head x d_model")
        for b in ("b_Q", "b_K", "b_V"):
            if pre + b in tensors:
                _shape(tensors, pre + b, (heads, h), "n_heads x d_head")
        if pre + "b_O" in tensors:
            _shape(tensors, pre + "b_O", (d,), "d_model")
    if "unembed.b_U" in tensors:
        _shape(tensors, "unembed.b_U", (v_out,), "d_vocab_out")
    for k, s in (("d_vocab", v), ("n_ctx", n), ("d_model", d), ("d_head", h), ("n_heads", heads), ("d_vocab_out", v_out)):
        if s < 1:
            raise ModelError(f"{k} = {s}: every dimension must be at least 1")
    return {"d_vocab": v, "d_vocab_out": v_out, "n_ctx": n, "d_model": d, "d_head": h,
            "n_heads": heads, "n_layers": len(layers)}
