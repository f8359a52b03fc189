"""Lines of items that wrap between items: :class:`WrapLine` (the status and theory lines) and
:class:`KeyHints` (the footer of every screen, built from :mod:`tui.keys`)."""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

_SEPARATOR_STYLE = Style(bold=False)


class WrapLine(Widget):
    """A line of items that wraps between items, never inside one (unless one is wider than all).

    Rich wraps at any space (no-break spaces too), which would cut "stable lr < 1e-4" apart.
    """

    DEFAULT_CSS = "WrapLine { height: auto; }"
    SEPARATOR = "  "
    #: never shrink at one width: a live line that wraps to one line fewer for a moment would
    #: otherwise re-lay the whole screen out (every chart resized and rebuilt) in the middle of
    #: a key press; the height settles at the most lines needed, and is re-measured on a resize
    KEEP_HEIGHT = False

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.items: list[tuple[str, str]] = []
        self._kept = (0, 0)  # (width, most lines seen at that width)
        self._changes = 0  # item changes so far ...
        self._painted = 0  # ... and how many of them a render has drawn

    @property
    def painted(self) -> bool:
        """True when the items last set have been rendered (are on their way to the terminal)."""
        return self._painted == self._changes

    def set_items(self, items: list[tuple[str, str]]) -> None:
        if items != self.items:
            width = self.size.width
            old_lines = self._height(width) if width else None
            self.items = items
            self._changes += 1
            new_lines = self._height(width) if width else None
            self.refresh(layout=old_lines != new_lines or old_lines is None)

    def _height(self, width: int) -> int:
        lines = max(1, len(self._lines(width)))
        if not self.KEEP_HEIGHT:
            return lines
        kept_width, kept = self._kept
        if kept_width != width:
            kept = 0
        self._kept = (width, max(kept, lines))
        return self._kept[1]

    @property
    def plain(self) -> str:
        return self.SEPARATOR.join(text for text, _ in self.items)

    def _lines(self, width: int) -> list[list[tuple[str, str]]]:
        lines: list[list[tuple[str, str]]] = [[]]
        used = 0
        sep = cell_len(self.SEPARATOR)
        for text, style in self.items:
            w = cell_len(text)
            if lines[-1] and used + sep + w > width:
                lines.append([])
                used = 0
            used += (sep if lines[-1] else 0) + w
            lines[-1].append((text, style))
        return lines

    def get_content_height(self, container, viewport, width: int) -> int:
        return self._height(width)

    def render(self) -> Text:
        self._painted = self._changes
        out = Text(no_wrap=True, overflow="ellipsis")
        for i, line in enumerate(self._lines(self.size.width)):
            if i:
                out.append("\n")
            for j, (text, style) in enumerate(line):
                if j:
                    # a style of its own keeps the separator a run of its own: merged into the next
                    # item's run, an SVG screenshot starts that text with spaces, which renderers drop
                    out.append(self.SEPARATOR, style=_SEPARATOR_STYLE)
                self.append_item(out, text, style)
        return out

    def append_item(self, out: Text, text: str, style: str) -> None:
        out.append(text, style=style or None)


class KeyHints(WrapLine):
    """The footer: every active binding's key and what it does, wrapped between hints.

    Textual's Footer scrolls sideways and cuts hints at 80 columns; this one wraps instead.
    """

    def show(self, hints: list[tuple[str, str]]) -> None:
        self.set_items([(f"{key} {desc}", "hint") for key, desc in hints])

    def append_item(self, out: Text, text: str, style: str) -> None:
        key, _, desc = text.partition(" ")
        out.append(key, style="bold reverse")
        out.append(" " + desc)
