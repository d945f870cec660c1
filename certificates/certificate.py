"""The certificate: build it from a model and a strategy, and write its directory.

A certificate directory holds ``certificate.json`` (the claim and the hints),
``weights.json`` (the exact weights) and the rendered prover projects. It is
written atomically (see :mod:`.io`). Nothing in ``certificate.json`` is
trusted by a checker: every hint is verified and every count recomputed.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import mechcert
from mechcert.extract import ExactWeights

from .backend_mpmath import MpmathBackend
from .brute_force import brute_force_counts
from .cubic import cubic_count
from .subcubic import SUBCUBIC_STRATEGIES, subcubic_certify
from .io import atomic_directory, atomic_write_text
from .max_of_k import PARAMETERS, MaxOfKModel

__all__ = ["CERT_FORMAT", "CERT_VERSION", "STRATEGIES", "CertifyResult", "build_certificate", "write_certificate",
           "estimated_coq_seconds"]

CERT_FORMAT = "mechcert-certificate"
CERT_VERSION = 1
STRATEGIES = ("brute-force", "cubic", *SUBCUBIC_STRATEGIES)
PROVERS = ("coq", "lean")


@dataclass
class CertifyResult:
    certificate: dict
    weights: ExactWeights
    timings: dict = field(default_factory=dict)

    @property
    def claim(self) -> dict:
        return self.certificate["claim"]


# Measured on the development machine (2 cores): Coq's brute-force loop costs about
# 14 us per (input, position, wrong token) and its fixed part (exact matrices, hints,
# literals, SHA-256) about 35 s at d_vocab 64, d_model 32 (it grows like d_vocab^2).
_COQ_US_PER_TERM = 14.0
_COQ_FIXED_S_AT_64 = 35.0
_COQ_US_PER_BOXED_INPUT = 10.0  # brute force by boxes, n_ctx >= 3


def estimated_coq_seconds(config: dict, strategy: str) -> float:
    """A rough estimate of Coq's make check time (rates measured on the development machine)."""
    v, n = config["d_vocab"], config["n_ctx"]
    fixed = _COQ_FIXED_S_AT_64 * (v / 64) ** 2
    if strategy == "brute-force" and n <= 2:  # input by input (MechCert.v part 7)
        return fixed + v**n * n * (v - 1) * _COQ_US_PER_TERM * 1e-6
    if strategy == "brute-force":  # by boxes (part 11): measured 201 s at 64/4, 29 s at 32/4
        return fixed + v**n * _COQ_US_PER_BOXED_INPUT * 1e-6
    if strategy == "cubic":
        return fixed + v**3 * n * 2 * _COQ_US_PER_TERM * 1e-6
    return fixed + v**2 * n * 2 * _COQ_US_PER_TERM * 1e-6


def verification_estimates(config: dict, strategy: str) -> dict:
    """Which checker can re-verify a certificate, and roughly how long it takes (informational:
    rates measured on the development machine, stated in the certificate's producer field)."""
    coq_s = estimated_coq_seconds(config, strategy)
    if strategy == "brute-force":
        checker = ("checker/check.py: exact, every input (box splitting); seconds up to 64^4 inputs "
                   "(measured 2.7 s CPU on the shipped 64/4 model); --jobs N uses N processes")
    else:
        checker = "checker/check.py: exact; seconds"
    coq = f"Coq make check: about {_human(coq_s)} (estimate)"
    if coq_s > 3600:
        coq += "; not practical: use checker/check.py"
    return {"checker": checker, "coq": coq,
            "lean": "Lean make check: not measured (no Lean on the development machine)"}


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _fraction(num: int, den: int) -> dict:
    return {"numerator": int(num), "denominator": int(den)}


