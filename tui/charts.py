"""The old home of the charts, kept so that ``from tui.charts import ...`` still works: everything
lives in :mod:`tui.widgets.plot` now (import from there in new code)."""

from .widgets.plot import (  # noqa: F401
    BAND_CHARS, BAND_COLORS, DIM_COLOR, DIM_MONO_MARKERS, MONO_MARKERS, PALETTE, PATH_MARKS, Chart, Landscape, Line,
    Path, RowStrips, decimate, refresh_changed_rows, stable_limits,
)
from .widgets.plot.fastpath import ansi_to_text, build_text, matrix_to_text, raster_series  # noqa: F401
