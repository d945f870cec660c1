"""`mechcert frontier`: every strategy on one model, and the trade-off between proof cost and bound.

For each strategy it writes a certificate (DIR/certs/STRATEGY), re-checks it with the
standalone checker (which counts the integer operations it performs: the proof cost), runs
Coq's `make check` where coqc is installed and the estimated time is within a limit, and
tabulates strategy, bound, operations, certificate size and check times as CSV and Markdown,
plus a PNG plot of bound against proof cost with the brute-force accuracy marked.
Every output file is written atomically; the certificates directory is written as a whole.
"""
from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from mechcert.certificates.certificate import STRATEGIES, build_certificate, estimated_coq_seconds, write_certificate
from mechcert.certificates.io import atomic_write_text

__all__ = ["FrontierRow", "run_frontier", "write_outputs", "COLUMNS"]

COLUMNS = ("strategy", "proven_correct", "inputs", "bound", "checker_ops", "certificate_bytes",
           "certify_s", "checker_s", "checker_verdict", "coq_s", "coq_verdict")


@dataclass
class FrontierRow:
    strategy: str
    proven_correct: int
    inputs: int
    checker_ops: int
    certificate_bytes: int
    certify_s: float
    checker_s: float
    checker_verdict: str
    coq_s: float | None
    coq_verdict: str

    @property
    def bound(self) -> Fraction:
        return Fraction(self.proven_correct, self.inputs)

    def cells(self) -> dict:
        return {"strategy": self.strategy, "proven_correct": self.proven_correct, "inputs": self.inputs,
                "bound": f"{float(self.bound):.6f}", "checker_ops": self.checker_ops,
                "certificate_bytes": self.certificate_bytes, "certify_s": f"{self.certify_s:.2f}",
                "checker_s": f"{self.checker_s:.2f}", "checker_verdict": self.checker_verdict,
                "coq_s": "" if self.coq_s is None else f"{self.coq_s:.1f}", "coq_verdict": self.coq_verdict}


def run_frontier(weights, out_dir: Path, strategies=STRATEGIES, coq: str = "auto", coq_limit_s: float = 900,
                 jobs: int = 1, log=print, progress=None) -> list[FrontierRow]:
    """Certify, check and (optionally) Coq-check every strategy; returns the rows. Certificates go
    to out_dir/certs/STRATEGY (replaced if present: the frontier owns that folder)."""
    from mechcert.checker import check

    out_dir = Path(out_dir)
    have_coq = shutil.which("coqc") is not None and shutil.which("make") is not None
    if coq == "yes" and not have_coq:
        raise ValueError("--coq yes: coqc (or make) is not installed")
    rows = []
    for s in strategies:
        if s == "brute-force" and weights.config["n_ctx"] < 1:
            continue
        if s != "brute-force" and weights.config["n_ctx"] < 2:
            log(f"[{s}] skipped: needs n_ctx >= 2")
            continue
        cert_dir = out_dir / "certs" / s
        log(f"[{s}] certify ...")
        t0 = time.perf_counter()
        res = build_certificate(weights, strategy=s, progress=progress, jobs=jobs,
                                brute_force_backend="fast" if s == "brute-force" else "exact")
        write_certificate(res, cert_dir, force=True)
        certify_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        chk = check.check_certificate(str(cert_dir), jobs=jobs)
        checker_s = time.perf_counter() - t0
        if not chk.verified:
            raise RuntimeError(f"[{s}] the standalone checker rejected mechcert's own certificate: {chk.verdict}")
        est = estimated_coq_seconds(weights.config, s)
        coq_s, coq_verdict = None, ""
        if coq == "no":
            coq_verdict = "not run (--coq no)"
        elif not have_coq:
            coq_verdict = "not run (coqc not installed)"
        elif est > coq_limit_s and coq != "yes":
            coq_verdict = f"not run (estimated {_human(est)} > --coq-limit {_human(coq_limit_s)})"
        else:
            log(f"[{s}] coq make check ...")
            t0 = time.perf_counter()
            rc = subprocess.run(["make", "-s", "check"], cwd=cert_dir / "coq", capture_output=True).returncode
            coq_s = time.perf_counter() - t0
            coq_verdict = "accepted, no axioms" if rc == 0 else f"REJECTED (make check exit {rc})"
            if rc != 0:
                raise RuntimeError(f"[{s}] Coq rejected mechcert's own certificate (make check exit {rc})")
        size = (cert_dir / "certificate.json").stat().st_size
        row = FrontierRow(s, res.claim["proven_correct"], res.claim["inputs"], chk.ops, size, certify_s,
                          checker_s, "accepted", coq_s, coq_verdict)
        rows.append(row)
        log(f"[{s}] bound {row.proven_correct}/{row.inputs} = {float(row.bound):.6f}, "
            f"{row.checker_ops:,} checker operations, checker {checker_s:.2f} s"
            + (f", Coq {coq_s:.1f} s" if coq_s is not None else f", Coq {coq_verdict}"))
    return rows


