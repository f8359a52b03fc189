"""Runs stop: at convergence (the loss at float precision of L*), at --steps (a preset's 100),
and a key keeps them running. Driven by keys with autorun=False, the engine stepped by ``n``
and by Lab.advance with a fake clock (no wall clock)."""

from __future__ import annotations

import numpy as np

from descent_engine.presets import PRESETS
from descent_engine.run import Run, Settings, converge_tolerance
from tui.app import DescentApp
from tui.cli.main import compare_rules
from tui.lab.model import Lab

EPS = float(np.finfo(float).eps)


def test_converge_tolerance_is_the_largest_of_its_three_floors():
    assert converge_tolerance(10.0, 2.0) == 4 * EPS * 2.0
    assert converge_tolerance(1e6, 0.0) == 4 * EPS * EPS * 1e6
    assert converge_tolerance(1.0, 0.0, lam_max=2.0, w_star_norm=3.0) == (4 * EPS * 3.0) ** 2


def test_a_run_records_the_first_step_at_float_precision_of_l_star():
    s = Settings("quadratic", "gd")
    run = Run(s)
    run.step(5000)
    k = run.converged_at
    assert k is not None and 0 < k < 5000
    # checked apart from the Run's flag: the gap of row k is within the tolerance, row k-1's not
    a = Run(s)
    a.step(k)
    p = a.problem
    lam = float(np.max(np.abs(np.linalg.eigvalsh(p.hessian()))))
    tol = max(4 * EPS * abs(p.loss_star), 4 * EPS * EPS * (a.loss0 - p.loss_star),
              0.5 * lam * (4 * EPS * float(np.linalg.norm(p.w_star))) ** 2)
    gap = a.loss - a.problem.loss_star
    assert gap <= tol
    b = Run(s)
    b.step(k - 1)
    assert b.loss - b.problem.loss_star > tol
    assert run.k == 5000  # the run steps on: headless rows 0..steps are all written


def test_the_lab_stops_at_its_step_limit_and_space_runs_on():
    lab = Lab([PRESETS["notes-gdm"].settings], max_steps=100)
    lab.running = True
    t = [0.0]
    lab._clock = lambda: t[0]
    for _ in range(50):
        lab.advance(1.0)
    assert lab.k == 100 and lab.done and "stopped at step 100 (the step limit)" in lab.stop_reason()
    lab.run_on()
    assert not lab.done
    lab.step(5)
    assert lab.k == 105


