"""The ``train`` and ``experiment`` sub-commands (the network half of the course note).

``register(subparsers)`` adds both to the main parser. The argument definitions live here once:
``add_train_arguments`` / ``add_experiment_arguments`` build them (every rule and schedule
hyper-parameter gets its own flag from the registry), ``train_config_from_args`` turns parsed
arguments into a validated :class:`TrainConfig`, which the app can reuse.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from descent_engine.network.config import TrainConfig, parse_hidden
from descent_engine.network.data import DatasetError, dataset_names, load_dataset
from descent_engine.network.experiments import EXPERIMENTS, NOTE_STEPS, REL_ERROR_TARGET, run_experiment
from descent_engine.params import Param, ParamError
from descent_engine.rules import RULES, ALIASES
from descent_engine.schedules import SCHEDULES

from .cli_common import CliError, Progress, atomic_output, check_writable


def _registry_params() -> dict[str, tuple[Param, list[str]]]:
    """Each rule/schedule hyper-parameter name -> (its first description, owners)."""
    out: dict[str, tuple[Param, list[str]]] = {}
    for kind, registry in (("rule", RULES), ("schedule", SCHEDULES)):
        for name, entry in registry.items():
            for p in entry.params:
                out.setdefault(p.name, (p, []))[1].append(f"{kind} {name}")
    return out


def _param_help(param: Param, owners: list[str]) -> str:
    defaults = set()
    for owner in owners:
        kind, name = owner.split(" ", 1)
        entry = (RULES if kind == "rule" else SCHEDULES)[name]
        defaults.add(entry.params.get(param.name).default_text())
    default = defaults.pop() if len(defaults) == 1 else "depends on the rule"
    where = ", ".join(o.split(" ", 1)[1] for o in owners)
    return f"{param.help}; range {param.range_text()}, default {default} (for {where})".replace("%", "%%")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="digits", metavar="D",
                        help=f"{', '.join(dataset_names())}, or a .npz with X_train, y_train, X_val, y_val "
                             "(default digits)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default=None,
                        help="floating-point type of the network")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Every flag of ``descent-tui train``."""
    d = TrainConfig()
    add_common_arguments(parser)
    parser.add_argument("--rule", default=d.rule,
                        help=f"update rule: {', '.join(list(RULES) + list(ALIASES))} (default {d.rule})")
    parser.add_argument("--schedule", default=d.schedule,
                        help=f"learning-rate schedule (per epoch): {', '.join(SCHEDULES)} (default {d.schedule})")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"epochs (default {d.epochs})")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help=f"minibatch size (default {d.batch_size})")
    parser.add_argument("--hidden", default=",".join(map(str, d.hidden)),
                        help="hidden layer sizes, comma-separated (default 100,100,100,100,100)")
    parser.add_argument("--weight-scale", type=float, default=d.weight_scale,
                        help=f"std of the initial weights (default {d.weight_scale:g})")
    parser.add_argument("--reg", type=float, default=d.reg, help="L2 strength: loss += 0.5 reg sum W^2 (default 0)")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed of the initial weights and minibatches")
    parser.add_argument("--num-train", type=int, default=None, help="use the first N training examples")
    parser.add_argument("--out", default=None, metavar="FILE", help="write histories to FILE (.json or .npz)")
    group = parser.add_argument_group("rule and schedule settings (each applies to the rules/schedules listed)")
    for name, (param, owners) in _registry_params().items():
        group.add_argument(param.flag, dest=f"hp_{name}", default=None, metavar=param.name.upper(),
                           help=_param_help(param, owners))


def add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    """Every flag of ``descent-tui experiment``."""
    parser.add_argument("name", choices=EXPERIMENTS, help="which of the note's experiments")
    add_common_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="directory for one .npz of histories per run and summary.json (created if missing)")
    parser.add_argument("--seed", type=int, default=None, help="seed for overfit and compare-rules (default 0)")
    parser.add_argument("--seeds", default=None, help="effective-batch seeds, comma-separated (default 100,200,300)")
    parser.add_argument("--sgd-batch", default=None, metavar="B|auto",
                        help="effective-batch: SGD batch size, a multiple of 100, or auto (the default): try "
                             f"200, 300, ... and stop at the first with rel error < {REL_ERROR_TARGET:g}")
    parser.add_argument("--steps", type=int, default=None,
                        help="compare-rules and effective-batch: steps per run (default the note's "
                             f"{NOTE_STEPS['compare-rules']} and {NOTE_STEPS['effective-batch']}, whatever the data size)")
    parser.add_argument("--num-train", type=int, default=None,
                        help="cap the training examples (default: the note's 50 / 4000 / 6000, capped by the data)")
    parser.add_argument("--log-every", type=int, default=None, metavar="K",
                        help="effective-batch: log accuracy every K iterations (default 1, as the course)")


