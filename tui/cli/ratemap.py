"""``descent-tui ratemap``: the rate map headless, as a summary or a .json/.npz/.csv file.

JSON is exactly ``{"lr": [...], "beta": [...], "predicted": [[...]], "measured": [[...]],
"settings": {...}}`` with ``predicted[i][j]`` the rate of ``beta[i]``, ``lr[j]``; ``null`` where
the cell does not converge (rate >= 1: it diverges) or has no value (no prediction: the problem
is not quadratic or the rule has no iteration map). A rule without a beta has one row and
``"beta": [null]``. NPZ holds the same arrays (NaN for null; ``settings`` as a JSON string);
CSV one line per cell: ``beta,lr,predicted,measured`` (empty for null).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, TextIO

import numpy as np

from descent_engine.params import ParamError
from descent_engine.ratemap import BETA_RANGE, LR_RANGE, SIZE, STEPS, RateMap, RateMapJob, grid_for

from .common import CliError, Progress, atomic_output, check_writable, quiet_stdout, write_error
from .flags import add_param_flags, flag_message, given_values
from .output import json_safe, output_format
from .settings import add_settings_arguments, settings_from_args

PARAMS = (SIZE, STEPS, LR_RANGE, BETA_RANGE)

DESCRIPTION = """\
The rate map: the rate per step of |w - w*| over a log grid of lr and a grid of the rule's main
beta, predicted from the Hessian spectrum (quadratic problems, linear rules) and measured by
running every cell at once. Without --out: a summary (the optimum, the fraction diverged).
Output by the extension of --out: .json, .npz, .csv ('-' writes CSV to stdout).
JSON: {"lr": [...], "beta": [...], "predicted": [[...]], "measured": [[...]], "settings": {...}},
predicted[i][j] for beta[i], lr[j]; null where a cell does not converge (rate >= 1) or has no value.
Examples:
  descent-tui ratemap --problem notes-ls --rule momentum
  descent-tui ratemap --problem quadratic --kappa 100 --rule sgd_momentum --size 64 --out map.json
  descent-tui ratemap --problem rosenbrock --rule nesterov --lr-range 1e-5:1e-2 --beta-range 0:0.99 --out r.npz
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("ratemap", help="the convergence-rate map over lr and beta", description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    add_param_flags(p, PARAMS, prefix="map_")
    p.add_argument("--out", metavar="PATH", help="write the map to PATH (.json, .npz, .csv; '-' = CSV to stdout)")
    add_settings_arguments(p)
    p.set_defaults(handler=ratemap_command)
    return p



# -- the three formats -------------------------------------------------------------------------------
def _nullable(a: np.ndarray | None, shape: tuple[int, int]) -> list[list[float | None]]:
    if a is None:
        return [[None] * shape[1] for _ in range(shape[0])]
    return [[float(x) if math.isfinite(x) else None for x in row] for row in a.tolist()]


def document(m: RateMap) -> dict[str, Any]:
    """The JSON document (nulls where a cell does not converge or has no value)."""
    shape = m.grid.shape
    return {
        "lr": m.grid.lr.tolist(),
        "beta": [None] if m.grid.beta is None else m.grid.beta.tolist(),
        "predicted": _nullable(m.converging("predicted"), shape),
        "measured": _nullable(m.converging("measured"), shape),
        "settings": json_safe(m.record()),
    }


def _arrays(m: RateMap) -> dict[str, np.ndarray]:
    nan = np.full(m.grid.shape, np.nan)
    pred = m.converging("predicted")
    return {"lr": m.grid.lr, "beta": np.array([np.nan]) if m.grid.beta is None else m.grid.beta,
            "predicted": nan if pred is None else pred, "measured": m.converging("measured")}  # type: ignore[dict-item]


def write_csv(m: RateMap, handle: TextIO) -> None:
    a = _arrays(m)
    cell = lambda x: repr(float(x)) if math.isfinite(x) else ""  # noqa: E731
    lines = ["beta,lr,predicted,measured"]
    for i, beta in enumerate(a["beta"].tolist()):
        for j, lr in enumerate(a["lr"].tolist()):
            lines.append(",".join((cell(beta), repr(lr), cell(a["predicted"][i, j]), cell(a["measured"][i, j]))))
    handle.write("\n".join(lines) + "\n")


def write_npz(m: RateMap, handle) -> None:
    arrays = _arrays(m)
    np.savez(handle, **arrays, settings=np.array(json.dumps(json_safe(m.record()))))


def write(m: RateMap, out: str, fmt: str) -> None:
    if fmt == ".json":
        with atomic_output(out, "w") as handle:
            json.dump(document(m), handle)
            handle.write("\n")
    elif fmt == ".npz":
        with atomic_output(out, "wb") as handle:
            write_npz(m, handle)
    else:
        with atomic_output(out, "w") as handle:
            write_csv(m, handle)


# -- the summary -------------------------------------------------------------------------------------
def _cell_text(m: RateMap, kind: str) -> str:
    c = m.optimum(kind)
    if c is None:
        return "none converges" if m.raw(kind) is not None else "no prediction (not a quadratic, or a rule without a map)"
    beta = "" if c.beta is None else f"  {m.grid.beta_name} {c.beta:.4g}"
    return f"lr {c.lr:.4g}{beta}  rate {c.rate:.6g}"


def _closed_form(r) -> str | None:
    """The rule's closed-form best constant settings on a quadratic (off the grid), if it has one."""
    from descent_engine import theory

    if not r.problem.quadratic or not r.rule.linear:
        return None
    sp = theory.spectrum(r.problem.hessian())
    o = theory.optimum(r.rule, sp.lam_min, sp.lam_max)
    if o is None:
        return None
    beta = "" if o.beta is None else f"  {o.beta_name} {o.beta:.4g}"
    return f"lr {o.lr:.4g}{beta}  rate {o.rate:.6g} (closed form, off the grid)"


def summary_text(m: RateMap) -> str:
    r = m.settings.resolved()
    g = m.grid
    beta = "one row (no beta)" if g.beta is None else f"{g.beta_name} {g.beta[0]:.4g} .. {g.beta[-1]:.4g} (linear)"
    rows = [("rate map", f"{r.problem.name}  {r.rule.name}  {g.n_beta} x {g.n_lr} cells  {m.steps} steps"),
            ("lr", f"{g.lr[0]:.4g} .. {g.lr[-1]:.4g} (log)"), ("beta", beta)]
    for kind in ("predicted", "measured"):
        rows.append((f"best {kind}", _cell_text(m, kind)))
        frac = m.diverged_fraction(kind)
        if frac is not None:
            rows.append(("  diverges", f"{100 * frac:.1f}% of the cells (rate >= 1)"))
    best = _closed_form(r)
    if best is not None:
        rows.append(("theory optimum", best))
    rows.append(("cells run", f"{m.mode}; gradient: {m.grad_mode}"))
    return "\n".join(f"{k:<16} {v}" for k, v in rows) + "\n"


def ratemap_command(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    knobs = given_values(args, PARAMS, prefix="map_")
    fmt = output_format(args.out)
    if fmt not in (None, "-"):
        check_writable(args.out)
    try:
        grid = grid_for(settings, knobs.get("size", SIZE.default), knobs.get("lr_range"), knobs.get("beta_range"))
        job = RateMapJob(settings, grid, knobs.get("steps", STEPS.default))
    except ParamError as exc:
        raise CliError(flag_message(str(exc), [p.name for p in PARAMS])) from None
    with Progress(job.total, label="descent-tui ratemap") as progress:
        m = job.run(lambda done, total: progress.update(done))
    if fmt is None:
        sys.stdout.write(summary_text(m))
    elif fmt == "-":
        try:
            write_csv(m, sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            quiet_stdout()
            raise write_error("standard output", exc) from None
    else:
        write(m, args.out, fmt)
    return 0
