"""The Coq check of the subcubic strategies (docs/certificate-format.md, section 8; MechCert.v,
section 10): Coq accepts the producer's certificates with no axioms, computes exactly the
producer's count, and rejects a raised claim, a witness raised past what passes, a witness out
of its range (a non-case not 0, N < 0, N > m), a witness or a rank_one hint of the wrong shape,
a changed hash and a model with one position.

The shipped small model (16 / 3) goes through the CLI (about 10 s of coqc per strategy); the
rejections use the weak tiny model of conftest (v = 6, n = 3, d = 8: about 2 s each), next to
the same model's honest certificate, which Coq accepts.
"""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from math import isqrt
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mechcert.certificates.arith import ceil_shift
from mechcert.certificates.certificate import build_certificate
from mechcert.certificates.max_of_k import MaxOfKModel
from mechcert.certificates.render_coq import CHUNK, THEOREM_NAMES, coq_context, render_coq
from mechcert.certificates.subcubic import _top2_except, ceil_isqrt, direct_tables, score_intervals
from mechcert.extract import load_model, weights_from_arrays

from .conftest import SMALL_MODEL, random_arrays, require_coqc, tiny_model_file
from .test_coq import _zlit, accepted, coq_examples, make_check

STRATEGIES = ("subcubic-gap", "subcubic-rank-one", "subcubic-rank-one-global")
RANK_ONE = ("subcubic-rank-one", "subcubic-rank-one-global")
COQ_TERM = {"subcubic-gap": "subcubic_gap", "subcubic-rank-one": "(subcubic_rank_one rank_one)",
            "subcubic-rank-one-global": "(subcubic_rank_one_global rank_one)"}


# -- fixtures and helpers --------------------------------------------------
@pytest.fixture(scope="module")
def weak(weak_model_file) -> dict[str, tuple[dict, dict]]:
    """strategy -> (certificate.json, weights.json) of the weak tiny model (v=6, n=3)."""
    w = load_model(weak_model_file)
    out = {}
    for s in STRATEGIES:
        res = build_certificate(w, strategy=s)
        assert 0 < res.claim["proven_correct"] < res.claim["inputs"], s
        out[s] = (res.certificate, res.weights.to_json_dict())
    return out


def fresh(weak, strategy: str) -> tuple[dict, dict]:
    return copy.deepcopy(weak[strategy])


def set_claim(cert: dict, correct: int) -> None:
    c = cert["claim"]
    c["proven_correct"] = correct
    c["accuracy_lower_bound"] = {"numerator": correct, "denominator": c["inputs"]}


