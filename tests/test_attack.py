"""Trust under attack: malformed inputs, injection, interrupted writes, and a tamper campaign.

Every mutation below changes the claim or the data of a valid certificate; each must be
REJECTED. The campaign prints its table (mutations tried, rejected, accepted).
"""
from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mechcert.certificates.certificate import build_certificate, write_certificate
from mechcert.checker import check
from mechcert.extract import ModelError, load_model, weights_from_arrays

from .conftest import SMALL_MODEL, random_arrays, require_coqc, tiny_model_file

ROOT = Path(__file__).resolve().parent.parent


def certify(model, out, *extra):
    return subprocess.run([sys.executable, "-m", "mechcert", "certify", str(model), "--out", str(out), *extra],
                          capture_output=True, text=True)


# ---------------------------------------------------------------------------
# Malformed inputs: one line on stderr, non-zero exit, no traceback, nothing written.

def _write_npz(path, arrays):
    np.savez(path, **arrays)
    return path


def _huge_npy_npz(path):
    """An .npz whose embed.W_E header declares 10^12 float32 values (4 TB) but holds 16 bytes."""
    import io
    import zipfile

    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    header = header + " " * (63 - len(header) % 64) + "\n"
    body = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\x00" * 16
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("embed.W_E.npy", body)
    return path


def _malformed(kind: str, tmp: Path) -> Path:
    rng = np.random.default_rng(0)
    a = random_arrays(rng)
    if kind == "truncated_pt":
        p = tmp / "t.pt"
        p.write_bytes(SMALL_MODEL.read_bytes()[:3000])
    elif kind == "non_model_pt":
        p = tmp / "list.pt"
        torch.save([1, 2, 3], p)
    elif kind == "tensor_not_dict_pt":
        p = tmp / "tensor.pt"
        torch.save(torch.zeros(3), p)
    elif kind == "truncated_npz":
        full = _write_npz(tmp / "full.npz", a)
        p = tmp / "t.npz"
        p.write_bytes(full.read_bytes()[:200])
    elif kind == "non_model_npz":
        p = _write_npz(tmp / "other.npz", {"foo": np.zeros(3, dtype=np.float32)})
    elif kind == "wrong_shape":
        a["pos_embed.W_pos"] = a["pos_embed.W_pos"][:, :3]
        p = _write_npz(tmp / "shape.npz", a)
    elif kind == "nan":
        a["unembed.W_U"][2, 1] = np.nan
        p = _write_npz(tmp / "nan.npz", a)
    elif kind == "inf":
        a["blocks.0.attn.W_Q"][0, 1, 1] = np.inf
        p = _write_npz(tmp / "inf.npz", a)
    elif kind == "empty":
        p = tmp / "empty.pt"
        p.write_bytes(b"")
    elif kind == "directory":
        p = tmp / "adir.pt"
        p.mkdir()
    elif kind == "huge_declared_size":
        p = _huge_npy_npz(tmp / "huge.npz")
    elif kind == "missing":
        p = tmp / "nope.pt"
    elif kind == "pickled_code":
        p = tmp / "code.pt"
        torch.save({"model": {"embed.W_E": Path("/")}}, p)
    else:  # pragma: no cover
        raise KeyError(kind)
    return p


