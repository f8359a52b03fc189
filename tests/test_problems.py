"""Problems: finite-difference gradients and Hessians, optima, the note's data, mini-batches."""

from __future__ import annotations

import math

import numpy as np
import pytest

from descent_engine.params import ParamError
from descent_engine.problems import PROBLEMS, get_problem_spec, make_problem, notes_data
from reference import note_dataset

#: every problem, with its defaults and with non-default parameters
CASES = [
    ("notes-ls", {}),
    ("quadratic", {}),
    ("quadratic", {"kappa": 250.0, "angle": -65.0}),
    ("rosenbrock", {}),
    ("rosenbrock", {"a": 2.0, "b": 10.0}),  # optimum (2, 4): the plot must grow to show it
    ("saddle", {}),
    ("saddle", {"stiffness": 0.3}),
    ("himmelblau", {}),
    ("beale", {}),
    ("rastrigin", {}),
    ("rastrigin", {"amplitude": 2.5}),
    ("spectrum", {"dim": 2, "kappa": 30.0}),
    ("function", {"f": "(x - 1)**2 + 3*sin(y)**2 + x*y/4 + y**2/4"}),
    ("data", {}),  # the note's data when no --data file is given
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CASES)]


def test_cases_cover_every_problem():
    assert {n for n, _ in CASES} == set(PROBLEMS)


def test_only_spectrum_leaves_the_plane():
    assert [n for n in PROBLEMS if not PROBLEMS[n].planar] == ["spectrum"]


def random_points(problem, n=8, seed=0):
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = problem.bounds
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def fd_gradient(f, w, h):
    g = np.zeros_like(w)
    for i in range(w.size):
        e = np.zeros_like(w)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g


@pytest.mark.parametrize("name,values", CASES, ids=IDS)
def test_gradient_matches_central_differences(name, values):
    p = make_problem(name, values)
    for w in random_points(p):
        h = 1e-5 * max(1.0, float(np.abs(w).max()))
        fd = fd_gradient(p.loss, w, h)
        g = p.grad(w)
        scale = max(1.0, float(np.abs(g).max()), abs(p.loss(w)) / h * 1e-15)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("name,values", CASES, ids=IDS)
def test_hessian_matches_central_differences_of_the_gradient(name, values):
    p = make_problem(name, values)
    for w in list(random_points(p, 4)) + [p.w_star]:
        h = 1e-5 * max(1.0, float(np.abs(w).max()))
        fd = np.column_stack([fd_gradient(lambda v: p.full_grad(v)[j], w, h) for j in range(2)]).T
        H = p.hessian_at(w)
        np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-6 * max(1.0, float(np.abs(H).max())))
        np.testing.assert_allclose(H, H.T, rtol=1e-15)
    if p.quadratic:  # constant Hessian, and hessian() is it
        assert np.array_equal(p.hessian(), p.hessian_at(random_points(p, 1)[0]))


@pytest.mark.parametrize("name,values", CASES, ids=IDS)
def test_w_star_is_a_strict_minimum_with_the_stated_loss(name, values):
    p = make_problem(name, values)
    g = p.grad(p.w_star)
    g_scale = max(float(np.abs(p.grad(w)).max()) for w in random_points(p))
    assert float(np.abs(g).max()) <= 1e-10 * g_scale
    assert p.loss(p.w_star) == pytest.approx(p.loss_star, rel=1e-12, abs=1e-12)
    assert np.all(np.linalg.eigvalsh(p.hessian()) > 0)
    for w in random_points(p, 20, seed=5):
        assert p.loss(w) >= p.loss_star - 1e-9 * max(1.0, abs(p.loss_star))


@pytest.mark.parametrize("name,values", CASES, ids=IDS)
def test_loss_grid_equals_loss_pointwise(name, values):
    p = make_problem(name, values)
    pts = random_points(p, 6, seed=2)
    W0, W1 = np.meshgrid(pts[:, 0], pts[:, 1])
    grid = p.loss_grid(W0, W1)
    assert grid.shape == W0.shape
    for i in range(W0.shape[0]):
        for j in range(W0.shape[1]):
            v = p.loss(np.array([W0[i, j], W1[i, j]]))
            assert grid[i, j] == pytest.approx(v, rel=1e-9, abs=1e-9 * max(1.0, abs(p.loss_star)))


