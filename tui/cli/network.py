"""The ``train`` and ``experiment`` sub-commands (the network half of the course note).

``register(subparsers)`` adds both to the main parser. Their flags come from the one flag builder
(:mod:`tui.cli.flags`): the network's knobs from :data:`~descent_engine.network.config.NETWORK_PARAMS`
and :data:`~descent_engine.network.config.EXPERIMENT_PARAMS`, every rule and schedule hyper-parameter
from the registry, worded and checked as ``descent-tui run`` does. :func:`train_config_from_args`
turns parsed arguments into a validated :class:`TrainConfig`. Output files carry ``settings`` and
``summary`` (as ``run``'s do), so a file alone says how it was made.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from descent_engine.network.config import (EXPERIMENT_PARAMS, MONITOR_PARAMS, NETWORK_PARAMS, TrainConfig,
                                           summary_record)
from descent_engine.network.monitors import TrainMonitors, final_parameters, monitor_summary
from descent_engine.network.data import DatasetError, load_dataset
from descent_engine.network.dataset_defaults import apply_dataset_defaults, dataset_defaults
from descent_engine.network.edge_of_stability import EdgeSettings
from descent_engine.network.experiments import (EXPERIMENTS, CompareSettings, EffectiveSettings, OverfitSettings,
                                                run_experiment)
from descent_engine.params import ParamError
from descent_engine.rules import get_rule
from descent_engine.schedules import get_schedule

from .common import CliError, Progress, atomic_output, check_writable
from .flags import (add_hyper_flags, add_name_flag, add_param_flags, flag_message, given_values, hyper_flags,
                        hyper_values, parse_flag, parse_name)
from .network_text import event_line, log_lines, monitor_lines, summary_lines
from .output import json_safe
from ..formatting import count

NETWORK_KINDS = ("rule", "schedule")
#: the network knobs ``experiment`` takes (the rest is the note's, per experiment)
EXPERIMENT_NETWORK = ("dataset", "dtype", "seed", "num_train")
# each experiment's defaults, spelled there
_O, _C, _E, _G = OverfitSettings, CompareSettings, EffectiveSettings, EdgeSettings
EXPERIMENT_DEFAULTS = {
    "dtype": f"the note's: {_O.dtype} for overfit, {_C.dtype} otherwise",
    "seed": f"{_C.seed}",
    "num_train": f"the note's {_O.num_train} / {_C.num_train} / {_E.num_train}, capped by the data; "
                 f"{_G.num_train} for edge-of-stability",
    "seeds": ",".join(map(str, _E.seeds)),
    "steps": f"the note's {_C.steps} and {_E.steps}, whatever the data size; {_G.steps} for edge-of-stability",
    "lrs": ",".join(f"{lr:g}" for lr in _G.lrs),
    "sharpness_every": f"{_G.sharpness_every}",
}
EXPERIMENT_MEANINGS = {"seed": "overfit, compare-rules and edge-of-stability: seed of the initial weights (and of "
                               "the minibatch sampler)",
                       "num_train": "use the first N training examples (edge-of-stability: at most 1000, the "
                                    "examples the sharpness is measured on)"}


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Every flag of ``descent-tui train``."""
    d = TrainConfig()
    g = parser.add_argument_group("settings", "`descent-tui run --list` shows every default and range.")
    add_name_flag(g, "rule", d.rule)
    add_name_flag(g, "schedule", d.schedule, extra=" (per epoch)")
    add_param_flags(g, NETWORK_PARAMS)
    m = parser.add_argument_group("measurements", "each is off unless asked for; its histories go to --out")
    add_param_flags(m, MONITOR_PARAMS, defaults={p.name: f"off (the network lab: every {p.default})"
                                                 for p in MONITOR_PARAMS})
    parser.add_argument("--out", default=None, metavar="PATH",
                        help="write the histories, settings and summary to PATH (.json or .npz; an .npz also "
                             "holds the final parameters W1, b1, ..., Wk, bk)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    add_hyper_flags(parser, NETWORK_KINDS)


def add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    """Every flag of ``descent-tui experiment``."""
    parser.add_argument("name", choices=EXPERIMENTS, help="which experiment (the note's three, and the edge of stability)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="also write one .npz of histories per run and summary.json into DIR (created if "
                             "missing); without it the summary is printed and nothing is written")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    g = parser.add_argument_group("settings")
    add_param_flags(g, [NETWORK_PARAMS.get(n) for n in EXPERIMENT_NETWORK] + list(EXPERIMENT_PARAMS),
                    defaults=EXPERIMENT_DEFAULTS, meanings=EXPERIMENT_MEANINGS)


def register(subparsers) -> None:
    """Add ``train`` and ``experiment`` to an argparse sub-parser object."""
    train = subparsers.add_parser("train", help="train the course's network on a dataset", allow_abbrev=False,
                                  description="Train a fully-connected ReLU network with a softmax loss.")
    add_train_arguments(train)
    train.set_defaults(func=train_command)
    exp = subparsers.add_parser("experiment", help="run one of the course note's network experiments",
                                allow_abbrev=False,
                                description="overfit: 50 examples to 100%; compare-rules: sgd, sgd_momentum, "
                                            "adam, rmsprop; effective-batch: large-batch SGD vs SGD+momentum; "
                                            "edge-of-stability: full-batch GD's sharpness against 2/lr.")
    add_experiment_arguments(exp)
    exp.set_defaults(func=experiment_command)


# ---------------------------------------------------------------------------------------------
def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Parsed flags -> a validated TrainConfig (raises CliError with one line)."""
    return train_config_and_defaults(args)[0]


def train_config_and_defaults(args: argparse.Namespace) -> tuple[TrainConfig, dict[str, Any]]:
    """Parsed flags -> a validated TrainConfig, with the dataset's defaults
    (:mod:`~descent_engine.network.dataset_defaults`) wherever a flag was not given, and those applied."""
    d = TrainConfig()
    try:
        knobs = given_values(args, NETWORK_PARAMS)
        dataset = knobs.get("dataset", d.dataset)
        rule = get_rule(parse_name("rule", args.rule, dataset_defaults(dataset).get("rule", d.rule))).name
        schedule = get_schedule(parse_name("schedule", args.schedule, d.schedule)).name
        hyper = hyper_values(args, {"rule": rule, "schedule": schedule}, hyper_flags(NETWORK_KINDS))
        given = set(knobs) | ({"rule"} if args.rule is not None else set()) | {f"rule_params.{k}" for k in hyper["rule"]}
        values, applied = apply_dataset_defaults(dict(knobs, rule=rule, rule_params=hyper["rule"]), given)
        config = TrainConfig(schedule=schedule, schedule_params=hyper["schedule"], **values)
        config.validate()
    except ParamError as exc:
        raise CliError(flag_message(str(exc))) from None
    return config, applied


def _say(args):
    return (lambda line: None) if args.quiet else (lambda line: print(line, flush=True))


def _out_path(text: str | None, what: str) -> Path | None:
    if text is None:
        return None
    if not text.strip():
        raise CliError(f"--out is empty: give {what} (an empty path is not the current directory)")
    return Path(text)


def train_monitors(args: argparse.Namespace, seed: int = 0) -> TrainMonitors:
    """The measurements asked for (``--sharpness-every``, ``--noise-every``; off unless given)."""
    given = given_values(args, MONITOR_PARAMS)
    return TrainMonitors(given.get("sharpness_every"), given.get("noise_every"), seed=seed)


def train_command(args: argparse.Namespace) -> int:
    config, applied = train_config_and_defaults(args)
    monitors = train_monitors(args, config.seed)
    out = _out_path(args.out, "a file name ending in .json or .npz")
    if out is not None:
        if out.suffix not in (".json", ".npz"):
            raise CliError(f"--out {_shown(out)}: the file name must end in .json or .npz")
        try:
            check_writable(out)
        except OSError as exc:  # e.g. a name longer than the file system allows
            raise CliError(f"cannot write {_shown(out)}: {exc.strerror or exc}") from None
    try:
        solver = config.build()
    except (ParamError, DatasetError) as exc:
        raise CliError(flag_message(str(exc))) from None
    say = _say(args)
    if applied:
        say(f"{config.dataset} trains at its own defaults: " + ", ".join(
            f"--{k.split('.')[-1].replace('_', '-')} {v:g}" if isinstance(v, float) else
            f"--{k.split('.')[-1].replace('_', '-')} {v}" for k, v in applied.items()) + " (a flag overrides each)")
    say(f"{solver.model.dims[0]} features -> hidden {list(config.hidden)} -> {solver.model.num_classes} classes; "
        f"{solver.num_train} train / {solver.X_val.shape[0]} val; {config.rule} lr {solver.hp['lr']:g}, "
        f"{config.schedule} schedule, {count(config.epochs, 'epoch')} x {count(solver.iterations_per_epoch, 'step')} of {config.batch_size}")
    bar = Progress(solver.num_iterations, "train")
    start = 0

    def on_step(r) -> None:
        nonlocal start
        monitors.after_step(solver)
        bar.update(r.iteration + 1)
        if r.epoch_end or r.done:
            losses = solver.loss_history[start:]
            start = len(solver.loss_history)
            if r.train_acc is not None:
                bar.close()
                say(f"epoch {r.epoch:>3}/{config.epochs}  loss {sum(losses) / len(losses):.4f}  "
                    f"train acc {r.train_acc:.3f}  val acc {r.val_acc:.3f}  lr {r.lr:.3g}")

    try:
        solver.train(on_step)
    finally:
        bar.close()
    if solver.diverged:
        print(f"descent-tui: warning: diverged at iteration {len(solver.loss_history) - 1} "
              f"(loss {solver.loss_history[-1]})", file=sys.stderr)
    else:
        say(f"best val acc {solver.best_val_acc:.3f}; final train acc {solver.train_acc_history[-1]:.3f}")
    for line in monitor_lines(monitors, solver.num_iterations):
        say(line)
    if out is not None:
        _write_train(out, config, solver, monitors)
        say(f"wrote {out}")
    return 0


def _shown(path: Path) -> str:
    """A path for a message, shortened if long (as every user value is)."""
    from descent_engine.params import shorten

    return shorten(str(path)) if len(str(path)) > 40 else str(path)


def train_record(config: TrainConfig, solver, monitors: TrainMonitors | None = None
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``settings`` (every knob, resolved, and the measurement intervals) and ``summary`` of a
    finished training run."""
    settings, summary = config.record(solver), summary_record(solver)
    if monitors is not None:
        settings.update(sharpness_every=monitors.sharpness.every if monitors.sharpness else "off",
                        noise_every=monitors.noise.every if monitors.noise else "off")
        summary.update(monitor_summary(monitors))
    return json_safe(settings), json_safe(summary)


def _write_train(out: Path, config: TrainConfig, solver, monitors: TrainMonitors | None = None) -> None:
    settings, summary = train_record(config, solver, monitors)
    histories = {**solver.histories(), **(monitors.histories() if monitors is not None else {})}
    if out.suffix == ".npz":
        import numpy as np

        with atomic_output(out, "wb") as fh:
            np.savez(fh, **histories, **final_parameters(solver.model), settings=np.array(json.dumps(settings)),
                     summary=np.array(json.dumps(summary)))
        return
    hist = {k: v.tolist() for k, v in histories.items()}
    doc = {"settings": settings, "summary": summary, "weight_names": solver.weight_names, **hist}
    with atomic_output(out, "w") as fh:
        json.dump(json_safe(doc), fh, indent=1)
        fh.write("\n")


# ---------------------------------------------------------------------------------------------
#: the experiment flags that apply to some experiments only
ONLY_FOR = {"seeds": ("effective-batch",), "sgd_batch": ("effective-batch",), "log_every": ("effective-batch",),
            "lrs": ("edge-of-stability",), "sharpness_every": ("edge-of-stability",)}


def _experiment_options(args: argparse.Namespace) -> dict[str, Any]:
    given = given_values(args, [NETWORK_PARAMS.get(n) for n in EXPERIMENT_NETWORK] + list(EXPERIMENT_PARAMS))
    given.pop("dataset", None)
    wrong = [n for n, names in ONLY_FOR.items() if n in given and args.name not in names]
    if wrong:
        flags = ", ".join("--" + n.replace("_", "-") for n in wrong)
        only = " and ".join(sorted({e for n in wrong for e in ONLY_FOR[n]}))
        raise CliError(f"{flags}: for {only} only, not {args.name}")
    if args.name == "effective-batch":
        if "seed" in given:
            raise CliError("effective-batch takes --seeds (a list), not --seed")
        if "log_every" in given:
            given["log_acc_iteration"] = given.pop("log_every")
    if "steps" in given and args.name == "overfit":
        raise CliError("--steps is for compare-rules, effective-batch and edge-of-stability (overfit runs the "
                       "note's 20 epochs)")
    return given


def _check_dir(path: Path) -> None:
    """Fail before any work if ``path`` cannot become a writable directory (nothing is created yet)."""
    try:
        _probe_dir(path)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise CliError(f"cannot write to {_shown(path)}: {exc.strerror or exc}") from None


def _probe_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise CliError(f"cannot write to {_shown(path)}: it is not a directory")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise CliError(f"cannot create directory {_shown(path)}: {_shown(probe)} is not a directory")
    if not os.access(probe, os.W_OK):
        raise CliError(f"cannot write to {_shown(path)}: directory {_shown(probe)} is not writable")


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create directory {_shown(path)}: {exc.strerror or exc}") from None


def experiment_command(args: argparse.Namespace) -> int:
    options = _experiment_options(args)
    out = _out_path(args.out, "a directory name")
    if out is not None:
        _check_dir(out)
    dataset = parse_flag(NETWORK_PARAMS.get("dataset"), args.dataset) if args.dataset is not None else "digits"
    try:
        data = load_dataset(dataset)
    except DatasetError as exc:
        raise CliError(str(exc)) from None
    say = _say(args)
    bar = Progress(1, args.name)

    def progress(done: int, total: int) -> None:
        bar.total = max(total, 1)
        bar.update(done)

    def tell(event) -> None:
        line = event_line(event)
        if line is not None:
            bar.close()
            say(line)

    try:
        result = run_experiment(args.name, data, progress=progress, say=None if args.quiet else tell, **options)
    except ParamError as exc:
        raise CliError(flag_message(str(exc))) from None
    finally:
        bar.close()
    summary = summary_lines(result)
    if out is not None:
        _write_experiment(out, result, dataset, summary)
    for line in summary:
        say(line)
    if out is not None:
        say(f"wrote {len(result.runs)} history file(s) and summary.json to {out}")
    return 0


def _write_experiment(out: Path, result, dataset: str, summary: list[str]) -> None:
    """The histories (one .npz per run, the bands of the effective-batch study) and summary.json."""
    import numpy as np

    _make_dir(out)
    for run in result.runs:
        with atomic_output(out / f"{run.name}.npz", "wb") as fh:
            np.savez(fh, **run.solver.histories(), **run.extra_histories)
    if result.bands:
        arrays = {f"{label}_{metric}_{part}": arr for label, metrics in result.bands.items()
                  for metric, parts in metrics.items() for part, arr in zip(("x", "mean", "min", "max"), parts)}
        with atomic_output(out / "effective_batch_bands.npz", "wb") as fh:
            np.savez(fh, **arrays)
    doc = {"experiment": result.name, "dataset": dataset, "settings": result.settings,
           "log": log_lines(result), "summary": summary, "values": result.values,
           "tries": [dataclasses.asdict(t) for t in result.tries],
           "runs": [{"file": f"{r.name}.npz", "rule": r.rule, "seed": r.seed, "batch_size": r.batch_size,
                     "epochs": r.epochs, "final_loss": r.final_loss, "final_train_acc": r.final_train_acc,
                     "final_val_acc": r.final_val_acc, "best_val_acc": r.solver.best_val_acc,
                     "diverged": r.solver.diverged} for r in result.runs]}
    with atomic_output(out / "summary.json", "w") as fh:
        json.dump(json_safe(doc), fh, indent=1)
        fh.write("\n")
