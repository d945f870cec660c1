"""Render a certificate's Lean 4 project (CERT_DIR/lean/) from certificate.json and weights.json.

The Lean project is the static library ``MechCert.lean`` (copied verbatim: the
checking algorithm of docs/certificate-format.md, a mirror of the Coq library)
plus a generated ``Certificate.lean`` that holds only data and one theorem, a
``lakefile.toml``, a ``lean-toolchain`` and a ``Makefile`` whose ``make check``
fails unless Lean accepts the theorem with an acceptable set of axioms
(:func:`audit_axioms` states the rule; the Makefile applies the same rule).

Data encoding (see ``MechCert.unpack``): a list of numbers is one ``Nat``
literal of ``n`` fields of ``w`` bits, the first number in the most
significant field. Float32 bit patterns use ``w = 32`` (so a literal reads
like ``float32_hex``), in chunks of at most ``CHUNK`` values. Hint tables use
one literal per row, fields in sign-magnitude ``2|z| + (z < 0)``, with ``w`` a
multiple of 4 large enough for every field of the table. The subcubic hints
use the same signed fields: each list of ``rank_one`` in chunks of at most
``CHUNK`` values (``MechCert.decode_int_list``), and the witness ``gap`` one
literal per query q holding every row ``gap[q][m]`` as its length followed by
its entries (``MechCert.decode_int_table``), so that any shape round-trips.

Nothing here is trusted: Lean recomputes the hash, the derived matrices, every
hint and every count. This module only has to be *safe*: the templates receive
integers, validated tensor names and hex digests, nothing else, so no field of
a certificate can inject Lean text. Anything else is refused with ValueError.
"""
from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import jinja2

from .io import atomic_write_text
from .render_common import THEOREM_NAMES, validated_certificate, want_int, want_nat

# The strategies MechCert.lean mirrors: all five (sections 5, 7 and 8 of the doc).
LEAN_STRATEGIES = ("brute-force", "cubic", "subcubic-gap", "subcubic-rank-one", "subcubic-rank-one-global")

# The Lean term of each subcubic strategy (MechCert.lean, subcubic_strategy); `rank_one` is the
# hint's def in Certificate.lean.
SUBCUBIC_TERMS = {"subcubic-gap": "subcubic_strategy.subcubic_gap",
                  "subcubic-rank-one": "(subcubic_strategy.subcubic_rank_one rank_one)",
                  "subcubic-rank-one-global": "(subcubic_strategy.subcubic_rank_one_global rank_one)"}

__all__ = ["render_lean", "lean_context", "audit_axioms", "pack_fields", "encode_signed",
           "LEAN_FILES", "LEAN_STRATEGIES", "SUBCUBIC_TERMS", "CHUNK", "THEOREM_NAMES", "STANDARD_AXIOMS",
           "NATIVE_AXIOMS"]

# Files of a rendered project: output name -> template (or static file) in mechcert.lean_templates.
LEAN_FILES = {
    "MechCert.lean": "MechCert.lean",
    "Certificate.lean": "Certificate.lean.j2",
    "lakefile.toml": "lakefile.toml.j2",
    "lean-toolchain": "lean-toolchain",
    "Makefile": "Makefile.j2",
}

CHUNK = 256  # float32 values per Nat literal (8 KiB of bits; decoding cost is quadratic in a chunk)

# The axioms of Lean's foundations: a theorem may use them (classical logic is sound).
STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
# What native_decide adds: trust in the compiler and the interpreter that evaluated `check`.
NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.trustCompiler"})

_int, _nat = want_int, want_nat


# -- packing ---------------------------------------------------------------
def encode_signed(z: int) -> int:
    """Sign-magnitude field of ``MechCert.decode_int``: ``2|z| + (1 if z < 0)``."""
    return 2 * -z + 1 if z < 0 else 2 * z


def pack_fields(values: list[int], width: int) -> int:
    """The Nat read by ``MechCert.unpack width len(values)``: first value most significant."""
    x = 0
    for v in values:
        if v < 0 or v >> width:
            raise ValueError(f"field {v} does not fit in {width} bits")
        x = (x << width) | v
    return x


