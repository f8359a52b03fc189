"""Theory: closed forms, the stability boundary by bisection, optimality by grid search, and
predicted rates against rates measured by real runs on quadratics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from descent_engine import theory
from descent_engine.problems import make_problem
from descent_engine.rules import RULES
from descent_engine.run import Run, Settings
from reference import bisect_boundary, spectral_radius

LINEAR = {"gd": None, "momentum": "beta", "sgd_momentum": "momentum", "nesterov": "momentum"}
SPECTRA = [(1.0, 10.0), (1000.0, 18745.0), (0.5, 2.0), (3.0, 3.0e4)]


def hp_for(rule, beta):
    name = LINEAR[rule]
    return {} if name is None else {name: beta}


def test_linear_flags_match_the_rules_with_a_theory():
    assert {n for n, r in RULES.items() if r.linear} == set(LINEAR)
    for name in set(RULES) - set(LINEAR):
        assert theory.stability_x(name, RULES[name].hparams()) is None
        assert theory.predicted_rate(name, RULES[name].hparams(), 1e-3, [1.0, 2.0]) is None
        assert theory.optimum(name, 1.0, 2.0) is None


def test_spectrum_of_a_known_matrix():
    sp = theory.spectrum(np.array([[5.0, 2.0], [2.0, 2.0]]))  # eigenvalues 1 and 6
    np.testing.assert_allclose(sp.eigenvalues, [1.0, 6.0], rtol=1e-14)
    assert sp.lam_min == pytest.approx(1.0) and sp.lam_max == pytest.approx(6.0)
    assert sp.kappa == pytest.approx(6.0)


# ---------------------------------------------------------------------------------------------
# closed forms
@pytest.mark.parametrize("lmin,lmax", SPECTRA)
def test_gd_closed_forms(lmin, lmax):
    k = lmax / lmin
    assert theory.stable_lr("gd", {}, lmax) == pytest.approx(2 / lmax, rel=1e-15)
    o = theory.optimum("gd", lmin, lmax)
    assert o.lr == pytest.approx(2 / (lmin + lmax), rel=1e-15)
    assert o.rate == pytest.approx((k - 1) / (k + 1), rel=1e-15)
    assert o.beta is None
    assert theory.predicted_rate("gd", {}, o.lr, [lmin, lmax]) == pytest.approx((k - 1) / (k + 1), abs=1e-14)
    # gd's rate is max |1 - lr lam|, by hand
    for lr in (0.3 / lmax, 1.0 / lmax, 1.9 / lmax, 2.5 / lmax):
        expected = max(abs(1 - lr * lmin), abs(1 - lr * lmax))
        assert theory.predicted_rate("gd", {}, lr, [lmin, lmax]) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("lmin,lmax", SPECTRA)
def test_heavy_ball_closed_forms(lmin, lmax):
    sk = math.sqrt(lmax / lmin)
    o = theory.optimum("sgd_momentum", lmin, lmax)
    assert o.lr == pytest.approx(4 / (math.sqrt(lmax) + math.sqrt(lmin)) ** 2, rel=1e-14)
    assert o.beta_name == "momentum"
    assert o.beta == pytest.approx(((sk - 1) / (sk + 1)) ** 2, rel=1e-14, abs=1e-15)
    assert o.rate == pytest.approx((sk - 1) / (sk + 1), rel=1e-14, abs=1e-15)
    # at the optimum both extreme directions have a double root of modulus sqrt(mu); the
    # eigenvalues of a defective matrix are only accurate to sqrt(machine eps)
    got = theory.predicted_rate("sgd_momentum", {"momentum": o.beta}, o.lr, [lmin, lmax])
    assert got == pytest.approx(o.rate, abs=1e-6)


@pytest.mark.parametrize("lmin,lmax", SPECTRA)
def test_ewa_momentum_optimum_is_the_heavy_ball_with_lr_over_one_minus_beta(lmin, lmax):
    hb = theory.optimum("sgd_momentum", lmin, lmax)
    o = theory.optimum("momentum", lmin, lmax)
    assert o.beta_name == "beta" and o.beta == pytest.approx(hb.beta, rel=1e-15)
    assert o.lr == pytest.approx(hb.lr / (1 - hb.beta), rel=1e-14)
    assert o.rate == pytest.approx(hb.rate, rel=1e-15)
    got = theory.predicted_rate("momentum", {"beta": o.beta}, o.lr, [lmin, lmax])
    assert got == pytest.approx(o.rate, abs=1e-6)


@pytest.mark.parametrize("lmin,lmax", SPECTRA)
def test_nesterov_lessard_recht_packard_values(lmin, lmax):
    k = lmax / lmin
    r = math.sqrt(3 * k + 1)
    o = theory.optimum("nesterov", lmin, lmax)
    assert o.lr == pytest.approx(4 / (3 * lmax + lmin), rel=1e-15)
    assert o.beta == pytest.approx((r - 2) / (r + 2), rel=1e-14, abs=1e-15)
    assert o.rate == pytest.approx(1 - 2 / r, rel=1e-14, abs=1e-15)
    got = theory.predicted_rate("nesterov", {"momentum": o.beta}, o.lr, [lmin, lmax])
    assert got == pytest.approx(o.rate, abs=1e-6)


@pytest.mark.parametrize("beta", [0.0, 0.1, 0.4, 0.6, 0.9, 0.99])
def test_stability_x_closed_forms(beta):
    assert theory.stability_x("gd", {}) == 2.0
    assert theory.stability_x("sgd_momentum", {"momentum": beta}) == pytest.approx(2 * (1 + beta))
    assert theory.stability_x("momentum", {"beta": beta}) == pytest.approx(2 * (1 + beta) / (1 - beta))
    assert theory.stability_x("nesterov", {"momentum": beta}) == pytest.approx(2 * (1 + beta) / (1 + 2 * beta))
    lam = 123.0
    for rule in LINEAR:
        hp = hp_for(rule, beta)
        assert theory.stable_lr(rule, hp, lam) == pytest.approx(theory.stability_x(rule, hp) / lam, rel=1e-15)


# ---------------------------------------------------------------------------------------------
# numerically
@pytest.mark.parametrize("rule", sorted(LINEAR))
@pytest.mark.parametrize("beta", [0.0, 0.2, 0.4, 0.75, 0.95])
def test_stability_x_is_the_bisected_boundary_of_the_spectral_radius(rule, beta):
    hp = hp_for(rule, beta)

    def stable(x):
        return spectral_radius(theory.iteration_matrix(rule, hp, x)) < 1.0

    boundary = bisect_boundary(stable, 1e-6, 1e4)
    assert boundary == pytest.approx(theory.stability_x(rule, hp), rel=1e-8)
    # and the stable set is the whole interval below it
    for x in np.linspace(1e-3, boundary * (1 - 1e-6), 200):
        assert stable(x), x
    for x in np.linspace(boundary * (1 + 1e-6), boundary * 3, 50):
        assert not stable(x), x


@pytest.mark.parametrize("rule", sorted(LINEAR))
def test_iteration_matrix_is_one_step_of_the_rule(rule):
    """The map on (e, u = lr v) is what the rule's update does on f(w) = lam w^2 / 2 in 1-D."""
    lam, lr, beta = 3.0, 0.2, 0.35
    values = {"lr": lr, **hp_for(rule, beta)}
    if rule == "momentum":
        values["init"] = "zero"
    r = RULES[rule]
    hp = r.hparams(values)
    w = np.array([1.7])
    state = r.init(w, hp)
    for _ in range(3):  # leave the first step behind so the state is generic
        d, state = r.update(lam * w, state, lr, hp, w)
        w = w + d
    e, u = float(w[0]), float(lr * state["v"][0]) if "v" in state else 0.0
    d, new_state = r.update(lam * w, state, lr, hp, w)
    e_next = float((w + d)[0])
    m = theory.iteration_matrix(rule, hp, lr * lam)
    mapped = m @ (np.array([e, u]) if m.shape[0] == 2 else np.array([e]))
    assert mapped[0] == pytest.approx(e_next, rel=1e-12)
    if m.shape[0] == 2:
        assert mapped[1] == pytest.approx(lr * float(new_state["v"][0]), rel=1e-12)


