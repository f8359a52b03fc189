"""The only module that touches Textual internals: a row strip cache for the chart widgets.

:class:`RowStrips` paints from cached rows (``(line, runs)``, runs ``(start, end, style)``); it
uses Textual's ``_dirty_regions`` and the active app's console to compose a span's style as
Textual does. :func:`refresh_changed_rows` repaints only the rows that changed. Without those
internals, it falls back to Textual's own ``render_line``. :func:`input_pending` tells the lab's
ticker whether a key waits in the app's queue.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.events import Key
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class RowStrips:
    """``render_line`` straight from the cached rows: one Strip per row, rebuilt only when the row
    changed.

    Textual would turn the whole chart Text into strips (``Content.from_rich_text`` and a wrap
    pass) on every repaint, even of one row: measured, that cost as much as building the chart
    and sat in the screen's paint, where a key press waits for it. Rows are ``(line, runs)``
    with runs ``(start, end, style)``; styles are composed once onto the widget's visual style,
    as Textual does for a Text span.
    """

    _cache_rows: list | None = None

    def render_line(self, y: int) -> Strip:
        self.render()  # type: ignore[attr-defined]  # the cached build (a no-op when nothing changed)
        rows = self._cache_rows
        dirty = getattr(self, "_dirty_regions", None)
        if rows is None or dirty is None:
            return super().render_line(y)  # type: ignore[misc]
        dirty.clear()
        size = self.size  # type: ignore[attr-defined]
        if not 0 <= y < len(rows):
            return Strip.blank(size.width, self.visual_style.rich_style)  # type: ignore[attr-defined]
        base = self.visual_style  # type: ignore[attr-defined]
        strips = getattr(self, "_strips", None)
        if strips is None or strips[0] is not rows or strips[1] is not base or strips[2] != size.width:
            old = strips[3] if strips is not None and strips[1] is base else {}
            strips = self._strips = (rows, base, size.width, {}, old)
        made, old = strips[3], strips[4]
        key = rows[y]  # a row draws the same wherever it is: identical rows share one strip
        strip = made.get(key)
        if strip is None:
            strip = old.get(key)
            if strip is None:
                strip = _row_strip(rows[y], base, size.width)
            made[key] = strip
        return strip


_SPAN_STYLES: dict = {}


def _row_strip(row: tuple, base: Any, width: int) -> Strip:
    """One row as Textual's own Text path would give it: the same segments and the same styles,
    without the ``offset`` meta Textual adds for text selection (nobody selects a chart's text,
    and a Style per segment made every repaint allocate thousands: measured, they and the garbage
    collections they caused were a third of a repaint at 160x48)."""
    line, runs = row
    segments: list[Segment] = []
    pos = 0
    plain = base.rich_style
    for start, end, style in runs:
        if start > pos:
            segments.append(Segment(line[pos:start], plain))
        segments.append(Segment(line[start:end], _compose(base, style).rich_style))
        pos = end
    if pos < len(line):
        segments.append(Segment(line[pos:], plain))
    strip = Strip(segments)
    return strip.crop(0, width) if strip.cell_length > width else strip


def _compose(base: Any, style: Any) -> Any:
    """A span's style on top of the widget's, as Textual composes a Text span (cached)."""
    key = (base, style)
    out = _SPAN_STYLES.get(key)
    if out is None:
        from textual.style import Style as VisualStyle

        try:
            from textual._context import active_app

            app = active_app.get()
            rich = app.console.get_style(style) if isinstance(style, str) else style
            theme = app.ansi_theme
        except (LookupError, ImportError):  # pragma: no cover - outside an app
            rich = RichStyle.parse(style) if isinstance(style, str) else style
            theme = None
        out = base + VisualStyle.from_rich_style(rich, theme)
        if len(_SPAN_STYLES) > 4096:
            _SPAN_STYLES.clear()
        _SPAN_STYLES[key] = out
    return out


def refresh_changed_rows(widget: Widget) -> None:
    """Rebuild now and repaint only the rows that changed (fewer bytes to the terminal).

    A live chart often changes a few rows per frame (a new point, a tick label); a whole-widget
    refresh would resend every row with all of its colour codes. Falls back to a full refresh
    before the first layout, on a resize and whenever rows cannot be compared.
    """
    old = getattr(widget, "_cache_rows", None)
    old_size = getattr(widget, "_cache_size", None)
    size = widget.size
    if old is None or not size.width or not size.height or old_size != (size.width, size.height) \
            or not widget.is_mounted:
        widget.refresh()
        return
    widget.render()
    new = getattr(widget, "_cache_rows", None)
    if new is None or len(new) != len(old):
        widget.refresh()
        return
    y = 0
    n = len(new)
    while y < n:
        if new[y] == old[y]:
            y += 1
            continue
        start = y
        while y < n and new[y] != old[y]:
            y += 1
        widget.refresh(Region(0, start, size.width, y - start))


def input_pending(node: Any) -> bool:
    """True when a key press (or another message) waits in the app's queue, or a key press waits
    in ``node``'s own (the app hands a key on to the screen before its binding runs).

    Reads the private ``_message_queue`` of both; without them (another Textual) the answer is
    False and the lab simply does not let a waiting key go first.
    """
    try:
        app_queue = getattr(node.app, "_message_queue", None)
    except Exception:  # no active app
        return False
    empty = getattr(app_queue, "empty", None)
    if empty is not None and not empty():
        return True
    waiting = getattr(getattr(node, "_message_queue", None), "_queue", None)  # asyncio.Queue's deque
    if not waiting:
        return False
    return any(isinstance(m, Key) for m in tuple(waiting))
