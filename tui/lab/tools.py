"""The lab's tools beyond the runs' own knobs (a mixin of :class:`~tui.lab.screen.LabScreen`):
the start point (``o``, arrows, enter, a click), the rate map (``m``), the momentum forms
(``f``), the run history (``h``), writing the runs (``w``) and the other screens (``e``, ``?``,
``t``). Each calls an engine function or opens a screen and hands its answer back to the lab's
one way of changing settings (``change`` / ``adjust_all``)."""

from __future__ import annotations

from descent_engine import adjust
from descent_engine.run import Settings

from ..widgets.plot import Landscape

#: the start-point cursor moves by this fraction of the landscape's width or height per key
CURSOR_STEPS = 24


class LabTools:
    """Actions of the lab screen that open a tool; the screen provides ``lab``, ``ticker``,
    ``cursor`` (a reactive), ``change``, ``adjust_all`` and ``_all_settings``."""

    def action_ratemap(self) -> None:
        """The rate map of the last run's rule (in compare mode: the last rule); enter applies a
        cell's lr and β to that run."""
        from ..screens.ratemap import RateMapScreen

        index = len(self.lab.traces) - 1

        def chosen(settings: Settings | None) -> None:
            if settings is not None:
                current = self._all_settings()
                current[index] = settings
                self.change(current)

        # tests (autorun off) compute the map at once, so what they see never depends on timing
        self.app.push_screen(RateMapScreen(self.lab.traces[index].settings, synchronous=not self.ticker.autorun),
                             chosen)

    def action_export(self) -> None:
        """``w``: the runs as CSV/NPZ and the session as TOML, where screenshots go; the
        notification names the files (or says why nothing was written)."""
        from pathlib import Path

        from .export import export_runs

        directory = getattr(self.app, "screenshot_dir", None) or Path.cwd()
        try:
            paths = export_runs(self.lab, Path(directory))
        except OSError as exc:
            self.notify(f"cannot write into {directory}: {exc.strerror or exc}", severity="error",
                        title="nothing written")
            return
        self.notify("wrote " + ", ".join(p.name for p in paths) + f" in {directory}", title="runs written")

    def action_history(self) -> None:
        from pathlib import Path

        from ..screens.history import HistoryScreen

        def chosen(record) -> None:
            if record is None:
                return
            try:
                self.lab.make_ghost(record)
            except ValueError as exc:
                self.notify(str(exc), severity="warning", title="no ghost")
                return
            self.ticker.after_key()

        directory = getattr(self.app, "screenshot_dir", None)
        self.app.push_screen(HistoryScreen(self.lab.history, Path(directory) if directory else None), chosen)

    def action_forms(self) -> None:
        from ..screens.forms import FormsScreen

        self.app.push_screen(FormsScreen(self.lab.traces[-1].settings))

    def action_place_start(self) -> None:
        w0 = self.lab.traces[0].run.problem.w0
        self.cursor = (float(w0[0]), float(w0[1]))

    def action_move_cursor(self, dx: int, dy: int) -> None:
        (x0, x1), (y0, y1) = self.query_one("#landscape", Landscape).bounds
        x, y = self.cursor or (0.0, 0.0)
        self.cursor = (min(max(x + dx * (x1 - x0) / CURSOR_STEPS, x0), x1),
                       min(max(y + dy * (y1 - y0) / CURSOR_STEPS, y0), y1))

    def action_apply_start(self) -> None:
        point, self.cursor = self.cursor, None
        if point is not None:
            self.restart_from(point)

    def action_cancel_start(self) -> None:
        self.cursor = None

    def watch_cursor(self, point: tuple[float, float] | None) -> None:
        self.query_one("#landscape", Landscape).set_cursor(point)
        self.ticker.after_key()

    def on_landscape_clicked(self, message: Landscape.Clicked) -> None:
        self.cursor = None
        self.restart_from((message.w0, message.w1))

    def restart_from(self, point: tuple[float, float]) -> None:
        """Every run on screen starts again from ``point`` (the old runs become the ghost)."""
        self.adjust_all(lambda s: adjust.set_start(s, point), "start not changed")

    def action_ewa_lab(self) -> None:
        from ..screens.ewa_lab import EwaLabScreen

        self.app.push_screen(EwaLabScreen())

    def action_help(self) -> None:
        from ..screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_network(self) -> None:
        from ..netlab.screen import NetworkScreen

        self.app.push_screen(NetworkScreen())
