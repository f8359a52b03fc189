"""A plotext chart that is cheap to keep live.

Measured on a 2-core machine: one plotext build costs ~19 ms at 80x24 and 10k raw points per
series cost 640 ms, so :class:`Chart` decimates every line to the widget's columns, skips
non-finite values (plotext raises on them) and rebuilds only when what it would draw changed.
Log scales are the caller's job (pass log10 values): plotext's ``yscale('log')`` re-logs its
stored data at every build and raises on zero or negative values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import re
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from rich.style import Style as RichStyle
from rich.text import Span, Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual_plotext import PlotextPlot

#: distinct markers for monochrome terminals (NO_COLOR): series stay apart by shape
MONO_MARKERS = ("braille", "dot", "x", "+", "o", "*", "#", "@")
#: plotext colour names, picked in order for ``color="auto"`` (few, distinct, not the ghost's grey)
#: monochrome markers of ghosts and other dimmed lines (quieter than the live ones)
DIM_MONO_MARKERS = ("·", ":", "'", "-")
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


def _finite_range(arrays) -> tuple[float, float] | None:
    lo, hi = np.inf, -np.inf
    for a in arrays:
        a = np.asarray(a, dtype=float)
        if a.size:
            f = a[np.isfinite(a)]
            if f.size:
                lo, hi = min(lo, float(f.min())), max(hi, float(f.max()))
    return (lo, hi) if lo <= hi else None


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


class RowStrips:
    """``render_line`` straight from the cached rows: one Strip per row, rebuilt only when the row
    changed.

    Textual would turn the whole chart Text into strips (``Content.from_rich_text`` and a wrap
    pass) on every repaint, even of one row: measured, that cost as much as building the chart
    and sat in the screen's paint, where a key press waits for it. Rows are ``(line, runs)``
    with runs ``(start, end, style)``; styles are composed once onto the widget's visual style,
    as Textual does for a Text span.
    """

    _cache_rows: list | None = None

    def render_line(self, y: int) -> Strip:
        self.render()  # the cached build (a no-op when nothing changed)
        rows = self._cache_rows
        if rows is None:
            return super().render_line(y)  # type: ignore[misc]
        self._dirty_regions.clear()
        if not 0 <= y < len(rows):
            return Strip.blank(self.size.width, self.visual_style.rich_style)
        base = self.visual_style
        strips = getattr(self, "_strips", None)
        if strips is None or strips[0] is not rows or strips[1] is not base or strips[2] != self.size.width:
            old = strips[3] if strips is not None and strips[1] is base else {}
            strips = self._strips = (rows, base, self.size.width, {}, old)
        made, old = strips[3], strips[4]
        key = (y, rows[y])
        strip = made.get(key)
        if strip is None:
            strip = old.get(key)
            if strip is None:
                strip = _row_strip(rows[y], base, self.size.width, y)
            made[key] = strip
        return strip


_SPAN_STYLES: dict = {}


def _row_strip(row: tuple, base: Any, width: int, y: int) -> Strip:
    """One row as Textual's own Text path would give it: the same segments and the same styles
    (with the ``offset`` meta that text selection uses)."""
    line, runs = row
    segments: list[Segment] = []
    pos = 0
    for start, end, style in runs:
        if start > pos:
            segments.append(Segment(line[pos:start], base.rich_style_with_offset(pos, y)))
        segments.append(Segment(line[start:end], _compose(base, style).rich_style_with_offset(start, y)))
        pos = end
    if pos < len(line):
        segments.append(Segment(line[pos:], base.rich_style_with_offset(pos, y)))
    strip = Strip(segments)
    return strip.crop(0, width) if strip.cell_length > width else strip


def _compose(base: Any, style: Any) -> Any:
    """A span's style on top of the widget's, as Textual composes a Text span (cached)."""
    key = (base, style)
    out = _SPAN_STYLES.get(key)
    if out is None:
        from textual.style import Style as VisualStyle

        try:
            from textual._context import active_app

            app = active_app.get()
            rich = app.console.get_style(style) if isinstance(style, str) else style
            theme = app.ansi_theme
        except LookupError:  # pragma: no cover - outside an app
            rich = RichStyle.parse(style) if isinstance(style, str) else style
            theme = None
        out = base + VisualStyle.from_rich_style(rich, theme)
        if len(_SPAN_STYLES) > 4096:
            _SPAN_STYLES.clear()
        _SPAN_STYLES[key] = out
    return out


class Chart(RowStrips, PlotextPlot):
    """A plotext chart that is cheap to keep live.

    ``show()`` replaces what is drawn. It decimates every line to about 2x the widget's width
    in columns (min/max per column bucket so spikes survive), drops non-finite values, and
    only rebuilds the plot when the data or size actually changed (a cheap key: lengths, a few
    values, size, plus an optional caller-given ``key``). Log scales are NOT plotext's
    ``yscale('log')``: callers pass log10 values and say so in ``ylabel``.
    The title goes in the widget's border title (styled in descent.tcss).
    """

    def __init__(self, title: str = "", *, xlabel: str = "", ylabel: str = "", stable_axes: bool = False,
                 name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.xlabel = xlabel
        self.ylabel = ylabel
        #: limits not given by the caller move in round steps only (see :func:`stable_limits`),
        #: so a live chart keeps its ticks and most of its rows from frame to frame
        self.stable_axes = stable_axes
        self._stable: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.border_title = title
        self._lines: tuple[Line, ...] = ()
        self._opts: dict[str, Any] = {}
        self._data_key: object = None
        self._cache_key: object = None
        self._cache: Text | None = None
        #: number of plotext builds so far (tests and the benchmark read it)
        self.builds = 0
        #: False once plotext laid a canvas out otherwise than :func:`_plan` said (then plotext draws)
        self._fast_ok = True

    # -- public -----------------------------------------------------------------------------------
    def show(self, lines: Sequence[Line], *, xlim=None, ylim=None, hlines=(), vlines=(),
             title: str | None = None, key: object = None) -> None:
        """Replace what is drawn; a no-op when nothing would change."""
        lines = tuple(lines)
        if self.stable_axes and (xlim is None or ylim is None) and lines:
            xlim, ylim = self._stable_limits(lines, xlim, ylim, hlines)
        if self.stable_axes and xlim is not None:
            lines = tuple(_clip_x(ln, xlim) if ln.dim else ln for ln in lines)
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
        refresh_changed_rows(self)

    def clear(self) -> None:
        self.show(())

    def _stable_limits(self, lines, xlim, ylim, hlines):
        """x from the live (not dimmed) lines: a ghost is context, not the scale; y from what
        shows in that x range."""
        live = [ln for ln in lines if not ln.dim and np.asarray(ln.x).size] or list(lines)
        data_x = _finite_range([ln.x for ln in live])
        if data_x is None:
            return xlim, ylim
        old_x, old_y = self._stable if self._stable is not None else (None, None)
        new_x = xlim if xlim is not None else stable_limits(data_x, old_x, from_zero=data_x[0] >= 0)
        shown = [_clip_x(ln, new_x) if ln.dim else ln for ln in lines]
        data_y = _finite_range([ln.y for ln in shown] + [np.asarray(hlines, dtype=float)])
        if data_y is None:
            return xlim, ylim
        new_y = ylim if ylim is not None else stable_limits(data_y, old_y)
        self._stable = (tuple(new_x), tuple(new_y))
        return new_x, new_y

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
        self._rows = None
        if width < 8 or height < 4 or not self._lines:
            text = Text("")  # nothing to plot yet: skip a ~15 ms plotext build of an empty frame
        else:
            text = self._build(width, height, mono)
        self._cache_key, self._cache = cache_key, text
        #: a comparable key per row of the cached Text (None: rows unknown) and its size
        self._cache_rows, self._cache_size = self._rows, (width, height)
        return text

    def _reset_plot(self, width: int, height: int) -> Any:
        """The widget's one plotext figure, emptied for a new build.

        plotext's ``clear_figure()`` re-creates the figure (and deep-copies a monitor): ~7% of a
        build. Resetting the monitor's data, axes and labels in place gives the same blank plot.
        """
        plt = self._plot
        monitor = getattr(plt, "monitor", None)
        if monitor is None or not all(hasattr(monitor, a) for a in ("labels_init", "axes_init", "data_init")):
            plt.clear_figure()  # pragma: no cover - another plotext version
        else:
            monitor.labels_init()
            monitor.axes_init()
            monitor.data_init()
        plt.plotsize(width, height)
        plt._set_size(width, height)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        return plt

    def _series(self, width: int, mono: bool) -> list[tuple[list[float], list[float], str, Any, str | None, bool]]:
        """What to plot, in drawing order: (x, y, marker, colour, label, joined by lines)."""
        # ghosts and dimmed lines first, so the live series are drawn over them
        ordered = [ln for ln in self._lines if ln.dim] + [ln for ln in self._lines if not ln.dim]
        out = []
        colour_index = 0
        mono_index = 0
        mono_groups: dict[Any, str] = {}
        # without colour every series needs a marker of its own: markers a line asks for
        # (the g0 scatter) are taken first, the ghost and other dimmed lines get quiet ones
        reserved = {ln.marker for ln in ordered if ln.marker != "braille"}
        free = [m for m in MONO_MARKERS if m not in reserved]
        dim_free = [m for m in DIM_MONO_MARKERS if m not in reserved]
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
                # lines given one colour (one run's w0 and w1 in compare mode) share one marker
                group = ln.color if ln.color != "auto" else ("auto", colour_index)
                if group not in mono_groups:
                    mono_groups[group] = free[mono_index % len(free)]
                    mono_index += 1
                marker = mono_groups[group]
            elif mono and ln.dim:
                # one run's ghost lines share a mark ("previous" labels the first of them)
                group = ("dim", ln.label if ln.label not in ("", "previous") else "")
                if group not in mono_groups:  # the ghost's is always the first (one look everywhere)
                    others = len([g for g in mono_groups if g[0] == "dim" and g[1]])
                    mono_groups[group] = dim_free[(1 + others if group[1] else 0) % len(dim_free)]
                marker = mono_groups[group]
            out.append((x.tolist(), y.tolist(), marker, color, ln.label or None, ln.kind != "scatter"))
        return out

    def _build(self, width: int, height: int, mono: bool, fast: bool = True) -> Text:
        """Build the chart: plotext draws frame, ticks, labels, legend and lines; the series are
        rasterised here (see :func:`raster_series`) unless ``fast`` is off or it does not apply."""
        plt = self._reset_plot(width, height)
        if self.xlabel and height >= 14:
            plt.xlabel(self.xlabel)
        if self.ylabel and width >= 60 and height >= 14:
            plt.ylabel(self.ylabel)
        o = self._opts
        series = self._series(width, mono)
        plan = _plan(plt, series, o, width, height) if fast and self._fast_ok else None
        if plan is not None:
            rastered = [raster_series(s, plan) for s in series]
            if any(s[4] is not None and not r[0] for s, r in zip(series, rastered)):
                plan = None  # a labelled series with nothing inside: plotext's own way
        if plan is None:
            for x, y, marker, color, label, lines in series:
                draw = plt.plot if lines else plt.scatter
                draw(x, y, marker=marker, color=color, label=label)
        else:
            for (x, y, marker, color, label, lines), (xs, ys, chars) in zip(series, rastered):
                if label is not None:  # the legend entry: one point under the series' first cell
                    plt.scatter(xs[:1], ys[:1], marker=marker, color=color, label=label)
                if xs:
                    plt.scatter(xs, ys, marker=chars, color=color)
        for h in o.get("hlines", ()):
            if np.isfinite(h):
                plt.hline(float(h), color=DIM_COLOR)
        for v in o.get("vlines", ()):
            if np.isfinite(v):
                plt.vline(float(v), color=DIM_COLOR)
        if plan is not None:
            plt.xlim(*plan.xlim)
            plt.ylim(*plan.ylim)
        else:
            if o.get("xlim") is not None:
                plt.xlim(*o["xlim"])
            if o.get("ylim") is not None:
                plt.ylim(*o["ylim"])
            if not series and o.get("xlim") is None:
                plt.xlim(0, 1)
                plt.ylim(0, 1)
        self.builds += 1
        rows: list = []
        try:
            text = build_text(plt, rows)
            self._rows = rows or None
        except Exception:  # plotext can still trip on degenerate ranges; never crash the app
            return Text("(nothing to draw)")
        if plan is not None and not plan.matches(plt.monitor.matrix):
            self._fast_ok = False  # plotext laid the canvas out differently: never guess again
            return self._build(width, height, mono, fast=False)
        return text


@dataclass(frozen=True)
class _Plan:
    """The canvas plotext will lay out: its limits and size in cells (from plotext's own rules)."""

    xlim: tuple[float, float]
    ylim: tuple[float, float]
    col_start: int
    row_start: int
    width: int
    height: int

    def matches(self, matrix: Any) -> bool:
        return (matrix.Cols_canvas == range(self.col_start, self.col_start + self.width)
                and matrix.Rows_canvas == range(self.row_start, self.row_start + self.height))


def _plan(plt: Any, series, opts: dict, width: int, height: int) -> _Plan | None:
    """Where plotext will put the canvas, computed with plotext's own functions, or None.

    The same limits (``get_lim`` over every series and h/v line), the same y labels (their
    width sets the canvas width) and the same bars as plotext's ``build_plot``. A build checks
    the result (:meth:`_Plan.matches`) and falls back to plotext's own drawing if it differs.
    """
    from plotext import _utility as pu

    m = plt.monitor
    if not series or m.xscale[0] != "linear" or m.yscale[0] != "linear" or m.title or m.xlabel[1]:
        return None
    if any(s[2] in pu.hd_symbols and s[2] != "braille" for s in series):
        return None  # other sub-cell markers: plotext's own way
    xs = [v for s in series for v in s[0]] + [float(v) for v in opts.get("vlines", ()) if np.isfinite(v)]
    ys = [v for s in series for v in s[1]] + [float(v) for v in opts.get("hlines", ()) if np.isfinite(v)]
    xlim = tuple(opts["xlim"]) if opts.get("xlim") is not None else tuple(pu.get_lim(xs))
    ylim = tuple(opts["ylim"]) if opts.get("ylim") is not None else tuple(pu.get_lim(ys))
    if not (xlim[0] < xlim[1] and ylim[0] < ylim[1]):
        return None
    ylabels = pu.add_extra_spaces(pu.get_labels(pu.linspace(*ylim, m.yfrequency[0])), "left")
    width_ylabels = pu.max_length(ylabels)
    lowbar = any(v is not None for v in list(m.ylabel) + [m.xlabel[0]])
    w = width - sum(m.yaxes) - width_ylabels
    h = height - sum(m.xaxes) - 1 - lowbar  # one row of x tick labels below
    if w < 2 or h < 2:
        return None
    return _Plan((float(xlim[0]), float(xlim[1])), (float(ylim[0]), float(ylim[1])),
                 width_ylabels + m.yaxes[0], int(lowbar) + 1 + m.xaxes[0], w, h)


def _braille_chars() -> list[str]:
    """plotext's braille character for each 8-bit code (bit ``(3 - row) * 2 + col``, row 0 at the
    bottom): its own table, completed by Unicode where the table has a gap."""
    from plotext._dict import braille_codes

    dots = (0x01, 0x08, 0x02, 0x10, 0x04, 0x20, 0x40, 0x80)  # bit order top-left, top-right, ...
    out = []
    for code in range(256):
        bits = tuple((code >> p) & 1 for p in range(8))
        ch = braille_codes.get(bits)
        if ch is None:
            ch = chr(0x2800 + sum(d for p, d in enumerate(dots) if bits[p]))
        out.append(ch)
    return out


_BRAILLE: list[str] = []


def raster_series(s, plan: _Plan) -> tuple[list[float], list[float], list[str]]:
    """One series as plotext would draw it, as one point per cell with that cell's character.

    Replicates plotext's ``get_matrix_data`` (the same function), ``get_line`` (the same
    interpolation and truncation), ``hd_group`` and ``remove_outsiders`` with NumPy; returns
    the cells as data coordinates that plotext maps back to exactly those cells, and their
    characters. plotext then draws a few hundred single points instead of interpolating and
    grouping every sub-cell dot in Python (the largest part of a build).
    """
    from plotext import _utility as pu

    x, y, marker, _color, _label, lines = s
    braille = marker == "braille"
    xf, yf = (2, 4) if braille else (1, 1)
    px = np.asarray(pu.get_matrix_data(x, plan.xlim, plan.width * xf), dtype=np.int64)
    py = np.asarray(pu.get_matrix_data(y, plan.ylim, plan.height * yf), dtype=np.int64)
    if lines and px.shape[0] > 1:
        x0, y0 = px[:-1], py[:-1]
        dx, dy = px[1:] - x0, py[1:] - y0
        counts = np.maximum(np.abs(dx), np.abs(dy))  # points per segment, its last one dropped
        seg = np.repeat(np.arange(counts.shape[0]), counts)
        i = np.arange(seg.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
        div = counts[seg].astype(float)
        # plotext's linspace: lower + i * ((upper - lower) / (length - 1)), then int()
        qx = np.trunc(x0[seg] + i * (dx[seg] / div)).astype(np.int64)
        qy = np.trunc(y0[seg] + i * (dy[seg] / div)).astype(np.int64)
        px = np.append(qx, px[-1])
        py = np.append(qy, py[-1])
    cx, cy = px // xf, py // yf
    inside = (cx >= 0) & (cx < plan.width) & (cy >= 0) & (cy < plan.height)
    cx, cy, px, py = cx[inside], cy[inside], px[inside], py[inside]
    if cx.shape[0] == 0:
        return [], [], []
    key = cy * plan.width + cx
    if braille:
        if not _BRAILLE:
            _BRAILLE.extend(_braille_chars())
        bits = np.left_shift(1, (3 - py % 4) * 2 + px % 2)
        order = np.argsort(key, kind="stable")
        key, bits = key[order], bits[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        codes = np.bitwise_or.reduceat(bits, starts)
        cells = key[starts]
        chars = [_BRAILLE[c] for c in codes.tolist()]
    else:
        cells = np.unique(key)
        ch = pu.marker_codes.get(marker, marker)[0] if marker not in pu.hd_symbols else marker
        chars = [ch] * cells.shape[0]
    (x0, x1), (y0, y1) = plan.xlim, plan.ylim
    col, row = cells % plan.width, cells // plan.width
    vx = (x0 + col * ((x1 - x0) / (plan.width - 1))).tolist()
    vy = (y0 + row * ((y1 - y0) / (plan.height - 1))).tolist()
    return vx, vy, chars


def build_text(plt: Any, rows_out: list | None = None) -> Text:
    """Build a plotext figure straight into a Rich Text.

    plotext's ``build()`` turns its character and colour matrices into an ANSI string (~14% of a
    build) that then has to be parsed back; reading the matrices skips both. Same characters,
    same foreground colours as :func:`ansi_to_text` of ``build()`` (backgrounds and styles are
    dropped there too). Falls back to ``build()`` on a plotext without these internals.
    """
    if not (hasattr(plt, "_set_sizes") and hasattr(plt, "_build_matrix")):  # pragma: no cover
        return ansi_to_text(plt.build())
    plt._set_sizes()
    plt._build_matrix()
    matrix = plt.monitor.matrix
    return matrix_to_text(matrix.marker, matrix.fullground, rows_out)


def matrix_to_text(markers: list[list[str]], colours: list[list[Any]], rows_out: list | None = None) -> Text:
    """plotext's matrices (row 0 at the bottom) as Text: one span per run of one colour."""
    plain: list[str] = []
    spans: list[Span] = []
    rows: list[tuple] = []
    pos = 0
    for chars, fgs in zip(reversed(markers), reversed(colours)):
        n = len(chars)
        start = 0
        runs = []
        while start < n:
            fg = fgs[start]
            end = start + 1
            while end < n and fgs[end] == fg:
                end += 1
            style = _colour_style(fg)
            if style is not None:
                spans.append(Span(pos + start, pos + end, style))
                runs.append((start, end, style))
            start = end
        line = "".join(chars)
        plain.append(line)
        rows.append((line, tuple(runs)))
        pos += n + 1
    text = Text("\n".join(plain), no_wrap=True, overflow="crop")
    text.spans = spans
    if rows_out is not None:
        rows_out.extend(rows)
    return text


_COLOUR_STYLES: dict[Any, Style | None] = {}


def _colour_style(fg: Any) -> Style | None:
    """A plotext colour (name, 0-255 or an RGB tuple) as a Rich foreground style, cached."""
    key = tuple(fg) if isinstance(fg, list) else fg
    try:
        return _COLOUR_STYLES[key]
    except KeyError:
        pass
    from plotext import _utility as pu

    ansi = pu.colors_to_ansi(fg, pu.no_color, pu.no_color) if fg != pu.no_color else ""
    m = _SGR.search(ansi)
    style = _fg_style(m.group(1)) if m else None
    _COLOUR_STYLES[key] = style
    return style


def refresh_changed_rows(widget: Widget) -> None:
    """Rebuild now and repaint only the rows that changed (fewer bytes to the terminal).

    A live chart often changes a few rows per frame (a new point, a tick label); a whole-widget
    refresh would resend every row with all of its colour codes. Falls back to a full refresh
    before the first layout, on a resize and whenever rows cannot be compared.
    """
    old = getattr(widget, "_cache_rows", None)
    old_size = getattr(widget, "_cache_size", None)
    size = widget.size
    if old is None or not size.width or not size.height or old_size != (size.width, size.height) \
            or not widget.is_mounted:
        widget.refresh()
        return
    widget.render()
    new = getattr(widget, "_cache_rows", None)
    if new is None or len(new) != len(old):
        widget.refresh()
        return
    y = 0
    n = len(new)
    while y < n:
        if new[y] == old[y]:
            y += 1
            continue
        start = y
        while y < n and new[y] != old[y]:
            y += 1
        widget.refresh(Region(0, start, size.width, y - start))


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


class Landscape(RowStrips, Widget):
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
        refresh_changed_rows(self)

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
            self._cache_rows = None
            return self._cache
        self.builds += 1
        self._compute_bands(width, height)
        grid = [row[:] for row in self._bands]
        colour_index = 0
        mono = bool(getattr(self.app, "no_color", False))
        live_index = 0
        for p in sorted(self._paths, key=lambda p: not p.dim):
            if p.dim:
                color, dot = "grey50", "∘"
            else:
                # without colour, runs differ by their mark (PATH_MARKS, shown in the legend)
                dot = PATH_MARKS[live_index % len(PATH_MARKS)] if mono else "•"
                live_index += 1
                if p.color == "auto":
                    color = _RICH_PALETTE[colour_index % len(_RICH_PALETTE)]
                    colour_index += 1
                else:
                    color = p.color
            x, y = decimate(p.w0, p.w1, 4 * width)
            if x.shape[0] == 0:
                continue
            cx, cy = self._cells(x, y, width, height)
            cx, cy = _densify(cx, cy, width, height)
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
        self._cache_rows, self._cache_size = [_grid_row(row) for row in grid], (width, height)
        return text


#: a live path's mark per run when there is no colour (none of them is a contour character)
PATH_MARKS = ("•", "×", "▪", "◆")

_RICH_PALETTE = ("bright_cyan", "dark_orange", "bright_green", "bright_magenta")


def _grid_row(row: list[tuple[str, str | None]]) -> tuple[str, tuple]:
    """A landscape row as ``(line, runs)``: its characters and one run per style."""
    runs = []
    start = 0
    for i in range(1, len(row) + 1):
        if i == len(row) or row[i][1] != row[start][1]:
            if row[start][1] is not None:
                runs.append((start, i, row[start][1]))
            start = i
    return "".join(ch for ch, _ in row), tuple(runs)


def _densify(cx: np.ndarray, cy: np.ndarray, width: int | None = None, height: int | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Fill the cells between consecutive points so a path reads as a line, not dots.

    With the canvas size, only steps between two points inside it are filled: a diverged run's
    points outside the bounds are dropped, never drawn as a line along the edge or across.
    """
    ok = np.isfinite(cx) & np.isfinite(cy)
    if width is not None and height is not None:
        ok &= (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
    if cx.shape[0] < 2:
        return cx[ok], cy[ok]
    pair = ok[:-1] & ok[1:]  # a segment is filled only when both its ends are kept
    cx, cy = np.where(ok, cx, 0.0), np.where(ok, cy, 0.0)
    gaps = np.maximum(np.abs(np.diff(cx)), np.abs(np.diff(cy))).astype(int)
    gaps = np.minimum(gaps, 400)
    reps = np.where(pair, np.maximum(gaps, 1), 0)
    if reps.sum() >= 20000:
        return cx[ok], cy[ok]
    t = np.concatenate([np.arange(r) / r for r in reps.tolist()]) if reps.sum() else np.zeros(0)
    idx = np.repeat(np.arange(cx.shape[0] - 1), reps)
    xs = cx[idx] + (cx[idx + 1] - cx[idx]) * t
    ys = cy[idx] + (cy[idx + 1] - cy[idx]) * t
    xs, ys = np.floor(xs + 0.5), np.floor(ys + 0.5)
    # the single points no segment covers (a lone point inside between two outside)
    return np.concatenate([xs, cx[ok]]), np.concatenate([ys, cy[ok]])
