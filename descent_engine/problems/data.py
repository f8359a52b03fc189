"""``data``: the note's least squares ``||y - Xw||^2`` on the user's CSV (``--data FILE.csv``).

The file's columns are the features, then ``y``; an optional first row of names (a header: a
row with a cell that is not a number); blank lines and lines starting with ``#`` are skipped.
Any number of features; the Hessian is ``2 X^T X`` (constant: the problem is quadratic, so the
theory line is exact), the landscape exists where there are two features. Without ``--data``
(``--data notes``, the default) the problem runs on the note's own data set. Every fault of the file is one line naming the
file, the line and the column.
"""

from __future__ import annotations

import math
import os
import stat
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from ..params import Param, ParamError, ParamSet, shorten_path
from .base import PROBLEMS, Problem, ProblemSpec
from .notes import least_squares, notes_data

#: the largest file read (a CSV of a few million numbers)
MAX_BYTES = 200 * 2**20


def _fail(path: str, what: str) -> ParamError:
    return ParamError(f"data: {shorten_path(path)}: {what}")


def _number(path: str, cell: str, line: int, column: int) -> float:
    try:
        value = float(cell)
    except ValueError:
        shown = cell.strip()[:30] or "an empty cell"
        raise _fail(path, f"line {line}, column {column}: cannot read {shown!r} as a number"
                    if shown != "an empty cell" else f"line {line}, column {column}: an empty cell") from None
    if not math.isfinite(value):
        raise _fail(path, f"line {line}, column {column}: {cell.strip()[:30]} is not a finite number")
    return value


def read_csv(path: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """``X`` (n, d), ``y`` (n,) and the column names (empty without a header) of a CSV file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(st.st_mode):
        raise _fail(path, "not a regular file")
    if st.st_size > MAX_BYTES:
        raise _fail(path, f"{st.st_size / 2**20:.0f} MB is too large (at most {MAX_BYTES // 2**20} MB)")
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8-sig")
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise _fail(path, "not a text file (UTF-8 expected)") from None
    rows: list[list[float]] = []
    names: tuple[str, ...] = ()
    width = 0
    first_line = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cells = line.split(",")
        if not width:
            width, first_line = len(cells), number
            if width < 2:
                raise _fail(path, f"line {number} has {width} column; expected the features, then y "
                                  "(at least 2 columns, comma-separated)")
            if not all(_is_number(c) for c in cells):
                names = tuple(c.strip() for c in cells)
                continue
        elif len(cells) != width:
            raise _fail(path, f"line {number} has {len(cells)} columns, line {first_line} has {width}")
        rows.append([_number(path, c, number, j) for j, c in enumerate(cells, start=1)])
    if not rows:
        raise _fail(path, "no rows of numbers (expected the features, then y, comma-separated)")
    data = np.array(rows, dtype=float)
    return data[:, :-1].copy(), data[:, -1].copy(), names


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _view(w_star: np.ndarray):
    """A box around the start (0) and the optimum, for two features."""
    out = []
    for m in w_star[:2]:
        lo, hi = min(0.0, float(m)), max(0.0, float(m))
        pad = 0.5 * (hi - lo) or 1.0
        out.append((lo - pad, hi + pad))
    return tuple(out)


@lru_cache(maxsize=8)
def _load(path: str, stamp: tuple[int, int], batch: int) -> Problem:
    X, y, _names = read_csv(path)
    n, d = X.shape
    if n < d:
        raise _fail(path, f"{n} rows for {d} features: least squares needs at least as many rows as features")
    hp = {"data": path, "batch_size": batch}
    lam_max = float(np.linalg.eigvalsh(2 * (X.T @ X))[-1]) if n else 0.0
    problem = least_squares(
        X, y, hp, name="data", title=f"least squares on {os.path.basename(path)} (N={n}, {d} features)",
        bounds=((-1.0, 1.0), (-1.0, 1.0)), lr_hint=1.0 / lam_max if lam_max > 0 else 1e-2, adaptive_lr_hint=1e-2,
    )
    problem.bounds = _view(problem.w_star)
    scale = float(np.max(np.abs(problem.w_star))) or 1.0
    problem.adaptive_lr_hint = 0.01 * scale
    return problem


def _data(hp: Mapping[str, Any]) -> Problem:
    path = hp["data"]
    batch = 0  # full-batch gradients (a mini-batch knob would need a range per file)
    if path == "notes":
        X, y = notes_data()
        return least_squares(X, y, {"data": path, "batch_size": batch}, name="data", title=f"least squares on the note's data (N={X.shape[0]})",
                             bounds=((-0.5, 0.5), (-0.5, 0.5)), lr_hint=1e-4, adaptive_lr_hint=5e-3)
    try:
        st = os.stat(path)
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    return _load(path, stamp, batch)


PROBLEMS.register("data", ProblemSpec(
    "data", "least squares ||y - Xw||^2 on your CSV (--data): features, then y",
    ParamSet((
        Param("data", "notes", "a CSV file: the feature columns, then y; a header row optional (notes: the "
              "note's data set)", kind="text", words=("notes",)),
    )),
    _data, "||y - Xw||^2 on the columns of --data FILE.csv; w0 = 0",
))
