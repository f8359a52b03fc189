"""The EWA lab: the note's temperature example, live.

A noisy seasonal series (``seasonal_series``, fixed seed), its exponentially weighted average
``v_t = beta v_{t-1} + (1 - beta) theta_t`` from ``v_0 = 0`` and the bias-corrected
``v_t / (1 - beta^t)``. A cursor day shows the ``1/(1 - beta)`` window that dominates ``v_t``;
a second chart shows the weights ``(1 - beta) beta^k`` of the day k back with the ``1/e`` level.

The screen is modal: while it is open the main lab's keys (space, n, b, ...) do not act on the
run behind it, and the footer lists only this screen's keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Static

from descent_engine.averages import bias_correction
from descent_engine.ewa import ewa, seasonal_series, weights, window
from descent_engine.params import Param, ParamError, format_value

from ..commands import EwaCommands
from ..messages import SetParam
from ..widgets.plot import Chart, Line

#: the lab's one knob, stepped with the registry's nudge (0.9 -> 0.95 -> 0.975, 0.9 -> 0.8)
BETA = Param("beta", 0.9, "weight of the past in v = β v + (1-β) θ", low=0.0, high=1.0, high_open=True, symbol="β")
#: the lecture's betas, on keys 1, 2, 3
LECTURE_BETAS = (0.5, 0.9, 0.98)
DAYS = 365
SEED = 0
#: the first days, where v_0 = 0 pulls the uncorrected average down
ZOOM_DAYS = 30
START_DAY = 200
DAY_STEP = 10

#: one look per curve: colour for colour terminals, a distinct marker for NO_COLOR
RAW_STYLE = ("cyan", "dot")
EWA_STYLE = ("magenta", "braille")
CORRECTED_STYLE = ("green", "hd")
MARKER_GLYPH = {"dot": "•", "braille": "⣿", "hd": "▚"}
#: the bias-corrected curve's legend entry: plotext counts the combining hat of "v̂" as a cell of
#: its own, which shifts that legend row's right border one cell left
V_HAT_LABEL = "v-hat"
#: plotext puts this many ticks, evenly spaced, on an x axis
X_TICKS = 5


def integer_ticks(low: int, high: int) -> tuple[int, int]:
    """x limits from ``low`` to ``high`` or a little past it, so that every tick is a whole day."""
    gaps = X_TICKS - 1
    return low, low + gaps * math.ceil((high - low) / gaps)


@dataclass(frozen=True)
class EwaCurves:
    """The series and its two averages; ``day`` runs 1..n (t of the note)."""

    beta: float
    day: np.ndarray
    theta: np.ndarray
    v: np.ndarray
    v_hat: np.ndarray


def compute_curves(beta: float, theta: np.ndarray) -> EwaCurves:
    day = np.arange(1, theta.shape[0] + 1, dtype=float)
    return EwaCurves(beta, day, theta, ewa(theta, beta), ewa(theta, beta, bias_correction=True))


def days_text(w: float) -> str:
    """A window length in days: whole numbers without a fraction, others to one decimal."""
    if not math.isfinite(w):
        return "∞"
    if abs(w - round(w)) < 1e-6:
        return f"{round(w):,}"
    return f"{w:,.1f}"


def days_to_reach(beta: float, fraction: float = 0.95) -> int:
    """First day t with 1 - beta^t >= fraction: from then on v_t is within 5% of v̂_t."""
    if beta <= 0:
        return 1
    return max(1, math.ceil(math.log(1 - fraction) / math.log(beta) - 1e-12))


def explanation(curves: EwaCurves, day: int) -> Text:
    """The text panel: the rule, the bias correction, the window and the numbers at ``day``."""
    beta = curves.beta
    b = format_value(BETA, beta)
    w = window(beta)
    wt = days_text(w)
    t = Text()
    # one run of text: an SVG renderer drops the spaces that start a run of their own
    t.append(f"β={b}   window 1/(1−β)={wt} days\n", style="bold")
    i = int(np.clip(day, 1, curves.day.shape[0])) - 1
    t.append(f"Day {i + 1}: θ {curves.theta[i]:.1f}  v {curves.v[i]:.1f}  v̂ {curves.v_hat[i]:.1f}"
             f"  1−β^t={bias_correction(beta, i + 1):.2f}\n")
    t.append("v_t=β·v_{t−1}+(1−β)·θ_t,  v_0=0\n")
    t.append("v̂_t=v_t/(1−β^t)  bias correction\n")
    edge = beta**w if math.isfinite(w) else float("nan")
    t.append(f"The day k back weighs (1−β)·β^k: at k={wt}, β^{wt}={edge:.3f} of today's "
             f"weight, ≈1/e={math.exp(-1):.3f}; older days fade away.\n")
    t.append(f"v_0=0 pulls v down at the start: v is within 5% of v̂ from day "
             f"{days_to_reach(beta)} on (1−β^t≥0.95).\n")
    for (colour, marker), name in ((RAW_STYLE, "θ noisy daily temperature"), (EWA_STYLE, "v EWA"),
                                   (CORRECTED_STYLE, "v̂ bias-corrected")):
        t.append(MARKER_GLYPH[marker] + " ", style=f"bold {colour}")
        t.append(name + "   ")
    t.append("\nLarger β averages more days: smoother, but it lags the season. Smaller β follows the "
             "noise. (The note's two bullets on this are swapped.)")
    return t


class EwaLabScreen(Screen[None]):
    """The note's EWA section on one screen; beta keys act live."""

    CSS_PATH = "screens.tcss"
    HELP_TITLE = "EWA lab"

    BINDINGS = [
        Binding("b", "nudge_beta(1)", "β up", group=Binding.Group("β ±", compact=True), key_display="b"),
        Binding("B", "nudge_beta(-1)", "β down", group=Binding.Group("β ±", compact=True), key_display="B"),
        *(
            Binding(str(n), f"set_beta({beta!r})", f"β = {beta:g}",
                    group=Binding.Group("β " + "/".join(f"{b:g}".lstrip("0") for b in LECTURE_BETAS), compact=True))
            for n, beta in enumerate(LECTURE_BETAS, 1)
        ),
        Binding("left", f"move_day({-DAY_STEP})", "day back", group=Binding.Group("day", compact=True)),
        Binding("right", f"move_day({DAY_STEP})", "day on", group=Binding.Group("day", compact=True)),
        Binding("z", "toggle_zoom", "zoom", tooltip="zoom on the first days (where bias correction matters)"),
        Binding("up", "scroll_text(-1)", "scroll text up", show=False),
        Binding("down", "scroll_text(1)", "scroll text down", show=False),
        Binding("question_mark", "help", "help"),
        Binding("escape,e", "close", "back"),
        Binding("q", "app.quit", "quit", show=False),
    ]

    COMMANDS = {EwaCommands}
    PALETTE_PARAMS = (BETA,)
    PALETTE_CHOICES = tuple((f"β = {b:g} (the lecture's)", f"window about {1 / (1 - b):.3g} days", "beta", b)
                            for b in LECTURE_BETAS)

    beta: reactive[float] = reactive(BETA.default, init=False)
    day: reactive[int] = reactive(START_DAY, init=False)
    zoom: reactive[bool] = reactive(False, init=False)

    def __init__(self, beta: float | None = None, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._theta = seasonal_series(DAYS, seed=SEED)
        self.set_reactive(EwaLabScreen.beta, BETA.validate(BETA.default if beta is None else beta))
        self._curves = compute_curves(self.beta, self._theta)
        self._ready = False

    def compose(self) -> ComposeResult:
        yield Chart("EWA", xlabel="day", ylabel="°C", id="ewa-series")
        with Horizontal(id="ewa-bottom"):
            yield Chart("weights", xlabel="days back k", id="ewa-weights")
            with VerticalScroll(id="ewa-text", can_focus=False):
                yield Static(id="ewa-explain")
        yield Footer()

    def on_mount(self) -> None:
        self._ready = True
        self._redraw()

    def on_set_param(self, message: SetParam) -> None:
        """From the palette: a value for β, checked by its Param (a bad one is a notification)."""
        try:
            self.beta = BETA.validate(BETA.parse(message.value) if isinstance(message.value, str) else message.value)
        except ParamError as exc:
            self.notify(str(exc), severity="error", title="β not set")

    # -- actions ----------------------------------------------------------------------------------
    def action_nudge_beta(self, direction: int) -> None:
        self.beta = BETA.nudge(self.beta, direction)

    def action_set_beta(self, value: float) -> None:
        self.beta = BETA.validate(value)

    def action_move_day(self, delta: int) -> None:
        step = int(np.sign(delta)) if self.zoom else delta
        self.day = self._clamp_day(self.day + step)

    def action_toggle_zoom(self) -> None:
        self.zoom = not self.zoom

    def action_scroll_text(self, direction: int) -> None:
        self.query_one("#ewa-text", VerticalScroll).scroll_relative(y=direction, animate=False)

    def action_help(self) -> None:
        from .help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_close(self) -> None:
        self.dismiss(None)

    # -- reactivity -------------------------------------------------------------------------------
    def watch_beta(self, beta: float) -> None:
        self._curves = compute_curves(beta, self._theta)
        self._redraw()

    def watch_day(self, day: int) -> None:
        self._redraw()

    def watch_zoom(self, zoom: bool) -> None:
        self.day = self._clamp_day(self.day)
        self._redraw()

    def _clamp_day(self, day: int) -> int:
        return int(np.clip(day, 1, ZOOM_DAYS if self.zoom else DAYS))

    @property
    def window_days(self) -> float:
        return window(self.beta)

    # -- drawing ----------------------------------------------------------------------------------
    def _redraw(self) -> None:
        if not self._ready:
            return
        c = self._curves
        day = self._clamp_day(self.day)
        n = ZOOM_DAYS if self.zoom else DAYS
        w = window(c.beta)
        b = format_value(BETA, c.beta)
        lines = (
            Line(c.day[:n], c.theta[:n], "θ", color=RAW_STYLE[0], marker=RAW_STYLE[1], kind="scatter"),
            Line(c.day[:n], c.v[:n], "v", color=EWA_STYLE[0], marker=EWA_STYLE[1]),
            Line(c.day[:n], c.v_hat[:n], V_HAT_LABEL, color=CORRECTED_STYLE[0], marker=CORRECTED_STYLE[1]),
        )
        edge = day - w
        vlines = (edge, day) if edge >= 1 else (day,)
        first = max(1, math.ceil(edge + 1e-9)) if math.isfinite(edge) else 1
        span = f"days {first}–{day}" if first < day else f"day {day}"
        self.query_one("#ewa-series", Chart).show(
            lines, xlim=integer_ticks(1, n), vlines=vlines, key=("ewa", c.beta, day, n),
            title=f"θ · v EWA · v̂ corrected   β {b}   ┆ window: {span}",
        )
        k_max = int(min(max(math.ceil(3 * w - 1e-9), 10), 5 * DAYS)) if math.isfinite(w) else 5 * DAYS
        wk = weights(c.beta, k_max + 1)[::-1]  # weight of the day k back, k = 0..k_max
        k = np.arange(k_max + 1, dtype=float)
        self.query_one("#ewa-weights", Chart).show(
            (Line(k, wk, "", color=EWA_STYLE[0], marker=EWA_STYLE[1]),),
            xlim=integer_ticks(0, k_max), hlines=((1 - c.beta) / math.e,), vlines=(w,) if math.isfinite(w) else (),
            key=("w", c.beta), title=f"(1−β)β^k · 1/e at k={days_text(w)}",
        )
        self.query_one("#ewa-explain", Static).update(explanation(c, day))


if __name__ == "__main__":  # manual run: python -m tui.screens.ewa_lab
    from textual.app import App

    class _Host(App):
        def on_mount(self) -> None:
            self.push_screen(EwaLabScreen(), lambda _: self.exit())

    _Host().run()
