"""The network lab screen: snapshots at fixed sizes and pilot tests of every key it binds.

The screen is hosted in a minimal App defined here, on a small generated data set and a small
net, with ``autorun=False``: it never trains on its own (no worker thread, no clock); the ``n``
key trains one slice of SLICE_ROUNDS iterations synchronously. The compare and study views take
a few steps here (``STEPS``) instead of the note's 200 and 300.
"""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App

from descent_engine.ewa import ewa
from descent_engine.network.config import TrainConfig
from descent_engine.network.data import blobs
from descent_engine.network.experiments import NOTE_LRS, rel_error
from descent_engine.rules import RULES, get_rule
from descent_engine.schedules import SCHEDULES, get_schedule
from tui.widgets.plot import Chart
from descent_engine.network.lab_plans import COMPARE_RULES, fit_schedule
from tui.netlab.job import RULE_COLORS, SLICE_ROUNDS
from tui.netlab.screen import PACES, NetworkScreen


DATA = blobs(n=240, classes=3)  # 192 train / 48 val, 2 features
CONFIG = TrainConfig(dataset="blobs", hidden=(16, 16), weight_scale=0.2, epochs=4, batch_size=20)  # 9 its per epoch
STEPS = {"compare-rules": 15, "effective-batch": 10}  # three and two slices


def make_screen() -> NetworkScreen:
    return NetworkScreen(CONFIG, data=DATA, autorun=False, steps=STEPS)


class NetHost(App):
    def on_mount(self) -> None:
        self.push_screen(make_screen())


class OpenerHost(App):
    """Opens nothing: ``t`` pushes the lab, as the main app does."""

    BINDINGS = [("t", "network", "network lab")]

    def action_network(self) -> None:
        self.push_screen(make_screen())


def status(screen: NetworkScreen) -> str:
    return screen.query_one("#net-status").plain


def info(screen: NetworkScreen) -> str:
    return screen.query_one("#net-info").plain


def solver(screen: NetworkScreen, i: int = 0):
    return screen.job.tracks[i].solver


# -- snapshots ----------------------------------------------------------------------------------
def test_network_80x24_after_slices(snap_compare):
    assert snap_compare(NetHost(), press=["n", "n", "n"], terminal_size=(80, 24))


def test_network_160x48_after_slices(snap_compare):
    assert snap_compare(NetHost(), press=["n", "n", "n", "n"], terminal_size=(160, 48))


def test_network_ghost_after_lr_change_160x48(snap_compare):
    assert snap_compare(NetHost(), press=["n", "n", "n", "l", "n", "n"], terminal_size=(160, 48))


def test_network_compare_80x24(snap_compare):
    assert snap_compare(NetHost(), press=["c", "n", "n", "n"], terminal_size=(80, 24))


def test_network_effective_batch_done_160x48(snap_compare):
    assert snap_compare(NetHost(), press=["f", "n", "n"], terminal_size=(160, 48))


# -- pure parts ---------------------------------------------------------------------------------


# -- pilot: keys --------------------------------------------------------------------------------
async def test_space_toggles_run_state_without_training_in_test_mode():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, NetworkScreen)
        assert "⏸ paused" in status(screen)
        await pilot.press("space")
        assert screen.running and "▶ training" in status(screen)
        assert screen._worker is None and solver(screen).t == 0  # autorun=False: no thread
        await pilot.press("space")
        assert not screen.running and "⏸ paused" in status(screen)


async def test_n_trains_one_slice_and_the_charts_follow():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("n")
        assert solver(screen).t == SLICE_ROUNDS
        await pilot.press("n")
        s = solver(screen)
        assert s.t == 2 * SLICE_ROUNDS
        assert f"it {s.t}/{s.num_iterations}" in status(screen) and "epoch 1/4" in status(screen)
        loss = screen.query_one("#net-loss", Chart)
        raw, smooth = loss.lines
        assert np.array_equal(raw.y, s.loss_history)
        assert np.allclose(smooth.y, ewa(s.loss_history, 0.9, bias_correction=True))  # mu = 0.9
        acc = screen.query_one("#net-acc", Chart)
        assert [ln.label for ln in acc.lines] == ["train", "val"]
        assert np.array_equal(acc.lines[0].y, s.train_acc_history)
        ratio = screen.query_one("#net-ratio", Chart)
        assert len(ratio.lines) == 3  # one per weight matrix: 2 -> 16 -> 16 -> 3
        # the legend is in the border, so it stays at 80x24 too
        assert [ln.label for ln in ratio.lines] == ["W1", "W2", "W3"] and "W1" in ratio.legend
        assert f"loss {s.loss_history[-1]:.3f}" in info(screen)


async def test_r_restarts_from_the_same_start():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("n")
        first = list(solver(screen).loss_history)
        await pilot.press("r")
        assert solver(screen).t == 0 and screen.ghost is None
        await pilot.press("n")
        assert solver(screen).loss_history == first


