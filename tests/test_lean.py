"""The Lean 4 project of a certificate (lean_templates/, certificates/render_lean.py).

No Lean binary can be installed where these tests were written, so most of them
check what can be checked without one: the rendered files, the structure of the
Lean library against the Coq library it mirrors, the packed data (decoded here by
a Python twin of MechCert.unpack), the text of the generated file, the axiom audit
(in Python and in the Makefile, run on canned `#print axioms` outputs through a fake
`lake`), and Python twins of the Lean definitions that have no Coq counterpart (the
integer primitives and the cubic count). The subcubic strategies (part 10 of both
libraries) are tested the same way in tests/test_lean_subcubic.py. `make check` itself runs
only where `lake` or `lean` is on PATH (and is skipped otherwise, CI included: Lean cannot be
installed there either).
"""
from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from math import comb
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mechcert.certificates.certificate import build_certificate
from mechcert.certificates.cubic import cubic_count, cubic_good
from mechcert.certificates.max_of_k import MaxOfKModel
from mechcert.certificates.render_lean import (
    CHUNK,
    LEAN_FILES,
    THEOREM_NAMES,
    audit_axioms,
    encode_signed,
    lean_context,
    pack_fields,
    render_lean,
)
from mechcert.extract import load_model

from .conftest import ROOT, tiny_model_file

COQ_LIB = ROOT / "coq_templates" / "MechCert.v"
LEAN_LIB = ROOT / "lean_templates" / "MechCert.lean"
STRATEGIES = ("brute-force", "cubic")

# Coq definitions whose Lean twin has another name, and why (also listed in MechCert.lean's header).
RENAMED = {"list_Z_eqb": "list_nat_eqb"}  # shapes are List Nat in Lean
# Coq-only speed helpers of the cubic and subcubic checkers: precomputation records and a
# multiplication shortcut (decided from signs and Z.log2 sizes, each proved equal to the plain
# product test by a lemma in MechCert.v). Coq's Z multiplies bit by bit; Lean's kernel multiplies
# Nat with GMP, so the Lean library computes the same integers directly (its subcubic_good computes
# the two tests that Coq's cubic_good / cubic_pass / slot_weight_mul_up decide).
COQ_ONLY = {"slot_weight_mul_up", "prod_ltb", "mul_add_ltb0", "pascal_row", "cubic_slots_of",
            "cubic_query_of", "cubic_queries", "count_good_k", "count_c", "sum_slots", "cubic_count_q",
            "cubic_slots", "cubic_query",
            # Coq factors the cubic claim test out of cubic_check (shared with the subcubic check);
            # Lean's cubic_check states the same conditions inline on its cubic_certificate record,
            # and subcubic_check on the same record (the Lean-only subcubic_claim_holds).
            "cubic_claim_ok"}


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def results(small_weights):
    return {s: build_certificate(small_weights, strategy=s) for s in STRATEGIES}


