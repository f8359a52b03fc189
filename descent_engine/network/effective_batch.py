"""The note's effective-batch study: SGD at a larger batch against SGD+momentum at batch 100 for
the same number of steps, over several seeds; mean and min/max bands; the course's relative error
of the average final training accuracy (< 0.04), with SGD's batch tuned when ``sgd_batch="auto"``.

The shared pieces (plans, records, the ticker, the note's constants, the settings' defaults in
:class:`~.experiments.EffectiveSettings`) are in :mod:`.experiments`, which re-exports the names
here. Results are numbers (:class:`~.experiment_results.EffectiveResult`); the CLI words them.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..params import ParamError
from .data import Dataset
from .experiment_results import EffectiveResult, GroupResult, GroupStarted, NoiseFigure, Say, SgdTry
from .experiments import (NOTE_SGD_BATCH_FACTOR, EffectiveSettings, PlannedRun, Progress, RunRecord, _check_steps,
                          _config, _Ticker, _train, rel_error)
from .noise import NoiseResult, model_grad_fn, monitor_batches, noise_scale
from .solver import Solver


def _band(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = min(len(a) for a in arrays)  # equal unless a run diverged
    a = np.array([np.asarray(x[:n], dtype=np.float64) for x in arrays])
    return a.mean(axis=0), a.min(axis=0), a.max(axis=0)


def _bands(solvers: list[Solver]) -> dict[str, tuple[np.ndarray, ...]]:
    x_loss = np.arange(min(len(s.loss_history) for s in solvers))
    x_acc = np.asarray(solvers[0].log_acc_iteration_history)
    acc_n = min(len(s.train_acc_history) for s in solvers)
    return {
        "loss": (x_loss, *_band([s.loss_history for s in solvers])),
        "train_acc": (x_acc[:acc_n], *_band([s.train_acc_history for s in solvers])),
        "val_acc": (x_acc[:acc_n], *_band([s.val_acc_history for s in solvers])),
    }


def _mean_final_train_acc(runs: list[RunRecord]) -> float:
    return float(np.mean([r.final_train_acc for r in runs]))


def _effective_size(data: Dataset, seeds: Sequence[int], momentum_batch: int, num_train: int) -> int:
    """The training-set size of the study (checked: seeds given, room for one momentum batch)."""
    if not seeds:
        raise ParamError("give at least one seed")
    if int(momentum_batch) < 1:
        raise ParamError(f"the momentum batch must be at least 1, got {momentum_batch}")
    n = min(int(num_train), data.X_train.shape[0])
    if n < momentum_batch:
        raise ParamError(f"{data.name} has {n} training examples; a batch of {momentum_batch} needs at least that many")
    return n


def _check_sgd_batch(data: Dataset, n: int, sgd_batch: int, momentum_batch: int) -> int:
    sgd_batch = int(sgd_batch)
    if sgd_batch < momentum_batch or sgd_batch % momentum_batch:
        raise ParamError(f"the sgd batch must be a multiple of {momentum_batch}, got {sgd_batch}")
    if sgd_batch > n:
        raise ParamError(f"{data.name} has {n} training examples; an sgd batch of {sgd_batch} "
                         f"needs at least that many")
    return sgd_batch


def note_sgd_batch(num_train: int, momentum_batch: int = 100) -> int:
    """The note's sgd batch, six times sgd_momentum's (600 for 100), or the largest multiple of
    ``momentum_batch`` a smaller training set holds."""
    return max(momentum_batch, min(NOTE_SGD_BATCH_FACTOR * momentum_batch, num_train // momentum_batch * momentum_batch))


def effective_plan(data: Dataset, *, sgd_batch: int | None = None, **options: Any) -> list[PlannedRun]:
    """The runs of the effective-batch study at one fixed sgd batch, untrained: sgd_momentum at
    ``momentum_batch`` for each seed, then sgd at ``sgd_batch`` (a multiple of ``momentum_batch``;
    ``None``: :func:`note_sgd_batch`) for each seed, all for the same number of steps (``steps``;
    ``None``: ``base_epochs`` epochs at ``momentum_batch``) at the same lr. The options are
    :class:`EffectiveSettings`'s fields. :func:`effective_batch` trains these (one plan per sgd
    batch it tries); names are the note's files."""
    s = EffectiveSettings.of(options)
    _check_steps(s.steps)
    n = _effective_size(data, s.seeds, s.momentum_batch, s.num_train)
    sgd_batch = note_sgd_batch(n, s.momentum_batch) if sgd_batch is None else sgd_batch
    sgd_batch = _check_sgd_batch(data, n, sgd_batch, s.momentum_batch)
    small = data.subset(n)
    n_steps = int(s.steps) if s.steps is not None else int(s.base_epochs) * (n // s.momentum_batch)

    def group(rule: str, batch: int) -> list[PlannedRun]:
        return [PlannedRun(f"sgd_momentum_compare_{rule}_{seed}",
                           _config(small, rule=rule, lr=s.lr, hidden=s.hidden, weight_scale=s.weight_scale,
                                   dtype=s.dtype, seed=seed, batch_size=batch, epochs=s.base_epochs, steps=n_steps,
                                   log_acc_iteration=s.log_acc_iteration), small)
                for seed in s.seeds]

    return group("sgd_momentum", s.momentum_batch) + group("sgd", sgd_batch)


def effective_batch(data: Dataset, *, progress: Progress | None = None, say: Say | None = None,
                    **options: Any) -> EffectiveResult:
    """sgd_momentum at ``momentum_batch`` against sgd at ``sgd_batch`` (a multiple of
    ``momentum_batch``), each for the same ``steps`` steps (the note's 300; ``None``: the note's
    ``base_epochs`` epochs at ``momentum_batch``), one run per seed, same lr: the runs of
    :func:`effective_plan`. The options are :class:`EffectiveSettings`'s fields.

    ``sgd_batch="auto"`` is the note's TODO: try 2, 3, ... times ``momentum_batch`` (up to the
    training-set size) and stop at the first whose relative error of the mean final training
    accuracy against sgd_momentum is below ``target``; SGD at ``momentum_batch`` itself is run
    first as a reference (is the batch what separates the two?). If no batch gets below
    ``target``, the closest try is reported (``tuned`` False).

    ``say`` receives :class:`GroupStarted` and :class:`GroupResult` events; the GroupResults are
    also kept in the result's ``events``.
    """
    s = EffectiveSettings.of(options)
    _check_steps(s.steps)
    mb = s.momentum_batch
    n = _effective_size(data, s.seeds, mb, s.num_train)
    auto = isinstance(s.sgd_batch, str)
    if auto:
        if s.sgd_batch != "auto":
            raise ParamError(f"the sgd batch must be 'auto' or a multiple of {mb}, got {s.sgd_batch!r}")
        candidates = list(range(2 * mb, n + 1, mb))
        if not candidates:
            raise ParamError(f"{data.name} has {n} training examples; tuning needs room for an sgd batch of {2 * mb}")
    else:  # a number, or None: the note's fixed batch
        batch = note_sgd_batch(n, mb) if s.sgd_batch is None else s.sgd_batch
        candidates = [_check_sgd_batch(data, n, batch, mb)]
    small = data.subset(n)
    plan_options = {k: v for k, v in options.items() if k not in ("sgd_batch", "target", "noise", "noise_draws")}
    plan_options["num_train"] = n

    def plan(batch: int) -> list[PlannedRun]:
        return effective_plan(data, sgd_batch=batch, **plan_options)

    n_steps = plan(candidates[0])[0].config.num_iterations
    reference = [mb] if auto else []
    seeds = tuple(int(x) for x in s.seeds)
    # the progress total covers the work planned so far (momentum, reference, first try) and grows by
    # one try each time the tuning goes on, so the bar never promises tries that may not happen
    per_group = n_steps * len(seeds)
    ticker = _Ticker(per_group * (1 + len(reference) + 1), progress)
    events: list[GroupResult] = []

    def tell(event: GroupResult) -> None:
        events.append(event)
        if say is not None:
            say(event)

    def group(rule: str, batch: int, name: str) -> list[RunRecord]:
        plans = plan(batch)
        plans = plans[:len(seeds)] if rule == "sgd_momentum" else plans[len(seeds):]
        runs = [p.record() for p in plans]
        for r in runs:
            r.name = name.format(seed=r.seed)
        if say is not None:
            say(GroupStarted(rule, batch, seeds, n_steps))
        _train(runs, ticker, say, announce=False)
        return runs

    momentum = group("sgd_momentum", mb, "sgd_momentum_compare_sgd_momentum_{seed}")
    avg_m = _mean_final_train_acc(momentum)
    tell(GroupResult("sgd_momentum", mb, avg_m))
    tries: list[SgdTry] = []
    by_batch: dict[int, list[RunRecord]] = {}
    all_runs = list(momentum)
    for k, batch in enumerate(reference + candidates):
        is_ref = auto and batch == mb and not tries
        if k > len(reference):
            ticker.total += per_group
        runs = group("sgd", batch, f"sgd_momentum_compare_sgd_batch{batch}_{{seed}}")
        all_runs += runs
        avg = _mean_final_train_acc(runs)
        err = rel_error(avg, avg_m)
        tries.append(SgdTry(batch, avg, err, is_ref))
        if is_ref:
            tell(GroupResult("sgd", batch, avg, err, reference=True))
            continue
        by_batch[batch] = runs
        tell(GroupResult("sgd", batch, avg, err, tuning=auto, target=s.target, stop=err < s.target))
        if err < s.target:
            break
    noise = (_noise_figure([p.build() for p in plan(candidates[0])[:len(seeds)]], momentum, mb, s.noise_draws)
             if s.noise else None)
    ticker.finish()

    tuned_tries = [t for t in tries if not t.reference]
    reached = [t for t in tuned_tries if t.rel_error < s.target]
    chosen = reached[0] if reached else min(tuned_tries, key=lambda t: t.rel_error)
    chosen_batch = chosen.sgd_batch
    for r in by_batch[chosen_batch]:  # the note's file names for the setting it reports
        r.name = f"sgd_momentum_compare_sgd_{r.seed}"
    diff = chosen.rel_error
    bands = {"sgd_large_bsz": _bands([r.solver for r in by_batch[chosen_batch]]),
             "sgd_momentum": _bands([r.solver for r in momentum])}
    settings = dict(num_train=n, seeds=list(seeds), sgd_batch=chosen_batch, sgd_batch_mode="auto" if auto else "fixed",
                    momentum_batch=mb, lr=s.lr, base_epochs=s.base_epochs, hidden=list(s.hidden),
                    weight_scale=s.weight_scale, dtype=s.dtype, steps=n_steps, target=s.target)
    values = {"avg_train_acc_sgd": chosen.avg_train_acc, "avg_train_acc_sgd_momentum": avg_m,
              "train_acc_difference": diff, "sgd_batch": float(chosen_batch), "reached": float(diff < s.target)}
    if noise is not None:
        values["b_noise"] = noise.end
    return EffectiveResult(name="effective-batch", settings=settings, runs=all_runs, data=small, values=values,
                           events=list(events), bands=bands, tries=tries, sgd_batch=chosen_batch, momentum_batch=mb,
                           steps=n_steps, sgd_epochs=by_batch[chosen_batch][0].solver.num_epochs,
                           momentum_epochs=momentum[0].solver.num_epochs, lr=s.lr, seeds=seeds,
                           avg_sgd=chosen.avg_train_acc, avg_momentum=avg_m, difference=diff, target=s.target,
                           auto=auto, tuned=bool(reached), candidates=(candidates[0], candidates[-1]), noise=noise)


def _b_noise(solver: Solver, batch: int, draws: int, seed: int) -> NoiseResult:
    b_small, b_big = monitor_batches(batch, solver.num_train)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return noise_scale(model_grad_fn(solver.model, solver.X_train, solver.y_train), solver.num_train, seed,
                           b_small, b_big, draws)


def _noise_figure(start: list[Solver], momentum: list[RunRecord], batch: int, draws: int) -> NoiseFigure:
    """B_noise at the study's initial weights and at the end of the momentum runs (mean over seeds)."""
    first = [_b_noise(s, batch, draws, k) for k, s in enumerate(start)]
    last = [_b_noise(r.solver, batch, draws, k) for k, r in enumerate(momentum)]
    mean = lambda xs: float(np.mean(xs))  # noqa: E731
    return NoiseFigure(start=mean([r.b_noise for r in first]), end=mean([r.b_noise for r in last]),
                       trace_sigma_end=mean([r.trace_sigma for r in last]), g2_end=mean([r.g2 for r in last]),
                       b_small=last[0].b_small, b_big=last[0].b_big, per_seed_end=tuple(r.b_noise for r in last))
