"""The main screen: six live charts, the status line, the theory line and the key hints.

The screen only draws: it reads the app's :class:`~tui.driver.Lab` in :meth:`LabScreen.redraw`
(called by the app's one UI timer and after every key) and hands each chart its lines; charts
skip the work when their data did not change. Which charts show depends on the terminal size
(layout classes set on resize, styled in descent.tcss).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Static

from .charts import PATH_MARKS, Chart, Landscape, Line, Path, stable_limits
from .driver import Lab, Trace, TraceData
from .status import StatusLine, TheoryLine, WrapLine

if TYPE_CHECKING:
    pass

#: below this the screen says so instead of drawing (width, height)
MIN_SIZE = (60, 20)

#: layout name -> charts shown (in grid order); chosen by terminal size in :func:`layout_for`
LAYOUTS = {
    "full": ("loss", "landscape", "grads", "params", "ewa", "lr"),
    "medium": ("loss", "landscape", "grads", "params"),
    "small": ("loss", "landscape"),
}
ALL_CHARTS = LAYOUTS["full"]


def layout_for(width: int, height: int) -> str:
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        return "too-small"
    if width >= 120 and height >= 40:
        return "full"
    if width >= 100 and height >= 30:
        return "medium"
    return "small"


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


def _gap_log(loss: np.ndarray, loss_star: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        gap = loss - loss_star
        return np.where(gap > 0, np.log10(np.where(gap > 0, gap, 1.0)), np.nan)


def _log_abs(a: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        a = np.abs(a)
        return np.where(a > 0, np.log10(np.where(a > 0, a, 1.0)), np.nan)


def path_legend(labels: list[str], mono: bool, width: int) -> str:
    """``1:gd  2:momentum`` (or the path marks without colour), labels shortened to fit ``width``;
    empty for a single run, or when even 3-letter labels do not fit."""
    if len(labels) < 2:
        return ""
    tags = [PATH_MARKS[i % len(PATH_MARKS)] + " " if mono else f"{i + 1}:" for i in range(len(labels))]
    for cut in (max(map(len, labels)), 8, 6, 4, 3):
        for sep in ("  ", " "):
            legend = sep.join(t + label[:cut] for t, label in zip(tags, labels))
            if len(legend) <= width:
                return legend
    return ""


class LabScreen(Screen):
    """The lab: loss, landscape, gradients, parameters, EWA and learning-rate charts."""

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Grid(id="charts"):
            yield Chart("Loss  log10(L − L*)", xlabel="step", stable_axes=True, id="loss")
            yield Landscape("Landscape  ★ w*  ○ start  ● now", id="landscape")
            yield Chart("Gradients  log10|g_i|", xlabel="step", stable_axes=True, id="grads")
            yield Chart("Parameters  w_i  (— w*_i)", xlabel="step", stable_axes=True, id="params")
            yield Chart("EWA of g0", xlabel="step", stable_axes=True, id="ewa")
            yield Chart("Learning rate  η_t  (dim: coming)", xlabel="step", stable_axes=True, id="lr")
        yield TheoryLine(id="theory")
        yield KeyHints(id="hints")
        yield Static("", id="too-small")

    # -- layout -----------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.apply_layout(self.app.size.width, self.app.size.height)

    def on_resize(self, event) -> None:
        self.apply_layout(event.size.width, event.size.height)

    def apply_layout(self, width: int, height: int) -> None:
        name = layout_for(width, height)
        if getattr(self, "layout_name", None) == name:
            return
        self.layout_name = name
        for cls in ("full", "medium", "small", "too-small"):
            self.set_class(cls == name, f"-{cls}")
        shown = LAYOUTS.get(name, ())
        for chart_id in ALL_CHARTS:
            self.query_one(f"#{chart_id}").display = chart_id in shown
        self.query_one("#too-small", Static).update(
            f"terminal too small (need {MIN_SIZE[0]}x{MIN_SIZE[1]}, have {width}x{height})")
        self.app.call_later(self.app.redraw)

    @property
    def shown_charts(self) -> tuple[str, ...]:
        return LAYOUTS.get(getattr(self, "layout_name", "full"), ())

    # -- drawing ----------------------------------------------------------------------------------
    def redraw(self, lab: Lab, hints: list[tuple[str, str]], budget: float | None = None,
               next_slice: bool = False) -> bool:
        """Hand every shown chart its data; returns True when all of them are up to date.

        With a ``budget`` (seconds) the charts are rebuilt in turn until it is spent (the loss
        chart first, the others round-robin), so one frame never costs more than about the
        budget and a key press is never stuck behind six plotext builds. ``next_slice`` goes
        on with the frame begun before (charts already drawn in it are left alone, whatever
        the engine did since), so a frame always completes and frames keep their bounded rate.
        Without a budget (tests, snapshots) every chart is updated.
        """
        shown = [c for c in self.shown_charts]
        self.set_class(lab.compare, "-compare")
        if budget is None or not next_slice:  # a later slice of the same frame: the text is up to date
            self.redraw_text(lab, hints)
        if getattr(self, "layout_name", "") == "too-small":
            return True
        live = [t.data() for t in lab.traces]
        args = (lab, live, lab.ghosts, lab.compare, lab.version)
        if budget is None:
            for name in shown:
                self._update(name, *args)
            return True
        if not next_slice or not hasattr(self, "_fresh"):
            self._fresh: set[str] = set()
        rr = getattr(self, "_rr", 0)
        others = [c for c in shown if c != "loss"]
        order = (["loss"] if "loss" in shown else []) + others[rr % max(len(others), 1):] + others[: rr % max(len(others), 1)]
        start = time.perf_counter()
        costs: dict[str, float] = self.__dict__.setdefault("_costs", {})
        built = 0
        for name in order:
            if name in self._fresh:
                continue
            # the next chart only if it fits (its last build time as the guess); one at least
            if built and time.perf_counter() - start + costs.get(name, 0.0) > budget:
                break
            t0 = time.perf_counter()
            self._update(name, *args)
            self.query_one(f"#{name}").render()  # build now, inside the budget (cached for the paint)
            costs[name] = time.perf_counter() - t0
            built += 1
            self._fresh.add(name)
            if name != "loss":
                self._rr = (others.index(name) + 1) if name in others else rr
        return len(self._fresh) == len(shown)

    def redraw_text(self, lab: Lab, hints: list[tuple[str, str]]) -> None:
        """Only the status, theory and hint lines (cheap: what a key press shows first)."""
        self.query_one(StatusLine).show(lab)
        self.query_one(KeyHints).show(hints)
        if getattr(self, "layout_name", "") != "too-small":
            self.query_one(TheoryLine).show(lab)

    def _update(self, name: str, lab: Lab, live, ghosts, compare: bool, key) -> None:
        first = lab.traces[0]
        if name == "loss":
            self._loss(live, ghosts, compare, key)
        elif name == "landscape":
            self._landscape(first, live, ghosts, key)
        elif name == "grads":
            self._grads(live, ghosts, compare, key)
        elif name == "params":
            self._params(first, live, ghosts, compare, key)
        elif name == "ewa":
            self._ewa(first, live, ghosts, compare, key)
        elif name == "lr":
            self._lr(first, live, ghosts, compare, key)

    def _loss(self, live: list[TraceData], ghosts: list[TraceData], compare: bool, key) -> None:
        lines = [Line(g.step, _gap_log(g.loss, g.loss_star), "previous" if i == 0 else "", dim=True)
                 for i, g in enumerate(ghosts)]
        lines += [Line(d.step, _gap_log(d.loss, d.loss_star), d.label if compare else "") for d in live]
        self.query_one("#loss", Chart).show(lines, key=key)

    def _landscape(self, first: Trace, live: list[TraceData], ghosts: list[TraceData], key) -> None:
        view = self.query_one("#landscape", Landscape)
        p = first.run.problem
        view.set_problem((p.name, tuple(sorted(p.params.items()))), p.loss_grid, p.bounds, p.w_star, p.loss_star)
        paths = [Path(g.w[:, 0], g.w[:, 1], dim=True) for g in ghosts]
        paths += [Path(d.w[:, 0], d.w[:, 1], d.label) for d in live]
        view.show(paths, key=key)
        subtitle = path_legend([d.label for d in live], getattr(self.app, "no_color", False), view.size.width - 6)
        if subtitle != view.border_subtitle:  # setting it repaints the whole widget, even unchanged
            view.border_subtitle = subtitle

    def _grads(self, live, ghosts, compare, key) -> None:
        lines: list[Line] = []
        for g in ghosts:
            lines += [Line(g.step, _log_abs(g.grad[:, i]), dim=True) for i in range(g.grad.shape[1])]
        if compare:
            lines += [Line(d.step, _log_abs(np.linalg.norm(d.grad, axis=1)), d.label) for d in live]
            title = "Gradients  log10‖g‖"
        else:
            d = live[0]
            lines += [Line(d.step, _log_abs(d.grad[:, i]), f"|g{i}|") for i in range(d.grad.shape[1])]
            title = "Gradients  log10|g_i|"
        self.query_one("#grads", Chart).show(lines, title=title, key=key)

    def _params(self, first: Trace, live, ghosts, compare, key) -> None:
        lines: list[Line] = []
        for g in ghosts:
            lines += [Line(g.step, g.w[:, i], dim=True) for i in range(g.w.shape[1])]
        from .charts import PALETTE

        for j, d in enumerate(live):
            for i in range(d.w.shape[1]):
                if compare:
                    lines.append(Line(d.step, d.w[:, i], d.label if i == 0 else "", color=PALETTE[j % len(PALETTE)]))
                else:
                    lines.append(Line(d.step, d.w[:, i], f"w{i}"))
        w_star = first.run.problem.w_star
        self.query_one("#params", Chart).show(lines, hlines=tuple(float(v) for v in w_star), key=key)

    def _ewa(self, first: Trace, live, ghosts, compare, key) -> None:
        lines: list[Line] = []
        rule = first.run.rule
        if compare:
            for d, t in zip(live, self.app.lab.traces):
                r = t.run.rule
                if r.average:
                    lines.append(Line(d.step, d.avg[:, 0], f"{d.label} {r.average}"))
                else:
                    lines.append(Line(d.ewa_step, d.ewa, f"{d.label} EWA"))
            title = "EWA of g0: each rule's own average"
        else:
            d = live[0]
            for g in ghosts:
                lines.append(Line(g.ewa_step, g.ewa, dim=True))
            lines.append(Line(d.step, d.grad[:, 0], "g0", marker="dot", kind="scatter"))
            lines.append(Line(d.ewa_step, d.ewa, "EWA"))
            lines.append(Line(d.ewa_step, d.ewa_corrected, "corrected"))
            if rule.average:
                lines.append(Line(d.step, d.avg[:, 0], rule.average_label or rule.average))
            title = f"EWA of g0  β {d.ewa_beta:g}  window {1 / (1 - d.ewa_beta):.3g}"
        self.query_one("#ewa", Chart).show(lines, title=title, key=key)

    def _lr(self, first: Trace, live, ghosts, compare, key) -> None:
        lines: list[Line] = []
        k = max(d.step[-1] for d in live) if live else 0
        horizon = stable_limits((0.0, max(100.0, 2.0 * float(k))), None, from_zero=True)[1]  # 1-2-5 steps
        if not compare:
            future = np.unique(np.linspace(k, horizon, 256).astype(np.int64))
            lines.append(Line(future.astype(float), first.run.resolved.lrs(future), "coming", dim=True))
        for g in ghosts:
            lines.append(Line(g.step, g.lr, dim=True))
        lines += [Line(d.step, d.lr, d.label if compare else "η_t") for d in live]
        top = max((float(np.nanmax(ln.y)) for ln in lines if ln.y.size and np.isfinite(ln.y).any()), default=1.0)
        # from 0 and with head-room, so the legend does not hide a constant rate
        self.query_one("#lr", Chart).show(lines, xlim=(0, horizon), ylim=(0, top * 1.3 if top > 0 else 1.0), key=key)
