"""The course note's least squares, with the note's data to the last bit."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from ..params import Param, ParamError, ParamSet
from .base import PROBLEMS, Problem, ProblemSpec


def notes_data(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The note's data set: ``X`` (n, 2) and ``y`` (n,) of 0/1 labels."""
    rs = np.random.RandomState(seed)  # the same stream as np.random.seed(seed) + np.random.normal
    X = rs.normal([-3, 0], [3, 1], [n, 2])
    y = (X[:, 1] > 0).astype(float)
    return X, y


def least_squares(X: np.ndarray, y: np.ndarray, hp: Mapping[str, Any], *, name: str, title: str,
                  bounds, lr_hint: float, adaptive_lr_hint: float) -> Problem:
    """The note's least squares ``||y - Xw||^2`` on ``X`` (n, d) and ``y`` (n,), written as the note
    computes it (so the note's data gives the note's numbers to the last bit); start ``w = 0``.

    ``hp["batch_size"] > 0`` gives mini-batch gradients. ParamError if X^T X is singular.
    """
    n, d = X.shape
    XtX = X.T @ X
    two_Xty = (2 * X.T) @ y  # the note's `2 * X.T @ y` (evaluated left to right)
    if np.linalg.matrix_rank(XtX) < d:
        raise ParamError(f"data: the {d} feature columns are linearly dependent (X^T X is singular): "
                         "drop a column or add rows")
    w_star = np.linalg.solve(XtX, X.T @ y)
    r_star = y - X @ w_star
    loss_star = float(r_star @ r_star)
    yy = float(y @ y)
    batch = int(hp["batch_size"])
    if batch > n:
        raise ParamError(f"batch_size must be at most {n} for {name}, got {batch}")

    def loss(w):
        # the note's np.linalg.norm(y - X @ w) ** 2 written out (norm is sqrt(r.r)) for speed;
        # the same operations, so the same bits: NumPy's float64 ** 2 (C pow) is not always s * s
        r = y - X @ w
        return float(np.sqrt(r.dot(r)) ** 2)

    def full_grad(w):
        return 2 * (XtX @ w) - two_Xty

    def batch_grad(w, rng):
        idx = rng.choice(n, size=batch, replace=False)
        Xb = X[idx]
        return (n / batch) * 2 * (Xb.T @ (Xb @ w - y[idx]))

    def hessian_at(w):
        return 2 * XtX

    def loss_grid(W0, W1):
        return (XtX[0, 0] * W0 * W0 + 2 * XtX[0, 1] * W0 * W1 + XtX[1, 1] * W1 * W1
                - two_Xty[0] * W0 - two_Xty[1] * W1 + yy)

    return Problem(
        name, title, np.zeros(d), w_star, loss_star, bounds, loss, full_grad, hessian_at,
        loss_grid if d == 2 else None, quadratic=True, stochastic=batch > 0,
        batch_grad=batch_grad if batch > 0 else None, params=dict(hp),
        lr_hint=lr_hint, adaptive_lr_hint=adaptive_lr_hint,
    )


def _notes_ls(hp: Mapping[str, Any]) -> Problem:
    X, y = notes_data()
    return least_squares(X, y, hp, name="notes-ls", title=f"notes least squares (N={X.shape[0]})",
                         bounds=((-0.5, 0.5), (-0.5, 0.5)), lr_hint=1e-4, adaptive_lr_hint=5e-3)


PROBLEMS.register('notes-ls', ProblemSpec(
    "notes-ls", "the note's least squares (N=500, seed 0)",
    ParamSet((Param("batch_size", 0, "mini-batch size for the gradient (0: full batch)", kind="int",
                    low=0, high=500, zero_text="full batch"),)),
    _notes_ls, "||y - Xw||^2 on the note's data; w0 = 0",
))
