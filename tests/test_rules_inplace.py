"""The in-place update of each rule (used by the network Solver) equals its pure update."""

import copy

import numpy as np
import pytest

from descent_engine.rules import RULES

SETTINGS = [(name, {}) for name in RULES] + [
    ("momentum", {"init": "zero", "bias_correction": True}),
    ("momentum", {"init": "zero"}),
    ("adamw", {"weight_decay": 0.5}),
]


@pytest.mark.parametrize("name,values", SETTINGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inplace_update_matches_the_pure_update(name, values, dtype):
    rule = RULES[name]
    assert rule.update_inplace is not None
    hp = rule.hparams(values)
    rng = np.random.default_rng(7)
    w_pure = rng.normal(size=(6, 4)).astype(dtype)
    w_inpl = w_pure.copy()
    state_pure = rule.init(w_pure, hp)
    state_inpl = copy.deepcopy(state_pure)
    for k in range(25):
        g = (rng.normal(size=w_pure.shape) + w_pure).astype(dtype)
        lr = 0.01 / (1 + k)
        delta, state_pure = rule.update(g, state_pure, lr, hp, w_pure)
        w_pure = w_pure + delta
        rule.update_inplace(g, state_inpl, lr, hp, w_inpl)
        assert w_inpl.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(w_inpl, w_pure, rtol=tol, atol=tol)
    for key, value in state_pure.items():
        np.testing.assert_allclose(state_inpl[key], value, rtol=tol, atol=tol)
