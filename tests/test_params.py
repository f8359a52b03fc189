"""The hyper-parameter registry: parse/validate accept exactly the stated range, nudge stays in it."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from descent_engine.network.config import EXPERIMENT_PARAMS, NETWORK_PARAMS, SOLVER_PARAMS, TrainConfig
from descent_engine.params import Param, ParamError, ParamSet, format_value, shorten
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


# -- long values, words, multiples, list lengths, text -------------------------------------------
def test_a_long_value_is_shortened_in_every_message():
    lr, period = RULES["gd"].params.get("lr"), SCHEDULES["cosine"].params.get("period")
    init = RULES["momentum"].params.get("init")
    for p, text in ((lr, "x" * 100_000), (period, "9" * 100_000), (init, "z" * 100_000)):
        msg = one_line_error(p.parse, text)
        assert msg.endswith("…' (100000 characters)") or "…' (100000 characters)" in msg
        assert len(msg) < 200
    assert shorten("abc") == "'abc'" and shorten("a" * 41) == "'" + "a" * 40 + "…' (41 characters)"
    assert one_line_error(lr.parse, "") == "lr: cannot read an empty value as a number"


def test_words_multiples_and_list_lengths():
    batch = EXPERIMENT_PARAMS.get("sgd_batch")
    assert batch.parse("auto") == "auto" and batch.parse("AUTO") == "auto" and batch.parse("300") == 300
    assert batch.validate("auto") == "auto" and batch.default_text() == "auto"
    assert one_line_error(batch.parse, "150") == \
        "sgd_batch must be auto or a multiple of 100 in [100, 1000000000], got 150"
    assert "cannot read 'big' as a multiple of 100 or auto" in one_line_error(batch.parse, "big")
    seeds = EXPERIMENT_PARAMS.get("seeds")
    assert seeds.parse("1, 2,3") == (1, 2, 3) and seeds.validate(None) is None
    assert one_line_error(seeds.parse, "") == "seeds: expected at least 1 item, got none"
    assert "cannot read '1,,2'" in one_line_error(seeds.parse, "1,,2")
    assert one_line_error(seeds.parse, "-1") == "seeds must be in [0, 4294967295] each, got -1"
    ms = SCHEDULES["staircase"].params.get("milestones")
    assert ms.parse("") == () and ms.parse("1e3") == (1000,)  # empty: no milestones


def test_text_values():
    dataset = NETWORK_PARAMS.get("dataset")
    assert dataset.parse(" digits ") == "digits" and dataset.parse("a/b.npz") == "a/b.npz"
    assert one_line_error(dataset.parse, "") == "dataset: expected a name or a path, got an empty value"
    assert "no NUL" in one_line_error(dataset.validate, "a\0b")
    assert "(5000 characters)" in one_line_error(dataset.parse, "p" * 5000)
    assert dataset.parse("p" * 4096) == "p" * 4096  # PATH_MAX itself is fine


# -- the network's knobs ---------------------------------------------------------------------------
NETWORK = {f"{s}:{p.name}": p for s, ps in (("net", NETWORK_PARAMS), ("exp", EXPERIMENT_PARAMS),
                                              ("solver", SOLVER_PARAMS)) for p in ps}


@pytest.mark.parametrize("key", sorted(NETWORK))
def test_every_network_default_is_valid_and_reads_back(key):
    p = NETWORK[key]
    assert p.validate(p.default) == p.default and p.help and p.scale in ("log", "linear")
    if p.default is not None:
        assert p.parse(p.default_text()) == p.default


def test_a_network_knob_means_what_the_same_name_means_elsewhere():
    """seed, steps, batch_size: the same kind and scale as in `run`; the same range except batch_size,
    which both bound by their data (notes-ls has 500 examples and 0 for the full batch)."""
    from tui.cli.run import STEPS
    from tui.cli.settings import RUN_PARAMS

    elsewhere = {p.name: p for p in ALL_PARAMS.values()} | {p.name: p for p in RUN_PARAMS} | {"steps": STEPS}
    shared = [p for p in NETWORK.values() if p.name in elsewhere]
    assert {p.name for p in shared} == {"seed", "steps", "batch_size"}
    for p in shared:
        q = elsewhere[p.name]
        assert (p.kind, p.scale) == (q.kind, q.scale), p.name
        if p.name != "batch_size":
            assert (p.low, p.high, p.low_open, p.high_open) == (q.low, q.high, q.low_open, q.high_open), p.name


@pytest.mark.parametrize("field, value, message", [
    ("weight_scale", math.inf, "weight_scale must be finite, got inf"),
    ("weight_scale", 0.0, "weight_scale must be in (0, 100], got 0"),
    ("reg", math.inf, "reg must be finite, got inf"),
    ("reg", -1.0, "reg must be in [0, 10000], got -1"),
    ("seed", -1, "seed must be in [0, 4294967295], got -1"),
    ("seed", 2**32, "seed must be in [0, 4294967295], got 4294967296"),
    ("hidden", (), "hidden: expected at least 1 item, got none"),
    ("hidden", (100, 0), "hidden must be in [1, 100000] each, got 0"),
    ("dtype", "float16", "dtype: expected one of float32, float64, got 'float16'"),
    ("epochs", 0, "epochs must be in [1, 1000000], got 0"),
    ("num_train", 0, "num_train must be in [1, 1000000000], got 0"),
    ("num_iterations", 0, "num_iterations must be in [1, 1000000000], got 0"),
    ("log_acc_iteration", 0, "log_every must be in [1, 1000000000], got 0"),
])
def test_train_config_is_validated_through_the_params(field, value, message):
    from dataclasses import replace

    assert one_line_error(replace(TrainConfig(), **{field: value}).validate) == message


def test_counts_read_as_english():
    from tui.formatting import count

    assert [count(n, "epoch") for n in (0, 1, 2, 60)] == ["0 epochs", "1 epoch", "2 epochs", "60 epochs"]


def test_a_zero_that_means_something_says_what():
    from descent_engine.params import Param, format_value

    p = Param("batch_size", 0, "mini-batch size (0: full batch)", kind="int", low=0, high=500, zero_text="full batch")
    assert [format_value(p, v) for v in (0, 20)] == ["0 (full batch)", "20"]
    assert p.parse("0") == 0 and p.parse("0 (full batch)") == 0  # the number, or the text as shown
