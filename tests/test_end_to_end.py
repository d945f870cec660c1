"""From a model file to `make check`: the CLI, and certificates that lie being rejected.

Soundness is tested by rejection: each lie below is a certificate that must fail the
standalone checker and Coq alike.
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mechcert.certificates.certificate import build_certificate, write_certificate
from mechcert.extract import load_model

from .conftest import ROOT, SMALL_MODEL, require_coqc

CHECKER = ROOT / "checker" / "check.py"


def run(*args, cwd=None):
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd)


def checker(cert_dir: Path):
    """The standalone checker on a bare interpreter (-I: no site-packages, no user paths)."""
    return run(sys.executable, "-I", str(CHECKER), str(cert_dir))


def make_check(cert_dir: Path):
    return run("make", "-s", "check", cwd=cert_dir / "coq")


@pytest.fixture(scope="module")
def small_cert(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "cert"
    r = run(sys.executable, "-m", "mechcert", "certify", str(SMALL_MODEL), "--task", "max-of-k",
            "--strategy", "brute-force", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def weak_result(weak_model_file):
    return build_certificate(load_model(weak_model_file))


def test_certify_writes_the_certificate_files(small_cert):
    assert {p.name for p in small_cert.iterdir()} >= {"certificate.json", "weights.json", "coq"}
    cert = json.loads((small_cert / "certificate.json").read_text())
    assert cert["claim"]["inputs"] == 16**3
    assert cert["claim"]["accuracy_lower_bound"] == {"numerator": cert["claim"]["proven_correct"],
                                                     "denominator": 4096}


def test_cli_check_accepts_the_small_certificate(small_cert):
    r = run(sys.executable, "-m", "mechcert", "check", str(small_cert))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "VERIFIED" in r.stdout


@pytest.mark.prover
def test_cli_verify_accepts_the_small_certificate_with_no_axioms(small_cert):
    require_coqc()
    r = run(sys.executable, "-m", "mechcert", "verify", str(small_cert))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Closed under the global context" in r.stdout + r.stderr


def test_certify_refuses_to_overwrite_without_force(small_cert):
    before = (small_cert / "certificate.json").read_bytes()
    r = run(sys.executable, "-m", "mechcert", "certify", str(SMALL_MODEL), "--out", str(small_cert))
    assert r.returncode != 0 and "--force" in r.stderr
    assert (small_cert / "certificate.json").read_bytes() == before


def test_certify_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert run(sys.executable, "-m", "mechcert", "certify", str(SMALL_MODEL), "--out", str(out)).returncode == 0

    def files(d):
        return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}

    assert files(a) == files(b)  # byte-identical, every file


def test_bad_model_file_gives_one_line_error_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 10)
    out = tmp_path / "out"
    r = run(sys.executable, "-m", "mechcert", "certify", str(bad), "--out", str(out))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]


def test_verify_without_coqc_says_so(small_cert, monkeypatch):
    r = subprocess.run([sys.executable, "-m", "mechcert", "verify", str(small_cert)], capture_output=True,
                       text=True, env={"PATH": "/nonexistent"})
    assert r.returncode != 0 and "coqc not found" in r.stderr


# ---------------------------------------------------------------------------
# Lies: each must be rejected by checker/ and by Coq.

def _lie_bound_raised_by_one(cert, weights):
    cert["claim"]["proven_correct"] += 1
    cert["claim"]["accuracy_lower_bound"]["numerator"] += 1


def _lie_weight_one_ulp(cert, weights):
    t = next(t for t in weights["tensors"] if t["name"] == "unembed.W_U")
    h = t["float32_hex"]
    bits = int(h[8:16], 16) + 1  # the second value, one ulp further from zero
    t["float32_hex"] = h[:8] + f"{bits:08x}" + h[16:]


def _lie_hash_changed(cert, weights):
    s = cert["model"]["sha256"]
    new = ("0" if s[0] != "0" else "1") + s[1:]
    cert["model"]["sha256"] = new
    weights["sha256"] = new


def _lie_counts_swapped(cert, weights):
    c = cert["claim"]
    c["proven_correct"], c["proven_wrong"] = c["proven_wrong"], c["proven_correct"]
    n = c["inputs"]
    c["accuracy_lower_bound"] = {"numerator": c["proven_correct"], "denominator": n}
    c["accuracy_upper_bound"] = {"numerator": n - c["proven_wrong"], "denominator": n}


LIES = {"bound_raised_by_one": _lie_bound_raised_by_one, "weight_one_ulp": _lie_weight_one_ulp,
        "hash_changed": _lie_hash_changed, "counts_swapped": _lie_counts_swapped}


def _write_lie(result, tmp_path: Path, lie) -> Path:
    from mechcert.certificates.io import atomic_write_text
    from mechcert.certificates.render_coq import render_coq

    cert = copy.deepcopy(result.certificate)
    weights = result.weights.to_json_dict()
    lie(cert, weights)
    out = tmp_path / "lie"
    out.mkdir()
    atomic_write_text(out / "certificate.json", json.dumps(cert))
    atomic_write_text(out / "weights.json", json.dumps(weights))
    render_coq(cert, weights, out / "coq")
    return out


def test_weak_model_certificate_is_accepted_and_counts_both_ways(weak_result, tmp_path):
    c = weak_result.certificate["claim"]
    assert c["proven_correct"] > 0 and c["proven_wrong"] > 0
    out = write_certificate(weak_result, tmp_path / "weak")
    r = checker(out)
    assert r.returncode == 0, r.stdout


@pytest.mark.prover
def test_weak_model_certificate_is_accepted_by_coq(weak_result, tmp_path):
    require_coqc()
    out = write_certificate(weak_result, tmp_path / "weak")
    r = make_check(out)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("lie", sorted(LIES))
def test_lie_is_rejected_by_the_standalone_checker(weak_result, tmp_path, lie):
    out = _write_lie(weak_result, tmp_path, LIES[lie])
    r = checker(out)
    assert r.returncode == 1, r.stdout
    assert "REJECTED" in r.stdout


@pytest.mark.prover
@pytest.mark.parametrize("lie", sorted(LIES))
def test_lie_is_rejected_by_coq(weak_result, tmp_path, lie):
    require_coqc()
    out = _write_lie(weak_result, tmp_path, LIES[lie])
    r = make_check(out)
    assert r.returncode != 0, r.stdout