async def test_the_app_says_converged_and_space_runs_on():
    app = DescentApp(Settings("quadratic", "gd"), autorun=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.lab.step(5000)
        await pilot.press("comma")  # any key redraws; this one steps nothing
        k = app.lab.traces[0].converged_at
        assert k is not None and app.lab.done
        assert f"converged at step {k}" in app.status and "space: run on at 10/s" in app.status
        await pilot.press("full_stop")  # the speed it will run on at shows while stopped
        assert "space: run on at 30/s" in app.status and app.lab.done
        await pilot.press("space")
        assert not app.lab.done and app.lab.running and "running" in app.status
        k = app.lab.k
        await pilot.press("n")  # and n steps on past convergence too
        assert app.lab.k == k + 1


async def test_a_preset_opened_from_the_command_line_stops_at_its_steps(monkeypatch):
    seen = {}

    def fake_run_app(settings, **options):
        seen.update(options, settings=settings)
        return 0

    monkeypatch.setattr("tui.app.run_app", fake_run_app)
    from tui.cli import main

    assert main(["--preset", "notes-gd"]) == 0
    assert seen["max_steps"] == PRESETS["notes-gd"].steps == 100
    seen.clear()
    assert main(["--rule", "adam", "--steps", "250"]) == 0
    assert seen["max_steps"] == 250
    seen.clear()
    assert main(["--problem", "rosenbrock"]) == 0
    assert "max_steps" not in seen  # no preset, no --steps: only convergence stops it


def test_compare_flag_gives_each_rule_its_own_suggested_lr(monkeypatch):
    seen = {}
    monkeypatch.setattr("tui.app.run_app", lambda settings, **options: seen.update(options) or 0)
    from descent_engine.adjust import with_suggested_lr
    from descent_engine.rules import get_rule
    from tui.cli import main

    assert main(["--compare", "gd,momentum,adam"]) == 0
    runs = seen["compare_set"]
    assert [get_rule(s.rule).name for s in runs] == ["gd", "momentum", "adam"]
    base = PRESETS["notes-gdm"].settings
    for s in runs:
        lr = s.resolved().hp["lr"]
        if get_rule(s.rule).name == "momentum":
            assert lr == base.resolved().hp["lr"]  # the base run keeps its own settings
        else:
            from dataclasses import replace

            fresh = replace(base, rule=s.rule, rule_params={}, lr_suggested=False)
            assert lr == with_suggested_lr(fresh).resolved().hp["lr"]
    assert compare_rules("gd, adam", base)[1].rule == "adam"


async def test_a_run_stopped_at_its_limit_keeps_its_whole_loss_on_the_chart():
    """At step 100 of 100 the loss chart still spans the whole run (no line taken for diverged
    because of the prediction drawn past it)."""
    import numpy as np

    from tui.widgets.plot import Chart

    settings = PRESETS["notes-gdm"].settings
    app = DescentApp(settings, autorun=False, max_steps=100)
    async with app.run_test(size=(120, 40)) as pilot:
        app.lab.step(99)
        await pilot.press("n")
        assert app.lab.k == 100 and app.lab.done
        chart = app.screen.query_one("#loss", Chart)
        run = app.lab.traces[0].run
        a = run.history.arrays()
        gap = np.log10(a["loss"] - run.problem.loss_star)
        (x0, x1), (y0, y1) = chart.limits
        assert (x0, x1) == (0.0, 100.0)
        assert y0 <= np.nanmin(gap) and y1 >= np.nanmax(gap)  # every point of the run inside the axes
        assert "diverged" not in chart.legend


async def test_the_prediction_never_makes_the_run_look_diverged():
    from tui.widgets.plot import Chart

    app = DescentApp(PRESETS["notes-gdm"].settings, autorun=False, max_steps=100)
    async with app.run_test(size=(80, 24)) as pilot:
        for k in (0, 1, 50):
            app.lab.step(k - app.lab.k)
            await pilot.press("comma")  # a redraw, no step
            chart = app.screen.query_one("#loss", Chart)
            assert any(ln.label.startswith("predicted") for ln in chart.lines), k
            assert "diverged" not in chart.legend, k


def test_a_run_stops_exactly_where_it_converged_at_any_speed():
    """Stepping in chunks (max speed, the engine process) must not overshoot: the status says
    "converged at step k" and the run stands at k, as at one step a second."""
    settings = PRESETS["notes-gdm"].settings
    one = Lab([settings])
    while not one.done:
        one.step(1)
    k = one.traces[0].converged_at
    assert k is not None and one.k == k
    fast = Lab([settings])
    fast.step(10_000)  # one big chunk
    assert fast.done and fast.k == k and fast.traces[0].k == k


def test_running_on_past_convergence_still_stops_at_the_step_limit_then_runs_past_it():
    settings = PRESETS["notes-gdm"].settings
    lab = Lab([settings], max_steps=500)
    lab.step(10_000)
    k = lab.traces[0].converged_at
    assert lab.done and lab.k == k < 500 and f"converged at step {k}" in lab.stop_reason()
    lab.run_on()  # space: on past convergence ...
    assert not lab.done
    lab.step(10_000)
    assert lab.done and lab.k == 500 and "stopped at step 500 (the step limit)" in lab.stop_reason()
    lab.run_on()  # ... and, pressed again at the limit, past it
    lab.step(7)
    assert not lab.done and lab.k == 507
