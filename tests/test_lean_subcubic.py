"""The Lean mirror of the subcubic proofs (MechCert.lean part 10; docs/certificate-format.md,
section 8) and the Lean projects of subcubic certificates, without Lean.

No Lean binary can be installed where these tests were written (see tests/test_lean.py), so they
check what can be checked without one: the rendered projects of the three subcubic strategies
(from the CLI and from write_certificate), the theorem and the record they state, the packed
witness `gap` and `rank_one` hint decoding back to the certificate's values (by Python twins of
MechCert.decode_int_table / decode_int_list), the mirror of Coq's part 10 (names, order, records,
parameters), and a Python transcription of the Lean subcubic definitions, line by line, that
computes exactly the producer's count, rejects a wrong witness or rank_one hint, and computes the
same matrices, score intervals and decisions as the producer. `make check` runs only where `lake`
or `lean` is on PATH.
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from math import comb, isqrt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mechcert.certificates.certificate import build_certificate, write_certificate
from mechcert.certificates.max_of_k import MaxOfKModel
from mechcert.certificates.render_lean import (
    CHUNK,
    LEAN_FILES,
    LEAN_STRATEGIES,
    SUBCUBIC_TERMS,
    THEOREM_NAMES,
    audit_axioms,
    lean_context,
    render_lean,
)
from mechcert.certificates.subcubic import SUBCUBIC_STRATEGIES, score_intervals, subcubic_witnesses
from mechcert.checker import check as checker
from mechcert.extract import load_model

from .conftest import SMALL_MODEL, tiny_model_file
from .test_lean import (
    COQ_LIB,
    LEAN_LIB,
    coq_def_names,
    coq_mirrored_text,
    decode_int,
    lean_blocks,
    lean_def_names,
    lean_int,
    nat_log2,
    parse_hint_table,
    parse_tensors,
    strip_comments_and_strings,
    unbalanced,
    undefined_names,
    unpack,
)

STRATEGIES = tuple(SUBCUBIC_STRATEGIES)
RANK_ONE = ("subcubic-rank-one", "subcubic-rank-one-global")
COQ_PART_10 = "(** ** 10. The subcubic proofs"


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, Path]:
    """A certificate directory per subcubic strategy of the shipped 16/3 model, written by
    write_certificate with its default provers (Coq and Lean)."""
    w = load_model(SMALL_MODEL)
    out = {}
    for s in STRATEGIES:
        d = tmp_path_factory.mktemp(s) / "cert"
        write_certificate(build_certificate(w, strategy=s), d)
        out[s] = d
    return out


def certificate(dirs, strategy) -> dict:
    return json.loads((dirs[strategy] / "certificate.json").read_text())


def weights_json(dirs, strategy) -> dict:
    return json.loads((dirs[strategy] / "weights.json").read_text())


def cert_text(dirs, strategy) -> str:
    return (dirs[strategy] / "lean" / "Certificate.lean").read_text()


# ---------------------------------------------------------------- Python twins of the Lean decoders
def split_rows(rows: int, values: list[int]) -> list[list[int]]:
    """MechCert.split_rows: `rows` rows, each its length then its entries (stops if values run out)."""
    out = []
    for _ in range(rows):
        if not values:
            break
        n, rest = max(values[0], 0), values[1:]  # len.toNat
        out.append(rest[:n])
        values = rest[n:]
    return out


def decode_int_table(w: int, blocks: list[tuple[int, int, int]]) -> list[list[list[int]]]:
    return [split_rows(rows, [decode_int(f) for f in unpack(w, fields, x)]) for rows, fields, x in blocks]


def decode_int_list(w: int, chunks: list[tuple[int, int]]) -> list[int]:
    return [decode_int(f) for count, x in chunks for f in unpack(w, count, x)]


def parse_gap(text: str) -> list[list[list[int]]]:
    m = re.search(r"def gap : List matrix := decode_int_table (\d+) \[(.*?)\]\n", text, re.S)
    assert m, "no gap"
    blocks = [(int(r), int(f), int(x, 16)) for r, f, x in re.findall(r"\((\d+), (\d+), (0x[0-9a-f]+)\)", m.group(2))]
    return decode_int_table(int(m.group(1)), blocks)


def parse_rank_one(text: str) -> dict[str, list[int]]:
    out = {}
    for key in ("centre", "direction", "beta"):
        m = re.search(rf"  rank_one_{key} := decode_int_list (\d+) \[(.*?)\]\n", text, re.S)
        assert m, key
        chunks = [(int(c), int(x, 16)) for c, x in re.findall(r"\((\d+), (0x[0-9a-f]+)\)", m.group(2))]
        assert all(c <= CHUNK for c, _ in chunks)
        out[key] = decode_int_list(int(m.group(1)), chunks)
    return out


# ---------------------------------------------------------------- the rendered projects
def test_every_strategy_renders_lean():
    assert set(LEAN_STRATEGIES) == set(THEOREM_NAMES) and set(SUBCUBIC_TERMS) == set(STRATEGIES)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_write_certificate_renders_both_provers(dirs, strategy):
    assert {p.name for p in (dirs[strategy] / "lean").iterdir()} == set(LEAN_FILES)
    assert (dirs[strategy] / "coq" / "Certificate.v").is_file()
    rendered = certificate(dirs, strategy)["rendered"]
    assert {k for k in rendered if k.startswith("lean/")} == {f"lean/{n}" for n in LEAN_FILES}
    assert (dirs[strategy] / "lean" / "MechCert.lean").read_text() == LEAN_LIB.read_text()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_checker_accepts_the_rendered_directory(dirs, strategy):
    res = checker.check_certificate(str(dirs[strategy]))  # it also checks the rendered files' hashes
    assert res.verified, res.verdict


def test_the_cli_renders_a_subcubic_lean_project(tmp_path):
    out = tmp_path / "cert"
    r = subprocess.run([sys.executable, "-m", "mechcert", "certify", str(SMALL_MODEL), "--strategy",
                        "subcubic-rank-one-global", "--out", str(out), "--emit", "lean"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {p.name for p in (out / "lean").iterdir()} == set(LEAN_FILES) and not (out / "coq").exists()
    text = (out / "lean" / "Certificate.lean").read_text()
    assert f"theorem {THEOREM_NAMES['subcubic-rank-one-global']} :" in text
    assert checker.check_certificate(str(out)).verified


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_certificate_text_is_balanced_and_uses_only_library_names(dirs, strategy):
    text = cert_text(dirs, strategy)
    assert unbalanced(strip_comments_and_strings(text)) is None
    assert undefined_names(text) == set()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_theorem_states_the_subcubic_claim(dirs, strategy):
    cert = certificate(dirs, strategy)
    text = cert_text(dirs, strategy)
    code = strip_comments_and_strings(text)
    name = THEOREM_NAMES[strategy]
    start = code.index(f"theorem {name} :")
    theorem = code[start:code.index(":=\n", start)]
    term = SUBCUBIC_TERMS[strategy]
    assert f"cubic_weights_sha256 cert = 0x{cert['model']['sha256']}" in theorem
    assert f"cubic_num_inputs cert = {cert['claim']['inputs']}" in theorem
    assert f"{cert['claim']['proven_correct']} ≤ subcubic_proven_correct {term} gap cert" in theorem
    assert f"subcubic_check_sound {term} gap cert (by decide +kernel)" in code
    assert not re.search(r"\b(sorry|admit|native_decide|axiom)\b", code)
    assert f"#print axioms {name}" in code
    assert ("def rank_one : rank_one_hint where" in code) == (strategy in RANK_ONE)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_record_is_a_cubic_certificate_with_the_claim(dirs, strategy):
    cert = certificate(dirs, strategy)
    text = cert_text(dirs, strategy)
    record = text[text.index("def cert :"):text.index("/-! ## The theorem")]
    assert record.startswith("def cert : cubic_certificate where")
    assert f"claimed_sha256 := 0x{cert['model']['sha256']}" in record
    assert f"claimed_correct := {cert['claim']['proven_correct']}" in record
    lb = cert["claim"]["accuracy_lower_bound"]
    assert f"claimed_lower_bound := ({lb['numerator']}, {lb['denominator']})" in record
    assert "claimed_wrong" not in record and "claimed_upper_bound" not in record


def test_a_native_subcubic_certificate_uses_native_decide(dirs, tmp_path):
    render_lean(certificate(dirs, "subcubic-gap"), weights_json(dirs, "subcubic-gap"), tmp_path, native=True)
    code = strip_comments_and_strings((tmp_path / "Certificate.lean").read_text())
    assert "subcubic_check_sound subcubic_strategy.subcubic_gap gap cert (by native_decide)" in code
    assert "decide +kernel" not in code
    assert "NATIVE := 1" in (tmp_path / "Makefile").read_text()


# ---------------------------------------------------------------- the packed data decode back
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_packed_gap_and_rank_one_decode_to_the_certificate(dirs, strategy):
    hints = certificate(dirs, strategy)["hints"]
    text = cert_text(dirs, strategy)
    assert parse_gap(text) == hints["gap"]
    if strategy in RANK_ONE:
        assert parse_rank_one(text) == hints["rank_one"]
    else:
        assert "rank_one" not in hints and "decode_int_list" not in strip_comments_and_strings(text)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_packed_weights_and_hints_decode_to_the_certificate(dirs, strategy):
    hints = certificate(dirs, strategy)["hints"]
    text = cert_text(dirs, strategy)
    for name in ("attn_token", "attn_pos"):
        assert parse_hint_table(text, name) == [[tuple(p) for p in row] for row in hints[name]]
    wj = weights_json(dirs, strategy)
    tensors = parse_tensors(text)
    for got, want in zip(tensors, wj["tensors"]):
        h = want["float32_hex"]
        assert got["bits"] == [int(h[i:i + 8], 16) for i in range(0, len(h), 8)]
    assert len(tensors) == len(wj["tensors"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.lists(st.integers(-2**70, 2**70), max_size=5), max_size=5), max_size=4))
def test_any_gap_round_trips_through_its_literals(gap):
    """Any shape (ragged rows included: the provers reject them, so they must arrive as they are)."""
    from mechcert.certificates.render_lean import _gap_table
    packed = _gap_table(gap)
    assert packed["width"] % 4 == 0 and len(packed["blocks"]) == len(gap)
    blocks = [(b["rows"], b["fields"], int(b["literal"], 16)) for b in packed["blocks"]]
    assert decode_int_table(packed["width"], blocks) == gap


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-2**200, 2**200), max_size=3 * CHUNK))
def test_any_int_list_round_trips_through_its_chunks(xs):
    from mechcert.certificates.render_lean import _int_list
    packed = _int_list(xs)
    assert all(c["count"] <= CHUNK for c in packed["chunks"])
    assert decode_int_list(packed["width"], [(c["count"], int(c["literal"], 16)) for c in packed["chunks"]]) == xs


def _bad(dirs, strategy, mutate):
    cert = copy.deepcopy(certificate(dirs, strategy))
    mutate(cert)
    with pytest.raises(ValueError):
        lean_context(cert, weights_json(dirs, strategy))


def test_render_refuses_a_float_in_the_witness(dirs):
    def mutate(c):
        c["hints"]["gap"][0][0][0] = 1.0
    _bad(dirs, "subcubic-gap", mutate)


def test_render_refuses_a_rank_one_strategy_without_its_hint(dirs):
    _bad(dirs, "subcubic-rank-one", lambda c: c["hints"].pop("rank_one"))


def test_render_refuses_a_bool_in_the_rank_one_hint(dirs):
    def mutate(c):
        c["hints"]["rank_one"]["beta"][0] = True
    _bad(dirs, "subcubic-rank-one-global", mutate)


def test_render_keeps_a_malformed_witness_for_the_prover_to_reject(dirs, tmp_path):
    """A witness of the wrong shape is not the renderer's business: it is written as it is."""
    cert = copy.deepcopy(certificate(dirs, "subcubic-gap"))
    cert["hints"]["gap"][1][2] = [7, -3, 5]
    cert["hints"]["gap"].append([])
    render_lean(cert, weights_json(dirs, "subcubic-gap"), tmp_path)
    assert parse_gap((tmp_path / "Certificate.lean").read_text()) == cert["hints"]["gap"]


