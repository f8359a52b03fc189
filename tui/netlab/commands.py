"""The network lab's command palette (ctrl+p): set lr, batch size, hidden sizes, epochs; pick a
dataset, schedule or rule. It knows no screen's internals: a choice *posts* a message
(:class:`~tui.messages.SetParam`, :class:`~tui.messages.SetChoice`) to the screen the palette was
opened on, which validates the value through the engine's Params and says in a notification what
was wrong. Attached with ``NetworkScreen.COMMANDS``.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from descent_engine.network.config import NETWORK_PARAMS
from descent_engine.network.data import DATASETS
from descent_engine.params import Param
from descent_engine.rules import RULES, get_rule
from descent_engine.schedules import SCHEDULES

from ..messages import SetChoice, SetParam

#: the knobs the palette sets by value (the rule's lr, then network knobs by their Param names)
KNOBS = ("lr", "batch_size", "hidden", "epochs")
_ASSIGN = re.compile(r"^\s*(?:set\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*(?:=|\s)\s*(\S.*?)\s*$")


def knob_param(name: str, rule: str) -> Param:
    return get_rule(rule).params.get("lr") if name == "lr" else NETWORK_PARAMS.get(name)


def parse_assignment(query: str) -> tuple[str, str] | None:
    """``set NAME = VALUE`` (or ``NAME VALUE``, ``NAME=VALUE``; ``batch-size`` for ``batch_size``)."""
    m = _ASSIGN.match(query)
    if not m:
        return None
    name = m.group(1).replace("-", "_")
    if name == "dataset":
        return name, m.group(2)
    return (name, m.group(2)) if name in KNOBS else None


class NetlabCommands(Provider):
    """Values and choices of the network lab, as messages to its screen."""

    def _post(self, message: Any) -> None:
        self.screen.post_message(message)

    def _choices(self) -> list[tuple[str, str, Any]]:
        rule = getattr(self.screen, "base", None)
        rule_name = rule.rule if rule is not None else "sgd_momentum"
        out: list[tuple[str, str, Any]] = []
        for name in KNOBS:
            p = knob_param(name, rule_name)
            out.append((f"set {name} = …", f"{p.help}; range {p.range_text()}",
                        partial(self.app.notify, f"type the value too, e.g. set {name} = <value>")))
        out += [(f"dataset: {n}", "train on this bundled dataset (with its defaults)",
                 partial(self._post, SetChoice("dataset", n))) for n in DATASETS.names()]
        out += [(f"schedule: {n}", s.title, partial(self._post, SetChoice("schedule", n))) for n, s in SCHEDULES.items()]
        out += [(f"rule: {n}", r.title, partial(self._post, SetChoice("rule", n))) for n, r in RULES.items()]
        return out

    async def discover(self) -> Hits:
        for text, help_text, command in self._choices():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        assignment = parse_assignment(query)
        if assignment is not None:
            name, value = assignment
            text = f"set {name} = {value}"
            yield Hit(1.0, text, partial(self._post, SetParam(name, value)), text=text, help="checked when chosen")
        matcher = self.matcher(query)
        for text, help_text, command in self._choices():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score * 0.9, matcher.highlight(text), command, text=text, help=help_text)
