"""The rate map screen: the rate per step of |w - w*| over lr and the rule's main beta.

``RateMapScreen(settings)`` is self-contained: it computes the map of ``settings``
(:mod:`descent_engine.ratemap`) in slices on a timer (each a few milliseconds, so a key never
waits), draws each slice as it comes, and dismisses with the Settings of the chosen cell
(``enter``; made through :mod:`descent_engine.adjust`) or None (``escape``). Arrows move the
cursor, which starts at the cell of the current setting; ``t`` switches between the predicted
and the measured map; ``o`` jumps to the optimum. Cells that do not converge are marked ``×``,
the optimum ``★``, the cursor ``[]``. The colour (or, without colour, the character) of a cell is
its speed: log10 of the steps it takes to gain a digit, ``ln 0.1 / ln rate``.

``synchronous=True`` computes everything before the first frame (tests, snapshots);
``slice_seconds=0`` makes each tick one unit of work (a test steps the ticks itself).
"""

from __future__ import annotations

import math

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from descent_engine.params import format_value
from descent_engine.ratemap import KINDS, Grid, RateMap, RateMapJob, grid_for
from descent_engine.run import Settings

from ..keys import Key, bindings
from ..widgets.plot.axes import tick_labels
from ..widgets.plot.heatmap import Heatmap, Mark

#: fast (few steps per digit) to slow: viridis from yellow to purple, and a dense-to-sparse ramp
FAST_TO_SLOW = ("#fde725", "#b5de2b", "#6ece58", "#35b779", "#1f9e89", "#26828e", "#31688e", "#3e4989", "#482878")
RAMP = "@%#*+=-:."
#: the cells' marks
DIVERGED, BEST, CURSOR = "×", "★", ("[", "]")
DIVERGED_COLOR, BEST_COLOR, CURSOR_STYLE = "#e74c3c", "bold #e74c3c", "reverse bold"
#: steps each cell runs on the screen (the CLI's default is larger)
STEPS = 300
#: decades of speed the colours span, from the fastest cell
SPAN = 3.0
#: work per timer tick (seconds) and ticks per second
SLICE, TICKS = 0.012, 30

RATEMAP_KEYS: tuple[Key, ...] = (
    Key("map.left", "left", "move(0,-1)", "lr", key_display="←→", tooltip="the cursor to a smaller lr"),
    Key("map.right", "right", "move(0,1)", "larger lr", show=False, tooltip="the cursor to a larger lr"),
    Key("map.up", "up", "move(1,0)", "β", key_display="↑↓", tooltip="the cursor to a larger beta"),
    Key("map.down", "down", "move(-1,0)", "smaller β", show=False, tooltip="the cursor to a smaller beta"),
    Key("map.apply", "enter", "apply", "apply", tooltip="back to the lab with the cursor's lr and beta"),
    Key("map.kind", "t", "toggle_kind", "predicted/measured", tooltip="show the predicted or the measured map"),
    Key("map.best", "o", "best", "optimum", tooltip="the cursor to the optimum"),
    Key("map.back", "escape", "back", "back", key_display="esc", tooltip="back to the lab, nothing changed"),
    Key("map.quit", "q", "app.quit", "quit", tooltip="quit"),
)


def speed(rates: np.ndarray | None) -> np.ndarray | None:
    """log10 of the steps per digit, ``ln 0.1 / ln rate``, for rates in (0, 1); NaN elsewhere."""
    if rates is None:
        return None
    with np.errstate(all="ignore"):
        r = np.where(np.isfinite(rates) & (rates < 1.0), np.clip(rates, 1e-12, None), np.nan)
        return np.log10(np.log(0.1) / np.log(r))


