"""The rate map's grid: a log grid of lr (columns) and a linear grid of the rule's main beta (rows).

A rule without a main beta (gd, adagrad) has one row (``beta`` None). The ranges are typed as
``LO:HI`` (:func:`parse_range`, checked against the rule's own Params); without one, the lr range
spans four decades up to twice the largest stable lr over the beta rows (from the Hessian at w*,
for a linear rule), else two decades either side of the problem's suggested rate; it always
holds the current lr, and the beta range is ``0:0.99`` widened to hold the current beta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from .. import theory
from ..params import Param, ParamError
from ..run import ResolvedSettings

SIZE = Param("size", 32, "cells per axis of the grid (size x size; one row for a rule without a beta)",
             kind="int", low=2, high=256)
STEPS = Param("steps", 500, "steps every cell runs (the measured rate is fitted to them)", kind="int",
              low=10, high=100_000)
LR_RANGE = Param("lr_range", None, "the lr axis LO:HI (log spaced)", kind="text",
                 none_text="four decades up to twice the stability bound")
BETA_RANGE = Param("beta_range", None, "the main beta's axis LO:HI (linear)", kind="text",
                   none_text="0:0.99, widened to the current beta")

#: the beta axis without --beta-range
DEFAULT_BETA = (0.0, 0.99)
#: decades of the default lr axis
LR_DECADES = 4.0


@dataclass(frozen=True)
class Grid:
    """``lr`` (n_lr,) ascending and ``beta`` (n_beta,) ascending, or None for a rule without a beta."""

    lr: np.ndarray
    beta: np.ndarray | None
    beta_name: str | None

    @property
    def n_beta(self) -> int:
        return 1 if self.beta is None else int(self.beta.shape[0])

    @property
    def n_lr(self) -> int:
        return int(self.lr.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_beta, self.n_lr

    def row_hp(self, hp: Mapping[str, Any], i: int) -> dict[str, Any]:
        """The rule's hyper-parameters of row ``i`` (the row's beta put in; scalars)."""
        out = dict(hp)
        if self.beta is not None:
            out[self.beta_name] = float(self.beta[i])  # type: ignore[index]
        return out

    def nearest(self, lr: float, beta: float | None) -> tuple[int, int]:
        """The cell (row, column) nearest to a setting: lr on the log axis, beta on the linear one."""
        j = int(np.argmin(np.abs(np.log(self.lr) - math.log(max(lr, 1e-300)))))
        i = 0 if self.beta is None or beta is None else int(np.argmin(np.abs(self.beta - beta)))
        return i, j


def parse_range(p: Param, text: str | None, value_param: Param, log: bool) -> tuple[float, float] | None:
    """``LO:HI`` read and checked by ``value_param`` (the rule's own lr or beta Param); None if not given."""
    if text is None:
        return None
    parts = str(text).split(":")
    if len(parts) != 2:
        raise ParamError(f"{p.name}: expected LO:HI, got {text!r}")
    try:
        lo, hi = (value_param.parse(t) for t in parts)
    except ParamError as exc:
        raise ParamError(f"{p.name}: {exc}") from None
    if not lo < hi:
        raise ParamError(f"{p.name}: LO must be below HI, got {text!r}")
    if log and lo <= 0:  # pragma: no cover - the lr Param already refuses it
        raise ParamError(f"{p.name}: LO must be positive on a log axis, got {text!r}")
    return float(lo), float(hi)


def _beta_param(r: ResolvedSettings) -> Param | None:
    name = r.rule.main_beta
    return None if name is None else r.rule.params.get(name)


def default_lr_range(r: ResolvedSettings, betas: np.ndarray | None) -> tuple[float, float]:
    """Four decades up to twice the largest stable lr over the rows; around the suggested rate
    when there is no bound; widened to hold the current lr."""
    lr_param = r.rule.params.get("lr")
    bound = None
    if r.rule.linear:
        lam_max = theory.spectrum(r.problem.hessian()).lam_max
        rows = [None] if betas is None else betas.tolist()
        bounds = []
        for b in rows:
            hp = dict(r.hp) if b is None else {**r.hp, r.rule.main_beta: b}
            s = theory.stable_lr(r.rule, hp, lam_max)
            if s is not None and math.isfinite(s) and s > 0:
                bounds.append(s)
        bound = max(bounds) if bounds else None
    if bound is not None:
        hi = 2.0 * bound
        lo = hi / 10**LR_DECADES
    else:
        mid = r.problem.suggested_lr(r.rule.linear)
        lo, hi = mid / 100.0, mid * 100.0
    lr = float(r.hp["lr"])
    lo, hi = min(lo, lr / 1.5), max(hi, lr * 1.5)
    return float(lr_param.clamp(lo)), float(lr_param.clamp(hi))


def make_grid(r: ResolvedSettings, size: int, lr_range: tuple[float, float] | None = None,
              beta_range: tuple[float, float] | None = None, n_beta: int | None = None) -> Grid:
    """The grid for resolved settings: ``size`` lr columns and ``n_beta`` (default ``size``) beta rows."""
    size = int(SIZE.validate(size))
    bp = _beta_param(r)
    betas = None
    if bp is not None:
        if beta_range is None:
            lo, hi = DEFAULT_BETA
            cur = float(r.hp[bp.name])
            lo, hi = min(lo, cur), max(hi, cur)
        else:
            lo, hi = beta_range
        betas = np.linspace(lo, hi, int(SIZE.validate(n_beta or size)))
    if lr_range is None:
        lr_range = default_lr_range(r, betas)
    lrs = np.logspace(math.log10(lr_range[0]), math.log10(lr_range[1]), size)
    return Grid(lrs, betas, None if bp is None else bp.name)


def beta_value_param(r: ResolvedSettings) -> Param | None:
    """The Param that checks a beta typed in ``--beta-range`` (None: the rule has no beta)."""
    return _beta_param(r)
