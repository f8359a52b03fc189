"""Hyper-parameter descriptions: the one place a knob is described.

Every rule, schedule and problem lists its knobs as :class:`Param` objects. The CLI builds its
flags from them, the TUI its controls and status line, the README its tables; nothing else
hard-codes a default or a range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping


class ParamError(ValueError):
    """A hyper-parameter value is out of range or malformed (message is one user-facing line)."""


@dataclass(frozen=True)
class Param:
    """One hyper-parameter.

    kind: "float", "int", "bool", "choice", "floats" (comma list), "ints" (comma list) or "text"
    (a name or a path: non-empty, at most :data:`MAX_TEXT` characters, no NUL).
    scale: "log" or "linear": how a UI should step it (log: multiply, linear: add).
    low/high: the allowed range; ``low_open``/``high_open`` make that end exclusive.
    min_len: the fewest items a list kind takes (0: an empty list, typed as an empty value, is allowed).
    multiple_of: an int (or each item of "ints") must be a multiple of this.
    words: literal words accepted as they are besides the numbers (e.g. ``("auto",)``).
    none_text: set when ``None`` is a valid value (the default "not given"); what ``None`` means.
    zero_text: for an int whose 0 means something else than a count; shown after it ("0 (full batch)").
    unit: for schedule knobs, "epochs", "rate" or "factor" (how the knob stretches with the run).
    """

    name: str
    default: Any
    help: str
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    scale: str = "linear"
    choices: tuple[str, ...] = ()
    symbol: str = ""
    min_len: int = 0
    multiple_of: int | None = None
    words: tuple[str, ...] = ()
    none_text: str = ""
    zero_text: str = ""
    #: what a schedule knob measures, so a schedule can be stretched to another run length
    #: (:func:`descent_engine.adjust.fit_schedule`): "epochs" (a count or list of epochs), "rate"
    #: (per epoch: scales inversely), "factor" (a per-epoch factor: its power scales inversely)
    unit: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.symbol or self.name

    def range_text(self) -> str:
        if self.kind == "bool":
            return "on|off"
        if self.kind == "choice":
            return "|".join(self.choices)
        if self.kind == "text":
            return "text"
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "inf" if self.high is None else _fmt(self.high)
        left = "(" if (self.low_open or self.low is None) else "["
        right = ")" if (self.high_open or self.high is None) else "]"
        body = f"{left}{lo}, {hi}{right}"
        if self.multiple_of:
            body = f"multiples of {self.multiple_of} in {body}"
        if self.words:
            body = " or ".join(self.words) + " or " + body
        return body + (" each" if self.kind in ("floats", "ints") else "")

    def default_text(self) -> str:
        if self.default is None and self.none_text:
            return self.none_text
        return format_value(self, self.default)

    # -- validation ---------------------------------------------------------------------------
    def parse(self, text: str) -> Any:
        """Parse a user-typed string and validate it."""
        text = str(text).strip()
        if text.lower() in self.words:
            return text.lower()
        if self.zero_text and text == f"0 ({self.zero_text})":  # as the value is shown
            text = "0"
        try:
            if self.kind == "text":
                value: Any = text
            elif self.kind == "float":
                value: Any = float(text)
            elif self.kind == "int":
                value = int(float(text)) if _is_integral(text) else int(text)
            elif self.kind == "bool":
                low = text.lower()
                if low in ("1", "true", "yes", "on"):
                    value = True
                elif low in ("0", "false", "no", "off"):
                    value = False
                else:
                    raise ValueError
            elif self.kind == "choice":
                value = text
            elif self.kind in ("floats", "ints"):
                # an empty value is the empty list; otherwise every item must be there ("1,,2" is a typo)
                value = tuple(_list_item(t, self.kind) for t in text.split(",")) if text else ()
            else:  # pragma: no cover - programming error
                raise AssertionError(self.kind)
        except ValueError:
            shown = "an empty value" if not text else shorten(text)
            raise ParamError(f"{self.name}: cannot read {shown} as {self._kind_text()}") from None
        return self.validate(value)

    def validate(self, value: Any) -> Any:
        """Return ``value`` normalised, or raise :class:`ParamError` with a one-line reason."""
        if value is None and self.none_text:
            return None
        if isinstance(value, str) and value in self.words:
            return value
        if self.kind == "bool":
            if not isinstance(value, (bool, int)):
                raise ParamError(f"{self.name}: expected on or off, got {shorten(value)}")
            return bool(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise ParamError(f"{self.name}: expected one of {', '.join(self.choices)}, got {shorten(value)}")
            return value
        if self.kind == "text":
            if not isinstance(value, str) or not value.strip():
                raise ParamError(f"{self.name}: expected a name or a path, got "
                                 + ("an empty value" if isinstance(value, str) else shorten(value)))
            if len(value) > MAX_TEXT or "\0" in value:
                raise ParamError(f"{self.name}: expected at most {MAX_TEXT} characters and no NUL, got {shorten(value)}")
            return value
        if self.kind in ("floats", "ints"):
            if isinstance(value, (int, float)):
                value = (value,)
            if isinstance(value, str):
                raise ParamError(f"{self.name}: expected {self._kind_text()}, got {shorten(value)}")
            items = tuple(self._check_number(v, float if self.kind == "floats" else int) for v in value)
            if len(items) < self.min_len:
                raise ParamError(f"{self.name}: expected at least {self.min_len} item"
                                 f"{'s' if self.min_len > 1 else ''}, got none" if not items else
                                 f"{self.name}: expected at least {self.min_len} items, got {len(items)}")
            return items
        return self._check_number(value, float if self.kind == "float" else int)

    def _range_phrase(self) -> str:
        """'in [0, 1)', or for a multiple/word knob 'auto or a multiple of 100 in [100, 1e6]'."""
        if not (self.multiple_of or self.words):
            return "in " + self.range_text()
        plain = Param(self.name, self.default, self.help, self.kind, self.low, self.high, self.low_open,
                      self.high_open).range_text()
        body = f"a multiple of {self.multiple_of} in {plain}" if self.multiple_of else "in " + plain
        return " or ".join(self.words + (body,))

    def _kind_text(self) -> str:
        text = {
            "float": "a number",
            "int": "a whole number",
            "bool": "on or off",
            "choice": "one of " + ", ".join(self.choices),
            "floats": "comma-separated numbers",
            "ints": "comma-separated whole numbers",
            "text": "a name or a path",
        }[self.kind] if not (self.multiple_of and self.kind == "int") else f"a multiple of {self.multiple_of}"
        return text + "".join(f" or {w}" for w in self.words)

    def _check_number(self, value: Any, typ: type) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = typ(value)
            except (TypeError, ValueError, OverflowError):
                raise ParamError(f"{self.name}: expected {self._kind_text()}, got {shorten(value)}") from None
        if typ is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ParamError(f"{self.name}: expected a whole number, got {shorten(value)}")
                value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ParamError(f"{self.name} must be finite, got {value!r}")
        shown = _fmt(value) if self.kind in ("floats", "ints") else format_value(self, value)
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            raise ParamError(f"{self.name} must be {self._range_phrase()}, got {shown}")
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            raise ParamError(f"{self.name} must be {self._range_phrase()}, got {shown}")
        if self.multiple_of and value % self.multiple_of:
            raise ParamError(f"{self.name} must be {self._range_phrase()}, got {shown}")
        return value

    # -- stepping (for UIs) ---------------------------------------------------------------------
    def nudge(self, value: float, direction: int, factor: float = 2.0, linear_step: float | None = None) -> float:
        """Move ``value`` one notch up (+1) or down (-1), clamped into range.

        Log-scaled parameters multiply/divide by ``factor``. Linear parameters in [0, 1) (betas)
        move their distance to 1 by a factor of 2 so that 0.9 -> 0.95 -> 0.975 and 0.9 -> 0.8.
        """
        if self.kind not in ("float", "int"):
            raise ParamError(f"{self.name} is not numeric")
        if self.scale == "log":
            new = value * factor if direction > 0 else value / factor
        elif linear_step is not None:
            new = value + direction * linear_step
        elif self.low is not None and self.high is not None and self.low >= 0 and self.high <= 1:
            gap = 1.0 - value
            new = 1.0 - gap / 2.0 if direction > 0 else 1.0 - min(1.0, gap * 2.0)
            tidy = round(new, 12)  # 0.95 rather than 0.9500000000000001, if it still moves the right way
            if (tidy - value) * direction > 0 and tidy < 1.0:
                new = tidy
        else:
            new = value + direction * (1 if self.kind == "int" else 0.1)
        return self.clamp(new)

    def clamp(self, value: float) -> float:
        """Pull ``value`` into range; an open end is approached but never reached."""
        lo, hi = self.low, self.high
        span = (hi - lo) if (lo is not None and hi is not None) else 1.0
        if lo is not None and (value < lo or (self.low_open and value <= lo)):
            value = lo if not self.low_open else (lo + 1 if self.kind == "int" else lo + span * 1e-4)
        if hi is not None and (value > hi or (self.high_open and value >= hi)):
            value = hi if not self.high_open else (hi - 1 if self.kind == "int" else hi - span * 1e-4)
        return int(value) if self.kind == "int" else float(value)


#: the longest text value (a path): PATH_MAX on Linux
MAX_TEXT = 4096


def shorten_path(text: object, limit: int = 120) -> str:
    """A path or name printable on one line (control characters escaped); if longer than ``limit``,
    its start and end around ``...`` (the end holds the file name). For messages about files."""
    text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(text))
    if len(text) <= limit:
        return text
    tail = limit // 2
    return f"{text[:limit - tail - 3]}...{text[-tail:]}"


def shorten(value: Any, limit: int = 40) -> str:
    """``repr`` of a user value, cut to ``limit`` characters: ``'xxxx…' (100000 characters)``."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(value) if isinstance(value, str) else text
    return repr(text[:limit])[:-1] + f"…' ({len(text)} characters)"


