"""Exact Hessian-vector products and the sharpness, against dense Hessians built apart from them.

The references: a gradient written here from scratch (not the model's, not the R-operator's),
differentiated (a) by the complex step, ``H e_j = Im grad(theta + i h e_j) / h`` with h = 1e-30
and the ReLU's mask taken from the real part (exact to rounding for the piecewise-quadratic
loss: no subtraction, so no cancellation), and (b) by central finite differences at a point
where no pre-activation is near a kink.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

from descent_engine.network import FullyConnectedNet, Solver
from descent_engine.network.hessian import (HessianOperator, Layout, SharpnessMonitor, first_examples, hvp,
                                            lanczos_top, preconditioner, sharpness, stability_threshold)
from descent_engine.rules import get_rule

REG = 0.1


def tiny(dtype="float64", seed=3, n=7):
    model = FullyConnectedNet([4, 3], 3, 3, weight_scale=1.0, reg=REG, dtype=dtype, rng=seed)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((n, 3)), rng.integers(0, 3, n)
    for k in model.params:
        if k.startswith("b"):  # non-zero biases, so their curvature is exercised too
            model.params[k][...] = rng.standard_normal(model.params[k].shape) * 0.5
    return model, X, y


def flat(params):
    return np.concatenate([np.asarray(v).ravel() for v in params.values()])


def unflat(vec, like):
    out, i = {}, 0
    for k, v in like.items():
        out[k] = vec[i:i + v.size].reshape(v.shape)
        i += v.size
    return out


def ref_grad(P, X, y, reg):
    """Gradient of mean cross-entropy + 0.5 reg sum W^2 (works on complex parameters)."""
    L = len(P) // 2
    hs, masks = [X], []
    for i in range(L):
        z = hs[-1] @ P[f"W{i + 1}"] + P[f"b{i + 1}"]
        if i < L - 1:
            m = z.real > 0
            masks.append(m)
            hs.append(z * m)
    e = np.exp(z - z.real.max(axis=1, keepdims=True))
    d = e / e.sum(axis=1, keepdims=True)
    d[np.arange(len(y)), y] -= 1
    d = d / len(y)
    g = {}
    for i in range(L - 1, -1, -1):
        g[f"W{i + 1}"] = hs[i].T @ d + reg * P[f"W{i + 1}"]
        g[f"b{i + 1}"] = d.sum(axis=0)
        if i:
            d = (d @ P[f"W{i + 1}"].T) * masks[i - 1]
    return flat({k: g[k] for k in P})


def pre_activations(P, X):
    L, h, zs = len(P) // 2, X, []
    for i in range(L - 1):
        z = h @ P[f"W{i + 1}"] + P[f"b{i + 1}"]
        zs.append(z)
        h = np.maximum(z, 0)
    return np.concatenate([z.ravel() for z in zs])


def complex_step_hessian(P, X, y, reg):
    theta = flat(P).astype(complex)
    n = theta.size
    H = np.empty((n, n))
    for j in range(n):
        t = theta.copy()
        t[j] += 1e-30j
        H[:, j] = ref_grad(unflat(t, P), X.astype(complex), y, reg).imag / 1e-30
    return H


def fd_hessian(P, X, y, reg, h=1e-6, cols=None):
    theta = flat(P)
    cols = range(theta.size) if cols is None else cols
    H = np.empty((theta.size, len(cols)))
    for c, j in enumerate(cols):
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        H[:, c] = (ref_grad(unflat(tp, P), X, y, reg) - ref_grad(unflat(tm, P), X, y, reg)) / (2 * h)
    return H


def dense_from_hvp(model, X, y):
    op = HessianOperator(model, X, y)
    return np.column_stack([op(e) for e in np.eye(op.layout.size)])


# ---------------------------------------------------------------------------------------------
def test_hvp_matches_complex_step_and_finite_differences():
    model, X, y = tiny()
    P = {k: v.copy() for k, v in model.params.items()}
    assert np.abs(pre_activations(P, X)).min() > 1e-3  # no kink within h = 1e-6 of this point
    H = dense_from_hvp(model, X, y)
    assert H.shape == (43, 43)
    scale = np.abs(H).max()
    # complex step: both sides exact to rounding (~1e-16 relative); 1e-12 leaves room for sums
    assert np.abs(H - complex_step_hessian(P, X, y, REG)).max() <= 1e-12 * scale
    # central differences: truncation h^2/6 |f'''| ~ 1e-12 plus rounding eps |g| / h ~ 1e-10
    assert np.abs(H - fd_hessian(P, X, y, REG)).max() <= 1e-7 * scale
    # symmetric to rounding (the R-operator does not symmetrise anything)
    assert np.abs(H - H.T).max() <= 1e-13 * scale
    # the regulariser's curvature: reg on each weight's diagonal, none on the biases
    assert not np.allclose(H, dense_from_hvp(FullyConnectedNet([4, 3], 3, 3, weight_scale=1.0, reg=0.0,
                                                                 dtype="float64", rng=3), X, y))


def test_hvp_dict_and_flat_agree_and_float32_model_is_computed_in_float64():
    model, X, y = tiny()
    layout = Layout(model.params)
    v = np.random.default_rng(5).standard_normal(layout.size)
    flat_out = hvp(model, X, y, v)
    dict_out = hvp(model, X, y, layout.unflatten(v))
    assert flat_out.dtype == np.float64 and set(dict_out) == set(model.params)
    assert np.array_equal(layout.flatten(dict_out), flat_out)
    m32, _, _ = tiny("float32")
    for k in m32.params:  # the same numbers, exactly representable in float32
        m32.params[k][...] = model.params[k].astype(np.float32)
        model.params[k][...] = m32.params[k].astype(np.float64)
    assert np.array_equal(hvp(m32, X, y, v), hvp(model, X, y, v))
    # and the operator's gradient is the model's own
    g = HessianOperator(model, X, y).gradient()
    assert np.allclose(g, layout.flatten(model.loss(X, y)[1]), rtol=0, atol=1e-14)


def test_finite_differences_across_a_kink_are_wrong_the_r_operator_is_not():
    model, X, y = tiny()
    # put example 0's first hidden unit 1e-9 above its kink
    z0 = X[0] @ model.params["W1"][:, 0] + model.params["b1"][0]
    model.params["b1"][0] -= z0 - 1e-9
    P = {k: v.copy() for k, v in model.params.items()}
    j = model.params["W1"].size  # the flat index of b1[0]
    exact = complex_step_hessian(P, X, y, REG)[:, j]  # mask from the real part: the unit is on
    rop = dense_from_hvp(model, X, y)[:, j]
    fd = fd_hessian(P, X, y, REG, cols=[j])[:, 0]  # theta -/+ h turns the unit off/on
    assert np.abs(rop - exact).max() <= 1e-12 * np.abs(exact).max()
    # the jump of the gradient across the kink, divided by 2h: off by orders of magnitude
    assert np.abs(fd - exact).max() > 1e3 * np.abs(exact).max()


def test_sharpness_is_the_dense_top_eigenvalue():
    model, X, y = tiny()
    evals = np.linalg.eigvalsh(complex_step_hessian(dict(model.params), X, y, REG))
    res = sharpness(model, X, y, iters=43, tol=1e-10)
    assert res.converged
    assert abs(res.value - evals[-1]) <= 1e-8 * abs(evals[-1])
    H = dense_from_hvp(model, X, y)
    assert np.linalg.norm(H @ res.vector - res.value * res.vector) <= 1e-8 * abs(res.value)
    assert res.hvps == res.iterations < 43  # Lanczos needs far fewer products than the dimension


def test_lanczos_reports_the_algebraic_top_not_the_largest_magnitude():
    A = np.diag([-5.0, -1.0, 0.5, 1.0, 2.0])
    res = lanczos_top(lambda v: A @ v, 5, iters=5, tol=1e-12, rng=0)
    assert res.value == pytest.approx(2.0, rel=1e-12) and res.smallest == pytest.approx(-5.0, rel=1e-12)


def test_warm_start_takes_fewer_products():
    model, X, y = tiny(n=12)
    first = sharpness(model, X, y, iters=43, tol=1e-8, rng=0)
    # one small gradient step later, as between two measurements during training
    loss, grads = model.loss(X, y)
    for k in model.params:
        model.params[k] -= 1e-3 * grads[k]
    cold = sharpness(model, X, y, iters=43, tol=1e-8, rng=1)
    warm = sharpness(model, X, y, iters=43, tol=1e-8, v0=first.vector)
    assert cold.converged and warm.converged
    assert warm.value == pytest.approx(cold.value, rel=1e-10)
    assert warm.hvps < cold.hvps


def test_preconditioned_sharpness_is_the_dense_one():
    model, X, y = tiny()
    rng = np.random.default_rng(2)
    P = {k: rng.uniform(0.1, 3.0, v.shape) for k, v in model.params.items()}
    H = complex_step_hessian(dict(model.params), X, y, REG)
    s = 1 / np.sqrt(flat(P))
    top = np.linalg.eigvalsh(s[:, None] * H * s[None, :])[-1]
    res = sharpness(model, X, y, iters=43, tol=1e-10, precond=P)
    assert abs(res.value - top) <= 1e-8 * abs(top)
    with pytest.raises(ValueError):
        sharpness(model, X, y, precond={k: np.zeros_like(v) for k, v in P.items()})


def _states_after(rule, hp, params, steps=3):
    r = get_rule(rule)
    rng = np.random.default_rng(0)
    states = {k: r.init(w, hp) for k, w in params.items()}
    grads = []
    for _ in range(steps):
        g = {k: rng.standard_normal(w.shape) for k, w in params.items()}
        grads.append(g)
        for k, w in params.items():
            _, states[k] = r.update(g[k], states[k], 1e-3, hp, w)
    return states, grads


def test_preconditioner_from_rule_states_dict_or_typed():
    params = {"W1": np.ones((2, 3)), "b1": np.zeros(3)}
    hp = get_rule("adam").hparams({})
    states, grads = _states_after("adam", hp, params)
    b2, eps = hp["beta2"], hp["eps"]
    for k in params:  # v = (1-b2) sum_s b2^(t-s) g_s^2, written out; v-hat = v / (1 - b2^3)
        v = (1 - b2) * (b2**2 * grads[0][k] ** 2 + b2 * grads[1][k] ** 2 + grads[2][k] ** 2)
        assert np.allclose(preconditioner("adam", states, hp)[k], np.sqrt(v / (1 - b2**3)) + eps, rtol=1e-13)
    Typed = namedtuple("Typed", "m v t")  # the typed states to come: read by attribute
    typed = {k: Typed(s["m"], s["v"], s["t"]) for k, s in states.items()}
    assert all(np.array_equal(preconditioner("adam", typed, hp)[k], preconditioner("adam", states, hp)[k])
               for k in params)
    fresh = {k: get_rule("adam").init(w, hp) for k, w in params.items()}
    assert preconditioner("adam", fresh, hp) is None  # t = 0: no v-hat yet
    hp_r = get_rule("rmsprop").hparams({})
    states_r, grads_r = _states_after("rmsprop", hp_r, params, steps=1)
    expect = np.sqrt((1 - hp_r["decay_rate"]) * grads_r[0]["W1"] ** 2 + hp_r["eps"])  # eps inside the root
    assert np.allclose(preconditioner("rmsprop", states_r, hp_r)["W1"], expect, rtol=1e-13)
    hp_m = get_rule("sgd_momentum").hparams({})
    assert preconditioner("sgd_momentum", _states_after("sgd_momentum", hp_m, params)[0], hp_m) is None


@pytest.mark.parametrize("rule,params", [("gd", {}), ("sgd", {}), ("sgd_momentum", {"momentum": 0.9}),
                                         ("sgd_momentum", {"momentum": 0.5}), ("nesterov", {"momentum": 0.9}),
                                         ("momentum", {"beta": 0.9, "init": "zero"})])
def test_stability_threshold_divides_decay_from_growth_on_a_quadratic(rule, params):
    # f(w) = lam w^2 / 2 stepped by the registry's own rule, 2% either side of the threshold
    r = get_rule(rule)
    hp = r.hparams({"lr": 0.1, **params})
    thr = stability_threshold(rule, hp, 0.1)

    def final(lam):
        w = np.array([1.0])
        state = r.init(w, hp)
        for _ in range(3000):
            delta, state = r.update(lam * w, state, 0.1, hp, w)
            w = w + delta
            if abs(w[0]) > 1e6:
                break
        return abs(w[0])

    assert final(0.98 * thr) < 1e-3 and final(1.02 * thr) > 1e3


def test_stability_threshold_adam_and_others():
    hp = get_rule("adam").hparams({})
    assert stability_threshold("adam", hp, 1e-3) == pytest.approx(38 / 1e-3)  # the worked number
    assert stability_threshold("rmsprop", get_rule("rmsprop").hparams({}), 0.5) == 4.0
    assert stability_threshold("gd", {}, 0.0) is None


def test_monitor_on_a_solver_agrees_with_the_dense_hessian():
    model, X, y = tiny(n=30)
    data = {"X_train": X, "y_train": y, "X_val": X[:5], "y_val": y[:5]}
    solver = Solver(model, data, update_rule="adam", optim_config={"lr": 1e-2}, batch_size=10, num_epochs=4,
                    verbose=False)
    mon = SharpnessMonitor(5, examples=20, iters=43, tol=1e-10)
    while not solver.done:
        solver.step()
        if mon.due(solver):
            mon.measure(solver)
    assert [r.iteration for r in mon.records] == [5, 10, 12]  # every 5 and the last (3 x 4 steps)
    Xs, ys = first_examples(X, y, 20)
    assert Xs.shape[0] == 20
    H = complex_step_hessian(dict(model.params), Xs, ys, REG)
    last = mon.records[-1]
    assert last.sharpness == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-8)
    s = 1 / np.sqrt(flat(preconditioner("adam", solver.optim_states, solver.hp)))
    assert last.preconditioned == pytest.approx(np.linalg.eigvalsh(s[:, None] * H * s[None, :])[-1], rel=1e-8)
    assert last.threshold == pytest.approx(38 / 1e-2)
    h = mon.histories()
    assert list(h["sharpness_iteration_history"]) == [5, 10, 12] and h["preconditioned_sharpness_history"].shape == (3,)