@pytest.mark.parametrize("rule", sorted(LINEAR))
@pytest.mark.parametrize("lmin,lmax", [(1.0, 10.0), (1000.0, 18745.0)])
def test_the_optimum_beats_every_nearby_setting(rule, lmin, lmax):
    o = theory.optimum(rule, lmin, lmax)
    base = theory.predicted_rate(rule, hp_for(rule, o.beta), o.lr, [lmin, lmax])
    for f in np.linspace(0.8, 1.2, 21):
        for db in (np.linspace(-0.1, 0.1, 21) if LINEAR[rule] else [0.0]):
            beta = (o.beta or 0.0) + db
            if not 0 <= beta < 1:
                continue
            rate = theory.predicted_rate(rule, hp_for(rule, beta), o.lr * f, [lmin, lmax])
            assert rate >= base - 1e-6, (rule, f, db, rate, base)


def test_design_numbers_for_notes_ls():
    p = make_problem("notes-ls")
    sp = theory.spectrum(p.hessian())
    assert sp.lam_max == pytest.approx(1.87e4, rel=5e-3)
    assert sp.lam_min == pytest.approx(1.00e3, rel=5e-3)
    assert sp.kappa == pytest.approx(18.7, rel=5e-3)
    assert theory.stable_lr("gd", {}, sp.lam_max) == pytest.approx(1.07e-4, rel=5e-3)
    assert theory.stable_lr("momentum", {"beta": 0.4}, sp.lam_max) == pytest.approx(2.5e-4, rel=1e-2)
    o = theory.optimum("momentum", sp.lam_min, sp.lam_max)
    assert o.lr == pytest.approx(2.3e-4, rel=1e-2)
    assert o.beta == pytest.approx(0.39, abs=5e-3)
    # the note's lr 1e-4 is stable for GD, but close to the edge; 3e-4 is past it
    assert theory.stable_lr("gd", {}, sp.lam_max) > 1e-4 > 0.9 * theory.stable_lr("gd", {}, sp.lam_max)


