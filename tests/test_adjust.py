"""Settings arithmetic (descent_engine.adjust) against worked examples.

The note's problem is rebuilt here from the note's recipe, and the stability bounds are the closed
forms written out in each test, so nothing below trusts the engine's own theory module.
"""

from __future__ import annotations

import numpy as np
import pytest

from descent_engine import adjust
from descent_engine.params import ParamError
from descent_engine.presets import PRESETS
from descent_engine.run import Settings


def _note_lam_max() -> float:
    np.random.seed(0)
    X = np.random.normal([-3, 0], [3, 1], [500, 2])
    return float(np.linalg.eigvalsh(2 * X.T @ X).max())


LAM_MAX = _note_lam_max()
NOTES_GDM = PRESETS["notes-gdm"].settings


def test_the_note_problem_is_the_one_the_design_quotes():
    assert LAM_MAX == pytest.approx(1.87e4, rel=3e-3)


def test_switch_to_nesterov_lands_below_its_bound_as_run_does():
    # Nesterov (torch form, mu = 0.9) is stable while lr lam_max < 2 (1 + mu) / (1 + 2 mu); the
    # note's lr 1e-4 is past that (7.24e-5), so the switch takes 95% of the bound: 6.88e-5
    bound = 2 * 1.9 / 2.8 / LAM_MAX
    assert bound == pytest.approx(7.24e-5, rel=1e-3)
    s = adjust.switch_rule(NOTES_GDM, "nesterov")
    assert s.rule == "nesterov"
    assert s.rule_params["lr"] == pytest.approx(0.95 * bound, rel=1e-12)
    assert s.rule_params["lr"] == pytest.approx(6.88e-5, rel=1e-3)
    assert not s.lr_explicit  # a suggested lr: the next switch suggests again


def test_switch_keeps_a_chosen_lr_that_is_stable_for_the_new_rule():
    # sgd_momentum at mu 0.9 is stable below 2 (1 + 0.9) / lam_max = 2.03e-4: 1e-4 is kept
    chosen = NOTES_GDM.with_rule_param("lr", 1.5e-4)
    s = adjust.switch_rule(chosen, "sgd_momentum")
    assert 1.5e-4 < 3.8 / LAM_MAX
    assert s.rule_params == {"lr": 1.5e-4}
    assert s.lr_explicit


def test_switch_drops_a_chosen_lr_that_is_unstable_for_the_new_rule():
    # gd is stable below 2 / lam_max = 1.07e-4; 1.5e-4 would diverge, so gd gets its suggestion:
    # the problem's hint 1e-4 (already below 95% of the bound, 1.016e-4)
    chosen = NOTES_GDM.with_rule_param("lr", 1.5e-4)
    s = adjust.switch_rule(chosen, "gd")
    assert 1.5e-4 > 2 / LAM_MAX and 1e-4 < 0.95 * 2 / LAM_MAX
    assert s.rule_params == {"lr": 1e-4}


def test_switch_between_families_takes_the_suggestion():
    # an adaptive rule's lr is a per-coordinate step: notes-ls suggests 5e-3 for them
    s = adjust.switch_rule(NOTES_GDM, "adam")
    assert s.rule_params == {"lr": 5e-3}
    back = adjust.switch_rule(s.with_rule_param("lr", 1e-5), "momentum")
    assert back.rule_params == {"lr": 1e-4}  # the chosen 1e-5 was Adam's, not momentum's


def test_switch_rule_cycles_back_to_the_defaults_of_the_rule():
    s = adjust.switch_rule(adjust.switch_rule(NOTES_GDM, "gd"), "momentum")
    assert s.rule_params == {"lr": 1e-4}  # the registry's beta 0.9, init first
    assert s.resolved().hp["beta"] == 0.9


def test_switch_problem_resuggests_the_lr():
    s = adjust.switch_problem(NOTES_GDM, "quadratic")
    # quadratic: hint min(0.05, 1/kappa) = 0.05 at kappa 10; momentum beta 0.9 is stable below
    # 2 (1.9) / 0.1 / 10 = 3.8, so the hint stands
    assert s.problem == "quadratic" and s.rule_params["lr"] == 0.05 and not s.lr_explicit


def test_set_param_of_a_problem_keeps_a_stable_chosen_lr_and_refits_a_suggested_one():
    s = adjust.switch_problem(Settings("quadratic", "gd"), "quadratic")
    assert s.rule_params["lr"] == 0.05  # min(0.05, 1 / 10)
    refit = adjust.set_param(s, "problem", "kappa", "100")
    assert refit.rule_params["lr"] == pytest.approx(0.01)  # min(0.05, 1/100); bound 2/100 * 0.95 = 0.019
    chosen = s.with_rule_param("lr", 0.015)
    kept = adjust.set_param(chosen, "problem", "kappa", 100.0)
    assert kept.rule_params["lr"] == 0.015  # 0.015 < 2 / 100
    dropped = adjust.set_param(chosen, "problem", "kappa", 1000.0)
    assert dropped.rule_params["lr"] == pytest.approx(1e-3)  # 0.015 > 2 / 1000: suggestion 1/1000


