"""Which charts the lab shows at which terminal size, and which problems it shows."""

from __future__ import annotations

from descent_engine.problems import PROBLEMS
from descent_engine.run import Settings

from ..formatting import MIN_SIZE

__all__ = ["ALL_CHARTS", "LAYOUTS", "MIN_SIZE", "check_lab_settings", "lab_problems", "layout_for"]

#: layout name -> charts shown (in grid order); chosen by terminal size in :func:`layout_for`
LAYOUTS = {
    "full": ("loss", "landscape", "grads", "params", "ewa", "lr"),
    "medium": ("loss", "landscape", "grads", "params"),
    "small": ("loss", "landscape"),
}
#: the charts a layout can show: a problem of more than two dimensions shows its eigendirections
#: where a 2-D one shows its landscape
ALL_CHARTS = LAYOUTS["full"] + ("eigen",)


def layout_for(width: int, height: int) -> str:
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return "too-small"
    if width >= 120 and height >= 40:
        return "full"
    if width >= 100 and height >= 30:
        return "medium"
    return "small"


def lab_problems() -> list[str]:
    """The problems the lab shows: 2-D ones with their landscape, the others (``spectrum``) with
    the error along each eigendirection."""
    return list(PROBLEMS)


def check_lab_settings(settings: Settings) -> None:
    """ParamError (one line) for settings the lab cannot show (today: every problem can be shown;
    the settings themselves are checked by building them)."""
    settings.resolved()
