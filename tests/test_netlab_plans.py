"""The network lab's plans, training job and text, without the screen: the runs it trains are the
engine's (bit for bit the CLI's experiments), the job is deterministic, and the info lines fit."""

from __future__ import annotations

import numpy as np
import pytest

from descent_engine.network.config import TrainConfig
from descent_engine.network.data import blobs, load_dataset
from descent_engine.network.experiments import (NOTE_LRS, NOTE_SEEDS, NOTE_STEPS, compare_rules,
                                                effective_batch)
from descent_engine.schedules import SCHEDULES, get_schedule
from tui.widgets.plot import MONO_MARKERS
from descent_engine.network.lab_plans import (COMPARE_RULES, DEFAULT_EPOCHS, Plan, default_config,
                                              fit_schedule, plans_for)
from tui.netlab.job import SLICE_ROUNDS, Track, TrainingJob
from tui.netlab.text import MARKER_GLYPHS, fit_items, info_items, series_glyph, wrapped_lines

# the small run of the screen tests (tests/test_screens_network.py)
DATA = blobs(n=240, classes=3)  # 192 train / 48 val, 2 features
CONFIG = TrainConfig(dataset="blobs", hidden=(16, 16), weight_scale=0.2, epochs=4, batch_size=20)  # 9 its per epoch
STEPS = {"compare-rules": 15, "effective-batch": 10}  # three and two slices


def test_default_is_the_notes_net_on_digits():
    c = default_config()
    assert (c.dataset, c.rule, c.batch_size, c.hidden, c.weight_scale) == ("digits", "sgd_momentum", 100, (100,) * 5, 5e-2)
    assert c.rule_params["lr"] == NOTE_LRS["sgd_momentum"]


def test_fit_schedule_stretches_the_registry_defaults_to_the_run():
    assert fit_schedule("cosine", 20)["period"] == 20
    assert fit_schedule("warmup", 20)["warmup_epochs"] == 2
    assert fit_schedule("staircase", 20)["milestones"] == (10, 20)
    assert fit_schedule("epoch", 20)["decay"] == pytest.approx(get_schedule("epoch").params.get("decay").default * 5)
    base = get_schedule("polynomial").params.get("base").default
    assert fit_schedule("polynomial", 20)["base"] ** 20 == pytest.approx(base**100)  # same total decay
    assert fit_schedule("constant", 20) == {}
    for name in SCHEDULES:
        get_schedule(name).hparams(fit_schedule(name, 1))  # always valid, even for a one-epoch run


def _trained(plans):
    job = TrainingJob([Track(p, p.config.build(data=p.data)) for p in plans])
    while not job.done:
        job.train_rounds(SLICE_ROUNDS)
    return [t.solver for t in job.tracks]


def test_study_views_step_exactly_the_clis_runs():
    """The screen's compare and effective-batch runs are the engine's: same histories, bit for bit."""
    net = dict(hidden=CONFIG.hidden, weight_scale=CONFIG.weight_scale, dtype=CONFIG.dtype)
    cli = compare_rules(DATA, steps=STEPS["compare-rules"], batch_size=CONFIG.batch_size, **net)
    screen = _trained(plans_for("compare", CONFIG, DATA, steps=STEPS))
    assert [s.update_rule for s in screen] == [r.solver.update_rule for r in cli.runs]
    assert [s.hp for s in screen] == [r.solver.hp for r in cli.runs]
    for s, r in zip(screen, cli.runs):
        assert s.loss_history == r.solver.loss_history and s.train_acc_history == r.solver.train_acc_history

    cli = effective_batch(DATA, sgd_batch=120, momentum_batch=CONFIG.batch_size, steps=STEPS["effective-batch"], **net)
    plans = plans_for("effective", CONFIG, DATA, steps=STEPS)  # default sgd batch: 6 x 20
    screen = _trained(plans)
    assert [(p.config.rule, p.config.batch_size, p.config.seed) for p in plans] == [
        (r.rule, r.batch_size, r.seed) for r in cli.runs]
    assert [p.group for p in plans] == ["sgd_momentum batch 20"] * 3 + ["sgd batch 120"] * 3
    for s, r in zip(screen, cli.runs):
        assert s.num_iterations == STEPS["effective-batch"]
        assert s.loss_history == r.solver.loss_history and s.train_acc_history == r.solver.train_acc_history


