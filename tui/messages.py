"""Messages going up: a palette or a widget says what the user asked for; the screen that owns the
state decides (attributes down, messages up). Nothing here knows a screen.

``SetParam`` carries a ``Param``'s name and the text or value the user gave; ``target`` names one
run of compare mode (its rule) or ``None`` for every run. ``SetChoice`` picks a registry name (a
rule, problem, schedule, dataset). ``RunCommand`` asks the screen to run one of its actions by name
(the palette's plain commands: "reset", "compare", ...).
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class SetParam(Message):
    def __init__(self, name: str, value: Any, target: str | None = None) -> None:
        self.name = name
        self.value = value
        self.target = target
        super().__init__()


class SetChoice(Message):
    def __init__(self, kind: str, name: str, target: str | None = None) -> None:
        self.kind = kind  # "rule", "problem", "schedule", "dataset", ...
        self.name = name
        self.target = target
        super().__init__()


class RunCommand(Message):
    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__()
