"""Update rules: hand-worked first steps, reference implementations, and hypothesis properties.

The tiny problem of the hand-worked steps is ``g(w) = diag(2, 0.5) w`` from ``w0 = (1, -2)``, so
``g0 = (2, -1)``; every number below is written out from the rule's formula.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from descent_engine.params import ParamError
from descent_engine.rules import ALIASES, RULES, get_rule, note_momentum_beta
from reference import make_reference, reference_trajectory

H_TINY = np.array([2.0, 0.5])
W0_TINY = np.array([1.0, -2.0])
ALL_RULES = sorted(RULES)
#: one ulp of 1.0: a correctly rounded operation errs by at most EPS/2 relative
EPS = np.finfo(float).eps


def tiny_grad(w):
    return H_TINY * w


def steps(rule_name, lr, n, **values):
    rule = get_rule(rule_name)
    hp = rule.hparams(values)
    w = W0_TINY.copy()
    state = rule.init(w, hp)
    out = [w]
    for _ in range(n):
        d, state = rule.update(tiny_grad(w), state, lr, hp, w)
        w = w + d
        out.append(w)
    return out


def close(a, b, rtol=1e-13):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=0)


# ---------------------------------------------------------------------------------------------
# first two steps, by hand
def test_gd_two_steps_by_hand():
    _, w1, w2 = steps("gd", 0.1, 2)
    close(w1, [1 - 0.1 * 2, -2 + 0.1 * 1])  # (0.8, -1.9); g1 = (1.6, -0.95)
    close(w2, [0.8 - 0.1 * 1.6, -1.9 + 0.1 * 0.95])  # (0.64, -1.805)


def test_sgd_alias_is_gd():
    assert ALIASES["sgd"] == "gd"
    assert get_rule("sgd") is get_rule("gd")


def test_momentum_first_init_two_steps_by_hand():
    _, w1, w2 = steps("momentum", 0.1, 2, beta=0.5, init="first")
    # v1 = 0.5 g0 + 0.5 g0 = (2, -1)
    close(w1, [0.8, -1.9])
    # g1 = (1.6, -0.95); v2 = 0.5 (2, -1) + 0.5 (1.6, -0.95) = (1.8, -0.975)
    close(w2, [0.8 - 0.18, -1.9 + 0.0975])


def test_momentum_zero_init_two_steps_by_hand():
    _, w1, w2 = steps("momentum", 0.1, 2, beta=0.5, init="zero")
    # v1 = 0.5 * 0 + 0.5 g0 = (1, -0.5)
    close(w1, [0.9, -1.95])
    # g1 = (1.8, -0.975); v2 = 0.5 (1, -0.5) + 0.5 (1.8, -0.975) = (1.4, -0.7375)
    close(w2, [0.9 - 0.14, -1.95 + 0.07375])


def test_momentum_bias_corrected_two_steps_by_hand():
    _, w1, w2 = steps("momentum", 0.1, 2, beta=0.5, init="zero", bias_correction=True)
    # v1 = (1, -0.5); v1 / (1 - 0.5) = (2, -1): the first step is plain GD's
    close(w1, [0.8, -1.9])
    # g1 = (1.6, -0.95); v2 = 0.5 (1, -0.5) + 0.5 (1.6, -0.95) = (1.3, -0.725); / (1 - 0.25)
    close(w2, [0.8 - 0.1 * 1.3 / 0.75, -1.9 + 0.1 * 0.725 / 0.75])


def test_momentum_bias_correction_with_first_init_is_rejected():
    with pytest.raises(ParamError, match="init zero"):
        get_rule("momentum").hparams({"init": "first", "bias_correction": True})


def test_sgd_momentum_two_steps_by_hand():
    _, w1, w2 = steps("sgd_momentum", 0.1, 2, momentum=0.9)
    # v1 = g0 = (2, -1)
    close(w1, [0.8, -1.9])
    # g1 = (1.6, -0.95); v2 = 0.9 (2, -1) + (1.6, -0.95) = (3.4, -1.85)
    close(w2, [0.8 - 0.34, -1.9 + 0.185])


def test_nesterov_two_steps_by_hand():
    _, w1, w2 = steps("nesterov", 0.1, 2, momentum=0.9)
    # v1 = g0 = (2, -1); step g0 + 0.9 v1 = (3.8, -1.9)
    close(w1, [1 - 0.38, -2 + 0.19])  # (0.62, -1.81)
    # g1 = (1.24, -0.905); v2 = 0.9 (2, -1) + g1 = (3.04, -1.805); step g1 + 0.9 v2 = (3.976, -2.5295)
    close(w2, [0.62 - 0.3976, -1.81 + 0.25295])


def test_rmsprop_two_steps_by_hand():
    _, w1, w2 = steps("rmsprop", 0.01, 2, decay_rate=0.9, eps=1e-8)
    # cache1 = 0.1 g0^2 = (0.4, 0.1); eps inside the root
    w1_hand = np.array([1 - 0.01 * 2 / np.sqrt(0.4 + 1e-8), -2 + 0.01 * 1 / np.sqrt(0.1 + 1e-8)])
    close(w1, w1_hand)
    g1 = np.array([2 * w1_hand[0], 0.5 * w1_hand[1]])
    cache2 = 0.9 * np.array([0.4, 0.1]) + 0.1 * g1**2
    close(w2, w1_hand - 0.01 * g1 / np.sqrt(cache2 + 1e-8))
    # the first step of RMSProp moves each coordinate by about lr / sqrt(1 - rho)
    close(np.abs(w1 - W0_TINY), [0.01 / np.sqrt(0.1)] * 2, rtol=1e-7)


def test_adagrad_two_steps_by_hand():
    _, w1, w2 = steps("adagrad", 0.1, 2, eps=1e-10)
    # cache1 = g0^2 = (4, 1): the first step is lr sign(g0) (up to eps)
    close(w1, [1 - 0.1 * 2 / (2 + 1e-10), -2 + 0.1 * 1 / (1 + 1e-10)])
    close(w1, [0.9, -1.9], rtol=1e-10)
    # g1 = (1.8, -0.95); cache2 = (4 + 3.24, 1 + 0.9025)
    close(w2, [0.9 - 0.1 * 1.8 / np.sqrt(7.24), -1.9 + 0.1 * 0.95 / np.sqrt(1.9025)], rtol=1e-9)


def test_adam_two_steps_by_hand():
    _, w1, w2 = steps("adam", 0.1, 2, beta1=0.9, beta2=0.999, eps=1e-8)
    # step 1: m-hat = g0, v-hat = g0^2, so the step is -lr g0 / (|g0| + eps) = -lr sign(g0)
    close(w1, [1 - 0.1 * 2 / (2 + 1e-8), -2 + 0.1 * 1 / (1 + 1e-8)], rtol=1e-14)
    close(w1, [0.9, -1.9], rtol=1e-8)
    # g1 = (1.8, -0.95); m2 = 0.9 * 0.1 g0 + 0.1 g1 = (0.36, -0.185), m-hat = m2 / 0.19
    # v2 = 0.999 * 0.001 g0^2 + 0.001 g1^2 = (0.007236, 0.0019015), v-hat = v2 / 0.001999
    mhat = np.array([0.36, -0.185]) / 0.19
    vhat = np.array([0.007236, 0.0019015]) / 0.001999
    close(w2, np.array([0.9, -1.9]) - 0.1 * mhat / (np.sqrt(vhat) + 1e-8), rtol=1e-8)


def test_adamw_two_steps_by_hand():
    _, w1, w2 = steps("adamw", 0.1, 2, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)
    # step 1: w0 (1 - lr wd) - lr sign(g0) = (1 - 0.01 - 0.1, -2 + 0.02 + 0.1)
    close(w1, [0.89, -1.88], rtol=1e-8)
    # g1 = (1.78, -0.94); m2 = (0.18 + 0.178, -0.09 - 0.094); v2 = 0.999e-3 g0^2 + 1e-3 g1^2
    mhat = np.array([0.358, -0.184]) / 0.19
    vhat = (0.999e-3 * np.array([4.0, 1.0]) + 1e-3 * np.array([1.78**2, 0.94**2])) / 0.001999
    w2_hand = np.array([0.89, -1.88]) * (1 - 0.01) - 0.1 * mhat / np.sqrt(vhat)
    close(w2, w2_hand, rtol=1e-7)


# ---------------------------------------------------------------------------------------------
# against the reference implementations on a random quadratic, 50 steps
RULE_SETTINGS = [
    ("gd", {}),
    ("momentum", {"beta": 0.7, "init": "first"}),
    ("momentum", {"beta": 0.7, "init": "zero"}),
    ("momentum", {"beta": 0.7, "init": "zero", "bias_correction": True}),
    ("sgd_momentum", {"momentum": 0.8}),
    ("nesterov", {"momentum": 0.8}),
    ("rmsprop", {"decay_rate": 0.9, "eps": 1e-8}),
    ("adagrad", {"eps": 1e-10}),
    ("adam", {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    ("adamw", {"beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.05}),
]
#: rules whose engine code performs the same floating-point operations in the same order as the
#: reference (the note's code, or the same formula): these must agree bit for bit
EXACT = {"gd", "momentum", "sgd_momentum", "nesterov", "rmsprop", "adam"}


def random_quadratic(seed, dim=3):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    H = q @ np.diag(rng.uniform(0.5, 5.0, dim)) @ q.T
    b = rng.standard_normal(dim)
    w0 = rng.standard_normal(dim) * 3
    lrs = 0.05 * (1 + 0.5 * np.sin(np.arange(50)))  # a varying lr: the rule must use the one it is given
    return (lambda w: H @ w - b), w0, lrs


def test_rule_settings_cover_every_rule():
    assert {name for name, _ in RULE_SETTINGS} == set(RULES)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name,values", RULE_SETTINGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(RULE_SETTINGS)])
def test_rule_matches_reference_on_random_quadratic(name, values, seed):
    grad, w0, lrs = random_quadratic(seed)
    rule = get_rule(name)
    hp = rule.hparams(values)
    state = rule.init(w0, hp)
    w = w0.copy()
    ws = [w]
    for lr in lrs:
        d, state = rule.update(grad(w), state, float(lr), hp, w)
        w = w + d
        ws.append(w)
    ref = reference_trajectory(make_reference(name, hp), grad, w0, lrs)
    assert np.all(np.isfinite(ref))
    assert np.abs(ref[-1] - ref[0]).max() > 1e-2  # the run moved
    if name in EXACT:
        assert np.array_equal(np.array(ws), ref)
    else:
        np.testing.assert_allclose(np.array(ws), ref, rtol=1e-11, atol=1e-12)


def test_default_hyper_parameters_follow_the_note_and_torch():
    d = {name: rule.params.defaults() for name, rule in RULES.items()}
    assert d["adam"] == {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert d["rmsprop"]["decay_rate"] == 0.99 and d["rmsprop"]["eps"] == 1e-8
    assert d["sgd_momentum"]["momentum"] == 0.9
    assert d["momentum"]["init"] == "first"
    assert d["adamw"]["weight_decay"] == 1e-2
    assert d["adagrad"]["eps"] == 1e-10


#: a gradient sequence made up by hand (the rule's update takes g as given: no problem needed)
HAND_GRADS = [np.array(g) for g in ([2.0, -1.0], [1.6, -0.95], [-0.5, 3.0], [0.25, 0.125], [4.0, -8.0])]


def note_gdm_steps(b, lr, grads, w0):
    """The note's GDM as its runGDM writes it: s starts at the first gradient, s = (1 - b) s + b g."""
    w, s, out = w0.copy(), None, [w0.copy()]
    for g in grads:
        if s is None:
            s = g
        s = (1 - b) * s + b * g
        w = w - lr * s
        out.append(w)
    return np.array(out)