def coq_verdict(cert: dict, weights: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    require_coqc()
    out = tmp_path / "coq"
    render_coq(cert, weights, out)
    return make_check(out)


def rejected_by_subcubic_check(r: subprocess.CompletedProcess) -> bool:
    """make check failed because [subcubic_check .. cert] computed to false (not, say, a syntax error)."""
    out = " ".join((r.stdout + r.stderr).split())
    return r.returncode != 0 and bool(re.search(r'is expected to have type "subcubic_check .* gap cert = true"', out))


def cases(v: int, n: int) -> list[tuple[int, int, int]]:
    """(q, m, c-1) of every case of section 8.3: q <= m, c <= n-2 or q = m."""
    return [(q, m, c) for q in range(v) for m in range(q, v) for c in range(n - 1) if c + 1 <= n - 2 or q == m]


# -- rendering (no prover) -------------------------------------------------
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_subcubic_theorem_states_hash_inputs_and_count(weak, tmp_path, strategy):
    cert, weights = fresh(weak, strategy)
    render_coq(cert, weights, tmp_path / "coq")
    text = (tmp_path / "coq" / "Certificate.v").read_text()
    c, name, term = cert["claim"], THEOREM_NAMES[strategy], COQ_TERM[strategy]
    statement = (f"Theorem {name} :\n"
                 f"  weights_sha256 cert = 0x{cert['model']['sha256']}\n"
                 f"  /\\ num_inputs cert = {c['inputs']}\n"
                 f"  /\\ {c['proven_correct']} <= subcubic_proven_correct {term} gap cert.")
    assert statement in text
    assert f"refine (subcubic_check_sound {term} gap cert _)" in text
    assert f'by the subcubic compact proof "{strategy}"' in text
    assert f"Print Assumptions {name}." in text
    # the record's other fields hold the trivial claim that subcubic_check requires
    assert "claimed_wrong := 0;" in text
    assert f"claimed_upper_bound := ({c['inputs']}, {c['inputs']})" in text
    assert ("Definition rank_one : rank_one_hint" in text) == (strategy in RANK_ONE)
    assert f"{name}: closed" in (tmp_path / "coq" / "Makefile").read_text()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_coq_data_holds_the_witness_and_the_rank_one_hint(weak, tmp_path, strategy):
    cert, weights = fresh(weak, strategy)
    render_coq(cert, weights, tmp_path / "coq")
    text = (tmp_path / "coq" / "Certificate.v").read_text()
    rows = re.findall(r"Definition gap_\d+ : list \(list \(list Z\)\) := \[(.*?)\]\.\n", text, re.S)
    parsed = json.loads("[" + ",".join(r.replace(";", ",") for r in rows) + "]")
    assert parsed == cert["hints"]["gap"]
    if strategy in RANK_ONE:
        args = text.split("Definition rank_one : rank_one_hint := mk_rank_one_hint\n", 1)[1].split(".\n", 1)[0]
        lists = [[-int(d, 16) if neg else int(d, 16) for neg, d in re.findall(r"(\(-)?0x([0-9a-f]+)", line)]
                 for line in args.split("\n")]
        r1 = cert["hints"]["rank_one"]
        assert lists == [r1["centre"], r1["direction"], r1["beta"]]


def test_gap_literals_are_chunked(weak):
    cert, weights = fresh(weak, "subcubic-gap")
    cert["hints"]["gap"] = [[[1, 2, 3]] * 100 for _ in range(20)]  # 300 integers per row
    chunks = coq_context(cert, weights)["gap_chunks"]
    assert all(sum(len(x) for row in chunk for x in row) <= CHUNK for chunk in chunks)
    assert sum(len(chunk) for chunk in chunks) == 20


@pytest.mark.parametrize("gap", [[[[0.0]]], [[["1"]]], [[1]], [[[True]]], None, {"0": 0}])
def test_render_refuses_a_malformed_gap(weak, tmp_path, gap):
    cert, weights = fresh(weak, "subcubic-gap")
    cert["hints"]["gap"] = gap
    with pytest.raises(ValueError):
        render_coq(cert, weights, tmp_path / "coq")


def test_render_refuses_a_rank_one_strategy_without_its_hint(weak, tmp_path):
    cert, weights = fresh(weak, "subcubic-rank-one")
    del cert["hints"]["rank_one"]
    with pytest.raises(ValueError, match="rank_one"):
        render_coq(cert, weights, tmp_path / "coq")


# -- Coq accepts the producer's certificates -------------------------------
@pytest.mark.prover
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_coq_accepts_the_small_model_certificate_from_the_cli(tmp_path, strategy):
    require_coqc()
    out = tmp_path / "cert"
    r = subprocess.run([sys.executable, "-m", "mechcert", "certify", str(SMALL_MODEL),
                        "--strategy", strategy, "--out", str(out), "--emit", "coq"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    r = make_check(out / "coq")
    assert accepted(r), r.stdout + r.stderr
    assert f"{THEOREM_NAMES[strategy]}: closed under the global context" in r.stdout


@pytest.mark.prover
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_coq_accepts_the_weak_model_certificate(weak, tmp_path, strategy):
    r = coq_verdict(*fresh(weak, strategy), tmp_path)
    assert accepted(r), r.stdout + r.stderr


# -- Coq rejects lies --------------------------------------------------------
@pytest.mark.prover
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_coq_rejects_a_claim_one_above_the_count(weak, tmp_path, strategy):
    cert, weights = fresh(weak, strategy)
    set_claim(cert, cert["claim"]["proven_correct"] + 1)
    assert rejected_by_subcubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_coq_rejects_a_witness_raised_past_what_passes(weak, tmp_path, strategy):
    # The producer writes the largest N that passes (binary search), so where N < m the test
    # failed at N + 1. The claim stays (it is below the count the raised witness would give).
    cert, weights = fresh(weak, strategy)
    gap, cfg = cert["hints"]["gap"], cert["model"]["config"]
    q, m, c = next((q, m, c) for q, m, c in cases(cfg["d_vocab"], cfg["n_ctx"]) if gap[q][m][c] < m)
    gap[q][m][c] += 1
    assert rejected_by_subcubic_check(coq_verdict(cert, weights, tmp_path))


def sgood_of(w, hints: dict):
    """sgood(q, m, c, N) of section 8.3, transcribed from the doc (only to pick the witnesses below
    that leave a single check of the Coq library to reject them)."""
    model = MaxOfKModel(w)
    v, n, hb = model.v, model.n, 40
    Wd, B = direct_tables(model.logit_tables(), v, n)
    tok, pos = hints["attn_token"], hints["attn_pos"]

    def mul_up(lo, hi, g):
        return hi * g if g >= 0 else lo * g

    def sgood(q, m, c, N):
        order = sorted(range(n - 1), key=lambda p: (int(model.EQKP[q, p]), p))
        b = B[m][q]
        (Lm, Hm), (Lq, Hq), (Lp, Hp) = tok[q][m], tok[q][q], pos[q][n - 1]
        qterm = mul_up((Lq * Lp) >> hb, ceil_shift(Hq * Hp, hb), b + Wd[m][q])
        for M, K in ((order[:n - 1 - c], order[n - 1 - c:]), (order[c:], order[:c])):
            SMl, SMh = sum(pos[q][p][0] for p in M), sum(pos[q][p][1] for p in M)
            SKl, SKh = sum(pos[q][p][0] for p in K), sum(pos[q][p][1] for p in K)
            F = mul_up((Lm * SMl) >> hb, ceil_shift(Hm * SMh, hb), b + Wd[m][m]) + qterm
            if N >= 1:
                L, H = min(tok[q][k][0] for k in range(N)), max(tok[q][k][1] for k in range(N))
                F += mul_up((L * SKl) >> hb, ceil_shift(H * SKh, hb), b + max(Wd[m][:N]))
            if F >= 0:
                return False
        return True
    return sgood


def test_the_transcribed_test_agrees_with_the_producers_witnesses(weak, weak_model_file):
    cert, _ = fresh(weak, "subcubic-gap")
    sgood, gap = sgood_of(load_model(weak_model_file), cert["hints"]), cert["hints"]["gap"]
    for q, m, c in cases(6, 3):
        N = gap[q][m][c]
        assert (N == 0 or sgood(q, m, c + 1, N)) and (N == m or not sgood(q, m, c + 1, N + 1))


@pytest.mark.prover
@pytest.mark.parametrize("where", ["m < q", "q < m, c = n-1", "N < 0"])
def test_coq_rejects_a_witness_outside_its_range(weak, tmp_path, where):
    cert, weights = fresh(weak, "subcubic-gap")
    gap, n = cert["hints"]["gap"], cert["model"]["config"]["n_ctx"]
    if where == "m < q":
        gap[3][1][0] = 1  # not a case: an input with query 3 has max >= 3
    elif where == "q < m, c = n-1":
        gap[1][3][n - 2] = 1  # not a case: the max 3 must occupy one of the n-1 other slots
    else:  # a case whose N >= 1 passes, so that sgood(1) passes too: only 0 <= N rejects
        q, m, c = next((q, m, c) for q, m, c in cases(6, n) if gap[q][m][c] >= 1)
        gap[q][m][c] = -1
    set_claim(cert, 0)  # so that only the witness check can reject
    assert rejected_by_subcubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_witness_above_m_even_where_the_test_passes(tmp_path):
    # In this model sgood(q, m, c, m + 1) holds for some case (token m in the k slots too), so
    # only the bound N <= m can reject N = m + 1.
    w = load_model(tiny_model_file(tmp_path, seed=11, v=5, n=3, d=8, steps=400))
    res = build_certificate(w, strategy="subcubic-gap")
    cert, weights = res.certificate, res.weights.to_json_dict()
    gap = cert["hints"]["gap"]
    sgood = sgood_of(w, cert["hints"])
    hits = [(q, m, c) for q, m, c in cases(5, 3) if gap[q][m][c] == m and m + 1 <= 5 and sgood(q, m, c + 1, m + 1)]
    assert hits
    q, m, c = hits[0]
    gap[q][m][c] = m + 1
    set_claim(cert, 0)
    assert rejected_by_subcubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
@pytest.mark.parametrize("edit", ["row missing", "c missing"])
def test_coq_rejects_a_witness_of_the_wrong_shape(weak, tmp_path, edit):
    cert, weights = fresh(weak, "subcubic-gap")
    gap = cert["hints"]["gap"]
    cert["hints"]["gap"] = gap[:-1] if edit == "row missing" else [[x[:-1] for x in row] for row in gap]
    set_claim(cert, 0)
    assert rejected_by_subcubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
@pytest.mark.parametrize("strategy, key, edit", [("subcubic-rank-one", "beta", "shorter"),
                                                 ("subcubic-rank-one", "centre", "longer"),
                                                 ("subcubic-rank-one-global", "direction", "shorter")])
def test_coq_rejects_a_rank_one_list_of_the_wrong_length(weak, tmp_path, strategy, key, edit):
    cert, weights = fresh(weak, strategy)
    lst = cert["hints"]["rank_one"][key]
    cert["hints"]["rank_one"][key] = lst[:-1] if edit == "shorter" else lst + [0]
    set_claim(cert, 0)  # a longer centre changes no interval: only the length check can reject
    assert rejected_by_subcubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_subcubic_certificate_with_a_changed_hash(weak, tmp_path):
    cert, weights = fresh(weak, "subcubic-rank-one")
    sha = cert["model"]["sha256"]
    cert["model"]["sha256"] = ("0" if sha[0] != "0" else "1") + sha[1:]
    assert rejected_by_subcubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_the_subcubic_claim_of_a_one_position_model(tmp_path):
    # n_ctx = 1: the producer refuses, so the certificate is made by hand from a brute-force
    # one (an empty witness per (q, m)); even the claim "at least 0 correct" must be rejected.
    arrays = random_arrays(np.random.default_rng(3), v=5, n=1, d=6, h=8, scale=0.5)
    res = build_certificate(weights_from_arrays(arrays))
    cert, weights = res.certificate, res.weights.to_json_dict()
    cert["strategy"] = "subcubic-gap"
    cert["claim"] = {"inputs": 5, "proven_correct": 0, "accuracy_lower_bound": {"numerator": 0, "denominator": 5}}
    cert["hints"]["gap"] = [[[] for _ in range(5)] for _ in range(5)]
    assert rejected_by_subcubic_check(coq_verdict(cert, weights, tmp_path))


# -- the library's new helpers against the producer's ------------------------
@pytest.mark.prover
def test_library_subcubic_helpers_agree_with_the_producer(tmp_path):
    rng = np.random.default_rng(8)
    ex = []
    for length in (2, 3, 5, 9):
        for _ in range(3):
            row = [int(x) for x in rng.integers(-4, 5, length)]  # small range: ties
            ex.append(f"subcubic_top [{'; '.join(_zlit(x) for x in row)}] = "
                      f"[{'; '.join(_zlit(x) for x in _top2_except(row))}]")
            ex.append(f"subcubic_prefix_max [{'; '.join(_zlit(x) for x in row)}] = "
                      f"[{'; '.join(_zlit(max(row[:k + 1])) for k in range(length))}]")
    for x in [0, 1, 2, 3, 4, 15, 16, 17, 2**80, 2**80 + 1, (2**61 - 1)**2, (2**61 - 1)**2 - 1]:
        assert ceil_isqrt(x) == (isqrt(x) if isqrt(x)**2 == x else isqrt(x) + 1)
        ex.append(f"ceil_sqrt {_zlit(x)} = {_zlit(ceil_isqrt(x))}")
    # the rank-one intervals of section 8.1, both error terms, against the producer's
    v, h = 5, 3
    X = [[int(x) for x in rng.integers(-2**20, 2**20, h)] for _ in range(v)]
    Y = [[int(x) for x in rng.integers(-2**20, 2**20, h)] for _ in range(v)]
    r1 = {"centre": [int(x) for x in rng.integers(-9, 9, h)], "direction": [int(x) for x in rng.integers(-99, 99, h)],
          "beta": [int(x) for x in rng.integers(-5000, 5000, v)]}
    model = SimpleNamespace(v=v, h=h, X=X, Y=Y)
    mat = lambda rows: "[" + "; ".join("[" + "; ".join(_zlit(x) for x in r) + "]" for r in rows) + "]"  # noqa: E731
    hint = "(mk_rank_one_hint " + " ".join(mat([r1[k]])[1:-1] for k in ("centre", "direction", "beta")) + ")"
    for method, flag in (("rank-one", "false"), ("rank-one-global", "true")):
        expected = score_intervals(model, method, r1)
        pairs = "[" + "; ".join("[" + "; ".join(f"({_zlit(a)}, {_zlit(b)})" for a, b in row) + "]"
                                for row in expected) + "]"
        ex.append(f"subcubic_rank_one_intervals {flag} {mat(X)} {mat(Y)} {hint} = {pairs}")
    coq_examples(tmp_path, ex)
