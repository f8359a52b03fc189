"""The course note's three network experiments (and the edge of stability), as functions that
return numbers: histories, records and figures (:mod:`.experiment_results`); the CLI words them.

* :func:`overfit`: the note's small net drives the training accuracy on 50 examples to 100%.
* :func:`compare_rules`: sgd, sgd_momentum, adam and rmsprop from the same start (the note's
  learning rates ``{sgd: 1e-2, sgd_momentum: 1e-2, adam: 1e-3, rmsprop: 1e-4}``).
* :func:`effective_batch`: SGD at a larger batch against SGD+momentum at batch 100 for the same
  number of steps, over several seeds; mean and min/max band; relative error of the average final
  training accuracy (the course asks for < 0.04, tuning SGD's batch: ``sgd_batch="auto"`` does
  that tuning).
* ``edge-of-stability`` (:mod:`.edge_of_stability`): full-batch GD at a few learning rates, the
  sharpness against 2/lr.

The note counts work in epochs of its CIFAR-10 subsets (4000 and 6000 examples); a built-in set
may be smaller (``digits`` has 1438 training examples), so the experiments keep the note's number
of *steps* instead (``steps``: 200 for compare-rules, 300 for effective-batch); ``steps=None``
goes back to the note's epochs on whatever training set there is. Runs are named like the note's
``submission_logs`` files.

Each experiment's defaults are spelled once, as the fields of its settings dataclass
(:class:`OverfitSettings`, :class:`CompareSettings`, :class:`EffectiveSettings`); the plan and run
functions take those fields as keywords.

The runs are planned apart from running them: :func:`compare_plan` and :func:`effective_plan` return
each run's :class:`PlannedRun` (its name, :class:`TrainConfig` and training data) untrained. The
run functions train exactly those plans, and the app's network lab steps the same plans live, so
the lab and the CLI cannot disagree on seeds, batches, step counts or learning rates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..params import ParamError
from .config import NOTE_DTYPE, NOTE_HIDDEN, NOTE_WEIGHT_SCALE, TrainConfig
from .data import Dataset
from .experiment_results import (CompareResult, ExperimentResult, GroupResult, GroupStarted, OverfitResult,
                                 RunDiverged, RunStarted, Say, SgdTry)
from .solver import Solver

NOTE_LRS = {"sgd": 1e-2, "sgd_momentum": 1e-2, "adam": 1e-3, "rmsprop": 1e-4}
#: the note's steps: 4000 examples / batch 100 x 5 epochs, and 6000 / 100 x 5
NOTE_STEPS = {"compare-rules": 200, "effective-batch": 300}
#: the note's target for the effective-batch study: rel_error(train acc) < 0.04
REL_ERROR_TARGET = 0.04
#: the note's seeds for the effective-batch study
NOTE_SEEDS = (100, 200, 300)
#: the note's fixed effective-batch setting: sgd at batch 600, six times sgd_momentum's 100
NOTE_SGD_BATCH_FACTOR = 6
EXPERIMENTS = ("overfit", "compare-rules", "effective-batch", "edge-of-stability")
Progress = Callable[[int, int], Any]  # progress(done, total)

__all__ = ["EXPERIMENTS", "NOTE_LRS", "NOTE_SEEDS", "NOTE_STEPS", "REL_ERROR_TARGET", "CompareSettings",
           "EffectiveSettings", "ExperimentResult", "GroupResult", "GroupStarted", "OverfitSettings", "PlannedRun",
           "RunDiverged", "RunRecord", "RunStarted", "compare_plan", "compare_rules", "overfit", "rel_error",
           "run_experiment"]


def rel_error(a: float, b: float) -> float:
    """The course's relative error ``|a - b| / max(1e-8, |a| + |b|)``."""
    return float(abs(a - b) / max(1e-8, abs(a) + abs(b)))


# -- each experiment's defaults, spelled once ----------------------------------------------------
class _Settings:
    """``cls.of(options)``: the settings with ``options`` overriding the defaults (a ParamError,
    one line, for an option the experiment does not have)."""

    @classmethod
    def of(cls, options: Mapping[str, Any]):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ParamError(f"{cls.experiment} has no setting {', '.join(unknown)} (it has: {', '.join(sorted(known))})")
        return cls(**options)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OverfitSettings(_Settings):
    """The note's overfit run: hidden [100]*4, weight_scale 1e-1, sgd at lr 1e-3, 20 epochs of batch
    25 (40 steps) on 50 examples, float64."""

    experiment = "overfit"
    num_train: int = 50
    hidden: Sequence[int] = (100,) * 4
    weight_scale: float = 1e-1
    rule: str = "sgd"
    lr: float = 1e-3
    epochs: int = 20
    batch_size: int = 25
    seed: int = 0
    dtype: str = "float64"