def register(subparsers) -> None:
    """Add ``train`` and ``experiment`` to an argparse sub-parser object."""
    train = subparsers.add_parser("train", help="train the course's network on a dataset",
                                  description="Train a fully-connected ReLU network with a softmax loss.")
    add_train_arguments(train)
    train.set_defaults(func=train_command)
    exp = subparsers.add_parser("experiment", help="run one of the course note's network experiments",
                                description="overfit: 50 examples to 100%; compare-rules: sgd, sgd_momentum, "
                                            "adam, rmsprop; effective-batch: large-batch SGD vs SGD+momentum.")
    add_experiment_arguments(exp)
    exp.set_defaults(func=experiment_command)


# ---------------------------------------------------------------------------------------------
def train_config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Parsed flags -> a validated TrainConfig (raises CliError with one line)."""
    from descent_engine.rules import get_rule
    from descent_engine.schedules import get_schedule

    try:
        rule = get_rule(args.rule)
        schedule = get_schedule(args.schedule)
        rule_params: dict[str, Any] = {}
        schedule_params: dict[str, Any] = {}
        for name, (param, owners) in _registry_params().items():
            text = getattr(args, f"hp_{name}", None)
            if text is None:
                continue
            used = False
            for target, entry in ((rule_params, rule), (schedule_params, schedule)):
                if name in entry.params:
                    target[name] = entry.params.get(name).parse(text)
                    used = True
            if not used:
                raise CliError(f"{param.flag} does not apply to rule {rule.name} or schedule {schedule.name} "
                               f"(it is for {', '.join(o.split(' ', 1)[1] for o in owners)})")
        config = TrainConfig(
            dataset=args.dataset, rule=rule.name, schedule=schedule.name, rule_params=rule_params,
            schedule_params=schedule_params, hidden=parse_hidden(args.hidden), weight_scale=args.weight_scale,
            reg=args.reg, dtype=args.dtype or "float32", seed=args.seed, epochs=args.epochs,
            batch_size=args.batch_size, num_train=args.num_train,
        )
        config.validate()
    except ParamError as exc:
        raise CliError(_as_flag_message(str(exc))) from None
    return config


def _as_flag_message(msg: str) -> str:
    """'lr must be in ...' -> '--lr must be in ...', as `descent-tui run` words it."""
    head, sep, rest = msg.partition(" ")
    name = head.rstrip(":")
    if sep and name.replace("_", "").isalpha() and name.islower() and (rest.startswith("must") or head.endswith(":")):
        return "--" + name.replace("_", "-") + head[len(name):] + sep + rest
    return msg


def _say(args):
    return (lambda line: None) if args.quiet else (lambda line: print(line, flush=True))


def train_command(args: argparse.Namespace) -> int:
    config = train_config_from_args(args)
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.suffix not in (".json", ".npz"):
            raise CliError(f"--out {out}: the file name must end in .json or .npz")
        check_writable(out)
    try:
        solver = config.build()
    except (ParamError, DatasetError) as exc:
        raise CliError(str(exc)) from None
    say = _say(args)
    say(f"{solver.model.dims[0]} features -> hidden {list(config.hidden)} -> {solver.model.num_classes} classes; "
        f"{solver.num_train} train / {solver.X_val.shape[0]} val; {config.rule} lr {solver.hp['lr']:g}, "
        f"{config.schedule} schedule, {config.epochs} epochs x {solver.iterations_per_epoch} steps of {config.batch_size}")
    bar = Progress(solver.num_iterations, "train")
    start = 0

    def on_step(r) -> None:
        nonlocal start
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
    if out is not None:
        _write_train(out, config, solver)
        say(f"wrote {out}")
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _write_train(out: Path, config: TrainConfig, solver) -> None:
    if out.suffix == ".npz":
        with atomic_output(out, "wb") as fh:
            solver.record_histories_as_npz(fh)
        return
    hist = {k: v.tolist() for k, v in solver.histories().items()}
    doc = {
        "settings": {"dataset": config.dataset, "rule": config.rule, "rule_params": dict(solver.hp),
                     "schedule": config.schedule, "schedule_params": dict(solver.schedule_hp),
                     "hidden": list(config.hidden), "weight_scale": config.weight_scale, "reg": config.reg,
                     "dtype": config.dtype, "seed": config.seed, "epochs": config.epochs,
                     "batch_size": config.batch_size, "num_train": solver.num_train},
        "weight_names": solver.weight_names,
        "diverged": solver.diverged,
        "best_val_acc": solver.best_val_acc,
        **hist,
    }
    with atomic_output(out, "w") as fh:
        json.dump(_jsonable(doc), fh, indent=1)
        fh.write("\n")


# ---------------------------------------------------------------------------------------------
def _experiment_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if args.dtype:
        options["dtype"] = args.dtype
    if args.num_train is not None:
        if args.num_train < 1:
            raise CliError(f"--num-train must be at least 1, got {args.num_train}")
        options["num_train"] = args.num_train
    if args.name == "effective-batch":
        if args.seed is not None:
            raise CliError("effective-batch takes --seeds (a list), not --seed")
        if args.seeds is not None:
            try:
                seeds = tuple(int(s) for s in args.seeds.split(","))
            except ValueError:
                raise CliError(f"--seeds: expected comma-separated whole numbers, got {args.seeds!r}") from None
            options["seeds"] = seeds
        if args.sgd_batch is not None:
            text = args.sgd_batch.strip().lower()
            if text == "auto":
                options["sgd_batch"] = "auto"
            else:
                try:
                    options["sgd_batch"] = int(text)
                except ValueError:
                    raise CliError(f"--sgd-batch: expected a multiple of 100 or auto, got {args.sgd_batch!r}") from None
        if args.log_every is not None:
            if args.log_every < 1:
                raise CliError(f"--log-every must be at least 1, got {args.log_every}")
            options["log_acc_iteration"] = args.log_every
    else:
        if args.seeds is not None or args.sgd_batch is not None or args.log_every is not None:
            raise CliError(f"--seeds, --sgd-batch and --log-every are for effective-batch, not {args.name}")
        if args.seed is not None:
            options["seed"] = args.seed
    if args.steps is not None:
        if args.name == "overfit":
            raise CliError("--steps is for compare-rules and effective-batch (overfit runs the note's 20 epochs)")
        if args.steps < 1:
            raise CliError(f"--steps must be at least 1, got {args.steps}")
        options["steps"] = args.steps
    return options


def _make_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise CliError(f"cannot write to {path}: it is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create directory {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK):
        raise CliError(f"cannot write to {path}: directory is not writable")


def experiment_command(args: argparse.Namespace) -> int:
    options = _experiment_options(args)
    try:
        data = load_dataset(args.dataset)
    except DatasetError as exc:
        raise CliError(str(exc)) from None
    out = Path(args.out)
    _make_dir(out)
    say = _say(args)
    bar = Progress(1, args.name)

    def progress(done: int, total: int) -> None:
        bar.total = max(total, 1)
        bar.update(done)

    try:
        result = run_experiment(args.name, data, progress=progress, say=None if args.quiet else
                                (lambda line: (bar.close(), say(line))), **options)
    except ParamError as exc:
        raise CliError(str(exc)) from None
    finally:
        bar.close()
    for run in result.runs:
        with atomic_output(out / f"{run.name}.npz", "wb") as fh:
            run.solver.record_histories_as_npz(fh)
    if result.bands:
        import numpy as np

        arrays = {f"{label}_{metric}_{part}": arr for label, metrics in result.bands.items()
                  for metric, parts in metrics.items() for part, arr in zip(("x", "mean", "min", "max"), parts)}
        with atomic_output(out / "effective_batch_bands.npz", "wb") as fh:
            np.savez(fh, **arrays)
    doc = {"experiment": result.name, "dataset": args.dataset, "settings": result.settings,
           "log": result.log, "summary": result.summary, "values": result.values, "tries": result.tries,
           "runs": [{"file": f"{r.name}.npz", "rule": r.rule, "seed": r.seed, "batch_size": r.batch_size,
                     "epochs": r.epochs, "final_loss": r.final_loss, "final_train_acc": r.final_train_acc,
                     "final_val_acc": r.final_val_acc, "best_val_acc": r.solver.best_val_acc,
                     "diverged": r.solver.diverged} for r in result.runs]}
    with atomic_output(out / "summary.json", "w") as fh:
        json.dump(_jsonable(doc), fh, indent=1)
        fh.write("\n")
    for line in result.summary:
        say(line)
    say(f"wrote {len(result.runs)} history file(s) and summary.json to {out}")
    return 0
