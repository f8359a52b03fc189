"""A chart's legend as one line of labels for its border (never over the data).

Each entry is the series' mark in its colour and its label: ``━ loss  ━ EWA``, without colour
the series' own marker (``⢕ EWA  x corrected``). Labels are shortened to fit, and the legend is
dropped when even three letters per label do not fit.
"""

from __future__ import annotations

from typing import Any, Sequence

from textual.markup import escape

#: what a plotext marker looks like in one character of text
MARKER_GLYPHS = {"braille": "⢕", "dot": "•", "hd": "▞", "fhd": "▞", "sd": "█"}
_ANSI = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


def markup_colour(color: Any) -> str | None:
    """A Rich colour (as the chart draws a series) in Textual markup: ANSI colours by name (so
    they follow the theme as the plot's do), others as hex."""
    if color is None:
        return None
    if color.number is not None and color.number < 16:
        n = color.number
        return f"ansi_{_ANSI[n]}" if n < 8 else f"ansi_bright_{_ANSI[n - 8]}"
    r, g, b = color.get_truecolor()
    return f"#{r:02x}{g:02x}{b:02x}"


def glyph(marker: str, joined: bool, mono: bool) -> str:
    """The legend mark of a series: a colour swatch for a line, else its marker's look."""
    if joined and not mono:
        return "━"
    return MARKER_GLYPHS.get(marker, marker[:1] or "•")


def legend_markup(entries: Sequence[tuple[str, str, Any]], width: int) -> str:
    """``entries`` (glyph, label, colour in markup) as border markup of at most ``width`` cells,
    or ""."""
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
                    mark = f"[{c}]{escape(g)}[/]" if c else escape(g)
                    out.append(f"{mark} {escape(label)}")
                return sep.join(out)
    return ""