@dataclass(frozen=True)
class CompareSettings(_Settings):
    """The note's four-rule comparison: each rule at its note's lr (``lrs`` overrides) from one seed."""

    experiment = "compare-rules"
    rules: Sequence[str] = tuple(NOTE_LRS)
    lrs: Mapping[str, float] | None = None
    num_train: int = 4000
    hidden: Sequence[int] = NOTE_HIDDEN
    weight_scale: float = NOTE_WEIGHT_SCALE
    epochs: int = 5
    batch_size: int = 100
    seed: int = 0
    dtype: str = NOTE_DTYPE
    steps: int | None = NOTE_STEPS["compare-rules"]
    log_acc_iteration: bool | int = False


@dataclass(frozen=True)
class EffectiveSettings(_Settings):
    """The note's effective-batch study (``sgd_batch``: "auto" tunes it; the plan of one setting
    takes a number or None, the note's six times ``momentum_batch``)."""

    experiment = "effective-batch"
    seeds: Sequence[int] = NOTE_SEEDS
    sgd_batch: int | str | None = "auto"
    momentum_batch: int = 100
    lr: float = 1e-2
    steps: int | None = NOTE_STEPS["effective-batch"]
    base_epochs: int = 5
    num_train: int = 6000
    hidden: Sequence[int] = NOTE_HIDDEN
    weight_scale: float = NOTE_WEIGHT_SCALE
    dtype: str = NOTE_DTYPE
    log_acc_iteration: bool | int = True
    target: float = REL_ERROR_TARGET
    noise: bool = True  # measure the gradient noise scale B_noise next to the batch found
    noise_draws: int = 10  # pairs of batches per B_noise estimate (per seed)


@dataclass
class RunRecord:
    name: str  # file stem, as the note's submission_logs
    rule: str
    seed: int
    batch_size: int
    epochs: int
    solver: Solver
    #: histories measured beside the Solver's (e.g. the sharpness), written into the run's file too
    extra_histories: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        return float(self.solver.loss_history[-1])

    @property
    def final_train_acc(self) -> float:
        return float(self.solver.train_acc_history[-1])

    @property
    def final_val_acc(self) -> float:
        return float(self.solver.val_acc_history[-1])


@dataclass(frozen=True)
class PlannedRun:
    """One run of an experiment, not trained yet: :meth:`build` gives a fresh Solver."""

    name: str  # file stem, as the note's submission_logs
    config: TrainConfig
    data: Dataset  # what it trains on (the experiment's subset of the training set)

    @property
    def rule(self) -> str:
        return self.config.rule

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def batch_size(self) -> int:
        return self.config.batch_size

    def build(self) -> Solver:
        return self.config.build(data=self.data)

    def record(self) -> RunRecord:
        """A fresh Solver for this plan, in the record the run functions return."""
        solver = self.build()
        return RunRecord(self.name, self.rule, self.seed, self.batch_size, solver.num_epochs, solver)


def _config(data: Dataset, *, rule: str, lr: float, hidden, weight_scale, dtype, seed, batch_size, epochs,
            steps, log_acc_iteration) -> TrainConfig:
    """The config of one experiment run (no schedule, no L2: the note's settings)."""
    return TrainConfig(dataset=data.name, rule=rule, rule_params={"lr": lr}, hidden=tuple(int(h) for h in hidden),
                       weight_scale=weight_scale, dtype=dtype, seed=seed, epochs=epochs, batch_size=batch_size,
                       num_train=data.X_train.shape[0], log_acc_iteration=log_acc_iteration,
                       num_iterations=None if steps is None else int(steps))


