"""Classic 2-D landscapes: a rotated quadratic, Rosenbrock's valley and a saddle between two wells."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from ..params import Param, ParamError, ParamSet
from .base import PROBLEMS, Problem, ProblemSpec, quadratic_functions


def _quadratic(hp: Mapping[str, Any]) -> Problem:
    kappa = float(hp["kappa"])
    angle = math.radians(float(hp["angle"]))
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, -s], [s, c]])
    H = R @ np.diag([kappa, 1.0]) @ R.T
    w_star = np.zeros(2)
    loss, full_grad, hessian_at, loss_grid = quadratic_functions(H)
    return Problem(
        "quadratic", f"quadratic κ={kappa:g} at {hp['angle']:g}°", np.array([-3.0, 2.5]), w_star, 0.0,
        ((-4.0, 4.0), (-4.0, 4.0)), loss, full_grad, hessian_at, loss_grid, quadratic=True, params=dict(hp),
        lr_hint=min(0.05, 1.0 / kappa), adaptive_lr_hint=0.05,
    )


def _rosenbrock(hp: Mapping[str, Any]) -> Problem:
    a, b = float(hp["a"]), float(hp["b"])

    def loss(w):
        x, y = w
        return float((a - x) ** 2 + b * (y - x * x) ** 2)

    def full_grad(w):
        x, y = w
        r = y - x * x
        return np.array([-2 * (a - x) - 4 * b * x * r, 2 * b * r])

    def hessian_at(w):
        x, y = w
        return np.array([[2 - 4 * b * (y - x * x) + 8 * b * x * x, -4 * b * x], [-4 * b * x, 2 * b]])

    def loss_grid(W0, W1):
        return (a - W0) ** 2 + b * (W1 - W0 * W0) ** 2

    return Problem(
        "rosenbrock", f"Rosenbrock a={a:g} b={b:g}", np.array([-1.5, 2.0]), np.array([a, a * a]), 0.0,
        ((-2.0 * max(1.0, a), 2.0 * max(1.0, a)), (-1.0, 3.0 * max(1.0, a * a))),
        loss, full_grad, hessian_at, loss_grid, params=dict(hp),
        lr_hint=0.05 / b, adaptive_lr_hint=1e-2,
    )


def _saddle(hp: Mapping[str, Any]) -> Problem:
    s = float(hp["stiffness"])

    def loss(w):
        x, y = w
        return float((x * x - 1) ** 2 / 4 + s * y * y / 2)

    def full_grad(w):
        x, y = w
        return np.array([x * (x * x - 1), s * y])

    def hessian_at(w):
        x, _ = w
        return np.array([[3 * x * x - 1, 0.0], [0.0, s]])

    def loss_grid(W0, W1):
        return (W0 * W0 - 1) ** 2 / 4 + s * W1 * W1 / 2

    return Problem(
        "saddle", f"double well with a saddle (s={s:g})", np.array([0.01, 1.0]), np.array([1.0, 0.0]), 0.0,
        ((-1.6, 1.6), (-1.2, 1.2)), loss, full_grad, hessian_at, loss_grid, params=dict(hp),
        lr_hint=min(0.05, 0.5 / s), adaptive_lr_hint=2e-2,
    )


PROBLEMS.register('quadratic', ProblemSpec(
    "quadratic", "2-D quadratic with condition number and rotation",
    ParamSet((
        Param("kappa", 10.0, "condition number (eigenvalues kappa and 1)", low=1.0, high=1e6, scale="log",
              symbol="κ"),
        Param("angle", 30.0, "rotation of the eigenvectors in degrees", low=-90.0, high=90.0),
    )),
    _quadratic, "0.5 w^T H w, H = R diag(kappa, 1) R^T",
))

PROBLEMS.register('rosenbrock', ProblemSpec(
    "rosenbrock", "Rosenbrock's banana valley",
    ParamSet((
        Param("a", 1.0, "valley floor passes through (a, a^2)", low=0.1, high=10.0),
        Param("b", 100.0, "steepness of the valley walls", low=0.1, high=1e4, scale="log"),
    )),
    _rosenbrock, "(a - x)^2 + b (y - x^2)^2; start (-1.5, 2)",
))

PROBLEMS.register('saddle', ProblemSpec(
    "saddle", "double well with a saddle at the origin",
    ParamSet((Param("stiffness", 5.0, "curvature s across the valley", low=0.01, high=1e4, scale="log"),)),
    _saddle, "(x^2 - 1)^2 / 4 + s y^2 / 2; start (0.01, 1) next to the saddle",
))
