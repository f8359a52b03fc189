"""Pilot tests: every key does what its hint says. All advanced by key presses, autorun=False."""

from __future__ import annotations


import pytest

from descent_engine.rules import RULES, get_rule
from descent_engine.run import Settings
from descent_engine.schedules import SCHEDULES
from tui.app import DescentApp
from tui.lab import lab_problems
from tui.lab.model import SPEEDS
from tui.lab import LabScreen

NOTES_GD = Settings("notes-ls", "gd", rule_params={"lr": 1e-4})

#: the beta keys from the default preset's beta 0.4, worked out by hand from Param.nudge (the
#: distance to 1 halves or doubles, tidied to 12 decimals, clamped into [0, 1)):
#: b: 1 - 0.6/2 = 0.7; B: 1 - 2 * 0.3 = 0.4; B: 1 - min(1, 2 * 0.6) = 0; B at 0: stays 0.
#: (Update this table when the keys move along another ladder.)
# the beta ladder 0, 0.1, ..., 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, worked by hand from the note's 0.4
BETA_KEYS = [("b", 0.5), ("B", 0.4), ("B", 0.3), ("B", 0.2), ("B", 0.1), ("B", 0.0), ("B", 0.0)]



async def use_palette(pilot, text: str) -> None:
    """Open the palette, type ``text``, give the providers a moment, take the first hit."""
    await pilot.press("ctrl+p", *text)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause(0.2)


def hp(app, name):
    s = app.lab.settings
    return get_rule(s.rule).hparams(s.rule_params)[name]


def test_defaults_are_the_notes_momentum():
    app = DescentApp(autorun=False)
    s = app.lab.settings
    assert (s.problem, s.rule, s.schedule) == ("notes-ls", "momentum", "constant")
    assert hp(app, "lr") == 1e-4 and hp(app, "beta") == pytest.approx(0.4) and hp(app, "init") == "first"
    assert DescentApp().lab.running  # the bare command opens running


async def test_step_reset_and_run_toggle():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("n", "n", "n")
        assert app.lab.k == 3 and "step 3" in app.status
        await pilot.press("r")
        assert app.lab.k == 0
        assert not app.lab.running and "paused" in app.status
        await pilot.press("space")
        assert app.lab.running and "running" in app.status
        assert app.lab.k == 0  # autorun=False: nothing steps on its own
        await pilot.press("space")
        assert not app.lab.running


async def test_rule_cycles_both_ways():
    app = DescentApp(autorun=False)
    names = list(RULES)
    async with app.run_test(size=(160, 48)) as pilot:
        start = names.index("momentum")
        await pilot.press("u")
        assert app.lab.settings.rule == names[start + 1]
        await pilot.press("U", "U")
        assert app.lab.settings.rule == names[start - 1]


async def test_beta_nudges_and_gd_has_none():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        assert hp(app, "beta") == 0.4
        for key, expected in BETA_KEYS:
            await pilot.press(key)
            assert hp(app, "beta") == pytest.approx(expected, abs=1e-12), key
            assert f"β {expected:g} " in app.status, key
    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert app.lab.settings.rule == "gd"
        assert any("gd has no beta" in str(n.message) for n in app._notifications)


async def test_lr_doubles_and_halves():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("l")
        assert hp(app, "lr") == pytest.approx(2e-4)
        await pilot.press("L", "L")
        assert hp(app, "lr") == pytest.approx(5e-5)
        assert "lr 5.00e-05" in app.status


async def test_schedule_and_problem_cycle():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        sched = list(SCHEDULES)
        await pilot.press("d")
        assert app.lab.settings.schedule == sched[1]
        await pilot.press("D", "D")
        assert app.lab.settings.schedule == sched[-1]
        probs = lab_problems()  # the 2-D ones: p skips what the lab cannot draw
        await pilot.press("p")
        assert app.lab.settings.problem == probs[1]
        assert app.lab.k == 0
        await pilot.press("P", "P")
        assert app.lab.settings.problem == probs[-1]
        await pilot.press("n")
        assert app.lab.k == 1 and app.lab.traces[0].run.problem.name == probs[-1]


async def test_ghost_is_kept_after_a_change_and_not_after_a_reset():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*["n"] * 5)
        assert app.lab.ghosts == []
        await pilot.press("l")
        assert len(app.lab.ghosts) == 1 and app.lab.ghosts[0].step[-1] == 5
        assert app.lab.k == 0
        # the new run starts from the same point
        assert (app.lab.traces[0].run.w == app.lab.ghosts[0].w[0]).all()
        await pilot.press("n", "n", "r")
        assert app.lab.ghosts[0].step[-1] == 5  # reset keeps the ghost as it was
        loss = app.screen.query_one("#loss")
        await pilot.press("n")
        assert any(line.dim for line in loss.lines)


async def test_speed_keys():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        i = app.lab.speed_index
        await pilot.press("full_stop")
        assert app.lab.speed == SPEEDS[i + 1] and f"{SPEEDS[i + 1]}/s" in app.status
        await pilot.press("comma", "comma")
        assert app.lab.speed == SPEEDS[i - 1]
        await pilot.press(*["full_stop"] * 20)
        assert app.lab.speed is None and "max" in app.status