@pytest.mark.parametrize("name,values", CASES, ids=IDS)
def test_start_and_optimum_lie_inside_the_plot_bounds(name, values):
    p = make_problem(name, values)
    for w in (p.w0, p.w_star):
        for (lo, hi), x in zip(p.bounds, w):
            assert lo <= x <= hi, (name, w, p.bounds)
    assert p.dim == 2 and p.w0.shape == (2,)


def test_notes_data_equals_the_notes_recipe_exactly():
    X_note, y_note = note_dataset()
    X, y = notes_data()
    assert X.shape == (500, 2) and y.shape == (500,)
    assert np.array_equal(X, X_note)
    assert np.array_equal(y, y_note[:, 0])
    assert set(np.unique(y)) == {0.0, 1.0}


def test_notes_ls_loss_and_gradient_are_the_notes_formulas():
    X, y = note_dataset()
    p = make_problem("notes-ls")
    assert np.array_equal(p.w0, np.zeros(2))
    rng = np.random.default_rng(1)
    for w in rng.uniform(-0.5, 0.5, (5, 2)):
        wc = w[:, None]
        assert p.loss(w) == np.linalg.norm(y - X @ wc) ** 2
        np.testing.assert_allclose(p.grad(w), (2 * (X.T @ X @ wc) - 2 * X.T @ y)[:, 0], rtol=1e-13, atol=1e-9)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0][:, 0]
    np.testing.assert_allclose(p.w_star, w_star, rtol=1e-10)
    assert p.loss_star == pytest.approx(float(np.sum((y - X @ w_star[:, None]) ** 2)), rel=1e-12)


def test_notes_ls_minibatch_gradient_is_unbiased_and_noisy():
    batch = 50
    p = make_problem("notes-ls", {"batch_size": batch})
    assert p.stochastic
    w = np.array([0.1, -0.2])
    full = p.full_grad(w)
    rng = np.random.default_rng(0)
    draws = np.array([p.grad(w, rng) for _ in range(4000)])
    # the draws differ from each other and from the full gradient
    assert len({tuple(d) for d in draws[:50]}) == 50
    assert not np.allclose(draws[0], full)
    # unbiased: the sample mean is within 5 standard errors of the full gradient
    stderr = draws.std(axis=0, ddof=1) / math.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - full) <= 5 * stderr), (draws.mean(axis=0), full, stderr)
    # and a sample mean within 5 standard errors is a real test: the noise is not negligible
    assert np.all(stderr > 1e-3 * np.abs(full))


def test_notes_ls_minibatch_of_everything_is_the_full_gradient():
    p = make_problem("notes-ls", {"batch_size": 500})
    rng = np.random.default_rng(4)
    for w in ([0.0, 0.0], [0.3, -0.1]):
        w = np.array(w)
        np.testing.assert_allclose(p.grad(w, rng), p.full_grad(w), rtol=1e-10, atol=1e-8)


def test_notes_ls_without_batch_size_is_deterministic():
    p = make_problem("notes-ls")
    assert not p.stochastic
    w = np.array([0.2, 0.1])
    assert np.array_equal(p.grad(w, np.random.default_rng(0)), p.full_grad(w))


def test_notes_ls_batch_size_out_of_range_is_rejected():
    with pytest.raises(ParamError):
        make_problem("notes-ls", {"batch_size": 501})
    with pytest.raises(ParamError):
        make_problem("notes-ls", {"batch_size": -1})


@pytest.mark.parametrize("kappa,angle", [(10.0, 30.0), (100.0, 0.0), (3.0, -45.0), (1.0, 12.0)])
def test_quadratic_eigenvalues_and_rotation(kappa, angle):
    p = make_problem("quadratic", {"kappa": kappa, "angle": angle})
    H = p.hessian()
    np.testing.assert_allclose(np.linalg.eigvalsh(H), [1.0, kappa], rtol=1e-12)
    a = math.radians(angle)
    u, v = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
    np.testing.assert_allclose(H @ u, kappa * u, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H @ v, v, rtol=1e-12, atol=1e-12)
    assert np.array_equal(p.w_star, np.zeros(2)) and p.loss_star == 0.0
    w = np.array([0.7, -1.3])
    assert p.loss(w) == pytest.approx(0.5 * w @ H @ w, rel=1e-14)