@pytest.fixture(scope="module")
def projects(results, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lean")
    out = {}
    for s, r in results.items():
        render_lean(r.certificate, r.weights.to_json_dict(), root / s)
        out[s] = root / s
    r = results["brute-force"]
    render_lean(r.certificate, r.weights.to_json_dict(), root / "native", native=True)
    out["native"] = root / "native"
    return out


def cert_text(projects, which: str) -> str:
    return (projects[which] / "Certificate.lean").read_text()


# ---------------------------------------------------------------- a small Lean lexer
def strip_comments_and_strings(text: str) -> str:
    """Lean text with comments (nested /- -/, --) and string literals blanked out."""
    out, i, depth, n = [], 0, 0, len(text)
    while i < n:
        if depth:
            if text.startswith("/-", i):
                depth, i = depth + 1, i + 2
            elif text.startswith("-/", i):
                depth, i = depth - 1, i + 2
            else:
                i += 1
        elif text.startswith("/-", i):
            depth, i = 1, i + 2
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    assert depth == 0, "unterminated block comment"
    return "".join(out)


def unbalanced(code: str) -> str | None:
    pairs = {")": "(", "]": "[", "}": "{", "⟩": "⟨"}
    stack = []
    for line_no, line in enumerate(code.splitlines(), 1):
        for ch in line:
            if ch in "([{⟨":
                stack.append((ch, line_no))
            elif ch in pairs:
                if not stack or stack[-1][0] != pairs[ch]:
                    return f"unexpected {ch!r} on line {line_no}"
                stack.pop()
    return f"unclosed {stack[-1][0]!r} from line {stack[-1][1]}" if stack else None


def lean_def_names(text: str) -> list[str]:
    code = strip_comments_and_strings(text)
    return re.findall(r"^(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable)\s+)*"
                      r"(?:def|abbrev|theorem)\s+([A-Za-z0-9_'.]+)", code, re.M)


# The Lean library mirrors MechCert.v parts 0-10 (up to the subcubic proofs, section 8 of the doc).
# Parts from 11 on (brute force by boxes) are Coq-only: Lean renders brute-force certificates with
# the plain brute force of part 7. Without a part 11, the whole file is compared.
COQ_LEAN_PART_END = "(** ** 11."


def coq_mirrored_text(text: str) -> str:
    """MechCert.v up to (not including) its part 11: the parts the Lean library mirrors."""
    return text.split(COQ_LEAN_PART_END, 1)[0]


def coq_def_names(text: str) -> list[str]:
    return re.findall(r"^(?:Definition|Fixpoint)\s+([A-Za-z0-9_']+)", coq_mirrored_text(text), re.M)


def lean_blocks(text: str) -> dict[str, str]:
    """name -> text of each top-level def (from its line to the next top-level command)."""
    code = strip_comments_and_strings(text)
    starts = [(m.start(), m.group(1)) for m in
              re.finditer(r"^(?:def|abbrev|theorem)\s+([A-Za-z0-9_'.]+)", code, re.M)]
    ends = [m.start() for m in re.finditer(r"^(?!termination_by)\S", code, re.M)]
    blocks = {}
    for pos, name in starts:
        end = min((e for e in ends if e > pos), default=len(code))
        blocks[name] = code[pos:end]
    return blocks


# ---------------------------------------------------------------- Python twins of the Lean decoders
def unpack(w: int, n: int, x: int) -> list[int]:
    """MechCert.unpack: unpack w (k+1) x = land (x >>> (w*k)) (2^w - 1) :: unpack w k x."""
    return [(x >> (w * k)) & ((1 << w) - 1) for k in range(n - 1, -1, -1)]


def decode_int(f: int) -> int:
    return -(f >> 1) if f & 1 else f >> 1


def pairs_of(values: list[int]) -> list[tuple[int, int]]:
    return [(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]


def decode_hint_row(w: int, n: int, x: int) -> list[tuple[int, int]]:
    return pairs_of([decode_int(f) for f in unpack(w, 2 * n, x)])


def lean_int(tok: str) -> int:
    tok = tok.strip()
    neg = tok.startswith("(-")
    tok = tok.strip("()-")
    v = int(tok, 16) if tok.startswith("0x") else int(tok)
    return -v if neg else v


def parse_tensors(text: str) -> list[dict]:
    out = []
    for m in re.finditer(r"def tensor_(\d+) : tensor where\n  t_name := \"([^\"]*)\"\n"
                         r"  t_shape := \[([^\]]*)\]\n  t_bits := unpack_chunks 32 \[(.*?)\]\n", text, re.S):
        chunks = [(int(c), int(x, 16)) for c, x in re.findall(r"\((\d+), (0x[0-9a-f]+)\)", m.group(4))]
        out.append({"index": int(m.group(1)), "name": m.group(2),
                    "shape": [int(d) for d in m.group(3).split(",") if d.strip()],
                    "bits": [b for c, x in chunks for b in unpack(32, c, x)], "chunks": chunks})
    return out


def parse_hint_table(text: str, name: str) -> list[list[tuple[int, int]]]:
    m = re.search(rf"def {name} : List \(List \(Int × Int\)\) := decode_hint_rows (\d+) \[(.*?)\]\n", text, re.S)
    assert m, f"no hint table {name}"
    w = int(m.group(1))
    return [decode_hint_row(w, int(c), int(x, 16)) for c, x in re.findall(r"\((\d+), (0x[0-9a-f]+)\)", m.group(2))]


# ---------------------------------------------------------------- the rendered files
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_render_writes_the_lean_project_files(projects, strategy):
    assert {p.name for p in projects[strategy].iterdir()} == set(LEAN_FILES)


def test_the_static_library_is_copied_verbatim(projects):
    for which in ("brute-force", "cubic", "native"):
        assert (projects[which] / "MechCert.lean").read_text() == LEAN_LIB.read_text()


def test_the_toolchain_is_pinned(projects):
    assert re.fullmatch(r"leanprover/lean4:v4\.\d+\.\d+\n", (projects["cubic"] / "lean-toolchain").read_text())


def test_lakefile_declares_both_libraries(projects):
    text = (projects["brute-force"] / "lakefile.toml").read_text()
    assert re.findall(r'^name = "(\w+)"', text, re.M) == ["mechcert_certificate", "MechCert", "Certificate"]


# ---------------------------------------------------------------- the library mirrors the Coq library
def test_the_lean_library_defines_every_coq_definition():
    coq = coq_def_names(COQ_LIB.read_text())
    lean = set(lean_def_names(LEAN_LIB.read_text()))
    assert len(coq) > 100
    missing = [n for n in coq if RENAMED.get(n, n) not in lean and n not in COQ_ONLY]
    assert missing == []


def test_the_rename_table_is_needed():
    coq = set(coq_def_names(COQ_LIB.read_text()))
    lean = set(lean_def_names(LEAN_LIB.read_text()))
    for old, new in RENAMED.items():
        assert old in coq and old not in lean and new in lean


def test_the_lean_library_follows_the_coq_order():
    """Side by side reading: the shared definitions come in the same order, except that Lean
    needs a definition before its first use (list_nat_eqb is used by lookup)."""
    coq = coq_def_names(COQ_LIB.read_text())
    inverse = {v: k for k, v in RENAMED.items()}
    lean = [inverse.get(n, n) for n in lean_def_names(LEAN_LIB.read_text())]
    coq = [n for n in coq if n not in COQ_ONLY]
    pos = {n: i for i, n in enumerate(lean)}
    inversions = [(a, b) for a, b in zip(coq, coq[1:]) if pos[a] > pos[b]]
    assert inversions == [("lookup_shape", "list_Z_eqb")]


def test_the_lean_library_has_every_coq_record_and_inductive():
    coq = coq_mirrored_text(COQ_LIB.read_text())
    lean = strip_comments_and_strings(LEAN_LIB.read_text())
    for kind, lean_kind in (("Record", "structure"), ("Inductive", "inductive")):
        for name in re.findall(rf"^{kind}\s+(\w+)", coq, re.M):
            if name in COQ_ONLY:
                continue
            assert re.search(rf"^{lean_kind} {name} where", lean, re.M), f"{kind} {name}"


def test_the_lean_library_states_every_reflection_lemma():
    names = set(lean_def_names(LEAN_LIB.read_text()))
    assert {"check_sound", "cubic_check_sound", "subcubic_check_sound", "check", "cubic_check",
            "subcubic_check"} <= names


def test_recursive_lean_definitions_are_declared_structural():
    """A recursive def without `termination_by structural` could fall back to well-founded
    recursion, which the kernel cannot evaluate."""
    recursive = []
    for name, block in lean_blocks(LEAN_LIB.read_text()).items():
        body = block.split(":=", 1)[1] if ":=" in block else ""
        if re.search(rf"(?<![\w.']){re.escape(name)}(?![\w'])", body):
            recursive.append(name)
            assert "termination_by structural" in block, name
    assert {"sha_blocks", "count_inputs", "taylor_lo", "unpack", "names_sorted"} <= set(recursive)


def test_the_lean_library_uses_no_escape_hatch():
    code = strip_comments_and_strings(LEAN_LIB.read_text())
    for word in ("sorry", "admit", "native_decide", "decreasing_by", "partial", "unsafe",
                 "implemented_by", "extern", "axiom", "opaque", "import"):
        assert not re.search(rf"(?<![\w.]){word}(?![\w])", code), word


@pytest.mark.parametrize("path", ["lean_templates/MechCert.lean"])
def test_the_lean_library_text_is_balanced(path):
    assert unbalanced(strip_comments_and_strings((ROOT / path).read_text())) is None


# ---------------------------------------------------------------- the generated file
@pytest.mark.parametrize("which", ["brute-force", "cubic", "native"])
def test_the_certificate_text_is_balanced(projects, which):
    assert unbalanced(strip_comments_and_strings(cert_text(projects, which))) is None


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_certificate_is_proved_in_the_kernel_without_sorry(projects, strategy):
    code = strip_comments_and_strings(cert_text(projects, strategy))
    assert "by decide +kernel" in code
    assert not re.search(r"\b(sorry|admit|native_decide|axiom)\b", code)
    assert f"#print axioms {THEOREM_NAMES[strategy]}" in code


LEAN_WORDS = {  # Lean keywords, commands, options and core names the template may use
    "import", "open", "set_option", "maxRecDepth", "maxHeartbeats", "def", "where", "theorem", "by",
    "decide", "kernel", "native_decide", "print", "axioms", "List", "Int", "Nat", "MechCert"}


def undefined_names(certificate_lean: str) -> set[str]:
    """The names a Certificate.lean uses that neither it, the library nor LEAN_WORDS define."""
    lib = strip_comments_and_strings(LEAN_LIB.read_text())
    known = set(lean_def_names(LEAN_LIB.read_text())) | LEAN_WORDS
    known |= set(re.findall(r"^(?:structure|inductive) (\w+)", lib, re.M))
    known |= set(re.findall(r"^  (\w+) : ", lib, re.M))  # structure fields
    for block in re.findall(r"^inductive \w+ where\n((?:  \|.*\n)+)", lib, re.M):  # constructors
        known |= set(re.findall(r"^  \| (\w+)", block, re.M))
    code = strip_comments_and_strings(certificate_lean)
    known |= set(re.findall(r"^(?:def|theorem) (\w+)", code, re.M))
    code = re.sub(r"\b0x[0-9a-f]+\b", " ", code)
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_']*", code))
    return used - known


@pytest.mark.parametrize("which", ["brute-force", "cubic", "native"])
def test_the_certificate_uses_only_names_the_library_defines(projects, which):
    assert undefined_names(cert_text(projects, which)) == set()


def test_a_native_certificate_uses_native_decide_and_says_so(projects):
    code = strip_comments_and_strings(cert_text(projects, "native"))
    assert "by native_decide" in code and "decide +kernel" not in code
    assert "NATIVE := 1" in (projects["native"] / "Makefile").read_text()
    assert "NATIVE := 0" in (projects["brute-force"] / "Makefile").read_text()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_theorem_states_the_certificate_claim(projects, results, strategy):
    cert = results[strategy].certificate
    text = cert_text(projects, strategy)
    start = text.index(f"theorem {THEOREM_NAMES[strategy]} :")
    theorem = text[start:text.index(":=\n", start)]
    prefix = "" if strategy == "brute-force" else "cubic_"
    assert f"{prefix}weights_sha256 cert = 0x{cert['model']['sha256']}" in theorem
    assert f"{prefix}num_inputs cert = {cert['claim']['inputs']}" in theorem
    assert f"{cert['claim']['proven_correct']} ≤ {prefix}proven_correct cert" in theorem
    if strategy == "brute-force":
        assert f"{cert['claim']['proven_wrong']} ≤ proven_wrong cert" in theorem
    else:
        assert "proven_wrong" not in theorem


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_certificate_record_holds_the_claim(projects, results, strategy):
    claim = results[strategy].certificate["claim"]
    text = cert_text(projects, strategy)
    record = text[text.index("def cert :"):text.index("/-! ## The theorem")]
    assert f"claimed_sha256 := 0x{results[strategy].certificate['model']['sha256']}" in record
    assert f"claimed_inputs := {claim['inputs']}" in record
    assert f"claimed_correct := {claim['proven_correct']}" in record
    lb = claim["accuracy_lower_bound"]
    assert f"claimed_lower_bound := ({lb['numerator']}, {lb['denominator']})" in record
    assert ("claimed_wrong" in record) == (strategy == "brute-force")


# ---------------------------------------------------------------- the packed data decode back
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_packed_weights_decode_to_the_weights_json_values(projects, results, strategy):
    wj = results[strategy].weights.to_json_dict()
    tensors = parse_tensors(cert_text(projects, strategy))
    assert [t["name"] for t in tensors] == [t["name"] for t in wj["tensors"]]
    for got, want in zip(tensors, wj["tensors"]):
        h = want["float32_hex"]
        assert got["shape"] == want["shape"]
        assert got["bits"] == [int(h[i:i + 8], 16) for i in range(0, len(h), 8)], got["name"]
        assert all(c <= CHUNK for c, _ in got["chunks"])
    weights_def = re.search(r"def weights : List tensor := \[(.*)\]", cert_text(projects, strategy)).group(1)
    assert weights_def == ", ".join(f"tensor_{t['index']}" for t in tensors)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_packed_hints_decode_to_the_certificate_hints(projects, results, strategy):
    hints = results[strategy].certificate["hints"]
    text = cert_text(projects, strategy)
    for name in ("attn_token", "attn_pos"):
        assert parse_hint_table(text, name) == [[tuple(p) for p in row] for row in hints[name]]
    m = re.search(r"def sqrt_d_head : Int × Int := \((.+)\)\n", text)
    assert [lean_int(x) for x in m.group(1).split(", ")] == hints["sqrt_d_head"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(-2**130, 2**130), st.integers(-2**130, 2**130)),
                         min_size=0, max_size=6), min_size=1, max_size=4))
