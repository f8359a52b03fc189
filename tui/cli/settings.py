"""The settings flags shared by ``descent-tui`` (the app) and ``descent-tui run``.

One flag per distinct hyper-parameter name across the rule, schedule and problem registries,
built from the registry :class:`~descent_engine.params.Param` by the one flag builder
(:mod:`tui.cli.flags`; values parsed by ``Param.parse``, so ranges come from the registry), plus
:data:`RUN_PARAMS` (``--seed``, ``--steps-per-epoch``, ``--start``). No Textual import here.

How settings are chosen (also in ``--help``):

* ``--preset P``: start from P. A ``--problem``/``--rule``/``--schedule`` other than P's resets
  that part's hyper-parameters to the registry defaults.
* no ``--preset`` and no ``--problem``/``--rule``: start from the ``notes-gdm`` preset (the note's
  momentum run), so the bare ``descent-tui`` opens on the note's GDM.
* otherwise: problem ``notes-ls``, rule ``momentum``, schedule ``constant`` unless given, with
  registry defaults, except that ``--lr`` defaults to the problem's suggested rate for the rule
  (kept below the stability bound; the registry's default lr diverges on most problems).
* every hyper-parameter flag then overrides; a flag the chosen rule, schedule or problem does
  not have is an error.
* ``--config FILE`` (a session, :mod:`tui.cli.session`) takes the place of the preset: the file's
  settings, then the flags given with it override them. ``--print-config`` prints the settings
  of the command line as TOML instead of running.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from descent_engine.params import Param, ParamError, ParamSet
from descent_engine.presets import DEFAULT_PRESET, PRESETS, Preset, get_preset
from descent_engine.problems import get_problem_spec
from descent_engine.rules import get_rule
from descent_engine.adjust import with_suggested_lr
from descent_engine.run import Settings
from descent_engine.schedules import get_schedule

from .common import CliError
from .session import read_config
from .flags import KINDS, FlagInfo, add_hyper_flags, add_param_flags, flag_message, given_values, hyper_flags
from .flags import add_name_flag, hyper_values, parse_flag, parse_name

__all__ = ["KINDS", "FlagInfo", "RUN_PARAMS", "SEED", "STEPS_PER_EPOCH", "active_preset", "add_settings_arguments",
           "hyper_flags", "settings_from_args"]

SEED = Param("seed", 0, "random seed of the mini-batch sampler (stochastic problems only)", kind="int",
             low=0, high=2**32 - 1)
STEPS_PER_EPOCH = Param("steps_per_epoch", 1, "steps per schedule epoch (an epoch of a 2-D problem is one step)",
                        kind="int", low=1, high=10**9)
START = Param("start", None, "start point w0, one number per dimension (x,y for the 2-D problems)",
              kind="floats", min_len=1, none_text="the problem's start")
#: the run knobs that are not a rule, schedule or problem hyper-parameter (flag dests ``run_<name>``)
RUN_PARAMS = ParamSet((SEED, STEPS_PER_EPOCH, START))
CONFIG = Param("config", None, "replay the session in FILE (TOML, as --print-config writes it); flags given "
               "with it override it", kind="text", none_text="none")
#: the help's default for a flag whose default is not the registry's
FLAG_DEFAULTS = {"lr": "the preset's, else the problem's suggested rate for the rule"}


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --preset/--problem/--rule/--schedule/--seed/--steps-per-epoch and every hyper-parameter flag.

    Every dest defaults to None so :func:`settings_from_args` knows what was given.
    """
    g = parser.add_argument_group("settings", textwrap.fill(
        f"With none of --preset/--problem/--rule the {DEFAULT_PRESET} preset is used (the note's momentum run). "
        "A --problem/--rule/--schedule other than the preset's starts that part from the registry defaults; "
        "--lr then defaults to the problem's suggested rate for the rule. Flags override. "
        "`descent-tui run --list` shows every default and range.", 79))
    for kind in ("preset", "problem", "rule", "schedule"):
        add_name_flag(g, kind)
    add_param_flags(g, RUN_PARAMS, prefix="run_")
    add_param_flags(g, (CONFIG,), prefix="session_")
    g.add_argument("--print-config", action="store_true",
                   help="print these settings as TOML (for --config) and exit")
    add_hyper_flags(parser, KINDS, FLAG_DEFAULTS)


def active_preset(args: argparse.Namespace) -> Preset | None:
    """The preset the settings start from: --config's session, --preset, or the default one when
    nothing names a part."""
    config = getattr(args, "session_config", None)
    if config is not None:
        if getattr(args, "preset", None) is not None:
            raise CliError("--config and --preset: give one (a session already holds its settings)")
        session = getattr(args, "_session", None)
        if session is None:
            session = read_config(parse_flag(CONFIG, config))
            args._session = session
        return session
    name = getattr(args, "preset", None)
    if name is not None:
        return get_preset(parse_name("preset", name))
    if getattr(args, "problem", None) is None and getattr(args, "rule", None) is None:
        return PRESETS[DEFAULT_PRESET]
    return None


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The validated :class:`Settings` the flags describe; raises CliError (one line) on bad input."""
    try:
        preset = active_preset(args)
        base = preset.settings if preset is not None else Settings()
        problem = get_problem_spec(parse_name("problem", args.problem, base.problem)).name
        rule = get_rule(parse_name("rule", args.rule, base.rule)).name
        schedule = get_schedule(parse_name("schedule", args.schedule, base.schedule)).name
    except ParamError as exc:
        raise CliError(str(exc)) from None
    keep = preset is not None
    chosen = {"problem": problem, "rule": rule, "schedule": schedule}
    values: dict[str, dict[str, Any]] = {
        "problem": dict(base.problem_params) if keep and problem == base.problem else {},
        "rule": dict(base.rule_params) if keep and rule == get_rule(base.rule).name else {},
        "schedule": dict(base.schedule_params) if keep and schedule == base.schedule else {},
    }
    for kind, given in hyper_values(args, chosen, hyper_flags(KINDS)).items():
        values[kind].update(given)
    run = given_values(args, RUN_PARAMS, prefix="run_")
    seed = run.get("seed", base.seed)
    spe = run.get("steps_per_epoch", base.steps_per_epoch)
    start = run.get("start", base.start if keep and problem == base.problem else None)
    # a session's suggested lr stays suggested while it is the one in use
    suggested = bool(keep and base.lr_suggested and values["rule"].get("lr") == base.rule_params.get("lr"))
    settings = Settings(problem, rule, schedule, values["problem"], values["rule"], values["schedule"],
                        steps_per_epoch=spe, seed=seed, start=start, lr_suggested=suggested)
    try:
        if "lr" not in values["rule"]:
            settings = with_suggested_lr(settings)
        settings.resolved()
    except ParamError as exc:
        raise CliError(flag_message(flag_message(str(exc)), RUN_PARAMS.names())) from None
    return settings
