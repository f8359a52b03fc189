"""The hyper-parameter registry: parse/validate accept exactly the stated range, nudge stays in it."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from descent_engine.params import Param, ParamError, ParamSet, format_value
from descent_engine.problems import PROBLEMS
from descent_engine.rules import RULES
from descent_engine.schedules import SCHEDULES

ALL_PARAMS = {
    f"{kind}:{owner}:{p.name}": p
    for kind, registry in (("rule", RULES), ("schedule", SCHEDULES), ("problem", PROBLEMS))
    for owner, item in registry.items()
    for p in item.params
}
NUMERIC = {key: p for key, p in ALL_PARAMS.items() if p.kind in ("float", "int")}
PROP = settings(max_examples=30, deadline=None)


def one_line_error(fn, *args):
    with pytest.raises(ParamError) as info:
        fn(*args)
    message = str(info.value)
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize("key", sorted(ALL_PARAMS))
def test_every_default_is_valid_and_its_text_reads_back(key):
    p = ALL_PARAMS[key]
    assert p.validate(p.default) == p.default
    assert p.parse(p.default_text()) == p.default  # what --list shows is what you get
    assert p.help and p.flag == "--" + p.name.replace("_", "-")
    assert p.scale in ("log", "linear")


def in_range(p: Param):
    if p.kind == "int":
        lo = int(p.low) + (1 if p.low_open else 0) if p.low is not None else -10**6
        hi = int(p.high) - (1 if p.high_open else 0) if p.high is not None else 10**6
        return st.integers(lo, hi)
    lo = p.low if p.low is not None else -1e9
    hi = p.high if p.high is not None else 1e9
    return st.floats(lo, hi, exclude_min=p.low_open, exclude_max=p.high_open)


def out_of_range(p: Param):
    options = []
    if p.low is not None:
        options.append(st.floats(-1e9, p.low, exclude_max=not p.low_open).filter(lambda v: v < p.low or p.low_open))
    if p.high is not None:
        options.append(st.floats(p.high, 1e12, exclude_min=not p.high_open))
    return st.one_of(*options)


@PROP
@given(data=st.data(), key=st.sampled_from(sorted(NUMERIC)))
def test_in_range_values_are_accepted(data, key):
    p = NUMERIC[key]
    value = data.draw(in_range(p))
    assert p.validate(value) == value
    text = repr(value) if p.kind == "float" else str(value)
    assert p.parse(text) == value
    assert p.parse(f"  {text} ") == value


@PROP
@given(data=st.data(), key=st.sampled_from(sorted(k for k, p in NUMERIC.items() if p.low is not None or p.high is not None)))
def test_out_of_range_values_are_rejected_with_one_line(data, key):
    p = NUMERIC[key]
    value = data.draw(out_of_range(p))
    if p.kind == "int":
        value = math.floor(value) if p.low is not None and value < p.low else math.ceil(value)
        assume((p.low is not None and (value < p.low or (p.low_open and value == p.low)))
               or (p.high is not None and (value > p.high or (p.high_open and value == p.high))))
    message = one_line_error(p.validate, value)
    assert p.name in message
    one_line_error(p.parse, repr(value))


@pytest.mark.parametrize("key", sorted(NUMERIC))
def test_open_ends_are_excluded_and_closed_ends_included(key):
    p = NUMERIC[key]
    for end, is_open in ((p.low, p.low_open), (p.high, p.high_open)):
        if end is None:
            continue
        if is_open:
            one_line_error(p.validate, end)
        else:
            assert p.validate(end) == end


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "abc", "", "1,2"])
def test_non_numbers_are_rejected(text):
    for p in (RULES["gd"].params.get("lr"), RULES["momentum"].params.get("beta")):
        one_line_error(p.parse, text)


def test_the_issues_bad_inputs():
    lr, beta = RULES["gd"].params.get("lr"), RULES["momentum"].params.get("beta")
    for bad in ("0", "-1e-3"):
        assert "lr" in one_line_error(lr.parse, bad)
    for bad in ("1", "1.0", "-0.1", "2"):
        assert "beta" in one_line_error(beta.parse, bad)
    assert beta.parse("0") == 0.0 and beta.parse("0.999") == 0.999


def test_int_parsing():
    p = SCHEDULES["cosine"].params.get("period")
    assert p.parse("100") == 100 and p.parse("1e3") == 1000 and p.parse("50.0") == 50
    assert isinstance(p.parse("1e3"), int)
    one_line_error(p.parse, "2.5")
    one_line_error(p.parse, "0")


def test_bool_and_choice_parsing():
    bc = RULES["momentum"].params.get("bias_correction")
    for text in ("on", "true", "1", "yes", "ON"):
        assert bc.parse(text) is True
    for text in ("off", "false", "0", "no"):
        assert bc.parse(text) is False
    one_line_error(bc.parse, "maybe")
    init = RULES["momentum"].params.get("init")
    assert init.parse("zero") == "zero"
    assert "first" in one_line_error(init.parse, "random")


def test_list_parameters():
    ms = SCHEDULES["staircase"].params.get("milestones")
    fs = SCHEDULES["staircase"].params.get("factors")
    assert ms.parse("10,20,30") == (10, 20, 30)
    assert fs.parse("0.5, 0.25") == (0.5, 0.25)
    assert ms.validate(5) == (5,)
    one_line_error(ms.parse, "10,x")
    # an out-of-range element is a ParamError naming the element, like any other bad value
    assert "1.5" in one_line_error(fs.parse, "0.5,1.5")
    assert "-3" in one_line_error(ms.parse, "-3")
    assert "0" in one_line_error(ms.parse, "0")


@PROP
@given(data=st.data(), key=st.sampled_from(sorted(NUMERIC)), direction=st.sampled_from([-1, 1]))
def test_nudge_stays_in_range_and_moves_the_right_way(data, key, direction):
    p = NUMERIC[key]
    value = data.draw(in_range(p))
    new = p.nudge(value, direction)
    assert p.validate(new) == new  # in range, and of the right type
    if p.kind == "int":
        assert isinstance(new, int)
    span = (p.high - p.low) if p.low is not None and p.high is not None else 1.0
    # Param.clamp's stated rule: a value pushed onto or past an open end is put back at span * 1e-4
    # (1 for an int) inside it, which is the wrong way for a value already closer than that
    guard = 1 if p.kind == "int" else span * 1e-4
    near_open_end = (p.high_open and value >= p.high - guard) or (p.low_open and value <= p.low + guard)
    # (the 12-decimal tidying of betas is used only when it still moves the right way: no allowance)
    if not near_open_end:  # elsewhere a nudge never goes the wrong way
        assert (new - value) * direction >= 0


def test_nudge_examples():
    beta = RULES["momentum"].params.get("beta")
    assert beta.nudge(0.9, +1) == pytest.approx(0.95)
    assert beta.nudge(0.95, +1) == pytest.approx(0.975)
    assert beta.nudge(0.9, -1) == pytest.approx(0.8)
    assert beta.nudge(0.0, -1) == 0.0
    assert 0.999 < beta.nudge(0.9999, +1) < 1.0
    lr = RULES["gd"].params.get("lr")
    assert lr.nudge(1e-3, +1) == pytest.approx(2e-3) and lr.nudge(1e-3, -1) == pytest.approx(5e-4)
    assert lr.nudge(1e6, +1) == 1e6


def test_param_set_resolve():
    ps = RULES["adam"].params
    assert ps.resolve({"lr": 0.5})["lr"] == 0.5
    assert ps.resolve()["beta2"] == 0.999
    assert "known" in one_line_error(ps.resolve, {"momentum": 0.9})
    assert ParamSet(()).resolve() == {}


def test_range_text_and_format_value():
    lr = RULES["gd"].params.get("lr")
    beta = RULES["momentum"].params.get("beta")
    assert lr.range_text().startswith("(0,") and lr.range_text().endswith("]")
    assert beta.range_text() == "[0, 1)"
    assert format_value(beta, 0.9) == "0.9"
    assert format_value(lr, 1e-4) == "1.00e-04"
    assert format_value(RULES["momentum"].params.get("bias_correction"), True) == "on"
