"""``train --sharpness-every K --noise-every K``: what the files record, against references built here.

The sharpness a train file records is checked against the top eigenvalue (``numpy.linalg.eigvalsh``)
of a dense Hessian built independently: the gradient written from scratch in
``test_network_hessian.py`` (not the model's, not the R-operator's), differentiated column by column
by the complex step (exact to rounding for the piecewise-quadratic loss). The run is replayed from
the file's own settings to each measured iteration. The noise scale is checked against the exact
``tr(Sigma) / |G|^2`` from per-example gradients. The saved parameters reload and give the same loss.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_network_hessian import complex_step_hessian, flat  # the independent references

from descent_engine.network.config import MONITOR_PARAMS, TrainConfig
from descent_engine.network.data import load_dataset
from descent_engine.network.effective_batch import effective_batch, effective_plan
from descent_engine.network.monitors import TrainMonitors, load_parameters
from descent_engine.network.net import FullyConnectedNet
from descent_engine.network.noise import NoiseMonitor, monitor_batches
from test_network_cli import run_cli
from tui.cli.network_text import summary_lines

# spirals: 2 features, 3 classes; 200 examples / batch 50 = 4 steps an epoch, 3 epochs = 12 steps
SMALL = ["--dataset", "spirals", "--hidden", "5,4", "--num-train", "200", "--batch-size", "50", "--epochs", "3",
         "--dtype", "float64", "--weight-scale", "0.5", "--reg", "0.01", "--quiet"]


def _load(path):
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _replay_to(settings, iterations):
    """Replay the run from its file's settings; yield (iteration, solver) at each given step count."""
    solver = TrainConfig.from_record(settings).build()
    for it in iterations:
        while solver.t < it:
            solver.step()
        yield it, solver


def _state(st, name):
    return st[name] if isinstance(st, dict) else getattr(st, name)


@pytest.mark.parametrize("rule, lr", [("sgd", 0.5), ("adam", 0.02), ("rmsprop", 0.01)])
def test_recorded_sharpness_is_the_dense_hessians_top_eigenvalue(rule, lr, tmp_path, capsys):
    out = tmp_path / "run.npz"
    code, _, err = run_cli(["train", *SMALL, "--rule", rule, "--lr", str(lr), "--sharpness-every", "5",
                            "--out", str(out)], capsys)
    assert code == 0, err
    f = _load(out)
    settings, summary = json.loads(str(f["settings"])), json.loads(str(f["summary"]))
    assert settings["sharpness_every"] == 5 and settings["noise_every"] == "off"
    np.testing.assert_array_equal(f["sharpness_iteration_history"], [5, 10, 12])  # every 5, and the last
    assert "noise_scale_history" not in f
    assert ("preconditioned_sharpness_history" in f) == (rule in ("adam", "rmsprop"))
    for k, (it, solver) in enumerate(_replay_to(settings, [5, 10, 12])):
        X, y = solver.X_train[:1000], solver.y_train[:1000]  # the first min(N, 1000) = all 200
        H = complex_step_hessian(dict(solver.model.params), X, y, 0.01)
        top = np.linalg.eigvalsh(H)[-1]
        # Lanczos stops at a residual <= 1e-3 |theta|, which bounds the eigenvalue's error by as much
        assert f["sharpness_history"][k] == pytest.approx(top, rel=1e-3)
        if rule != "sgd":  # the rule's preconditioner, from the replayed states
            eps, states = solver.hp["eps"], solver.optim_states
            if rule == "adam":  # P = sqrt(v / (1 - beta2^t)) + eps
                b2 = solver.hp["beta2"]
                P = flat({n: np.sqrt(_state(st, "v") / (1 - b2 ** _state(st, "t"))) + eps for n, st in states.items()})
            else:  # rmsprop, eps inside the root: P = sqrt(cache + eps)
                P = flat({n: np.sqrt(_state(st, "cache") + eps) for n, st in states.items()})
            s = 1 / np.sqrt(P)
            pre = np.linalg.eigvalsh(s[:, None] * H * s[None, :])[-1]
            assert f["preconditioned_sharpness_history"][k] == pytest.approx(pre, rel=1e-3)
    threshold = {"sgd": 2 / lr, "adam": (2 + 2 * 0.9) / (0.1 * lr), "rmsprop": 2 / lr}[rule]
    assert f["sharpness_threshold_history"][-1] == pytest.approx(threshold)
    assert summary["final_sharpness"] == f["sharpness_history"][-1] and summary["final_sharpness_iteration"] == 12


