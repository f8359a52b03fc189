"""The lab's one timing mechanism: step the engine, then draw, with a key's effect painted first.

One UI timer runs exactly while the lab is running on its own (stopped when paused, finished,
or when another screen is on top: a screen underneath does no work). Each tick steps the engine
for at most :data:`STEP_BUDGET` seconds; charts are rebuilt at most :data:`FRAME_RATE` times a
second, in slices of about :data:`FRAME_BUDGET` seconds, each its own message, so a key press
waits for one slice at most. After a key the text lines are drawn at once and the charts and
engine wait until that paint is on screen.

The owner (the lab screen) provides ``lab`` (the model), ``draw(budget, next_slice) -> bool``
(True when every chart is up to date) and ``draw_text()``. With ``autorun=False`` (tests,
snapshots) nothing steps on its own and every draw is complete, so snapshots never depend on
timing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from textual.timer import Timer

from ..background import FRAME_RATE  # redraws per second while running (both labs)
from ..widgets.plot.strips import input_pending
from .model import Lab

#: seconds of chart building in one go (a key press waits for one slice at most)
FRAME_BUDGET = 0.008
#: seconds of engine stepping per tick (the engine shares the UI thread: see model.py)
STEP_BUDGET = 0.008
#: engine ticks per second while running: several per frame, so a key never waits for more than
#: one STEP_BUDGET
STEP_RATE = 30
#: a key's paint holds back charts and engine for at most this many seconds
HOLD_LIMIT = 0.25


class Owner(Protocol):
    lab: Lab

    def draw(self, budget: float | None, next_slice: bool) -> bool: ...

    def draw_text(self) -> None: ...

    def set_interval(self, interval: float, callback, *, name: str | None = None) -> Timer: ...

    def call_after_refresh(self, callback) -> bool: ...

    def call_later(self, callback) -> bool: ...


class Ticker:
    def __init__(self, owner: Owner, *, autorun: bool, frame_rate: float = FRAME_RATE) -> None:
        self.owner = owner
        self.autorun = autorun
        self.frame_rate = frame_rate
        self.active = True  # False while another screen is on top
        self._timer: Timer | None = None
        self._last_tick = 0.0
        self._last_frame = 0.0
        self._stepped = False
        self._drawn_all = False
        self._slice_pending = False
        self._yielded = 0
        self._new_frame = False
        self._held_since: float | None = None

    @property
    def lab(self) -> Lab:
        return self.owner.lab

    # -- the timer ----------------------------------------------------------------------------
    def sync(self) -> None:
        """Run the timer exactly while the lab runs on its own and is on screen."""
        want = self.autorun and self.active and self.lab.running and not self.lab.done
        if want and self._timer is None:
            self._last_tick = time.perf_counter()
            self._timer = self.owner.set_interval(1.0 / max(STEP_RATE, self.frame_rate), self._tick, name="lab-tick")
        elif not want and self._timer is not None:
            self._timer.stop()
            self._timer = None

    @property
    def ticking(self) -> bool:
        return self._timer is not None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._held():
            return  # a key's effect is on its way to the screen (the engine catches up next tick)
        if input_pending(self.owner) and self._yielded < 3:
            self._yielded += 1  # a key waits: let it go first (dt grows, the engine catches up)
            return
        self._yielded = 0
        dt, self._last_tick = now - self._last_tick, now
        taken = self.lab.advance(min(dt, 0.25), budget=STEP_BUDGET)
        self._stepped = self._stepped or bool(taken)
        if self.lab.done:
            self.lab.running = False
            self.sync()
            self.request_frame()
        elif self._stepped and self._drawn_all and now - self._last_frame >= 0.95 / self.frame_rate:
            self._last_frame = now
            self._stepped = False
            self.request_frame()

    # -- frames ---------------------------------------------------------------------------------
    def request_frame(self) -> None:
        """Draw as a message of its own, queued behind any key press already waiting."""
        self._new_frame = True
        self._schedule_slice()

    def _schedule_slice(self) -> None:
        # Textual takes queued messages without yielding to the event loop; posting from a loop
        # callback lets a key the input thread has just handed over land in the queue first
        if self._slice_pending:
            return
        self._slice_pending = True
        try:
            asyncio.get_running_loop().call_soon(self.owner.call_later, self._next_slice)
        except RuntimeError:  # no running loop (shutting down)
            self._slice_pending = False

    def redraw(self, next_slice: bool = False) -> None:
        """Draw (in real use within a budget per slice; tests draw everything)."""
        done = self.owner.draw(FRAME_BUDGET if self.autorun else None, next_slice)
        self._drawn_all = done
        if not done:
            self._schedule_slice()

    def _held(self) -> bool:
        since = self._held_since
        if since is not None and time.perf_counter() - since > HOLD_LIMIT:
            self._held_since = since = None
        return since is not None

    def _next_slice(self) -> None:
        self._slice_pending = False
        if self._held() or not self.active:
            return
        if self._new_frame:
            self._new_frame = False
            self.redraw()
        elif not self._drawn_all:
            self.redraw(next_slice=True)

    def after_key(self) -> None:
        """After a key: the text lines now, the charts once that paint is on screen."""
        self.sync()
        if not self.autorun:
            self.redraw()
            return
        self.owner.draw_text()
        self._held_since = time.perf_counter()
        self.owner.call_after_refresh(self._release)

    def _release(self) -> None:
        self._held_since = None
        self._new_frame = False  # this is the new frame
        self.redraw()

    # -- another screen on top ------------------------------------------------------------------
    def suspend(self) -> None:
        self.active = False
        self.sync()

    def resume(self) -> None:
        self.active = True
        self.sync()
        self.redraw()
