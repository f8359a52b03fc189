"""What both labs share: settings as ``label value`` items (from the registries' Params) and the
smallest terminal they draw in."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from descent_engine.params import Param, format_value

#: below this a lab says the terminal is too small instead of drawing (width, height)
MIN_SIZE = (60, 20)


def params_text(params: Iterable[Param], values: Mapping[str, Any]) -> list[str]:
    """``label value`` for every Param, formatted by the registry."""
    return [f"{p.label} {format_value(p, values[p.name])}" for p in params]


def count(n: int, noun: str) -> str:
    """``n noun`` with the noun in the plural unless ``n`` is 1 ("1 epoch", "60 epochs")."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
