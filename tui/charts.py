"""A plotext chart that is cheap to keep live.

Measured on a 2-core machine: one plotext build costs ~19 ms at 80x24 and 10k raw points per
series cost 640 ms, so :class:`Chart` decimates every line to the widget's columns, skips
non-finite values (plotext raises on them) and rebuilds only when what it would draw changed.
Log scales are the caller's job (pass log10 values): plotext's ``yscale('log')`` re-logs its
stored data at every build and raises on zero or negative values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import re
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Span, Text
from textual.widget import Widget
from textual_plotext import PlotextPlot

#: distinct markers for monochrome terminals (NO_COLOR): series stay apart by shape
MONO_MARKERS = ("braille", "dot", "x", "+", "o", "*", "#", "@")
#: plotext colour names, picked in order for ``color="auto"`` (few, distinct, not the ghost's grey)
PALETTE = ("cyan", "orange", "green", "magenta", "yellow", "blue", "red", "white")
DIM_COLOR = "gray"


@dataclass(frozen=True)
class Line:
    """One series of a chart. Non-finite points are dropped before plotting."""

    x: np.ndarray
    y: np.ndarray
    label: str = ""
    color: str | int = "auto"
    marker: str = "braille"
    dim: bool = False
    kind: str = "line"


def _fingerprint(a: np.ndarray) -> tuple:
    """A cheap summary of an array: changes whenever a live series grows or restarts."""
    n = int(a.shape[0])
    if n == 0:
        return (0,)
    return (n, float(a[0]), float(a[n // 2]), float(a[-1]))


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


class Chart(PlotextPlot):
    """A plotext chart that is cheap to keep live.

    ``show()`` replaces what is drawn. It decimates every line to about 2x the widget's width
    in columns (min/max per column bucket so spikes survive), drops non-finite values, and
    only rebuilds the plot when the data or size actually changed (a cheap key: lengths, a few
    values, size, plus an optional caller-given ``key``). Log scales are NOT plotext's
    ``yscale('log')``: callers pass log10 values and say so in ``ylabel``.
    The title goes in the widget's border title (styled in descent.tcss).
    """

    def __init__(self, title: str = "", *, xlabel: str = "", ylabel: str = "", name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.border_title = title
        self._lines: tuple[Line, ...] = ()
        self._opts: dict[str, Any] = {}
        self._data_key: object = None
        self._cache_key: object = None
        self._cache: Text | None = None
        #: number of plotext builds so far (tests and the benchmark read it)
        self.builds = 0

    # -- public -----------------------------------------------------------------------------------
    def show(self, lines: Sequence[Line], *, xlim=None, ylim=None, hlines=(), vlines=(),
             title: str | None = None, key: object = None) -> None:
        """Replace what is drawn; a no-op when nothing would change."""
        lines = tuple(lines)
        data_key = (
            tuple((_fingerprint(ln.x), _fingerprint(ln.y), ln.label, ln.color, ln.marker, ln.dim, ln.kind)
                  for ln in lines),
            _tuple_or_none(xlim), _tuple_or_none(ylim), tuple(map(float, hlines)), tuple(map(float, vlines)), key,
        )
        if title is not None and title != self.border_title:
            self.border_title = title
        if data_key == self._data_key:
            return
        self._data_key = data_key
        self._lines = lines
        self._opts = {"xlim": xlim, "ylim": ylim, "hlines": tuple(hlines), "vlines": tuple(vlines)}
        self.refresh()

    def clear(self) -> None:
        self.show(())

    @property
    def lines(self) -> tuple[Line, ...]:
        return self._lines

    # -- rendering --------------------------------------------------------------------------------
    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        mono = bool(getattr(self.app, "no_color", False))
        cache_key = (self._data_key, width, height, mono, self.app.theme, self.theme)
        if cache_key == self._cache_key and self._cache is not None:
            return self._cache
        if width < 8 or height < 4 or not self._lines:
            text = Text("")  # nothing to plot yet: skip a ~15 ms plotext build of an empty frame
        else:
            text = self._build(width, height, mono)
        self._cache_key, self._cache = cache_key, text
        return text

    def _build(self, width: int, height: int, mono: bool) -> Text:
        plt = self._plot
        plt.clear_figure()
        plt.plotsize(width, height)
        plt._set_size(width, height)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        if self.xlabel and height >= 14:
            plt.xlabel(self.xlabel)
        if self.ylabel and width >= 60 and height >= 14:
            plt.ylabel(self.ylabel)
        o = self._opts
        drawn = 0
        # ghosts and dimmed lines first, so the live series are drawn over them
        ordered = [ln for ln in self._lines if ln.dim] + [ln for ln in self._lines if not ln.dim]
        colour_index = 0
        mono_index = 0
        for ln in ordered:
            x, y = decimate(ln.x, ln.y, max(width // 2, 8))  # min+max per 2 columns
            if x.shape[0] == 0:
                continue
            if ln.dim:
                color: Any = DIM_COLOR
            elif ln.color == "auto":
                color = PALETTE[colour_index % len(PALETTE)]
                colour_index += 1
            else:
                color = ln.color
            marker = ln.marker
            if mono and not ln.dim and ln.marker == "braille":
                marker = MONO_MARKERS[mono_index % len(MONO_MARKERS)]
                mono_index += 1
            elif mono and ln.dim:
                marker = "dot"
            draw = plt.scatter if ln.kind == "scatter" else plt.plot
            draw(x.tolist(), y.tolist(), marker=marker, color=color, label=ln.label or None)
            drawn += 1
        for h in o.get("hlines", ()):
            if np.isfinite(h):
                plt.hline(float(h), color=DIM_COLOR)
        for v in o.get("vlines", ()):
            if np.isfinite(v):
                plt.vline(float(v), color=DIM_COLOR)
        if o.get("xlim") is not None:
            plt.xlim(*o["xlim"])
        if o.get("ylim") is not None:
            plt.ylim(*o["ylim"])
        if drawn == 0 and o.get("xlim") is None:
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        self.builds += 1
        try:
            out = plt.build()
        except Exception:  # plotext can still trip on degenerate ranges; never crash the app
            return Text("(nothing to draw)")
        return ansi_to_text(out)


def _tuple_or_none(v) -> tuple | None:
    return None if v is None else tuple(float(t) for t in v)


_SGR = re.compile(r"\x1b\[([0-9;]*)m")


@lru_cache(maxsize=256)
def _fg_style(code: str) -> Style | None:
    """The foreground of one SGR code ("38;5;6", "38;2;r;g;b"); grey means dim."""
    parts = code.split(";")
    try:
        if parts[:2] == ["38", "5"]:
            n = int(parts[2])
            return Style(color=Color.from_ansi(n), dim=n == 8)
        if parts[:2] == ["38", "2"]:
            r, g, b = (int(t) for t in parts[2:5])
            return Style(color=Color.from_rgb(r, g, b))
    except (ValueError, IndexError):
        return None
    return None


def ansi_to_text(ansi: str) -> Text:
    """plotext's output as a Rich Text, ~5x faster than ``Text.from_ansi``.

    plotext writes only foreground/background SGR codes and resets. Backgrounds are dropped on
    purpose (the widget's own background shows through): half the colour codes, fewer bytes to
    the terminal, and the chart follows the app theme.
    """
    parts = _SGR.split(ansi)
    plain: list[str] = []
    spans: list[Span] = []
    pos = 0
    style: Style | None = None
    for i, part in enumerate(parts):
        if i % 2 == 0:
            if part:
                end = pos + len(part)
                if style is not None:
                    if spans and spans[-1].end == pos and spans[-1].style is style:
                        spans[-1] = Span(spans[-1].start, end, style)
                    else:
                        spans.append(Span(pos, end, style))
                plain.append(part)
                pos = end
        elif part in ("", "0"):
            style = None
        elif part.startswith("38;"):
            style = _fg_style(part)
    text = Text("".join(plain).rstrip("\n"), no_wrap=True, overflow="crop")
    text.spans = spans
    return text


# ---------------------------------------------------------------------------------------------
# Landscape: contour bands as characters, computed once per (problem, size); trajectories on top.

#: characters of the contour lines, low loss to high (distinct without colour)
BAND_CHARS = "·∙:-=+*#%"
BAND_COLORS = ("#1f4e79", "#21618c", "#2874a6", "#2e86c1", "#3498db", "#5dade2", "#85c1e9", "#aed6f1", "#d6eaf8")


@dataclass(frozen=True)
class Path:
    """One trajectory on the landscape: w0 and w1 over the steps."""

    w0: np.ndarray
    w1: np.ndarray
    label: str = ""
    color: str = "auto"
    dim: bool = False


class Landscape(Widget):
    """The loss over the problem's bounds as contour bands, trajectories on top, ★ at w*.

    ``set_problem`` gives the loss on a grid (called once per problem and size, cached);
    ``show`` redraws the paths only when they changed. One character per cell: a contour cell
    shows its band's character (so bands read in monochrome too), a path cell ``•`` (ghost
    ``∘``), the current point ``●``, the start ``○``, the optimum ``★``.
    """

    def __init__(self, title: str = "", *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = title
        self._problem_key: object = None
        self._loss_grid: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
        self._bounds = ((0.0, 1.0), (0.0, 1.0))
        self._star: tuple[float, float] | None = None
        self._paths: tuple[Path, ...] = ()
        self._paths_key: object = None
        self._bands_key: object = None
        self._bands: list[list[tuple[str, str | None]]] = []
        self._cache_key: object = None
        self._cache: Text | None = None
        self.builds = 0

    def set_problem(self, key: object, loss_grid: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    bounds, w_star, loss_star: float = 0.0) -> None:
        if key == self._problem_key:
            return
        self._problem_key = key
        self._loss_grid = loss_grid
        self._bounds = (tuple(map(float, bounds[0])), tuple(map(float, bounds[1])))
        self._star = (float(w_star[0]), float(w_star[1]))
        self._loss_star = float(loss_star)
        self.refresh()

    def show(self, paths: Sequence[Path], key: object = None) -> None:
        paths = tuple(paths)
        pkey = (tuple((_fingerprint(p.w0), _fingerprint(p.w1), p.label, p.color, p.dim) for p in paths), key)
        if pkey == self._paths_key:
            return
        self._paths_key = pkey
        self._paths = paths
        self.refresh()

    # -- geometry ---------------------------------------------------------------------------------
    def _cells(self, w0: np.ndarray, w1: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        (x0, x1), (y0, y1) = self._bounds
        cx = np.floor((np.asarray(w0, float) - x0) / (x1 - x0) * width)
        cy = np.floor((y1 - np.asarray(w1, float)) / (y1 - y0) * height)
        return cx, cy

    def _compute_bands(self, width: int, height: int) -> None:
        key = (self._problem_key, width, height)
        if key == self._bands_key:
            return
        self._bands_key = key
        (x0, x1), (y0, y1) = self._bounds
        xs = x0 + (np.arange(width) + 0.5) / width * (x1 - x0)
        ys = y1 - (np.arange(height) + 0.5) / height * (y1 - y0)
        W0, W1 = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            z = np.asarray(self._loss_grid(W0, W1), dtype=float) - self._loss_star  # type: ignore[misc]
            z = np.log10(np.maximum(z, 1e-300))
        finite = np.isfinite(z)
        nb = len(BAND_CHARS)
        if finite.any():
            lo, hi = np.nanpercentile(z[finite], 1), np.nanpercentile(z[finite], 99)
            band = np.clip(((z - lo) / max(hi - lo, 1e-12) * nb).astype(int), 0, nb - 1)
        else:
            band = np.zeros_like(z, dtype=int)
        # a cell is on a contour where its band differs from the neighbour right of or below it
        edge = np.zeros_like(band, dtype=bool)
        edge[:, :-1] |= band[:, :-1] != band[:, 1:]
        edge[:-1, :] |= band[:-1, :] != band[1:, :]
        self._bands = [
            [(BAND_CHARS[b], BAND_COLORS[b]) if e else (" ", None) for b, e in zip(brow, erow)]
            for brow, erow in zip(band.tolist(), edge.tolist())
        ]

    # -- rendering --------------------------------------------------------------------------------
    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        key = (self._problem_key, self._paths_key, width, height, bool(getattr(self.app, "no_color", False)))
        if key == self._cache_key and self._cache is not None:
            return self._cache
        self._cache_key = key
        if width < 4 or height < 2 or self._loss_grid is None:
            self._cache = Text("")
            return self._cache
        self.builds += 1
        self._compute_bands(width, height)
        grid = [row[:] for row in self._bands]
        colour_index = 0
        for p in sorted(self._paths, key=lambda p: not p.dim):
            if p.dim:
                color, dot = "grey50", "∘"
            elif p.color == "auto":
                color, dot = _RICH_PALETTE[colour_index % len(_RICH_PALETTE)], "•"
                colour_index += 1
            else:
                color, dot = p.color, "•"
            x, y = decimate(p.w0, p.w1, 4 * width)
            if x.shape[0] == 0:
                continue
            cx, cy = self._cells(x, y, width, height)
            cx, cy = _densify(cx, cy)
            inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
            for i, j in zip(cy[inside].astype(int).tolist(), cx[inside].astype(int).tolist()):
                grid[i][j] = (dot, color)
            if not p.dim:
                for (px, py), mark in (((x[0], y[0]), "○"), ((x[-1], y[-1]), "●")):
                    c0, c1 = self._cells(np.array([px]), np.array([py]), width, height)
                    if 0 <= c0[0] < width and 0 <= c1[0] < height:
                        grid[int(c1[0])][int(c0[0])] = (mark, color)
        if self._star is not None:
            c0, c1 = self._cells(np.array([self._star[0]]), np.array([self._star[1]]), width, height)
            if 0 <= c0[0] < width and 0 <= c1[0] < height:
                grid[int(c1[0])][int(c0[0])] = ("★", "bold yellow")
        text = Text(no_wrap=True, overflow="crop")
        for r, row in enumerate(grid):
            if r:
                text.append("\n")
            run_chars: list[str] = []
            run_style = row[0][1]
            for ch, st in row:
                if st != run_style:
                    text.append("".join(run_chars), style=run_style)
                    run_chars, run_style = [], st
                run_chars.append(ch)
            text.append("".join(run_chars), style=run_style)
        self._cache = text
        return text


_RICH_PALETTE = ("bright_cyan", "dark_orange", "bright_green", "bright_magenta")


def _densify(cx: np.ndarray, cy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill the cells between consecutive points so a path reads as a line, not dots."""
    if cx.shape[0] < 2:
        return cx, cy
    ok = np.isfinite(cx) & np.isfinite(cy)
    cx, cy = np.clip(cx[ok], -1e4, 1e4), np.clip(cy[ok], -1e4, 1e4)
    if cx.shape[0] < 2:
        return cx, cy
    gaps = np.maximum(np.abs(np.diff(cx)), np.abs(np.diff(cy))).astype(int)
    gaps = np.minimum(gaps, 400)
    reps = np.maximum(gaps, 1)
    t = np.concatenate([np.arange(r) / r for r in reps.tolist()]) if reps.sum() < 20000 else None
    if t is None:
        return cx, cy
    idx = np.repeat(np.arange(cx.shape[0] - 1), reps)
    xs = cx[idx] + (cx[idx + 1] - cx[idx]) * t
    ys = cy[idx] + (cy[idx + 1] - cy[idx]) * t
    return np.append(np.floor(xs + 0.5), cx[-1]), np.append(np.floor(ys + 0.5), cy[-1])