async def test_u_cycles_the_rules_with_the_notes_lr_and_keeps_a_ghost():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        names = list(RULES)
        i = names.index("sgd_momentum")
        await pilot.press("n", "u")
        nxt = names[(i + 1) % len(names)]
        assert get_rule(screen.base.rule).name == nxt
        assert solver(screen).update_rule == nxt and solver(screen).t == 0
        assert screen.ghost is not None and screen.ghost.rule == "sgd_momentum"
        assert screen.query_one("#net-loss", Chart).lines[0].dim
        await pilot.press("U", "U")
        prev = names[(i - 1) % len(names)]
        assert get_rule(screen.base.rule).name == prev
        await pilot.press("U")
        while get_rule(screen.base.rule).name != "adam":
            await pilot.press("u")
        assert solver(screen).hp["lr"] == NOTE_LRS["adam"]


async def test_b_nudges_the_main_beta_and_gd_has_none():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("b")
        assert solver(screen).hp["momentum"] == pytest.approx(0.95)
        assert "mu 0.95" in status(screen)
        await pilot.press("B", "B")
        assert solver(screen).hp["momentum"] == pytest.approx(0.8)
        loss = screen.query_one("#net-loss", Chart)
        assert "β 0.8" in str(loss.border_title)  # the loss EWA follows the rule's beta
        while get_rule(screen.base.rule).name != "gd":
            await pilot.press("u")
        job = screen.job
        await pilot.press("b")
        assert screen.job is job  # nothing to nudge: no restart


async def test_l_doubles_and_L_halves_the_lr_with_the_old_run_as_ghost():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("n", "l")
        assert solver(screen).hp["lr"] == pytest.approx(0.02)
        assert screen.ghost is not None and screen.ghost.t == SLICE_ROUNDS
        # 80x24: the ghost's summary is folded into the one summary line
        assert "previous (sgd_momentum lr 0.01) val" in info(screen)
        assert len(screen.query_one("#net-info").items) and screen.query_one("#net-info").size.height == 1
        assert screen.query_one("#net-status").size.height == 2
        await pilot.press("L", "L")
        assert solver(screen).hp["lr"] == pytest.approx(0.005)
        assert "lr 0.005" in status(screen)


async def test_d_cycles_the_schedules_fitted_to_the_run():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        names = list(SCHEDULES)
        await pilot.press("d")
        s = solver(screen)
        assert s.schedule.name == names[1]
        assert s.schedule_hp == get_schedule(names[1]).hparams(fit_schedule(names[1], CONFIG.epochs))
        assert f"{names[1]} k" in status(screen)  # 80x24: the schedule and its knobs as one item
        planned = screen.job.tracks[0].planned_lr
        assert planned[-1] < planned[0]  # a decay over the run, not a flat line
        await pilot.press("D", "D")
        assert solver(screen).schedule.name == names[-1]


async def test_c_compares_the_four_rules_at_the_notes_rates():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("c")
        assert screen.view == "compare" and "compare rules" in status(screen)
        rules = [t.solver.update_rule for t in screen.job.tracks]
        assert rules == [get_rule(r).name for r in COMPARE_RULES]
        assert [t.solver.hp["lr"] for t in screen.job.tracks] == [NOTE_LRS[r] for r in COMPARE_RULES]
        await pilot.press("n")
        assert all(t.solver.t == SLICE_ROUNDS for t in screen.job.tracks)  # lockstep
        loss = screen.query_one("#net-loss", Chart)
        assert [ln.color for ln in loss.lines] == [RULE_COLORS[r] for r in COMPARE_RULES]
        assert [ln.label for ln in loss.lines] == list(COMPARE_RULES)  # named in the border legend
        # ... so the status names each rule with its colour swatch and its lr
        assert all(f"━ {r} lr" in status(screen) for r in COMPARE_RULES)
        assert "it 5/15 (0.6 epochs)" in status(screen)  # a step count, not an early stop
        job = screen.job
        await pilot.press("u")  # the compared rules are fixed
        assert screen.job is job
        assert "u/U" not in [k for k, _ in screen.hints()]
        await pilot.press("l")
        assert [t.solver.hp["lr"] for t in screen.job.tracks] == [2 * NOTE_LRS[r] for r in COMPARE_RULES]
        await pilot.press("c")
        assert screen.view == "single" and len(screen.job.tracks) == 1
        assert "u/U" in [k for k, _ in screen.hints()]


