"""Update rules, optax-style: ``init(w, hp) -> state`` and ``update(g, state, lr, hp, w) -> (delta, state)``.

``update`` is pure: it never modifies ``w``, ``g`` or ``state``; the new parameters are
``w + delta``. ``update_inplace(g, state, lr, hp, w)`` does the same step on ``w`` and ``state``
in place (the network's Solver). Both follow from the rule's one ``step`` (see
:mod:`descent_engine.rules.base`). ``lr`` is the learning rate for this step (the schedule has
already been applied to the rule's ``lr`` hyper-parameter). Each rule describes its
hyper-parameters once in ``params``; the CLI, the TUI and the README are built from that
description. A linear rule carries its per-eigen-direction map (``linear_map``), from which
:mod:`descent_engine.theory` derives its stability bound and rates.

The rules live in :mod:`.linear` (gd and the momentum forms) and :mod:`.adaptive`.
"""

from __future__ import annotations

from .base import PURE, RULES, Rule, RuleState, aliases, get_rule, register, rule_names
from . import linear, adaptive  # noqa: F401,E402  (registers the rules, in this order)

#: the built-in rules' aliases (alias -> name); ``RULES.aliases()`` is the live view
ALIASES = aliases()
from .adaptive import AdamState, CacheState
from .linear import GdState, MomentumState, VelocityState

State = RuleState

__all__ = [
    "ALIASES", "PURE", "RULES", "aliases", "Rule", "RuleState", "State", "get_rule", "register", "rule_names",
    "note_momentum_beta", "GdState", "MomentumState", "VelocityState", "CacheState", "AdamState",
]


def note_momentum_beta(note_beta: float) -> float:
    """The EWA-form beta equal to the note's GDM ``beta`` (which weighs the *new* gradient)."""
    return 1.0 - note_beta
