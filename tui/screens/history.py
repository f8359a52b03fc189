"""The run history (``h`` in the lab): every run the lab replaced, with its settings and what it
reached; enter makes the highlighted run the ghost, ``w`` writes the table as CSV.

The rows come from :attr:`tui.lab.model.Lab.history`; the screen dismisses with the chosen
record (or None) and the lab decides what to do with it.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any, Sequence

from rich import box
from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from descent_engine.params import format_value
from descent_engine.rules import get_rule

#: a record of the lab's history (``tui.lab.model.RunRecord``: number, settings, data, steps,
#: converged_at, final_gap); not imported here, the screens sit below the lab
RunRecord = Any

COLUMNS = ("run", "problem", "rule", "lr", "schedule", "steps", "end", "L − L*")


#: below this width the table drops its vertical lines and says how a run ended in short
NARROW = 100


def record_row(r: RunRecord, short: bool = False) -> tuple[str, ...]:
    """One run as the table's (and the CSV's) cells; ``short``: "✔ 148" for "converged at 148"."""
    s = r.settings.resolved()
    lr = format_value(s.rule.params.get("lr"), s.hp["lr"]) if "lr" in s.rule.params else "-"
    if r.data.diverged_at is not None:
        end = f"✖ {r.data.diverged_at}" if short else f"diverged at {r.data.diverged_at}"
    elif r.converged_at is not None:
        end = f"✔ {r.converged_at}" if short else f"converged at {r.converged_at}"
    else:
        end = "stopped"
    return (str(r.number), r.settings.problem, get_rule(r.settings.rule).name, lr, s.schedule.name,
            str(r.steps), end, f"{r.final_gap:.3g}")


def write_table(records: Sequence[RunRecord], directory: Path) -> Path:
    """The history as CSV (one row per run, the columns above); returns the file written."""
    path = directory / f"descent-tui-history-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    n = 1
    while path.exists():
        n += 1
        path = directory / f"descent-tui-history-{time.strftime('%Y%m%d-%H%M%S')}-{n}.csv"
    with open(path, "x", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        out.writerows(record_row(r) for r in records)
    return path


class HistoryScreen(ModalScreen[Any]):
    """Every replaced run; ↑↓ choose, enter: the ghost, w: write the table."""

    HELP_TITLE = "run history"
    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False), Binding("down", "move(1)", "down", show=False),
        Binding("enter", "choose", "make it the ghost"), Binding("w", "write", "write CSV"),
        Binding("escape,h", "close", "back", key_display="esc"),
        Binding("q", "app.quit", "quit"),
    ]
    DEFAULT_CSS = "HistoryScreen { background: $background; }"

    def __init__(self, records: Sequence[RunRecord], directory: Path | None = None) -> None:
        super().__init__()
        self.records = list(records)
        self.directory = directory
        self.row = len(self.records) - 1  # the newest

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="history-table")
        yield Footer()

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def table(self) -> Table | str:
        if not self.records:
            return "No run replaced yet: a change of setting or r keeps the run here."
        narrow = self.size.width < NARROW
        title = ("runs, oldest first (⏎ ghost; ✔ converged at, ✖ diverged at)" if narrow
                 else "runs, oldest first (enter: make it the ghost)")
        table = Table(expand=not narrow, title=title, box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
                      pad_edge=not narrow, collapse_padding=narrow)
        for c in COLUMNS:
            table.add_column(c, no_wrap=True)
        for i, r in enumerate(self.records):
            table.add_row(*record_row(r, short=narrow), style="reverse" if i == self.row else None)
        return table

    def _draw(self) -> None:
        self.query_one("#history-table", Static).update(self.table())

    def action_move(self, direction: int) -> None:
        if self.records:
            self.row = min(max(self.row + direction, 0), len(self.records) - 1)
            self._draw()

    def action_choose(self) -> None:
        self.dismiss(self.records[self.row] if self.records else None)

    def action_write(self) -> None:
        directory = self.directory or Path.cwd()
        try:
            path = write_table(self.records, directory)
        except OSError as exc:
            self.notify(f"cannot write into {directory}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"wrote {path.name} in {directory}", title="history written")

    def action_close(self) -> None:
        self.dismiss(None)