def test_any_hint_table_round_trips_through_its_literals(table):
    from mechcert.certificates.render_lean import _hint_table
    packed = _hint_table(table)
    assert packed["width"] % 4 == 0
    for row, lit in zip(table, packed["rows"]):
        assert lit["pairs"] == len(row)
        assert decode_hint_row(packed["width"], lit["pairs"], int(lit["literal"], 16)) == row


@given(st.integers(-2**200, 2**200))
def test_signed_fields_decode_like_decode_int(z):
    assert decode_int(encode_signed(z)) == z


@given(st.lists(st.integers(0, 2**32 - 1), max_size=40))
def test_unsigned_fields_decode_like_unpack(values):
    assert unpack(32, len(values), pack_fields(values, 32)) == values


def test_pack_fields_refuses_a_field_too_wide():
    with pytest.raises(ValueError):
        pack_fields([16], 4)


# ---------------------------------------------------------------- the renderer refuses bad input
def _bad(results, mutate, strategy="brute-force"):
    cert = copy.deepcopy(results[strategy].certificate)
    weights = copy.deepcopy(results[strategy].weights.to_json_dict())
    mutate(cert, weights)
    with pytest.raises(ValueError):
        lean_context(cert, weights)


def test_render_refuses_a_tensor_name_with_lean_text(results):
    def mutate(c, w):
        w["tensors"][0]["name"] = 'W" := sorry --'
    _bad(results, mutate)


