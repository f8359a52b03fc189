"""Exponentially weighted averages, streaming and over a whole series.

``v_t = beta v_{t-1} + (1 - beta) theta_t`` with ``v_0 = 0`` (the note's EWA section); the
bias-corrected value is ``v_t / (1 - beta^t)``. The weight of a sample ``1/(1 - beta)`` steps
back has decayed to about ``1/e``: that is the "window" of the average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EwaState:
    """Streaming EWA after ``t`` samples (``v`` is the uncorrected average)."""

    v: float = 0.0
    t: int = 0

    def update(self, theta: float, beta: float) -> "EwaState":
        return EwaState(beta * self.v + (1 - beta) * theta, self.t + 1)

    def corrected(self, beta: float) -> float:
        """``v_t / (1 - beta^t)``; undefined (nan) before the first sample."""
        if self.t == 0:
            return float("nan")
        return self.v / (1 - beta**self.t)


def ewa(series, beta: float, bias_correction: bool = False, v0: float = 0.0) -> np.ndarray:
    """EWA of every prefix of ``series`` (axis 0), as the streaming recurrence computes it.

    Works on 1-D series and on (T, d) arrays (each column averaged on its own).
    """
    x = np.asarray(series, dtype=float)
    out = np.empty_like(x)
    v = np.full(x.shape[1:], v0, dtype=float) if x.ndim > 1 else float(v0)
    c = 1 - beta
    for t in range(x.shape[0]):
        v = beta * v + c * x[t]
        out[t] = v
    if bias_correction:
        t = np.arange(1, x.shape[0] + 1, dtype=float)
        denom = 1 - beta**t
        out = out / (denom if x.ndim == 1 else denom.reshape((-1,) + (1,) * (x.ndim - 1)))
    return out


def window(beta: float) -> float:
    """The effective window 1/(1 - beta) in samples (infinite for beta = 1)."""
    return float("inf") if beta >= 1 else 1.0 / (1.0 - beta)


def weights(beta: float, t: int) -> np.ndarray:
    """Weights ``(1 - beta) beta^(t - i)`` of samples i = 1..t in v_t (closed form of the recurrence)."""
    i = np.arange(1, t + 1)
    return (1 - beta) * beta ** (t - i)


def seasonal_series(n: int = 365, seed: int = 0, noise: float = 4.0) -> np.ndarray:
    """A noisy yearly temperature-like series, like the note's daily temperatures (in degrees C)."""
    rng = np.random.default_rng(seed)
    day = np.arange(n)
    base = 12.0 - 10.0 * np.cos(2 * np.pi * (day - 15) / 365.0)
    return base + noise * rng.standard_normal(n)
