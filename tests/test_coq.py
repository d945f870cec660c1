"""The Coq project of a certificate: rendering is safe, Coq accepts honest
certificates with no axioms, and every lie is rejected.

Tests marked ``prover`` run coqc (about 2 s each on a tiny model); they skip
when coqc is missing, except under CI=true, where they fail.
"""
from __future__ import annotations

import copy
import hashlib
import re
import shutil
import struct
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from mechcert.certificates.certificate import build_certificate
from mechcert.certificates.cubic import cubic_count
from mechcert.certificates.max_of_k import MaxOfKModel
from mechcert.certificates.render_coq import CHUNK, COQ_FILES, THEOREM_NAMES, coq_context, render_coq
from mechcert.checker import check as auditor
from mechcert.extract import load_model, weights_from_arrays

from .conftest import SMALL_MODEL, random_arrays, require_coqc, tiny_model_file

CLOSED = "Closed under the global context"


# -- fixtures and helpers --------------------------------------------------
@pytest.fixture(scope="module")
def tiny() -> tuple[dict, dict]:
    """(certificate.json, weights.json) of a random 1-layer model, v=5, n=3, d=6, h=8.

    Its entry embed.W_E[0, 0] is +0.0, so a test can store it as -0.0."""
    arrays = random_arrays(np.random.default_rng(0), v=5, n=3, d=6, h=8, scale=0.5)
    arrays["embed.W_E"][0, 0] = 0.0
    w = weights_from_arrays(arrays)
    res = build_certificate(w)
    assert 0 < res.claim["proven_correct"] and 0 < res.claim["proven_wrong"]
    return res.certificate, w.to_json_dict()


def fresh(tiny) -> tuple[dict, dict]:
    return copy.deepcopy(tiny[0]), copy.deepcopy(tiny[1])


def canonical_sha256(weights: dict) -> str:
    """The model hash of docs/certificate-format.md, section 1, re-implemented here."""
    out = [b"mechcert-weights-v1\n"]
    for t in weights["tensors"]:
        name = t["name"].encode("ascii")
        out.append(struct.pack(">I", len(name)) + name)
        out.append(struct.pack(">I", len(t["shape"])) + b"".join(struct.pack(">I", s) for s in t["shape"]))
        out.append(bytes.fromhex(t["float32_hex"]))
    return hashlib.sha256(b"".join(out)).hexdigest()


def set_bits(weights: dict, name: str, flat_index: int, bits: int) -> None:
    t = next(t for t in weights["tensors"] if t["name"] == name)
    h = t["float32_hex"]
    t["float32_hex"] = h[:8 * flat_index] + f"{bits:08x}" + h[8 * flat_index + 8:]


def get_bits(weights: dict, name: str, flat_index: int) -> int:
    t = next(t for t in weights["tensors"] if t["name"] == name)
    return int(t["float32_hex"][8 * flat_index:8 * flat_index + 8], 16)


def rehash(cert: dict, weights: dict) -> None:
    """Make the claimed hash that of the (modified) weights, so only the other checks can fail."""
    sha = canonical_sha256(weights)
    weights["sha256"] = sha
    cert["model"]["sha256"] = sha


def set_claim(cert: dict, correct: int, wrong: int) -> None:
    """A claim with consistent fractions (so only the counts can be wrong)."""
    c = cert["claim"]
    c["proven_correct"], c["proven_wrong"] = correct, wrong
    c["accuracy_lower_bound"] = {"numerator": correct, "denominator": c["inputs"]}
    c["accuracy_upper_bound"] = {"numerator": c["inputs"] - wrong, "denominator": c["inputs"]}


def make_check(coq_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "check"], cwd=coq_dir, capture_output=True, text=True, timeout=600)