def _hex_literal(values: list[int], width: int) -> str:
    """``pack_fields`` as a Lean hex literal, zero-padded so that fields line up with digits."""
    x = pack_fields(values, width)
    digits = max(1, len(values) * width // 4)
    return f"0x{x:0{digits}x}"


def _tensor(t: dict) -> dict:
    hexs = t["float32_hex"]
    step = 8 * CHUNK
    # Each chunk's literal is the float32_hex substring itself (fields of 32 bits, in order).
    chunks = [{"count": len(hexs[i:i + step]) // 8, "literal": "0x" + hexs[i:i + step]}
              for i in range(0, len(hexs), step)]
    return {"index": t["index"], "name": t["name"], "shape": t["shape"], "chunks": chunks}


def _hint_table(table: list[list[tuple[int, int]]]) -> dict:
    """One literal per row; a common field width (multiple of 4) for the whole table."""
    fields = [[encode_signed(z) for pair in row for z in pair] for row in table]
    width = max((f.bit_length() for row in fields for f in row), default=1)
    width = max(4, -(-width // 4) * 4)
    rows = [{"pairs": len(row), "literal": _hex_literal(f, width)} for row, f in zip(table, fields)]
    return {"width": width, "rows": rows}


def _signed_width(fields: list[int]) -> int:
    """The common field width of signed fields: a multiple of 4, at least 4."""
    width = max((f.bit_length() for f in fields), default=1)
    return max(4, -(-width // 4) * 4)


def _int_list(xs: list[int]) -> dict:
    """A list of integers as chunks of at most CHUNK signed fields (no chunk for an empty list)."""
    fields = [encode_signed(z) for z in xs]
    width = _signed_width(fields)
    chunks = [{"count": len(fields[i:i + CHUNK]), "literal": _hex_literal(fields[i:i + CHUNK], width)}
              for i in range(0, len(fields), CHUNK)]
    return {"width": width, "chunks": chunks}


def _gap_table(gap: list[list[list[int]]]) -> dict:
    """One block per q: the rows gap[q][m], each as its length then its entries, as signed fields."""
    blocks = [[encode_signed(z) for row in rows for z in [len(row), *row]] for rows in gap]
    width = _signed_width([f for b in blocks for f in b])
    return {"width": width,
            "blocks": [{"rows": len(rows), "fields": len(b), "literal": _hex_literal(b, width)}
                       for rows, b in zip(gap, blocks)]}


def lean_context(cert: dict, weights: dict, native: bool = False) -> dict:
    """The Jinja context of the Lean templates: validated integers, names and digests only."""
    if type(native) is not bool:
        raise ValueError("native must be a bool")
    v = validated_certificate(cert, weights, "Lean")
    if v["strategy"] not in LEAN_STRATEGIES:
        raise ValueError(f"the Lean library checks strategies {', '.join(LEAN_STRATEGIES)} only; "
                         f"{v['strategy']} is checked by checker/ and Coq (certify with --emit coq)")
    ctx = {
        "strategy": v["strategy"],
        "theorem": v["theorem"],
        "lean_native": native,
        "sha256": v["sha256"],
        "config": v["config"],
        "parameters": v["parameters"],
        "claim": v["claim"],
        "tensors": [_tensor(t) for t in v["tensors"]],
        "sqrt_d_head": list(v["sqrt_d_head"]),
        "attn_token": _hint_table(v["attn_token"]),
        "attn_pos": _hint_table(v["attn_pos"]),
        "subcubic": v["strategy"] in SUBCUBIC_TERMS,
    }
    if ctx["subcubic"]:
        ctx["subcubic_term"] = SUBCUBIC_TERMS[v["strategy"]]
        ctx["gap"] = _gap_table(v["gap"])
        ctx["rank_one"] = None
        if "rank_one" in v:
            ctx["rank_one"] = {k: _int_list(xs) for k, xs in v["rank_one"].items()}
    return ctx


# -- the axiom audit -------------------------------------------------------
_NO_AXIOMS_RE = re.compile(r"'([^']+)' does not depend on any axioms")
_AXIOMS_RE = re.compile(r"'([^']+)' depends on axioms: \[([^\]]*)\]", re.S)


def audit_axioms(print_axioms_output: str, native: bool) -> tuple[bool, str]:
    """Judge the output of ``#print axioms`` (the whole Lean log may be given).

    The rule (the Makefile applies the same one):
    - ``sorryAx`` (an unfinished proof) is always rejected, wherever it appears;
    - ``Lean.ofReduceBool`` / ``Lean.trustCompiler`` (``native_decide``: trust in
      the compiler) are rejected unless the certificate was rendered native;
    - the standard axioms ``propext``, ``Classical.choice``, ``Quot.sound`` are
      accepted, and so is "does not depend on any axioms";
    - any other axiom is rejected, and so is an output with no axiom report.
    Returns ``(accepted, reason)``.
    """
    text = print_axioms_output or ""
    if "sorryAx" in text:
        return False, "the theorem depends on sorryAx (an unfinished proof)"
    if not native and "Lean.ofReduceBool" in text:
        return False, "the theorem depends on Lean.ofReduceBool (native_decide) but was not rendered native"
    allowed = STANDARD_AXIOMS | (NATIVE_AXIOMS if native else frozenset())
    reports = [(m.group(1), []) for m in _NO_AXIOMS_RE.finditer(text)]
    for m in _AXIOMS_RE.finditer(text):
        names = [a.strip() for a in m.group(2).replace("\n", " ").split(",") if a.strip()]
        reports.append((m.group(1), names))
    if not reports:
        return False, "no '#print axioms' report found"
    for theorem, names in reports:
        bad = [a for a in names if a not in allowed]
        if bad:
            return False, f"{theorem} depends on axioms not allowed here: {', '.join(bad)}"
    summary = "; ".join(f"{t}: {', '.join(n) if n else 'no axioms'}" for t, n in reports)
    return True, summary


# -- rendering -------------------------------------------------------------
def _lean_int(x) -> str:
    """A Lean Int literal (hex for big numbers; parenthesised when negative)."""
    x = _int(x, "template value")
    body = str(abs(x)) if abs(x) < 2**32 else f"0x{abs(x):x}"
    return body if x >= 0 else f"(-{body})"


def _lean_nat(x) -> str:
    return str(_nat(x, "template value"))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                             keep_trailing_newline=True, trim_blocks=False)
    env.filters["int"] = _lean_int
    env.filters["nat"] = _lean_nat
    env.filters["natlist"] = lambda xs: ", ".join(_lean_nat(x) for x in xs)
    env.filters["dims"] = lambda xs: " x ".join(_lean_nat(x) for x in xs)
    return env


def _resource(name: str) -> str:
    return (files("mechcert.lean_templates") / name).read_text(encoding="utf-8")


def render_lean(cert: dict, weights: dict, out_dir: Path, native: bool = False) -> None:
    """Write out_dir/{MechCert.lean, Certificate.lean, lakefile.toml, lean-toolchain, Makefile}.

    ``cert`` and ``weights`` are the parsed certificate.json and weights.json.
    With ``native=True`` the theorem is proved by ``native_decide`` (fast, but it
    adds the axiom ``Lean.ofReduceBool``: the compiler is trusted) and the
    Makefile accepts that axiom. Each file is written atomically. Raises
    ValueError on any field that is not what the format allows.
    """
    out_dir = Path(out_dir)
    ctx = lean_context(cert, weights, native)
    env = _environment()
    rendered = {}
    for out_name, src in LEAN_FILES.items():
        text = _resource(src)
        rendered[out_name] = env.from_string(text).render(**ctx) if src.endswith(".j2") else text
    out_dir.mkdir(parents=True, exist_ok=True)
    for out_name, text in rendered.items():
        atomic_write_text(out_dir / out_name, text)