def test_study_views_on_digits_are_the_notes_settings():
    """Nothing is trained: the plans of the default screen on digits."""
    digits = load_dataset("digits")
    compare = plans_for("compare", default_config(), digits)
    assert [p.config.rule for p in compare] == list(COMPARE_RULES)
    assert [p.config.rule_params["lr"] for p in compare] == [NOTE_LRS[r] for r in COMPARE_RULES]
    assert {(p.config.num_iterations, p.config.batch_size, p.config.seed, p.config.weight_scale)
            for p in compare} == {(NOTE_STEPS["compare-rules"], 100, 0, 5e-2)}
    study = plans_for("effective", default_config(), digits)
    assert [(p.config.rule, p.config.batch_size, p.config.seed) for p in study] == (
        [("sgd_momentum", 100, s) for s in NOTE_SEEDS] + [("sgd", 600, s) for s in NOTE_SEEDS])
    assert {(p.config.num_iterations, p.config.rule_params["lr"], p.config.log_acc_iteration,
             p.data.X_train.shape[0]) for p in study} == {(NOTE_STEPS["effective-batch"], 1e-2, True, 1438)}
    assert {p.config.batch_size for p in plans_for("effective", default_config(), digits, sgd_batch=300)} == {100, 300}


def test_job_is_deterministic_and_snapshots_are_copies():
    def job():
        return TrainingJob([Track(Plan("a", "", CONFIG), CONFIG.build(data=DATA))])

    a, b = job(), job()
    assert a.train_rounds(7) == 7
    b.train_rounds(7)
    version, (data,) = a.snapshot()
    assert version == 7 and data.t == 7
    assert np.array_equal(data.loss, b.snapshot()[1][0].loss)
    a.train_rounds(3)
    assert data.loss.shape == (7,)  # the snapshot did not grow with the solver
    assert data.ratios.shape == (7, 3)  # three weight matrices: 2 -> 16 -> 16 -> 3


def test_worker_body_trains_to_the_end_and_stops_when_paused():
    job = TrainingJob([Track(Plan("a", "", CONFIG), CONFIG.build(data=DATA))])
    job.train_while_running()  # not running: returns at once
    assert job.version == 0
    job.running = True
    job.train_while_running()  # runs in this thread until the run is done
    assert job.done and not job.active
    assert job.tracks[0].solver.t == job.tracks[0].solver.num_iterations


def test_fit_items_drops_whole_items_lowest_priority_first():
    items = [("aaaa", "", 2), ("bbbb", "", 0), ("cccc", "", 1), ("dddd", "", 0)]
    assert wrapped_lines(items, 10) == 4 // 2  # "aaaa  bbbb" / "cccc  dddd"
    assert fit_items(items, 10, 2) == [(t, s) for t, s, _ in items]
    assert fit_items(items, 10, 1) == [("aaaa", ""), ("cccc", "")]  # dddd (0, the later), then bbbb (0)
    assert fit_items(items, 3, 1) == [("aaaa", "")]  # never empty: the first is kept


def test_series_glyph_is_the_charts_marker_without_colour():
    assert [series_glyph(i, mono=False) for i in range(3)] == ["━"] * 3
    assert [series_glyph(i, mono=True) for i in range(4)] == [
        MARKER_GLYPHS.get(m, m) for m in MONO_MARKERS[:4]]
    assert series_glyph(1, mono=True) == "•"


def test_default_run_is_long_enough_to_watch():
    assert default_config().epochs == DEFAULT_EPOCHS >= 60


def test_compare_summary_names_each_rule_with_its_mark():
    tracks = []
    data = blobs(n=240, classes=3)
    for p in plans_for("compare", CONFIG, data, steps=STEPS):
        tracks.append(Track(p, p.config.build(data=p.data)).data())
    mono = " ".join(text for text, _ in info_items("compare", tracks, None, mono=True))
    for i, rule in enumerate(COMPARE_RULES):
        assert f"{series_glyph(i, True)} {rule}: train" in mono
