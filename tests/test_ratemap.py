"""The rate map's engine: predicted cells against spectral radii of recurrences written out here,
measured cells against predicted ones, the batched run against single runs, the grid, the optimum.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from descent_engine.params import ParamError
from descent_engine.problems import make_problem
from descent_engine.ratemap import RateMapJob, compute, grid_for
from descent_engine.ratemap.batch import batched_gradient
from descent_engine.ratemap.measure import FLOOR, fit_rates
from descent_engine.run import Run, Settings

K = 400


def quad(rule: str, kappa: float = 10.0, **rule_params) -> Settings:
    return Settings("quadratic", rule, problem_params={"kappa": kappa}, rule_params={"lr": 0.01, **rule_params})


def radius_of_recurrence(c1: float, c0: float) -> float:
    """Largest |z| with z^2 - c1 z + c0 = 0: the rate of e_{k+1} = c1 e_k - c0 e_{k-1}."""
    return float(np.max(np.abs(np.roots([1.0, -c1, c0]))))


# the rules' recurrences on one eigen-direction, e_{k+1} = c1 e_k - c0 e_{k-1}, written out by hand
# (x = lr * lam; the momentum forms as heavy ball w' = w - a g + mu (w - w_prev))
RECURRENCES = {
    "sgd_momentum": lambda x, b: (1 + b - x, b),  # torch form: a = lr, mu = beta
    "momentum": lambda x, b: (1 + b - (1 - b) * x, b),  # EWA form: a = lr (1 - beta), mu = beta
    "nesterov": lambda x, b: ((1 + b) * (1 - x), b * (1 - x)),  # v' = mu v + g; w' = w - lr (g + mu v')
}


@pytest.mark.parametrize("rule", sorted(RECURRENCES))
def test_predicted_cells_are_the_recurrences_spectral_radii(rule):
    m = compute(quad(rule), size=9, steps=10)
    lam = (10.0, 1.0)  # the quadratic's eigenvalues: kappa and 1
    for i, b in enumerate(m.grid.beta.tolist()):
        for j, lr in enumerate(m.grid.lr.tolist()):
            want = max(radius_of_recurrence(*RECURRENCES[rule](lr * l, b)) for l in lam)
            # np.roots of a double root loses half the digits: sqrt(eps) relative
            assert m.predicted[i, j] == pytest.approx(want, rel=1e-7, abs=1e-7), (i, j)


def test_gd_predicted_is_the_largest_abs_one_minus_lr_lambda():
    m = compute(quad("gd"), size=16, steps=10)
    assert m.grid.beta is None and m.grid.shape == (1, 16)
    want = np.maximum(np.abs(1 - m.grid.lr * 10.0), np.abs(1 - m.grid.lr * 1.0))
    np.testing.assert_allclose(m.predicted[0], want, rtol=1e-13, atol=1e-15)


def test_spectrum_problem_takes_every_eigenvalue():
    s = Settings("spectrum", "gd", problem_params={"dim": 7, "kappa": 50.0, "spacing": "linear"},
                 rule_params={"lr": 0.01})
    m = compute(s, size=12, steps=10)
    lam = np.linspace(1.0, 50.0, 7)
    want = np.abs(1 - m.grid.lr[:, None] * lam[None, :]).max(axis=1)
    np.testing.assert_allclose(m.predicted[0], want, rtol=1e-12, atol=1e-14)
    # the GD optimum lr 2/(1+K) has rate (K-1)/(K+1)
    g = replace(m.grid, lr=np.array([2 / 51]))
    job = RateMapJob(s, g, 10)
    job.work(10.0)
    assert job.result().predicted[0, 0] == pytest.approx(49 / 51, rel=1e-13)


def window(p: np.ndarray, steps: int) -> np.ndarray:
    """The steps a cell's fit spans: half of those before the error reaches the floor."""
    return np.minimum(steps, np.log(FLOOR) / np.log(p)) / 2


@pytest.mark.parametrize("rule,kappa", [("gd", 3.0), ("momentum", 10.0), ("sgd_momentum", 10.0),
                                        ("nesterov", 3.0), ("sgd_momentum", 100.0)])
def test_measured_matches_predicted_where_clearly_below_one(rule, kappa):
    m = compute(quad(rule, kappa), size=20, steps=K)
    p, q = m.predicted, m.measured
    ok = p < 0.95
    assert ok.sum() >= 3
    # a fit over W steps is off by the slowest mode's modulation within the window: at most a
    # few e-folds over W (a rotation period longer than the window leaves its envelope's bend)
    tol = 3.0 / window(p[ok], K)
    assert np.all(np.abs(np.log(q[ok]) - np.log(p[ok])) <= tol)


def test_divergent_cells_are_blown_and_blank():
    m = compute(quad("gd"), size=24, steps=200)
    lr = m.grid.lr
    past = lr > 2.0 / 10.0 * 1.05  # past the stability bound 2 / lam_max (5% margin)
    assert past.any() and (~past).any()
    assert np.all(m.blown[0, past] | (m.measured[0, past] >= 1))
    assert np.all(np.isnan(m.converging("measured")[0, past]))
    assert np.all(np.isnan(m.converging("predicted")[0, past]))
    assert np.all(np.isfinite(m.converging("predicted")[0, lr < 0.19]))
    assert m.diverged_fraction("predicted") == pytest.approx(np.mean(np.abs(1 - lr * 10) >= 1))


