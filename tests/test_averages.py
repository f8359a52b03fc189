"""The one EWA and bias correction (descent_engine.averages) and everything that averages with it.

Worked numbers use dyadic betas (0.5, 0.75), for which every operation is exact, so they are
compared with ``==``. The streaming and series forms must agree bit for bit (issue 7: they used
two different powers, ``beta ** int`` and NumPy's ``beta ** float_array``).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from descent_engine.averages import EwaState, bias_correct, bias_correction, update_moment
from descent_engine.ewa import ewa
from descent_engine.run import Settings

PROP = settings(max_examples=60, deadline=None)
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
betas = st.floats(0.0, 0.9999)


# ---------------------------------------------------------------------------------------------
# worked numbers
def test_update_moment_worked_numbers():
    assert update_moment(8.0, 4.0, 0.75) == 7.0  # 6 + 1
    assert update_moment(0.0, 10.0, 0.5) == 5.0
    np.testing.assert_array_equal(update_moment(np.array([8.0, 0.0]), np.array([4.0, 10.0]), 0.75),
                                  [7.0, 2.5])


def test_bias_correction_worked_numbers():
    assert bias_correction(0.5, 3) == 0.875  # 1 - 1/8
    assert bias_correction(0.75, 2) == 1 - 0.5625
    np.testing.assert_array_equal(bias_correction(0.5, np.array([1, 2, 3])), [0.5, 0.75, 0.875])
    assert bias_correct(7.0, 0.5, 1) == 14.0
    assert isinstance(bias_correction(0.5, 3), float)
    assert isinstance(bias_correction(0.5, np.arange(1, 4)), np.ndarray)


def test_the_notes_two_day_example():
    # v1 = 0.1 * 10 = 1, v2 = 0.9 * 1 + 0.1 * 20 = 2.9; corrected by 1 - 0.9 and 1 - 0.81.
    # 0.9 and 0.1 are not dyadic: a few roundings of 2^-53 each, so rtol 1e-15 holds.
    np.testing.assert_allclose(ewa([10.0, 20.0], 0.9), [1.0, 2.9], rtol=1e-15)
    np.testing.assert_allclose(ewa([10.0, 20.0], 0.9, bias_correction=True), [10.0, 2.9 / 0.19], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# one computation everywhere
@PROP
@given(beta=betas, ts=st.lists(st.integers(0, 100_000), min_size=1, max_size=30))
def test_bias_correction_of_an_array_is_the_scalar_one_elementwise(beta, ts):
    arr = bias_correction(beta, np.array(ts))
    scalars = np.array([bias_correction(beta, t) for t in ts])
    np.testing.assert_array_equal(arr, scalars)
    # and the scalar one is the textbook 1 - beta**t of Python floats (the reference rules' formula)
    np.testing.assert_array_equal(scalars, np.array([1 - beta**t for t in ts]))


@PROP
@given(beta=betas, data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
def test_update_moment_out_form_equals_the_pure_form_bit_for_bit(beta, data, dtype):
    n = data.draw(st.integers(1, 8))
    avg = np.array(data.draw(st.lists(finite, min_size=n, max_size=n)), dtype=dtype)
    x = np.array(data.draw(st.lists(finite, min_size=n, max_size=n)), dtype=dtype)
    pure = update_moment(avg, x, beta)
    # out into avg itself, scratch into x itself: the in-place path's aliasing
    a, xx = avg.copy(), x.copy()
    got = update_moment(a, xx, beta, out=a, scratch=xx)
    assert got is a and got.dtype == dtype
    np.testing.assert_array_equal(got, pure)
    # out elsewhere, no scratch
    out = np.empty_like(avg)
    np.testing.assert_array_equal(update_moment(avg, x, beta, out=out), pure)


@PROP
@given(theta=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=400), beta=betas)
@example(theta=[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0], beta=0.999)  # issue 7's failing case
def test_streaming_state_equals_the_series_bit_for_bit(theta, beta):
    s = EwaState()
    plain, corrected = [], []
    for x in theta:
        s = s.update(x, beta)
        plain.append(s.v)
        corrected.append(s.corrected(beta))
    np.testing.assert_array_equal(np.array(plain), ewa(theta, beta))
    np.testing.assert_array_equal(np.array(corrected), ewa(theta, beta, bias_correction=True))


@PROP
@given(beta=betas, data=st.data())
def test_series_columns_are_each_the_one_dimensional_series(beta, data):
    t = data.draw(st.integers(1, 50))
    x = np.array(data.draw(st.lists(st.lists(finite, min_size=3, max_size=3), min_size=t, max_size=t)))
    for bc in (False, True):
        out = ewa(x, beta, bias_correction=bc)
        for j in range(3):
            np.testing.assert_array_equal(out[:, j], ewa(x[:, j], beta, bias_correction=bc))


def test_state_before_any_sample_has_no_corrected_value():
    assert np.isnan(EwaState().corrected(0.9))


# ---------------------------------------------------------------------------------------------
# the callers: the lab's trace and the rules' own averages
def test_the_labs_ewa_trace_is_the_series_ewa_of_the_gradient():
    from tui.lab.model import Trace

    tr = Trace(Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4}))
    tr.step(300)
    d = tr.data()
    g0 = d.grad[:, 0]
    assert d.ewa_beta == 0.4 and g0.shape[0] == 301
    np.testing.assert_array_equal(d.ewa_step, d.step)
    np.testing.assert_array_equal(d.ewa, ewa(g0, 0.4))
    np.testing.assert_array_equal(d.ewa_corrected, ewa(g0, 0.4, bias_correction=True))


@pytest.mark.parametrize("name,values,beta_name,average", [
    ("momentum", {"init": "zero", "bias_correction": True, "beta": 0.75}, "beta", "v"),
    ("rmsprop", {"decay_rate": 0.75}, "decay_rate", "cache"),
    ("adam", {"beta1": 0.75}, "beta1", "m"),
])
def test_the_rules_running_averages_are_the_series_ewa(name, values, beta_name, average):
    """Momentum's v, RMSProp's cache (of g^2), Adam's m: the EWA of what each averages."""
    from descent_engine.rules import get_rule

    rule = get_rule(name)
    hp = rule.hparams(values)
    rng = np.random.default_rng(3)
    w = rng.normal(size=2)
    state = rule.init(w, hp)
    gs, avgs = [], []
    for _ in range(20):
        g = rng.normal(size=2)
        delta, state = rule.update(g, state, 1e-2, hp, w)
        w = w + delta
        gs.append(g * g if name == "rmsprop" else g)
        avgs.append(copy.deepcopy(state[average]))
    np.testing.assert_array_equal(np.array(avgs), ewa(np.array(gs), hp[beta_name]))
