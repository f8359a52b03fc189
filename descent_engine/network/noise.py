"""The simple gradient noise scale ``B_noise = tr(Sigma) / |G|^2`` (McCandlish et al. 2018,
"An Empirical Model of Large-Batch Training", Appendix A).

``G`` is the mean gradient over the training set and ``Sigma`` the covariance of one example's
gradient (examples drawn uniformly, with replacement, as the Solver draws its minibatches). For a
batch of B such examples ``E |G_B|^2 = |G|^2 + tr(Sigma) / B``, so gradient norms at two batch
sizes ``b_small < b_big`` give unbiased estimates of both::

    |G|^2      ~ (b_big |G_big|^2 - b_small |G_small|^2) / (b_big - b_small)
    tr(Sigma)  ~ (|G_small|^2 - |G_big|^2) / (1/b_small - 1/b_big)

Each is averaged over ``draws`` independent pairs of batches before the ratio is taken (the ratio
itself is not unbiased, only consistent); :class:`NoiseEWA` smooths both across measurements the
way the paper does. The noise scale is the batch size at which the gradient's noise is as large
as its signal: the critical batch, roughly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class NoiseResult:
    b_noise: float  # trace_sigma / g2 (nan when g2 <= 0: the estimate is too noisy)
    trace_sigma: float  # mean over draws of the unbiased tr(Sigma) estimate
    g2: float  # mean over draws of the unbiased |G|^2 estimate
    trace_sigma_se: float  # standard errors of those means (over draws; nan for one draw)
    g2_se: float
    b_small: int
    b_big: int
    draws: int
    examples: int  # gradient evaluations' examples in all: draws * (b_small + b_big)


def _estimates(s2: np.ndarray, b2: np.ndarray, b_small: int, b_big: int) -> tuple[np.ndarray, np.ndarray]:
    g2 = (b_big * b2 - b_small * s2) / (b_big - b_small)
    tr = (s2 - b2) / (1.0 / b_small - 1.0 / b_big)
    return g2, tr


def noise_scale(grad_fn: Callable[[np.ndarray], np.ndarray], n: int, rng: np.random.Generator | int | None,
                b_small: int, b_big: int, draws: int = 10) -> NoiseResult:
    """Estimate the noise scale; ``grad_fn(indices)`` returns the flat mean gradient over those
    examples (indices into a set of ``n``, drawn uniformly with replacement)."""
    b_small, b_big, draws, n = int(b_small), int(b_big), int(draws), int(n)
    if not 1 <= b_small < b_big:
        raise ValueError(f"need 1 <= b_small < b_big, got {b_small} and {b_big}")
    if draws < 1 or n < 1:
        raise ValueError(f"need at least one draw and one example, got {draws} and {n}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    s2 = np.empty(draws)
    b2 = np.empty(draws)
    for k in range(draws):
        gs = np.asarray(grad_fn(rng.integers(0, n, size=b_small)), dtype=np.float64)
        gb = np.asarray(grad_fn(rng.integers(0, n, size=b_big)), dtype=np.float64)
        s2[k], b2[k] = float(np.dot(gs, gs)), float(np.dot(gb, gb))
    g2, tr = _estimates(s2, b2, b_small, b_big)
    se = (lambda a: float(np.std(a, ddof=1) / math.sqrt(draws)) if draws > 1 else math.nan)
    g2m, trm = float(g2.mean()), float(tr.mean())
    return NoiseResult(trm / g2m if g2m > 0 else math.nan, trm, g2m, se(tr), se(g2), b_small, b_big, draws,
                       draws * (b_small + b_big))


def model_grad_fn(model, X: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``grad_fn(indices)``: the flat mean gradient of ``model.loss`` (its own loss, regulariser
    included, at its current parameters) over ``X[indices], y[indices]``, as float64."""
    X = np.asarray(X)
    y = np.asarray(y)

    def grad_fn(idx: np.ndarray) -> np.ndarray:
        _, grads = model.loss(X[idx], y[idx])
        return np.concatenate([np.asarray(grads[k], dtype=np.float64).ravel() for k in model.params])
    return grad_fn


