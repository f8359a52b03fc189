"""The rate map: the rate per step of ``|w - w*|`` over a grid of lr and the rule's main beta.

Distill's convergence-rate heatmap for any problem and rule: ``predicted`` from the Hessian
spectrum where the problem is quadratic (:mod:`.predict`, the rule's own iteration map) and
``measured`` by running every cell at once (:mod:`.measure`). A rate at or above 1 means the cell
does not converge (it diverges; on a landscape with several minima it may also end elsewhere
than w*); :meth:`RateMap.converging` blanks those cells and :meth:`RateMap.optimum` is the best
of the rest. :class:`RateMapJob` does the work in slices (a screen draws as it goes);
:func:`compute` does it all at once.

    >>> from descent_engine.run import Settings
    >>> m = compute(Settings("quadratic", "gd", rule_params={"lr": 0.05}), size=8, steps=200)
    >>> m.grid.shape
    (1, 8)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import adjust
from ..params import ParamError
from ..run import ResolvedSettings, Settings
from . import predict
from .grid import BETA_RANGE, LR_RANGE, SIZE, STEPS, Grid, beta_value_param, make_grid, parse_range
from .measure import Cells

__all__ = ["BETA_RANGE", "LR_RANGE", "SIZE", "STEPS", "Cell", "Grid", "RateMap", "RateMapJob", "compute",
           "grid_for", "KINDS"]

#: the two maps
KINDS = ("predicted", "measured")
#: the most error values the measured run keeps (steps + 1 per cell): about 200 MB
MAX_VALUES = 25_000_000


@dataclass(frozen=True)
class Cell:
    """One cell of a map: its row and column, its lr and beta (None without a beta) and its rate."""

    row: int
    col: int
    lr: float
    beta: float | None
    rate: float


@dataclass
class RateMap:
    """The two maps of a grid, raw: ``predicted`` (None without a prediction) and ``measured``
    (nan where a cell blew up or could not be measured); ``blown`` marks the blown-up cells."""

    settings: Settings
    grid: Grid
    steps: int
    predicted: np.ndarray | None
    measured: np.ndarray
    blown: np.ndarray
    grad_mode: str = ""
    mode: str = ""

    def raw(self, kind: str) -> np.ndarray | None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        return self.predicted if kind == "predicted" else self.measured

    def converging(self, kind: str) -> np.ndarray | None:
        """The map with nan where the cell does not converge (rate >= 1, blown up, no value)."""
        raw = self.raw(kind)
        if raw is None:
            return None
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(raw) & (raw < 1.0), raw, np.nan)

    def diverged(self, kind: str) -> np.ndarray | None:
        """True where a cell with a value does not converge (rate >= 1, or blown up)."""
        raw = self.raw(kind)
        if raw is None:
            return None
        with np.errstate(invalid="ignore"):
            out = np.isfinite(raw) & (raw >= 1.0)
        return out | self.blown if kind == "measured" else out

    def diverged_fraction(self, kind: str) -> float | None:
        d = self.diverged(kind)
        return None if d is None else float(d.mean())

    def cell(self, row: int, col: int, kind: str | None = None) -> Cell:
        raw = self.raw(kind) if kind is not None else None
        rate = float(raw[row, col]) if raw is not None else math.nan
        beta = None if self.grid.beta is None else float(self.grid.beta[row])
        return Cell(row, col, float(self.grid.lr[col]), beta, rate)

    def optimum(self, kind: str) -> Cell | None:
        """The cell of the smallest rate below 1 (the first such cell on a tie), or None."""
        values = self.converging(kind)
        if values is None or not np.isfinite(values).any():
            return None
        i, j = np.unravel_index(int(np.nanargmin(values)), values.shape)
        return self.cell(int(i), int(j), kind)

    def cell_settings(self, row: int, col: int) -> Settings:
        """The settings with the cell's lr and beta, through :mod:`descent_engine.adjust`."""
        return cell_settings(self.settings, self.grid, row, col)

    def record(self) -> dict[str, Any]:
        """What the map was computed from (the ``settings`` of the JSON)."""
        r = self.settings.resolved()
        return {
            "problem": r.problem.name, "problem_params": dict(r.problem.params), "rule": r.rule.name,
            "rule_params": dict(r.hp), "beta_name": self.grid.beta_name, "steps": self.steps,
            "size": self.grid.n_lr, "lr_range": [float(self.grid.lr[0]), float(self.grid.lr[-1])],
            "beta_range": None if self.grid.beta is None else [float(self.grid.beta[0]), float(self.grid.beta[-1])],
            "lr_scale": "log", "beta_scale": "linear", "schedule": "constant (the map is of constant settings)",
            "gradient": self.grad_mode, "cells": self.mode,
        }


def cell_settings(settings: Settings, grid: Grid, row: int, col: int) -> Settings:
    out = adjust.set_lr(settings, float(grid.lr[col]))
    if grid.beta is not None:
        out = adjust.set_param(out, "rule", grid.beta_name, float(grid.beta[row]))  # type: ignore[arg-type]
    return out


