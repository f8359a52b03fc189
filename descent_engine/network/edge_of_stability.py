"""The edge of stability (Cohen et al. 2021, "Gradient Descent on Neural Networks Typically Occurs
at the Edge of Stability"): full-batch gradient descent at a few learning rates, and the sharpness
(the top eigenvalue of the training loss's Hessian, :mod:`.hessian`) against 2/lr.

On a quadratic, GD at lr diverges once the curvature exceeds 2/lr. On a network the papers see the
sharpness rise during training ("progressive sharpening") until it reaches 2/lr, then hover there
while the loss keeps falling, non-monotonically. :func:`edge_of_stability` measures where the
sharpness went at each lr: at the start, its maximum, its mean over the second half of the run and
at the end, each as a multiple of 2/lr. Numbers only (:class:`~.experiment_results.EdgeResult`);
the CLI words them.

Every run takes full steps on the same subset (the first ``num_train`` examples, at most the 1,000
the sharpness is measured on, so the Hessian is that of the very loss GD descends), from the same
initial weights (``seed``), with the plain rule ``gd``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..params import ParamError
from .config import NOTE_DTYPE, NOTE_HIDDEN, NOTE_WEIGHT_SCALE, TrainConfig
from .data import Dataset
from .experiment_results import EdgeResult, LrFinished, LrOutcome, LrStarted, Say
from .experiments import Progress, RunRecord, _Settings, _Ticker
from .hessian import SHARPNESS_EXAMPLES, SharpnessMonitor


@dataclass(frozen=True)
class EdgeSettings(_Settings):
    """The experiment's defaults: the note's network on 500 digits, 200 steps (about 15 s on one core;
    the sharpness peaks within the first 150 steps at these lrs, see the README)."""

    experiment = "edge-of-stability"
    lrs: Sequence[float] = (0.01, 0.02, 0.04, 0.08)
    num_train: int = 500
    hidden: Sequence[int] = NOTE_HIDDEN
    weight_scale: float = NOTE_WEIGHT_SCALE
    steps: int = 200
    sharpness_every: int = 10
    seed: int = 0
    dtype: str = NOTE_DTYPE


def edge_plan(data: Dataset, **options: Any) -> list[tuple[float, TrainConfig, Dataset]]:
    """(lr, config, subset) for each run, untrained (the options are :class:`EdgeSettings`'s fields)."""
    s = EdgeSettings.of(options)
    lrs = [float(lr) for lr in s.lrs]
    if not lrs or any(not lr > 0 for lr in lrs):
        raise ParamError(f"lrs must be positive learning rates, got {', '.join(map(str, s.lrs)) or 'none'}")
    if int(s.steps) < 1 or int(s.sharpness_every) < 1:
        raise ParamError("steps and sharpness_every must be at least 1")
    n = min(int(s.num_train), int(data.X_train.shape[0]), SHARPNESS_EXAMPLES)
    small = data.subset(n)
    return [(lr, TrainConfig(dataset=data.name, rule="gd", rule_params={"lr": lr}, hidden=tuple(int(h) for h in s.hidden),
                             weight_scale=s.weight_scale, dtype=s.dtype, seed=s.seed, batch_size=n, num_train=n,
                             num_iterations=int(s.steps)), small)
            for lr in lrs]


def _outcome(lr: float, monitor: SharpnessMonitor, solver) -> LrOutcome:
    its = np.array([r.iteration for r in monitor.records], dtype=np.int64)
    vals = np.array([r.sharpness for r in monitor.records], dtype=np.float64)
    losses = solver.loss_history
    return LrOutcome(lr=lr, final_sharpness=float(vals[-1]), threshold=2.0 / lr, max_sharpness=float(vals.max()),
                     initial_sharpness=float(vals[0]), peak_iteration=int(its[int(vals.argmax())]), final_loss=float(losses[-1]) if losses else float("nan"),
                     diverged=bool(solver.diverged), iterations=its, sharpness=vals,
                     diverged_at=len(losses) - 1 if solver.diverged else None)


def second_half_mean(outcome: LrOutcome) -> float:
    """The mean sharpness over the measurements in the second half of the run."""
    last = int(outcome.iterations[-1])
    keep = outcome.iterations >= last / 2
    return float(outcome.sharpness[keep].mean())


def edge_of_stability(data: Dataset, *, progress: Progress | None = None, say: Say | None = None,
                      **options: Any) -> EdgeResult:
    """Full-batch GD at each lr (:class:`EdgeSettings`); the sharpness measured before the first
    step, every ``sharpness_every`` steps and at the last step (warm-started Lanczos, tol 1e-3)."""
    s = EdgeSettings.of(options)
    plan = edge_plan(data, **options)
    small = plan[0][2]
    n = small.X_train.shape[0]
    ticker = _Ticker(len(plan) * int(s.steps), progress)
    runs: list[RunRecord] = []
    outcomes: list[LrOutcome] = []
    for lr, config, subset in plan:
        if say is not None:
            say(LrStarted(lr, int(s.steps), n))
        solver = config.build(data=subset, full_batch=True)
        monitor = SharpnessMonitor(int(s.sharpness_every), examples=n, seed=s.seed)
        monitor.measure(solver)  # at the start (iteration 0)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            while not solver.done:
                solver.step()
                ticker.tick()
                if not solver.diverged and monitor.due(solver):
                    monitor.measure(solver)
        ticker.tick(int(s.steps) - solver.t)  # a diverged run's remaining steps
        runs.append(RunRecord(f"edge_of_stability_lr{lr:g}", "gd", s.seed, n, solver.num_epochs, solver,
                              extra_histories=monitor.histories()))
        out = _outcome(lr, monitor, solver)
        outcomes.append(out)
        if say is not None:
            say(LrFinished(lr, out.final_sharpness, out.threshold, out.diverged))
    ticker.finish()
    settings = dict(s.as_dict(), lrs=[float(x) for x in s.lrs], hidden=list(s.hidden), num_train=n)
    values = {f"sharpness_over_threshold_lr{o.lr:g}": o.ratio for o in outcomes}
    return EdgeResult(name="edge-of-stability", settings=settings, runs=runs, data=small, values=values,
                      outcomes=outcomes, steps=int(s.steps), examples=n)

