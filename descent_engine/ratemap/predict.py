"""The predicted rate of every cell: the spectral radius of the rule's own iteration map.

On a quadratic each eigen-direction ``lam`` of the Hessian evolves by the rule's map for
``x = lr * lam`` (``Rule.linear_map``, as :mod:`descent_engine.theory` uses it); the rate of a cell
is the largest spectral radius over the eigenvalues. The maps of a row (one beta, every lr and
eigenvalue) are stacked and their eigenvalues found in one batched ``np.linalg.eigvals``. No rule
is named here: a rule without a map, or a problem that is not quadratic, has no prediction.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

import numpy as np

from .. import theory
from ..problems import Problem
from ..rules import Rule
from .grid import Grid


def eigenvalues(problem: Problem) -> np.ndarray | None:
    """The distinct Hessian eigenvalues of a quadratic with a positive spectrum, else None."""
    if not problem.quadratic:
        return None
    lam = problem.eigenvalues if problem.eigenvalues is not None else theory.spectrum(problem.hessian()).eigenvalues
    lam = np.sort(np.asarray(lam, dtype=float))
    if lam.size == 0 or not lam[0] > 0 or not np.all(np.isfinite(lam)):
        return None
    # equal eigenvalues (to 12 digits) give equal maps: each is computed once
    keep = np.concatenate([[True], np.diff(lam) > 1e-12 * lam[1:]])
    return lam[keep]


def row_rates(rule: Rule, hp: Mapping[str, Any], lrs: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """The spectral radius of the rule's map, largest over ``lam``, for each lr: shape (n_lr,)."""
    linear_map = rule.linear_map
    assert linear_map is not None
    xs = (np.asarray(lrs, dtype=float)[:, None] * lam[None, :]).ravel()
    mats = np.array([np.asarray(linear_map(hp, float(x)), dtype=float) for x in xs.tolist()])
    with np.errstate(all="ignore"):
        radius = np.abs(np.linalg.eigvals(mats)).max(axis=-1)
    return radius.reshape(lrs.shape[0], lam.shape[0]).max(axis=1)


def predictable(rule: Rule, problem: Problem) -> bool:
    return rule.linear_map is not None and eigenvalues(problem) is not None


#: maps per piece of :func:`predicted_pieces` (a few milliseconds of work)
PIECE = 2048


def predicted_pieces(rule: Rule, hp: Mapping[str, Any], problem: Problem, grid: Grid
                     ) -> Iterator[tuple[int, slice, np.ndarray]]:
    """``(row, columns, rates)`` piece by piece, each about :data:`PIECE` maps (nothing when
    there is no prediction), so a screen can draw the map as it goes without waiting long."""
    lam = eigenvalues(problem)
    if rule.linear_map is None or lam is None:
        return
    step = max(1, PIECE // lam.shape[0])
    for i in range(grid.n_beta):
        row_hp = grid.row_hp(hp, i)
        for j in range(0, grid.n_lr, step):
            cols = slice(j, min(j + step, grid.n_lr))
            yield i, cols, row_rates(rule, row_hp, grid.lr[cols], lam)


def predicted(rule: Rule, hp: Mapping[str, Any], problem: Problem, grid: Grid) -> np.ndarray | None:
    """The whole predicted map (n_beta, n_lr), or None without a prediction."""
    if not predictable(rule, problem):
        return None
    out = np.full(grid.shape, np.nan)
    for i, cols, rates in predicted_pieces(rule, hp, problem, grid):
        out[i, cols] = rates
    return out
