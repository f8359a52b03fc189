"""The landscape: the loss over the problem's bounds as filled bands, contours and trajectories.

A :class:`~.heatmap.Heatmap` of log10(L − L*) at the widget's own resolution, in nine bands from
the 1st to the 99th percentile of the grid, low to high: in colour each band is filled with its
colour (:data:`BAND_COLORS`, dark to light) and its edges carry the band's character as contour
lines; without colour every cell shows its band's character (:data:`BAND_CHARS`, sparse to
dense), so the bands read in monochrome too. The title carries the key (:func:`band_key`). The
trajectories, the start, the current point and w* are marks on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from textual.message import Message

from .heatmap import PALETTE, RAMP, Heatmap, Mark, key_markup
from .line import _fingerprint, decimate

#: the bands' characters, low loss to high (distinct without colour), and their colours
BAND_CHARS = RAMP
BAND_COLORS = PALETTE
#: a live path's mark per run when there is no colour (none of them is a band character)
#: the start-point cursor (a glyph the bands' ramp never uses)
CURSOR_MARK = "⊕"
PATH_MARKS = ("•", "×", "▪", "◆")
_RICH_PALETTE = ("bright_cyan", "dark_orange", "bright_green", "bright_magenta")
#: the key's words, longest first (the first that fits the title is shown)
_KEY_FORMS = (("bands log10(L−L*):", "low"), ("log10(L−L*)", "low"), ("", "low"))


def band_key(width: int) -> tuple[str, str]:
    """The bands' key in at most ``width`` cells, as (plain text, markup with each band
    character on its colour); ("", "") when none fits."""
    for words, low in _KEY_FORMS:
        plain = (f"{words} " if words else "") + f"{low} {BAND_CHARS} high"
        if len(plain) <= width:
            return plain, key_markup(BAND_CHARS, BAND_COLORS, low, "high", width, words)
    return "", ""


@dataclass(frozen=True)
class Path:
    """One trajectory on the landscape: w0 and w1 over the steps."""

    w0: np.ndarray
    w1: np.ndarray
    label: str = ""
    color: str = "auto"
    dim: bool = False


class Landscape(Heatmap):
    """The loss over the problem's bounds as filled bands, trajectories on top, ★ at w*.

    ``set_problem`` gives the loss on a grid (evaluated once per problem and size, cached);
    ``show`` redraws the paths only when they changed. One character per cell: a path cell
    ``•`` (ghost ``∘``), the current point ``●``, the start ``○``, the optimum ``★``. The title
    ends with the bands' key where it fits.
    """

    def __init__(self, title: str = "", *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(title, ramp=BAND_CHARS, palette=BAND_COLORS, name=name, id=id, classes=classes)
        self._base_title = title
        self._problem_key: object = None
        self._loss_grid: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
        self._bounds = ((0.0, 1.0), (0.0, 1.0))
        self._cursor: tuple[float, float] | None = None
        self._star: tuple[float, float] | None = None
        self._loss_star = 0.0
        self._paths: tuple[Path, ...] = ()
        self._paths_key: object = None
        self._z_key: object = None
        self._z: np.ndarray | None = None

    def on_resize(self) -> None:
        """The title with the bands' key: after the whole title where it fits, else after the
        title's first word (the key matters more than the rest), else the title alone."""
        room = self.size.width - 6
        title = self._base_title
        for head in (self._base_title, self._base_title.split("  ")[0].split(" ")[0]):
            _plain, key = band_key(room - len(head) - 2)
            if key:
                title = f"{head}  {key}" if head else key
                break
        if title != self.border_title:
            self.border_title = title

    def set_problem(self, key: object, loss_grid: Callable[[np.ndarray, np.ndarray], np.ndarray],
                    bounds, w_star, loss_star: float = 0.0) -> None:
        if key == self._problem_key:
            return
        self._problem_key = key
        self._loss_grid = loss_grid
        self._bounds = (tuple(map(float, bounds[0])), tuple(map(float, bounds[1])))
        self._star = (float(w_star[0]), float(w_star[1]))
        self._loss_star = float(loss_star)
        self.set_values(None, key=("problem", key))

    def set_cursor(self, point: tuple[float, float] | None) -> None:
        """:data:`CURSOR_MARK` at ``point`` (choosing a start point), or none."""
        if point != self._cursor:
            self._cursor = point
            self.marks_changed(("cursor", point, self._paths_key))

    def point_at(self, x: int, y: int) -> tuple[float, float] | None:
        """The problem's coordinates at the centre of content cell (``x``, ``y``)."""
        width, height = self.size.width, self.size.height
        if not (0 <= x < width and 0 <= y < height) or width == 0 or height == 0:
            return None
        (x0, x1), (y0, y1) = self._bounds
        return x0 + (x + 0.5) / width * (x1 - x0), y1 - (y + 0.5) / height * (y1 - y0)

    @property
    def bounds(self) -> tuple[tuple[float, float], tuple[float, float]]:
        return self._bounds

    class Clicked(Message):
        """A click on the landscape, at the problem's coordinates (``w0``, ``w1``)."""

        def __init__(self, w0: float, w1: float) -> None:
            self.w0, self.w1 = w0, w1
            super().__init__()

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and (point := self.point_at(offset.x, offset.y)) is not None:
            self.post_message(self.Clicked(*point))

    def show(self, paths: Sequence[Path], key: object = None) -> None:
        paths = tuple(paths)
        pkey = (tuple((_fingerprint(p.w0), _fingerprint(p.w1), p.label, p.color, p.dim) for p in paths), key)
        if pkey == self._paths_key:
            return
        self._paths_key = pkey
        self._paths = paths
        self.marks_changed(pkey)

    # -- the heatmap's hooks ----------------------------------------------------------------------
    def grid_values(self, width: int, height: int) -> np.ndarray | None:
        """log10(L − L*) at the centre of every terminal cell (cached per problem and size)."""
        if self._loss_grid is None:
            return None
        key = (self._problem_key, width, height)
        if key != self._z_key:
            (x0, x1), (y0, y1) = self._bounds
            xs = x0 + (np.arange(width) + 0.5) / width * (x1 - x0)
            ys = y1 - (np.arange(height) + 0.5) / height * (y1 - y0)
            W0, W1 = np.meshgrid(xs, ys)
            with np.errstate(all="ignore"):
                z = np.asarray(self._loss_grid(W0, W1), dtype=float) - self._loss_star
                z = np.log10(np.maximum(z, 1e-300))
            self._z_key, self._z = key, z
        return self._z

    def _cells_of(self, w0: np.ndarray, w1: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        (x0, x1), (y0, y1) = self._bounds
        cx = np.floor((np.asarray(w0, float) - x0) / (x1 - x0) * width)
        cy = np.floor((y1 - np.asarray(w1, float)) / (y1 - y0) * height)
        return cx, cy

    def marks(self, width: int, height: int) -> list[Mark]:
        out: list[Mark] = []
        mono = self.mono()
        colour_index = 0
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
            cx, cy = self._cells_of(x, y, width, height)
            cx, cy = _densify(cx, cy, width, height)
            inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
            # one mark per cell (a path's marks are all alike; thousands of points share cells)
            cells = np.unique(cy[inside].astype(np.int64) * width + cx[inside].astype(np.int64))
            out.extend(Mark(i, j, dot, color) for i, j in zip((cells // width).tolist(), (cells % width).tolist()))
            if not p.dim:
                for (px, py), mark in (((x[0], y[0]), "○"), ((x[-1], y[-1]), "●")):
                    c0, c1 = self._cells_of(np.array([px]), np.array([py]), width, height)
                    if 0 <= c0[0] < width and 0 <= c1[0] < height:
                        out.append(Mark(int(c1[0]), int(c0[0]), mark, color))
        if self._star is not None:
            c0, c1 = self._cells_of(np.array([self._star[0]]), np.array([self._star[1]]), width, height)
            if 0 <= c0[0] < width and 0 <= c1[0] < height:
                out.append(Mark(int(c1[0]), int(c0[0]), "★", "bold yellow"))
        if self._cursor is not None:
            c0, c1 = self._cells_of(np.array([self._cursor[0]]), np.array([self._cursor[1]]), width, height)
            if 0 <= c0[0] < width and 0 <= c1[0] < height:
                out.append(Mark(int(c1[0]), int(c0[0]), CURSOR_MARK, "bold magenta"))
        return out


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
    idx = np.repeat(np.arange(cx.shape[0] - 1), reps)
    # i / r for i in 0..r-1 of each segment (r = its repeats), in one pass
    t = (np.arange(idx.shape[0]) - np.repeat(np.cumsum(reps) - reps, reps)) / np.repeat(reps, reps)
    xs = cx[idx] + (cx[idx + 1] - cx[idx]) * t
    ys = cy[idx] + (cy[idx + 1] - cy[idx]) * t
    xs, ys = np.floor(xs + 0.5), np.floor(ys + 0.5)
    # the single points no segment covers (a lone point inside between two outside)
    return np.concatenate([xs, cx[ok]]), np.concatenate([ys, cy[ok]])