def test_the_npz_holds_the_final_parameters_under_the_courses_names(tmp_path, capsys):
    out = tmp_path / "run.npz"
    code, _, err = run_cli(["train", *SMALL, "--rule", "sgd_momentum", "--lr", "0.1", "--out", str(out)], capsys)
    assert code == 0, err
    f = _load(out)
    settings, summary = json.loads(str(f["settings"])), json.loads(str(f["summary"]))
    assert {"W1", "b1", "W2", "b2", "W3", "b3"} <= set(f) and f["W1"].shape == (2, 5) and f["b3"].shape == (3,)
    # a fresh net of the file's shape with the saved parameters
    config = TrainConfig.from_record(settings)
    data = config.load()
    fresh = FullyConnectedNet(config.hidden, data.num_features, data.num_classes, reg=config.reg, dtype=config.dtype)
    load_parameters(fresh, {k: f[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")})
    # the run trained again from its settings ends with the same parameters, so the same loss
    again = config.build()
    again.train()
    Xt, yt = again.X_train, again.y_train
    assert fresh.loss(Xt, yt)[0] == again.model.loss(Xt, yt)[0]
    # the course keeps the best validation parameters: the reloaded net has that accuracy on the val set
    acc = float(np.mean(fresh.predict(again.X_val) == again.y_val))
    assert acc == summary["best_val_acc"]
    with pytest.raises(ValueError, match="no parameter W3"):
        load_parameters(fresh, {k: f[k] for k in ("W1", "b1", "W2", "b2")})


def test_noise_every_records_every_k_and_the_last_and_json_has_it(tmp_path, capsys):
    out = tmp_path / "run.json"
    code, stdout, err = run_cli(["train", *SMALL[:-1], "--noise-every", "4", "--sharpness-every", "off",
                                 "--out", str(out)], capsys)
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["noise_scale_iteration_history"] == [4, 8, 12] and len(doc["noise_scale_history"]) == 3
    assert "sharpness_history" not in doc and doc["settings"]["sharpness_every"] == "off"
    assert doc["summary"]["final_noise_scale"] == doc["noise_scale_history"][-1]
    assert "gradient noise scale B_noise " in stdout


def test_the_noise_monitor_estimates_the_exact_noise_scale():
    """At a fixed point: tr(Sigma) and |G|^2 from every example's own gradient, against the monitor."""
    config = TrainConfig(dataset="spirals", hidden=(5,), num_train=60, batch_size=5, epochs=1, dtype="float64",
                         weight_scale=0.5, rule="sgd", rule_params={"lr": 0.1})
    solver = config.build()
    for _ in range(3):
        solver.step()
    table = np.stack([np.concatenate([g.ravel() for g in solver.model.loss(solver.X_train[i:i + 1],
                                                                           solver.y_train[i:i + 1])[1].values()])
                      for i in range(solver.num_train)])
    G = table.mean(axis=0)
    tr = ((table - G) ** 2).sum(axis=1).mean()  # the set's own covariance (batches drawn with replacement)
    assert monitor_batches(5, 60) == (5, 20) and monitor_batches(60, 60) == (15, 60)
    mon = NoiseMonitor(1, draws=4000, seed=1)
    rec = mon.measure(solver)
    # 4000 draws: the means' standard errors are about 1.5% here; 5 standard errors of slack
    assert rec.g2 == pytest.approx(G @ G, rel=0.08) and rec.trace_sigma == pytest.approx(tr, rel=0.08)
    assert rec.b_noise == pytest.approx(tr / (G @ G), rel=0.16)


def test_measuring_leaves_the_training_run_unchanged():
    config = TrainConfig(dataset="spirals", hidden=(6, 6), num_train=150, batch_size=30, epochs=2, dtype="float64")
    plain = config.build()
    plain.train()
    measured = config.build()
    monitors = TrainMonitors(3, 2)
    measured.train(lambda r: monitors.after_step(measured))
    assert measured.loss_history == plain.loss_history
    h = monitors.histories()
    assert list(h["sharpness_iteration_history"]) == [3, 6, 9, 10]
    assert list(h["noise_scale_iteration_history"]) == [2, 4, 6, 8, 10]


def test_measurement_flags_are_params_with_the_labs_defaults(capsys):
    from tui.cli import main

    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for p in MONITOR_PARAMS:
        assert f"{p.flag} N|off" in text and f"default off (the network lab: every {p.default})" in text


@pytest.mark.parametrize("argv, line", [
    (["--sharpness-every", "0"], "--sharpness-every must be off or in [1, 1000000000], got 0"),
    (["--noise-every", "x"], "--noise-every: cannot read 'x' as"),
])
def test_bad_intervals_are_one_line(argv, line, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["train", *argv], capsys)
    assert code == 2 and err.startswith("descent-tui: error: " + line) and err.count("\n") == 1


def _exact_noise_scale(solver) -> tuple[float, float]:
    """tr(Sigma) and |G|^2 of the model's loss over its training set, from every example's own gradient."""
    X, y = solver.X_train, solver.y_train
    table = np.stack([np.concatenate([np.asarray(g, dtype=np.float64).ravel()
                                      for g in solver.model.loss(X[i:i + 1], y[i:i + 1])[1].values()])
                      for i in range(X.shape[0])])
    G = table.mean(axis=0)
    return float(((table - G) ** 2).sum(axis=1).mean()), float(G @ G)


def test_effective_batch_prints_the_noise_scale_next_to_the_batch_found():
    data = load_dataset("digits")
    options = dict(seeds=(1,), sgd_batch=200, num_train=300, steps=3, hidden=[8], noise_draws=3000)
    eb = effective_batch(data, **options)
    n = eb.noise
    assert (n.b_small, n.b_big) == (100, 300)  # the momentum batch and 4x it, capped by the 300 examples
    # at the end of the momentum run (the model it ends with) and at the study's initial weights
    tr, g2 = _exact_noise_scale(next(r.solver for r in eb.runs if r.rule == "sgd_momentum"))
    # 3000 pairs of batches: relative standard errors about 3.4% (tr) and 0.6% (|G|^2) here (measured
    # with other seeds), so 5 of them: 17%, 3% and, for the ratio, 17%
    assert n.trace_sigma_end == pytest.approx(tr, rel=0.17) and n.g2_end == pytest.approx(g2, rel=0.03)
    assert n.end == pytest.approx(tr / g2, rel=0.17)
    tr0, g20 = _exact_noise_scale(effective_plan(data, **{k: v for k, v in options.items()
                                                                       if k != "noise_draws"})[0].build())
    assert n.start == pytest.approx(tr0 / g20, rel=0.17)
    lines = summary_lines(eb)
    assert lines[-2].startswith(f"gradient noise scale B_noise = tr(Sigma)/|G|^2: {n.start:.4g} at the initial")
    assert lines[-1].startswith("the note's claim: momentum acts like a larger batch.")
    assert f"{200 / n.end:.2g} x B_noise at the end" in lines[-1]
    assert eb.values["b_noise"] == n.end