# ---------------------------------------------------------------- the library mirrors Coq's part 10
def coq_part_10(text: str) -> str:
    return coq_mirrored_text(text).split(COQ_PART_10, 1)[1]


def test_part_10_is_in_the_mirrored_coq_text():
    coq = COQ_LIB.read_text()
    assert COQ_PART_10 in coq_mirrored_text(coq)
    names = re.findall(r"^(?:Definition|Fixpoint)\s+(\w+)", coq_part_10(coq), re.M)
    assert {"subcubic_check", "subcubic_count", "subcubic_rank_one_intervals", "ceil_sqrt"} <= set(names)
    assert set(names) <= set(coq_def_names(coq))


def test_every_part_10_definition_record_and_inductive_is_mirrored_in_order():
    coq = coq_part_10(COQ_LIB.read_text())
    lean_text = LEAN_LIB.read_text()
    lean_part = strip_comments_and_strings(
        lean_text[lean_text.index("/-! ## 10. The subcubic proofs"):lean_text.index("/-! ## 11. Decoding")])
    # every Coq Definition / Fixpoint / Record / Inductive of part 10, in Coq's order, is in Lean's part 10
    coq_items = re.findall(r"^(?:Definition|Fixpoint|Record|Inductive)\s+(\w+)", coq, re.M)
    lean_items = re.findall(r"^(?:def|abbrev|theorem|structure|inductive)\s+(\w+)", lean_part, re.M)
    assert [n for n in lean_items if n in coq_items] == coq_items
    # Lean-only additions: the claim as a proposition and the reflection lemma (a Coq Lemma)
    assert [n for n in lean_items if n not in coq_items] == ["subcubic_claim_holds", "subcubic_check_sound"]
    assert re.search(r"^Lemma subcubic_check_sound", coq, re.M)


