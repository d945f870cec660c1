"""The subcubic proofs (docs/certificate-format.md, section 8): sound input by input, never above
the brute force, re-checked by checker/, and every wrong witness or claim rejected."""
from __future__ import annotations

import copy
import json
from itertools import combinations, product

import pytest

from mechcert.certificates.brute_force import _Tables, brute_force_counts, decide_input
from mechcert.certificates.certificate import build_certificate, write_certificate
from mechcert.certificates.max_of_k import MaxOfKModel
from mechcert.certificates.subcubic import (SUBCUBIC_STRATEGIES, ceil_isqrt, subcubic_certify,
                                            subcubic_witnesses)
from mechcert.checker import check
from mechcert.extract import load_model

from .conftest import SMALL_MODEL, tiny_model_file

CONFIGS = [(1, 6, 3, 8, 150), (2, 7, 4, 8, 300), (3, 5, 2, 4, 100), (4, 8, 3, 16, 600), (5, 4, 5, 8, 400)]
STRATS = list(SUBCUBIC_STRATEGIES)


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda c: f"s{c[0]}_v{c[1]}_n{c[2]}")
def tiny(request, tmp_path_factory):
    seed, v, n, d, steps = request.param
    w = load_model(tiny_model_file(tmp_path_factory.mktemp("subcubic"), seed, v, n, d, steps))
    m = MaxOfKModel(w)
    return w, m, m.hints()


def covered_inputs(m: MaxOfKModel, gap, good0) -> list[tuple[int, ...]]:
    """The inputs section 8's count covers, built one by one from the witnesses."""
    out = []
    for mx in range(m.v):
        for q in range(mx + 1):
            if good0[(q, mx)]:
                out.append((mx,) * (m.n - 1) + (q,))
            for c in range(1, (m.n - 1 if q == mx else m.n - 2) + 1):
                N = gap[q][mx][c - 1]
                for slots in combinations(range(m.n - 1), c):
                    for toks in product(range(N), repeat=c):
                        x = [mx] * (m.n - 1) + [q]
                        for p, t in zip(slots, toks):
                            x[p] = t
                        out.append(tuple(x))
    return out


@pytest.mark.parametrize("strategy", STRATS)
def test_every_covered_input_is_proven_correct_by_brute_force(tiny, strategy):
    """Soundness, input by input: the count is exactly the enumerated covered inputs, all distinct,
    and the exact brute force (with the exact hints, not the strategy's) proves each one correct."""
    w, m, exact_hints = tiny
    hints, res = subcubic_certify(m, strategy)
    count, gap, good0 = subcubic_witnesses(m, hints)
    xs = covered_inputs(m, gap, good0)
    assert count == res.proven_correct == len(xs) == len(set(xs))
    tb = _Tables(m, exact_hints)
    for x in xs:
        assert decide_input(tb, x) == 1, x
    assert res.proven_correct <= brute_force_counts(m, exact_hints).proven_correct


def test_subcubic_gap_never_exceeds_cubic(tiny):
    """Wd >= W and one test for all k < N is at least each k's own test: the gap count is at most
    the cubic count (same hints)."""
    from mechcert.certificates.cubic import cubic_count
    w, m, h = tiny
    hints, res = subcubic_certify(m, "subcubic-gap")
    assert hints["attn_token"] == h["attn_token"]
    assert res.proven_correct <= cubic_count(m, h).proven_correct


def test_ceil_isqrt():
    for x in list(range(200)) + [2**127 - 1, 2**128, 2**128 + 1, (3**40) ** 2]:
        r = ceil_isqrt(x)
        assert r * r >= x and (r == 0 or (r - 1) ** 2 < x)
        assert check.ceil_sqrt(x) == r


@pytest.fixture(scope="module")
def small_certs(tmp_path_factory):
    """A certificate directory per subcubic strategy for the shipped 16/3 model (no prover files)."""
    w = load_model(SMALL_MODEL)
    out = {}
    for s in STRATS:
        d = tmp_path_factory.mktemp(s) / "cert"
        write_certificate(build_certificate(w, strategy=s), d, emit=())
        out[s] = d
    return out