def _human(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.0f} h"


def frontier_table_md(rows: list[FrontierRow], model_name: str, config: dict) -> str:
    bf = next((r for r in rows if r.strategy == "brute-force"), None)
    lines = [f"# Proof-length frontier: {model_name}",
             "",
             f"d_vocab {config['d_vocab']}, n_ctx {config['n_ctx']}, d_model {config['d_model']}, "
             f"d_head {config['d_head']}. Bound = proven_correct / d_vocab^n_ctx, exact; every certificate "
             "below was accepted by checker/check.py. Proof cost = integer operations counted by the "
             "checker (docs/certificate-format.md, section 8.4).",
             ""]
    if bf is not None:
        lines += [f"Brute-force accuracy (lower bound, every input decided): {bf.proven_correct}/{bf.inputs} = "
                  f"{float(bf.bound):.6f}.", ""]
    lines += ["| strategy | bound | proven correct | checker operations | certificate.json bytes | "
              "checker s | Coq make check |",
              "|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r.checker_ops):
        coq = f"{r.coq_s:.1f} s, {r.coq_verdict}" if r.coq_s is not None else r.coq_verdict
        lines.append(f"| {r.strategy} | {float(r.bound):.6f} | {r.proven_correct} | {r.checker_ops:,} | "
                     f"{r.certificate_bytes:,} | {r.checker_s:.2f} | {coq} |")
    if bf is not None:
        ok = all(r.bound <= bf.bound for r in rows)
        lines += ["", f"Every bound is at most the brute-force accuracy: {'yes' if ok else 'NO'}."]
    return "\n".join(lines) + "\n"


def frontier_csv(rows: list[FrontierRow]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r.cells())
    return buf.getvalue()


def frontier_png(rows: list[FrontierRow], path: Path, title: str) -> None:
    """Bound against proof cost (log scale), the brute-force accuracy as a dashed line; written
    atomically (to a temporary name, then renamed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for r in rows:
        ax.scatter([r.checker_ops], [float(r.bound)], s=40, zorder=3)
        ax.annotate(r.strategy, (r.checker_ops, float(r.bound)), textcoords="offset points", xytext=(6, 4),
                    fontsize=8)
    bf = next((r for r in rows if r.strategy == "brute-force"), None)
    if bf is not None:
        ax.axhline(float(bf.bound), linestyle="--", color="gray", linewidth=1,
                   label=f"brute-force accuracy {float(bf.bound):.4f}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("proof cost: integer operations counted by checker/check.py")
    ax.set_ylabel("certified accuracy lower bound")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    tmp.replace(path)


def write_outputs(rows: list[FrontierRow], out_dir: Path, model_name: str, config: dict) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "frontier.csv", frontier_csv(rows))
    atomic_write_text(out_dir / "frontier.md", frontier_table_md(rows, model_name, config))
    frontier_png(rows, out_dir / "frontier.png", f"mechcert frontier: {model_name}")
    return [out_dir / "frontier.csv", out_dir / "frontier.md", out_dir / "frontier.png"]


def growth_exponent(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log y against log x (the exponent b of y ~ a x^b)."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)