def test_render_refuses_a_float_hint(results):
    def mutate(c, w):
        c["hints"]["attn_token"][0][0] = [1.5, 2]
    _bad(results, mutate)


def test_render_refuses_a_bool_claim(results):
    def mutate(c, w):
        c["claim"]["proven_correct"] = True
    _bad(results, mutate)


def test_render_refuses_a_negative_size(results):
    def mutate(c, w):
        c["model"]["config"]["d_head"] = -1
        w["config"]["d_head"] = -1
    _bad(results, mutate)


def test_render_refuses_an_unknown_strategy(results):
    def mutate(c, w):
        c["strategy"] = "guess"
    _bad(results, mutate)


def test_render_refuses_a_non_hex_digest(results):
    def mutate(c, w):
        c["model"]["sha256"] = "0x" + "0" * 62
    _bad(results, mutate, "cubic")


def test_render_keeps_negative_claims_as_lean_integers(results, tmp_path):
    cert = copy.deepcopy(results["brute-force"].certificate)
    cert["claim"]["proven_wrong"] = -3
    render_lean(cert, results["brute-force"].weights.to_json_dict(), tmp_path)
    text = (tmp_path / "Certificate.lean").read_text()
    assert "claimed_wrong := (-3)" in text and "(-3) ≤ proven_wrong cert" in text


