"""What the prover renderers read from certificate.json and weights.json, validated.

Both renderers (Coq and Lean) turn the same two JSON files into templates' data. This
module is the one place that decides what a certificate may hold: integers (never bools
or floats), tensor names matching ``[A-Za-z0-9_.]+``, lowercase hex digests and bit
patterns. Nothing else reaches a template, so no field can inject prover text. It checks
form only; the provers recompute and check every value.
"""
from __future__ import annotations

import re

__all__ = ["THEOREM_NAMES", "RANK_ONE_STRATEGIES", "int_list", "int_table3", "CONFIG_KEYS", "PARAM_KEYS", "want_int", "want_nat", "field", "pair",
           "pair_table", "validated_certificate"]

# The theorem of each strategy (docs/certificate-format.md: section 5 brute force, section 7 cubic).
# Subcubic strategies: section 8.
THEOREM_NAMES = {"brute-force": "max_of_k_brute_force_certificate", "cubic": "max_of_k_cubic_certificate",
                 "subcubic-gap": "max_of_k_subcubic_gap_certificate",
                 "subcubic-rank-one": "max_of_k_subcubic_rank_one_certificate",
                 "subcubic-rank-one-global": "max_of_k_subcubic_rank_one_global_certificate"}
RANK_ONE_STRATEGIES = ("subcubic-rank-one", "subcubic-rank-one-global")
CONFIG_KEYS = ("d_vocab", "d_vocab_out", "n_ctx", "d_model", "d_head", "n_heads", "n_layers")
PARAM_KEYS = ("sqrt_bits", "hint_bits", "exp_bits", "taylor_n", "logit_bits")

_NAME_RE = re.compile(r"[A-Za-z0-9_.]+")  # always fullmatch ("$" would let a final newline through)
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_HEX_RE = re.compile(r"(?:[0-9a-f]{8})*")


def want_int(x, what: str) -> int:
    """An int and nothing else (bool, float, str refused)."""
    if type(x) is not int:
        raise ValueError(f"{what}: expected an integer, got {type(x).__name__}")
    return x


def want_nat(x, what: str) -> int:
    if want_int(x, what) < 0:
        raise ValueError(f"{what}: expected a non-negative integer, got {x}")
    return x


def field(d, key: str, what: str):
    if not isinstance(d, dict) or key not in d:
        raise ValueError(f"{what}: missing field {key!r}")
    return d[key]


def pair(x, what: str) -> tuple[int, int]:
    if not isinstance(x, list) or len(x) != 2:
        raise ValueError(f"{what}: expected a pair [lo, hi]")
    return want_int(x[0], f"{what}[0]"), want_int(x[1], f"{what}[1]")


def pair_table(x, what: str) -> list[list[tuple[int, int]]]:
    if not isinstance(x, list):
        raise ValueError(f"{what}: expected a list of rows")
    out = []
    for i, row in enumerate(x):
        if not isinstance(row, list):
            raise ValueError(f"{what}[{i}]: expected a list")
        out.append([pair(p, f"{what}[{i}][{j}]") for j, p in enumerate(row)])
    return out


def int_list(x, what: str) -> list[int]:
    if not isinstance(x, list):
        raise ValueError(f"{what}: expected a list of integers")
    return [want_int(y, f"{what}[{i}]") for i, y in enumerate(x)]


def int_table3(x, what: str) -> list[list[list[int]]]:
    """A list of lists of lists of integers (any lengths: the provers check the shape)."""
    if not isinstance(x, list):
        raise ValueError(f"{what}: expected a list")
    out = []
    for i, row in enumerate(x):
        if not isinstance(row, list):
            raise ValueError(f"{what}[{i}]: expected a list")
        out.append([int_list(r, f"{what}[{i}][{j}]") for j, r in enumerate(row)])
    return out


def _tensor(entry, index: int) -> dict:
    what = f"weights.json tensors[{index}]"
    name = field(entry, "name", what)
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"{what}: tensor name {name!r} does not match [A-Za-z0-9_.]+")
    shape = field(entry, "shape", what)
    if not isinstance(shape, list):
        raise ValueError(f"tensor {name} shape: expected a list")
    shape = [want_nat(d, f"tensor {name} shape[{i}]") for i, d in enumerate(shape)]
    hexs = field(entry, "float32_hex", what)
    if not isinstance(hexs, str) or not _HEX_RE.fullmatch(hexs):
        raise ValueError(f"tensor {name}: float32_hex must be lowercase hex, 8 digits per value")
    return {"index": index, "name": name, "shape": shape, "float32_hex": hexs}


