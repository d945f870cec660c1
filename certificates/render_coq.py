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

from importlib.resources import files
from pathlib import Path

import jinja2

from .io import atomic_write_text
from .render_common import RANK_ONE_STRATEGIES, THEOREM_NAMES, validated_certificate, want_int

__all__ = ["render_coq", "coq_context", "COQ_FILES", "CHUNK", "THEOREM_NAMES"]

# Files of a rendered project: output name -> template (or static file) in mechcert.coq_templates.
COQ_FILES = {
    "MechCert.v": "MechCert.v",
    "Certificate.v": "Certificate.v.j2",
    "_CoqProject": "_CoqProject.j2",
    "Makefile": "Makefile.j2",
}

CHUNK = 1000  # at most this many elements in one list literal (longer ones overflow Coq's stack)

# The Coq term of each subcubic strategy (MechCert.v, subcubic_strategy); `rank_one` is the
# hint's Definition in Certificate.v.
SUBCUBIC_TERMS = {"subcubic-gap": "subcubic_gap",
                  "subcubic-rank-one": "(subcubic_rank_one rank_one)",
                  "subcubic-rank-one-global": "(subcubic_rank_one_global rank_one)"}

_int = want_int


def _tensor_chunks(t: dict) -> dict:
    hexs = t["float32_hex"]
    bits = [int(hexs[i:i + 8], 16) for i in range(0, len(hexs), 8)]
    return {"index": t["index"], "name": t["name"], "shape": t["shape"],
            "chunks": [bits[i:i + CHUNK] for i in range(0, len(bits), CHUNK)]}


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


def _list_chunks(xs: list) -> list[list]:
    """Consecutive pieces of at most CHUNK elements (one empty piece for an empty list)."""
    return [xs[i:i + CHUNK] for i in range(0, len(xs), CHUNK)] or [[]]


def _gap_chunks(gap: list[list[list[int]]]) -> list[list[list[list[int]]]]:
    """Group the rows gap[q] so that one Definition holds at most CHUNK integers (at least one row)."""
    chunks, cur, size = [], [], 0
    for row in gap:
        n = sum(len(r) for r in row)
        if cur and size + n > CHUNK:
            chunks.append(cur)
            cur, size = [], 0
        cur.append(row)
        size += n
    if cur or not chunks:
        chunks.append(cur)
    return chunks


def coq_context(cert: dict, weights: dict) -> dict:
    """The Jinja context of the templates: validated integers, names and digests only.

    strategy            "brute-force", "cubic" or a subcubic strategy (section 8)
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
    subcubic            True for the subcubic strategies; then also
      subcubic_term     the Coq term of the strategy (SUBCUBIC_TERMS)
      gap_chunks        [[row]] with row = gap[q] = [[int]] (v lists of n-1), at most CHUNK
                        integers per chunk (at least one row)
      rank_one          None, or for the rank-one strategies {centre, direction, beta}: [[int]],
                        each list cut into pieces of at most CHUNK
    """
    v = validated_certificate(cert, weights, "Coq")
    ctx = {
        "strategy": v["strategy"],
        "theorem": v["theorem"],
        "sha256": v["sha256"],
        "config": v["config"],
        "parameters": v["parameters"],
        "claim": v["claim"],
        "tensors": [_tensor_chunks(t) for t in v["tensors"]],
        "sqrt_d_head": list(v["sqrt_d_head"]),
        "attn_token_chunks": _row_chunks(v["attn_token"]),
        "attn_pos_chunks": _row_chunks(v["attn_pos"]),
        "subcubic": v["strategy"] in SUBCUBIC_TERMS,
    }
    if ctx["subcubic"]:
        ctx["subcubic_term"] = SUBCUBIC_TERMS[v["strategy"]]
        ctx["gap_chunks"] = _gap_chunks(v["gap"])
        ctx["rank_one"] = None
        if v["strategy"] in RANK_ONE_STRATEGIES:
            ctx["rank_one"] = {k: _list_chunks(xs) for k, xs in v["rank_one"].items()}
    return ctx


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
    env.filters["declists"] = lambda rows: "; ".join("[" + "; ".join(_dec(x) for x in r) + "]" for r in rows)
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
