"""The momentum forms panel's numbers: one trajectory in three spellings, bounds, noise factor."""

from __future__ import annotations

import numpy as np
import pytest

from descent_engine import theory
from descent_engine.momentum_forms import momentum_forms, trajectory
from descent_engine.problems import make_problem
from descent_engine.run import Run, Settings

SETTINGS = [
    ("gd", {"lr": 0.05}),
    ("momentum", {"lr": 0.05, "beta": 0.9, "init": "zero", "bias_correction": False}),
    ("momentum", {"lr": 0.02, "beta": 0.6, "init": "first", "bias_correction": False}),
    ("momentum", {"lr": 0.02, "beta": 0.8, "init": "zero", "bias_correction": True}),
    ("sgd_momentum", {"lr": 0.01, "momentum": 0.9}),
    ("nesterov", {"lr": 0.01, "momentum": 0.85}),
]
IDS = [f"{r}-{i}" for i, (r, _) in enumerate(SETTINGS)]


@pytest.mark.parametrize("rule, hp", SETTINGS, ids=IDS)
def test_every_exact_form_makes_the_rules_own_trajectory(rule, hp):
    problem = make_problem("quadratic", {"kappa": 20.0, "angle": 25.0})
    run = Run(Settings("quadratic", rule, problem_params={"kappa": 20.0, "angle": 25.0}, rule_params=hp))
    run.step(150)
    engine = run.history.arrays()["w"]
    forms = momentum_forms(rule, hp, theory.spectrum(problem.hessian()).lam_max)
    assert forms is not None
    exact = {f.name for f in forms.forms if f.exact}
    assert exact >= ({"ewa"} if hp.get("bias_correction") else {"ewa", "torch"})
    for form in forms.forms:
        if not form.hparams:  # Nesterov has no heavy-ball spelling
            continue
        path = trajectory(form, problem.full_grad, problem.w0, 150)
        gap = np.max(np.abs(path - engine))
        if form.exact:
            # the same recurrence regrouped: rounding of order eps |w| per step, summed over a contracting run
            assert gap < 1e-12, (form.name, gap)
        else:
            assert gap > 1e-6, (form.name, gap)  # "not the same trajectory" is true


def test_the_conversions_are_the_closed_forms():
    f = momentum_forms("momentum", {"lr": 0.05, "beta": 0.9, "init": "zero"})
    assert f.form("heavy_ball").hparams == {"alpha": pytest.approx(0.005), "mu": 0.9}
    assert f.form("torch").hparams == {"lr": pytest.approx(0.005), "momentum": 0.9, "dampening": 0.0, "nesterov": False}
    f = momentum_forms("momentum", {"lr": 1e-4, "beta": 0.4, "init": "first"})  # the note's GDM
    assert f.form("torch").hparams == {"lr": 1e-4, "momentum": 0.4, "dampening": 0.4, "nesterov": False}
    f = momentum_forms("sgd_momentum", {"lr": 0.01, "momentum": 0.9})
    assert f.form("ewa").hparams["lr"] == pytest.approx(0.1) and f.form("ewa").hparams["beta"] == 0.9
    for form in f.forms:  # one trajectory: one effective learning rate, lr / (1 - beta)
        assert form.effective_lr == pytest.approx(0.1, rel=1e-14)
    assert f.effective_lr == pytest.approx(0.1, rel=1e-14)
    assert momentum_forms("adam", {"lr": 1e-3}) is None


@pytest.mark.parametrize("rule, hp", SETTINGS, ids=IDS)
@pytest.mark.parametrize("lam_max", [1.0, 250.0])
def test_stability_bounds_match_theory_in_every_form(rule, hp, lam_max):
    forms = momentum_forms(rule, hp, lam_max)
    own = {"gd": "heavy_ball", "momentum": "ewa", "sgd_momentum": "torch", "nesterov": "torch"}[rule]
    bound = forms.form(own).stable_below
    assert bound == pytest.approx(theory.stable_lr(rule, hp, lam_max), rel=1e-12)
    # each form's bound, turned into the rule's own lr, is the same bound (one trajectory, one edge)
    for form in forms.forms:
        if form.stable_below is not None:
            assert form.stable_below * hp["lr"] / form.hparams.get("lr", form.hparams.get("alpha")) == \
                pytest.approx(bound, rel=1e-12)
    # and it is the edge of the iteration map: just inside contracts, just outside does not
    x = bound * lam_max
    inside = theory.direction_rate(rule, hp, 0.999 * x)
    outside = theory.direction_rate(rule, hp, 1.001 * x)
    assert inside < 1.0 < outside


@pytest.mark.parametrize("rule, hp", [("momentum", {"lr": 0.1, "beta": 0.9, "init": "zero"}),
                                      ("momentum", {"lr": 0.1, "beta": 0.5, "init": "zero"}),
                                      ("sgd_momentum", {"lr": 0.1, "momentum": 0.7}),
                                      ("nesterov", {"lr": 0.1, "momentum": 0.8}),
                                      ("gd", {"lr": 0.1})])
def test_the_noise_factor_against_a_long_simulated_average(rule, hp):
    """Gradient = iid N(0, 1) noise in a flat direction: var(w_{k+1} - w_k) / (lr_eff^2 var(g))."""
    forms = momentum_forms(rule, hp)
    steps, width, burn = 2500, 200, 500  # 200 independent flat coordinates side by side
    noise = np.random.default_rng(11).standard_normal((steps, width))
    for form in forms.forms:
        if not form.hparams:
            continue
        it = iter(noise)
        path = trajectory(form, lambda w: next(it), np.zeros(width), steps - 1)
        updates = -np.diff(path, axis=0)[burn:]  # past the start-up (0.9^500 ~ 1e-23)
        factor = updates.var() / (forms.effective_lr ** 2 * noise.var())
        # 2000 x 200 samples, correlated over ~(1+b)/(1-b) = 19 steps at most: the variance is known
        # to sqrt(2 * 19 / 400000) ~ 1% (one sigma); 5% is five of them
        assert factor == pytest.approx(forms.noise_factor, rel=0.05), (form.name, factor)
    if rule == "momentum":
        b = hp["beta"]
        assert forms.noise_factor == pytest.approx((1 - b) / (1 + b), rel=1e-15)
