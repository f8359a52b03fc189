"""The network lab's new parts: the dataset key, the palette's messages, the sharpness chart
(against a dense Hessian built here), the worker process."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App

from descent_engine.network.config import TrainConfig
from descent_engine.network.data import DATASETS, blobs
from descent_engine.network.hessian import first_examples, hvp, stability_threshold
from tui.messages import SetChoice, SetParam
from tui.netlab.screen import NetworkScreen

DATA = blobs(n=240, classes=3)
CONFIG = TrainConfig(dataset="blobs", hidden=(4,), weight_scale=0.5, epochs=4, batch_size=20, dtype="float64",
                     rule="sgd", rule_params={"lr": 0.1})


class Host(App):
    def __init__(self, config: TrainConfig = CONFIG) -> None:
        super().__init__()
        self.config = config

    def on_mount(self) -> None:
        self.push_screen(NetworkScreen(self.config, data=DATA, autorun=False))


def dense_hessian(model, X, y) -> np.ndarray:
    """The Hessian column by column: H e_j from the exact R-operator product."""
    n = sum(np.asarray(v).size for v in model.params.values())
    return np.column_stack([hvp(model, X, y, np.eye(n)[j]) for j in range(n)])


async def test_sharpness_chart_is_the_dense_hessians_top_eigenvalue():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await pilot.press("h")
        while not screen.job.done:  # 4 epochs of 9 iterations: measured once an epoch
            await pilot.press("n")
        await pilot.pause()
        s = screen.job.tracks[0].solver
        data = screen.job.snapshot()[1][0]
        assert list(data.sharp_iteration) == [9, 18, 27, 36] and s.t == 36  # the last at the final parameters
        X, y = first_examples(s.X_train, s.y_train, 1000)
        top = np.linalg.eigvalsh(dense_hessian(s.model, np.asarray(X, float), y))[-1]
        assert data.sharpness[-1] == pytest.approx(top, rel=1e-6)
        assert data.threshold[-1] == pytest.approx(2 / 0.1)  # sgd: 2/eta
        assert stability_threshold("gd", s.hp, 0.1) == pytest.approx(20.0)
        assert np.isnan(data.preconditioned).all()  # sgd has no preconditioner
        assert data.noise_scale.shape == (4,) and data.measure_seconds > 0
        assert "λmax" in screen.query_one("#net-ratio").border_title


async def test_p_switches_the_dataset_and_the_palette_sets_values():
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        names = DATASETS.names()
        await pilot.press("p")
        nxt = names[(names.index("blobs") + 1) % len(names)]
        assert screen.base.dataset == nxt and nxt in screen.query_one("#net-status").plain
        screen.post_message(SetChoice("dataset", "blobs"))
        await pilot.pause()
        assert screen.base.dataset == "blobs"
        screen.post_message(SetParam("batch_size", "30"))
        screen.post_message(SetParam("hidden", "8,8"))
        screen.post_message(SetParam("epochs", "3"))
        screen.post_message(SetParam("lr", "0.05"))
        screen.post_message(SetChoice("schedule", "cosine"))
        await pilot.pause()
        b = screen.base
        assert (b.batch_size, b.hidden, b.epochs, b.rule_params["lr"], b.schedule) == (30, (8, 8), 3, 0.05, "cosine")
        assert screen.job.tracks[0].solver.batch_size == 30
        screen.post_message(SetParam("batch_size", "-4"))
        screen.post_message(SetParam("hidden", "x"))
        await pilot.pause()
        assert screen.base == b  # rejected: nothing changed, no traceback
        assert len([n for n in app._notifications if n.severity == "error"]) == 2


def test_worker_process_trains_the_same_run_as_the_screen(tmp_path):
    """The child rebuilds the solver from the plan and trains it: its numbers equal in-process ones."""
    from descent_engine.network.lab_plans import plans_for
    from tui.background import BackgroundProcess
    from tui.netlab.job import Track, TrainingJob
    from tui.netlab.remote import RemoteJob, train_loop

    plan = plans_for("single", CONFIG, DATA)[0]
    local = TrainingJob([Track(plan, CONFIG.build(data=DATA))])
    local.train_rounds(7)
    proc = BackgroundProcess(train_loop)
    try:
        remote = RemoteJob(proc, [Track(plan, CONFIG.build(data=DATA))], [DATA])
        remote.train_rounds(7)
        import time
        deadline = time.time() + 30
        while remote.version == 0 and time.time() < deadline:
            remote.poll()
            time.sleep(0.02)
        assert remote.version == 7
        np.testing.assert_array_equal(remote.snapshot()[1][0].loss, local.snapshot()[1][0].loss)
    finally:
        proc.close()


def test_sharpness_chart_160x48(snap_compare):
    """The single run with the sharpness chart (h) after 20 iterations of adam: preconditioned too."""
    config = TrainConfig(dataset="blobs", hidden=(16, 16), weight_scale=0.2, epochs=4, batch_size=20, rule="adam",
                         rule_params={"lr": 1e-3})
    assert snap_compare(Host(config), press=["h", "n", "n", "n", "n"], terminal_size=(160, 48))
