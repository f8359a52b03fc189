"""Charts for the labs: the line model (:mod:`.line`), ticks (:mod:`.axes`), the legend
(:mod:`.legend`), the :class:`Chart` widget (:mod:`.chart`) and the :class:`Landscape`.

Only :mod:`.fastpath` touches plotext internals and only :mod:`.strips` Textual internals.
"""

from .axes import is_integer_axis, tick_labels, ticks
from .chart import DIM_COLOR, DIM_MONO_MARKERS, MONO_MARKERS, PALETTE, Chart, clip_diverged
from .landscape import BAND_CHARS, BAND_COLORS, PATH_MARKS, Landscape, Path, band_key
from .legend import legend_markup
from .line import DIVERGED_FACTOR, Line, data_limits, decimate, diverged, stable_limits
from .strips import RowStrips, refresh_changed_rows

__all__ = [
    "BAND_CHARS", "BAND_COLORS", "DIM_COLOR", "DIM_MONO_MARKERS", "DIVERGED_FACTOR", "MONO_MARKERS", "PALETTE",
    "PATH_MARKS", "Chart", "Landscape", "Line", "Path", "RowStrips", "band_key", "clip_diverged", "data_limits",
    "decimate", "diverged", "is_integer_axis", "legend_markup", "refresh_changed_rows", "stable_limits",
    "tick_labels", "ticks",
]
