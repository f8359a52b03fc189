"""What the network experiments return and report, as numbers: no text is built here.

* Events (what a ``say`` callback receives while an experiment runs): :class:`RunStarted`,
  :class:`RunDiverged`, :class:`GroupStarted`, :class:`GroupResult`, :class:`LrStarted`,
  :class:`LrFinished`. The CLI words them (``tui/cli/network_text.py``).
* Results: :class:`ExperimentResult` (what every experiment has: its runs, settings, the events it
  kept for the record) and one subclass per experiment with the figures its summary states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .data import Dataset
    from .experiments import RunRecord


# -- events ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunStarted:
    """One run is about to train (overfit, compare-rules)."""

    name: str
    rule: str
    seed: int
    batch_size: int
    steps: int


@dataclass(frozen=True)
class RunDiverged:
    name: str
    iteration: int  # the iteration whose loss was not finite (0-based)


@dataclass(frozen=True)
class GroupStarted:
    """The effective-batch study starts the runs of one setting, one per seed."""

    rule: str
    batch_size: int
    seeds: tuple[int, ...]
    steps: int


@dataclass(frozen=True)
class GroupResult:
    """The effective-batch study's figure for one setting: the mean final training accuracy over
    the seeds and (for sgd) its relative error against sgd_momentum's."""

    rule: str
    batch_size: int
    avg_train_acc: float
    rel_error: float | None = None  # None for sgd_momentum itself
    reference: bool = False  # sgd at sgd_momentum's own batch (auto mode only)
    tuning: bool = False  # one try of the auto mode
    target: float | None = None
    stop: bool = False  # below the target: the tuning stops here


@dataclass(frozen=True)
class LrStarted:
    """The edge-of-stability experiment starts its run at one learning rate."""

    lr: float
    steps: int
    examples: int


@dataclass(frozen=True)
class LrFinished:
    lr: float
    final_sharpness: float
    threshold: float  # 2 / lr
    diverged: bool


Event = Any  # one of the dataclasses above
Say = Callable[[Event], Any]


# -- results -----------------------------------------------------------------------------------
@dataclass(kw_only=True)
class ExperimentResult:
    name: str
    settings: dict[str, Any]
    runs: list["RunRecord"]
    data: "Dataset | None" = None  # what the runs trained on (the experiment's subset)
    values: dict[str, float] = field(default_factory=dict)
    #: events worth keeping in the record (the effective-batch study's per-setting figures)
    events: list[Event] = field(default_factory=list)
    #: effective-batch only: per label, {"loss"|"train_acc"|"val_acc": (x, mean, min, max)}
    bands: dict[str, dict[str, tuple[np.ndarray, ...]]] = field(default_factory=dict)
    #: effective-batch with sgd_batch="auto": one per SGD batch tried, in order
    tries: list["SgdTry"] = field(default_factory=list)


@dataclass(kw_only=True)
class OverfitResult(ExperimentResult):
    best_train_acc: float


@dataclass(kw_only=True)
class CompareResult(ExperimentResult):
    steps: int
    epochs: float  # steps / steps per epoch of the subset
    #: rule -> the first step count at which the logged train accuracy reached ``level`` (None: never)
    reached: dict[str, int | None]
    level: float = 0.9


@dataclass(frozen=True)
class SgdTry:
    sgd_batch: int
    avg_train_acc: float
    rel_error: float
    reference: bool


@dataclass(frozen=True)
class NoiseFigure:
    """The gradient noise scale B_noise = tr(Sigma) / |G|^2 of the study's network at its start
    and at the end of the momentum runs (mean over seeds), next to the SGD batch found."""

    start: float
    end: float
    trace_sigma_end: float
    g2_end: float
    b_small: int
    b_big: int
    per_seed_end: tuple[float, ...] = ()


@dataclass(kw_only=True)
class EffectiveResult(ExperimentResult):
    sgd_batch: int
    momentum_batch: int
    steps: int
    sgd_epochs: int
    momentum_epochs: int
    lr: float
    seeds: tuple[int, ...]
    avg_sgd: float
    avg_momentum: float
    difference: float  # rel_error(avg_sgd, avg_momentum)
    target: float
    auto: bool
    tuned: bool  # auto mode: a try got below the target
    candidates: tuple[int, int]  # the first and last sgd batch the tuning could try
    noise: NoiseFigure | None = None


@dataclass(frozen=True)
class LrOutcome:
    """How full-batch GD at one lr ended: the last sharpness against 2/lr."""

    lr: float
    final_sharpness: float
    threshold: float  # 2 / lr
    max_sharpness: float
    initial_sharpness: float
    peak_iteration: int  # when the largest measured sharpness was taken
    final_loss: float
    diverged: bool
    iterations: np.ndarray  # when the sharpness was measured (steps taken)
    sharpness: np.ndarray
    diverged_at: int | None = None  # the iteration whose loss was not finite (0-based)

    @property
    def ratio(self) -> float:
        return self.final_sharpness / self.threshold


@dataclass(kw_only=True)
class EdgeResult(ExperimentResult):
    outcomes: list[LrOutcome]
    steps: int
    examples: int