def test_set_param_names_what_the_owner_has():
    with pytest.raises(ParamError, match=r"rule gd has no setting 'beta' \(it has: lr\)"):
        adjust.set_param(Settings("notes-ls", "gd"), "rule", "beta", 0.5)
    with pytest.raises(ParamError, match="must be in"):
        adjust.set_param(NOTES_GDM, "rule", "beta", "1.5")


@pytest.mark.parametrize("start, up, down", [
    (0.4, 0.5, 0.3),        # the note's 0.4 moves by 0.1 both ways (it used to jump to 0 on B)
    (0.0, 0.1, 0.0),        # the bottom rung
    (0.9, 0.95, 0.8),
    (0.95, 0.98, 0.9),
    (0.98, 0.99, 0.95),
    (0.99, 0.995, 0.98),
    (0.995, 0.999, 0.99),
    (0.999, 0.999, 0.995),  # the top rung
    (0.93, 0.95, 0.9),      # between rungs: to the neighbours
])
def test_beta_ladder(start, up, down):
    assert adjust.ladder_step(start, 1) == up
    assert adjust.ladder_step(start, -1) == down


def test_the_ladder_holds_the_note_and_the_lecture():
    for beta in (0.4, 0.5, 0.9, 0.98):
        assert beta in adjust.BETA_LADDER
    assert list(adjust.BETA_LADDER) == sorted(set(adjust.BETA_LADDER))


def test_step_beta_moves_the_rules_main_beta():
    assert adjust.step_beta(NOTES_GDM, -1).rule_params["beta"] == 0.3
    adam = adjust.switch_rule(NOTES_GDM, "adam")
    assert adjust.step_beta(adam, 1).resolved().hp["beta1"] == 0.95
    with pytest.raises(ParamError, match="gd has no beta"):
        adjust.step_beta(Settings("notes-ls", "gd"), 1)


def test_scale_lr_clamps_into_range_and_makes_it_chosen():
    s = adjust.with_suggested_lr(Settings("notes-ls", "gd"))
    assert not s.lr_explicit
    doubled = adjust.scale_lr(s, 2.0)
    assert doubled.rule_params["lr"] == 2e-4 and doubled.lr_explicit
    assert adjust.scale_lr(s.with_rule_param("lr", 9e5), 2.0).rule_params["lr"] == 1e6  # the top of (0, 1e6]


def test_compare_set_gives_each_rule_its_own_lr():
    rules = adjust.compare_set(NOTES_GDM, ["gd", "momentum", "adam", "nesterov"])
    by_rule = {s.rule: s.rule_params["lr"] for s in rules}
    assert rules[1] == NOTES_GDM  # the base rule keeps the base's own settings
    assert by_rule["gd"] == 1e-4
    assert by_rule["adam"] == 5e-3  # not the gd lr, at which Adam would barely move
    assert by_rule["nesterov"] == pytest.approx(0.95 * 2 * 1.9 / 2.8 / LAM_MAX, rel=1e-12)


def test_compare_set_at_the_same_lr_is_the_notes_comparison():
    rules = adjust.compare_set(NOTES_GDM, ["gd", "momentum", "gd"], same_lr=True)
    assert [s.rule for s in rules] == ["gd", "momentum"]
    assert [s.rule_params["lr"] for s in rules] == [1e-4, 1e-4]


def test_apply_to_one_run_or_to_all():
    rules = adjust.compare_set(NOTES_GDM, ["gd", "momentum"], same_lr=True)
    one = adjust.apply(rules, lambda s: adjust.scale_lr(s, 0.5), index=0)
    assert [s.rule_params["lr"] for s in one] == [5e-5, 1e-4]
    every = adjust.apply(rules, lambda s: adjust.step_beta(s, 1))
    assert every[0] == rules[0]  # gd has no beta: left as it is
    assert every[1].rule_params["beta"] == 0.5
    with pytest.raises(ParamError):
        adjust.apply(rules[:1], lambda s: adjust.step_beta(s, 1))


def test_the_notes_comparison_preset_is_the_two_note_runs():
    runs = PRESETS["notes-compare"].compare_set()
    assert runs == [PRESETS["notes-gd"].settings, PRESETS["notes-gdm"].settings]
    assert PRESETS["notes-gdm"].compare_set() == [PRESETS["notes-gdm"].settings]


@pytest.mark.parametrize("schedule, epochs, expected", [
    ("cosine", 20, {"period": 20, "min_factor": None}),       # 100 epochs -> 20
    ("warmup", 20, {"warmup_epochs": 2}),                     # 10 of 100 -> 2 of 20
    ("staircase", 10, {"milestones": (5, 10)}),               # 50, 100 of 100 -> 5, 10 of 10
    ("epoch", 50, {"decay": 0.02}),                           # a rate per epoch: twice as fast
    ("polynomial", 50, {"base": 0.95 ** 2}),                  # the same total decay 0.95^100
    ("constant", 7, {}),
])
def test_fit_schedule_stretches_by_each_knobs_unit(schedule, epochs, expected):
    fitted = adjust.fit_schedule(schedule, epochs, 100)
    for name, value in expected.items():
        if value is None:
            assert name not in fitted  # a factor of eta0, not of time: left at its default
        else:
            assert fitted[name] == pytest.approx(value, rel=1e-12)