def momentum_rule_steps(beta, lr, grads, w0):
    rule = get_rule("momentum")
    hp = rule.hparams({"beta": beta, "init": "first"})
    w, state, out = w0.copy(), rule.init(w0, hp), [w0.copy()]
    for g in grads:
        d, state = rule.update(g, state, lr, hp, w)
        w = w + d
        out.append(w)
    return np.array(out)


def test_note_beta_maps_to_ewa_beta():
    """The note's GDM with its beta b (the weight of the new gradient) is the momentum rule at
    beta = note_momentum_beta(b) = 1 - b, step for step."""
    assert note_momentum_beta(0.6) == 0.4
    note = note_gdm_steps(0.6, 0.1, HAND_GRADS, W0_TINY)
    # by hand: s1 = g0 = (2, -1); s2 = 0.4 (2, -1) + 0.6 (1.6, -0.95) = (1.76, -0.97)
    close(note[1], [1 - 0.2, -2 + 0.1])
    close(note[2], [0.8 - 0.176, -1.9 + 0.097])
    # b >= 1/2: 1 - b is exact (Sterbenz) and so is 1 - (1 - b) = b, so the rule computes
    # (1 - b) v + b g with the very same operands in the same order: equal to the last bit
    for b in (0.6, 0.75, 0.5, 0.9):
        assert np.array_equal(momentum_rule_steps(note_momentum_beta(b), 0.1, HAND_GRADS, W0_TINY),
                              note_gdm_steps(b, 0.1, HAND_GRADS, W0_TINY)), b
    # b < 1/2: 1 - fl(1 - b) differs from b by <= ulp(1 - b)/2 <= EPS/4; per step that and the two
    # runs' own roundings (3 of EPS/2 each, of quantities <= G = max|g|) move s by <= 3.5 EPS G,
    # contracted by (1 - b) per step: |ds| <= 3.5 EPS G / b; w adds lr |ds| per step. Safety 2.
    b, lr, k = 0.1, 0.1, len(HAND_GRADS)
    big_g = max(np.abs(g).max() for g in HAND_GRADS)
    engine = momentum_rule_steps(note_momentum_beta(b), lr, HAND_GRADS, W0_TINY)
    note = note_gdm_steps(b, lr, HAND_GRADS, W0_TINY)
    w_scale = max(np.abs(engine).max(), np.abs(note).max())  # and each run rounds lr s and w - lr s
    assert np.abs(engine - note).max() <= 2 * k * (lr * 3.5 * EPS * big_g / b + EPS * (lr * big_g + w_scale))
    # and the mapping matters: the rule at beta = b (the note's number used as is) is another run
    assert np.abs(momentum_rule_steps(0.6, 0.1, HAND_GRADS, W0_TINY) - note_gdm_steps(0.6, 0.1, HAND_GRADS, W0_TINY)).max() > 1e-3


