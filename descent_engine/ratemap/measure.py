"""The measured rate of every cell: all cells run at once, as one vectorized computation.

The iterates of every cell are one array ``W`` of shape (n_beta, n_lr, dim); the learning rates
broadcast as (1, n_lr, 1) and the rule's main beta as (n_beta, 1, 1), and the rule's own ``step``
(the pure path, the same code a run uses) advances every cell in one call. A rule whose step
needs a plain number for its beta (a bias correction computes ``beta ** t`` in Python) runs row
by row instead, each row still vectorized over the lrs (``mode`` says which).

After ``K`` steps the rate per step of ``|w - w*|`` of a cell is fitted to its error history
(:func:`fit_rates`): the slope of ``log |w_k - w*|`` over the second half of the steps before the
error reaches ``FLOOR`` times its start (round-off takes over below), on the upper envelope of the
curve (so the zero crossings of an oscillating error do not pull the line down). A cell whose
error is non-finite or grows past ``BLOWUP`` times its start has blown up (``blown``).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..rules import PURE, Rule
from ..problems import Problem
from .batch import batched_gradient
from .grid import Grid

#: the error below which a fit stops, relative to the start's (where w* = 0 nothing else limits it)
FLOOR = 1e-30
#: ... and at least this many float epsilons times |w*| (round-off in w_k - w* takes over below)
ROUNDOFF = 1e6
#: growth of the error that counts as blowing up (well before the squares overflow)
BLOWUP = 1e50
#: the fewest points a fit takes; a cell that reaches the floor sooner gets the two-point rate
MIN_FIT = 8


class Cells:
    """Every cell of a grid as one batched run; ``advance(n)`` steps them all, ``rates()`` fits."""

    def __init__(self, rule: Rule, hp: Mapping[str, Any], problem: Problem, grid: Grid, steps: int) -> None:
        self.rule, self.problem, self.grid, self.steps = rule, problem, grid, int(steps)
        self.grad, self.grad_mode = batched_gradient(problem)
        nb, nl, dim = grid.n_beta, grid.n_lr, problem.dim
        self.w_star = np.asarray(problem.w_star, dtype=float)
        self.err = np.empty((self.steps + 1, nb, nl))
        self.k = 0
        W = np.broadcast_to(np.asarray(problem.w0, dtype=float), (nb, nl, dim)).copy()
        self.err[0] = self._error(W)
        hp = dict(hp)
        if grid.beta is not None:
            hp[grid.beta_name] = grid.beta[:, None, None]  # type: ignore[index]
        self._rows: list | None = None
        self._hp, self._lr = hp, grid.lr[None, :, None]
        try:  # one step of every cell at once; a rule that needs a scalar beta runs row by row
            with np.errstate(all="ignore"):
                self._state = rule.init(W, hp)
                self._W, self._next = W, self._one(W, self._state, self._lr, hp)
            self.mode = "all cells at once"
        except (TypeError, ValueError):
            self._rows = []
            for i in range(nb):
                row_hp = grid.row_hp(hp, i)
                Wi = W[i].copy()
                with np.errstate(all="ignore"):
                    state = rule.init(Wi, row_hp)
                    self._rows.append([Wi, state, row_hp, self._one(Wi, state, grid.lr[:, None], row_hp)])
            self.mode = "row by row (the rule needs a scalar beta)"

    def _one(self, W, state, lr, hp):
        """The pending step out of ``W``: ``(d, new_state)`` with ``W_next = W - d``."""
        return self.rule.step(self.grad(W), state, lr, hp, W, PURE)

    def _error(self, W: np.ndarray) -> np.ndarray:
        e = W - self.w_star
        return np.sqrt(np.einsum("...i,...i->...", e, e))

    @property
    def done(self) -> bool:
        return self.k >= self.steps

    def advance(self, n: int) -> int:
        """Up to ``n`` more steps of every cell; returns how many were taken."""
        n = max(0, min(int(n), self.steps - self.k))
        with np.errstate(all="ignore"):  # blown-up cells go to inf/nan and are marked so
            for _ in range(n):
                if self._rows is None:
                    d, state = self._next
                    W = self._W - d
                    self._W, self._state = W, state
                    self._next = self._one(W, state, self._lr, self._hp)
                    e = self._error(W)
                else:
                    for row in self._rows:
                        d, state = row[3]
                        row[0] = row[0] - d
                        row[1] = state
                        if self.k + 1 < self.steps:
                            row[3] = self._one(row[0], state, self.grid.lr[:, None], row[2])
                    e = np.stack([self._error(row[0]) for row in self._rows])
                self.k += 1
                self.err[self.k] = e
        return n

    def run(self) -> "Cells":
        self.advance(self.steps)
        return self

    def floor(self) -> float:
        """The absolute error below which round-off in ``w_k - w*`` may take over."""
        return ROUNDOFF * float(np.finfo(float).eps) * float(np.max(np.abs(self.w_star), initial=0.0))

    def fit_pieces(self):
        """``(rows, rate, blown)`` a few beta rows at a time (each about 2M error values: the fit's
        temporaries stay small, and a screen can fit between frames)."""
        err = self.err[: self.k + 1]
        rows = max(1, int(2**21 // max(err[0].size // self.grid.n_beta * err.shape[0], 1)))
        for i in range(0, self.grid.n_beta, rows):
            rate, blown = fit_rates(err[:, i:i + rows], self.floor())
            yield slice(i, min(i + rows, self.grid.n_beta)), rate, blown

    def rates(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rate, blown)`` from the steps taken so far (rate nan where it cannot be measured)."""
        rate, blown = np.full(self.grid.shape, np.nan), np.zeros(self.grid.shape, dtype=bool)
        for rows, r, b in self.fit_pieces():
            rate[rows], blown[rows] = r, b
        return rate, blown


