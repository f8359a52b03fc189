"""The ``train`` and ``experiment`` sub-commands, through a local argparse harness."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from tui import cli_network
from tui.cli_common import CliError


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """What the main ``descent-tui`` does: parse, call the handler, turn CliError into exit 2."""
    parser = argparse.ArgumentParser(prog="descent-tui")
    cli_network.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except CliError as exc:
        print(f"descent-tui: error: {exc}", file=__import__("sys").stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


TINY = ["--hidden", "16,16", "--epochs", "2", "--batch-size", "50", "--num-train", "300"]


def test_train_writes_json_and_prints_epochs(tmp_path, capsys):
    out = tmp_path / "run.json"
    code, stdout, err = run_cli(["train", *TINY, "--rule", "rmsprop", "--decay-rate", "0.9", "--lr", "1e-3",
                                 "--schedule", "polynomial", "--base", "0.5", "--out", str(out)], capsys)
    assert code == 0, err
    assert stdout.count("epoch ") == 2 and "train acc" in stdout
    doc = json.loads(out.read_text())
    assert doc["settings"]["rule"] == "rmsprop" and doc["settings"]["rule_params"]["decay_rate"] == 0.9
    assert len(doc["loss_history"]) == 2 * 6
    assert doc["lr_history"][-1] == pytest.approx(1e-3 * 0.5)


def test_train_writes_npz_quietly(tmp_path, capsys):
    out = tmp_path / "run.npz"
    code, stdout, _ = run_cli(["train", *TINY, "--dataset", "spirals", "--dtype", "float64", "--quiet",
                               "--out", str(out)], capsys)
    assert code == 0 and stdout == ""
    with np.load(out, allow_pickle=False) as f:
        assert len(f["loss_history"]) == 2 * 6 and f["update_ratio_history"].shape == (12, 3)


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "nope"], "unknown dataset 'nope'"),
    (["--rule", "sgdd"], "unknown rule 'sgdd'"),
    (["--schedule", "weekly"], "unknown schedule 'weekly'"),
    (["--lr", "0"], "lr must be in"),
    (["--lr", "-1"], "lr must be in"),
    (["--epochs", "0"], "--epochs must be in [1, 1000000], got 0"),
    (["--hidden", "100,,x"], "--hidden: cannot read '100,,x' as comma-separated whole numbers"),
    (["--decay-rate", "0.9"], "--decay-rate does not apply to rule sgd_momentum"),
    (["--out", "x.csv"], "must end in .json or .npz"),
    (["--dataset", "missing.npz"], "does not exist"),
])
def test_train_bad_input_exits_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stdout, err = run_cli(["train", *argv], capsys)
    assert code == 2 and message in err
    assert err.count("\n") == 1 and err.startswith("descent-tui: error: ") and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_experiment_effective_batch_writes_every_history(tmp_path, capsys):
    out = tmp_path / "logs" / "deep"
    code, stdout, err = run_cli(["experiment", "effective-batch", "--out", str(out), "--seeds", "1,2",
                                 "--sgd-batch", "200", "--num-train", "500", "--steps", "20", "--log-every", "2"],
                                capsys)
    assert code == 0, err
    assert "Average Training Acc for sgd: " in stdout and "Train Acc Difference: " in stdout
    names = sorted(p.name for p in out.iterdir())
    expected = [f"sgd_momentum_compare_{r}_{s}.npz" for r in ("sgd", "sgd_momentum") for s in (1, 2)]
    assert set(expected) <= set(names) and "summary.json" in names
    with np.load(out / expected[0], allow_pickle=False) as f:
        n = len(f["loss_history"])
        assert n == 20  # the same steps for both settings
        np.testing.assert_array_equal(f["log_acc_iteration_history"], [0, *range(1, n, 2)])
        assert len(f["train_acc_history"]) == len(f["log_acc_iteration_history"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["seeds"] == [1, 2] and len(summary["runs"]) == 4
    assert summary["settings"]["steps"] == 20 and summary["settings"]["sgd_batch"] == 200


def test_experiment_effective_batch_tunes_the_sgd_batch_by_default(tmp_path, capsys):
    code, stdout, err = run_cli(["experiment", "effective-batch", "--out", str(tmp_path), "--seeds", "1",
                                 "--num-train", "300", "--steps", "3"], capsys)
    assert code == 0, err
    tries = [line for line in stdout.splitlines() if line.startswith("try sgd batch ")]
    assert tries and tries[0].startswith("try sgd batch 200: average training acc ")
    assert "sgd batch 100 (same batch, reference)" in stdout
    assert ("tuned: sgd batch " in stdout) != ("not reached: " in stdout)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["settings"]["sgd_batch_mode"] == "auto" and summary["log"][-1] == tries[-1]
    assert [t["sgd_batch"] for t in summary["tries"]][:2] == [100, 200]
    assert (tmp_path / "sgd_momentum_compare_sgd_batch100_1.npz").exists()


def test_experiment_overfit_and_bad_out(tmp_path, capsys):
    code, stdout, _ = run_cli(["experiment", "overfit", "--out", str(tmp_path), "--quiet"], capsys)
    assert code == 0 and stdout == "" and (tmp_path / "overfit_sgd.npz").exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli(["experiment", "compare-rules", "--out", str(blocker / "sub")], capsys)
    assert code == 2 and "cannot create directory" in err and err.count("\n") == 1
    code, _, err = run_cli(["experiment", "effective-batch", "--out", str(tmp_path), "--sgd-batch", "150"], capsys)
    assert code == 2 and "multiple of 100" in err
    code, _, err = run_cli(["experiment", "effective-batch", "--out", str(tmp_path), "--sgd-batch", "big"], capsys)
    assert code == 2 and "--sgd-batch: cannot read 'big' as a multiple of 100 or auto" in err and err.count("\n") == 1
    code, _, err = run_cli(["experiment", "overfit", "--out", str(tmp_path), "--steps", "10"], capsys)
    assert code == 2 and "--steps is for compare-rules and effective-batch" in err