def test_run_theory_report_for_the_notes_momentum():
    run = Run(Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4}))
    t = run.theory()
    assert not t.local and not t.unstable
    assert t.lam_max == pytest.approx(1.87e4, rel=5e-3) and t.kappa == pytest.approx(18.7, rel=5e-3)
    assert t.stable_lr == pytest.approx(2.5e-4, rel=1e-2)
    assert t.optimum.lr == pytest.approx(2.3e-4, rel=1e-2)
    assert 0 < t.predicted_rate < 1
    bad = Run(Settings("notes-ls", "gd", rule_params={"lr": 3e-4})).theory()
    assert bad.unstable and bad.predicted_rate > 1
    rosen = Run(Settings("rosenbrock", "gd", rule_params={"lr": 1e-3})).theory()
    assert rosen.local


def test_a_tiny_or_zero_learning_rate_is_not_past_the_stability_bound():
    """Cosine annealing to min_factor 0 ends at lr = 0: slow, not unstable."""
    H = make_problem("notes-ls").hessian()
    for rule in LINEAR:
        hp = RULES[rule].hparams()
        assert not theory.report(H, rule, hp, 0.0).unstable, rule
        assert not theory.report(H, rule, hp, 1e-30).unstable, rule


def test_measured_rate_of_a_synthetic_geometric_gap():
    k = np.arange(200)
    gap = 3.0 * 0.9 ** (2 * k)  # ||w - w*|| shrinks by 0.9: the gap by 0.81
    assert theory.measured_rate(gap, 0.0) == pytest.approx(0.9, rel=1e-12)
    assert theory.measured_rate(7.0 + gap[:60], 7.0) == pytest.approx(0.9, rel=1e-6)
    assert theory.measured_rate(gap[:4], 0.0) is None  # too few points
    # decimated histories: the fit uses the steps given, not the row numbers
    assert theory.measured_rate(gap[::4], 0.0, steps=k[::4]) == pytest.approx(0.9, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# predicted against measured on real runs: settings chosen so the slowest direction has a
# simple real root of modulus 0.85..0.98 (a clean straight line over a 100-step window)
def _cases():
    out = []
    for problem, pp in [("notes-ls", {}), ("quadratic", {"kappa": 10.0, "angle": 30.0}),
                        ("quadratic", {"kappa": 25.0, "angle": -60.0})]:
        for s in (1.0, 0.5):
            for rule, hp in [("gd", {}), ("momentum", {"beta": 0.3}), ("sgd_momentum", {"momentum": 0.3}),
                             ("sgd_momentum", {"momentum": 0.1}), ("nesterov", {"momentum": 0.3})]:
                out.append((problem, pp, s, rule, hp))
    out.append(("notes-ls", {}, None, "gd", {"lr": 1e-4}))  # the note's runs
    out.append(("notes-ls", {}, None, "momentum", {"lr": 1e-4, "beta": 0.4}))
    return out


@pytest.mark.parametrize("problem,pp,s,rule,hp", _cases())
def test_predicted_rate_matches_the_rate_measured_by_a_run(problem, pp, s, rule, hp):
    lam_max = float(np.linalg.eigvalsh(make_problem(problem, pp).hessian())[-1])
    values = dict(hp) if s is None else {**hp, "lr": s / lam_max}
    run = Run(Settings(problem, rule, problem_params=pp, rule_params=values))
    run.step(800)
    assert run.diverged_at is None
    predicted = run.theory().predicted_rate
    measured = run.measured_rate(100)
    assert 0.8 < predicted < 1
    assert measured == pytest.approx(predicted, abs=1e-3)


@pytest.mark.parametrize("rule,hp,lr", [("gd", {}, 1.2e-4), ("sgd_momentum", {"momentum": 0.5}, 2.5e-4),
                                        ("nesterov", {"momentum": 0.5}, 1.2e-4)])
def test_predicted_instability_is_a_real_divergence(rule, hp, lr):
    run = Run(Settings("notes-ls", rule, rule_params={**hp, "lr": lr}))
    assert run.theory().unstable
    assert run.step(5000) < 5000
    assert run.diverged_at is not None
