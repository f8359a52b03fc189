"""A chart's legend as one line of labels for its border (never over the data).

Each entry is the series' mark in its colour and its label: ``━ loss  ━ EWA``, without colour
the series' own marker (``⢕ EWA  x corrected``). Labels are shortened to fit, and the legend is
dropped when even three letters per label do not fit.
"""

from __future__ import annotations

from typing import Any, Sequence

from rich.color import Color, ColorParseError
from textual.markup import escape

#: what a plotext marker looks like in one character of text
MARKER_GLYPHS = {"braille": "⢕", "dot": "•", "hd": "▞", "fhd": "▞", "sd": "█"}
#: plotext colour names that Rich spells otherwise
_RICH_NAMES = {"orange": "dark_orange", "gray": "grey50", "grey": "grey50"}


def rich_colour(color: Any) -> str | None:
    """A plotext colour (name, 0-255 or an RGB tuple) as a Rich colour name, or None."""
    if isinstance(color, int):
        return f"color({color})"
    if isinstance(color, (tuple, list)) and len(color) == 3:
        return "rgb({},{},{})".format(*color)
    name = _RICH_NAMES.get(str(color), str(color))
    try:
        Color.parse(name)
    except ColorParseError:
        return None
    return name


def glyph(marker: str, joined: bool, mono: bool) -> str:
    """The legend mark of a series: a colour swatch for a line, else its marker's look."""
    if joined and not mono:
        return "━"
    return MARKER_GLYPHS.get(marker, marker[:1] or "•")


def legend_markup(entries: Sequence[tuple[str, str, Any]], width: int) -> str:
    """``entries`` (glyph, label, colour) as border markup of at most ``width`` cells, or ""."""
    if not entries or width < 6:
        return ""
    longest = max(len(label) for _g, label, _c in entries)
    for cut in sorted({longest, 12, 8, 6, 4, 3}, reverse=True):
        if cut > longest:
            continue
        for sep in ("  ", " "):
            parts = [(g, label if len(label) <= cut else label[: cut - 1] + "…", c) for g, label, c in entries]
            if len(sep.join(f"{g} {label}" for g, label, _c in parts)) <= width:
                out = []
                for g, label, c in parts:
                    name = rich_colour(c) if c is not None else None
                    mark = f"[{name}]{escape(g)}[/]" if name else escape(g)
                    out.append(f"{mark} {escape(label)}")
                return sep.join(out)
    return ""
