"""Compare mode: up to four rules in lockstep on one problem (the note's "GD vs momentum").

Every rule gets the same problem, schedule and learning rate (the note's comparison runs gd and
momentum at the same lr 1e-4); a rule that is the base rule keeps the base rule's settings, the
others start from their registry defaults. Setting changes apply to every rule that has the
setting.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from descent_engine.rules import RULES, get_rule
from descent_engine.run import Settings

from .driver import MAX_COMPARE

#: the note's comparison: plain gd against (EWA-form) momentum
DEFAULT_COMPARE = ("gd", "momentum")


def settings_for_rule(base: Settings, rule: str) -> Settings:
    """``base`` with its rule swapped for ``rule``, keeping the base's lr (and all of it if same rule)."""
    rule = get_rule(rule).name
    if rule == get_rule(base.rule).name:
        return base
    params: dict[str, Any] = {}
    if "lr" in base.rule_params:
        params["lr"] = base.rule_params["lr"]
    return replace(base, rule=rule, rule_params=params)


def compare_settings(base: Settings, rules: Sequence[str] = DEFAULT_COMPARE) -> list[Settings]:
    """One Settings per rule, the base rule's own settings for the base rule."""
    names: list[str] = []
    for r in rules:
        name = get_rule(r).name
        if name not in names:
            names.append(name)
    return [settings_for_rule(base, r) for r in names[:MAX_COMPARE]]


def next_rule_to_add(current: Sequence[str]) -> str | None:
    """The first registry rule not yet compared, or None when four are on screen (or none left)."""
    if len(current) >= MAX_COMPARE:
        return None
    for name in RULES:
        if name not in current:
            return name
    return None


def with_param_everywhere(settings: Sequence[Settings], name: str, value: Any) -> list[Settings]:
    """Set a rule hyper-parameter on every run whose rule has it."""
    out = []
    for s in settings:
        out.append(s.with_rule_param(name, value) if name in get_rule(s.rule).params else s)
    return out
