"""Learning-rate schedules against their formulas, written out here, and their properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from descent_engine.params import ParamError
from descent_engine.run import Run, Settings
from descent_engine.schedules import SCHEDULES, epoch_of, get_schedule

ETA0 = 0.3
EPOCHS = np.arange(0, 60)


def lrs(name, **values):
    s = get_schedule(name)
    return s.lrs(EPOCHS, ETA0, s.hparams(values))


def test_registry_holds_the_notes_five_and_the_common_two():
    assert set(SCHEDULES) == {"constant", "epoch", "exponential", "polynomial", "staircase", "sqrt", "cosine",
                              "warmup"}


def test_constant():
    assert np.array_equal(lrs("constant"), np.full(EPOCHS.size, ETA0))


def test_epoch_based_decay():
    np.testing.assert_allclose(lrs("epoch", decay=0.2), [ETA0 / (1 + 0.2 * e) for e in EPOCHS], rtol=1e-15)


def test_exponential_decay():
    np.testing.assert_allclose(lrs("exponential", decay=0.1), [ETA0 * math.exp(-0.1 * e) for e in EPOCHS],
                               rtol=1e-14)


def test_polynomial_is_the_notes_095_power():
    assert get_schedule("polynomial").params.get("base").default == 0.95
    np.testing.assert_allclose(lrs("polynomial"), [0.95**e * ETA0 for e in EPOCHS], rtol=1e-14)


def test_staircase_at_and_around_milestones():
    got = lrs("staircase", milestones=(10, 25), factors=(0.5, 0.1))
    for e, lr in zip(EPOCHS, got):
        expected = ETA0 * (1.0 if e < 10 else 0.5 if e < 25 else 0.1)
        assert lr == pytest.approx(expected, rel=1e-15), e
    assert got[9] == ETA0 and got[10] == ETA0 * 0.5 and got[11] == ETA0 * 0.5
    assert got[24] == ETA0 * 0.5 and got[25] == ETA0 * 0.1 and got[26] == ETA0 * 0.1


@pytest.mark.parametrize("values,fragment", [
    ({"milestones": (10, 20), "factors": (0.5,)}, "factor"),
    ({"milestones": (20, 10), "factors": (0.5, 0.1)}, "increasing"),
    ({"milestones": (10, 10), "factors": (0.5, 0.1)}, "increasing"),
    ({"milestones": (10, 20), "factors": (0.1, 0.5)}, "increase"),
    ({"milestones": (10,), "factors": (1.5,)}, "factors"),
    ({"milestones": (0,), "factors": (0.5,)}, "milestones"),
])
def test_staircase_rejects_bad_settings(values, fragment):
    with pytest.raises(ParamError, match=fragment) as info:
        get_schedule("staircase").hparams(values)
    assert "\n" not in str(info.value)


def test_sqrt_decay_and_its_epoch_zero_rule():
    got = lrs("sqrt", scale=2.0)
    # the stated rule: epoch 0 counts as epoch 1, so the first rate is k eta0
    assert got[0] == pytest.approx(2.0 * ETA0, rel=1e-15)
    np.testing.assert_allclose(got[1:], [2.0 / math.sqrt(e) * ETA0 for e in EPOCHS[1:]], rtol=1e-15)
    assert "epoch 0" in get_schedule("sqrt").formula


def test_cosine_endpoints_and_midpoint():
    s = get_schedule("cosine")
    hp = s.hparams({"period": 40, "min_factor": 0.1})
    assert s.lr(0, ETA0, hp) == pytest.approx(ETA0, rel=1e-15)
    assert s.lr(20, ETA0, hp) == pytest.approx(ETA0 * (0.1 + 0.9 * 0.5), rel=1e-14)
    assert s.lr(40, ETA0, hp) == pytest.approx(ETA0 * 0.1, rel=1e-14)
    assert s.lr(1000, ETA0, hp) == pytest.approx(ETA0 * 0.1, rel=1e-14)  # flat after the period
    assert s.lr(10, ETA0, hp) == pytest.approx(ETA0 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4))), rel=1e-14)


def test_warmup_start_and_end():
    s = get_schedule("warmup")
    hp = s.hparams({"warmup_epochs": 8, "start_factor": 0.2})
    assert s.lr(0, ETA0, hp) == pytest.approx(0.2 * ETA0, rel=1e-15)
    assert s.lr(4, ETA0, hp) == pytest.approx((0.2 + 0.8 * 0.5) * ETA0, rel=1e-15)
    assert s.lr(8, ETA0, hp) == pytest.approx(ETA0, rel=1e-15)
    assert s.lr(500, ETA0, hp) == pytest.approx(ETA0, rel=1e-15)
    assert not s.monotone


def test_lr_and_lrs_agree():
    for name, s in SCHEDULES.items():
        hp = s.hparams()
        many = s.lrs(EPOCHS, ETA0, hp)
        assert [s.lr(int(e), ETA0, hp) for e in EPOCHS] == pytest.approx(list(many), rel=1e-15), name


def test_epoch_of_steps():
    assert [epoch_of(k, 3) for k in range(7)] == [0, 0, 0, 1, 1, 1, 2]
    assert [epoch_of(k) for k in range(3)] == [0, 1, 2]


def test_run_with_three_steps_per_epoch_uses_the_rate_of_epoch_k_div_3():
    run = Run(Settings("quadratic", "gd", "epoch", rule_params={"lr": 0.05}, schedule_params={"decay": 0.5},
                       steps_per_epoch=3))
    run.step(12)
    rows = run.history.arrays()
    assert list(rows["step"]) == list(range(13))
    expected = [0.05 / (1 + 0.5 * (k // 3)) for k in range(13)]
    np.testing.assert_allclose(rows["lr"], expected, rtol=1e-15)
    # and the update out of w_k really used lr_k
    w, g = rows["w"], rows["grad"]
    assert np.array_equal(w[1:], w[:-1] - rows["lr"][:-1, None] * g[:-1])


def test_run_default_epoch_is_one_step():
    run = Run(Settings("quadratic", "gd", "polynomial", rule_params={"lr": 0.05}))
    run.step(5)
    np.testing.assert_allclose(run.history.arrays()["lr"], [0.05 * 0.95**k for k in range(6)], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# properties over every schedule and any valid hyper-parameters
def _param_strategy(p):
    if p.kind in ("ints", "floats"):
        return None  # staircase: built by staircase_values
    if p.kind == "int":
        hi = min(p.high if p.high is not None else 10**6, 10**6)
        return st.integers(int(p.low) + (1 if p.low_open else 0), int(hi))
    lo, hi = p.low, p.high
    if p.low_open:  # an open lower end: stay clear of subnormal numbers
        return st.floats(lo + 1e-9, hi, exclude_max=p.high_open)
    return st.floats(lo, hi, exclude_max=p.high_open)


@st.composite
def staircase_values(draw):
    ms = draw(st.lists(st.integers(1, 10**6), min_size=0, max_size=4, unique=True))
    fs = draw(st.lists(st.floats(1e-6, 1.0), min_size=len(ms), max_size=len(ms)))
    return {"milestones": tuple(sorted(ms)), "factors": tuple(sorted(fs, reverse=True))}


@st.composite
def schedule_and_values(draw, names):
    name = draw(st.sampled_from(sorted(names)))
    s = SCHEDULES[name]
    if name == "staircase":
        return name, draw(staircase_values())
    return name, {p.name: draw(_param_strategy(p)) for p in s.params}


epoch_grids = st.lists(st.integers(0, 10**6), min_size=2, max_size=50, unique=True).map(sorted)
PROP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MONOTONE = [name for name, s in SCHEDULES.items() if s.monotone]
#: one ulp of 1.0: a correctly rounded operation errs by at most EPS/2 relative
EPS = np.finfo(float).eps
#: schedules built only of +, -, *, /, sqrt, max, min and where: each is correctly rounded and
#: so monotone, and a composition of monotone operations is monotone: never increasing, exactly
EXACTLY_MONOTONE = {"constant", "epoch", "staircase", "sqrt"}


def test_only_warmup_may_raise_the_rate():
    assert set(SCHEDULES) - set(MONOTONE) == {"warmup"}


@PROP
@given(sv=schedule_and_values(MONOTONE), epochs=epoch_grids, eta0=st.floats(1e-8, 1e3))
def test_monotone_schedules_never_increase(sv, epochs, eta0):
    name, values = sv
    s = SCHEDULES[name]
    try:
        hp = s.hparams(values)
    except ParamError:
        assume(False)
    lr = s.lrs(np.array(epochs + [epochs[-1] + 1]), eta0, hp)
    # exp, pow and cos (exponential, polynomial, cosine) come from libm: within 1 ulp, but not
    # promised monotone, and two epochs' exact values may be closer than 1 ulp (base 1 - 2^-53).
    # Their results are <= 1 in size, so each is off by <= EPS absolute; what follows (scaling by
    # <= 1, adding m, times eta0) adds <= 2 EPS eta0 more: a rise of <= 4 EPS eta0 is round-off.
    slack = 0.0 if name in EXACTLY_MONOTONE else 4 * EPS * eta0
    assert np.all(np.diff(lr) <= slack), (name, hp)
    # the first factor is at most max(1, k) exactly (sqrt: k / sqrt(1) = k, exact) except cosine's
    # m + (1 - m) * 1 (two roundings: <= 1 + EPS); eta0 * factor rounds alike on both sides
    assert lr[0] <= eta0 * max(1.0, hp.get("scale", 1.0)) * (1 + 2 * EPS)


@PROP
@given(sv=schedule_and_values(SCHEDULES), epochs=epoch_grids, eta0=st.floats(1e-8, 1e3))
def test_every_schedule_gives_finite_non_negative_rates(sv, epochs, eta0):
    name, values = sv
    s = SCHEDULES[name]
    try:
        hp = s.hparams(values)
    except ParamError:
        assume(False)
    e = np.array(epochs, dtype=float)
    lr = s.lrs(e, eta0, hp)
    assert np.all(np.isfinite(lr)) and np.all(lr >= 0), (name, hp)
    # strictly positive wherever the exact rate is representable: the only zeros allowed are
    # cosine annealing to min_factor 0 and exp/power underflow far beyond any useful epoch
    # (exp(-x) eta0 with eta0 >= 1e-8 stays a normal number for x <= 690; 600 leaves room)
    must_be_positive = np.ones(e.size, dtype=bool)
    if name == "cosine" and hp["min_factor"] * eta0 < 1e-300:
        must_be_positive = e < hp["period"]
    elif name == "exponential":
        must_be_positive = hp["decay"] * e < 600
    elif name == "polynomial":
        must_be_positive = e * -np.log(hp["base"]) < 600
    assert np.all(lr[must_be_positive] > 0), (name, hp)


@PROP
@given(sv=schedule_and_values(SCHEDULES), eta0=st.floats(1e-8, 1e3))
def test_every_schedule_starts_at_its_stated_first_rate(sv, eta0):
    name, values = sv
    s = SCHEDULES[name]
    try:
        hp = s.hparams(values)
    except ParamError:
        assume(False)
    first = {"sqrt": hp.get("scale"), "warmup": hp.get("start_factor")}.get(name, 1.0)
    if name == "staircase" and hp["milestones"] and hp["milestones"][0] == 0:
        first = hp["factors"][0]
    # the factor at epoch 0 is exact (exp(0), base^0, s + (1 - s) 0, k / sqrt(1), a milestone's
    # factor) except cosine's m + (1 - m) (1 + cos 0) / 2 = m + fl(1 - m): <= EPS. The products with
    # eta0 here and in the engine: EPS/2 each. Safety 2.
    assert s.lr(0, eta0, hp) == pytest.approx(eta0 * first, rel=4 * EPS)