MALFORMED = ["truncated_pt", "non_model_pt", "tensor_not_dict_pt", "truncated_npz", "non_model_npz",
             "wrong_shape", "nan", "inf", "empty", "directory", "huge_declared_size", "missing", "pickled_code"]


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_model_gives_one_line_error_and_writes_nothing(tmp_path, kind):
    bad = _malformed(kind, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    r = certify(bad, tmp_path / "out")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and r.stderr.startswith("mechcert: error: ")
    assert r.stderr.count("\n") == 1, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temp dirs left


def test_subnormal_weights_are_exact_and_certified(tmp_path):
    a = random_arrays(np.random.default_rng(1))
    a["embed.W_E"][0, 0] = np.float32(1e-45)  # the smallest subnormal
    a["unembed.W_U"][1, 1] = np.float32(-3e-39)
    w = weights_from_arrays(a)
    assert w.e0 == -149
    out = write_certificate(build_certificate(w), tmp_path / "sub", emit=())
    assert check.check_certificate(out).verified


# ---------------------------------------------------------------------------
# Injection: nothing from a model file or the command line reaches a prover file unescaped.

@pytest.mark.parametrize("name", ["Axiom", "embed.W_E\nAxiom x : False.", 'embed".W_E', "embed.(*W_E",
                                  "sorry", "blocks.0.attn.W_Q Admitted", "unembed.W_U*)"])
def test_injecting_tensor_names_are_refused_at_extraction(name):
    a = random_arrays(np.random.default_rng(2))
    a[name] = np.zeros(2, dtype=np.float32)
    with pytest.raises(ModelError):
        weights_from_arrays(a)


@pytest.mark.parametrize("renderer", ["coq", "lean"])
@pytest.mark.parametrize("name", ['embed.W_E"; Axiom x : False. (*', "embed.W_E\n#eval 1", "x (* y"])
def test_renderers_refuse_injecting_names_in_a_hand_edited_weights_file(tmp_path, renderer, name):
    from mechcert.certificates.render_coq import render_coq
    from mechcert.certificates.render_lean import render_lean

    res = build_certificate(load_model(SMALL_MODEL))
    weights = res.weights.to_json_dict()
    weights["tensors"][0]["name"] = name
    with pytest.raises(ValueError):
        (render_coq if renderer == "coq" else render_lean)(res.certificate, weights, tmp_path / renderer)
    assert not (tmp_path / renderer).exists() or not any((tmp_path / renderer).iterdir())


def test_output_path_and_model_name_never_reach_prover_files(tmp_path):
    evil_dir = tmp_path / "x (* Axiom evil *) sorry"
    evil_dir.mkdir()
    model = evil_dir / "model (*Admitted*).pt"
    model.write_bytes(SMALL_MODEL.read_bytes())
    out = evil_dir / "out Axiom (*"
    r = certify(model, out)
    assert r.returncode == 0, r.stderr
    for f in list((out / "coq").iterdir()) + list((out / "lean").iterdir()):
        text = f.read_text(errors="replace")
        assert "evil" not in text and "Admitted*)" not in text and "out Axiom" not in text, f


# ---------------------------------------------------------------------------
# Atomic output.

def test_failed_render_leaves_no_partial_directory(tmp_path, monkeypatch):
    import mechcert.certificates.render_coq as rc

    res = build_certificate(load_model(SMALL_MODEL))

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rc, "render_coq", boom)
    with pytest.raises(RuntimeError):
        write_certificate(res, tmp_path / "cert")
    assert list(tmp_path.iterdir()) == []


def test_failed_forced_rewrite_keeps_the_old_certificate(tmp_path, monkeypatch):
    import mechcert.certificates.render_coq as rc

    res = build_certificate(load_model(SMALL_MODEL))
    out = write_certificate(res, tmp_path / "cert", emit=("coq",))
    before = (out / "certificate.json").read_bytes()
    monkeypatch.setattr(rc, "render_coq", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_certificate(res, out, force=True)
    assert (out / "certificate.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cert"]


# ---------------------------------------------------------------------------
# Fuzzing the checker's reader: any bytes give a verdict, never a traceback.

@pytest.fixture(scope="module")
def small_cert_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz") / "cert"
    return write_certificate(build_certificate(load_model(SMALL_MODEL)), out, emit=())


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_checker_reader_survives_fuzzed_certificates(small_cert_dir, tmp_path_factory, data):
    d = tmp_path_factory.mktemp("f")
    for name in ("certificate.json", "weights.json"):
        raw = bytearray((small_cert_dir / name).read_bytes())
        for _ in range(data.draw(st.integers(0, 3), label=f"flips in {name}")):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
        if data.draw(st.booleans(), label=f"truncate {name}"):
            raw = raw[: data.draw(st.integers(0, len(raw)))]
        (d / name).write_bytes(bytes(raw))
    r = check.check_certificate(d)
    assert r.verdict.startswith(("VERIFIED", "REJECTED"))
    if r.verified:  # only harmless edits (whitespace, the informational producer field) may pass
        cert = json.loads((d / "certificate.json").read_text())
        good = json.loads((small_cert_dir / "certificate.json").read_text())
        cert.pop("producer", None), good.pop("producer", None)
        assert cert == good
        assert json.loads((d / "weights.json").read_text()) == json.loads((small_cert_dir / "weights.json").read_text())


@given(doc=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                        max_leaves=20))
@settings(max_examples=100, deadline=None)
def test_checker_rejects_arbitrary_json_documents(tmp_path_factory, doc):
    d = tmp_path_factory.mktemp("j")
    (d / "certificate.json").write_text(json.dumps(doc))
    (d / "weights.json").write_text(json.dumps(doc))
    r = check.check_certificate(d)
    assert not r.verified and r.verdict.startswith("REJECTED")