def test_rosenbrock_and_saddle_shapes():
    r = make_problem("rosenbrock", {"a": 1.0, "b": 100.0})
    assert np.array_equal(r.w_star, [1.0, 1.0])
    assert r.loss(np.array([0.0, 0.0])) == 1.0 and r.loss(np.array([-1.0, 1.0])) == 4.0
    s = make_problem("saddle", {"stiffness": 5.0})
    assert np.array_equal(s.grad(np.zeros(2)), np.zeros(2))  # the saddle point
    assert np.linalg.eigvalsh(s.hessian_at(np.zeros(2)))[0] < 0  # ... is a saddle
    assert s.loss(np.array([-1.0, 0.0])) == 0.0  # the other well
    assert abs(s.w0[0]) < 0.1  # the run starts next to the saddle


def test_unknown_problem_is_a_one_line_param_error():
    with pytest.raises(ParamError) as info:
        get_problem_spec("styblinski-tang")
    assert "styblinski-tang" in str(info.value) and "\n" not in str(info.value)


# the landscapes with several minima, against their formulas parsed and differentiated by the
# expression language (an independent, symbolic derivation of the same gradient and Hessian)
FORMULAS = {
    "himmelblau": "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    "beale": "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
    "rastrigin": "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_multimodal_landscapes_match_their_formulas(name):
    from descent_engine.expr import compile_function

    p, f = make_problem(name), compile_function(FORMULAS[name])
    for w in random_points(p, 12, seed=3):
        assert p.loss(w) == pytest.approx(float(f.value(*w)), rel=1e-13, abs=1e-12)
        np.testing.assert_allclose(p.full_grad(w), f.gradient(*w), rtol=1e-12, atol=1e-10)
        np.testing.assert_allclose(p.hessian_at(w), f.hessian(*w), rtol=1e-12, atol=1e-9)


def test_himmelblau_has_its_four_published_minima():
    p = make_problem("himmelblau")
    published = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    assert len(p.minima) == 4
    for m, q in zip(p.minima, published):
        np.testing.assert_allclose(m, q, atol=1e-6)  # the published digits
        assert p.loss(m) <= 1e-28  # and refined to float precision
    assert np.array_equal(p.w_star, p.minima[0])


def test_spectrum_problem_has_the_chosen_spectrum_and_excites_every_direction():
    for spacing, expected in (("log", np.logspace(0, 3, 7)), ("linear", np.linspace(1, 1000, 7))):
        p = make_problem("spectrum", {"dim": 7, "kappa": 1000.0, "spacing": spacing})
        np.testing.assert_allclose(np.linalg.eigvalsh(p.hessian()), expected, rtol=1e-12)
        np.testing.assert_allclose(p.eigen_errors(p.w0), np.ones(7), atol=1e-12)
        Q = p.eigenbasis
        np.testing.assert_allclose(Q.T @ Q, np.eye(7), atol=1e-12)
    diag = make_problem("spectrum", {"dim": 4, "kappa": 8.0, "rotate": False})
    np.testing.assert_array_equal(diag.hessian(), np.diag(np.logspace(0, np.log10(8.0), 4)))


def test_spectrum_gd_errors_follow_the_closed_form_and_its_rate():
    from descent_engine.run import Run, Settings

    K, lr, steps = 100.0, 2 / 101, 60
    s = Settings("spectrum", "gd", problem_params={"dim": 12, "kappa": K}, rule_params={"lr": lr})
    run = Run(s, capacity=None)
    run.step(steps)
    errors = run.problem.eigen_errors(run.history.arrays()["w"])
    lam = np.logspace(0, 2, 12)
    k = np.arange(steps + 1)[:, None]
    # each eigendirection on its own: e_k = (1 - lr lambda)^k e_0, e_0 = 1
    np.testing.assert_allclose(errors, (1 - lr * lam) ** k, rtol=1e-9, atol=1e-12)
    # the two extreme directions contract by (K - 1) / (K + 1) per step: the rate GD predicts
    assert abs(1 - lr * lam[0]) == pytest.approx((K - 1) / (K + 1), rel=1e-12)
    assert abs(1 - lr * lam[-1]) == pytest.approx((K - 1) / (K + 1), rel=1e-12)
    from descent_engine import theory

    assert theory.predicted_rate("gd", {}, lr, lam) == pytest.approx((K - 1) / (K + 1), rel=1e-12)
