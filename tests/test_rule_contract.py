"""The Rule contract: one step per rule from which the pure and in-place paths follow (equal bit
for bit), typed states, and theory derived from the rule's linear map alone.

A new linear rule, quasi-hyperbolic momentum (Ma & Yarats 2019), is defined only here and
registered by a fixture: it gets a stability bound, rates and a suggested lr with no other edit.
Its per-direction map and stability bound are worked out below by hand.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
from dataclasses import dataclass

import numpy as np
import pytest

from descent_engine import theory
from descent_engine.averages import update_moment
from descent_engine.params import Param, ParamSet
from descent_engine.problems import make_problem
from descent_engine.rules import RULES, Rule, RuleState, get_rule
from descent_engine.rules import base as rules_base
from descent_engine.rules.base import beta_param, lr_param
from descent_engine.run import Run, Settings, suggested_lr

SETTINGS = [(name, {}) for name in RULES] + [
    ("momentum", {"init": "zero", "bias_correction": True}),
    ("momentum", {"init": "zero"}),
    ("adamw", {"weight_decay": 0.5}),
]


# ---------------------------------------------------------------------------------------------
# pure and in-place: the same operations, so the same bits
@pytest.mark.parametrize("name,values", SETTINGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(7,), (5, 4), (300, 500)])  # (300, 500) runs block by block
def test_inplace_path_equals_the_pure_path_bit_for_bit(name, values, dtype, shape, monkeypatch):
    monkeypatch.setattr(rules_base, "BLOCK_BYTES", 1 << 16)  # blocks of 8k or 16k numbers
    rule = RULES[name]
    hp = rule.hparams(values)
    rng = np.random.default_rng(11)
    w_pure = rng.normal(size=shape).astype(dtype)
    w_inpl = w_pure.copy()
    state_pure = rule.init(w_pure, hp)
    state_inpl = copy.deepcopy(state_pure)
    for k in range(6):
        g = (rng.normal(size=shape) + w_pure).astype(dtype)
        lr = 0.01 / (1 + k)
        delta, state_pure = rule.update(g, state_pure, lr, hp, w_pure)
        w_pure = w_pure + delta
        rule.update_inplace(g, state_inpl, lr, hp, w_inpl)
        assert w_inpl.dtype == dtype
    if w_inpl.size > 100_000:
        assert len(state_inpl._work.blocks) > 1  # the blocked path was taken
    np.testing.assert_array_equal(w_inpl, w_pure)
    assert state_inpl.keys() == state_pure.keys()
    for key, value in state_pure.items():
        np.testing.assert_array_equal(state_inpl[key], value)


def test_inplace_path_keeps_the_callers_arrays():
    rule = RULES["adam"]
    hp = rule.hparams()
    w = np.ones((300, 250))
    state = rule.init(w, hp)
    m, v = state.m, state.v
    rule.update_inplace(np.full_like(w, 0.5), state, 1e-3, hp, w)
    assert state.m is m and state.v is v and state.t == 1
    assert np.all(m == (1 - 0.9) * 0.5)  # beta1 * 0 + (1 - beta1) g, worked in Python floats


# ---------------------------------------------------------------------------------------------
# typed states
@pytest.mark.parametrize("name", sorted(RULES))
def test_states_are_typed_and_copy_without_scratch(name):
    rule = RULES[name]
    hp = rule.hparams()
    w = np.zeros(3)
    state = rule.init(w, hp)
    assert isinstance(state, RuleState) and dataclasses.is_dataclass(state)
    if rule.average is not None:
        assert rule.average in state and state[rule.average] is getattr(state, rule.average)
    rule.update_inplace(np.ones(3), state, 1e-2, hp, w)  # gives it scratch arrays
    for twin in (copy.deepcopy(state), pickle.loads(pickle.dumps(state)), copy.copy(state)):
        assert type(twin) is type(state) and twin.keys() == state.keys()
        assert getattr(twin, "_work", None) is None
        for key, value in state.items():
            np.testing.assert_array_equal(twin[key], value)
    with pytest.raises(KeyError):
        state["no such field"]


def test_linear_is_the_presence_of_a_map():
    for rule in RULES.values():
        assert rule.linear == (rule.linear_map is not None)
    assert {n for n, r in RULES.items() if r.linear} == {"gd", "momentum", "sgd_momentum", "nesterov"}


# ---------------------------------------------------------------------------------------------
# theory from the map: the built-in closed forms, and the bisection agreeing with them
def closed_forms(b):
    return {"gd": 2.0, "momentum": 2 * (1 + b) / (1 - b), "sgd_momentum": 2 * (1 + b),
            "nesterov": 2 * (1 + b) / (1 + 2 * b)}


def hp_with(name, b):
    return RULES[name].hparams({RULES[name].main_beta: b} if RULES[name].main_beta else {})


@pytest.mark.parametrize("b", [0.0, 0.3, 0.6, 0.9])
def test_closed_form_bounds_and_the_bisection_of_each_map(b):
    for name, x_star in closed_forms(b).items():
        rule, hp = RULES[name], hp_with(name, b)
        # the closed form, through the Rule and through the name (the compatible path)
        assert theory.stability_x(rule, hp) == pytest.approx(x_star, rel=1e-15)
        assert theory.stable_lr(name, hp, 4.0) == pytest.approx(x_star / 4.0, rel=1e-15)
        # without it, the bound found from the map alone; the crossing is a simple eigenvalue
        # -1 whose slope in x is bounded away from 0, and eigvals is accurate to a few ulps of
        # ||M|| <= 20, so the bisected x is within ~1e-13 relative of the closed form
        bare = dataclasses.replace(rule, stability_x=None)
        assert theory.stability_x(bare, hp) == pytest.approx(x_star, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# a new linear rule, defined only here
@dataclass(slots=True)
class QhmState(RuleState):
    buf: np.ndarray


def qhm_step(g, s, lr, hp, w, out):
    """buf = beta buf + (1 - beta) g;  w -= lr ((1 - nu) g + nu buf)"""
    buf = update_moment(s.buf, g, hp["beta"], out.buf, out.s0)
    a = np.multiply(g, 1 - hp["nu"], out=out.s0)
    b = np.multiply(buf, hp["nu"], out=out.s1)
    d = np.add(a, b, out=out.s0)
    return np.multiply(d, lr, out=out.s0), QhmState(buf)


def qhm_map(hp, x):
    # on (e, u = lr buf): u' = beta u + (1 - beta) x e;  e' = e - (1 - nu) x e - nu u'
    b, nu = hp["beta"], hp["nu"]
    return np.array([[1 - x * (1 - nu * b), -nu * b], [(1 - b) * x, b]])


def qhm_stability_x(b, nu):
    """By hand: det(M + I) = 2 (1 + b) - x (1 + b - 2 nu b) vanishes at the only crossing (an
    eigenvalue -1); det(I - M) = x (1 - b) > 0 and a complex pair has |lambda|^2 = det M =
    b (1 - x (1 - nu)) < 1, so the stable set is 0 < x < 2 (1 + b) / (1 + b - 2 nu b)."""
    return 2 * (1 + b) / (1 + b - 2 * nu * b)


def qhm_rate(b, nu, x):
    """Spectral radius of the map from the quadratic formula (apart from np.linalg)."""
    tr = 2 - x * (1 - nu * b) + b - 1
    det = b * (1 - x * (1 - nu))
    disc = complex(tr * tr - 4 * det)
    return max(abs((tr + disc**0.5) / 2), abs((tr - disc**0.5) / 2))


@pytest.fixture
def qhm():
    rule = Rule(
        "qhm", "quasi-hyperbolic momentum",
        ParamSet((lr_param(1e-2), beta_param("beta", 0.9, "weight of the past in buf", "β"),
                  Param("nu", 0.7, "weight of buf in the step", low=0.0, high=1.0, symbol="nu"))),
        lambda w, hp: QhmState(np.zeros_like(w)), qhm_step, "buf <- β buf + (1-β) g; w <- w - lr((1-ν) g + ν buf)",
        main_beta="beta", average="buf", average_label="buf (QHM)", scratch=2, linear_map=qhm_map,
    )
    RULES.register("qhm", rule)
    yield rule
    RULES.unregister("qhm")


@pytest.mark.parametrize("b,nu", [(0.9, 0.7), (0.5, 0.0), (0.5, 1.0), (0.99, 0.3)])
def test_a_new_linear_rule_gets_its_stability_bound_from_the_map(qhm, b, nu):
    hp = qhm.hparams({"beta": b, "nu": nu})
    assert get_rule("qhm") is qhm and qhm.linear
    # tolerance as in the bisection test above
    assert theory.stability_x(qhm, hp) == pytest.approx(qhm_stability_x(b, nu), rel=1e-12)
    assert theory.stable_lr("qhm", hp, 50.0) == pytest.approx(qhm_stability_x(b, nu) / 50.0, rel=1e-12)
    assert theory.optimum(qhm, 1.0, 10.0) is None  # no closed form given, none claimed


@pytest.mark.parametrize("lr", [1e-3, 0.05, 0.2, 0.4])
def test_a_new_linear_rule_gets_its_predicted_rate(qhm, lr):
    hp = qhm.hparams({"beta": 0.9, "nu": 0.7})
    eig = [1.0, 3.0, 10.0]
    expected = max(qhm_rate(0.9, 0.7, lr * lam) for lam in eig)
    # two routes to the same eigenvalues (np.linalg vs the quadratic formula): a few ulps apart
    assert theory.predicted_rate(qhm, hp, lr, eig) == pytest.approx(expected, rel=1e-12)


def test_a_new_linear_rule_runs_and_gets_a_stable_suggested_lr(qhm):
    p = make_problem("notes-ls")
    hp = qhm.hparams()
    lam_max = theory.spectrum(p.hessian()).lam_max
    bound = qhm_stability_x(0.9, 0.7) / lam_max
    lr = suggested_lr(p, qhm, hp)
    assert 0 < lr <= 0.95 * bound * (1 + 1e-12)
    run = Run(Settings("notes-ls", "qhm", rule_params={"lr": lr}))
    run.step(200)
    rep = run.theory()
    assert rep.stable_lr == pytest.approx(bound, rel=1e-12) and not rep.unstable
    assert run.diverged_at is None and run.loss < run.loss0
    # the run follows the rule's formula, written out as a loop, bit for bit
    w, buf = p.w0.astype(float).copy(), np.zeros(2)
    for k in range(200):
        g = p.grad(w)
        buf = 0.9 * buf + (1 - 0.9) * g
        w = w - lr * ((1 - 0.7) * g + 0.7 * buf)
    np.testing.assert_array_equal(run.w, w)
    np.testing.assert_array_equal(run.history.arrays()["avg"][-1], 0.9 * buf + (1 - 0.9) * p.grad(w))
    assert math.isfinite(rep.predicted_rate) and rep.predicted_rate < 1


async def test_a_new_rule_gets_its_flag_and_its_palette_entry(qhm, capsys):
    """No edit of the CLI or the app: the flags and the palette are built from the registry."""
    from tui.app import DescentApp
    from tui.cli import main
    from tui.commands import LabCommands

    assert main(["run", "--rule", "qhm", "--nu", "0.5", "--steps", "5"]) == 0
    out = capsys.readouterr().out
    assert "qhm" in out and "nu=0.5" in out
    assert main(["run", "--rule", "qhm", "--nu", "2"]) == 2
    assert "--nu must be in [0, 1], got 2" in capsys.readouterr().err

    app = DescentApp(Settings("notes-ls", "qhm"), autorun=False)
    async with app.run_test(size=(120, 40)):
        choices = LabCommands(app.screen)._choices()
        assert ("rule: qhm", "quasi-hyperbolic momentum", "rule", "qhm") in choices
        assert any(text == "set nu = …" for text, *_ in choices)
