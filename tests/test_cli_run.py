"""The command line: ``descent-tui run``, its settings flags, its outputs and its errors.

Most tests call ``main([...])`` in-process; one runs the installed entry point in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from descent_engine.presets import DEFAULT_PRESET, PRESETS
from descent_engine.problems import PROBLEMS
from descent_engine.rules import RULES
from descent_engine.run import Run, Settings
from descent_engine.schedules import SCHEDULES
from tui import docs
from tui.cli import build_parser, main
from tui.cli.settings import hyper_flags

ROOT = Path(__file__).resolve().parent.parent
REGISTRIES = {"rule": RULES, "schedule": SCHEDULES, "problem": PROBLEMS}


# -- the note's recipe, written as the note writes it -------------------------------------------
def _note_data():
    np.random.seed(0)
    X = np.random.normal([-3, 0], [3, 1], [500, 2])
    y = np.expand_dims((X[:, 1] > 0).astype(float), axis=-1)
    return X, y


def _note_run(momentum_beta: float | None, maxiter: int = 100, stepsize: float = 1e-4):
    """runGD (momentum_beta None) or runGDM of the note: grads at w_i, ws and losses after step i."""
    X, y = _note_data()
    w = np.zeros((2, 1))
    grads, ws, losses = [], [], []
    for i in range(maxiter):
        grad = 2 * (X.T @ X @ w) - 2 * X.T @ y
        if momentum_beta is None:
            w = w - stepsize * grad
        else:
            if i == 0:
                smoothed_grad = grad
            smoothed_grad = (1 - momentum_beta) * smoothed_grad + momentum_beta * grad
            w = w - stepsize * smoothed_grad
        grads.append(grad)
        ws.append(w)
        losses.append(np.linalg.norm(y - X @ w) ** 2)
    return np.array(grads).squeeze(), np.array(ws).squeeze(), losses


def _read_csv(text: str) -> dict[str, np.ndarray]:
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header == ["step", "lr", "loss", "w0", "w1", "g0", "g1"]
    cols = {name: [r[i] for i in range(len(r))] for name, r in zip(header, zip(*body))}
    return {
        "step": np.array([int(s) for s in cols["step"]]),
        "lr": np.array([float(s) for s in cols["lr"]]),
        "loss": np.array([float(s) for s in cols["loss"]]),
        "w": np.array([[float(a), float(b)] for a, b in zip(cols["w0"], cols["w1"])]),
        "grad": np.array([[float(a), float(b)] for a, b in zip(cols["g0"], cols["g1"])]),
    }


def _assert_history_equal(got: dict[str, np.ndarray], run: Run) -> None:
    want = run.history.arrays()
    for key in ("step", "lr", "loss", "w", "grad"):
        np.testing.assert_array_equal(np.asarray(got[key]), want[key], err_msg=key)


# -- help, version, list -----------------------------------------------------------------------
def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "descent-tui 0.1.0"


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"]])
def test_help_lists_every_flag(argv, capsys):
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "--preset" in out and "--rule" in out
    for info in hyper_flags().values():
        assert info.param.flag in out
    if argv[0] == "run":
        assert "--out" in out and "--steps" in out and "--list" in out


def test_list_names_every_item_and_flag(capsys):
    assert main(["run", "--list"]) == 0
    out = capsys.readouterr().out
    for kind, registry in REGISTRIES.items():
        for name, item in registry.items():
            assert f"  {name} " in out, (kind, name)
            for p in item.params:
                assert p.flag in out and p.help in out and p.range_text() in out
    for rule in RULES.values():
        assert rule.formula in out
    for preset in PRESETS:
        assert preset in out
    assert "1 - 0.6 = 0.4" in out and "lr (1 - beta)" in out


def test_flags_are_one_meaning_each():
    """A flag shared by several rules (lr, eps, momentum) means the same there: same kind and range;
    no name is both a rule, a schedule and a problem setting; no flag hides a fixed option."""
    seen: dict[str, tuple[str, object]] = {}
    for kind, registry in REGISTRIES.items():
        for item in registry.values():
            for p in item.params:
                shape = (p.kind, p.low, p.high, p.low_open, p.high_open, p.scale, p.choices)
                if p.name in seen:
                    assert seen[p.name] == (kind, shape), p.name
                seen[p.name] = (kind, shape)
    fixed = {"preset", "problem", "rule", "schedule", "seed", "steps_per_epoch", "steps", "out", "list",
             "version", "help"}
    assert not fixed & set(seen)
    build_parser()  # argparse raises on a conflicting flag


# -- defaults and presets ----------------------------------------------------------------------
def test_bare_command_passes_the_notes_gdm_settings_to_the_app(monkeypatch):
    calls = []
    fake = types.ModuleType("tui.app")
    fake.run_app = lambda settings, **options: calls.append((settings, options)) or 0
    monkeypatch.setitem(sys.modules, "tui.app", fake)
    assert main([]) == 0
    assert calls[0][0] == PRESETS[DEFAULT_PRESET].settings
    assert main(["--rule", "adam", "--beta2", "0.99", "--problem", "rosenbrock"]) == 0
    settings = calls[1][0]
    assert (settings.problem, settings.rule, settings.rule_params["beta2"]) == ("rosenbrock", "adam", 0.99)


def test_schedule_flag_keeps_the_default_preset(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", "--schedule", "epoch", "--decay", "0.5", "--out", str(out)]) == 0
    s = json.loads(out.read_text())["settings"]
    assert (s["rule"], s["rule_params"]["beta"], s["rule_params"]["lr"]) == ("momentum", 0.4, 1e-4)
    assert (s["schedule"], s["schedule_params"]) == ("epoch", {"decay": 0.5})


def _settings(*argv: str) -> Settings:
    from tui.cli.settings import settings_from_args

    return settings_from_args(build_parser().parse_args(list(argv)))


def test_flags_override_the_preset_and_a_new_rule_starts_from_its_defaults():
    s = _settings("--preset", "notes-gdm", "--beta", "0.5")
    assert dict(s.rule_params) == {"lr": 1e-4, "beta": 0.5, "init": "first"}
    s = _settings("--preset", "notes-gdm", "--rule", "sgd_momentum")
    assert s.rule == "sgd_momentum" and set(s.rule_params) == {"lr"}  # momentum: registry default
    from descent_engine import theory
    from descent_engine.problems import make_problem

    lam_max = theory.spectrum(make_problem("notes-ls").hessian()).lam_max
    bound = theory.stable_lr("sgd_momentum", RULES["sgd_momentum"].hparams(), lam_max)
    assert 0 < s.rule_params["lr"] < bound  # the suggested lr, below the stability bound
    assert _settings("--rule", "sgd").rule == "gd"  # aliases resolve


@pytest.mark.parametrize("name,beta", [("notes-gdm", 0.6), ("notes-gd", None)])
def test_presets_reproduce_the_note_to_the_last_digit(name, beta, capsys):
    assert main(["run", "--preset", name, "--out", "-"]) == 0
    got = _read_csv(capsys.readouterr().out)
    grads, ws, losses = _note_run(beta)
    assert got["step"].tolist() == list(range(101))
    assert got["loss"][1:].tolist() == [float(x) for x in losses]
    np.testing.assert_array_equal(got["w"][1:], ws)
    np.testing.assert_array_equal(got["grad"][:100], grads)
    assert got["loss"][100] == (102.75171088019901 if beta else 102.75171092495734)


def test_summary_without_out(capsys):
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "final loss    102.75171088019901" in out and "diverged at   -" in out


# -- outputs round-trip ------------------------------------------------------------------------
ROUND_TRIP_ARGS = ["--problem", "rosenbrock", "--rule", "adam", "--lr", "0.01", "--schedule", "cosine",
                   "--period", "30", "--steps", "57"]
ROUND_TRIP_SETTINGS = Settings("rosenbrock", "adam", "cosine", rule_params={"lr": 0.01},
                               schedule_params={"period": 30})


def _reference(steps: int = 57) -> Run:
    run = Run(ROUND_TRIP_SETTINGS, capacity=None)
    run.step(steps)
    return run


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz", "-"])
def test_every_output_format_round_trips(suffix, tmp_path, capsys):
    out = "-" if suffix == "-" else str(tmp_path / f"run{suffix}")
    assert main(["run", *ROUND_TRIP_ARGS, "--out", out]) == 0
    ref = _reference()
    if suffix in ("-", ".csv"):
        text = capsys.readouterr().out if suffix == "-" else Path(out).read_text()
        _assert_history_equal(_read_csv(text), ref)
        return
    if suffix == ".json":
        data = json.loads(Path(out).read_text())
        history, settings, summary = data["history"], data["settings"], data["summary"]
    else:
        with np.load(out, allow_pickle=False) as z:
            history = {k: z[k] for k in ("step", "lr", "loss", "w", "grad")}
            settings, summary = json.loads(str(z["settings"])), json.loads(str(z["summary"]))
    _assert_history_equal(history, ref)
    assert summary == {"final_loss": ref.loss, "optimal_loss": ref.problem.loss_star, "steps": 57,
                       "diverged_at": None}
    assert (settings["problem"], settings["rule"], settings["schedule"]) == ("rosenbrock", "adam", "cosine")
    assert settings["rule_params"] == ref.hp and settings["schedule_params"]["period"] == 30
    assert sorted(os.listdir(tmp_path)) == [Path(out).name]  # no temporary file left


def test_diverged_run_writes_rows_up_to_divergence(tmp_path, capsys):
    out = tmp_path / "d.json"
    assert main(["run", "--preset", "notes-gd", "--lr", "0.01", "--steps", "1000", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    data = json.loads(out.read_text())
    k = data["summary"]["diverged_at"]
    assert isinstance(k, int) and 0 < k < 1000
    assert err.strip() == f"diverged at step {k}"
    assert data["history"]["step"] == list(range(k + 1)) and data["summary"]["steps"] == k


# -- bad input -----------------------------------------------------------------------------------
BAD = {
    "unknown problem": ["--problem", "nope"],
    "unknown rule": ["--rule", "nope"],
    "unknown schedule": ["--schedule", "nope"],
    "unknown preset": ["--preset", "nope"],
    "lr zero": ["--lr", "0"],
    "lr negative": ["--lr", "-1e-3"],
    "lr not a number": ["--lr", "fast"],
    "beta one": ["--beta", "1.0"],
    "beta negative": ["--beta", "-0.1"],
    "steps zero": ["--steps", "0"],
    "steps not a number": ["--steps", "ten"],
    "flag of another rule": ["--rule", "gd", "--beta", "0.5"],
    "flag of another schedule": ["--decay", "0.1"],
    "flag of another problem": ["--kappa", "3"],
    "unknown extension": ["--out", "{tmp}/run.txt"],
    "missing directory": ["--out", "{tmp}/missing/run.csv"],
    "out is a directory": ["--out", "{tmp}/adir.csv"],
    "argparse: unknown flag": ["--frobnicate", "1"],
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    (tmp_path / "adir.csv").mkdir()
    argv = [a.replace("{tmp}", str(tmp_path)) for a in BAD[case]]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "run.csv")]
    assert main(["run", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert "Traceback" not in captured.err and captured.out == ""
    assert len(lines) == 1 and lines[0].startswith("descent-tui: error: "), lines
    assert sorted(os.listdir(tmp_path)) == ["adir.csv"]  # nothing written


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root can write anywhere")
def test_unwritable_directory(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["run", "--out", str(locked / "run.csv")]) == 2
    assert capsys.readouterr().err.startswith("descent-tui: error: cannot write")


def test_error_names_the_flags_the_rule_has(capsys):
    assert main(["run", "--rule", "gd", "--beta", "0.5"]) == 2
    assert capsys.readouterr().err == "descent-tui: error: --beta does not apply to rule gd; it has: --lr\n"


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_ctrl_c_exits_130_and_leaves_no_file(suffix, tmp_path, monkeypatch, capsys):
    real_step = Run.step

    def interrupted(self, n=1):
        if self.k >= 20:
            raise KeyboardInterrupt
        return real_step(self, n)

    monkeypatch.setattr(Run, "step", interrupted)
    monkeypatch.setattr("tui.cli.run._CHUNK", 10)
    assert main(["run", "--steps", "100", "--out", str(tmp_path / f"run{suffix}")]) == 130
    assert "Traceback" not in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


# -- README --------------------------------------------------------------------------------------
def test_readme_tables_are_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.replace_block(readme, docs.markdown()) == readme, "run: python -m tui.docs --write README.md"


def test_readme_gives_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install . && descent-tui\n" in readme
    assert ("python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' -c constraints.txt"
            " && pytest\n") in readme


# -- the installed entry point ---------------------------------------------------------------------
def test_entry_point_in_a_subprocess():
    script = Path(sys.executable).with_name("descent-tui")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "tui"]
    proc = subprocess.run(cmd + ["run", "--preset", "notes-gdm", "--out", "-"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].split(",")[2] == "102.75171088019901"
    bad = subprocess.run(cmd + ["run", "--lr", "0"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.startswith("descent-tui: error:") and "Traceback" not in bad.stderr


def test_the_command_line_imports_no_ui_library():
    """`descent-tui run` starts fast: parsing and running import neither Textual nor plotext nor rich."""
    code = ("import sys; from tui.cli import main; main(['run', '--steps', '3']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'plotext', 'textual_plotext', 'rich'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"
