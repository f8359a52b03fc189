"""The one flag builder: a flag for any :class:`~descent_engine.params.Param`, the same everywhere.

``descent-tui`` (the app launcher), ``run``, ``train`` and ``experiment`` all add their flags here:

* :func:`add_param_flags` gives each Param of a ParamSet a flag (``--batch-size N``);
* :func:`add_hyper_flags` gives each distinct rule/schedule/problem hyper-parameter name one flag,
  worded per owner where the owners word it differently (``--eps``);
* :func:`parse_flag` / :func:`given_values` read what was typed through ``Param.parse``;
* :func:`flag_message` is the one error rewriter (``lr must be ...`` -> ``--lr must be ...``).

Metavars: ``N`` (whole number), ``X`` (number), ``N,N,..`` / ``X,X,..`` (lists), ``on|off``,
``a|b|c`` (choices), ``NAME`` (a name or a path), ``N|auto`` (a number or a word). Help:
``<meaning>; range <range>, default <default> [<owners>]``. Every flag stores the text as typed
(default None, so a command knows what was given); parsing happens after argparse, with one-line
errors. No Textual import here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from descent_engine.params import Param, ParamError
from descent_engine.problems import PROBLEMS
from descent_engine.rules import RULES
from descent_engine.schedules import SCHEDULES

from .common import CliError

#: the registries whose hyper-parameters become flags, in flag-group order
KINDS = ("rule", "schedule", "problem")


def registry(kind: str) -> dict[str, Any]:
    return {"rule": RULES, "schedule": SCHEDULES, "problem": PROBLEMS}[kind]


def metavar(p: Param) -> str:
    base = {"float": "X", "int": "N", "bool": "on|off", "choice": "|".join(p.choices),
            "floats": "X,X,..", "ints": "N,N,..", "text": "NAME"}[p.kind]
    return "|".join((base, *p.words))


def param_help(p: Param, default: str | None = None, owners: str = "", meaning: str | None = None) -> str:
    """``<meaning>; range <range>, default <default> [<owners>]`` (range only for numbers)."""
    parts = [p.help if meaning is None else meaning]
    if p.kind in ("floats", "ints") and not p.min_len:
        parts[0] += " (an empty value: none)"
    tail = f"default {p.default_text() if default is None else default}"
    if p.kind in ("float", "int", "floats", "ints"):
        tail = f"range {p.range_text()}, " + tail
    text = f"{parts[0]}; {tail}" + (f" [{owners}]" if owners else "")
    return text.replace("%", "%%")


class ParamAction(argparse.Action):
    """Stores the typed text; carries the Param (and for hyper-parameters, its kind and owners)."""

    def __init__(self, option_strings, dest, param: Param | None = None, kind: str = "",
                 owners: tuple[str, ...] = (), **kwargs) -> None:
        self.param, self.kind, self.owners = param, kind, owners
        kwargs.setdefault("default", None)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        if isinstance(values, list):  # argparse drops a '--' value (`--lr=--`) and hands over []
            values = "--"
        setattr(namespace, self.dest, values)


def add_param_flags(container, params: Iterable[Param], *, prefix: str = "",
                    defaults: Mapping[str, str] | None = None, meanings: Mapping[str, str] | None = None) -> None:
    """One flag per Param: dest ``prefix + name``; ``defaults``/``meanings`` override the help's text."""
    defaults, meanings = defaults or {}, meanings or {}
    for p in params:
        container.add_argument(p.flag, dest=prefix + p.name, action=ParamAction, param=p, metavar=metavar(p),
                               help=param_help(p, defaults.get(p.name), meaning=meanings.get(p.name)))


@dataclass(frozen=True)
class FlagInfo:
    """One hyper-parameter flag: the registry kind it belongs to and who has it."""

    param: Param  # the first description of the name (same name = same meaning, see tests)
    kind: str  # "rule", "schedule" or "problem"
    owners: tuple[str, ...]

    @property
    def dest(self) -> str:
        return "hp_" + self.param.name

    def owner_param(self, owner: str) -> Param:
        return registry(self.kind)[owner].params.get(self.param.name)

    def help_text(self, default: str | None = None) -> str:
        """The registry help; where owners word it differently, each owner's wording; one range and
        default (the default per owner where they differ)."""
        by_help: dict[str, list[str]] = {}
        by_default: dict[str, list[str]] = {}
        for owner in self.owners:
            p = self.owner_param(owner)
            by_help.setdefault(p.help, []).append(owner)
            by_default.setdefault(p.default_text(), []).append(owner)
        if default is None:
            default = (next(iter(by_default)) if len(by_default) == 1 else
                       ", ".join(f"{d} ({', '.join(o)})" for d, o in by_default.items()))
        if len(by_help) == 1:
            return param_help(self.param, default, ", ".join(self.owners))
        meaning = "; ".join(f"{', '.join(owners)}: {text}" for text, owners in by_help.items())
        return param_help(self.param, default, meaning=meaning)


def hyper_flags(kinds: Iterable[str] = KINDS) -> dict[str, FlagInfo]:
    """Every distinct hyper-parameter name across the registries -> its flag description."""
    out: dict[str, FlagInfo] = {}
    for kind in kinds:
        for owner, item in registry(kind).items():
            for p in item.params:
                info = out.get(p.name)
                if info is None:
                    out[p.name] = FlagInfo(p, kind, (owner,))
                else:
                    if info.kind != kind:  # pragma: no cover - guarded by tests/test_cli_run.py
                        raise AssertionError(f"{p.name} is both a {info.kind} and a {kind} setting")
                    out[p.name] = replace(info, owners=info.owners + (owner,))
    return out


