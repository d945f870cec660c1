"""Benchmark of the cubic proof on the shipped d_vocab 64, n_ctx 4 model, in one process.

Times (1) the rigorous cubic certificate (extraction excluded: decomposition,
mpmath hints, exact count), (2) the plain float64 implementation of the same
algorithm (not rigorous; the baseline), (3) the standalone checker
(checker/check.py on a bare interpreter), (4) the Coq check (make check) when
coqc is present; prints times, ratios against the float64 baseline, and the
bounds. Run: python3 benchmarks/bench_cubic.py [MODEL]
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from mechcert.certificates.certificate import build_certificate, write_certificate
    from mechcert.certificates.cubic_float import cubic_count_float64
    from mechcert.extract import load_model

    model = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models" / "max_of_k_v64_n4_seed123.pt"
    w = load_model(model)
    total = w.config["d_vocab"] ** w.config["n_ctx"]
    print(f"model {model.name}: {w.config}")

    t0 = time.perf_counter()
    base = cubic_count_float64(w)
    t_float = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = build_certificate(w, strategy="cubic")
    t_rig = time.perf_counter() - t0
    rig = res.claim["proven_correct"]

    rows = [("float64 cubic (baseline, not rigorous)", t_float), ("rigorous cubic certificate", t_rig)]
    with tempfile.TemporaryDirectory() as tmp:
        out = write_certificate(res, Path(tmp) / "cert")
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-I", str(ROOT / "checker" / "check.py"), "--quiet", str(out)],
                           capture_output=True, text=True)
        rows.append((f"standalone checker ({'VERIFIED' if r.returncode == 0 else 'REJECTED'})",
                     time.perf_counter() - t0))
        if r.returncode != 0:
            print(r.stdout, r.stderr)
        if shutil.which("coqc"):
            t0 = time.perf_counter()
            r = subprocess.run(["make", "-s", "check"], cwd=out / "coq", capture_output=True, text=True)
            rows.append((f"Coq make check ({'VERIFIED' if r.returncode == 0 else 'REJECTED'})",
                         time.perf_counter() - t0))
            if r.returncode != 0:
                print(r.stdout[-2000:], r.stderr[-2000:])
        else:
            print("coqc not found: Coq check skipped")

    print(f"\n{'step':<45} {'seconds':>9} {'x float64':>10}")
    for name, t in rows:
        print(f"{name:<45} {t:>9.2f} {t / t_float:>10.1f}")
    print(f"\nbound, rigorous: {rig}/{total} = {float(Fraction(rig, total)):.6f}")
    print(f"bound, float64:  {base}/{total} = {float(Fraction(base, total)):.6f}")
    print(f"cost of rigour:  {float(Fraction(base - rig, total)):.6f}")
    for k, v in res.timings.items():
        print(f"  certificate {k}: {v:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
