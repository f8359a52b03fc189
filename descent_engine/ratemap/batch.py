"""A problem's gradient over a batch of points, without editing the problems.

The problems write their gradients for one point ``w`` of shape (dim,). Most of them are written
so that the same code takes the points as columns, ``w`` of shape (dim, N) (``x, y = w``, ``H @ w``,
elementwise arithmetic). :func:`batched_gradient` tries that on a probe of points and keeps it only
if it gives, point for point, what the one-point gradient gives. Otherwise a quadratic's gradient
is affine, ``g(w) = g(0) + H w``, and is evaluated so; anything else falls back to one call per
point (correct, slow: the mode says so).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..problems import Problem

#: how a batch is evaluated: the problem's own code on columns, the affine form, point by point
MODES = ("columns", "affine", "pointwise")

BatchGrad = Callable[[np.ndarray], np.ndarray]


def _probe(problem: Problem, n: int = 5) -> np.ndarray:
    """``n`` distinct points around the start and the optimum (fixed: no randomness)."""
    w0, ws = np.asarray(problem.w0, float), np.asarray(problem.w_star, float)
    scale = max(float(np.max(np.abs(w0 - ws))), 1e-3)
    ts = np.linspace(0.1, 0.9, n)
    offsets = np.sin(np.arange(1, n + 1)[:, None] * (np.arange(problem.dim)[None, :] + 1.7)) * 0.1 * scale
    return w0[None, :] + ts[:, None] * (ws - w0)[None, :] + offsets


def _agrees(got: np.ndarray, want: np.ndarray) -> bool:
    if got.shape != want.shape or not np.all(np.isfinite(got)):
        return False
    scale = max(float(np.max(np.abs(want))), 1e-300)
    return bool(np.max(np.abs(got - want)) <= 1e-9 * scale)


def batched_gradient(problem: Problem) -> tuple[BatchGrad, str]:
    """``(G, mode)``: ``G(W)`` for ``W`` of shape (..., dim) returns the gradients, same shape."""
    grad = problem.full_grad
    dim = problem.dim
    pts = _probe(problem)
    want = np.stack([np.asarray(grad(p), dtype=float) for p in pts])

    def columns(W: np.ndarray) -> np.ndarray:
        flat = W.reshape(-1, dim)
        return np.asarray(grad(flat.T), dtype=float).T.reshape(W.shape)

    try:
        with np.errstate(all="ignore"):
            ok = _agrees(columns(pts), want)
    except Exception:  # the problem's code takes one point only
        ok = False
    if ok:
        return columns, "columns"

    if problem.quadratic:
        H = np.asarray(problem.hessian(), dtype=float)
        g0 = np.asarray(grad(np.zeros(dim)), dtype=float)

        def affine(W: np.ndarray) -> np.ndarray:
            return W @ H.T + g0

        if _agrees(affine(pts), want):
            return affine, "affine"

    def pointwise(W: np.ndarray) -> np.ndarray:
        flat = W.reshape(-1, dim)
        return np.stack([np.asarray(grad(w), dtype=float) for w in flat]).reshape(W.shape)

    return pointwise, "pointwise"
