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

# -- round-off bounds for the property tests ----------------------------------------------------
# EPS is one ulp of 1.0 (2^-52): a correctly rounded +, -, *, / errs by at most EPS/2 relative, and
# libm's pow by at most 1 ulp (EPS relative). Every bound below is a worst case derived from the
# operations performed, times a safety factor of 2; none is a fitted constant.
EPS = np.finfo(float).eps
#: absolute slack for gradual underflow: a result in the subnormal range may lose up to 2^-1074
#: absolute per operation; a few hundred operations, amplified at most 1000-fold by 1/(1 - beta^t),
#: stay below 1e-316. 1e-300 is far below any normal value the strategies draw.
TINY = 1e-300


def window_or_t(t, beta):
    """min(t, 1/(1 - beta)) = an upper bound of sum_{j<t} beta^j, the sum of the contraction
    factors a rounding error made j steps ago is multiplied by in v_t = beta v + (1 - beta) theta."""
    return np.minimum(t, np.inf if beta >= 1 else 1 / (1 - beta))


def denominator_amplification(t, beta):
    """q_t = beta^t / (1 - beta^t): the relative error of 1 - fl(beta^t) per unit relative error of
    beta^t (the cancellation in the bias correction: 999 for t = 1, beta = 0.999)."""
    p = np.power(beta, np.asarray(t, dtype=float))
    return p / (1 - p)


def constant_rtol(t, beta):
    """Relative error bound of v_t / (1 - beta^t) against c, and of v_t against c (1 - beta^t) when
    the test computes that product itself, for the EWA of a constant c.

    The recurrence: at step j the three roundings (beta v, (1 - beta) c, their sum) each err by
    EPS/2 of a quantity at most |c| (1 - beta^j), so r_j <= EPS |c| (1 - beta^j) <= EPS |c| (1 - beta^t);
    it contracts by beta per step: |v_t error| <= EPS |c| (1 - beta^t) min(t, 1/(1 - beta)), plus EPS/2
    for 1 - beta itself. The denominator: fl(beta^t) errs by EPS beta^t, so 1 - beta^t errs by
    EPS q_t relative (+ EPS/2 for the subtraction), and the division adds EPS/2.
    """
    return 2 * EPS * (window_or_t(t, beta) + denominator_amplification(t, beta) + 1.5)


def series_atol(t, beta, m):
    """Absolute bound of |recurrence - closed form| for values bounded by m, after t samples.

    The recurrence: r_j <= EPS m per step (three roundings of EPS/2 of quantities <= m), contracted
    by beta: EPS m min(t, 1/(1 - beta)), plus EPS/2 m for 1 - beta. The closed form sum_i
    (1 - beta) beta^(t-i) theta_i: each term errs by <= 2.5 EPS (pow 1 ulp, three roundings), and
    t - 1 additions in any order err by <= (t - 1) EPS/2 of sum |terms| <= m.
    """
    return 2 * EPS * m * (window_or_t(t, beta) + 0.5 + 2.5 + (t - 1) / 2) + TINY


def assert_corrected_constant(out, c, beta):
    t = np.arange(1, len(out) + 1)
    assert np.all(np.abs(out - c) <= constant_rtol(t, beta) * abs(c) + TINY), (out, c, beta)


@PROP
@given(c=st.floats(-1e6, 1e6), beta=betas, n=st.integers(1, 200))
def test_bias_corrected_ewa_of_a_constant_is_that_constant(c, beta, n):
    assert_corrected_constant(ewa(np.full(n, c), beta, bias_correction=True), c, beta)


@PROP
@given(c=st.floats(0.1, 1e3), beta=st.floats(0.5, 0.99), n=st.integers(1, 50))
def test_uncorrected_ewa_of_a_constant_is_biased_towards_zero(c, beta, n):
    out = ewa(np.full(n, c), beta)
    t = np.arange(1, n + 1)
    rtol = constant_rtol(t, beta)  # the test's own c * (1 - beta^t) has the denominator's error
    assert np.all(np.abs(out - c * (1 - beta**t)) <= rtol * c)
    # below c by c beta^t: strictly, wherever that gap is larger than the round-off
    strict = beta**t > 2 * rtol
    assert np.all(out[strict] < c) and np.all(out <= c * (1 + rtol))