def grid_for(settings: Settings | ResolvedSettings, size: int = SIZE.default, lr_range: str | None = None,
             beta_range: str | None = None, n_beta: int | None = None) -> Grid:
    """The grid for settings, the ranges typed as ``LO:HI`` (ParamError, one line, if malformed)."""
    r = settings.resolved() if isinstance(settings, Settings) else settings
    lr = parse_range(LR_RANGE, lr_range, r.rule.params.get("lr"), log=True)
    bp = beta_value_param(r)
    if beta_range is not None and bp is None:
        raise ParamError(f"beta_range: rule {r.rule.name} has no beta (its map has one row)")
    beta = None if bp is None else parse_range(BETA_RANGE, beta_range, bp, log=False)
    return make_grid(r, size, lr, beta, n_beta)


class RateMapJob:
    """A rate map computed in slices: the predicted map a piece of a row at a time, then the
    measured run a step at a time, then its fit. ``work(seconds)`` does about that much (at least
    one slice) and returns True when done;
    ``result()`` is the map so far (measured all nan until the run is done)."""

    def __init__(self, settings: Settings, grid: Grid, steps: int = STEPS.default) -> None:
        steps = int(STEPS.validate(steps))
        if (steps + 1) * grid.n_beta * grid.n_lr > MAX_VALUES:
            raise ParamError(f"the grid is too large: {grid.n_beta} x {grid.n_lr} cells x {steps} steps "
                             f"(at most {MAX_VALUES:,} cell-steps; fewer --steps or a smaller --size)")
        self.settings, self.grid, self.steps = settings, grid, steps
        r = settings.resolved()
        self._r = r
        self.predicted = np.full(grid.shape, np.nan) if predict.predictable(r.rule, r.problem) else None
        self._pieces = predict.predicted_pieces(r.rule, r.hp, r.problem, grid)
        self._rows_done = 0 if self.predicted is not None else grid.n_beta
        self.predicted_done_units = 0  # pieces of the predicted map done
        self._cells: Cells | None = None
        self._fit = None  # the fit's pieces, once the cells have run
        self._rate, self._blown = np.full(grid.shape, np.nan), np.zeros(grid.shape, dtype=bool)
        self._measured: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def total(self) -> int:
        """Units of work: a predicted row each, a measured step each."""
        return self.grid.n_beta + self.steps

    @property
    def done_units(self) -> int:
        return self._rows_done + (self._cells.k if self._cells is not None else 0)

    @property
    def done(self) -> bool:
        return self._measured is not None

    @property
    def predicted_done(self) -> bool:
        return self._rows_done >= self.grid.n_beta

    def work(self, seconds: float = 0.02, clock: Callable[[], float] = time.perf_counter) -> bool:
        """About ``seconds`` of work (at least one unit); True when everything is done."""
        start = clock()
        while not self.done:
            if not self.predicted_done:
                i, cols, rates = next(self._pieces)
                self.predicted[i, cols] = rates  # type: ignore[index]
                self.predicted_done_units += 1
                if cols.stop == self.grid.n_lr:
                    self._rows_done += 1
            elif self._cells is None:
                self._cells = Cells(self._r.rule, self._r.hp, self._r.problem, self.grid, self.steps)
            elif not self._cells.done:
                self._cells.advance(1)
            else:
                if self._fit is None:
                    self._fit = self._cells.fit_pieces()
                piece = next(self._fit, None)
                if piece is None:
                    self._measured = (self._rate, self._blown)
                else:
                    rows, rate, blown = piece
                    self._rate[rows], self._blown[rows] = rate, blown
            if clock() - start >= seconds:
                break
        return self.done

    def run(self, progress: Callable[[int, int], None] | None = None) -> RateMap:
        while not self.work(0.1):
            if progress is not None:
                progress(self.done_units, self.total)
        return self.result()

    def result(self) -> RateMap:
        if self._measured is None:
            measured, blown = np.full(self.grid.shape, np.nan), np.zeros(self.grid.shape, dtype=bool)
        else:
            measured, blown = self._measured[0].copy(), self._measured[1].copy()
        cells = self._cells
        return RateMap(self.settings, self.grid, self.steps,
                       None if self.predicted is None else self.predicted.copy(), measured, blown,
                       cells.grad_mode if cells is not None else "", cells.mode if cells is not None else "")


def compute(settings: Settings, size: int = SIZE.default, steps: int = STEPS.default, lr_range: str | None = None,
            beta_range: str | None = None, progress: Callable[[int, int], None] | None = None) -> RateMap:
    """The whole rate map of ``settings`` (ranges as ``LO:HI`` text; None: the defaults)."""
    return RateMapJob(settings, grid_for(settings, size, lr_range, beta_range), steps).run(progress)