# ---------------------------------------------------------------------------
# The tamper campaign.

def _ulp(bits: int, delta: int) -> int:
    mag = (bits & 0x7FFFFFFF) + delta
    return (bits & 0x80000000) | max(0, min(mag, 0x7F7FFFFF))


def _mutations(cert: dict, weights: dict, seed: int) -> list[tuple[str, callable]]:
    """At least 300 seeded mutations, each changing the claim or the data."""
    rng = random.Random(seed)
    muts = []

    def field(path, fn, label):
        def m(c, w, files):
            obj = {"cert": c, "weights": w}[path[0]]
            for k in path[1:-1]:
                obj = obj[k]
            obj[path[-1]] = fn(obj[path[-1]])
        muts.append((label, m))

    claim = cert["claim"]
    for k, v in claim.items():
        if isinstance(v, int):
            for f, tag in ((lambda x: x + 1, "+1"), (lambda x: x - 1, "-1"), (lambda x: x * 2 + 1, "x2+1"),
                           (lambda x: -x - 1, "neg"), (lambda x: str(x), "str"), (lambda x: float(x), "float"),
                           (lambda x: None, "null"), (lambda x: True, "bool")):
                field(("cert", "claim", k), f, f"claim.{k} {tag}")
        else:
            for part in ("numerator", "denominator"):
                for f, tag in ((lambda x: x + 1, "+1"), (lambda x: x - 1, "-1"), (lambda x: x * 2, "x2"),
                               (lambda x: str(x), "str"), (lambda x: 0, "zero")):
                    field(("cert", "claim", k, part), f, f"claim.{k}.{part} {tag}")
    for k in ("format", "version", "task", "strategy"):
        for f, tag in ((lambda x: x + 1 if isinstance(x, int) else x + "x", "changed"), (lambda x: None, "null")):
            field(("cert", k), f, f"{k} {tag}")
    for k in cert["parameters"]:
        for f, tag in ((lambda x: x + 1, "+1"), (lambda x: x - 1, "-1")):
            field(("cert", "parameters", k), f, f"parameters.{k} {tag}")
    for k in cert["model"]["config"]:
        field(("cert", "model", "config", k), lambda x: x + 1, f"model.config.{k} +1")
        field(("weights", "config", k), lambda x: x + 1, f"weights.config.{k} +1")
    for i in rng.sample(range(64), 12):
        flip = lambda s, i=i: s[:i] + format((int(s[i], 16) + 1) % 16, "x") + s[i + 1:]  # noqa: E731
        field(("cert", "model", "sha256"), flip, f"model.sha256 digit {i}")
        field(("weights", "sha256"), flip, f"weights.sha256 digit {i}")
    # sqrt and exp hints narrowed past the true value (invalid enclosures)
    field(("cert", "hints", "sqrt_d_head"), lambda r: [r[0] + (r[1] - r[0]) + 1, r[1]], "sqrt lo above sqrt")
    field(("cert", "hints", "sqrt_d_head"), lambda r: [r[0], r[0] - 1], "sqrt hi below sqrt")
    field(("cert", "hints", "sqrt_d_head"), lambda r: [r[0], -r[1]], "sqrt hi negated")
    v = cert["model"]["config"]["d_vocab"]
    n = cert["model"]["config"]["n_ctx"]
    for _ in range(25):
        q, t = rng.randrange(v), rng.randrange(v)
        if q == t:
            continue
        field(("cert", "hints", "attn_token"),
              lambda tab, q=q, t=t: [[list(x) if (i, j) != (q, t) else [x[1] + 1, x[1] + 1] for j, x in enumerate(r)]
                                     for i, r in enumerate(tab)], f"attn_token[{q}][{t}] above the true value")
        field(("cert", "hints", "attn_token"),
              lambda tab, q=q, t=t: [[list(x) if (i, j) != (q, t) else [x[0], max(0, x[0] - 1)] for j, x in enumerate(r)]
                                     for i, r in enumerate(tab)], f"attn_token[{q}][{t}] below the true value")
    for q in rng.sample(range(v), min(v, 6)):
        p = rng.randrange(n - 1) if n > 1 else 0
        field(("cert", "hints", "attn_pos"),
              lambda tab, q=q, p=p: [[list(x) if (i, j) != (q, p) else [x[1] + 1, x[1] + 2] for j, x in enumerate(r)]
                                     for i, r in enumerate(tab)], f"attn_pos[{q}][{p}] above the true value")
    field(("cert", "hints", "attn_token"), lambda tab: tab[:-1], "attn_token row missing")
    # subcubic witnesses (section 8.3): each case's N is the largest that passes, so N + 1 fails
    if "gap" in cert["hints"]:
        gap = cert["hints"]["gap"]
        cases = [(q, m, c) for q in range(v) for m in range(q, v) for c in range(n - 1)
                 if (c + 1 <= n - 2 or q == m) and gap[q][m][c] < m]
        noncases = [(q, m, c) for q in range(v) for m in range(v) for c in range(n - 1)
                    if m < q or (q < m and c + 1 == n - 1)]
        for q, m, c in rng.sample(cases, min(len(cases), 20)):
            field(("cert", "hints", "gap", q, m, c), lambda x: x + 1, f"gap[{q}][{m}][{c}] +1")
        for q, m, c in rng.sample(noncases, min(len(noncases), 8)):
            field(("cert", "hints", "gap", q, m, c), lambda x: x + 1, f"gap[{q}][{m}][{c}] (not a case) +1")
        for f, tag in ((lambda g: g[:-1], "row missing"), (lambda g: [[c[:-1] for c in r] for r in g], "c missing"),
                       (lambda g: None, "null")):
            field(("cert", "hints", "gap"), f, f"gap {tag}")
    if "rank_one" in cert["hints"]:
        for k in ("centre", "direction", "beta"):
            field(("cert", "hints", "rank_one", k), lambda x: x[:-1], f"rank_one.{k} shorter")
            field(("cert", "hints", "rank_one", k), lambda x: x + [0], f"rank_one.{k} longer")
        for t in rng.sample(range(v), min(v, 4)):
            field(("cert", "hints", "rank_one", "beta", t), lambda x: x + 2**24 * (abs(x) + 1), f"rank_one.beta[{t}] moved")
    field(("cert", "hints", "attn_pos"), lambda tab: [r[:-1] for r in tab], "attn_pos column missing")
    # single weights: one ulp up, one ulp down, sign flip
    for _ in range(120):
        ti = rng.randrange(len(weights["tensors"]))
        t = weights["tensors"][ti]
        nvals = len(t["float32_hex"]) // 8
        j = rng.randrange(nvals)
        kind = rng.choice(["ulp+", "ulp-", "sign"])

        def fn(h, j=j, kind=kind):
            b = int(h[8 * j: 8 * j + 8], 16)
            nb = _ulp(b, 1) if kind == "ulp+" else _ulp(b, -1) if kind == "ulp-" else b ^ 0x80000000
            if nb == b or (nb == 0x80000000):
                nb = 1  # zero: move to the smallest subnormal
            return h[: 8 * j] + f"{nb:08x}" + h[8 * j + 8:]
        field(("weights", "tensors", ti, "float32_hex"), fn, f"{t['name']}[{j}] {kind}")
    # byte flips anywhere in the weights file's hex payload
    for _ in range(60):
        ti = rng.randrange(len(weights["tensors"]))
        pos = rng.randrange(len(weights["tensors"][ti]["float32_hex"]))

        def fn(h, pos=pos):
            ch = format((int(h[pos], 16) ^ 0x4) % 16, "x")
            return h[:pos] + ch + h[pos + 1:]
        field(("weights", "tensors", ti, "float32_hex"), fn, f"hex digit flip in tensor {ti} at {pos}")
    # files swapped or missing
    for label, act in (("certificate.json missing", lambda f: f.pop("certificate.json")),
                       ("weights.json missing", lambda f: f.pop("weights.json")),
                       ("files swapped", lambda f: f.update({"certificate.json": f["weights.json"],
                                                             "weights.json": f["certificate.json"]})),
                       ("certificate.json empty", lambda f: f.update({"certificate.json": ""})),
                       ("weights.json truncated", lambda f: f.update({"weights.json": f["weights.json"][:-50]}))):
        muts.append((label, lambda c, w, files, act=act: act(files)))
    return muts


