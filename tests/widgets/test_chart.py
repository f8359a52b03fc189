"""The Chart and Landscape widgets rendered at a fixed size (public behaviour only)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from rich.text import Text
from textual.app import App

from tui.widgets.plot import BAND_CHARS, Chart, Landscape, Line

STEPS = np.arange(60, dtype=float)
#: three runs converging to 0 (|y| <= 2) and one whose values grow to 3e8
CONVERGING = [Line(STEPS, 2.0 * 0.9 ** STEPS * s, f"rule{i}") for i, s in enumerate((1, -1, 0.5))]
EXPLODING = Line(STEPS, 3e8 ** (STEPS / 59), "exploding")


class Host(App):
    CSS = "Chart, Landscape { width: 1fr; height: 1fr; border: round white; }"

    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self):
        yield self.widget


def render(widget, show, size=(60, 20)):
    """Mount ``widget`` alone at ``size``, call ``show(widget)``, return what it shows."""
    async def go():
        app = Host(widget)
        async with app.run_test(size=size) as pilot:
            show(widget)
            await pilot.pause()
            return widget.render().plain, widget.border_title, widget.border_subtitle, app.no_color
    return asyncio.run(go())


def test_legend_is_outside_the_plot_and_names_every_series():
    chart = Chart("Loss", xlabel="step")
    plain, _title, legend, _ = render(chart, lambda c: c.show(CONVERGING + [Line(STEPS, STEPS / 60, "fourth")]))
    for name in ("rule0", "rule1", "rule2", "fourth"):
        assert name not in plain  # nothing written over the data
        assert name in legend
    assert legend.count("━") == 4  # one colour swatch per series


def test_no_room_drops_the_legend_rather_than_covering_data():
    chart = Chart("Loss")
    lines = [Line(STEPS, STEPS * k, f"a rather long name {k}") for k in range(4)]
    plain, _t, legend, _ = render(chart, lambda c: c.show(lines), size=(20, 10))
    assert not legend and not chart.legend and "name" not in plain


def test_one_exploding_line_does_not_flatten_the_others():
    chart = Chart("w", stable_axes=True)
    plain, *_ = render(chart, lambda c: c.show(CONVERGING + [EXPLODING]))
    _xlim, ylim = chart.limits
    assert -2.0 <= ylim[0] and ylim[1] <= 2.5  # the converging lines fill the plot
    shown = {ln.label: ln for ln in chart.lines}
    exploding = shown["exploding ↑diverged"]
    assert float(np.max(exploding.y)) <= ylim[1]  # clipped to the plot area
    assert [ln.label for ln in chart.lines[:3]] == ["rule0", "rule1", "rule2"]
    assert "e8" not in plain and "diverged" not in plain
    assert "exploding ↑diverged" in chart.legend


def test_clip_marks_a_line_by_hand_and_lines_of_one_scale_are_left_alone():
    chart = Chart("w")
    render(chart, lambda c: c.show(CONVERGING + [Line(STEPS, STEPS, "big", clip=True)]))
    assert chart.limits[1][1] <= 2.0 and chart.lines[-1].label == "big ↑diverged"
    chart = Chart("w")
    render(chart, lambda c: c.show(CONVERGING + [Line(STEPS, 50 * np.ones(60), "fifty")]))
    assert chart.limits[1] == (-2.0, 50.0) and chart.lines[-1].label == "fifty"  # 25x the span: not diverged


def _x_label_row(plain: str) -> str:
    rows = plain.splitlines()
    axis = max(i for i, r in enumerate(rows) if "└" in r)
    return rows[axis + 1]


def test_step_axes_tick_whole_numbers_and_values_are_compact():
    chart = Chart("Loss", xlabel="step")
    x = np.linspace(0, 209.8, 50)
    plain, *_ = render(chart, lambda c: c.show([Line(x, x * 5e10, "big")]), size=(60, 20))
    assert _x_label_row(plain).split() == ["0", "50", "100", "150", "200"]
    assert "1e13" in plain and "10000000000000" not in plain
    epochs = Chart("Accuracy", xlabel="epoch")
    plain, *_ = render(epochs, lambda c: c.show([Line(np.linspace(0, 3.6, 9), np.linspace(0, 1, 9), "acc")]))
    assert _x_label_row(plain).split() == ["0", "1", "2", "3"]


@pytest.mark.parametrize("mono", [False, True])
def test_fast_path_draws_exactly_what_plotext_draws(mono, monkeypatch):
    if mono:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    lines = [Line(STEPS, np.sin(STEPS / 7), "ghost", dim=True)] + CONVERGING + [
        Line(STEPS, np.cos(STEPS / 5), "g0", marker="dot", kind="scatter")]

    async def go():
        chart = Chart("t", xlabel="step", stable_axes=True)
        async with Host(chart).run_test(size=(90, 26)) as pilot:
            chart.show(lines, hlines=(0.5,), vlines=(30,))
            await pilot.pause()
            fast = chart.render()
            chart.use_fast_path = False
            slow = chart.render()
            assert chart.use_fast_path is False and slow is not fast
            return fast, slow
    fast, slow = asyncio.run(go())
    assert fast.plain == slow.plain
    assert [(s.start, s.end, str(s.style)) for s in fast.spans] == [(s.start, s.end, str(s.style)) for s in slow.spans]


def test_no_color_four_series_and_a_ghost_have_distinct_marks(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    lines = [Line(STEPS, np.sin(STEPS / 9), "previous", dim=True),
             Line(STEPS, np.cos(STEPS / 4), "g0", marker="dot", kind="scatter")]
    lines += [Line(STEPS, np.sin(STEPS / k), name) for k, name in ((5, "EWA"), (6, "corrected"), (8, "adam m"))]
    chart = Chart("EWA", xlabel="step")
    _plain, _t, legend, mono = render(chart, lambda c: c.show(lines), size=(80, 24))
    assert mono
    marks = [entry.split(" ")[0] for entry in legend.split("  ")]
    assert len(marks) == 5 and len(set(marks)) == 5, legend


def test_landscape_title_keys_its_bands():
    def show(view):
        view.set_problem("bowl", lambda a, b: a * a + 4 * b * b, ((-1, 1), (-1, 1)), (0, 0))
    view = Landscape("Landscape  ★ w*")
    _plain, title, *_ = render(view, show, size=(80, 20))
    title = Text.from_markup(title).plain  # the ramp's characters are coloured
    assert "log10(L−L*)" in title and "low" in title and "high" in title
    assert BAND_CHARS in title  # the characters in order, low to high
    view = Landscape("Landscape  ★ w*  ○ start  ● now")
    _plain, title, *_ = render(view, show, size=(40, 12))
    title = Text.from_markup(title).plain  # no room for the words: the ramp after "Landscape"
    assert title.startswith("Landscape") and "low" in title and "○ start" not in title