# ---------------------------------------------------------------- the axiom audit
CLEAN = "Certificate.lean:210:0: info: 'max_of_k_brute_force_certificate' does not depend on any axioms"
STANDARD = "info: 'max_of_k_cubic_certificate' depends on axioms: [propext, Classical.choice, Quot.sound]"
SORRY = ("Certificate.lean:205:8: warning: declaration uses 'sorry'\n"
         "info: 'max_of_k_brute_force_certificate' depends on axioms: [sorryAx]")
NATIVE = "info: 'max_of_k_brute_force_certificate' depends on axioms: [Lean.ofReduceBool]"
NATIVE_TRUST = "info: 'max_of_k_brute_force_certificate' depends on axioms: [Lean.ofReduceBool, Lean.trustCompiler]"
FOREIGN = "info: 'max_of_k_brute_force_certificate' depends on axioms: [propext,\n  my_axiom]"
NOTHING = "Certificate.lean:1:0: error: unknown package 'MechCert'"

AUDIT_CASES = [  # (output, native, accepted)
    (CLEAN, False, True), (CLEAN, True, True), (STANDARD, False, True),
    (SORRY, False, False), (SORRY, True, False),
    (NATIVE, False, False), (NATIVE, True, True), (NATIVE_TRUST, True, True), (NATIVE_TRUST, False, False),
    (FOREIGN, False, False), (FOREIGN, True, False), (NOTHING, False, False),
    ("info: 'X' depends on axioms: [sorryAx, Lean.ofReduceBool]", True, False),
]


