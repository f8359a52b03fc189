"""The gradient noise scale's estimators against closed forms.

Linear least squares, per-example loss 0.5 (x^T w - y)^2 with x ~ N(0, I_d), y = x^T w* + s e,
e ~ N(0, 1). With r = w - w*, one example's gradient is g = x x^T r - s e x, so
  G = E g = E[x x^T] r = r,
  E g g^T = E[x x^T r r^T x x^T] + s^2 E[x x^T] = (2 r r^T + |r|^2 I) + s^2 I   (Isserlis, A = r r^T),
  Sigma = E g g^T - G G^T = r r^T + (|r|^2 + s^2) I,   tr Sigma = (d + 1) |r|^2 + d s^2,
  B_noise = (d + 1) + d s^2 / |r|^2.
The estimators are unbiased, so their means over many draws must sit within a few standard
errors of these (5 SE: a false failure has probability ~6e-7 for any seed, by the CLT).
"""

from __future__ import annotations

import numpy as np
import pytest

from descent_engine.network import FullyConnectedNet
from descent_engine.network.noise import NoiseEWA, NoiseResult, model_grad_fn, noise_scale

D, S = 5, 0.7


def problem(seed):
    rng = np.random.default_rng(seed)
    w_true = rng.standard_normal(D)
    r = rng.standard_normal(D) * 0.5
    return rng, w_true, w_true + r, r


def per_example_grads(rng, w_true, w, m):
    x = rng.standard_normal((m, D))
    yv = x @ w_true + S * rng.standard_normal(m)
    return x * (x @ w - yv)[:, None]


def close(est, truth, se):
    return abs(est - truth) <= 5 * se


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_forms_of_the_least_squares_problem(seed):
    # the test's own truth, checked by brute force: 200,000 examples' gradients
    rng, w_true, w, r = problem(seed)
    g = per_example_grads(rng, w_true, w, 200_000)
    mean_se = g.std(axis=0, ddof=1) / np.sqrt(len(g))
    assert np.all(np.abs(g.mean(axis=0) - r) <= 5 * mean_se)
    sq = ((g - r) ** 2).sum(axis=1)  # E sq = tr Sigma, exactly, since G = r is known
    assert close(sq.mean(), (D + 1) * r @ r + D * S**2, sq.std(ddof=1) / np.sqrt(len(sq)))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_estimators_are_unbiased_on_fresh_data(seed):
    rng, w_true, w, r = problem(seed)
    # infinite data: every call draws fresh examples, one per index
    grad_fn = lambda idx: per_example_grads(rng, w_true, w, len(idx)).mean(axis=0)  # noqa: E731
    res = noise_scale(grad_fn, 10**6, seed, b_small=4, b_big=32, draws=2000)
    g2, tr = r @ r, (D + 1) * r @ r + D * S**2
    assert close(res.g2, g2, res.g2_se) and close(res.trace_sigma, tr, res.trace_sigma_se)
    # the ratio: consistent, its spread from the two relative standard errors (delta method)
    rel = np.hypot(res.g2_se / res.g2, res.trace_sigma_se / res.trace_sigma)
    assert abs(res.b_noise / (tr / g2) - 1) <= 5 * rel + 5 * rel**2
    assert (res.b_small, res.b_big, res.draws, res.examples) == (4, 32, 2000, 2000 * 36)


@pytest.mark.parametrize("seed", [0, 1])
def test_estimators_are_unbiased_on_a_finite_set(seed):
    # n fixed examples, batches drawn with replacement: G and Sigma are the set's own, exactly
    rng, w_true, w, r = problem(seed)
    table = per_example_grads(rng, w_true, w, 50)
    G = table.mean(axis=0)
    tr = ((table - G) ** 2).sum(axis=1).mean()  # population covariance (divide by n)
    res = noise_scale(lambda idx: table[idx].mean(axis=0), 50, seed + 10, b_small=2, b_big=10, draws=3000)
    assert close(res.g2, G @ G, res.g2_se) and close(res.trace_sigma, tr, res.trace_sigma_se)


def test_model_grad_fn_on_the_network():
    rng = np.random.default_rng(0)
    model = FullyConnectedNet([6], 4, 3, weight_scale=0.5, reg=0.05, dtype="float64", rng=0)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 3, 40)
    fn = model_grad_fn(model, X, y)
    idx = np.array([3, 3, 17, 0])
    _, grads = model.loss(X[idx], y[idx])
    assert np.array_equal(fn(idx), np.concatenate([grads[k].ravel() for k in model.params]))
    table = np.stack([fn(np.array([i])) for i in range(40)])  # one example's gradient each (reg included)
    G = table.mean(axis=0)
    tr = ((table - G) ** 2).sum(axis=1).mean()
    res = noise_scale(fn, 40, 1, b_small=2, b_big=8, draws=1500)
    assert close(res.g2, G @ G, res.g2_se) and close(res.trace_sigma, tr, res.trace_sigma_se)


def test_bad_batch_sizes_are_refused():
    with pytest.raises(ValueError):
        noise_scale(lambda i: np.zeros(2), 10, 0, b_small=8, b_big=8)
    with pytest.raises(ValueError):
        noise_scale(lambda i: np.zeros(2), 10, 0, b_small=0, b_big=8)


def test_noise_ewa_worked_numbers():
    ewa = NoiseEWA(beta=0.5)
    assert np.isnan(ewa.b_noise)
    mk = lambda tr, g2: NoiseResult(tr / g2, tr, g2, 0.0, 0.0, 1, 2, 1, 3)  # noqa: E731
    assert ewa.update(mk(10.0, 2.0)) == pytest.approx(5.0)  # bias-corrected: the first value itself
    # tr: (0.25*10 + 0.5*30) / 0.75 = 70/3; g2: (0.25*2 + 0.5*4) / 0.75 = 10/3; ratio 7
    assert ewa.update(mk(30.0, 4.0)) == pytest.approx(7.0)
    assert ewa.trace_sigma == pytest.approx(70 / 3) and ewa.g2 == pytest.approx(10 / 3)
