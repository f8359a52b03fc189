"""Convergence theory for quadratics: spectrum, stability bounds, optimal settings, rates.

On a quadratic with Hessian ``H`` each eigen-direction (eigenvalue ``lam``) evolves on its own,
and for a linear rule one step is a fixed linear map of ``(e, u)`` with ``e = w - w*`` and
``u = lr v``, depending on ``x = lr * lam`` and the rule's hyper-parameters only. A linear rule
carries that map (``Rule.linear_map(hp, x)``); everything here is generic over it:

* the rate of a direction is the spectral radius of its map; the rate of the run is the largest
  over the eigenvalues. Rates are per step for ``||w - w*||``; the loss gap ``L - L*`` shrinks by
  the square;
* the stability bound is the rule's closed form ``Rule.stability_x(hp)`` when it gives one, else
  the first ``x`` where the spectral radius reaches 1, found by bisection on the map;
* the best constant settings are the rule's closed form ``Rule.optimum(lam_min, lam_max)``.

The functions take a :class:`~descent_engine.rules.Rule` or a rule's name. The adaptive rules
(RMSProp, AdaGrad, Adam, AdamW) have no map: no prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np


@dataclass(frozen=True)
class Spectrum:
    eigenvalues: np.ndarray  # ascending

    @property
    def lam_min(self) -> float:
        return float(self.eigenvalues[0])

    @property
    def lam_max(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def kappa(self) -> float:
        return self.lam_max / self.lam_min if self.lam_min > 0 else math.inf


def spectrum(hessian: np.ndarray) -> Spectrum:
    return Spectrum(np.sort(np.linalg.eigvalsh(0.5 * (hessian + hessian.T))))


@dataclass(frozen=True)
class Optimum:
    """Best constant settings of a rule on a quadratic: ``lr``, the rule's beta (if any), rate."""

    lr: float
    beta_name: str | None
    beta: float | None
    rate: float


# -- generic over the rule's per-direction map -------------------------------------------------
def _rule(rule):
    """A Rule given, or a rule's name (the compatible path: ``stable_lr("gd", ...)``)."""
    if isinstance(rule, str):
        from .rules import get_rule  # the rules import this module (Optimum)

        return get_rule(rule)
    return rule


def spectral_radius(matrix: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(matrix))))


def iteration_matrix(rule, hp: Mapping[str, Any], x: float) -> np.ndarray | None:
    """The map of one step on ``(e, u)`` for ``x = lr * lam``; None for non-linear rules."""
    linear_map = _rule(rule).linear_map
    return None if linear_map is None else np.asarray(linear_map(hp, x), dtype=float)


def direction_rate(rule, hp: Mapping[str, Any], x: float) -> float | None:
    m = iteration_matrix(rule, hp, x)
    return None if m is None else spectral_radius(m)


def predicted_rate(rule, hp: Mapping[str, Any], lr: float, eigenvalues: Sequence[float]) -> float | None:
    """Asymptotic per-step contraction of ``||w - w*||`` (>= 1 means no convergence)."""
    linear_map = _rule(rule).linear_map
    if linear_map is None:
        return None
    return max(spectral_radius(np.asarray(linear_map(hp, lr * float(lam)), dtype=float)) for lam in eigenvalues)


#: where the numeric search for a stability bound gives up (no bound: every lr is stable)
X_MAX = 2.0**60


def bisect_stability_x(linear_map, hp: Mapping[str, Any]) -> float:
    """Largest ``x`` with spectral radius below 1, for a map stable on ``(0, x*)``: doubling to
    bracket ``x*``, then bisection down to adjacent floats. ``inf`` if stable up to ``X_MAX``,
    0 if unstable down to ``1 / X_MAX``."""

    def stable(x: float) -> bool:
        return spectral_radius(np.asarray(linear_map(hp, x), dtype=float)) < 1.0

    lo, hi = 0.5, 1.0
    if stable(hi):
        while stable(hi):
            lo, hi = hi, 2.0 * hi
            if hi > X_MAX:
                return math.inf
    else:
        while not stable(lo):
            lo, hi = 0.5 * lo, lo
            if lo < 1.0 / X_MAX:
                return 0.0
    while True:
        mid = 0.5 * (lo + hi)
        if not lo < mid < hi:
            return lo
        if stable(mid):
            lo = mid
        else:
            hi = mid


