"""Details new users tripped on in the lab (each driven by keys, autorun=False)."""

from __future__ import annotations


from descent_engine.run import Settings
from tui.app import DescentApp
from tui.lab.text import theory_text

NOTES_GD = Settings("notes-ls", "gd", rule_params={"lr": 1e-4})


async def _toasts(pilot) -> list[str]:
    """The notifications on screen, as text (what the user reads)."""
    await pilot.pause()
    return [str(t.render()).replace("\n", " ") for t in pilot.app.screen.query("Toast")]


async def test_space_on_a_diverged_run_keeps_the_wish_to_run():
    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("space")  # run
        assert app.lab.running
        await pilot.press("l", *["n"] * 20)  # lr 2e-4 is past 2/lam_max: diverges at step 12
        assert app.lab.done
        await pilot.press("space")  # nothing to pause: says so
        await pilot.press("L")  # back to a stable lr: the new run runs, as the user wanted
        assert not app.lab.done and app.lab.running
        await pilot.press("space", "L")  # paused by the user: the next run stays paused
        assert not app.lab.running


def test_the_theory_line_says_it_is_full_batch_theory_under_mini_batches():
    mini = Settings("notes-ls", "gd", problem_params={"batch_size": 50}, rule_params={"lr": 1e-4})
    assert "full-batch theory" in theory_text(DescentApp(mini, autorun=False).lab).plain
    assert "full-batch" not in theory_text(DescentApp(NOTES_GD, autorun=False).lab).plain


async def test_s_saves_a_screenshot_and_names_it(tmp_path):
    app = DescentApp(NOTES_GD, autorun=False, screenshot_dir=tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("s", "s")
        files = sorted(tmp_path.glob("descent-tui-*.svg"))
        assert len(files) == 2  # a second press never overwrites the first
        assert files[0].read_text(encoding="utf-8").startswith("<svg")
        assert any(str(files[0]) in m for m in await _toasts(pilot))


async def test_a_screenshot_that_cannot_be_written_says_why(tmp_path):
    app = DescentApp(NOTES_GD, autorun=False, screenshot_dir=tmp_path / "missing")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("s")
        assert any("cannot write" in m and "No such file or directory" in m for m in await _toasts(pilot))


async def test_the_lab_refuses_a_problem_it_cannot_draw_and_p_skips_it():
    import pytest

    from descent_engine.params import ParamError
    from descent_engine.problems import PROBLEMS
    from tui.app import run_app
    from tui.lab import lab_problems

    assert "spectrum" in PROBLEMS and "spectrum" not in lab_problems()
    with pytest.raises(ParamError, match="run it headless"):
        run_app(Settings("spectrum", "gd"))

    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(80, 24)) as pilot:
        seen = []
        for _ in range(len(PROBLEMS) + 1):
            await pilot.press("p")
            seen.append(app.lab.settings.problem)
        assert "spectrum" not in seen and set(seen) == set(lab_problems())


def test_a_compare_preset_opens_compare_mode(monkeypatch):
    from descent_engine.presets import PRESETS
    from tui import app as app_module
    from tui.cli import main

    opened = {}
    monkeypatch.setattr(app_module, "run_app", lambda settings, **options: opened.update(options, settings=settings) or 0)
    assert main(["--preset", "notes-compare"]) == 0
    assert opened["compare_set"] == [PRESETS["notes-gd"].settings, PRESETS["notes-gdm"].settings]
    app = DescentApp(opened["settings"], autorun=False, compare_set=opened["compare_set"])
    assert app.lab.compare and [t.settings.rule for t in app.lab.traces] == ["gd", "momentum"]


def test_the_launcher_takes_a_screenshot_dir(monkeypatch, tmp_path, capsys):
    from tui import app as app_module
    from tui.cli import main

    opened = {}
    monkeypatch.setattr(app_module, "run_app", lambda settings, **options: opened.update(options) or 0)
    assert main(["--screenshot-dir", str(tmp_path)]) == 0
    assert opened["screenshot_dir"] == str(tmp_path)
    assert main(["--screenshot-dir", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--screenshot-dir" in err and "not a directory" in err