def test_the_subcubic_strategy_has_the_coq_constructors():
    coq = coq_part_10(COQ_LIB.read_text())
    coq_block = coq[coq.index("Inductive subcubic_strategy"):]
    coq_block = coq_block[:coq_block.index(".\n")]
    coq_cons = re.findall(r"\|\s*(\w+)", re.sub(r"\(\*.*?\*\)", "", coq_block))
    lean = strip_comments_and_strings(LEAN_LIB.read_text())
    lean_block = re.search(r"^inductive subcubic_strategy where\n((?:  \|.*\n)+)", lean, re.M).group(1)
    assert re.findall(r"^  \| (\w+)", lean_block, re.M) == coq_cons == [
        "subcubic_gap", "subcubic_rank_one", "subcubic_rank_one_global"]


def _record_fields(text: str, kind: str, name: str) -> list[str]:
    if kind == "coq":
        body = re.search(rf"^Record {name} := \w+ {{(.*?)}}\.", text, re.M | re.S).group(1)
        return re.findall(r"(\w+)\s*:", re.sub(r"\(\*.*?\*\)", "", body, flags=re.S))
    body = re.search(rf"^structure {name} where\n((?:  .*\n)+)", text, re.M).group(1)
    return re.findall(r"^  (\w+) : ", body, re.M)


@pytest.mark.parametrize("record", ["rank_one_hint", "subcubic_derived", "subcubic_slots", "subcubic_query"])
def test_the_records_have_the_coq_fields_in_order(record):
    coq = coq_part_10(COQ_LIB.read_text())
    lean = strip_comments_and_strings(LEAN_LIB.read_text())
    assert _record_fields(lean, "lean", record) == _record_fields(coq, "coq", record) != []


def _explicit_parameters(header: str) -> list[str]:
    """The names of the explicit binders `(x y : T)` of a definition header (before `:=`)."""
    names = []
    for group in re.findall(r"\(\s*([A-Za-z_][\w' ]*?)\s*:(?!=)", header):
        names += group.split()
    return names


# Parameter renamed in Lean ("global" is avoided as an identifier).
PARAM_RENAMED = {"global": "use_global"}


