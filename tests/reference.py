"""Independent reference implementations the tests compare the engine against.

Written from the maths, from the course note's code and from the ``torch.optim`` documentation,
never from ``descent_engine``: each optimizer is a small class that keeps its own state and
returns the new parameters, the way the note's ``config`` functions do. Nothing here imports the
engine.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np


class GD:
    def __init__(self, lr_unused: float | None = None) -> None:
        pass

    def step(self, w, g, lr):
        return w - lr * g


class EwaMomentum:
    """``v = beta v + (1 - beta) g``, ``w -= lr v`` (or ``v / (1 - beta^t)`` when bias-corrected).

    ``init='first'`` is the note's GDM: the average starts at the first gradient.
    """

    def __init__(self, beta: float, init: str = "first", bias_correction: bool = False) -> None:
        self.beta, self.init, self.bias_correction = beta, init, bias_correction
        self.v = None
        self.t = 0

    def step(self, w, g, lr):
        self.t += 1
        if self.v is None:
            self.v = g.copy() if self.init == "first" else np.zeros_like(g)
        self.v = self.beta * self.v + (1 - self.beta) * g
        step = self.v / (1 - self.beta**self.t) if self.bias_correction else self.v
        return w - lr * step


class SgdMomentum:
    """The note's ``sgd_momentum`` (and ``torch.optim.SGD`` with ``dampening=0``)."""

    def __init__(self, momentum: float) -> None:
        self.config = {"momentum": momentum}

    def step(self, w, g, lr):
        v = self.config.get("velocity", np.zeros_like(w))
        v = self.config["momentum"] * v + g
        next_w = w - lr * v
        self.config["velocity"] = v
        return next_w


class Nesterov:
    """``torch.optim.SGD(nesterov=True)``: ``buf = mu buf + g``; ``g' = g + mu buf``; ``w -= lr g'``."""

    def __init__(self, momentum: float) -> None:
        self.mu = momentum
        self.buf = None

    def step(self, w, g, lr):
        self.buf = g.copy() if self.buf is None else self.mu * self.buf + g
        d = g + self.mu * self.buf
        return w - lr * d


class RmsProp:
    """The note's ``rmsprop``: epsilon *inside* the square root."""

    def __init__(self, decay_rate: float, eps: float) -> None:
        self.config = {"decay_rate": decay_rate, "epsilon": eps}

    def step(self, w, dw, lr):
        self.config.setdefault("cache", np.zeros_like(w))
        momentum = self.config["decay_rate"]
        sw = momentum * self.config["cache"] + (1 - momentum) * dw**2
        next_w = w - lr * dw / np.sqrt(sw + self.config["epsilon"])
        self.config["cache"] = sw
        return next_w


class AdaGrad:
    """``torch.optim.Adagrad`` (lr_decay 0, initial accumulator 0): ``std = sqrt(sum) + eps``."""

    def __init__(self, eps: float) -> None:
        self.eps = eps
        self.state_sum = None

    def step(self, w, g, lr):
        if self.state_sum is None:
            self.state_sum = np.zeros_like(w)
        self.state_sum = self.state_sum + g * g
        std = np.sqrt(self.state_sum) + self.eps
        return w + (-lr) * (g / std)


class Adam:
    """The note's ``adam`` (t incremented first, both moments bias-corrected, eps outside)."""

    def __init__(self, beta1: float, beta2: float, eps: float) -> None:
        self.config = {"beta1": beta1, "beta2": beta2, "epsilon": eps}

    def step(self, w, dw, lr):
        c = self.config
        c.setdefault("m", np.zeros_like(w))
        c.setdefault("v", np.zeros_like(w))
        c.setdefault("t", 0)
        beta1, beta2, epsilon = c["beta1"], c["beta2"], c["epsilon"]
        m, v, t = c["m"], c["v"], c["t"]
        t += 1
        m = beta1 * m + (1 - beta1) * dw
        mb = m / (1 - beta1**t)
        v = beta2 * v + (1 - beta2) * dw**2
        vb = v / (1 - beta2**t)
        next_w = w - lr * mb / (np.sqrt(vb) + epsilon)
        c["m"], c["v"], c["t"] = m, v, t
        return next_w