def _materialise(cert, weights, mut, out: Path) -> Path:
    label, fn = mut
    c, w = copy.deepcopy(cert), copy.deepcopy(weights)
    files = {}
    if label.endswith(("missing", "swapped", "empty", "truncated")) and ".json" in label or label == "files swapped":
        files = {"certificate.json": json.dumps(c), "weights.json": json.dumps(w)}
        fn(c, w, files)
    else:
        fn(c, w, files)
        files = {"certificate.json": json.dumps(c), "weights.json": json.dumps(w)}
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    return out


CAMPAIGN_STRATEGIES = ("brute-force", "cubic", "subcubic-gap", "subcubic-rank-one")


@pytest.fixture(scope="module")
def campaign_certs(tmp_path_factory):
    w = load_model(tiny_model_file(tmp_path_factory.mktemp("camp"), seed=11, v=5, n=3, d=8, steps=400))
    return {s: build_certificate(w, strategy=s) for s in CAMPAIGN_STRATEGIES}


CAMPAIGN_TABLE = {}


@pytest.mark.parametrize("strategy", CAMPAIGN_STRATEGIES)
def test_tamper_campaign_every_mutation_is_rejected_by_the_checker(campaign_certs, tmp_path, strategy, capsys):
    res = campaign_certs[strategy]
    cert, weights = res.certificate, res.weights.to_json_dict()
    base = write_certificate(res, tmp_path / "base", emit=())
    assert check.check_certificate(base).verified
    assert 0 < cert["claim"]["proven_correct"] < cert["claim"]["inputs"]
    original = {p.name: p.read_text() for p in base.iterdir() if p.is_file()}
    same = {"certificate.json": json.dumps(cert), "weights.json": json.dumps(weights)}
    muts = []
    for i, mut in enumerate(_mutations(cert, weights, seed=2026)):
        d = _materialise(cert, weights, mut, tmp_path / f"m{i}")
        if {p.name: p.read_text() for p in d.iterdir()} != same:  # a mutation that changes nothing is none
            muts.append((mut, d))
    assert len(muts) >= 300 and original
    accepted = []
    for mut, d in muts:
        if check.check_certificate(d).verified:
            accepted.append(mut[0])
    CAMPAIGN_TABLE[strategy] = (len(muts), len(muts) - len(accepted), len(accepted))
    with capsys.disabled():
        print(f"\n[tamper campaign, checker/, {strategy}] mutations tried {len(muts)}, "
              f"rejected {len(muts) - len(accepted)}, accepted {len(accepted)}")
    assert accepted == []


