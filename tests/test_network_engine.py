"""Engine tests of the network lab: gradients, training, histories, datasets."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from descent_engine.params import ParamError

from descent_engine.network import DatasetError, FullyConnectedNet, Solver, load_dataset, load_npz
from descent_engine.network import experiments
from descent_engine.network.data import DIGITS_TO_8BIT, _split, blobs, spirals
from descent_engine.network.experiment_results import GroupResult, GroupStarted
from descent_engine.network.experiments import NOTE_LRS, compare_rules, effective_batch, overfit, rel_error
from tui.cli.network_text import event_line, summary_lines

NOTE_RULES = tuple(NOTE_LRS)
from descent_engine.rules import RULES


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


def test_solver_overfits_fifty_digits_with_the_notes_settings():
    result = overfit(load_dataset("digits"))
    s = result.settings
    assert (s["weight_scale"], s["lr"], s["rule"], s["epochs"], s["batch_size"]) == (1e-1, 1e-3, "sgd", 20, 25)
    solver = result.runs[0].solver
    assert solver.num_train == 50 and solver.num_iterations == 40
    assert solver.train_acc_history[-1] == 1.0


SMALL_SETTINGS = [(name, {}) for name in RULES] + [("momentum", {"init": "zero", "bias_correction": True}),
                                                   ("adamw", {"weight_decay": 0.5})]


@pytest.mark.parametrize("rule,values", SMALL_SETTINGS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("replace_w1", [False, True])  # True: the model's flat array is broken up
def test_inplace_solver_equals_the_pure_update_path_bit_for_bit(rule, values, dtype, replace_w1):
    """The in-place path updates the whole model as one flat array (or array by array once a
    parameter was replaced); either way the same operations as the pure path, so the same bits."""
    data = blobs(n=120, features=3, seed=2)
    solvers = []
    for inplace in (True, False):
        model = FullyConnectedNet([12, 9], 3, data.num_classes, weight_scale=0.3, dtype=dtype, rng=1)
        assert model.flat_params() is not None
        if replace_w1:
            model.params["W1"] = model.params["W1"].copy()
            assert model.flat_params() is None
        lr = RULES[rule].params.get("lr").default
        solvers.append(Solver(model, data, update_rule=rule, optim_config={**values, "lr": lr}, batch_size=16,
                              num_epochs=3, seed=3, verbose=False, inplace=inplace))
    fast, pure = solvers
    assert fast.inplace and not pure.inplace
    fields = [f for f, a in fast.optim_states["W1"].items() if isinstance(a, np.ndarray)]
    for f in fields:  # one state array for the whole model unless it was broken up
        shared = fast.optim_states["W1"][f].base is fast.optim_states["b2"][f].base is not None
        assert shared != replace_w1
    arrays = {k: v for k, v in fast.model.params.items()}  # the very arrays the model starts with
    fast.train(keep_best=False)
    pure.train(keep_best=False)
    assert all(fast.model.params[k] is arrays[k] for k in arrays)  # updated in place, never replaced
    for k, w in fast.model.params.items():
        assert w.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(w, pure.model.params[k])
        for field, value in pure.optim_states[k].items():  # each parameter's state, step count too
            np.testing.assert_array_equal(fast.optim_states[k][field], value)
    np.testing.assert_array_equal(fast.loss_history, pure.loss_history)
    np.testing.assert_array_equal(fast.update_ratio_history, pure.update_ratio_history)
    for k, best in fast.best_params.items():  # copies, not views of the weights being trained
        assert not np.shares_memory(best, fast.model.params[k])


def test_update_ratio_is_the_applied_change_over_the_weights_before():
    data = blobs(n=200, seed=5)
    model = FullyConnectedNet([10, 10], 2, data.num_classes, weight_scale=0.2, dtype="float64", rng=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"lr": 1e-2}, batch_size=20, num_epochs=1,
                    verbose=False)
    for _ in range(4):
        before = {k: model.params[k].copy() for k in solver.weight_names}
        solver.step()
        expected = [np.linalg.norm(model.params[k] - before[k]) / np.linalg.norm(before[k]) for k in solver.weight_names]
        np.testing.assert_allclose(solver.update_ratio_history[-1], expected, rtol=1e-9)


def test_num_iterations_fixes_the_steps_whatever_the_epoch_length():
    data = blobs(n=250, seed=0)  # 200 training examples: 6 steps of 32 per epoch
    model = FullyConnectedNet([8], 2, data.num_classes, weight_scale=0.1, rng=0)
    solver = Solver(model, data, batch_size=32, num_epochs=1, num_iterations=14, verbose=False)
    assert solver.iterations_per_epoch == 6 and solver.num_epochs == 3  # the last epoch is partial
    solver.train()
    assert len(solver.loss_history) == 14 and solver.epoch == 2
    assert solver.log_acc_iteration_history == [0, 5, 11, 13]  # first, epoch ends, last
    with pytest.raises(ParamError, match="num_iterations"):
        Solver(model, data, num_iterations=0, verbose=False)


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


def test_rel_error_and_compare_rules_take_the_notes_steps():
    assert rel_error(0.5, 0.5) == 0 and rel_error(1.0, 0.0) == 1.0
    data = load_dataset("digits")
    assert experiments.NOTE_STEPS == {"compare-rules": 200, "effective-batch": 300}
    res = compare_rules(data, num_train=200, steps=7, hidden=[20])
    assert [r.name for r in res.runs] == [f"optimizer_experiment_{r}" for r in ("sgd", "sgd_momentum", "adam", "rmsprop")]
    assert [r.solver.hp["lr"] for r in res.runs] == [1e-2, 1e-2, 1e-3, 1e-4]
    assert {len(r.solver.loss_history) for r in res.runs} == {7} and res.settings["steps"] == 7
    assert res.steps == 7 and res.epochs == pytest.approx(7 / 2)  # 200 examples: 2 steps an epoch
    assert set(res.reached) == set(NOTE_RULES) and "7 steps of batch 100" in summary_lines(res)[0]


def test_effective_batch_fixed_sgd_batch_same_steps_for_both():
    data = load_dataset("digits")
    eb = effective_batch(data, seeds=(1, 2), sgd_batch=200, num_train=450, steps=20, hidden=[20])
    assert eb.settings["num_train"] == 450 and eb.settings["sgd_batch_mode"] == "fixed"
    assert {len(r.solver.loss_history) for r in eb.runs} == {20}  # the same steps, whatever the batch
    assert sorted(r.name for r in eb.runs) == sorted(f"sgd_momentum_compare_{rule}_{seed}"
                                                     for rule in ("sgd", "sgd_momentum") for seed in (1, 2))
    assert {r.batch_size for r in eb.runs if r.rule == "sgd"} == {200} and not eb.tries[0].reference
    mean = lambda rule: float(np.mean([r.final_train_acc for r in eb.runs if r.rule == rule]))  # noqa: E731
    assert (eb.avg_sgd, eb.avg_momentum) == (mean("sgd"), mean("sgd_momentum"))
    assert eb.difference == rel_error(eb.avg_sgd, eb.avg_momentum) and not eb.auto
    lines = summary_lines(eb)
    assert lines[1] == f"Average Training Acc for sgd: {eb.avg_sgd}"
    assert lines[3].startswith(f"Train Acc Difference:  {eb.difference}")
    x, mean, lo, hi = eb.bands["sgd_momentum"]["train_acc"]
    assert len(x) == 20 and np.all(lo <= mean) and np.all(mean <= hi)
    with pytest.raises(ParamError, match="multiple of 100"):
        effective_batch(data, sgd_batch=150)
    with pytest.raises(ParamError, match="needs at least that many"):
        effective_batch(data, sgd_batch=600, num_train=500)


def test_plans_are_the_runs_the_experiments_train_untrained():
    """compare_plan / effective_plan: what the CLI runs and the app's network lab steps."""
    data = load_dataset("digits")
    cp = experiments.compare_plan(data)
    assert [p.name for p in cp] == [f"optimizer_experiment_{r}" for r in ("sgd", "sgd_momentum", "adam", "rmsprop")]
    assert [p.config.rule_params["lr"] for p in cp] == [1e-2, 1e-2, 1e-3, 1e-4]
    assert {(p.config.num_iterations, p.config.seed, p.config.batch_size) for p in cp} == {(200, 0, 100)}
    ep = experiments.effective_plan(data)
    assert [(p.rule, p.batch_size, p.seed) for p in ep] == (
        [("sgd_momentum", 100, s) for s in (100, 200, 300)] + [("sgd", 600, s) for s in (100, 200, 300)])
    assert [p.name for p in ep[3:]] == [f"sgd_momentum_compare_sgd_{s}" for s in (100, 200, 300)]
    assert {(p.config.num_iterations, p.config.rule_params["lr"], p.data.X_train.shape[0]) for p in ep} == {
        (300, 1e-2, 1438)}
    solver = ep[3].build()
    assert solver.t == 0 and solver.num_iterations == 300 and solver.batch_size == 600
    assert [experiments.note_sgd_batch(n) for n in (1438, 600, 350, 150)] == [600, 600, 300, 100]
    with pytest.raises(ParamError, match="multiple of 100"):
        experiments.effective_plan(data, sgd_batch=250)
    # the run functions train exactly these plans
    small = dict(num_train=300, steps=4, hidden=[8])
    res = compare_rules(data, **small)
    plans = experiments.compare_plan(data, **small)
    for p, r in zip(plans, res.runs):
        s = p.build()
        s.train()
        assert s.loss_history == r.solver.loss_history and p.name == r.name