def test_part_10_definitions_take_the_coq_parameters_in_order():
    coq = re.sub(r"\(\*.*?\*\)", "", coq_part_10(COQ_LIB.read_text()), flags=re.S)
    blocks = lean_blocks(LEAN_LIB.read_text())
    checked = 0
    for m in re.finditer(r"^(?:Definition|Fixpoint)\s+(\w+)(.*?):=", coq, re.M | re.S):
        name, coq_header = m.group(1), m.group(2)
        lean_header = blocks[name].split(":=", 1)[0]
        want = [PARAM_RENAMED.get(p, p) for p in _explicit_parameters(coq_header)]
        assert _explicit_parameters(lean_header) == want, name
        checked += 1
    assert checked >= 30


def test_the_lean_subcubic_count_requires_two_positions_and_tests_the_hash_first():
    lib = LEAN_LIB.read_text()
    body = lib[lib.index("def subcubic_certified_count"):lib.index("def subcubic_proven_correct")]
    assert "Nat.ble 2 cf.n_ctx &&" in body
    claim = lib[lib.index("abbrev subcubic_claim_holds"):lib.index("def subcubic_check ")]
    assert claim.split(":=", 1)[1].split("∧")[0].strip().startswith("cubic_weights_sha256 c = c.claimed_sha256")


def test_the_subcubic_hint_test_keeps_the_exp_argument_guard():
    block = lean_blocks(LEAN_LIB.read_text())["subcubic_hint_ok"]
    guard = block.index("if exp_arg_small h S a_lo && exp_arg_small h S a_hi then")
    assert guard < block.index("exp_lo a_lo h S") and guard < block.index("exp_hi a_hi h S")


def test_the_witness_is_tested_before_its_power_is_computed():
    """A huge witness must not make the kernel compute N^c: the range test comes first."""
    block = lean_blocks(LEAN_LIB.read_text())["subcubic_sum_cases"]
    assert block.index("zleb N m") < block.index("bif ok then") < block.index("N ^ ss.ss_c.toNat")


