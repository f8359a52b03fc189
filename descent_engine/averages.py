"""The one exponentially weighted average and its bias correction (optax's ``update_moment`` and
``bias_correction``): every part of the engine and the UI that averages calls these.

``v_t = beta v_{t-1} + (1 - beta) x_t``; after ``t`` samples from ``v_0 = 0`` the weights sum to
``1 - beta^t``, so ``v_t / (1 - beta^t)`` is the bias-corrected average.

``bias_correction`` computes ``1 - beta^t`` one way for an int and for an array of ints alike:
CPython's float power (the C library's ``pow``) element by element. NumPy's vectorised power
does not round like the scalar ``pow`` (SIMD loops on x86 differ from it by an ulp or more), and
that difference made a streaming average and the same average over a whole series disagree
(issue 7). The few thousand elements a series holds cost a few milliseconds at most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the usual EWA beta (the note's and the lecture's 0.9: a window of about 10 values), used where
#: something averages without a beta of its own (the lab's EWA chart of a rule with no beta)
DEFAULT_BETA = 0.9


def update_moment(avg, x, beta: float, out=None, scratch=None):
    """``beta * avg + (1 - beta) * x`` (optax's ``update_moment``), for floats and arrays.

    With ``out`` (an array, possibly ``avg`` itself) the result is written there and returned,
    using ``scratch`` (an array shaped like ``x``, possibly ``x`` itself) for ``(1 - beta) x``;
    the rounding is the same as the pure form's, operation by operation.
    """
    if out is None:
        return beta * avg + (1 - beta) * x
    np.multiply(avg, beta, out=out)
    part = np.multiply(x, 1 - beta, out=scratch)
    return np.add(out, part, out=out)


def bias_correction(beta: float, t):
    """``1 - beta^t`` for an int ``t`` (a float back) or an array of ints (an array back).

    One computation for both (see the module docstring), so a streaming and a series average
    agree to the last bit.
    """
    b = float(beta)
    if t.__class__ is int or isinstance(t, (float, np.integer, np.floating)) or np.ndim(t) == 0:
        return 1.0 - b ** float(t)
    ts = np.asarray(t)
    powers = [b**k for k in ts.astype(float).ravel().tolist()]
    return 1.0 - np.array(powers, dtype=float).reshape(ts.shape)


def bias_correct(avg, beta: float, t, out=None):
    """``avg / (1 - beta^t)``; with ``out``, written there. ``t`` may be an array that broadcasts
    against ``avg`` (a series: one ``t`` per row). A correction of exactly 1 (large ``t``) returns
    ``avg`` itself: dividing by 1 changes no bit."""
    c = bias_correction(beta, t)
    if out is None:
        return avg / c
    if c.__class__ is float and c == 1.0:
        return avg
    return np.divide(avg, c, out=out)


@dataclass(frozen=True)
class EwaState:
    """Streaming EWA after ``t`` samples (``v`` is the uncorrected average)."""

    v: float = 0.0
    t: int = 0

    def update(self, theta: float, beta: float) -> "EwaState":
        return EwaState(update_moment(self.v, theta, beta), self.t + 1)

    def corrected(self, beta: float) -> float:
        """``v_t / (1 - beta^t)``; undefined (nan) before the first sample."""
        if self.t == 0:
            return float("nan")
        return bias_correct(self.v, beta, self.t)
