"""`mechcert frontier`: one row per strategy, every bound at most the brute force, the files."""
from __future__ import annotations

import csv
import math
import subprocess
import sys
from fractions import Fraction

from mechcert.frontier import growth_exponent

from .conftest import SMALL_MODEL


def test_frontier_cli_on_the_small_model(tmp_path):
    out = tmp_path / "fr"
    r = subprocess.run([sys.executable, "-m", "mechcert", "frontier", str(SMALL_MODEL), "--out", str(out),
                        "--coq", "no"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Every bound is at most the brute-force accuracy: yes." in r.stdout
    rows = list(csv.DictReader((out / "frontier.csv").open()))
    assert [row["strategy"] for row in rows] == ["brute-force", "cubic", "subcubic-gap", "subcubic-rank-one",
                                                 "subcubic-rank-one-global"]
    bf = Fraction(int(rows[0]["proven_correct"]), int(rows[0]["inputs"]))
    for row in rows:
        assert Fraction(int(row["proven_correct"]), int(row["inputs"])) <= bf
        assert int(row["checker_ops"]) > 0 and row["checker_verdict"] == "accepted"
        assert (out / "certs" / row["strategy"] / "certificate.json").is_file()
    ops = {row["strategy"]: int(row["checker_ops"]) for row in rows}
    assert max(ops[s] for s in ops if s.startswith("subcubic")) < ops["cubic"] < ops["brute-force"]
    assert (out / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "frontier.md").read_text()
    assert md.count("\n| ") == 6  # header and five strategies


def test_frontier_refuses_an_unknown_strategy(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mechcert", "frontier", str(SMALL_MODEL), "--out", str(tmp_path / "x"),
                        "--strategies", "cubic,quadratic"], capture_output=True, text=True)
    assert r.returncode != 0 and "quadratic" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_growth_exponent_recovers_a_power_law():
    xs = [32, 64, 128]
    assert math.isclose(growth_exponent(xs, [3 * x**2 for x in xs]), 2.0)
    assert math.isclose(growth_exponent(xs, [x**3 + 0.0 for x in xs]), 3.0)
