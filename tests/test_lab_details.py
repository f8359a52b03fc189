"""Details new users tripped on in the lab (each driven by keys, autorun=False)."""

from __future__ import annotations

import pytest

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


async def test_a_problem_of_many_dimensions_shows_its_eigendirections():
    """spectrum (d dimensions) in the lab: the landscape's place holds the error along a few
    eigendirections, labelled by their eigenvalue; each line is Q^T (w - w*) computed here."""
    import numpy as np

    from descent_engine.problems.spectrum import eigenvalues
    from tui.widgets.plot import Chart

    s = Settings("spectrum", "momentum", problem_params={"dim": 20, "kappa": 100.0})
    app = DescentApp(s, autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["n"] * 12)
        screen = app.screen
        assert "eigen" in screen.shown_charts and "landscape" not in screen.shown_charts
        assert not screen.query_one("#landscape").display and screen.query_one("#eigen").display
        chart = screen.query_one("#eigen", Chart)
        lam = eigenvalues(20, 100.0, "log")
        labels = [ln.label for ln in chart.lines]
        assert labels[0] == f"λ {lam[0]:.3g}" and labels[-1] == f"λ {lam[-1]:.3g}" and len(labels) == 4
        run = app.lab.traces[0].run
        p = run.problem
        w = run.history.arrays()["w"]
        H = p.hessian()
        vals, vecs = np.linalg.eigh(H)
        slow = vecs[:, 0] * np.sign(vecs[:, 0] @ p.eigenbasis[:, 0])  # same direction, any sign
        expected = np.log10(np.abs((w - p.w_star) @ slow))
        np.testing.assert_allclose(chart.lines[0].y, expected, rtol=1e-9, atol=1e-9)
        await pilot.press("p")  # back to a 2-D problem: the landscape returns
        assert screen.query_one("#landscape").display and not screen.query_one("#eigen").display


async def test_the_loss_chart_draws_the_predicted_rate_from_the_current_point():
    """GD on the note's problem: the dim line starts at the current loss gap and falls by
    2 log10(max |1 - lr λ|) per step, the rate written out here from the Hessian's eigenvalues."""
    import numpy as np

    from tui.widgets.plot import Chart

    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["n"] * 20)
        chart = app.screen.query_one("#loss", Chart)
        line = next(ln for ln in chart.lines if ln.label.startswith("predicted"))
        run = app.lab.traces[0].run
        lam = np.linalg.eigvalsh(run.problem.hessian())
        rate = float(np.max(np.abs(1 - 1e-4 * lam)))
        assert line.dim and line.x[0] == 20
        np.testing.assert_allclose(line.y[0], np.log10(run.loss - run.problem.loss_star), rtol=1e-12)
        slope = (line.y[-1] - line.y[0]) / (line.x[-1] - line.x[0])
        np.testing.assert_allclose(slope, 2 * np.log10(rate), rtol=1e-9)


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


async def test_m_opens_the_rate_map_and_enter_applies_its_cell():
    from tui.screens.ratemap import RateMapScreen

    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RateMapScreen)
        await pilot.press("o")  # the cursor to the optimum
        await pilot.pause()
        from descent_engine.ratemap import cell_settings

        expected = cell_settings(screen.settings, screen.grid, screen.row, screen.col)
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, RateMapScreen)
        assert app.lab.settings == expected
        # gd's rate at lr is max |1 - lr λ| (written out here): o picked the grid's best lr
        import numpy as np

        lam = np.linalg.eigvalsh(app.lab.traces[0].run.problem.hessian())
        lrs = np.asarray(screen.grid.lr)
        rates = np.max(np.abs(1 - np.outer(lrs, lam)), axis=1)
        assert app.lab.traces[0].run.hp["lr"] == lrs[np.argmin(rates)]


async def test_o_places_a_start_point_arrows_move_it_enter_restarts_there():
    import numpy as np

    from tui.widgets.plot import Landscape

    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "n")
        view = app.screen.query_one("#landscape", Landscape)
        (x0, x1), (y0, y1) = view.bounds
        w0 = app.lab.traces[0].run.problem.w0.copy()
        await pilot.press("o", "right", "right", "right", "up", "up")
        assert app.lab.k == 2  # placing changes nothing yet
        await pilot.press("enter")
        expected = (w0[0] + 3 * (x1 - x0) / 24, w0[1] + 2 * (y1 - y0) / 24)
        assert app.lab.settings.start == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(app.lab.traces[0].run.problem.w0, expected, rtol=1e-12)
        assert app.lab.k == 0 and len(app.lab.ghosts) == 1  # restarted; the old run is the ghost
        await pilot.press("o", "left", "escape")
        assert app.lab.settings.start == pytest.approx(expected, rel=1e-12)  # esc: unchanged


