"""The expression language: parsing, safety limits and exact derivatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from descent_engine import expr
from descent_engine.expr import ExprError, compile_function, evaluate, parse, to_text
from descent_engine.problems import make_problem

ROSENBROCK = "(1 - x)**2 + 100*(y - x**2)**2"


def test_rosenbrock_gradient_and_hessian_are_the_closed_forms():
    f = compile_function(ROSENBROCK)
    for x, y in [(-1.5, 2.0), (0.3, -0.7), (1.0, 1.0), (2.0, 3.5)]:
        # closed forms written out here
        value = (1 - x) ** 2 + 100 * (y - x * x) ** 2
        gx = -2 * (1 - x) - 400 * x * (y - x * x)
        gy = 200 * (y - x * x)
        hxx = 2 - 400 * (y - x * x) + 800 * x * x
        assert float(f.value(x, y)) == pytest.approx(value, rel=1e-15, abs=1e-15)
        np.testing.assert_allclose(f.gradient(x, y), [gx, gy], rtol=1e-14, atol=1e-12)
        np.testing.assert_allclose(f.hessian(x, y), [[hxx, -400 * x], [-400 * x, 200]], rtol=1e-14, atol=1e-11)


def test_rosenbrock_matches_the_built_in_problem():
    built = make_problem("rosenbrock")
    f = compile_function(ROSENBROCK)
    rng = np.random.default_rng(1)
    for w in rng.uniform(-2, 2, (20, 2)):
        np.testing.assert_allclose(f.gradient(*w), built.full_grad(w), rtol=1e-13, atol=1e-10)


@pytest.mark.parametrize("text, value", [
    ("1 + 2 * 3", 7.0), ("(1 + 2) * 3", 9.0), ("2 ** 3 ** 2", 512.0), ("-2 ** 2", -4.0),
    ("2 ** -1", 0.5), ("- -3", 3.0), ("10 / 4 / 5", 0.5), ("8 - 3 - 2", 3.0), ("1e3 + .5", 1000.5),
    ("exp(0) + log(e) + sqrt(4) + sin(0) + cos(0) + tanh(0) + abs(-3)", 8.0), ("pi", math.pi),
    ("x * y", 6.0), ("x ** 2 + y", 7.0),
])
def test_values_follow_python_precedence(text, value):
    assert float(evaluate(parse(text), 2.0, 3.0)) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   ", "empty"),
    ("x ^ 2", "write \\*\\* for powers"),
    ("x +", "ends too early"),
    ("(x + y", "ends too early"),
    ("x + y)", "unexpected '\\)' at character 6"),
    ("x y", "unexpected 'y'"),
    ("z + 1", "unknown name 'z'"),
    ("__import__('os')", "cannot read \"'\" at character 12"),  # no strings in the language
    ("__import__", "unknown name '__import__'"),
    ("os.system('ls')", "cannot read '.' at character 3"),
    ("x.real", "cannot read '.'"),
    ("lambda: 1", "cannot read ':'"),
    ("lambda", "unknown name 'lambda'"),
    ("exp x", "expected '\\('"),
    ("1e999", "too large"),
    ("x; y", "cannot read ';'"),
    ("[x]", "cannot read '\\['"),
    ("x" + " + x" * 300, "too long"),
    ("(" * 200 + "x" + ")" * 200, "nests too deeply"),
    ("-" * 200 + "x", "nests too deeply"),
    ("2 ** " * 70 + "2", "nests too deeply"),
])
def test_bad_and_unsafe_expressions_are_one_line(text, message):
    with pytest.raises(ExprError, match=message) as err:
        parse(text)
    assert "\n" not in str(err.value) and len(str(err.value)) < 200


def test_huge_powers_are_floats_not_integers():
    # no unbounded integer arithmetic: 9**9**9 is inf at once, not a 370-million-digit integer
    assert evaluate(parse("9 ** 9 ** 9"), 0.0, 0.0) == math.inf
    assert math.isnan(float(evaluate(parse("log(-1)"), 0.0, 0.0)))


def test_evaluates_over_a_grid():
    X, Y = np.meshgrid(np.linspace(-1, 1, 5), np.linspace(-2, 2, 3))
    np.testing.assert_array_equal(evaluate(parse("x**2 + 3*y"), X, Y), X ** 2 + 3 * Y)
    assert evaluate(parse("2"), X, Y).shape == ()  # a constant stays a scalar; callers broadcast
    assert compile_function("2 + 0*x").gradient(X, Y).shape == (2, 3, 5)


# a random tree of the language, to check derivatives against finite differences and printing
_leaf = st.one_of(st.sampled_from(["x", "y"]), st.floats(0.5, 3.0).map(lambda v: f"{v:.3f}"))


def _grow(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["sin", "cos", "tanh", "exp"]), children).map(lambda t: f"{t[0]}({t[1]} / 4)"),
        children.map(lambda c: f"({c}) ** 2"),
    )


_exprs = st.recursive(_leaf, _grow, max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(_exprs, st.floats(-1, 1), st.floats(-1, 1))
def test_derivatives_agree_with_central_differences(text, x, y):
    f = compile_function(text)
    h = 1e-5
    with np.errstate(all="ignore"):
        fd = np.array([(f.value(x + h, y) - f.value(x - h, y)) / (2 * h),
                       (f.value(x, y + h) - f.value(x, y - h)) / (2 * h)], dtype=float)
    g = f.gradient(x, y)
    if not (np.all(np.isfinite(fd)) and np.all(np.isfinite(g))):
        return
    # central differences err by h^2 f'''/6 (truncation) plus ~eps |f| / h (rounding); the trees
    # here keep |f| and its third derivative below ~1e6 on [-1, 1]^2, so 1e-4 relative to the
    # size of the function and its gradient bounds both with room
    scale = 1.0 + abs(float(f.value(x, y))) + float(np.max(np.abs(g)))
    assert np.max(np.abs(g - fd)) <= 1e-4 * scale
    # and the printed tree reads back to the same function
    again = parse(to_text(f.tree))
    assert float(evaluate(again, x, y)) == float(f.value(x, y)) or math.isnan(float(f.value(x, y)))
