"""The heatmap: values on a grid as filled colour bands, with a key; marks drawn on top.

One widget for the rate map and the landscape. Values (any grid of floats; NaN = no value) are cut
into ``len(ramp)`` bands between ``lo`` and ``hi`` (default: the 1st and 99th percentiles). In
colour each cell is filled with its band's colour (``palette``), and where the band changes from
the cell to its right or lower neighbour the band's character is drawn on the fill: contour lines.
Without colour (``NO_COLOR``) every cell shows its band's character from the ramp, so the bands
still read; :meth:`Heatmap.key_markup` gives the key either way (``low ·∙:-… high``).

The grid is drawn over the whole widget, each grid cell a block of terminal cells (nearest
neighbour); :meth:`Heatmap.block` says which. A subclass can compute its values at the widget's
own resolution (:meth:`Heatmap.grid_values`, the landscape) and add marks in terminal cells
(:meth:`Heatmap.marks`: paths, the optimum, a cursor). Only public Textual and Rich APIs here (the
row strip cache comes from :mod:`.strips`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from rich.text import Span, Text
from textual.markup import escape
from textual.widget import Widget

from .strips import RowStrips, refresh_changed_rows

#: the default ramp (low to high: sparse to dense, readable in monochrome) and palette (dark to light)
RAMP = ".:-=+*#%@"
PALETTE = ("#1f4e79", "#21618c", "#2874a6", "#2e86c1", "#3498db", "#5dade2", "#85c1e9", "#aed6f1", "#d6eaf8")


@dataclass(frozen=True)
class Mark:
    """A character drawn over the bands at terminal cell (``y``, ``x``), in ``color`` (foreground)."""

    y: int
    x: int
    char: str
    color: str | None = None


def bands(values: np.ndarray, n: int, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Each value's band 0..n-1 between ``lo`` and ``hi`` (default percentiles 1 and 99); -1 for NaN."""
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v)
    if not finite.any():
        return np.full(v.shape, -1, dtype=int)
    lo = float(np.percentile(v[finite], 1)) if lo is None else float(lo)
    hi = float(np.percentile(v[finite], 99)) if hi is None else float(hi)
    with np.errstate(all="ignore"):
        b = np.floor((v - lo) / max(hi - lo, 1e-12) * n)
    b = np.clip(np.where(finite, b, 0), 0, n - 1).astype(int)
    return np.where(finite, b, -1)


def contour_edges(band: np.ndarray) -> np.ndarray:
    """True where a cell's band differs from its right or lower neighbour's (both with values)."""
    edge = np.zeros(band.shape, dtype=bool)
    ok = band >= 0
    edge[:, :-1] |= (band[:, :-1] != band[:, 1:]) & ok[:, :-1] & ok[:, 1:]
    edge[:-1, :] |= (band[:-1, :] != band[1:, :]) & ok[:-1, :] & ok[1:, :]
    return edge


def key_markup(ramp: str, palette: Sequence[str], low: str = "low", high: str = "high", width: int = 80,
               words: str = "") -> str:
    """``[words ]low <ramp> high`` in at most ``width`` cells (each band's character on its colour), or ""."""
    for head in ((words + " ") if words else "", ""):
        plain = f"{head}{low} {ramp} {high}"
        if len(plain) <= width:
            swatches = "".join(f"[{_ink(c)} on {c}]{escape(ch)}[/]" for ch, c in zip(ramp, palette))
            return f"{escape(head)}{escape(low)} {swatches} {escape(high)}"
    return ""


def _contour_ink(palette: Sequence[str], b: int) -> str:
    """The colour of a contour on band ``b``: a band three steps lighter (or darker at the top)."""
    return palette[b + 3] if b + 3 < len(palette) else palette[b - 3]


def _ink(bg: str) -> str:
    """A foreground that reads on ``bg`` (a #rrggbb colour): black on light, white on dark."""
    try:
        r, g, b = (int(bg[i:i + 2], 16) for i in (1, 3, 5))
    except ValueError:
        return "white"
    return "#101010" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#f0f0f0"


