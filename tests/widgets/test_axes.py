"""Tick positions and labels (tui.widgets.plot.axes), checked against worked numbers."""

from __future__ import annotations

import math

import numpy as np

from hypothesis import assume, given
from hypothesis import strategies as st

from tui.widgets.plot.axes import is_integer_axis, tick_labels, ticks


def test_large_values_get_short_scientific_labels():
    assert ticks(0, 1e13, 3) == ([0.0, 5e12, 1e13], ["0", "5e12", "1e13"])
    values, labels = ticks(-1.5e12, 0, 4)
    assert labels == ["-1.5e12", "-1e12", "-5e11", "0"]
    assert values == [-1.5e12, -1e12, -5e11, 0.0]


def test_plain_numbers_stay_plain():
    assert ticks(0, 2500, 6)[1] == ["0", "500", "1000", "1500", "2000", "2500"]
    assert ticks(0, 1, 3)[1] == ["0", "0.5", "1"]
    assert ticks(0, 100, 3)[1] == ["0", "50", "100"]
    assert tick_labels([0.0, 0.25, 0.5], 0.25) == ["0", "0.25", "0.5"]


def test_small_values_switch_to_scientific_past_six_characters():
    # 0.00025 would take 7 characters: the whole axis goes scientific, digits from the step
    assert ticks(0, 2.5e-4, 6)[1] == ["0", "5e-5", "1e-4", "1.5e-4", "2e-4", "2.5e-4"]
    assert ticks(0, 5e-4, 6)[1] == ["0", "0.0001", "0.0002", "0.0003", "0.0004", "0.0005"]


def test_integer_axis_ticks_at_whole_numbers():
    # plotext today: 0, 52.5, 104.9, 157.3, 209.8 and 0, 0.9, 1.8, 2.7, 3.6
    assert ticks(0, 209.8, 5, integer=True)[1] == ["0", "50", "100", "150", "200"]
    assert ticks(0, 3.6, 6, integer=True) == ([0.0, 1.0, 2.0, 3.0], ["0", "1", "2", "3"])
    # a short range: one tick per whole number, never "1, 1, 2, 2"
    assert ticks(1, 3, 6, integer=True)[1] == ["1", "2", "3"]
    # shorter than one: its lower end, as it is
    assert ticks(0.25, 0.75, 5, integer=True) == ([0.25], ["0.25"])


def test_integer_axes_are_named_by_a_count():
    for label in ("step", "iteration", "epoch", "day", "days back k"):
        assert is_integer_axis(label), label
    for label in ("", "°C", "w0", "loss"):
        assert not is_integer_axis(label), label


@given(lo=st.floats(-1e12, 1e12), span=st.floats(1e-6, 1e12), n=st.integers(2, 8), integer=st.booleans())
def test_ticks_are_inside_distinct_round_and_short(lo, span, n, integer):
    hi = lo + span
    assume(hi > lo and span >= 1e-3 * max(abs(lo), abs(hi)))  # an axis that spans its own magnitude
    values, labels = ticks(lo, hi, n, integer)
    assert values and len(values) == len(labels)
    assert all(lo <= v <= hi for v in values)
    assert len(set(labels)) == len(labels)
    assert len(values) <= 2 * n - 1  # at most n, or twice as dense on an axis too short for two
    # a label reads back as its tick: exact multiples of the step, printed with the digits the step
    # needs, so the only error is float rounding and the clamp into [lo, hi] (both under 1e-9 of a step)
    if len(values) == 1 and integer and not float(values[0]).is_integer():
        return  # no whole number inside: the lower end in three digits (tested above)
    for v, label in zip(values, labels):
        assert math.isclose(float(label), v, rel_tol=1e-9, abs_tol=1e-9 * max(span, float(integer))), (v, label)
    if integer and len(values) > 1:
        assert all(abs(v - round(v)) <= 1e-9 * span for v in values)  # clamped into [lo, hi] at most
    # short: at most 6 characters plain; scientific with a sign and two exponent digits at most 9
    assert all(len(label) <= 9 for label in labels), labels


def test_data_limits_of_one_value_are_ordered():
    from tui.widgets.plot import data_limits

    assert data_limits([np.array([-2.0, -2.0])]) == (-3.0, -1.0)
    assert data_limits([np.array([4.0, np.nan])]) == (2.0, 6.0)
    assert data_limits([np.array([np.inf])]) == (-1.0, 1.0)
