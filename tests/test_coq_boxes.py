"""The Coq brute force by boxes (MechCert.v, part 11; docs/certificate-format.md, section 5).

Coq's brute-force theorem runs [box_check], which counts the inputs by boxes (as
checker/check.py does) instead of deciding them one by one ([check], parts 7-8); with
n_ctx <= 2 it uses the input-by-input count itself. The counts must be exactly those of
deciding every input:
  * on tiny models with wrong and undecided inputs (and n_ctx 1 to 4), Coq's box counts equal
    its input-by-input counts ([certified_counts]) and the producer's (the reference backend
    decides every input);
  * the theorem accepts exactly the producer's claim and rejects proven_correct + 1 and
    proven_wrong + 1 (fractions adjusted), on the shipped small model and the weak tiny model.
"""
from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mechcert.certificates.certificate import build_certificate
from mechcert.certificates.render_coq import render_coq
from mechcert.extract import load_model, weights_from_arrays

from .conftest import SMALL_MODEL, random_arrays, require_coqc, tiny_model_file
from .test_coq import CLOSED, accepted, make_check, rejected_by_check, set_claim

PART_11 = "(** ** 11. Brute force by boxes"


# -- helpers ---------------------------------------------------------------
# box_counts of the certificate (box_certified_counts uses it only when n_ctx >= 3), and the
# input-by-input certified_counts.
BOTH_COUNTS = ("(let ts := cert_tensors cert in let e0 := global_scale ts in "
               "let dv := derive (cert_config cert) ts e0 in "
               "(Some (box_counts e0 dv (hint_attn_token cert) (hint_attn_pos cert)), "
               "box_certified_counts cert, certified_counts cert))")