def test_unknown_rule_is_a_one_line_param_error():
    with pytest.raises(ParamError) as info:
        get_rule("adamax")
    assert "\n" not in str(info.value) and "adamax" in str(info.value)


# ---------------------------------------------------------------------------------------------
# hypothesis properties
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
vectors = st.lists(finite, min_size=1, max_size=4).map(np.array)
lrs = st.floats(1e-6, 10.0)
betas = st.floats(0.0, 0.999)
PROP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def property_grad(w):
    """A deterministic gradient field for property runs: a stiff quadratic plus a wobble."""
    return 1.5 * w + np.sin(3 * w) + 0.25


def run_rule(name, values, w0, lr, n=6):
    rule = get_rule(name)
    hp = rule.hparams(values)
    state = rule.init(w0, hp)
    w = w0.copy()
    ws = [w]
    for _ in range(n):
        d, state = rule.update(property_grad(w), state, lr, hp, w)
        w = w + d
        ws.append(w)
    return np.array(ws)


@PROP
@given(w0=vectors, lr=st.floats(1e-4, 0.5), init=st.sampled_from(["first", "zero"]))
def test_momentum_with_beta_zero_is_gd(w0, lr, init):
    gd = run_rule("gd", {}, w0, lr)
    assert np.array_equal(run_rule("momentum", {"beta": 0.0, "init": init}, w0, lr), gd)
    if init == "zero":
        assert np.array_equal(run_rule("momentum", {"beta": 0.0, "init": "zero", "bias_correction": True},
                                       w0, lr), gd)