def test_effective_batch_auto_stops_at_the_first_batch_below_the_target(monkeypatch):
    """The tuning loop itself, with training accuracies scripted per (rule, batch)."""
    scripted = {("sgd_momentum", 100): 0.9, ("sgd", 100): 0.5, ("sgd", 200): 0.6, ("sgd", 300): 0.88,
                ("sgd", 400): 0.89}
    from descent_engine.network import effective_batch as study

    monkeypatch.setattr(study, "_mean_final_train_acc",
                        lambda runs: scripted[(runs[0].rule, runs[0].batch_size)])
    said = []
    eb = effective_batch(load_dataset("digits"), seeds=(1, 2), num_train=450, steps=3, hidden=[8], say=said.append)
    assert [t.sgd_batch for t in eb.tries] == [100, 200, 300]  # 400 is never tried
    assert [t.reference for t in eb.tries] == [True, False, False]
    assert eb.settings["sgd_batch"] == 300 and eb.settings["sgd_batch_mode"] == "auto"
    assert eb.values["train_acc_difference"] == pytest.approx(rel_error(0.88, 0.9)) and eb.values["reached"] == 1.0
    # the engine reports numbers; the CLI words them
    tries = [e for e in said if isinstance(e, GroupResult) and e.tuning]
    assert [(e.batch_size, e.avg_train_acc, e.rel_error, e.stop) for e in tries] == [
        (200, 0.6, rel_error(0.6, 0.9), False), (300, 0.88, rel_error(0.88, 0.9), True)]
    assert [event_line(e) for e in tries] == [
        f"try sgd batch 200: average training acc 0.6000, rel error {rel_error(0.6, 0.9):.4f} >= 0.04",
        f"try sgd batch 300: average training acc 0.8800, rel error {rel_error(0.88, 0.9):.4f} < 0.04: stop"]
    assert eb.events == [e for e in said if isinstance(e, GroupResult)]
    assert len(eb.events) == 4 and [type(e) for e in said].count(GroupStarted) == 4  # momentum, reference, 2 tries
    assert (eb.avg_sgd, eb.avg_momentum, eb.tuned) == (0.88, 0.9, True)
    lines = summary_lines(eb)
    assert lines[1] == "Average Training Acc for sgd: 0.88"
    assert lines[2] == "Average Training Acc for sgd_momentum: 0.9"
    assert lines[4].startswith("tuned: sgd batch 300 is the first")
    assert {r.name for r in eb.runs if r.batch_size == 300} == {"sgd_momentum_compare_sgd_1", "sgd_momentum_compare_sgd_2"}
    assert len(eb.runs) == 2 * 4 and {len(r.solver.loss_history) for r in eb.runs} == {3}


