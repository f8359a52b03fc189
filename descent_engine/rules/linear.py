"""The linear rules: gd and the three ways to write momentum, each with its theory.

On a quadratic each eigen-direction (eigenvalue ``lam``) evolves on its own, and one step of a
linear rule is a fixed linear map of ``(e, u)`` with ``e = w - w*`` and ``u = lr v``; it depends
on ``x = lr * lam`` and the rule's beta only (``linear_map``). The closed forms below are the
stability bounds and best settings of those maps; :mod:`descent_engine.theory` is generic over
them.

Conventions (see README "Three ways to write momentum"):

* ``momentum`` is the EWA form ``v = beta v + (1 - beta) g; w -= lr v``: beta weighs the *past*.
  The course note's GDM code writes ``s = (1 - b) s + b g`` with ``b = 0.6``: that is this rule
  with ``beta = 1 - b = 0.4`` and ``init = first`` (v starts from the first gradient).
* ``sgd_momentum`` is the ``torch.optim.SGD`` form ``v = mu v + g; w -= lr v``. With the same
  ``mu = beta`` it takes steps ``1 / (1 - beta)`` times larger than the EWA form, so the EWA form
  with ``lr`` equals the torch form with ``lr (1 - beta)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..averages import bias_correct, update_moment
from ..params import Param, ParamError, ParamSet
from ..theory import Optimum
from .base import Rule, RuleState, beta_param, lr_param, register


# ---------------------------------------------------------------------------------------------
# states
@dataclass(slots=True)
class GdState(RuleState):
    pass


@dataclass(slots=True)
class MomentumState(RuleState):
    v: np.ndarray
    t: int = 0


@dataclass(slots=True)
class VelocityState(RuleState):
    v: np.ndarray



# ---------------------------------------------------------------------------------------------
# gd
def _gd_init(w, hp):
    return GdState()


def _gd_step(g, s, lr, hp, w, out):
    return np.multiply(g, lr, out=out.s0), s


def _gd_map(hp, x):
    return np.array([[1.0 - x]])


def gd_optimum(lam_min: float, lam_max: float) -> Optimum:
    k = lam_max / lam_min
    return Optimum(2.0 / (lam_min + lam_max), None, None, (k - 1) / (k + 1))


# ---------------------------------------------------------------------------------------------
# momentum (EWA form)
def _momentum_init(w, hp):
    return MomentumState(np.zeros_like(w), 0)


def _momentum_check(hp):
    if hp["bias_correction"] and hp["init"] == "first":
        raise ParamError("momentum: bias correction needs --init zero (a first-gradient start has no bias to correct)")


def _momentum_step(g, s, lr, hp, w, out):
    beta = hp["beta"]
    t = s.t + 1
    v = g if (t == 1 and hp["init"] == "first") else s.v
    v = update_moment(v, g, beta, out.v, out.s0)
    u = bias_correct(v, beta, t, out.s0) if hp["bias_correction"] else v
    return np.multiply(u, lr, out=out.s0), MomentumState(v, t)


def _momentum_map(hp, x):
    b = float(hp["beta"])
    c = (1.0 - b) * x
    return np.array([[1.0 - c, -b], [c, b]])


def _momentum_stability(hp):
    b = float(hp["beta"])
    return 2.0 * (1.0 + b) / (1.0 - b)


def momentum_optimum(lam_min: float, lam_max: float) -> Optimum:
    """The heavy ball's optimum in the EWA form: ``a = lr (1 - beta)``, ``mu = beta``."""
    hb = heavy_ball_optimum(lam_min, lam_max)
    return Optimum(hb.lr / (1 - hb.beta), "beta", hb.beta, hb.rate)  # type: ignore[operator]


# ---------------------------------------------------------------------------------------------
# sgd_momentum (torch.optim.SGD form) and nesterov
def _velocity_init(w, hp):
    return VelocityState(np.zeros_like(w))


def _sgd_momentum_step(g, s, lr, hp, w, out):
    v = np.multiply(s.v, hp["momentum"], out=out.v)
    v = np.add(v, g, out=out.v)
    return np.multiply(v, lr, out=out.s0), VelocityState(v)


