"""Small pieces of the UI's timing: the landscape's path filling (vectorised), the text lines'
"painted" flag the ticker waits for, the frame pacing, and ``python -m tui`` in a worker."""

from __future__ import annotations

import runpy
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.app import App

from tui.lab import ticker as ticker_mod
from tui.widgets.plot.landscape import _densify
from tui.widgets.wrapline import WrapLine


def _densify_reference(cx, cy, width, height):
    """The path filling written plainly, segment by segment."""
    ok = np.isfinite(cx) & np.isfinite(cy) & (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
    if cx.shape[0] < 2:
        return cx[ok], cy[ok]
    xs, ys = [], []
    for i in range(cx.shape[0] - 1):
        if not (ok[i] and ok[i + 1]):
            continue
        r = max(min(int(max(abs(cx[i + 1] - cx[i]), abs(cy[i + 1] - cy[i]))), 400), 1)
        for k in range(r):
            t = k / r
            xs.append(np.floor(cx[i] + (cx[i + 1] - cx[i]) * t + 0.5))
            ys.append(np.floor(cy[i] + (cy[i + 1] - cy[i]) * t + 0.5))
    return np.concatenate([np.array(xs, float), cx[ok]]), np.concatenate([np.array(ys, float), cy[ok]])


cells = st.floats(-5, 70, allow_nan=False).map(float)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(cells, cells), min_size=0, max_size=40))
def test_path_filling_is_the_segment_by_segment_filling(points):
    cx = np.floor(np.array([p[0] for p in points], float))
    cy = np.floor(np.array([p[1] for p in points], float))
    got = _densify(cx, cy, 64, 48)
    want = _densify_reference(cx, cy, 64, 48)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


async def test_a_text_line_is_painted_once_rendered_after_its_items_changed():
    class Host(App):
        def compose(self):
            yield WrapLine(id="line")

    app = Host()
    async with app.run_test(size=(40, 5)) as pilot:
        line = app.query_one(WrapLine)
        line.set_items([("lr 1.00e-04", "")])
        assert not line.painted  # changed, not drawn yet
        await pilot.pause()
        assert line.painted
        line.set_items([("lr 1.00e-04", "")])  # the same items: nothing to draw
        assert line.painted


def test_frames_are_paced_by_what_the_last_one_cost(monkeypatch):
    """A frame that took c seconds of chart building is followed by the next no sooner than
    c / DRAW_SHARE later; a cheap frame leaves the frame rate's own interval."""
    clock = [100.0]
    monkeypatch.setattr(ticker_mod.time, "perf_counter", lambda: clock[0])

    def draw(budget, next_slice):
        clock[0] += cost[0]
        return True

    cost = [0.002]
    owner = SimpleNamespace(lab=None, draw=draw, draw_text=lambda: None, text_painted=lambda: True)
    ticker = ticker_mod.Ticker(owner, autorun=False, frame_rate=10)
    ticker.redraw()
    assert ticker.frame_interval == 0.95 / 10
    cost[0] = 0.06
    ticker.redraw()
    assert abs(ticker.frame_interval - 0.06 / ticker_mod.DRAW_SHARE) < 1e-12


def test_python_m_tui_runs_nothing_when_imported_by_a_worker():
    """multiprocessing's spawn imports the parent's main module under another name: the app must
    not start again there (the 2-D lab's engine process and the network lab's worker)."""
    runpy.run_module("tui.__main__", run_name="__mp_main__")  # returns: no app, no SystemExit