def fit_rates(err: np.ndarray, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-step rates fitted to error histories ``err`` (K+1, ...): ``(rate, blown)``.

    For each cell, the upper envelope ``env_k = max_{j >= k} log err_j`` (the error clipped at the
    floor: ``FLOOR`` times the start, or the absolute ``floor`` if larger) is non-increasing; ``b`` is the last step where it is above the
    floor (after ``b`` the error never comes back above it). The rate is ``exp(slope)`` of a
    least-squares line through ``env`` over steps ``b // 2 .. b``; with fewer than ``MIN_FIT``
    such steps it is ``exp(env_b) / err_0) ** (1 / b)``, and ``err_1 / err_0`` when the first step
    is already at the floor. Blown-up cells (non-finite or past ``BLOWUP``) and cells that start
    at the optimum get nan.
    """
    err = np.asarray(err, dtype=float)
    K = err.shape[0] - 1
    e0 = err[0]
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(err) | (err > BLOWUP * e0)
        blown = bad.any(axis=0)
        clip = np.maximum(FLOOR * e0, floor)
        y = np.log(np.maximum(np.where(bad, clip, err), clip))
        floor = np.log(clip)
        env = np.maximum.accumulate(y[::-1], axis=0)[::-1]
        b = (env > floor).sum(axis=0) - 1  # env is non-increasing: "above the floor" is a prefix
        a = b // 2
        k = np.arange(K + 1).reshape((K + 1,) + (1,) * (err.ndim - 1))
        m = ((k >= a) & (k <= b)).astype(float)
        n = m.sum(axis=0)
        sk, sy = (m * k).sum(axis=0), (m * env).sum(axis=0)
        skk, sky = (m * k * k).sum(axis=0), (m * k * env).sum(axis=0)
        fitted = np.exp((n * sky - sk * sy) / (n * skk - sk * sk))
        env_b = np.take_along_axis(env, np.maximum(b, 0)[None, ...], axis=0)[0]
        two_point = (np.exp(env_b) / e0) ** (1.0 / np.maximum(b, 1))
        first = err[min(1, K)] / e0
        rate = np.where(n >= MIN_FIT, fitted, np.where(b >= 1, two_point, first))
        rate = np.where(blown | ~(e0 > 0) | (K < 1), np.nan, rate)
    return rate, blown
