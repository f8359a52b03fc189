"""Sessions: --print-config writes a command line's settings as TOML; --config replays them exactly."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from descent_engine.run import Run
from tui.cli import build_parser, main
from tui.cli.run import steps_from_args
from tui.cli.session import toml_value
from tui.cli.settings import settings_from_args


def _arrays(tmp_path, argv, name):
    out = tmp_path / name
    assert main(["run", *argv, "--out", str(out)]) == 0
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


def _config(tmp_path, argv, capsys, name="s.toml"):
    capsys.readouterr()
    assert main([*argv, "--print-config"]) == 0
    path = tmp_path / name
    path.write_text(capsys.readouterr().out)
    return str(path)


CASES = [
    ["--preset", "notes-gd"],
    ["--preset", "notes-gdm"],
    [],
    ["--rule", "adam", "--lr", "3e-3", "--steps", "300"],
    ["--problem", "rosenbrock", "--rule", "nesterov", "--schedule", "cosine", "--period", "200", "--steps", "250"],
    ["--problem", "notes-ls", "--batch-size", "50", "--rule", "rmsprop", "--seed", "7", "--schedule", "staircase",
     "--steps", "120"],
    ["--problem", "spectrum", "--dim", "5", "--kappa", "50", "--start=1,-1,2,0.5,-3", "--rule", "sgd_momentum"],
    ["--problem", "function", "--f", "x**4/4 + (y - x)**2 + sin(3*x)/5", "--start=-1.2,0.7", "--rule", "adamw"],
    ["--problem", "saddle", "--rule", "momentum", "--beta", "0.95", "--bias-correction", "on", "--init", "zero",
     "--schedule", "exponential", "--steps-per-epoch", "10"],
]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) or "bare" for c in CASES])
def test_run_config_of_print_config_gives_bit_identical_arrays(tmp_path, capsys, argv):
    path = _config(tmp_path, ["run", *argv], capsys)
    a = _arrays(tmp_path, argv, "a.npz")
    b = _arrays(tmp_path, ["--config", path], "b.npz")
    assert a.keys() == b.keys()
    for key in a:  # history columns and the settings/summary records, byte for byte
        assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key
    assert len(a["step"]) > 1


def test_flags_given_with_config_override_it(tmp_path, capsys):
    path = _config(tmp_path, ["run", "--preset", "notes-gdm"], capsys)
    args = build_parser().parse_args(["run", "--config", path, "--lr", "5e-5", "--steps", "7"])
    s = settings_from_args(args)
    assert s.rule == "momentum" and s.rule_params["lr"] == 5e-5 and s.rule_params["beta"] == 0.4
    assert steps_from_args(args) == 7
    # another rule starts from its own defaults and a suggested lr, as after a preset
    s = settings_from_args(build_parser().parse_args(["run", "--config", path, "--rule", "adam"]))
    assert s.rule == "adam" and s.lr_suggested and s.rule_params["lr"] != 1e-4


def test_the_app_launcher_replays_a_session_with_its_compare_runs(tmp_path, capsys, monkeypatch):
    from tui import app as app_module

    opened: list[dict] = []
    monkeypatch.setattr(app_module, "run_app", lambda settings, **o: opened.append(dict(o, settings=settings)) or 0)
    for argv in (["--preset", "notes-compare"], ["--problem", "rosenbrock", "--rule", "adam", "--start=0.5,-0.5"],
                 ["--screenshot-dir", str(tmp_path)]):
        path = _config(tmp_path, argv, capsys)
        assert main(argv) == 0 and main(["--config", path]) == 0
        original, replay = opened[-2], opened[-1]
        assert replay == original  # the same Settings, compare set and options
        assert Run(replay["settings"]).settings == Run(original["settings"]).settings
    assert "compare_set" in opened[0] and len(opened[0]["compare_set"]) == 2
    assert opened[4]["screenshot_dir"] == opened[5]["screenshot_dir"] == str(tmp_path)


def test_the_lr_suggestion_survives_the_round_trip(tmp_path, capsys):
    path = _config(tmp_path, ["run", "--problem", "quadratic"], capsys)
    assert "lr_suggested = true" in open(path).read()
    assert settings_from_args(build_parser().parse_args(["run", "--config", path])).lr_suggested


@pytest.mark.parametrize("content, message", [
    ("rule = \n", "not valid TOML: Invalid value (at line 1, column 8)"),
    ("rule = 'gd'\nrule = 'adam'\n", "not valid TOML"),
    ("colour = 'red'\n", "unknown key 'colour' (known: preset, problem, rule"),
    ("rule = 3\n", "rule must be a string, got 3"),
    ("rule = 'adma'\n", "unknown rule 'adma' (known: gd, momentum"),
    ("rule = 'gd'\n[rule_params]\nlr = 'fast'\n", "lr: expected a number, got 'fast'"),
    ("rule = 'gd'\n[rule_params]\nbeta = 0.5\n", "unknown setting 'beta' for rule gd (known: lr)"),
    ("rule = 'gd'\n[rule_params]\nlr = -1.0\n", "lr must be in (0, "),
    ("rule_params = 3\n", "rule_params must be a table, got 3"),
    ("steps = 0\n", "steps must be in [1, 1000000000], got 0"),
    ("steps = true\n", "steps: expected a whole number, got True"),
    ("problem = 'rosenbrock'\nstart = [1.0, 2.0, 3.0]\n", "start: expected 2 numbers (problem rosenbrock has dimension 2)"),
    ("start = [1.0, nan]\n", "start must be finite, got nan"),
    ("compare = 'gd'\n", "compare must be a list of rule names, got 'gd'"),
    ("lr_suggested = 1\n", "lr_suggested must be true or false, got 1"),
])
def test_bad_toml_or_unknown_keys_are_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    for command in (["run"], []):
        assert main([*command, "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"descent-tui: error: --config {path}: ") and err.count("\n") == 1
        assert message in err, err


def test_a_missing_config_and_config_with_preset(tmp_path, capsys):
    assert main(["run", "--config", str(tmp_path / "none.toml")]) == 2
    assert "No such file or directory" in capsys.readouterr().err
    path = _config(tmp_path, ["run"], capsys)
    assert main(["run", "--config", path, "--preset", "notes-gd"]) == 2
    assert "--config and --preset: give one" in capsys.readouterr().err


@pytest.mark.parametrize("value", [0.1, 1e-5, 1e300, 5e-324, -0.0, 2.0, float("inf"), -float("inf"), 1 / 3])
def test_floats_read_back_to_the_same_bits(value):
    back = tomllib.loads(f"x = {toml_value(value)}")["x"]
    assert np.float64(back).tobytes() == np.float64(value).tobytes()


def test_strings_are_escaped():
    text = 'a "quoted" \\ path\twith\x01control'
    assert tomllib.loads(f"x = {toml_value(text)}")["x"] == text


_RULES = {
    "gd": [], "momentum": ["--beta"], "sgd_momentum": ["--momentum"], "nesterov": ["--momentum"],
    "rmsprop": ["--decay-rate"], "adam": ["--beta1", "--beta2"],
}


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=st.sampled_from(["notes-ls", "quadratic", "rosenbrock", "himmelblau", "saddle"]),
       rule=st.sampled_from(sorted(_RULES)), schedule=st.sampled_from(["constant", "cosine", "epoch", "exponential", "sqrt"]),
       lr=st.floats(1e-5, 1e-2), beta=st.floats(0.0, 0.99), seed=st.integers(0, 2**32 - 1),
       start=st.none() | st.tuples(st.floats(-3, 3), st.floats(-3, 3)), spe=st.integers(1, 5))
def test_any_settings_replay_exactly(tmp_path, capsys, problem, rule, schedule, lr, beta, seed, start, spe):
    argv = ["run", "--problem", problem, "--rule", rule, "--schedule", schedule, f"--lr={lr!r}", f"--seed={seed}",
            f"--steps-per-epoch={spe}", "--steps", "40"]
    argv += [f"{flag}={beta!r}" for flag in _RULES[rule]]
    if start is not None:
        argv.append(f"--start={start[0]!r},{start[1]!r}")
    path = _config(tmp_path, argv, capsys, "h.toml")
    parser = build_parser()
    a, b = parser.parse_args(argv), parser.parse_args(["run", "--config", path])
    sa, sb = settings_from_args(a), settings_from_args(b)
    assert sa == sb and steps_from_args(a) == steps_from_args(b) == 40
    ra, rb = Run(sa), Run(sb)
    ra.step(40)
    rb.step(40)
    ha, hb = ra.history.arrays(), rb.history.arrays()
    for key in ha:
        assert ha[key].tobytes() == hb[key].tobytes(), key