#: numeric bounds already found, per (rule, map, hyper-parameters): the theory line asks every frame
_STABILITY_CACHE: dict = {}


def _numeric_stability_x(rule, hp: Mapping[str, Any]) -> float:
    try:
        key = (rule.name, rule.linear_map, tuple(sorted(hp.items())))
        hash(key)
    except TypeError:
        return bisect_stability_x(rule.linear_map, hp)
    cached = _STABILITY_CACHE.get(key)
    if cached is None:
        if len(_STABILITY_CACHE) > 256:
            _STABILITY_CACHE.clear()
        cached = _STABILITY_CACHE[key] = bisect_stability_x(rule.linear_map, hp)
    return cached



def stability_x(rule, hp: Mapping[str, Any]) -> float | None:
    """Largest stable ``x = lr * lam``: the rule's closed form, else found from its map."""
    r = _rule(rule)
    if r.linear_map is None:
        return None
    if r.stability_x is not None:
        return float(r.stability_x(hp))
    return _numeric_stability_x(r, hp)


def stable_lr(rule, hp: Mapping[str, Any], lam_max: float) -> float | None:
    x = stability_x(rule, hp)
    return None if x is None or lam_max <= 0 else x / lam_max


def optimum(rule, lam_min: float, lam_max: float) -> Optimum | None:
    """The rule's best constant settings (its closed form), None without one."""
    r = _rule(rule)
    if lam_min <= 0 or lam_max <= 0 or r.linear_map is None or r.optimum is None:
        return None
    return r.optimum(lam_min, lam_max)


def measured_rate(losses: Sequence[float], loss_star: float, window: int = 50,
                  floor: float | None = None, steps: Sequence[float] | None = None) -> float | None:
    """Per-step rate of ``||w - w*||`` fitted to the tail of a loss history.

    Fits a line to ``log(L_k - L*)`` over the last ``window`` points whose gap is above the
    round-off floor and returns ``exp(slope / 2)`` (the loss gap shrinks by the rate squared).
    None when fewer than 5 such points exist.
    """
    gap = np.asarray(losses, dtype=float) - loss_star
    if floor is None:
        floor = 1e-11 * max(1.0, abs(loss_star))
    k = np.arange(gap.size) if steps is None else np.asarray(steps, dtype=float)
    ok = np.isfinite(gap) & (gap > floor)
    k, gap = k[ok][-window:], gap[ok][-window:]
    if gap.size < 5:
        return None
    slope = np.polyfit(k.astype(float), np.log(gap), 1)[0]
    return float(math.exp(slope / 2))


@dataclass(frozen=True)
class TheoryReport:
    """What the status line shows. ``local`` is True when the Hessian is taken at w* only."""

    lam_min: float
    lam_max: float
    kappa: float
    stable_lr: float | None
    optimum: Optimum | None
    predicted_rate: float | None
    local: bool
    lr: float = float("nan")

    @property
    def unstable(self) -> bool:
        """True when ``lr`` is at or past the rule's stability bound."""
        return self.stable_lr is not None and self.lr >= self.stable_lr


def report(hessian: np.ndarray, rule, hp: Mapping[str, Any], lr: float, local: bool = False) -> TheoryReport:
    sp = spectrum(hessian)
    return TheoryReport(
        sp.lam_min, sp.lam_max, sp.kappa,
        stable_lr(rule, hp, sp.lam_max),
        optimum(rule, sp.lam_min, sp.lam_max),
        predicted_rate(rule, hp, lr, sp.eigenvalues) if sp.lam_min > 0 else None,
        local,
        lr,
    )
