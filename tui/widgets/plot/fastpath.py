"""The only module that touches plotext internals: a faster way to the same picture.

* :func:`reset_figure` empties the figure in place (plotext's ``clear_figure()`` re-creates it
  and deep-copies a monitor: ~7% of a build);
* :func:`plan` says where plotext will put the canvas, :func:`raster_cells` rasterises a series
  as plotext would (the cells it covers, each with its character) so nothing interpolates every
  sub-cell dot in Python;
* :func:`build_text` reads plotext's character and colour matrices straight into a Rich Text
  (skipping ``build()``'s ANSI string and its parsing back), after writing the rastered cells
  into plotext's canvas itself.

Each falls back to plain plotext on a plotext without these internals, and a build checks the
plan against the canvas plotext laid out (:meth:`Plan.matches`); the chart tests compare both
ways cell by cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Span, Text


def reset_figure(plt: Any, width: int, height: int) -> Any:
    """``plt`` emptied for a new build of ``width`` x ``height`` (the same blank plot as
    ``clear_figure()``, by resetting the monitor's data, axes and labels in place)."""
    monitor = getattr(plt, "monitor", None)
    if monitor is None or not all(hasattr(monitor, a) for a in ("labels_init", "axes_init", "data_init")):
        plt.clear_figure()  # pragma: no cover - another plotext version
    else:
        monitor.labels_init()
        monitor.axes_init()
        monitor.data_init()
    plt.plotsize(width, height)
    if hasattr(plt, "_set_size"):
        plt._set_size(width, height)
    return plt


@dataclass(frozen=True)
class Plan:
    """The canvas plotext will lay out: its limits and size in cells (from plotext's own rules)."""

    xlim: tuple[float, float]
    ylim: tuple[float, float]
    col_start: int
    row_start: int
    width: int
    height: int

    def matches(self, matrix: Any) -> bool:
        return matrix is not None and (matrix.Cols_canvas == range(self.col_start, self.col_start + self.width)
                and matrix.Rows_canvas == range(self.row_start, self.row_start + self.height))


def plan(plt: Any, series: Sequence, xlim, ylim, ylabels: Sequence[str], width: int, height: int) -> Plan | None:
    """Where plotext will put the canvas for explicit limits and y tick labels, or None.

    The same arithmetic as plotext's ``build_plot``: the y labels' width sets the canvas width,
    one row of x tick labels, the axes and the lower bar (x/y label) its height.
    """
    from plotext import _utility as pu

    m = getattr(plt, "monitor", None)
    if m is None or not hasattr(pu, "hd_symbols"):
        return None  # pragma: no cover - another plotext version
    if not series or m.xscale[0] != "linear" or m.yscale[0] != "linear" or m.title or m.xlabel[1]:
        return None
    if any(s[2] in pu.hd_symbols and s[2] != "braille" for s in series):
        return None  # other sub-cell markers: plotext's own way
    if not (xlim[0] < xlim[1] and ylim[0] < ylim[1]):
        return None
    lowbar = any(v is not None for v in list(m.ylabel) + [m.xlabel[0]])
    w = width - sum(m.yaxes) - max((len(s) for s in ylabels), default=0)
    h = height - sum(m.xaxes) - 1 - lowbar  # one row of x tick labels below
    if w < 2 or h < 2:
        return None
    return Plan((float(xlim[0]), float(xlim[1])), (float(ylim[0]), float(ylim[1])),
                width - w - m.yaxes[1], int(lowbar) + 1 + m.xaxes[0], w, h)


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


def raster_cells(s, p: Plan) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One series ``(x, y, marker, colour, label, joined)`` as plotext would draw it: the canvas
    cells it covers (columns, and rows from the bottom) and each cell's character.

    Replicates plotext's ``get_matrix_data`` (the same function), ``get_line`` (the same
    interpolation and truncation), ``hd_group`` and ``remove_outsiders`` with NumPy; returns
    the cells and their characters.
    """
    from plotext import _utility as pu

    x, y, marker, _color, _label, lines = s
    braille = marker == "braille"
    xf, yf = (2, 4) if braille else (1, 1)
    px = np.asarray(pu.get_matrix_data(x, p.xlim, p.width * xf), dtype=np.int64)
    py = np.asarray(pu.get_matrix_data(y, p.ylim, p.height * yf), dtype=np.int64)
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
    inside = (cx >= 0) & (cx < p.width) & (cy >= 0) & (cy < p.height)
    cx, cy, px, py = cx[inside], cy[inside], px[inside], py[inside]
    if cx.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), []
    key = cy * p.width + cx
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
    return cells % p.width, cells // p.width, chars


def build_text(plt: Any, rows_out: list | None = None, cells: Sequence | None = None) -> Text:
    """Build a plotext figure straight into a Rich Text: the same characters and foreground
    colours as :func:`ansi_to_text` of ``build()`` (backgrounds dropped there too).

    ``cells`` (one ``(columns, rows, chars)`` per plotted signal, in order, from
    :func:`raster_cells`) are written into the canvas after plotext's build, as plotext writes a
    signal's points (its stored colour and style), each signal over the ones before: the
    caller plots only the first cell of each signal, so plotext lays the canvas out and keeps
    the signal's colour, and the thousands of other cells skip plotext's per-point Python."""
    if not (hasattr(plt, "_set_sizes") and hasattr(plt, "_build_matrix")):  # pragma: no cover
        return ansi_to_text(plt.build(), rows_out)
    plt._set_sizes()
    plt._build_matrix()
    matrix = plt.monitor.matrix
    if cells:
        _write_cells(plt.monitor, matrix, cells)
    return matrix_to_text(matrix.marker, matrix.fullground, rows_out)


def _write_cells(monitor: Any, matrix: Any, cells: Sequence) -> None:
    col0, row0 = matrix.Cols_canvas.start, matrix.Rows_canvas.start
    marker, fullground, style = matrix.marker, matrix.fullground, matrix.style
    for signal, (cols, rows, chars) in enumerate(cells):
        fg, st = monitor.color[signal][0], monitor.style[signal][0]
        for c, r, ch in zip((cols + col0).tolist(), (rows + row0).tolist(), chars):
            marker[r][c] = ch
            if fg is not None:
                fullground[r][c] = fg
            if st is not None:
                style[r][c] = st


def canvas(plt: Any) -> Any:
    """plotext's matrix of the last build (for :meth:`Plan.matches`), or None."""
    return getattr(getattr(plt, "monitor", None), "matrix", None)


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


def colour_style(fg: Any) -> Style | None:
    """A plotext colour (name, 0-255 or RGB) as the Rich style the chart draws it in."""
    return _colour_style(fg)


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


def ansi_to_text(ansi: str, rows_out: list | None = None) -> Text:
    """plotext's output as a Rich Text, ~5x faster than ``Text.from_ansi``.

    plotext writes only foreground/background SGR codes and resets. Backgrounds are dropped on
    purpose (the widget's own background shows through): half the colour codes, fewer bytes to
    the terminal, and the chart follows the app theme. ``rows_out`` is left empty (rows unknown).
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
