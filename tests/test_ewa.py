"""Exponentially weighted averages: the note's identities, streaming against series, 2-D columns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from descent_engine.ewa import EwaState, ewa, seasonal_series, weights, window

PROP = settings(max_examples=50, deadline=None)
betas = st.floats(0.0, 0.999)


@PROP
@given(c=st.floats(-1e6, 1e6), beta=betas, n=st.integers(1, 200))
def test_bias_corrected_ewa_of_a_constant_is_that_constant(c, beta, n):
    out = ewa(np.full(n, c), beta, bias_correction=True)
    np.testing.assert_allclose(out, c, rtol=1e-9 * n, atol=1e-300)


@PROP
@given(c=st.floats(0.1, 1e3), beta=st.floats(0.5, 0.99), n=st.integers(1, 50))
def test_uncorrected_ewa_of_a_constant_is_biased_towards_zero(c, beta, n):
    out = ewa(np.full(n, c), beta)
    t = np.arange(1, n + 1)
    np.testing.assert_allclose(out, c * (1 - beta**t), rtol=1e-12)
    assert np.all(out < c)


def test_first_values_by_hand():
    # beta 0.9: v1 = 0.1 * 10 = 1, v2 = 0.9 + 0.1 * 20 = 2.9; corrected 1 / 0.1 = 10, 2.9 / 0.19
    np.testing.assert_allclose(ewa([10.0, 20.0], 0.9), [1.0, 2.9], rtol=1e-15)
    np.testing.assert_allclose(ewa([10.0, 20.0], 0.9, bias_correction=True), [10.0, 2.9 / 0.19], rtol=1e-15)


@PROP
@given(theta=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60), beta=betas)
def test_closed_form_equals_the_recurrence(theta, beta):
    """The note's v_t = sum_i (1 - beta) beta^(t - i) theta_i (with v_0 = 0)."""
    theta = np.array(theta)
    out = ewa(theta, beta)
    for t in range(1, theta.size + 1):
        i = np.arange(1, t + 1)
        closed = np.sum((1 - beta) * beta ** (t - i) * theta[:t])
        assert out[t - 1] == pytest.approx(closed, rel=1e-9, abs=1e-9 * (1 + np.abs(theta).max()))
    np.testing.assert_allclose(weights(beta, theta.size) @ theta, out[-1], rtol=1e-9,
                               atol=1e-9 * (1 + np.abs(theta).max()))


@PROP
@given(beta=betas, t=st.integers(1, 500))
def test_weights_sum_to_one_minus_beta_to_the_t(beta, t):
    w = weights(beta, t)
    assert w.shape == (t,)
    assert w.sum() == pytest.approx(1 - beta**t, rel=1e-9, abs=1e-15)
    assert w[-1] == pytest.approx(1 - beta, rel=1e-15)  # the newest sample weighs (1 - beta)
    assert np.all(np.diff(w) >= 0)  # older samples weigh less


def test_v0_term_of_the_closed_form():
    theta = np.array([3.0, -1.0, 4.0])
    beta, v0 = 0.7, 5.0
    closed = beta**3 * v0 + weights(beta, 3) @ theta
    assert ewa(theta, beta, v0=v0)[-1] == pytest.approx(closed, rel=1e-14)


def test_window_is_one_over_one_minus_beta():
    assert window(0.9) == pytest.approx(10.0)
    assert window(0.98) == pytest.approx(50.0)
    assert window(0.5) == pytest.approx(2.0)
    assert window(1.0) == math.inf


def test_weight_one_window_back_tends_to_one_over_e():
    """(1 - eps)^(1/eps) -> 1/e: the weight 1/(1 - beta) steps back, relative to the newest one."""
    errors = []
    for n in (10, 100, 1000, 10000):
        beta = 1 - 1 / n
        w = weights(beta, 3 * n)
        ratio = w[-1 - n] / w[-1]
        assert ratio == pytest.approx(beta**n, rel=1e-9)
        errors.append(abs(ratio - 1 / math.e))
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 1e-4
    assert abs(weights(0.9, 30)[-11] / weights(0.9, 30)[-1] - 0.9**10) < 1e-12  # the note's 0.9 -> ~1/3
    assert 0.3 < 0.9**10 < 0.37


@PROP
@given(theta=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60), beta=betas)
def test_streaming_state_equals_the_series_version(theta, beta):
    s = EwaState()
    assert math.isnan(s.corrected(beta))
    plain, corrected = [], []
    for x in theta:
        s = s.update(x, beta)
        plain.append(s.v)
        corrected.append(s.corrected(beta))
    assert s.t == len(theta)
    assert np.array_equal(np.array(plain), ewa(theta, beta))
    np.testing.assert_allclose(corrected, ewa(theta, beta, bias_correction=True), rtol=1e-15, atol=0)


def test_two_dimensional_series_is_averaged_column_by_column():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 3))
    for bc in (False, True):
        out = ewa(x, 0.8, bias_correction=bc)
        assert out.shape == x.shape
        for j in range(3):
            np.testing.assert_allclose(out[:, j], ewa(x[:, j], 0.8, bias_correction=bc), rtol=1e-15, atol=0)


def test_ewa_does_not_modify_its_input():
    x = np.arange(10.0)
    before = x.copy()
    ewa(x, 0.9, bias_correction=True)
    assert np.array_equal(x, before)


def test_seasonal_series_is_deterministic_and_temperature_like():
    a, b = seasonal_series(365, seed=1), seasonal_series(365, seed=1)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, seasonal_series(365, seed=2))
    assert a.shape == (365,)
    # a yearly cycle: cold in January, warm in July (smoothed by a 30-day EWA)
    smooth = ewa(a, 1 - 1 / 30, bias_correction=True)
    assert smooth[200] > smooth[40] + 10