async def test_compare_add_remove():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("a")  # no effect outside compare mode
        assert not app.lab.compare and len(app.lab.traces) == 1
        await pilot.press("c")
        assert app.lab.compare
        assert [t.settings.rule for t in app.lab.traces] == ["gd", "momentum"]
        assert all(t.run.hp["lr"] == 1e-4 for t in app.lab.traces)
        await pilot.press("n", "n")
        assert all(t.k == 2 for t in app.lab.traces)  # lockstep
        await pilot.press("a", "a", "a")
        assert len(app.lab.traces) == 4
        await pilot.press("x")
        assert len(app.lab.traces) == 3
        loss = app.screen.query_one("#loss")
        await pilot.press("n")
        assert [ln.label for ln in loss.lines] == [t.label for t in app.lab.traces]
        await pilot.press("c")
        assert not app.lab.compare and app.lab.settings.rule == "momentum"


async def test_diverged_run_stops_and_keys_still_work():
    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("l", *["n"] * 20)
        assert app.lab.done and app.lab.k == 12
        assert "diverged at step 12" in app.status
        await pilot.press("L")
        assert not app.lab.done and hp(app, "lr") == pytest.approx(1e-4)
        await pilot.press("n")
        assert app.lab.k == 1


async def test_too_small_and_resize_round_trip():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(50, 15)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#too-small").render())
        assert "terminal too small (need 60x20" in text
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert app.screen.layout_name == "full"
        await pilot.press("n")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        screen = app.screen
        assert screen.layout_name == "small"
        assert screen.query_one("#loss").display and screen.query_one("#landscape").display
        assert not screen.query_one("#ewa").display
        await pilot.resize_terminal(160, 48)
        await pilot.press("n")
        assert screen.query_one("#ewa").display and app.lab.k == 2


async def test_command_palette_sets_a_value_and_rejects_a_bad_one():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await use_palette(pilot, "lr 3e-4")
        assert isinstance(app.screen, LabScreen)
        assert hp(app, "lr") == pytest.approx(3e-4)
        await use_palette(pilot, "set beta = 1.5")
        assert hp(app, "beta") == pytest.approx(0.4)
        assert any("beta must be in" in str(n.message) for n in app._notifications)


async def test_palette_switches_rule_and_rejects_bad_text():
    app = DescentApp(autorun=False)

    async with app.run_test(size=(160, 48)) as pilot:
        await use_palette(pilot, "rule: adam")
        assert app.lab.settings.rule == "adam"
        lr = hp(app, "lr")
        await use_palette(pilot, "lr fast")
        assert hp(app, "lr") == lr
        assert any("cannot read 'fast'" in str(n.message) for n in app._notifications)


async def test_palette_usage_entry_prefills_the_input():
    from textual.command import CommandInput, CommandPalette

    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("ctrl+p", *"set lr = …")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        assert app.screen.query_one(CommandInput).value == "lr = "
        await pilot.press(*"5e-5", "enter")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LabScreen) and hp(app, "lr") == pytest.approx(5e-5)


def test_bindings_have_hints():
    keys = {b.key for b in LabScreen.BINDINGS}
    for key in ("space", "n", "r", "u", "U", "b", "B", "l", "L", "d", "D", "p", "P", "comma", "full_stop",
                "c", "e", "question_mark", "q", "t", "a", "x"):
        assert key in keys
    assert all(b.description for b in LabScreen.BINDINGS)
    assert {b.key for b in DescentApp.BINDINGS} == {"s", "ctrl+p"}  # the app's own: every screen's


async def test_ewa_lab_and_help_open_and_escape_returns():
    from tui.screens.ewa_lab import EwaLabScreen
    from tui.screens.help import HelpScreen

    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        for key, screen_type in (("e", EwaLabScreen), ("question_mark", HelpScreen)):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen_type)
            await pilot.press("n")  # a lab key does nothing under another screen
            assert app.lab.k == 0
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, LabScreen)
        await pilot.press("n")
        assert app.lab.k == 1


async def test_problem_switch_drops_the_ghost():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*["n"] * 5, "l")
        assert len(app.lab.ghosts) == 1
        await pilot.press("n", "p")  # another problem: the old run is no context for it
        assert app.lab.settings.problem != "notes-ls"
        assert app.lab.ghosts == []
        await pilot.press("n", "n")
        loss = app.screen.query_one("#loss")
        assert not any(line.dim and not line.label.startswith("predicted") for line in loss.lines)
        assert app.screen.set_choice("problem", "rosenbrock")  # as the palette does
        assert app.lab.ghosts == []


async def test_a_long_ghost_does_not_set_the_step_axis():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        app.lab.step(2000)
        await pilot.press("l", "n", "n", "n")  # a new short run beside a 2000-step ghost
        for name in ("loss", "grads", "params", "ewa"):
            chart = app.screen.query_one(f"#{name}")
            # the live run's range (the loss chart: and its predicted rate, to 1.2 k + 5 rounded up),
            # never the ghost's 2000 steps
            assert chart.limits[0][1] <= (20 if name == "loss" else 10), name
            ghost = [ln for ln in chart.lines if ln.dim]
            assert ghost and all(ln.x.max() <= chart._opts["xlim"][1] for ln in ghost), name


