"""Rigorous brute force vs a plain torch float32 forward pass, in one process.

    python benchmarks/bench_brute_force.py [--model models/max_of_k_v64_n4_seed123.pt] [--rounds 1]

Times, interleaved round by round in this one process (the machine is shared,
so only ratios measured side by side mean much):
  torch   plain float32 forward pass of mechcert.model.MaxOfK over all v^n inputs
          (chunked, torch.no_grad, all threads; with the argmax test, which is negligible)
  fast    certificates.backend_fast.brute_force_counts_fast, jobs=1 and jobs=2
Then prints the counts (rigorous proven correct / wrong / undecided), torch
float64's count of correct inputs (accuracy_all_inputs), the consistency
checks proven_correct <= f64 <= inputs - proven_wrong, peak memory, and the
time of the exact pure-Python decision per input (on a sample, compared with the
fast decisions) extrapolated to all inputs. Assert-free: it only prints.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from mechcert.certificates.backend_fast import DEFAULT_CHUNK, FastBackend, brute_force_counts_fast
from mechcert.certificates.brute_force import _Tables, decide_input
from mechcert.certificates.max_of_k import MaxOfKModel
from mechcert.extract import load_model
from mechcert.model import MaxOfK, MaxOfKConfig, accuracy_all_inputs, all_inputs

ROOT = Path(__file__).resolve().parent.parent


def torch_model(path: Path, cfg: dict) -> MaxOfK:
    sd = torch.load(path, map_location="cpu", weights_only=True)
    model = MaxOfK(MaxOfKConfig(cfg["d_vocab"], cfg["n_ctx"], cfg["d_model"], cfg["d_head"], cfg["n_heads"]))
    model.load_state_dict(sd)
    return model.eval()


@torch.no_grad()
def torch_forward_all(model: MaxOfK, v: int, n: int, chunk: int) -> int:
    """Plain float32 forward over every input; returns the argmax-correct count."""
    total = v**n
    correct = 0
    for s in range(0, total, chunk):
        x = all_inputs(v, n, s, min(total, s + chunk))
        logits = model(x)[:, -1, :]
        correct += int((logits.argmax(dim=-1) == x.max(dim=-1).values).sum())
    return correct


def rss_mib(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def cpu_s() -> float:
    """CPU seconds (user + system) of this process, all threads, plus reaped children."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def timed(f):
    w0, c0 = time.perf_counter(), cpu_s()
    r = f()
    return r, time.perf_counter() - w0, cpu_s() - c0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models" / "max_of_k_v64_n4_seed123.pt"))
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds of torch / fast j1 / fast j2")
    ap.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="fast backend: inputs per box")
    ap.add_argument("--torch-chunk", type=int, default=1 << 16)
    ap.add_argument("--exact-sample", type=int, default=3000, help="inputs timed with the exact decision")
    ap.add_argument("--skip-float64", action="store_true")
    args = ap.parse_args(argv)

    torch.set_num_threads(os.cpu_count() or 1)
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, numpy {np.__version__}, "
          f"cpus {os.cpu_count()}, torch threads {torch.get_num_threads()}")
    path = Path(args.model)

    t0 = time.perf_counter()
    w = load_model(path)
    model = MaxOfKModel(w)
    t1 = time.perf_counter()
    hints = model.hints()
    t2 = time.perf_counter()
    be = FastBackend(model, hints)
    t3 = time.perf_counter()
    v, n = model.v, model.n
    total = v**n
    print(f"model {path.name}: v={v} n={n} d={model.d} h={model.h}, {total:,} inputs")
    print(f"setup: exact decomposition {t1 - t0:.2f} s, exp hints {t2 - t1:.2f} s, fast tables {t3 - t2:.3f} s")
    tm = torch_model(path, w.config)

    times = {"torch": [], "fast_j1": [], "fast_j2": []}
    cpus = {k: [] for k in times}
    res = {}
    f32_correct = None
    for r in range(args.rounds):
        f32_correct, wt, ct = timed(lambda: torch_forward_all(tm, v, n, args.torch_chunk))
        times["torch"].append(wt)
        cpus["torch"].append(ct)
        for jobs in (1, 2):
            res[jobs], wt, ct = timed(lambda: brute_force_counts_fast(model, hints, chunk=args.chunk, jobs=jobs,
                                                                      backend=be))
            times[f"fast_j{jobs}"].append(wt)
            cpus[f"fast_j{jobs}"].append(ct)
        print(f"round {r + 1}: wall (cpu) torch f32 {times['torch'][-1]:.2f} s ({cpus['torch'][-1]:.2f}), "
              f"fast jobs=1 {times['fast_j1'][-1]:.3f} s ({cpus['fast_j1'][-1]:.3f}), "
              f"fast jobs=2 {times['fast_j2'][-1]:.3f} s ({cpus['fast_j2'][-1]:.3f})")
    med = {k: statistics.median(x) for k, x in times.items()}
    mcpu = {k: statistics.median(x) for k, x in cpus.items()}
    print()
    print(f"torch float32 forward (all inputs): {med['torch']:.2f} s wall, {mcpu['torch']:.2f} s cpu   "
          f"(float32 argmax-correct: {f32_correct:,})")
    for jobs in (1, 2):
        k = f"fast_j{jobs}"
        print(f"rigorous fast brute force jobs={jobs}:  {med[k]:.3f} s wall, {mcpu[k]:.3f} s cpu;  "
              f"ratio rigorous/torch wall {med[k] / med['torch']:.4f}, cpu {mcpu[k] / mcpu['torch']:.4f}  "
              f"(torch takes {med['torch'] / med[k]:.0f}x the wall time)")
    if res[1] != res[2]:
        print(f"!! jobs=1 and jobs=2 disagree: {res[1]} vs {res[2]}")
    rb = res[1]

    # memory: the fast path's own peak (traced numpy/Python allocations), and process peaks
    tracemalloc.start()
    brute_force_counts_fast(model, hints, chunk=args.chunk, jobs=1, backend=be)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory: fast brute force (traced allocations, jobs=1) {traced_peak / 2**20:.1f} MiB; "
          f"process max RSS so far {rss_mib():.0f} MiB (includes torch), "
          f"largest child (jobs=2 workers) max RSS {rss_mib(resource.RUSAGE_CHILDREN):.0f} MiB")

    print()
    print(f"rigorous counts: proven correct {rb.proven_correct:,}, proven wrong {rb.proven_wrong:,}, "
          f"undecided {rb.undecided:,} (of {rb.inputs:,})")
    print(f"accuracy bounds: [{rb.proven_correct / total:.8f}, {(total - rb.proven_wrong) / total:.8f}]")
    if not args.skip_float64:
        t = time.perf_counter()
        f64_correct, _ = accuracy_all_inputs(torch_model(path, w.config), v, n, dtype=torch.float64)
        t64 = time.perf_counter() - t
        upper = total - rb.proven_wrong
        print(f"torch float64 correct: {f64_correct:,} ({t64:.1f} s)")
        ok = rb.proven_correct <= f64_correct <= upper
        print(f"check proven_correct <= float64 correct <= inputs - proven_wrong: "
              f"{rb.proven_correct:,} <= {f64_correct:,} <= {upper:,}: {'OK' if ok else 'VIOLATED'}")
        gap_lo, gap_hi = f64_correct - rb.proven_correct, upper - f64_correct
        cov = gap_lo <= rb.undecided and gap_hi <= rb.undecided and gap_lo + gap_hi == rb.undecided
        print(f"check gaps covered by undecided: (f64 - proven_correct) = {gap_lo:,}, "
              f"(inputs - proven_wrong - f64) = {gap_hi:,}, sum = {gap_lo + gap_hi:,} = undecided "
              f"{rb.undecided:,}: {'OK' if cov else 'VIOLATED'}")

    # the exact pure-Python decision (section 5), per input, on a random sample
    k = min(args.exact_sample, total)
    if k:
        dec = be.decide_all(chunk=args.chunk)
        tb = _Tables(model, hints)
        rng = np.random.default_rng(0)
        sample = rng.choice(total, size=k, replace=False) if total > k else np.arange(total)
        xs = [tuple(int(a) for a in np.unravel_index(i, (v,) * n)) for i in sample]
        t = time.perf_counter()
        exact = [decide_input(tb, x) for x in xs]
        te = time.perf_counter() - t
        agree = sum(int(e == dec[i]) for e, i in zip(exact, sample))
        never_more = all(dec[i] == 0 or dec[i] == e for e, i in zip(exact, sample))
        print(f"exact pure-Python decision: {te / k * 1e6:.1f} us per input on {k} random inputs -> "
              f"~{te / k * total / 60:.1f} min for all {total:,} inputs on one core; "
              f"fast agrees on {agree}/{k}, never more decided: {never_more}")


if __name__ == "__main__":
    main()
