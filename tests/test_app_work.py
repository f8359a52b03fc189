"""Pilot tests of the work the app does: none while paused, and the fast chart rasteriser
drawing exactly what plotext draws."""

from __future__ import annotations


from descent_engine.run import Run, Settings
from tui.app import DescentApp
from tui.lab import LabScreen

NOTES_GD = Settings("notes-ls", "gd", rule_params={"lr": 1e-4})



def _builds(app):
    """Chart and landscape builds so far (their public ``builds`` counters), by widget id."""
    return {w.id: w.builds for w in app.screen.query("Chart, Landscape")}


#: pilot.pause() returns once the app has gone idle, after 1/50 s at least: ten of them span
#: six ticks or more of the lab's 1/30 s timer, had it been left running
QUIET_PAUSES = 10


async def _settle(pilot, app):
    """Pause until no chart is being built any more (a frame is drawn in slices, one message
    each); returns the build counts."""
    last, same = None, 0
    for _ in range(200):
        await pilot.pause()
        now = _builds(app)
        same = same + 1 if now == last else 0
        if same == 3:
            return now
        last = now
    raise AssertionError(f"the charts were still being built after 200 pauses: {now}")


async def test_paused_app_does_no_work(monkeypatch):
    """Paused, the app neither steps the engine nor rebuilds a chart nor wakes up on a timer,
    however long it is left; one ``n`` is one step and one rebuild of every shown chart. Engine
    work is counted at Run.step, which every step of the lab goes through, and timer wake-ups
    at the callbacks of every set_interval the lab screen asks for."""
    engine_calls, ticks = [], []
    real_step, real_set_interval = Run.step, LabScreen.set_interval

    def counting_step(self, n=1):
        engine_calls.append(n)
        return real_step(self, n)

    def counting_set_interval(self, interval, callback=None, *args, **kwargs):
        def counted():
            ticks.append(kwargs.get("name"))
            return callback()
        return real_set_interval(self, interval, counted, *args, **kwargs)

    monkeypatch.setattr(Run, "step", counting_step)
    monkeypatch.setattr(LabScreen, "set_interval", counting_set_interval)

    app = DescentApp()  # autorun: steps and draws on its own timer
    async with app.run_test(size=(160, 48)) as pilot:
        # running, the same pauses do see it step (so the quiet checks below can fail)
        for _ in range(200):
            await pilot.pause()
            if app.lab.k > 0:
                break
        assert app.lab.k > 0 and engine_calls and ticks and "running" in app.status
        await pilot.press("space")
        assert "paused" in app.status
        builds = await _settle(pilot, app)
        k, calls, status, woken = app.lab.k, len(engine_calls), app.status, len(ticks)
        assert f"step {k} " in status
        for _ in range(QUIET_PAUSES):
            await pilot.pause()
        assert (app.lab.k, len(engine_calls), app.status) == (k, calls, status)  # no steps
        assert _builds(app) == builds  # no chart rebuilt
        assert len(ticks) == woken  # and no timer woke the app up
        await pilot.press("n")  # one step: every shown chart rebuilt once, then quiet again
        after = await _settle(pilot, app)
        assert app.lab.k == k + 1 and len(engine_calls) == calls + 1 and f"step {k + 1} " in app.status
        shown = app.screen.shown_charts
        assert shown and all(after[name] == builds[name] + 1 for name in shown)
        woken = len(ticks)  # the step's own paint may wake the screen's update timer; then quiet
        for _ in range(QUIET_PAUSES):
            await pilot.pause()
        assert _builds(app) == after and app.lab.k == k + 1 and len(engine_calls) == calls + 1
        assert len(ticks) == woken


async def test_fast_chart_drawing_matches_plotext(monkeypatch):
    """The charts rasterise their series themselves (tui/widgets/plot/fastpath.py: raster_cells); the result
    must be exactly what plotext draws from the same lines, in colour and in NO_COLOR.

    The runs are advanced with Lab.step (one key press at the end draws every chart once): the
    same lines as pressing n that often, without a full redraw per step."""
    from tui.widgets.plot import fastpath as charts
    from tui.widgets.plot.chart import Chart

    rastered = []
    real_raster = charts.raster_cells

    def counting_raster(series, plan):
        rastered.append(series)
        return real_raster(series, plan)

    monkeypatch.setattr(charts, "raster_cells", counting_raster)

    def styled(text):
        per = [None] * len(text.plain)
        for span in text.spans:
            for i in range(span.start, span.end):
                per[i] = str(span.style)
        return text.plain, per

    async def go(settings, script, size):
        app = DescentApp(settings, autorun=False)
        async with app.run_test(size=size) as pilot:
            for item in script:
                if isinstance(item, int):
                    app.lab.step(item)
                else:
                    await pilot.press(item)
            await pilot.press("n")  # the last step, drawn
            await pilot.pause()
            charts_shown = [c for c in app.screen.query(Chart) if c.display]
            assert charts_shown
            for chart in charts_shown:
                assert chart.lines, chart.id
                w, h = chart.size.width, chart.size.height
                for mono in (False, True):
                    del rastered[:]
                    fast = chart._build(w, h, mono, fast=True)
                    assert chart._fast_ok and rastered, chart.id  # the fast path drew it
                    del rastered[:]
                    slow = chart._build(w, h, mono, fast=False)
                    assert not rastered  # and this is plotext's own drawing
                    assert styled(fast) == styled(slow), (chart.id, mono)
                    assert len(set(styled(fast)[0]) - set(" \n")) > 10, chart.id  # something drawn

    cases = [
        (None, [29], (160, 48)),  # the lab: every chart, one run
        (None, ["c", 39], (160, 48)),  # compare: several runs per chart
        (None, [20, "L", 9], (80, 24)),  # a ghost, the small layout
        (NOTES_GD, ["l", 11], (160, 48)),  # a run that diverges at step 12
        (Settings("rosenbrock", "adam", rule_params={"lr": 1e-2}), [299], (110, 32)),  # decimated
    ]
    for settings, script, size in cases:
        await go(settings, script, size)
