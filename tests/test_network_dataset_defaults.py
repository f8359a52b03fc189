"""Datasets that teach: every bundled dataset's own defaults train it (training accuracy >= 0.9).

The accuracy is computed here on the whole training set from the final parameters (not the
Solver's logged subset), so the bookkeeping cannot flatter it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_network_cli import run_cli

from descent_engine.network import dataset_defaults as dd
from descent_engine.network.config import TrainConfig
from descent_engine.network.data import dataset_names


@pytest.mark.parametrize("name", dataset_names())
def test_each_bundled_dataset_trains_at_its_defaults(name):
    assert name in dd.DATASET_DEFAULTS  # every bundled dataset says how it trains
    config = TrainConfig(dataset=name, **dd.dataset_defaults(name))
    solver = config.build()
    solver.train(keep_best=False)
    acc = float(np.mean(solver.model.predict(solver.X_train) == solver.y_train))
    assert acc >= 0.9 and solver.train_acc_history[-1] >= 0.9


def test_the_notes_settings_do_not_train_the_toy_sets():
    """Why the overrides exist: spirals and blobs learn nothing at the note's settings."""
    for name in ("spirals", "blobs"):
        solver = TrainConfig(dataset=name).build()
        solver.train(keep_best=False)
        assert float(np.mean(solver.model.predict(solver.X_train) == solver.y_train)) < 0.6


def test_train_applies_them_unless_a_flag_is_given(tmp_path, capsys):
    out = tmp_path / "s.json"
    code, stdout, err = run_cli(["train", "--dataset", "spirals", "--epochs", "2", "--out", str(out)], capsys)
    assert code == 0, err
    settings = json.loads(out.read_text())["settings"]
    assert (settings["weight_scale"], settings["epochs"]) == (0.2, 2)  # the dataset's scale, the flag's epochs
    assert stdout.splitlines()[0] == "spirals trains at its own defaults: --weight-scale 0.2 (a flag overrides each)"
    code, stdout, _ = run_cli(["train", "--dataset", "blobs", "--weight-scale", "0.05", "--epochs", "1", "--quiet",
                               "--out", str(out)], capsys)
    assert code == 0 and json.loads(out.read_text())["settings"]["weight_scale"] == 0.05
    code, stdout, _ = run_cli(["train", "--epochs", "1", "--hidden", "8", "--out", str(out)], capsys)
    assert code == 0 and "own defaults" not in stdout  # digits: the note's settings


def test_rule_overrides_apply_only_to_their_rule(monkeypatch):
    monkeypatch.setitem(dd.DATASET_DEFAULTS, "toy", {"rule": "adam", "rule_params": {"lr": 3e-3}, "epochs": 9})
    values, applied = dd.apply_dataset_defaults({"dataset": "toy", "rule_params": {}}, set())
    assert values["rule"] == "adam" and values["rule_params"] == {"lr": 3e-3} and values["epochs"] == 9
    assert applied == {"rule": "adam", "rule_params.lr": 3e-3, "epochs": 9}
    # another rule asked for: the dataset's lr is adam's, so it is not applied
    values, applied = dd.apply_dataset_defaults({"dataset": "toy", "rule": "sgd", "rule_params": {}}, {"rule"})
    assert values["rule"] == "sgd" and values["rule_params"] == {} and applied == {"epochs": 9}
    values, _ = dd.apply_dataset_defaults({"dataset": "toy", "rule_params": {"lr": 1e-4}, "epochs": 2},
                                          {"rule_params.lr", "epochs"})
    assert values["rule_params"] == {"lr": 1e-4} and values["epochs"] == 2
    assert dd.dataset_defaults("file.npz") == {}


def test_run_list_shows_each_datasets_defaults():
    from tui.docs import list_text

    text = list_text()
    assert "DATASETS (train --dataset NAME" in text
    for name in dataset_names():
        line = next(line for line in text.splitlines() if line.startswith(f"  {name} "))
        for k, v in dd.dataset_defaults(name).items():
            assert f"--{k.replace('_', '-')} {v:g}" in line
