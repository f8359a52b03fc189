"""Snapshots of the lab's newer views, advanced by keys only (autorun=False): the momentum forms
panel, the run history, the eigendirection chart of a problem of many dimensions, and the
start-point cursor. Update only after looking at them."""

from __future__ import annotations

from descent_engine.run import Settings
from tui.app import DescentApp

SPECTRUM = Settings("spectrum", "momentum", problem_params={"dim": 20, "kappa": 100.0},
                    rule_params={"lr": 0.01, "beta": 0.8})


def test_momentum_forms_120x40(snap_compare):
    assert snap_compare(DescentApp(autorun=False), terminal_size=(120, 40), press=["f"])


def test_run_history_80x24(snap_compare):
    keys = ["n"] * 5 + ["l"] + ["n"] * 3 + ["L", "n", "h"]
    assert snap_compare(DescentApp(autorun=False), terminal_size=(80, 24), press=keys)


def test_eigendirections_120x40(snap_compare):
    assert snap_compare(DescentApp(SPECTRUM, autorun=False), terminal_size=(120, 40), press=["n"] * 40)


def test_start_point_cursor_80x24(snap_compare):
    keys = ["n"] * 10 + ["o", "right", "right", "down"]
    assert snap_compare(DescentApp(autorun=False), terminal_size=(80, 24), press=keys)