class _Ticker:
    """Counts trained steps against a planned total for a ``progress(done, total)`` callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = max(int(total), 1), 0, progress

    def tick(self, n: int = 1) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


def _train(runs: list[RunRecord], ticker: _Ticker, say: Say | None, announce: bool = True) -> None:
    for r in runs:
        if say is not None and announce:
            say(RunStarted(r.name, r.rule, r.seed, r.batch_size, r.solver.num_iterations))
        while not r.solver.done:
            r.solver.step()
            ticker.tick()
        r.solver.train()  # nothing left to step: keeps the best params, as the course does
        if r.solver.diverged and say is not None:
            say(RunDiverged(r.name, len(r.solver.loss_history) - 1))


def _run_all(runs: list[RunRecord], progress: Progress | None, say: Say | None) -> None:
    ticker = _Ticker(sum(r.solver.num_iterations for r in runs), progress)
    _train(runs, ticker, say)
    ticker.finish()


def _check_steps(steps: int | None) -> None:
    if steps is not None and int(steps) < 1:
        raise ParamError(f"steps must be at least 1, got {steps}")


# ---------------------------------------------------------------------------------------------
def overfit(data: Dataset, *, progress: Progress | None = None, say: Say | None = None,
            **options: Any) -> OverfitResult:
    """Overfit ``num_train`` examples with the note's settings (:class:`OverfitSettings`). With
    ``digits`` on the course's CIFAR-10 scale (see :mod:`.data`) these reach 100% training accuracy."""
    s = OverfitSettings.of(options)
    small = data.subset(s.num_train)
    run = PlannedRun(f"overfit_{s.rule}", _config(small, rule=s.rule, lr=s.lr, hidden=s.hidden,
                                                  weight_scale=s.weight_scale, dtype=s.dtype, seed=s.seed,
                                                  batch_size=s.batch_size, epochs=s.epochs, steps=None,
                                                  log_acc_iteration=False), small).record()
    solver = run.solver
    _run_all([run], progress, say)
    best_train = max(solver.train_acc_history) if solver.train_acc_history else float("nan")
    settings = dict(s.as_dict(), num_train=small.X_train.shape[0], hidden=list(s.hidden))
    return OverfitResult(name="overfit", settings=settings, runs=[run], data=small,
                         values={"best_train_acc": best_train}, best_train_acc=best_train)


def _first_reaching(solver: Solver, level: float) -> int | None:
    """The first logged iteration (1-based count of steps) with training accuracy >= ``level``."""
    for it, acc in zip(solver.log_acc_iteration_history, solver.train_acc_history):
        if acc >= level:
            return it + 1
    return None


def compare_plan(data: Dataset, **options: Any) -> list[PlannedRun]:
    """The runs :func:`compare_rules` trains, untrained: one per rule, the same seed (so the same
    initial weights and minibatch stream), each at its note's lr (``lrs`` overrides); the options
    are :class:`CompareSettings`'s fields."""
    s = CompareSettings.of(options)
    _check_steps(s.steps)
    lrs = {**NOTE_LRS, **(s.lrs or {})}
    small = data.subset(s.num_train)
    return [PlannedRun(f"optimizer_experiment_{rule}",
                       _config(small, rule=rule, lr=lrs.get(rule, 1e-2), hidden=s.hidden, weight_scale=s.weight_scale,
                               dtype=s.dtype, seed=s.seed, batch_size=s.batch_size, epochs=s.epochs, steps=s.steps,
                               log_acc_iteration=s.log_acc_iteration), small)
            for rule in s.rules]


def compare_rules(data: Dataset, *, progress: Progress | None = None, say: Say | None = None,
                  **options: Any) -> CompareResult:
    """Each rule from the same initial weights and minibatch stream (same seed), for ``steps`` steps
    (the note's 200; ``None``: ``epochs`` epochs of the training set): the runs of :func:`compare_plan`."""
    s = CompareSettings.of(options)
    plans = compare_plan(data, **options)
    lrs = {**NOTE_LRS, **(s.lrs or {})}
    small = data.subset(s.num_train)
    runs = [p.record() for p in plans]
    _run_all(runs, progress, say)
    n_steps = runs[0].solver.num_iterations if runs else 0
    level = 0.9
    settings = dict(s.as_dict(), num_train=small.X_train.shape[0], rules=list(s.rules),
                    lrs={r: lrs.get(r, 1e-2) for r in s.rules}, hidden=list(s.hidden),
                    epochs=runs[0].epochs if runs else s.epochs, steps=n_steps)
    settings.pop("log_acc_iteration")
    return CompareResult(name="compare-rules", settings=settings, runs=runs, data=small,
                         values={r.rule: r.final_train_acc for r in runs}, steps=n_steps,
                         epochs=n_steps / max(small.X_train.shape[0] // s.batch_size, 1),
                         reached={r.rule: _first_reaching(r.solver, level) for r in runs}, level=level)


def run_experiment(name: str, data: Dataset, **options: Any) -> ExperimentResult:
    from .edge_of_stability import edge_of_stability
    from .effective_batch import effective_batch

    funcs = {"overfit": overfit, "compare-rules": compare_rules, "effective-batch": effective_batch,
             "edge-of-stability": edge_of_stability}
    try:
        func = funcs[name.replace("_", "-")]
    except KeyError:
        raise ParamError(f"unknown experiment {name!r} (known: {', '.join(EXPERIMENTS)})") from None
    return func(data, **options)


# the effective-batch study lives in its own module (it builds on the pieces above); its public
# names are re-exported here lazily, so either module can be imported first
_STUDY_NAMES = ("effective_batch", "effective_plan", "note_sgd_batch")


def __getattr__(name: str) -> Any:
    if name in _STUDY_NAMES:
        from . import effective_batch as study

        return getattr(study, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