def _sgd_momentum_map(hp, x):
    # u' = b u + x e ; e' = e - u' = (1 - x) e - b u
    b = float(hp["momentum"])
    return np.array([[1.0 - x, -b], [x, b]])


def heavy_ball_optimum(lam_min: float, lam_max: float) -> Optimum:
    """Polyak's heavy ball ``w' = w - a g + mu (w - w_prev)`` (the torch ``sgd_momentum`` form)."""
    sk = math.sqrt(lam_max / lam_min)
    a = 4.0 / (math.sqrt(lam_max) + math.sqrt(lam_min)) ** 2
    mu = ((sk - 1) / (sk + 1)) ** 2
    return Optimum(a, "momentum", mu, (sk - 1) / (sk + 1))


def _nesterov_step(g, s, lr, hp, w, out):
    mu = hp["momentum"]
    v = np.multiply(s.v, mu, out=out.v)
    v = np.add(v, g, out=out.v)
    d = np.multiply(v, mu, out=out.s0)
    d = np.add(g, d, out=out.s0)
    return np.multiply(d, lr, out=out.s0), VelocityState(v)


def _nesterov_map(hp, x):
    # e' = e - x e - b u' = (1 - x (1 + b)) e - b^2 u
    b = float(hp["momentum"])
    return np.array([[1.0 - x * (1.0 + b), -b * b], [x, b]])


def nesterov_optimum(lam_min: float, lam_max: float) -> Optimum:
    """Lessard, Recht & Packard (2016): the best Nesterov settings on quadratics."""
    r = math.sqrt(3 * lam_max / lam_min + 1)
    return Optimum(4.0 / (3 * lam_max + lam_min), "momentum", (r - 2) / (r + 2), 1 - 2 / r)


# ---------------------------------------------------------------------------------------------
MOMENTUM_MU = Param("momentum", 0.9, "velocity decay mu (weight of the past velocity)", low=0.0, high=1.0,
                    high_open=True, symbol="mu")

register(Rule(
    "gd", "gradient descent", ParamSet((lr_param(1e-2),)), _gd_init, _gd_step,
    "w <- w - lr g", aliases=("sgd",),
    linear_map=_gd_map, stability_x=lambda hp: 2.0, optimum=gd_optimum,
))
register(Rule(
    "momentum", "momentum (EWA form)",
    ParamSet((
        lr_param(1e-2),
        beta_param("beta", 0.9, "weight of the past in v = beta v + (1-beta) g (the note's beta=0.6 is 0.4 here)", "β"),
        Param("init", "first", "first: v starts at the first gradient (the note); zero: v starts at 0",
              kind="choice", choices=("first", "zero")),
        Param("bias_correction", False, "divide v by 1 - beta^t (needs init=zero)", kind="bool"),
    )),
    _momentum_init, _momentum_step,
    "v <- β v + (1-β) g;  w <- w - lr v   [v̂ = v/(1-β^t) if bias-corrected]",
    main_beta="beta", average="v", average_label="v (momentum)", check=_momentum_check,
    linear_map=_momentum_map, stability_x=_momentum_stability, optimum=momentum_optimum,
))
register(Rule(
    "sgd_momentum", "SGD with momentum (torch form)", ParamSet((lr_param(1e-2), MOMENTUM_MU)),
    _velocity_init, _sgd_momentum_step,
    "v <- mu v + g;  w <- w - lr v", main_beta="momentum", average="v", average_label="v (velocity)",
    linear_map=_sgd_momentum_map, stability_x=lambda hp: 2.0 * (1.0 + float(hp["momentum"])),
    optimum=heavy_ball_optimum,
))
register(Rule(
    "nesterov", "Nesterov momentum (torch form)", ParamSet((lr_param(1e-2), MOMENTUM_MU)),
    _velocity_init, _nesterov_step,
    "v <- mu v + g;  w <- w - lr (g + mu v)", main_beta="momentum", average="v", average_label="v (velocity)",
    linear_map=_nesterov_map,
    stability_x=lambda hp: 2.0 * (1.0 + float(hp["momentum"])) / (1.0 + 2.0 * float(hp["momentum"])),
    optimum=nesterov_optimum,
))