def test_audit_accepts_a_theorem_with_no_axioms():
    assert audit_axioms(CLEAN, native=False) == (True, "max_of_k_brute_force_certificate: no axioms")


def test_audit_accepts_the_standard_axioms():
    assert audit_axioms(STANDARD, native=False)[0]


def test_audit_rejects_sorry_even_when_native():
    for native in (False, True):
        ok, why = audit_axioms(SORRY, native=native)
        assert not ok and "sorryAx" in why


def test_audit_rejects_native_decide_unless_rendered_native():
    ok, why = audit_axioms(NATIVE, native=False)
    assert not ok and "Lean.ofReduceBool" in why
    assert audit_axioms(NATIVE, native=True)[0]
    assert audit_axioms(NATIVE_TRUST, native=True)[0]


def test_audit_rejects_any_other_axiom():
    ok, why = audit_axioms(FOREIGN, native=True)
    assert not ok and "my_axiom" in why


def test_audit_rejects_an_output_without_a_report():
    assert audit_axioms(NOTHING, native=False) == (False, "no '#print axioms' report found")


@pytest.mark.parametrize("output,native,accepted", AUDIT_CASES)
def test_audit_verdicts(output, native, accepted):
    assert audit_axioms(output, native)[0] is accepted


# ---------------------------------------------------------------- the Makefile, with a fake lake
FAKE_LAKE = """#!/bin/sh
case "$1" in
  build) exit 0 ;;
  env) cat "$FAKE_OUT_FILE"; exit "${FAKE_RC:-0}" ;;
esac
exit 3
"""


def _tools_present() -> bool:
    return all(shutil.which(t) for t in ("make", "sh", "awk"))


def _run_make(project: Path, env_path: str, extra_env: dict | None = None):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
    env["PATH"] = env_path
    env.update(extra_env or {})
    return subprocess.run([shutil.which("make"), "-s", "check"], cwd=project, capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.skipif(not _tools_present(), reason="make, sh or awk missing")
@pytest.mark.parametrize("output,native,accepted", AUDIT_CASES)
def test_the_makefile_audit_agrees_with_audit_axioms(projects, tmp_path, output, native, accepted):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "lake").write_text(FAKE_LAKE)
    (bindir / "lake").chmod(0o755)
    out_file = tmp_path / "out.txt"
    out_file.write_text(output + "\n")
    project = tmp_path / "project"
    shutil.copytree(projects["native" if native else "brute-force"], project)
    r = _run_make(project, f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}", {"FAKE_OUT_FILE": str(out_file)})
    assert (r.returncode == 0) is accepted, r.stdout + r.stderr
    assert (("accepted" in r.stdout) if accepted else ("REJECTED" in r.stderr)), r.stdout + r.stderr


@pytest.mark.skipif(not _tools_present(), reason="make, sh or awk missing")
def test_the_makefile_rejects_a_failed_lean_run(projects, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "lake").write_text(FAKE_LAKE)
    (bindir / "lake").chmod(0o755)
    (tmp_path / "out.txt").write_text(CLEAN + "\n")
    project = tmp_path / "project"
    shutil.copytree(projects["cubic"], project)
    r = _run_make(project, f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                  {"FAKE_OUT_FILE": str(tmp_path / "out.txt"), "FAKE_RC": "1"})
    assert r.returncode != 0 and "REJECTED: lake failed (exit 1)" in r.stderr


@pytest.mark.skipif(not _tools_present(), reason="make, sh or awk missing")
def test_the_makefile_says_how_to_get_lean_when_it_is_missing(projects, tmp_path):
    bindir = tmp_path / "bin"  # only the tools the recipe needs, no lean, no lake
    bindir.mkdir()
    for tool in ("sh", "awk", "date", "cat", "grep", "head", "mkdir"):
        if shutil.which(tool):
            (bindir / tool).symlink_to(shutil.which(tool))
    r = _run_make(projects["brute-force"], str(bindir))
    assert r.returncode != 0
    assert "lean/lake not found: install Lean 4 (elan) to check this certificate" in r.stderr


