"""The words of ``descent-tui experiment``: the engine's events and results (numbers,
:mod:`descent_engine.network.experiment_results`) as the lines the command prints.

:func:`event_line` words one event a ``say`` callback receives (None: nothing to print);
:func:`summary_lines` words a finished experiment's result. No Textual import here.
"""

from __future__ import annotations

from descent_engine.network.experiment_results import (CompareResult, EdgeResult, EffectiveResult, ExperimentResult,
                                                       GroupResult, GroupStarted, LrFinished, LrStarted, OverfitResult,
                                                       RunDiverged, RunStarted)
from descent_engine.network.edge_of_stability import second_half_mean

from ..formatting import count


def event_line(event) -> str | None:
    """One event as a line (None for an event that prints nothing)."""
    if isinstance(event, RunStarted):
        return f"running with {event.rule} ; seed = {event.seed} ; batch {event.batch_size} ; {event.steps} steps"
    if isinstance(event, RunDiverged):
        return f"  {event.name}: diverged at iteration {event.iteration}"
    if isinstance(event, GroupStarted):
        return (f"running with {event.rule} ; batch {event.batch_size} ; seeds = {', '.join(map(str, event.seeds))} ; "
                f"{event.steps} steps")
    if isinstance(event, GroupResult):
        return _group_line(event)
    if isinstance(event, LrStarted):
        return f"running gd at lr {event.lr:g} ; full batch of {event.examples} ; {event.steps} steps"
    if isinstance(event, LrFinished):
        return None  # the summary says how each lr ended
    return None


def _group_line(e: GroupResult) -> str:
    if e.rel_error is None:
        return f"{e.rule} batch {e.batch_size}: average training acc {e.avg_train_acc:.4f}"
    if e.reference:
        return (f"{e.rule} batch {e.batch_size} (same batch, reference): average training acc {e.avg_train_acc:.4f}, "
                f"rel error {e.rel_error:.4f}")
    line = f"{e.rule} batch {e.batch_size}: average training acc {e.avg_train_acc:.4f}, rel error {e.rel_error:.4f}"
    if e.tuning:
        line = "try " + line + (f" < {e.target:g}: stop" if e.stop else f" >= {e.target:g}")
    return line


def log_lines(result: ExperimentResult) -> list[str]:
    """The events kept in the result, worded (``summary.json``'s ``log``)."""
    return [line for line in map(event_line, result.events) if line is not None]


def _run_line(r) -> str:
    return (f"{r.rule:>12}: final loss {r.final_loss:.4f}, train acc {r.final_train_acc:.3f}, "
            f"val acc {r.final_val_acc:.3f}, best val acc {r.solver.best_val_acc:.3f}")


def summary_lines(result: ExperimentResult) -> list[str]:
    """How the experiment ended, as the lines ``descent-tui experiment`` prints."""
    if isinstance(result, OverfitResult):
        return _overfit(result)
    if isinstance(result, CompareResult):
        return _compare(result)
    if isinstance(result, EffectiveResult):
        return _effective(result)
    if isinstance(result, EdgeResult):
        return _edge(result)
    raise TypeError(f"no words for {type(result).__name__}")


def _overfit(res: OverfitResult) -> list[str]:
    s, best = res.settings, res.best_train_acc
    return [f"overfit {s['num_train']} examples of {res.data.name}: hidden {list(s['hidden'])}, "
            f"weight_scale {s['weight_scale']:g}, {s['rule']} lr {s['lr']:g}, {count(s['epochs'], 'epoch')}, "
            f"batch {s['batch_size']}",
            _run_line(res.runs[0]),
            f"best training accuracy: {best:.3f}" + ("  (overfits: 100%)" if best == 1.0 else "")]


def _compare(res: CompareResult) -> list[str]:
    s = res.settings
    lines = [f"compare rules on {res.data.describe()}: hidden {list(s['hidden'])}, weight_scale {s['weight_scale']:g}, "
             f"{res.steps} steps of batch {s['batch_size']} ({res.epochs:.3g} epochs, accuracy checked at each epoch "
             f"end), seed {s['seed']}"]
    for r in res.runs:
        reach = res.reached.get(r.rule)
        lines.append(_run_line(r) + f"  (lr {r.solver.hp['lr']:g}; train acc >= {res.level:g} "
                     + (f"by step {reach})" if reach is not None else "not reached)"))
    return lines