# ---------------------------------------------------------------- Python twins of the Lean definitions
def nat_sqrt(n: int) -> int:
    """MechCert.nat_sqrt: nat_sqrt_from (nat_log2 n / 2 + 1) n 0, bit by bit from the top."""
    r = 0
    for k in range(nat_log2(n) // 2, -1, -1):  # nat_sqrt_from (k'+1): tries bit k'
        r2 = r + (1 << k)
        if r2 * r2 <= n:
            r = r2
    return r


def int_sqrt(a: int) -> int:
    return nat_sqrt(a) if a >= 0 else 0


def ceil_sqrt(x: int) -> int:
    r = int_sqrt(x)
    return r if r * r == x else r + 1


@given(st.integers(0, 2**400))
def test_nat_sqrt_is_the_floor_square_root(n):
    assert nat_sqrt(n) == isqrt(n)


@given(st.integers(-2**10, 2**300))
def test_ceil_sqrt_is_the_least_root_above(x):
    r = ceil_sqrt(x)
    if x >= 0:
        assert r * r >= x and (r == 0 or (r - 1) ** 2 < x) and r == checker.ceil_sqrt(x)
    else:
        assert r == 1  # as Coq's: Z.sqrt of a negative number is 0 (never used: x is a sum of squares)


def test_nat_sqrt_on_edges():
    for n in [0, 1, 2, 3, 4, 15, 16, 17, 2**64 - 1, 2**64, 2**64 + 1, (2**100 + 7) ** 2, (2**100 + 7) ** 2 - 1]:
        assert nat_sqrt(n) == isqrt(n), n


HINT_BITS, EXP_BITS, LOGIT_BITS, MAX_EXP_ARG_LOG2 = 40, 64, 32, 16


def nth(i, lst, d):
    return lst[i] if 0 <= i < len(lst) else d


def map2(f, a, b):
    return [f(x, y) for x, y in zip(a, b)]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def mul_t(a, b):  # A B^T
    return [[dot(r, c) for c in b] for r in a]


def mul_t_(a, b):  # mul_t': the same integers, the other factor first
    return [[dot(c, r) for c in b] for r in a]


def transpose(ncols, m):  # List.foldr (fun r acc => map2 List.cons r acc) (List.replicate ncols []) m
    acc = [[] for _ in range(ncols)]
    for r in reversed(m):
        acc = map2(lambda x, a: [x] + a, r, acc)
    return acc


def vadd(a, b):
    return map2(lambda x, y: x + y, a, b)


def rows_max(rows):
    if not rows:
        return []
    acc = rows[0]
    for r in rows[1:]:
        acc = map2(max, acc, r)
    return acc


def shift_floor(z, k):
    return z << k if k >= 0 else z >> -k


def shift_ceil(z, k):
    return z << k if k >= 0 else -((-z) >> -k)


def table_lo(sc, m):
    return [[shift_floor(x, sc + LOGIT_BITS) for x in row] for row in m]


def table_hi(sc, m):
    return [[shift_ceil(x, sc + LOGIT_BITS) for x in row] for row in m]


def insert_by_key(keys, p, lst):
    for i, x in enumerate(lst):
        if nth(p, keys, 0) < nth(x, keys, 0):
            return lst[:i] + [p] + lst[i:]
    return lst + [p]


def sort_positions(keys, n):
    acc = []
    for p in range(max(n - 1, 0)):
        acc = insert_by_key(keys, p, acc)
    return acc


def hint_sum(idx, row):
    return (sum(nth(p, row, (0, 0))[0] for p in idx), sum(nth(p, row, (0, 0))[1] for p in idx))


def mul_up(w, g):
    return w[1] * g if g >= 0 else w[0] * g


def slot_weight(t, S):  # (attn_weight_lo t S, attn_weight_hi t S)
    return ((t[0] * S[0]) >> HINT_BITS, -((-(t[1] * S[1])) >> HINT_BITS))


def exp_arguments(r, D):
    return (D * r[0], D * r[1]) if D >= 0 else (D * r[1], D * r[0])


def exp_arg_small(h, S, a):
    return abs(a) <= (h << S) << MAX_EXP_ARG_LOG2


def sqrt_hint_ok(h, r):
    return 0 < r[0] and r[0] * r[0] <= h << 128 and h << 128 <= r[1] * r[1]


def subcubic_hint_ok(h, r, S, D, hint):
    """exp_lo / exp_hi are checker/check.py's (the Lean ones are transcribed in test_lean's style
    elsewhere; here only the guard and the comparisons are the Lean code's)."""
    L, H = hint
    a_lo, a_hi = exp_arguments(r, D[0])[0], exp_arguments(r, D[1])[1]
    if not (exp_arg_small(h, S, a_lo) and exp_arg_small(h, S, a_hi)):
        return False
    return (0 <= L <= H and L << (EXP_BITS - HINT_BITS) <= checker.exp_lo(a_lo, h, S)
            and checker.exp_hi(a_hi, h, S) <= H << (EXP_BITS - HINT_BITS))


def forall2b(f, a, b):
    return len(a) == len(b) and all(f(x, y) for x, y in zip(a, b))


def map_with_index(f, lst):
    return [f(i, x) for i, x in enumerate(lst)]


def subcubic_derive(ints, v, n, d, h):
    """MechCert.subcubic_derive, from the weights as integers at scale 2^e0 (weight_matrix)."""
    def rows(name, r, w):
        flat = [int(x) for x in ints[name].reshape(-1)]
        return [flat[i * w:(i + 1) * w] for i in range(r)]
    E, P = rows("embed.W_E", v, d), rows("pos_embed.W_pos", n, d)
    Q, K = rows("blocks.0.attn.W_Q", d, h), rows("blocks.0.attn.W_K", d, h)
    V, O = rows("blocks.0.attn.W_V", d, h), rows("blocks.0.attn.W_O", h, d)
    U = rows("unembed.W_U", d, v)
    Eq = [vadd(P[-1] if P else [], e) for e in E]
    Kt = transpose(h, K)
    X = mul_t_(Eq, transpose(h, Q))
    Y = mul_t_(E, Kt)
    PK = mul_t_(P, Kt)
    Ut = transpose(v, U)
    VO = mul_t(V, transpose(d, O))
    VOUt = mul_t(Ut, VO)
    return {"X": X, "Y": Y, "EQKP": mul_t(X, PK), "EUPU": mul_t_(Eq, Ut), "EVOU": mul_t(E, VOUt),
            "PVOU": mul_t(P, VOUt)}


def subcubic_rank_one_residuals(Y, r1):
    return map2(lambda yk, bk: map2(lambda a, b: a - b, map2(lambda a, b: a - b, yk, r1["centre"]),
                                    [bk * x for x in r1["direction"]]), Y, r1["beta"])


def max_nonneg(lst):
    acc = 0
    for x in lst:
        acc = max(acc, x)
    return acc


def subcubic_rank_one_intervals(use_global, X, Y, r1):
    beta = r1["beta"]
    rR = [ceil_sqrt(dot(x, x)) for x in subcubic_rank_one_residuals(Y, r1)]
    rX = [ceil_sqrt(dot(x, x)) for x in X]
    e_global = 2 * max_nonneg(rX) * max_nonneg(rR)

    def row(q, xq):
        bq, aq, rXq, rRq = nth(q, beta, 0), dot(xq, r1["direction"]), nth(q, rX, 0), nth(q, rR, 0)

        def entry(t, bt_rRt):
            bt, rRt = bt_rRt
            if t == q:
                return (0, 0)
            mid = (bt - bq) * aq
            e = e_global if use_global else rXq * (rRt + rRq)
            return (mid - e, mid + e)
        return map_with_index(entry, list(zip(beta, rR)))
    return map_with_index(row, X)


def subcubic_rank_one_hint_ok(v, h, r1):
    return len(r1["centre"]) == h and len(r1["direction"]) == h and len(r1["beta"]) == v


def subcubic_rank_one_token_ok(use_global, r1, v, h, r, S, X, Y, hints):
    if not subcubic_rank_one_hint_ok(v, h, r1):
        return False
    return forall2b(lambda D_row, h_row: forall2b(lambda D, hint: subcubic_hint_ok(h, r, S, D, tuple(hint)),
                                                  D_row, h_row),
                    subcubic_rank_one_intervals(use_global, X, Y, r1), hints)


def subcubic_top_two(y, i, b1, b2, lst):
    for x in lst:
        if b1 < x:
            y, i, b1, b2 = y + 1, y, x, b1
        else:
            y, b2 = y + 1, max(b2, x)
    return i, b1, b2


def subcubic_top(row):
    if len(row) < 2:
        return [0 for _ in row]
    x0, x1, rest = row[0], row[1], row[2:]
    i, b1, b2 = subcubic_top_two(2, 1, x1, x0, rest) if x0 < x1 else subcubic_top_two(2, 0, x0, x1, rest)
    return map_with_index(lambda m, _: b2 if m == i else b1, row)


def subcubic_max_differences(lo, hi):
    return map2(lambda l, h: map2(lambda a, b: a - b, subcubic_top(h), l), lo, hi)


def subcubic_Wd(v, evl, evh, pvl, pvh):
    PVs = rows_max(subcubic_max_differences(pvl, pvh))
    return transpose(v, [vadd(row, PVs) for row in subcubic_max_differences(evl, evh)])


def subcubic_prefix_max(lst):
    out, acc = [], None
    for x in lst:
        acc = x if acc is None else max(acc, x)
        out.append(acc)
    return out


def subcubic_prefix_hints(lst):
    out, acc = [], None
    for x in lst:
        acc = tuple(x) if acc is None else (min(acc[0], x[0]), max(acc[1], x[1]))
        out.append(acc)
    return out


def binomial(n, k):
    return comb(n, k)


def subcubic_slots_of(posq, order, n, c):
    nm = max(n - 1 - c, 0)
    return {"c": c, "binom": binomial(n - 1, c),
            "SM_low": hint_sum(order[:nm], posq), "SK_low": hint_sum(order[nm:], posq),
            "SM_high": hint_sum(order[c:], posq), "SK_high": hint_sum(order[:c], posq)}


def subcubic_query_of(n, q, keys, tokq, posq):
    order = sort_positions(keys, n)
    return {"tok": tokq, "pre": subcubic_prefix_hints(tokq),
            "wQ": slot_weight(nth(q, tokq, (0, 0)), nth(n - 1, posq, (0, 0))),
            "c0": subcubic_slots_of(posq, order, n, 0),
            "cs": [subcubic_slots_of(posq, order, n, c) for c in range(1, n)]}


def subcubic_good(pre, Wprem, tm, b, gM, mQ, ss, N):
    mq_low = mul_up(slot_weight(tm, ss["SM_low"]), gM) + mQ
    mq_high = mul_up(slot_weight(tm, ss["SM_high"]), gM) + mQ
    if N == 0:
        return mq_low < 0 and mq_high < 0
    i = max(N - 1, 0)
    tk = nth(i, pre, (0, 0))
    gK = b + nth(i, Wprem, 0)
    return (mul_up(slot_weight(tk, ss["SK_low"]), gK) + mq_low < 0
            and mul_up(slot_weight(tk, ss["SK_high"]), gK) + mq_high < 0)


def subcubic_sum_cases(cmax, m, good, css, Ns, acc):
    if len(css) != len(Ns):
        return None
    for ss, N in zip(css, Ns):
        if ss["c"] <= cmax:
            ok = (N == 0 or good(ss, N)) if 0 <= N <= m else False
        else:
            ok = N == 0
        if not ok:
            return None
        acc += ss["binom"] * N ** ss["c"]
    return acc


def subcubic_count_qm(n, m, q, sq, b, Wdm, Wprem, Ns):
    if m < q:
        return subcubic_sum_cases(-1, m, lambda ss, N: False, sq["cs"], Ns, 0)
    tm = nth(m, sq["tok"], (0, 0))
    gM = b + nth(m, Wdm, 0)
    mQ = mul_up(sq["wQ"], b + nth(q, Wdm, 0))

    def good(ss, N):
        return subcubic_good(sq["pre"], Wprem, tm, b, gM, mQ, ss, N)
    first = 1 if good(sq["c0"], 0) else 0
    cmax = n - 1 if q == m else n - 2
    return subcubic_sum_cases(cmax, m, good, sq["cs"], Ns, first)


def subcubic_count_m(n, q, sq, bq, Wd, Wpre, gapq, acc):
    if not (len(bq) == len(Wd) == len(Wpre) == len(gapq)):
        return None
    for m, (b, Wdm, Wprem, Ns) in enumerate(zip(bq, Wd, Wpre, gapq)):
        k = subcubic_count_qm(n, m, q, sq, b, Wdm, Wprem, Ns)
        if k is None:
            return None
        acc += k
    return acc


def subcubic_count_q(n, eqkp, tok_hints, pos_hints, BT, Wd, Wpre, gap, acc):
    if not (len(eqkp) == len(tok_hints) == len(pos_hints) == len(BT) == len(gap)):
        return None
    for q, (keys, tokq, posq, bq, gapq) in enumerate(zip(eqkp, tok_hints, pos_hints, BT, gap)):
        acc = subcubic_count_m(n, q, subcubic_query_of(n, q, keys, tokq, posq), bq, Wd, Wpre, gapq, acc)
        if acc is None:
            return None
    return acc


def subcubic_count(e0, eqkp, eupu, evou, pvou, tok_hints, pos_hints, gap, v, n):
    sc2, sc4 = 2 * e0, 4 * e0
    BT = subcubic_max_differences(table_lo(sc2, eupu), table_hi(sc2, eupu))
    Wd = subcubic_Wd(v, table_lo(sc4, evou), table_hi(sc4, evou), table_lo(sc4, pvou), table_hi(sc4, pvou))
    return subcubic_count_q(n, eqkp, tok_hints, pos_hints, BT, Wd, [subcubic_prefix_max(r) for r in Wd], gap, 0)


def ints(m):
    return [[int(x) for x in row] for row in m]


def lean_subcubic_certified_count(model: MaxOfKModel, strategy: str, hints: dict):
    """MechCert.subcubic_certified_count after its model checks (which tests/test_lean.py and the
    other provers cover): the sqrt, token and position hints, then the count."""
    v, n, h, e0 = model.v, model.n, model.h, model.e0
    if n < 2:
        return None
    r = tuple(hints["sqrt_d_head"])
    S = 64 - 4 * e0
    toks = [[tuple(p) for p in row] for row in hints["attn_token"]]
    poss = [[tuple(p) for p in row] for row in hints["attn_pos"]]
    if strategy == "subcubic-gap":
        EQKE = ints(model.EQKE)
        # attn_token_ok: hint_ok (= subcubic_hint_ok at (D, D)) of row q against its diagonal
        tokens_ok = len(EQKE) == len(toks) and all(
            forall2b(lambda x, hint: subcubic_hint_ok(h, r, S, (x - EQKE[q][q],) * 2, hint), EQKE[q], toks[q])
            for q in range(len(EQKE)))
        mats = {"EQKP": ints(model.EQKP), "EUPU": ints(model.EUPU), "EVOU": ints(model.EVOU),
                "PVOU": ints(model.PVOU)}
    else:
        w = model.weights
        names = ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.W_K", "blocks.0.attn.W_V",
                 "blocks.0.attn.W_O", "unembed.W_U")
        mats = subcubic_derive({k: w.integers(k) for k in names}, v, n, model.d, h)
        tokens_ok = subcubic_rank_one_token_ok(strategy == "subcubic-rank-one-global", hints["rank_one"], v, h,
                                               r, S, mats["X"], mats["Y"], toks)
    pos_ok = len(mats["EQKP"]) == len(poss) and all(
        forall2b(lambda x, hint: subcubic_hint_ok(h, r, S, (x - row[-1],) * 2, hint), row, hrow)
        for row, hrow in zip(mats["EQKP"], poss))
    if not (sqrt_hint_ok(h, r) and tokens_ok and pos_ok):
        return None
    return subcubic_count(e0, mats["EQKP"], mats["EUPU"], mats["EVOU"], mats["PVOU"], toks, poss,
                          hints["gap"], v, n)


