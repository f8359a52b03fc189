"""EWA lab and help screen: snapshots at fixed sizes, pilot tests of every key they bind.

Each screen is hosted in a minimal App defined here, so these tests do not depend on the main app.
"""

from __future__ import annotations

import math

import pytest
from textual.app import App
from textual.binding import Binding
from textual.widgets import Static

from descent_engine.ewa import seasonal_series, window
from descent_engine.rules import RULES
from descent_engine.schedules import SCHEDULES
from tui.widgets.plot import Chart
from tui.screens.ewa_lab import (BETA, DAYS, LECTURE_BETAS, START_DAY, ZOOM_DAYS, EwaLabScreen, compute_curves,
                                 days_text, days_to_reach, explanation, integer_ticks)
from tui.screens.help import HelpScreen, help_markdown, key_rows


HOST_BINDINGS = [
    Binding("space", "noop", "run/pause"),
    Binding("n", "noop", "one step"),
    Binding("l", "noop", "double lr"),
    Binding("L", "noop", "halve lr"),
    Binding("comma", "noop", "slower"),
    Binding("question_mark", "help", "help"),
    Binding("e", "ewa", "EWA lab"),
]


class EwaHost(App):
    BINDINGS = HOST_BINDINGS

    def on_mount(self) -> None:
        self.push_screen(EwaLabScreen())

    def action_noop(self) -> None:
        pass


class HelpHost(App):
    BINDINGS = HOST_BINDINGS

    def on_mount(self) -> None:
        self.push_screen(HelpScreen())

    def action_noop(self) -> None:
        pass


class MainHost(App):
    """Opens nothing: the test pushes screens with the host's own keys."""

    BINDINGS = HOST_BINDINGS

    def action_noop(self) -> None:
        pass

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_ewa(self) -> None:
        self.push_screen(EwaLabScreen())


def _text(screen) -> str:
    return str(screen.query_one("#ewa-explain", Static).content)


# -- snapshots ----------------------------------------------------------------------------------
def test_ewa_lab_80x24(snap_compare):
    assert snap_compare(EwaHost(), terminal_size=(80, 24))


def test_ewa_lab_160x48_after_beta_key(snap_compare):
    assert snap_compare(EwaHost(), press=["3"], terminal_size=(160, 48))


def test_ewa_lab_zoom_80x24(snap_compare):
    assert snap_compare(EwaHost(), press=["z"], terminal_size=(80, 24))


def test_help_80x24(snap_compare):
    assert snap_compare(HelpHost(), terminal_size=(80, 24))


# -- pure parts ---------------------------------------------------------------------------------
def test_days_text_rounds_float_noise():
    assert days_text(window(0.9)) == "10"
    assert days_text(window(0.98)) == "50"
    assert days_text(window(0.6)) == "2.5"
    assert days_text(math.inf) == "∞"


def test_days_to_reach_is_first_day_with_small_bias():
    for beta in (0.5, 0.9, 0.98):
        t = days_to_reach(beta)
        assert 1 - beta**t >= 0.95 > 1 - beta ** (t - 1)
    assert days_to_reach(0.0) == 1


def test_curves_are_the_engine_ewa():
    theta = seasonal_series(DAYS, seed=0)
    c = compute_curves(0.9, theta)
    assert c.v[0] == pytest.approx(0.1 * theta[0])  # v_0 = 0 pulls the start down
    assert c.v_hat[0] == pytest.approx(theta[0])  # bias correction undoes it exactly on day 1
    t = 50
    assert c.v_hat[t - 1] == pytest.approx(c.v[t - 1] / (1 - 0.9**t))


def test_explanation_numbers():
    c = compute_curves(0.9, seasonal_series(DAYS, seed=0))
    text = str(explanation(c, 200))
    assert "window 1/(1−β)=10 days" in text
    assert f"β^10={0.9**10:.3f}" in text
    assert f"Day 200: θ {c.theta[199]:.1f}" in text


# -- pilot: EWA lab -----------------------------------------------------------------------------
async def test_beta_keys_follow_the_registry_nudge_and_lecture_keys():
    app = EwaHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EwaLabScreen)
        assert screen.beta == BETA.default == 0.9
        assert "=10 days" in _text(screen)
        await pilot.press("b")
        assert screen.beta == pytest.approx(0.95)
        assert "=20 days" in _text(screen)
        await pilot.press("b")
        assert screen.beta == pytest.approx(0.975)
        assert "=40 days" in _text(screen)
        await pilot.press("B", "B", "B")
        assert screen.beta == pytest.approx(0.8)
        assert "=5 days" in _text(screen)
        for key, beta, days in zip("123", LECTURE_BETAS, ("2", "10", "50")):
            await pilot.press(key)
            assert screen.beta == pytest.approx(beta)
            assert f"={days} days" in _text(screen)
            chart = screen.query_one("#ewa-series", Chart)
            assert f"β {beta:g}" in str(chart.border_title)


async def test_beta_stays_in_range():
    app = EwaHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press(*"B" * 6)
        assert screen.beta == 0.0
        await pilot.press(*"b" * 14)
        assert 0.999 < screen.beta < 1.0
        assert "∞" not in _text(screen)