def test_the_property_tolerances_catch_real_bugs():
    """The bounds above are tight enough that an off-by-one t or a missing factor fails them."""
    assert constant_rtol(1, 0.999) < 1e-12 and constant_rtol(200, 0.999) < 1e-12  # the worst cases drawn
    c, beta = 3.0, 0.9
    v = ewa(np.full(40, c), beta)
    t = np.arange(1, 41)
    assert_corrected_constant(v / (1 - beta**t), c, beta)  # the right correction passes
    for bad in (v / (1 - beta ** (t + 1)), v / (1 - beta ** np.maximum(t - 1, 0.5)), v, v / (1 - beta)):
        with pytest.raises(AssertionError):
            assert_corrected_constant(bad, c, beta)
    theta = np.array([3.0, -1.0, 4.0, 1.0, -5.0])
    m, out = np.abs(theta).max(), ewa(theta, beta)
    right = weights(beta, 5) @ theta
    assert abs(out[-1] - right) <= series_atol(5, beta, m)
    for bad in (beta * right, right / (1 - beta), right + (1 - beta) * theta[-1] * 1e-9):
        assert abs(out[-1] - bad) > series_atol(5, beta, m)


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
    m = np.abs(theta).max()
    for t in range(1, theta.size + 1):
        i = np.arange(1, t + 1)
        closed = np.sum((1 - beta) * beta ** (t - i) * theta[:t])
        assert abs(out[t - 1] - closed) <= series_atol(t, beta, m)
    # weights() is the same closed form (a dot product: the same bound for any summation order)
    assert abs(weights(beta, theta.size) @ theta - out[-1]) <= series_atol(theta.size, beta, m)


@PROP
@given(beta=betas, t=st.integers(1, 500))
def test_weights_sum_to_one_minus_beta_to_the_t(beta, t):
    w = weights(beta, t)
    assert w.shape == (t,)
    # each weight errs by <= 2 EPS (1 ulp pow, two roundings), the t - 1 additions by (t - 1) EPS/2 of
    # the sum s = 1 - beta^t; the test's 1 - fl(beta^t) errs by EPS beta^t + EPS/2 s (safety factor 2)
    s = 1 - beta**t
    assert abs(w.sum() - s) <= 2 * EPS * (s * (2.5 + (t - 1) / 2) + beta**t)
    assert w[-1] == 1 - beta  # the newest sample weighs (1 - beta) beta^0: the same one rounding
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
    assert np.array_equal(np.array(plain), ewa(theta, beta))  # the same operations in the same order
    # Both divide the same v_t by 1 - beta^t. If beta^t is computed two ways (each within 1 ulp),
    # the two denominators differ by <= 2 EPS q_t + EPS relative, the two divisions by EPS: so the
    # bound is 2 EPS (q_t + 1), times 2. (Computed once for both, the difference is 0.)
    t = np.arange(1, len(theta) + 1)
    series = ewa(theta, beta, bias_correction=True)
    rtol = 4 * EPS * (denominator_amplification(t, beta) + 1)
    assert np.all(np.abs(np.array(corrected) - series) <= rtol * np.abs(series) + TINY)
    # and against the closed form, computed apart: (sum_i (1 - beta) beta^(t-i) theta_i) / (1 - beta^t)
    m = np.abs(theta).max()
    closed = weights(beta, len(theta)) @ np.array(theta)
    bound = (series_atol(len(theta), beta, m) / (1 - beta ** len(theta))
             + constant_rtol(len(theta), beta) * abs(closed / (1 - beta ** len(theta))))
    assert abs(corrected[-1] - closed / (1 - beta ** len(theta))) <= bound


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
