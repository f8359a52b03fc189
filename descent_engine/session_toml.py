"""Settings as TOML text (the ``--print-config`` / ``--config`` format and the lab's session
files): every knob set written, the others commented out at their defaults, so reading the
file back (``tui.cli.session.read_config``) gives equal Settings. Floats by ``repr``: the same
bits come back."""

from __future__ import annotations

import math
from typing import Any, Mapping

from .presets import Preset
from .problems import get_problem_spec
from .run import Settings

TABLES = ("problem_params", "rule_params", "schedule_params")


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """One TOML value: strings quoted, floats by ``repr`` (inf/nan as TOML spells them), lists."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if hasattr(value, "item"):  # a NumPy scalar
        return toml_value(value.item())
    raise TypeError(f"cannot write {type(value).__name__} as TOML")  # pragma: no cover - every Param kind above


def _lines(values: Mapping[str, Any]) -> list[str]:
    return [f"{k} = {toml_value(v)}" for k, v in values.items() if v is not None]


def to_toml(settings: Settings, *, preset: Preset | None = None, steps: int | None = None,
            compare: tuple[str, ...] = (), same_lr: bool = False, screenshot_dir: str | None = None) -> str:
    """The TOML of ``settings`` (every knob resolved), and of the command's own options."""
    r = settings.resolved()
    top: dict[str, Any] = {
        "preset": preset.name if preset is not None and preset.name else None,
        "problem": settings.problem, "rule": r.rule.name, "schedule": r.schedule.name, "steps": steps,
        "seed": int(settings.seed), "steps_per_epoch": int(settings.steps_per_epoch),
        "start": None if settings.start is None else [float(v) for v in settings.start],
        "lr_suggested": True if settings.lr_suggested else None,
        "compare": list(compare) if compare else None, "same_lr": True if compare and same_lr else None,
        "screenshot_dir": screenshot_dir,
    }
    problem_hp = get_problem_spec(settings.problem).hparams(settings.problem_params)
    lines = ["# descent-tui settings: descent-tui run --config FILE (or descent-tui --config FILE)", *_lines(top)]
    given = (settings.problem_params, settings.rule_params, settings.schedule_params)
    for table, chosen, values in zip(TABLES, given, (problem_hp, r.hp, r.schedule_hp)):
        lines += ["", f"[{table}]", *_lines({k: v for k, v in values.items() if k in chosen})]
        lines += [f"# {line}  (default)" for line in _lines({k: v for k, v in values.items() if k not in chosen})]
    return "\n".join(lines) + "\n"