@PROP
@given(w0=vectors, lr=st.floats(1e-4, 0.5))
def test_sgd_momentum_with_zero_momentum_is_gd(w0, lr):
    assert np.array_equal(run_rule("sgd_momentum", {"momentum": 0.0}, w0, lr), run_rule("gd", {}, w0, lr))


magnitudes = st.floats(1e-6, 1e6)
nonzero_vectors = st.lists(st.tuples(magnitudes, st.sampled_from([-1.0, 1.0])), min_size=1, max_size=5).map(
    lambda pairs: np.array([m * s for m, s in pairs]))


@PROP
@given(g=nonzero_vectors, lr=st.floats(1e-8, 1e3), b1=betas, b2=betas, eps=st.floats(0.0, 1e-6),
       rule=st.sampled_from(["adam", "adamw"]))
def test_adam_first_step_is_lr_times_sign_of_g(g, lr, b1, b2, eps, rule):
    values = {"beta1": b1, "beta2": b2, "eps": eps}
    if rule == "adamw":
        values["weight_decay"] = 0.0
    r = get_rule(rule)
    hp = r.hparams(values)
    w = np.linspace(-1, 1, g.size)
    d, _ = r.update(g, r.init(w, hp), lr, hp, w)
    # exactly, |delta + lr sign(g)| = lr eps / (|g| + eps) <= lr eps / |g|. Round-off, relative to
    # the step (<= lr): m-hat = ((1 - b1) g) / (1 - b1) two roundings (EPS), sqrt(v-hat) = sqrt of
    # three roundings plus its own (1.25 EPS), + eps, the division and the product with lr
    # (1.5 EPS): 3.75 EPS; up to 2 EPS more for each bias-correction factor 1 - beta^1 if it is
    # not computed as exactly 1 - beta. Safety 2: 16 EPS (a missing correction is off by
    # (1 - b1) / sqrt(1 - b2), a wrong eps placement by eps / |g|, far above it).
    tol = lr * (eps / np.abs(g) + 16 * EPS)
    assert np.all(np.abs(d + lr * np.sign(g)) <= tol)


