"""Compare mode: up to four rules in lockstep on one problem (the note's "GD vs momentum").

The settings of a compare set come from :func:`descent_engine.adjust.compare_set` (each rule at its
own suggested lr by default); this module only knows which rule to add next.
"""

from __future__ import annotations

from typing import Sequence

from descent_engine.rules import RULES

from .driver import MAX_COMPARE

#: the note's comparison: plain gd against (EWA-form) momentum
DEFAULT_COMPARE = ("gd", "momentum")


def next_rule_to_add(current: Sequence[str]) -> str | None:
    """The first registry rule not yet compared, or None when four are on screen (or none left)."""
    if len(current) >= MAX_COMPARE:
        return None
    for name in RULES:
        if name not in current:
            return name
    return None
