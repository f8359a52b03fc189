"""--problem data --data FILE.csv: the note's least squares on the user's columns."""

from __future__ import annotations

import numpy as np
import pytest

from descent_engine import theory
from descent_engine.problems import make_problem, notes_data
from tui.cli import main


def _write(path, X, y, header=True):
    with open(path, "w") as f:
        if header:
            f.write(",".join([f"x{i}" for i in range(X.shape[1])] + ["y"]) + "\n")
        for row, t in zip(X, y):
            f.write(",".join(repr(float(v)) for v in (*row, t)) + "\n")
    return str(path)


@pytest.mark.parametrize("header", [True, False])
def test_the_notes_data_as_csv_reproduces_notes_gd_bit_for_bit(tmp_path, header, capsys):
    X, y = notes_data()
    path = _write(tmp_path / "notes.csv", X, y, header)
    assert main(["run", "--preset", "notes-gd", "--out", "-"]) == 0
    expected = capsys.readouterr().out
    assert main(["run", "--problem", "data", "--data", path, "--rule", "gd", "--lr", "1e-4", "--out", "-"]) == 0
    got = capsys.readouterr().out
    assert got == expected and len(got.splitlines()) == 102  # header + rows 0..100


def test_any_number_of_features_with_the_theory_of_2_XtX(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=40)
    p = make_problem("data", {"data": _write(tmp_path / "d.csv", X, y)})
    assert p.dim == 3 and p.quadratic and p.loss_grid is None
    np.testing.assert_allclose(p.hessian(), 2 * X.T @ X, rtol=1e-15)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(p.w_star, w_star, rtol=1e-12)
    r = y - X @ w_star
    assert p.loss_star == pytest.approx(r @ r, rel=1e-12)
    lam = np.linalg.eigvalsh(2 * X.T @ X)
    assert theory.stable_lr("gd", {}, theory.spectrum(p.hessian()).lam_max) == pytest.approx(2 / lam[-1], rel=1e-12)
    w = rng.normal(size=3)
    np.testing.assert_allclose(p.full_grad(w), 2 * X.T @ (X @ w - y), rtol=1e-12, atol=1e-12)


def test_two_features_have_a_landscape_holding_the_start_and_the_optimum(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 2))
    y = X @ np.array([3.0, -1.0])
    p = make_problem("data", {"data": _write(tmp_path / "d.csv", X, y)})
    W0, W1 = np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-2, 2, 4))
    direct = np.array([[np.sum((y - X @ np.array([a, b])) ** 2) for a, b in zip(r0, r1)] for r0, r1 in zip(W0, W1)])
    np.testing.assert_allclose(p.loss_grid(W0, W1), direct, rtol=1e-9, atol=1e-9)
    (x0, x1), (y0, y1) = p.bounds
    assert x0 < 0 < 3 < x1 and y0 < -1 < 0 < y1


@pytest.mark.parametrize("content, message", [
    ("a,b\n1,2\n3,x\n", "line 3, column 2: cannot read 'x' as a number"),
    ("1,2,3\n3,4\n", "line 2 has 2 columns, line 1 has 3"),
    ("1,2\n3,\n", "line 2, column 2: an empty cell"),
    ("1,2\n3,nan\n", "line 2, column 2: nan is not a finite number"),
    ("1,2\n3,1e999\n", "line 2, column 2: 1e999 is not a finite number"),
    ("", "no rows of numbers"),
    ("a,b\n", "no rows of numbers"),
    ("1\n2\n", "line 1 has 1 column; expected the features, then y"),
    ("1,2,3\n", "1 rows for 2 features"),
])
def test_a_malformed_file_is_one_line_and_exit_2(tmp_path, content, message, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["run", "--problem", "data", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"descent-tui: error: --data: {path}: {message}\n" or (
        err.startswith(f"descent-tui: error: --data: {path}: ") and message in err and err.count("\n") == 1)


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "No such file or directory"),
    (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: p.write_bytes(b"\xff\xfe\x00bin"), "not a text file (UTF-8 expected)"),
    (lambda p: p.write_text("1,2,3\n2,4,6\n3,6,1\n"), "the 2 feature columns are linearly dependent"),
])
def test_an_unreadable_file_is_one_line(tmp_path, make, message, capsys):
    path = tmp_path / "d.csv"
    make(path)
    assert main(["run", "--problem", "data", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("descent-tui: error: --data: ") and message in err and err.count("\n") == 1