def add_hyper_flags(parser: argparse.ArgumentParser, kinds: Iterable[str] = KINDS,
                    defaults: Mapping[str, str] | None = None) -> dict[str, FlagInfo]:
    """A group per kind with one flag per hyper-parameter name (dest ``hp_<name>``)."""
    kinds = tuple(kinds)
    flags = hyper_flags(kinds)
    for kind in kinds:
        group = parser.add_argument_group(f"{kind} hyper-parameters (each applies only to the {kind}s named)")
        for info in flags.values():
            if info.kind == kind:
                p = info.param
                group.add_argument(p.flag, dest=info.dest, action=ParamAction, param=p, kind=kind,
                                   owners=info.owners, metavar=metavar(p),
                                   help=info.help_text((defaults or {}).get(p.name)))
    return flags


def hyper_values(args: argparse.Namespace, chosen: Mapping[str, str],
                 flags: Mapping[str, FlagInfo]) -> dict[str, dict[str, Any]]:
    """The given hyper-parameter flags, parsed by the chosen owner's Param, per kind; CliError for a
    flag the chosen rule/schedule/problem does not have."""
    values: dict[str, dict[str, Any]] = {kind: {} for kind in chosen}
    for name, info in flags.items():
        text = getattr(args, info.dest, None)
        if text is None:
            continue
        owner = chosen[info.kind]
        params = registry(info.kind)[owner].params
        if name not in params:
            has = [p.flag for p in params]
            raise CliError(f"{info.param.flag} does not apply to {info.kind} {owner}; "
                           + (f"it has: {', '.join(has)}" if has else "it has no settings"))
        values[info.kind][name] = parse_flag(params.get(name), text)
    return values


# -- the registry names (--preset, --problem, --rule, --schedule) --------------------------------
def _names(kind: str) -> list[str]:
    if kind == "preset":
        from descent_engine.presets import PRESETS

        return list(PRESETS)
    if kind == "rule":
        return RULES.known()
    return list(registry(kind))


NAME_HELP = {"preset": "start from a preset", "problem": "problem", "rule": "update rule",
             "schedule": "learning-rate schedule"}


def add_name_flag(container, kind: str, default: str | None = None, extra: str = "") -> None:
    """``--rule NAME`` and the like: the registry's names in the help, dest ``kind``, default None."""
    tail = f"; default {default}" if default is not None else ""
    container.add_argument("--" + kind, dest=kind, metavar="NAME", default=None,
                           help=f"{NAME_HELP[kind]}{extra}: {', '.join(_names(kind))}{tail}")


def parse_name(kind: str, text: str | None, default: str | None = None) -> str | None:
    """A registry name as typed, checked (CliError ``unknown rule 'x' (known: ...)``, the value shortened)."""
    if text is None:
        return default
    names = _names(kind)
    if text not in names:
        from descent_engine.params import shorten

        raise CliError(f"unknown {kind} {shorten(text)} (known: {', '.join(names)})")
    return text


# -- reading values, one error style ------------------------------------------------------------
def _known_names() -> set[str]:
    from descent_engine.network.config import EXPERIMENT_PARAMS, NETWORK_PARAMS, SOLVER_PARAMS

    names = {p.name for kind in KINDS for item in registry(kind).values() for p in item.params}
    names |= set(NETWORK_PARAMS.names()) | set(EXPERIMENT_PARAMS.names()) | set(SOLVER_PARAMS.names())
    return names | {"steps", "steps_per_epoch", "seed"}


def flag_message(message: str, names: Iterable[str] | None = None) -> str:
    """``'lr must be in ...'`` -> ``'--lr must be in ...'``; ``'hidden: cannot ...'`` -> ``'--hidden: ...'``.

    Only a message that starts with a knob's name and then a colon or " must" (the Params' own
    wording) is rewritten: "dataset file x.npz is a FIFO" is about a file, not the flag.
    """
    for name in sorted(_known_names() if names is None else names, key=len, reverse=True):
        rest = message[len(name):]
        if message.startswith(name) and (rest.startswith(":") or rest.startswith(" must")):
            return "--" + name.replace("_", "-") + rest
    return message


def parse_flag(p: Param, text: str) -> Any:
    """``p.parse(text)``; a bad value is a CliError naming the flag."""
    try:
        return p.parse(text)
    except ParamError as exc:
        raise CliError(flag_message(str(exc), (p.name,))) from None


def given_values(args: argparse.Namespace, params: Iterable[Param], prefix: str = "") -> dict[str, Any]:
    """The flags of ``params`` that were given, parsed (CliError, one line, on a bad value)."""
    out: dict[str, Any] = {}
    for p in params:
        text = getattr(args, prefix + p.name, None)
        if text is not None:
            out[p.name] = parse_flag(p, text)
    return out


def param_actions(parser: argparse.ArgumentParser) -> dict[str, ParamAction]:
    """A parser's flags built here: flag -> its action (``.param``, ``.kind``, ``.owners``)."""
    return {a.option_strings[0]: a for a in parser._actions if isinstance(a, ParamAction)}