class Heatmap(RowStrips, Widget):
    """Values as filled bands (colour) or a character ramp (no colour), with marks on top."""

    def __init__(self, title: str = "", *, ramp: str = RAMP, palette: Sequence[str] = PALETTE,
                 contours: bool = True, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if len(ramp) != len(palette):
            raise ValueError("the ramp and the palette need one entry per band")
        self.border_title = title
        self.ramp, self.palette, self.contours = ramp, tuple(palette), contours
        self._values: np.ndarray | None = None
        self._limits: tuple[float | None, float | None] = (None, None)
        self._values_key: object = None
        self._marks_key: object = None
        self._cache_key: object = None
        self._cache: Text | None = None
        self._base_key: object = None
        self._base_cache: tuple = ()
        self.builds = 0

    # -- data -------------------------------------------------------------------------------------
    def set_values(self, values: np.ndarray | None, key: object = None, lo: float | None = None,
                   hi: float | None = None) -> None:
        """The grid to draw (rows top to bottom); ``key`` identifies it (an unchanged key: no work)."""
        if key is not None and key == self._values_key:
            return
        self._values_key = key if key is not None else object()
        self._values = None if values is None else np.asarray(values, dtype=float)
        self._limits = (lo, hi)
        refresh_changed_rows(self)

    def marks_changed(self, key: object) -> None:
        """Tell the widget its :meth:`marks` changed (``key`` identifies them)."""
        if key == self._marks_key:
            return
        self._marks_key = key
        refresh_changed_rows(self)

    # -- for subclasses ---------------------------------------------------------------------------
    def grid_values(self, width: int, height: int) -> np.ndarray | None:
        """The values to draw (any shape; drawn over the whole widget)."""
        return self._values

    def limits(self) -> tuple[float | None, float | None]:
        return self._limits

    def marks(self, width: int, height: int) -> Sequence[Mark]:
        """Marks over the bands, in terminal cells (none here)."""
        return ()

    def mono(self) -> bool:
        try:
            return bool(getattr(self.app, "no_color", False))
        except Exception:  # pragma: no cover - not in an app
            return False

    @staticmethod
    def block(row: int, col: int, shape: tuple[int, int], width: int, height: int) -> tuple[int, int, int, int]:
        """Terminal cells ``y0:y1, x0:x1`` that grid cell (``row``, ``col``) of a ``shape`` grid covers."""
        rows, cols = shape
        y0, y1 = (row * height) // rows, ((row + 1) * height) // rows
        x0, x1 = (col * width) // cols, ((col + 1) * width) // cols
        return y0, max(y1, y0 + 1), x0, max(x1, x0 + 1)

    def key_markup(self, low: str = "low", high: str = "high", width: int = 80, words: str = "") -> str:
        return key_markup(self.ramp, self.palette, low, high, width, words)

    # -- drawing ----------------------------------------------------------------------------------
    def _cells(self, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Per terminal cell: its band (-1: no value) and whether a contour passes there."""
        values = self.grid_values(width, height)
        if values is None or values.size == 0:
            band = np.full((height, width), -1, dtype=int)
            return band, np.zeros_like(band, dtype=bool)
        lo, hi = self.limits()
        grid_band = bands(values, len(self.ramp), lo, hi)
        rows, cols = grid_band.shape
        ys = np.minimum((np.arange(height) * rows) // height, rows - 1)
        xs = np.minimum((np.arange(width) * cols) // width, cols - 1)
        band = grid_band[ys][:, xs]
        return band, contour_edges(band) if self.contours else np.zeros_like(band, dtype=bool)

    def _base(self, width: int, height: int, mono: bool) -> tuple[np.ndarray, list]:
        """The bands as (character, style) rows, before the marks (cached per data, size, colour)."""
        key = (self._values_key, width, height, mono)
        if self._base_key == key:
            return self._base_cache[0], self._base_cache[1]
        band, edge = self._cells(width, height)
        ramp, palette = self.ramp, self.palette
        grid: list[list[tuple[str, str | None]]] = []
        for brow, erow in zip(band.tolist(), edge.tolist()):
            row: list[tuple[str, str | None]] = []
            for b, e in zip(brow, erow):
                if b < 0:
                    row.append((" ", None))
                elif mono:
                    row.append((ramp[b], None))
                elif e:
                    row.append((ramp[b], f"{_contour_ink(palette, b)} on {palette[b]}"))
                else:
                    row.append((" ", f"on {palette[b]}"))
            grid.append(row)
        self._base_key, self._base_cache = key, (band, grid, [_row(row) for row in grid])
        return band, grid

    def render(self) -> Text:
        width, height = self.size.width, self.size.height
        mono = self.mono()
        key = (self._values_key, self._marks_key, width, height, mono)
        if key == self._cache_key and self._cache is not None:
            return self._cache
        self._cache_key = key
        if width < 2 or height < 1:
            self._cache, self._cache_rows = Text(""), None
            return self._cache
        self.builds += 1
        band, base = self._base(width, height, mono)
        rows = list(self._base_cache[2])  # the rows without marks, made once per data and size
        palette = self.palette
        marked: dict[int, list] = {}
        for m in self.marks(width, height):
            if 0 <= m.y < height and 0 <= m.x < width:
                b = int(band[m.y, m.x])
                style = m.color
                if not mono and b >= 0 and not (m.color and (" on " in m.color or "reverse" in m.color)):
                    style = f"{m.color or _ink(palette[b])} on {palette[b]}"  # the band stays behind
                row = marked.get(m.y)
                if row is None:
                    row = marked[m.y] = base[m.y][:]
                row[m.x] = (m.char, style)
        for y, row in marked.items():
            rows[y] = _row(row)
        # one Text with its spans given whole (appending run by run costs more than the rest)
        spans, offset = [], 0
        for line, runs in rows:
            spans += [Span(offset + a, offset + b, style) for a, b, style in runs]
            offset += len(line) + 1
        text = Text("\n".join(line for line, _ in rows), no_wrap=True, overflow="crop", spans=spans)
        self._cache = text
        self._cache_rows, self._cache_size = rows, (width, height)
        return text


def _row(row: list[tuple[str, str | None]]) -> tuple[str, tuple]:
    """A row as ``(line, runs)``: its characters and one run per style (unstyled cells: none)."""
    runs = []
    start = 0
    for i in range(1, len(row) + 1):
        if i == len(row) or row[i][1] != row[start][1]:
            if row[start][1] is not None:
                runs.append((start, i, row[start][1]))
            start = i
    return "".join(ch for ch, _ in row), tuple(runs)
