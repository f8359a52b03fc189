"""The course note's three network experiments, as functions that return histories and summary lines.

* :func:`overfit`: the note's small net drives the training accuracy on 50 examples to 100%.
* :func:`compare_rules`: sgd, sgd_momentum, adam and rmsprop from the same start (the note's
  learning rates ``{sgd: 1e-2, sgd_momentum: 1e-2, adam: 1e-3, rmsprop: 1e-4}``).
* :func:`effective_batch`: SGD at a larger batch against SGD+momentum at batch 100 for the same
  number of steps, over several seeds; mean and min/max band; relative error of the average final
  training accuracy (the course asks for < 0.04, tuning SGD's batch: ``sgd_batch="auto"`` does
  that tuning).

The note counts work in epochs of its CIFAR-10 subsets (4000 and 6000 examples); a built-in set
may be smaller (``digits`` has 1438 training examples), so the experiments keep the note's number
of *steps* instead (``steps``: 200 for compare-rules, 300 for effective-batch); ``steps=None``
goes back to the note's epochs on whatever training set there is. Runs are named like the note's
``submission_logs`` files.

The runs are planned apart from running them: :func:`compare_plan` and :func:`effective_plan` return
each run's :class:`PlannedRun` (its name, :class:`TrainConfig` and training data) untrained. The
run functions train exactly those plans, and the app's network lab steps the same plans live, so
the lab and the CLI cannot disagree on seeds, batches, step counts or learning rates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..params import ParamError
from .config import NOTE_HIDDEN, TrainConfig
from .data import Dataset
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
EXPERIMENTS = ("overfit", "compare-rules", "effective-batch")
Progress = Callable[[int, int], Any]


def rel_error(a: float, b: float) -> float:
    """The course's relative error ``|a - b| / max(1e-8, |a| + |b|)``."""
    return float(abs(a - b) / max(1e-8, abs(a) + abs(b)))


@dataclass
class RunRecord:
    name: str  # file stem, as the note's submission_logs
    rule: str
    seed: int
    batch_size: int
    epochs: int
    solver: Solver

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


