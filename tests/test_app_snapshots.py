"""Snapshot tests of the lab (pytest-textual-snapshot), advanced by key presses only.

``DescentApp(autorun=False)`` never steps on its own, so every screen here is reproducible.
Update with ``pytest tests/test_app_snapshots.py --snapshot-update`` only after looking at them.
"""

from __future__ import annotations

from descent_engine.run import Settings
from tui.app import DescentApp

NOTES_GD = Settings("notes-ls", "gd", rule_params={"lr": 1e-4})


def test_main_screen_160x48(snap_compare):
    assert snap_compare(DescentApp(autorun=False), terminal_size=(160, 48), press=["n"] * 30)


def test_main_screen_80x24(snap_compare):
    assert snap_compare(DescentApp(autorun=False), terminal_size=(80, 24), press=["n"] * 30)


def test_ghost_after_lr_change(snap_compare):
    # 20 steps, halve lr (restart, old run kept as a ghost), 10 steps of the new run
    keys = ["n"] * 20 + ["L"] + ["n"] * 10
    assert snap_compare(DescentApp(autorun=False), terminal_size=(160, 48), press=keys)


def test_compare_mode(snap_compare):
    # the note's comparison: gd against momentum at lr 1e-4, beta 0.4
    keys = ["c"] + ["n"] * 40
    assert snap_compare(DescentApp(autorun=False), terminal_size=(160, 48), press=keys)


def test_diverged_run(snap_compare):
    # gd at 2e-4 is past the bound 2/lam_max = 1.07e-4: it diverges at step 12
    keys = ["l"] + ["n"] * 12
    assert snap_compare(DescentApp(NOTES_GD, autorun=False), terminal_size=(160, 48), press=keys)


def test_too_small(snap_compare):
    assert snap_compare(DescentApp(autorun=False), terminal_size=(50, 15))


def test_rosenbrock_adam_medium(snap_compare):
    app = DescentApp(Settings("rosenbrock", "adam", rule_params={"lr": 1e-2}), autorun=False)
    assert snap_compare(app, terminal_size=(110, 32), press=["n"] * 25)


def test_no_color_markers(snap_compare, monkeypatch):
    # NO_COLOR: every colour is gone, so the compared series must differ by their markers
    monkeypatch.setenv("NO_COLOR", "1")
    app = DescentApp(autorun=False)
    assert app.no_color
    assert snap_compare(app, terminal_size=(160, 48), press=["c"] + ["n"] * 40)