@pytest.mark.prover
@pytest.mark.parametrize("strategy", CAMPAIGN_STRATEGIES)
def test_tamper_campaign_sample_is_rejected_by_coq(campaign_certs, tmp_path, strategy, capsys):
    """Coq on a seeded sample of the mutations (CI: 16 per strategy, as each make check takes seconds);
    MECHCERT_COQ_CAMPAIGN=all runs every one."""
    require_coqc()
    import os

    size = os.environ.get("MECHCERT_COQ_CAMPAIGN", "16")
    from mechcert.certificates.render_coq import render_coq

    res = campaign_certs[strategy]
    cert, weights = res.certificate, res.weights.to_json_dict()
    honest = tmp_path / "honest"
    render_coq(cert, weights, honest)
    honest_files = {p.name: p.read_bytes() for p in honest.iterdir()}
    muts = [m for m in _mutations(cert, weights, seed=2026) if ".json" not in m[0] and "swapped" not in m[0]]
    sample = muts if size == "all" else random.Random(7).sample(muts, int(size))
    tried = rejected = unchanged = 0
    for i, (label, fn) in enumerate(sample):
        c, w = copy.deepcopy(cert), copy.deepcopy(weights)
        fn(c, w, {})
        proj = tmp_path / f"c{i}"
        try:
            render_coq(c, w, proj)
        except (ValueError, KeyError, TypeError, AttributeError):
            tried += 1
            rejected += 1  # refused before Coq: nothing to prove
            continue
        if {p.name: p.read_bytes() for p in proj.iterdir()} == honest_files:
            unchanged += 1  # e.g. weights.json's own sha256 field: not in the Coq data (checker/ rejects it)
            continue
        tried += 1
        r = subprocess.run(["make", "-s", "check"], cwd=proj, capture_output=True, text=True)
        if r.returncode != 0:
            rejected += 1
        else:
            pytest.fail(f"Coq accepted mutation {label}")
    with capsys.disabled():
        print(f"\n[tamper campaign, Coq sample, {strategy}] mutations tried {tried}, rejected {rejected}, "
              f"accepted {tried - rejected} ({unchanged} more left the Coq data unchanged)")
    assert tried >= min(10, len(sample) - unchanged)


