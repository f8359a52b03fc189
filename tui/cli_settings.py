"""The settings flags shared by ``descent-tui`` (the app) and ``descent-tui run``.

One flag per distinct hyper-parameter name across the rule, schedule and problem registries,
built from the registry :class:`~descent_engine.params.Param` (values parsed by ``Param.parse``,
so ranges come from the registry). No Textual import here.

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
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass, replace
from typing import Any, Iterable

from descent_engine.params import Param, ParamError
from descent_engine.presets import DEFAULT_PRESET, PRESETS, Preset, get_preset
from descent_engine.problems import PROBLEMS, get_problem_spec
from descent_engine.rules import ALIASES, RULES, get_rule
from descent_engine.run import Settings, suggested_lr
from descent_engine.schedules import SCHEDULES, get_schedule

from .cli_common import CliError

#: the three registries whose hyper-parameters become flags, in flag-group order
KINDS = ("rule", "schedule", "problem")

SEED = Param("seed", 0, "random seed of the mini-batch sampler (stochastic problems only)", kind="int",
             low=0, high=2**32 - 1)
STEPS_PER_EPOCH = Param("steps_per_epoch", 1, "steps per schedule epoch (an epoch of a 2-D problem is one step)",
                        kind="int", low=1, high=10**9)


@dataclass(frozen=True)
class FlagInfo:
    """One hyper-parameter flag: the registry kind it belongs to and who has it."""

    param: Param  # the first description of the name (same name = same meaning, see tests)
    kind: str  # "rule", "schedule" or "problem"
    owners: tuple[str, ...]

    @property
    def dest(self) -> str:
        return "hp_" + self.param.name

    def help_text(self) -> str:
        """The registry help; where owners word it differently, each owner's wording."""
        by_help: dict[str, list[str]] = {}
        for owner in self.owners:
            by_help.setdefault(_registry(self.kind)[owner].params.get(self.param.name).help, []).append(owner)
        if len(by_help) == 1:
            return f"{self.param.help} [{', '.join(self.owners)}]"
        return "; ".join(f"{', '.join(owners)}: {text}" for text, owners in by_help.items())


def _registry(kind: str) -> dict[str, Any]:
    return {"rule": RULES, "schedule": SCHEDULES, "problem": PROBLEMS}[kind]


def hyper_flags() -> dict[str, FlagInfo]:
    """Every distinct hyper-parameter name across the registries -> its flag description."""
    out: dict[str, FlagInfo] = {}
    for kind in KINDS:
        for owner, item in _registry(kind).items():
            for p in item.params:
                info = out.get(p.name)
                if info is None:
                    out[p.name] = FlagInfo(p, kind, (owner,))
                else:
                    if info.kind != kind:  # pragma: no cover - guarded by tests/test_cli_run.py
                        raise AssertionError(f"{p.name} is both a {info.kind} and a {kind} setting")
                    out[p.name] = replace(info, owners=info.owners + (owner,))
    return out


def _metavar(p: Param) -> str:
    return {"float": "X", "int": "N", "bool": "on|off", "choice": "|".join(p.choices),
            "floats": "X,X,..", "ints": "N,N,.."}[p.kind]


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --preset/--problem/--rule/--schedule/--seed/--steps-per-epoch and every hyper-parameter flag.

    Every dest defaults to None so :func:`settings_from_args` knows what was given.
    """
    g = parser.add_argument_group("settings", textwrap.fill(
        f"With none of --preset/--problem/--rule the {DEFAULT_PRESET} preset is used (the note's momentum run). "
        "A --problem/--rule/--schedule other than the preset's starts that part from the registry defaults; "
        "--lr then defaults to the problem's suggested rate for the rule. Flags override. "
        "`descent-tui run --list` shows every default and range.", 79))
    g.add_argument("--preset", metavar="NAME", help="start from a preset: " + ", ".join(PRESETS))
    g.add_argument("--problem", metavar="NAME", help="problem: " + ", ".join(PROBLEMS))
    g.add_argument("--rule", metavar="NAME", help="update rule: " + ", ".join(list(RULES) + list(ALIASES)))
    g.add_argument("--schedule", metavar="NAME", help="learning-rate schedule: " + ", ".join(SCHEDULES))
    for p in (SEED, STEPS_PER_EPOCH):
        g.add_argument(p.flag, dest="run_" + p.name, metavar=_metavar(p),
                       help=f"{p.help} (default {p.default_text()})")
    flags = hyper_flags()
    for kind in KINDS:
        group = parser.add_argument_group(f"{kind} hyper-parameters (each applies only to the {kind}s named)")
        for info in flags.values():
            if info.kind != kind:
                continue
            p = info.param
            group.add_argument(p.flag, dest=info.dest, metavar=_metavar(p),
                               help=info.help_text())


def active_preset(args: argparse.Namespace) -> Preset | None:
    """The preset the settings start from: --preset, or the default one when nothing names a part."""
    name = getattr(args, "preset", None)
    if name is not None:
        return get_preset(name)
    if getattr(args, "problem", None) is None and getattr(args, "rule", None) is None:
        return PRESETS[DEFAULT_PRESET]
    return None


def _parse(p: Param, text: str) -> Any:
    try:
        return p.parse(text)
    except ParamError as exc:
        msg = str(exc)
        raise CliError(p.flag + msg[len(p.name):] if msg.startswith(p.name) else f"{p.flag}: {msg}") from None


def _not_applicable(flag: str, kind: str, owner: str, params: Iterable[Param]) -> str:
    flags = [p.flag for p in params]
    has = f"it has: {', '.join(flags)}" if flags else "it has no settings"
    return f"{flag} does not apply to {kind} {owner}; {has}"


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The validated :class:`Settings` the flags describe; raises CliError (one line) on bad input."""
    try:
        preset = active_preset(args)
        base = preset.settings if preset is not None else Settings()
        problem = get_problem_spec(args.problem).name if args.problem is not None else base.problem
        rule = get_rule(args.rule).name if args.rule is not None else base.rule
        schedule = get_schedule(args.schedule).name if args.schedule is not None else base.schedule
    except ParamError as exc:
        raise CliError(str(exc)) from None
    keep = preset is not None
    chosen = {"problem": problem, "rule": rule, "schedule": schedule}
    values: dict[str, dict[str, Any]] = {
        "problem": dict(base.problem_params) if keep and problem == base.problem else {},
        "rule": dict(base.rule_params) if keep and rule == get_rule(base.rule).name else {},
        "schedule": dict(base.schedule_params) if keep and schedule == base.schedule else {},
    }
    for name, info in hyper_flags().items():
        text = getattr(args, info.dest, None)
        if text is None:
            continue
        owner = chosen[info.kind]
        params = _registry(info.kind)[owner].params
        if name not in params:
            raise CliError(_not_applicable(info.param.flag, info.kind, owner, params))
        values[info.kind][name] = _parse(params.get(name), text)
    seed = _parse(SEED, args.run_seed) if getattr(args, "run_seed", None) is not None else base.seed
    spe = (_parse(STEPS_PER_EPOCH, args.run_steps_per_epoch)
           if getattr(args, "run_steps_per_epoch", None) is not None else base.steps_per_epoch)
    settings = Settings(problem, rule, schedule, values["problem"], values["rule"], values["schedule"],
                        steps_per_epoch=spe, seed=seed)
    try:
        if "lr" not in values["rule"]:
            r = settings.resolved()
            settings = settings.with_rule_param("lr", suggested_lr(r.problem, r.rule, r.hp))
        settings.resolved()
    except ParamError as exc:
        raise CliError(str(exc)) from None
    return settings