def test_optimum_is_the_smallest_converging_cell_near_the_closed_form():
    m = compute(quad("gd", 10.0), size=64, steps=50, lr_range="0.01:1")
    c = m.optimum("predicted")
    assert c.rate == np.nanmin(m.converging("predicted"))
    step = m.grid.lr[1] / m.grid.lr[0]
    assert 1 / step <= c.lr / (2 / 11) <= step  # the best gd lr is 2 / (lam_min + lam_max)
    assert c.rate == pytest.approx(9 / 11, abs=(step - 1) * 10)


def trajectory_error(settings: Settings, steps: int) -> np.ndarray:
    run = Run(settings)
    run.step(steps)
    w = run.history.arrays()["w"]
    return np.linalg.norm(w - run.problem.w_star, axis=1)


@pytest.mark.parametrize("settings", [
    Settings("notes-ls", "momentum", rule_params={"lr": 1e-4}),  # affine gradient, all cells at once
    Settings("rosenbrock", "nesterov", rule_params={"lr": 1e-4}),  # the problem's own code on columns
    Settings("quadratic", "adam", rule_params={"lr": 0.05}),  # row by row (Adam's bias correction)
])
def test_each_cell_is_the_run_of_its_settings(settings):
    steps = 60
    job = RateMapJob(settings, grid_for(settings, 5), steps)
    while not job.work(10.0):
        pass
    cells = job._cells
    for i, j in ((0, 0), (2, 3), (4, 4)):
        cell = job.result().cell_settings(i, j)
        want = trajectory_error(cell, steps)
        got = cells.err[:, i, j]
        n = min(len(want), steps + 1)
        np.testing.assert_allclose(got[:n], want[:n], rtol=1e-9, atol=1e-12)


def test_cell_settings_go_through_adjust():
    s = Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4})
    m = compute(s, size=4, steps=10)
    cell = m.cell_settings(3, 1)
    assert cell.rule_params["lr"] == m.grid.lr[1] and cell.rule_params["beta"] == m.grid.beta[3]
    assert cell.lr_explicit and cell.problem == s.problem
    cell.resolved()


def test_a_gradient_of_one_point_only_is_batched_pointwise():
    p = make_problem("rosenbrock")
    one = p.full_grad
    p.full_grad = lambda w: one(np.array([float(w[0]), float(w[1])]))  # refuses a batch
    G, mode = batched_gradient(p)
    assert mode == "pointwise"
    W = np.array([[[0.5, 1.0], [-1.0, 2.0]]])
    np.testing.assert_array_equal(G(W)[0, 1], one(np.array([-1.0, 2.0])))
    assert batched_gradient(make_problem("quadratic"))[1] == "columns"
    assert batched_gradient(make_problem("notes-ls"))[1] == "affine"


def test_fit_of_geometric_and_oscillating_errors():
    k = np.arange(301)[:, None]
    r = np.array([0.5, 0.9, 0.99])
    exact = r[None, :] ** k
    rate, blown = fit_rates(exact)
    np.testing.assert_allclose(rate, r, rtol=1e-12)
    assert not blown.any()
    # an oscillating error (a complex pair): the envelope, not the zero crossings, is fitted
    osc = exact * np.abs(np.cos(0.7 * k + 0.3)) + 1e-300
    rate, _ = fit_rates(osc)
    np.testing.assert_allclose(rate, r, rtol=2e-2)
    grow = np.concatenate([1.5 ** k[:, :1], np.full((301, 1), np.nan)], axis=1)
    rate, blown = fit_rates(grow)
    assert blown.tolist() == [True, True] and np.isnan(rate).all()


def test_non_quadratic_or_adaptive_has_no_prediction_but_a_measurement():
    for s in (Settings("rosenbrock", "momentum", rule_params={"lr": 1e-4}),
              Settings("quadratic", "rmsprop", rule_params={"lr": 1e-2})):
        m = compute(s, size=4, steps=50)
        assert m.predicted is None and m.converging("predicted") is None and m.optimum("predicted") is None
        assert np.isfinite(m.measured).any()


def test_ranges_and_their_errors():
    s = quad("momentum")
    g = grid_for(s, 5, "1e-3:1e-1", "0.1:0.9")
    np.testing.assert_allclose(g.lr, [1e-3, 10**-2.5, 1e-2, 10**-1.5, 1e-1], rtol=1e-12)
    np.testing.assert_allclose(g.beta, [0.1, 0.3, 0.5, 0.7, 0.9], rtol=1e-12)
    for lr, beta, words in (("1:0.1", None, "LO must be below HI"), ("x", None, "expected LO:HI"),
                            ("0:1", None, "lr"), (None, "0:1", "beta must be in"),
                            (None, "0.2", "expected LO:HI")):
        with pytest.raises(ParamError, match=words):
            grid_for(s, 5, lr, beta)
    with pytest.raises(ParamError, match="has no beta"):
        grid_for(quad("gd"), 5, None, "0:0.5")
    # the default axis holds the current setting
    g = grid_for(quad("momentum", beta=0.995, lr=1e-6), 8)
    assert g.lr[0] <= 1e-6 and g.beta[-1] >= 0.995
    with pytest.raises(ParamError, match="too large"):
        RateMapJob(s, grid_for(s, 256), 1000)