def _param_strategy(p):
    if p.kind == "bool":
        return st.booleans()
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    lo = p.low if p.low is not None else -1e3
    hi = p.high if p.high is not None else 1e3
    if p.name == "lr":
        return st.floats(1e-6, 1.0)
    if p.scale == "log" and lo >= 0:
        low = max(lo, 1e-12)
        return st.floats(np.log10(low), np.log10(hi)).map(lambda e: float(10**e))
    return st.floats(lo, hi, exclude_min=p.low_open, exclude_max=p.high_open)


@st.composite
def rule_and_values(draw):
    name = draw(st.sampled_from(ALL_RULES))
    values = {p.name: draw(_param_strategy(p)) for p in RULES[name].params}
    return name, values


@PROP
@given(rv=rule_and_values(), w=vectors, data=st.data())
def test_updates_never_modify_their_inputs(rv, w, data):
    name, values = rv
    rule = RULES[name]
    try:
        hp = rule.hparams(values)
    except ParamError:
        assume(False)
    lr = hp["lr"]
    state = rule.init(w, hp)
    # advance a few steps so every state array holds something non-trivial
    for _ in range(data.draw(st.integers(0, 3))):
        _, state = rule.update(np.cos(w) + 0.1, state, lr, hp, w)
    g = np.array(data.draw(st.lists(finite, min_size=w.size, max_size=w.size)))
    w_before, g_before, state_before, hp_before = w.copy(), g.copy(), copy.deepcopy(state), dict(hp)
    delta, new_state = rule.update(g, state, lr, hp, w)
    assert np.array_equal(w, w_before) and np.array_equal(g, g_before)
    assert hp == hp_before
    assert state.keys() == state_before.keys()
    for key, value in state.items():
        assert np.array_equal(value, state_before[key]), key
    assert not np.shares_memory(delta, w) and not np.shares_memory(delta, g)
    for key, value in new_state.items():
        if isinstance(value, np.ndarray):
            assert not np.shares_memory(value, w) and not np.shares_memory(value, g), key
    assert delta.shape == w.shape


@PROP
@given(w0=vectors, lr=st.floats(1e-4, 0.3), beta=st.floats(0.0, 0.95))
def test_ewa_momentum_equals_torch_momentum_with_scaled_lr(w0, lr, beta):
    ewa = run_rule("momentum", {"beta": beta, "init": "zero"}, w0, lr, n=8)
    torch_form = run_rule("sgd_momentum", {"momentum": beta}, w0, lr * (1 - beta), n=8)
    # The same map in exact arithmetic (v = (1 - beta) u). Round-off: per step each run rounds the
    # gradient (1.5 w + sin 3w + 0.25: <= 2 EPS S), the average (1.5 EPS S) and the step and update
    # (EPS S), S = max|w| + max|g| over both runs: <= 5 EPS S each, 10 EPS S between them. An error
    # (dw, dv) grows per step by at most G = 4.5 in max-norm: dv' = beta dv + (1 - beta) g' dw with
    # |g'| = |1.5 + 3 cos 3w| <= 4.5, dw' = dw - lr dv' with lr <= 0.3. After k steps:
    # 10 EPS S (G^k - 1) / (G - 1); safety 2. (A wrong lr scaling is off by O(lr g), far above.)
    k = np.arange(ewa.shape[0])[:, None]
    scale = max(np.abs(ewa).max(), np.abs(torch_form).max())
    scale += np.abs(property_grad(np.concatenate([ewa, torch_form]))).max()
    tol = 2 * 10 * EPS * scale * (4.5**k - 1) / 3.5
    assert np.all(np.abs(ewa - torch_form) <= tol)


def test_every_rule_has_a_registered_lr_and_valid_metadata():
    for name, rule in RULES.items():
        assert "lr" in rule.params, name
        assert rule.name == name
        if rule.main_beta is not None:
            p = rule.params.get(rule.main_beta)
            assert p.low == 0.0 and p.high == 1.0 and p.high_open, name
        if rule.average is not None:
            hp = rule.hparams()
            state = rule.init(np.zeros(2), hp)
            assert rule.average in state, name