def test_effective_batch_auto_says_so_when_no_batch_is_close_enough():
    eb = effective_batch(load_dataset("digits"), seeds=(1,), num_train=350, steps=2, hidden=[8], target=0.0)
    assert [t.sgd_batch for t in eb.tries] == [100, 200, 300]  # every multiple of 100 up to the data size
    assert eb.values["reached"] == 0.0 and not eb.tuned and eb.candidates == (200, 300)
    assert any(line.startswith("not reached: no sgd batch from 200 to 300") for line in summary_lines(eb))
    closest = min(eb.tries[1:], key=lambda t: t.rel_error)
    assert eb.settings["sgd_batch"] == closest.sgd_batch == eb.sgd_batch


def test_experiment_defaults_are_spelled_once_and_unknown_options_are_refused():
    from descent_engine.network.experiments import CompareSettings, EffectiveSettings, compare_plan

    assert CompareSettings().num_train == 4000 and EffectiveSettings().num_train == 6000
    assert EffectiveSettings().seeds == experiments.NOTE_SEEDS and CompareSettings().rules == NOTE_RULES
    with pytest.raises(ParamError, match="compare-rules has no setting sgd_batch"):
        compare_plan(load_dataset("digits"), sgd_batch=200)


# ---------------------------------------------------------------------------------------------
def test_builtin_datasets():
    d = load_dataset("digits")
    assert d.num_features == 64 and d.num_classes == 10
    assert d.X_train.shape[0] + d.X_val.shape[0] == 1797
    # the course's CIFAR-10 preprocessing: 8-bit pixel scale, the training mean image subtracted
    from importlib import resources

    with resources.files("descent_engine.network").joinpath("digits.npz").open("rb") as fh, np.load(fh) as f:
        raw = _split(f["X"].astype(np.float64), f["y"].astype(np.int64), 0.2, 0, "digits")
    mean_image = raw.X_train.mean(axis=0) * DIGITS_TO_8BIT
    assert DIGITS_TO_8BIT == 255 / 16
    np.testing.assert_allclose(d.X_train, raw.X_train * DIGITS_TO_8BIT - mean_image, atol=1e-9)
    np.testing.assert_allclose(d.X_val, raw.X_val * DIGITS_TO_8BIT - mean_image, atol=1e-9)
    np.testing.assert_array_equal(d.y_val, raw.y_val)
    assert np.abs(d.X_train.mean(axis=0)).max() < 1e-9 and 50 < np.sqrt(np.mean(d.X_train ** 2)) < 90
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

