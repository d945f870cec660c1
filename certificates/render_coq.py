"""Render a certificate's Coq project (CERT_DIR/coq/) from certificate.json and weights.json.

The Coq project is the static library ``MechCert.v`` (copied verbatim: the
checking algorithm of docs/certificate-format.md) plus a generated
``Certificate.v`` that holds only data and one theorem, a ``_CoqProject`` and
a ``Makefile`` whose ``make check`` fails unless Coq accepts the theorem with
no axioms.

Nothing here is trusted: Coq recomputes the hash, the derived matrices, every
hint and every count. This module only has to be *safe*: the templates receive
integers, validated tensor names and hex digests, nothing else, so no field of
a certificate can inject Coq text. Anything else is refused with ValueError.
"""
from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import jinja2

from .io import atomic_write_text

__all__ = ["render_coq", "coq_context", "COQ_FILES", "CHUNK", "THEOREM_NAMES"]

# Files of a rendered project: output name -> template (or static file) in mechcert.coq_templates.
COQ_FILES = {
    "MechCert.v": "MechCert.v",
    "Certificate.v": "Certificate.v.j2",
    "_CoqProject": "_CoqProject.j2",
    "Makefile": "Makefile.j2",
}

CHUNK = 1000  # at most this many elements in one list literal (longer ones overflow Coq's stack)

# The theorem of each strategy (docs/certificate-format.md: section 5 brute force, section 7 cubic).
THEOREM_NAMES = {"brute-force": "max_of_k_brute_force_certificate", "cubic": "max_of_k_cubic_certificate"}

_NAME_RE = re.compile(r"[A-Za-z0-9_.]+")  # always used with fullmatch (no "$": it allows a final newline)
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_HEX_RE = re.compile(r"(?:[0-9a-f]{8})*")
_CONFIG_KEYS = ("d_vocab", "d_vocab_out", "n_ctx", "d_model", "d_head", "n_heads", "n_layers")
_PARAM_KEYS = ("sqrt_bits", "hint_bits", "exp_bits", "taylor_n", "logit_bits")


# -- validation ------------------------------------------------------------
def _int(x, what: str) -> int:
    """An int and nothing else (bool, float, str refused)."""
    if type(x) is not int:
        raise ValueError(f"{what}: expected an integer, got {type(x).__name__}")
    return x


def _field(d, key: str, what: str):
    if not isinstance(d, dict) or key not in d:
        raise ValueError(f"{what}: missing field {key!r}")
    return d[key]


def _int_list(x, what: str) -> list[int]:
    if not isinstance(x, list):
        raise ValueError(f"{what}: expected a list")
    return [_int(v, f"{what}[{i}]") for i, v in enumerate(x)]


def _pair(x, what: str) -> tuple[int, int]:
    if not isinstance(x, list) or len(x) != 2:
        raise ValueError(f"{what}: expected a pair [lo, hi]")
    return _int(x[0], f"{what}[0]"), _int(x[1], f"{what}[1]")


def _pair_table(x, what: str) -> list[list[tuple[int, int]]]:
    if not isinstance(x, list):
        raise ValueError(f"{what}: expected a list of rows")
    out = []
    for i, row in enumerate(x):
        if not isinstance(row, list):
            raise ValueError(f"{what}[{i}]: expected a list")
        out.append([_pair(p, f"{what}[{i}][{j}]") for j, p in enumerate(row)])
    return out


def _sha(x, what: str) -> str:
    if not isinstance(x, str) or not _SHA_RE.fullmatch(x):
        raise ValueError(f"{what}: expected 64 lowercase hex digits")
    return x


def _tensor(entry, index: int) -> dict:
    what = f"weights.json tensors[{index}]"
    name = _field(entry, "name", what)
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"{what}: tensor name {name!r} does not match [A-Za-z0-9_.]+")
    shape = _int_list(_field(entry, "shape", what), f"tensor {name} shape")
    hexs = _field(entry, "float32_hex", what)
    if not isinstance(hexs, str) or not _HEX_RE.fullmatch(hexs):
        raise ValueError(f"tensor {name}: float32_hex must be lowercase hex, 8 digits per value")
    bits = [int(hexs[i:i + 8], 16) for i in range(0, len(hexs), 8)]
    chunks = [bits[i:i + CHUNK] for i in range(0, len(bits), CHUNK)]
    return {"index": index, "name": name, "shape": shape, "chunks": chunks}


def _row_chunks(table: list[list], limit: int = CHUNK) -> list[list[list]]:
    """Group rows so that one Definition holds at most ``limit`` pairs (at least one row)."""
    chunks, cur, size = [], [], 0
    for row in table:
        if cur and size + len(row) > limit:
            chunks.append(cur)
            cur, size = [], 0
        cur.append(row)
        size += len(row)
    if cur or not chunks:
        chunks.append(cur)
    return chunks


