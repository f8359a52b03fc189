"""Convergence theory for quadratics: spectrum, stability bounds, optimal settings, rates.

On a quadratic with Hessian ``H`` each eigen-direction (eigenvalue ``lam``) evolves on its own,
and for the linear rules one step is a fixed linear map of ``(e, u)`` with ``e = w - w*`` and
``u = lr v``. Everything depends on ``x = lr * lam`` and the rule's beta only:

=============  ============================================  ==========================
rule           map on (e, u)                                 stable while
=============  ============================================  ==========================
gd             e' = (1 - x) e                                0 < x < 2
sgd_momentum   u' = mu u + x e;  e' = e - u'                 0 < x < 2 (1 + mu)
momentum       u' = b u + (1-b) x e;  e' = e - u'            0 < x < 2 (1 + b) / (1 - b)
nesterov       u' = mu u + x e;  e' = e - x e - mu u'        0 < x < 2 (1 + mu) / (1 + 2 mu)
=============  ============================================  ==========================

The rate of a direction is the spectral radius of its map; the rate of the run is the largest
over the eigenvalues. Rates are per step for ``||w - w*||``; the loss gap ``L - L*`` shrinks by the
square. The adaptive rules (RMSProp, AdaGrad, Adam, AdamW) are not linear maps: no prediction.
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


# -- per-direction linear maps ----------------------------------------------------------------
def _beta(rule: str, hp: Mapping[str, Any]) -> float:
    if rule == "momentum":
        return float(hp["beta"])
    if rule in ("sgd_momentum", "nesterov"):
        return float(hp["momentum"])
    return 0.0


def iteration_matrix(rule: str, hp: Mapping[str, Any], x: float) -> np.ndarray | None:
    """The map of one step on ``(e, u)`` for ``x = lr * lam``; None for non-linear rules."""
    b = _beta(rule, hp)
    if rule in ("gd", "sgd"):
        return np.array([[1.0 - x]])
    if rule == "sgd_momentum":
        # u' = b u + x e ; e' = e - u' = (1 - x) e - b u
        return np.array([[1.0 - x, -b], [x, b]])
    if rule == "momentum":
        c = (1.0 - b) * x
        return np.array([[1.0 - c, -b], [c, b]])
    if rule == "nesterov":
        # e' = e - x e - b u' = (1 - x (1 + b)) e - b^2 u
        return np.array([[1.0 - x * (1.0 + b), -b * b], [x, b]])
    return None


def direction_rate(rule: str, hp: Mapping[str, Any], x: float) -> float | None:
    m = iteration_matrix(rule, hp, x)
    if m is None:
        return None
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def predicted_rate(rule: str, hp: Mapping[str, Any], lr: float, eigenvalues: Sequence[float]) -> float | None:
    """Asymptotic per-step contraction of ``||w - w*||`` (>= 1 means no convergence)."""
    rates = [direction_rate(rule, hp, lr * float(lam)) for lam in eigenvalues]
    if any(r is None for r in rates):
        return None
    return max(rates)  # type: ignore[arg-type]


def stability_x(rule: str, hp: Mapping[str, Any]) -> float | None:
    """Largest stable ``x = lr * lam`` (closed forms, see module docstring)."""
    b = _beta(rule, hp)
    if rule in ("gd", "sgd"):
        return 2.0
    if rule == "sgd_momentum":
        return 2.0 * (1.0 + b)
    if rule == "momentum":
        return 2.0 * (1.0 + b) / (1.0 - b)
    if rule == "nesterov":
        return 2.0 * (1.0 + b) / (1.0 + 2.0 * b)
    return None


def stable_lr(rule: str, hp: Mapping[str, Any], lam_max: float) -> float | None:
    x = stability_x(rule, hp)
    return None if x is None or lam_max <= 0 else x / lam_max


@dataclass(frozen=True)
class Optimum:
    """Best constant settings of a rule on a quadratic: ``lr``, the rule's beta (if any), rate."""

    lr: float
    beta_name: str | None
    beta: float | None
    rate: float


def gd_optimum(lam_min: float, lam_max: float) -> Optimum:
    k = lam_max / lam_min
    return Optimum(2.0 / (lam_min + lam_max), None, None, (k - 1) / (k + 1))


def heavy_ball_optimum(lam_min: float, lam_max: float) -> Optimum:
    """Polyak's heavy ball ``w' = w - a g + mu (w - w_prev)`` (the torch ``sgd_momentum`` form)."""
    sk = math.sqrt(lam_max / lam_min)
    a = 4.0 / (math.sqrt(lam_max) + math.sqrt(lam_min)) ** 2
    mu = ((sk - 1) / (sk + 1)) ** 2
    return Optimum(a, "momentum", mu, (sk - 1) / (sk + 1))


def nesterov_optimum(lam_min: float, lam_max: float) -> Optimum:
    """Lessard, Recht & Packard (2016): the best Nesterov settings on quadratics."""
    r = math.sqrt(3 * lam_max / lam_min + 1)
    return Optimum(4.0 / (3 * lam_max + lam_min), "momentum", (r - 2) / (r + 2), 1 - 2 / r)


def optimum(rule: str, lam_min: float, lam_max: float) -> Optimum | None:
    if lam_min <= 0 or lam_max <= 0:
        return None
    if rule in ("gd", "sgd"):
        return gd_optimum(lam_min, lam_max)
    if rule == "sgd_momentum":
        return heavy_ball_optimum(lam_min, lam_max)
    if rule == "momentum":
        hb = heavy_ball_optimum(lam_min, lam_max)
        # EWA form: a = lr (1 - beta), mu = beta
        return Optimum(hb.lr / (1 - hb.beta), "beta", hb.beta, hb.rate)  # type: ignore[operator]
    if rule == "nesterov":
        return nesterov_optimum(lam_min, lam_max)
    return None


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


def report(hessian: np.ndarray, rule: str, hp: Mapping[str, Any], lr: float, local: bool = False) -> TheoryReport:
    sp = spectrum(hessian)
    return TheoryReport(
        sp.lam_min, sp.lam_max, sp.kappa,
        stable_lr(rule, hp, sp.lam_max),
        optimum(rule, sp.lam_min, sp.lam_max),
        predicted_rate(rule, hp, lr, sp.eigenvalues) if sp.lam_min > 0 else None,
        local,
        lr,
    )