async def test_palette_explains_a_setting_the_rule_does_not_have():
    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await use_palette(pilot, "beta 0.5")
        assert isinstance(app.screen, LabScreen)
        assert app.lab.settings.rule == "gd"
        assert any("beta does not apply to rule gd; it has: lr" in str(n.message) for n in app._notifications)


async def test_compare_at_80x24_shows_status_and_every_rule_uncut():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c", "a", "a", "n")
        await pilot.pause()
        status, theory = app.screen.query_one("#status"), app.screen.query_one("#theory")
        lines = status._lines(status.size.width)
        assert len(lines) <= status.size.height  # nothing cut
        assert lines[0][1][0] == "step 1" and "paused" in lines[0][2][0]  # step and state first
        assert "batch_size" not in status.plain  # a default problem setting is left out
        assert len(theory._lines(theory.size.width)) <= theory.size.height
        for t in app.lab.traces:
            assert f"{t.label}: lr<" in theory.plain
        assert app.screen.query_one("#landscape").border_subtitle.startswith("1:gd")


async def test_too_small_shows_only_the_message():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(50, 15)) as pilot:
        await pilot.pause()
        for wid in ("#status", "#charts", "#theory", "#hints"):
            assert not app.screen.query_one(wid).display or app.screen.query_one(wid).region.height == 0


async def test_no_color_gives_every_series_its_own_marker():
    app = DescentApp(autorun=False)
    app.no_color = True
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press(*["n"] * 5, "L", *["n"] * 5)
        for name in ("loss", "grads", "params", "ewa", "lr"):
            chart = app.screen.query_one(f"#{name}")
            series = chart._series(chart.size.width, mono=True)
            labelled = {}
            for _x, _y, marker, _c, label, _l in series:
                labelled.setdefault(marker, set()).add(label)
            # a marker shared only by lines without a label (one ghost's lines) is fine
            assert all(len(labels - {None}) <= 1 for labels in labelled.values()), (name, labelled)
            from tui.widgets.plot import DIM_COLOR
            ghost = {m for _x, _y, m, c, _lb, _l in series if c == DIM_COLOR}
            live = {m for _x, _y, m, c, _lb, _l in series if c != DIM_COLOR}
            assert not ghost & live, (name, ghost, live)  # the ghost looks like no live series


async def test_palette_sets_one_rule_of_compare_or_all():
    from descent_engine.rules import get_rule

    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("c", "a")  # gd, momentum and the next rule
        names = [get_rule(t.settings.rule).name for t in app.lab.traces]
        assert names[:2] == ["gd", "momentum"] and len(names) == 3
        before = [t.run.hp["lr"] for t in app.lab.traces]
        await use_palette(pilot, "set lr = 3e-5 for gd")
        after = [t.run.hp["lr"] for t in app.lab.traces]
        assert after[0] == pytest.approx(3e-5) and after[1:] == before[1:]
        await use_palette(pilot, "set lr = 2e-5")
        assert [t.run.hp["lr"] for t in app.lab.traces] == pytest.approx([2e-5] * 3)
        await use_palette(pilot, "set lr = 2e-5 for adamw")
        assert any("adamw is not on screen" in str(n.message) for n in app._notifications)


async def test_a_screen_on_top_of_the_lab_stops_its_engine():
    app = DescentApp()  # running on its own timer
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause()
            if app.lab.k > 0:
                break
        assert app.lab.k > 0
        await pilot.press("e")
        await pilot.pause(0.1)
        k = app.lab.k
        for _ in range(20):
            await pilot.pause(0.02)
        assert app.lab.k == k  # the EWA lab on top: the 2-D lab does not step
        await pilot.press("escape")
        for _ in range(200):
            await pilot.pause()
            if app.lab.k > k:
                break
        assert app.lab.k > k  # back on screen: it runs again


async def test_the_palette_takes_a_new_function_of_x_and_y():
    app = DescentApp(autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await use_palette(pilot, "f = (x - 1)**2 + 4*y**2")
        s = app.lab.settings
        assert s.problem == "function" and s.problem_params["f"] == "(x - 1)**2 + 4*y**2"
        p = app.lab.traces[0].run.problem
        assert p.w_star == pytest.approx([1.0, 0.0], abs=1e-8)  # the numerical optimum of that bowl
        await use_palette(pilot, "f = x +* y")
        assert app.lab.settings.problem_params["f"] == "(x - 1)**2 + 4*y**2"  # a bad one changes nothing
        assert any(n.severity == "error" for n in app._notifications)


@pytest.mark.parametrize("opener", ["h", "m", "f", "e", "t"])  # (in help, q closes help, as it says)
async def test_q_quits_from_every_screen_the_lab_opens(opener):
    app = DescentApp(autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "n", "l", opener)  # a replaced run, so the history has a row
        await pilot.pause()
        assert app.screen is not app.lab_screen
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running