class AdamW:
    """``torch.optim.AdamW`` as its documentation writes it (decay first, then torch's Adam step)."""

    def __init__(self, beta1: float, beta2: float, eps: float, weight_decay: float) -> None:
        self.b1, self.b2, self.eps, self.wd = beta1, beta2, eps, weight_decay
        self.exp_avg = self.exp_avg_sq = None
        self.step_count = 0

    def step(self, w, g, lr):
        if self.exp_avg is None:
            self.exp_avg = np.zeros_like(w)
            self.exp_avg_sq = np.zeros_like(w)
        self.step_count += 1
        w = w * (1 - lr * self.wd)
        self.exp_avg = self.exp_avg + (1 - self.b1) * (g - self.exp_avg)  # torch's lerp
        self.exp_avg_sq = self.b2 * self.exp_avg_sq + (1 - self.b2) * g * g
        bc1 = 1 - self.b1**self.step_count
        bc2 = 1 - self.b2**self.step_count
        step_size = lr / bc1
        denom = np.sqrt(self.exp_avg_sq) / math.sqrt(bc2) + self.eps
        return w - step_size * (self.exp_avg / denom)


def make_reference(rule: str, hp: dict):
    """The reference optimizer for an engine rule name and its hyper-parameters."""
    if rule in ("gd", "sgd"):
        return GD()
    if rule == "momentum":
        return EwaMomentum(hp["beta"], hp["init"], hp["bias_correction"])
    if rule == "sgd_momentum":
        return SgdMomentum(hp["momentum"])
    if rule == "nesterov":
        return Nesterov(hp["momentum"])
    if rule == "rmsprop":
        return RmsProp(hp["decay_rate"], hp["eps"])
    if rule == "adagrad":
        return AdaGrad(hp["eps"])
    if rule == "adam":
        return Adam(hp["beta1"], hp["beta2"], hp["eps"])
    if rule == "adamw":
        return AdamW(hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"])
    raise KeyError(rule)


def reference_trajectory(opt, grad: Callable[[np.ndarray], np.ndarray], w0: np.ndarray,
                         lrs: Sequence[float]) -> np.ndarray:
    """``w_0 .. w_n`` of the reference optimizer with ``lrs[k]`` used for the step out of ``w_k``."""
    ws = [np.array(w0, dtype=float)]
    for lr in lrs:
        ws.append(opt.step(ws[-1], grad(ws[-1]), lr))
    return np.array(ws)


# -- the course note's least-squares recipe and runs, as written there ------------------------
def note_dataset():
    """``X`` (500, 2) and ``y`` (500, 1) exactly as the note makes them (restores numpy's global RNG)."""
    saved = np.random.get_state()
    try:
        np.random.seed(0)

        def gen_gaussian_points(n, mean, sigma):
            return np.random.normal(mean, sigma, [n, 2])

        N = 500
        X = gen_gaussian_points(N, [-3, 0], [3, 1])
        y = (X[:, 1] > 0).astype(float)
        y = np.expand_dims(y, axis=-1)
        return X, y
    finally:
        np.random.set_state(saved)


def note_runGD(X, y, maxiter, stepsize):
    w = np.zeros((2, 1))
    grads = []
    ws = []
    losses = []
    for i in range(maxiter):
        grad = 2 * (X.T @ X @ w) - 2 * X.T @ y
        w = w - stepsize * grad
        grads.append(grad)
        ws.append(w)
        loss = np.linalg.norm(y - X @ w) ** 2
        losses.append(loss)
    grads = np.array(grads).squeeze()
    ws = np.array(ws).squeeze()
    return grads, ws, losses


def note_runGDM(X, y, maxiter, stepsize, beta):
    w = np.zeros((2, 1))
    grads_m = []
    ws_m = []
    losses_m = []
    for i in range(maxiter):
        grad = 2 * (X.T @ X @ w) - 2 * X.T @ y
        if i == 0:
            smoothed_grad = grad
        smoothed_grad = (1 - beta) * smoothed_grad + beta * grad
        w = w - stepsize * smoothed_grad
        grads_m.append(grad)
        ws_m.append(w)
        loss = np.linalg.norm(y - X @ w) ** 2
        losses_m.append(loss)
    grads_m = np.array(grads_m).squeeze()
    ws_m = np.array(ws_m).squeeze()
    return grads_m, ws_m, losses_m


# -- spectral radius helpers, from the characteristic polynomial --------------------------------
def spectral_radius(matrix: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


def bisect_boundary(stable: Callable[[float], bool], lo: float, hi: float, tol: float = 1e-12) -> float:
    """The boundary between ``stable(lo)`` True and ``stable(hi)`` False, by bisection."""
    assert stable(lo) and not stable(hi)
    while hi - lo > tol * max(1.0, hi):
        mid = 0.5 * (lo + hi)
        if stable(mid):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def fitted_rate(steps, losses, loss_star) -> float:
    """Per-step rate of ``||w - w*||`` from a least-squares line through ``log(L - L*)``."""
    gap = np.asarray(losses, dtype=float) - loss_star
    slope = np.polyfit(np.asarray(steps, dtype=float), np.log(gap), 1)[0]
    return math.exp(slope / 2)
