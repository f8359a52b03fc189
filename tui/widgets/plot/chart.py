"""The :class:`Chart` widget: a plotext chart that is cheap to keep live.

Measured on a 2-core machine: one plotext build costs ~19 ms at 80x24 and 10k raw points per
series cost 640 ms, so a chart decimates every line to the widget's columns, skips non-finite
values (plotext raises on them) and rebuilds only when what it would draw changed. Log scales
are the caller's job (pass log10 values): plotext's ``yscale('log')`` re-logs its stored data at
every build and raises on zero or negative values.

The chart sets its own limits and ticks (:mod:`.axes`: round, compact, whole numbers on count
axes), keeps a diverged line out of the limits (:func:`.line.diverged`: clipped to the plot
area, its label marked) and puts its legend in the bottom border (:mod:`.legend`), never over
the data.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np
from rich.text import Text
from textual_plotext import PlotextPlot

from . import fastpath
from .axes import is_integer_axis, max_ticks, ticks
from .legend import glyph, legend_markup, markup_colour
from .line import Line, _clip_x, _fingerprint, _finite_range, data_limits, decimate, diverged, stable_limits
from .strips import RowStrips, refresh_changed_rows

#: distinct markers for monochrome terminals (NO_COLOR): series stay apart by shape
MONO_MARKERS = ("braille", "dot", "x", "+", "o", "*", "#", "@")
#: monochrome markers of ghosts and other dimmed lines (quieter than the live ones)
DIM_MONO_MARKERS = ("·", ":", "'", "-")
#: plotext colour names, picked in order for ``color="auto"`` (few, distinct, not the ghost's grey)
PALETTE = ("cyan", "orange", "green", "magenta", "yellow", "blue", "red", "white")
DIM_COLOR = "gray"
#: added to the label of a diverged line (clipped at the top, the bottom, or both)
DIVERGED_MARKS = {1: " ↑diverged", -1: " ↓diverged", 0: " ↕diverged"}


def _tuple_or_none(v) -> tuple | None:
    return None if v is None else tuple(float(t) for t in v)


def clip_diverged(line: Line, ylim: tuple[float, float]) -> Line:
    """``line`` with its values clipped to ``ylim`` and its label marked with the direction."""
    y = np.asarray(line.y, dtype=float)
    with np.errstate(invalid="ignore"):
        up, down = bool(np.any(y > ylim[1])), bool(np.any(y < ylim[0]))
    if not (up or down):
        return line
    label = line.label + DIVERGED_MARKS[0 if up and down else 1 if up else -1] if line.label else ""
    return replace(line, y=np.clip(y, ylim[0], ylim[1]), label=label, clip=False)


class Chart(RowStrips, PlotextPlot):
    """A plotext chart that is cheap to keep live.

    ``show()`` replaces what is drawn. It decimates every line to about 2x the widget's width
    in columns (min/max per column bucket so spikes survive), drops non-finite values, and
    only rebuilds the plot when the data or size actually changed (a cheap key: lengths, a few
    values, size, plus an optional caller-given ``key``). The title goes in the widget's border
    title, the legend in its border subtitle (both styled in descent.tcss).
    ``integer_x``: ticks at whole numbers only (None: from ``xlabel``, e.g. step, epoch).
    """

    def __init__(self, title: str = "", *, xlabel: str = "", ylabel: str = "", stable_axes: bool = False,
                 integer_x: bool | None = None, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.integer_x = integer_x
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
        self._rows: list | None = None
        self._legend_key: object = None
        #: number of plotext builds so far (tests and the benchmark read it)
        self.builds = 0
        #: False once plotext laid a canvas out otherwise than :func:`fastpath.plan` said
        self._fast_ok = True
        #: draw through :mod:`.fastpath` (False: plain plotext, the same picture, slower)
        self.use_fast_path = True

    # -- public -----------------------------------------------------------------------------------
    def show(self, lines: Sequence[Line], *, xlim=None, ylim=None, hlines=(), vlines=(),
             title: str | None = None, key: object = None) -> None:
        """Replace what is drawn; a no-op when nothing would change."""
        lines = tuple(lines)
        out = diverged(lines, hlines) if ylim is None else [ln.clip is True for ln in lines]
        kept = [ln for ln, d in zip(lines, out) if not d] or list(lines)
        if lines:
            if self.stable_axes and (xlim is None or ylim is None):
                xlim, ylim = self._stable_limits(lines, kept, xlim, ylim, hlines)
            if self.stable_axes and xlim is not None:
                lines = tuple(_clip_x(ln, xlim) if ln.dim else ln for ln in lines)
            if xlim is None:
                xlim = data_limits([ln.x for ln in lines] + [np.asarray(vlines, dtype=float)])
            if ylim is None:
                ylim = data_limits([ln.y for ln in kept] + [np.asarray(hlines, dtype=float)])
            if any(out):
                lines = tuple(clip_diverged(ln, ylim) if d else ln for ln, d in zip(lines, out))
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
        self._update_legend()
        refresh_changed_rows(self)

    def clear(self) -> None:
        self.show(())

    @property
    def lines(self) -> tuple[Line, ...]:
        return self._lines

    @property
    def limits(self) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
        """The x and y limits drawn (given, or from the lines that did not diverge)."""
        return _tuple_or_none(self._opts.get("xlim")), _tuple_or_none(self._opts.get("ylim"))

    @property
    def legend(self) -> str:
        """The legend shown in the bottom border (markup; "" when there is none or no room)."""
        return str(self.border_subtitle or "")

    def on_resize(self) -> None:
        self._update_legend()

    # -- limits, looks, legend --------------------------------------------------------------------
    def _stable_limits(self, lines, kept, xlim, ylim, hlines):
        """x from the live (not dimmed) lines: a ghost is context, not the scale; y from what
        shows in that x range, of the lines that did not diverge."""
        live = [ln for ln in lines if not ln.dim and np.asarray(ln.x).size] or list(lines)
        data_x = _finite_range([ln.x for ln in live])
        if data_x is None:
            return xlim, ylim
        old_x, old_y = self._stable if self._stable is not None else (None, None)
        new_x = xlim if xlim is not None else stable_limits(data_x, old_x, from_zero=data_x[0] >= 0)
        shown = [_clip_x(ln, new_x) if ln.dim else ln for ln in kept]
        data_y = _finite_range([ln.y for ln in shown] + [np.asarray(hlines, dtype=float)])
        if data_y is None:
            return xlim, ylim
        new_y = ylim if ylim is not None else stable_limits(data_y, old_y)
        self._stable = (tuple(new_x), tuple(new_y))
        return new_x, new_y

    def _mono(self) -> bool:
        try:
            return bool(getattr(self.app, "no_color", False))
        except Exception:  # pragma: no cover - not in an app
            return False

    def _looks(self, mono: bool) -> list[tuple[Line, Any, str]]:
        """(line, colour, marker) in drawing order: ghosts and dimmed lines first, so the live
        series are drawn over them."""
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
            out.append((ln, color, marker))
        return out

    def _series(self, width: int, mono: bool) -> list[tuple[list[float], list[float], str, Any, str | None, bool]]:
        """What to plot, in drawing order: (x, y, marker, colour, label, joined by lines)."""
        out = []
        for ln, color, marker in self._looks(mono):
            x, y = decimate(ln.x, ln.y, max(width // 2, 8))  # min+max per 2 columns
            if x.shape[0]:
                out.append((x.tolist(), y.tolist(), marker, color, ln.label or None, ln.kind != "scatter"))
        return out

    def _update_legend(self) -> None:
        width = self.size.width
        mono = self._mono()
        key = (tuple((ln.label, ln.color, ln.marker, ln.dim, ln.kind) for ln in self._lines), width, mono)
        if key == self._legend_key:
            return
        self._legend_key = key
        looks = {id(ln): (c, m) for ln, c, m in self._looks(mono)}
        entries = []
        for ln in self._lines:
            if ln.label:
                colour, marker = looks[id(ln)]
                style = fastpath.colour_style(colour)
                entries.append((glyph(marker, ln.kind != "scatter", mono), ln.label,
                                markup_colour(style.color if style is not None else None)))
        text = legend_markup(entries, width - 4) if width else ""
        if text != (self.border_subtitle or ""):  # setting it repaints the whole widget
            self.border_subtitle = text

    # -- rendering --------------------------------------------------------------------------------
    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        mono = self._mono()
        cache_key = (self._data_key, width, height, mono, self.app.theme, self.theme, self.use_fast_path)
        if cache_key == self._cache_key and self._cache is not None:
            return self._cache
        self._rows = None
        if width < 8 or height < 4 or not self._lines:
            text = Text("")  # nothing to plot yet: skip a ~15 ms plotext build of an empty frame
        else:
            text = self._build(width, height, mono, fast=self.use_fast_path)
        self._cache_key, self._cache = cache_key, text
        #: a comparable key per row of the cached Text (None: rows unknown) and its size
        self._cache_rows, self._cache_size = self._rows, (width, height)
        return text

    def _ticks(self, plt: Any, xlim, ylim, width: int, height: int, lowbar: bool) -> list[str]:
        """Set round, compact ticks on both axes; returns the y labels (their width sets the
        canvas width)."""
        rows = height - 3 - lowbar  # the canvas: below it an axis and a row of x labels
        ys, ylabels = ticks(ylim[0], ylim[1], max_ticks(rows, 3, 7))
        cols = width - 2 - max(len(s) for s in ylabels)
        integer = self.integer_x if self.integer_x is not None else is_integer_axis(self.xlabel)
        xs, xlabels = ticks(xlim[0], xlim[1], max_ticks(cols, 10, 6), integer)
        plt.xticks(xs, xlabels)
        plt.yticks(ys, ylabels)
        return ylabels

    def _build(self, width: int, height: int, mono: bool, fast: bool = True) -> Text:
        """Build the chart: plotext draws frame, ticks, labels and lines; the series are
        rasterised by :mod:`.fastpath` unless ``fast`` is off or it does not apply."""
        plt = fastpath.reset_figure(self.plt, width, height)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        lowbar = False
        if self.xlabel and height >= 14:
            plt.xlabel(self.xlabel)
            lowbar = True
        if self.ylabel and width >= 60 and height >= 14:
            plt.ylabel(self.ylabel)
            lowbar = True
        o = self._opts
        series = self._series(width, mono)
        xlim = o.get("xlim") or (0.0, 1.0)
        ylim = o.get("ylim") or (0.0, 1.0)
        ylabels = self._ticks(plt, xlim, ylim, width, height, lowbar)
        plan = fastpath.plan(plt, series, xlim, ylim, ylabels, width, height) if fast and self._fast_ok else None
        cells = []
        if plan is not None:
            rastered = [fastpath.raster_cells(s, plan) for s in series]
            if not any(r[2] for r in rastered):
                plan = None  # nothing inside: plotext's own way (it lays out an empty plot otherwise)
        if plan is None:
            for x, y, marker, color, _label, joined in series:
                draw = plt.plot if joined else plt.scatter
                draw(x, y, marker=marker, color=color)
        else:
            (x0, x1), (y0, y1), (w, h) = plan.xlim, plan.ylim, (plan.width, plan.height)
            for (_x, _y, _marker, color, _label, _joined), (cols, rows, chars) in zip(series, rastered):
                if chars:  # plotext draws the first cell (its layout, the signal's colour), we the rest
                    plt.scatter([x0 + float(cols[0]) * ((x1 - x0) / (w - 1))],
                                [y0 + float(rows[0]) * ((y1 - y0) / (h - 1))], marker=chars[:1], color=color)
                    cells.append((cols, rows, chars))
        for h in o.get("hlines", ()):
            if np.isfinite(h):
                plt.hline(float(h), color=DIM_COLOR)
        for v in o.get("vlines", ()):
            if np.isfinite(v):
                plt.vline(float(v), color=DIM_COLOR)
        plt.xlim(*xlim)
        plt.ylim(*ylim)
        self.builds += 1
        rows: list = []
        try:
            text = fastpath.build_text(plt, rows, cells)
            self._rows = rows or None
        except Exception:  # plotext can still trip on degenerate ranges; never crash the app
            return Text("(nothing to draw)")
        if plan is not None and not plan.matches(fastpath.canvas(plt)):
            self._fast_ok = False  # plotext laid the canvas out differently: never guess again
            return self._build(width, height, mono, fast=False)
        return text