async def test_a_click_on_the_landscape_restarts_from_that_point():
    from tui.widgets.plot import Landscape

    app = DescentApp(NOTES_GD, autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.screen.query_one("#landscape", Landscape)
        (x0, x1), (y0, y1) = view.bounds
        await pilot.click("#landscape", offset=(10, 5))
        await pilot.pause()
        # the click's cell in the content region (inside the border), at the cell's centre
        cx, cy = 10 - view.content_region.x + view.region.x, 5 - view.content_region.y + view.region.y
        w, h = view.content_region.width, view.content_region.height
        expected = (x0 + (cx + 0.5) / w * (x1 - x0), y1 - (cy + 0.5) / h * (y1 - y0))
        assert app.lab.settings.start == pytest.approx(expected, rel=1e-12)


async def test_w_writes_the_runs_and_a_session_that_replays(tmp_path):
    import numpy as np

    from descent_engine.run import Run
    from tui.cli.session import read_config

    app = DescentApp(NOTES_GD, autorun=False, screenshot_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["n"] * 7, "w")
        await pilot.pause()
    names = sorted(p.name for p in tmp_path.iterdir())
    csv = next(tmp_path.glob("*-gd.csv"))
    assert len(names) == 3 and any(n.endswith(".npz") for n in names) and any(n.endswith(".toml") for n in names)
    rows = np.loadtxt(csv, delimiter=",", skiprows=1)
    # the same run, stepped here apart from the app: rows 0..7 bit for bit
    run = Run(NOTES_GD)
    run.step(7)
    a = run.history.arrays()
    np.testing.assert_array_equal(rows[:, 2], a["loss"])
    np.testing.assert_array_equal(rows[:, 3:5], a["w"])
    session = read_config(str(next(tmp_path.glob("*.toml"))))
    assert Run(session.settings).settings.resolved().hp == Run(NOTES_GD).settings.resolved().hp


async def test_h_lists_every_run_and_enter_makes_one_the_ghost(tmp_path):
    import csv

    from tui.screens.history import HistoryScreen

    app = DescentApp(NOTES_GD, autorun=False, screenshot_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["n"] * 5, "l", *["n"] * 3, "l", "n")  # run 1 (5 steps), run 2 (3 steps), now run 3
        history = app.lab.history
        assert [r.number for r in history] == [1, 2] and [r.steps for r in history] == [5, 3]
        assert [r.settings.resolved().hp["lr"] for r in history] == [1e-4, 2e-4]
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("w", "up", "enter")  # the table written; the first run as the ghost
        await pilot.pause()
        assert not isinstance(app.screen, HistoryScreen)
        assert len(app.lab.ghosts) == 1 and app.lab.ghosts[0] is history[0].data
    rows = list(csv.reader(open(next(tmp_path.glob("descent-tui-history-*.csv")), encoding="utf-8")))
    assert rows[0][:4] == ["run", "problem", "rule", "lr"] and [r[0] for r in rows[1:]] == ["1", "2"]
    assert rows[2][3] == "2.00e-04" and rows[1][5] == "5"


async def test_the_history_fits_80_columns_without_cutting_a_value():
    """At 80x24 the table says how runs ended in short (✔ 148) and keeps every value whole."""
    from tui.screens.history import HistoryScreen

    app = DescentApp(Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4, "init": "first"}),
                     autorun=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.lab.step(5000)  # converges at 148 and stops there
        await pilot.press("u", "n", "n", "l", "n", "h")  # two runs replaced: one converged, one stopped
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        import html

        text = html.unescape(app.export_screenshot()).replace("\xa0", " ")
        rows = [r for r in app.screen.records]
        assert len(rows) == 2 and rows[0].converged_at == 148
        assert "✔ 148" in text and "…" not in text
        gap = f"{rows[0].final_gap:.3g}"
        assert gap in text
