"""The rate map screen in a tiny host app: keys, what it dismisses with, progressive drawing,
and snapshots at 80x24 and 160x48 (computed synchronously: deterministic)."""

from __future__ import annotations

import numpy as np
from textual.app import App

from descent_engine.ratemap import cell_settings
from descent_engine.run import Settings
from tui.screens.ratemap import RateMapScreen, RateMapView, speed

NOTES = Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4})
QUAD_GD = Settings("quadratic", "gd", rule_params={"lr": 0.05})


class Host(App):
    """Pushes the screen on mount and keeps what it dismissed with."""

    def __init__(self, settings: Settings, synchronous: bool = True, steps: int = 200, **options) -> None:
        super().__init__()
        self.settings, self.synchronous, self.steps, self.options = settings, synchronous, steps, options
        self.result: object = "not dismissed"

    def on_mount(self) -> None:
        self.push_screen(RateMapScreen(self.settings, synchronous=self.synchronous, steps=self.steps, **self.options),
                         self.done)

    def done(self, result) -> None:
        self.result = result


async def test_cursor_starts_at_the_setting_and_enter_applies_the_cell():
    app = Host(NOTES)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RateMapScreen) and screen.job.done
        g = screen.grid
        assert (screen.row, screen.col) == g.nearest(1e-4, 0.4)
        start = (screen.row, screen.col)
        await pilot.press("right", "right", "up", "left")
        assert (screen.row, screen.col) == (start[0] + 1, start[1] + 1)
        await pilot.press("enter")
        await pilot.pause()
    want = cell_settings(NOTES, g, start[0] + 1, start[1] + 1)
    assert app.result == want
    assert app.result.rule_params["lr"] == g.lr[start[1] + 1] and app.result.rule_params["beta"] == g.beta[start[0] + 1]


async def test_escape_dismisses_none_and_o_goes_to_the_optimum():
    app = Host(NOTES)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("o")
        best = screen.map.optimum("predicted")
        assert (screen.row, screen.col) == (best.row, best.col)
        assert best.rate == np.nanmin(screen.map.converging("predicted"))
        await pilot.press("t")
        assert screen.kind == "measured"
        await pilot.press("escape")
        await pilot.pause()
    assert app.result is None


async def test_cursor_stops_at_the_edges_and_gd_has_one_row():
    app = Host(QUAD_GD)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.grid.beta is None and screen.grid.n_beta == 1
        await pilot.press(*(["left"] * (screen.col + 2)), "up", "down")
        assert (screen.row, screen.col) == (0, 0)
        assert screen.check_action("move", (1, 0)) is None  # no beta: up/down do not apply
        await pilot.press("enter")
        await pilot.pause()
    assert app.result.rule_params["lr"] == screen.grid.lr[0] and "beta" not in app.result.rule_params


async def test_it_draws_progressively_and_answers_keys_while_computing():
    # one unit of work per tick, and the ticks stepped here: deterministic whatever the load
    app = Host(NOTES, synchronous=False, steps=8000, slice_seconds=0.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        screen._timer.pause()
        job = screen.job
        assert not job.done  # the first frame comes before the work is done
        while not job.predicted_done:  # a piece of the predicted map per tick, drawn as it comes
            before = job.predicted_done_units
            screen._tick()
            assert job.predicted_done_units == before + 1
            assert np.array_equal(np.isfinite(screen.map.predicted), np.isfinite(job.predicted))
        assert np.isfinite(screen.map.predicted).all()
        col = screen.col
        await pilot.press("right")
        assert screen.col == col + 1  # answered while the map is being computed
        for _ in range(10):
            screen._tick()
        assert np.isnan(screen.map.measured).all() and not job.done  # the measured run goes on
        job.run()  # the rest at once
        screen._tick()  # the tick that finds the work done draws it and stops the timer
        assert np.isfinite(screen.map.measured).any() and screen._timer is None


def test_speed_is_log_steps_per_digit():
    r = np.array([0.1, 0.5, 0.99, 1.0, np.nan])
    s = speed(r)
    np.testing.assert_allclose(s[:3], np.log10(np.log(0.1) / np.log(r[:3])), rtol=1e-14)
    assert s[0] == 0.0 and np.isnan(s[3:]).all()


def test_snapshot_80x24(snap_compare):
    assert snap_compare(Host(NOTES), terminal_size=(80, 24))


def test_snapshot_160x48_measured_after_moves(snap_compare):
    assert snap_compare(Host(NOTES), terminal_size=(160, 48), press=["t", "up", "up", "right"])


def test_snapshot_80x24_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(Host(NOTES), terminal_size=(80, 24), press=["o"])


def test_snapshot_80x24_gd_one_row(snap_compare):
    assert snap_compare(Host(QUAD_GD), terminal_size=(80, 24))
