"""The cubic proof: never claims more than the brute force, and counts what it covers."""
from __future__ import annotations

from itertools import product

import pytest

from mechcert.certificates.brute_force import _Tables, brute_force_counts, decide_input
from mechcert.certificates.cubic import count_from_good, cubic_count, cubic_good
from mechcert.certificates.cubic_float import cubic_count_float64
from mechcert.certificates.max_of_k import MaxOfKModel
from mechcert.extract import load_model

from .conftest import SMALL_MODEL, tiny_model_file

# (seed, d_vocab, n_ctx, d_model, steps): weak and strong tiny models of several sizes.
CONFIGS = [(1, 6, 3, 8, 150), (2, 7, 4, 8, 300), (3, 5, 2, 4, 100), (4, 8, 3, 16, 600), (5, 4, 5, 8, 400)]


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda c: f"s{c[0]}_v{c[1]}_n{c[2]}")
def tiny(request, tmp_path_factory):
    seed, v, n, d, steps = request.param
    w = load_model(tiny_model_file(tmp_path_factory.mktemp("cubic"), seed, v, n, d, steps))
    m = MaxOfKModel(w)
    return w, m, m.hints()


def covered_inputs(m: MaxOfKModel, good) -> list[tuple[int, ...]]:
    """The inputs the cubic argument covers, enumerated one by one."""
    out = []
    for x in product(range(m.v), repeat=m.n):
        q, mx = x[-1], max(x)
        others = [t for t in x[:-1] if t != mx]
        c = len(others)
        if c == 0:
            ok = good[(q, 0)][mx, mx]
        else:
            ok = all(good[(q, c)][mx, k] for k in others)
        if ok:
            out.append(x)
    return out


def test_cubic_count_equals_the_enumerated_covered_inputs(tiny):
    w, m, h = tiny
    good = cubic_good(m, h)
    assert count_from_good(m.v, m.n, good) == len(covered_inputs(m, good))


def test_every_covered_input_is_proven_correct_by_brute_force(tiny):
    w, m, h = tiny
    tb = _Tables(m, h)
    for x in covered_inputs(m, cubic_good(m, h)):
        assert decide_input(tb, x) == 1, x


def test_cubic_never_exceeds_brute_force(tiny):
    w, m, h = tiny
    assert cubic_count(m, h).proven_correct <= brute_force_counts(m, h).proven_correct


def test_cubic_never_exceeds_brute_force_on_the_small_model(small_weights):
    m = MaxOfKModel(small_weights)
    h = m.hints()
    assert cubic_count(m, h).proven_correct <= brute_force_counts(m, h).proven_correct


def test_some_tiny_model_has_a_nontrivial_cubic_bound(tiny):
    w, m, h = tiny
    c = cubic_count(m, h).proven_correct
    assert 0 <= c <= m.v**m.n


def test_float64_baseline_matches_the_rigorous_count_closely(tiny):
    w, m, h = tiny
    rig = cubic_count(m, h).proven_correct
    assert abs(cubic_count_float64(w) - rig) <= max(1, m.v**m.n // 500)
