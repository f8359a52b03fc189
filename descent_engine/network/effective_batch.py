"""The note's effective-batch study: SGD at a larger batch against SGD+momentum at batch 100 for
the same number of steps, over several seeds; mean and min/max bands; the course's relative error
of the average final training accuracy (< 0.04), with SGD's batch tuned when ``sgd_batch="auto"``.

The shared pieces (plans, records, the ticker, the note's constants) are in :mod:`.experiments`,
which re-exports everything here.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..params import ParamError
from .config import NOTE_HIDDEN
from .data import Dataset
from .experiments import (NOTE_SEEDS, NOTE_SGD_BATCH_FACTOR, NOTE_STEPS, REL_ERROR_TARGET, ExperimentResult,
                          PlannedRun, Progress, RunRecord, _check_steps, _config, _Ticker, _train,
                          rel_error)
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


def effective_plan(data: Dataset, *, seeds: Sequence[int] = NOTE_SEEDS, sgd_batch: int | None = None,
                   momentum_batch: int = 100, lr: float = 1e-2, steps: int | None = NOTE_STEPS["effective-batch"],
                   base_epochs: int = 5, num_train: int = 6000, hidden: Sequence[int] = NOTE_HIDDEN,
                   weight_scale: float = 5e-2, dtype: str = "float32",
                   log_acc_iteration: bool | int = True) -> list[PlannedRun]:
    """The runs of the effective-batch study at one fixed sgd batch, untrained: sgd_momentum at
    ``momentum_batch`` for each seed, then sgd at ``sgd_batch`` (a multiple of ``momentum_batch``;
    ``None``: :func:`note_sgd_batch`) for each seed, all for the same number of steps (``steps``;
    ``None``: ``base_epochs`` epochs at ``momentum_batch``) at the same lr. :func:`effective_batch`
    trains these (one plan per sgd batch it tries); names are the note's files."""
    _check_steps(steps)
    n = _effective_size(data, seeds, momentum_batch, num_train)
    sgd_batch = note_sgd_batch(n, momentum_batch) if sgd_batch is None else sgd_batch
    sgd_batch = _check_sgd_batch(data, n, sgd_batch, momentum_batch)
    small = data.subset(n)
    n_steps = int(steps) if steps is not None else int(base_epochs) * (n // momentum_batch)

    def group(rule: str, batch: int) -> list[PlannedRun]:
        return [PlannedRun(f"sgd_momentum_compare_{rule}_{seed}",
                           _config(small, rule=rule, lr=lr, hidden=hidden, weight_scale=weight_scale, dtype=dtype,
                                   seed=seed, batch_size=batch, epochs=base_epochs, steps=n_steps,
                                   log_acc_iteration=log_acc_iteration), small)
                for seed in seeds]

    return group("sgd_momentum", momentum_batch) + group("sgd", sgd_batch)


def effective_batch(data: Dataset, *, seeds: Sequence[int] = NOTE_SEEDS, sgd_batch: int | str = "auto",
                    momentum_batch: int = 100, lr: float = 1e-2, steps: int | None = NOTE_STEPS["effective-batch"],
                    base_epochs: int = 5, num_train: int = 6000, hidden: Sequence[int] = (100,) * 5,
                    weight_scale: float = 5e-2, dtype: str = "float32", log_acc_iteration: bool | int = True,
                    target: float = REL_ERROR_TARGET, progress: Progress | None = None,
                    say: Callable[[str], Any] | None = None) -> ExperimentResult:
    """sgd_momentum at ``momentum_batch`` against sgd at ``sgd_batch`` (a multiple of
    ``momentum_batch``), each for the same ``steps`` steps (the note's 300; ``None``: the note's
    ``base_epochs`` epochs at ``momentum_batch``), one run per seed, same lr: the runs of
    :func:`effective_plan`.

    ``sgd_batch="auto"`` is the note's TODO: try 2, 3, ... times ``momentum_batch`` (up to the
    training-set size) and stop at the first whose relative error of the mean final training
    accuracy against sgd_momentum is below ``target``; SGD at ``momentum_batch`` itself is run
    first as a reference (is the batch what separates the two?). If no batch gets below
    ``target``, the closest try is reported, and the summary says so.
    """
    _check_steps(steps)
    n = _effective_size(data, seeds, momentum_batch, num_train)
    auto = isinstance(sgd_batch, str)
    if auto:
        if sgd_batch != "auto":
            raise ParamError(f"the sgd batch must be 'auto' or a multiple of {momentum_batch}, got {sgd_batch!r}")
        candidates = list(range(2 * momentum_batch, n + 1, momentum_batch))
        if not candidates:
            raise ParamError(f"{data.name} has {n} training examples; tuning needs room for an sgd batch of "
                             f"{2 * momentum_batch}")
    else:
        candidates = [_check_sgd_batch(data, n, sgd_batch, momentum_batch)]
    small = data.subset(n)

    def plan(batch: int) -> list[PlannedRun]:
        return effective_plan(data, seeds=seeds, sgd_batch=batch, momentum_batch=momentum_batch, lr=lr, steps=steps,
                              base_epochs=base_epochs, num_train=n, hidden=hidden, weight_scale=weight_scale,
                              dtype=dtype, log_acc_iteration=log_acc_iteration)

    n_steps = plan(candidates[0])[0].config.num_iterations
    reference = [momentum_batch] if auto else []
    # the progress total covers the work planned so far (momentum, reference, first try) and grows by
    # one try each time the tuning goes on, so the bar never promises tries that may not happen
    per_group = n_steps * len(seeds)
    ticker = _Ticker(per_group * (1 + len(reference) + 1), progress)
    log: list[str] = []

    def tell(line: str) -> None:
        log.append(line)
        if say is not None:
            say(line)

    def group(rule: str, batch: int, name: str) -> list[RunRecord]:
        plans = plan(batch)
        plans = plans[:len(seeds)] if rule == "sgd_momentum" else plans[len(seeds):]
        runs = [p.record() for p in plans]
        for r in runs:
            r.name = name.format(seed=r.seed)
        if say is not None:
            say(f"running with {rule} ; batch {batch} ; seeds = {', '.join(map(str, seeds))} ; {n_steps} steps")
        _train(runs, ticker, say, announce=False)
        return runs

    momentum = group("sgd_momentum", momentum_batch, "sgd_momentum_compare_sgd_momentum_{seed}")
    avg_m = _mean_final_train_acc(momentum)
    tell(f"sgd_momentum batch {momentum_batch}: average training acc {avg_m:.4f}")
    tries: list[dict[str, Any]] = []
    by_batch: dict[int, list[RunRecord]] = {}
    all_runs = list(momentum)
    for k, batch in enumerate(reference + candidates):
        is_ref = auto and batch == momentum_batch and not tries
        if k > len(reference):
            ticker.total += per_group
        runs = group("sgd", batch, f"sgd_momentum_compare_sgd_batch{batch}_{{seed}}")
        all_runs += runs
        avg = _mean_final_train_acc(runs)
        err = rel_error(avg, avg_m)
        tries.append({"sgd_batch": batch, "avg_train_acc": avg, "rel_error": err, "reference": is_ref})
        if is_ref:
            tell(f"sgd batch {batch} (same batch, reference): average training acc {avg:.4f}, rel error {err:.4f}")
            continue
        by_batch[batch] = runs
        line = f"sgd batch {batch}: average training acc {avg:.4f}, rel error {err:.4f}"
        if auto:
            line = "try " + line + (f" < {target:g}: stop" if err < target else f" >= {target:g}")
        tell(line)
        if err < target:
            break
    ticker.finish()

    tuned = [t for t in tries if not t["reference"]]
    reached = [t for t in tuned if t["rel_error"] < target]
    chosen = reached[0] if reached else min(tuned, key=lambda t: t["rel_error"])
    chosen_batch = chosen["sgd_batch"]
    for r in by_batch[chosen_batch]:  # the note's file names for the setting it reports
        r.name = f"sgd_momentum_compare_sgd_{r.seed}"
    avg = {"sgd": chosen["avg_train_acc"], "sgd_momentum": avg_m}
    diff = chosen["rel_error"]
    bands = {"sgd_large_bsz": _bands([r.solver for r in by_batch[chosen_batch]]),
             "sgd_momentum": _bands([r.solver for r in momentum])}
    epochs_sgd = by_batch[chosen_batch][0].solver.num_epochs
    summary = [
        f"effective batch on {small.describe()}: sgd batch {chosen_batch} ({epochs_sgd} epochs) vs "
        f"sgd_momentum batch {momentum_batch} ({momentum[0].solver.num_epochs} epochs), {n_steps} steps each, "
        f"lr {lr:g}, seeds {', '.join(map(str, seeds))}",
        f"Average Training Acc for sgd: {avg['sgd']}",
        f"Average Training Acc for sgd_momentum: {avg['sgd_momentum']}",
        f"Train Acc Difference:  {diff}" + (f"  (< {target:g}: similar)" if diff < target else
                                           f"  (>= {target:g}: not similar)"),
    ]
    if auto:
        if reached:
            summary.append(f"tuned: sgd batch {chosen_batch} is the first multiple of {momentum_batch} "
                           f"with rel error < {target:g}")
        else:
            summary.append(f"not reached: no sgd batch from {candidates[0]} to {candidates[-1]} gets the rel error "
                           f"below {target:g}; the closest, batch {chosen_batch}, is reported above")
        ref = tries[0]
        if ref["reference"] and ref["rel_error"] < target:
            summary.append(f"note: even sgd at the momentum run's batch {momentum_batch} comes within {target:g} "
                           f"(rel error {ref['rel_error']:.4f}): on this data a larger batch is not needed, "
                           "so the study shows little of the effect")
    for label, band in bands.items():
        _, mean, lo, hi = band["train_acc"]
        summary.append(f"{label:>14}: final train acc mean {mean[-1]:.3f} (min {lo[-1]:.3f}, max {hi[-1]:.3f})")
    settings = dict(num_train=n, seeds=list(seeds), sgd_batch=chosen_batch, sgd_batch_mode="auto" if auto else "fixed",
                    momentum_batch=momentum_batch, lr=lr, base_epochs=base_epochs, hidden=list(hidden),
                    weight_scale=weight_scale, dtype=dtype, steps=n_steps, target=target)
    values = {"avg_train_acc_sgd": avg["sgd"], "avg_train_acc_sgd_momentum": avg["sgd_momentum"],
              "train_acc_difference": diff, "sgd_batch": float(chosen_batch),
              "reached": float(diff < target)}
    return ExperimentResult("effective-batch", settings, all_runs, summary, bands, values, tries, log)