# ---------------------------------------------------------------- Python twins of Lean-only definitions
def shiftr_nat(z: int, k: int) -> int:
    """MechCert.shiftr_nat, case by case: negSucc n = -(n+1) goes to negSucc (n >>> k)."""
    return z >> k if z >= 0 else -(((-z - 1) >> k) + 1)


def zdiv(a: int, b: int) -> int:
    """MechCert.zdiv, case by case (its six match arms)."""
    if b == 0:
        return 0
    if a >= 0 and b > 0:
        return a // b
    if a < 0 and b > 0:
        return -(((-a - 1) // b) + 1)
    if a == 0:
        return 0
    if a > 0:  # b < 0
        return -(((a - 1) // -b) + 1)
    return -a // -b


def nat_log2(n: int) -> int:
    """MechCert.log2_fuel n n 0."""
    fuel, acc = n, 0
    while fuel > 0 and n > 1:
        fuel, n, acc = fuel - 1, n >> 1, acc + 1
    return acc


@given(st.integers(-2**100, 2**100), st.integers(0, 140))
def test_shiftr_nat_is_a_floor_shift(z, k):
    assert shiftr_nat(z, k) == z >> k == z // 2**k


@given(st.integers(-2**100, 2**100), st.integers(-2**70, 2**70))
def test_zdiv_is_floor_division(a, b):
    assert zdiv(a, b) == (a // b if b else 0)


@given(st.integers(0, 2**300))
def test_nat_log2_is_the_bit_length_minus_one(n):
    assert nat_log2(n) == max(0, n.bit_length() - 1)


@given(st.integers(0, 10**7))
def test_the_nat_padding_length_is_the_coq_one(length):
    assert (119 - length % 64) % 64 == (55 - length) % 64


def lean_cubic(model: MaxOfKModel, hints: dict):
    """The Lean definitions of section 7 of MechCert.lean, transcribed line by line.
    Returns (good, count): good(q, m, k, c) is `cubic_good`, count is `cubic_count`."""
    t = model.logit_tables()
    EUl, EUh, EVl, EVh, PVl, PVh = (t[k] for k in ("EUl", "EUh", "EVl", "EVh", "PVl", "PVh"))
    v, n = model.v, model.n
    tok, pos = hints["attn_token"], hints["attn_pos"]
    EQKP = [[int(x) for x in row] for row in model.EQKP]

    def nth(i, lst, d):
        return lst[i] if i < len(lst) else d

    def max_except(m, lst):
        c = [x for y, x in enumerate(lst) if y != m]
        return max(c) if c else 0

    def rows_max(rows):
        return [max(col) for col in zip(*rows)] if rows else []

    def pv_pess(m):
        return rows_max([[x - nth(m, lo, 0) for x in hi] for lo, hi in zip(PVl, PVh)])

    def pess_W(m, pvp):
        return [max_except(m, [x - nth(m, lo, 0) + p for x, p in zip(hi, pvp)]) for lo, hi in zip(EVl, EVh)]

    def pess_B(m):
        return [max_except(m, [x - nth(m, lo, 0) for x in hi]) for lo, hi in zip(EUl, EUh)]

    def sort_positions(keys):
        acc = []
        for p in range(n - 1):  # insert_by_key: before the first element with a larger key
            i = next((i for i, x in enumerate(acc) if nth(p, keys, 0) < nth(x, keys, 0)), len(acc))
            acc.insert(i, p)
        return acc

    def hint_sum(idx, row):
        return (sum(nth(p, row, (0, 0))[0] for p in idx), sum(nth(p, row, (0, 0))[1] for p in idx))

    def w_lo(tk, ps):
        return (tk[0] * ps[0]) >> 40

    def w_hi(tk, ps):
        return -((-(tk[1] * ps[1])) >> 40)

    def mul_up(w, g):
        return w[1] * g if g >= 0 else w[0] * g

    def cubic_pass(tm, tk, tq, SM, SK, SQ, gm, gk, gq):
        F = (mul_up((w_lo(tm, SM), w_hi(tm, SM)), gm) + mul_up((w_lo(tk, SK), w_hi(tk, SK)), gk)
             + mul_up((w_lo(tq, SQ), w_hi(tq, SQ)), gq))
        return F < 0

    Ws = [pess_W(m, pv_pess(m)) for m in range(v)]
    Bs = [pess_B(m) for m in range(v)]
    orders = [sort_positions(EQKP[q]) for q in range(v)]

    def good(q, m, k, c):  # cubic_good n m q k c (attn_token[q]) (attn_pos[q]) order B[m][q] W[m]
        tokq, posq = [tuple(p) for p in tok[q]], [tuple(p) for p in pos[q]]
        order, Bmq, Wm = orders[q], nth(q, Bs[m], 0), Ws[m]
        nm = max(0, n - 1 - c)
        tm, tk, tq = nth(m, tokq, (0, 0)), nth(k, tokq, (0, 0)), nth(q, tokq, (0, 0))
        SQ = nth(n - 1, posq, (0, 0))
        gm, gk, gq = Bmq + nth(m, Wm, 0), Bmq + nth(k, Wm, 0), Bmq + nth(q, Wm, 0)
        return (cubic_pass(tm, tk, tq, hint_sum(order[:nm], posq), hint_sum(order[nm:], posq), SQ, gm, gk, gq)
                and cubic_pass(tm, tk, tq, hint_sum(order[c:], posq), hint_sum(order[:c], posq), SQ, gm, gk, gq))

    total = 0  # cubic_count / cubic_count_qm
    for m in range(v):
        for q in range(m + 1):
            first = 1 if good(q, m, m, 0) else 0
            cmax = n - 1 if q == m else max(0, n - 2)
            rest = 0
            for c in range(1, cmax + 1):
                N = sum(1 for k in range(m) if good(q, m, k, c))
                rest += comb(n - 1, c) * N**c
            total += first + rest
    return good, total


def test_the_lean_cubic_count_matches_the_producer_on_the_small_model(results, small_weights):
    cert = results["cubic"].certificate
    assert lean_cubic(MaxOfKModel(small_weights), cert["hints"])[1] == cert["claim"]["proven_correct"]


# (seed, d_vocab, n_ctx, d_model, steps): weak tiny models, where many tests fail (as in test_cubic.py).
TINY = [(1, 6, 3, 8, 150), (2, 7, 4, 8, 300), (3, 5, 2, 4, 100), (5, 4, 5, 8, 400)]


@pytest.mark.parametrize("seed,v,n,d,steps", TINY)
def test_the_lean_cubic_test_decides_like_the_producer(tmp_path, seed, v, n, d, steps):
    model = MaxOfKModel(load_model(tiny_model_file(tmp_path, seed, v, n, d, steps)))
    hints = model.hints()
    good, count = lean_cubic(model, hints)
    want = cubic_good(model, hints)
    decisions = {(q, m, k, c): good(q, m, k, c) for q in range(v) for m in range(v) for k in range(v) for c in range(n)}
    assert decisions == {(q, m, k, c): bool(want[(q, c)][m, k]) for (q, m, k, c) in decisions}
    assert 0 < sum(decisions.values()) < len(decisions)  # both outcomes occur
    assert count == cubic_count(model, hints).proven_correct


# ---------------------------------------------------------------- the real thing, where Lean exists
def require_lean():
    if shutil.which("lake") is None and shutil.which("lean") is None:
        pytest.skip("lean/lake not installed (it cannot be installed where these tests were written)")


@pytest.mark.prover
@pytest.mark.slow
@pytest.mark.parametrize("which", ["cubic", "brute-force"])
def test_make_check_accepts_the_small_certificate(projects, which, tmp_path):
    require_lean()
    project = tmp_path / which
    shutil.copytree(projects[which], project)
    r = subprocess.run(["make", "-s", "check"], cwd=project, capture_output=True, text=True, timeout=3 * 3600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "accepted" in r.stdout
    assert audit_axioms(r.stdout, native=False)[0]


@pytest.mark.prover
@pytest.mark.slow
def test_make_check_rejects_a_certificate_that_claims_too_much(results, tmp_path):
    require_lean()
    cert = copy.deepcopy(results["cubic"].certificate)
    cert["claim"]["proven_correct"] += 1
    cert["claim"]["accuracy_lower_bound"]["numerator"] += 1
    render_lean(cert, results["cubic"].weights.to_json_dict(), tmp_path / "lie")
    r = subprocess.run(["make", "-s", "check"], cwd=tmp_path / "lie", capture_output=True, text=True, timeout=3600)
    assert r.returncode != 0


def test_the_lean_cubic_count_requires_two_positions():
    """Section 7: with n_ctx = 1 the count would include inputs that do not exist."""
    lib = LEAN_LIB.read_text()
    body = lib[lib.index("def cubic_certified_count"):lib.index("def cubic_proven_correct")]
    assert "Nat.ble 2 cf.n_ctx &&" in body