def screen_grid(settings: Settings, width: int, height: int) -> tuple[Grid, int, int]:
    """A grid that fills the screen, each cell ``cw`` x ``ch`` terminal cells: ``(grid, cw, ch)``."""
    room_w, room_h = max(width - 12, 8), max(height - 9, 4)
    ch = 2 if room_h >= 40 else 1
    n_beta = max(2, min(40, room_h // ch))
    n_lr = max(4, min(64, room_w // 2))
    cw = max(2, room_w // n_lr)
    g = grid_for(settings, n_lr, n_beta=n_beta)
    if g.beta is None:  # one row: a band a few lines tall
        ch = min(5, room_h)
    return g, cw, ch


class RateMapView(Heatmap):
    """The map's heatmap: beta up (rows flipped), lr to the right; the cells' marks on top."""

    def __init__(self, screen: "RateMapScreen", **kwargs) -> None:
        super().__init__("", ramp=RAMP, palette=FAST_TO_SLOW, contours=False, **kwargs)
        self.owner = screen

    def marks(self, width: int, height: int) -> list[Mark]:
        s = self.owner
        g = s.grid
        shape = g.shape
        out: list[Mark] = []
        diverged = s.map.diverged(s.kind)
        if diverged is not None:
            for i, j in zip(*np.nonzero(diverged)):
                y0, _, x0, _ = self.block(g.n_beta - 1 - int(i), int(j), shape, width, height)
                out.append(Mark(y0, x0, DIVERGED, DIVERGED_COLOR))
        best = s.map.optimum(s.kind)
        if best is not None:
            y0, _, x0, _ = self.block(g.n_beta - 1 - best.row, best.col, shape, width, height)
            out.append(Mark(y0, x0, BEST, BEST_COLOR))
        y0, y1, x0, x1 = self.block(g.n_beta - 1 - s.row, s.col, shape, width, height)
        for y in range(y0, y1):
            if x1 - x0 >= 2:
                out += [Mark(y, x0, CURSOR[0], CURSOR_STYLE), Mark(y, x1 - 1, CURSOR[1], CURSOR_STYLE)]
            else:
                out.append(Mark(y, x0, "▣", CURSOR_STYLE))
        return out


class RateMapScreen(ModalScreen["Settings | None"]):
    """The rate map of ``settings``; dismisses with the chosen cell's Settings, or None."""

    DEFAULT_CSS = """
    RateMapScreen { background: $background; layout: vertical; }
    #map-title { height: 1; padding: 0 1; text-style: bold; }
    #map-box { height: auto; border: round $primary 60%; border-title-align: left; padding: 0 1; }
    #map-row { height: auto; }
    #map-beta { width: 6; height: auto; }
    #map-lr { height: 1; }
    #map-info { height: auto; padding: 0 1; }
    """
    BINDINGS = bindings(RATEMAP_KEYS)

    def __init__(self, settings: Settings, *, steps: int = STEPS, synchronous: bool = False,
                 slice_seconds: float = SLICE, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self.settings, self.steps, self.synchronous = settings, int(steps), synchronous
        self.slice_seconds = slice_seconds  # 0: one unit of work per tick (tests)
        self.kind = "predicted"
        self.row = self.col = 0
        self.grid: Grid | None = None
        self.job: RateMapJob | None = None
        self.map: RateMap | None = None
        self._timer = None
        self._limits: tuple[float | None, float | None] = (None, None)

    def compose(self) -> ComposeResult:
        yield Static("", id="map-title")
        with Vertical(id="map-box"):
            with Horizontal(id="map-row"):
                yield Static("", id="map-beta")
                yield RateMapView(self, id="map-view")
            yield Static("", id="map-lr")
        yield Static("", id="map-info")
        yield Footer()

    def on_mount(self) -> None:
        size = self.app.size
        self.grid, cw, ch = screen_grid(self.settings, size.width, size.height)
        view = self.query_one(RateMapView)
        view.styles.width, view.styles.height = self.grid.n_lr * cw, self.grid.n_beta * ch
        self.query_one("#map-box").styles.width = self.grid.n_lr * cw + 6 + 4
        self.job = RateMapJob(self.settings, self.grid, self.steps)
        r = self._resolved = self.settings.resolved()
        beta = None if self.grid.beta_name is None else float(r.hp[self.grid.beta_name])
        self.row, self.col = self.grid.nearest(float(r.hp["lr"]), beta)
        if self.job.predicted is None:
            self.kind = "measured"
        if self.synchronous:
            self.job.run()
        self._update()
        if not self.job.done:
            self._timer = self.set_interval(1 / TICKS, self._tick)

    def _tick(self) -> None:
        """A slice of work; the map redrawn when it has something new, else just the progress."""
        assert self.job is not None
        before = self._drawn()
        done = self.job.work(self.slice_seconds)
        if done and self._timer is not None:
            self._timer.stop()
            self._timer = None
        if done or self._drawn() != before:
            self._update()
        else:
            self.query_one("#map-title", Static).update(self._title())

    # -- drawing ----------------------------------------------------------------------------------
    def _update(self) -> None:
        job, g = self.job, self.grid
        assert job is not None and g is not None
        self.map = job.result()
        values = {k: speed(self.map.converging(k)) for k in KINDS}
        shown = np.concatenate([v[np.isfinite(v)] for v in values.values() if v is not None] or [np.zeros(0)])
        if shown.size:  # the fastest cell to SPAN decades slower (slower cells share the last band)
            lo = float(shown.min())
            self._limits = (lo, max(min(float(shown.max()), lo + SPAN), lo + 0.5))
        else:
            self._limits = (None, None)
        view = self.query_one(RateMapView)
        v = values[self.kind]
        drawn = self._drawn()
        view.set_values(None if v is None else v[::-1], key=drawn, lo=self._limits[0], hi=self._limits[1])
        view.marks_changed((drawn, self.row, self.col))
        self._texts()

    def _drawn(self) -> tuple:
        """What the map shows so far: it changes with each predicted piece and once the measured
        run is fitted, not with each measured step (nothing new to draw then)."""
        job = self.job
        assert job is not None
        return (self.kind, job.predicted_done_units, job.done)

    def _texts(self) -> None:
        job, g, m = self.job, self.grid, self.map
        assert job is not None and g is not None and m is not None
        r = self._resolved
        kind = self.kind if m.raw(self.kind) is not None else "measured"
        self.query_one("#map-title", Static).update(self._title())
        view = self.query_one(RateMapView)
        rows = view.styles.height.value if view.styles.height is not None else g.n_beta
        ch = max(1, int(rows) // g.n_beta)
        if g.beta is None:
            labels = ["(no β)"] + [""] * (int(rows) - 1)
        else:
            labels = [""] * int(rows)
            for i in range(g.n_beta - 1, -1, -max(1, g.n_beta // 6)):
                labels[(g.n_beta - 1 - i) * ch] = f"{g.beta[i]:.3g}"
        self.query_one("#map-beta", Static).update("\n".join(labels))
        box = self.query_one("#map-box")
        box.border_title = "lr → (log)" if g.beta_name is None else f"{g.beta_name} ↑   lr → (log)"
        self.query_one("#map-lr", Static).update(self._lr_axis(int(view.styles.width.value)))
        self.query_one("#map-info", Static).update(self._info(kind))

    def _title(self) -> str:
        job, m, r = self.job, self.map, self._resolved
        assert job is not None and m is not None
        kind = self.kind if m.raw(self.kind) is not None else "measured"
        problem = r.problem.title if self.app.size.width >= 120 else r.problem.name
        title = f"Rate map  {problem}  {r.rule.name}  ·  {kind} rate per step of |w − w*|"
        if not job.done:
            title += f"  ·  computing {100 * job.done_units / job.total:.0f}%"
        return title

    def _lr_axis(self, width: int) -> str:
        g = self.grid
        assert g is not None
        line = [" "] * (width + 6)
        cw = max(1, width // g.n_lr)
        ticks = np.linspace(0, g.n_lr - 1, 5).round().astype(int) if width >= 40 else np.array([0, g.n_lr - 1])
        for j in ticks.tolist():
            text = f"{g.lr[j]:.2g}"
            x = 6 + j * cw
            x = min(max(x, 6), width + 6 - len(text))
            if all(c == " " for c in line[max(x - 1, 0):x + len(text) + 1]):
                line[x:x + len(text)] = list(text)
        return "".join(line).rstrip()

    def _info(self, kind: str) -> str:
        m, g = self.map, self.grid
        assert m is not None and g is not None
        c = m.cell(self.row, self.col)
        beta = "" if c.beta is None else f"  {g.beta_name} {c.beta:.4g}"
        rates = []
        for k in KINDS:
            raw = m.raw(k)
            if raw is None:
                rates.append(f"{k} —")
            else:
                v = float(raw[self.row, self.col])
                done = k == "predicted" or self.job.done  # type: ignore[union-attr]
                rates.append(f"{k} " + ("…" if not done and not math.isfinite(v) else _rate_text(v, m.blown[self.row, self.col] and k == "measured")))
        line1 = f"cursor lr {c.lr:.3g}{beta}   " + "   ".join(rates)
        best = m.optimum(kind)
        if best is None:
            line2 = "best: none yet" if not self.job.done else "best: no cell converges"  # type: ignore[union-attr]
        else:
            b = "" if best.beta is None else f" {g.beta_name}* {best.beta:.3g}"
            line2 = f"★ best ({kind}) lr* {best.lr:.3g}{b} rate {best.rate:.4g}"
        frac = m.diverged_fraction(kind)
        if frac is not None and (kind == "predicted" or self.job.done):  # type: ignore[union-attr]
            line2 += f"   × diverges {100 * frac:.0f}%"
        lo, hi = self._limits
        key = self.query_one(RateMapView).key_markup("fast", "slow", 200)
        if lo is not None and hi is not None:
            key += f"  ({10 ** lo:.3g} … {10 ** hi:.3g}+ steps per digit of |w − w*|)"
        return f"{line1}\n{line2}\n{key}"

    # -- actions ----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Moving up or down without a beta, and switching maps without a prediction, do not apply."""
        if action == "move" and parameters and parameters[0] and self.grid is not None and self.grid.beta is None:
            return None
        if action == "toggle_kind" and self.job is not None and self.job.predicted is None:
            return None
        return True

    def action_move(self, d_row: int, d_col: int) -> None:
        g = self.grid
        if g is None:
            return
        self.row = min(max(self.row + d_row, 0), g.n_beta - 1)
        self.col = min(max(self.col + d_col, 0), g.n_lr - 1)
        self.query_one(RateMapView).marks_changed((self._drawn(), self.row, self.col))
        self.query_one("#map-info", Static).update(self._info(self.kind if self.map.raw(self.kind) is not None else "measured"))  # type: ignore[union-attr]

    def action_toggle_kind(self) -> None:
        if self.map is None or self.map.predicted is None:
            self.notify("no prediction here: the problem is not quadratic or the rule has no iteration map")
            return
        self.kind = "measured" if self.kind == "predicted" else "predicted"
        self._update()

    def action_best(self) -> None:
        best = None if self.map is None else self.map.optimum(self.kind)
        if best is None:
            self.notify("no optimum yet")
            return
        self.row, self.col = best.row, best.col
        self.action_move(0, 0)

    def action_apply(self) -> None:
        assert self.grid is not None
        from descent_engine.ratemap import cell_settings

        self.dismiss(cell_settings(self.settings, self.grid, self.row, self.col))

    def action_back(self) -> None:
        self.dismiss(None)

    def on_unmount(self) -> None:
        if self._timer is not None:
            self._timer.stop()


def _rate_text(v: float, blown: bool) -> str:
    if blown:
        return "blew up"
    if not math.isfinite(v):
        return "—"
    return f"{v:.4g}" + ("  (no convergence)" if v >= 1 else "")
