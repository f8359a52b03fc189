"""Learning-rate schedules: pure functions of the epoch.

``factor(epochs, hp)`` returns eta_t / eta0 for an array of epochs (vectorised, so a whole
schedule can be drawn at once); ``Schedule.lr(epoch, eta0, hp)`` is one value. An epoch of a
2-D problem is one step unless ``steps_per_epoch`` says otherwise; ``epoch_of(step, spe)`` is
``step // spe``.

The note's five schedules (epoch-based, exponential, "polynomial", staircase, square-root) are
here with the note's formulas, plus ``cosine`` and a linear ``warmup``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .params import Param, ParamError, ParamSet
from .registry import Registry

Factor = Callable[[np.ndarray, Mapping[str, Any]], np.ndarray]


@dataclass(frozen=True)
class Schedule:
    name: str
    title: str
    params: ParamSet
    factor: Factor
    formula: str
    #: False for schedules that may raise the rate (warmup)
    monotone: bool = True
    check: Callable[[Mapping[str, Any]], None] | None = None

    def hparams(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        hp = self.params.resolve(values, owner=f"schedule {self.name}")
        if self.check is not None:
            self.check(hp)
        return hp

    def lr(self, epoch: int, eta0: float, hp: Mapping[str, Any]) -> float:
        return float(eta0 * self.factor(np.asarray([epoch], dtype=float), hp)[0])

    def lrs(self, epochs: np.ndarray, eta0: float, hp: Mapping[str, Any]) -> np.ndarray:
        return eta0 * self.factor(np.asarray(epochs, dtype=float), hp)


def epoch_of(step: int, steps_per_epoch: int = 1) -> int:
    return step // steps_per_epoch


def _constant(e, hp):
    return np.ones_like(e)


def _epoch(e, hp):
    return 1.0 / (1.0 + hp["decay"] * e)


def _exponential(e, hp):
    return np.exp(-hp["decay"] * e)


def _polynomial(e, hp):
    return hp["base"] ** e


def _staircase(e, hp):
    out = np.ones_like(e)
    for milestone, factor in zip(hp["milestones"], hp["factors"]):
        out = np.where(e >= milestone, factor, out)
    return out


def _staircase_check(hp):
    ms, fs = hp["milestones"], hp["factors"]
    if len(ms) != len(fs):
        raise ParamError(f"staircase: {len(ms)} milestones but {len(fs)} factors (give one factor per milestone)")
    if list(ms) != sorted(set(ms)):
        raise ParamError("staircase: milestones must be strictly increasing")
    if any(b > a for a, b in zip((1.0,) + tuple(fs), fs)):
        raise ParamError("staircase: factors must not increase (each is eta/eta0 from its milestone on)")


def _sqrt(e, hp):
    # epoch 0 is read as epoch 1: the rate starts at k * eta0 and the formula never divides by 0
    return hp["scale"] / np.sqrt(np.maximum(e, 1.0))


def _cosine(e, hp):
    t = np.minimum(e, hp["period"]) / hp["period"]
    lo = hp["min_factor"]
    return lo + (1.0 - lo) * 0.5 * (1.0 + np.cos(np.pi * t))


def _warmup(e, hp):
    w = hp["warmup_epochs"]
    s = hp["start_factor"]
    return s + (1.0 - s) * np.minimum(e, w) / w


_DECAY = Param("decay", 0.01, "decay rate k", low=0.0, high=1e3, symbol="k", unit="rate")

SCHEDULES: Registry[Schedule] = Registry("schedule")


def _register(s: Schedule) -> Schedule:
    return SCHEDULES.register(s.name, s)


_register(Schedule("constant", "constant", ParamSet(()), _constant, "eta = eta0"))
_register(Schedule("epoch", "epoch-based decay", ParamSet((_DECAY,)), _epoch, "eta = eta0 / (1 + k epoch)"))
_register(Schedule("exponential", "exponential decay", ParamSet((_DECAY,)), _exponential,
                   "eta = eta0 exp(-k epoch)"))
_register(Schedule(
    "polynomial", "the note's polynomial decay",
    ParamSet((Param("base", 0.95, "per-epoch factor (the note's 0.95)", low=0.0, low_open=True, high=1.0,
                    unit="factor"),)),
    _polynomial, "eta = base^epoch eta0",
))
_register(Schedule(
    "staircase", "staircase (piecewise constant)",
    ParamSet((
        Param("milestones", (50, 100), "epochs at which the rate changes", kind="ints", low=1, unit="epochs"),
        Param("factors", (0.5, 0.1), "eta/eta0 from each milestone on", kind="floats", low=0.0, low_open=True,
              high=1.0),
    )),
    _staircase, "eta = factor_i eta0 for milestone_i <= epoch < milestone_i+1", check=_staircase_check,
))
_register(Schedule(
    "sqrt", "square-root decay",
    ParamSet((Param("scale", 1.0, "constant k in k / sqrt(epoch)", low=0.0, low_open=True, high=1e3, symbol="k"),)),
    _sqrt, "eta = k / sqrt(max(epoch, 1)) eta0   (epoch 0 counts as 1)",
))
_register(Schedule(
    "cosine", "cosine annealing",
    ParamSet((
        Param("period", 100, "epochs to anneal over (then flat)", kind="int", low=1, high=10**9, scale="log",
              unit="epochs"),
        Param("min_factor", 0.0, "eta_min / eta0", low=0.0, high=1.0),
    )),
    _cosine, "eta = eta0 (m + (1-m)(1 + cos(pi min(epoch,T)/T))/2)",
))
_register(Schedule(
    "warmup", "linear warm-up",
    ParamSet((
        Param("warmup_epochs", 10, "epochs to reach eta0", kind="int", low=1, high=10**9, scale="log",
              unit="epochs"),
        Param("start_factor", 0.1, "eta/eta0 at epoch 0", low=0.0, low_open=True, high=1.0),
    )),
    _warmup, "eta = eta0 (s + (1-s) min(epoch, W)/W)", monotone=False,
))


def schedule_names() -> list[str]:
    return list(SCHEDULES)


def get_schedule(name: str) -> Schedule:
    return SCHEDULES.get(name)
