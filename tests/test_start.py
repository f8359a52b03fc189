"""--start: a Settings field and a flag of `run` and the app; checked against the problem's dimension."""

from __future__ import annotations

import numpy as np
import pytest

from descent_engine.problems import make_problem
from descent_engine.run import Run, Settings
from tui.cli import build_parser, main
from tui.cli.settings import settings_from_args


def test_a_run_starts_at_the_start_and_takes_the_hand_worked_first_step():
    s = Settings("quadratic", "gd", rule_params={"lr": 0.05}, start=(1.5, -2.0))
    run = Run(s)
    run.step(1)
    w = run.history.arrays()["w"]
    H = make_problem("quadratic").hessian()
    w0 = np.array([1.5, -2.0])
    np.testing.assert_array_equal(w[0], w0)
    np.testing.assert_allclose(w[1], w0 - 0.05 * (H @ w0), rtol=1e-15, atol=1e-16)


def test_any_dimension_for_the_spectrum_problem():
    start = tuple(float(i) for i in range(7))
    run = Run(Settings("spectrum", "gd", problem_params={"dim": 7}, rule_params={"lr": 0.01}, start=start))
    np.testing.assert_array_equal(run.w, start)


def test_the_view_widens_to_hold_a_start_outside_it():
    p = make_problem("rosenbrock").started_at((5.0, -4.0))
    (x0, x1), (y0, y1) = p.bounds
    assert x0 == -2.0 and x1 > 5.0 and y0 < -4.0 and y1 == 3.0  # the far sides are kept


def test_the_flag_reaches_the_settings_the_app_gets():
    args = build_parser().parse_args(["--problem", "rosenbrock", "--start=-1,0.5"])
    assert settings_from_args(args).start == (-1.0, 0.5)
    args = build_parser().parse_args(["--problem", "rosenbrock"])
    assert settings_from_args(args).start is None


@pytest.mark.parametrize("argv, message", [
    (["--problem", "rosenbrock", "--start", "1,2,3"], "--start: expected 2 numbers (problem rosenbrock has dimension 2), got 3"),
    (["--problem", "spectrum", "--dim", "3", "--start", "1,2"], "--start: expected 3 numbers (problem spectrum has dimension 3), got 2"),
    (["--problem", "rosenbrock", "--start", "1,inf"], "--start must be finite, got inf"),
    (["--problem", "rosenbrock", "--start", "nan,1"], "--start must be finite, got nan"),
    (["--problem", "rosenbrock", "--start", "1,,2"], "--start: cannot read '1,,2' as comma-separated numbers"),
])
@pytest.mark.parametrize("command", [["run"], []])
def test_a_bad_start_is_one_line_and_exit_2(command, argv, message, capsys, monkeypatch):
    monkeypatch.setattr("tui.app.run_app", lambda *a, **k: pytest.fail("the app must not start"))
    assert main(command + argv) == 2
    err = capsys.readouterr().err
    assert err == f"descent-tui: error: {message}\n"


def test_a_negative_start_reads_without_an_equals_sign(capsys):
    assert main(["run", "--problem", "rosenbrock", "--rule", "gd", "--lr", "1e-3", "--start", "-1,-1",
                 "--steps", "1", "--out", "-"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].startswith("0,0.001,404.0,-1.0,-1.0,")  # (1+1)^2 + 100 (-1-1)^2 = 404
