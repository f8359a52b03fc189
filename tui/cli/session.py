"""Sessions as TOML: ``--print-config`` writes the settings of a command line, ``--config FILE``
replays them (``run`` and the app launcher), exactly: the same Settings, so the same history.

The file holds the knobs that were set (by a flag, a preset or a suggestion) and, commented out,
the defaults of the others, so that the Settings read back equal the Settings written (``==``),
and a reader sees every knob::

    # descent-tui settings: descent-tui run --config FILE (or descent-tui --config FILE)
    preset = "notes-gd"          # where the settings came from (informational)
    problem = "notes-ls"
    rule = "gd"
    schedule = "constant"
    steps = 100                  # run only; the app runs until stopped
    seed = 0
    steps_per_epoch = 1
    start = [0.5, -0.25]         # only when given

    [problem_params]
    batch_size = 0
    [rule_params]
    lr = 0.0001
    # (the rule's other knobs, commented, at their defaults)
    [schedule_params]

Floats are written with ``repr`` (they read back to the same bits). The TOML is written here by
hand (the standard library reads TOML, ``tomllib``, but does not write it). Keys a command does
not use are accepted and ignored: ``steps`` in the app, ``compare``/``same_lr`` (a compare
preset's runs) and ``screenshot_dir`` in ``run``. Unknown keys, wrong types and bad values are
one line naming the file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from typing import Any

from descent_engine.params import ParamError, shorten_path
from descent_engine.presets import Preset
from descent_engine.problems import get_problem_spec
from descent_engine.rules import get_rule
from descent_engine.run import Settings
from descent_engine.schedules import get_schedule

from descent_engine.session_toml import TABLES, to_toml, toml_value  # noqa: F401  (the writer lives in the engine)

from .common import CliError

TOP = ("preset", "problem", "rule", "schedule", "steps", "seed", "steps_per_epoch", "start", "lr_suggested",
       "compare", "same_lr", "screenshot_dir")
#: a config file larger than this is not a config file
MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Session(Preset):
    """A config file read back: a Preset whose ``name`` is the preset it came from ("" for none)."""

    source: str = ""
    screenshot_dir: str | None = None
    #: the file named its steps (the app stops its runs there; without, only at convergence)
    steps_given: bool = False


# -- reading ------------------------------------------------------------------------------------
def _fail(path: str, what: str) -> CliError:
    return CliError(f"--config {shorten_path(path)}: {what}")


def _load(path: str) -> dict[str, Any]:
    try:
        size = os.stat(path).st_size
        if not os.path.isfile(path):
            raise _fail(path, "not a regular file")
        if size > MAX_BYTES:
            raise _fail(path, f"{size} bytes is too large for a config file (at most {MAX_BYTES})")
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise _fail(path, exc.strerror or str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise _fail(path, "not valid TOML: not UTF-8 text") from None


def _typed(path: str, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise _fail(path, f"{key} must be {what}, got {shorten_path(repr(value), 40)}")
    return value


def read_config(path: str) -> Session:
    """The session in ``path``; CliError (one line naming the file) for anything wrong with it."""
    from .run import STEPS  # run imports this module's users; a lazy import keeps the order simple
    from .settings import RUN_PARAMS

    doc = _load(path)
    unknown = [k for k in doc if k not in TOP + TABLES]
    if unknown:
        raise _fail(path, f"unknown key {unknown[0]!r} (known: {', '.join(TOP + TABLES)})")
    for key in ("preset", "problem", "rule", "schedule", "screenshot_dir"):
        if key in doc:
            _typed(path, key, doc[key], str, "a string")
    for key in ("lr_suggested", "same_lr"):
        if key in doc:
            _typed(path, key, doc[key], bool, "true or false")
    for key in TABLES:
        if key in doc:
            _typed(path, key, doc[key], dict, "a table")
    compare = tuple(_typed(path, "compare", doc.get("compare", []), list, "a list of rule names"))
    try:
        problem = get_problem_spec(doc.get("problem", "notes-ls")).name
        rule = get_rule(doc.get("rule", "momentum")).name
        schedule = get_schedule(doc.get("schedule", "constant")).name
        for name in compare:
            _typed(path, "compare", name, str, "a list of rule names")
            get_rule(name)
        for key in ("steps", "seed", "steps_per_epoch"):
            if isinstance(doc.get(key), bool):
                raise _fail(path, f"{key}: expected a whole number, got {doc[key]!r}")
        owners = (get_problem_spec(problem).params, get_rule(rule).params, get_schedule(schedule).params)
        for table, params in zip(TABLES, owners):
            for key, value in doc.get(table, {}).items():
                if isinstance(value, bool) and key in params and params.get(key).kind != "bool":
                    raise _fail(path, f"{table}.{key}: expected {params.get(key).kind}, got {value!r}")
        run = {p.name: p.validate(doc[p.name]) for p in RUN_PARAMS if p.name in doc}
        steps = STEPS.validate(doc["steps"]) if "steps" in doc else STEPS.default
        tables = [{k: tuple(v) if isinstance(v, list) else v for k, v in doc.get(t, {}).items()} for t in TABLES]
        settings = Settings(
            problem, rule, schedule, *tables, steps_per_epoch=run.get("steps_per_epoch", 1),
            seed=run.get("seed", 0), start=run.get("start"), lr_suggested=bool(doc.get("lr_suggested", False)),
        )
        settings.resolved()
    except ParamError as exc:
        raise _fail(path, str(exc)) from None
    return Session(doc.get("preset", ""), f"the session in {path}", settings, steps=steps, compare=compare,
                   same_lr=bool(doc.get("same_lr", False)), source=path, screenshot_dir=doc.get("screenshot_dir"),
                   steps_given="steps" in doc)
