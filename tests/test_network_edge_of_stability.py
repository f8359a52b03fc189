"""``descent-tui experiment edge-of-stability``: full-batch GD, and its sharpness against 2/lr.

References built here: gradient descent replayed by hand with the gradient written from scratch in
``test_network_hessian.py``, and the top eigenvalue of the complex-step dense Hessian at the
replayed parameters.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_network_cli import run_cli
from test_network_hessian import complex_step_hessian, flat, ref_grad, unflat

from descent_engine.network.data import load_dataset
from descent_engine.network.edge_of_stability import EdgeSettings, edge_of_stability, second_half_mean
from descent_engine.network.experiment_results import LrFinished, LrStarted
from descent_engine.network.net import FullyConnectedNet
from descent_engine.params import ParamError

SMALL = dict(lrs=(0.1, 1.0), num_train=60, hidden=(5, 4), weight_scale=0.5, steps=12, sharpness_every=5,
             dtype="float64", seed=3)


def test_full_batch_gd_and_its_sharpness_against_a_hand_replay():
    data = load_dataset("spirals")
    said = []
    res = edge_of_stability(data, say=said.append, **SMALL)
    assert [type(e) for e in said] == [LrStarted, LrFinished] * 2
    X, y = data.X_train[:60].astype(np.float64), data.y_train[:60]
    init = FullyConnectedNet((5, 4), 2, data.num_classes, weight_scale=0.5, dtype="float64", rng=3).params
    for out, run in zip(res.outcomes, res.runs):
        np.testing.assert_array_equal(out.iterations, [0, 5, 10, 12])  # before the first, every 5, the last
        theta = flat(init)
        for t in range(12):
            P = unflat(theta, init)
            theta = theta - out.lr * ref_grad(P, X, y, 0.0)  # full batch: every example, every step
            if t + 1 in (5, 10, 12):
                H = complex_step_hessian(unflat(theta, init), X, y, 0.0)
                k = list(out.iterations).index(t + 1)
                # Lanczos stops at a residual <= 1e-3 |theta|, which bounds the eigenvalue's error
                assert out.sharpness[k] == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-3)
        np.testing.assert_allclose(flat(run.solver.model.params), theta, rtol=1e-10, atol=1e-12)
        assert out.threshold == 2 / out.lr and out.ratio == out.final_sharpness / out.threshold
        assert out.final_sharpness == out.sharpness[-1] and out.max_sharpness == out.sharpness.max()
        assert second_half_mean(out) == pytest.approx(np.mean(out.sharpness[[2, 3]]))  # iterations 10, 12 >= 6
        assert run.extra_histories["sharpness_iteration_history"].tolist() == [0, 5, 10, 12]
    assert res.settings["num_train"] == 60 and res.examples == 60


def test_the_cli_prints_each_lr_against_two_over_lr(tmp_path, capsys):
    code, stdout, err = run_cli(["experiment", "edge-of-stability", "--out", str(tmp_path), "--dataset", "spirals",
                                 "--num-train", "60", "--steps", "6", "--lrs", "0.1,0.5", "--sharpness-every", "3",
                                 "--seed", "1"], capsys)
    assert code == 0, err
    lines = [line for line in stdout.splitlines() if line.startswith("lr ")]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(lines) == 2 and summary["settings"]["lrs"] == [0.1, 0.5]
    for line, lr in zip(lines, (0.1, 0.5)):
        ratio = summary["values"][f"sharpness_over_threshold_lr{lr:g}"]
        assert line.startswith(f"lr {lr:g}: sharpness ") and f"= {ratio:.2f} x 2/lr (2/lr = {2 / lr:g})" in line
    with np.load(tmp_path / "edge_of_stability_lr0.1.npz") as f:
        assert f["sharpness_iteration_history"].tolist() == [0, 3, 6] and len(f["loss_history"]) == 6


@pytest.mark.parametrize("argv, line", [
    (["--lrs", "0.1,-1"], "--lrs must be in (0, 1e+06] each, got -1"),
    (["--sharpness-every", "0"], "--sharpness-every must be in [1, 1000000000], got 0"),
    (["--seeds", "1,2"], "--seeds: for effective-batch only, not edge-of-stability"),
])
def test_bad_input_is_one_line(argv, line, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["experiment", "edge-of-stability", "--out", "d", *argv], capsys)
    assert code == 2 and err.startswith("descent-tui: error: " + line) and err.count("\n") == 1
    code, _, err = run_cli(["experiment", "overfit", "--out", "d", "--lrs", "0.1"], capsys)
    assert code == 2 and "--lrs: for edge-of-stability only, not overfit" in err
    assert list(tmp_path.iterdir()) == []


def test_settings_are_checked():
    with pytest.raises(ParamError, match="edge-of-stability has no setting seeds"):
        edge_of_stability(load_dataset("spirals"), seeds=(1,))
    assert EdgeSettings().num_train <= 1000  # the examples the sharpness is measured on


def test_a_diverging_lr_says_where(capsys):
    from tui.cli.network_text import summary_lines

    res = edge_of_stability(load_dataset("digits"), lrs=(50.0,), num_train=50, hidden=(8,), steps=40,
                            sharpness_every=5)
    out, losses = res.outcomes[0], res.runs[0].solver.loss_history
    first_bad = next(i for i, x in enumerate(losses) if not np.isfinite(x))
    assert out.diverged and out.diverged_at == first_bad == len(losses) - 1 < 40
    assert out.iterations[-1] <= first_bad  # no measurement after the divergence
    assert summary_lines(res)[1].startswith(f"lr 50: diverged at iteration {first_bad}; the last sharpness measured")
