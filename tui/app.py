"""The descent-tui app: global keys (screenshot, palette) and the lab screen installed on start.

Everything else belongs to the screens: the 2-D lab (:mod:`tui.lab`) owns its runs, keys and
timer; the EWA lab, the help and the network lab are pushed on top of it and own theirs.
``DescentApp(settings, autorun=False)`` never steps on its own: tests advance it with keys only,
which makes every snapshot deterministic.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from textual.app import App

from descent_engine.presets import DEFAULT_PRESET, PRESETS
from descent_engine.run import Settings

from . import keys
from .lab import LabScreen, check_lab_settings
from .lab.model import Lab, speed_text
from .lab.ticker import FRAME_RATE


def default_settings() -> Settings:
    """The note's momentum run (the ``notes-gdm`` preset)."""
    return PRESETS[DEFAULT_PRESET].settings


class DescentApp(App):
    """The lab. ``autorun=False`` starts paused and never steps on its own (for tests)."""

    TITLE = "descent-tui"
    CSS_PATH = "descent.tcss"
    ENABLE_COMMAND_PALETTE = True
    #: shown by the screens' own footers (Textual's Footer docks the palette key on its right)
    BINDINGS = [replace(b, show=False) for b in keys.bindings(keys.GLOBAL_KEYS)]

    def __init__(self, settings: Settings | None = None, *, autorun: bool = True, compare: bool = False,
                 frame_rate: float = FRAME_RATE, screenshot_dir: str | os.PathLike | None = None,
                 compare_set: Sequence[Settings] | None = None, max_steps: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.autorun = autorun
        #: where ``s`` saves screenshots (None: the current directory)
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir is not None else None
        self.lab_screen = LabScreen(settings if settings is not None else default_settings(), autorun=autorun,
                                    compare=compare, compare_set=compare_set, max_steps=max_steps,
                                    frame_rate=frame_rate)

    #: :func:`settle_garbage_collector` a second after the start (the command's app only)
    settle_gc = False

    def on_mount(self) -> None:
        self.push_screen(self.lab_screen)
        if self.settle_gc:
            self.set_timer(1.0, settle_garbage_collector)

    @property
    def lab(self) -> Lab:
        """The 2-D lab's runs (what tests and benchmarks read)."""
        return self.lab_screen.lab

    @property
    def status(self) -> str:
        """The lab's status line as plain text."""
        from .lab.text import status_text

        return status_text(self.lab).plain.replace("\u00a0", " ")

    @property
    def speed_label(self) -> str:
        return speed_text(self.lab.speed)

    def action_screenshot(self) -> None:
        """Save the screen as SVG (``s``); the notification names the file, or says why it failed."""
        directory = self.screenshot_dir or Path.cwd()
        stem = f"descent-tui-{time.strftime('%Y%m%d-%H%M%S')}"
        target = directory / f"{stem}.svg"
        n = 1
        while target.exists():
            n += 1
            target = directory / f"{stem}-{n}.svg"
        try:
            svg = self.export_screenshot()
            with open(target, "x", encoding="utf-8") as fh:
                fh.write(svg)
        except OSError as exc:
            self.notify(f"cannot write {target}: {exc.strerror or exc}", severity="error", title="no screenshot")
            return
        self.notify(f"saved {target}", title="screenshot")


def settle_garbage_collector() -> None:
    """Collect once, then leave everything alive now (Textual, the modules, the first frame's
    widgets) out of later collections (``gc.freeze``). Measured in the 2-D lab at max speed at
    160x48: full collections took 60-200 ms (the UI thread stops for them, and a key waits)
    before, about 60 ms after. The app process only; tests never freeze their process."""
    gc.collect()
    gc.freeze()


def run_app(settings: Settings | None = None, **options: Any) -> int:
    """Open the lab (the bare ``descent-tui`` command); returns the exit status."""
    if settings is not None:
        check_lab_settings(settings)
    app = DescentApp(settings, **options)
    app.settle_gc = True
    app.run()
    return int(app.return_code or 0)