async def test_f_runs_the_effective_batch_study_and_prints_the_relative_error():
    app = NetHost()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("f")
        assert screen.view == "effective" and len(screen.job.tracks) == 6
        assert "relative error when all 6 runs are done" in info(screen)
        assert "step 0/10 each" in status(screen) and "seeds 100,200,300" in status(screen)
        while not screen.job.done:
            await pilot.press("n")
        finals = {}
        for t in screen.job.tracks:
            finals.setdefault(t.solver.update_rule, []).append(t.solver.train_acc_history[-1])
        err = rel_error(np.mean(finals["gd"]), np.mean(finals["sgd_momentum"]))
        assert f"relative error {err:.4f}" in info(screen)
        assert ("< 0.04: similar" if err < 0.04 else ">= 0.04: not similar") in info(screen)
        assert "✔ done" in status(screen)
        acc = screen.query_one("#net-acc", Chart)
        labels = [ln.label for ln in acc.lines if ln.label]
        assert labels == ["sgd_momentum batch 20", "sgd batch 120"]
        mean = acc.lines[4].y  # bands (lo, hi of each setting) first, then the means
        lo, hi = acc.lines[0].y, acc.lines[1].y
        assert np.all(lo <= mean + 1e-12) and np.all(mean <= hi + 1e-12)
        await pilot.press("f")
        assert screen.view == "single"


async def test_brackets_change_the_studys_sgd_batch_by_one_momentum_batch():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert "[/]" not in dict(screen.hints())
        await pilot.press("right_square_bracket")  # not bound outside the study
        assert screen.view == "single"
        await pilot.press("f")
        assert "[/]" in dict(screen.hints())

        def batches():
            return sorted({t.solver.batch_size for t in screen.job.tracks if t.solver.update_rule == "gd"})

        assert batches() == [120]
        await pilot.press("right_square_bracket", "right_square_bracket", "right_square_bracket")
        assert batches() == [180] and "sgd batch 180" in status(screen)
        job = screen.job
        await pilot.press("right_square_bracket")  # 200 > the 192 training examples: refused
        assert screen.job is job and batches() == [180]
        await pilot.press("l")  # other keys keep the chosen batch
        assert batches() == [180] and screen.job.tracks[0].solver.hp["lr"] == pytest.approx(2 * NOTE_LRS["sgd"])
        for _ in range(8):
            await pilot.press("left_square_bracket")
        assert batches() == [20]  # down to sgd_momentum's batch
        job = screen.job
        await pilot.press("left_square_bracket")  # not below
        assert screen.job is job
        await pilot.press("f", "f")  # the note's settings again
        assert batches() == [120]


async def test_escape_and_t_close_the_lab():
    app = OpenerHost()
    async with app.run_test(size=(80, 24)) as pilot:
        for key in ("escape", "t"):
            await pilot.press("t")
            assert isinstance(app.screen, NetworkScreen)
            await pilot.press(key)
            assert not isinstance(app.screen, NetworkScreen)


async def test_hints_list_every_shown_binding():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        hints = dict(screen.hints())
        for key in ("space", "n", "r", "u/U", "b/B", "l/L", "d/D", "c", "f", "esc"):
            assert key in hints
        assert screen.query_one("#net-hints").plain.count("  ") >= len(hints) - 1


async def test_tiny_and_resized_terminal_does_not_crash():
    app = NetHost()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.has_class("-too-small")
        await pilot.press("n", "c", "n")
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert not screen.has_class("-too-small")
        assert all(t.solver.t == SLICE_ROUNDS for t in screen.job.tracks)


# -- small terminals, legends, pace, quit ---------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 48)])
async def test_the_layer_chart_has_a_legend_at_every_size(size):
    app = NetHost()
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        await pilot.pause()
        legend = app.screen.query_one("#net-ratio", Chart).legend
        assert "W1" in legend and "W3" in legend  # the blobs net has three weight matrices


async def test_ghost_at_80x24_keeps_status_lines_and_chart_rows():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("n")
        rows = [c.size.height for c in screen.query(Chart)]
        await pilot.press("l", "n")
        await pilot.pause()
        assert screen.ghost is not None
        assert [c.size.height for c in screen.query(Chart)] == rows  # the ghost took no rows
        assert screen.query_one("#net-status").size.height + screen.query_one("#net-info").size.height == 3
        loss = screen.query_one("#net-loss", Chart)
        assert "previous" in loss.legend or "pre" in loss.legend  # in the border: no rows taken


async def test_legends_are_kept_where_they_fit():
    app = NetHost()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        await pilot.press("n", "l", "n")
        await pilot.pause()
        assert [ln.label for ln in screen.query_one("#net-ratio", Chart).lines] == ["previous", "W1", "W2", "W3"]
        assert [ln.label for ln in screen.query_one("#net-loss", Chart).lines] == ["previous", "loss", "EWA"]
        assert "previous (sgd_momentum lr 0.01): train" in info(screen)


async def test_pace_keys_cap_the_live_speed_and_q_quits():
    app = NetHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.job.pace is None
        await pilot.press("comma", "comma")
        assert screen.job.pace == PACES[2] and f"≤{PACES[2]} it/s" in status(screen)
        await pilot.press("r")  # a restart keeps the pace
        assert screen.job.pace == PACES[2]
        await pilot.press("full_stop", "full_stop", "full_stop")
        assert screen.job.pace is None and "it/s" not in status(screen)
        assert any(b.key == "q" and b.action == "app.quit" for b in screen.BINDINGS)  # in help, not the footer
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running
