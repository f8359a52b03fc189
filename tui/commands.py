"""Command palette (ctrl+p): type an exact value, switch rule/schedule/problem, load a preset.

Typing ``set lr = 3e-4`` (or ``lr 3e-4``, ``lr=3e-4``) offers to set that hyper-parameter of the
current rule, schedule or problem; the value is checked by the registry Param on selection and a
bad one is a clear error notification. Every hyper-parameter is listed (with its range and
meaning) so it can be discovered by typing part of its name.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider

from descent_engine.params import Param, format_value
from descent_engine.problems import PROBLEMS, get_problem_spec
from descent_engine.rules import RULES, get_rule
from descent_engine.schedules import SCHEDULES, get_schedule

if TYPE_CHECKING:
    from .app import DescentApp

_ASSIGN = re.compile(r"^\s*(?:set\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:=|\s)\s*(\S.*?)\s*$")


def current_params(app: "DescentApp") -> Iterator[tuple[str, Param, object]]:
    """(kind, Param, current value) for every hyper-parameter of what is on screen."""
    s = app.lab.settings
    rule, schedule, spec = get_rule(s.rule), get_schedule(s.schedule), get_problem_spec(s.problem)
    values = {"rule": rule.hparams(s.rule_params), "schedule": schedule.hparams(s.schedule_params),
              "problem": spec.hparams(s.problem_params)}
    for kind, owner in (("rule", rule), ("schedule", schedule), ("problem", spec)):
        for p in owner.params:
            yield kind, p, values[kind][p.name]


def parse_assignment(app: "DescentApp", query: str) -> tuple[str, Param, str] | None:
    """``set NAME = VALUE`` -> (kind, Param, value text) when NAME is a current hyper-parameter."""
    m = _ASSIGN.match(query)
    if not m:
        return None
    name, value = m.group(1), m.group(2)
    for kind, p, _ in current_params(app):
        if p.name == name or p.flag.lstrip("-") == name:
            return kind, p, value
    return None


def not_here_message(app: "DescentApp", query: str) -> str | None:
    """For ``NAME VALUE`` where NAME is no setting of what is on screen: what does apply (as the CLI
    says it), e.g. "beta does not apply to rule gd; it has: lr"."""
    m = _ASSIGN.match(query)
    if not m or parse_assignment(app, query) is not None:
        return None
    name = m.group(1)
    s = app.lab.settings
    owners = (("rule", get_rule(s.rule), RULES), ("schedule", get_schedule(s.schedule), SCHEDULES),
              ("problem", get_problem_spec(s.problem), PROBLEMS))
    for kind, owner, registry in owners:
        if any(name in other.params for other in registry.values()):
            has = ", ".join(p.name for p in owner.params) or "no settings"
            return f"{name} does not apply to {kind} {owner.name}; it has: {has}"
    return None


class LabCommands(Provider):
    """Hyper-parameters, rules, schedules, problems and presets for the palette."""

    def _choices(self) -> list[tuple[str, str, str, str]]:
        """(text, help, kind, name) of every switch the palette offers."""
        app = self.app
        out: list[tuple[str, str, str, str]] = []
        for kind, p, value in current_params(app):  # type: ignore[arg-type]
            out.append((f"set {p.name} = …", f"{kind} {p.help}; now {format_value(p, value)}, range {p.range_text()}",
                        "usage", p.name))
        out += [(f"rule: {n}", r.title, "rule", n) for n, r in RULES.items()]
        out += [(f"schedule: {n}", s.title, "schedule", n) for n, s in SCHEDULES.items()]
        out += [(f"problem: {n}", p.title, "problem", n) for n, p in PROBLEMS.items() if p.planar]
        try:
            from descent_engine.presets import PRESETS

            out += [(f"preset: {n}", p.description, "preset", n) for n, p in PRESETS.items()]
        except ImportError:  # pragma: no cover
            pass
        return out

    def _command(self, kind: str, name: str):
        app = self.app
        if kind == "usage":
            return partial(app.notify, f"type the value too, e.g. set {name} = <value>")  # type: ignore[attr-defined]
        return partial(app.set_choice, kind, name)  # type: ignore[attr-defined]

    async def discover(self) -> Hits:
        for text, help_text, kind, name in self._choices():
            yield DiscoveryHit(text, self._command(kind, name), help=help_text)

    async def search(self, query: str) -> Hits:
        app = self.app
        assignment = parse_assignment(app, query)  # type: ignore[arg-type]
        if assignment is not None:
            kind, p, value = assignment
            text = f"set {p.name} = {value}"
            yield Hit(1.0, text, partial(app.set_param, kind, p.name, value), text=text,  # type: ignore[attr-defined]
                      help=f"{kind} {p.help}; range {p.range_text()}")
        else:
            message = not_here_message(app, query)  # type: ignore[arg-type]
            if message is not None:
                yield Hit(1.0, message, partial(app.notify, message, severity="warning"),  # type: ignore[attr-defined]
                          text=message, help="pick a rule, schedule or problem that has it")
        matcher = self.matcher(query)
        for text, help_text, kind, name in self._choices():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score * 0.9, matcher.highlight(text), self._command(kind, name), text=text, help=help_text)