# (seed, d_vocab, n_ctx, d_model, steps): weak tiny models, where many tests fail (as in test_lean.py).
TINY = [(1, 6, 3, 8, 150), (2, 7, 4, 8, 300), (3, 5, 2, 4, 100)]


@pytest.fixture(scope="module", params=TINY, ids=lambda c: f"s{c[0]}_v{c[1]}_n{c[2]}")
def tiny(request, tmp_path_factory):
    seed, v, n, d, steps = request.param
    w = load_model(tiny_model_file(tmp_path_factory.mktemp("lean_subcubic"), seed, v, n, d, steps))
    out = {}
    for s in STRATEGIES:
        out[s] = build_certificate(w, strategy=s).certificate
    return MaxOfKModel(w), out


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_lean_subcubic_count_is_the_producers_count(tiny, strategy):
    model, certs = tiny
    hints = certs[strategy]["hints"]
    count = lean_subcubic_certified_count(model, strategy, hints)
    assert count == certs[strategy]["claim"]["proven_correct"] == subcubic_witnesses(model, hints)[0]
    assert 0 < count < model.v ** model.n


def test_the_lean_subcubic_count_is_the_producers_on_the_small_model(dirs):
    model = MaxOfKModel(load_model(SMALL_MODEL))
    for strategy in STRATEGIES:
        cert = certificate(dirs, strategy)
        assert lean_subcubic_certified_count(model, strategy, cert["hints"]) == cert["claim"]["proven_correct"]


