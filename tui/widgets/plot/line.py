"""The line model of a chart: :class:`Line`, limits that hold still, decimation, and which lines
diverged (so one exploding series does not flatten the others)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np

#: a line whose values leave the other lines' range by more than this many times that range's
#: span is diverged: it is left out of the limits and clipped to the plot area
DIVERGED_FACTOR = 1e3


@dataclass(frozen=True)
class Line:
    """One series of a chart. Non-finite points are dropped before plotting.

    ``clip``: True marks the line as diverged (left out of the limits, clipped to the plot area,
    its label marked); None (the default) decides from the data (:func:`diverged`); False never.
    ``reference``: False keeps the line out of the range the others are judged by (a prediction
    drawn past the data must not make the data look diverged).
    """

    x: np.ndarray
    y: np.ndarray
    label: str = ""
    color: str | int = "auto"
    marker: str = "braille"
    dim: bool = False
    kind: str = "line"
    clip: bool | None = None
    reference: bool = True


def _fingerprint(a: np.ndarray) -> tuple:
    """A cheap summary of an array: changes whenever a live series grows or restarts."""
    n = int(a.shape[0])
    if n == 0:
        return (0,)
    return (n, float(a[0]), float(a[n // 2]), float(a[-1]))


def _nice_step(x: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= ``x`` (> 0)."""
    e = 10.0 ** np.floor(np.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * e >= x * (1 - 1e-12):
            return m * e
    return 10.0 * e  # pragma: no cover


def _clip_x(line: Line, xlim) -> Line:
    """The part of ``line`` inside ``xlim`` (a long ghost next to a short new run)."""
    x = np.asarray(line.x, dtype=float)
    keep = (x >= xlim[0]) & (x <= xlim[1])
    if keep.all():
        return line
    return replace(line, x=x[keep], y=np.asarray(line.y)[keep])


def _finite_range(arrays: Iterable) -> tuple[float, float] | None:
    lo, hi = np.inf, -np.inf
    for a in arrays:
        a = np.asarray(a, dtype=float)
        if a.size:
            f = a[np.isfinite(a)]
            if f.size:
                lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    return (lo, hi) if lo <= hi else None


def data_limits(arrays: Iterable) -> tuple[float, float]:
    """The finite min and max of ``arrays``; a single value v gives v/2 and 3v/2 (in order),
    none (-1, 1): plotext's own rule, so a chart looks the same whoever sets the limits."""
    r = _finite_range(arrays)
    if r is None:
        return (-1.0, 1.0)
    lo, hi = r
    if lo == hi:
        return tuple(sorted((0.5 * lo, 1.5 * lo))) if lo != 0 else (-1.0, 1.0)  # type: ignore[return-value]
    return (lo, hi)


def stable_limits(data: tuple[float, float], old: tuple[float, float] | None, *, from_zero: bool = False
                  ) -> tuple[float, float]:
    """Axis limits that hold still while the data grows: kept while the data fits and fills at
    least a third of them, else rounded out to a 1-2-5 grid (x from zero: ``(0, 1-2-5 value)``)."""
    lo, hi = data
    if old is not None and old[0] <= lo and hi <= old[1] and (hi - lo) * 3 >= old[1] - old[0]:
        return old
    if from_zero:
        return (0.0, _nice_step(max(hi, 1.0)))
    span = hi - lo
    if span <= 0:
        pad = abs(hi) * 0.1 or 1.0
        return (lo - pad, hi + pad)
    step = _nice_step(span / 4)
    return (float(np.floor(lo / step) * step), float(np.ceil(hi / step) * step))


def diverged(lines: Sequence[Line], hlines: Sequence[float] = ()) -> list[bool]:
    """Which of ``lines`` are diverged: ``clip=True``, or (``clip=None``) a line that leaves the
    range of all the others (and of ``hlines``) by more than :data:`DIVERGED_FACTOR` times its
    span. Worst first, one at a time, so two exploding lines are both found."""
    ranges = [_finite_range([ln.y]) for ln in lines]
    out = [ln.clip is True for ln in lines]
    fixed = _finite_range([np.asarray(hlines, dtype=float)])
    while True:
        candidates = [i for i, ln in enumerate(lines) if ln.clip is None and not out[i] and ranges[i] is not None]
        worst, worst_excess = -1, 0.0
        for i in candidates:
            ref = _finite_range([ranges[j] for j in range(len(lines)) if j != i and not out[j]
                                 and ranges[j] is not None and lines[j].reference] + ([fixed] if fixed else []))
            if ref is None:
                continue
            scale = max(ref[1] - ref[0], 1e-12 * max(abs(ref[0]), abs(ref[1])), 1e-300)
            excess = max(ranges[i][1] - ref[1], ref[0] - ranges[i][0]) / scale
            if excess > DIVERGED_FACTOR and excess > worst_excess:
                worst, worst_excess = i, excess
        if worst < 0:
            return out
        out[worst] = True


def decimate(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most about ``2 * buckets`` points, in their original order.

    For x increasing (a time series) each x-bucket keeps its min and its max point, so spikes
    survive; for anything else (a trajectory) an even stride that always keeps the last point.
    Non-finite points are dropped first.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    n = min(x.shape[0], y.shape[0])
    x, y = x[:n], y[:n]
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.all():
        x, y = x[ok], y[ok]
    n = x.shape[0]
    buckets = max(int(buckets), 2)
    if n <= 2 * buckets:
        return x, y
    if np.all(np.diff(x) >= 0):
        lo, hi = x[0], x[-1]
        span = hi - lo
        if span <= 0:
            return x[-1:], y[-1:]
        b = np.minimum(((x - lo) / span * buckets).astype(np.int64), buckets - 1)
        order = np.lexsort((y, b))
        bs = b[order]
        starts = np.flatnonzero(np.r_[True, bs[1:] != bs[:-1]])
        ends = np.r_[starts[1:], bs.shape[0]] - 1
        keep = np.unique(np.concatenate([order[starts], order[ends], [0, n - 1]]))
        return x[keep], y[keep]
    stride = int(np.ceil(n / (2 * buckets)))
    idx = np.arange(0, n, stride)
    if idx[-1] != n - 1:
        idx = np.append(idx, n - 1)
    return x[idx], y[idx]