def _list_item(text: str, kind: str) -> float | int:
    text = text.strip()
    if kind == "floats":
        return float(text)
    return int(float(text)) if _is_integral(text) else int(text)


def _is_integral(text: str) -> bool:
    try:
        return float(text).is_integer() and ("e" in text.lower() or "." in text)
    except ValueError:
        return False


def _fmt(x: float) -> str:
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e6):
        return str(int(x))
    return f"{x:g}"


def format_value(param: Param, value: Any) -> str:
    """Compact text for a value, as the status line and --list show it."""
    if param.kind == "bool":
        return "on" if value else "off"
    if param.kind in ("choice", "text") or isinstance(value, str):  # a text, or a word such as "auto"
        return str(value)
    if param.kind in ("floats", "ints"):
        return ",".join(_fmt(v) for v in value) if value else "-"
    if param.kind == "int":
        return f"0 ({param.zero_text})" if value == 0 and param.zero_text else str(int(value))
    value = float(value)
    if value == 0:
        return "0"
    if param.scale == "log" or abs(value) < 1e-3 or abs(value) >= 1e4:
        return f"{value:.3g}" if 1e-3 <= abs(value) < 1e4 else f"{value:.2e}"
    return f"{value:.6g}"


@dataclass(frozen=True)
class ParamSet:
    """An ordered collection of :class:`Param` with helpers to build and validate settings."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __iter__(self):
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __contains__(self, name: object) -> bool:
        return any(p.name == name for p in self.params)

    def get(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, values: Mapping[str, Any] | None = None, *, owner: str = "") -> dict[str, Any]:
        """Defaults overlaid with ``values`` (validated). Unknown names are an error."""
        out = self.defaults()
        for name, value in (values or {}).items():
            if name not in self:
                known = ", ".join(self.names()) or "none"
                where = f" for {owner}" if owner else ""
                raise ParamError(f"unknown setting {name!r}{where} (known: {known})")
            out[name] = self.get(name).validate(value)
        return out


def merge_param_sets(sets: Iterable[ParamSet]) -> list[Param]:
    """All params of several sets, first description of each name winning."""
    seen: dict[str, Param] = {}
    for s in sets:
        for p in s:
            seen.setdefault(p.name, p)
    return list(seen.values())
