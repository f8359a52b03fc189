"""Exponentially weighted averages, streaming and over a whole series.

``v_t = beta v_{t-1} + (1 - beta) theta_t`` with ``v_0 = 0`` (the note's EWA section); the
bias-corrected value is ``v_t / (1 - beta^t)``. The weight of a sample ``1/(1 - beta)`` steps
back has decayed to about ``1/e``: that is the "window" of the average.
"""

from __future__ import annotations

import numpy as np

from .averages import EwaState, bias_correct, update_moment

__all__ = ["EwaState", "ewa", "window", "weights", "seasonal_series"]


def ewa(series, beta: float, bias_correction: bool = False, v0: float = 0.0) -> np.ndarray:
    """EWA of every prefix of ``series`` (axis 0), as the streaming recurrence computes it.

    Works on 1-D series and on (T, d) arrays (each column averaged on its own). The recurrence
    and the correction are :mod:`descent_engine.averages`' (the same as :class:`EwaState`'s, so
    the two agree bit for bit).
    """
    x = np.asarray(series, dtype=float)
    out = np.empty_like(x)
    if x.ndim > 1:
        v = np.full(x.shape[1:], v0, dtype=float)
        for t in range(x.shape[0]):
            v = update_moment(v, x[t], beta)
            out[t] = v
    else:
        v = float(v0)
        for t, xt in enumerate(x.tolist()):
            v = update_moment(v, xt, beta)
            out[t] = v
    if bias_correction:
        t = np.arange(1, x.shape[0] + 1).reshape((-1,) + (1,) * (x.ndim - 1))
        out = bias_correct(out, beta, t)
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