class NoiseEWA:
    """Exponentially weighted averages of the two estimates across measurements (bias-corrected,
    as Adam's moments), and their ratio: ``update(result)`` returns the smoothed ``B_noise``."""

    def __init__(self, beta: float = 0.9) -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = float(beta)
        self.t = 0
        self._tr = 0.0
        self._g2 = 0.0

    def update(self, result: NoiseResult) -> float:
        b = self.beta
        self.t += 1
        self._tr = b * self._tr + (1 - b) * result.trace_sigma
        self._g2 = b * self._g2 + (1 - b) * result.g2
        return self.b_noise

    @property
    def trace_sigma(self) -> float:
        return self._tr / (1 - self.beta**self.t) if self.t else math.nan

    @property
    def g2(self) -> float:
        return self._g2 / (1 - self.beta**self.t) if self.t else math.nan

    @property
    def b_noise(self) -> float:
        g2 = self.g2
        return self.trace_sigma / g2 if g2 > 0 else math.nan


def monitor_batches(batch_size: int, num_train: int) -> tuple[int, int]:
    """The two batch sizes the noise monitor compares: the training batch and four times it
    (capped by the training set); when the training batch is the whole set (full-batch GD, where
    there is no noise to measure but the estimate still says so), a quarter of it and all of it."""
    b, n = int(batch_size), int(num_train)
    big = min(n, 4 * b)
    if big > b:
        return b, big
    if n < 2:
        raise ValueError("the noise scale needs at least two training examples")
    return max(1, n // 4), n


@dataclass(frozen=True)
class NoiseRecord:
    iteration: int  # the solver's iteration count (steps taken) when measured
    b_noise: float  # this measurement's estimate
    b_noise_ewa: float  # smoothed across measurements (NoiseEWA)
    trace_sigma: float
    g2: float
    seconds: float


class NoiseMonitor:
    """Measures a Solver's gradient noise scale every ``every`` steps and at the last step, as
    :class:`~.hessian.SharpnessMonitor` measures the sharpness (``due``, ``measure``, ``records``,
    ``histories``). The gradients are the model's own loss on the training set at the current
    parameters, at the two batch sizes of :func:`monitor_batches`, ``draws`` pairs each time, drawn
    with the monitor's own generator (the training's minibatch stream is not touched)."""

    def __init__(self, every: int, *, draws: int = 10, beta: float = 0.9, seed: int = 0) -> None:
        if int(every) < 1:
            raise ValueError(f"noise interval must be at least 1, got {every}")
        self.every, self.draws = int(every), int(draws)
        self.rng = np.random.default_rng(seed)
        self.ewa = NoiseEWA(beta)
        self.records: list[NoiseRecord] = []

    def due(self, solver) -> bool:
        t = int(solver.t)
        if t < 1 or (self.records and self.records[-1].iteration == t):
            return False
        return t % self.every == 0 or bool(solver.done)

    def measure(self, solver) -> NoiseRecord:
        import time

        start = time.perf_counter()
        b_small, b_big = monitor_batches(solver.batch_size, solver.num_train)
        fn = model_grad_fn(solver.model, solver.X_train, solver.y_train)
        res = noise_scale(fn, solver.num_train, self.rng, b_small, b_big, self.draws)
        smoothed = self.ewa.update(res)
        rec = NoiseRecord(int(solver.t), res.b_noise, smoothed, res.trace_sigma, res.g2,
                          time.perf_counter() - start)
        self.records.append(rec)
        return rec

    def histories(self) -> dict[str, np.ndarray]:
        r = self.records
        return {"noise_scale_history": np.array([x.b_noise for x in r], dtype=np.float64),
                "noise_scale_ewa_history": np.array([x.b_noise_ewa for x in r], dtype=np.float64),
                "noise_trace_sigma_history": np.array([x.trace_sigma for x in r], dtype=np.float64),
                "noise_grad_norm2_history": np.array([x.g2 for x in r], dtype=np.float64),
                "noise_scale_iteration_history": np.array([x.iteration for x in r], dtype=np.int64)}