def _effective(res: EffectiveResult) -> list[str]:
    t = res.target
    lines = [
        f"effective batch on {res.data.describe()}: sgd batch {res.sgd_batch} ({count(res.sgd_epochs, 'epoch')}) vs "
        f"sgd_momentum batch {res.momentum_batch} ({count(res.momentum_epochs, 'epoch')}), {res.steps} steps each, "
        f"lr {res.lr:g}, seeds {', '.join(map(str, res.seeds))}",
        f"Average Training Acc for sgd: {res.avg_sgd}",
        f"Average Training Acc for sgd_momentum: {res.avg_momentum}",
        f"Train Acc Difference:  {res.difference}" + (f"  (< {t:g}: similar)" if res.difference < t else
                                                     f"  (>= {t:g}: not similar)"),
    ]
    if res.auto:
        if res.tuned:
            lines.append(f"tuned: sgd batch {res.sgd_batch} is the first multiple of {res.momentum_batch} "
                         f"with rel error < {t:g}")
        else:
            first, last = res.candidates
            lines.append(f"not reached: no sgd batch from {first} to {last} gets the rel error "
                         f"below {t:g}; the closest, batch {res.sgd_batch}, is reported above")
        ref = res.tries[0]
        if ref.reference and ref.rel_error < t:
            lines.append(f"note: even sgd at the momentum run's batch {res.momentum_batch} comes within {t:g} "
                         f"(rel error {ref.rel_error:.4f}): on this data a larger batch is not needed, "
                         "so the study shows little of the effect")
    for label, band in res.bands.items():
        _, mean, lo, hi = band["train_acc"]
        lines.append(f"{label:>14}: final train acc mean {mean[-1]:.3f} (min {lo[-1]:.3f}, max {hi[-1]:.3f})")
    lines += _noise(res)
    return lines


def _noise(res: EffectiveResult) -> list[str]:
    """B_noise next to the batch found, and the note's claim in plain words."""
    n = res.noise
    if n is None:
        return []
    similar = res.difference < res.target
    lines = [f"gradient noise scale B_noise = tr(Sigma)/|G|^2: {n.start:.4g} at the initial weights, {n.end:.4g} "
             f"at the end of the sgd_momentum runs (from batches of {n.b_small} and {n.b_big}, mean over the seeds)"]
    claim = (f"the note's claim: momentum acts like a larger batch. sgd_momentum at batch {res.momentum_batch} "
             f"trains like sgd at batch {res.sgd_batch}" if similar else
             f"the note's claim: momentum acts like a larger batch. Not borne out here: no sgd batch tried "
             f"came within {res.target:g} of sgd_momentum at batch {res.momentum_batch}; the closest is "
             f"{res.sgd_batch}")
    lines.append(claim + f" = {res.sgd_batch / n.end:.2g} x B_noise at the end (a batch below B_noise is "
                 "dominated by the gradient's noise, so making it larger still helps; far above B_noise it no "
                 "longer does)" if n.end > 0 else claim)
    return lines


def _edge(res: EdgeResult) -> list[str]:
    s = res.settings
    lines = [f"edge of stability on {res.data.describe()}: full-batch gd, hidden {list(s['hidden'])}, "
             f"weight_scale {s['weight_scale']:g}, {res.steps} steps, sharpness (top Hessian eigenvalue on all "
             f"{res.examples} examples) every {s['sharpness_every']} steps, seed {s['seed']}"]
    for o in res.outcomes:
        t = o.threshold
        head = f"lr {o.lr:g}: sharpness {o.final_sharpness:.4g} = {o.final_sharpness / t:.2f} x 2/lr (2/lr = {t:.4g})"
        if o.diverged:
            head = (f"lr {o.lr:g}: diverged at iteration {o.diverged_at}; the last sharpness measured (step "
                    f"{o.iterations[-1]}) {o.final_sharpness:.4g} = {o.final_sharpness / t:.2f} x 2/lr (2/lr = {t:.4g})")
        lines.append(head + f"; started at {o.initial_sharpness / t:.2f} x, peaked at {o.max_sharpness / t:.2f} x (step {o.peak_iteration}), "
                     f"second half mean {second_half_mean(o) / t:.2f} x; final loss {o.final_loss:.4g}")
    return lines


def monitor_lines(monitors, steps: int) -> list[str]:
    """What ``train`` says of its measurements at the end (nothing when none was asked for)."""
    lines = []
    sm, nm = monitors.sharpness, monitors.noise
    if sm is not None and sm.records:
        r = sm.records[-1]
        line = f"sharpness {r.sharpness:.4g} at step {r.iteration}"
        if r.preconditioned is not None:
            line += f"; preconditioned {r.preconditioned:.4g}"
        if r.threshold is not None:
            ref = r.preconditioned if r.preconditioned is not None else r.sharpness
            line += f" = {ref / r.threshold:.2f} x the stability threshold {r.threshold:.4g}"
        lines.append(line + f" ({len(sm.records)} measurements)")
    if nm is not None and nm.records:
        r = nm.records[-1]
        lines.append(f"gradient noise scale B_noise {r.b_noise:.4g} at step {r.iteration} "
                     f"(smoothed {r.b_noise_ewa:.4g}; {len(nm.records)} measurements)")
    if monitors.active:
        lines.append(f"measuring took {monitors.seconds():.2f} s")
    return lines