async def test_chart_series_window_and_markers():
    app = EwaHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart = app.screen.query_one("#ewa-series", Chart)
        lines = chart.lines
        assert [ln.label for ln in lines] == ["θ", "v", "v-hat"]  # no combining hat: plotext miscounts it
        assert len({ln.marker for ln in lines}) == 3  # NO_COLOR: apart by shape
        assert chart._opts["vlines"] == (START_DAY - 10, START_DAY)
        weights = app.screen.query_one("#ewa-weights", Chart)
        assert weights._opts["hlines"] == pytest.approx(((1 - 0.9) / math.e,))
        assert weights._opts["vlines"] == pytest.approx((10.0,))
        await pilot.press("left")
        assert chart._opts["vlines"] == (START_DAY - 20, START_DAY - 10)
        assert "Day 190:" in _text(app.screen)


async def test_zoom_shows_the_bias_region():
    app = EwaHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("z")
        chart = screen.query_one("#ewa-series", Chart)
        assert all(ln.x.shape[0] == ZOOM_DAYS for ln in chart.lines)
        assert chart._opts["xlim"] == integer_ticks(1, ZOOM_DAYS)  # ticks 1 9 17 25 33, not 8.2 15.5
        assert screen.day == ZOOM_DAYS
        await pilot.press("left")
        assert screen.day == ZOOM_DAYS - 1
        await pilot.press("z")
        assert all(ln.x.shape[0] == DAYS for ln in chart.lines)


async def test_escape_and_e_close_the_lab_and_app_keys_do_not_leak():
    app = MainHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, EwaLabScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, EwaLabScreen)
        await pilot.press("e")
        assert isinstance(app.screen, EwaLabScreen)
        await pilot.press("e")
        assert len(app.screen_stack) == 1


# -- pilot: help --------------------------------------------------------------------------------
async def test_help_lists_every_host_binding_and_every_rule_and_schedule():
    app = HelpHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        source = app.screen.source
        for b in HOST_BINDINGS:
            assert b.description in source
            assert f"`{app.get_key_display(b)}" in source
        for rule in RULES.values():
            assert f"**{rule.name}**" in source
            assert rule.formula in source
            for p in rule.params:
                assert f"`{p.name}`" in source
        for s in SCHEDULES.values():
            assert f"**{s.name}**" in source
        assert "β = 1 − 0.6 = 0.4" in source


async def test_help_from_the_lab_lists_the_lab_keys_and_closes():
    app = MainHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        source = app.screen.source
        assert "Keys of the EWA lab" in source
        assert "zoom on the first days" in source and "β up" in source
        await pilot.press("escape")
        assert isinstance(app.screen, EwaLabScreen)


@pytest.mark.parametrize("key", ["escape", "question_mark", "q"])
async def test_help_closes(key):
    app = MainHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press(key)
        assert len(app.screen_stack) == 1
        assert app.is_running  # q closes help, it does not quit


def test_key_rows_join_keys_of_one_action():
    rows = key_rows([Binding("escape,e", "close", "back"), Binding("b", "up", "β up")], lambda b: b.key)
    assert rows == [("escape e", "back"), ("b", "β up")]


def test_help_markdown_sections():
    md = help_markdown([("space", "run/pause")])
    for heading in ("Keys of the lab", "Charts", "Status and theory line", "Update rules",
                    "Learning-rate schedules", "The note's β"):
        assert heading in md
    assert "log10(L − L\\*)" in md and "★ = w\\*" in md
    # the theory line's own words, and rates of the distance to w*, not of the loss gap
    assert "**stable lr <**" in md and "**lr\\*, β\\***" in md
    assert "rates per step, of |w - w\\*|" in md and "contraction of L − L" not in md
    assert "the loss gap L − L\\* shrinks by its square" in md


def test_integer_ticks_put_every_tick_on_a_whole_day():
    assert integer_ticks(1, DAYS) == (1, DAYS)  # 364 days: four gaps of 91
    assert integer_ticks(1, ZOOM_DAYS) == (1, 33)
    assert integer_ticks(0, 30) == (0, 32)
    for low, high in ((1, ZOOM_DAYS), (0, 30), (0, 149), (1, DAYS)):
        lo, hi = integer_ticks(low, high)
        assert hi >= high and (hi - lo) % 4 == 0 and hi - high < 4


def test_explanation_keeps_each_expression_in_one_word():
    """Rich wraps at spaces (even no-break ones): expressions are written without any."""
    text = str(explanation(compute_curves(0.9, seasonal_series(DAYS, seed=0)), 200))
    assert " = " not in text and "(1 − β" not in text
    for expr in ("1−β^t=", "v_t=β·v_{t−1}+(1−β)·θ_t,", "v̂_t=v_t/(1−β^t)", "k=10,", "≈1/e=0.368;", "(1−β^t≥0.95)"):
        assert expr in text


async def test_tiny_and_resized_terminal_does_not_crash():
    app = EwaHost()
    async with app.run_test(size=(30, 10)) as pilot:
        await pilot.press("3", "z", "right")
        await pilot.resize_terminal(160, 48)
        await pilot.press("b")
        assert isinstance(app.screen, EwaLabScreen)
        assert app.screen.beta == pytest.approx(0.99)


async def test_the_palette_sets_the_ewa_labs_beta_and_rejects_a_bad_one():
    from tui.app import DescentApp

    app = DescentApp(autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EwaLabScreen)
        await pilot.press("ctrl+p", *"beta 0.95")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and screen.beta == 0.95
        await pilot.press("ctrl+p", *"beta 1.5")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.beta == 0.95
        assert any("beta must be in [0, 1)" in str(n.message) for n in app._notifications)
        await pilot.press("ctrl+p", *"the lecture's")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.beta == LECTURE_BETAS[0]