@pytest.mark.parametrize("strategy", STRATS)
def test_checker_accepts_and_recounts(small_certs, strategy):
    res = check.check_certificate(str(small_certs[strategy]))
    assert res.verified, res.verdict
    claim = json.loads((small_certs[strategy] / "certificate.json").read_text())["claim"]
    assert res.counts["proven_correct"] == claim["proven_correct"]
    assert res.ops > 0


def _mutated(src, tmp_path, edit):
    cert = json.loads((src / "certificate.json").read_text())
    edit(cert)
    d = tmp_path / "mut"
    d.mkdir()
    (d / "certificate.json").write_text(json.dumps(cert))
    (d / "weights.json").write_text((src / "weights.json").read_text())
    return check.check_certificate(str(d))


def _first_case(cert, want_positive=True):
    """(q, m, c-1) of a case whose witness N satisfies 0 < N < m (or N < m if not want_positive)."""
    gap = cert["hints"]["gap"]
    for q, row in enumerate(gap):
        for m, cell in enumerate(row):
            for c, N in enumerate(cell):
                if q <= m and (c + 1 <= len(cell) - 1 or q == m) and N < m and (N > 0 or not want_positive):
                    return q, m, c
    raise AssertionError("no such case")


def _raise_claim(cert):
    cert["claim"]["proven_correct"] += 1
    cert["claim"]["accuracy_lower_bound"]["numerator"] += 1


def _witness_plus_one(cert):
    q, m, c = _first_case(cert, want_positive=False)
    cert["hints"]["gap"][q][m][c] += 1


def _noncase_one(cert):
    n1 = len(cert["hints"]["gap"][0][0])
    cert["hints"]["gap"][1][0][0] = 1  # m = 0 < q = 1: not a case
    assert n1 >= 1


def _witness_above_m(cert):
    cert["hints"]["gap"][0][0][0] = 1  # q = m = 0, c = 1: N <= m = 0


def _witness_negative(cert):
    cert["hints"]["gap"][0][0][0] = -1


def _gap_short(cert):
    cert["hints"]["gap"][-1].pop()


def _gap_missing(cert):
    del cert["hints"]["gap"]


def _gap_bool(cert):
    cert["hints"]["gap"][0][0][0] = False


MUTATIONS = [_raise_claim, _witness_plus_one, _noncase_one, _witness_above_m, _witness_negative, _gap_short,
             _gap_missing, _gap_bool]


@pytest.mark.parametrize("strategy", STRATS)
@pytest.mark.parametrize("edit", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
def test_checker_rejects_wrong_witnesses_and_claims(small_certs, strategy, edit, tmp_path):
    res = _mutated(small_certs[strategy], tmp_path, edit)
    assert not res.verified
    assert res.verdict.startswith("REJECTED: ")


def _rank_one_edits():
    def short(k):
        return lambda c: c["hints"]["rank_one"][k].pop()

    def beta_shift(c):
        c["hints"]["rank_one"]["beta"][3] += 2**20  # token 3's interval moves: its hints no longer hold

    def missing(c):
        del c["hints"]["rank_one"]

    def huge_direction(c):
        c["hints"]["rank_one"]["direction"] = [x * 2**30 for x in c["hints"]["rank_one"]["direction"]]

    return [short("centre"), short("direction"), short("beta"), beta_shift, missing, huge_direction]


@pytest.mark.parametrize("strategy", ["subcubic-rank-one", "subcubic-rank-one-global"])
@pytest.mark.parametrize("i", range(6))
def test_checker_rejects_a_rank_one_hint_that_no_longer_bounds_the_hints(small_certs, strategy, i, tmp_path):
    res = _mutated(small_certs[strategy], tmp_path, _rank_one_edits()[i])
    assert not res.verified, res.verdict


def test_gap_certificate_with_rank_one_key_is_rejected(small_certs, tmp_path):
    src = json.loads((small_certs["subcubic-rank-one"] / "certificate.json").read_text())
    res = _mutated(small_certs["subcubic-gap"], tmp_path,
                   lambda c: c["hints"].__setitem__("rank_one", copy.deepcopy(src["hints"]["rank_one"])))
    assert not res.verified and "rank_one" in res.verdict
