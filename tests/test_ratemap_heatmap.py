"""The heatmap widget: bands, contours, the NO_COLOR ramp, blocks, marks, the key."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import App, ComposeResult

from tui.widgets.plot.heatmap import PALETTE, RAMP, Heatmap, Mark, bands, contour_edges, key_markup


def test_bands_cut_the_range_evenly_and_mark_missing_values():
    v = np.array([[0.0, 0.5, 1.0, np.nan]])
    b = bands(v, 4, 0.0, 1.0)
    assert b.tolist() == [[0, 2, 3, -1]]  # 1.0 is the top band; NaN is -1
    assert bands(np.full((2, 2), np.nan), 3).tolist() == [[-1, -1], [-1, -1]]


def test_contours_where_the_band_changes():
    b = np.array([[0, 0, 1], [0, 0, 1], [2, 2, 2]])
    e = contour_edges(b)
    assert e.tolist() == [[False, True, False], [True, True, True], [False, False, False]]


def test_block_partitions_the_widget():
    cover = np.zeros((7, 11), dtype=int)
    for i in range(3):
        for j in range(4):
            y0, y1, x0, x1 = Heatmap.block(i, j, (3, 4), 11, 7)
            cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()


def test_key_shows_the_ramp_in_order():
    plain = Text.from_markup(key_markup(RAMP, PALETTE, "low", "high", 80, "bands")).plain
    assert plain == f"bands low {RAMP} high"
    assert Text.from_markup(key_markup(RAMP, PALETTE, "low", "high", 18, "bands")).plain == f"low {RAMP} high"
    assert key_markup(RAMP, PALETTE, "low", "high", 5) == ""


class Marked(Heatmap):
    def marks(self, width, height):
        return [Mark(0, 0, "★", "bold red")]


class One(App):
    CSS = "Heatmap { width: 10; height: 3; }"

    def compose(self) -> ComposeResult:
        yield Marked()


async def _render(mono: bool):
    app = One()
    async with app.run_test(size=(20, 5)) as pilot:
        app.no_color = mono
        view = app.query_one(Marked)
        view.set_values(np.array([[0.0, 1.0], [2.0, 3.0], [4.0, np.nan]]), key="v", lo=0.0, hi=4.0)
        await pilot.pause()
        return view.render()


async def test_no_color_fills_every_cell_with_its_bands_character():
    text = await _render(mono=True)
    rows = text.plain.split("\n")
    n = len(RAMP)
    band = lambda v: RAMP[min(int(v / 4.0 * n), n - 1)]  # noqa: E731
    assert rows[0] == "★" + band(0.0) * 4 + band(1.0) * 5
    assert rows[2] == band(4.0) * 5 + " " * 5  # NaN: no value, blank


async def test_colour_fills_the_bands_and_keeps_them_behind_marks():
    text = await _render(mono=False)
    style_at = {}
    for span in text.spans:
        for i in range(span.start, span.end):
            style_at[i] = str(span.style)
    n = len(RAMP)
    values = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, np.nan]])
    for y in range(3):
        for x in range(10):
            v = values[y, x // 5]
            offset = y * 11 + x  # 10 cells and a newline per row
            if np.isnan(v):
                assert offset not in style_at and text.plain[offset] == " "
            else:  # every cell with a value is filled with its band's colour (marks included)
                assert style_at[offset].endswith(f"on {PALETTE[min(int(v / 4.0 * n), n - 1)]}")
    assert style_at[0] == f"bold red on {PALETTE[0]}" and text.plain[0] == "★"
    assert set(text.plain.replace("\n", "")) <= set(" ★" + RAMP)  # a fill, contours in the ramp
