"""The mechcert command line: train, certify, check, verify.

Each subcommand is one call into the pipeline (style.md: model file ->
extract -> strategy -> certificate -> templates -> prover). Errors in the
input are one line on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .progress import Progress

STRATEGIES = ("brute-force", "cubic", "subcubic-gap", "subcubic-rank-one", "subcubic-rank-one-global")

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

_EPILOG_CERTIFY = """\
examples:
  mechcert certify models/max_of_k_v16_n3_seed123.pt --out /tmp/c
  mechcert check /tmp/c && mechcert verify /tmp/c

The certificate directory holds certificate.json (claim, exact counts, hints),
weights.json (exact weights, SHA-256 bound) and coq/ (make check).
"""


def _die(msg: str, code: int = EXIT_FAIL) -> int:
    print(f"mechcert: error: {msg}", file=sys.stderr)
    return code


def cmd_train(args) -> int:
    import torch

    from .model import MaxOfKConfig, accuracy_all_inputs, train_max_of_k

    if min(args.d_vocab, args.n_ctx, args.d_model, args.d_head, args.steps) < 1:
        return _die("sizes and --steps must be positive", EXIT_USAGE)
    out = Path(args.out) if args.out else Path(f"models/max_of_k_v{args.d_vocab}_n{args.n_ctx}_seed{args.seed}.pt")
    if out.exists() and not args.force:
        return _die(f"{out} already exists (use --force to replace it)")
    torch.set_num_threads(1)  # small models: one thread is fastest
    cfg = MaxOfKConfig(args.d_vocab, args.n_ctx, args.d_model, args.d_head)
    bar = Progress()
    t0 = time.perf_counter()
    model = train_max_of_k(cfg, seed=args.seed, steps=args.steps,
                           progress=lambda i, n, loss: bar("train", i, n, f"loss {loss:.4f}"))
    train_s = time.perf_counter() - t0
    correct, total = accuracy_all_inputs(model, cfg.d_vocab, cfg.n_ctx) if cfg.d_vocab ** cfg.n_ctx <= 1 << 24 else (None, None)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, out)
    print(f"wrote {out}  (seed {args.seed}, {args.steps} steps, {train_s:.1f}s)")
    if correct is not None:
        print(f"float64 accuracy over all {total} inputs: {correct}/{total} = {correct / total:.6f} (not rigorous)")
    return EXIT_OK


def cmd_certify(args) -> int:
    from mechcert.certificates.certificate import build_certificate, summary, write_certificate
    from mechcert.certificates.io import OutputExistsError
    from mechcert.extract import ModelError, load_model

    out = Path(args.out)
    if out.exists() and not args.force:
        return _die(f"{out} already exists (use --force to replace it)")
    emit = [e.strip() for e in ("coq,lean" if args.emit is None else args.emit).split(",") if e.strip()]
    for e in emit:
        if e not in ("coq", "lean"):
            return _die(f"unknown prover {e!r} in --emit (available: coq, lean)", EXIT_USAGE)
    if args.jobs < 1:
        return _die("--jobs must be at least 1", EXIT_USAGE)
    if args.backend == "fast" and args.strategy != "brute-force":
        return _die("--backend fast applies to --strategy brute-force only", EXIT_USAGE)
    bar = Progress()
    try:
        weights = load_model(args.model)
        result = build_certificate(weights, task=args.task, strategy=args.strategy, progress=bar,
                                   brute_force_backend=args.backend, jobs=args.jobs)
        t0 = time.perf_counter()
        write_certificate(result, out, force=args.force, emit=emit, lean_native=args.lean_native)
        result.timings["write_s"] = time.perf_counter() - t0
    except (ModelError, ValueError, OutputExistsError) as exc:
        return _die(str(exc))
    except KeyboardInterrupt:
        return _die("interrupted; nothing was written", 130)
    print(summary(result))
    print(f"wrote      {out}/ (certificate.json, weights.json{''.join(', ' + e + '/' for e in emit)})")
    if "lean" in emit:
        print(f"lean       kernel evaluation ({'native_decide: trusts the compiler, axiom Lean.ofReduceBool' if args.lean_native else 'decide +kernel: no extra axiom'})")
    print(f"next       mechcert check {out}   # standalone exact checker\n"
          f"           mechcert verify {out}  # proof assistants (make check)")
    return EXIT_OK


def _checker_path() -> Path:
    from importlib.resources import files

    return Path(str(files("mechcert.checker") / "check.py"))


def cmd_check(args) -> int:
    cmd = [sys.executable, str(_checker_path()), str(args.cert_dir)]
    if args.jobs != 1:
        cmd += ["--jobs", str(args.jobs)]
    if args.quiet:
        cmd.append("--quiet")
    return subprocess.call(cmd)


def _prover_missing(prover: str) -> str | None:
    if prover == "coq" and shutil.which("coqc") is None:
        return "coqc not found: install Coq 8.16 (Debian: apt-get install coq libcoq-stdlib)"
    if prover == "lean" and shutil.which("lake") is None and shutil.which("lean") is None:
        return ("lean/lake not found: install Lean 4 (elan, https://leanprover.github.io); "
                "it cannot be installed on mechcert's build machine")
    if shutil.which("make") is None:
        return "make not found"
    return None


def _project_mismatch(cert: Path, prover: str) -> str | None:
    """None if CERT_DIR/<prover> is exactly what mechcert renders from certificate.json and
    weights.json (its static library included); else what differs. A hand-edited project
    could state a weaker claim that the prover would still accept, or change what the theorem
    means through its library; neither may pass as this certificate."""
    import json
    import tempfile

    from mechcert.certificates.render_coq import render_coq
    from mechcert.certificates.render_lean import render_lean

    try:
        c = json.loads((cert / "certificate.json").read_text())
        w = json.loads((cert / "weights.json").read_text())
        native = bool(c.get("producer", {}).get("lean_native", False)) if isinstance(c, dict) else False
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / prover
            if prover == "coq":
                render_coq(c, w, fresh)
            else:
                render_lean(c, w, fresh, native=native)
            for f in sorted(fresh.iterdir()):
                here = cert / prover / f.name
                if not here.is_file() or here.read_bytes() != f.read_bytes():
                    return f"{here} is not what certificate.json and weights.json render to"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"certificate.json / weights.json cannot be rendered ({type(exc).__name__}: {str(exc)[:120]})"
    return None


def cmd_verify(args) -> int:
    cert = Path(args.cert_dir)
    if not (cert / "certificate.json").is_file():
        return _die(f"{cert}: not a certificate directory (no certificate.json)")
    explicit = args.prover != "all"
    provers = [args.prover] if explicit else [p for p in ("coq", "lean") if (cert / p / "Makefile").is_file()]
    if not provers:
        return _die(f"{cert}: no rendered prover project (certify with --emit coq,lean)")
    verified, failed, skipped = [], [], []
    for prover in provers:
        proj = cert / prover
        if not (proj / "Makefile").is_file():
            return _die(f"{proj}: no rendered {prover} project (certify with --emit {prover})")
        mismatch = _project_mismatch(cert, prover)
        if mismatch:
            print(f"[{prover}] REJECTED: {mismatch}", file=sys.stderr)
            failed.append(prover)
            continue
        missing = _prover_missing(prover)
        if missing:
            print(f"[{prover}] {'error' if explicit else 'skipped'}: {missing}", file=sys.stderr)
            (failed if explicit else skipped).append(prover)
            continue
        print(f"[{prover}] make check in {proj}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(["make", "-s", "check"], cwd=proj)
        dt = time.perf_counter() - t0
        if rc == 0:
            print(f"[{prover}] VERIFIED by {prover} in {dt:.1f}s (axiom audit passed, nothing admitted)")
            verified.append(prover)
        else:
            print(f"[{prover}] REJECTED: make check failed (exit {rc}) after {dt:.1f}s", file=sys.stderr)
            failed.append(prover)
    line = f"verified by: {', '.join(verified) or 'none'}"
    if skipped:
        line += f"; not installed, skipped: {', '.join(skipped)}"
    if failed:
        line += f"; FAILED: {', '.join(failed)}"
    print(line)
    return EXIT_OK if verified and not failed else EXIT_FAIL


def cmd_frontier(args) -> int:
    from mechcert.extract import ModelError, load_model
    from mechcert.frontier import run_frontier, write_outputs

    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    for s in strategies:
        if s not in STRATEGIES:
            return _die(f"unknown strategy {s!r} in --strategies (available: {', '.join(STRATEGIES)})", EXIT_USAGE)
    if args.jobs < 1:
        return _die("--jobs must be at least 1", EXIT_USAGE)
    try:
        weights = load_model(args.model)
        rows = run_frontier(weights, Path(args.out), strategies, coq=args.coq, coq_limit_s=args.coq_limit,
                            jobs=args.jobs, progress=Progress())
        files = write_outputs(rows, Path(args.out), Path(args.model).name, weights.config)
    except (ModelError, ValueError, RuntimeError) as exc:
        return _die(str(exc))
    except KeyboardInterrupt:
        return _die("interrupted; the table was not written", 130)
    print()
    print((Path(args.out) / "frontier.md").read_text(), end="")
    print(f"wrote      {', '.join(str(f) for f in files)}, certificates in {Path(args.out) / 'certs'}/")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mechcert",
        description="Formally checked lower bounds on a neural network's accuracy over every input. "
                    "certify writes a certificate; check re-derives it with exact arithmetic (standard "
                    "library only); verify asks a proof assistant to re-check it.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser("train", help="train a model of a task (published recipe)",
                       description="Train a model with the published recipe and save its state_dict "
                                   "(TransformerLens parameter names).")
    tsub = t.add_subparsers(dest="task", metavar="TASK")
    tsub.required = True
    mk = tsub.add_parser("max-of-k", help="the Max-of-K task: predict the largest of n_ctx tokens",
                         description="AdamW lr 1e-3, batch 128, uniform random sequences, label = max.")
    mk.add_argument("--seed", type=int, default=123, help="random seed (default 123, the published one)")
    mk.add_argument("--d-vocab", type=int, default=64, help="vocabulary size (default 64)")
    mk.add_argument("--n-ctx", type=int, default=4, help="sequence length K (default 4)")
    mk.add_argument("--d-model", type=int, default=32, help="residual width (default 32)")
    mk.add_argument("--d-head", type=int, default=32, help="attention head width (default 32)")
    mk.add_argument("--steps", type=int, default=3000, help="training steps (default 3000)")
    mk.add_argument("--out", help="output .pt (default models/max_of_k_v{V}_n{N}_seed{S}.pt)")
    mk.add_argument("--force", action="store_true", help="replace an existing file")
    mk.set_defaults(func=cmd_train)

    c = sub.add_parser("certify", help="prove a lower bound on a model's accuracy; write a certificate",
                       description="Read MODEL (.pt state_dict or TransformerLens checkpoint, or .npz), "
                                   "run a proof strategy with rigorous arithmetic, and write a certificate "
                                   "directory with the rendered prover projects.",
                       epilog=_EPILOG_CERTIFY, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("model", help="model file (.pt, .pth or .npz)")
    c.add_argument("--task", default="max-of-k", choices=["max-of-k"], help="what the model computes (default max-of-k)")
    c.add_argument("--strategy", default="brute-force", choices=list(STRATEGIES),
                   help="proof strategy: brute-force (every input; default), cubic (the O(v^3 n^2) "
                        "compact proof), subcubic-gap (O(v^2 n) tests: attention by the smallest gap, "
                        "direct path by max differences), subcubic-rank-one (also EQKE as rank one plus a "
                        "norm-bounded error), subcubic-rank-one-global (one global error norm)")
    c.add_argument("--out", required=True, help="certificate directory to create")
    c.add_argument("--emit", default=None,
                   help="prover projects to render, comma-separated: coq, lean (default both)")
    c.add_argument("--lean-native", action="store_true",
                   help="prove the Lean theorem with native_decide (fast, but trusts the compiler: "
                        "adds the axiom Lean.ofReduceBool); default: kernel evaluation")
    c.add_argument("--backend", default="exact", choices=["exact", "fast"],
                   help="brute-force decisions: exact (pure-Python integers, the same counts as the "
                        "checkers; default) or fast (vectorised float64 with rigorous error bounds; may "
                        "leave a few inputs undecided, so its claim can be below the checkers' counts)")
    c.add_argument("--jobs", type=int, default=1, help="processes for --backend fast (default 1)")
    c.add_argument("--force", action="store_true", help="replace an existing certificate directory")
    c.set_defaults(func=cmd_certify)

    k = sub.add_parser("check", help="re-check a certificate with the standalone exact checker",
                       description="Run checker/check.py (Python standard library only, exact arithmetic) "
                                   "on CERT_DIR. Exit 0 with a VERIFIED line, or 1 naming the first failure.")
    k.add_argument("cert_dir")
    k.add_argument("--jobs", type=int, default=1, help="processes for the input loop (default 1)")
    k.add_argument("--quiet", action="store_true", help="print the verdict line only")
    k.set_defaults(func=cmd_check)

    v = sub.add_parser("verify", help="re-check a certificate with a proof assistant (make check)",
                       description="Run `make check` in CERT_DIR/coq and CERT_DIR/lean: the prover re-checks "
                                   "the claim by computation, then an axiom audit (Coq: Print Assumptions must say "
                                   "'Closed under the global context'; Lean: #print axioms must show no sorryAx, "
                                   "and no Lean.ofReduceBool unless certified with --lean-native).")
    v.add_argument("cert_dir")
    v.add_argument("--prover", default="all", choices=["coq", "lean", "all"],
                   help="which prover (default all: every rendered project)")
    v.set_defaults(func=cmd_verify)

    f = sub.add_parser("frontier", help="run every strategy on one model; tabulate bound against proof cost",
                       description="Certify MODEL with every strategy, re-check each certificate with the "
                                   "standalone checker (which counts its integer operations: the proof cost) "
                                   "and with Coq where installed, and write OUT/frontier.csv, OUT/frontier.md "
                                   "and OUT/frontier.png (bound against proof cost, brute-force accuracy "
                                   "marked). The certificates are kept in OUT/certs/STRATEGY.")
    f.add_argument("model", help="model file (.pt, .pth or .npz)")
    f.add_argument("--out", required=True, help="output directory (created; its certs/ is replaced)")
    f.add_argument("--strategies", default=",".join(STRATEGIES),
                   help=f"comma-separated (default all: {','.join(STRATEGIES)}); brute force uses the fast "
                        "rigorous backend")
    f.add_argument("--coq", default="auto", choices=["auto", "yes", "no"],
                   help="run Coq's make check: auto (default: when coqc is installed and the estimated time "
                        "is within --coq-limit), yes (always; fails if coqc is missing), no")
    f.add_argument("--coq-limit", type=float, default=900, metavar="SECONDS",
                   help="skip Coq for a strategy whose estimated check time exceeds this (default 900)")
    f.add_argument("--jobs", type=int, default=1, help="processes for the brute force (default 1)")
    f.set_defaults(func=cmd_frontier)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `mechcert ... | head`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