def validated_certificate(cert: dict, weights: dict, prover: str) -> dict:
    """The certificate's contents in a fixed form, or ValueError naming what is wrong:

    strategy, theorem    a key of THEOREM_NAMES, and that strategy's theorem name
    sha256               64 lowercase hex digits (certificate.json model.sha256)
    config, parameters   {CONFIG_KEYS: nat}, {PARAM_KEYS: nat}; the config equal in both files
    claim                {inputs, proven_correct, lower_numerator, lower_denominator}: int, and for
                         brute force {proven_wrong, upper_numerator, upper_denominator} too (a
                         cubic claim with either of those fields is refused: no prover checks them)
    tensors              [{index, name, shape: [nat], float32_hex}], in the file's order
    sqrt_d_head          (R_lo, R_hi); attn_token, attn_pos: tables of (L, H) pairs
    gap                  subcubic strategies only: [q][m][c-1] integers (section 8)
    rank_one             the rank-one strategies only: {centre, direction, beta}: lists of integers
    """
    if not isinstance(cert, dict) or not isinstance(weights, dict):
        raise ValueError("certificate and weights must be JSON objects")
    if cert.get("format") != "mechcert-certificate" or cert.get("version") != 1:
        raise ValueError("not a mechcert-certificate version 1")
    strategy = cert.get("strategy")
    if cert.get("task") != "max-of-k" or not isinstance(strategy, str) or strategy not in THEOREM_NAMES:
        raise ValueError(f"the {prover} library checks task max-of-k, strategies {', '.join(THEOREM_NAMES)}; "
                         f"got {cert.get('task')!r}, {strategy!r}")
    if weights.get("format") != "mechcert-weights" or weights.get("version") != 1:
        raise ValueError("not a mechcert-weights version 1 file")
    model = field(cert, "model", "certificate")
    sha = field(model, "sha256", "certificate model")
    if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
        raise ValueError("certificate model sha256: expected 64 lowercase hex digits")
    config = {k: want_nat(field(field(model, "config", "certificate model"), k, "model config"), f"config {k}")
              for k in CONFIG_KEYS}
    wconfig = field(weights, "config", "weights.json")
    if not isinstance(wconfig, dict) or {k: wconfig.get(k) for k in CONFIG_KEYS} != config:
        raise ValueError("model config differs between certificate.json and weights.json")
    params = {k: want_nat(field(field(cert, "parameters", "certificate"), k, "parameters"), f"parameter {k}")
              for k in PARAM_KEYS}
    claim = field(cert, "claim", "certificate")
    lower = field(claim, "accuracy_lower_bound", "claim")
    claim_ctx = {
        "inputs": want_int(field(claim, "inputs", "claim"), "claim inputs"),
        "proven_correct": want_int(field(claim, "proven_correct", "claim"), "claim proven_correct"),
        "lower_numerator": want_int(field(lower, "numerator", "accuracy_lower_bound"), "lower numerator"),
        "lower_denominator": want_int(field(lower, "denominator", "accuracy_lower_bound"), "lower denominator"),
    }
    if strategy == "brute-force":
        upper = field(claim, "accuracy_upper_bound", "claim")
        claim_ctx.update({
            "proven_wrong": want_int(field(claim, "proven_wrong", "claim"), "claim proven_wrong"),
            "upper_numerator": want_int(field(upper, "numerator", "accuracy_upper_bound"), "upper numerator"),
            "upper_denominator": want_int(field(upper, "denominator", "accuracy_upper_bound"), "upper denominator"),
        })
    else:
        extra = sorted(k for k in ("proven_wrong", "accuracy_upper_bound") if k in claim)
        if extra:
            raise ValueError(f"a {strategy} claim has no {' or '.join(extra)} "
                             "(docs/certificate-format.md, sections 7 and 8)")
    hints = field(cert, "hints", "certificate")
    tensors = field(weights, "tensors", "weights.json")
    if not isinstance(tensors, list):
        raise ValueError("weights.json: tensors must be a list")
    out = {
        "strategy": strategy,
        "theorem": THEOREM_NAMES[strategy],
        "sha256": sha,
        "config": config,
        "parameters": params,
        "claim": claim_ctx,
        "tensors": [_tensor(t, i) for i, t in enumerate(tensors)],
        "sqrt_d_head": pair(field(hints, "sqrt_d_head", "hints"), "hints sqrt_d_head"),
        "attn_token": pair_table(field(hints, "attn_token", "hints"), "hints attn_token"),
        "attn_pos": pair_table(field(hints, "attn_pos", "hints"), "hints attn_pos"),
    }
    if strategy.startswith("subcubic-"):
        out["gap"] = int_table3(field(hints, "gap", "hints"), "hints gap")
    if strategy in RANK_ONE_STRATEGIES:
        r1 = field(hints, "rank_one", "hints")
        out["rank_one"] = {k: int_list(field(r1, k, "hints rank_one"), f"hints rank_one {k}")
                           for k in ("centre", "direction", "beta")}
    return out
