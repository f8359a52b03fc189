"""``descent-tui run``: the headless run. Same computation as the app, written as CSV/JSON/NPZ.

* Row k = 0..steps: ``step``, ``lr`` (the rate of the update out of w_k), ``loss`` at w_k, ``w``,
  the gradient at w_k. Numbers are ``repr(float)``: they read back to the same bits.
* Every format is computed row by row from a run whose history is bounded
  (``Run(settings, capacity=64)``), so memory stays flat for any number of steps. CSV
  (``--out x.csv`` or ``--out -``) is written as the rows come; JSON and NPZ spool each column to
  temporary files beside the output (:class:`~tui.cli.output.Spool`: 8 (3 + 2 dim) bytes a row on
  disk) and are assembled from them at the end.
* Files are written to a temporary file and renamed, after checking the target is writable
  before computing: an error (a full disk: ``cannot write PATH: No space left on device``),
  Ctrl-C, SIGTERM or SIGHUP leaves no partial, temporary or spool file.
* A run that diverges stops there: the rows up to and including the divergent one are written,
  ``diverged at step k`` goes to stderr and the exit status is still 0 (the output is valid data;
  the summary's ``diverged_at`` says it).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable, TextIO

from descent_engine.params import Param, format_value
from descent_engine.run import Run, Settings

from .common import Progress, atomic_output, check_writable, quiet_stdout, write_error
from .flags import add_param_flags, parse_flag
from .output import Spool, csv_header, csv_line, output_format, write_json, write_npz
from .settings import active_preset, add_settings_arguments, settings_from_args

STEPS = Param("steps", 100, "update steps (rows 0..steps are written)", kind="int", low=1, high=10**9)
_CHUNK = 10_000

DESCRIPTION = """\
Run an optimizer without a screen and print a summary, or write every row with --out.
Output by the extension of --out: .csv, .json, .npz; '-' writes CSV to stdout.
CSV columns: step,lr,loss,w0,w1,g0,g1 (row k = 0..steps; lr is the rate of the update out of w_k).
A diverging run writes the rows up to the divergence, says 'diverged at step k' on stderr, exits 0.
Examples:
  descent-tui run --preset notes-gdm --out -
  descent-tui run --rule adam --lr 0.01 --steps 500 --out adam.json
  descent-tui run --problem rosenbrock --rule nesterov --schedule cosine --period 2000 --steps 2000 --out r.npz
  descent-tui run --list
  descent-tui run --problem function --f '(1 - x)**2 + 100*(y - x**2)**2' --start=-1.5,2 --rule adam
  descent-tui run --problem data --data points.csv --rule nesterov --out fit.json
  descent-tui run --preset notes-gdm --print-config > session.toml; descent-tui run --config session.toml
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("run", help="run headless; write CSV/JSON/NPZ", description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    add_param_flags(p, (STEPS,), defaults={"steps": f"the preset's, else {STEPS.default}"})
    p.add_argument("--out", metavar="PATH", help="write the rows to PATH (.csv, .json, .npz; '-' = CSV to stdout)")
    p.add_argument("--list", action="store_true",
                   help="list presets, problems, rules and schedules with every flag, default and range")
    add_settings_arguments(p)
    p.set_defaults(handler=run_command)
    return p



def steps_from_args(args: argparse.Namespace) -> int:
    if args.steps is not None:
        return parse_flag(STEPS, args.steps)
    preset = active_preset(args)
    return preset.steps if preset is not None else STEPS.default


def settings_record(run: Run, steps: int, preset: str | None) -> dict[str, Any]:
    s = run.settings
    return {
        "preset": preset, "problem": run.problem.name, "problem_params": run.resolved.problem.params,
        "rule": run.rule.name, "rule_params": run.hp, "schedule": run.schedule.name,
        "schedule_params": run.schedule_hp, "steps_per_epoch": s.steps_per_epoch, "seed": s.seed, "steps": steps,
        "start": run.problem.w0.tolist(),
    }


def summary_record(run: Run) -> dict[str, Any]:
    out = {"final_loss": run.loss, "optimal_loss": run.problem.loss_star, "steps": run.k,
           "diverged_at": run.diverged_at}
    if run.problem.optimum_numerical:  # a typed function: w* was found by a search, not known
        out["optimum"] = "numerical optimum"
        out["w_star"] = run.problem.w_star.tolist()
    return out


def _advance(run: Run, steps: int, progress: Progress) -> None:
    while run.k < steps and not run.done:
        run.step(min(_CHUNK, steps - run.k))
        progress.update(run.k)


def _each_row(run: Run, steps: int, emit: Callable[[tuple], None], progress: Progress) -> None:
    """``emit(run.history.last)`` for rows 0..steps (the run's own history may be bounded)."""
    emit(run.history.last)
    while run.k < steps and not run.done:
        run.step(1)
        emit(run.history.last)
        if not run.k % 1024:
            progress.update(run.k)


def _stream_csv(run: Run, steps: int, handle: TextIO, progress: Progress) -> None:
    """Write each row as it is computed, 1024 lines at a time."""
    handle.write(csv_header(run.problem.dim) + "\n")
    lines: list[str] = []

    def emit(last: tuple) -> None:
        k, lr, loss, w, g, _avg = last
        lines.append(csv_line(k, lr, loss, w, g))
        if len(lines) >= 1024:
            handle.write("\n".join(lines) + "\n")
            lines.clear()

    _each_row(run, steps, emit, progress)
    if lines:
        handle.write("\n".join(lines) + "\n")


def _spooled(run: Run, steps: int, out: str, fmt: str, preset_name: str | None, progress: Progress) -> None:
    """JSON or NPZ: the rows go column by column to spool files, then the file is assembled."""
    with Spool(out, run.problem.dim) as spool:
        _each_row(run, steps, lambda last: spool.append(*last[:5]), progress)
        record, summary = settings_record(run, steps, preset_name), summary_record(run)
        if fmt == ".json":
            with atomic_output(out, "w") as handle:
                write_json(handle, record, spool, summary)
        else:
            with atomic_output(out, "wb") as handle:
                write_npz(handle, record, spool, summary)


def _stdout_csv(run: Run, steps: int, progress: Progress) -> None:
    try:
        _stream_csv(run, steps, sys.stdout, progress)
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:  # e.g. `> /dev/full`
        quiet_stdout()
        raise write_error("standard output", exc) from None


def _summary_text(run: Run) -> str:
    hp = " ".join(f"{p.name}={format_value(p, run.hp[p.name])}" for p in run.rule.params)
    rows = [
        ("run", f"{run.problem.name}  {run.rule.name} ({hp})  {run.schedule.name}"),
        ("steps", str(run.k)),
        ("final loss", repr(float(run.loss))),
        *((("numerical optimum", f"loss {float(run.problem.loss_star)!r} at w* = "
            + " ".join(repr(x) for x in run.problem.w_star.tolist())),) if run.problem.optimum_numerical else
          (("optimal loss", repr(float(run.problem.loss_star))),)),
        ("final w", " ".join(repr(x) for x in run.w.tolist())),
        ("diverged at", "-" if run.diverged_at is None else str(run.diverged_at)),
    ]
    width = max(13, 1 + max(len(k) for k, _ in rows))
    return "\n".join(f"{k:<{width}} {v}" for k, v in rows) + "\n"


def run_command(args: argparse.Namespace) -> int:
    if args.list:
        from ..docs import list_text

        sys.stdout.write(list_text() + "\n")
        return 0
    settings: Settings = settings_from_args(args)
    steps = steps_from_args(args)
    if args.print_config:
        from .session import to_toml

        sys.stdout.write(to_toml(settings, preset=active_preset(args), steps=steps))
        return 0
    fmt = output_format(args.out)
    if fmt not in (None, "-"):
        check_writable(args.out)
    preset = active_preset(args)
    preset_name = (preset.name or None) if preset is not None else None  # a session may come from no preset
    run = Run(settings, capacity=64)
    with Progress(steps, label="descent-tui run") as progress:
        if fmt is None:
            _advance(run, steps, progress)
        elif fmt == "-":
            _stdout_csv(run, steps, progress)
        elif fmt == ".csv":
            with atomic_output(args.out, "w") as handle:
                _stream_csv(run, steps, handle, progress)
        else:
            _spooled(run, steps, args.out, fmt, preset_name, progress)
    if fmt is None:
        sys.stdout.write(_summary_text(run))
    if run.diverged_at is not None:
        print(f"diverged at step {run.diverged_at}", file=sys.stderr)
    return 0