# ---------------------------------------------------------------------------
# Edited prover projects: `mechcert verify` refuses any project that is not what the
# certificate renders to (a weaker claim, an edited library), before running the prover.

@pytest.mark.parametrize("prover,file,old,new", [
    ("coq", "Certificate.v", "4096 <= proven_correct", "4000 <= proven_correct"),
    ("coq", "MechCert.v", "Definition HINT_BITS : Z := 40.", "Definition HINT_BITS : Z := 41."),
    ("lean", "Certificate.lean", "4096 ≤ proven_correct", "4000 ≤ proven_correct"),
    ("lean", "MechCert.lean", "def", "def "),
])
def test_verify_refuses_an_edited_prover_project(tmp_path, prover, file, old, new):
    out = tmp_path / "c"
    assert certify(SMALL_MODEL, out).returncode == 0
    f = out / prover / file
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))
    r = subprocess.run([sys.executable, "-m", "mechcert", "verify", str(out), "--prover", prover],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{file} is not what certificate.json and weights.json render to" in r.stderr


# ---------------------------------------------------------------------------
# The campaign on the rendered prover files: checker/ rejects every edit (certificate.json lists
# each file's SHA-256), and Coq rejects every edit of its data that changes the weights or raises
# the claim. (An edit that *weakens* the claim in Certificate.v states a true theorem, which Coq
# proves; checker/ and `mechcert verify` refuse it as not this certificate.)

def _hex_literal_flips(text: str, prefix: str, rng, count: int):
    """(label, new text) for `count` seeded one-digit changes of hex literals on lines starting
    with `prefix` (weights data)."""
    lines = text.split("\n")
    cand = [i for i, ln in enumerate(lines) if ln.startswith(prefix) and "0x" in ln]
    out = []
    for _ in range(count):
        i = rng.choice(cand)
        ln = lines[i]
        spots = [j for j in range(len(ln) - 2) if ln[j:j + 2] == "0x" and ln[j + 2] in "0123456789abcdef"]
        j = rng.choice(spots) + 2
        new = ln[:j] + format((int(ln[j], 16) + 1) % 16, "x") + ln[j + 1:]
        out.append((f"line {i + 1} digit {j}", "\n".join(lines[:i] + [new] + lines[i + 1:])))
    return out


def _prover_file_mutations(base: Path, claim: int, seed: int):
    """(label, kind, fn(dir)) with kind "data" (Coq must reject) or "file" (checker/ only)."""
    rng = random.Random(seed)
    muts = []

    def edit(rel, label, kind, new_text):
        muts.append((f"{rel}: {label}", kind, lambda d, rel=rel, t=new_text: (d / rel).write_text(t)))

    coq_cert = (base / "coq" / "Certificate.v").read_text()
    has_lean = (base / "lean").is_dir()  # the subcubic strategies render Coq only
    lean_cert = (base / "lean" / "Certificate.lean").read_text() if has_lean else ""
    for label, t in _hex_literal_flips(coq_cert, "Definition tensor_", rng, 12):
        edit("coq/Certificate.v", f"weight {label}", "data", t)
    assert f"{claim} <= " in coq_cert
    edit("coq/Certificate.v", "claim raised", "data", coq_cert.replace(f"{claim} <= ", f"{claim + 1} <= "))
    edit("coq/Certificate.v", "claim weakened", "file", coq_cert.replace(f"{claim} <= ", f"{max(claim - 1, 0)} <= "))
    edit("coq/Certificate.v", "an axiom appended", "file", coq_cert + "\nAxiom cheat : False.\n")
    for i in range(8 if has_lean else 0):
        j = rng.randrange(len(lean_cert))
        while not lean_cert[j].isdigit():
            j = (j + 1) % len(lean_cert)
        edit("lean/Certificate.lean", f"digit at {j}", "file",
             lean_cert[:j] + str((int(lean_cert[j]) + 1) % 10) + lean_cert[j + 1:])
    if has_lean:
        edit("lean/Certificate.lean", "claim weakened", "file",
             lean_cert.replace(f"{claim} ≤ ", f"{max(claim - 1, 0)} ≤ "))
    for rel in ("coq/MechCert.v", "lean/MechCert.lean", "coq/Makefile", "lean/Makefile", "coq/_CoqProject",
                "lean/lakefile.toml", "lean/lean-toolchain"):
        if rel.startswith("lean/") and not has_lean:
            continue
        edit(rel, "a line appended", "file", (base / rel).read_text() + "\n(* edited *)\n")
        muts.append((f"{rel}: missing", "file", lambda d, rel=rel: (d / rel).unlink()))
    if has_lean:
        muts.append(("coq/Certificate.v <-> lean/Certificate.lean swapped", "file",
                     lambda d: ((d / "coq" / "Certificate.v").write_text(lean_cert),
                                (d / "lean" / "Certificate.lean").write_text(coq_cert))))
    else:
        muts.append(("coq/Certificate.v replaced by the Makefile", "file",
                     lambda d: (d / "coq" / "Certificate.v").write_text((d / "coq" / "Makefile").read_text())))

    def manifest(fn):
        def m(d):
            c = json.loads((d / "certificate.json").read_text())
            fn(c)
            (d / "certificate.json").write_text(json.dumps(c))
        return m
    muts.append(("rendered removed", "file", manifest(lambda c: c.pop("rendered"))))
    muts.append(("rendered: coq/Certificate.v unlisted", "file", manifest(lambda c: c["rendered"].pop("coq/Certificate.v"))))
    muts.append(("rendered: a digest changed", "file",
                 manifest(lambda c: c["rendered"].update({"coq/MechCert.v": "0" * 64}))))
    muts.append(("rendered: a file listed that was not rendered", "file",
                 manifest(lambda c: c["rendered"].update({"lean/MechCert.lean": "0" * 64}))))
    muts.append(("rendered: an extra key", "file", manifest(lambda c: c["rendered"].update({"coq/../x": "0" * 64}))))
    return muts


@pytest.fixture(scope="module")
def rendered_campaign(campaign_certs, tmp_path_factory):
    out = {}
    for s in ("cubic", "subcubic-gap"):
        base = write_certificate(campaign_certs[s], tmp_path_factory.mktemp("rc") / s)
        out[s] = (base, campaign_certs[s].certificate["claim"]["proven_correct"])
    return out


def _copy_dir(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("strategy", ["cubic", "subcubic-gap"])
def test_tamper_campaign_prover_files_are_rejected_by_the_checker(rendered_campaign, tmp_path, strategy, capsys):
    base, claim = rendered_campaign[strategy]
    assert check.check_certificate(base).verified
    muts = _prover_file_mutations(base, claim, seed=99)
    accepted = []
    for i, (label, _, fn) in enumerate(muts):
        d = _copy_dir(base, tmp_path / f"p{i}")
        fn(d)
        if check.check_certificate(d).verified:
            accepted.append(label)
    with capsys.disabled():
        print(f"\n[tamper campaign, prover files, checker/, {strategy}] mutations tried {len(muts)}, "
              f"rejected {len(muts) - len(accepted)}, accepted {len(accepted)}")
    assert accepted == [] and len(muts) >= 25


@pytest.mark.prover
@pytest.mark.parametrize("strategy", ["cubic", "subcubic-gap"])
def test_tamper_campaign_prover_data_edits_are_rejected_by_coq(rendered_campaign, tmp_path, strategy, capsys):
    """Coq on the edits of coq/Certificate.v that change the weights or raise the claim: every one
    is rejected by make check (the weights' SHA-256 is recomputed in Coq, and the count)."""
    require_coqc()
    base, claim = rendered_campaign[strategy]
    muts = [m for m in _prover_file_mutations(base, claim, seed=99) if m[1] == "data"]
    import os

    if os.environ.get("MECHCERT_COQ_CAMPAIGN", "16") != "all":
        muts = random.Random(3).sample(muts[:-1], 4) + muts[-1:]  # CI: 4 weight edits and the raised claim
    honest = _copy_dir(base / "coq", tmp_path / "honest")
    assert subprocess.run(["make", "-s", "check"], cwd=honest, capture_output=True).returncode == 0
    rejected = 0
    for i, (label, _, fn) in enumerate(muts):
        root = tmp_path / f"root{i}"
        _copy_dir(base / "coq", root / "coq")
        fn(root)
        r = subprocess.run(["make", "-s", "check"], cwd=root / "coq", capture_output=True, text=True)
        assert r.returncode != 0, f"Coq accepted {label}"
        rejected += 1
    with capsys.disabled():
        print(f"\n[tamper campaign, prover files, Coq, {strategy}] mutations tried {len(muts)}, "
              f"rejected {rejected}, accepted 0")


# ---------------------------------------------------------------------------
# Fuzzing the model reader: a damaged .pt gives ModelError (a one-line message) or, where the damage
# only changed weight bytes or bytes never read, a model (a different one has another SHA-256,
# which is what certificates are bound to); never another exception, never pickled code run.

SMALL_SHA = {}


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_pt_files_give_a_model_error_or_the_same_weights(tmp_path_factory, data):
    if not SMALL_SHA:
        w0 = load_model(SMALL_MODEL)
        SMALL_SHA.update(sha=w0.sha256, tensors=w0.to_json_dict()["tensors"])
    sha = SMALL_SHA["sha"]
    b = bytearray(SMALL_MODEL.read_bytes())
    kind = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(b) - 1))
            b[i] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        b = b[:data.draw(st.integers(0, len(b) - 1))]
    else:
        i = data.draw(st.integers(0, len(b) - 1))
        b[i:i] = data.draw(st.binary(min_size=1, max_size=64))
    p = tmp_path_factory.mktemp("fz") / "m.pt"
    p.write_bytes(bytes(b))
    try:
        w = load_model(p)
    except ModelError as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    assert len(w.sha256) == 64 and (w.sha256 == sha) == (w.to_json_dict()["tensors"] == SMALL_SHA["tensors"])


