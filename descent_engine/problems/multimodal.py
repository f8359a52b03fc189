"""Landscapes with several minima (Himmelblau) or many (Rastrigin), and Beale's flat valley.

Minima are the published ones refined to float precision by Newton's method on the exact Hessian.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from ..params import Param, ParamError, ParamSet
from .base import PROBLEMS, Problem, ProblemSpec


def _newton_polish(w: np.ndarray, grad: Callable[[np.ndarray], np.ndarray],
                   hess: Callable[[np.ndarray], np.ndarray], steps: int = 8) -> np.ndarray:
    """A published minimum (given to 6 digits) refined to float precision by Newton's method."""
    w = np.asarray(w, dtype=float)
    for _ in range(steps):
        w = w - np.linalg.solve(hess(w), grad(w))
    return w


def _himmelblau(hp: Mapping[str, Any]) -> Problem:
    def loss(w):
        x, y = w
        return float((x * x + y - 11) ** 2 + (x + y * y - 7) ** 2)

    def full_grad(w):
        x, y = w
        a, b = x * x + y - 11, x + y * y - 7
        return np.array([4 * x * a + 2 * b, 2 * a + 4 * y * b])

    def hessian_at(w):
        x, y = w
        return np.array([[12 * x * x + 4 * y - 42, 4 * x + 4 * y], [4 * x + 4 * y, 4 * x + 12 * y * y - 26]])

    def loss_grid(W0, W1):
        return (W0 * W0 + W1 - 11) ** 2 + (W0 + W1 * W1 - 7) ** 2

    published = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))
    minima = tuple(_newton_polish(np.array(m), full_grad, hessian_at) for m in published)
    return Problem(
        "himmelblau", "Himmelblau's function (four minima)", np.array([0.0, 0.0]), minima[0], 0.0,
        ((-5.0, 5.0), (-5.0, 5.0)), loss, full_grad, hessian_at, loss_grid, params=dict(hp),
        lr_hint=1e-2, adaptive_lr_hint=5e-2, minima=minima,
    )


def _beale(hp: Mapping[str, Any]) -> Problem:
    def parts(x, y):
        return 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y ** 3

    def loss(w):
        a1, a2, a3 = parts(*w)
        return float(a1 * a1 + a2 * a2 + a3 * a3)

    def full_grad(w):
        x, y = w
        a1, a2, a3 = parts(x, y)
        return np.array([2 * a1 * (y - 1) + 2 * a2 * (y * y - 1) + 2 * a3 * (y ** 3 - 1),
                         2 * a1 * x + 4 * a2 * x * y + 6 * a3 * x * y * y])

    def hessian_at(w):
        x, y = w
        a1, a2, a3 = parts(x, y)
        hxx = 2 * (y - 1) ** 2 + 2 * (y * y - 1) ** 2 + 2 * (y ** 3 - 1) ** 2
        hxy = (2 * ((y - 1) * x + a1) + 2 * ((y * y - 1) * 2 * x * y + 2 * y * a2)
               + 2 * ((y ** 3 - 1) * 3 * x * y * y + 3 * y * y * a3))
        hyy = 2 * x * x + 2 * ((2 * x * y) ** 2 + 2 * x * a2) + 2 * ((3 * x * y * y) ** 2 + 6 * x * y * a3)
        return np.array([[hxx, hxy], [hxy, hyy]])

    def loss_grid(W0, W1):
        a1, a2, a3 = parts(W0, W1)
        return a1 * a1 + a2 * a2 + a3 * a3

    w_star = np.array([3.0, 0.5])
    return Problem(
        "beale", "Beale's function (a flat valley to (3, 0.5))", np.array([1.0, 1.5]), w_star, 0.0,
        ((-1.0, 4.5), (-1.5, 2.0)), loss, full_grad, hessian_at, loss_grid, params=dict(hp),
        lr_hint=1e-3, adaptive_lr_hint=1e-2, minima=(w_star,),
    )


def _rastrigin(hp: Mapping[str, Any]) -> Problem:
    A = float(hp["amplitude"])
    two_pi = 2 * math.pi

    def loss(w):
        return float(2 * A + np.sum(w * w - A * np.cos(two_pi * w)))

    def full_grad(w):
        return 2 * w + two_pi * A * np.sin(two_pi * w)

    def hessian_at(w):
        return np.diag(2 + two_pi * two_pi * A * np.cos(two_pi * w))

    def loss_grid(W0, W1):
        return 2 * A + W0 * W0 - A * np.cos(two_pi * W0) + W1 * W1 - A * np.cos(two_pi * W1)

    w_star = np.zeros(2)
    return Problem(
        "rastrigin", f"Rastrigin A={A:g} (a grid of local minima)", np.array([2.3, -1.7]), w_star, 0.0,
        ((-5.12, 5.12), (-5.12, 5.12)), loss, full_grad, hessian_at, loss_grid, params=dict(hp),
        lr_hint=1e-3, adaptive_lr_hint=2e-2, minima=(w_star,),
    )


PROBLEMS.register('himmelblau', ProblemSpec(
    "himmelblau", "Himmelblau's function: four minima of loss 0", ParamSet(()), _himmelblau,
    "(x^2 + y - 11)^2 + (x + y^2 - 7)^2; start (0, 0), which plain GD takes to (3, 2)",
))

PROBLEMS.register('beale', ProblemSpec(
    "beale", "Beale's function: a long flat valley", ParamSet(()), _beale,
    "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2; minimum (3, 0.5); start (1, 1.5)",
))

PROBLEMS.register('rastrigin', ProblemSpec(
    "rastrigin", "Rastrigin's function: a bowl covered in local minima",
    ParamSet((Param("amplitude", 10.0, "height A of the cosine ripples", low=0.0, high=100.0, symbol="A"),)),
    _rastrigin, "2A + sum(w_i^2 - A cos(2 pi w_i)); global minimum 0 at the origin; start (2.3, -1.7)",
))