def coq_context(cert: dict, weights: dict) -> dict:
    """The Jinja context of the templates: validated integers, names and digests only.

    strategy            "brute-force" or "cubic"
    theorem             the theorem's name (THEOREM_NAMES[strategy])
    sha256              str, 64 lowercase hex digits (certificate.json model.sha256)
    config              {d_vocab, d_vocab_out, n_ctx, d_model, d_head, n_heads, n_layers}: int
    parameters          {sqrt_bits, hint_bits, exp_bits, taylor_n, logit_bits}: int
    claim               {inputs, proven_correct, lower_numerator, lower_denominator}: int, and for
                        brute force also {proven_wrong, upper_numerator, upper_denominator}: int
                        (a cubic claim has no proven_wrong and no upper bound)
    tensors             [{index: int, name: str matching [A-Za-z0-9_.]+, shape: [int],
                          chunks: [[int]] (float32 bit patterns, at most CHUNK per chunk)}], file order
    sqrt_d_head         [R_lo, R_hi]: int
    attn_token_chunks   [[row]] with row = [(L, H)], at most CHUNK pairs per chunk (v rows in all)
    attn_pos_chunks     the same for attn_pos (v rows of n pairs)
    """
    if not isinstance(cert, dict) or not isinstance(weights, dict):
        raise ValueError("certificate and weights must be JSON objects")
    if cert.get("format") != "mechcert-certificate" or cert.get("version") != 1:
        raise ValueError("not a mechcert-certificate version 1")
    strategy = cert.get("strategy")
    if cert.get("task") != "max-of-k" or not isinstance(strategy, str) or strategy not in THEOREM_NAMES:
        raise ValueError(f"the Coq library checks task max-of-k, strategies {', '.join(THEOREM_NAMES)}; "
                         f"got {cert.get('task')!r}, {strategy!r}")
    if weights.get("format") != "mechcert-weights" or weights.get("version") != 1:
        raise ValueError("not a mechcert-weights version 1 file")
    model = _field(cert, "model", "certificate")
    sha = _sha(_field(model, "sha256", "certificate model"), "certificate model sha256")
    config = {k: _int(_field(_field(model, "config", "certificate model"), k, "model config"), f"config {k}")
              for k in _CONFIG_KEYS}
    wconfig = _field(weights, "config", "weights.json")
    if {k: wconfig.get(k) for k in _CONFIG_KEYS} != config:
        raise ValueError("model config differs between certificate.json and weights.json")
    params = {k: _int(_field(_field(cert, "parameters", "certificate"), k, "parameters"), f"parameter {k}")
              for k in _PARAM_KEYS}
    claim = _field(cert, "claim", "certificate")
    lower = _field(claim, "accuracy_lower_bound", "claim")
    claim_ctx = {
        "inputs": _int(_field(claim, "inputs", "claim"), "claim inputs"),
        "proven_correct": _int(_field(claim, "proven_correct", "claim"), "claim proven_correct"),
        "lower_numerator": _int(_field(lower, "numerator", "accuracy_lower_bound"), "lower numerator"),
        "lower_denominator": _int(_field(lower, "denominator", "accuracy_lower_bound"), "lower denominator"),
    }
    if strategy == "brute-force":
        upper = _field(claim, "accuracy_upper_bound", "claim")
        claim_ctx.update({
            "proven_wrong": _int(_field(claim, "proven_wrong", "claim"), "claim proven_wrong"),
            "upper_numerator": _int(_field(upper, "numerator", "accuracy_upper_bound"), "upper numerator"),
            "upper_denominator": _int(_field(upper, "denominator", "accuracy_upper_bound"), "upper denominator"),
        })
    else:
        # A cubic claim is a lower bound only (section 7); a field that Coq would not check is refused.
        extra = sorted(k for k in ("proven_wrong", "accuracy_upper_bound") if k in claim)
        if extra:
            raise ValueError(f"a cubic claim has no {' or '.join(extra)} (docs/certificate-format.md, section 7)")
    hints = _field(cert, "hints", "certificate")
    tensors = _field(weights, "tensors", "weights.json")
    if not isinstance(tensors, list):
        raise ValueError("weights.json: tensors must be a list")
    return {
        "strategy": strategy,
        "theorem": THEOREM_NAMES[strategy],
        "sha256": sha,
        "config": config,
        "parameters": params,
        "claim": claim_ctx,
        "tensors": [_tensor(t, i) for i, t in enumerate(tensors)],
        "sqrt_d_head": list(_pair(_field(hints, "sqrt_d_head", "hints"), "hints sqrt_d_head")),
        "attn_token_chunks": _row_chunks(_pair_table(_field(hints, "attn_token", "hints"), "hints attn_token")),
        "attn_pos_chunks": _row_chunks(_pair_table(_field(hints, "attn_pos", "hints"), "hints attn_pos")),
    }


# -- rendering -------------------------------------------------------------
def _z(x) -> str:
    """A Coq Z literal (hex; parses faster than decimal for big numbers)."""
    x = _int(x, "template value")
    return f"0x{x:x}" if x >= 0 else f"(-0x{-x:x})"


def _dec(x) -> str:
    x = _int(x, "template value")
    return str(x) if x >= 0 else f"({x})"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                             keep_trailing_newline=True, trim_blocks=False)
    env.filters["z"] = _z
    env.filters["dec"] = _dec
    env.filters["zlist"] = lambda xs: "; ".join(_z(x) for x in xs)
    env.filters["declist"] = lambda xs: "; ".join(_dec(x) for x in xs)
    env.filters["dims"] = lambda xs: " x ".join(_dec(x) for x in xs)
    env.filters["zpairs"] = lambda ps: "; ".join(f"({_z(a)}, {_z(b)})" for a, b in ps)
    return env


def _resource(name: str) -> str:
    return (files("mechcert.coq_templates") / name).read_text(encoding="utf-8")


def render_coq(cert: dict, weights: dict, out_dir: Path) -> None:
    """Write out_dir/{MechCert.v, Certificate.v, _CoqProject, Makefile}; each file atomically.

    ``cert`` and ``weights`` are the parsed certificate.json and weights.json.
    Raises ValueError on any field that is not what the format allows.
    """
    out_dir = Path(out_dir)
    ctx = coq_context(cert, weights)
    env = _environment()
    rendered = {}
    for out_name, src in COQ_FILES.items():
        text = _resource(src)
        rendered[out_name] = env.from_string(text).render(**ctx) if src.endswith(".j2") else text
    out_dir.mkdir(parents=True, exist_ok=True)
    for out_name, text in rendered.items():
        atomic_write_text(out_dir / out_name, text)