def coq_verdict(cert: dict, weights: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    require_coqc()
    out = tmp_path / "coq"
    render_coq(cert, weights, out)
    return make_check(out)


def accepted(r: subprocess.CompletedProcess) -> bool:
    return r.returncode == 0 and CLOSED in r.stdout


def rejected_by_check(r: subprocess.CompletedProcess, check: str = "box_check") -> bool:
    """make check failed because [box_check cert] (the brute force, MechCert.v part 11; or
    [cubic_check cert]) computed to false (not, say, a syntax error)."""
    out = " ".join((r.stdout + r.stderr).split())
    return r.returncode != 0 and f'is expected to have type "{check} cert = true"' in out


def rejected_by_cubic_check(r: subprocess.CompletedProcess) -> bool:
    return rejected_by_check(r, "cubic_check")


# -- rendering (no prover) -------------------------------------------------
def test_render_writes_the_four_project_files(tiny, tmp_path):
    render_coq(*fresh(tiny), tmp_path / "coq")
    assert sorted(p.name for p in (tmp_path / "coq").iterdir()) == sorted(COQ_FILES)


def test_mechcert_library_is_copied_verbatim(tiny, tmp_path):
    render_coq(*fresh(tiny), tmp_path / "coq")
    lib = (files("mechcert.coq_templates") / "MechCert.v").read_text(encoding="utf-8")
    assert (tmp_path / "coq" / "MechCert.v").read_text(encoding="utf-8") == lib


def test_coq_project_binds_the_logical_path(tiny, tmp_path):
    render_coq(*fresh(tiny), tmp_path / "coq")
    lines = (tmp_path / "coq" / "_CoqProject").read_text().split("\n")
    assert lines[:3] == ["-Q . MechCert", "MechCert.v", "Certificate.v"]


def test_theorem_states_hash_and_counts(tiny, tmp_path):
    cert, weights = fresh(tiny)
    render_coq(cert, weights, tmp_path / "coq")
    text = (tmp_path / "coq" / "Certificate.v").read_text()
    c = cert["claim"]
    statement = (f"weights_sha256 cert = 0x{cert['model']['sha256']}\n"
                 f"  /\\ num_inputs cert = {c['inputs']}\n"
                 f"  /\\ {c['proven_correct']} <= proven_correct_by_boxes cert\n"
                 f"  /\\ {c['proven_wrong']} <= proven_wrong_by_boxes cert.")
    assert statement in text


def test_library_uses_no_axioms_or_primitive_numbers():
    lib = (files("mechcert.coq_templates") / "MechCert.v").read_text(encoding="utf-8")
    code = re.sub(r"\(\*.*?\*\)", "", lib, flags=re.S)
    for word in ("Axiom", "Admitted", "Parameter", "admit", "Uint63", "PrimInt63", "PrimFloat", "PArray",
                 "BigZ", "native_compute", "Interval"):
        assert word not in code, word


def test_only_tensor_names_appear_as_string_literals(tiny, tmp_path):
    cert, weights = fresh(tiny)
    render_coq(cert, weights, tmp_path / "coq")
    text = (tmp_path / "coq" / "Certificate.v").read_text()
    assert sorted(re.findall(r'"([^"]*)"', text)) == sorted(t["name"] for t in weights["tensors"])


def test_list_literals_are_chunked(tiny):
    cert, weights = fresh(tiny)
    big = {"name": "embed.W_E", "shape": [2500], "float32_hex": "3f800000" * 2500}
    weights["tensors"] = [big]
    ctx = coq_context(cert, weights)
    assert [len(c) for c in ctx["tensors"][0]["chunks"]] == [CHUNK, CHUNK, 500]
    rows = [[[1, 2]] * 300 for _ in range(10)]
    cert["hints"]["attn_token"] = rows
    ctx = coq_context(cert, weights)
    assert all(sum(len(r) for r in chunk) <= CHUNK for chunk in ctx["attn_token_chunks"])
    assert sum(len(chunk) for chunk in ctx["attn_token_chunks"]) == 10


def test_negative_integers_are_parenthesised(tiny, tmp_path):
    cert, weights = fresh(tiny)
    cert["hints"]["attn_pos"][0][0] = [-5, 3]
    render_coq(cert, weights, tmp_path / "coq")
    assert "((-0x5), 0x3)" in (tmp_path / "coq" / "Certificate.v").read_text()


@pytest.mark.parametrize("name", ['embed.W_E"%string; Axiom', "embed W_E", "embed.W_E*)", "", "é", "embed.W_E\n"])
def test_render_refuses_tensor_names_outside_the_alphabet(tiny, tmp_path, name):
    cert, weights = fresh(tiny)
    weights["tensors"][0]["name"] = name
    with pytest.raises(ValueError, match="tensor name"):
        render_coq(cert, weights, tmp_path / "coq")


@pytest.mark.parametrize("path, value", [
    (("claim", "proven_correct"), 3.0),
    (("claim", "proven_correct"), True),
    (("claim", "proven_wrong"), "12"),
    (("claim", "inputs"), None),
    (("parameters", "exp_bits"), 64.0),
    (("model", "config", "d_vocab"), "5"),
    (("claim", "accuracy_lower_bound", "numerator"), 1.5),
])
def test_render_refuses_non_integer_fields(tiny, tmp_path, path, value):
    cert, weights = fresh(tiny)
    d = cert
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    with pytest.raises(ValueError):
        render_coq(cert, weights, tmp_path / "coq")


@pytest.mark.parametrize("hint", [[1.0, 2], [1, "2"], [1], [1, 2, 3], "1,2"])
def test_render_refuses_malformed_hints(tiny, tmp_path, hint):
    cert, weights = fresh(tiny)
    cert["hints"]["attn_token"][0][1] = hint
    with pytest.raises(ValueError):
        render_coq(cert, weights, tmp_path / "coq")


@pytest.mark.parametrize("sha", ["ABC", "0" * 63, "0" * 64 + "; Axiom", "g" * 64, "F" * 64, "0" * 64 + "\n"])
def test_render_refuses_malformed_hashes(tiny, tmp_path, sha):
    cert, weights = fresh(tiny)
    cert["model"]["sha256"] = sha
    with pytest.raises(ValueError, match="hex"):
        render_coq(cert, weights, tmp_path / "coq")


@pytest.mark.parametrize("hexs", ["3f80000", "3F800000", "3f80000g", "3f800000 ", "3f800000\n"])
def test_render_refuses_malformed_float_hex(tiny, tmp_path, hexs):
    cert, weights = fresh(tiny)
    weights["tensors"][0]["float32_hex"] = hexs
    with pytest.raises(ValueError, match="float32_hex"):
        render_coq(cert, weights, tmp_path / "coq")


def test_render_refuses_config_mismatch_between_files(tiny, tmp_path):
    cert, weights = fresh(tiny)
    weights["config"]["n_ctx"] += 1
    with pytest.raises(ValueError, match="config"):
        render_coq(cert, weights, tmp_path / "coq")


@pytest.mark.parametrize("strategy", ["cubic-v0", "exhaustive", None, 7, ["cubic"]])
def test_render_refuses_other_strategies(tiny, tmp_path, strategy):
    cert, weights = fresh(tiny)
    cert["strategy"] = strategy
    with pytest.raises(ValueError, match="brute-force, cubic"):
        render_coq(cert, weights, tmp_path / "coq")


def test_brute_force_makefile_names_its_theorem(tiny, tmp_path):
    render_coq(*fresh(tiny), tmp_path / "coq")
    assert "max_of_k_brute_force_certificate: closed" in (tmp_path / "coq" / "Makefile").read_text()
    assert "cubic" not in (tmp_path / "coq" / "Certificate.v").read_text()


def test_reference_hash_matches_the_extractor(tiny):
    _, weights = fresh(tiny)
    assert canonical_sha256(weights) == weights["sha256"]


# -- Coq accepts honest certificates ---------------------------------------
@pytest.mark.prover
def test_coq_accepts_the_honest_certificate_with_no_axioms(tiny, tmp_path):
    r = coq_verdict(*fresh(tiny), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert CLOSED in r.stdout


@pytest.mark.prover
def test_coq_accepts_a_weaker_claim(tiny, tmp_path):
    cert, weights = fresh(tiny)
    set_claim(cert, cert["claim"]["proven_correct"] - 1, 0)
    assert accepted(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_accepts_an_all_zero_bias(tiny, tmp_path):
    cert, weights = fresh(tiny)
    weights["tensors"].append({"name": "unembed.b_U", "shape": [5], "float32_hex": "00000000" * 5})
    weights["tensors"].sort(key=lambda t: t["name"].encode())
    rehash(cert, weights)
    assert accepted(coq_verdict(cert, weights, tmp_path))


# -- Coq rejects lies --------------------------------------------------------
@pytest.mark.prover
def test_coq_rejects_one_more_correct_input_than_proven(tiny, tmp_path):
    cert, weights = fresh(tiny)
    set_claim(cert, cert["claim"]["proven_correct"] + 1, cert["claim"]["proven_wrong"])
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_one_more_wrong_input_than_proven(tiny, tmp_path):
    cert, weights = fresh(tiny)
    set_claim(cert, cert["claim"]["proven_correct"], cert["claim"]["proven_wrong"] + 1)
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_swapped_counts(tiny, tmp_path):
    cert, weights = fresh(tiny)
    set_claim(cert, cert["claim"]["proven_wrong"], cert["claim"]["proven_correct"])
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_lower_bound_fraction_that_is_not_the_count(tiny, tmp_path):
    cert, weights = fresh(tiny)
    cert["claim"]["accuracy_lower_bound"]["numerator"] += 1
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_wrong_input_total(tiny, tmp_path):
    cert, weights = fresh(tiny)
    cert["claim"]["inputs"] += 1
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_wrong_claimed_hash(tiny, tmp_path):
    cert, weights = fresh(tiny)
    sha = cert["model"]["sha256"]
    cert["model"]["sha256"] = sha[:-1] + ("0" if sha[-1] != "0" else "1")
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_weight_changed_by_one_ulp_in_the_coq_data(tiny, tmp_path):
    require_coqc()
    cert, weights = fresh(tiny)
    out = tmp_path / "coq"
    render_coq(cert, weights, out)
    old = get_bits(weights, "unembed.W_U", 0)
    text = (out / "Certificate.v").read_text()
    lines = text.split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith("(* unembed.W_U,"))
    assert f"[0x{old:x};" in lines[i + 1]
    lines[i + 1] = lines[i + 1].replace(f"[0x{old:x};", f"[0x{old + 1:x};", 1)
    (out / "Certificate.v").write_text("\n".join(lines))
    assert rejected_by_check(make_check(out))


@pytest.mark.prover
def test_coq_rejects_an_exp_hint_above_the_true_value(tiny, tmp_path):
    cert, weights = fresh(tiny)
    lo, hi = cert["hints"]["attn_token"][0][1]
    assert lo < hi
    cert["hints"]["attn_token"][0][1] = [hi, hi]
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_an_exp_hint_below_the_true_value(tiny, tmp_path):
    cert, weights = fresh(tiny)
    lo, _ = cert["hints"]["attn_pos"][1][0]
    cert["hints"]["attn_pos"][1][0] = [lo, lo]
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_sqrt_hint_that_excludes_sqrt_d_head(tiny, tmp_path):
    cert, weights = fresh(tiny)
    # [R_lo, R_lo] only narrows the exp arguments, so every exp hint still passes.
    r_lo, _ = cert["hints"]["sqrt_d_head"]
    cert["hints"]["sqrt_d_head"] = [r_lo, r_lo]
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_missing_hint_row(tiny, tmp_path):
    cert, weights = fresh(tiny)
    cert["hints"]["attn_pos"].pop()
    set_claim(cert, 0, 0)
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_other_parameters(tiny, tmp_path):
    cert, weights = fresh(tiny)
    cert["parameters"]["taylor_n"] = 17
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_nonzero_bias(tiny, tmp_path):
    cert, weights = fresh(tiny)
    weights["tensors"].append({"name": "unembed.b_U", "shape": [5], "float32_hex": "00000000" * 4 + "3f800000"})
    weights["tensors"].sort(key=lambda t: t["name"].encode())
    rehash(cert, weights)
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_an_unknown_tensor(tiny, tmp_path):
    cert, weights = fresh(tiny)
    weights["tensors"].append({"name": "blocks.0.ln1.w", "shape": [6], "float32_hex": "3f800000" * 6})
    weights["tensors"].sort(key=lambda t: t["name"].encode())
    rehash(cert, weights)
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_tensors_out_of_name_order(tiny, tmp_path):
    cert, weights = fresh(tiny)
    ts = weights["tensors"]
    ts[0], ts[1] = ts[1], ts[0]
    rehash(cert, weights)
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_negative_zero_bits(tiny, tmp_path):
    cert, weights = fresh(tiny)
    assert get_bits(weights, "embed.W_E", 0) == 0
    set_bits(weights, "embed.W_E", 0, 0x80000000)
    rehash(cert, weights)
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
@pytest.mark.parametrize("bits", [0x7FC00000, 0x7F800000, 0xFF800000])
def test_coq_rejects_nan_and_infinite_bits(tiny, tmp_path, bits):
    # W_U enters no hint, and the claim 0/0 holds for any counts: only the bit check can fail.
    cert, weights = fresh(tiny)
    set_bits(weights, "unembed.W_U", 3, bits)
    rehash(cert, weights)
    set_claim(cert, 0, 0)
    assert rejected_by_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_make_check_rejects_an_admitted_theorem(tiny, tmp_path):
    require_coqc()
    out = tmp_path / "coq"
    render_coq(*fresh(tiny), out)
    text = (out / "Certificate.v").read_text()
    proof = "Proof.\n  refine (box_check_sound cert _).\n  vm_cast_no_check (eq_refl true).\nQed."
    assert proof in text
    (out / "Certificate.v").write_text(text.replace(proof, "Admitted."))
    r = make_check(out)
    assert r.returncode != 0 and CLOSED not in r.stdout


# -- the library against the standalone checker and hashlib -------------------
def _zlit(x: int) -> str:
    return f"0x{x:x}" if x >= 0 else f"(-0x{-x:x})"


def coq_examples(tmp_path: Path, examples: list[str]) -> None:
    """Compile MechCert.v and a file proving each `lhs = rhs` by vm_compute; fail on the first that is false."""
    require_coqc()
    body = "".join(f"Example ex{i} : {e}.\nProof. vm_compute. reflexivity. Qed.\n" for i, e in enumerate(examples))
    (tmp_path / "MechCert.v").write_text((files("mechcert.coq_templates") / "MechCert.v").read_text())
    (tmp_path / "Ref.v").write_text("From MechCert Require Import MechCert.\nFrom Coq Require Import ZArith List.\n"
                                    "Import ListNotations.\nLocal Open Scope Z_scope.\n" + body)
    for f in ("MechCert.v", "Ref.v"):
        r = subprocess.run([shutil.which("coqc"), "-Q", ".", "MechCert", f], cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.prover
def test_library_sha256_agrees_with_hashlib(tmp_path):
    rng = np.random.default_rng(5)
    ex = []
    for n in [0, 3, 55, 56, 63, 64, 65, 119, 200]:  # around the padding boundaries
        data = bytes(rng.integers(0, 256, n, dtype=np.uint8))
        ex.append(f"sha256 [{'; '.join(str(b) for b in data)}] = 0x{hashlib.sha256(data).hexdigest()}")
    coq_examples(tmp_path, ex)


@pytest.mark.prover
def test_library_exp_bounds_agree_with_the_standalone_checker(tmp_path):
    rng = np.random.default_rng(6)
    ex = ["exp_lo 0 8 100 = 0x10000000000000000", "exp_hi 0 8 100 = 0x10000000000000000"]
    for _ in range(12):  # x = a / (c 2^s) in [-40, 40]
        c, s = int(rng.integers(1, 40)), int(rng.integers(60, 110))
        a = int(rng.integers(-40 * 2**20, 40 * 2**20)) * c * 2**(s - 20) + int(rng.integers(0, 2**40))
        ex.append(f"exp_lo {_zlit(a)} {c} {s} = {_zlit(auditor.exp_lo(a, c, s))}")
        ex.append(f"exp_hi {_zlit(a)} {c} {s} = {_zlit(auditor.exp_hi(a, c, s))}")
    coq_examples(tmp_path, ex)


@pytest.mark.prover
def test_library_float32_decoding_agrees_with_the_standalone_checker(tmp_path):
    ex = []
    for bits in [0, 1, 0x00800000, 0x3F800000, 0xBF400001, 0x807FFFFF, 0x7F7FFFFF, 0xC2280000]:
        m, e = auditor.decode_float32(bits)
        ex.append(f"float32_value {_zlit(bits)} = ({_zlit(m)}, {_zlit(e)})")
        ex.append(f"float32_ok {_zlit(bits)} = true")
    for bits in [0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFFFFFFF, 2**32, -1]:
        ex.append(f"float32_ok {_zlit(bits)} = false")
    coq_examples(tmp_path, ex)


# -- the cubic strategy (docs/certificate-format.md, section 7) ---------------
@pytest.fixture(scope="module")
def weak_cubic(weak_model_file) -> tuple[dict, dict]:
    """(certificate.json, weights.json) of the cubic certificate of a weak tiny model (v=6, n=3)."""
    res = build_certificate(load_model(weak_model_file), strategy="cubic")
    assert 0 < res.claim["proven_correct"] < res.claim["inputs"]
    return res.certificate, res.weights.to_json_dict()


def set_cubic_claim(cert: dict, correct: int) -> None:
    c = cert["claim"]
    c["proven_correct"] = correct
    c["accuracy_lower_bound"] = {"numerator": correct, "denominator": c["inputs"]}


def test_cubic_claim_has_no_upper_bound(weak_cubic):
    assert set(weak_cubic[0]["claim"]) == {"inputs", "proven_correct", "accuracy_lower_bound"}


def test_cubic_theorem_states_hash_inputs_and_count(weak_cubic, tmp_path):
    cert, weights = copy.deepcopy(weak_cubic)
    render_coq(cert, weights, tmp_path / "coq")
    text = (tmp_path / "coq" / "Certificate.v").read_text()
    c = cert["claim"]
    statement = (f"Theorem max_of_k_cubic_certificate :\n"
                 f"  weights_sha256 cert = 0x{cert['model']['sha256']}\n"
                 f"  /\\ num_inputs cert = {c['inputs']}\n"
                 f"  /\\ {c['proven_correct']} <= cubic_proven_correct cert.")
    assert statement in text
    assert "refine (cubic_check_sound cert _)" in text
    assert f"is correct on at least {c['proven_correct']} of its {c['inputs']} = 6^3 inputs" in text
    assert "by the cubic compact proof" in text
    assert "Print Assumptions max_of_k_cubic_certificate." in text
    # the record's other fields hold the trivial claim that cubic_check requires
    assert "claimed_wrong := 0;" in text
    assert f"claimed_upper_bound := ({c['inputs']}, {c['inputs']})" in text
    assert "max_of_k_cubic_certificate: closed" in (tmp_path / "coq" / "Makefile").read_text()
    assert THEOREM_NAMES["cubic"] == "max_of_k_cubic_certificate"


@pytest.mark.parametrize("extra", ["proven_wrong", "accuracy_upper_bound"])
def test_render_refuses_a_cubic_claim_with_an_upper_bound(weak_cubic, tmp_path, extra):
    cert, weights = copy.deepcopy(weak_cubic)
    cert["claim"][extra] = 0 if extra == "proven_wrong" else {"numerator": 1, "denominator": 216}
    with pytest.raises(ValueError, match="cubic claim"):
        render_coq(cert, weights, tmp_path / "coq")


def test_render_refuses_a_cubic_claim_without_its_lower_bound(weak_cubic, tmp_path):
    cert, weights = copy.deepcopy(weak_cubic)
    del cert["claim"]["accuracy_lower_bound"]
    with pytest.raises(ValueError, match="accuracy_lower_bound"):
        render_coq(cert, weights, tmp_path / "coq")


@pytest.mark.prover
def test_coq_accepts_the_cubic_certificate_of_the_small_model_with_no_axioms(tmp_path):
    require_coqc()
    out = tmp_path / "cert"
    r = subprocess.run([sys.executable, "-m", "mechcert", "certify", str(SMALL_MODEL),
                        "--strategy", "cubic", "--out", str(out), "--emit", "coq"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    text = (out / "coq" / "Certificate.v").read_text()
    assert "max_of_k_cubic_certificate" in text
    r = make_check(out / "coq")
    assert accepted(r), r.stdout + r.stderr
    assert "max_of_k_cubic_certificate: closed under the global context" in r.stdout


@pytest.mark.prover
def test_coq_accepts_the_cubic_certificate_of_a_weak_model_with_no_axioms(weak_cubic, tmp_path):
    r = coq_verdict(*copy.deepcopy(weak_cubic), tmp_path)
    assert accepted(r), r.stdout + r.stderr


@pytest.mark.prover
def test_coq_rejects_a_cubic_claim_one_above_the_count(weak_cubic, tmp_path):
    cert, weights = copy.deepcopy(weak_cubic)
    set_cubic_claim(cert, cert["claim"]["proven_correct"] + 1)
    assert rejected_by_cubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_cubic_lower_bound_fraction_that_is_not_the_count(weak_cubic, tmp_path):
    cert, weights = copy.deepcopy(weak_cubic)
    cert["claim"]["accuracy_lower_bound"]["numerator"] -= 1
    assert rejected_by_cubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_cubic_certificate_with_a_weight_changed_by_one_ulp(weak_cubic, tmp_path):
    cert, weights = copy.deepcopy(weak_cubic)
    # the second value of W_U, one ulp further from zero; the hash still claims the old weights
    set_bits(weights, "unembed.W_U", 1, get_bits(weights, "unembed.W_U", 1) + 1)
    assert rejected_by_cubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_cubic_certificate_with_a_changed_hash(weak_cubic, tmp_path):
    cert, weights = copy.deepcopy(weak_cubic)
    sha = cert["model"]["sha256"]
    cert["model"]["sha256"] = ("0" if sha[0] != "0" else "1") + sha[1:]
    assert rejected_by_cubic_check(coq_verdict(cert, weights, tmp_path))


@pytest.mark.prover
def test_coq_rejects_a_cubic_certificate_with_a_nontrivial_wrong_count(weak_cubic, tmp_path):
    # Certificate.v edited by hand: a cubic record must hold the trivial claimed_wrong = 0.
    require_coqc()
    out = tmp_path / "coq"
    render_coq(*copy.deepcopy(weak_cubic), out)
    text = (out / "Certificate.v").read_text()
    assert text.count("claimed_wrong := 0;") == 1
    (out / "Certificate.v").write_text(text.replace("claimed_wrong := 0;", "claimed_wrong := 1;"))
    assert rejected_by_cubic_check(make_check(out))


@pytest.mark.prover
def test_coq_rejects_the_cubic_claim_of_a_one_position_model(tmp_path):
    # n_ctx = 1: the producer refuses the cubic strategy, so the certificate is made by hand
    # from a brute-force one; even the claim "at least 0 correct" must be rejected.
    arrays = random_arrays(np.random.default_rng(3), v=5, n=1, d=6, h=8, scale=0.5)
    res = build_certificate(weights_from_arrays(arrays))
    cert, weights = res.certificate, res.weights.to_json_dict()
    cert["strategy"] = "cubic"
    cert["claim"] = {"inputs": 5, "proven_correct": 0, "accuracy_lower_bound": {"numerator": 0, "denominator": 5}}
    assert rejected_by_cubic_check(coq_verdict(cert, weights, tmp_path))


def coq_cubic_count(cert: dict, weights: dict, tmp_path: Path) -> int:
    """cubic_proven_correct of the rendered certificate, as Coq computes it."""
    require_coqc()
    out = tmp_path / "coq"
    render_coq(cert, weights, out)
    with open(out / "Certificate.v", "a") as f:
        f.write("\nEval vm_compute in cubic_proven_correct cert.\n")
    r = make_check(out)
    assert accepted(r), r.stdout + r.stderr
    m = re.search(r"^\s*= (\d+)\s*:\s*Z\s*$", r.stdout, re.M)
    assert m, r.stdout
    return int(m.group(1))


@pytest.mark.prover
@pytest.mark.parametrize("cfg, tie", [((2, 7, 4, 8, 300), False), ((5, 4, 5, 8, 400), False),
                                      ((2, 7, 4, 8, 300), True)],
                         ids=["s2_v7_n4", "s5_v4_n5", "s2_v7_n4_tied_positions"])
def test_coq_cubic_count_equals_the_producers(tmp_path, cfg, tie):
    w = load_model(tiny_model_file(tmp_path, *cfg))
    if tie:  # positions 0 and 2 equal: EQKP[q][0] = EQKP[q][2], so the sort must break ties by position
        arrays = {t.name: t.as_float64().astype(np.float32) for t in w.tensors}
        arrays["pos_embed.W_pos"][2] = arrays["pos_embed.W_pos"][0]
        w = weights_from_arrays(arrays)
        assert all(row[0] == row[2] for row in MaxOfKModel(w).EQKP)
    res = build_certificate(w, strategy="cubic")
    model = MaxOfKModel(w)
    expected = cubic_count(model, model.hints()).proven_correct
    assert expected == res.claim["proven_correct"]
    assert 0 < expected < res.claim["inputs"]
    assert coq_cubic_count(res.certificate, res.weights.to_json_dict(), tmp_path) == expected
