"""Command palette (ctrl+p) of the 2-D lab: type an exact value, switch rule/schedule/problem,
load a preset.

Typing ``set lr = 3e-4`` (or ``lr 3e-4``, ``lr=3e-4``) offers to set that hyper-parameter of the
current rule, schedule or problem; ``set lr = 3e-4 for adam`` sets it for one rule of compare
mode. The provider reads the screen's settings (attributes down) and posts a message
(:mod:`tui.messages`) the screen handles (messages up); the value is checked by the registry
Param there and a bad one is a clear error notification. Every hyper-parameter is listed (with
its range and meaning); choosing "set lr = …" opens the palette again with ``lr = `` typed.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Iterator

from textual.command import CommandInput, CommandPalette, DiscoveryHit, Hit, Hits, Provider

from descent_engine.params import Param, format_value
from descent_engine.presets import PRESETS
from descent_engine.problems import PROBLEMS, get_problem_spec
from descent_engine.rules import RULES, get_rule
from descent_engine.schedules import SCHEDULES, get_schedule

from .messages import SetChoice, SetParam

if TYPE_CHECKING:
    from descent_engine.run import Settings

_ASSIGN = re.compile(r"^\s*(?:set\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|\s)\s*(\S.*?)"
                     r"(?:\s+for\s+([A-Za-z_][A-Za-z0-9_-]*))?\s*$")


def current_params(s: "Settings") -> Iterator[tuple[str, Param, object]]:
    """(kind, Param, current value) for every hyper-parameter of settings ``s``."""
    rule, schedule, spec = get_rule(s.rule), get_schedule(s.schedule), get_problem_spec(s.problem)
    values = {"rule": rule.hparams(s.rule_params), "schedule": schedule.hparams(s.schedule_params),
              "problem": spec.hparams(s.problem_params)}
    for kind, owner in (("rule", rule), ("schedule", schedule), ("problem", spec)):
        for p in owner.params:
            yield kind, p, values[kind][p.name]


def parse_assignment(s: "Settings", query: str) -> tuple[str, Param, str, str | None] | None:
    """``set NAME = VALUE [for RULE]`` -> (kind, Param, value text, rule or None) when NAME is a
    hyper-parameter of ``s``."""
    m = _ASSIGN.match(query)
    if not m:
        return None
    name, value, target = m.group(1), m.group(2), m.group(3)
    for kind, p, _ in current_params(s):
        if p.name == name or p.flag.lstrip("-") == name:
            return kind, p, value, target
    return None


def not_here_message(s: "Settings", query: str) -> str | None:
    """For ``NAME VALUE`` where NAME is no setting of what is on screen: what does apply (as the CLI
    says it), e.g. "beta does not apply to rule gd; it has: lr"."""
    m = _ASSIGN.match(query)
    if not m or parse_assignment(s, query) is not None:
        return None
    name = m.group(1)
    owners = (("rule", get_rule(s.rule), RULES), ("schedule", get_schedule(s.schedule), SCHEDULES),
              ("problem", get_problem_spec(s.problem), PROBLEMS))
    for kind, owner, registry in owners:
        if any(name in other.params for other in registry.values()):
            has = ", ".join(p.name for p in owner.params) or "no settings"
            return f"{name} does not apply to {kind} {owner.name}; it has: {has}"
    return None


def other_problem_with(s: "Settings", query: str) -> str | None:
    """``f = x**2 + y**2`` while on another problem: the one problem that has ``f`` (``function``),
    so the palette can switch to it with that value."""
    m = _ASSIGN.match(query)
    if not m or parse_assignment(s, query) is not None:
        return None
    owners = [n for n, spec in PROBLEMS.items() if m.group(1) in spec.params and n != s.problem]
    return owners[0] if len(owners) == 1 else None


def prefill_palette(app, text: str) -> None:
    """Open the palette again with ``text`` typed (after choosing "set lr = …")."""
    palette = CommandPalette(id="--command-palette")

    def fill() -> None:
        field = palette.query_one(CommandInput)
        field.value = text
        field.cursor_position = len(text)

    app.push_screen(palette)
    app.call_after_refresh(fill)


class LabCommands(Provider):
    """Hyper-parameters, rules, schedules, problems and presets for the palette."""

    @property
    def _settings(self) -> "Settings":
        return self.screen.lab.settings  # type: ignore[attr-defined]

    def _choices(self) -> list[tuple[str, str, str, str]]:
        """(text, help, kind, name) of every switch the palette offers."""
        out: list[tuple[str, str, str, str]] = []
        for kind, p, value in current_params(self._settings):
            out.append((f"set {p.name} = …", f"{kind} {p.help}; now {format_value(p, value)}, range {p.range_text()}",
                        "usage", p.name))
        out += [(f"rule: {n}", r.title, "rule", n) for n, r in RULES.items()]
        out += [(f"schedule: {n}", s.title, "schedule", n) for n, s in SCHEDULES.items()]
        out += [(f"problem: {n}", p.title, "problem", n) for n, p in PROBLEMS.items() if p.planar]
        out += [(f"preset: {n}", p.description, "preset", n) for n, p in PRESETS.items()]
        return out

    def _post(self, message) -> None:
        self.screen.post_message(message)

    def _command(self, kind: str, name: str):
        if kind == "usage":
            return partial(prefill_palette, self.app, f"{name} = ")
        return partial(self._post, SetChoice(kind, name))

    async def discover(self) -> Hits:
        for text, help_text, kind, name in self._choices():
            yield DiscoveryHit(text, self._command(kind, name), help=help_text)

    async def search(self, query: str) -> Hits:
        settings = self._settings
        assignment = parse_assignment(settings, query)
        if assignment is not None:
            kind, p, value, target = assignment
            text = f"set {p.name} = {value}" + (f" for {target}" if target else "")
            yield Hit(1.0, text, partial(self._post, SetParam(f"{kind}.{p.name}", value, target)), text=text,
                      help=f"{kind} {p.help}; range {p.range_text()}" + ("" if target else
                                                                          "; add 'for RULE' for one rule of compare"))
        elif (owner := other_problem_with(settings, query)) is not None:
            name, value = _ASSIGN.match(query).group(1), _ASSIGN.match(query).group(2)  # type: ignore[union-attr]
            text = f"problem {owner}: {name} = {value}"
            yield Hit(1.0, text, partial(self._post, SetParam(f"problem.{name}", value)), text=text,
                      help=f"switch to problem {owner} with {name} = {value}")
        else:
            message = not_here_message(settings, query)
            if message is not None:
                yield Hit(1.0, message, partial(self.app.notify, message, severity="warning"),
                          text=message, help="pick a rule, schedule or problem that has it")
        matcher = self.matcher(query)
        for text, help_text, kind, name in self._choices():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score * 0.9, matcher.highlight(text), self._command(kind, name), text=text, help=help_text)


class EwaCommands(Provider):
    """The EWA lab's palette: ``set beta = 0.95`` (or ``beta 0.95``) and the lecture's betas.

    The screen provides ``PALETTE_PARAMS`` (its Params) and ``PALETTE_CHOICES`` ((text, help,
    name, value) rows); the provider posts :class:`SetParam` and the screen validates."""

    def _params(self) -> tuple[Param, ...]:
        return tuple(getattr(self.screen, "PALETTE_PARAMS", ()))

    def _choices(self) -> list[tuple[str, str, str, object]]:
        out = [(f"set {p.name} = …", f"{p.help}; range {p.range_text()}", p.name, None) for p in self._params()]
        return out + list(getattr(self.screen, "PALETTE_CHOICES", ()))

    def _command(self, name: str, value: object):
        if value is None:
            return partial(prefill_palette, self.app, f"{name} = ")
        return partial(self.screen.post_message, SetParam(name, value))

    async def discover(self) -> Hits:
        for text, help_text, name, value in self._choices():
            yield DiscoveryHit(text, self._command(name, value), help=help_text)

    async def search(self, query: str) -> Hits:
        m = _ASSIGN.match(query)
        if m:
            for p in self._params():
                if m.group(1) in (p.name, p.symbol):
                    text = f"set {p.name} = {m.group(2)}"
                    yield Hit(1.0, text, partial(self.screen.post_message, SetParam(p.name, m.group(2))), text=text,
                              help=f"{p.help}; range {p.range_text()}")
        matcher = self.matcher(query)
        for text, help_text, name, value in self._choices():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score * 0.9, matcher.highlight(text), self._command(name, value), text=text, help=help_text)
