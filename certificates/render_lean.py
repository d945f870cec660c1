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
multiple of 4 large enough for every field of the table.

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

__all__ = ["render_lean", "lean_context", "audit_axioms", "pack_fields", "encode_signed",
           "LEAN_FILES", "CHUNK", "THEOREM_NAMES", "STANDARD_AXIOMS", "NATIVE_AXIOMS"]

# Files of a rendered project: output name -> template (or static file) in mechcert.lean_templates.
LEAN_FILES = {
    "MechCert.lean": "MechCert.lean",
    "Certificate.lean": "Certificate.lean.j2",
    "lakefile.toml": "lakefile.toml.j2",
    "lean-toolchain": "lean-toolchain",
    "Makefile": "Makefile.j2",
}

CHUNK = 256  # float32 values per Nat literal (8 KiB of bits; decoding cost is quadratic in a chunk)

THEOREM_NAMES = {"brute-force": "max_of_k_brute_force_certificate", "cubic": "max_of_k_cubic_certificate"}

# The axioms of Lean's foundations: a theorem may use them (classical logic is sound).
STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
# What native_decide adds: trust in the compiler and the interpreter that evaluated `check`.
NATIVE_AXIOMS = frozenset({"Lean.ofReduceBool", "Lean.trustCompiler"})

_NAME_RE = re.compile(r"^[A-Za-z0-9_.]+$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_HEX_RE = re.compile(r"^(?:[0-9a-f]{8})*$")
_CONFIG_KEYS = ("d_vocab", "d_vocab_out", "n_ctx", "d_model", "d_head", "n_heads", "n_layers")
_PARAM_KEYS = ("sqrt_bits", "hint_bits", "exp_bits", "taylor_n", "logit_bits")


# -- validation ------------------------------------------------------------
def _int(x, what: str) -> int:
    """An int and nothing else (bool, float, str refused)."""
    if type(x) is not int:
        raise ValueError(f"{what}: expected an integer, got {type(x).__name__}")
    return x


def _nat(x, what: str) -> int:
    """A non-negative int (a Lean `Nat` field)."""
    if _int(x, what) < 0:
        raise ValueError(f"{what}: expected a non-negative integer, got {x}")
    return x


def _field(d, key: str, what: str):
    if not isinstance(d, dict) or key not in d:
        raise ValueError(f"{what}: missing field {key!r}")
    return d[key]


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
    if not isinstance(x, str) or not _SHA_RE.match(x):
        raise ValueError(f"{what}: expected 64 lowercase hex digits")
    return x


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


def _tensor(entry, index: int) -> dict:
    what = f"weights.json tensors[{index}]"
    name = _field(entry, "name", what)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{what}: tensor name {name!r} does not match [A-Za-z0-9_.]+")
    shape_raw = _field(entry, "shape", what)
    if not isinstance(shape_raw, list):
        raise ValueError(f"tensor {name} shape: expected a list")
    shape = [_nat(d, f"tensor {name} shape[{i}]") for i, d in enumerate(shape_raw)]
    hexs = _field(entry, "float32_hex", what)
    if not isinstance(hexs, str) or not _HEX_RE.match(hexs):
        raise ValueError(f"tensor {name}: float32_hex must be lowercase hex, 8 digits per value")
    step = 8 * CHUNK
    # Each chunk's literal is the float32_hex substring itself (fields of 32 bits, in order).
    chunks = [{"count": len(hexs[i:i + step]) // 8, "literal": "0x" + hexs[i:i + step]}
              for i in range(0, len(hexs), step)]
    return {"index": index, "name": name, "shape": shape, "chunks": chunks}


def _hint_table(table: list[list[tuple[int, int]]]) -> dict:
    """One literal per row; a common field width (multiple of 4) for the whole table."""
    fields = [[encode_signed(z) for pair in row for z in pair] for row in table]
    width = max((f.bit_length() for row in fields for f in row), default=1)
    width = max(4, -(-width // 4) * 4)
    rows = [{"pairs": len(row), "literal": _hex_literal(f, width)} for row, f in zip(table, fields)]
    return {"width": width, "rows": rows}


def lean_context(cert: dict, weights: dict, native: bool = False) -> dict:
    """The Jinja context of the Lean templates: validated integers, names and digests only."""
    if not isinstance(cert, dict) or not isinstance(weights, dict):
        raise ValueError("certificate and weights must be JSON objects")
    if cert.get("format") != "mechcert-certificate" or cert.get("version") != 1:
        raise ValueError("not a mechcert-certificate version 1")
    strategy = cert.get("strategy")
    if cert.get("task") != "max-of-k" or strategy not in THEOREM_NAMES:
        raise ValueError(f"the Lean library checks task max-of-k, strategies {', '.join(THEOREM_NAMES)}; "
                         f"got {cert.get('task')!r}, {strategy!r}")
    if weights.get("format") != "mechcert-weights" or weights.get("version") != 1:
        raise ValueError("not a mechcert-weights version 1 file")
    if type(native) is not bool:
        raise ValueError("native must be a bool")
    model = _field(cert, "model", "certificate")
    sha = _sha(_field(model, "sha256", "certificate model"), "certificate model sha256")
    config = {k: _nat(_field(_field(model, "config", "certificate model"), k, "model config"), f"config {k}")
              for k in _CONFIG_KEYS}
    wconfig = _field(weights, "config", "weights.json")
    if {k: wconfig.get(k) for k in _CONFIG_KEYS} != config:
        raise ValueError("model config differs between certificate.json and weights.json")
    params = {k: _nat(_field(_field(cert, "parameters", "certificate"), k, "parameters"), f"parameter {k}")
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
    hints = _field(cert, "hints", "certificate")
    tensors = _field(weights, "tensors", "weights.json")
    if not isinstance(tensors, list):
        raise ValueError("weights.json: tensors must be a list")
    return {
        "strategy": strategy,
        "theorem": THEOREM_NAMES[strategy],
        "lean_native": native,
        "sha256": sha,
        "config": config,
        "parameters": params,
        "claim": claim_ctx,
        "tensors": [_tensor(t, i) for i, t in enumerate(tensors)],
        "sqrt_d_head": list(_pair(_field(hints, "sqrt_d_head", "hints"), "hints sqrt_d_head")),
        "attn_token": _hint_table(_pair_table(_field(hints, "attn_token", "hints"), "hints attn_token")),
        "attn_pos": _hint_table(_pair_table(_field(hints, "attn_pos", "hints"), "hints attn_pos")),
    }


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