@dataclass
class ExperimentResult:
    name: str
    settings: dict[str, Any]
    runs: list[RunRecord]
    summary: list[str]
    #: effective-batch only: per label, {"loss"|"train_acc"|"val_acc": (x, mean, min, max)}
    bands: dict[str, dict[str, tuple[np.ndarray, ...]]] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    #: effective-batch with sgd_batch="auto": one entry per SGD batch tried, in order
    #: ({"sgd_batch", "avg_train_acc", "rel_error", "reference"})
    tries: list[dict[str, Any]] = field(default_factory=list)
    #: lines said while the experiment ran (the tuning tries), kept for the record
    log: list[str] = field(default_factory=list)


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

    def tick(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


def _train(runs: list[RunRecord], ticker: _Ticker, say: Callable[[str], Any] | None, announce: bool = True) -> None:
    for r in runs:
        if say is not None and announce:
            say(f"running with {r.rule} ; seed = {r.seed} ; batch {r.batch_size} ; {r.solver.num_iterations} steps")
        while not r.solver.done:
            r.solver.step()
            ticker.tick()
        r.solver.train()  # nothing left to step: keeps the best params, as the course does
        if r.solver.diverged and say is not None:
            say(f"  {r.name}: diverged at iteration {len(r.solver.loss_history) - 1}")


def _run_all(runs: list[RunRecord], progress: Progress | None, say: Callable[[str], Any] | None) -> None:
    ticker = _Ticker(sum(r.solver.num_iterations for r in runs), progress)
    _train(runs, ticker, say)
    ticker.finish()


def _line(r: RunRecord) -> str:
    return (f"{r.rule:>12}: final loss {r.final_loss:.4f}, train acc {r.final_train_acc:.3f}, "
            f"val acc {r.final_val_acc:.3f}, best val acc {r.solver.best_val_acc:.3f}")


def _check_steps(steps: int | None) -> None:
    if steps is not None and int(steps) < 1:
        raise ParamError(f"steps must be at least 1, got {steps}")


# ---------------------------------------------------------------------------------------------
def overfit(data: Dataset, *, num_train: int = 50, hidden: Sequence[int] = (100,) * 4,
            weight_scale: float = 1e-1, rule: str = "sgd", lr: float = 1e-3, epochs: int = 20,
            batch_size: int = 25, seed: int = 0, dtype: str = "float64",
            progress: Progress | None = None, say: Callable[[str], Any] | None = None) -> ExperimentResult:
    """Overfit ``num_train`` examples with the note's settings: hidden [100]*4, weight_scale 1e-1,
    sgd at lr 1e-3, 20 epochs of batch 25 (40 steps), float64. With ``digits`` on the course's
    CIFAR-10 scale (see :mod:`.data`) these reach 100% training accuracy."""
    small = data.subset(num_train)
    run = PlannedRun(f"overfit_{rule}", _config(small, rule=rule, lr=lr, hidden=hidden, weight_scale=weight_scale,
                                                dtype=dtype, seed=seed, batch_size=batch_size, epochs=epochs,
                                                steps=None, log_acc_iteration=False), small).record()
    solver = run.solver
    _run_all([run], progress, say)
    best_train = max(solver.train_acc_history) if solver.train_acc_history else float("nan")
    summary = [
        f"overfit {small.X_train.shape[0]} examples of {data.name}: hidden {list(hidden)}, "
        f"weight_scale {weight_scale:g}, {rule} lr {lr:g}, {epochs} epochs, batch {batch_size}",
        _line(run),
        f"best training accuracy: {best_train:.3f}" + ("  (overfits: 100%)" if best_train == 1.0 else ""),
    ]
    settings = dict(num_train=small.X_train.shape[0], hidden=list(hidden), weight_scale=weight_scale, rule=rule,
                    lr=lr, epochs=epochs, batch_size=batch_size, seed=seed, dtype=dtype)
    return ExperimentResult("overfit", settings, [run], summary, values={"best_train_acc": best_train})


def _first_reaching(solver: Solver, level: float) -> int | None:
    """The first logged iteration (1-based count of steps) with training accuracy >= ``level``."""
    for it, acc in zip(solver.log_acc_iteration_history, solver.train_acc_history):
        if acc >= level:
            return it + 1
    return None


def compare_plan(data: Dataset, *, rules: Sequence[str] = ("sgd", "sgd_momentum", "adam", "rmsprop"),
                 lrs: Mapping[str, float] | None = None, num_train: int = 4000,
                 hidden: Sequence[int] = NOTE_HIDDEN, weight_scale: float = 5e-2, epochs: int = 5,
                 batch_size: int = 100, seed: int = 0, dtype: str = "float32",
                 steps: int | None = NOTE_STEPS["compare-rules"],
                 log_acc_iteration: bool | int = False) -> list[PlannedRun]:
    """The runs :func:`compare_rules` trains, untrained: one per rule, the same seed (so the same
    initial weights and minibatch stream), each at its note's lr (``lrs`` overrides)."""
    _check_steps(steps)
    lrs = {**NOTE_LRS, **(lrs or {})}
    small = data.subset(num_train)
    return [PlannedRun(f"optimizer_experiment_{rule}",
                       _config(small, rule=rule, lr=lrs.get(rule, 1e-2), hidden=hidden, weight_scale=weight_scale,
                               dtype=dtype, seed=seed, batch_size=batch_size, epochs=epochs, steps=steps,
                               log_acc_iteration=log_acc_iteration), small)
            for rule in rules]


def compare_rules(data: Dataset, *, rules: Sequence[str] = ("sgd", "sgd_momentum", "adam", "rmsprop"),
                  lrs: Mapping[str, float] | None = None, num_train: int = 4000,
                  hidden: Sequence[int] = (100,) * 5, weight_scale: float = 5e-2, epochs: int = 5,
                  batch_size: int = 100, seed: int = 0, dtype: str = "float32",
                  steps: int | None = NOTE_STEPS["compare-rules"], log_acc_iteration: bool | int = False,
                  progress: Progress | None = None, say: Callable[[str], Any] | None = None) -> ExperimentResult:
    """Each rule from the same initial weights and minibatch stream (same seed), for ``steps`` steps
    (the note's 200; ``None``: ``epochs`` epochs of the training set): the runs of :func:`compare_plan`."""
    plans = compare_plan(data, rules=rules, lrs=lrs, num_train=num_train, hidden=hidden, weight_scale=weight_scale,
                         epochs=epochs, batch_size=batch_size, seed=seed, dtype=dtype, steps=steps,
                         log_acc_iteration=log_acc_iteration)
    lrs = {**NOTE_LRS, **(lrs or {})}
    small = data.subset(num_train)
    runs = [p.record() for p in plans]
    _run_all(runs, progress, say)
    n_steps = runs[0].solver.num_iterations if runs else 0
    summary = [f"compare rules on {small.describe()}: hidden {list(hidden)}, weight_scale {weight_scale:g}, "
               f"{n_steps} steps of batch {batch_size} ({n_steps / max(small.X_train.shape[0] // batch_size, 1):.3g} "
               f"epochs, accuracy checked at each epoch end), seed {seed}"]
    for r in runs:
        reach = _first_reaching(r.solver, 0.9)
        summary.append(_line(r) + f"  (lr {r.solver.hp['lr']:g}; train acc >= 0.9 "
                       + (f"by step {reach})" if reach is not None else "not reached)"))
    settings = dict(num_train=small.X_train.shape[0], rules=list(rules), lrs={r: lrs.get(r, 1e-2) for r in rules},
                    hidden=list(hidden), weight_scale=weight_scale, epochs=runs[0].epochs if runs else epochs,
                    steps=n_steps, batch_size=batch_size, seed=seed, dtype=dtype)
    return ExperimentResult("compare-rules", settings, runs, summary,
                            values={r.rule: r.final_train_acc for r in runs})


def run_experiment(name: str, data: Dataset, **options: Any) -> ExperimentResult:
    from .effective_batch import effective_batch

    funcs = {"overfit": overfit, "compare-rules": compare_rules, "effective-batch": effective_batch}
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