def test_the_lean_subcubic_derive_computes_the_producers_matrices(tiny):
    model, _ = tiny
    w = model.weights
    names = ("embed.W_E", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.0.attn.W_K", "blocks.0.attn.W_V",
             "blocks.0.attn.W_O", "unembed.W_U")
    got = subcubic_derive({k: w.integers(k) for k in names}, model.v, model.n, model.d, model.h)
    for key in ("X", "Y", "EQKP", "EUPU", "EVOU", "PVOU"):
        assert got[key] == ints(getattr(model, key)), key


@pytest.mark.parametrize("strategy", RANK_ONE)
def test_the_lean_rank_one_intervals_are_the_producers(tiny, strategy):
    model, certs = tiny
    r1 = certs[strategy]["hints"]["rank_one"]
    got = subcubic_rank_one_intervals(strategy == "subcubic-rank-one-global", ints(model.X), ints(model.Y), r1)
    method = "rank-one-global" if strategy.endswith("global") else "rank-one"
    assert got == [[tuple(p) for p in row] for row in score_intervals(model, method, r1)]
    EQKE = ints(model.EQKE)
    assert all(lo <= EQKE[q][t] - EQKE[q][q] <= hi for q, row in enumerate(got) for t, (lo, hi) in enumerate(row))


def test_the_lean_direct_tables_are_the_producers(tiny):
    from mechcert.certificates.subcubic import direct_tables
    model, _ = tiny
    T = model.logit_tables()
    Wd, B = direct_tables(T, model.v, model.n)
    sc2, sc4 = 2 * model.e0, 4 * model.e0
    assert T["EUl"] == table_lo(sc2, ints(model.EUPU)) and T["EVh"] == table_hi(sc4, ints(model.EVOU))
    assert subcubic_Wd(model.v, T["EVl"], T["EVh"], T["PVl"], T["PVh"]) == Wd
    assert transpose(model.v, subcubic_max_differences(T["EUl"], T["EUh"])) == B


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_lean_test_decides_each_case_like_the_producer(tiny, strategy):
    """At every case (q, m, c) the Lean test passes at the producer's witness N (the largest that
    passes) and fails at N + 1; and sgood(q, m, 0, 0) is the producer's good0."""
    model, certs = tiny
    hints = certs[strategy]["hints"]
    _, gap, good0 = subcubic_witnesses(model, hints)
    v, n = model.v, model.n
    T = model.logit_tables()
    BT = subcubic_max_differences(T["EUl"], T["EUh"])
    Wd = subcubic_Wd(v, T["EVl"], T["EVh"], T["PVl"], T["PVh"])
    Wpre = [subcubic_prefix_max(r) for r in Wd]
    EQKP = ints(model.EQKP)
    toks = [[tuple(p) for p in row] for row in hints["attn_token"]]
    poss = [[tuple(p) for p in row] for row in hints["attn_pos"]]
    outcomes = set()
    for q in range(v):
        sq = subcubic_query_of(n, q, EQKP[q], toks[q], poss[q])
        for m in range(q, v):
            b = BT[q][m]
            tm, gM = toks[q][m], b + Wd[m][m]
            mQ = mul_up(sq["wQ"], b + Wd[m][q])

            def good(ss, N):
                return subcubic_good(sq["pre"], Wpre[m], tm, b, gM, mQ, ss, N)
            assert good(sq["c0"], 0) == good0[(q, m)]
            outcomes.add(good0[(q, m)])
            for c in range(1, (n - 1 if q == m else n - 2) + 1):
                N = gap[q][m][c - 1]
                if N >= 1:
                    assert good(sq["cs"][c - 1], N)
                if N < m:
                    assert not good(sq["cs"][c - 1], N + 1)
                    outcomes.add(False)
    assert outcomes == {True, False}