# ---------------------------------------------------------------------------
# Found by review: a negative R_hi has a large square too. Before sqrt_hint_ok required
# R_lo <= R_hi, it flipped the sign of one end of every exp argument, so any hint between
# exp(-|x|) and exp(|x|) passed: a model with W_Q negated (true accuracy 16/4096) was certified
# at 4096/4096 with the original model's hints. Checker/ and Coq must reject it.

def _negated_sqrt_exploit(tmp: Path) -> Path:
    src = tmp / "honest"
    assert certify(SMALL_MODEL, src, "--emit", "").returncode == 0
    cert = json.loads((src / "certificate.json").read_text())
    wj = json.loads((src / "weights.json").read_text())
    assert "rendered" not in cert
    for t in wj["tensors"]:
        if t["name"] == "blocks.0.attn.W_Q":
            hx = t["float32_hex"]
            t["float32_hex"] = "".join("%08x" % (b ^ 0x80000000 if b else 0)
                                       for b in (int(hx[i:i + 8], 16) for i in range(0, len(hx), 8)))
    cfg, _, tensors = check.read_weights(wj)
    wj["sha256"] = cert["model"]["sha256"] = check.model_hash(tensors)
    e0, ints = check.integer_weights(cfg, tensors)
    M = check.derived_matrices(cfg, ints)
    v, n, h, S = cfg["d_vocab"], cfg["n_ctx"], cfg["d_head"], 64 - 4 * e0
    rlo, rhi = cert["hints"]["sqrt_d_head"]
    rhi = -rhi
    cert["hints"]["sqrt_d_head"] = [rlo, rhi]

    def widened(D, old):  # the old rule's accepted range, widened to hold the original hint
        a_lo, a_hi = check.exp_arguments(D, rlo, rhi)
        return [min(old[0], check.exp_lo(a_lo, h, S) >> 24), max(old[1], check.ceil_shift(check.exp_hi(a_hi, h, S), 24))]
    tok, pos = cert["hints"]["attn_token"], cert["hints"]["attn_pos"]
    cert["hints"]["attn_token"] = [[widened(M["EQKE"][q][t] - M["EQKE"][q][q], tok[q][t]) for t in range(v)]
                                   for q in range(v)]
    cert["hints"]["attn_pos"] = [[widened(M["EQKP"][q][p] - M["EQKP"][q][n - 1], pos[q][p]) for p in range(n)]
                                 for q in range(v)]
    out = tmp / "exploit"
    out.mkdir()
    (out / "certificate.json").write_text(json.dumps(cert))
    (out / "weights.json").write_text(json.dumps(wj))
    return out


def test_negative_sqrt_upper_end_is_rejected_by_the_checker(tmp_path):
    res = check.check_certificate(_negated_sqrt_exploit(tmp_path))
    assert not res.verified and "hints.sqrt_d_head" in res.verdict


@pytest.mark.prover
def test_negative_sqrt_upper_end_is_rejected_by_coq(tmp_path):
    require_coqc()
    from mechcert.certificates.render_coq import render_coq

    d = _negated_sqrt_exploit(tmp_path)
    render_coq(json.loads((d / "certificate.json").read_text()), json.loads((d / "weights.json").read_text()), d / "coq")
    r = subprocess.run(["make", "-s", "check"], cwd=d / "coq", capture_output=True, text=True)
    assert r.returncode != 0
