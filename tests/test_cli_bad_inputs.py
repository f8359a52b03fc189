"""Every command, every flag, bad values: one line ``descent-tui: error: ...``, exit 2, nothing written.

The cases are generated from the flags the one flag builder made (``tui.cli.flags.param_actions``:
each flag carries its Param), so a new knob gets its bad-input cases with no edit here. Nothing
may train or run: ``Solver.step``, ``Run.step`` and the app are replaced by functions that fail
the test, so every case must be refused before any work (which also keeps this file fast).
"""

from __future__ import annotations

import argparse
import math
import sys
import types

import pytest

from descent_engine.network.solver import Solver
from descent_engine.params import Param
from descent_engine.run import Run
from tui.cli import build_parser, main
from tui.cli.flags import param_actions

LONG = 100_000
#: how each command is called; the experiment's name is chosen per flag below
COMMANDS = {"launcher": [], "run": ["run"], "train": ["train"], "experiment": ["experiment"]}
OUT = {"run": ["--out=out.json"], "train": ["--out=out.json"], "experiment": ["--out=outdir"], "launcher": []}
EFFECTIVE_ONLY = {"--seeds", "--sgd-batch", "--log-every"}


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"launcher": parser, **{name: sub.choices[name] for name in ("run", "train", "experiment")}}


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def bad_values(p: Param) -> list[str]:
    """Values the Param must refuse, from its kind and range (not from its own checks)."""
    long_values = ["x" * LONG, "9" * LONG]
    if p.kind == "bool":
        return ["maybe", "", "2", *long_values]
    if p.kind == "choice":
        return ["nope", "", p.choices[0].upper() + "x", *long_values]
    if p.kind == "text":
        return ["", "   ", "x" * LONG]
    values = ["abc", "inf", "nan", "-inf", "1e400", "1,x" if p.kind in ("floats", "ints") else "1 2", *long_values]
    if p.kind in ("floats", "ints") and p.min_len or p.kind in ("float", "int"):
        values.append("")  # an empty list is "none" where the knob allows it (milestones)
    if p.low is not None:
        values.append(_number(p.low) if p.low_open else _number(p.low - 1))
        values.append("-1" if p.low >= 0 else _number(p.low * 10 - 10))
    if p.high is not None:
        values.append(_number(p.high) if p.high_open else _number(p.high * 10 + 10))
    if p.kind in ("int", "ints"):
        lo = p.low if p.low is not None else 0
        values.append(_number(lo + 1.5) if not p.multiple_of else _number(lo + p.multiple_of // 2))
    return sorted(set(values))


def _context(command: str, flag: str, action) -> list[str]:
    """What must come before the flag so that it applies (its rule/schedule/problem, the experiment)."""
    if command == "experiment":
        return ["effective-batch" if flag in EFFECTIVE_ONLY else "compare-rules"]
    if action.kind:
        return [f"--{action.kind}={action.owners[0]}"]
    return []


def _cases():
    cases = []
    for command, parser in _parsers().items():
        actions = param_actions(parser)
        assert actions, command
        for flag, action in actions.items():
            for value in bad_values(action.param):
                shown = value if len(value) < 20 else f"{value[:3]}..({len(value)})"
                argv = [*COMMANDS[command], *_context(command, flag, action), f"{flag}={value}", *OUT[command]]
                cases.append(pytest.param(argv, flag, id=f"{command} {flag}={shown}"))
        names = {"launcher": ("preset", "problem", "rule", "schedule"), "run": ("preset", "problem", "rule", "schedule"),
                 "train": ("rule", "schedule"), "experiment": ()}[command]
        for name in names:
            for value in ("nope", "", "x" * LONG):
                argv = [*COMMANDS[command], f"--{name}={value}", *OUT[command]]
                cases.append(pytest.param(argv, f"{name} ", id=f"{command} --{name}={value[:6]}"))
        head = COMMANDS[command] + (["overfit"] if command == "experiment" else [])
        cases.append(pytest.param([*head, "--frobnicate=1", *OUT[command]], "--frobnicate", id=f"{command} unknown flag"))
    more = {
        "run --out empty": ["run", "--out="], "run --out .txt": ["run", "--out=x.txt"],
        "run --out missing dir": ["run", "--out=missing/x.csv"],
        "train --out empty": ["train", "--out="], "train --out .csv": ["train", "--out=x.csv"],
        "train --out missing dir": ["train", "--out=missing/x.json"],
        "train unknown dataset": ["train", "--dataset=nope", "--out=out.json"],
        "train missing npz": ["train", "--dataset=missing.npz", "--out=out.json"],
        "train flag of another rule": ["train", "--beta=0.5", "--out=out.json"],
        "train batch above the data": ["train", "--num-train=300", "--batch-size=301", "--out=out.json"],
        "train too much memory": ["train", "--hidden=100000,100000", "--out=out.json"],
        "train lr=--": ["train", "--lr=--"],
        "experiment --out empty": ["experiment", "overfit", "--out="],
        "experiment unknown name": ["experiment", "nope", "--out=outdir"],
        "experiment --seed of effective-batch": ["experiment", "effective-batch", "--seed=1", "--out=outdir"],
        "experiment --steps of overfit": ["experiment", "overfit", "--steps=10", "--out=outdir"],
        "experiment sgd batch above the data": ["experiment", "effective-batch", "--sgd-batch=100000",
                                                "--out=outdir"],
        "launcher settings before run": ["--lr=0.1", "run"],
        "train --out too long": ["train", "--out=" + "d" * 300 + ".json"],
        "experiment --out too long": ["experiment", "overfit", "--out=" + "d" * 300],
        "experiment --out path too long": ["experiment", "overfit", "--out=" + "d/" * 3000],
    }
    cases += [pytest.param(argv, "", id=name) for name, argv in more.items()]
    return cases


CASES = _cases()


@pytest.fixture
def no_work(monkeypatch, tmp_path):
    """A tmp cwd; training, running and the app fail the test if reached."""
    monkeypatch.chdir(tmp_path)

    def reached(*args, **kwargs):
        raise AssertionError("the bad input was not refused before the work started")

    monkeypatch.setattr(Solver, "step", reached)
    monkeypatch.setattr(Solver, "train", reached)
    monkeypatch.setattr(Run, "step", reached)
    monkeypatch.setitem(sys.modules, "tui.app", types.SimpleNamespace(run_app=reached))
    return tmp_path


@pytest.mark.parametrize("argv, names", CASES)
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(argv, names, no_work, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert "Traceback" not in captured.err and captured.out == ""
    assert len(lines) == 1 and lines[0].startswith("descent-tui: error: "), lines
    assert len(lines[0]) < 400  # a 100,000-character value is shortened
    assert names in lines[0]  # a bad value names its flag (a bad --rule says "unknown rule ...")
    assert list(no_work.iterdir()) == []


def test_every_command_and_every_builder_flag_is_covered():
    """Each command's every Param flag gets at least the kind's bad values, and the table is not tiny."""
    parsers = _parsers()
    for command in COMMANDS:
        ids = {c.id for c in CASES if c.id.startswith(command + " ")}
        for flag in param_actions(parsers[command]):
            assert any(i.startswith(f"{command} {flag}=") for i in ids), (command, flag)
    assert {"--lr", "--seed", "--steps-per-epoch"} <= set(param_actions(parsers["launcher"]))
    assert {"--hidden", "--weight-scale", "--reg", "--dtype", "--batch-size", "--eps"} <= set(
        param_actions(parsers["train"]))
    assert {"--seeds", "--sgd-batch", "--steps", "--log-every", "--seed"} <= set(param_actions(parsers["experiment"]))
    assert len(CASES) > 500


def test_the_generated_values_are_refused_for_a_worked_example():
    """The generator itself, on a knob with known ends: lr in (0, 1e6]."""
    lr = Param("lr", 1e-2, "h", low=0.0, high=1e6, low_open=True)
    values = bad_values(lr)
    assert {"0", "-1", "10000010", "inf", "nan", "1e400", ""} <= set(values)
    assert not any(0 < float(v) <= 1e6 for v in values if _is_float(v) and math.isfinite(float(v)))


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