def coq_counts(cert: dict, weights: dict, tmp_path: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    """(box_counts, certified_counts) of the rendered certificate, computed by Coq (and
    box_certified_counts, asserted equal to one of them)."""
    require_coqc()
    out = tmp_path / "coq"
    render_coq(cert, weights, out)
    with open(out / "Certificate.v", "a") as f:
        f.write(f"\nEval vm_compute in {BOTH_COUNTS}.\n")
    r = make_check(out)
    assert accepted(r), r.stdout + r.stderr
    m = re.search(r"= \(Some \((\d+), (\d+)\), Some \((\d+), (\d+)\), Some \((\d+), (\d+)\)\)",
                  " ".join(r.stdout.split()))
    assert m, r.stdout
    a, b, c, d, e, f = map(int, m.groups())
    assert (c, d) == ((a, b) if cert["model"]["config"]["n_ctx"] >= 3 else (e, f))
    return (a, b), (e, f)


@pytest.fixture(scope="module")
def weak_bf(weak_model_file) -> tuple[dict, dict]:
    """(certificate.json, weights.json) of the brute-force certificate of the weak tiny model."""
    res = build_certificate(load_model(weak_model_file))
    c = res.claim
    assert 0 < c["proven_correct"] and 0 < c["proven_wrong"]
    return res.certificate, res.weights.to_json_dict()


@pytest.fixture(scope="module")
def small_bf() -> tuple[dict, dict]:
    res = build_certificate(load_model(SMALL_MODEL))
    assert res.claim["proven_correct"] == res.claim["inputs"] == 4096
    return res.certificate, res.weights.to_json_dict()


# -- the library and the template (no prover) --------------------------------
def test_box_part_comes_last_and_keeps_the_input_by_input_brute_force():
    from importlib.resources import files

    lib = (files("mechcert.coq_templates") / "MechCert.v").read_text(encoding="utf-8")
    assert lib.count(PART_11) == 1
    before, after = lib.split(PART_11)
    assert "(** ** 10. The subcubic proofs" in before
    for name in ("brute_force_counts", "certified_counts", "proven_correct", "proven_wrong", "check"):
        assert re.search(rf"^Definition {name} ", before, re.M), name
    assert re.search(r"^Lemma check_sound ", before, re.M)
    for name in ("box_counts", "box_certified_counts", "proven_correct_by_boxes", "proven_wrong_by_boxes",
                 "box_check"):
        assert re.search(rf"^Definition {name} ", after, re.M), name
    assert re.search(r"^Lemma box_check_sound ", after, re.M)


def test_brute_force_theorem_uses_the_box_check(weak_bf, tmp_path):
    cert, weights = copy.deepcopy(weak_bf)
    render_coq(cert, weights, tmp_path / "coq")
    text = (tmp_path / "coq" / "Certificate.v").read_text()
    c = cert["claim"]
    assert (f"  /\\ {c['proven_correct']} <= proven_correct_by_boxes cert\n"
            f"  /\\ {c['proven_wrong']} <= proven_wrong_by_boxes cert.\n"
            "Proof.\n  refine (box_check_sound cert _).\n  vm_cast_no_check (eq_refl true).\nQed.") in text


# -- exactness: the box counts are the input-by-input counts -----------------
TINY = [  # (seed, v, n, d, h, scale, tie): random models with wrong inputs; with tie, W_U's columns 1
          # and 2 are equal, so logits 1 and 2 tie exactly and some inputs are undecided
    (0, 5, 3, 6, 8, 0.5, False), (1, 4, 1, 4, 4, 0.5, False), (2, 6, 2, 4, 4, 0.7, False),
    (3, 4, 4, 6, 6, 0.6, True), (4, 7, 3, 5, 5, 0.3, True), (9, 5, 2, 4, 4, 0.5, True),
    (5, 3, 4, 4, 4, 1.0, False), (7, 6, 3, 4, 4, 0.02, False),
]


def tiny_weights(seed, v, n, d, h, scale, tie):
    arrays = random_arrays(np.random.default_rng(seed), v=v, n=n, d=d, h=h, scale=scale)
    if tie:
        arrays["unembed.W_U"][:, 1] = arrays["unembed.W_U"][:, 2]
    return weights_from_arrays(arrays)


def verdicts(claim: dict) -> set[str]:
    c, w = claim["proven_correct"], claim["proven_wrong"]
    return {k for k, x in (("correct", c), ("wrong", w), ("undecided", claim["inputs"] - c - w)) if x}


@pytest.mark.prover
@pytest.mark.parametrize("cfg", TINY, ids=[f"s{c[0]}_v{c[1]}_n{c[2]}{'_tie' if c[6] else ''}" for c in TINY])
def test_box_counts_equal_the_input_by_input_counts_on_random_models(tmp_path, cfg):
    res = build_certificate(tiny_weights(*cfg))
    c = res.claim
    boxes, inputs = coq_counts(res.certificate, res.weights.to_json_dict(), tmp_path)
    assert boxes == inputs == (c["proven_correct"], c["proven_wrong"])


def test_the_random_models_exercise_every_verdict():
    """The tied models have correct, wrong and undecided inputs (no prover)."""
    for cfg in TINY:
        if cfg[6]:
            assert verdicts(build_certificate(tiny_weights(*cfg)).claim) == {"correct", "wrong", "undecided"}


@pytest.mark.prover
def test_box_counts_equal_the_input_by_input_counts_on_the_weak_model(weak_bf, tmp_path):
    cert, weights = copy.deepcopy(weak_bf)
    boxes, inputs = coq_counts(cert, weights, tmp_path)
    c = cert["claim"]
    assert boxes == inputs == (c["proven_correct"], c["proven_wrong"])


@pytest.mark.prover
def test_box_counts_equal_the_input_by_input_counts_on_a_mostly_correct_model(tmp_path):
    """A briefly trained v = 7, n = 4 model: most inputs correct, so whole boxes pass and the
    others are split down to single inputs."""
    res = build_certificate(load_model(tiny_model_file(tmp_path, 2, 7, 4, 8, 300)))
    c = res.claim
    assert c["inputs"] // 2 < c["proven_correct"] < c["inputs"]
    boxes, inputs = coq_counts(res.certificate, res.weights.to_json_dict(), tmp_path)
    assert boxes == inputs == (c["proven_correct"], c["proven_wrong"])


# -- the theorem accepts exactly the claim -----------------------------------
@pytest.mark.prover
@pytest.mark.parametrize("which", ["weak", "small"])
def test_coq_accepts_exactly_the_producers_claim(weak_bf, small_bf, tmp_path, which):
    require_coqc()
    cert, weights = copy.deepcopy(weak_bf if which == "weak" else small_bf)
    c = cert["claim"]
    C, W = c["proven_correct"], c["proven_wrong"]
    render_coq(cert, weights, tmp_path / "honest")
    r = make_check(tmp_path / "honest")
    assert accepted(r), r.stdout + r.stderr
    assert "max_of_k_brute_force_certificate: closed under the global context" in r.stdout
    for i, (c2, w2) in enumerate([(C + 1, W), (C, W + 1)]):
        lie = copy.deepcopy(cert)
        set_claim(lie, c2, w2)
        render_coq(lie, weights, tmp_path / f"lie{i}")
        r = make_check(tmp_path / f"lie{i}")
        assert rejected_by_check(r), r.stdout + r.stderr
        assert CLOSED not in r.stdout
