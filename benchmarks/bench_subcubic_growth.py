"""Growth of the proof cost with d_vocab: cubic against the three subcubic strategies.

For each shipped n_ctx 4 model (d_vocab 32, 64, 128; d_model = d_head = 32), certifies with
cubic and the subcubic strategies, re-checks each certificate with the standalone checker,
and prints the integer operations the checker counted (docs/certificate-format.md, section
8.4), split into the shared part (matrices, exp hints: steps 1-5) and the strategy's own part,
plus the growth exponent b of ops ~ v^b fitted over the three sizes and, per size, the ratio
of each strategy's cost to the cubic baseline run in the same process. An O(v^2 n^2) proof has
b <= 2 at fixed n and d; the cubic proof's own part has b = 3.

Run: python3 benchmarks/bench_subcubic_growth.py [MODEL ...]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STRATEGIES = ("cubic", "subcubic-gap", "subcubic-rank-one", "subcubic-rank-one-global")


def measure(weights, strategy, tmp):
    """(bound, total ops, strategy ops, checker seconds) of one certificate."""
    from mechcert.certificates.certificate import build_certificate, write_certificate
    from mechcert.checker import check

    d = Path(tmp) / strategy
    write_certificate(build_certificate(weights, strategy=strategy), d, emit=(), force=True)
    shared = []
    orig = check.strategy_subcubic if strategy != "cubic" else check.strategy_cubic

    def wrapped(ctx, step):  # the operations of steps 1-5, shared by every strategy
        shared.append(check.OPS[0])
        return orig(ctx, step)

    check.STRATEGIES[strategy] = (wrapped,) + check.STRATEGIES[strategy][1:]
    try:
        t0 = time.perf_counter()
        res = check.check_certificate(str(d))
        dt = time.perf_counter() - t0
    finally:
        check.STRATEGIES[strategy] = (orig,) + check.STRATEGIES[strategy][1:]
    assert res.verified, res.verdict
    return res.counts["proven_correct"] / res.counts["inputs"], res.ops, res.ops - shared[0], dt


def main() -> int:
    from mechcert.extract import load_model
    from mechcert.frontier import growth_exponent

    models = [Path(a) for a in sys.argv[1:]] or [ROOT / "models" / f"max_of_k_v{v}_n4_seed123.pt" for v in (32, 64, 128)]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mp in models:
            w = load_model(mp)
            v = w.config["d_vocab"]
            print(f"model {mp.name}: d_vocab {v}, n_ctx {w.config['n_ctx']}, d_model {w.config['d_model']}")
            for s in STRATEGIES:
                rows[(v, s)] = measure(w, s, tmp)
                b, ops, own, dt = rows[(v, s)]
                base = rows[(v, "cubic")][1]
                print(f"  {s:26s} bound {b:.6f}  checker ops {ops:>12,}  (strategy part {own:>11,})  "
                      f"ratio to cubic {ops / base:5.2f}  checker {dt:.2f} s")
    vs = sorted({v for v, _ in rows})
    print("\ngrowth exponent b of checker operations ~ d_vocab^b, fitted over d_vocab " + ", ".join(map(str, vs)))
    for s in STRATEGIES:
        tot = growth_exponent(vs, [rows[(v, s)][1] for v in vs])
        own = growth_exponent(vs, [rows[(v, s)][2] for v in vs])
        print(f"  {s:26s} total b = {tot:.2f}   strategy part b = {own:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
