"""Engine tests of the network lab: gradients, training, histories, datasets."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from descent_engine.network import DatasetError, FullyConnectedNet, Solver, load_dataset, load_npz
from descent_engine.network.data import blobs, spirals
from descent_engine.network.experiments import compare_rules, effective_batch, overfit, rel_error


def test_gradients_match_central_differences_float64():
    rng = np.random.default_rng(1)
    model = FullyConnectedNet([7, 5], input_dim=4, num_classes=3, weight_scale=0.5, reg=0.3,
                              dtype="float64", rng=2)
    for name in model.params:  # non-zero biases so their gradients are exercised too
        model.params[name] += 0.1 * rng.standard_normal(model.params[name].shape)
    X = rng.standard_normal((6, 4))
    y = np.array([0, 1, 2, 2, 1, 0])
    _, grads = model.loss(X, y)
    h = 1e-6
    for name, w in model.params.items():
        num = np.empty_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + h
            lp, _ = model.loss(X, y)
            w[idx] = old - h
            lm, _ = model.loss(X, y)
            w[idx] = old
            num[idx] = (lp - lm) / (2 * h)
        err = np.max(np.abs(num - grads[name]) / np.maximum(1e-8, np.abs(num) + np.abs(grads[name])))
        assert err < 1e-6, (name, err)


def test_float32_stays_float32_and_reuse_matches_fresh():
    data = blobs(n=200, features=5, seed=3)
    model = FullyConnectedNet([16, 16], 5, data.num_classes, weight_scale=0.3, reg=0.01, dtype="float32", rng=0)
    X = data.X_train[:32]
    y = data.y_train[:32]
    loss, fresh = model.loss(X, y)
    loss2, reused = model.loss(X.astype(np.float32), y, reuse=True)
    assert loss == pytest.approx(loss2)
    for k in fresh:
        assert fresh[k].dtype == np.float32 and reused[k].dtype == np.float32
        np.testing.assert_allclose(fresh[k], reused[k], rtol=1e-5, atol=1e-7)
    assert model.loss(X).dtype == np.float32 and model.loss(X).shape == (32, data.num_classes)


def test_solver_overfits_fifty_digits():
    result = overfit(load_dataset("digits"))
    solver = result.runs[0].solver
    assert solver.num_train == 50
    assert solver.train_acc_history[-1] == 1.0


@pytest.mark.parametrize("rule", ["gd", "sgd_momentum", "momentum", "nesterov", "rmsprop", "adagrad", "adam", "adamw"])
def test_each_rule_reduces_the_loss(rule):
    data = spirals(n_per_class=100, seed=0)
    model = FullyConnectedNet([32], 2, 3, weight_scale=0.5, dtype="float64", rng=0)
    lr = {"rmsprop": 1e-2, "adagrad": 1e-1, "adam": 1e-2, "adamw": 1e-2}.get(rule, 1e-1)
    solver = Solver(model, data, update_rule=rule, optim_config={"learning_rate": lr}, batch_size=240,
                    num_epochs=40, seed=0, verbose=False)
    first = model.loss(data.X_train, data.y_train)[0]
    solver.train(keep_best=False)
    assert model.loss(data.X_train, data.y_train)[0] < 0.8 * first


def test_histories_npz_roundtrip_and_schedule(tmp_path):
    data = blobs(n=300, seed=1)
    model = FullyConnectedNet([8], 2, data.num_classes, weight_scale=0.1, rng=0)
    solver = Solver(model, data, update_rule="sgd_momentum", optim_config={"lr": 0.1}, lr_schedule="exponential",
                    schedule_config={"decay": 0.5}, batch_size=60, num_epochs=3, seed=4, verbose=False,
                    log_acc_iteration=2)
    results = []
    solver.train(results.append)
    n = solver.num_iterations
    assert n == 3 * (240 // 60) and len(results) == n and results[-1].done
    solver.record_histories_as_npz(tmp_path / "h")
    with np.load(tmp_path / "h.npz", allow_pickle=False) as f:
        np.testing.assert_array_equal(f["loss_history"], solver.loss_history)
        np.testing.assert_array_equal(f["train_acc_history"], solver.train_acc_history)
        np.testing.assert_array_equal(f["val_acc_history"], solver.val_acc_history)
        np.testing.assert_array_equal(f["log_acc_iteration_history"], solver.log_acc_iteration_history)
        np.testing.assert_allclose(f["lr_history"], [0.1 * np.exp(-0.5 * (t // 4)) for t in range(n)])
        assert f["update_ratio_history"].shape == (n, 2)
        assert np.all(f["update_ratio_history"] > 0)
    # first, every 2nd and last iteration (0-based indices of the iteration just trained)
    assert solver.log_acc_iteration_history == [0] + list(range(1, n, 2))
    assert len(solver.train_acc_history) == len(solver.log_acc_iteration_history)


def test_solver_is_reproducible_per_seed_and_accepts_note_names():
    data = blobs(n=200, seed=0)

    def run(seed):
        m = FullyConnectedNet([10], 2, data.num_classes, weight_scale=0.1, rng=seed)
        s = Solver(m, data, update_rule="adam", optim_config={"learning_rate": 1e-2, "epsilon": 1e-7},
                   batch_size=20, num_epochs=2, seed=seed, verbose=False)
        s.train()
        return s

    a, b, c = run(5), run(5), run(6)
    assert a.hp["lr"] == 1e-2 and a.hp["eps"] == 1e-7
    assert a.loss_history == b.loss_history and a.loss_history != c.loss_history


def test_divergence_stops_training():
    data = blobs(n=200, seed=0)
    model = FullyConnectedNet([10, 10], 2, data.num_classes, weight_scale=1.0, rng=0)
    solver = Solver(model, data, update_rule="sgd", optim_config={"lr": 1e5}, batch_size=20, num_epochs=50,
                    verbose=False)
    with np.errstate(all="ignore"):
        solver.train()
    assert solver.diverged and len(solver.loss_history) < solver.num_iterations


def test_rel_error_and_small_experiments():
    assert rel_error(0.5, 0.5) == 0 and rel_error(1.0, 0.0) == 1.0
    data = load_dataset("digits")
    res = compare_rules(data, num_train=200, epochs=1, hidden=[20])
    assert [r.name for r in res.runs] == [f"optimizer_experiment_{r}" for r in ("sgd", "sgd_momentum", "adam", "rmsprop")]
    assert [r.solver.hp["lr"] for r in res.runs] == [1e-2, 1e-2, 1e-3, 1e-4]
    eb = effective_batch(data, seeds=(1, 2), sgd_batch=200, num_train=450, hidden=[20])
    assert eb.settings["num_train"] == 400  # rounded down to a multiple of the sgd batch
    steps = {r.solver.num_iterations for r in eb.runs}
    assert steps == {20}  # 2 steps x 10 epochs == 4 steps x 5 epochs
    assert eb.summary[1].startswith("Average Training Acc for sgd: ")
    assert eb.summary[3].startswith("Train Acc Difference: ")
    x, mean, lo, hi = eb.bands["sgd_momentum"]["train_acc"]
    assert len(x) == 20 and np.all(lo <= mean) and np.all(mean <= hi)


# ---------------------------------------------------------------------------------------------
def test_builtin_datasets():
    d = load_dataset("digits")
    assert d.num_features == 64 and d.num_classes == 10
    assert d.X_train.shape[0] + d.X_val.shape[0] == 1797
    assert d.X_train.min() >= 0 and d.X_train.max() <= 1
    s1, s2 = spirals(seed=3), spirals(seed=3)
    np.testing.assert_array_equal(s1.X_train, s2.X_train)
    assert not np.array_equal(spirals(seed=4).X_train, s1.X_train)
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("mnist")


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


def _good(n=10, shape=(3,)):
    rng = np.random.default_rng(0)
    return dict(X_train=rng.standard_normal((n, *shape)), y_train=np.arange(n) % 3,
                X_val=rng.standard_normal((4, *shape)), y_val=np.array([0, 1, 2, 1]))


def test_load_npz_accepts_image_shaped_data(tmp_path):
    d = load_npz(_save(tmp_path / "img.npz", **_good(shape=(32, 32, 3))))
    assert d.X_train.shape == (10, 3072) and d.num_classes == 3
    assert load_dataset(str(tmp_path / "img.npz")).num_features == 3072


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("y_val"), "has no 'y_val'"),
    (lambda a: a.update(X_train=np.ones(10)), "X_train must be N x features"),
    (lambda a: a.update(y_train=np.zeros((10, 1), int)), "y_train must be 1-D"),
    (lambda a: a.update(y_train=np.arange(9)), "y_train has 9 labels but X_train has 10 rows"),
    (lambda a: a.update(y_val=np.array([0, 1.5, 2, 1])), "y_val has a non-integer label"),
    (lambda a: a.update(y_val=np.array([0, -1, 2, 1])), "y_val has a negative label"),
    (lambda a: a.update(X_val=np.ones((4, 5))), "X_val has 5 features but X_train has 3"),
    (lambda a: a.update(X_train=np.array([[object()]] * 10)), "X_train holds Python objects"),
])
def test_bad_npz_files_give_one_line_errors(tmp_path, change, message):
    arrays = _good()
    change(arrays)
    path = _save(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetError) as info:
        load_npz(path)
    text = str(info.value)
    assert message in text and "\n" not in text and str(path) in text


def test_missing_and_pickled_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_npz(tmp_path / "nope.npz")
    pkl = tmp_path / "data.npz"
    pkl.write_bytes(pickle.dumps(_good()))
    with pytest.raises(DatasetError, match="pickled"):
        load_npz(pkl)
    npy = tmp_path / "one.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(DatasetError, match="single .npy"):
        load_npz(npy)


def test_engine_never_imports_ui():
    import subprocess
    import sys

    code = ("import sys, descent_engine.network.experiments, descent_engine.network.config; "
            "print(any(m.split('.')[0] in ('textual', 'plotext', 'tui') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