def build_certificate(weights: ExactWeights, task: str = "max-of-k", strategy: str = "brute-force",
                      backend: MpmathBackend | None = None, progress=None, brute_force_backend: str = "exact",
                      jobs: int = 1) -> CertifyResult:
    """Run a strategy on exact weights; return the certificate (as a dict) and timings."""
    if task != "max-of-k":
        raise ValueError(f"unknown task {task!r} (known: max-of-k)")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r} (known: {', '.join(STRATEGIES)})")
    backend = backend or MpmathBackend()
    timings = {}
    t0 = time.perf_counter()
    model = MaxOfKModel(weights)
    timings["decomposition_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if strategy in SUBCUBIC_STRATEGIES:  # its hints depend on the strategy (section 8)
        hints, res = subcubic_certify(model, strategy, backend, progress=progress)
        timings["strategy_s"] = time.perf_counter() - t0
    else:
        hints = model.hints(backend, progress=(lambda i, n: progress("exp hints", i, n)) if progress else None)
        timings["hints_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if strategy == "brute-force":
            res = brute_force_counts(model, hints, progress=(lambda i, n: progress("inputs", i, n)) if progress
                                     else None, backend=brute_force_backend, jobs=jobs)
        else:
            res = cubic_count(model, hints, progress=(lambda i, n: progress("queries", i, n)) if progress else None)
        timings["strategy_s"] = time.perf_counter() - t0
    total = res.inputs
    brute = strategy == "brute-force"  # only brute force also proves inputs wrong (an upper bound)
    claim = {"inputs": total, "proven_correct": res.proven_correct}
    if brute:
        claim["proven_wrong"] = res.proven_wrong
    claim["accuracy_lower_bound"] = _fraction(res.proven_correct, total)
    if brute:
        claim["accuracy_upper_bound"] = _fraction(total - res.proven_wrong, total)
    cert = {
        "format": CERT_FORMAT,
        "version": CERT_VERSION,
        "task": task,
        "strategy": strategy,
        "model": {"sha256": weights.sha256, "config": dict(weights.config), "weights_file": "weights.json"},
        "parameters": dict(PARAMETERS),
        "claim": claim,
        "hints": hints,
        "producer": {"tool": f"mechcert {mechcert.__version__}",
                     "backend": backend.name + ("" if strategy != "brute-force" or brute_force_backend == "exact"
                                                else f" + {brute_force_backend} decisions"),
                     "verification": verification_estimates(weights.config, strategy),
                     "note": "informational; checkers ignore this field"},
    }
    return CertifyResult(cert, weights, timings)


def write_certificate(result: CertifyResult, out_dir, force: bool = False, emit=PROVERS,
                      lean_native: bool = False) -> Path:
    """Write the certificate directory atomically; render the prover projects into it."""
    out_dir = Path(out_dir)
    if "lean" in emit and lean_native:
        result.certificate["producer"]["lean_native"] = True  # so `mechcert verify` re-renders it alike
    with atomic_directory(out_dir, force=force) as tmp:
        cert = dict(result.certificate)
        cert.pop("rendered", None)
        if "coq" in emit:
            from .render_coq import render_coq

            render_coq(cert, result.weights.to_json_dict(), tmp / "coq")
        if "lean" in emit:
            from .render_lean import render_lean

            render_lean(cert, result.weights.to_json_dict(), tmp / "lean", native=lean_native)
        rendered = rendered_manifest(tmp)
        if rendered:
            cert["rendered"] = rendered
        result.certificate = cert
        atomic_write_text(tmp / "certificate.json", json.dumps(cert, indent=1, sort_keys=False) + "\n")
        result.weights.write_json(tmp / "weights.json")
    return out_dir


def rendered_manifest(cert_dir: Path) -> dict:
    """{"coq/Certificate.v": sha256 hex, ...} of every file of the rendered prover projects, sorted:
    certificate.json lists them (docs/certificate-format.md, section 6) so that checker/ rejects a
    prover file edited after certification. The renderers never read this field."""
    out = {}
    for prover in PROVERS:
        d = Path(cert_dir) / prover
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if f.is_file():
                    out[f"{prover}/{f.name}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def summary(result: CertifyResult) -> str:
    c = result.certificate
    cl = c["claim"]
    lo = Fraction(cl["accuracy_lower_bound"]["numerator"], cl["accuracy_lower_bound"]["denominator"])
    cfg = c["model"]["config"]
    lines = [
        f"model      d_vocab={cfg['d_vocab']} n_ctx={cfg['n_ctx']} d_model={cfg['d_model']} "
        f"d_head={cfg['d_head']}  sha256 {c['model']['sha256'][:16]}...",
        f"strategy   {c['task']} / {c['strategy']}  (backend {c['producer']['backend']})",
        f"inputs     {cl['inputs']}: {cl['proven_correct']} proven correct"
        + (f", {cl['proven_wrong']} proven wrong, {cl['inputs'] - cl['proven_correct'] - cl['proven_wrong']} "
           "undecided" if "proven_wrong" in cl else ""),
        f"claim      accuracy >= {cl['accuracy_lower_bound']['numerator']}/{cl['inputs']} = {float(lo):.6f}"
        + (f"  (and <= {float(Fraction(cl['accuracy_upper_bound']['numerator'], cl['inputs'])):.6f})"
           if "accuracy_upper_bound" in cl else ""),
        "time       " + ", ".join(f"{k[:-2]} {v:.2f}s" for k, v in result.timings.items()),
    ]
    ver = c["producer"].get("verification", {})
    lines += [f"re-check   {ver[k]}" if i == 0 else f"           {ver[k]}" for i, k in enumerate(ver)]
    return "\n".join(lines)
