"""Formatting both labs share: settings as ``label value`` items (from the registries' Params)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from descent_engine.params import Param, format_value


def params_text(params: Iterable[Param], values: Mapping[str, Any]) -> list[str]:
    """``label value`` for every Param, formatted by the registry."""
    return [f"{p.label} {format_value(p, values[p.name])}" for p in params]
