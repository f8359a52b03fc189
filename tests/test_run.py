"""Runs: the note's two runs bit for bit, what a history row means, divergence, bounded history,
seeds."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np
import pytest

from descent_engine.params import ParamError
from descent_engine.rules import RULES
from descent_engine.run import EXPLODE_FACTOR, History, Run, Settings
from reference import make_reference, note_dataset, note_runGD, note_runGDM

NOTE_GD = Settings("notes-ls", "gd", rule_params={"lr": 1e-4})
NOTE_GDM = Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4})


# ---------------------------------------------------------------------------------------------
# the note's two least-squares runs, to the last bit
@pytest.mark.parametrize("which", ["gd", "gdm"])
def test_the_notes_runs_are_reproduced_bit_for_bit(which):
    X, y = note_dataset()
    if which == "gd":
        grads, ws, losses = note_runGD(X, y, 100, 1e-4)
        settings, final = NOTE_GD, 102.75171092495734
    else:
        grads, ws, losses = note_runGDM(X, y, 100, 1e-4, 0.6)  # the note's beta weighs the new gradient
        settings, final = NOTE_GDM, 102.75171088019901
    assert losses[-1] == final  # the note's printed "Final loss"
    run = Run(settings)
    assert run.step(100) == 100
    h = run.history.arrays()
    assert list(h["step"]) == list(range(101))
    # the note records w, loss after each update: those are our rows 1..100
    assert np.array_equal(h["loss"][1:], np.array(losses))
    assert np.array_equal(h["w"][1:], ws)
    # and the gradient it used at step i is taken at w_i: our rows 0..99
    assert np.array_equal(h["grad"][:100], grads)
    assert run.loss == final
    assert np.array_equal(h["w"][0], [0.0, 0.0])


# ---------------------------------------------------------------------------------------------
# what a row means
def test_history_starts_with_step_zero():
    run = Run(Settings("quadratic", "adam", rule_params={"lr": 0.1}))
    h = run.history.arrays()
    p = run.problem
    assert list(h["step"]) == [0]
    assert np.array_equal(h["w"][0], p.w0)
    assert h["loss"][0] == p.loss(p.w0)
    assert np.array_equal(h["grad"][0], p.grad(p.w0))
    assert h["lr"][0] == 0.1
    assert run.k == 0 and run.loss == h["loss"][0]


RUN_CASES = [
    ("gd", {"lr": 0.05}, "constant", {}),
    ("momentum", {"lr": 0.05, "beta": 0.6}, "exponential", {"decay": 0.02}),
    ("momentum", {"lr": 0.05, "beta": 0.6, "init": "zero", "bias_correction": True}, "sqrt", {}),
    ("sgd_momentum", {"lr": 0.02, "momentum": 0.8}, "warmup", {"warmup_epochs": 5}),
    ("nesterov", {"lr": 0.02, "momentum": 0.8}, "staircase", {"milestones": (10, 20), "factors": (0.5, 0.2)}),
    ("rmsprop", {"lr": 0.05}, "cosine", {"period": 30}),
    ("adagrad", {"lr": 0.5}, "polynomial", {}),
    ("adam", {"lr": 0.1}, "epoch", {"decay": 0.1}),
    ("adamw", {"lr": 0.1, "weight_decay": 0.1}, "constant", {}),
]


def test_run_cases_cover_every_rule():
    assert {c[0] for c in RUN_CASES} == set(RULES)


@pytest.mark.parametrize("rule,hp,schedule,shp", RUN_CASES, ids=[c[0] + "-" + c[2] for c in RUN_CASES])
def test_rows_mean_what_they_say(rule, hp, schedule, shp):
    """Row k: w_k, loss(w_k), grad(w_k), lr_k; w_{k+1} = w_k + update(grad_k, lr_k); avg = state after."""
    run = Run(Settings("saddle", rule, schedule, rule_params=hp, schedule_params=shp))
    run.step(40)
    h = run.history.arrays()
    p, r = run.problem, RULES[rule]
    full_hp = r.hparams(hp)
    state = r.init(p.w0, full_hp)
    sched = run.schedule
    for k in range(40):
        w = h["w"][k]
        assert h["loss"][k] == p.loss(w)
        assert np.array_equal(h["grad"][k], p.grad(w))
        assert h["lr"][k] == pytest.approx(sched.lr(k, full_hp["lr"], sched.hparams(shp)), rel=1e-15)
        delta, state = r.update(h["grad"][k], state, float(h["lr"][k]), full_hp, w)
        assert np.array_equal(h["w"][k + 1], w + delta), k
        if r.average:
            assert np.array_equal(h["avg"][k], state[r.average])
        else:
            assert np.all(np.isnan(h["avg"][k]))
    assert np.array_equal(run.w, h["w"][-1]) and run.k == 40


@pytest.mark.parametrize("rule,hp,schedule,shp", RUN_CASES, ids=[c[0] + "-" + c[2] for c in RUN_CASES])
def test_run_matches_the_reference_optimizer(rule, hp, schedule, shp):
    """An independent optimizer on the same problem, fed the same learning rates, 60 steps."""
    run = Run(Settings("quadratic", rule, schedule, problem_params={"kappa": 7.0, "angle": 20.0},
                       rule_params=hp, schedule_params=shp))
    run.step(60)
    h = run.history.arrays()
    p = run.problem
    H = p.hessian()
    ref = make_reference(rule, RULES[rule].hparams(hp))
    w = p.w0.copy()
    for k in range(60):
        w = ref.step(w, H @ w, float(h["lr"][k]))
        np.testing.assert_allclose(h["w"][k + 1], w, rtol=1e-10, atol=1e-12)


def test_steps_taken_in_chunks_equal_one_long_call():
    a = Run(Settings("saddle", "adam", rule_params={"lr": 0.05}))
    b = Run(Settings("saddle", "adam", rule_params={"lr": 0.05}))
    a.step(37)
    for n in (1, 5, 0, 30, 1):
        assert b.step(n) == n
    assert b.k == a.k == 37
    for key, value in a.history.arrays().items():
        assert np.array_equal(value, b.history.arrays()[key]), key


def test_tail_returns_the_rows_after_a_step():
    run = Run(Settings("quadratic", "gd"))
    run.step(10)
    t = run.history.tail(6)
    assert list(t["step"]) == [7, 8, 9, 10]
    assert np.array_equal(t["w"], run.history.arrays()["w"][7:])


# ---------------------------------------------------------------------------------------------
# divergence
def first_exceeding(losses, loss0, loss_star):
    limit = 1e10 * (loss0 - loss_star)
    for k, loss in enumerate(losses):
        if not math.isfinite(loss) or loss - loss_star > limit:
            return k
    return None


def test_explode_factor_is_as_documented():
    assert EXPLODE_FACTOR == 1e10


def test_gd_past_the_bound_diverges_on_notes_ls_and_stops():
    X, y = note_dataset()
    _, _, losses = note_runGD(X, y, 60, 3e-4)
    loss0 = float(np.linalg.norm(y) ** 2)
    run = Run(Settings("notes-ls", "gd", rule_params={"lr": 3e-4}))
    expected = first_exceeding([loss0] + losses, loss0, run.problem.loss_star)
    assert expected is not None and 3 < expected < 60
    taken = run.step(1000)
    assert run.diverged_at == expected
    assert taken == expected and run.k == expected
    assert run.done
    assert run.step(10) == 0  # a diverged run does not move
    h = run.history.arrays()
    assert h["step"][-1] == expected
    assert np.array_equal(h["loss"][1:], np.array(losses[:expected]))


@pytest.mark.parametrize("problem,rule,lr", [
    ("rosenbrock", "gd", 1e6), ("notes-ls", "nesterov", 1e6), ("quadratic", "sgd_momentum", 1e6),
    ("saddle", "momentum", 1e6), ("rosenbrock", "rmsprop", 1e6),
])
def test_huge_learning_rates_are_recorded_without_warnings_or_exceptions(problem, rule, lr):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):  # the run must contain its own floating-point trouble
            run = Run(Settings(problem, rule, rule_params={"lr": lr}))
            taken = run.step(10_000)
            run.history.arrays()
            run.theory()
    h = run.history.arrays()
    loss0 = h["loss"][0]
    assert run.diverged_at == first_exceeding(h["loss"], loss0, run.problem.loss_star) == taken
    assert taken < 10_000


def test_an_overflow_to_inf_is_recorded_at_its_step(monkeypatch):
    """A loss that overflows to inf in one step (a steep problem): diverged at that step."""
    run = Run(Settings("quadratic", "gd", rule_params={"lr": 0.01}))
    real_loss = run.problem.loss
    monkeypatch.setattr(run.problem, "loss", lambda w: math.inf if run.k >= 6 else real_loss(w))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        taken = run.step(100)
    assert taken == 6 and run.diverged_at == 6
    assert math.isinf(run.history.arrays()["loss"][-1])


def test_non_finite_gradient_is_divergence():
    run = Run(Settings("quadratic", "gd", rule_params={"lr": 0.01}))
    real_grad = run.problem.full_grad
    run.problem.full_grad = lambda w: np.full(2, np.nan) if run.k >= 4 else real_grad(w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run.step(100) == 4
    assert run.diverged_at == 4


def test_a_converging_run_never_diverges():
    run = Run(Settings("notes-ls", "adam", rule_params={"lr": 1e-2}))
    assert run.step(3000) == 3000 and run.diverged_at is None


# ---------------------------------------------------------------------------------------------
# bounded history
def check_decimated(bounded: dict, full: dict, stride: int, newest: int) -> None:
    """The kept rows are exactly every stride-th row of the full record, plus the newest."""
    assert stride & (stride - 1) == 0  # a power of two
    kept = np.arange(0, newest + 1, stride)
    expected = kept if kept[-1] == newest else np.append(kept, newest)
    assert np.array_equal(bounded["step"], expected)
    for key in ("lr", "loss", "w", "grad", "avg"):
        assert np.array_equal(bounded[key], full[key][expected], equal_nan=True), key


def test_history_of_200k_rows_in_capacity_1000_keeps_exact_rows():
    """History alone (rows made up from k and random numbers), so 200k rows stay fast."""
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((200_001, 3, 2))
    bounded, full = History(2, capacity=1000), History(2)
    strides = []
    for k in range(200_001):
        w, g, avg = rows[k]
        for h in (bounded, full):
            h.append(k, 1.0 / (k + 1), float(np.sin(k)), w, g, avg)
        assert len(bounded) <= 1000
        if k % 9973 == 0 or k == 200_000:
            a = bounded.arrays()
            assert a["step"][0] == 0 and a["step"][-1] == k
            strides.append(bounded.stride)
    assert strides == sorted(strides) and bounded.stride >= 256
    assert len(full) == 200_001 and full.stride == 1
    check_decimated(bounded.arrays(), full.arrays(), bounded.stride, 200_000)
    assert np.array_equal(bounded.arrays(include_last=False)["step"], np.arange(0, 200_001, bounded.stride))


def test_bounded_run_keeps_exact_rows_of_the_full_run():
    """A real run, stepped in uneven chunks as a UI would, against the same run kept whole."""
    full = Run(NOTE_GD)
    bounded = Run(NOTE_GD, capacity=1000)
    rng = np.random.default_rng(0)
    done, total = 0, 40_000
    while done < total:
        n = int(min(rng.integers(1, 7_000), total - done))
        bounded.step(n)
        done += n
        assert len(bounded.history) <= 1000
        a = bounded.history.arrays()
        assert a["step"][0] == 0 and a["step"][-1] == done  # first row and newest step always there
    full.step(total)
    assert len(full.history) == total + 1
    assert bounded.history.stride >= 32
    check_decimated(bounded.history.arrays(), full.history.arrays(), bounded.history.stride, total)
    assert bounded.loss == full.loss and np.array_equal(bounded.w, full.w)


def test_history_capacity_rows_and_strides_directly():
    h = History(dim=1, capacity=8)
    seen_strides = set()
    for k in range(1000):
        h.append(k, 0.1, float(k), np.array([k]), np.array([-k]), np.array([0.0]))
        assert len(h) <= 8
        a = h.arrays()
        assert a["step"][0] == 0 and a["step"][-1] == k
        assert np.all(np.diff(a["step"]) > 0)
        assert np.all(a["step"][:-1] % h.stride == 0)
        assert np.array_equal(a["loss"], a["step"].astype(float))
        assert np.array_equal(a["w"][:, 0], a["step"].astype(float))
        seen_strides.add(h.stride)
    assert seen_strides == {2**i for i in range(len(seen_strides))}
    with pytest.raises(ValueError):
        History(dim=2, capacity=3)


def test_unbounded_history_keeps_every_row():
    run = Run(Settings("quadratic", "momentum"))
    run.step(5000)
    assert list(run.history.arrays()["step"]) == list(range(5001))


# ---------------------------------------------------------------------------------------------
# seeds and settings
def test_same_seed_same_stochastic_run_different_seed_different_run():
    s = Settings("notes-ls", "sgd_momentum", problem_params={"batch_size": 20},
                 rule_params={"lr": 2e-5, "momentum": 0.5}, seed=7)
    a, b, c = Run(s), Run(s), Run(replace(s, seed=8))
    for r in (a, b, c):
        r.step(200)
    assert np.array_equal(a.history.arrays()["w"], b.history.arrays()["w"])
    assert np.array_equal(a.history.arrays()["grad"], b.history.arrays()["grad"])
    assert not np.array_equal(a.history.arrays()["grad"][0], c.history.arrays()["grad"][0])
    assert not np.array_equal(a.w, c.w)
    # and both wander around the optimum rather than diverging
    assert a.diverged_at is None and c.diverged_at is None
    assert a.loss < a.history.arrays()["loss"][0]


def test_full_batch_runs_do_not_depend_on_the_seed():
    a, b = Run(replace(NOTE_GDM, seed=1)), Run(replace(NOTE_GDM, seed=2))
    a.step(50)
    b.step(50)
    assert np.array_equal(a.w, b.w)


def test_settings_are_frozen_and_with_helpers_make_new_ones():
    s = Settings()
    t = s.with_rule_param("lr", 0.5).with_schedule_param("decay", 0.1).with_problem_param("batch_size", 10)
    assert s.rule_params == {} and s.schedule_params == {} and s.problem_params == {}
    assert t.rule_params == {"lr": 0.5} and t.schedule_params == {"decay": 0.1}
    assert t.problem_params == {"batch_size": 10}
    with pytest.raises(Exception):
        s.rule = "adam"  # type: ignore[misc]


@pytest.mark.parametrize("settings", [
    Settings(rule="nope"), Settings(problem="nope"), Settings(schedule="nope"),
    Settings(rule="gd", rule_params={"lr": 0.0}), Settings(rule="gd", rule_params={"lr": -1}),
    Settings(rule="momentum", rule_params={"beta": 1.0}), Settings(rule="gd", rule_params={"beta": 0.5}),
    Settings(steps_per_epoch=0),
])
def test_bad_settings_are_one_line_param_errors(settings):
    with pytest.raises(ParamError) as info:
        Run(settings)
    assert "\n" not in str(info.value) and str(info.value)
