"""``descent-tui ratemap``: the JSON schema, nulls where a cell diverges, the three formats agree,
the summary, and one-line errors with exit 2."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from descent_engine.ratemap import compute
from descent_engine.run import Settings
from tui.cli import main

QUAD = ["ratemap", "--problem", "quadratic", "--rule", "sgd_momentum", "--lr", "0.01", "--size", "6", "--steps", "200"]


def test_json_schema_and_nulls(tmp_path, capsys):
    out = tmp_path / "map.json"
    assert main(QUAD + ["--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert list(doc) == ["lr", "beta", "predicted", "measured", "settings"]
    assert len(doc["lr"]) == 6 and len(doc["beta"]) == 6
    assert all(len(row) == 6 for row in doc["predicted"] + doc["measured"])
    assert doc["settings"]["problem"] == "quadratic" and doc["settings"]["rule"] == "sgd_momentum"
    assert doc["settings"]["beta_name"] == "momentum" and doc["settings"]["steps"] == 200
    # the same map computed here: null exactly where the rate is >= 1 (or blown up)
    m = compute(Settings("quadratic", "sgd_momentum", rule_params={"lr": 0.01}), size=6, steps=200)
    np.testing.assert_array_equal(doc["lr"], m.grid.lr)
    np.testing.assert_array_equal(doc["beta"], m.grid.beta)
    for kind in ("predicted", "measured"):
        raw = m.raw(kind)
        for i in range(6):
            for j in range(6):
                v = doc[kind][i][j]
                if v is None:
                    assert not raw[i, j] < 1  # diverged (>= 1) or nan
                else:
                    assert v == raw[i, j] and v < 1
    assert any(v is None for row in doc["predicted"] for v in row)  # the default axis reaches past the bound
    assert any(v is not None for row in doc["measured"] for v in row)


def test_rule_without_beta_has_one_row_and_no_prediction_off_quadratics(tmp_path):
    out = tmp_path / "gd.json"
    assert main(["ratemap", "--problem", "rosenbrock", "--rule", "gd", "--size", "5", "--steps", "50",
                 "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["beta"] == [None] and len(doc["predicted"]) == 1
    assert doc["predicted"] == [[None] * 5]


def test_npz_and_csv_hold_the_json_numbers(tmp_path):
    paths = {ext: tmp_path / f"m{ext}" for ext in (".json", ".npz", ".csv")}
    for p in paths.values():
        assert main(QUAD + ["--out", str(p)]) == 0
    doc = json.loads(paths[".json"].read_text())
    with np.load(paths[".npz"]) as z:
        assert json.loads(str(z["settings"])) == doc["settings"]
        for kind in ("predicted", "measured"):
            want = np.array([[np.nan if v is None else v for v in row] for row in doc[kind]])
            np.testing.assert_array_equal(z[kind], want)
        np.testing.assert_array_equal(z["lr"], doc["lr"])
    rows = list(csv.DictReader(paths[".csv"].open()))
    assert len(rows) == 36 and list(rows[0]) == ["beta", "lr", "predicted", "measured"]
    for n, row in enumerate(rows):
        i, j = divmod(n, 6)
        assert float(row["beta"]) == doc["beta"][i] and float(row["lr"]) == doc["lr"][j]
        for kind in ("predicted", "measured"):
            v = doc[kind][i][j]
            assert (row[kind] == "") if v is None else (float(row[kind]) == v)


def test_summary_names_the_optimum_and_the_fraction_diverged(capsys):
    assert main(QUAD) == 0
    text = capsys.readouterr().out
    m = compute(Settings("quadratic", "sgd_momentum", rule_params={"lr": 0.01}), size=6, steps=200)
    c = m.optimum("predicted")
    assert f"lr {c.lr:.4g}  momentum {c.beta:.4g}  rate {c.rate:.6g}" in text
    assert f"{100 * m.diverged_fraction('measured'):.1f}% of the cells" in text


@pytest.mark.parametrize("args,words", [
    (["--lr-range", "1:0.1"], "--lr-range: LO must be below HI"),
    (["--lr-range", "abc"], "--lr-range: expected LO:HI"),
    (["--beta-range", "0:1"], "--beta-range: beta must be in"),
    (["--size", "1"], "--size must be in"),
    (["--steps", "x"], "--steps: cannot read"),
    (["--out", "map.txt"], "cannot tell the format of --out"),
    (["--rule", "nope"], "unknown rule"),
    (["--rule", "gd", "--beta-range", "0:0.5"], "has no beta"),
    (["--size", "256", "--steps", "100000"], "too large"),
])
def test_errors_are_one_line_and_exit_2(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["ratemap", "--problem", "quadratic"] + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("descent-tui: error: ") and words in err, err
    assert not list(tmp_path.iterdir())


def test_help(capsys):
    assert main(["ratemap", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--size", "--steps", "--lr-range", "--beta-range", "--out", "--problem", "--rule", "--kappa"):
        assert flag in out
