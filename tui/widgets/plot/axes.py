"""Ticks and tick labels: round positions (1, 2 or 5 times a power of ten), whole numbers on
step/iteration/epoch axes, and compact labels (``1e13``, ``-1.5e12``, ``0.5``, ``2500``)."""

from __future__ import annotations

import math

#: x labels (their first word) whose axis counts whole things: ticks at whole numbers only
INTEGER_WORDS = frozenset({"step", "steps", "iteration", "iterations", "epoch", "epochs", "day", "days", "k"})
#: a plain label longer than this switches the axis to the short scientific form
MAX_PLAIN = 6


def is_integer_axis(label: str) -> bool:
    """True for an axis named by a count: ``step``, ``iteration``, ``epoch``, ``days back k``..."""
    words = label.lower().replace("(", " ").split()
    return bool(words) and (words[0] in INTEGER_WORDS or words[-1] in INTEGER_WORDS)


def _exponent(v: float) -> int:
    """The power of ten of ``v``'s first digit (from its printed form: no log10 rounding)."""
    return int(f"{v:.12e}".split("e")[1])


def tick_step(lo: float, hi: float, max_ticks: int, integer: bool = False) -> float:
    """The smallest round step (1, 2, 5 x 10^k; at least 1 on an integer axis) that puts at most
    ``max_ticks`` ticks in ``[lo, hi]``."""
    span = hi - lo
    max_ticks = max(int(max_ticks), 2)
    if not (span > 0 and math.isfinite(span)):
        return 1.0
    e = math.floor(math.log10(span / (max_ticks - 1)))
    for k in range(e - 1, e + 3):
        for m in (1, 2, 5):
            step = m * 10.0 ** k
            if integer and step < 1:
                continue
            if math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1 <= max_ticks:
                return step
    return 10.0 ** (e + 3)  # pragma: no cover - the loop always finds one


def _strip_zeros(s: str) -> str:
    return s.rstrip("0").rstrip(".") if "." in s else s


def _last_digit(step: float) -> int:
    """The power of ten of the step's last significant digit (5e12 -> 12, 0.25 -> -2)."""
    k = _exponent(step)
    while k > -300 and abs(step / 10.0 ** k - round(step / 10.0 ** k)) > 1e-6:
        k -= 1
    return k


def tick_labels(values: list[float], step: float) -> list[str]:
    """Labels for ticks ``step`` apart: plain (``0.5``, ``100``, ``2500``) while every label has
    at most :data:`MAX_PLAIN` characters, else ``1e13`` / ``-1.5e12`` (the digits the step needs)."""
    e = _last_digit(step)
    decimals = max(0, -e)
    plain = [_strip_zeros(f"{v:.{decimals}f}") for v in values]
    plain = ["0" if p in ("-0", "") else p for p in plain]
    if all(len(p) <= MAX_PLAIN for p in plain):
        return plain
    out = []
    for v in values:
        if abs(v) < step / 2:
            out.append("0")
            continue
        digits = max(0, _exponent(v) - e)
        mantissa, exp = f"{v:.{digits}e}".split("e")
        out.append(f"{_strip_zeros(mantissa)}e{int(exp)}")
    return out


def short(v: float) -> str:
    """``v`` in three significant digits at most (``0.25``, ``1.5e12``)."""
    text = f"{v:.3g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        return f"{_strip_zeros(mantissa)}e{int(exp)}"
    return text


def ticks(lo: float, hi: float, max_ticks: int, integer: bool = False) -> tuple[list[float], list[str]]:
    """Tick positions inside ``[lo, hi]`` and their labels (never empty, never duplicated)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo], [short(lo)]
    step = tick_step(lo, hi, max_ticks, integer)
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    ks = list(range(first, last + 1))
    if len(ks) < 2 and not integer:  # a short axis: the next denser step, up to twice as many
        denser = tick_step(lo, hi, 2 * max_ticks - 1)
        if denser < step:
            step = denser
            first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
            ks = list(range(first, last + 1))
    if not ks:  # an integer axis shorter than one: its lower end, labelled as it is
        return [lo], [short(lo)]
    values = [k * step for k in ks]
    labels = tick_labels(values, step)
    return [min(max(v, lo), hi) for v in values], labels


def max_ticks(cells: int, per_tick: int, most: int) -> int:
    """How many ticks ``cells`` cells hold at ``per_tick`` cells each (2 to ``most``)."""
    return max(2, min(most, cells // per_tick + 1))
