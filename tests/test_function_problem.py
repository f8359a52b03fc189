"""--problem function --f EXPR: the typed function's runs, its numerical optimum, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from descent_engine.problems import make_problem
from descent_engine.problems.function import find_minima, parse_bounds
from descent_engine.expr import compile_function
from descent_engine.run import Run, Settings
from tui.cli import main

ROSENBROCK = "(1 - x)**2 + 100*(y - x**2)**2"


def _history(tmp_path, argv, name):
    out = tmp_path / name
    assert main(["run", *argv, "--out", str(out)]) == 0
    with np.load(out) as z:
        return {k: z[k] for k in ("step", "lr", "loss", "w", "grad")}, json.loads(str(z["summary"]))


@pytest.mark.parametrize("rule, lr", [("gd", "1e-3"), ("momentum", "5e-4"), ("adam", "1e-2")])
def test_rosenbrock_typed_reproduces_the_built_in_trajectory(tmp_path, rule, lr):
    common = ["--rule", rule, "--lr", lr, "--steps", "1500"]
    built, _ = _history(tmp_path, ["--problem", "rosenbrock", *common], "built.npz")
    typed, summary = _history(tmp_path, ["--problem", "function", "--f", ROSENBROCK, *common], "typed.npz")
    np.testing.assert_array_equal(typed["step"], built["step"])
    np.testing.assert_array_equal(typed["lr"], built["lr"])
    # the symbolic gradient groups the same products differently (100 (2r (-2x)) vs 4 b x r): equal to
    # rounding, and a contracting run keeps the rounding at the level of one ulp of |w| ~ 1
    np.testing.assert_allclose(typed["w"], built["w"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(typed["grad"], built["grad"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(typed["loss"], built["loss"], rtol=1e-11, atol=1e-15)
    assert not np.array_equal(built["w"][1], built["w"][0])  # it moved
    assert summary["optimum"] == "numerical optimum"
    np.testing.assert_allclose(summary["w_star"], [1.0, 1.0], atol=1e-12)


def test_the_optimum_is_found_numerically_and_labelled():
    p = make_problem("function", {"f": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2"})
    assert p.optimum_numerical and p.w0.tolist() == [-1.5, 2.0]
    # Himmelblau's four minima (loss 0); equal minima: the one nearest the start is w*
    published = np.array([(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)])
    found = np.array(p.minima[:4])
    for m in published:
        assert np.min(np.max(np.abs(found - m), axis=1)) < 1e-6
    np.testing.assert_allclose(p.w_star, published[1], atol=1e-6)
    assert abs(p.loss_star) < 1e-20 and np.linalg.norm(p.full_grad(p.w_star)) < 1e-9


def test_a_quadratic_typed_is_a_quadratic_with_its_exact_hessian():
    p = make_problem("function", {"f": "2*x**2 + x*y + 3*y**2 - x"})
    assert p.quadratic
    H = np.array([[4.0, 1.0], [1.0, 6.0]])
    np.testing.assert_array_equal(p.hessian(), H)
    np.testing.assert_allclose(p.w_star, np.linalg.solve(H, [1.0, 0.0]), rtol=1e-14)


def test_bounds_given_are_the_view_and_the_search_box():
    p = make_problem("function", {"f": "(x - 3)**2 + (y + 1)**2", "bounds": "0:5,-3:2"})
    assert p.bounds == ((0.0, 5.0), (-3.0, 2.0))
    assert p.w0.tolist() == [2.5, -0.5]  # the default start (-1.5, 2) is outside: the centre
    np.testing.assert_allclose(p.w_star, [3.0, -1.0], atol=1e-12)


def test_bounds_found_around_the_start_hold_the_start_and_the_optimum():
    run = Run(Settings("function", "gd", problem_params={"f": "(x - 4)**2 + (y - 1)**2"}, start=(-2.0, -3.0)))
    (x0, x1), (y0, y1) = run.problem.bounds
    assert x0 < -2 < 4 < x1 and y0 < -3 < 1 < y1


def test_minima_of_a_flat_quartic_are_found():
    f = compile_function("x**4 + (y - 1)**2")
    m = find_minima(f, ((-3, 3), (-3, 3)), np.array([2.0, 2.0]))
    assert abs(m[0][0]) < 1e-5 and abs(m[0][1] - 1) < 1e-12


@pytest.mark.parametrize("text, bounds, message", [
    ("x ^ 2", None, "--f: cannot read '^' at character 3 (write ** for powers)"),
    ("__import__('os').system('ls')", None, "--f: cannot read \"'\" at character 12"),
    ("os.system", None, "--f: cannot read '.' at character 3"),
    ("lambda: 0", None, "--f: cannot read ':' at character 7"),
    ("().__class__", None, "--f: cannot read '.' at character 3"),
    ("z + 1", None, "--f: unknown name 'z' at character 1 (known: x, y, pi, e, exp, log, sqrt, sin, cos, tanh, abs)"),
    ("x +", None, "--f: the expression ends too early"),
    ("9**9**9**9", None, "--f: 9**9**9**9 is not defined (or not finite) at the start (-1.5, 2)"),
    ("(" * 100 + "x" + ")" * 100, None, "--f: the expression nests too deeply (more than 60 levels)"),
    ("x" + "+x" * 300, None, "--f: the expression is too long (601 characters; at most 500)"),
    ("log(x)", None, "--f: log(x) is not defined (or not finite) at the start (-1.5, 2)"),
    ("x + y", None, "--f: found no minimum of x + y in -7.5:4.5, -4:8; give --bounds around one"),
    ("x**2 + y**2", "1:2", "--bounds: expected xmin:xmax,ymin:ymax (e.g. -2:2,-1:3), got '1:2'"),
    ("x**2 + y**2", "1:0,0:1", "--bounds: the x range must have min < max, got '1:0'"),
    ("x**2 + y**2", "0:1,0:inf", "--bounds: the y range must be finite numbers, got '0:inf'"),
    ("x**2 + y**2", "a:b,0:1", "--bounds: expected xmin:xmax,ymin:ymax (e.g. -2:2,-1:3), got 'a:b,0:1'"),
])
@pytest.mark.parametrize("command", [["run"], []])
def test_bad_and_unsafe_expressions_on_the_command_line(command, text, bounds, message, capsys, monkeypatch):
    monkeypatch.setattr("tui.app.run_app", lambda *a, **k: pytest.fail("the app must not start"))
    argv = command + ["--problem", "function", "--f", text] + (["--bounds", bounds] if bounds else [])
    assert main(argv) == 2
    assert capsys.readouterr().err == f"descent-tui: error: {message}\n"


def test_without_f_the_function_is_the_default_bowl():
    p = make_problem("function")
    assert p.params["f"] == "x**2 + 10*y**2" and p.quadratic
    np.testing.assert_array_equal(p.hessian(), [[2.0, 0.0], [0.0, 20.0]])


def test_parse_bounds():
    assert parse_bounds("-2:2,-1.5:3e0") == ((-2.0, 2.0), (-1.5, 3.0))


def test_negative_bounds_read_without_an_equals_sign(capsys):
    assert main(["run", "--problem", "function", "--f", "(x + 1)**2 + (y - 0.5)**2", "--bounds", "-2:0,-1:1",
                 "--steps", "1", "--out", "-"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("0,")  # the start: the centre of the box
    p = make_problem("function", {"f": "(x + 1)**2 + (y - 0.5)**2", "bounds": "-2:0,-1:1"})
    assert p.w0.tolist() == [-1.0, 0.0] and np.allclose(p.w_star, [-1.0, 0.5], atol=1e-12)


def test_the_view_found_around_the_start_holds_a_momentum_run_that_overshoots():
    import numpy as np

    from descent_engine.adjust import with_suggested_lr
    from descent_engine.run import Run, Settings

    # at the lr a user gets (the problem's suggested one, as the command line and the lab pick it)
    s = with_suggested_lr(Settings("function", "momentum", problem_params={"f": "x**2+y**2"}, start=(1.0, 1.0)))
    run = Run(s)
    run.step(200)
    w = run.history.arrays()["w"]
    (x0, x1), (y0, y1) = run.problem.bounds
    assert w[:, 0].min() < -0.1  # it does overshoot w* = (0, 0)
    assert np.all((w[:, 0] >= x0) & (w[:, 0] <= x1) & (w[:, 1] >= y0) & (w[:, 1] <= y1))
    assert np.isclose(x1 - x0, y1 - y0) and np.isclose((x0 + x1) / 2, 0, atol=1e-6)