def _first_case(model, gap):
    """(q, m, c) of the first case whose witness can be raised (N < m)."""
    n = model.n
    return next((q, m, c) for q in range(model.v) for m in range(q, model.v)
                for c in range(1, (n - 1 if q == m else n - 2) + 1) if gap[q][m][c - 1] < m)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_lean_count_rejects_wrong_witnesses(tiny, strategy):
    model, certs = tiny
    hints = certs[strategy]["hints"]
    v, n = model.v, model.n

    def count_with(mutate):
        h = copy.deepcopy(hints)
        mutate(h["gap"])
        return lean_subcubic_certified_count(model, strategy, h)

    q, m, c = _first_case(model, hints["gap"])

    def raise_witness(g):
        g[q][m][c - 1] += 1
    assert count_with(raise_witness) is None  # fails sgood (the producer's N is the largest)

    def above_m(g):
        g[q][m][c - 1] = m + 1
    assert count_with(above_m) is None

    def negative(g):
        g[q][m][c - 1] = -1
    assert count_with(negative) is None

    def non_case(g):  # m < q: every witness must be 0
        g[v - 1][0][0] = 1
    assert count_with(non_case) is None

    def short_row(g):
        g[0][0] = g[0][0][:-1]
    assert count_with(short_row) is None

    def missing_query(g):
        g.pop()
    assert count_with(missing_query) is None

    def lowered(g):  # a smaller witness is valid and counts less
        g[0][v - 1][0] = max(g[0][v - 1][0] - 1, 0)
    assert count_with(lowered) <= certs[strategy]["claim"]["proven_correct"]
    if n >= 3:
        def last_of_a_q_lt_m_case(g):  # c = n-1 with q < m is not a case
            g[0][v - 1][n - 2] = 1
        assert count_with(last_of_a_q_lt_m_case) is None


@pytest.mark.parametrize("strategy", RANK_ONE)
def test_the_lean_count_rejects_a_bad_rank_one_hint(tiny, strategy):
    model, certs = tiny
    hints = certs[strategy]["hints"]
    for key in ("centre", "direction", "beta"):
        h = copy.deepcopy(hints)
        h["rank_one"][key].append(0)
        assert lean_subcubic_certified_count(model, strategy, h) is None, key
    h = copy.deepcopy(hints)  # a moved direction widens the intervals: the token hints no longer hold
    h["rank_one"]["direction"] = [x + 2**44 for x in h["rank_one"]["direction"]]
    assert lean_subcubic_certified_count(model, strategy, h) is None


# ---------------------------------------------------------------- the real thing, where Lean exists
def require_lean():
    if shutil.which("lake") is None and shutil.which("lean") is None:
        pytest.skip("lean/lake not installed (it cannot be installed where these tests were written)")


@pytest.mark.prover
@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_make_check_accepts_the_small_subcubic_certificate(dirs, strategy, tmp_path):
    require_lean()
    project = tmp_path / "lean"
    shutil.copytree(dirs[strategy] / "lean", project)
    r = subprocess.run(["make", "-s", "check"], cwd=project, capture_output=True, text=True, timeout=3 * 3600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert audit_axioms(r.stdout, native=False)[0]


@pytest.mark.prover
@pytest.mark.slow
def test_make_check_rejects_a_subcubic_certificate_that_claims_too_much(dirs, tmp_path):
    require_lean()
    cert = copy.deepcopy(certificate(dirs, "subcubic-gap"))
    cert["claim"]["proven_correct"] += 1
    cert["claim"]["accuracy_lower_bound"]["numerator"] += 1
    render_lean(cert, weights_json(dirs, "subcubic-gap"), tmp_path / "lie")
    r = subprocess.run(["make", "-s", "check"], cwd=tmp_path / "lie", capture_output=True, text=True, timeout=3600)
    assert r.returncode != 0
